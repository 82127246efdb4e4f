"""`assistant ask` with an `assistant serve` already running on this machine: it asks the
server (a real uvicorn on loopback, over the fake assistant) when that answers from the
same index and model and wants no sign-in, and says so; otherwise it answers itself."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder, FakeGenerator, free_port, make_settings

import assistant.app.cli as cli
from assistant.answering.assistant import Assistant
from assistant.app.served import running_server
from assistant.settings import Settings
from assistant.trust.accounts import Accounts

REPLY = "The Ministry of Justice will give 2,500 employees access to AI tools [1]."


class Served:
    def __init__(self, settings: Settings, generator: FakeGenerator, accounts: Accounts | None):
        import uvicorn
        from fastapi import FastAPI

        from assistant.app.api import add_api

        self.settings, self.generator = settings, generator
        self.assistant = Assistant(settings, FakeEmbedder(), generator)
        self.assistant.index()
        app = FastAPI()
        add_api(app, self.assistant, settings, accounts)
        config = uvicorn.Config(app, host="127.0.0.1", port=settings.ui.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    model = tmp_path / "models" / "tiny.gguf"  # any GGUF file: the CLI and server hash it
    model.parent.mkdir()
    model.write_bytes(b"GGUF" + bytes(64))
    return make_settings(
        tmp_path,
        paths={"models_dir": tmp_path / "models"},
        generation={"model": str(model)},
        ui={"port": free_port()},
    )


def environment(settings: Settings, tmp_path: Path) -> dict[str, str]:
    p = settings.paths
    return {
        "ASSISTANT_CONFIG": str(tmp_path / "no-such.toml"),
        "ASSISTANT_PATHS__CORPUS_DIR": str(p.corpus_dir),
        "ASSISTANT_PATHS__INDEX_DIR": str(p.index_dir),
        "ASSISTANT_PATHS__MODELS_DIR": str(p.models_dir),
        "ASSISTANT_PATHS__DATA_DIR": str(p.data_dir),
        "ASSISTANT_GENERATION__MODEL": settings.generation.model,
        "ASSISTANT_UI__PORT": str(settings.ui.port),
    }


def test_ask_is_answered_by_the_running_server_and_says_so(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_here(*args: object, **kwargs: object) -> Assistant:
        raise AssertionError("the command line loaded its own assistant")

    monkeypatch.setattr(cli, "Assistant", not_here)
    with Served(settings, FakeGenerator([REPLY, REPLY]), None) as served:
        env = environment(settings, tmp_path)
        question = "How many Ministry of Justice staff get AI tools?"
        result = CliRunner().invoke(cli.main, ["ask", question], env=env)
        assert result.exit_code == 0, result.output
        assert f"asked the assistant already running at http://127.0.0.1:{settings.ui.port}" in (
            result.stderr
        )
        assert "2,500 employees" in result.stdout
        assert "Sources:" in result.stdout and "[1] Justice" in result.stdout
        assert "assistant audit show" in result.stderr  # the server kept the record
        assert len(served.generator.prompts) == 1  # the server's model wrote it

        as_json = CliRunner().invoke(cli.main, ["ask", "--json", question], env=env)
        data = json.loads(as_json.stdout)
        assert data["answer"] == REPLY and data["citations"][0]["doc_id"] == "justice"


def test_a_server_over_another_index_or_with_accounts_is_not_asked(
    settings: Settings, tmp_path: Path
) -> None:
    assert running_server(settings) is None  # nothing listens on the port
    with Served(settings, FakeGenerator(), None):
        assert running_server(settings) == f"http://127.0.0.1:{settings.ui.port}"
        elsewhere = tmp_path / "other-index"
        elsewhere.mkdir()
        (elsewhere / "CURRENT").write_text("another-build\n")
        moved = settings.with_overrides(paths={"index_dir": elsewhere})
        assert running_server(moved) is None
        other_model = tmp_path / "models" / "other.gguf"
        other_model.write_bytes(b"GGUF" + bytes(65))
        other = settings.with_overrides(generation={"model": str(other_model)})
        assert running_server(other) is None
    accounts = Accounts.from_settings(settings)
    accounts.add("ada", "admin", "a long password")
    with Served(settings, FakeGenerator(), accounts):
        assert running_server(settings) is None  # it would want a sign-in
