"""The evaluation's records as typed models: the gold question (eval/FORMAT.md).

`GoldQuestion` is one line of a question set (`gold.jsonl`, `unseen.jsonl`,
`paraphrases.jsonl`): read by `load_questions` for `assistant eval`, the benchmark and
the comparison tables, and by eval/check_data.py, which adds the rules a hand-written
set keeps (every field present, key terms in the reference answer, quotes of 40 to 300
characters found in their documents). A row may say its `format`; without it, 1.

Not here: the metrics (`metrics.py`); the calibration pairs (checked by eval/check_data.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AfterValidator, ConfigDict, TypeAdapter, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from ..records import invalid, known_format, problems


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
    KIND: ClassVar[str] = "gold question"
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
