"""The watched corpus folder: real `watchfiles` on a real folder, real threads, the fake
embedder; and `assistant index --watch` as a real process stopped with Ctrl-C (SIGINT)
or killed mid-update (SIGKILL)."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, FakeEmbedder, FakeGenerator, make_settings

from assistant.answering.assistant import Assistant
from assistant.ingest.indexing import STILL_WRITTEN, IndexReport
from assistant.ingest.store import current_build, load_index
from assistant.ingest.watching import CorpusWatcher, describe

QUIET_S = 0.5  # shorter than the product's 1 s, so that each test takes a few seconds
FAKE_EMBEDDER = Path(__file__).parent / "fake_embedder"


@dataclass
class Watched:
    assistant: Assistant
    watcher: CorpusWatcher
    thread: threading.Thread | None = None
    reports: list[IndexReport] = field(default_factory=list)
    builds: list[dict[str, str]] = field(default_factory=list)  # each update's doc id -> text
    lines: list[str] = field(default_factory=list)

    @property
    def corpus(self) -> Path:
        return self.assistant.settings.paths.corpus_dir

    def text(self, doc_id: str) -> str | None:
        return self.builds[-1].get(doc_id) if self.builds else None


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


@contextmanager
def watching(assistant: Assistant) -> Iterator[Watched]:
    """The watcher in its thread, recording each update's report and what the index held."""

    def update(settling_s: float) -> IndexReport:
        report = assistant.index(settling_s=settling_s)
        index = assistant.retriever.index
        texts: dict[str, str] = {}
        for chunk in index.chunks:
            texts[chunk.doc_id] = texts.get(chunk.doc_id, "") + chunk.text
        watched.builds.append(texts)
        watched.reports.append(report)
        return report

    folder = assistant.settings.paths.corpus_dir
    watcher = CorpusWatcher(
        folder, update, say=lambda line: watched.lines.append(line), quiet_s=QUIET_S
    )
    watched = Watched(assistant, watcher)
    watched.thread = watcher.start()
    wait_until(watcher.ready.is_set)  # watched, and the catch-up update done
    try:
        yield watched
    finally:
        watcher.stop()
    assert watched.thread is not None and not watched.thread.is_alive()


@pytest.fixture
def watched(fake_assistant: Assistant) -> Iterator[Watched]:
    with watching(fake_assistant) as w:
        yield w


def quiet_for(watched: Watched, seconds: float = 3 * QUIET_S) -> int:
    """The updates run while nothing more changes for `seconds`."""
    before = len(watched.reports)
    time.sleep(seconds)
    return len(watched.reports) - before


# ---------------------------------------------------------------- the watcher


def test_a_file_dropped_in_is_searchable_within_seconds(watched: Watched) -> None:
    saved = time.monotonic()
    (watched.corpus / "harbour.md").write_text(
        "# Harbour\n\nThe harbour authority will dredge the northern channel in 2026.\n"
    )
    wait_until(lambda: watched.text("harbour"))
    seconds = time.monotonic() - saved
    hits = watched.assistant.retriever.search("When will the northern channel be dredged?")
    assert hits[0].chunk.doc_id == "harbour"
    assert seconds < QUIET_S + 3.0
    print(f"saved to indexed: {seconds:.2f} s (quiet period {QUIET_S} s)")
    assert watched.lines[-1].split(" ", 1)[1].startswith("added harbour (4 documents")


def test_fifty_files_copied_at_once_are_one_update(watched: Watched, tmp_path: Path) -> None:
    source = tmp_path / "incoming"
    source.mkdir()
    for n in range(50):
        (source / f"note-{n:02d}.md").write_text(f"# Note {n}\n\nBudget line {n} is agreed.\n")
    updates = len(watched.reports)
    for path in sorted(source.iterdir()):
        shutil.copy2(path, watched.corpus / path.name)
    wait_until(lambda: len(watched.builds[-1]) == 53)
    quiet_for(watched)
    assert len(watched.reports) - updates == 1
    assert len(watched.reports[-1].added) == 50
    assert "added note-00, note-01, note-02, note-03, note-04 and 45 more" in watched.lines[-1]


def test_a_changed_file_is_indexed_again(watched: Watched) -> None:
    (watched.corpus / "weather.md").write_text("# Weather\n\nSnow fell on Wednesday.\n")
    wait_until(lambda: "Snow fell" in (watched.text("weather") or ""))
    assert watched.reports[-1].updated == ["weather"]
    assert "changed weather" in watched.lines[-1]


