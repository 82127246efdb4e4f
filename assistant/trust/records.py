"""The provenance record as a typed model: `ProvenanceRecord` and its parts.

Built by `provenance.build_record`, appended to the audit log by `audit.AuditLog` (which
hashes its JSON, `to_json()`), read back by `AuditLog.find`, `render` and `replay`.

Format 1 gained fields as the assistant grew; a record written before a field existed
reads with the field's default: `instructions_withheld` False, no `draft`, `sentences`,
`scope` or `asked_for`. `seq`, `prev` and `hash` are the audit log's, present once a
record is logged; `replay_of` only on the record of a replay.
"""

from __future__ import annotations

from typing import Any

from ..records import Part, Record


class PassageRecord(Part):
    """A passage given to the model, with the SHA-256 of its text."""

    n: int
    chunk_id: str
    doc_id: str
    section: str
    page: int | None
    score: float
    sha256: str
    text: str
    instructions_withheld: bool = False  # instructions to AI systems kept from the model


class DocumentVersion(Part):
    """A source document as it was when the answer was made."""

    sha256: str
    title: str
    publisher: str
    date: str
    file: str
    added: str


class IndexBuild(Part):
    id: str
    created: str
    documents: int
    chunking: dict[str, Any]


class EmbedderUsed(Part):
    name: str
    dim: int


class ModelUsed(Part):
    name: str
    sha256: str
    file: str = ""  # the GGUF's path; empty for a model behind a server or a fake


class PromptUsed(Part):
    version: str
    system_sha256: str
    messages_sha256: str  # of the one prompt given to the model, or of the list of them


class GenerationUsed(Part):
    temperature: float
    seed: int
    max_tokens: int
    n_ctx: int
    history_turns: int


class SentenceRecord(Part):
    """One sentence of the model's draft and what became of it (`grounding.Checked`)."""

    text: str
    drafted_cites: list[int]
    cited: list[int]  # after re-citing
    shown: bool
    reason: str
    verified: float | None  # the verifier's P(supported), when it was asked


class TimingsRecord(Part):
    retrieve_s: float
    first_token_s: float
    total_s: float
    prompt_tokens: int
    completion_tokens: int


class ProvenanceRecord(Record):
    """How one answer was made: what was asked and answered, from which passages and
    document versions, by which index, embedder, model, prompt and settings."""

    KIND = "a provenance record"
    ADVICE = (
        "read it with the version of the assistant that wrote it; `assistant audit "
        "verify` says whether the log was altered"
    )

    id: str
    time: str  # UTC, ISO 8601 to the millisecond
    question: str
    history: list[tuple[str, str]]  # earlier (question, answer) turns of the conversation
    history_in_prompt: int  # how many of them the prompt held
    search_query: str
    answer: str
    draft: str = ""  # the model's text before the sentence check
    sentences: list[SentenceRecord] = []
    declined: bool
    scope: list[str] = []  # the doc ids the search was limited to; [] for all
    warnings: list[str]
    cited: list[int]
    passages: list[PassageRecord]
    documents: dict[str, DocumentVersion]
    index: IndexBuild
    embedder: EmbedderUsed
    model: ModelUsed
    prompt: PromptUsed
    generation: GenerationUsed
    retrieval: dict[str, Any]  # the retrieval settings used (their fields vary by version)
    software: dict[str, str]
    timings: TimingsRecord
    asked_for: str | None = None  # the kind of answer the question asks for, if any
    replay_of: str | None = None
    user: str | None = None  # who asked, on a server with accounts
    seq: int | None = None
    prev: str | None = None
    hash: str | None = None
