"""The benchmark's results as typed models: `BenchResults` (results.json) and its sections.

Written by `runner.run_bench` (each section as it finishes, so a long run keeps what it
measured) with `BenchResults.save`, read back with `BenchResults.load`; shown by
`report.py` and `assistant bench`. Only the sections that were run
are in a file. Fields added after the first results were kept are optional:
`outside_model_s` and its sum (the pipeline's own time), `prefix_cache`, `other_load`,
`serve`.
Latencies of one search are in milliseconds (`LatencySummary`), everything else in
seconds, bytes and tokens as named.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ConfigDict, SerializerFunctionWrapHandler, model_serializer, model_validator
from pydantic.dataclasses import dataclass

from ..errors import BenchError
from ..evaluation.records import Scores
from ..records import Part, Record
from ..settings import Settings

_STRICT = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_STRICT)
class LatencySummary:
    p50_ms: float
    p99_ms: float
    mean_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> LatencySummary:
        ms = sorted(1000 * s for s in seconds)
        p50, p99 = np.percentile(ms, [50, 99])  # linear between the closest ranks
        return cls(round(float(p50), 3), round(float(p99), 3), round(sum(ms) / len(ms), 3))


@dataclass(frozen=True, config=_STRICT)
class Shape:
    """Mean cosine of two unrelated vectors, and of a vector and its 10th nearest neighbour."""

    unrelated: float = 0.64
    neighbour: float = 0.81


# ---------------------------------------------------------------- the run


class Machine(Part):
    cpus: int | None
    load_average_1m: float  # at the start: the machine is shared
    python: str
    time: str

    @classmethod
    def now(cls) -> Machine:
        return cls(
            cpus=os.cpu_count(),
            load_average_1m=round(os.getloadavg()[0], 2),
            python=sys.version.split()[0],
            time=datetime.now().isoformat(timespec="seconds"),
        )


class BenchSettings(Part):
    """The settings the run measured."""

    model: str
    n_threads: int
    n_batch: int
    n_ctx: int
    top_k: int
    chunk_tokens: int
    max_tokens: int

    @classmethod
    def of(cls, settings: Settings) -> BenchSettings:
        g = settings.generation
        return cls(
            model=g.model,
            n_threads=g.n_threads,
            n_batch=g.n_batch,
            n_ctx=g.n_ctx,
            top_k=settings.retrieval.top_k,
            chunk_tokens=settings.chunking.chunk_tokens,
            max_tokens=g.max_tokens,
        )


class Loads(Part):
    embedder_s: float


# ---------------------------------------------------------------- indexing


class IndexingRuns(Part):
    pipeline_s: list[float]
    raw_s: list[float]


class Indexing(Part):
    chunks: int
    pipeline_s: float  # the best run
    raw_encode_s: float
    pipeline_chunks_per_s: float
    raw_chunks_per_s: float
    overhead_ratio: float
    unchanged_in_process_s: float
    unchanged_cli_s: float
    unchanged_cli_ok: bool
    index_bytes_on_disk: int
    runs: IndexingRuns
    section_s: float = 0.0


# ---------------------------------------------------------------- retrieval

HYBRID = "hybrid_threads_"  # the key of the hybrid search's latency with so many threads


class CorpusRetrieval(Part):
    """Search latency on the indexed corpus; `hybrid` by FAISS threads."""

    chunks: int
    queries: int
    hybrid: dict[int, LatencySummary]
    embed_query: LatencySummary
    dense: LatencySummary
    bm25: LatencySummary
    faiss_bytes: int
    bm25_bytes: int
    shape: Shape

    @model_validator(mode="before")
    @classmethod
    def _gather_threads(cls, data: Any) -> Any:
        """results.json keeps one key per thread count ("hybrid_threads_2")."""
        if isinstance(data, dict) and "hybrid" not in data:
            threads = {k.removeprefix(HYBRID): v for k, v in data.items() if k.startswith(HYBRID)}
            if not all(n.isdigit() for n in threads):
                raise ValueError(f"{HYBRID}N keys need a number of threads, got {list(threads)}")
            data = {k: v for k, v in data.items() if not k.startswith(HYBRID)}
            data["hybrid"] = {int(n): v for n, v in threads.items()}
        return data

    @model_serializer(mode="wrap")
    def _spread_threads(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        hybrid = data.pop("hybrid", {})
        spread: dict[str, Any] = {}
        for key, value in data.items():
            spread[key] = value
            if key == "queries":
                spread.update({f"{HYBRID}{n}": latency for n, latency in hybrid.items()})
        return spread


class FlatSearch(Part):
    build_s: float
    bytes: int
    latency: LatencySummary


class Probe(Part):
    nprobe: int
    recall_at_10: float  # against flat search
    latency: LatencySummary


class IvfSearch(Part):
    nlist: int
    build_s: float
    bytes: int
    by_nprobe: list[Probe]


class HybridSearch(Part):
    bm25_build_s: float
    bm25_bytes: int
    bm25_latency: LatencySummary
    hybrid_flat_latency: LatencySummary
    hybrid_ivf_latency: LatencySummary


class SyntheticSize(Part):
    """Flat and IVF search over a synthetic corpus; BM25 and fusion up to a size."""

    vectors: int
    queries: int
    dim: int
    flat: FlatSearch
    ivf: IvfSearch
    hybrid: HybridSearch | None = None  # None beyond the BM25 limit


class Retrieval(Part):
    corpus: CorpusRetrieval
    synthetic: list[SyntheticSize]
    section_s: float = 0.0


# ---------------------------------------------------------------- answering


class AnswerRun(Part):
    """One fixed question: the assistant against bare llama.cpp given the same messages."""

    id: str
    type: str
    first_token_s: float
    first_sentence_s: float
    total_s: float
    prompt_tokens: int
    completion_tokens: int
    bare_first_token_s: float
    bare_total_s: float
    bare_prompt_tokens: int
    bare_completion_tokens: int
    tokens_per_s: float
    bare_tokens_per_s: float
    total_ratio: float
    cpu_s: float
    bare_cpu_s: float
    outside_model_s: float | None = None  # the pipeline's own time


class AnsweringSummary(Part):
    first_token_s: float  # medians
    first_sentence_s: float
    bare_first_token_s: float
    total_s_sum: float
    bare_total_s_sum: float
    total_ratio: float  # of the sums
    cpu_s_sum: float
    bare_cpu_s_sum: float
    outside_model_s_sum: float | None = None
    cpu_ratio: float
    first_token_ratio: float
    tokens_per_s: float
    bare_tokens_per_s: float
    prompt_tokens_mean: float
    completion_tokens_mean: float


class PrefixCache(Part):
    """Time to the first token with the system prompt's evaluation reused, and without."""

    reused_s: float
    not_reused_s: float
    saved_s: float


