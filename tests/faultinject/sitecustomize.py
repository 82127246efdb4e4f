"""Kill this process with SIGKILL at a chosen point of an index build (tests only).

Put this folder on PYTHONPATH and set ASSISTANT_TEST_KILL_AT to one of:
    read:N     after the indexer has read N documents
    embed      after the first batch of passages has been embedded
    staging    while the new build is being written aside (before its manifest)
    renamed    after the new build is in place, before CURRENT names it
    current    with CURRENT's replacement written but not yet renamed over it
    prune      after CURRENT names the new build, before old builds are pruned
Nothing is faked: the real indexer runs until the point, then dies as from `kill -9`.
"""

from __future__ import annotations

import os
import signal

_POINT = os.environ.get("ASSISTANT_TEST_KILL_AT", "")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _install() -> None:
    import assistant.ingest.indexing as indexing
    import assistant.ingest.store as store

    if _POINT.startswith("read:"):
        limit, seen = int(_POINT.split(":")[1]), [0]
        load = indexing.load_document

        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            document = load(*args, **kwargs)
            seen[0] += 1
            if seen[0] >= limit:
                _die()
            return document

        indexing.load_document = counted
    elif _POINT == "embed":
        from assistant.ingest.embedding import MiniLMEmbedder

        embed = MiniLMEmbedder.embed

        def first_batch_then_die(self, texts):  # type: ignore[no-untyped-def]
            embed(self, texts[: self.batch_size])
            _die()

        MiniLMEmbedder.embed = first_batch_then_die  # type: ignore[method-assign]
    elif _POINT in ("staging", "renamed", "current"):
        write_text = store._write_text

        def dying_write(path, text):  # type: ignore[no-untyped-def]
            if _POINT == "staging" and path.parent.name.startswith(".staging-"):
                _die()
            if _POINT == "renamed" and path.name == "CURRENT":
                _die()
            if _POINT == "current" and path.name == "CURRENT":
                temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                temporary.write_text(text)
                _die()
            write_text(path, text)

        store._write_text = dying_write
    elif _POINT == "prune":
        store._prune = lambda builds, keep: _die()


if _POINT:
    _install()
