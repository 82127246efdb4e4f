"""Provenance: the record of how one answer was made, built when the answer is.

A record says what was asked (with the conversation turns given to the model), what was
answered and which passages were cited, every passage given to the model with its chunk
id and the SHA-256 of its text, the SHA-256, title and date of each source document (so
the record outlives the index build it came from), the index build, the embedder, the
model and the SHA-256 of its file, the prompt template's version and the SHA-256 of the
exact messages, the generation and retrieval settings, and the software versions.

The record is a `records.ProvenanceRecord`, built by `build_record()`. `record_answer()`
gives the answer its id and, when the audit log is on, appends the record to it
(`audit.AuditLog`). Every answer gets a record, logged or not: its JSON data is also on
`Answer.provenance` for callers of the package. `render()` shows a record for people.

The record also keeps the model's raw draft beside what was shown, and for each of the
draft's sentences whether it was shown, re-cited or withheld, and why (claim-level
grounding a reviewer can read: `assistant audit show ID`).
"""

from __future__ import annotations

import hashlib
import json
import platform
import secrets
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

from ..answering.injection import instruction_like
from ..answering.prompting import PROMPT_VERSION, SYSTEM_PROMPT
from .records import (
    DocumentVersion,
    EmbedderUsed,
    GenerationUsed,
    IndexBuild,
    ModelUsed,
    PassageRecord,
    PromptUsed,
    ProvenanceRecord,
    SentenceRecord,
    TimingsRecord,
)

if TYPE_CHECKING:
    from ..answers import Answer, Citation
    from ..ingest.store import Manifest
    from ..settings import Settings

