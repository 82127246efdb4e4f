"""The benchmark's results as Markdown: one summary table, then the detail of each section.

Ratios are the assistant's time over the reference's, measured in the same run; below 1
the assistant is faster. Scores are the evaluation harness's, in percent.
"""

from __future__ import annotations

from .results import (
    Answering,
    BenchResults,
    ColdStart,
    Indexing,
    LangChain,
    LatencySummary,
    Retrieval,
    Serve,
    Spread,
    Sweep,
    SyntheticSize,
)

Row = tuple[str, str, str, str, str, str]
SUMMARY_HEADER: Row = ("stage", "measure", "assistant", "reference", "ratio", "target / note")
SCORES = (
    "hit",
    "quote_recall",
    "key_terms",
    "faithfulness",
    "citation_recall",
    "refusal",
    "false_refusal",
)


def _s(value: float | None, unit: str = " s") -> str:
    return "–" if value is None else f"{value:.2f}{unit}"


def _ms(latency: LatencySummary) -> str:
    return f"{latency.p50_ms:.2f} / {latency.p99_ms:.2f} ms"


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "–"


def summary_rows(results: BenchResults) -> list[Row]:
    """The summary table: the measures of each section that was run, stage by stage."""
    rows: list[Row] = []
    if results.indexing:
        rows += _indexing_rows(results.indexing)
    if results.retrieval:
        rows += _retrieval_rows(results.retrieval)
    if results.answering:
        rows += _answering_rows(results.answering)
    if results.langchain:
        rows += _langchain_rows(results.langchain, results.answering, results.indexing)
    if results.coldstart:
        rows += _coldstart_rows(results.coldstart)
    if results.serve:
        rows += _serve_rows(results.serve)
    return rows


def _indexing_rows(ix: Indexing) -> list[Row]:
    return [
        (
            "indexing",
            f"chunks/s, default corpus ({ix.chunks} chunks)",
            f"{ix.pipeline_chunks_per_s:.1f}",
            f"{ix.raw_chunks_per_s:.1f} (raw encode)",
            f"{ix.overhead_ratio:.3f}",
            "< 1.10",
        ),
        (
            "indexing",
            "re-index an unchanged corpus: in-process / `assistant index`",
            f"{ix.unchanged_in_process_s:.3f} s / {ix.unchanged_cli_s:.2f} s",
            "",
            "",
            "< 1 s",
        ),
    ]


def _retrieval_rows(rt: Retrieval) -> list[Row]:
    rows: list[Row] = []
    corpus = rt.corpus
    # in the order of their keys in the file ("hybrid_threads_1" < "hybrid_threads_2")
    for threads in sorted(corpus.hybrid, key=str):
        rows.append(
            (
                "retrieval",
                f"hybrid p50 / p99, {corpus.chunks} chunks, {threads} FAISS thread(s)",
                _ms(corpus.hybrid[threads]),
                "",
                "",
                "",
            )
        )
    rows.append(
        (
            "retrieval",
            "memory: FAISS / BM25",
            f"{_mb(corpus.faiss_bytes)} / {_mb(corpus.bm25_bytes)}",
            "",
            "",
            "",
        )
    )
    for size in rt.synthetic:
        rows += _synthetic_rows(size)
    return rows


def _synthetic_rows(size: SyntheticSize) -> list[Row]:
    """Dense search at one synthetic size: the IVF setting to use against flat, memory,
    and hybrid search where BM25 was built."""
    rows: list[Row] = []
    n = f"{size.vectors:,}"
    probes = size.ivf.by_nprobe
    good = [r for r in probes if r.recall_at_10 >= 0.9]  # the fastest good enough,
    best = (
        min(good, key=lambda r: r.latency.p50_ms)
        if good  # else the best
        else max(probes, key=lambda r: r.recall_at_10)
    )
    rows.append(
        (
            "retrieval",
            f"dense p50 / p99, {n} vectors: IVF{size.ivf.nlist} nprobe {best.nprobe} vs flat",
            _ms(best.latency),
            _ms(size.flat.latency),
            _ratio(best.latency.p50_ms, size.flat.latency.p50_ms),
            f"recall@10 {best.recall_at_10:.3f}",
        )
    )
    rows.append(
        (
            "retrieval",
            f"memory, {n} vectors: IVF vs flat",
            _mb(size.ivf.bytes),
            _mb(size.flat.bytes),
            "",
            f"IVF build {size.ivf.build_s:.1f} s",
        )
    )
    if h := size.hybrid:
        rows.append(
            (
                "retrieval",
                f"hybrid (IVF + BM25) p50 / p99, {n} documents",
                _ms(h.hybrid_ivf_latency),
                _ms(h.hybrid_flat_latency) + " (flat + BM25)",
                "",
                f"BM25 {_mb(h.bm25_bytes)}",
            )
        )
    return rows


