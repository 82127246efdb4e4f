"""Comparison tables against the chat answer, on questions that span several documents.

For each multi-document and comparison question of a question set, the plain chat answer
and the comparison table (every document asked on its own, `Assistant.compare`) are
made in one process. For each document the question's gold quotes come from, the measure
is whether the answer carries that document's key point: a passage it cites (for the
table, the row of that document) holds one of the document's gold quotes. Reported per
question and overall, with the time each took.

    python -m assistant.evaluation.tables --questions eval/gold.jsonl --out eval/tables

No judge model: the measure is the evaluation's quote matching (`quote_found`), so it
says whether the right evidence is cited, not whether the sentence reads well.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from statistics import median

from ..answering.assistant import Assistant
from ..answers import Citation
from ..settings import Settings
from .metrics import quote_found
from .records import GoldQuestion, TablesSummary, load_questions

KINDS = ("multi", "comparison")


def carries(citations: Sequence[Citation], question: GoldQuestion, doc_id: str) -> bool:
    """Whether a cited passage of `doc_id` holds one of the question's quotes from it."""
    quotes = [q.text for q in question.quotes if q.doc_id == doc_id]
    return any(
        quote_found(quote, c.text) for c in citations if c.doc_id == doc_id for quote in quotes
    )


def measure(assistant: Assistant, question: GoldQuestion) -> dict[str, object]:
    documents = list(dict.fromkeys(q.doc_id for q in question.quotes))
    started = time.perf_counter()
    chat = assistant.ask(question.question)
    chat_s = time.perf_counter() - started
    started = time.perf_counter()
    rows = {row.doc_id: row for row in assistant.compare(question.question)}
    table_s = time.perf_counter() - started
    return {
        "id": question.id,
        "type": question.type,
        "question": question.question,
        "documents": documents,
        "chat": {d: carries(chat.citations, question, d) for d in documents},
        "table": {d: carries(rows[d].citations, question, d) for d in documents if d in rows},
        "chat_answer": chat.answer,
        "table_rows": {d: rows[d].text for d in documents if d in rows},
        "chat_s": round(chat_s, 2),
        "table_s": round(table_s, 2),
    }


def summary(results: Sequence[dict[str, object]]) -> TablesSummary:
    def share(key: str) -> float:
        cells = [hit for r in results for hit in r[key].values()]  # type: ignore[attr-defined]
        return round(100 * sum(cells) / max(1, len(cells)), 1)

    return TablesSummary(
        format=TablesSummary.FORMAT,
        questions=len(results),
        documents=sum(len(r["documents"]) for r in results),  # type: ignore[arg-type, misc]
        chat_carries_pct=share("chat"),
        table_carries_pct=share("table"),
        chat_median_s=median(float(r["chat_s"]) for r in results),  # type: ignore[arg-type]
        table_median_s=median(float(r["table_s"]) for r in results),  # type: ignore[arg-type]
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--out", type=Path, default=Path("eval/tables"))
    parser.add_argument("--limit", type=int, default=0, help="At most this many questions.")
    args = parser.parse_args(argv)
    questions = [q for q in load_questions(args.questions) if q.type in KINDS]
    questions = questions[: args.limit or None]
    assistant = Assistant(Settings.load())
    results = []
    for n, question in enumerate(questions, start=1):
        result = measure(assistant, question)
        results.append(result)
        print(
            f"{n}/{len(questions)} {question.id}: chat {result['chat']} table {result['table']}",
            flush=True,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    totals = summary(results)
    (args.out / "results.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results), encoding="utf-8"
    )
    text = json.dumps(totals.to_json(), indent=1)
    (args.out / "summary.json").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
