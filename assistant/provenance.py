"""Provenance: the record of how one answer was made, built when the answer is.

A record says what was asked (with the conversation turns given to the model), what was
answered and which passages were cited, every passage given to the model with its chunk
id and the SHA-256 of its text, the SHA-256, title and date of each source document (so
the record outlives the index build it came from), the index build, the embedder, the
model and the SHA-256 of its file, the prompt template's version and the SHA-256 of the
exact messages, the generation and retrieval settings, and the software versions.

`record_answer()` gives the answer its id and, when the audit log is on, appends the
record to it (`audit.AuditLog`). Every answer gets a record, logged or not: it is also
on `Answer.provenance` for callers of the package.

Not recorded: the model's raw draft before the grounding check (the record holds what
the user was shown, and the messages, by hash, from which a replay regenerates the draft).
"""

from __future__ import annotations

import hashlib
import json
import platform
import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

from .prompting import PROMPT_VERSION, SYSTEM_PROMPT

if TYPE_CHECKING:
    from .answering import Answer, Assistant

RECORD_FORMAT = 1
_PACKAGES = ("policy-assistant", "llama-cpp-python", "faiss-cpu", "sentence-transformers",
             "torch", "bm25s")  # fmt: skip


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_id() -> str:
    """A sortable, unique answer id: UTC time to the second and 32 random bits."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)


@lru_cache(maxsize=1)
def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def build_record(
    assistant: Assistant,
    answer: Answer,
    messages: list[dict[str, str]],
    history: list[tuple[str, str]],
    search_query: str,
    top_k: int | None = None,
) -> dict[str, Any]:
    """The provenance record of `answer` (without the audit log's chain fields)."""
    settings = assistant.settings
    manifest = assistant.retriever.index.manifest
    generator = assistant.generator
    passages = [
        {
            "n": c.n, "chunk_id": c.chunk_id, "doc_id": c.doc_id, "section": c.section,
            "page": c.page, "score": c.score, "sha256": sha256_text(c.text), "text": c.text,
        }
        for c in answer.contexts
    ]  # fmt: skip
    documents = {}
    for doc_id in dict.fromkeys(c.doc_id for c in answer.contexts):
        doc = manifest.documents[doc_id]
        documents[doc_id] = {
            "sha256": doc.sha256, "title": doc.title, "publisher": doc.publisher,
            "date": doc.date, "file": doc.file, "added": doc.added,
        }  # fmt: skip
    g = settings.generation
    record: dict[str, Any] = {
        "format": RECORD_FORMAT,
        "id": answer.id or new_id(),
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "question": answer.question,
        "history": [list(turn) for turn in history],
        "history_in_prompt": max(0, (len(messages) - 2) // 2),
        "search_query": search_query,
        "answer": answer.answer,
        "declined": answer.declined,
        "warnings": list(answer.warnings),
        "cited": [c.n for c in answer.citations],
        "passages": passages,
        "documents": documents,
        "index": {
            "id": manifest.index_id,
            "created": manifest.created,
            "documents": len(manifest.documents),
            "chunking": manifest.chunking,
        },
        "embedder": {"name": assistant.embedder.name, "dim": assistant.embedder.dim},
        "model": {
            "name": generator.name,
            "sha256": generator.sha256,
            "file": str(getattr(generator, "path", "")),
        },
        "prompt": {
            "version": PROMPT_VERSION,
            "system_sha256": sha256_text(SYSTEM_PROMPT),
            "messages_sha256": sha256_text(json.dumps(messages, ensure_ascii=False)),
        },
        "generation": {
            "temperature": g.temperature,
            "seed": g.seed,
            "max_tokens": g.max_tokens,
            "n_ctx": g.n_ctx,
            "history_turns": g.history_turns,
        },  # fmt: skip
        "retrieval": {
            **settings.retrieval.model_dump(),
            "top_k": top_k or settings.retrieval.top_k,
        },
        "software": software_versions(),
        "timings": dict(answer.to_json()["timings"]),
    }
    record.update(getattr(assistant, "record_extra", {}))
    return record


def record_answer(
    assistant: Assistant,
    answer: Answer,
    messages: list[dict[str, str]],
    history: list[tuple[str, str]],
    search_query: str,
    top_k: int | None = None,
) -> Answer:
    """The answer with its id and provenance; appended to the audit log when that is on."""
    from .audit import AuditLog

    record = build_record(assistant, answer, messages, history, search_query, top_k)
    if assistant.settings.audit.enabled:
        record = AuditLog.from_settings(assistant.settings).append(record)
    return replace(answer, id=record["id"], provenance=record)
