"""The doctor: each line OK, or what is wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MODELS_DIR, FakeEmbedder, FakeGenerator, make_settings

from assistant.answering.assistant import Assistant
from assistant.app.cli import main
from assistant.generation.catalog import CATALOG
from assistant.ingest.embedding import force_offline
from assistant.settings import Settings
from assistant.trust.audit import AuditLog
from assistant.trust.doctor import Check, gguf_metadata, kv_cache_bytes, run_checks


def _by_name(settings: Settings) -> dict[str, Check]:
    force_offline()
    return {check.name: check for check in run_checks(settings)}


def test_a_healthy_installation_is_all_ok(tmp_path: Path, fake_assistant: Assistant) -> None:
    fake_assistant.ask("How many employees get AI tools?")
    checks = _by_name(fake_assistant.settings)
    assert list(checks) == [
        "versions",
        "model",
        "embedder",
        "index",
        "offline",
        "ui",
        "ocr",
        "audit",
        "memory",
        "disk",
    ]
    assert all(c.ok for c in checks.values()), [c for c in checks.values() if not c.ok]
    assert "SHA-256 matches the catalogue" in checks["model"].detail
    assert "3 documents" in checks["index"].detail and "matches" in checks["index"].detail
    assert "1 records, chain intact" in checks["audit"].detail
    assert checks["ocr"].detail.startswith("tesseract 5") and "eng" in checks["ocr"].detail


def test_problems_are_reported_with_their_fix(tmp_path: Path, fake_assistant: Assistant) -> None:
    corpus = fake_assistant.settings.paths.corpus_dir
    (corpus / "justice.md").write_text("# Justice\n\nChanged.\n")
    (corpus / "new.md").write_text("# New\n\nA new document.\n")
    fake_assistant.ask("How many employees get AI tools?")
    log = AuditLog.from_settings(fake_assistant.settings)
    log.path.write_bytes(log.path.read_bytes().replace(b"2,500", b"9,999"))
    settings = fake_assistant.settings.with_overrides(
        generation={"model": str(tmp_path / "gone.gguf")}, ui={"host": "0.0.0.0"}
    )
    checks = _by_name(settings)
    assert "not indexed: new.md; changed: justice.md" in checks["index"].detail
    assert "Run `assistant index`" in checks["index"].detail
    assert "No model file at" in checks["model"].detail and not checks["model"].ok
    assert "with no accounts" in checks["ui"].detail
    assert "was altered" in checks["audit"].detail and not checks["audit"].ok
    assert checks["memory"] == Check(
        "memory", False, "cannot be estimated without the model file (see model)"
    )


def test_missing_index_and_audit_off(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, audit={"enabled": False})
    checks = _by_name(settings)
    assert not checks["index"].ok and "`assistant index`" in checks["index"].detail
    assert not checks["audit"].ok and "enabled = true" in checks["audit"].detail


def test_a_missing_catalogue_model_names_the_fetch_command(tmp_path: Path) -> None:
    settings = make_settings(tmp_path).with_overrides(paths={"models_dir": tmp_path / "m"})
    check = _by_name(settings)["model"]
    assert not check.ok and "assistant models fetch qwen2.5-coder-1.5b" in check.detail


def test_the_embedder_line_says_whether_queries_have_their_graph(tmp_path: Path) -> None:
    settings = make_settings(tmp_path).with_overrides(paths={"models_dir": tmp_path / "m"})
    check = _by_name(settings)["embedder"]
    assert check.ok and "no query graph" in check.detail and "`assistant index`" in check.detail
    graph = tmp_path / "m" / "embedder"
    graph.mkdir(parents=True)
    (graph / "all-minilm-l6-v2.onnx").write_bytes(b"not a graph")
    (graph / "all-minilm-l6-v2.json").write_text('{"graph": "0", "weights": "0"}')
    assert "changed since it was made" in _by_name(settings)["embedder"].detail


def test_kv_cache_size_from_the_gguf_header() -> None:
    path = MODELS_DIR / CATALOG["qwen2.5-coder-1.5b"].file
    meta = gguf_metadata(
        path, ("block_count", "embedding_length", "attention.head_count", "attention.head_count_kv")
    )
    assert meta == {
        "block_count": 28,
        "embedding_length": 1536,
        "attention.head_count": 12,
        "attention.head_count_kv": 2,
    }
    # keys and values, 28 layers, 4096 tokens, 2 KV heads of 1536/12 = 128, 2 bytes each
    assert kv_cache_bytes(path, 4096) == 2 * 28 * 4096 * 2 * 128 * 2 == 117_440_512


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ValueError, match="not a GGUF file"):
        gguf_metadata(fake, ("block_count",))


def test_doctor_command_exit_code(tmp_path: Path, corpus: Path) -> None:
    env = {
        "ASSISTANT_PATHS__DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_PATHS__INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_PATHS__CORPUS_DIR": str(corpus),
        "ASSISTANT_PATHS__MODELS_DIR": str(MODELS_DIR),
    }
    missing = CliRunner().invoke(main, ["doctor"], env=env)
    assert missing.exit_code == 1 and "FIX  index" in missing.output
    assistant = Assistant(make_settings(tmp_path), FakeEmbedder(), FakeGenerator())
    assistant.index()
    healthy = CliRunner().invoke(main, ["doctor"], env=env)
    assert healthy.exit_code == 0, healthy.output
    assert healthy.output.count("OK ") == 10
