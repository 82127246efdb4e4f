"""Answering with the fake embedder and model: citations as data, declines, follow-ups."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FakeEmbedder, FakeGenerator, make_settings

from assistant.answering.assistant import (
    ANSWER_IN_A_SENTENCE,
    NOT_THE_PART,
    SURVEYED,
    Assistant,
    search_query,
    wrote_only_labels,
)
from assistant.answering.prompting import DECLINE_TEXT, PROMPT_VERSION, source_label
from assistant.answering.responsiveness import (
    asked_parts,
    asks_for_list,
    each_named,
    left_out,
    names_added,
)
from assistant.answers import Answer
from assistant.errors import DocumentNotFound, EmptyQuestion
from assistant.trust.provenance import sha256_text
from assistant.trust.records import ProvenanceRecord

# The answer contract of DESIGN.md, key for key.
CONTRACT_KEYS = {
    "id",
    "question",
    "answer",
    "citations",
    "contexts",
    "declined",
    "scope",
    "model",
    "timings",
}
PASSAGE_KEYS = {"n", "doc_id", "title", "section", "text", "score"}
TIMING_KEYS = {"retrieve_s", "first_token_s", "total_s", "prompt_tokens", "completion_tokens"}
MOJ = "The Ministry of Justice will give 2,500 employees access to AI tools."


def generator(assistant: Assistant) -> FakeGenerator:
    fake = assistant.generator
    assert isinstance(fake, FakeGenerator)
    return fake


def number_of(answer: Answer, text: str) -> int:
    """The marker number under which the passage holding `text` was given."""
    return next(c.n for c in answer.contexts if text in c.text)


def ask_with_reply(assistant: Assistant, question: str, reply: str) -> Answer:
    """Ask once to learn the passage numbers, then again with `reply` written for them."""
    generator(assistant).enqueue(DECLINE_TEXT)
    first = assistant.ask(question)
    generator(assistant).enqueue(reply.format(moj=number_of(first, "2,500 employees")))
    return assistant.ask(question)


@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_empty_question(fake_assistant: Assistant, question: str) -> None:
    with pytest.raises(EmptyQuestion, match="type a question"):
        fake_assistant.ask(question)
    assert generator(fake_assistant).prompts == []


def test_a_cited_reply_gives_citations_with_the_right_document(fake_assistant: Assistant) -> None:
    answer = ask_with_reply(
        fake_assistant,
        "How many Ministry of Justice staff get AI tools?",
        MOJ.removesuffix(".") + " [{moj}].",
    )
    n = number_of(answer, "2,500 employees")
    assert answer.answer == MOJ.removesuffix(".") + f" [{n}]."
    assert not answer.declined
    assert [(c.n, c.doc_id, c.title) for c in answer.citations] == [(n, "justice", "Justice")]
    assert MOJ in answer.citations[0].text
    assert answer.citations[0].section == "Justice"
    assert len(answer.contexts) == 4  # every passage of the small corpus was given
    assert [c.n for c in answer.contexts] == [1, 2, 3, 4]
    assert answer.model == {"name": "fake-model", "sha256": "0" * 64}


def test_a_marker_for_a_passage_not_given_is_dropped(fake_assistant: Assistant) -> None:
    answer = ask_with_reply(
        fake_assistant,
        "How many Ministry of Justice staff get AI tools?",
        MOJ.removesuffix(".") + " [{moj}][9].",
    )
    n = number_of(answer, "2,500 employees")
    assert "[9]" not in answer.answer and f"[{n}]" in answer.answer
    assert [c.n for c in answer.citations] == [n]
    assert all(c.n <= len(answer.contexts) for c in answer.citations)


@pytest.mark.parametrize(
    "reply",
    ["The documents do not say.", "The sources do not contain this information."],
)
def test_a_decline_reply(fake_assistant: Assistant, reply: str) -> None:
    generator(fake_assistant).enqueue(reply)
    answer = fake_assistant.ask("Who is the mayor of the city?")
    assert answer.declined
    assert answer.citations == ()
    assert answer.answer == DECLINE_TEXT
    assert answer.contexts  # the passages given are still reported


@pytest.mark.parametrize(
    "reply",
    [
        "The capital of Australia is Canberra [1].",
        "The Ministry of Justice gave 9,000 judges free laptops [1].",
    ],
)
def test_a_reply_the_passages_do_not_support_is_declined(
    fake_assistant: Assistant, reply: str
) -> None:
    generator(fake_assistant).enqueue(reply)
    answer = fake_assistant.ask("What is the capital of Australia?")
    assert answer.declined
    assert answer.citations == ()
    assert answer.answer == DECLINE_TEXT
    assert "Canberra" not in answer.answer
    assert any("withheld: no passage supports it" in w for w in answer.warnings)


def test_stream_yields_text_then_the_answer(fake_assistant: Assistant) -> None:
    generator(fake_assistant).enqueue(MOJ.removesuffix(".") + " [1].")
    events = list(fake_assistant.stream("How many Ministry of Justice staff get AI tools?"))
    assert isinstance(events[-1], Answer)
    assert all(isinstance(e, str) for e in events[:-1]) and len(events) >= 2
    assert "".join(events[:-1]).strip() == events[-1].answer


def test_a_follow_up_is_searched_with_the_previous_question(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, retrieval={"top_k": 1})
    fake = FakeGenerator()
    assistant = Assistant(settings, FakeEmbedder(), fake)
    assistant.index()
    history = [("Which ministry gives 2,500 employees access to AI tools?", "The Ministry [1].")]
    assistant.ask("And what about them?", history)
    messages = fake.prompts[-1]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == history[0][0]
    user = messages[-1]["content"]
    assert MOJ in user  # found through the previous question
    assert user.endswith("Question: And what about them?\nAnswer:")
    assistant.ask("And what about them?")  # the same words alone find another passage
    assert MOJ not in fake.prompts[-1][-1]["content"]


def test_a_question_that_stands_alone_is_answered_as_if_first(tmp_path: Path, corpus: Path) -> None:
    fake = FakeGenerator()
    assistant = Assistant(make_settings(tmp_path), FakeEmbedder(), fake)
    assistant.index()
    history = [("Did it rain on Tuesday?", "It rained in the northern districts [1].")]
    question = "How many Ministry of Justice staff will get access to AI tools?"
    assistant.ask(question)
    first = fake.prompts[-1]
    assistant.ask(question, history)
    assert fake.prompts[-1] == first  # the same prompt, so the same answer
    # so does one that opens with "And" but says all it asks
    question = "And how many Ministry of Justice staff will get access to AI tools?"
    assistant.ask(question)
    first = fake.prompts[-1]
    assistant.ask(question, history)
    assert fake.prompts[-1] == first
    # a follow-up is shown the conversation
    assistant.ask("How does that compare with the number of probation officers?", history)
    assert fake.prompts[-1][1]["content"] == history[0][0]


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("What about it?", [("Who funds parks?", "x")], "Who funds parks? What about it?"),
        ("And probation?", [("MoJ staff?", "x")], "MoJ staff? And probation?"),
        (
            "How many staff will the Ministry of Justice train in 2026?",
            [("Who funds parks?", "x")],
            "How many staff will the Ministry of Justice train in 2026?",
        ),
        ("What about it?", [], "What about it?"),
        # "the paper", "the latter", "such": pointing back without a pronoun
        (
            "And where are the authors of the paper based now?",
            [("Who wrote it?", "x")],
            "Who wrote it? And where are the authors of the paper based now?",
        ),
        (
            "But is the latter view shared by the Cambridge piece?",
            [("Views?", "x")],
            "Views? But is the latter view shared by the Cambridge piece?",
        ),
        ("Why is that?", [("Who funds parks?", "x")], "Who funds parks? Why is that?"),
        ("Do they agree?", [("ITIF and Demos?", "x")], "ITIF and Demos? Do they agree?"),
        (
            "What do the documents say about them?",
            [("MoJ staff?", "x")],
            "MoJ staff? What do the documents say about them?",
        ),
        # pronouns that point inside the question: it stands alone
        ("Which countries built their own models?", [("MoJ staff?", "x")], None),
        ("Which report says that open models are safer?", [("MoJ staff?", "x")], None),
        ("Which governments say they want open models?", [("MoJ staff?", "x")], None),
        (
            "What should America offer its allies instead, according to ITIF?",
            [("What does ai@cam want?", "x")],
            None,
        ),
        # "And", "But" ... with a whole question of its own: it stands alone
        ("And is Demos worried that open models are unsafe?", [("Licence?", "x")], None),
        ("But how many Ministry of Justice staff get AI tools?", [("Who funds?", "x")], None),
        ("Also, which countries have built their own models?", [("MoJ?", "x")], None),
        # "too" as a degree ("too much") points nowhere
        ("And is the UK paying too much for compute from American firms?", [("Q?", "x")], None),
        # ... unless it leans on the last turn: short, a pronoun, "other", "too", "what about"
        ("And what does ITIF recommend?", [("Cost?", "x")], "Cost? And what does ITIF recommend?"),
        (
            "And does the ITIF piece agree with that recommendation?",
            [("Cost?", "x")],
            "Cost? And does the ITIF piece agree with that recommendation?",
        ),
        (
            "Who wrote the Open Dividend, and when did it come out?",
            [("What does ITIF propose?", "x")],
            None,
        ),
        (
            "What does it say about its funding?",
            [("Demos?", "x")],
            "Demos? What does it say about its funding?",
        ),
        # "its" further from a name, or after no name, still leans on the last turn
        (
            "Does the UK government agree with its findings?",
            [("Demos?", "x")],
            "Demos? Does the UK government agree with its findings?",
        ),
        (
            "Does OpenAI mention this in its blog?",
            [("Demos?", "x")],
            "Demos? Does OpenAI mention this in its blog?",
        ),
        (
            "Can I read more about its funding?",
            [("Demos?", "x")],
            "Demos? Can I read more about its funding?",
        ),
        (
            "Thanks. What are its main recommendations?",
            [("Demos?", "x")],
            "Demos? Thanks. What are its main recommendations?",
        ),
        (
            "What did ITIF say about it, and why does it matter?",
            [("Demos?", "x")],
            "Demos? What did ITIF say about it, and why does it matter?",
        ),
        (
            "But which other countries have built sovereign language models?",
            [("Spain?", "x")],
            "Spain? But which other countries have built sovereign language models?",
        ),
        (
            "And does the ITIF piece say the same about open models?",
            [("Demos?", "x")],
            "Demos? And does the ITIF piece say the same about open models?",
        ),
        (
            "And does the Cambridge report think open models are safe too?",
            [("Demos?", "x")],
            "Demos? And does the Cambridge report think open models are safe too?",
        ),
        (
            "What about the Ministry of Justice and its probation officers?",
            [("Who gets AI tools?", "x")],
            "Who gets AI tools? What about the Ministry of Justice and its probation officers?",
        ),
    ],
)
def test_search_query(question: str, history: list[tuple[str, str]], expected: str | None) -> None:
    assert search_query(question, history) == (expected or question)


def test_json_contract_has_exactly_the_keys_of_the_design(fake_assistant: Assistant) -> None:
    generator(fake_assistant).enqueue(MOJ.removesuffix(".") + " [1].")
    data = fake_assistant.ask("How many Ministry of Justice staff get AI tools?").to_json()
    assert set(data) == CONTRACT_KEYS
    assert isinstance(data["question"], str) and isinstance(data["answer"], str)
    assert isinstance(data["declined"], bool)
    assert set(data["model"]) == {"name", "sha256"}
    assert set(data["timings"]) == TIMING_KEYS
    assert isinstance(data["timings"]["prompt_tokens"], int)
    assert isinstance(data["timings"]["total_s"], float)
    for passage in data["citations"] + data["contexts"]:
        assert set(passage) == PASSAGE_KEYS
        assert isinstance(passage["n"], int) and isinstance(passage["score"], float)
    assert data["citations"] and data["contexts"]


def test_missing_index_is_reported(tmp_path: Path) -> None:
    from assistant.errors import IndexNotFound

    assistant = Assistant(make_settings(tmp_path), FakeEmbedder(), FakeGenerator())
    with pytest.raises(IndexNotFound, match="assistant index"):
        assistant.ask("Anything?")


class WarmableGenerator(FakeGenerator):
    def __init__(self) -> None:
        super().__init__()
        self.warmed: list[str] = []

    def warm(self, system: str) -> None:
        self.warmed.append(system)


def test_warming_loads_the_index_but_leaves_the_prompt_to_the_question(
    tmp_path: Path, corpus: Path
) -> None:
    """A pre-evaluated system prompt changed which questions the real model declined."""
    warmable = WarmableGenerator()
    assistant = Assistant(make_settings(tmp_path), FakeEmbedder(), warmable)
    assistant.index()
    assistant._retriever = None
    assistant.warm()
    assert assistant._retriever is not None
    assistant.ask("How many MoJ employees get AI tools?")
    assert warmable.warmed == [] and len(warmable.prompts) == 1


def test_a_true_sentence_that_gives_no_asked_figure_is_a_decline_that_says_what_it_found(
    fake_assistant: Assistant,
) -> None:
    """ "How much is the MoJ paying?" answered with a true sentence with no amount in it."""
    answer = ask_with_reply(
        fake_assistant,
        "How much is the Ministry of Justice paying for it?",
        MOJ.removesuffix(".") + " [{moj}].",
    )
    assert answer.declined
    n = number_of(answer, "2,500 employees")
    assert answer.answer == (
        "The documents give no figure for this. The closest they come: "
        f"{MOJ.removesuffix('.')} [{n}]."
    )
    assert [c.n for c in answer.citations] == [n]  # what they do say stays checkable
    assert answer.provenance["asked_for"] == "amount"


def test_the_draft_and_each_sentences_fate_are_recorded(fake_assistant: Assistant) -> None:
    answer = ask_with_reply(
        fake_assistant,
        "How many Ministry of Justice staff get AI tools?",
        MOJ.removesuffix(".") + " [{moj}]. The Home Office bans AI tools [{moj}].",
    )
    assert not answer.declined and "Home Office" not in answer.answer
    assert "Home Office" in answer.draft
    record = answer.provenance
    assert record["draft"] == answer.draft
    assert [(s["shown"], s["reason"].split(" (")[0]) for s in record["sentences"]] == [
        (True, "its passage supports it"),
        (False, "no passage supports it"),
    ]
    assert [c.sentence.text for c in answer.withheld] == ["The Home Office bans AI tools."]
    assert any(w.startswith("1 sentence of the model's draft withheld") for w in answer.warnings)


def test_a_draft_the_model_opens_with_a_decline_is_a_decline(fake_assistant: Assistant) -> None:
    answer = ask_with_reply(
        fake_assistant,
        "What does the ministry plan for Scotland?",
        "The documents do not say anything about Scotland. " + MOJ.removesuffix(".") + " [{moj}].",
    )
    assert answer.declined
    assert "2,500" in answer.answer and answer.citations


def with_publishers(tmp_path: Path, corpus: Path) -> tuple[Assistant, FakeGenerator]:
    """An assistant with the fake model over the small corpus, the ministry's digest and
    the openness note each with a title and a publisher, indexed."""
    (corpus / "metadata.toml").write_text(
        '["justice.md"]\ntitle = "Justice digest"\npublisher = "MoJ"\n'
        '["openness.txt"]\ntitle = "Openness note"\npublisher = "Red Hat"\n',
        encoding="utf-8",
    )
    fake = FakeGenerator()
    assistant = Assistant(make_settings(tmp_path), FakeEmbedder(), fake)
    assistant.index()
    return assistant, fake


def test_a_question_naming_two_documents_is_answered_one_document_at_a_time(
    tmp_path: Path, corpus: Path
) -> None:
    assistant, fake = with_publishers(tmp_path, corpus)
    question = "How do the MoJ and Red Hat differ on AI tools and providers?"
    first = assistant.ask(question)  # learn the passage numbers (both replies decline)
    numbers = {c.doc_id: c.n for c in first.contexts if c.doc_id in ("justice", "openness")}
    fake.prompts.clear()
    fake.enqueue(MOJ.removesuffix(".") + f" [{numbers['justice']}].")
    fake.enqueue(
        "The sources do not say. Red Hat argued that sovereignty needs the ability "
        f"to switch providers [{numbers['openness']}]."
    )
    answer = assistant.ask(question)
    users = [prompt[-1]["content"] for prompt in fake.prompts]
    assert len(users) == 2  # one prompt per named document, each with its passages only
    assert "2,500" in users[0] and "switch providers" not in users[0]
    assert "switch providers" in users[1] and "2,500" not in users[1]
    # each is asked what it says on the matter, not whether it differs from the other
    assert (
        "Question: What does “Justice digest” (MoJ) say about AI tools and providers?" in (users[0])
    )
    assert "differ" not in users[0] and "differ" not in users[1]
    fake.prompts.clear()
    fake.enqueue(MOJ.removesuffix(".") + f" [{numbers['justice']}].")
    fake.enqueue(f"Red Hat argued that sovereignty needs the ability [{numbers['openness']}].")
    assistant.ask("Which of the MoJ and Red Hat is right about AI tools and providers?")
    users = [prompt[-1]["content"] for prompt in fake.prompts]
    assert "Say only what “Justice digest” (MoJ) says on this." in users[0]  # no matter found
    assert not answer.declined
    assert "2,500 employees" in answer.answer and "switch providers" in answer.answer
    assert "do not say" not in answer.answer  # a part's "nothing here" is not shown
    assert {c.doc_id for c in answer.citations} == {"justice", "openness"}
    assert not any(w.startswith("Nothing is shown from") for w in answer.warnings)
    # a document whose part shows nothing is named in a note, not passed over in silence
    fake.enqueue(MOJ.removesuffix(".") + f" [{numbers['justice']}].")
    fake.enqueue("The sources do not say.")
    answer = assistant.ask(question)
    assert not answer.declined and "2,500 employees" in answer.answer
    from assistant.app.ui import answer_html

    note = "Nothing is shown from “Openness note”: the model found nothing on this"
    assert note in " ".join(answer.warnings)
    assert note in answer_html(answer, 1)  # shown in the chat, not taken for a withheld note
    assert not any("Justice digest" in w for w in answer.warnings)


def test_a_question_on_one_document_drafted_from_another_is_asked_of_its_passages(
    tmp_path: Path, corpus: Path
) -> None:
    assistant, fake = with_publishers(tmp_path, corpus)
    question = "What does Red Hat say about AI tools and providers?"
    first = assistant.ask(question)  # learn the passage numbers (the reply declines)
    numbers = {c.doc_id: c.n for c in first.contexts if c.doc_id in ("justice", "openness")}
    assert set(numbers) == {"justice", "openness"}
    fake.prompts.clear()
    # drafted from the ministry's passage, given to Red Hat: withheld
    fake.enqueue(f"Red Hat says that {MOJ.removesuffix('.')} [{numbers['justice']}].")
    fake.enqueue(
        "Red Hat argued that sovereignty needs the ability to switch providers "
        f"[{numbers['openness']}]."
    )
    answer = assistant.ask(question)
    assert len(fake.prompts) == 2
    again = fake.prompts[1][-1]["content"]
    assert "switch providers" in again and "2,500" not in again  # Red Hat's passages alone
    assert f"[{numbers['openness']}]" in again  # under the numbers they had
    assert not answer.declined and "switch providers" in answer.answer
    assert {c.doc_id for c in answer.citations} == {"openness"}
    # a draft with something shown is not asked again
    fake.prompts.clear()
    fake.enqueue(
        "Red Hat argued that sovereignty needs the ability to switch providers "
        f"[{numbers['openness']}]."
    )
    assistant.ask(question)
    assert len(fake.prompts) == 1


def test_a_question_put_to_the_documents_together_is_answered_by_each_in_turn(
    tmp_path: Path, corpus: Path
) -> None:
    from assistant.answering.comparison import surveys

    for wording in (
        "What do the documents say about AI tools?",
        "According to the documents, who switches providers?",
        "Which officials in the corpus mention AI tools?",
        "What do these papers say about AI tools?",
        "What does each report say about providers?",
        "Who talks about providers across the sources?",
        "Which documents talk about AI tools, and what do they say?",
    ):
        assert surveys(wording), wording
    for wording in ("What does the report say about AI tools?", "Who wrote the document?"):
        assert not surveys(wording), wording
    fake = FakeGenerator()
    assistant = Assistant(make_settings(tmp_path), FakeEmbedder(), fake)
    assistant.index()
    question = "What do the documents say about AI tools and switching providers?"
    first = assistant.ask(question)  # learn the passage numbers (the replies decline)
    numbers = {c.doc_id: c.n for c in first.contexts}
    # the weather note never mentions AI: it is not asked about AI tools
    assert {"justice", "openness", "weather"} <= set(numbers)
    documents = [d for d in dict.fromkeys(c.doc_id for c in first.contexts) if d != "weather"]
    assert 2 <= len(documents) <= SURVEYED
    replies = {
        "justice": MOJ.removesuffix(".") + f" [{numbers['justice']}].",
        "openness": "Red Hat argued that sovereignty needs the ability to switch providers "
        f"[{numbers['openness']}].",
    }
    fake.prompts.clear()
    for doc_id in documents:
        fake.enqueue(replies.get(doc_id, "The sources do not say."))
    answer = assistant.ask(question)
    users = [prompt[-1]["content"] for prompt in fake.prompts]
    assert len(users) == len(documents)  # one prompt per document, its passages only
    assert not any("rain" in user.lower() for user in users)
    for doc_id, user in zip(documents, users, strict=True):
        given = {c.doc_id for c in first.contexts if f"[{c.n}] " in user}
        assert given == {doc_id}
        assert user.rstrip().endswith("says on this.\nAnswer:")
    assert not answer.declined
    assert "2,500 employees" in answer.answer and "switch providers" in answer.answer
    assert "do not say" not in answer.answer  # a document with nothing on it is left out
    assert not any(w.startswith("Nothing is shown from") for w in answer.warnings)
    fake.prompts.clear()
    fake.enqueue(MOJ.removesuffix(".") + f" [{numbers['justice']}].")
    assistant.ask("What does the justice digest say about AI tools?")
    assert len(fake.prompts) == 1  # a question to one document is one prompt
    # only the justice digest mentions transcription: it alone is asked, with its passages
    fake.prompts.clear()
    fake.enqueue("More than 1,000 probation officers already use transcription tools [1].")
    answer = assistant.ask("What do the documents say about transcription tools?")
    found = {c.doc_id: c.n for c in answer.contexts}
    assert {"justice", "openness"} <= set(found)
    assert len(fake.prompts) == 1
    user = fake.prompts[0][-1]["content"]
    assert f"[{found['justice']}] " in user and f"[{found['openness']}] " not in user
    assert user.rstrip().endswith("“Justice” says on this.\nAnswer:")


def test_a_document_the_search_left_out_is_given_its_passage_on_a_surveyed_topic(
    fake_assistant: Assistant,
) -> None:
    retriever = fake_assistant.retriever
    question = "Which documents mention transcription tools, and what do they say?"
    hits = retriever.search(question, 2, ["openness", "weather"])  # as if outranked
    assert {h.chunk.doc_id for h in hits} == {"openness", "weather"}
    seated = Assistant._seated(question, question, hits, retriever, None)
    assert len(seated) == len(hits)  # in the place of a passage that never names it
    assert [h.chunk.doc_id for h in seated].count("justice") == 1
    assert "transcription tools" in seated[-1].chunk.passage
    # not beyond the documents searched, nor for a question to one document or no topic
    assert Assistant._seated(question, question, hits, retriever, ["openness", "weather"]) == hits
    for other in (
        "What does the justice digest say about transcription tools?",
        "Which documents say who switches providers?",
        "Which documents mention probation tools?",  # both words, but apart
    ):
        assert Assistant._seated(other, other, hits, retriever, None) == hits
    # never more passages than were given: the one document found speaks to the topic
    # and has no passage to spare
    question = "Which documents mention AI?"
    alone = retriever.search(question, 1, ["justice"])
    assert len(Assistant._seated(question, question, alone, retriever, None)) == 1


def test_a_draft_no_passage_supports_is_declined_without_saying_the_documents_are_silent() -> None:
    from dataclasses import replace

    from assistant.answering.assistant import DECLINE_TEXT, UNCONFIRMED_TEXT, accept
    from assistant.answering.grounding import MISATTRIBUTED, MISPLACED, Checked, Sentence

    wrong = Checked(
        Sentence("The ITIF piece is for it.", (1,)),
        (1,),
        False,
        False,
        "the model finds no passage that says so (p=0.27)",
    )
    assert accept("", [wrong], None, "Is ITIF for it?") == (UNCONFIRMED_TEXT, True)
    swapped = replace(wrong, reason=f"{MISATTRIBUTED} (40 is microsoft's there, not meta's)")
    assert accept("", [swapped], None, "What did Meta save?") == (UNCONFIRMED_TEXT, True)
    placed = replace(wrong, reason=f"{MISPLACED} (“at the White House”)")
    assert accept("", [placed], None, "Where was it endorsed?") == (UNCONFIRMED_TEXT, True)
    assert accept("", [], None, "Is ITIF for it?") == (DECLINE_TEXT, True)


def test_names_no_passage_mentions_are_given_as_the_question_writes_them() -> None:
    from assistant.answering.assistant import accept
    from assistant.answering.grounding import Checked, Sentence

    said = "Jonny Williams said sovereignty needs the flexibility to switch providers [1]."
    shown = Checked(Sentence(said, (1,)), (1,), True, False, "its passage supports it")
    text, declined = accept(
        said, [shown], None, "Does Red Hat agree with ITIF?", ["Jonny Williams said ... ITIF"]
    )
    assert declined and text.startswith("The documents do not mention Red Hat. The closest")


def test_a_question_on_one_document_answered_from_another_s_passages_is_a_decline() -> None:
    from assistant.answering.assistant import accept
    from assistant.answering.grounding import Checked, Sentence

    passages = [
        "Considerations regarding Sovereign AI (Shrier)\nOpen-source models are one route.",
        "The Open Dividend (Demos)\nOpenness offers a route to AI sovereignty.",
    ]
    said = "It offers a route to AI sovereignty through cooperation [2]."
    shown = Checked(Sentence(said, (2,)), (2,), True, False, "its passage supports it")
    question = "What does the Sovereign AI paper say about open-source models?"
    sources = ["sov", "demos"]
    titles = {
        "sov": "Considerations regarding Sovereign AI and National AI Policy",
        "demos": "The Open Dividend: Building an AI Openness Strategy",
    }
    text, declined = accept(said, [shown], None, question, passages, None, sources, ["sov"], titles)
    assert declined
    assert text == (
        "The passages found in “Considerations regarding Sovereign AI and National AI Policy” "
        f"do not answer this. From “The Open Dividend”: {said}"
    )
    # answered from the named document's own passage: the answer stands
    own = Checked(Sentence(said, (1,)), (1,), True, False, "its passage supports it")
    answer = accept(said, [own], None, question, passages, None, sources, ["sov"], titles)
    assert answer == (said, False)
    # the question names no document: any passage answers it
    assert accept(said, [shown], None, question, passages, None, sources, [], titles) == (
        said,
        False,
    )


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("What does the Sovereign AI paper say about open-source models?", {"sov"}),
        ("Why is Beijing backing open-source AI, according to Demos?", {"demos"}),
        ("What did DeepSeek's V3 cost to train, per the Demos paper?", {"demos"}),
        ("What does AI leadership look like in the Demos paper?", {"demos"}),
        # words of the question that are also a document's name
        ("How many developers make up China's National AI Team for Governance?", set()),
        # a document the question is about, not one it asks
        ("Who criticises the Demos paper's proposals?", set()),
        ("Which other documents agree with the Sovereign AI paper?", set()),
        ("What did the UK government say about the Demos report?", set()),
        ("Is sovereign AI worth pursuing?", set()),
    ],
)
def test_the_documents_a_question_asks_what_they_hold(question: str, asked: set[str]) -> None:
    from assistant.answering.grounding import asked_of

    def named(text: str) -> set[str]:
        names = {"Sovereign AI": "sov", "National AI": "sov", "Demos": "demos"}
        return {doc for name, doc in names.items() if name in text}

    assert asked_of(question, named) == asked


def test_what_the_documents_come_closest_to_saying_never_gives_a_missing_name_a_claim() -> None:
    from assistant.answering.assistant import accept
    from assistant.answering.grounding import Checked, Sentence
    from assistant.answering.responsiveness import asked_for

    passages = ["EU notes\nThe EU is spending €1 billion annually on AI.", "Plan\nA plan."]
    wrong = "Germany is spending €1 billion annually on AI [1]."
    right = "The EU is spending €1 billion annually on AI [1]."
    checked = [
        Checked(
            Sentence(said.replace(" [1]", ""), (1,)), (1,), True, False, "its passage supports it"
        )
        for said in (wrong, right)
    ]
    question = "How much is Germany spending on sovereign AI?"
    text, declined = accept(f"{wrong} {right}", checked, asked_for(question), question, passages)
    assert declined
    assert text == f"The documents do not mention Germany. The closest they come: {right}"
    # with nothing else to show, the decline says only what is missing
    text, declined = accept(wrong, checked[:1], asked_for(question), question, passages)
    assert (text, declined) == ("The documents do not mention Germany.", True)


def test_a_figure_from_a_passage_that_never_names_who_was_asked_about_is_a_decline() -> None:
    from assistant.answering.assistant import accept
    from assistant.answering.grounding import Checked, Sentence
    from assistant.answering.responsiveness import asked_for

    passages = [
        "Justice digest (MoJ)\nThe Ministry of Justice gives 2,500 staff access to AI tools.",
        "Health notes\nThe NHS could be an anchor customer for UK AI firms.",
    ]
    said = "The Ministry of Justice gives 2,500 staff access to AI tools [1]."
    shown = Checked(Sentence(said, (1,)), (1,), True, False, "its passage supports it")
    question = "How many NHS workers get AI tools?"
    text, declined = accept(said, [shown], asked_for(question), question, passages)
    assert declined
    assert text == f"The documents give no number for NHS. The closest they come: {said}"
    # the same figure, asked about those its passage names, is the answer
    question = "How many MoJ workers get AI tools?"
    assert accept(said, [shown], asked_for(question), question, passages) == (said, False)
    # and a question that asks for no figure is left to the other checks
    question = "What does the NHS get from AI?"
    assert accept(said, [shown], asked_for(question), question, passages) == (said, False)
    # the passages of the sentence that gives the figure decide, not those of another
    other = "The NHS could be an anchor customer [2]."
    both = [shown, Checked(Sentence(other, (2,)), (2,), True, False, "its passage supports it")]
    question = "How many NHS workers get AI tools?"
    text, declined = accept(f"{said} {other}", both, asked_for(question), question, passages)
    assert declined and text.startswith("The documents give no number for NHS.")
    # a name the figure's document mentions elsewhere is not missing
    question = "How many Ministry of Justice staff get AI tools under the OpenAI deal?"
    found = [passages[0], "Health notes\nThe NHS could buy from OpenAI."]
    documents = [f"{passages[0]}\nThe deal with OpenAI was signed in July.", found[1]]
    asked = asked_for(question)
    assert accept(said, [shown], asked, question, found, lambda n: documents[n - 1]) == (
        said,
        False,
    )
    assert accept(said, [shown], asked, question, found)[1]  # the passage alone lacks it


def test_a_question_limited_to_chosen_documents(fake_assistant: Assistant) -> None:
    generator(fake_assistant).enqueue("It rained on Tuesday in the northern districts [1].")
    answer = fake_assistant.ask("Did it rain?", documents=["Weather"])
    assert answer.scope == ("weather",)
    assert {c.doc_id for c in answer.contexts} == {"weather"}
    assert answer.to_json()["scope"] == ["weather"]
    assert "Searched only the chosen documents: “Weather”." in answer.warnings
    record = fake_assistant.settings.paths.data_dir / "audit.jsonl"
    assert json.loads(record.read_text(encoding="utf-8").splitlines()[-1])["scope"] == ["weather"]


def test_a_scope_with_nothing_on_the_question_says_so(fake_assistant: Assistant) -> None:
    answer = fake_assistant.ask("How many staff get AI tools?", documents=["weather"])
    assert answer.declined and {c.doc_id for c in answer.contexts} == {"weather"}
    assert any("Only the chosen documents were searched" in w for w in answer.warnings)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["justice"], ("justice",)),
        (["JUSTICE", "Weather"], ("justice", "weather")),
        (["justice", "justice"], ("justice",)),
    ],
)
def test_documents_are_named_by_id_or_title(
    fake_assistant: Assistant, names: list[str], expected: tuple[str, ...]
) -> None:
    assert fake_assistant.resolve(names) == expected


def test_an_unknown_document_lists_the_ones_there_are(fake_assistant: Assistant) -> None:
    with pytest.raises(DocumentNotFound, match=r"'budget'.*justice \(Justice\)"):
        fake_assistant.ask("Did it rain?", documents=["budget"])


def over_one_document(tmp_path: Path, name: str, text: str) -> tuple[Assistant, FakeGenerator]:
    """An assistant with the fake model over a corpus of one document, indexed."""
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / name).write_text(text)
    fake = FakeGenerator()
    assistant = Assistant(make_settings(tmp_path), FakeEmbedder(), fake)
    assistant.index()
    return assistant, fake


def test_a_draft_that_is_only_a_sources_label_is_asked_once_more(tmp_path: Path) -> None:
    assistant, fake = over_one_document(
        tmp_path,
        "digest.md",
        f"# The Justice Digest of Autumn Reforms\n\n## Staff access to new tools\n\n{MOJ}\n",
    )
    question = "How many Ministry of Justice staff will get access to AI tools?"
    (hit,) = assistant.retriever.search(question)
    fake.enqueue(f"{source_label(hit)} [1].")  # the label alone, as a small model does
    fake.enqueue(f"{MOJ} [1]")
    answer = assistant.ask(question)
    assert len(fake.prompts) == 2
    assert fake.prompts[-1][-1]["content"].endswith(f"{ANSWER_IN_A_SENTENCE}\nAnswer:")
    assert ANSWER_IN_A_SENTENCE not in fake.prompts[0][-1]["content"]
    assert "2,500 employees" in answer.answer and not answer.declined
    assert source_label(hit) in answer.draft  # the first draft is kept in the record
    record = ProvenanceRecord.from_json(answer.provenance)  # and both prompts' hash
    assert record.prompt.messages_sha256 == sha256_text(
        json.dumps(fake.prompts[:2], ensure_ascii=False)
    )
    assert record.prompt.version == PROMPT_VERSION
    # a decline of the model's own, or a sentence the check withholds, is not asked again
    for reply in ("The documents do not say.", "Everyone gets a pony [1]."):
        fake.enqueue(reply)
        before = len(fake.prompts)
        assert assistant.ask(question).declined
        assert len(fake.prompts) == before + 1
    # nor is a brief's section, summarised from passages given (the request would
    # contradict its own)
    fake.enqueue(f"{source_label(hit)} [1].")
    before = len(fake.prompts)
    assert assistant.ask(question, passages=[hit]).declined
    assert len(fake.prompts) == before + 1
    answered = ProvenanceRecord.from_json(assistant.ask(question).provenance)
    assert answered.prompt.messages_sha256 == sha256_text(
        json.dumps(fake.prompts[-1], ensure_ascii=False)
    )


def test_only_a_draft_with_nothing_checked_and_no_decline_is_label_only() -> None:
    assert wrote_only_labels("The Digest, Staff access [1].", [])
    assert not wrote_only_labels("The documents do not say.", [])  # a decline of its own
    assert not wrote_only_labels("  \n", [])  # nothing drafted


SAVINGS = (
    "Microsoft reported over 40% cost savings in server deployment using OCP designs, "
    "while Meta reported saving $1.2 billion."
)


def test_a_name_the_answer_left_out_is_asked_of_on_its_own(tmp_path: Path) -> None:
    assistant, fake = over_one_document(tmp_path, "compute.md", f"# Open hardware\n\n{SAVINGS}\n")
    question = "What savings have Microsoft and Meta reported from OCP designs?"
    fake.enqueue("Microsoft reported over 40% cost savings in server deployment [1].")
    fake.enqueue("Meta reported saving $1.2 billion [1].")
    answer = assistant.ask(question)
    assert len(fake.prompts) == 2
    asked_again = fake.prompts[1][-1]["content"]
    assert "What savings have Meta reported from OCP designs?" in asked_again
    assert "Microsoft" not in asked_again.rsplit("Question:", 1)[-1]
    assert "40%" in answer.answer and "$1.2 billion" in answer.answer
    # answered for both at once: not asked again; a decline of the part is not shown
    fake.enqueue("Microsoft saved over 40% and Meta saved $1.2 billion [1].")
    assert "Meta" in assistant.ask(question).answer and len(fake.prompts) == 3
    fake.enqueue("Microsoft reported over 40% cost savings in server deployment [1].")
    fake.enqueue("The documents do not say.")
    answer = assistant.ask(question)
    assert len(fake.prompts) == 5 and "do not say" not in answer.answer
    assert not answer.declined
    # every drafted sentence withheld (each figure given to the other firm): both asked
    fake.enqueue(
        "Meta reported over 40% cost savings [1]. Microsoft reported saving $1.2 billion [1]."
    )
    fake.enqueue("Microsoft reported over 40% cost savings in server deployment [1].")
    fake.enqueue("Meta reported saving $1.2 billion [1].")
    answer = assistant.ask(question)
    assert len(fake.prompts) == 8 and not answer.declined
    assert (
        answer.answer.startswith("Microsoft reported over 40%") and "$1.2 billion" in answer.answer
    )
    # the model's own decline is not second-guessed
    fake.enqueue("The documents do not say.")
    assert assistant.ask(question).declined and len(fake.prompts) == 9


STAFF = (
    "The Ministry of Justice will use the tools for drafting and transcription. "
    "It will provide 2,500 employees with access to AI tools."
)


def test_a_later_part_answered_without_its_figure_is_asked_alone(tmp_path: Path) -> None:
    assistant, fake = over_one_document(tmp_path, "moj.md", f"# Tools\n\n{STAFF}\n")
    question = "What will the Ministry of Justice use the tools for, and how many staff get them?"
    fake.enqueue("The Ministry of Justice will use the tools for drafting and transcription [1].")
    fake.enqueue("It will provide 2,500 employees with access to AI tools [1].")
    answer = assistant.ask(question)
    assert len(fake.prompts) == 2
    asked_again = fake.prompts[1][-1]["content"].rsplit("Question:", 1)[-1]
    # with the part "them" refers to: alone, it could be any passage's subject
    assert asked_again.startswith(
        " How many staff get them? (It follows the question: What will the Ministry of "
        "Justice use the tools for?)"
    )
    assert "transcription" in answer.answer and "2,500" in answer.answer
    assert not answer.declined
    # the figure given at once: not asked again
    fake.enqueue("It uses them for drafting [1]. It will provide 2,500 employees with them [1].")
    assert "2,500" in assistant.ask(question).answer and len(fake.prompts) == 3
    # the part's answer without the figure: the answer says the figure is not given, and
    # what the part's draft said instead is not shown
    fake.enqueue("The Ministry of Justice will use the tools for drafting and transcription [1].")
    fake.enqueue("The Ministry of Justice will use the tools for drafting [1].")
    answer = assistant.ask(question)
    assert len(fake.prompts) == 5 and answer.declined
    assert answer.answer.startswith("The documents give no number for this.")
    assert "drafting [1]" not in answer.answer
    assert [c.reason for c in answer.sentences][-1] == NOT_THE_PART


def test_a_part_for_a_name_answered_with_a_month_is_asked_alone(tmp_path: Path) -> None:
    note = "The note was published in June 2025. It was written by Elizabeth Seger."
    assistant, fake = over_one_document(tmp_path, "note.md", f"# Note\n\n{note}\n")
    fake.enqueue("The note was published in June 2025 [1].")
    fake.enqueue("It was written by Elizabeth Seger [1].")
    answer = assistant.ask("Who wrote the note, and when was it published?")
    assert len(fake.prompts) == 2
    assert "Question: Who wrote the note?" in fake.prompts[1][-1]["content"]
    assert "June 2025" in answer.answer and "Elizabeth Seger" in answer.answer


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "What will the MoJ use OpenAI's tools for, and how many staff will get them?",
            [
                (
                    "How many staff will get them? (It follows the question: What will the "
                    "MoJ use OpenAI's tools for?)",
                    "count",
                )
            ],
        ),
        (
            "Who wrote the Demos report and when was it published?",
            [
                ("Who wrote the Demos report?", "name"),
                (
                    "When was it published? (It follows the question: Who wrote the Demos report?)",
                    "time",
                ),
            ],
        ),
        (
            "What does ITIF propose? How many allies does it name?",
            [
                (
                    "How many allies does it name? (It follows the question: What does ITIF "
                    "propose?)",
                    "count",
                )
            ],
        ),
        (
            "What is the UK Sovereign AI Unit and how much funding does it have?",
            [
                (
                    "How much funding does it have? (It follows the question: What is the UK "
                    "Sovereign AI Unit?)",
                    "amount",
                )
            ],
        ),
        (  # a part that names what it asks about is asked alone
            "Who wrote the Demos report, and how many pages does the ITIF piece run to?",
            [
                ("Who wrote the Demos report?", "name"),
                ("How many pages does the ITIF piece run to?", "count"),
            ],
        ),
        # one part, a part opened by a phrase, or two parts asking the same kind of detail
        ("How many staff get AI tools?", []),
        ("Under the partnership, how many staff get AI tools?", []),
        ("How many staff get tools, and how many officers use Justice Transcribe?", []),
        ("What is sovereignty and why does it matter?", []),
        # a clause after a bare comma is no part, nor is a part of fewer than three words
        ("How many staff will have access, when the rollout is complete?", []),
        ("How many officers use Justice Transcribe, which was built in 2024?", []),
        ("How much will the deal cost, and when?", [("How much will the deal cost?", "amount")]),
    ],
)
def test_asked_parts(question: str, expected: list[tuple[str, str]]) -> None:
    assert [(part, asked.kind) for part, asked in asked_parts(question)] == expected


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("What savings have Microsoft and Meta reported?", ["Microsoft", "Meta"]),
        (
            "What savings are reported by Meta and by Microsoft, respectively?",
            ["Meta", "Microsoft"],
        ),
        (
            "How much goes through Horizon Europe and Digital Europe?",
            ["Horizon Europe", "Digital Europe"],
        ),
        (
            "What did it cost to train GPT-4, Gemini Ultra and Llama in all?",
            ["GPT-4", "Gemini Ultra", "Llama"],
        ),
        # documents are compared document by document already
        ("Do ITIF and Demos agree on sovereignty?", []),
        # names set aside, and one relation between two
        ("Apart from ChatGPT Enterprise and UK data residency, what else is in the deal?", []),
        ("What does the deal between OpenAI and the UK include?", []),
        ("How many staff get AI tools?", []),
        # an introduction before a comma stays; a joint act is asked of together
        (
            "According to ITIF, Microsoft and Meta saved how much?",
            ["Microsoft", "Meta"],
        ),
        ("In January, Microsoft and Meta reported what savings?", ["Microsoft", "Meta"]),
        ("Compare Microsoft and Meta on savings.", ["Microsoft", "Meta"]),
        ("What did the UK and France agree?", []),
        ("What do the UK and the U.S. plan?", ["UK", "U.S."]),
    ],
)
def test_the_names_a_question_joins(question: str, names: list[str]) -> None:
    is_document = lambda text: text in ("ITIF", "Demos")  # noqa: E731
    found = each_named(question, is_document)
    assert [p.name for p in found] == names
    for part in found:  # each asked alone, the rest of the question as it was
        assert part.name in part.question and question.split()[-1] in part.question
        assert not any(other.name in part.question for other in found if other != part)
        if question.startswith(("According", "In ")):  # the introduction is kept
            assert part.question.startswith(question.split(",")[0] + ", ")


def test_a_name_said_by_surname_is_not_left_out() -> None:
    parts = each_named("What did Keir Starmer and Sam Altman say?", lambda _: False)
    assert left_out(parts, "Starmer and Altman said yes.", "Keir Starmer; Sam Altman") == []
    europe = each_named("How much goes through Horizon Europe and Digital Europe?", lambda _: False)
    missing = left_out(europe, "Digital Europe gets 1bn.", "Horizon Europe, Digital Europe")
    assert [p.name for p in missing] == ["Horizon Europe"]


def test_the_user_is_told_of_a_sentence_the_local_model_could_not_confirm() -> None:
    from assistant.answering.assistant import notes
    from assistant.answering.grounding import ADDS_ONLY, Checked, Sentence

    unsure = Checked(Sentence("Both amount to protectionism.", (1,)), (1,), True, True)
    unsure = replace(unsure, reason=f"re-cited to passage 1; {ADDS_ONLY} (p=0.58)", verified=0.58)
    plain = Checked(
        Sentence("The UK has a plan.", (2,)), (2,), True, False, "its passage supports it"
    )
    assert notes([plain]) == []
    assert notes([plain, unsure]) == [
        "1 sentence shown that the local model could not confirm: each adds to the "
        "question's words only words of its passage."
    ]


def test_a_list_answered_from_one_passage_is_asked_for_the_rest_of_its_document(
    tmp_path: Path,
) -> None:
    assistant, fake = over_one_document(
        tmp_path,
        "tools.md",
        "# Open tools\n\n## Benchmarks\n\nSingapore released SEA-HELM, an open benchmark.\n\n"
        "## Testing\n\nSingapore also released AI Verify, an open testing toolkit.\n",
    )
    question = "Which open tools has Singapore released?"
    fake.enqueue("Singapore released SEA-HELM, an open benchmark [1].")
    fake.enqueue("Singapore also released AI Verify, an open testing toolkit [2].")
    answer = assistant.ask(question)
    assert len(fake.prompts) == 2
    rest = fake.prompts[1][-1]["content"]
    assert rest.endswith(f"Question: {question}\nAnswer:")
    assert "[2]" in rest and "AI Verify" in rest and "SEA-HELM" not in rest  # the rest alone
    assert "SEA-HELM" in answer.answer and "AI Verify, an open testing toolkit [2]" in answer.answer
    # the rest declined: nothing added, the answer stands
    fake.enqueue("Singapore released SEA-HELM, an open benchmark [1].")
    fake.enqueue("The documents do not say.")
    answer = assistant.ask(question)
    assert len(fake.prompts) == 4 and not answer.declined and "do not say" not in answer.answer
    assert not answer.warnings  # the rest's "nothing on this" was no claim withheld
    # the rest naming nothing new (the answer's item again, or what else the passages
    # say): withheld, and said to be
    fake.enqueue("Singapore released SEA-HELM, an open benchmark [1].")
    fake.enqueue("Singapore also released an open testing toolkit [2].")
    answer = assistant.ask(question)
    assert len(fake.prompts) == 6 and "toolkit" not in answer.answer
    assert any("names nothing the answer had not" in w for w in answer.warnings)
    # an answer from both passages, a question for one thing or for a number of things,
    # is not asked again
    fake.enqueue("Singapore released SEA-HELM [1] and AI Verify [2].")
    assistant.ask(question)
    fake.enqueue("Singapore released SEA-HELM, an open benchmark [1].")
    assistant.ask("What did Singapore release first?")
    fake.enqueue("Singapore released SEA-HELM, an open benchmark [1].")
    assistant.ask("Which two open tools has Singapore released?")
    assert len(fake.prompts) == 9
    # a year is no count of things asked for
    fake.enqueue("Singapore released SEA-HELM, an open benchmark [1].")
    fake.enqueue("The documents do not say.")
    assistant.ask("Which open tools has Singapore released since 2023?")
    assert len(fake.prompts) == 11


def test_a_sentence_names_what_the_answer_had_not() -> None:
    known = "Which open tools has Singapore put out? Singapore released SEA-HELM [1]."
    assert names_added(["It also released AI Verify [2]."], known)
    assert not names_added(["Singapore's SEA-HELM is open [2].", "Also a toolkit [2]."], known)
    assert not names_added(["Also a toolkit for Singapore [2]."], known)
    assert not names_added(["The ALIA project in Spain has four models [2]."], "Spain's ALIA")
    # a month, a quoted title, a word after a colon, a longer form of a known word
    for sentence in (
        "In March 2024, Singapore released SEA-HELM [2].",
        "“Sovereign AI in Practice” says Singapore released SEA-HELM [2].",
        "There are two: The benchmark is open [2].",
        "Singaporean teams released SEA-HELM [2].",
        "The Government of Singapore released SEA-HELM, see Figure 2 [2].",
    ):
        assert not names_added([sentence], known), sentence
    # a one-word name opening the sentence, a name whose word the question has in lower case
    assert names_added(["SEA-LION is also open [3]."], known)
    assert names_added(["Singapore also offers AI Verify [2]."], "Which tools verify AI?")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which governments does Demos describe as building language models?", True),
        ("Which open tools has Singapore put out?", True),
        ("What are the main risks of sovereign AI?", True),
        ("What policy levers does Cambridge name?", True),
        ("Which countries are building models?", True),
        ("List the proposals.", True),
        ("What does Demos say?", False),
        ("Which country does ITIF describe?", False),
        ("What access does the deal give?", False),
        ("What makes this hard?", False),
        ("What was the focus?", False),
        ("Who wrote it?", False),
        ("What are Singapore's open tools?", True),
        ("Can you list the risks?", True),
        ("What were some of the findings?", True),
        ("Which countries lead in AI?", True),
        ("What analysis does the paper offer?", False),
        ("What status does the institute have?", False),
        ("What works in AI regulation?", False),
    ],
)
def test_a_question_for_several_things(question: str, expected: bool) -> None:
    assert asks_for_list(question) is expected
