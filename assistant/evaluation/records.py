"""The evaluation's records as typed models: the gold question (eval/FORMAT.md), the
summary of a run, and the summary of the comparison tables.

`GoldQuestion` is one line of a question set (`gold.jsonl`, `unseen.jsonl`,
`paraphrases.jsonl`): read by `load_questions` for `assistant eval`, the benchmark and
the comparison tables, and by eval/check_data.py, which adds the rules a hand-written
set keeps (every field present, key terms in the reference answer, quotes of 40 to 300
characters found in their documents). A row may say its `format`; without it, 1.

`EvalSummary` is a run's `summary.json`: written by `runner.run_eval`, read back by
`runner.load_summary` for `assistant eval --compare`, the report, the plots and the
benchmark. Summaries written before the stage table and the rewordings existed read
with `stages` {} and `paraphrases` None. `TablesSummary` is the summary.json of
`tables.py` (eval/tables/).

Not here: the metrics (`metrics.py`); the calibration pairs (checked by eval/check_data.py);
the rows of answers.jsonl.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AfterValidator, ConfigDict, TypeAdapter, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from ..records import Part, Record, invalid, known_format, problems


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


Text = Annotated[str, AfterValidator(_not_blank)]
QuestionType = Literal["fact", "figure", "multi", "comparison", "unanswerable"]
QUESTION_TYPES: tuple[str, ...] = get_args(QuestionType)
_STRICT = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=_STRICT)
class Quote:
    """An exact passage of a document that supports the reference answer."""

    doc_id: Text
    text: str


@dataclass(frozen=True, config=_STRICT)
class GoldQuestion:
    """A question with its reference answer, key terms and supporting quotes."""

    FORMAT: ClassVar[int] = 1
    KIND: ClassVar[str] = "a gold question"
    ADVICE: ClassVar[str] = "correct the line as eval/FORMAT.md describes"

    id: Text
    question: Text
    type: QuestionType
    gold_answer: str = ""
    key_terms: tuple[Text, ...] = ()
    quotes: tuple[Quote, ...] = ()
    paraphrase_of: str = ""  # the gold question this one rewords (eval/paraphrases.jsonl)
    format: int = 1

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: int) -> int:
        return known_format(value, cls.FORMAT)

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"

    @classmethod
    def from_json(cls, data: Any, source: str = "") -> GoldQuestion:
        """The question in `data` (one parsed line); `source` says where it came from."""
        try:
            return _GOLD.validate_python(data)
        except ValidationError as exc:
            raise invalid(exc, cls.KIND, cls.ADVICE, source) from exc

    def to_json(self) -> dict[str, Any]:
        """The question as one line of a set holds it (every field)."""
        data: dict[str, Any] = _GOLD.dump_python(self, mode="json")
        return data

    @classmethod
    def problems(cls, data: Any) -> list[str]:
        """What keeps `data` from being a gold question, in words; [] when nothing does."""
        try:
            _GOLD.validate_python(data)
        except ValidationError as exc:
            return problems(exc)
        return []


_GOLD = TypeAdapter(GoldQuestion)


def load_questions(path: Path) -> list[GoldQuestion]:
    """The questions of a JSON Lines question set, blank lines skipped."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            questions.append(GoldQuestion.from_json(json.loads(line), f"{path}:{number}"))
    return questions


# ---------------------------------------------------------------- the summary


class Scores(Part):
    """The mean of each metric over the questions where it applies (None where none
    does); the formulas are in eval/METRICS.md."""

    hit: float | None = None
    mrr: float | None = None
    quote_recall: float | None = None
    key_terms: float | None = None
    correct: float | None = None
    faithfulness: float | None = None
    citation_recall: float | None = None
    citation_precision: float | None = None
    refusal: float | None = None
    false_refusal: float | None = None
    first_token_s: float | None = None
    total_s: float | None = None

    def get(self, metric: str) -> float | None:
        """The score of `metric`, named as in `metrics.METRICS`."""
        value: float | None = getattr(self, metric)
        return value


class _Counted(Part):
    n: int  # the questions of the type


class TypeScores(Scores, _Counted):
    """The scores of one question type, with how many questions it has (`n` comes first)."""


class Latency(Part):
    """Seconds: the median, the 90th percentile (a time some answer took) and the maximum."""

    median: float
    p90: float
    max: float


class Paraphrases(Part):
    """How often a gold question and its rewordings got the same outcome, and all were right."""

    groups: int
    agree: float
    all_right: float


class TierCalibration(Part):
    """A judge's agreement with the hand labels (`judges.TierScore`, in percent)."""

    tier: str
    balanced_accuracy: float
    true_positive_rate: float
    true_negative_rate: float
    by_kind: dict[str, float]
    pairs: int


class EvalSummary(Record):
    """An evaluation run in numbers (`summary.json`): what was asked and judged how, the
    scores overall and by question type, latency, the stage at fault of the misses."""

    KIND = "an evaluation summary"
    ADVICE = "run the evaluation again, or read the summary with the version that wrote it"

    created: str
    questions: str  # the question set's path
    n: int
    answers: str  # "assistant", or the file of answers scored
    model: str
    judge: str
    judge_model: str | None
    claims: str
    overall: Scores
    by_type: dict[str, TypeScores]
    latency: dict[str, Latency]  # by "first_token_s" and "total_s"
    errors: int
    stages: dict[str, int] = {}  # misses by the stage at fault (`metrics.STAGES`)
    paraphrases: Paraphrases | None = None
    calibration: list[TierCalibration] | None = None
    seconds: float = 0.0  # the run's time


# ---------------------------------------------------------------- comparison tables


class TablesSummary(Record):
    """The comparison tables against the chat answer in numbers (`tables.py`'s
    summary.json): how often each carries a document's key passage, and its median time."""

    KIND = "a summary of the comparison tables"
    ADVICE = "run python -m assistant.evaluation.tables again"

    questions: int
    documents: int  # the documents the questions' gold quotes come from, counted per question
    chat_carries_pct: float
    table_carries_pct: float
    chat_median_s: float
    table_median_s: float
