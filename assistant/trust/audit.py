"""The audit log: every answer's provenance record, hash-chained in an append-only JSONL file.

Each line is one record as canonical JSON (sorted keys, no spaces). Besides the provenance
(`records.ProvenanceRecord`) a record carries `seq`, its position counted from 1; `prev`, the
`hash` of the record before it (64 zeros for the first); and `hash`, the SHA-256 of its own
canonical JSON without `hash`. Changing, removing or reordering a record breaks a link,
and `verify()` names the first record concerned. A head file beside the log
(`audit.jsonl.head`) holds the number of records and the hash of the last one, so records
cut off the end are noticed too.

Writing, under an exclusive lock (`filelock.FileLock`, an `flock` on `audit.jsonl.lock`,
plus a thread lock): the record is appended as one line and fsynced, then the head is
replaced atomically and fsynced. A crash can leave at most an incomplete last line beyond
the head (not a record: the next append cuts it off) or one complete record the head does
not count yet (valid: the next append counts it). Neither is reported as tampering.

Not done: signing. Whoever can write the log can rewrite the whole chain and its head;
the head hash that `assistant audit verify` prints, copied somewhere else, catches that.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AuditLogFailed, RecordNotFound
from ..ingest.spaces import User, sees
from ..settings import Settings
from .records import ProvenanceRecord

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
        from filelock import FileLock  # imported here: only writing needs it

        with self._thread_lock, FileLock(self.lock_path):  # waits while another process writes
            yield

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

    def find(self, record_id: str, user: User | None = None) -> ProvenanceRecord:
        """The record of the answer `record_id`, read as its format says; for a `user`,
        only a record they may read (`readable`), else the same error as an unknown id."""
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
                            where = f"{self.path}, answer {record_id}"
                            found = ProvenanceRecord.from_json(record, where)
                            if readable(found, user):
                                return found
                            break  # ids are unique: another user's record is not found
        raise RecordNotFound(
            f"No answer with id {record_id} in the audit log {self.path}. "
            'The id is printed with each answer (`assistant ask --json` shows it as "id").'
        )

    def verify(self) -> Verification:
        """Check every record's hash, every link of the chain and the head; report the
        first break. Reads the log once, in constant memory."""
        head = self._read_head()
        count, last, at_head, torn = 0, GENESIS, GENESIS, False
        if self.path.exists():
            with self.path.open("rb") as log:
                for number, line in enumerate(log, start=1):
                    if not line.endswith(b"\n"):
                        torn = True
                        break
                    entry = _Entry.parse(number, line)
                    problem = _link_problem(entry, count + 1, last, self._appears_later)
                    if problem:
                        return Verification(count, last, problem)
                    count, last = count + 1, entry.hash
                    if head and count == head[0]:
                        at_head = last
        return _check_head(count, last, at_head, head, torn)

    def _appears_later(self, after_line: int, seq: int) -> bool:
        """Whether a record numbered `seq` comes after line `after_line` (it was moved)."""
        pattern = re.compile(rb'"seq":%d[,}]' % seq)  # keys are outside strings: unambiguous
        with self.path.open("rb") as log:
            for number, line in enumerate(log, start=1):
                if number > after_line and pattern.search(line):
                    return True
        return False


def readable(record: ProvenanceRecord, user: User | None) -> bool:
    """Whether `user` may read `record`: their own, any for an admin (or with no accounts),
    and one nobody asked (a brief's summary) when they see every document it quotes."""
    if user is None or user.is_admin or record.user == user.name:
        return True
    return record.user is None and all(sees(user, d) for d in record.documents)


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
            return cls(
                number,
                int(record["seq"]),
                str(record["id"]),
                str(record["prev"]),
                own,
                record_hash(record) == own,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls(number, -1, "", "", "", False)


def _link_problem(
    e: _Entry, position: int, prev: str, appears_later: Callable[[int, int], bool]
) -> str:
    """What is wrong with the record at `position` of the chain, or ""."""
    where = f"record {e.seq} (id {e.id}, line {e.line})"
    if e.seq < 0:
        return f"line {e.line} is not a readable record: it was altered or damaged"
    if not e.intact:
        return f"{where} was altered: its content no longer matches its hash"
    if e.seq != position and appears_later(e.line, position):
        return (
            f"{where} is out of order: record {position} was expected there (records "
            "were reordered)"
        )
    if e.seq != position:
        missing = f"{position}" if e.seq == position + 1 else f"{position} to {e.seq - 1}"
        return f"record {missing} removed: {where} follows record {position - 1}"
    if e.prev != prev:
        return f"record {e.seq - 1} was altered or replaced: {where} does not link to it"
    return ""


def _check_head(
    count: int, last: str, at_head: str, head: tuple[int, str] | None, torn: bool
) -> Verification:
    """The end of the chain against the head file: nothing cut off, nothing replaced."""
    notes = []
    if torn:
        notes.append(
            "an interrupted write left an incomplete line at the end; it is not a "
            "record and the next answer's write removes it"
        )
    if head is None:
        if count > 1:
            return Verification(
                count,
                last,
                "the head file is missing or unreadable: records "
                "cut off the end could not be detected",
            )
        return Verification(count, last, "", tuple(notes))
    head_count, head_hash = head
    if head_count > count:
        cut = "cut short or missing" if torn else "missing"
        return Verification(
            count,
            last,
            f"the log ends at record {count} but held "
            f"{head_count}: records {count + 1} to {head_count} are {cut} "
            "(the file was truncated)",
        )
    if head_hash != at_head:
        return Verification(
            count,
            last,
            f"record {head_count} was altered or replaced: it "
            "does not match the hash kept in the head file",
        )
    if count > head_count + 1:
        return Verification(
            count,
            last,
            f"the head file counts {head_count} records but the "
            f"log holds {count}: the head file was replaced",
        )
    if count == head_count + 1:
        notes.append(
            f"record {count} was written but not yet counted in the head "
            "(an interrupted write); it is complete and valid"
        )
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
