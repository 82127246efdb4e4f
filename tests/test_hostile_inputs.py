"""Hostile files through `assistant index` and the UI's upload: each refused or indexed
safely with a clear message, the process's peak memory bounded, nothing written outside
the corpus folder. Both run as real processes so their peak memory can be measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT
from hostile import EXPECTED, hostile_batch

from assistant.ingest.embedding import EMBEDDER_DIM, EMBEDDER_NAME
from assistant.ingest.store import load_index

MEMORY_LIMIT_MB = 1500  # the embedder and torch alone take about 600 MB


# Started from a small process: Linux counts into a child's peak memory the peak of the
# process it was forked from, and the test process may have held a model by now.
_MEASURED = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
open(sys.argv[1], "w").write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def _run(command: list[str], base: Path) -> tuple[int, str, str, float]:
    """Exit code, stdout, stderr and peak resident memory in MB of a child process."""
    env = {
        **os.environ,
        "ASSISTANT_PATHS__CORPUS_DIR": str(base / "corpus"),
        "ASSISTANT_PATHS__INDEX_DIR": str(base / "index"),
        "ASSISTANT_PATHS__DATA_DIR": str(base / "data"),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT / "tests"),
    }
    out, err, measured = base / "stdout", base / "stderr", base / "measured"
    with out.open("w") as stdout, err.open("w") as stderr:
        subprocess.run(
            [sys.executable, "-c", _MEASURED, str(measured), *command],
            env=env,
            stdout=stdout,
            stderr=stderr,
            cwd=base,
            check=False,
        )
    code, peak_kb = measured.read_text().split()
    return int(code), out.read_text(), err.read_text(), int(peak_kb) / 1024


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return hostile_batch(tmp_path_factory.mktemp("hostile") / "in")


def _check_index(base: Path) -> None:
    index = load_index(base / "index", EMBEDDER_NAME, EMBEDDER_DIM)
    indexed = sorted(
        d for d, (outcome, *_) in ((v[1], v) for v in EXPECTED.values()) if outcome == "indexed"
    )
    assert sorted(index.manifest.documents) == indexed
    text = " ".join(c.text for c in index.chunks)
    assert "road budget grows by 3 percent" in text
    for planted in ("SCRIPTPAYLOAD", "alert(", "onerror", "steal()", "javascript:", "\x00"):
        assert planted not in text
    assert "café tax" in text
    corpus = sorted(p.name for p in (base / "corpus").iterdir())
    assert corpus == sorted(
        ["dotdot.md", "hidden-name.md", "latin1.txt", "scripts.html", "énergie-日本語--gpj.md"]
    )
    assert {p.name for p in base.iterdir()} <= {
        "corpus",
        "data",
        "index",
        "measured",
        "models",  # the embedder's query graph (embedding_graph)
        "stderr",
        "stdout",
    }


def test_hostile_files_through_assistant_index(batch: list[Path], tmp_path: Path) -> None:
    code, _, stderr, peak_mb = _run(
        [sys.executable, "-m", "assistant", "index", *map(str, batch)], tmp_path
    )
    assert code == 0, stderr
    assert "Traceback" not in stderr
    for name, (outcome, said, _) in EXPECTED.items():
        if outcome == "refused":
            line = next(
                x for x in stderr.splitlines() if x.startswith("not indexed:") and f"/{name}:" in x
            )
            assert said in line, line
        else:
            assert f"added: {said}" in stderr
    assert "note: latin1.txt: not UTF-8; read as Windows-1252" in stderr
    _check_index(tmp_path)
    print(f"\nassistant index, hostile batch: peak memory {peak_mb:.0f} MB")
    assert peak_mb < MEMORY_LIMIT_MB


_UPLOAD = textwrap.dedent("""
    import json, sys
    from conftest import FakeEmbedder, FakeGenerator
    from assistant.app import ui
    from assistant.answering.assistant import Assistant
    from assistant.settings import Settings
    assistant = Assistant(Settings.load(), FakeEmbedder(), FakeGenerator())
    report, _, _ = ui.upload(assistant, sys.argv[1:])
    print(json.dumps(report))
""")


def test_hostile_files_through_the_ui_upload(batch: list[Path], tmp_path: Path) -> None:
    code, stdout, stderr, peak_mb = _run(
        [sys.executable, "-c", _UPLOAD, *map(str, batch)], tmp_path
    )
    assert code == 0, stderr
    report = json.loads(stdout.splitlines()[-1])
    for name, (outcome, _, said) in EXPECTED.items():
        if outcome == "refused":
            entry = next(x for x in report.split("\n\n") if f"Not added: {name}**" in x)
            assert said in entry, entry
    assert "**Added:** “Road budget”" in report or "“Road budget”" in report.split("\n\n")[0]
    _check_index(tmp_path)
    print(f"\nUI upload, hostile batch: peak memory {peak_mb:.0f} MB")
    assert peak_mb < MEMORY_LIMIT_MB
