"""Nothing lost: the indexer killed mid-build, a full or read-only disk, a corpus changing
under the indexer. The faults are real: SIGKILL of a real `assistant index` process, a
small tmpfs that fills up, a read-only bind mount (in a private mount namespace)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import FakeEmbedder, FakeGenerator, make_settings

from assistant.answering.assistant import Assistant
from assistant.ingest.embedding import EMBEDDER_DIM, EMBEDDER_NAME
from assistant.ingest.indexing import Indexer
from assistant.ingest.store import current_build, load_index

FAULTS = Path(__file__).parent / "faultinject"


def _write_topics(folder: Path, numbers: range, version: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in numbers:
        (folder / f"topic-{i}.md").write_text(
            f"# Programme {i}\n\nThe budget of programme {i}{version} is {i * 1000 + 7} pounds "
            f"a year.\n\n## Staff\n\nProgramme {i} employs {i + 40} people in the region of "
            f"district {i}.\n",
            encoding="utf-8",
        )


def _env(base: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.update(
        {
            "ASSISTANT_PATHS__CORPUS_DIR": str(base / "corpus"),
            "ASSISTANT_PATHS__INDEX_DIR": str(base / "index"),
            "ASSISTANT_PATHS__DATA_DIR": str(base / "data"),
        }
    )
    env.update(extra)
    return env


def _index(base: Path, kill_at: str = "") -> subprocess.CompletedProcess[str]:
    env = _env(base)
    if kill_at:
        env["ASSISTANT_TEST_KILL_AT"] = kill_at
        env["PYTHONPATH"] = os.pathsep.join([str(FAULTS), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "assistant", "index"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus of six documents indexed by the real `assistant index`."""
    base = tmp_path_factory.mktemp("built")
    _write_topics(base / "corpus", range(1, 7))
    result = _index(base)
    assert result.returncode == 0, result.stderr
    return base


@pytest.fixture(scope="module")
def embedder():  # type: ignore[no-untyped-def]
    from assistant.ingest.embedding import MiniLMEmbedder

    return MiniLMEmbedder()


def _copy(built: Path, tmp_path: Path) -> Path:
    base = tmp_path / "site"
    shutil.copytree(built, base)
    return base


def _answers(base: Path, embedder: object, question: str) -> list[str]:
    """The documents of the passages given for `question` by the index now in use."""
    settings = make_settings(base)
    reply = FakeGenerator(["The budget is given in the passage [1]."])
    answer = Assistant(settings, embedder, reply).ask(question)  # type: ignore[arg-type]
    return [c.doc_id for c in answer.contexts]


def test_sigkill_at_every_stage_of_a_rebuild_loses_nothing(
    built: Path, tmp_path: Path, embedder: object
) -> None:
    base = _copy(built, tmp_path)
    before = load_index(base / "index", EMBEDDER_NAME, EMBEDDER_DIM).index_id
    _write_topics(base / "corpus", range(7, 13))  # six new documents
    _write_topics(base / "corpus", range(2, 3), version=" (revised)")  # one changed
    (base / "corpus" / "topic-3.md").unlink()  # one removed
    for point in ("read:3", "embed", "staging", "renamed", "current"):
        result = _index(base, kill_at=point)
        assert result.returncode == -signal.SIGKILL, (point, result.stderr[-2000:])
        still = load_index(base / "index", EMBEDDER_NAME, EMBEDDER_DIM)
        assert still.index_id == before, point
        assert _answers(base, embedder, "What is the budget of programme 3?")[0] == "topic-3"
    killed_after_switch = _index(base, kill_at="prune")
    assert killed_after_switch.returncode == -signal.SIGKILL
    new_id = load_index(base / "index", EMBEDDER_NAME, EMBEDDER_DIM).index_id
    assert new_id != before

    finished = _index(base)
    assert finished.returncode == 0, finished.stderr
    index = load_index(base / "index", EMBEDDER_NAME, EMBEDDER_DIM)
    assert index.index_id == new_id
    assert sorted(index.manifest.documents) == sorted(f"topic-{i}" for i in (1, 2, *range(4, 13)))
    assert "revised" in next(c.text for c in index.chunks if c.doc_id == "topic-2")
    assert _answers(base, embedder, "How many people does programme 11 employ?")[0] == "topic-11"
    leftovers = [p.name for p in (base / "index").rglob(".*") if p.name != ".lock"]
    assert leftovers == []


# ---------------------------------------------------------------- full and read-only disks

_CHECK = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from assistant.ingest.store import load_index
    index = load_index(Path(sys.argv[1]), "sentence-transformers/all-MiniLM-L6-v2", 384)
    print(json.dumps({"id": index.index_id, "documents": sorted(index.manifest.documents)}))
