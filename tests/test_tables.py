"""The table-against-chat measure: which cited passages carry a document's key point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answers import Citation
from assistant.evaluation.records import GoldQuestion, Quote, TablesSummary
from assistant.evaluation.tables import carries, summary

ROOT = Path(__file__).resolve().parent.parent
QUESTION = GoldQuestion(
    id="q1",
    question="What do A and B say about parks?",
    type="comparison",
    gold_answer="",
    key_terms=(),
    quotes=(Quote("a", "Parks open at nine every morning."), Quote("b", "Parks close at dusk.")),
)


def cite(doc_id: str, text: str) -> Citation:
    return Citation(n=1, doc_id=doc_id, title=doc_id, section="", text=text, score=1.0)


def test_a_document_is_carried_only_by_its_own_passage_holding_its_quote() -> None:
    holding_a = cite("a", "In the city, parks open at nine every morning. Dogs are welcome.")
    assert carries([holding_a], QUESTION, "a")
    assert not carries([holding_a], QUESTION, "b")
    assert not carries([cite("b", "Parks open at nine every morning.")], QUESTION, "a")
    assert not carries([cite("a", "Libraries open at nine.")], QUESTION, "a")


def test_summary_counts_documents_not_questions() -> None:
    results = [
        {
            "documents": ["a", "b"],
            "chat": {"a": True, "b": False},
            "table": {"a": True, "b": True},
            "chat_s": 10.0,
            "table_s": 50.0,
        },
        {
            "documents": ["c"],
            "chat": {"c": False},
            "table": {"c": True},
            "chat_s": 12.0,
            "table_s": 40.0,
        },
    ]
    totals = summary(results)
    assert totals.documents == 3
    assert totals.chat_carries_pct == 33.3 and totals.table_carries_pct == 100.0
    assert totals.chat_median_s == 11.0 and totals.table_median_s == 45.0
    assert TablesSummary.from_json(totals.to_json()) == totals


@pytest.mark.parametrize("questions", ["gold", "unseen"])
def test_the_kept_table_summaries_read_back_as_written(questions: str) -> None:
    raw = json.loads((ROOT / "eval" / "tables" / questions / "summary.json").read_text())
    assert TablesSummary.from_json(raw).to_json() == {"format": 1, **raw}