def _answering_rows(an: Answering) -> list[Row]:
    s = an.summary
    rows: list[Row] = [
        (
            "answering",
            "model's first token, median",
            _s(s.first_token_s),
            _s(s.bare_first_token_s) + " (bare llama.cpp)",
            f"{s.first_token_ratio:.3f}",
            "",
        ),
        (
            "answering",
            "first checked sentence shown, median",
            _s(s.first_sentence_s),
            "",
            "",
            "",
        ),
        (
            "answering",
            "output tokens/s, median",
            _s(s.tokens_per_s, ""),
            _s(s.bare_tokens_per_s, ""),
            _ratio(s.bare_tokens_per_s, s.tokens_per_s),
            "",
        ),
        (
            "answering",
            f"total time, sum over {len(an.questions)} questions",
            _s(s.total_s_sum),
            _s(s.bare_total_s_sum),
            f"{s.total_ratio:.3f}",
            "< 1.05",
        ),
        (
            "answering",
            "the pipeline's own time (outside the model), sum",
            _s(s.outside_model_s_sum),
            _s(s.bare_total_s_sum) + " (bare total)",
            _ratio(s.outside_model_s_sum or 0, s.bare_total_s_sum),
            "retrieval, prompt, sentence checks, audit record",
        ),
        (
            "answering",
            "CPU time of the process, sum",
            _s(s.cpu_s_sum),
            _s(s.bare_cpu_s_sum),
            f"{s.cpu_ratio:.3f}",
            "steadier than wall time on a shared machine",
        ),
        (
            "answering",
            "prompt / completion tokens, mean",
            f"{s.prompt_tokens_mean:.0f} / {s.completion_tokens_mean:.0f}",
            "identical",
            "",
            "",
        ),
    ]
    if pc := an.prefix_cache:
        rows.append(
            (
                "answering",
                "first token, system prompt reused vs evaluated again",
                _s(pc.reused_s),
                _s(pc.not_reused_s),
                _ratio(pc.reused_s, pc.not_reused_s),
                "",
            )
        )
    return rows


def _coldstart_rows(cs: ColdStart) -> list[Row]:
    rows: list[Row] = [
        (
            "cold start",
            "`assistant ask` to its first word / to the end",
            f"{cs.first_word_s:.2f} s / {cs.total_s:.2f} s",
            "",
            "",
            "",
        ),
        (
            "cold start",
            "peak memory (RSS) / importing the CLI",
            f"{cs.peak_rss_bytes / 1e9:.2f} GB / {cs.import_cli_s:.2f} s",
            "",
            "",
            "",
        ),
    ]
    if served := cs.served:
        rows.append(
            (
                "cold start",
                "`assistant ask` to its first word, an `assistant serve` running (asked)",
                f"{served.first_word_s:.2f} s",
                f"{cs.first_word_s:.2f} s (answered in the process)",
                _ratio(served.first_word_s, cs.first_word_s),
                "",
            )
        )
    if other := cs.other_load:
        way = "mapped" if other.use_mmap else "read into memory"
        rows.append(
            (
                "cold start",
                f"peak memory / first word, model file {way} instead",
                f"{cs.peak_rss_bytes / 1e9:.2f} GB / {cs.first_word_s:.2f} s",
                f"{other.peak_rss_bytes / 1e9:.2f} GB / {other.first_word_s:.2f} s",
                _ratio(cs.peak_rss_bytes, other.peak_rss_bytes),
                "generation.use_mmap",
            )
        )
    return rows


def _serve_rows(sv: Serve) -> list[Row]:
    rows: list[Row] = []
    for r in sv.rounds:
        rows.append(
            (
                "serving",
                f"{r.users} user(s) at once: answered / asked, lost, mixed",
                f"{r.answered} / {r.asked}, {r.lost} lost, {r.mixed} mixed",
                "",
                "",
                f"audit chain {'valid' if r.audit_ok else 'BROKEN'}; {statuses(r.statuses)}",
            )
        )
        rows.append(
            (
                "serving",
                f"{r.users} user(s): first word · full answer, p50 / p95",
                f"{_spread(r.first_word)} · {_spread(r.full_answer)}",
                "",
                "",
                f"peak memory: assistant {_mb(r.serve_peak_rss_bytes)}, model server "
                f"{_mb(r.model_server_peak_rss_bytes)}",
            )
        )
    return rows


