"""Provenance: the record of how one answer was made, built when the answer is.

A record says what was asked (with the conversation turns given to the model), what was
answered and which passages were cited, every passage given to the model with its chunk
id and the SHA-256 of its text, the SHA-256, title and date of each source document (so
the record outlives the index build it came from), the index build, the embedder, the
model and the SHA-256 of its file, the prompt template's version and the SHA-256 of the
exact messages, the generation and retrieval settings, and the software versions.

`record_answer()` gives the answer its id and, when the audit log is on, appends the
record to it (`audit.AuditLog`). Every answer gets a record, logged or not: it is also
on `Answer.provenance` for callers of the package. `render()` shows a record for people.

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
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

from ..answering.injection import instruction_like
from ..answering.prompting import PROMPT_VERSION, SYSTEM_PROMPT

if TYPE_CHECKING:
    from ..answers import Answer
    from ..ingest.store import Manifest
    from ..settings import Settings

RECORD_FORMAT = 1
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
    messages: list[dict[str, str]],
    history: list[tuple[str, str]],
    search_query: str,
    settings: Settings,
    embedder: Mapping[str, Any],
    model: Mapping[str, Any],
    top_k: int | None = None,
    extra: Mapping[str, Any] | None = None,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """The provenance record of `answer` (without the audit log's chain fields):
    `embedder` is its name and dimension, `model` the name, SHA-256 and file of the GGUF;
    `top_k` and `max_tokens` are the values used where they were not the settings'."""
    passages = [
        {
            "n": c.n,
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "section": c.section,
            "page": c.page,
            "score": c.score,
            "sha256": sha256_text(c.text),
            "text": c.text,
            "instructions_withheld": instruction_like(c.text),
        }
        for c in answer.contexts
    ]
    documents = {}
    for doc_id in dict.fromkeys(c.doc_id for c in answer.contexts):
        doc = manifest.documents[doc_id]
        documents[doc_id] = {
            "sha256": doc.sha256,
            "title": doc.title,
            "publisher": doc.publisher,
            "date": doc.date,
            "file": doc.file,
            "added": doc.added,
        }
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
        "draft": answer.draft,
        "sentences": [c.record() for c in answer.sentences],
        "declined": answer.declined,
        "scope": list(answer.scope),
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
        "embedder": dict(embedder),
        "model": {"name": model["name"], "sha256": model["sha256"], "file": model.get("file", "")},
        "prompt": {
            "version": PROMPT_VERSION,
            "system_sha256": sha256_text(SYSTEM_PROMPT),
            "messages_sha256": sha256_text(json.dumps(messages, ensure_ascii=False)),
        },
        "generation": {
            "temperature": g.temperature,
            "seed": g.seed,
            "max_tokens": max_tokens or g.max_tokens,
            "n_ctx": g.n_ctx,
            "history_turns": g.history_turns,
        },
        "retrieval": {
            **settings.retrieval.model_dump(),
            "top_k": top_k or settings.retrieval.top_k,
        },
        "software": software_versions(),
        "timings": dict(answer.to_json()["timings"]),
    }
    record.update(extra or {})
    return record


def record_answer(answer: Answer, record: dict[str, Any], settings: Settings) -> Answer:
    """The answer with its id and provenance (`build_record`); appended to the audit log
    when that is on."""
    from .audit import AuditLog

    if settings.audit.enabled:
        record = AuditLog.from_settings(settings).append(record)
    return replace(answer, id=record["id"], provenance=record)


def render(record: dict[str, Any]) -> str:
    """A record for people: what was asked and answered, from what, by what."""
    lines = [
        f"Answer {record['id']}  (record {record.get('seq', '-')}, {record['time']})",
        f"Question: {record['question']}",
    ]
    for asked, answered in record.get("history", []):
        lines.append(f"  earlier turn: {asked} -> {textwrap.shorten(answered, 100)}")
    lines += [
        "Answer:",
        textwrap.indent(textwrap.fill(record["answer"], 92), "  "),
        f"Declined: {'yes' if record['declined'] else 'no'}   "
        f"Cited: {', '.join(f'[{n}]' for n in record['cited']) or 'none'}",
    ]
    lines += [f"Note: {w}" for w in record.get("warnings", [])]
    if record.get("draft") and record["draft"].strip() != record["answer"]:
        lines += [
            "The model's draft, before the check:",
            textwrap.indent(textwrap.fill(record["draft"], 92), "  "),
        ]
    for sentence in record.get("sentences", []):
        mark = "shown" if sentence["shown"] else "WITHHELD"
        lines.append(f"  [{mark}] {sentence['text']}  ({sentence['reason']})")
    lines.append("Passages given to the model:")
    for p in record["passages"]:
        mark = "*" if p["n"] in record["cited"] else " "
        where = f", §{p['section']}" if p["section"] else ""
        where += f", page {p['page']}" if p.get("page") else ""
        lines.append(
            f" {mark}[{p['n']}] {p['doc_id']}{where}  chunk {p['chunk_id']}  "
            f"text SHA-256 {p['sha256'][:16]}…  score {p['score']}"
        )
        lines.append("      " + textwrap.shorten(" ".join(p["text"].split()), 160))
        if p.get("instructions_withheld"):
            lines.append("      (instructions to AI systems in it were withheld from the model)")
    lines.append("Source documents (the versions used):")
    for doc_id, d in record["documents"].items():
        lines.append(
            f"  {doc_id}: {d['title']} ({', '.join(x for x in (d['publisher'], d['date']) if x)})"
        )
        lines.append(f"      file {d['file']}  SHA-256 {d['sha256']}")
    index, model, g = record["index"], record["model"], record["generation"]
    lines += [
        f"Index: {index['id']} (built {index['created']}, {index['documents']} documents)",
        f"Embedder: {record['embedder']['name']} ({record['embedder']['dim']} dimensions)",
        f"Model: {model['name']}  SHA-256 {model['sha256']}",
        f"Prompt template: version {record['prompt']['version']}",
        f"Generation: temperature {g['temperature']}, seed {g['seed']}, "
        f"max {g['max_tokens']} tokens, context {g['n_ctx']}",
        f"Retrieval: {', '.join(f'{k} {v}' for k, v in record['retrieval'].items())}",
        f"Software: {', '.join(f'{k} {v}' for k, v in record['software'].items())}",
    ]
    if record.get("replay_of"):
        lines.append(f"Replay of: {record['replay_of']}")
    if "hash" in record:
        lines.append(f"Chain: previous {record['prev'][:16]}…  this {record['hash']}")
    return "\n".join(lines)