class Answering(Part):
    model: str
    model_load_s: float
    rss_bytes: int
    questions: list[AnswerRun]
    summary: AnsweringSummary
    prefix_cache: PrefixCache | None = None
    section_s: float = 0.0


# ---------------------------------------------------------------- LangChain


class LangChainRun(Part):
    id: str
    first_token_s: float
    cpu_s: float
    total_s: float
    prompt_tokens: int
    completion_tokens: int
    tokens_per_s: float


class LangChain(Part):
    chunks: int
    index_s: float
    chunks_per_s: float
    questions: list[LangChainRun]
    first_token_s: float  # median
    total_s_sum: float
    cpu_s_sum: float
    tokens_per_s: float
    prompt_tokens_mean: float
    completion_tokens_mean: float
    scores: dict[str, Scores] = {}  # the harness's, by "assistant" and "langchain"
    section_s: float = 0.0


# ---------------------------------------------------------------- cold start


class ColdRun(Part):
    first_word_s: float
    total_s: float
    peak_rss_bytes: int
    exit: int
    use_mmap: bool | None = None  # on the run that loads the model the other way


class ColdStart(Part):
    question: str
    runs: list[ColdRun]
    first_word_s: float  # the best run
    total_s: float
    peak_rss_bytes: int
    import_cli_s: float
    other_load: ColdRun | None = None
    section_s: float = 0.0
    served: ColdRun | None = None  # asked of an `assistant serve` already running