RECORD_FORMAT = ProvenanceRecord.FORMAT
_PACKAGES = (
    "policy-assistant",
    "llama-cpp-python",
    "faiss-cpu",
    "sentence-transformers",
    "torch",
    "bm25s",
)


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
    answer: Answer,
    manifest: Manifest,
    prompts: Sequence[list[dict[str, str]]],
    history: list[tuple[str, str]],
    search_query: str,
    settings: Settings,
    embedder: Mapping[str, Any],
    model: Mapping[str, Any],
    top_k: int | None = None,
    max_tokens: int | None = None,
    asked_for: str | None = None,
    replay_of: str | None = None,
    user: str | None = None,
) -> ProvenanceRecord:
    """The provenance record of `answer` (without the audit log's chain fields):
    `embedder` is its name and dimension, `model` the name, SHA-256 and file of the GGUF;
    `top_k` and `max_tokens` are the values used where they were not the settings';
    `replay_of` the id of the record a replay asks again. `prompts` are the messages the
    model was given, one prompt or several (a comparison's parts, a draft asked for
    once more), whose SHA-256 is recorded: of the one prompt, or of the list."""
    # a record has `replay_of` only when it is a replay's: older readers expect no key
    replay = {"replay_of": replay_of} if replay_of else {}
    asker = {"user": user} if user else {}
    return ProvenanceRecord(
        format=RECORD_FORMAT,
        id=answer.id or new_id(),
        time=datetime.now(UTC).isoformat(timespec="milliseconds"),
        question=answer.question,
        history=list(history),
        history_in_prompt=max(0, (len(prompts[0]) - 2) // 2) if prompts else 0,
        search_query=search_query,
        answer=answer.answer,
        draft=answer.draft,
        sentences=[SentenceRecord(**c.record()) for c in answer.sentences],
        declined=answer.declined,
        scope=list(answer.scope),
        warnings=list(answer.warnings),
        cited=[c.n for c in answer.citations],
        passages=passage_records(answer.contexts),
        documents=document_versions(answer.contexts, manifest),
        index=IndexBuild(
            id=manifest.index_id,
            created=manifest.created,
            documents=len(manifest.documents),
            chunking=manifest.chunking,
        ),
        embedder=EmbedderUsed(**embedder),
        model=ModelUsed(name=model["name"], sha256=model["sha256"], file=model.get("file", "")),
        prompt=PromptUsed(
            version=PROMPT_VERSION,
            system_sha256=sha256_text(SYSTEM_PROMPT),
            messages_sha256=sha256_text(
                json.dumps(prompts[0] if len(prompts) == 1 else list(prompts), ensure_ascii=False)
            ),
        ),
        generation=generation_used(settings, max_tokens),
        retrieval={**settings.retrieval.model_dump(), "top_k": top_k or settings.retrieval.top_k},
        software=software_versions(),
        timings=TimingsRecord(**asdict(answer.timings)),
        asked_for=asked_for,
        **replay,
        **asker,
    )


def passage_records(contexts: Sequence[Citation]) -> list[PassageRecord]:
    """Every passage given to the model, with the SHA-256 of its text."""
    return [
        PassageRecord(
            n=c.n,
            chunk_id=c.chunk_id,
            doc_id=c.doc_id,
            section=c.section,
            page=c.page,
            score=c.score,
            sha256=sha256_text(c.text),
            text=c.text,
            instructions_withheld=instruction_like(c.text),
        )
        for c in contexts
    ]


def document_versions(
    contexts: Sequence[Citation], manifest: Manifest
) -> dict[str, DocumentVersion]:
    """The version of each document the passages come from, in the order first given."""
    versions = {}
    for doc_id in dict.fromkeys(c.doc_id for c in contexts):
        doc = manifest.documents[doc_id]
        versions[doc_id] = DocumentVersion(
            sha256=doc.sha256,
            title=doc.title,
            publisher=doc.publisher,
            date=doc.date,
            file=doc.file,
            added=doc.added,
        )
    return versions


def generation_used(settings: Settings, max_tokens: int | None) -> GenerationUsed:
    g = settings.generation
    return GenerationUsed(
        temperature=g.temperature,
        seed=g.seed,
        max_tokens=max_tokens or g.max_tokens,
        n_ctx=g.n_ctx,
        history_turns=g.history_turns,
    )


def record_answer(answer: Answer, record: ProvenanceRecord, settings: Settings) -> Answer:
    """The answer with its id and provenance (`build_record`, as JSON data); appended to
    the audit log when that is on."""
    from .audit import AuditLog

    data = record.to_json()
    if settings.audit.enabled:
        data = AuditLog.from_settings(settings).append(data)
    return replace(answer, id=record.id, provenance=data)


def render(record: ProvenanceRecord) -> str:
    """A record for people: what was asked and answered, from what, by what."""
    r = record
    lines = [
        f"Answer {r.id}  (record {r.seq or '-'}, {r.time})",
        f"Question: {r.question}",
    ]
    for asked, answered in r.history:
        lines.append(f"  earlier turn: {asked} -> {textwrap.shorten(answered, 100)}")
    lines += [
        "Answer:",
        textwrap.indent(textwrap.fill(r.answer, 92), "  "),
        f"Declined: {'yes' if r.declined else 'no'}   "
        f"Cited: {', '.join(f'[{n}]' for n in r.cited) or 'none'}",
    ]
    lines += [f"Note: {w}" for w in r.warnings]
    if r.draft and r.draft.strip() != r.answer:
        lines += [
            "The model's draft, before the check:",
            textwrap.indent(textwrap.fill(r.draft, 92), "  "),
        ]
    for sentence in r.sentences:
        mark = "shown" if sentence.shown else "WITHHELD"
        lines.append(f"  [{mark}] {sentence.text}  ({sentence.reason})")
    lines.append("Passages given to the model:")
    for p in r.passages:
        mark = "*" if p.n in r.cited else " "
        where = f", §{p.section}" if p.section else ""
        where += f", page {p.page}" if p.page else ""
        lines.append(
            f" {mark}[{p.n}] {p.doc_id}{where}  chunk {p.chunk_id}  "
            f"text SHA-256 {p.sha256[:16]}…  score {p.score}"
        )
        lines.append("      " + textwrap.shorten(" ".join(p.text.split()), 160))
        if p.instructions_withheld:
            lines.append("      (instructions to AI systems in it were withheld from the model)")
    lines.append("Source documents (the versions used):")
    for doc_id, d in r.documents.items():
        lines.append(f"  {doc_id}: {d.title} ({', '.join(x for x in (d.publisher, d.date) if x)})")
        lines.append(f"      file {d.file}  SHA-256 {d.sha256}")
    g = r.generation
    lines += [
        f"Index: {r.index.id} (built {r.index.created}, {r.index.documents} documents)",
        f"Embedder: {r.embedder.name} ({r.embedder.dim} dimensions)",
        f"Model: {r.model.name}  SHA-256 {r.model.sha256}",
        f"Prompt template: version {r.prompt.version}",
        f"Generation: temperature {g.temperature}, seed {g.seed}, "
        f"max {g.max_tokens} tokens, context {g.n_ctx}",
        f"Retrieval: {', '.join(f'{k} {v}' for k, v in r.retrieval.items())}",
        f"Software: {', '.join(f'{k} {v}' for k, v in r.software.items())}",
    ]
    if r.replay_of:
        lines.append(f"Replay of: {r.replay_of}")
    if r.hash is not None:
        lines.append(f"Chain: previous {(r.prev or '')[:16]}…  this {r.hash}")
    return "\n".join(lines)
