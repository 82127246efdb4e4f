"""Indexing: bring the index in line with the corpus folder, embedding only what changed.

The corpus folder is the source of truth. A document whose file hash and citation
metadata are unchanged keeps its chunks and vectors from the current build; a changed one
is chunked and embedded again; one whose file is gone is dropped. Files that cannot be
read are reported with the reason and the rest are still indexed. `add_files` copies the
user's files into the corpus first, refusing (and not copying) those that cannot be read.

A file that changes while it is read (its size, time or inode differ before and after) is
still being written: it is left out of the update, its last complete version (if any) is
kept, and the next update reads it again; so is a file that fails to read within seconds
of being written, when the watcher asks (`settling_s`). Hidden files and the temporary
files of editors and browsers (`~$report.docx`, `.swp`, `.part`, `.crdownload`) are never
read. What is left out: knowing when a writer has finished; a writer that pauses long
enough between writes gets its partial file indexed, then replaced when the rest arrives.

One indexer runs at a time (a lock file in the index folder); the embedder is only
loaded when something needs embedding, so an up-to-date corpus is checked in well under
a second.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AssistantError, Cancelled, IndexCorrupt, IndexMismatch, IndexNotFound
from ..files import Progress, file_sha256
from ..settings import Settings
from .chunking import Chunk, Chunker, embedding_text
from .documents import (
    CLEANING_VERSION,
    METADATA_FILE,
    Document,
    is_supported,
    load_document,
    read_metadata,
)
from .embedding import Embedder
from .spaces import PRIVATE_DIR, User, owner_of, sees, visible
from .store import (
    FORMAT_VERSION,
    DocumentRecord,
    Manifest,
    StoredIndex,
    content_id,
    load_index,
    remove_leftovers,
    write_index,
)

IGNORED_NAMES = {METADATA_FILE, "README.md", "SOURCES.md", ".gitignore"}
# Files that editors, office suites and browsers write beside the real one while saving.
TEMPORARY_SUFFIXES = {".swp", ".swo", ".swx", ".tmp", ".temp", ".part", ".partial", ".crdownload"}
STILL_WRITTEN = "still being written"  # the outcome of a file that changed as it was read


def is_ignored(relative: Path) -> bool:
    """Whether the indexer passes over this file of the corpus (a path relative to it):
    hidden files and folders, the folder's own notes, and editors' temporary files."""
    name = relative.name
    return (
        any(part.startswith(".") for part in relative.parts)
        or name in IGNORED_NAMES
        or name.startswith("~")  # Word's lock file "~$report.docx", "~WRL0001.tmp"
        or name.endswith("~")  # backups: "notes.md~"
        or (name.startswith("#") and name.endswith("#"))  # Emacs autosave
        or relative.suffix.lower() in TEMPORARY_SUFFIXES
    )


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    retried: list[str] = field(default_factory=list)  # files still being written
    notes: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded_chunks: int = 0
    index_id: str = ""
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


class Indexer:
    def __init__(
        self,
        settings: Settings,
        embedder_factory: Callable[[], Embedder],
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self.progress = progress or (lambda stage, done, total: None)
        self._settling_s = 0.0

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self.progress("loading the embedder", 0, 1)
            self._embedder = self.embedder_factory()
        return self._embedder

    @property
    def corpus_dir(self) -> Path:
        return self.settings.paths.corpus_dir

    @property
    def index_dir(self) -> Path:
        return self.settings.paths.index_dir

    def corpus_files(self) -> list[Path]:
        if not self.corpus_dir.is_dir():
            return []
        return sorted(
            p
            for p in self.corpus_dir.rglob("*")
            if p.is_file() and not is_ignored(p.relative_to(self.corpus_dir))
        )

    def add_files(
        self, paths: list[Path], report: IndexReport, into: Path | None = None
    ) -> list[Path]:
        """Copy readable documents into the corpus (into the folder `into` within it, a
        private space); list the others with the reason. A file whose content the shared
        library or that space holds already is not copied again.
        Stopped (`Cancelled` from the progress callback), it takes back what it copied."""
        folder = into or self.corpus_dir
        folder.mkdir(parents=True, exist_ok=True)
        copied: list[Path] = []
        space = folder.relative_to(self.corpus_dir).as_posix()
        known = {
            file_sha256(p)
            for p in self.corpus_files()
            if owner_of(relative := p.relative_to(self.corpus_dir).as_posix()) is None
            or relative.startswith(space + "/")
        }
        try:
            for path in _expand(paths):
                try:
                    load_document(path, max_bytes=self._max_bytes, progress=self.progress)
                except AssistantError as exc:
                    report.failed.append((str(path), str(exc)))
                    continue
                sha = file_sha256(path)
                if sha in known:  # the same content is already in the corpus, by any name
                    continue
                target = self._free_name(path, folder)
                shutil.copy2(path, target)
                known.add(sha)
                copied.append(target)
        except Cancelled:
            _take_back(copied)
            raise
        return copied

    def update(
        self,
        paths: list[Path] | None = None,
        rebuild: bool = False,
        settling_s: float = 0.0,
        into: Path | None = None,
    ) -> IndexReport:
        """Bring the index in line with the corpus folder, after copying `paths` into it
        (into `into`, see `add_files`). `settling_s`: a file that fails
        to read and was written less than this long ago is taken as still being written
        (retried next time) rather than reported as failed; the watcher sets it."""
        from filelock import FileLock  # imported here: the lock is only needed to index

        started = time.perf_counter()
        self._settling_s = settling_s
        report = IndexReport()
        self.index_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(self.index_dir / ".lock"):  # waits while another indexer runs
            copied = self.add_files(paths, report, into) if paths else []
            try:
                previous = None if rebuild else self._previous()
                documents, chunks, vectors = self._reconcile(previous, report)
                manifest = self._manifest(documents, chunks, previous)
                report.index_id = manifest.index_id
                report.chunks = len(chunks)
                changed = previous is None or manifest.index_id != previous.index_id
                if changed:  # the last moment to stop: the index is switched at once
                    self.progress("writing the index", 0, 1)
            except Cancelled:  # the files this update added are taken back out
                _take_back(copied)
                raise
            if changed:
                write_index(self.index_dir, manifest, chunks, vectors)
            else:
                remove_leftovers(self.index_dir)  # of a build killed after the switch
        report.seconds = time.perf_counter() - started
        return report

    # ------------------------------------------------------------ internals

    @property
    def _max_bytes(self) -> int:
        return self.settings.documents.max_document_mb * 1024 * 1024

    def _previous(self) -> StoredIndex | None:
        try:
            from .embedding import EMBEDDER_DIM, EMBEDDER_NAME

            previous = load_index(self.index_dir, EMBEDDER_NAME, EMBEDDER_DIM)
        except (IndexNotFound, IndexMismatch, IndexCorrupt):
            return None  # nothing reusable: everything is embedded again
        if previous.manifest.chunking != self._chunking_settings():
            return None
        return previous

    def _reconcile(
        self, previous: StoredIndex | None, report: IndexReport
    ) -> tuple[dict[str, DocumentRecord], list[Chunk], np.ndarray]:
        """The documents, passages and vectors of the new build: those of unchanged files
        kept from `previous`, the others read, chunked and embedded now."""
        old_docs = previous.manifest.documents if previous else {}
        kept, fresh, failed = self._read_corpus(previous, report)
        documents = {doc_id: old_docs[doc_id] for doc_id in kept}
        chunks: list[Chunk] = []
        parts: list[np.ndarray] = []
        if previous is not None and kept:
            rows = [row for row, c in enumerate(previous.chunks) if c.doc_id in documents]
            chunks += [previous.chunks[row] for row in rows]
            parts.append(previous.vectors()[rows])
        for document, doc_chunks in fresh:
            documents[document.doc_id] = _record(document, len(doc_chunks), old_docs)
        new_chunks = [c for _, doc_chunks in fresh for c in doc_chunks]
        if new_chunks:
            self.progress("embedding passages", 0, len(new_chunks))
            titles = {d.doc_id: d.title for d, _ in fresh}
            texts = [embedding_text(c, titles[c.doc_id]) for c in new_chunks]
            report.embedded_chunks = len(texts)
            chunks.extend(new_chunks)
            parts.append(self.embedder.embed(texts))
        report.removed = sorted(set(old_docs) - set(documents) - failed)
        dim = self._dim()
        vectors = np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32)
        # One order whatever was reused: the same content always gets the same build id.
        order = sorted(range(len(chunks)), key=lambda row: chunks[row].doc_id)
        return documents, [chunks[row] for row in order], vectors[order]

    def _read_corpus(
        self, previous: StoredIndex | None, report: IndexReport
    ) -> tuple[list[str], list[tuple[Document, list[Chunk]]], set[str]]:
        """Each file of the corpus folder, in order: kept (unchanged since `previous`),
        read and chunked (new or changed), or failed; the report says which."""
        metadata = read_metadata(self.corpus_dir)
        old_docs = previous.manifest.documents if previous else {}
        kept: list[str] = []
        fresh: list[tuple[Document, list[Chunk]]] = []
        failed: set[str] = set()
        files = self.corpus_files()
        for number, path in enumerate(files, start=1):
            self.progress("reading documents", number, len(files))
            doc_id = self._doc_id(path, {*kept, *(d.doc_id for d, _ in fresh)})
            old = old_docs.get(doc_id)
            outcome = self._read_one(path, doc_id, metadata.get(path.name, {}), old, previous)
            if outcome is STILL_WRITTEN:
                report.retried.append(str(path))
                if old is not None and previous is not None:
                    kept.append(doc_id)  # its last complete version answers meanwhile
            elif isinstance(outcome, str):
                report.failed.append((str(path), outcome))
                failed.add(doc_id)
            elif outcome is None:
                kept.append(doc_id)
                report.unchanged.append(doc_id)
            else:
                report.notes.extend(outcome.notes)
                (report.updated if old else report.added).append(doc_id)
                fresh.append((outcome, self._chunker().chunks(outcome)))
        return kept, fresh, failed

    def _read_one(
        self,
        path: Path,
        doc_id: str,
        meta: dict[str, str],
        old: DocumentRecord | None,
        previous: StoredIndex | None,
    ) -> Document | str | None:
        """The file read as a document; None when it is unchanged since `previous` (same
        content and metadata: its passages and vectors are kept); STILL_WRITTEN; or why
        it failed."""
        try:
            before = _signature(path)
            sha = file_sha256(path)
        except OSError as exc:  # removed or unreadable since the folder was listed
            return f"cannot be read ({exc.strerror})"
        if old and previous is not None and old.sha256 == sha and _same_meta(old, meta):
            return None
        if not is_supported(path):
            return f"unsupported file type '{path.suffix}'"
        try:
            document = load_document(
                path, doc_id, meta, max_bytes=self._max_bytes, progress=self.progress
            )
        except AssistantError as exc:
            # A half-copied PDF or DOCX does not parse: fresh from its writer, it is retried.
            fresh = path.exists() and time.time() - before[1] / 1e9 < self._settling_s
            return STILL_WRITTEN if fresh or _changed_since(path, before) else str(exc)
        # Text read while it grew would be indexed half: the next update reads it whole.
        return STILL_WRITTEN if _changed_since(path, before) else document

    def _chunker(self) -> Chunker:
        c = self.settings.chunking
        return Chunker(
            self.embedder.count_tokens, c.chunk_tokens, c.overlap_tokens, c.min_chunk_chars
        )

    def _chunking_settings(self) -> dict[str, int]:
        return {**self.settings.chunking.model_dump(), "cleaning_version": CLEANING_VERSION}

    def _dim(self) -> int:
        from .embedding import EMBEDDER_DIM

        return EMBEDDER_DIM

    def _manifest(
        self,
        documents: dict[str, DocumentRecord],
        chunks: list[Chunk],
        previous: StoredIndex | None,
    ) -> Manifest:
        from .embedding import EMBEDDER_DIM, EMBEDDER_NAME

        body: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "embedder": {"name": EMBEDDER_NAME, "dim": EMBEDDER_DIM},
            "chunking": self._chunking_settings(),
            "documents": {  # citation metadata too: a new title alone makes a new build
                k: [
                    documents[k].sha256,
                    documents[k].title,
                    documents[k].publisher,
                    documents[k].date,
                ]
                for k in sorted(documents)
            },
        }
        index_id = content_id(body, chunks)
        created = (
            previous.manifest.created
            if previous and previous.index_id == index_id
            else time.strftime("%Y-%m-%dT%H:%M:%S%z")
        )
        return Manifest(
            format=FORMAT_VERSION,
            index_id=index_id,
            created=created,
            embedder=body["embedder"],
            chunking=body["chunking"],
            documents=dict(sorted(documents.items())),
        )

    def _doc_id(self, path: Path, taken: Collection[str]) -> str:
        relative = path.relative_to(self.corpus_dir).with_suffix("")
        doc_id = relative.as_posix()
        return doc_id if doc_id not in taken else relative.as_posix() + path.suffix

    def _free_name(self, path: Path, folder: Path) -> Path:
        name = sanitise_name(path.name)
        target = folder / name
        n = 1
        while target.exists():
            stem, suffix = Path(name).stem, Path(name).suffix
            n += 1
            target = folder / f"{stem}-{n}{suffix}"
        return target


def sanitise_name(name: str) -> str:
    """A file name safe to create in the corpus: no folders, no dot files, no controls."""
    base = Path(name.replace("\\", "/")).name
    cleaned = "".join(c if (c.isalnum() or c in "-_.") else "-" for c in base)
    cleaned = cleaned.lstrip(".-") or "document"
    return cleaned[:120]


def _expand(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():  # a folder's hidden and temporary files are not documents
            files = (p for p in path.rglob("*") if p.is_file())
            yield from sorted(p for p in files if not is_ignored(p.relative_to(path)))
        else:
            yield path


def _signature(path: Path) -> tuple[int, int, int]:
    """What changes when a file is written to or replaced: size, modification time, inode."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def _changed_since(path: Path, before: tuple[int, int, int]) -> bool:
    """Whether the file was written to or replaced since `before` (not removed: the next
    update sees that as a removal)."""
    try:
        return _signature(path) != before
    except OSError:
        return False


