"""The benchmark's sweep: what passages per prompt, chunk size, threads and batch cost and buy.

- Retrieval only, over every gold question: for each chunk size (the corpus indexed
  again into a temporary folder) and each passage count, how often the gold quotes are
  among the passages given (hit@k, quote recall) and how many prompt tokens they cost.
- Focusing, over every gold question: for each budget of tokens per passage, how often
  the gold quotes are still in what the model is given, and what the prompt costs.
- With the model, on the fixed questions: time to the first token and the harness's
  scores for a few passage counts.
- The engine: prompt and output tokens per second for threads and batch sizes.

The defaults in `settings.py` were picked from these numbers; the report shows them.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..answering.assistant import Assistant, load_generator
from ..answering.focusing import focus_passages
from ..answering.prompting import SYSTEM_PROMPT, build_prompt
from ..answering.retrieval import Retriever
from ..evaluation.metrics import retrieval_score
from ..generation.catalog import ModelStore
from ..generation.llm import vocabulary_counter
from ..ingest.embedding import EMBEDDER_DIM, EMBEDDER_NAME
from ..ingest.indexing import Indexer
from ..ingest.store import load_index
from .baselines import BareLlama, ClockedGenerator
from .results import Sweep, SweepEngine, SweepFocus, SweepPassages, SweepRetrieval

if TYPE_CHECKING:
    from .harness import Bench

CHUNK_SIZES = (128, 200, 256)
PASSAGE_COUNTS = (2, 3, 4, 5, 6, 8)
MODEL_PASSAGE_COUNTS = (3, 4, 6)
FOCUS_BUDGETS = (0, 100, 70, 50, 35)  # tokens per passage; 0: whole passages
ENGINE: tuple[dict[str, Any], ...] = (
    {"threads": 1, "batch": 512},
    {"threads": 2, "batch": 128},
    {"threads": 2, "batch": 512},
    {"threads": 2, "batch": 512, "flash_attn": True},
    {"threads": 2, "batch": 512, "prompt_lookup": 10},  # prompt-lookup decoding
)


def sweep(bench: Bench) -> Sweep:
    parts: dict[str, Callable[[Bench], list[Any]]] = {
        "retrieval": sweep_retrieval,
        "focus": sweep_focus,
        "passages": sweep_passages,
        "engine": sweep_engine,
    }
    return Sweep(**{name: run(bench) for name, run in parts.items() if name in bench.options.sweep})


def _tokenizer(bench: Bench) -> Callable[[str], int]:
    path = ModelStore(bench.settings.paths.models_dir).resolve(bench.settings.generation.model)
    return vocabulary_counter(path.path)


def sweep_retrieval(bench: Bench) -> list[SweepRetrieval]:
    count = _tokenizer(bench)
    g = bench.settings.generation
    questions = [q for q in bench.gold if q.quotes]
    rows = []
    for size in CHUNK_SIZES:
        bench.say(f"   chunks of {size} word pieces")
        with tempfile.TemporaryDirectory() as tmp:
            settings = bench.settings.with_overrides(
                paths={"index_dir": Path(tmp)}, chunking={"chunk_tokens": size}
            )
            Indexer(settings, lambda: bench.embedder).update(rebuild=True)
            index = load_index(Path(tmp), EMBEDDER_NAME, EMBEDDER_DIM)
            retriever = Retriever(index, bench.embedder, settings.retrieval)
            found = [retriever.search(q.question, max(PASSAGE_COUNTS)) for q in questions]
        for k in PASSAGE_COUNTS:
            scores = [
                retrieval_score(q.quotes, [h.chunk.text for h in hits[:k]])
                for q, hits in zip(questions, found, strict=True)
            ]
            tokens = [
                sum(
                    count(m["content"])
                    for m in build_prompt(
                        q.question, hits[:k], [], count, g.n_ctx, g.max_tokens
                    ).messages
                )
                for q, hits in zip(questions, found, strict=True)
            ]
            valid = [s for s in scores if s is not None]
            rows.append(
                SweepRetrieval(
                    chunk_tokens=size,
                    passages=k,
                    chunks=len(index.chunks),
                    hit=round(statistics.mean(s.hit for s in valid), 4),
                    quote_recall=round(statistics.mean(s.quote_recall for s in valid), 4),
                    prompt_tokens_mean=round(statistics.mean(tokens), 1),
                )
            )
    return rows


def sweep_focus(bench: Bench) -> list[SweepFocus]:
    """Quote recall of the text given to the model, against the prompt's tokens, for each
    budget of tokens per passage (`retrieval.passage_tokens`)."""
    count = _tokenizer(bench)
    g = bench.settings.generation
    questions = [q for q in bench.gold if q.quotes]
    retriever = Assistant(bench.settings, embedder=bench.embedder).retriever
    found = [retriever.search(q.question) for q in questions]
    rows = []
    for budget in FOCUS_BUDGETS:
        bench.say(f"   {budget or 'whole'} tokens per passage")
        recall, hits, tokens, seconds = [], [], [], []
        for q, found_hits in zip(questions, found, strict=True):
            started = time.perf_counter()
            texts = focus_passages(q.question, found_hits, bench.embedder.embed, count, budget)
            seconds.append(time.perf_counter() - started)
            score = retrieval_score(q.quotes, texts)
            if score is not None:
                recall.append(score.quote_recall)
                hits.append(score.hit)
            packed = build_prompt(q.question, found_hits, [], count, g.n_ctx, g.max_tokens, texts)
            tokens.append(sum(count(m["content"]) for m in packed.messages))
        rows.append(
            SweepFocus(
                passage_tokens=budget,
                hit=round(statistics.mean(hits), 4),
                quote_recall=round(statistics.mean(recall), 4),
                prompt_tokens_mean=round(statistics.mean(tokens), 1),
                focus_ms_p50=round(1000 * statistics.median(seconds), 1),
            )
        )
    return rows


def sweep_passages(bench: Bench) -> list[SweepPassages]:
    """The fixed questions answered with each passage count, interleaved, then scored."""
    from .harness import WARM_UP, score_answers_file, write_answers

    clocked = ClockedGenerator(load_generator(bench.settings))
    assistant = Assistant(bench.settings, embedder=bench.embedder, generator=clocked)
    assistant.ask(WARM_UP)
    runs: dict[int, list[dict[str, Any]]] = {k: [] for k in MODEL_PASSAGE_COUNTS}
    answers: dict[int, list[dict[str, Any]]] = {k: [] for k in MODEL_PASSAGE_COUNTS}
    for number, question in enumerate(bench.fixed, start=1):
        bench.say(f"   {number}/{len(bench.fixed)} {question.id}")
        for k in MODEL_PASSAGE_COUNTS:
            # Back to the system prompt alone: the prompts of one question with 3, 4 and 6
            # passages share their first passages, and llama.cpp would reuse them.
            clocked.warm(SYSTEM_PROMPT)
            clocked.reset()
            started = time.perf_counter()
            answer = assistant.ask(question.question, top_k=k)
            total = time.perf_counter() - started
            runs[k].append(
                {
                    "first_token_s": (clocked.first_token_at or started) - started,
                    "first_sentence_s": answer.timings.first_token_s,
                    "total_s": total,
                    "prompt_tokens": answer.timings.prompt_tokens,
                }
            )
            answers[k].append(answer.to_json() | {"id": question.id})
    rows = []
    for k in MODEL_PASSAGE_COUNTS:
        path = bench.out / f"answers-passages-{k}.jsonl"
        write_answers(path, answers[k])
        overall = score_answers_file(bench, path, f"eval-passages-{k}")
        medians = {key: round(statistics.median(r[key] for r in runs[k]), 3) for key in runs[k][0]}
        rows.append(SweepPassages(passages=k, **medians, scores=overall))
    return rows


def sweep_engine(bench: Bench) -> list[SweepEngine]:
    """Prompt and output speed of the bare engine for each (threads, batch)."""
    g = bench.settings.generation
    path = ModelStore(bench.settings.paths.models_dir).resolve(g.model).path
    clocked = ClockedGenerator(load_generator(bench.settings))
    assistant = Assistant(bench.settings, embedder=bench.embedder, generator=clocked)
    assistant.ask(bench.fixed[0].question, top_k=4)
    messages = clocked.messages
    del assistant, clocked
    best: dict[int, SweepEngine] = {}
    for _ in range(2):  # twice over, keeping each configuration's best: the machine is shared
        for number, config in enumerate(ENGINE):
            bench.say(f"   {config}")
            engine = {k: v for k, v in config.items() if k not in ("threads", "batch")}
            bare = BareLlama(path, g.n_ctx, config["threads"], config["batch"], g.seed, **engine)
            run = bare.answer(messages, 48)
            row = SweepEngine(
                **config,
                prompt_tokens=run.prompt_tokens,
                prompt_tokens_per_s=round(run.prompt_tokens / run.first_token_s, 1),
                output_tokens_per_s=round(run.tokens_per_s, 2),
            )
            old = best.get(number)
            if old is None or row.prompt_tokens_per_s > old.prompt_tokens_per_s:
                fastest = max(row.output_tokens_per_s, old.output_tokens_per_s if old else 0)
                best[number] = row.model_copy(update={"output_tokens_per_s": fastest})
            del bare
    return [best[n] for n in sorted(best)]
