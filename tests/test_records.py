"""The typed records kept on disk: each reads back what it wrote, reads its older form
with the defaults, and refuses a wrong type or an unknown format with a clear message."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeEmbedder, FakeGenerator, make_settings

from assistant.answering.assistant import Assistant
from assistant.bench.report import markdown
from assistant.bench.results import BenchResults
from assistant.errors import RecordInvalid
from assistant.evaluation.metrics import METRICS
from assistant.evaluation.records import GoldQuestion, Quote, Scores, load_questions
from assistant.evaluation.runner import load_summary
from assistant.trust.audit import AuditLog, record_hash
from assistant.trust.provenance import render
from assistant.trust.records import ProvenanceRecord

REPLY = "The Ministry of Justice will give 2,500 employees access to AI tools [1]."

# ---------------------------------------------------------------- provenance


def _provenance(tmp_path: Path) -> dict[str, Any]:
    settings = make_settings(tmp_path, audit={"enabled": False})
    assistant = Assistant(settings, FakeEmbedder(), FakeGenerator([REPLY]))
    assistant.index()
    return assistant.ask("How many employees get AI tools?").provenance


def _before_drafts(record: dict[str, Any]) -> dict[str, Any]:
    """The record as format 1 was first written: no draft, sentences, scope or asked_for,
    no mark on passages holding instructions."""
    old = copy.deepcopy(record)
    for key in ("draft", "sentences", "scope", "asked_for"):
        del old[key]
    for passage in old["passages"]:
        del passage["instructions_withheld"]
    return old


def test_a_provenance_record_reads_back_what_it_wrote(tmp_path: Path, corpus: Path) -> None:
    data = _provenance(tmp_path)
    record = ProvenanceRecord.from_json(data)
    assert record.to_json() == data
    assert ProvenanceRecord.from_json(record.to_json()) == record
    assert record.format == ProvenanceRecord.FORMAT == 1
    assert record.passages[0].doc_id == "justice" and record.cited == [1]


def test_an_older_provenance_record_reads_with_the_defaults(tmp_path: Path, corpus: Path) -> None:
    old = _before_drafts(_provenance(tmp_path))
    record = ProvenanceRecord.from_json(old)
    assert (record.draft, record.sentences, record.scope, record.asked_for) == ("", [], [], None)
    assert record.passages[0].instructions_withheld is False
    assert record.to_json() == old  # written back as it was: its hash still holds
    assert "Passages given to the model:" in render(record)


def test_an_older_record_in_the_audit_log_verifies_and_is_found(
    tmp_path: Path, corpus: Path
) -> None:
    old = _before_drafts(_provenance(tmp_path))
    log = AuditLog(tmp_path / "old" / "audit.jsonl")
    chained = log.append(old)
    assert log.verify().ok
    found = log.find(old["id"])
    assert found.seq == 1 and found.hash == chained["hash"] == record_hash(found.to_json())


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda r: r["passages"][0].update(score="high"), "passages.0.score"),
        (lambda r: r.update(declined="perhaps"), "declined"),
        (lambda r: r.pop("question"), "question: missing"),
        (lambda r: r["model"].update(colour="blue"), "model.colour: unknown field"),
    ],
)
def test_a_provenance_record_of_another_shape_is_refused(
    tmp_path: Path, corpus: Path, change: Any, said: str
) -> None:
    data = _provenance(tmp_path)
    change(data)
    with pytest.raises(RecordInvalid) as caught:
        ProvenanceRecord.from_json(data, "audit.jsonl, answer x")
    message = str(caught.value)
    assert message.startswith("audit.jsonl, answer x: not a provenance record")
    assert said in message and "read it with the version of the assistant" in message


def test_a_provenance_record_of_a_newer_format_says_so(tmp_path: Path, corpus: Path) -> None:
    data = _provenance(tmp_path) | {"format": 2}
    with pytest.raises(
        RecordInvalid, match=r"format: not a format this version .* reads \(1 to 1\).* \(got 2\)"
    ):
        ProvenanceRecord.from_json(data)


# ---------------------------------------------------------------- gold question

GOLD_ROW = {
    "id": "q001",
    "question": "How many Ministry of Justice staff get AI tools?",
    "type": "figure",
    "gold_answer": "2,500 Ministry of Justice employees will get access to AI tools.",
    "key_terms": ["2,500"],
    "quotes": [{"doc_id": "justice", "text": "The Ministry of Justice will give 2,500 employees"}],
}


def test_a_gold_question_reads_back_what_it_wrote() -> None:
    question = GoldQuestion.from_json(GOLD_ROW | {"paraphrase_of": "q000"})
    assert question.quotes == (Quote("justice", GOLD_ROW["quotes"][0]["text"]),)
    assert GoldQuestion.from_json(question.to_json()) == question
    assert question.to_json() == GOLD_ROW | {"paraphrase_of": "q000", "format": 1}


def test_a_gold_line_of_the_first_sets_reads_with_the_defaults(tmp_path: Path) -> None:
    """Lines from before `paraphrase_of` and `format`, and a bare one `assistant eval` reads."""
    path = tmp_path / "set.jsonl"
    bare = {"id": "q2", "question": "What did it cost?", "type": "unanswerable"}
    path.write_text(json.dumps(GOLD_ROW) + "\n\n" + json.dumps(bare) + "\n")
    first, second = load_questions(path)
    assert (first.paraphrase_of, first.format, first.answerable) == ("", 1, True)
    assert second == GoldQuestion("q2", "What did it cost?", "unanswerable")


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"type": "opinion"}, "type: input should be 'fact', 'figure', 'multi', 'comparison'"),
        ({"key_terms": "2,500"}, "key_terms: input should be a list (got '2,500')"),
        ({"quotes": [{"doc_id": "justice"}]}, "quotes.0.text: missing"),
        ({"id": " "}, "id: must not be blank"),
        ({"format": 2}, "format: not a format this version of the assistant reads (1 to 1)"),
    ],
)
def test_a_malformed_gold_line_is_refused_with_where_and_what(
    tmp_path: Path, change: dict[str, Any], said: str
) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(GOLD_ROW) + "\n" + json.dumps(GOLD_ROW | change) + "\n")
    with pytest.raises(RecordInvalid) as caught:
        load_questions(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: not a gold question") and said in message
    assert message.endswith("correct the line as eval/FORMAT.md describes.")


# ---------------------------------------------------------------- evaluation summary

ROOT = Path(__file__).resolve().parent.parent


def test_the_scores_are_the_metrics() -> None:
    assert tuple(Scores.model_fields) == METRICS


@pytest.mark.parametrize("report", ["baseline", "baseline-unseen", "before-unseen"])
def test_a_kept_evaluation_summary_reads_back_as_written(report: str, tmp_path: Path) -> None:
    raw = json.loads((ROOT / "eval" / report / "summary.json").read_text())
    summary = load_summary(ROOT / "eval" / report)
    assert summary.to_json() == {"format": 1, **raw}  # the same keys, in the same order
    assert list(summary.to_json()) == ["format", *(k for k in raw if k != "format")]
    (tmp_path / "summary.json").write_text(json.dumps(summary.to_json()))
    assert load_summary(tmp_path) == summary


def test_a_summary_from_before_the_stage_table_reads_with_the_defaults() -> None:
    summary = load_summary(ROOT / "eval" / "before-unseen")
    assert (summary.format, summary.stages, summary.paraphrases) == (1, {}, None)
    assert summary.by_type["fact"].n == 25 and summary.latency["total_s"].median == 22.239


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"n": "many"}, "n: input should be a valid integer"),
        ({"overall": {"hit": "high"}}, "overall.hit: input should be a valid number"),
        ({"format": 2}, "format: not a format this version of the assistant reads"),
    ],
)
def test_a_summary_of_another_shape_is_refused(
    tmp_path: Path, change: dict[str, Any], said: str
) -> None:
    raw = json.loads((ROOT / "eval" / "baseline" / "summary.json").read_text())
    (tmp_path / "summary.json").write_text(json.dumps(raw | change))
    with pytest.raises(RecordInvalid) as caught:
        load_summary(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'summary.json'}: not an evaluation summary")
    assert said in message and message.endswith("with the version that wrote it.")


# ---------------------------------------------------------------- benchmark results


def _kept_results() -> dict[str, Any]:
    return dict(json.loads((ROOT / "eval" / "bench" / "results.json").read_text()))


def test_kept_benchmark_results_read_back_as_written(tmp_path: Path) -> None:
    raw = _kept_results()
    results = BenchResults.load(ROOT / "eval" / "bench")
    assert results.to_json() == {"format": 1, **raw}
    assert list(results.to_json()["retrieval"]["corpus"]) == list(raw["retrieval"]["corpus"])
    assert sorted(results.retrieval.corpus.hybrid) == [1, 2]  # type: ignore[union-attr]
    results.save(tmp_path / "results.json")
    assert BenchResults.load(tmp_path) == results


def test_results_from_before_the_pipeline_time_read_with_the_defaults(tmp_path: Path) -> None:
    raw = _kept_results()
    for row in raw["answering"]["questions"]:
        del row["outside_model_s"]
    del raw["answering"]["summary"]["outside_model_s_sum"], raw["answering"]["prefix_cache"]
    del raw["coldstart"]["other_load"], raw["sweep"]
    (tmp_path / "results.json").write_text(json.dumps(raw))
    results = BenchResults.load(tmp_path)
    assert results.answering is not None and results.answering.prefix_cache is None
    assert results.answering.questions[0].outside_model_s is None
    assert results.sweep is None and results.to_json() == {"format": 1, **raw}
    assert "the pipeline's own time" in markdown(results)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda r: r["indexing"].update(chunks="many"), "indexing.chunks: input should be"),
        (lambda r: r["retrieval"]["corpus"].update(hybrid_threads_x={}), "retrieval.corpus"),
        (lambda r: r.update(format=2), "format: not a format this version"),
    ],
)
def test_benchmark_results_of_another_shape_are_refused(
    tmp_path: Path, change: Any, said: str
) -> None:
    raw = _kept_results()
    change(raw)
    (tmp_path / "results.json").write_text(json.dumps(raw))
    with pytest.raises(RecordInvalid) as caught:
        BenchResults.load(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'results.json'}: not a file of benchmark results")
    assert said in message and "run the benchmark again" in message
