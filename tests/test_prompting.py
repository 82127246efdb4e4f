"""Prompting: packing to the token budget, and parsing markers out of the reply."""

from __future__ import annotations

import pytest

from assistant.answering.prompting import (
    SYSTEM_PROMPT,
    build_prompt,
    cited_numbers,
    is_decline,
    source_label,
)
from assistant.answering.retrieval import Hit
from assistant.ingest.chunking import Chunk
from assistant.ingest.store import DocumentRecord


def count(text: str) -> int:  # the fake counter: one token a word
    return len(text.split())


def hit(n: int, text: str, section: str = "", page: int | None = None, **doc: str) -> Hit:
    record = DocumentRecord(
        doc_id=f"doc{n}",
        file=f"doc{n}.md",
        sha256="0" * 64,
        title=doc.get("title", f"Doc {n}"),
        publisher=doc.get("publisher", ""),
        date=doc.get("date", ""),
        kind="md",
        chunks=1,
        added="",
    )
    chunk = Chunk(f"doc{n}#0", f"doc{n}", section, section, page, 0, len(text), text)
    return Hit(chunk, record, 1.0 / (n + 1), n, n)


def prompt_tokens(messages: list[dict[str, str]]) -> int:
    return sum(count(m["content"]) for m in messages)


@pytest.mark.parametrize("n_ctx", [1024, 2048, 4096])
@pytest.mark.parametrize("passage_words", [20, 150, 400])
@pytest.mark.parametrize("turns", [0, 3])
def test_packed_prompt_never_exceeds_the_budget(n_ctx: int, passage_words: int, turns: int) -> None:
    max_tokens = 384
    hits = [hit(n, " ".join([f"w{n}"] * passage_words)) for n in range(200)]
    history = [(" ".join(["asked"] * 80), " ".join(["answered"] * 120))] * turns
    packed = build_prompt("What is the plan?", hits, history, count, n_ctx, max_tokens)
    assert prompt_tokens(packed.messages) <= n_ctx - max_tokens
    assert packed.dropped_passages == len(hits) - len(packed.hits) > 0
    assert packed.hits == hits[: len(packed.hits)]  # the best ones, in rank order
    assert packed.messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    user = packed.messages[-1]["content"]
    for number, given in enumerate(packed.hits, start=1):
        assert f"[{number}] {given.document.title}\n{given.chunk.text}" in user
    assert f"[{len(packed.hits) + 1}]" not in user
    assert user.endswith("Question: What is the plan?\nAnswer:")


def test_all_passages_given_when_they_fit() -> None:
    hits = [hit(n, "A short passage about parks.") for n in range(4)]
    packed = build_prompt("Parks?", hits, [], count, 4096, 384)
    assert packed.hits == hits and packed.dropped_passages == 0 and not packed.question_cut
    assert len(packed.messages) == 2


def test_a_passage_over_budget_is_skipped_and_a_smaller_later_one_kept() -> None:
    hits = [hit(0, "small " * 50), hit(1, "huge " * 3000), hit(2, "small " * 50)]
    packed = build_prompt("Q?", hits, [], count, 2048, 384)
    assert [h.chunk.doc_id for h in packed.hits] == ["doc0", "doc2"]
    assert packed.dropped_passages == 1
    user = packed.messages[-1]["content"]
    assert "[2] Doc 2" in user and "huge" not in user  # numbered as given


def test_a_question_longer_than_the_budget_is_cut_and_flagged() -> None:
    question = " ".join(f"word{i}" for i in range(5000))
    hits = [hit(n, "passage text " * 40) for n in range(10)]
    packed = build_prompt(question, hits, [], count, 2048, 384)
    assert packed.question_cut
    assert prompt_tokens(packed.messages) <= 2048 - 384
    asked = packed.messages[-1]["content"].split("Question: ")[1].removesuffix("\nAnswer:")
    assert question.startswith(asked) and 32 <= count(asked) < 5000
    assert packed.hits  # passages still fit beside the cut question


def test_history_turns_are_given_oldest_dropped_first() -> None:
    history = [(f"q{i} " + "x " * 200, f"a{i} " + "y " * 200) for i in range(4)]
    packed = build_prompt("Next?", [hit(0, "text")], history, count, 4096, 384)
    roles = [m["role"] for m in packed.messages]
    assert roles[0] == "system" and roles[-1] == "user"
    kept = [m["content"].split()[0] for m in packed.messages[1:-1]]
    assert kept and kept == [w for i in range(4 - len(kept) // 2, 4) for w in (f"q{i}", f"a{i}")]
    assert len(kept) < 8  # the oldest turns did not fit


@pytest.mark.parametrize(
    ("doc", "section", "page", "label"),
    [
        (
            {"title": "Plan", "publisher": "DSIT", "date": "2025"},
            "Aims",
            3,
            "Plan (DSIT, 2025), Aims, page 3",
        ),
        ({"title": "Plan"}, "", None, "Plan"),
        ({"title": "Plan", "date": "May 2025"}, "1.2 Data", None, "Plan (May 2025), 1.2 Data"),
    ],
)
def test_source_label(doc: dict[str, str], section: str, page: int | None, label: str) -> None:
    assert source_label(hit(1, "text", section, page, **doc)) == label


@pytest.mark.parametrize(
    ("answer", "n_given", "numbers", "cleaned"),
    [
        ("A [1]. B [2, 3]. C [1].", 3, [1, 2, 3], "A [1]. B [2, 3]. C [1]."),
        ("A [4]. B [2].", 3, [2], "A. B [2]."),
        ("A [1, 4, 2].", 3, [1, 2], "A [1, 2]."),
        ("A [0] and B [99].", 2, [], "A and B."),
        ("A [3] is [1] true [2].", 2, [1, 2], "A is [1] true [2]."),
        ("A [2][1].", 2, [2, 1], "A [2][1]."),
        ("See [note] and [a, b].", 2, [], "See [note] and [a, b]."),
        ("Nothing cited.", 0, [], "Nothing cited."),
        ("A [1].", 0, [], "A."),
    ],
)
def test_cited_numbers(answer: str, n_given: int, numbers: list[int], cleaned: str) -> None:
    assert cited_numbers(answer, n_given) == numbers
    assert cited_numbers(cleaned, n_given) == numbers


@pytest.mark.parametrize(
    ("answer", "declined"),
    [
        ("The documents do not say.", True),
        ("The sources do not contain that information.", True),
        ("I cannot answer that from the passages.", True),
        ("There is no information about it.", True),
        ("", True),
        ("The ministry gives 2,500 staff AI tools [1].", False),
        ("Documents say staff will train [2].", False),
    ],
)
def test_is_decline(answer: str, declined: bool) -> None:
    assert is_decline(answer) is declined


def test_a_context_window_too_small_for_the_rules_is_refused_with_what_to_change() -> None:
    from assistant.answering.prompting import build_prompt
    from assistant.errors import QuestionTooLong

    with pytest.raises(QuestionTooLong, match="n_ctx"):
        build_prompt("What?", [], [], lambda t: len(t.split()), n_ctx=300, max_answer_tokens=200)
