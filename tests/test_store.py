"""The index on disk: versioned manifest checks, missing index, and crash safety."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FakeEmbedder, make_settings

from assistant.errors import IndexCorrupt, IndexMismatch, IndexNotFound, IndexWriteFailed
from assistant.ingest.indexing import Indexer
from assistant.ingest.store import FORMAT_VERSION, current_build, load_index, write_index

NAME, DIM = FakeEmbedder.name, FakeEmbedder.dim


@pytest.fixture
def built(tmp_path: Path, corpus: Path) -> Indexer:
    indexer = Indexer(make_settings(tmp_path), FakeEmbedder)
    indexer.update()
    return indexer


def test_load_round_trip(built: Indexer) -> None:
    index = load_index(built.index_dir, NAME, DIM)
    assert index.manifest.format == FORMAT_VERSION
    assert set(index.manifest.documents) == {"justice", "openness", "weather"}
    assert index.faiss_index.ntotal == len(index.chunks) == index.vectors().shape[0]
    assert index.vectors().shape[1] == DIM
    assert (built.index_dir / "CURRENT").read_text().strip() == index.index_id


def test_missing_index_raises_index_not_found(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="`assistant index`"):
        load_index(tmp_path / "nowhere", NAME, DIM)


def _edit_manifest(indexer: Indexer, **changes: object) -> None:
    build = current_build(indexer.index_dir)
    assert build is not None
    path = build / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"format": FORMAT_VERSION + 1}, f"format {FORMAT_VERSION + 1}"),
        ({"format": 0}, "format 0"),
        ({"embedder": {"name": "BAAI/bge-small-en", "dim": DIM}}, "BAAI/bge-small-en"),
        ({"embedder": {"name": NAME, "dim": 768}}, "768 dimensions"),
    ],
)
def test_mismatched_manifest_raises_index_mismatch(
    built: Indexer, changes: dict[str, object], named: str
) -> None:
    _edit_manifest(built, **changes)
    with pytest.raises(IndexMismatch) as caught:
        load_index(built.index_dir, NAME, DIM)
    assert "`assistant index --rebuild`" in str(caught.value)
    assert named in str(caught.value)


def test_loading_with_another_embedder_raises_index_mismatch(built: Indexer) -> None:
    with pytest.raises(IndexMismatch, match="assistant index --rebuild"):
        load_index(built.index_dir, "other/embedder", DIM)


@pytest.mark.parametrize("damage", ["manifest.json", "chunks.jsonl", "faiss.index"])
def test_damaged_files_raise_index_corrupt(built: Indexer, damage: str) -> None:
    build = current_build(built.index_dir)
    assert build is not None
    if damage == "chunks.jsonl":  # one chunk fewer than vectors
        lines = (build / damage).read_text().splitlines(keepends=True)
        (build / damage).write_text("".join(lines[:-1]))
    else:
        (build / damage).write_text("{ not what it should be")
    with pytest.raises(IndexCorrupt, match="assistant index --rebuild"):
        load_index(built.index_dir, NAME, DIM)


def _change_corpus(indexer: Indexer) -> None:
    (indexer.corpus_dir / "extra.md").write_text(
        "# Extra\n\nA new document about regional transport budgets for next year.\n"
    )


def _state(index_dir: Path) -> tuple[str, list[str]]:
    builds = sorted(p.name for p in (index_dir / "builds").iterdir())
    return (index_dir / "CURRENT").read_text(), builds


@pytest.mark.parametrize(
    "error", [OSError(28, "No space left on device"), RuntimeError("Error in faiss write")]
)
def test_crash_in_faiss_write_leaves_previous_build(
    built: Indexer, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    import faiss

    before = _state(built.index_dir)
    old_id = load_index(built.index_dir, NAME, DIM).index_id
    _change_corpus(built)

    def crash(*args: object) -> None:
        raise error

    monkeypatch.setattr(faiss, "write_index", crash)
    with pytest.raises(IndexWriteFailed, match="The previous index is unchanged"):
        built.update()
    assert _state(built.index_dir) == before  # no half-written build left behind
    assert load_index(built.index_dir, NAME, DIM).index_id == old_id


def test_crash_while_writing_the_manifest_leaves_previous_build(
    built: Indexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _state(built.index_dir)
    old = load_index(built.index_dir, NAME, DIM)
    _change_corpus(built)
    real_dumps = json.dumps

    def dumps(obj: object, **kwargs: object) -> str:
        if kwargs.get("indent") == 1:  # the manifest: after vectors and chunks are written
            raise OSError(5, "Input/output error")
        return real_dumps(obj, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(json, "dumps", dumps)
    with pytest.raises(IndexWriteFailed, match="Input/output error"):
        built.update()
    monkeypatch.setattr(json, "dumps", real_dumps)
    assert _state(built.index_dir) == before
    again = load_index(built.index_dir, NAME, DIM)
    assert again.index_id == old.index_id
    assert [c.chunk_id for c in again.chunks] == [c.chunk_id for c in old.chunks]
    report = built.update()  # the next run completes the change
    assert report.added == ["extra"]
    assert load_index(built.index_dir, NAME, DIM).index_id == report.index_id != old.index_id


def test_crash_before_current_is_switched_keeps_current(
    built: Indexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.ingest.store as store

    current = (built.index_dir / "CURRENT").read_text()
    _change_corpus(built)
    real_write = store._write_text

    def write_text(path: Path, text: str) -> None:
        if path.name == "CURRENT":
            raise OSError(28, "No space left on device")
        real_write(path, text)

    monkeypatch.setattr(store, "_write_text", write_text)
    with pytest.raises(IndexWriteFailed, match="No space left"):
        built.update()
    assert (built.index_dir / "CURRENT").read_text() == current
    assert load_index(built.index_dir, NAME, DIM).index_id == current.strip()


def test_write_is_idempotent_and_old_builds_are_pruned(built: Indexer, tmp_path: Path) -> None:
    index = load_index(built.index_dir, NAME, DIM)
    path = write_index(built.index_dir, index.manifest, index.chunks, index.vectors())
    assert path.name == index.index_id
    for n in range(7):  # seven more builds: only the last five stay
        (built.corpus_dir / "extra.md").write_text(f"# Extra {n}\n\nVersion {n} of a note.\n" * 3)
        built.update()
    builds = [p for p in (built.index_dir / "builds").iterdir() if p.is_dir()]
    assert len(builds) == 5
    assert current_build(built.index_dir) in builds


def test_a_new_header_beside_the_same_text_makes_a_new_build() -> None:
    from dataclasses import replace

    from assistant.ingest.chunking import Chunk
    from assistant.ingest.store import content_id

    chunk = Chunk("d#0", "d", "", "", None, 0, 10, "| Wind | 12% |")
    body = {"format": FORMAT_VERSION}
    assert content_id(body, [chunk]) == content_id(body, [replace(chunk)])
    # a table's header is read with its rows: another header is another index
    headed = replace(chunk, header="| Source | Share |\n| --- | --- |")
    assert content_id(body, [headed]) != content_id(body, [chunk])
