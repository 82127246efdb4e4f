"""Comparison tables: the topic, one scoped row per document, exports and the CLI."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeGenerator

from assistant.answering.assistant import Assistant
from assistant.answering.comparison import (
    NOT_ADDRESSED,
    matter,
    mentions,
    phrased,
    quotation,
    row_question,
    speaks_to,
    subject,
    surveyed,
    topic_of,
    topic_words,
    wants_table,
)
from assistant.answers import Citation
from assistant.app import cli
from assistant.app.export import _cell, comparison_csv, comparison_markdown
from assistant.errors import DocumentNotFound, EmptyQuestion

JUSTICE = "The Ministry of Justice will give 2,500 employees access to AI tools [1]."
OPENNESS = "Open models let governments inspect and adapt AI systems [1]."


@pytest.mark.parametrize(
    ("request_", "topic"),
    [
        ("What does each document say about open models?", "open models"),
        ("what do the papers say on data residency", "data residency"),
        ("How do the documents differ on procurement?", "procurement"),
        ("Compare the reports on public compute.", "public compute"),
        ("open models", "open models"),
        ("  AI tools for staff?  ", "AI tools for staff"),
    ],
)
def test_the_topic_of_a_comparison_request(request_: str, topic: str) -> None:
    assert topic_of(request_) == topic


def test_a_question_is_asked_of_each_document_as_it_was_typed() -> None:
    assert row_question("open models") == (
        "In one or two sentences, what does this document say about open models?"
    )
    question = topic_of("Which roles do the reports see for the NHS?")
    assert row_question(question) == (
        "In one or two sentences from this document: Which roles do the reports see for the NHS?"
    )


def test_a_row_for_each_document_each_searched_on_its_own(fake_assistant: Assistant) -> None:
    fake = fake_assistant.generator
    assert isinstance(fake, FakeGenerator)
    fake.replies += [JUSTICE, OPENNESS]  # the weather row gets the fake's decline
    rows = list(fake_assistant.compare("What does each document say about AI tools?"))
    assert [r.doc_id for r in rows] == ["justice", "openness", "weather"]
    for row in rows:
        assert {c.doc_id for c in row.answer.contexts} == {row.doc_id}
        assert row.answer.scope == (row.doc_id,)
        assert row.answer.id  # each row is in the audit log
    assert rows[0].text == JUSTICE and not rows[0].declined
    assert rows[2].declined and rows[2].text == NOT_ADDRESSED
    asked = fake.prompts[0][-1]["content"]
    assert row_question("AI tools") in asked
    data = rows[0].to_json()
    assert set(data) == {"doc_id", "title", "answer", "citations", "declined", "quoted", "id"}
    assert data["citations"][0]["doc_id"] == "justice"
    assert rows[2].to_json()["citations"] == []


def test_chosen_documents_only_in_the_order_given(fake_assistant: Assistant) -> None:
    rows = list(fake_assistant.compare("AI tools", ["weather", "Justice"]))
    assert [r.doc_id for r in rows] == ["weather", "justice"]
    with pytest.raises(DocumentNotFound, match="'treasury'"):
        list(fake_assistant.compare("AI tools", ["treasury"]))
    with pytest.raises(EmptyQuestion):
        list(fake_assistant.compare("  ?  "))


def test_the_table_exports_as_markdown_and_csv(fake_assistant: Assistant) -> None:
    fake = fake_assistant.generator
    assert isinstance(fake, FakeGenerator)
    fake.replies += [JUSTICE]
    rows = list(fake_assistant.compare("AI tools", ["justice", "weather"]))
    text = comparison_markdown("AI tools", rows, "fake-model", "1 May 2026")
    assert text.startswith("# What each document says about AI tools\n")
    assert "| Document | What it says |" in text
    assert f"| Weather | {NOT_ADDRESSED} |" in text
    assert f"| Justice | {JUSTICE} |" in text
    assert _cell("left | right\n") == "left \\| right"  # a pipe does not break the table
    assert "- [1] Justice, §Justice" in text
    lines = list(csv.reader(io.StringIO(comparison_csv(rows))))
    assert lines[0] == ["doc_id", "title", "answer", "declined", "references", "answer_id"]
    assert [line[0] for line in lines[1:]] == ["justice", "weather"]
    assert lines[2][2] == NOT_ADDRESSED and lines[2][3] == "True"


def test_cli_compare_prints_rows_and_writes_the_table(
    corpus: Path, tmp_path: Path, env: dict[str, str], replies: list[str]
) -> None:
    replies += [JUSTICE, OPENNESS]
    runner = CliRunner()
    assert runner.invoke(cli.main, ["index"], env=env).exit_code == 0
    out = tmp_path / "table.csv"
    result = runner.invoke(
        cli.main, ["compare", "--json", "--export", str(out), "AI", "tools"], env=env
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["doc_id"] for r in rows] == ["justice", "openness", "weather"]
    assert rows[2]["answer"] == NOT_ADDRESSED and rows[2]["declined"] is True
    assert "justice" in out.read_text(encoding="utf-8")
    replies += [JUSTICE]
    result = runner.invoke(cli.main, ["compare", "--doc", "justice", "AI tools"], env=env)
    assert result.exit_code == 0 and "2,500 employees" in result.stdout
    assert "[1] Justice, §Justice" in result.stdout
    result = runner.invoke(cli.main, ["compare", "--export", "t.txt", "AI tools"], env=env)
    assert result.exit_code == 2 and "must end in .md or .csv" in result.output


def test_the_subject_leaves_out_the_words_that_frame_a_comparison() -> None:
    assert subject("What roles do the reports each see for the NHS?") == "NHS"
    assert subject("How do the papers differ on data localisation?") == "data localisation"
    assert subject("On open source, what do the two have in common?") == "open source, two"
    assert subject("open-source AI and data-sharing") == "open-source AI data-sharing"


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        (
            "Do the MoJ and Red Hat agree on whether staff should use AI tools?",
            "whether staff should use AI tools",
        ),
        (
            "How do the MoJ digest and Demos differ in their view of cloud hosting abroad?",
            "cloud hosting abroad",
        ),
        ("Where do Demos and ITIF part ways on public compute?", "public compute"),
        (
            "Is there agreement between ITIF and Demos as to whether open models are safe?",
            "whether open models are safe",
        ),
        (
            "Do the Cambridge report and ITIF believe export controls will work?",
            "whether export controls will work",
        ),
        (
            "Is a national model regarded as affordable by Demos and by ITIF?",
            "whether a national model is affordable",
        ),
        ("How are open standards framed by Demos and by the Cambridge report?", "open standards"),
        ("How does Demos's stance on procurement differ from that of ITIF?", "procurement"),
        (
            "How does the Cambridge report see public compute, compared with Demos?",
            "public compute",
        ),
        ("On skills, what do Demos and ITIF have in common?", "skills"),
        ("What do ITIF and Demos each think about open weights?", "open weights"),
        (
            "Both Demos and ITIF talk about trade policy — do they end up in the same place?",
            "trade policy",
        ),
        (
            "Is public compute worth it? How do Demos and ITIF differ on that?",
            "the question “Is public compute worth it?”",
        ),
        ("Which of Demos and ITIF is older?", None),
        ("How does Demos's view differ from ITIF's?", None),
    ],
)
def test_what_a_comparison_asks_each_document_about(question: str, asked: str | None) -> None:
    assert matter(question) == asked


def _names_a_document(text: str) -> bool:
    return re.search(r"\b(?:ITIF|Demos|Cambridge)\b", text) is not None


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        (
            "Is a British chatbot affordable according to Demos and the Cambridge report?",
            "the question “Is a British chatbot affordable?”",
        ),
        (
            "According to ITIF and Demos, should councils buy open models?",
            "the question “Should councils buy open models?”",
        ),
        ("Compare ITIF and Demos on cloud contracts.", "cloud contracts"),
        ("Compare what Demos and ITIF say about chip exports.", "chip exports"),
        ("Contrast ITIF's and Demos's take on talent visas.", "talent visas"),
        ("ITIF vs Demos on research funding?", "research funding"),
        (
            "Would Demos and ITIF agree that regulation slows adoption?",
            "whether regulation slows adoption",
        ),
        (
            "Does Demos agree with ITIF that tariffs backfire?",
            "whether tariffs backfire",
        ),
        (
            "Does ITIF share the Cambridge report's worry about brain drain?",
            "brain drain",
        ),
        ("Where do Demos and the Cambridge report stand on sandboxes?", "sandboxes"),
        ("What do ITIF and Demos make of the Paris summit?", "the Paris summit"),
        ("How do the views of Demos and ITIF on standards bodies differ?", "standards bodies"),
        ("Do Demos and ITIF see public data the same way?", "public data"),
        ("Is Demos more hopeful than ITIF about open weights?", "open weights"),
        ("Are ITIF and Demos on the same side of the copyright debate?", "the copyright debate"),
        ("Where does Demos differ from ITIF when it comes to energy?", "energy"),
        ("What do Demos and ITIF say, respectively, about skills?", "skills"),
        ("Do the Cambridge report and Demos have the same view of startups?", "startups"),
        # what is left names a document: not a matter of its own
        ("How does Demos's view differ from ITIF's?", None),
        ("Compare ITIF and Demos on Demos's proposals.", None),
    ],
)
def test_a_comparison_worded_otherwise_and_a_matter_that_names_a_document(
    question: str, asked: str | None
) -> None:
    assert matter(question, _names_a_document) == asked


def test_the_quotation_favours_the_rarer_words() -> None:
    passage = Citation(
        n=2,
        doc_id="d",
        title="D",
        section="",
        score=1.0,
        text="Our strategy is a strategy for growth and more strategy. The NHS holds data.",
    )
    corpus = ["strategy one", "strategy two", "strategy three", "The NHS holds data."]
    # "The NHS holds data." is too short to quote, and "strategy" alone is not the subject
    assert quotation([passage], ["nhs", "strategy"], corpus) is None
    passage = replace(
        passage, text=passage.text.replace("holds data", "holds a great deal of data")
    )
    found = quotation([passage], ["nhs", "strategy"], corpus)
    assert found and found[0] == "The NHS holds a great deal of data." and found[1] is passage


def test_topic_words_leave_out_what_most_passages_say() -> None:
    passages = ["AI in courts", "AI for probation officers", "AI budgets", "Rain"]
    assert topic_words("AI procurement rules", passages) == ["procurement", "rules"]
    assert topic_words("AI", passages) == []
    assert mentions("New procurement rules apply", ["procurement"])
    assert mentions("Two regulations", ["regulation"]) and mentions("one rule", ["rules"])
    assert not mentions("They procure tools", ["procurement"])
    assert mentions("anything", [])
    assert mentions("Data localization rules", ["localisation"])  # either spelling


@pytest.mark.parametrize(
    ("question", "topics"),
    [
        ("What do the documents say about the NHS?", [["nhs"]]),
        ("Which documents discuss data centres, and what do they say?", [["data", "centres"]]),
        ("What is said about Estonia across the documents?", [["estonia"]]),
        ("What do the papers say about the EU's approach?", [["eu"]]),  # the owner
        ("What do the documents say about the NHS now?", [["nhs"]]),
        ("What do the papers say about AI tools used by the MoJ?", [["ai", "tools"]]),
        ("What do the papers say about Estonia compared to Finland?", [["estonia"]]),
        ("What do the papers say about U.S. export controls?", []),  # left to the names
        ("What do the papers say about 40% of firms?", []),
        (
            "What do the papers say about open-source AI and national security?",
            [["open", "source", "ai"], ["national", "security"]],
        ),
        ("What do these reports say regarding Microsoft or Meta?", [["microsoft"], ["meta"]]),
        ("Which papers mention export controls on chips?", [["export", "controls"]]),
        ("Which of these papers bring up Singapore, and in what context?", [["singapore"]]),
        ("Which reports refer to DeepSeek?", [["deepseek"]]),
        # what to do about something is no topic the documents must name
        ("What do the documents say governments should do to address the risk of lock-in?", []),
        # a verb, not a thing the documents must name in the question's words
        ("Across the documents, who is worried about depending on US firms?", []),
        ("What do the documents say about AI tools and switching providers?", []),
        # not worded as "about X"
        ("Which documents say countries depend on American firms?", []),
        ("What do the documents say the AI Security Institute should do?", []),
    ],
)
def test_what_a_question_put_to_the_documents_asks_about(
    question: str, topics: list[list[str]]
) -> None:
    assert surveyed(question) == topics


def test_a_document_speaks_to_a_topic_when_it_holds_each_word_of_one_of_its_parts() -> None:
    assert speaks_to("New data centres should follow open standards.", [["data", "centres"]])
    assert speaks_to("A data centre in Wales.", [["data", "centres"]])  # another form
    assert speaks_to("New data centers.", [["data", "centres"]])  # either spelling
    assert speaks_to("Data centres.", [["data", "centers"]])
    assert speaks_to("Defense and licenses.", [["defence", "licences"]])
    assert speaks_to("Open source models.", [["open", "source"]])
    assert speaks_to("AI policies.", [["policy"]])
    assert not speaks_to("Data sovereignty is essential.", [["data", "centres"]])
    assert speaks_to("Rules on localisation.", [["data", "localisation"], ["rules"]])
    assert speaks_to("Localised data.", [["data", "localisation"], ["nhs"]])
    assert not speaks_to("Rules on data.", [["data", "localisation"], ["nhs"]])
    assert speaks_to("Anything at all.", [])  # no topic: no gate


def test_a_topic_is_phrased_when_its_words_stand_together_in_any_of_their_forms() -> None:
    centres = [["data", "centres"]]
    assert phrased("New data centres should follow open standards.", centres)
    assert phrased("New data centers.", centres) and phrased("A data centre.", centres)
    assert phrased("Open-source AI models.", [["open", "source", "ai"]])
    assert phrased("national AI policies", [["ai", "policy"]])
    assert not phrased("Data sovereignty needs new centres.", centres)  # apart
    assert not phrased("centres of data", centres)  # out of order
    assert phrased("Rules on localisation.", [["data", "localisation"], ["rules"]])
    assert phrased("Two tools.", [["tools"]]) and not phrased("Deep learning.", [["deepseek"]])
    assert not phrased("The president said.", [["pressure"]])


def test_a_row_whose_passages_never_mention_the_topic_is_not_addressed(
    fake_assistant: Assistant,
) -> None:
    fake = fake_assistant.generator
    assert isinstance(fake, FakeGenerator)
    fake.replies += [JUSTICE]  # true, cited, and not about the weather
    (row,) = fake_assistant.compare("rain", ["justice"])
    assert not row.answer.declined and not row.on_topic
    assert row.declined and row.text == NOT_ADDRESSED


def test_an_off_topic_row_quotes_the_passage_that_mentions_the_topic(
    fake_assistant: Assistant,
) -> None:
    fake = fake_assistant.generator
    assert isinstance(fake, FakeGenerator)
    fake.replies += [JUSTICE]  # about employees, not the probation officers asked about
    (row,) = fake_assistant.compare("probation officers", ["justice"])
    assert not row.answered and not row.declined
    quote = "More than 1,000 probation officers already use transcription tools."
    assert row.quote == quote and row.quoted_from is not None
    assert row.text == f"Quoted: “{quote}” [{row.quoted_from.n}]"
    assert quote in row.quoted_from.text
    data = row.to_json()
    assert data["quoted"] is True and data["citations"][0]["text"] == row.quoted_from.text


def test_a_row_stops_at_two_sentences(fake_assistant: Assistant) -> None:
    fake = fake_assistant.generator
    assert isinstance(fake, FakeGenerator)
    three = (
        "The Ministry of Justice will give 2,500 employees access to AI tools [1]. "
        "More than 1,000 probation officers already use transcription tools [2]. "
        "The Ministry of Justice will give employees access [1]."
    )
    fake.replies += [three]
    (row,) = fake_assistant.compare("staff and AI tools", ["justice"])
    assert row.text.count("[") == 2 and "transcription tools" in row.text
    assert "give employees access [1]" not in row.answer.draft  # never generated
    assert not row.answer.withheld


@pytest.mark.parametrize(
    ("question", "offered"),
    [
        ("How do ITIF and Demos differ on open models?", True),
        ("What do both papers say about the NHS?", True),
        ("Compare the Cambridge report with the Demos paper.", True),
        ("How many staff get AI tools?", False),
    ],
)
def test_a_comparison_in_the_chat_is_offered_the_table(question: str, offered: bool) -> None:
    assert wants_table(question) is offered


def test_a_row_searches_the_question_without_document_names(fake_assistant: Assistant) -> None:
    (fake_assistant.settings.paths.corpus_dir / "metadata.toml").write_text(
        '["justice.md"]\ntitle = "Justice"\npublisher = "Ministry of Justice"\n'
        '["weather.md"]\ntitle = "Weather"\npublisher = "Met Office"\n',
        encoding="utf-8",
    )
    fake_assistant.index()
    fake = fake_assistant.generator
    assert isinstance(fake, FakeGenerator)
    fake.replies += [JUSTICE]
    (row,) = fake_assistant.compare(
        "What do the Met Office and the Ministry of Justice each say about staff tools?",
        ["justice"],
    )
    # the Met Office, named to pick the documents, is not "not mentioned" in this row
    assert row.answered and row.text == JUSTICE
    record = fake_assistant.settings.paths.data_dir / "audit.jsonl"
    logged = json.loads(record.read_text(encoding="utf-8").splitlines()[-1])
    assert logged["search_query"] == "staff tools"
    # asked of each document as a topic, so the row's model answers for that one alone
    asked = fake.prompts[-1][-1]["content"]
    assert row_question("staff tools") in asked and "Met Office" not in asked
