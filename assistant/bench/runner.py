"""The benchmark: the cost of every stage, against what a user would otherwise run.

`run_bench` measures, in one process and one run (ratios are only meaningful within a
run on a shared machine):

- indexing: chunks per second of the indexer against raw `SentenceTransformer.encode`
  of the same texts, and the time to re-run indexing on an unchanged corpus;
- retrieval: hybrid search latency at the corpus size, and flat against IVF search
  (with recall@10) on synthetic corpora of 100k and 1M vectors (`synthetic.py`);
- answering: for fixed questions, the model's first token, the first checked sentence
  shown, output tokens per second, total time and prompt tokens, against bare
  llama-cpp-python given the identical messages, and against the textbook LangChain
  pipeline, whose answers are also scored by the evaluation harness (`baselines.py`);
- cold start: `assistant ask` in a fresh process to its first word on standard output,
  and that process's peak memory;
- serving (on request): `assistant serve` in front of a model server, asked by 1, 4 and 16
  users at once: answers lost or mixed up, waits, the audit chain, memory (`serve.py`);
- sweep (on request): passages per prompt, chunk size, threads and batch size (`sweep.py`).

Everything lands in `eval/reports/bench-<timestamp>/` as results.json and report.md.
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ..answering.assistant import Assistant, load_generator
from ..errors import BenchError
from ..evaluation.records import GoldQuestion, Scores
from ..generation.catalog import ModelStore
from ..ingest.chunking import embedding_text
from ..ingest.embedding import EMBEDDER_DIM, EMBEDDER_NAME, MiniLMEmbedder
from ..ingest.indexing import Indexer
from ..ingest.store import load_index
from ..records import Part
from ..settings import Settings
from .baselines import BareLlama, ClockedGenerator, LangChainRag, Run
from .harness import (
    SECTIONS,
    WARM_UP,
    Bench,
    BenchOptions,
    Progress,
    rounded,
    score_answers_file,
    write_answers,
)
from .results import (
    Answering,
    AnsweringSummary,
    AnswerRun,
    BenchResults,
    ColdRun,
    ColdStart,
    CorpusRetrieval,
    Indexing,
    IndexingRuns,
    LangChain,
    LangChainRun,
    LatencySummary,
    PrefixCache,
    Retrieval,
    Shape,
)
from .synthetic import bm25_bytes, corpus_shape, index_bytes, measure_size, timed


def run_bench(
    settings: Settings, options: BenchOptions, say: Progress | None = None
) -> tuple[BenchResults, Path]:
    """Run the chosen sections; write results.json and report.md; return both."""
    from . import report, serve, sweep

    out = options.out or Path("eval/reports") / f"bench-{datetime.now():%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    bench = Bench(settings, options, out, say or (lambda text: None))
    steps: dict[str, Callable[[Bench], Part]] = {
        "indexing": bench_indexing,
        "retrieval": bench_retrieval,
        "answering": bench_answering,
        "langchain": bench_langchain,
        "coldstart": bench_coldstart,
        "serve": serve.bench_serve,
        "sweep": sweep.sweep,
    }
    for name in SECTIONS:
        if name in options.sections:
            bench.say(f"== {name}")
            started = time.perf_counter()
            section = steps[name](bench)
            seconds = rounded(time.perf_counter() - started)
            bench.record(**{name: section.model_copy(update={"section_s": seconds})})
            bench.results.save(out / "results.json")  # a long run keeps what it measured
    (out / "report.md").write_text(report.markdown(bench.results), encoding="utf-8")
    return bench.results, out


def rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


# ---------------------------------------------------------------- indexing


def bench_indexing(bench: Bench) -> Indexing:
    embedder = bench.embedder
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        settings = bench.settings.with_overrides(paths={"index_dir": index_dir})
        pipeline_s, raw_s = [], []
        texts: list[str] = []
        for _ in range(2):  # alternate, keep the best of each: the machine is shared
            _remove(index_dir)
            started = time.perf_counter()
            report = Indexer(settings, lambda: embedder).update(rebuild=True)
            pipeline_s.append(time.perf_counter() - started)
            if not texts:
                index = load_index(index_dir, EMBEDDER_NAME, EMBEDDER_DIM)
                titles = {k: d.title for k, d in index.manifest.documents.items()}
                texts = [embedding_text(c, titles[c.doc_id]) for c in index.chunks]
            started = time.perf_counter()
            embedder.model.encode(
                texts,
                batch_size=bench.settings.embedding.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            raw_s.append(time.perf_counter() - started)
        unchanged = []
        for _ in range(3):
            started = time.perf_counter()
            again = Indexer(settings, _no_embedder).update()
            unchanged.append(time.perf_counter() - started)
        command = [sys.executable, "-m", "assistant", "index"]
        started = time.perf_counter()
        process = subprocess.run(command, env=_env(settings), capture_output=True, text=True)
        cli_s = time.perf_counter() - started
        build = index_dir / "builds" / again.index_id
        on_disk = sum(p.stat().st_size for p in build.iterdir())
    best, raw = min(pipeline_s), min(raw_s)
    return Indexing(
        chunks=report.chunks,
        pipeline_s=rounded(best),
        raw_encode_s=rounded(raw),
        pipeline_chunks_per_s=rounded(report.chunks / best, 1),
        raw_chunks_per_s=rounded(len(texts) / raw, 1),
        overhead_ratio=rounded(best / raw, 3),
        unchanged_in_process_s=rounded(min(unchanged)),
        unchanged_cli_s=rounded(cli_s),
        unchanged_cli_ok=process.returncode == 0,
        index_bytes_on_disk=on_disk,
        runs=IndexingRuns(
            pipeline_s=[rounded(s) for s in pipeline_s], raw_s=[rounded(s) for s in raw_s]
        ),
    )


def _no_embedder() -> MiniLMEmbedder:
    raise AssertionError("an unchanged corpus must not need the embedder")


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that gives a child `assistant` process these settings' paths."""
    env = dict(os.environ)
    for key, value in settings.paths.model_dump().items():
        env[f"ASSISTANT_PATHS__{key.upper()}"] = str(Path(value).resolve())
    env["ASSISTANT_GENERATION__MODEL"] = settings.generation.model
    return env | extra


