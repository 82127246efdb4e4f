"""Focusing: each passage cut to the sentences that answer the question, within a budget
of tokens; the whole passage when it fits, or when focusing is off."""

from __future__ import annotations

from pathlib import Path

from conftest import FakeEmbedder, FakeGenerator, make_settings

from assistant.answering.assistant import Assistant
from assistant.answering.focusing import GAP, focus_passages, pieces
from assistant.answering.retrieval import Hit
from assistant.ingest.chunking import Chunk
from assistant.ingest.store import DocumentRecord


def words(text: str) -> int:
    return len(text.split())


def hit(text: str, header: str = "") -> Hit:
    chunk = Chunk("c1", "doc", "Section", "Section", None, 0, len(text), text, header)
    document = DocumentRecord("doc", "doc.md", "0" * 64, "Doc", "", "", "md", 1, "")
    return Hit(chunk, document, 1.0, 1, 1)


PASSAGE = (
    "The council meets every month in the town hall. "
    "Its budget for 2025 is 4.2 million pounds, most of it for schools. "
    "The mayor was elected in May after a long campaign. "
    "Parks and libraries share what is left of the budget each year. "
    "Bus routes were redrawn to reach the new estates in the north."
)


def test_the_sentences_that_match_are_kept_in_order_with_gaps_marked() -> None:
    question = "How much is the council's budget for 2025?"
    (text,) = focus_passages(question, [hit(PASSAGE)], FakeEmbedder().embed, words, 20)
    assert "4.2 million pounds" in text
    assert "mayor was elected" not in text and "Bus routes" not in text
    assert words(text.replace(GAP, "")) <= 20
    assert text.startswith(GAP) and text.endswith(GAP)  # the first and last were left out
    kept = [p.strip() for p in text.split(GAP) if p.strip()]
    assert all(part in PASSAGE for part in kept)  # in the passage's own words and order
    order = [PASSAGE.index(part) for part in kept]
    assert order == sorted(order)


def test_a_passage_that_fits_and_a_budget_of_zero_give_the_whole_passage() -> None:
    short = hit("The council meets every month in the town hall.")
    assert focus_passages("When?", [short], FakeEmbedder().embed, words, 50) == [
        short.chunk.passage
    ]
    assert focus_passages("When?", [hit(PASSAGE)], FakeEmbedder().embed, words, 0) == [PASSAGE]


def test_the_best_sentence_is_kept_even_when_it_is_over_the_budget() -> None:
    (text,) = focus_passages("budget 2025 million", [hit(PASSAGE)], FakeEmbedder().embed, words, 5)
    assert "4.2 million pounds" in text


def test_a_table_keeps_its_header_and_its_rows_stay_lines() -> None:
    rows = "\n".join(f"| region {n} | {n * 100} staff trained in data skills |" for n in range(9))
    table = hit(rows, header="Table 2: staff trained\n| region | staff |")
    (text,) = focus_passages(
        "How many staff were trained in region 7?", [table], FakeEmbedder().embed, words, 30
    )
    assert text.startswith("Table 2: staff trained\n| region | staff |\n")
    assert "| region 7 | 700 staff" in text
    assert all(line.startswith(("|", GAP, "Table")) for line in text.split("\n"))


def test_short_pieces_go_with_the_next_sentence() -> None:
    assert pieces("Key points\nOpen models can be inspected by anyone who uses them.\n") == [
        "Key points Open models can be inspected by anyone who uses them.\n"
    ]


def test_the_assistant_gives_the_model_focused_passages_and_checks_against_whole_ones(
    tmp_path: Path,
) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "council.md").write_text(f"# Council\n\n{PASSAGE}\n")
    settings = make_settings(tmp_path, retrieval={"passage_tokens": 20})
    reply = "Its budget for 2025 is 4.2 million pounds [1]."
    generator = FakeGenerator([reply])
    assistant = Assistant(settings, FakeEmbedder(), generator)
    assistant.index()
    answer = assistant.ask("How much is the council's budget for 2025?")
    prompt = generator.prompts[0][-1]["content"]
    assert "4.2 million pounds" in prompt and GAP in prompt
    assert "Bus routes" not in prompt  # a sentence on another matter was left out
    assert not answer.declined and answer.answer == reply
    assert "Bus routes" in answer.citations[0].text  # the reader is shown it whole