SERVE_HEADER = (
    "users",
    "answered / asked",
    "lost",
    "mixed",
    "statuses",
    "first word p50 / p95",
    "full answer p50 / p95",
    "audit chain",
    "peak MB assistant",
    "peak MB model server",
)


def serve_table(sv: Serve) -> list[tuple[str, ...]]:
    """One row per round of the load test, under `SERVE_HEADER`."""
    return [
        (
            str(r.users),
            f"{r.answered} / {r.asked}" + (f" ({r.skipped} not asked)" if r.skipped else ""),
            str(r.lost),
            str(r.mixed),
            statuses(r.statuses),
            _spread(r.first_word),
            _spread(r.full_answer),
            f"valid, {r.audit_records} records" if r.audit_ok else f"BROKEN: {r.audit_problem}",
            f"{r.serve_peak_rss_bytes / 1e6:.0f}",
            f"{r.model_server_peak_rss_bytes / 1e6:.0f}",
        )
        for r in sv.rounds
    ]


def statuses(counts: dict[str, int]) -> str:
    """ "ask 200 ×8, upload 200 ×1" """
    return ", ".join(f"{kind} ×{n}" for kind, n in counts.items())


def _spread(spread: Spread) -> str:
    if spread.p50_s is None or spread.p95_s is None:
        return "–"
    return f"{spread.p50_s:.2f} / {spread.p95_s:.2f} s"