# ---------------------------------------------------------------- retrieval


def bench_retrieval(bench: Bench) -> Retrieval:
    import faiss

    assistant = Assistant(bench.settings, embedder=bench.embedder)
    retriever = assistant.retriever
    queries = [q.question for q in bench.gold]
    for query in queries[:5]:
        retriever.search(query)  # warm caches
    hybrid = {}
    for threads in (1, os.cpu_count() or 1):
        retriever.faiss_threads = threads
        seconds, _ = timed(lambda i: retriever.search(queries[i]), len(queries))
        hybrid[threads] = LatencySummary.of(seconds)
    vectors = bench.embedder.embed(queries)
    embed_s, _ = timed(lambda i: bench.embedder.embed([queries[i]]), len(queries))
    n = min(retriever.settings.candidates, len(retriever.index.chunks))
    dense_s, _ = timed(
        lambda i: retriever.index.faiss_index.search(vectors[i : i + 1], n), len(queries)
    )
    bm25_s, _ = timed(lambda i: retriever._bm25(queries[i], n), len(queries))
    faiss.omp_set_num_threads(1)
    stored = retriever.index.faiss_index
    shape = corpus_shape(stored.reconstruct_n(0, stored.ntotal)) if stored.ntotal > 10 else Shape()
    corpus = CorpusRetrieval(
        chunks=len(retriever.index.chunks),
        queries=len(queries),
        hybrid=hybrid,
        embed_query=LatencySummary.of(embed_s),
        dense=LatencySummary.of(dense_s),
        bm25=LatencySummary.of(bm25_s),
        faiss_bytes=index_bytes(retriever.index.faiss_index),
        bm25_bytes=bm25_bytes(retriever.bm25),
        shape=shape,
    )
    synthetic = []
    for n in bench.options.sizes:
        bench.say(f"   synthetic corpus of {n:,} vectors")
        queries_n = bench.options.queries if n <= 100_000 else max(50, bench.options.queries // 2)
        synthetic.append(
            measure_size(n, queries_n, bench.options.bm25_limit, threads=1, shape=shape)
        )
        gc.collect()
    return Retrieval(corpus=corpus, synthetic=synthetic)


# ---------------------------------------------------------------- answering


def bench_answering(bench: Bench) -> Answering:
    """The assistant against bare llama-cpp-python given the identical messages."""
    g = bench.settings.generation
    started = time.perf_counter()
    clocked = ClockedGenerator(load_generator(bench.settings))
    load_s = time.perf_counter() - started
    assistant = Assistant(bench.settings, embedder=bench.embedder, generator=clocked)
    path = ModelStore(bench.settings.paths.models_dir).resolve(g.model).path
    bare = BareLlama(path, g.n_ctx, g.n_threads, g.n_batch, g.seed, use_mmap=g.use_mmap)
    assistant.ask(WARM_UP)  # both start with the system prompt evaluated once
    bare.answer(clocked.messages, g.max_tokens)
    rows, answers = [], []
    for number, question in enumerate(bench.fixed, start=1):
        bench.say(f"   {number}/{len(bench.fixed)} {question.id}")
        clocked.reset()
        started, cpu = time.perf_counter(), time.process_time()
        answer = assistant.ask(question.question)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu
        ours = Run(
            cpu_s=cpu,
            first_token_s=(clocked.first_token_at or started + total) - started,
            last_token_s=(clocked.last_token_at or started + total) - started,
            total_s=total,
            prompt_tokens=answer.timings.prompt_tokens,
            completion_tokens=answer.timings.completion_tokens,
        )
        reference = bare.answer_all(clocked.prompts, g.max_tokens)
        outside_model_s = rounded(total - clocked.model_s)
        rows.append(_row(question, ours, reference, answer.timings.first_token_s, outside_model_s))
        answers.append(answer.to_json() | {"id": question.id})
    cold = _prefix_effect(bench, bare, clocked.messages)
    write_answers(bench.out / "answers-assistant.jsonl", answers)
    result = Answering(
        model=clocked.name,
        model_load_s=rounded(load_s),
        rss_bytes=rss_bytes(),
        questions=rows,
        summary=_summary(rows),
        prefix_cache=cold,
    )
    del assistant, clocked, bare
    gc.collect()
    return result


def _row(
    question: GoldQuestion, ours: Run, bare: Run, shown_s: float, outside_model_s: float
) -> AnswerRun:
    return AnswerRun(
        id=question.id,
        type=question.type,
        first_token_s=rounded(ours.first_token_s),
        first_sentence_s=rounded(shown_s),
        total_s=rounded(ours.total_s),
        prompt_tokens=ours.prompt_tokens,
        completion_tokens=ours.completion_tokens,
        bare_first_token_s=rounded(bare.first_token_s),
        bare_total_s=rounded(bare.total_s),
        bare_prompt_tokens=bare.prompt_tokens,
        bare_completion_tokens=bare.completion_tokens,
        tokens_per_s=rounded(ours.tokens_per_s, 2),
        bare_tokens_per_s=rounded(bare.tokens_per_s, 2),
        total_ratio=rounded(ours.total_s / bare.total_s, 3),
        cpu_s=rounded(ours.cpu_s),
        bare_cpu_s=rounded(bare.cpu_s),
        outside_model_s=outside_model_s,
    )


def _summary(rows: list[AnswerRun]) -> AnsweringSummary:
    def median(key: str) -> float:
        return rounded(statistics.median(getattr(r, key) for r in rows))

    total, bare_total = sum(r.total_s for r in rows), sum(r.bare_total_s for r in rows)
    cpu, bare_cpu = sum(r.cpu_s for r in rows), sum(r.bare_cpu_s for r in rows)
    return AnsweringSummary(
        first_token_s=median("first_token_s"),
        first_sentence_s=median("first_sentence_s"),
        bare_first_token_s=median("bare_first_token_s"),
        total_s_sum=rounded(total),
        bare_total_s_sum=rounded(bare_total),
        total_ratio=rounded(total / bare_total, 3),
        cpu_s_sum=rounded(cpu),
        bare_cpu_s_sum=rounded(bare_cpu),
        outside_model_s_sum=rounded(sum(r.outside_model_s or 0.0 for r in rows)),
        cpu_ratio=rounded(cpu / bare_cpu, 3),
        first_token_ratio=rounded(median("first_token_s") / median("bare_first_token_s"), 3),
        tokens_per_s=median("tokens_per_s"),
        bare_tokens_per_s=median("bare_tokens_per_s"),
        prompt_tokens_mean=rounded(statistics.mean(r.prompt_tokens for r in rows), 1),
        completion_tokens_mean=rounded(statistics.mean(r.completion_tokens for r in rows), 1),
    )


def _prefix_effect(bench: Bench, bare: BareLlama, messages: list[Any]) -> PrefixCache:
    """Time to the first token with the system prompt's evaluation reused, and without."""
    other = [messages[0], {"role": "user", "content": WARM_UP}]
    bare.answer(other, 1)
    warm = bare.answer(messages, 1).first_token_s  # shares only the system prompt
    bare.llama.reset()
    cold = bare.answer(messages, 1).first_token_s
    return PrefixCache(
        reused_s=rounded(warm), not_reused_s=rounded(cold), saved_s=rounded(cold - warm)
    )


# ---------------------------------------------------------------- LangChain


def bench_langchain(bench: Bench) -> LangChain:
    g = bench.settings.generation
    path = ModelStore(bench.settings.paths.models_dir).resolve(g.model).path
    rag = LangChainRag(
        bench.settings.paths.corpus_dir, path, g.n_ctx, g.n_threads, g.n_batch, g.seed, g.max_tokens
    )
    rag.answer(WARM_UP)
    rows: list[LangChainRun] = []
    answers: list[dict[str, Any]] = []
    for number, question in enumerate(bench.fixed, start=1):
        bench.say(f"   {number}/{len(bench.fixed)} {question.id}")
        run, contract = rag.answer(question.question)
        rows.append(
            LangChainRun(
                id=question.id,
                first_token_s=rounded(run.first_token_s),
                cpu_s=rounded(run.cpu_s),
                total_s=rounded(run.total_s),
                prompt_tokens=run.prompt_tokens,
                completion_tokens=run.completion_tokens,
                tokens_per_s=rounded(run.tokens_per_s, 2),
            )
        )
        answers.append(contract | {"id": question.id})
    write_answers(bench.out / "answers-langchain.jsonl", answers)
    chunks, index_s = len(rag.chunks), rag.index_s
    del rag
    gc.collect()
    return LangChain(
        chunks=chunks,
        index_s=rounded(index_s),
        chunks_per_s=rounded(chunks / index_s, 1),
        questions=rows,
        first_token_s=rounded(statistics.median(r.first_token_s for r in rows)),
        total_s_sum=rounded(sum(r.total_s for r in rows)),
        cpu_s_sum=rounded(sum(r.cpu_s for r in rows)),
        tokens_per_s=rounded(statistics.median(r.tokens_per_s for r in rows), 2),
        prompt_tokens_mean=rounded(statistics.mean(r.prompt_tokens for r in rows), 1),
        completion_tokens_mean=rounded(statistics.mean(r.completion_tokens for r in rows), 1),
        scores=score_answers(bench),
    )


def score_answers(bench: Bench) -> dict[str, Scores]:
    """Both answer files scored by the evaluation harness (lexical judge, no model)."""
    scores = {}
    for name in ("assistant", "langchain"):
        answers = bench.out / f"answers-{name}.jsonl"
        if answers.exists():
            scores[name] = score_answers_file(bench, answers, f"eval-{name}")
    return scores


# ---------------------------------------------------------------- cold start


def bench_coldstart(bench: Bench) -> ColdStart:
    """`assistant ask` in a new process: to its first word on standard output, and peak RSS."""
    question = bench.fixed[0].question
    indexed = subprocess.run(
        [sys.executable, "-m", "assistant", "index"],
        env=_env(bench.settings),
        capture_output=True,
        text=True,
    )  # not timed: an unchanged corpus
    if indexed.returncode:
        raise BenchError(f"`assistant index` failed before the cold start: {indexed.stderr[-500:]}")
    runs = []
    for _ in range(2):
        runs.append(_cold_ask(bench, question))
    mapped = not bench.settings.generation.use_mmap  # the other way of loading the model
    other = _cold_ask(bench, question, ASSISTANT_GENERATION__USE_MMAP=str(mapped).lower())
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import assistant.app.cli"], check=True)
    imports = time.perf_counter() - started
    served = _served_ask(bench, question)
    best = min(runs, key=lambda r: r.first_word_s)
    return ColdStart(
        question=question,
        runs=runs,
        first_word_s=best.first_word_s,
        total_s=best.total_s,
        peak_rss_bytes=max(r.peak_rss_bytes for r in runs),
        import_cli_s=rounded(imports),
        other_load=other.model_copy(update={"use_mmap": mapped}),
        served=served,
    )


def _served_ask(bench: Bench, question: str) -> ColdRun:
    """`assistant ask` in a new process while an `assistant serve` runs on this machine
    (which it asks): the best of two, after one that is not counted (the served
    assistant's own first question)."""
    from .serve import free_port, running, wait_ready

    port = str(free_port())
    env = _env(bench.settings, ASSISTANT_UI__PORT=port, ASSISTANT_UI__WATCH_CORPUS="false")
    env["ASSISTANT_PATHS__DATA_DIR"] = str(bench.out / "coldstart-data")  # no accounts there
    command = [sys.executable, "-m", "assistant", "serve"]
    log = bench.out / "coldstart-serve.log"
    with running(command, env, log) as process:
        wait_ready(process, f"http://127.0.0.1:{port}/api/health", 600, log)
        _cold_ask(bench, question, local=False, **env)
        runs = [_cold_ask(bench, question, local=False, **env) for _ in range(2)]
    return min(runs, key=lambda r: r.first_word_s)


def _cold_ask(bench: Bench, question: str, local: bool = True, **env: str) -> ColdRun:
    """`local`: answered in the process itself, even with an `assistant serve` running."""
    command = [sys.executable, "-m", "assistant", "ask", *(["--local"] if local else []), question]
    # Standard error to a file, not a pipe: a pipe nobody reads until the end would stall
    # the child once its progress lines filled the pipe's buffer.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=_env(bench.settings, **env), stdout=subprocess.PIPE, stderr=errors
        )
        assert process.stdout is not None
        peak = _PeakMemory(process.pid)
        first = 0.0
        while True:
            byte = process.stdout.read(1)
            if not byte:
                break
            if not first and not byte.isspace():
                first = time.perf_counter() - started
            if first:
                process.stdout.read()  # the rest, to the end
                break
        process.wait()
        total = time.perf_counter() - started
        if process.returncode:
            errors.seek(0)
            said = errors.read().decode(errors="replace")[-500:]
            raise BenchError(f"`assistant ask` failed: {said}")
    return ColdRun(
        first_word_s=rounded(first or total),
        total_s=rounded(total),
        peak_rss_bytes=peak.stop(),
        exit=process.returncode,
    )


class _PeakMemory:
    """The peak RSS of a child process, read from its own /proc entry while it runs.

    (getrusage's ru_maxrss of a child can carry the parent's size over from the fork.)
    """

    def __init__(self, pid: int) -> None:
        import threading

        self.path, self.peak, self.done = Path(f"/proc/{pid}/status"), 0, threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while not self.done.is_set():
            try:
                for line in self.path.read_text().splitlines():
                    if line.startswith("VmHWM:"):  # the high-water mark: nothing is missed
                        self.peak = max(self.peak, int(line.split()[1]) * 1024)
            except (OSError, ValueError):
                return
            self.done.wait(0.1)

    def stop(self) -> int:
        self.done.set()
        self.thread.join()
        return self.peak
