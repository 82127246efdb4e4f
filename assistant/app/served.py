"""The command line asking an `assistant serve` already running on this machine.

A cold `assistant ask` loads the embedder, the index and the model before its first word;
a running `assistant serve` has them loaded. So `ask` first looks for one on this machine's
loopback at the configured port (`ui.port`), and asks it (`POST /api/ask`, streamed) when it
answers from the same index build with the same model and asks for no sign-in, saying so on
standard error. Otherwise, or with `--local`, the question is answered in the process as
before. The answer, its record in the audit log and the JSON contract are the same either
way: the served assistant writes the record, into the data folder both read.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

from ..answers import Answer
from ..errors import AssistantError
from ..generation.catalog import ModelStore
from ..settings import Settings

LOOKING_S = 0.5  # a server on loopback answers its health check in milliseconds


class ServedError(AssistantError):
    """The running server refused the question (its message says why)."""


def running_server(settings: Settings) -> str | None:
    """The URL of an `assistant serve` on 127.0.0.1 that answers as this process would:
    the same index build and model, and no accounts. None when there is none."""
    url = f"http://127.0.0.1:{settings.ui.port}"
    try:
        with urllib.request.urlopen(f"{url}/api/health", timeout=LOOKING_S) as reply:
            health = json.loads(reply.read())
    except (OSError, ValueError):
        return None
    if not isinstance(health, dict) or health.get("accounts") or not health.get("index"):
        return None
    current = settings.paths.index_dir / "CURRENT"
    try:
        index = current.read_text(encoding="utf-8").strip()
        model = ModelStore(settings.paths.models_dir).resolve(settings.generation.model)
    except (OSError, AssistantError):
        return None
    served = health.get("model") or {}
    if health["index"] != index or served.get("sha256") != model.sha256:
        return None
    return url


def ask_server(
    url: str, question: str, history: Sequence[tuple[str, str]] = (), documents: Sequence[str] = ()
) -> Iterator[str | Answer]:
    """Text pieces as the server checks them, then the `Answer` (from its JSON contract)."""
    body = {"question": question, "history": [list(t) for t in history], "stream": True}
    if documents:
        body["documents"] = list(documents)
    request = urllib.request.Request(
        f"{url}/api/ask",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
    )
    try:
        reply = urllib.request.urlopen(request)  # no timeout: a question may wait its turn
    except urllib.error.HTTPError as exc:
        raise ServedError(_error_text(exc.read())) from exc
    with reply:
        name, data = "", []
        for raw in reply:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif not line and name:
                value = json.loads("\n".join(data))
                if name == "text":
                    yield value
                elif name == "answer":
                    yield Answer.from_contract(value)
                elif name == "error":
                    raise ServedError(str(value.get("error", value)))
                name, data = "", []


def _error_text(body: bytes) -> str:
    try:
        data: Any = json.loads(body)
        return str(data.get("error", data))
    except ValueError:
        return body.decode("utf-8", errors="replace")[:500]