def test_a_removed_file_leaves_the_index(watched: Watched) -> None:
    (watched.corpus / "weather.md").unlink()
    wait_until(lambda: watched.builds and "weather" not in watched.builds[-1])
    assert watched.reports[-1].removed == ["weather"]
    assert [r.doc_id for r in watched.assistant.documents()] == ["justice", "openness"]


def test_a_half_written_file_is_indexed_only_complete(watched: Watched) -> None:
    first = "# Harbour\n\nThe harbour authority will dredge the northern channel"
    rest = " in 2026, and the southern channel the year after.\n"
    with (watched.corpus / "harbour.md").open("w") as handle:
        handle.write(first)
        handle.flush()
        time.sleep(QUIET_S / 2)  # the writer pauses, as a slow copy does
        handle.write(rest)
    wait_until(lambda: watched.text("harbour"))
    assert quiet_for(watched) == 0
    held = [build["harbour"] for build in watched.builds if "harbour" in build]
    assert held and all("southern channel the year after" in text for text in held)


def test_a_file_written_without_pause_holds_back_no_other(fake_assistant: Assistant) -> None:
    """A log appended to every 0.1 s is never quiet: the other file waits `max_wait_s`."""
    corpus = fake_assistant.settings.paths.corpus_dir
    reports: list[IndexReport] = []

    def update(settling_s: float) -> IndexReport:
        reports.append(fake_assistant.index(settling_s=settling_s))
        return reports[-1]

    watcher = CorpusWatcher(corpus, update, quiet_s=QUIET_S, max_wait_s=1.5)
    watcher.start()
    try:
        wait_until(watcher.ready.is_set)
        with (corpus / "log.txt").open("w") as log:
            for n in range(40):
                log.write(f"Entry {n}: the pumping station reported normal levels.\n")
                log.flush()
                if n == 2:
                    (corpus / "harbour.md").write_text("# Harbour\n\nDredged in 2026.\n")
                if any("harbour" in r.added for r in reports):
                    break
                time.sleep(0.1)
        assert n < 30  # indexed while the log was still being written
    finally:
        watcher.stop()


