"""The benchmark's shared parts: its options, the state of one run (`Bench`), the fixed
questions, and writing and scoring a file of answers. The runner and the sweep both
build on them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..evaluation.records import GoldQuestion, Scores, load_questions
from ..ingest.embedding import MiniLMEmbedder
from ..settings import Settings
from .results import BenchResults, BenchSettings, Loads, Machine

Progress = Callable[[str], None]
SECTIONS = ("indexing", "retrieval", "answering", "langchain", "coldstart", "serve", "sweep")
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s not in ("serve", "sweep"))  # on request
# Ten fixed questions of eval/gold.jsonl: figures, facts, multi-part, comparison, unanswerable.
FIXED_QUESTIONS = ("q001", "q010", "q024", "q036", "q045", "q059", "q062", "q066", "q073", "q079")
WARM_UP = "What is AI sovereignty?"


@dataclass(frozen=True)
class ServeOptions:
    """The load test of the served assistant (`serve.py`): so many users at once, in turn."""

    users: tuple[int, ...] = (1, 4, 16)  # simulated users of each round
    questions: int = 2  # questions each user asks, one after the other
    model: str | None = None  # catalogue name or path the model server runs (None: the bench's)
    round_s: float = 240.0  # after this, a round's users ask no more questions
    request_timeout_s: float = 300.0  # the longest wait for any one reply
    start_timeout_s: float = 240.0  # for each server to answer its first request

    @classmethod
    def small(cls, model: str | None = None) -> ServeOptions:
        """Two users, one question each: the test suite's run."""
        return cls(users=(2,), questions=1, model=model)


@dataclass(frozen=True)
class BenchOptions:
    sections: tuple[str, ...] = DEFAULT_SECTIONS
    questions: Path = Path("eval/gold.jsonl")
    question_ids: tuple[str, ...] = FIXED_QUESTIONS
    sizes: tuple[int, ...] = (100_000, 1_000_000)
    queries: int = 200
    bm25_limit: int = 100_000
    sweep: tuple[str, ...] = (
        "retrieval",
        "focus",
        "passages",
        "engine",
    )  # parts of the sweep to run
    serve: ServeOptions = ServeOptions()
    out: Path | None = None


class Bench:
    """Shared state of one run: settings, loaded embedder, questions, the output folder."""

    def __init__(self, settings: Settings, options: BenchOptions, out: Path, say: Progress):
        self.settings = settings.with_overrides(paths={"data_dir": out / "data"})
        self.options = options
        self.out = out
        self.say = say
        self._embedder: MiniLMEmbedder | None = None
        self.gold = load_questions(options.questions)
        by_id = {q.id: q for q in self.gold}
        self.fixed: list[GoldQuestion] = [by_id[i] for i in options.question_ids]
        self.results = BenchResults(
            format=BenchResults.FORMAT, machine=Machine.now(), settings=BenchSettings.of(settings)
        )

    @property
    def embedder(self) -> MiniLMEmbedder:
        if self._embedder is None:
            started = time.perf_counter()
            self._embedder = MiniLMEmbedder(self.settings.embedding.batch_size)
            self.record(loads=Loads(embedder_s=rounded(time.perf_counter() - started)))
        return self._embedder

    def record(self, **parts: Any) -> None:
        """Add measured parts (sections, loads) to the results."""
        self.results = self.results.model_copy(update=parts)


def rounded(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def write_answers(path: Path, answers: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for answer in answers:
            handle.write(json.dumps(answer, ensure_ascii=False) + "\n")


def score_answers_file(bench: Bench, answers: Path, name: str) -> Scores:
    """The harness's overall scores of a file of answers to the fixed questions."""
    from ..evaluation.runner import EvalOptions, run_eval

    subset = bench.out / "questions.jsonl"
    if not subset.exists():
        wanted = set(bench.options.question_ids)
        lines = bench.options.questions.read_text(encoding="utf-8").splitlines()
        subset.write_text(
            "\n".join(x for x in lines if x.strip() and json.loads(x)["id"] in wanted) + "\n",
            encoding="utf-8",
        )
    options = EvalOptions(questions=subset, answers=answers, judge="fast", out=bench.out / name)
    summary, _ = run_eval(bench.settings, options)
    return summary.overall