# ---------------------------------------------------------------- serving


class Spread(Part):
    """The median and 95th percentile of some waits, in seconds (None: nothing measured)."""

    p50_s: float | None = None
    p95_s: float | None = None

    @classmethod
    def of(cls, seconds: list[float]) -> Spread:
        if not seconds:
            return cls()
        p50, p95 = np.percentile(seconds, [50, 95])  # linear between the closest ranks
        return cls(p50_s=round(float(p50), 3), p95_s=round(float(p95), 3))


class ServeRound(Part):
    """So many simulated users at once against the served assistant.

    `answered`: answers to the question asked, recorded in the audit log under their id;
    `mixed`: answers delivered for another question (or to two users, or recorded as
    another question); `lost`: the rest of what was asked (an error, a timeout, a stream
    that ended without its answer); `skipped`: not asked, the round's time ran out.
    `statuses` counts replies by kind and HTTP status ("ask 200"); a streamed answer that
    failed after its 200 counts as "ask 200 error <status>".
    """

    users: int
    asked: int
    answered: int
    lost: int
    mixed: int
    skipped: int
    uploads: int
    statuses: dict[str, int]
    first_word: Spread  # from the request to its first "text" event
    full_answer: Spread  # to its "answer" event
    audit_ok: bool
    audit_records: int
    serve_peak_rss_bytes: int
    model_server_peak_rss_bytes: int
    seconds: float
    audit_problem: str = ""  # the first break of the chain, in words


class Serve(Part):
    """`assistant serve` in front of `python -m llama_cpp.server`, loaded round by round."""

    model: str
    model_server: str  # what serves the model, and how it takes requests at once
    questions_per_user: int
    startup_s: float  # both servers, to their first answer to /api/health
    rounds: list[ServeRound]
    section_s: float = 0.0


# ---------------------------------------------------------------- sweep


class SweepRetrieval(Part):
    chunk_tokens: int
    passages: int
    chunks: int
    hit: float
    quote_recall: float
    prompt_tokens_mean: float


class SweepFocus(Part):
    """Every gold question's passages focused to a budget of tokens each (0: whole)."""

    passage_tokens: int
    hit: float  # a gold quote in the focused text of some passage
    quote_recall: float
    prompt_tokens_mean: float
    focus_ms_p50: float


class SweepPassages(Part):
    """Medians over the fixed questions with so many passages, and the harness's scores."""

    passages: int
    first_token_s: float
    first_sentence_s: float
    total_s: float
    prompt_tokens: int | float  # a median: whole for an odd number of questions
    scores: Scores


class SweepEngine(Part):
    threads: int
    batch: int
    flash_attn: bool | None = None
    prompt_lookup: int | None = None  # draft tokens proposed from the prompt
    prompt_tokens: int
    prompt_tokens_per_s: float
    output_tokens_per_s: float


class Sweep(Part):
    """The parts of the sweep that were run."""

    retrieval: list[SweepRetrieval] = []
    focus: list[SweepFocus] = []
    passages: list[SweepPassages] = []
    engine: list[SweepEngine] = []
    section_s: float = 0.0


# ---------------------------------------------------------------- the file


class BenchResults(Record):
    """One benchmark run: the machine, the settings, and each section that was run."""

    KIND = "a file of benchmark results"
    ADVICE = "run the benchmark again, or read the results with the version that wrote them"

    machine: Machine
    settings: BenchSettings
    loads: Loads | None = None
    indexing: Indexing | None = None
    retrieval: Retrieval | None = None
    answering: Answering | None = None
    langchain: LangChain | None = None
    coldstart: ColdStart | None = None
    serve: Serve | None = None
    sweep: Sweep | None = None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> BenchResults:
        """The results in a results.json (or a report folder holding one)."""
        file = path / "results.json" if path.is_dir() else path
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BenchError(f"{file} cannot be read as benchmark results ({exc}).") from exc
        return cls.from_json(data, str(file))
