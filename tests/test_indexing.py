"""Indexing: incremental updates, bad files among good ones, and adding user files."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import SMALL_CORPUS, FakeEmbedder, make_settings
from test_documents import make_pdf

from assistant.errors import Cancelled, IndexNotFound
from assistant.ingest.indexing import Indexer, IndexReport, sanitise_name
from assistant.ingest.store import load_index

NAME, DIM = FakeEmbedder.name, FakeEmbedder.dim


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def indexer(tmp_path: Path, corpus: Path, embedder: FakeEmbedder) -> Indexer:
    return Indexer(make_settings(tmp_path), lambda: embedder)


def chunk_texts(indexer: Indexer, doc_id: str) -> list[str]:
    index = load_index(indexer.index_dir, NAME, DIM)
    return [c.text for c in index.chunks if c.doc_id == doc_id]


def test_first_build_embeds_everything(indexer: Indexer, embedder: FakeEmbedder) -> None:
    report = indexer.update()
    assert sorted(report.added) == ["justice", "openness", "weather"]
    assert report.failed == [] and report.removed == [] and report.unchanged == []
    index = load_index(indexer.index_dir, NAME, DIM)
    assert report.chunks == len(index.chunks) == embedder.embedded == report.embedded_chunks
    assert report.index_id == index.index_id
    justice = [c for c in index.chunks if c.doc_id == "justice"]
    assert [c.section for c in justice] == ["Justice", "Probation"]
    # what is embedded carries the title and section path
    assert any(t.startswith("Justice — Justice › Probation\n") for t in embedder.calls[0])


def test_incremental_update(indexer: Indexer, embedder: FakeEmbedder) -> None:
    indexer.update()
    first_calls = embedder.embedded

    (indexer.corpus_dir / "openness.txt").write_text(
        "Open models let auditors inspect public AI systems in detail.\n"
    )
    report = indexer.update()
    assert report.updated == ["openness"]
    assert sorted(report.unchanged) == ["justice", "weather"]
    assert embedder.embedded - first_calls == report.embedded_chunks == 1  # only the change
    assert embedder.calls[-1] == [
        "Openness\nOpen models let auditors inspect public AI systems in detail."
    ]
    assert chunk_texts(indexer, "openness") == [
        "Open models let auditors inspect public AI systems in detail."
    ]

    (indexer.corpus_dir / "weather.md").unlink()
    calls = len(embedder.calls)
    report = indexer.update()
    assert report.removed == ["weather"]
    assert len(embedder.calls) == calls  # removing embeds nothing
    assert chunk_texts(indexer, "weather") == []
    assert set(load_index(indexer.index_dir, NAME, DIM).manifest.documents) == {
        "justice",
        "openness",
    }


def test_rerun_with_nothing_changed_writes_nothing(
    indexer: Indexer, embedder: FakeEmbedder
) -> None:
    indexer.update()
    calls = len(embedder.calls)
    pointer = indexer.index_dir / "CURRENT"
    stamp = pointer.stat().st_mtime_ns
    builds = sorted((indexer.index_dir / "builds").iterdir())
    started = time.perf_counter()
    report = indexer.update()
    elapsed = time.perf_counter() - started
    assert not report.changed
    assert sorted(report.unchanged) == ["justice", "openness", "weather"]
    assert report.embedded_chunks == 0 and len(embedder.calls) == calls
    assert pointer.stat().st_mtime_ns == stamp
    assert sorted((indexer.index_dir / "builds").iterdir()) == builds
    print(f"an up-to-date check took {elapsed:.2f} s")


def test_metadata_change_reindexes_that_document(indexer: Indexer, embedder: FakeEmbedder) -> None:
    indexer.update()
    (indexer.corpus_dir / "metadata.toml").write_text(
        '["weather.md"]\ntitle = "Rainfall bulletin"\npublisher = "Met desk"\n'
    )
    report = indexer.update()
    assert report.updated == ["weather"]
    index = load_index(indexer.index_dir, NAME, DIM)
    assert index.manifest.documents["weather"].title == "Rainfall bulletin"
    assert embedder.calls[-1][0].startswith("Rainfall bulletin — Weather\n")


def _bad_files(folder: Path) -> dict[str, str]:
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nnot a real pdf at all\n%%EOF")
    (folder / "empty.md").write_bytes(b"")
    (folder / "blob.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "slides.pptx").write_bytes(b"PK\x03\x04")
    return {
        "broken.pdf": "not a readable PDF",
        "empty.md": "the file is empty",
        "blob.txt": "looks like a binary file",
        "slides.pptx": "unsupported file type '.pptx'",
    }


def test_bad_files_are_reported_and_good_ones_indexed(
    indexer: Indexer, embedder: FakeEmbedder
) -> None:
    indexer.update()
    old = load_index(indexer.index_dir, NAME, DIM)
    expected = _bad_files(indexer.corpus_dir)
    (indexer.corpus_dir / "legacy.txt").write_bytes(
        "The café budget rose to 12,000 € for the whole district.\n".encode("cp1252")
    )
    report = indexer.update()
    failed = {Path(path).name: reason for path, reason in report.failed}
    assert set(failed) == set(expected)
    for name, reason in expected.items():
        assert reason in failed[name]
    assert report.added == ["legacy"]
    assert report.notes == ["legacy.txt: not UTF-8; read as Windows-1252"]
    assert sorted(report.unchanged) == ["justice", "openness", "weather"]
    assert report.removed == []
    assert embedder.calls[-1] == [
        "Legacy\nThe café budget rose to 12,000 € for the whole district."
    ]
    index = load_index(indexer.index_dir, NAME, DIM)
    assert set(index.manifest.documents) == {"justice", "openness", "weather", "legacy"}
    kept = {c.chunk_id: c for c in old.chunks}
    assert all(kept[c.chunk_id] == c for c in index.chunks if c.doc_id != "legacy")


def test_a_document_that_became_unreadable_is_reported_as_failed(indexer: Indexer) -> None:
    indexer.update()
    (indexer.corpus_dir / "openness.txt").write_bytes(b"\x00\x01\x02 binary now")
    report = indexer.update()
    assert [Path(p).name for p, _ in report.failed] == ["openness.txt"]
    assert report.removed == []  # reported once, as failed
    assert chunk_texts(indexer, "openness") == []


def test_same_stem_with_two_types_gets_two_documents(indexer: Indexer, tmp_path: Path) -> None:
    make_pdf(indexer.corpus_dir / "justice.pdf", [["Court budgets are published every spring."]])
    report = indexer.update()
    assert sorted(report.added) == ["justice", "justice.pdf", "openness", "weather"]
    index = load_index(indexer.index_dir, NAME, DIM)
    assert len({c.chunk_id for c in index.chunks}) == len(index.chunks)
    assert index.manifest.documents["justice.pdf"].kind == "pdf"


def test_rebuild_embeds_everything_again(indexer: Indexer, embedder: FakeEmbedder) -> None:
    first = indexer.update()
    report = indexer.update(rebuild=True)
    assert report.embedded_chunks == first.chunks
    assert report.index_id == first.index_id  # same corpus, same content id


def test_nothing_to_index_still_writes_an_empty_index(tmp_path: Path) -> None:
    indexer = Indexer(make_settings(tmp_path), FakeEmbedder)
    with pytest.raises(IndexNotFound):
        load_index(indexer.index_dir, NAME, DIM)
    report = indexer.update()
    assert report.chunks == 0
    assert load_index(indexer.index_dir, NAME, DIM).chunks == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("..\\..\\windows\\evil.txt", "evil.txt"),
        ("Rapport été 2025 (final).md", "Rapport-été-2025--final-.md"),
        ("政策文件.txt", "政策文件.txt"),
        (".hidden.md", "hidden.md"),
        ("...", "document"),
        ("a\x00b\nc.txt", "a-b-c.txt"),
    ],
)
def test_sanitise_name(name: str, expected: str) -> None:
    assert sanitise_name(name) == expected


def test_add_files_copies_with_safe_names_and_skips_duplicates(
    indexer: Indexer, tmp_path: Path, embedder: FakeEmbedder
) -> None:
    uploads = tmp_path / "uploads" / "sub"
    uploads.mkdir(parents=True)
    note = uploads / "Note été — budget.md"
    note.write_text("# Budget note\n\nThe district spends 3,000 euros on libraries each year.\n")
    same_content = uploads / "copy of note.md"
    same_content.write_bytes(note.read_bytes())
    existing = uploads / "weather.md"  # same content as a corpus file, other folder
    existing.write_text(SMALL_CORPUS["weather.md"])
    clash = uploads / "justice.md"  # same name as a corpus file, other content
    clash.write_text("# Other justice\n\nA different text about courts and their caseloads.\n")
    bad = uploads / "empty.txt"
    bad.write_bytes(b"")
    report = IndexReport()
    dotted = uploads / ".." / "sub" / note.name
    copied = indexer.add_files([dotted, same_content, existing, clash, bad], report)
    assert [p.name for p in copied] == ["Note-été---budget.md", "justice-2.md"]
    assert all(p.parent == indexer.corpus_dir for p in copied)
    assert copied[0].read_bytes() == note.read_bytes()
    assert [(Path(p).name, r) for p, r in report.failed] == [
        ("empty.txt", "empty.txt: the file is empty")
    ]
    assert indexer.add_files([note], IndexReport()) == []  # already there


def test_update_with_paths_adds_them_and_indexes(indexer: Indexer, tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "plan.md").write_text("# Plan\n\nThe plan funds 40 new rural bus routes in 2026.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    report = indexer.update([folder])
    assert "plan" in report.added
    assert [Path(p).name for p, _ in report.failed] == ["broken.pdf"]
    assert not (indexer.corpus_dir / "broken.pdf").exists()  # refused files are not copied
    assert chunk_texts(indexer, "plan") == ["The plan funds 40 new rural bus routes in 2026."]


# ---------------------------------------------------------------- files still being written


def growing_while_read(monkeypatch: pytest.MonkeyPatch, name: str, more: str) -> None:
    """The writer appends `more` to `name` while the indexer reads it."""
    import assistant.ingest.indexing as indexing

    load = indexing.load_document

    def read_then_grow(path: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        document = load(path, *args, **kwargs)
        if path.name == name and more not in path.read_text():
            with path.open("a") as handle:
                handle.write(more)
        return document

    monkeypatch.setattr(indexing, "load_document", read_then_grow)


def test_a_file_growing_while_it_is_read_is_left_for_the_next_update(
    indexer: Indexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexer.update()
    harbour = indexer.corpus_dir / "harbour.md"
    harbour.write_text("# Harbour\n\nThe harbour authority will dredge the channel")
    growing_while_read(monkeypatch, "harbour.md", " in 2026, and the river in 2027.\n")
    report = indexer.update()
    assert report.retried == [str(harbour)] and report.failed == [] and not report.changed
    assert chunk_texts(indexer, "harbour") == []  # never indexed half
    report = indexer.update()
    assert report.added == ["harbour"] and report.retried == []
    assert chunk_texts(indexer, "harbour") == [
        "The harbour authority will dredge the channel in 2026, and the river in 2027."
    ]


def test_a_file_rewritten_while_it_is_read_keeps_its_last_complete_version(
    indexer: Indexer, monkeypatch: pytest.MonkeyPatch
) -> None:
    indexer.update()
    weather = indexer.corpus_dir / "weather.md"
    weather.write_text("# Weather\n\nSnow fell on Wednesday")
    growing_while_read(monkeypatch, "weather.md", " in the southern districts.\n")
    report = indexer.update()
    assert report.retried == [str(weather)] and "weather" not in report.removed
    assert chunk_texts(indexer, "weather") == [
        "It rained on Tuesday in the northern districts of the city."
    ]
    assert indexer.update().updated == ["weather"]
    assert chunk_texts(indexer, "weather") == ["Snow fell on Wednesday in the southern districts."]


def test_a_half_copied_pdf_is_retried_while_fresh_then_reported(
    indexer: Indexer, tmp_path: Path
) -> None:
    whole = make_pdf(tmp_path / "whole.pdf", [["The port budget is 12 million pounds."]])
    half = indexer.corpus_dir / "port.pdf"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    report = indexer.update(settling_s=2.0)  # the watcher's update, just after the copy began
    assert report.retried == [str(half)] and report.failed == []
    assert indexer.update().failed[0][0] == str(half)  # `assistant index` says why at once
    old = time.time() - 60
    os.utime(half, (old, old))
    assert indexer.update(settling_s=2.0).failed[0][0] == str(half)  # not fresh: corrupt
    half.write_bytes(whole.read_bytes())
    assert indexer.update(settling_s=2.0).added == ["port"]


def test_hidden_and_temporary_files_are_passed_over(indexer: Indexer) -> None:
    corpus = indexer.corpus_dir
    for name in ("~$justice.docx", "report.pdf.part", "report.crdownload", "notes.md~", "x.tmp"):
        (corpus / name).write_bytes(b"partial")
    (corpus / ".justice.md.swp").write_bytes(b"swap")
    (corpus / ".git").mkdir()
    (corpus / ".git" / "description").write_text("Unnamed repository; edit this file.\n")
    report = indexer.update()
    assert sorted(report.added) == ["justice", "openness", "weather"] and report.failed == []


@pytest.mark.parametrize(
    "stage", ["reading memo.txt", "reading documents", "embedding passages", "writing the index"]
)
def test_an_upload_stopped_at_any_step_leaves_the_corpus_and_the_index_as_they_were(
    tmp_path: Path,
    corpus: Path,
    embedder: FakeEmbedder,
    stage: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant.ingest import documents

    Indexer(make_settings(tmp_path), lambda: embedder).update()
    pointer = tmp_path / "index" / "CURRENT"
    before = (pointer.read_text(), sorted(p.name for p in corpus.iterdir()))
    upload = tmp_path / "upload" / "memo.txt"
    upload.parent.mkdir()
    upload.write_text(f"A memo on the budget for digital services, stopped at {stage}.\n")
    seen: list[str] = []

    def progress(at: str, done: int, total: int) -> None:
        seen.append(at)
        if at == stage:
            raise Cancelled()

    read = documents._PARSERS[".txt"]

    def reading(path: Path, step: Any) -> Any:  # as OCR reports its pages
        if step is not None:
            step(f"reading {path.name}", 1, 1)
        return read(path, None)

    monkeypatch.setitem(documents._PARSERS, ".txt", reading)
    with pytest.raises(Cancelled):
        Indexer(make_settings(tmp_path), lambda: embedder, progress).update([upload])
    assert stage in seen
    assert (pointer.read_text(), sorted(p.name for p in corpus.iterdir())) == before
    report = Indexer(make_settings(tmp_path), lambda: embedder).update()
    assert not report.changed  # nothing of the stopped upload is picked up later


def test_an_upload_is_read_once_though_it_is_screened_before_it_is_copied(
    indexer: Indexer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.ingest import documents

    read = documents._PARSERS[".txt"]
    calls: list[str] = []

    def counting(path: Path, progress: Any) -> Any:
        calls.append(path.name)
        return read(path, None)

    monkeypatch.setitem(documents._PARSERS, ".txt", counting)
    upload = tmp_path / "memo-once.txt"
    upload.write_text("A memo read once, though screened and then indexed from its copy.\n")
    report = indexer.update([upload])
    assert "memo-once" in report.added
    assert calls.count("memo-once.txt") == 1
