"""Shared fakes and fixtures.

The fakes implement the real interfaces: `FakeEmbedder` gives deterministic unit
vectors from hashed words (so texts sharing words are close), and `FakeGenerator`
replies from a queue and records every prompt it was given.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant.answering.assistant import Assistant
from assistant.generation.llm import GenerationStats, Message
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "models"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _files_read_afresh() -> Iterator[None]:
    """Each test reads its files itself: the same bytes made by another test are not
    given from the reader's memory of recent files (documents._READ)."""
    from assistant.ingest import documents

    documents._READ.clear()
    yield


class FakeEmbedder:
    name = "sentence-transformers/all-MiniLM-L6-v2"  # the index accepts it as the real one
    dim = 384

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                slot = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim
                out[row, slot] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
        return out

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    @property
    def embedded(self) -> int:
        return sum(len(c) for c in self.calls)


class FakeGenerator:
    name = "fake-model"
    sha256 = "0" * 64

    def __init__(self, replies: Sequence[str] = (), n_ctx: int = 4096) -> None:
        self.replies = list(replies)
        self.prompts: list[list[Message]] = []
        self.n_ctx = n_ctx

    def enqueue(self, reply: str) -> None:
        self.replies.append(reply)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(
        self, messages: list[Message], max_tokens: int, stats: GenerationStats
    ) -> Iterator[str]:
        self.prompts.append(messages)
        reply = self.replies.pop(0) if self.replies else "The documents do not say."
        words = reply.split(" ")
        stats.prompt_tokens = sum(self.count_tokens(m["content"]) for m in messages)
        stats.completion_tokens = len(words)
        for i, word in enumerate(words):
            yield word if i == 0 else " " + word


def make_settings(tmp_path: Path, **sections: dict) -> Settings:
    base = {
        "paths": {
            "corpus_dir": tmp_path / "corpus",
            "index_dir": tmp_path / "index",
            "models_dir": MODELS_DIR,
            "data_dir": tmp_path / "data",
        }
    }
    for key, values in sections.items():
        base.setdefault(key, {}).update(values)
    return Settings.load(**base)


SMALL_CORPUS = {
    "justice.md": (
        "# Justice\n\nThe Ministry of Justice will give 2,500 employees access to AI tools.\n\n"
        "## Probation\n\nMore than 1,000 probation officers already use transcription tools.\n"
    ),
    "openness.txt": (
        "Open models let governments inspect and adapt AI systems. Red Hat argued that "
        "sovereignty needs the ability to switch providers.\n"
    ),
    "weather.md": "# Weather\n\nIt rained on Tuesday in the northern districts of the city.\n",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in SMALL_CORPUS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def fake_assistant(tmp_path: Path, corpus: Path) -> Assistant:
    """An assistant over the small corpus, indexed with the fake embedder."""
    assistant = Assistant(make_settings(tmp_path), FakeEmbedder(), FakeGenerator())
    assistant.index()
    return assistant


def real_settings(tmp: Path, corpus: Path = ROOT / "corpus", **generation: object) -> Settings:
    """Settings for the real default model (or `generation`'s) over `corpus`, with the
    index and data in `tmp`."""
    from assistant.settings import DEFAULT_MODEL

    return Settings.load(
        paths={
            "corpus_dir": corpus,
            "index_dir": tmp / "index",
            "models_dir": MODELS_DIR,
            "data_dir": tmp / "data",
        },
        generation={"model": DEFAULT_MODEL, "n_threads": 2, **generation},
    )


def real_model_path(name: str) -> Path:
    from assistant.generation.catalog import CATALOG

    path = MODELS_DIR / CATALOG[name].file
    if not path.exists():
        pytest.fail(f"{path} is missing: `make test` fetches it (assistant models fetch {name})")
    return path


@pytest.fixture
def replies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replies for the fake model; the CLI builds its Assistant with the fakes."""
    import assistant.app.cli as cli

    queue: list[str] = []

    def build(settings, progress=None):  # type: ignore[no-untyped-def]
        return Assistant(settings, FakeEmbedder(), FakeGenerator(queue), progress)

    monkeypatch.setattr(cli, "Assistant", build)
    return queue


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Settings for the CLI under `tmp_path`, none read from the working tree."""
    return {
        "ASSISTANT_CONFIG": str(tmp_path / "no-such.toml"),
        "ASSISTANT_PATHS__CORPUS_DIR": str(tmp_path / "corpus"),
        "ASSISTANT_PATHS__INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_PATHS__MODELS_DIR": str(tmp_path / "models"),
        "ASSISTANT_PATHS__DATA_DIR": str(tmp_path / "data"),
    }


# ---------------------------------------------------------------- a served assistant


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_env(work: Path, model: str, port: int, **more: str) -> dict[str, str]:
    """The environment of an `assistant` process over `work`'s own corpus, index and data
    (nothing read from the working tree), with the real models, on a loopback `port`;
    `more` adds or replaces variables."""
    return {
        **os.environ,
        "ASSISTANT_CONFIG": str(work / "none.toml"),
        "ASSISTANT_PATHS__CORPUS_DIR": str(work / "corpus"),
        "ASSISTANT_PATHS__INDEX_DIR": str(work / "index"),
        "ASSISTANT_PATHS__DATA_DIR": str(work / "data"),
        "ASSISTANT_PATHS__MODELS_DIR": str(MODELS_DIR),
        "ASSISTANT_GENERATION__MODEL": model,
        "ASSISTANT_UI__PORT": str(port),
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        **more,
    }


class Server:
    """`assistant serve` over its own copy of the corpus; `restart()` stops and starts it.
    `ready_s` bounds the wait for it to answer (a guard, not a measure: it loads the model)."""

    def __init__(self, work: Path, env: dict[str, str], port: int, ready_s: float = 240) -> None:
        self.work, self.env, self.ready_s = work, env, ready_s
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = (self.work / "ui.log").open("a")
        command = [sys.executable, "-m", "assistant", "ui"]
        self.process = subprocess.Popen(
            command, cwd=self.work, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + self.ready_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the UI exited: {(self.work / 'ui.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url, timeout=2)
                return
            except OSError:
                time.sleep(1)
        pytest.fail(f"the UI did not start: {(self.work / 'ui.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def client(fake_assistant: Assistant) -> Iterator[object]:
    """The HTTP API (/api and /v1) over the fake assistant, through FastAPI's test client."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from assistant.app.api import add_api

    app = FastAPI(docs_url=None, redoc_url=None)
    add_api(app, fake_assistant, fake_assistant.settings)
    yield TestClient(app)
