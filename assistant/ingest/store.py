"""The index on disk: FAISS vectors, the chunk store and a versioned manifest.

Layout under the index folder:

    CURRENT                  the id of the build in use (replaced atomically)
    builds/<id>/manifest.json
    builds/<id>/chunks.jsonl one chunk per line, in vector order
    builds/<id>/faiss.index  inner-product flat index of normalised vectors

A build is written in full to a temporary folder, fsynced, renamed into `builds/`, and
only then named in `CURRENT`; a crash at any point leaves the previous build in use. The
id is a hash of the build's content, so the same corpus and settings give the same id.
The last few builds are kept, so an older answer's index can still be found.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorrupt, IndexMismatch, IndexNotFound, IndexWriteFailed
from .chunking import Chunk

FORMAT_VERSION = 1
KEEP_BUILDS = 5


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    file: str
    sha256: str
    title: str
    publisher: str
    date: str
    kind: str
    chunks: int
    added: str


@dataclass(frozen=True)
class Manifest:
    format: int
    index_id: str
    created: str
    embedder: dict[str, Any]
    chunking: dict[str, Any]
    documents: dict[str, DocumentRecord]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["documents"] = {k: asdict(v) for k, v in self.documents.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        documents = {k: DocumentRecord(**v) for k, v in data["documents"].items()}
        return cls(**{**data, "documents": documents})


@dataclass
class StoredIndex:
    manifest: Manifest
    chunks: list[Chunk]
    faiss_index: Any  # faiss.Index

    @property
    def index_id(self) -> str:
        return self.manifest.index_id

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in their order (a loaded index never changes)."""
        return self._by_document.get(doc_id, [])

    @cached_property
    def _by_document(self) -> dict[str, list[Chunk]]:
        out: dict[str, list[Chunk]] = {}
        for chunk in self.chunks:
            out.setdefault(chunk.doc_id, []).append(chunk)
        return out

    def vectors(self) -> np.ndarray:
        if self.faiss_index.ntotal == 0:
            return np.zeros((0, self.manifest.embedder["dim"]), dtype=np.float32)
        return np.asarray(self.faiss_index.reconstruct_n(0, self.faiss_index.ntotal))


def content_id(manifest_body: dict[str, Any], chunks: list[Chunk]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(manifest_body, sort_keys=True).encode())
    for chunk in chunks:  # and what is read beside its text (a table's header)
        digest.update(chunk.chunk_id.encode() + b"\0" + chunk.sha256.encode())
        digest.update(b"\0" + chunk.header.encode() + b"\0")
    return digest.hexdigest()[:16]


def current_build(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.exists():
        return None
    build = index_dir / "builds" / pointer.read_text().strip()
    return build if build.is_dir() else None


def load_index(
    index_dir: Path, embedder_name: str, dim: int, build_id: str | None = None
) -> StoredIndex:
    """Load the current build (or a kept one by id), refusing another format or embedder."""
    import faiss

    build = current_build(index_dir) if build_id is None else index_dir / "builds" / build_id
    if build is not None and not build.is_dir():
        build = None
    if build is None:
        raise IndexNotFound(index_dir)
    try:
        manifest = Manifest.from_json(json.loads((build / "manifest.json").read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(
            f"The index in {index_dir} cannot be read ({exc}). "
            "Rebuild it with `assistant index --rebuild`."
        ) from exc
    if manifest.format != FORMAT_VERSION:
        raise IndexMismatch(
            f"The index in {index_dir} has format {manifest.format}; this version reads "
            f"format {FORMAT_VERSION}. Rebuild it with `assistant index --rebuild`."
        )
    if manifest.embedder.get("name") != embedder_name or manifest.embedder.get("dim") != dim:
        raise IndexMismatch(
            f"The index in {index_dir} was built with {manifest.embedder.get('name')} "
            f"({manifest.embedder.get('dim')} dimensions), not {embedder_name} ({dim}). "
            "Rebuild it with `assistant index --rebuild`."
        )
    try:
        with (build / "chunks.jsonl").open(encoding="utf-8") as handle:
            chunks = [Chunk(**json.loads(line)) for line in handle if line.strip()]
        faiss_index = faiss.read_index(str(build / "faiss.index"))
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise IndexCorrupt(
            f"The index in {index_dir} is damaged ({exc}). "
            "Rebuild it with `assistant index --rebuild`."
        ) from exc
    if faiss_index.ntotal != len(chunks):
        raise IndexCorrupt(
            f"The index in {index_dir} is damaged ({faiss_index.ntotal} vectors for "
            f"{len(chunks)} chunks). Rebuild it with `assistant index --rebuild`."
        )
    return StoredIndex(manifest, chunks, faiss_index)


def write_index(
    index_dir: Path, manifest: Manifest, chunks: list[Chunk], vectors: np.ndarray
) -> Path:
    """Write a build aside, then switch `CURRENT` to it in one atomic rename."""
    try:
        return _write_build(index_dir, manifest, chunks, vectors)
    except (OSError, RuntimeError) as exc:  # faiss reports a failed write as RuntimeError
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise IndexWriteFailed(
            f"The new index could not be written in {index_dir} ({reason.splitlines()[0]}). "
            "The previous index is unchanged and still in use: free space or fix the "
            "folder's permissions, then run `assistant index` again."
        ) from exc


def _write_build(
    index_dir: Path, manifest: Manifest, chunks: list[Chunk], vectors: np.ndarray
) -> Path:
    import faiss

    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    final = builds / manifest.index_id
    if not final.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=builds))
        try:
            flat = faiss.IndexFlatIP(int(manifest.embedder["dim"]))
            if len(vectors):
                flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
            faiss.write_index(flat, str(staging / "faiss.index"))
            with (staging / "chunks.jsonl").open("w", encoding="utf-8") as handle:
                for chunk in chunks:
                    handle.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
            _write_text(staging / "manifest.json", json.dumps(manifest.to_json(), indent=1))
            for name in ("faiss.index", "chunks.jsonl"):
                _fsync(staging / name)
            os.replace(staging, final)
            _fsync_dir(builds)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    _write_text(index_dir / "CURRENT", manifest.index_id + "\n")
    _prune(builds, keep=manifest.index_id)
    return final


def _write_text(path: Path, text: str) -> None:
    """Write beside, fsync, rename: readers see the old or the new file, never half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_leftovers(index_dir: Path) -> None:
    """Delete what a writer killed mid-build left behind (call with the indexer's lock)."""
    for stale in (index_dir / "builds").glob(".staging-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in index_dir.glob(".CURRENT.*.tmp"):
        stale.unlink(missing_ok=True)


def _prune(builds: Path, keep: str) -> None:
    remove_leftovers(builds.parent)
    done = sorted(
        (p for p in builds.iterdir() if p.is_dir() and p.name != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in done[KEEP_BUILDS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