def _langchain_rows(lc: LangChain, an: Answering | None, ix: Indexing | None) -> list[Row]:
    rows: list[Row] = []
    if an:
        s = an.summary
        rows += [
            (
                "vs LangChain",
                "model's first token, median",
                _s(s.first_token_s),
                _s(lc.first_token_s),
                _ratio(s.first_token_s, lc.first_token_s),
                "",
            ),
            (
                "vs LangChain",
                "total time, sum",
                _s(s.total_s_sum),
                _s(lc.total_s_sum),
                _ratio(s.total_s_sum, lc.total_s_sum),
                "",
            ),
            (
                "vs LangChain",
                "CPU time, sum",
                _s(sum(r.cpu_s for r in an.questions)),
                _s(lc.cpu_s_sum),
                _ratio(sum(r.cpu_s for r in an.questions), lc.cpu_s_sum),
                "",
            ),
            (
                "vs LangChain",
                "prompt / completion tokens, mean",
                f"{s.prompt_tokens_mean:.0f} / {s.completion_tokens_mean:.0f}",
                f"{lc.prompt_tokens_mean:.0f} / {lc.completion_tokens_mean:.0f}",
                "",
                "",
            ),
        ]
    if ix:
        rows.append(
            (
                "vs LangChain",
                "indexing chunks/s (its chunks are 1000 characters)",
                f"{ix.pipeline_chunks_per_s:.1f}",
                f"{lc.chunks_per_s:.1f}",
                "",
                "",
            )
        )
    ours, theirs = lc.scores.get("assistant"), lc.scores.get("langchain")
    for name in SCORES:
        a = ours.get(name) if ours else None
        b = theirs.get(name) if theirs else None
        if a is None and b is None:
            continue
        rows.append(("vs LangChain", f"harness score: {name} (%)", _pct(a), _pct(b), "", ""))
    return rows


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def table(rows: list[Row]) -> str:
    """The summary as a Markdown table, for the report file."""
    lines = ["| " + " | ".join(SUMMARY_HEADER) + " |", "|" + "---|" * len(SUMMARY_HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(results: BenchResults) -> str:
    m, st = results.machine, results.settings
    lines = [
        f"# Benchmark, {m.time}",
        "",
        f"{m.cpus} CPUs, load average {m.load_average_1m} at the start; model "
        f"{st.model}, {st.n_threads} threads, batch {st.n_batch}, context "
        f"{st.n_ctx}, {st.top_k} passages of {st.chunk_tokens} word pieces.",
        "",
        "Ratios: the assistant's time over the reference's, in this run.",
        "",
        table(summary_rows(results)),
        "",
    ]
    if rt := results.retrieval:
        lines += [
            "## Dense search on synthetic corpora (one query at a time, one thread)",
            "",
            "| vectors | index | nprobe | recall@10 | p50 | p99 | memory | build |",
            "|" + "---|" * 8,
        ]
        for size in rt.synthetic:
            flat, ivf = size.flat, size.ivf
            lines.append(
                f"| {size.vectors:,} | flat | – | 1.000 | {flat.latency.p50_ms}"
                f" ms | {flat.latency.p99_ms} ms | {_mb(flat.bytes)} | "
                f"{flat.build_s} s |"
            )
            for r in ivf.by_nprobe:
                lines.append(
                    f"| {size.vectors:,} | IVF{ivf.nlist} | {r.nprobe} | "
                    f"{r.recall_at_10:.3f} | {r.latency.p50_ms} ms | "
                    f"{r.latency.p99_ms} ms | {_mb(ivf.bytes)} | "
                    f"{ivf.build_s} s |"
                )
        lines.append("")
    if an := results.answering:
        lines += [
            "## Answering, question by question",
            "",
            "| id | type | first token | first sentence | total | bare total | ratio | "
            "prompt tokens | completion tokens |",
            "|" + "---|" * 9,
        ]
        for q in an.questions:
            lines.append(
                f"| {q.id} | {q.type} | {q.first_token_s:.2f} | "
                f"{q.first_sentence_s:.2f} | {q.total_s:.2f} | "
                f"{q.bare_total_s:.2f} | {q.total_ratio:.3f} | "
                f"{q.prompt_tokens} | {q.completion_tokens} |"
            )
        lines.append("")
    if sv := results.serve:
        lines += [
            f"## Serving: users at once ({sv.questions_per_user} question(s) each, model "
            f"{sv.model})",
            "",
            f"{sv.model_server}; both servers up in {sv.startup_s:.1f} s.",
            "",
            "| " + " | ".join(SERVE_HEADER) + " |",
            "|" + "---|" * len(SERVE_HEADER),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in serve_table(sv)]
        lines.append("")
    if sw := results.sweep:
        lines += _sweep(sw)
    return "\n".join(lines) + "\n"


def _sweep(sw: Sweep) -> list[str]:
    lines = [
        "## Sweep: chunk size and passages (retrieval only, every gold question)",
        "",
        "| chunk word pieces | chunks | passages | hit@k | quote recall | prompt tokens |",
        "|" + "---|" * 6,
    ]
    for r in sw.retrieval:
        lines.append(
            f"| {r.chunk_tokens} | {r.chunks} | {r.passages} | "
            f"{100 * r.hit:.1f} | {100 * r.quote_recall:.1f} | "
            f"{r.prompt_tokens_mean:.0f} |"
        )
    if sw.focus:
        lines += [
            "",
            "## Sweep: passages focused to their best sentences (every gold question)",
            "",
            "| tokens per passage | quote in what the model reads | quote recall | prompt "
            "tokens | focusing p50 |",
            "|" + "---|" * 5,
        ]
        for f in sw.focus:
            lines.append(
                f"| {f.passage_tokens or 'whole'} | {100 * f.hit:.1f} | "
                f"{100 * f.quote_recall:.1f} | {f.prompt_tokens_mean:.0f} | "
                f"{f.focus_ms_p50:.0f} ms |"
            )
    lines += [
        "",
        "## Sweep: passages given to the model (fixed questions, medians)",
        "",
        "| passages | first token | first sentence | total | prompt tokens | "
        + " | ".join(SCORES)
        + " |",
        "|" + "---|" * (5 + len(SCORES)),
    ]
    for p in sw.passages:
        scores = " | ".join(_pct(p.scores.get(k)) for k in SCORES)
        lines.append(
            f"| {p.passages} | {p.first_token_s:.2f} | {p.first_sentence_s:.2f}"
            f" | {p.total_s:.2f} | {p.prompt_tokens:.0f} | {scores} |"
        )
    lines += [
        "",
        "## Sweep: engine threads, batch, flash attention, prompt lookup (best of two)",
        "",
        "| threads | batch | flash attention | prompt lookup | prompt tokens | prompt tokens/s "
        "| output tokens/s |",
        "|" + "---|" * 7,
    ]
    for e in sw.engine:
        lookup = f"{e.prompt_lookup} tokens" if e.prompt_lookup else "off"
        lines.append(
            f"| {e.threads} | {e.batch} | {'on' if e.flash_attn else 'off'} | {lookup}"
            f" | {e.prompt_tokens} | {e.prompt_tokens_per_s:.1f} | "
            f"{e.output_tokens_per_s:.2f} |"
        )
    return [*lines, ""]
