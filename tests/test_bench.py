"""The benchmark's pieces: statistics, synthetic corpora, clocks, the report (with fakes),
and the cold start (a real `assistant ask` with the smallest model).

The full benchmark (`assistant bench`) runs the real models for 10 to 14 minutes and is
not part of the test suite; these tests check that what it computes is computed right.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder, FakeGenerator, make_settings, real_model_path

from assistant.bench.baselines import ClockedGenerator, Run, clock_stream
from assistant.bench.harness import Bench, BenchOptions, score_answers_file
from assistant.bench.report import markdown, summary_rows
from assistant.bench.results import (
    Answering,
    AnswerRun,
    BenchResults,
    BenchSettings,
    Indexing,
    Machine,
    Retrieval,
)
from assistant.bench.runner import _summary, bench_retrieval
from assistant.bench.synthetic import (
    DIM,
    LatencySummary,
    clustered_vectors,
    measure_size,
    queries_near,
)
from assistant.generation.llm import GenerationStats

GOLD = [
    {
        "id": "t1",
        "question": "How many Ministry of Justice employees get AI tools?",
        "type": "figure",
        "gold_answer": "2,500 employees.",
        "key_terms": ["2,500"],
        "quotes": [
            {
                "doc_id": "justice",
                "text": "The Ministry of Justice will give 2,500 employees access to AI tools.",
            }
        ],
    },
    {
        "id": "t2",
        "question": "Did it rain on Tuesday?",
        "type": "fact",
        "gold_answer": "Yes.",
        "key_terms": ["rained"],
        "quotes": [{"doc_id": "weather", "text": "It rained on Tuesday"}],
    },
]


def _by_hand(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks, as the summary computed it by hand."""
    position = (len(sorted_values) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    weight = position - low
    return sorted_values[low] * (1 - weight) + sorted_values[high] * weight


@pytest.mark.parametrize(
    ("seconds", "p50", "p99"),
    [
        ([0.001, 0.002, 0.003, 0.004], 2.5, 3.97),
        ([v / 1000 for v in range(1, 101)], 50.5, 99.01),
        ([0.007], 7.0, 7.0),
    ],
)
def test_latency_percentiles_interpolate_between_ranks(
    seconds: list[float], p50: float, p99: float
) -> None:
    summary = LatencySummary.of(seconds)
    assert (summary.p50_ms, summary.p99_ms) == (p50, p99)


def test_latency_percentiles_equal_the_interpolation_by_hand() -> None:
    rng = np.random.default_rng(7)
    for n in range(1, 300):
        seconds = list(rng.lognormal(-5, 1, size=n))
        ms = sorted(1000 * s for s in seconds)
        summary = LatencySummary.of(seconds)
        assert summary.p50_ms == round(_by_hand(ms, 50), 3)
        assert summary.p99_ms == round(_by_hand(ms, 99), 3)


def test_latency_summary_is_in_milliseconds() -> None:
    summary = LatencySummary.of([0.003, 0.001, 0.002])
    assert (summary.p50_ms, summary.mean_ms) == (2.0, 2.0)
    assert summary.p99_ms == pytest.approx(2.98)


def test_synthetic_vectors_are_unit_length_and_clustered() -> None:
    vectors = clustered_vectors(2_000, clusters=20, block=700)  # blocks that do not divide n
    assert vectors.shape == (2_000, DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    queries = queries_near(vectors, 10)
    nearest = (queries @ vectors.T).max(axis=1)
    assert (nearest > 0.9).all()  # each query sits next to the vector it was made from


def test_ivf_recall_is_measured_against_flat_search() -> None:
    result = measure_size(3_000, queries=20, bm25_limit=3_000, threads=1)
    recalls = [row.recall_at_10 for row in result.ivf.by_nprobe]
    assert all(0.0 <= r <= 1.0 for r in recalls)
    assert recalls == sorted(recalls)  # more lists probed never finds fewer neighbours
    assert result.flat.bytes >= 3_000 * DIM * 4
    assert result.hybrid is not None and result.hybrid.bm25_bytes > 0


def test_no_bm25_beyond_its_limit() -> None:
    assert measure_size(1_000, queries=5, bm25_limit=999, threads=1).hybrid is None


def test_the_clock_passes_the_stream_through_and_notes_the_first_token() -> None:
    clocked = ClockedGenerator(FakeGenerator(["One two three."]))
    stats = GenerationStats()
    messages = [{"role": "user", "content": "hello"}]
    assert "".join(clocked.stream(messages, 10, stats)) == "One two three."
    assert clocked.messages == messages
    assert 0 < clocked.first_token_at <= clocked.last_token_at
    assert clocked.model_s > 0  # the time spent waiting on the wrapped model
    assert stats.completion_tokens == 3
    assert clocked.replies == []  # anything else is the wrapped model's


def test_an_answer_of_several_prompts_keeps_its_first_token_and_every_prompt() -> None:
    clocked = ClockedGenerator(FakeGenerator(["First part [1].", "Second part [2]."]))
    first = [{"role": "user", "content": "about the first document"}]
    second = [{"role": "user", "content": "about the second document"}]
    clocked.reset()
    "".join(clocked.stream(first, 10, GenerationStats()))
    opened, waited = clocked.first_token_at, clocked.model_s
    "".join(clocked.stream(second, 10, GenerationStats()))
    assert clocked.prompts == [first, second]  # the bare model is given both, in turn
    assert clocked.first_token_at == opened < clocked.last_token_at
    assert clocked.model_s > waited  # both parts' time in the model
    clocked.reset()
    assert clocked.prompts == [] and clocked.first_token_at == 0.0


def test_clock_stream_counts_pieces() -> None:
    run = clock_stream(0.0, iter(["a", "b", "c"]), Run())
    assert (run.text, run.completion_tokens) == ("abc", 3)
    assert 0 < run.first_token_s <= run.last_token_s <= run.total_s


@pytest.mark.parametrize(
    ("tokens", "first", "last", "rate"),
    [(5, 1.0, 3.0, 2.0), (1, 1.0, 1.0, 0.0), (0, 0.0, 0.0, 0.0)],
)
def test_output_rate_counts_the_gaps_between_tokens(tokens, first, last, rate) -> None:
    run = Run(first_token_s=first, last_token_s=last, completion_tokens=tokens)
    assert run.tokens_per_s == rate


def _row(total: float, bare: float) -> AnswerRun:
    return AnswerRun(
        id="t1",
        type="fact",
        first_token_s=1.0,
        first_sentence_s=2.0,
        bare_first_token_s=0.5,
        total_s=total,
        bare_total_s=bare,
        tokens_per_s=10.0,
        bare_tokens_per_s=11.0,
        prompt_tokens=100,
        completion_tokens=20,
        bare_prompt_tokens=100,
        bare_completion_tokens=20,
        total_ratio=round(total / bare, 3),
        cpu_s=2 * total,
        bare_cpu_s=2 * bare,
    )


def test_the_total_ratio_is_of_sums_not_a_mean_of_ratios() -> None:
    summary = _summary([_row(3.0, 2.0), _row(9.0, 10.0)])
    assert summary.total_ratio == pytest.approx(12 / 12)
    assert summary.cpu_ratio == pytest.approx(1.0)
    assert summary.first_token_ratio == 2.0


def test_the_report_shows_each_measured_section(tmp_path: Path) -> None:
    indexing = {
        "chunks": 10,
        "pipeline_s": 1.1,
        "raw_encode_s": 1.0,
        "pipeline_chunks_per_s": 9.0,
        "raw_chunks_per_s": 10.0,
        "overhead_ratio": 1.111,
        "unchanged_in_process_s": 0.01,
        "unchanged_cli_s": 0.8,
        "unchanged_cli_ok": True,
        "index_bytes_on_disk": 1000,
        "runs": {"pipeline_s": [1.1], "raw_s": [1.0]},
    }
    answering = Answering(
        model="m",
        model_load_s=1.0,
        rss_bytes=10**9,
        questions=[_row(3.0, 2.0)],
        summary=_summary([_row(3.0, 2.0)]),
    )
    results = BenchResults(
        machine=Machine.now(),
        settings=BenchSettings.of(make_settings(tmp_path)),
        indexing=Indexing(**indexing),
        answering=answering,
    )
    rows = summary_rows(results)
    assert (
        "indexing",
        "chunks/s, default corpus (10 chunks)",
        "9.0",
        "10.0 (raw encode)",
        "1.111",
        "< 1.10",
    ) in rows
    total = next(r for r in rows if r[1].startswith("total time"))
    assert total[2:5] == ("3.00 s", "2.00 s", "1.500")
    text = markdown(results)
    assert "| t1 | fact |" in text and "Dense search" not in text  # retrieval was not run


def _bench(tmp_path: Path, corpus: Path, index: bool = True) -> Bench:
    questions = tmp_path / "gold.jsonl"
    questions.write_text("".join(json.dumps(row) + "\n" for row in GOLD), encoding="utf-8")
    settings = make_settings(tmp_path)
    options = BenchOptions(
        questions=questions, question_ids=("t1", "t2"), sizes=(1_500,), queries=10, bm25_limit=1_500
    )
    bench = Bench(settings, options, tmp_path / "out", lambda text: None)
    if not index:
        return bench
    bench._embedder = FakeEmbedder()  # type: ignore[assignment]
    from assistant.answering.assistant import Assistant

    Assistant(bench.settings, bench._embedder).index()
    return bench


def test_retrieval_is_measured_on_the_corpus_and_a_synthetic_one(tmp_path: Path, corpus: Path):
    result = bench_retrieval(_bench(tmp_path, corpus))
    assert result.corpus.chunks == 4 and result.corpus.queries == 2
    assert result.corpus.faiss_bytes > 4 * DIM * 4
    assert [s.vectors for s in result.synthetic] == [1_500]
    data = result.model_dump(mode="json")
    assert list(data["corpus"])[:3] == ["chunks", "queries", "hybrid_threads_1"]
    assert Retrieval.model_validate(data) == result


def test_answers_are_scored_by_the_harness(tmp_path: Path, corpus: Path) -> None:
    bench = _bench(tmp_path, corpus)
    bench.out.mkdir(parents=True)
    context = {
        "n": 1,
        "doc_id": "justice",
        "title": "Justice",
        "section": "",
        "score": 0.0,
        "text": "The Ministry of Justice will give 2,500 employees access to AI tools.",
    }
    answers = bench.out / "answers.jsonl"
    answers.write_text(
        json.dumps(
            {
                "id": "t1",
                "question": GOLD[0]["question"],
                "declined": False,
                "answer": "2,500 employees get AI tools [1].",
                "contexts": [context],
                "citations": [context],
            }
        )
        + "\n"
        + json.dumps(
            {
                "id": "t2",
                "question": GOLD[1]["question"],
                "declined": True,
                "answer": "The documents do not say.",
                "contexts": [context],
                "citations": [],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    overall = score_answers_file(bench, answers, "eval-test")
    assert overall.hit == 0.5  # t1's quote was given, t2's was not
    assert overall.key_terms == 0.5  # "2,500" in t1's answer; t2 declined
    assert (bench.out / "eval-test" / "summary.json").exists()


def test_the_cold_start_is_measured_in_a_fresh_process(tmp_path: Path, corpus: Path) -> None:
    """The real `assistant ask` (small model, real embedder), loading the model both ways."""
    from assistant.bench.runner import bench_coldstart

    real_model_path("smollm2-135m")
    bench = _bench(tmp_path, corpus, index=False)
    bench.settings = bench.settings.with_overrides(generation={"model": "smollm2-135m"})
    result = bench_coldstart(bench)
    assert [run.exit for run in result.runs] == [0, 0]
    assert 0 < result.first_word_s <= result.total_s
    # torch and the model alone take more than 150 MB; a fork's inherited size is not counted
    assert 150e6 < result.peak_rss_bytes < 8e9
    other = result.other_load
    assert other is not None and other.use_mmap is True and other.exit == 0
    assert other.peak_rss_bytes > 150e6
    assert "use_mmap" not in result.model_dump(exclude_unset=True)["runs"][0]
