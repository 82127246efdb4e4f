"""Run a real `assistant` process with the fake embedder (tests only).

Put this folder on PYTHONPATH: the process embeds with `FakeEmbedder` from
tests/conftest.py instead of loading MiniLM, so `assistant index --watch` starts in a
second. With ASSISTANT_TEST_KILL_AT set, it also dies at that point of an index build,
as tests/faultinject does.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def _install() -> None:
    sys.path.insert(0, str(TESTS))
    from conftest import FakeEmbedder

    import assistant.ingest.embedding as embedding

    embedding.MiniLMEmbedder = lambda batch_size=32, **_: FakeEmbedder()  # type: ignore[assignment,misc]


_install()
if os.environ.get("ASSISTANT_TEST_KILL_AT"):
    runpy.run_path(str(TESTS / "faultinject" / "sitecustomize.py"))
