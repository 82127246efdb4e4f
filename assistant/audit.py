"""The audit log: every answer's provenance record, hash-chained in an append-only JSONL file.

Each line is one record as canonical JSON (sorted keys, no spaces). Besides the provenance
(see `provenance.py`) a record carries `seq`, its position counted from 1; `prev`, the
`hash` of the record before it (64 zeros for the first); and `hash`, the SHA-256 of its own
canonical JSON without `hash`. Changing, removing or reordering a record breaks a link,
and `verify()` names the first record concerned. A head file beside the log
(`audit.jsonl.head`) holds the number of records and the hash of the last one, so records
cut off the end are missed too.

Writing, under an exclusive lock (`flock` on `audit.jsonl.lock`, plus a thread lock): the
record goes in with one `write()` and is fsynced, then the head is replaced atomically
and fsynced. A crash can leave at most an incomplete last line beyond the head (not a
record: the next append cuts it off) or one complete record the head does not count yet
(valid: the next append counts it). Neither is reported as tampering.

Not done: signing. Whoever can write the log can rewrite the whole chain and its head;
the head hash that `assistant audit verify` prints, copied somewhere else, catches that.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import AuditLogFailed, RecordNotFound
from .settings import Settings

GENESIS = "0" * 64
_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_REGISTRY_LOCK = threading.Lock()


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


@dataclass(frozen=True)
class Verification:
    records: int
    head_hash: str  # the hash of the last valid record, to copy elsewhere as an anchor
    problem: str = ""  # the first altered, removed or reordered record, in words
    notes: tuple[str, ...] = ()  # harmless findings (an interrupted write, for example)

    @property
    def ok(self) -> bool:
        return not self.problem


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")
        self.lock_path = path.with_name(path.name + ".lock")
        with _REGISTRY_LOCK:
            self._thread_lock = _THREAD_LOCKS.setdefault(path.resolve(), threading.Lock())

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditLog:
        return cls(settings.paths.data_dir / settings.audit.log_file)

    # ------------------------------------------------------------ writing

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Chain `record` to the log and write it durably; returns it with seq/prev/hash."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._locked(), self.path.open("a+b") as log:
                last = _recover_tail(log)
                head = self._read_head()
                count, prev = last or (0, GENESIS)
                if head and head[0] >= count:  # keep a gap visible if records were cut off
                    count, prev = head
                elif count:  # count a record a crash left uncounted, so at most one ever is
                    self._write_head(count, prev)
                chained = {**record, "seq": count + 1, "prev": prev}
                chained["hash"] = record_hash(chained)
                log.write(canonical(chained) + b"\n")
                log.flush()
                os.fsync(log.fileno())
                self._write_head(chained["seq"], chained["hash"])
        except OSError as exc:
            raise AuditLogFailed(
                f"The answer could not be recorded in the audit log {self.path} "
                f"({exc.strerror or exc}). Free space or fix the folder's permissions; "
                "answers are not given without their record while auditing is on."
            ) from exc
        return chained

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, self.lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_head(self) -> tuple[int, str] | None:
        try:
            data = json.loads(self.head_path.read_text())
            return int(data["records"]), str(data["hash"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_head(self, records: int, last_hash: str) -> None:
        temporary = self.head_path.with_name(f".{self.head_path.name}.{os.getpid()}.tmp")
        with temporary.open("w") as handle:
            handle.write(json.dumps({"records": records, "hash": last_hash}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.head_path)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------ reading

    def records(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open("rb") as log:
            for line in log:
                if line.endswith(b"\n"):
                    yield json.loads(line)

    def find(self, record_id: str) -> dict[str, Any]:
        needle = json.dumps(record_id).encode()
        if self.path.exists():
            with self.path.open("rb") as log:
                for line in log:
                    if needle in line:
                        try:
                            record = json.loads(line)
                        except ValueError:
                            continue
                        if record.get("id") == record_id:
                            return dict(record)
        raise RecordNotFound(
            f"No answer with id {record_id} in the audit log {self.path}. "
            'The id is printed with each answer (`assistant ask --json` shows it as "id").'
        )

    def verify(self) -> Verification:
        """Check every record's hash, every link of the chain and the head; report the
        first break."""
        entries: list[_Entry] = []
        torn = False
        if self.path.exists():
            with self.path.open("rb") as log:
                for number, line in enumerate(log, start=1):
                    if not line.endswith(b"\n"):
                        torn = True
                        break
                    entries.append(_Entry.parse(number, line))
        return _check_chain(entries, self._read_head(), torn)


@dataclass(frozen=True)
class _Entry:
    line: int
    seq: int  # -1 when the line is not a readable record
    id: str
    prev: str
    hash: str
    intact: bool  # the content still matches its hash

    @classmethod
    def parse(cls, number: int, line: bytes) -> _Entry:
        try:
            record = json.loads(line)
            own = str(record["hash"])
            return cls(number, int(record["seq"]), str(record["id"]), str(record["prev"]), own,
                       record_hash(record) == own)  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls(number, -1, "", "", "", False)


def _check_chain(entries: list[_Entry], head: tuple[int, str] | None, torn: bool) -> Verification:
    seqs = {entry.seq for entry in entries}
    prev = GENESIS
    for position, e in enumerate(entries, start=1):
        where = f"record {e.seq} (id {e.id}, line {e.line})"
        problem = ""
        if e.seq < 0:
            problem = f"line {e.line} is not a readable record: it was altered or damaged"
        elif not e.intact:
            problem = f"{where} was altered: its content no longer matches its hash"
        elif e.seq != position and position in seqs:
            problem = (
                f"{where} is out of order: record {position} was expected there "
                "(records were reordered)"
            )
        elif e.seq != position:
            missing = f"{position}" if e.seq == position + 1 else f"{position} to {e.seq - 1}"
            problem = f"record {missing} removed: {where} follows record {position - 1}"
        elif e.prev != prev:
            problem = f"record {e.seq - 1} was altered or replaced: {where} does not link to it"
        if problem:
            return Verification(position - 1, prev, problem)
        prev = e.hash
    return _check_head(entries, head, torn, prev)


def _check_head(
    entries: list[_Entry], head: tuple[int, str] | None, torn: bool, last: str
) -> Verification:
    count = len(entries)
    notes = []
    if torn:
        notes.append("an interrupted write left an incomplete line at the end; it is not a "
                     "record and the next answer's write removes it")  # fmt: skip
    if head is None:
        if count > 1:
            return Verification(count, last, "the head file is missing or unreadable: records "
                                "cut off the end could not be detected")  # fmt: skip
        return Verification(count, last, "", tuple(notes))
    head_count, head_hash = head
    if head_count > count:
        cut = "cut short or missing" if torn else "missing"
        return Verification(count, last, f"the log ends at record {count} but held "
                            f"{head_count}: records {count + 1} to {head_count} are {cut} "
                            "(the file was truncated)")  # fmt: skip
    expected = entries[head_count - 1].hash if head_count else GENESIS
    if head_hash != expected:
        return Verification(count, last, f"record {head_count} was altered or replaced: it "
                            "does not match the hash kept in the head file")  # fmt: skip
    if count > head_count + 1:
        return Verification(count, last, f"the head file counts {head_count} records but the "
                            f"log holds {count}: the head file was replaced")  # fmt: skip
    if count == head_count + 1:
        notes.append(f"record {count} was written but not yet counted in the head "
                     "(an interrupted write); it is complete and valid")  # fmt: skip
    return Verification(count, last, "", tuple(notes))


def _recover_tail(log: Any) -> tuple[int, str] | None:
    """Cut off an incomplete last line (a crash mid-write); return the last record's seq
    and hash, or None when there is none or it is unreadable (the head then says)."""
    size = log.seek(0, os.SEEK_END)
    data, pos = b"", size
    while pos > 0:
        step = min(1 << 16, pos)
        pos -= step
        log.seek(pos)
        data = log.read(step) + data
        end = data.rfind(b"\n")
        if end >= 0 and (pos == 0 or data.rfind(b"\n", 0, end) >= 0):
            break
    end = data.rfind(b"\n")
    if pos + end + 1 < size:  # an incomplete last line: not a record
        log.truncate(pos + end + 1)
        log.flush()
        os.fsync(log.fileno())
    if end < 0:
        return None
    try:
        last = json.loads(data[data.rfind(b"\n", 0, end) + 1 : end])
        return int(last["seq"]), str(last["hash"])
    except (ValueError, KeyError, TypeError):
        return None


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
    lines.append("Passages given to the model:")
    for p in record["passages"]:
        mark = "*" if p["n"] in record["cited"] else " "
        where = f", §{p['section']}" if p["section"] else ""
        where += f", page {p['page']}" if p.get("page") else ""
        lines.append(f" {mark}[{p['n']}] {p['doc_id']}{where}  chunk {p['chunk_id']}  "
                     f"text SHA-256 {p['sha256'][:16]}…  score {p['score']}")  # fmt: skip
        lines.append("      " + textwrap.shorten(" ".join(p["text"].split()), 160))
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
