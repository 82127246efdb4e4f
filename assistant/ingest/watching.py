"""Watching the corpus folder: files added, changed or removed are indexed within seconds.

`CorpusWatcher` follows the folder with `watchfiles` (inotify on Linux) and, once the
folder has been quiet for `quiet_s` (or a change has waited `max_wait_s`), runs one index
update for everything that changed meanwhile: a copy of fifty files is one update, not
fifty. It only decides when to update; the update itself is the caller's
(`Assistant.index`, so the indexer stays the one place that indexes and the assistant
reloads what it built). The command line runs it in the foreground
(`assistant index --watch`), the UI in a thread.

Changes the indexer would pass over (hidden files, editors' temporary files) wake no
update; `metadata.toml` does, since titles and dates come from it. A file still being
written when it is read is retried once the folder is quiet again. A failed update (a
full disk, a malformed `metadata.toml`) is reported and the watcher carries on.

Left out: folders other than the corpus folder, and telling apart a writer that has
finished from one that paused for longer than `quiet_s`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path

from .documents import METADATA_FILE
from .indexing import STILL_WRITTEN, IndexReport, is_ignored

QUIET_S = 1.0  # a copy of many files, or a slow save, ends before the update starts
MAX_WAIT_S = 30.0  # the longest a change waits for the folder to be quiet
TICK_MS = 200  # how often the watcher wakes with nothing seen, to check the quiet period
SHOWN_NAMES = 5  # names listed in an update's line; the rest are counted

Update = Callable[[float], IndexReport]  # runs one index update, given the settling time


class CorpusWatcher:
    """Runs `update` after each burst of changes in `folder`, and gives `say` one line
    for each update that changed something or failed."""

    def __init__(
        self,
        folder: Path,
        update: Update,
        say: Callable[[str], None] = lambda line: None,
        quiet_s: float = QUIET_S,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        self.folder = folder
        self.update = update
        self.say = say
        self.quiet_s = quiet_s
        self.max_wait_s = max_wait_s
        self.updates = 0  # index updates run so far
        self._said: set[tuple[str, str]] = set()  # (file, why) said once, not at every update
        self.ready = threading.Event()  # set once the folder is watched and caught up
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watches(self, path: Path) -> bool:
        """Whether a change to `path` can change the index."""
        try:
            relative = path.relative_to(self.folder)
        except ValueError:
            return False
        return relative == Path(METADATA_FILE) or not is_ignored(relative)

    def run(self, catch_up: bool = True) -> None:
        """Watch until `stop()` or Ctrl-C. `catch_up`: update once at the start, for files
        changed before the watching began."""
        import watchfiles

        self.folder.mkdir(parents=True, exist_ok=True)
        due: float | None = time.monotonic() if catch_up else None  # when to update
        first: float | None = None  # when the first change not yet indexed was seen
        for changes in watchfiles.watch(
            self.folder,
            watch_filter=None,  # filtered here, so that ignored changes still wake the loop
            step=50,
            rust_timeout=TICK_MS,
            yield_on_timeout=True,
            stop_event=self._stop,  # Ctrl-C (main thread only) raises KeyboardInterrupt
        ):
            now = time.monotonic()
            if any(self.watches(Path(path)) for _, path in changes):
                first = first or now
                # a burst goes on: wait for quiet, but not for ever (a file written to
                # without pause, a log, would otherwise hold back every other change)
                due = min(now + self.quiet_s, first + self.max_wait_s)
            if due is not None and now >= due and not self._stop.is_set():
                first, due = None, self._update_once()
            if not self.ready.is_set():  # watched from here on: say so once
                self.ready.set()
                self.say(f"Watching {self.folder}: files added, changed or removed are indexed.")

    def _update_once(self) -> float | None:
        """One update; when to update again unasked (files still being written)."""
        self.updates += 1
        try:
            # twice the quiet period: a file that fails to read is read once more before
            # it is reported, in case it was a half-written copy whose writer paused
            report = self.update(2 * self.quiet_s)
        except Exception as exc:  # said, and watching goes on: it outlives one bad update
            self.say(
                f"{time.strftime('%H:%M:%S')} the index was not updated: {exc} "
                "(the previous index is still in use; retried at the next change)"
            )
            return None
        line = describe(report, self._said)
        self._said = {*report.failed, *((path, STILL_WRITTEN) for path in report.retried)}
        if line:
            self.say(line)
        return time.monotonic() + self.quiet_s if report.retried else None

    def start(self) -> threading.Thread:
        """Watch in a background thread."""
        self._thread = threading.Thread(target=self.run, name="watch-corpus", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching; waits for an update under way to finish (up to `timeout`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def describe(report: IndexReport, said: Collection[tuple[str, str]] = ()) -> str:
    """One line for an update: what was added, changed, removed, not indexed and why, and
    what is retried; "" when there is nothing new to say. A (file, reason) in `said`,
    already told by an earlier update, is not repeated (reason STILL_WRITTEN: retried)."""
    parts = [
        f"{label} {_names(items)}"
        for label, items in (
            ("added", report.added),
            ("changed", report.updated),
            ("removed", report.removed),
        )
        if items
    ]
    parts += [
        f"not indexed {Path(path).name}: {reason}"
        for path, reason in report.failed
        if (path, reason) not in said
    ]
    retried = [Path(p).name for p in report.retried if (p, STILL_WRITTEN) not in said]
    if retried:
        parts.append(f"still being written, retried: {_names(retried)}")
    if not parts:
        return ""
    documents = len(report.added) + len(report.updated) + len(report.unchanged)
    return (
        f"{time.strftime('%H:%M:%S')} {'; '.join(parts)} "
        f"({documents} documents, {report.chunks} passages, {report.seconds:.1f} s)"
    )


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN_NAMES])
    more = len(items) - SHOWN_NAMES
    return f"{shown} and {more} more" if more > 0 else shown
