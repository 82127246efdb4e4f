"""Replay: ask a recorded question again with the recorded index build, model and settings.

First it checks what the answer depended on and lists what changed since: the index
build (the last few are kept under `index/builds/<id>/`) and the recorded passages in
it, the model file's SHA-256, the embedder, the prompt template, the software versions,
and each source document's SHA-256 against the current index. When the build or the
model is gone or different it does not run something else and call it a replay: it says
what changed (which documents, which model) and stops. Otherwise it asks the question
again, with the recorded conversation turns, and compares the answer, the citations and
the passages given with the record.

The replay's own answer is recorded in the audit log too, marked `replay_of`.
Not done: restoring a pruned build (the documents' old versions are not kept, only
their hashes, titles and dates in the record).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..answering.assistant import Assistant
from ..answering.prompting import PROMPT_VERSION, SYSTEM_PROMPT
from ..answers import Answer
from ..generation.catalog import CATALOG, ModelStore
from ..generation.llm import Generator
from ..ingest.embedding import EMBEDDER_DIM, EMBEDDER_NAME, Embedder
from ..ingest.spaces import User
from ..ingest.store import current_build
from ..settings import Settings
from .audit import AuditLog
from .provenance import sha256_text, software_versions
from .records import ModelUsed, PassageRecord, ProvenanceRecord


@dataclass(frozen=True)
class ReplayReport:
    record: ProvenanceRecord
    changes: tuple[str, ...] = ()  # what differs from the recorded setup
    ran: bool = False  # False when the recorded build or model is not available
    differences: tuple[str, ...] = ()  # how the new answer differs from the recorded one
    answer: Answer | None = None

    @property
    def identical(self) -> bool:
        return self.ran and not self.differences


def replay(
    settings: Settings,
    record_id: str,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    user: User | None = None,
) -> ReplayReport:
    """Ask the record's question again as it was asked: same index build, model, settings,
    and the same asker's view of the library; `user` must be allowed to read the record."""
    record = AuditLog.from_settings(settings).find(record_id, user)
    changes, blocking = _setup_changes(settings, record, embedder, generator)
    changes += _document_changes(settings.paths.index_dir, record)
    if blocking:
        return ReplayReport(record, tuple(changes))
    model = record.model
    pinned = settings.with_overrides(
        generation={
            **record.generation.model_dump(),
            "model": model.name if model.name in CATALOG else model.file,
        },
        retrieval=record.retrieval,
    )
    assistant = Assistant(
        pinned,
        embedder=embedder,
        generator=generator,
        index_build=record.index.id,
        replay_of=record.id,
    )
    asker = User(record.user) if record.user else None
    answer = assistant.ask(
        record.question, list(record.history), documents=record.scope or None, user=asker
    )
    return ReplayReport(record, tuple(changes), True, _differences(record, answer), answer)


def _setup_changes(
    settings: Settings,
    record: ProvenanceRecord,
    embedder: Embedder | None,
    generator: Generator | None,
) -> tuple[list[str], bool]:
    """What changed in the index build, model, embedder, prompt and software; and whether
    any of it makes an exact replay impossible."""
    changes: list[str] = []
    index = record.index
    build = settings.paths.index_dir / "builds" / index.id
    blocking = False
    if not build.is_dir():
        changes.append(
            f"the index build {index.id} (built {index.created}) is no longer "
            "kept: the index was rebuilt several times since"
        )
        blocking = True
    else:
        altered = _altered_passages(build, record.passages)
        if altered:
            changes.append(
                f"the kept index build {index.id} no longer holds passages "
                f"{', '.join(altered)} as recorded: it was altered"
            )
            blocking = True
    model_change = _model_change(settings, record.model, generator)
    if model_change:
        changes.append(model_change)
        blocking = True
    name = embedder.name if embedder else EMBEDDER_NAME
    dim = embedder.dim if embedder else EMBEDDER_DIM
    if (name, dim) != (record.embedder.name, record.embedder.dim):
        changes.append(f"the embedder is now {name} ({dim}), not {record.embedder.name}")
        blocking = True
    prompt = record.prompt
    if prompt.version != PROMPT_VERSION or prompt.system_sha256 != sha256_text(SYSTEM_PROMPT):
        changes.append(
            f"the prompt template changed (version {prompt.version} then, "
            f"{PROMPT_VERSION} now): the answer may differ"
        )
    now = software_versions()
    moved = [
        f"{k} {v} then, {now.get(k)} now" for k, v in record.software.items() if now.get(k) != v
    ]
    if moved:
        changes.append("software versions differ: " + "; ".join(moved))
    return changes, blocking


def _altered_passages(build: Path, passages: list[PassageRecord]) -> list[str]:
    wanted = {p.chunk_id: p.sha256 for p in passages}
    found: dict[str, str] = {}
    with (build / "chunks.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            chunk = json.loads(line)
            if chunk["chunk_id"] in wanted:
                found[chunk["chunk_id"]] = sha256_text(chunk["text"])
    return [cid for cid, sha in wanted.items() if found.get(cid) != sha]


def _model_change(settings: Settings, model: ModelUsed, generator: Generator | None) -> str:
    if generator is not None:
        now = generator.sha256
    else:
        known = CATALOG.get(model.name)
        path = settings.paths.models_dir / known.file if known else Path(model.file)
        if not path.exists():
            fetch = f" (fetch it with `assistant models fetch {model.name}`)" if known else ""
            return f"the model file {path} of {model.name} is missing{fetch}"
        now = ModelStore(settings.paths.models_dir).file_hash(path)
    if now != model.sha256:
        return f"the model file of {model.name} changed: SHA-256 {model.sha256} then, {now} now"
    return ""


def _document_changes(index_dir: Path, record: ProvenanceRecord) -> list[str]:
    """Source documents changed or removed in the current index since the answer."""
    build = current_build(index_dir)
    if build is None:
        return ["there is no current index to compare the source documents with"]
    try:
        current = json.loads((build / "manifest.json").read_text())["documents"]
    except (OSError, ValueError, KeyError):
        return ["the current index's manifest cannot be read"]
    changes = []
    for doc_id, then in record.documents.items():
        now = current.get(doc_id)
        label = f"{doc_id} ({then.title}, {then.date or 'no date'})"
        if now is None:
            changes.append(f"{label} has been removed from the index since")
        elif now["sha256"] != then.sha256:
            changes.append(
                f"{label} has changed since: SHA-256 {then.sha256[:16]}… then, "
                f"{now['sha256'][:16]}… now ({now['title']}, {now['date']})"
            )
    return changes


def _differences(record: ProvenanceRecord, answer: Answer) -> tuple[str, ...]:
    new = ProvenanceRecord.from_json(answer.provenance)
    differences = []
    if new.answer != record.answer:
        differences.append(f"the answer differs.\n  then: {record.answer}\n  now:  {new.answer}")
    if new.declined != record.declined:
        differences.append(f"declined then: {record.declined}, now: {new.declined}")
    if new.cited != record.cited:
        differences.append(f"cited passages then {record.cited}, now {new.cited}")
    then_passages = [(p.chunk_id, p.sha256) for p in record.passages]
    if [(p.chunk_id, p.sha256) for p in new.passages] != then_passages:
        differences.append(
            "the passages given to the model differ: "
            f"then {[c for c, _ in then_passages]}, "
            f"now {[p.chunk_id for p in new.passages]}"
        )
    if new.prompt.messages_sha256 != record.prompt.messages_sha256:
        differences.append("the prompt given to the model differs")
    return tuple(differences)
