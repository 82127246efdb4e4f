"""Records that outlive a process: the base of their typed models.

A `Record` is a pydantic model with a `format` version, read and written by the same
class. `from_json` refuses a record of another shape, or of a format newer than this
version of the assistant reads, with `RecordInvalid` naming each problem; `to_json`
gives back what was read (fields a record did not have are not added, so an old record
is written as it was) or, for a new record, every field.

A field added after a format was first written is optional, with a default that means
what older records meant. Not here: where each record is kept, and how (the audit log's
hash chain, the report folders).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import ErrorDetails

from .errors import RecordInvalid


class Part(BaseModel):
    """A part of a record: checked like the record, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Record(BaseModel):
    """A typed record kept on disk, with the version of its format."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    FORMAT: ClassVar[int] = 1  # the newest format this class reads and the one it writes
    KIND: ClassVar[str] = "a record"  # what it is, with its article, for error messages
    ADVICE: ClassVar[str] = "restore the file from a copy"  # what to do when it cannot be read

    format: int = 1

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: int) -> int:
        return known_format(value, cls.FORMAT)

    @classmethod
    def from_json(cls, data: Any, source: str = "") -> Self:
        """The record in `data` (parsed JSON); `source` says where it came from."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise invalid(exc, cls.KIND, cls.ADVICE, source) from exc

    def to_json(self) -> dict[str, Any]:
        """The record as JSON data, its format version first."""
        return {"format": self.format, **self.model_dump(mode="json", exclude_unset=True)}


def known_format(value: int, newest: int) -> int:
    """`value` when this version reads that format (1 to `newest`)."""
    if not 1 <= value <= newest:
        raise ValueError(
            f"not a format this version of the assistant reads (1 to {newest}): a newer "
            "version wrote it; read it with that version"
        )
    return value


def invalid(exc: ValidationError, kind: str, advice: str, source: str = "") -> RecordInvalid:
    """The error for data that is not a `kind`: where, each problem, and what to do."""
    where = f"{source}: " if source else ""
    return RecordInvalid(
        f"{where}not {kind} this version of the assistant can read: "
        f"{'; '.join(problems(exc))}. To go on, {advice}."
    )


def problems(exc: ValidationError) -> list[str]:
    """Each problem of a validation error in words: "quotes.0.text: missing"."""
    return [problem(error) for error in exc.errors()]


_JSON_WORDS = {
    "a valid tuple": "a list",
    "a valid dictionary": "an object",
    "a dictionary": "an object",
}


def problem(error: ErrorDetails) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "the record"
    if error["type"] == "missing":
        return f"{field}: missing"
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"{field}: unknown field"
    message = error["msg"].removeprefix("Value error, ")
    for python, json_word in _JSON_WORDS.items():  # the data is JSON: name its types
        message = message.replace(python, json_word)
    return f"{field}: {message[0].lower()}{message[1:]} (got {error['input']!r:.60})"