""")


def _in_private_mounts(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = ["unshare", "--mount", "--propagation", "private", "bash", "-c", script]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def _outcome(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stdout + result.stderr
    return dict(json.loads(lines[-1]))


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_full_disk_keeps_the_previous_index(built: Path, tmp_path: Path) -> None:
    base = _copy(built, tmp_path)
    before = json.loads((current_build(base / "index") / "manifest.json").read_text())  # type: ignore[operator]
    _write_topics(base / "corpus", range(7, 40))
    index, saved = base / "index", tmp_path / "saved"
    script = f"""
        set -e
        cp -a {index} {saved}
        mount -t tmpfs -o size=4m tmpfs {index}
        cp -a {saved}/. {index}/
        dd if=/dev/zero of={index}/filler bs=4k 2>/dev/null || true
        set +e
        {sys.executable} -m assistant index 2>{tmp_path}/stderr
        echo "rc=$?"
        {sys.executable} -c '{_CHECK}' {index}
        rm {index}/filler
        {sys.executable} -m assistant index 2>{tmp_path}/stderr-again
        {sys.executable} -c '{_CHECK}' {index}
    """
    result = _in_private_mounts(script, _env(base))
    stderr = (tmp_path / "stderr").read_text()
    assert "rc=1" in result.stdout, stderr
    assert "could not be written" in stderr and "No space left on device" in stderr, stderr
    assert "previous index is unchanged" in stderr and "Traceback" not in stderr
    outcomes = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert outcomes[0]["id"] == before["index_id"]  # the old build, whole, still loads
    assert len(outcomes[1]["documents"]) == 39  # space freed: the next run completes


@pytest.mark.skipif(os.geteuid() != 0, reason="a read-only bind mount needs root")
def test_a_read_only_index_folder_keeps_the_previous_index(built: Path, tmp_path: Path) -> None:
    base = _copy(built, tmp_path)
    before = load_index(base / "index", EMBEDDER_NAME, EMBEDDER_DIM).index_id
    _write_topics(base / "corpus", range(7, 9))
    index = base / "index"
    script = f"""
        mount --bind {index} {index} && mount -o remount,bind,ro {index} || exit 9
        {sys.executable} -m assistant index 2>{tmp_path}/stderr
        echo "rc=$?"
        {sys.executable} -c '{_CHECK}' {index}
    """
    result = _in_private_mounts(script, _env(base))
    stderr = (tmp_path / "stderr").read_text()
    assert "rc=1" in result.stdout, result.stdout + stderr
    assert "Read-only file system" in stderr and "Traceback" not in stderr, stderr
    assert _outcome(result)["id"] == before


# ---------------------------------------------------------------- a corpus changing mid-run


def test_files_removed_or_rewritten_while_indexing(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files change after the indexer listed and hashed them, before it reads them."""
    settings = make_settings(tmp_path)
    Indexer(settings, FakeEmbedder).update()
    import assistant.ingest.indexing as indexing

    hashed = indexing.file_sha256

    def hash_then_change(path: Path) -> str:
        digest = hashed(path)
        if path.name == "justice.md":
            path.write_text("# Justice\n\nThe Ministry now gives 9,000 employees AI tools.\n")
        if path.name == "weather.md":
            path.unlink()
        return digest

    monkeypatch.setattr(indexing, "file_sha256", hash_then_change)
    (corpus / "justice.md").write_text("# Justice\n\nThe Ministry gives 3,000 employees tools.\n")
    (corpus / "weather.md").write_text("# Weather\n\nSnow fell on Wednesday in the north.\n")
    report = Indexer(settings, FakeEmbedder).update()
    reason = "weather.md: cannot be read (No such file or directory)"
    assert report.failed == [(str(corpus / "weather.md"), reason)]
    monkeypatch.setattr(indexing, "file_sha256", hashed)
    _assert_reconciled(settings)


def test_a_file_rewritten_while_it_is_read(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file changes between the loader's hash and its reading: seen as changed next run."""
    settings = make_settings(tmp_path)
    Indexer(settings, FakeEmbedder).update()
    import assistant.ingest.documents as documents

    hashed = documents.file_sha256

    def change_then_hash(path: Path) -> str:
        if path.name == "justice.md":
            path.write_text("# Justice\n\nThe Ministry now gives 9,000 employees AI tools.\n")
        return hashed(path)

    monkeypatch.setattr(documents, "file_sha256", change_then_hash)
    (corpus / "justice.md").write_text("# Justice\n\nThe Ministry gives 3,000 employees tools.\n")
    Indexer(settings, FakeEmbedder).update()
    monkeypatch.setattr(documents, "file_sha256", hashed)
    _assert_reconciled(settings)


def _assert_reconciled(settings: object) -> None:
    """After one more run the index holds exactly what the folder holds."""
    Indexer(settings, FakeEmbedder).update()  # type: ignore[arg-type]
    paths = settings.paths  # type: ignore[attr-defined]
    index = load_index(paths.index_dir, FakeEmbedder.name, FakeEmbedder.dim)
    files = {p.stem: p for p in paths.corpus_dir.iterdir()}
    assert sorted(index.manifest.documents) == sorted(files)
    for doc_id, record in index.manifest.documents.items():
        assert record.sha256 == documents_sha(files[doc_id])
    assert "9,000" in " ".join(c.text for c in index.chunks if c.doc_id == "justice")
    assert Indexer(settings, FakeEmbedder).update().changed is False  # type: ignore[arg-type]


def documents_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_content_always_gets_the_same_build(tmp_path: Path, corpus: Path) -> None:
    """Incremental and full builds agree, so a run with nothing new writes nothing."""
    settings = make_settings(tmp_path)
    Indexer(settings, FakeEmbedder).update()
    (corpus / "aardvark.md").write_text("# Aardvarks\n\nAardvarks eat ants at night.\n")
    updated = Indexer(settings, FakeEmbedder).update()
    again = Indexer(settings, FakeEmbedder).update()
    rebuilt = Indexer(settings, FakeEmbedder).update(rebuild=True)
    assert updated.index_id == again.index_id == rebuilt.index_id
    assert not again.changed
    assert len(list((tmp_path / "index" / "builds").iterdir())) == 2