def _same_meta(old: DocumentRecord, meta: dict[str, str]) -> bool:
    fields = ("title", "publisher", "date")
    return all(meta.get(k, getattr(old, k)) == getattr(old, k) for k in fields)


def _record(document: Document, n_chunks: int, old: dict[str, DocumentRecord]) -> DocumentRecord:
    previous = old.get(document.doc_id)
    return DocumentRecord(
        doc_id=document.doc_id,
        file=Path(document.path).name,
        sha256=document.sha256,
        title=document.title,
        publisher=document.publisher,
        date=document.date,
        kind=document.kind,
        chunks=n_chunks,
        added=previous.added if previous else time.strftime("%Y-%m-%d %H:%M"),
    )


def seen_by(report: IndexReport, user: User | None, corpus_dir: Path) -> IndexReport:
    """The report as `user` may read it: an update of the whole corpus also names what it
    found in other users' spaces, which is none of theirs."""
    if user is None:
        return report

    def shown(file: str) -> bool:
        path = Path(file)
        try:
            relative = path.resolve().relative_to(corpus_dir.resolve()).as_posix()
        except ValueError:
            return True  # an upload that was never copied in: the user's own
        return sees(user, relative)

    hidden = [
        p.name
        for p in (corpus_dir / PRIVATE_DIR).glob("*/**/*")
        if p.is_file() and not sees(user, p.relative_to(corpus_dir).as_posix())
    ]
    return replace(
        report,
        added=visible(user, report.added),
        updated=visible(user, report.updated),
        unchanged=visible(user, report.unchanged),
        removed=visible(user, report.removed),
        failed=[(f, why) for f, why in report.failed if shown(f)],
        retried=[f for f in report.retried if shown(f)],
        notes=[n for n in report.notes if not any(name in n for name in hidden)],
    )


def _take_back(copied: list[Path]) -> None:
    """Remove the files an update copied into the corpus folder, so that a stopped
    upload leaves nothing for the next update (or the watcher) to index."""
    for path in copied:
        path.unlink(missing_ok=True)
