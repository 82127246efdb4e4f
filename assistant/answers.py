"""The answer types every layer passes around: `Answer`, its `Citation`s and `Timings`.

Built by the answering stage (`answering.assistant`), read by the CLI, the UI, the
provenance record, the evaluation and the benchmark. `Answer.to_json()` is the answer
contract of DESIGN.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .answering.grounding import Checked
    from .answering.retrieval import Hit


def reference(
    title: str,
    publisher: str = "",
    date: str = "",
    section: str = "",
    page: int | None = None,
    section_mark: str = "§",
) -> str:
    """ "Title (Publisher, date), §section, page 4": how a passage is named, to people
    and (without the section mark) to the model."""
    where = ", ".join(p for p in (publisher, date) if p)
    text = f"{title} ({where})" if where else title
    if section:
        text += f", {section_mark}{section}"
    if page:
        text += f", page {page}"
    return text


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    text: str
    score: float
    publisher: str = ""
    date: str = ""
    page: int | None = None
    chunk_id: str = ""
    # what the passage is read under, outside its text: a table's caption and header row
    header: str = ""

    @classmethod
    def from_hit(cls, n: int, hit: Hit) -> Citation:
        doc = hit.document
        return cls(
            n=n,
            doc_id=hit.chunk.doc_id,
            title=doc.title,
            section=hit.chunk.section,
            text=hit.chunk.text,
            score=hit.score,
            publisher=doc.publisher,
            date=doc.date,
            page=hit.chunk.page,
            chunk_id=hit.chunk.chunk_id,
            header=hit.chunk.header,
        )

    @property
    def reference(self) -> str:
        return reference(self.title, self.publisher, self.date, self.section, self.page)

    def contract(self) -> dict[str, Any]:
        keys = ("n", "doc_id", "title", "section", "text", "score")
        return {k: getattr(self, k) for k in keys}


@dataclass(frozen=True)
class Timings:
    retrieve_s: float
    first_token_s: float
    total_s: float
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    citations: tuple[Citation, ...]
    contexts: tuple[Citation, ...]
    declined: bool
    model: dict[str, str]
    timings: Timings
    warnings: tuple[str, ...] = field(default=())
    id: str = ""  # the answer's id in the audit log (`assistant audit show ID`)
    scope: tuple[str, ...] = ()  # the doc ids the search was limited to; () for all
    # the provenance record as JSON data: trust.records.ProvenanceRecord.from_json reads it
    provenance: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    draft: str = field(default="", compare=False, repr=False)  # the model's text, unchecked
    sentences: tuple[Checked, ...] = field(default=(), compare=False, repr=False)

    @property
    def withheld(self) -> tuple[Checked, ...]:
        """The draft's sentences that were not shown, each with the reason."""
        return tuple(c for c in self.sentences if not c.supported)

    @classmethod
    def from_contract(cls, data: dict[str, Any]) -> Answer:
        """An answer read back from its contract (and `warnings`, where sent): what a
        client of the API has of it."""
        fields = ("n", "doc_id", "title", "section", "text", "score")

        def citations(key: str) -> tuple[Citation, ...]:
            return tuple(Citation(**{k: c[k] for k in fields}) for c in data.get(key, []))

        return cls(
            question=data["question"],
            answer=data["answer"],
            citations=citations("citations"),
            contexts=citations("contexts"),
            declined=bool(data["declined"]),
            model=dict(data.get("model", {})),
            timings=Timings(**data["timings"]),
            warnings=tuple(data.get("warnings", ())),
            id=data.get("id", ""),
            scope=tuple(data.get("scope", ())),
        )

    def to_json(self) -> dict[str, Any]:
        """The answer contract of DESIGN.md."""
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "citations": [c.contract() for c in self.citations],
            "contexts": [c.contract() for c in self.contexts],
            "declined": self.declined,
            "scope": list(self.scope),
            "model": dict(self.model),
            "timings": asdict(self.timings),
        }
