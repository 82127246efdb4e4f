"""Settings: defaults, then assistant.toml, then ASSISTANT_* variables, then explicit values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.settings import DEFAULT_MODEL, Settings, physical_cores


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ASSISTANT_CONFIG", str(tmp_path / "absent.toml"))


def test_defaults() -> None:
    settings = Settings.load()
    assert settings.generation.model == DEFAULT_MODEL
    assert settings.ui.host == "127.0.0.1"
    assert settings.chunking.chunk_tokens <= 256  # the embedder's limit
    assert settings.chunking.overlap_tokens < settings.chunking.chunk_tokens
    assert settings.paths.index_dir == Path("index")


@pytest.mark.parametrize(
    ("variable", "value", "section", "field", "expected"),
    [
        ("ASSISTANT_RETRIEVAL__TOP_K", "8", "retrieval", "top_k", 8),
        ("ASSISTANT_GENERATION__MODEL", "smollm2-135m", "generation", "model", "smollm2-135m"),
        ("ASSISTANT_UI__PORT", "9000", "ui", "port", 9000),
        ("ASSISTANT_PATHS__INDEX_DIR", "/srv/idx", "paths", "index_dir", Path("/srv/idx")),
    ],
)
def test_environment_overrides(
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    section: str,
    field: str,
    expected: object,
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(getattr(Settings.load(), section), field) == expected


def test_toml_file_then_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "assistant.toml"
    config.write_text("[retrieval]\ntop_k = 3\nrrf_k = 7\n\n[ui]\nport = 8100\n")
    monkeypatch.setenv("ASSISTANT_CONFIG", str(config))
    monkeypatch.setenv("ASSISTANT_RETRIEVAL__TOP_K", "5")
    settings = Settings.load()
    assert settings.retrieval.top_k == 5  # the variable wins over the file
    assert settings.retrieval.rrf_k == 7
    assert settings.ui.port == 8100
    explicit = Settings.load(retrieval={"top_k": 2})
    assert explicit.retrieval.top_k == 2  # explicit values win over both


def test_with_overrides_ignores_none_and_keeps_the_rest() -> None:
    settings = Settings.load(retrieval={"top_k": 4})
    changed = settings.with_overrides(generation={"model": None, "max_tokens": 100})
    assert changed.generation.model == DEFAULT_MODEL
    assert changed.generation.max_tokens == 100
    assert changed.retrieval.top_k == 4
    assert settings.generation.max_tokens != 100  # the original is untouched


def test_settings_are_frozen_and_validated() -> None:
    settings = Settings.load()
    with pytest.raises(ValidationError):
        settings.ui = settings.ui  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Settings.load(retrieval={"top_k": "many"})


@pytest.mark.parametrize(
    ("physical", "logical", "expected"),
    [
        (2, 2, 2),  # two cores, no hyperthreads (this kind of laptop)
        (2, 4, 2),  # two cores with two threads each
        (None, 4, 4),  # physical cores unknown: every logical one
        (None, None, 1),
    ],
)
def test_generation_threads_default_to_physical_cores(
    monkeypatch: pytest.MonkeyPatch, physical: int | None, logical: int | None, expected: int
) -> None:
    import psutil

    asked: list[bool] = []

    def cpu_count(logical: bool = True) -> int | None:
        asked.append(logical)
        return physical

    monkeypatch.setattr(psutil, "cpu_count", cpu_count)
    monkeypatch.setattr(os, "cpu_count", lambda: logical)
    assert physical_cores() == expected
    assert asked == [False]
    assert Settings.load().generation.n_threads == expected


def test_physical_cores_of_this_machine() -> None:
    assert 1 <= physical_cores() <= (os.cpu_count() or 1)