def test_a_file_removed_while_it_is_indexed(
    watched: Watched, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted after the indexer listed it, before it was read: said, then dropped."""
    import assistant.ingest.indexing as indexing

    load = indexing.load_document

    def removed_first(path: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if path.name == "doomed.md":
            path.unlink()
        return load(path, *args, **kwargs)

    monkeypatch.setattr(indexing, "load_document", removed_first)
    (watched.corpus / "doomed.md").write_text("# Doomed\n\nThis note is deleted at once.\n")
    wait_until(lambda: any(r.failed for r in watched.reports))
    assert "not indexed doomed.md: doomed.md: cannot be read" in watched.lines[-1]
    (watched.corpus / "harbour.md").write_text("# Harbour\n\nThe channel is dredged.\n")
    wait_until(lambda: watched.text("harbour"))
    assert "doomed" not in watched.builds[-1]
    assert watched.thread is not None and watched.thread.is_alive()


def test_ignored_files_wake_no_update_and_metadata_does(watched: Watched) -> None:
    for name in ("~$justice.docx", ".justice.md.swp", "report.pdf.part", "report.crdownload"):
        (watched.corpus / name).write_bytes(b"partial")
    (watched.corpus / ".hidden.md").write_text("# Hidden\n\nNot a document.\n")
    (watched.corpus / "README.md").write_text("# About this folder\n")
    assert quiet_for(watched) == 0
    (watched.corpus / "metadata.toml").write_text(
        '["weather.md"]\ntitle = "Rainfall bulletin"\npublisher = "Met Office"\n'
    )
    wait_until(lambda: any(r.updated == ["weather"] for r in watched.reports))
    titles = {r.doc_id: r.title for r in watched.assistant.documents()}
    assert titles["weather"] == "Rainfall bulletin"


def test_a_failed_update_is_said_and_the_watcher_carries_on(watched: Watched) -> None:
    (watched.corpus / "metadata.toml").write_text('["weather.md"\ntitle = \n')  # half-saved
    wait_until(lambda: any("the index was not updated" in line for line in watched.lines))
    (watched.corpus / "metadata.toml").write_text('["weather.md"]\ntitle = "Rainfall"\n')
    wait_until(lambda: watched.reports and watched.reports[-1].updated == ["weather"])


def test_stopping_the_watcher_ends_its_thread(fake_assistant: Assistant) -> None:
    folder = fake_assistant.settings.paths.corpus_dir
    watcher = CorpusWatcher(folder, lambda settling_s: fake_assistant.index(settling_s=settling_s))
    thread = watcher.start()
    wait_until(watcher.ready.is_set)
    started = time.monotonic()
    watcher.stop()
    assert not thread.is_alive() and time.monotonic() - started < 1.0


def test_describe_says_each_failure_once() -> None:
    report = IndexReport(added=["a"], failed=[("/c/b.pdf", "b.pdf: the file is empty")])
    line = describe(report)
    assert "added a; not indexed b.pdf: b.pdf: the file is empty (1 documents" in line
    assert describe(IndexReport(failed=report.failed), set(report.failed)) == ""
    retried = IndexReport(retried=["/c/c.docx"])
    assert "still being written, retried: c.docx" in describe(retried)
    assert describe(retried, {("/c/c.docx", STILL_WRITTEN)}) == ""


# ---------------------------------------------------------------- assistant index --watch


class Process:
    """`assistant index --watch` with the fake embedder, its standard error read as it comes."""

    def __init__(self, env: dict[str, str], **extra: str) -> None:
        path = os.pathsep.join([str(FAKE_EMBEDDER), str(ROOT), os.environ.get("PYTHONPATH", "")])
        full = {**os.environ, **env, "PYTHONPATH": path, **extra}
        command = [sys.executable, "-m", "assistant", "index", "--watch"]
        # Ctrl-C as a terminal sends it: a test run may have left SIGINT ignored, and a
        # child that starts with it ignored never sees it
        self.popen = subprocess.Popen(
            command,
            env=full,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        pytest.fail(f"'{text}' not printed within {timeout} s; printed: {''.join(self.seen)}")

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
        code = self.popen.wait(timeout=10)
        time.sleep(0.1)  # the reader thread takes the last lines
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code


def test_index_watch_adds_a_new_file_and_stops_on_ctrl_c(
    corpus: Path, env: dict[str, str], tmp_path: Path
) -> None:
    process = Process(env)
    try:
        process.wait_for("Watching")
        saved = time.monotonic()
        (corpus / "harbour.md").write_text("# Harbour\n\nThe channel is dredged in 2026.\n")
        line = process.wait_for("added harbour")
        seconds = time.monotonic() - saved
    finally:
        code = process.stop()
    print(f"saved to printed by `assistant index --watch`: {seconds:.2f} s")
    assert code == 0
    printed = "".join(process.seen)
    assert "(4 documents" in line and "Stopped watching" in printed
    assert "Traceback" not in printed
    index = load_index(tmp_path / "index", FakeEmbedder.name, FakeEmbedder.dim)
    assert "harbour" in index.manifest.documents


def test_index_watch_killed_mid_update_keeps_the_previous_index(
    corpus: Path, env: dict[str, str], tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    Assistant(settings, FakeEmbedder(), FakeGenerator()).index()
    previous = current_build(settings.paths.index_dir)
    process = Process(env, ASSISTANT_TEST_KILL_AT="staging")
    try:
        process.wait_for("Watching")
        (corpus / "harbour.md").write_text("# Harbour\n\nThe channel is dredged in 2026.\n")
        code = process.popen.wait(timeout=10)
    finally:
        process.stop()
    assert code == -signal.SIGKILL  # killed while writing the new build aside
    assert current_build(settings.paths.index_dir) == previous
    assistant = Assistant(settings, FakeEmbedder(), FakeGenerator())
    hits = assistant.retriever.search("How many Ministry of Justice employees get AI tools?")
    assert hits[0].chunk.doc_id == "justice"  # the previous index keeps answering
    again = Process(env)
    try:
        again.wait_for("Watching")  # the first update, before watching, took the new file
    finally:
        assert again.stop() == 0
    assert "added: harbour" in "".join(again.seen)
    index = load_index(settings.paths.index_dir, FakeEmbedder.name, FakeEmbedder.dim)
    assert sorted(index.manifest.documents) == ["harbour", "justice", "openness", "weather"]
    assert not list((settings.paths.index_dir / "builds").glob(".staging-*"))
