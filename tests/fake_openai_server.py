"""A small OpenAI-compatible chat server on loopback, for the remote generator's tests.

It streams the replies it is given as server-sent events (keep-alive comments, a role
chunk, one chunk per piece, a usage chunk when asked, then `[DONE]`), counts tokens at
llama_cpp.server's `/extras/tokenize/count` (one per word) when asked, and can refuse a
request with an HTTP status, send an error event mid-stream, or stall.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    pieces: list[str] = field(default_factory=lambda: ["The sky ", "is ", "blue."])
    usage: dict[str, int] | None = None  # sent in a last chunk, as vLLM does
    tokenizer: bool = True  # answer /extras/tokenize/count
    models: list[str] = field(default_factory=lambda: ["fake-model"])
    status: int = 200  # anything else: the chat request is refused with this status
    error_after: int | None = None  # send an error event after this many pieces
    stall_s: float = 0.0  # wait this long before the first piece
    requests: list[dict[str, Any]] = field(default_factory=list)  # chat bodies received
    headers: list[dict[str, str]] = field(default_factory=list)  # their headers, lower-cased


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers
    behaviour: Behaviour

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms waits

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _json(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        data: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
        return data

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/v1/models":
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "me"}
                for m in self.behaviour.models
            ]
            self._json(200, {"object": "list", "data": data})
        else:
            self._json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        if self.path == "/extras/tokenize/count" and self.behaviour.tokenizer:
            self._json(200, {"count": len(str(body.get("input", "")).split())})
        elif self.path == "/v1/chat/completions":
            self.behaviour.requests.append(body)
            self.behaviour.headers.append({k.lower(): v for k, v in self.headers.items()})
            if self.behaviour.status != 200:
                self._json(self.behaviour.status, {"error": {"message": "no such model"}})
            else:
                self._stream(body)
        else:
            self._json(404, {"detail": "Not Found"})

    def _stream(self, body: dict[str, Any]) -> None:
        b = self.behaviour
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._send(": keep-alive\n\n")
        self._send(_event(_chunk({"role": "assistant"})))
        time.sleep(b.stall_s)
        for n, piece in enumerate(b.pieces):
            if b.error_after is not None and n == b.error_after:
                self._send(_event({"error": {"message": "the model crashed"}}))
                break
            self._send(_event(_chunk({"content": piece})))
        else:
            self._send(_event(_chunk({}, finish="stop")))
            if b.usage and (body.get("stream_options") or {}).get("include_usage"):
                self._send(_event({**_chunk({}), "choices": [], "usage": b.usage}))
            self._send("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _send(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _event(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up


@contextmanager
def fake_server(behaviour: Behaviour | None = None) -> Iterator[tuple[str, Behaviour]]:
    """Yields the server's API root (http://127.0.0.1:PORT/v1) and its behaviour."""
    behaviour = behaviour or Behaviour()
    handler = type("Handler", (_Handler,), {"behaviour": behaviour})
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", behaviour
    finally:
        server.shutdown()
        server.server_close()
