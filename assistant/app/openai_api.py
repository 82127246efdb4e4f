"""OpenAI-compatible routes beside the HTTP API, for tools written for OpenAI's API (its
`openai` client, chat front ends):

    GET   /v1/models              the assistant's model, with its SHA-256
    GET   /v1/models/{model}      the same entry, by its id
    POST  /v1/chat/completions    the checked answer to the last user message

A chat completion is the assistant's answer, as `POST /api/ask` gives it: the last message
with role "user" is the question, and the user and assistant messages before it, taken in
pairs, are the conversation so far. System messages are ignored: the assistant's own
grounded prompt is used. `model` may name anything (there is one model); `temperature`,
`top_p`, `n`, `stop`, `tools` and other fields are accepted and ignored, so that every
answer is made with the configured settings its provenance record names. `max_tokens`
(or `max_completion_tokens`) lowers the draft's length limit, never raises it. An extra
field, `documents` (ids or titles), limits the search as in `/api/ask`.

The message's content is the answer's text with its [n] markers, then a references block
naming each cited passage ("References:\n[1] Title (Publisher, date), §section, page 4").
The completion also carries the citations as data (`citations`, as in the answer contract),
`answer_id` (its provenance record: `GET /api/answers/{id}`) and `declined`.

Streamed (`"stream": true`), the checked text comes as `chat.completion.chunk` events as
`Assistant.stream` gives it, then a chunk with the references block, the citations and
`finish_reason: "stop"`, then `data: [DONE]`. The assistant may decide, once the whole
draft is checked, that text already sent does not answer the question, and the final
answer then words it differently ("The documents do not give an amount. The closest they
come: ..."). Sent text cannot be taken back, so the stream goes on with what it lacks: the
rest of the answer when it continues what was sent, else a blank line and the whole final
answer. The streamed content thus always ends with the final answer, and equals the
non-streamed content whenever the answer is not reworded.

Errors have OpenAI's shape, `{"error": {"message", "type", "code"}}`, with the statuses of
`/api`; an error once a stream has begun is sent as such an event, and the stream ends.
Not offered: completions without chat, embeddings, tool calls, more than one choice.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..answering.assistant import Assistant
from ..answers import Answer, Citation
from ..errors import AssistantError
from ..generation.catalog import ModelStore
from ..ingest.spaces import User
from ..settings import Settings
from .waiting import AnswerQueue, Ticket

PREFIX = "/v1"
REFERENCES = "\n\nReferences:\n"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
ERROR_TYPES = {401: "authentication_error", 404: "not_found_error"}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str = Field(description="system, user, assistant (others are ignored)")
    content: str | list[dict[str, Any]] | None = Field(
        None, description="The text, or a list of parts of which the text parts are read."
    )

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field("", description="Any name: the assistant has one model.")
    messages: list[ChatMessage] = Field(description="The last user message is the question.")
    stream: bool = Field(False, description="Server-sent chat.completion.chunk events.")
    temperature: float | None = Field(None, description="Ignored: the configured one is used.")
    max_tokens: int | None = Field(None, ge=1, description="Lowers the draft's length limit.")
    max_completion_tokens: int | None = Field(None, ge=1, description="As max_tokens.")
    stream_options: dict[str, Any] | None = Field(
        None, description='{"include_usage": true}: a last chunk with the token counts.'
    )
    documents: list[str] | None = Field(
        None, description="Search only these documents (ids or titles), as in /api/ask."
    )


def conversation(messages: Sequence[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last user message, its whitespace collapsed) and the
    (question, answer) pairs before it. A user message with no assistant reply after it
    and a reply with no user message before it are left out; a reply keeps its text
    without the references block this API added to it."""
    said = [(m.role, m.text) for m in messages if m.role in ("user", "assistant")]
    last = max((i for i, (role, _) in enumerate(said) if role == "user"), default=-1)
    if last < 0:
        return "", []
    history: list[tuple[str, str]] = []
    asked: str | None = None
    for role, text in said[:last]:
        if role == "user":
            asked = text
        elif asked is not None:
            history.append((asked, text.split(REFERENCES, 1)[0]))
            asked = None
    return " ".join(said[last][1].split()), history


def references(citations: Iterable[Citation]) -> str:
    """The block that follows an answer's text: each cited passage by its number, or ""."""
    lines = [f"[{c.n}] {c.reference}" for c in citations]
    return REFERENCES + "\n".join(lines) if lines else ""


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "code": code}}


def error_response(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error of a /v1 route, in OpenAI's shape."""
    return JSONResponse(error_body(status, message, code), status_code=status, headers=headers)


def error_code(exc: AssistantError) -> str:
    """The error's code in OpenAI's shape: IndexNotFound is "index_not_found"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def openai_router(
    assistant: Assistant, settings: Settings, who: Any, queue: AnswerQueue
) -> APIRouter:
    """The routes of the module's docstring, over one assistant; `who` is the dependency
    that gives the signed-in user (the /api routes' one), `queue` the answer queue shared
    with them. A completion waits for its turn before it begins (OpenAI's clients know no
    queue events) and searches only what its user sees."""
    router = APIRouter(prefix=PREFIX, dependencies=[who])

    def model_entry() -> dict[str, Any]:
        model = ModelStore(settings.paths.models_dir).resolve(settings.generation.model)
        return {
            "id": model.name,
            "object": "model",
            "created": int(model.path.stat().st_mtime),
            "owned_by": "local",
            "sha256": model.sha256,
            "verified": model.verified,
        }

    @router.get("/models", summary="The model that answers (OpenAI's list)")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [model_entry()]}

    @router.get("/models/{model_id}", summary="The model that answers, by its id")
    def model(model_id: str) -> Any:
        entry = model_entry()
        if model_id != entry["id"]:
            known = entry["id"]
            return error_response(
                404, f"No model '{model_id}': this one is '{known}'.", "model_not_found"
            )
        return entry

    @router.post(
        "/chat/completions",
        summary="Ask the last user message: a chat completion, or its chunks",
        response_model=None,
    )
    def chat_completions(body: ChatRequest, user: User | None = who) -> Any:
        question, history = conversation(body.messages)
        if not question:
            return error_response(
                400,
                'No question: send it as the text of the last message with role "user".',
                "empty_question",
            )
        scope = assistant.resolve(body.documents, user) if body.documents else None
        limits = [n for n in (body.max_tokens, body.max_completion_tokens) if n]
        max_tokens = min([*limits, settings.generation.max_tokens]) if limits else None
        if not body.stream:
            with queue.turn():  # a full queue is refused here: 503 with Retry-After
                answer = assistant.ask(
                    question, history, documents=scope, max_tokens=max_tokens, user=user
                )
            return completion(answer)
        ticket = queue.join()
        try:
            ticket.wait()
            events = assistant.stream(
                question, history, documents=scope, max_tokens=max_tokens, user=user
            )
            # the first event is awaited here, so that a missing index or model is an
            # HTTP error
            first = next(events)
        except BaseException:
            ticket.leave()
            raise
        usage = bool((body.stream_options or {}).get("include_usage"))
        chunks = completion_chunks(chain([first], events), assistant.generator.name, usage)
        return StreamingResponse(_leaving(chunks, ticket), media_type="text/event-stream")

    # here, not left to the app: the chat UI is mounted at / and would answer in its shape
    @router.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
    def unknown(path: str, request: Request) -> JSONResponse:
        routes = "GET /v1/models, GET /v1/models/{model}, POST /v1/chat/completions"
        where = f"{request.method} {PREFIX}/{path}"
        return error_response(404, f"No route {where}: the routes are {routes}.", "unknown_route")

    return router


def _leaving(chunks: Iterator[str], ticket: Ticket) -> Iterator[str]:
    """The chunks, the queue's slot given back when they end or the client goes away."""
    try:
        yield from chunks
    finally:
        ticket.leave()


def usage_of(answer: Answer) -> dict[str, int]:
    prompt, completed = answer.timings.prompt_tokens, answer.timings.completion_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completed,
        "total_tokens": prompt + completed,
    }


def extras(answer: Answer) -> dict[str, Any]:
    """What a completion carries beyond OpenAI's fields."""
    return {
        "answer_id": answer.id,
        "declined": answer.declined,
        "citations": [c.contract() for c in answer.citations],
    }


def completion(answer: Answer) -> dict[str, Any]:
    """A `chat.completion` object for the answer."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": answer.model["name"],
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.answer + references(answer.citations),
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": usage_of(answer),
        **extras(answer),
    }


def completion_chunks(
    events: Iterator[str | Answer], model: str, include_usage: bool = False
) -> Iterator[str]:
    """Server-sent `chat.completion.chunk` events for the assistant's stream (see the
    module docstring for what follows text the final answer rewords)."""
    head: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def event(delta: dict[str, Any], finish: str | None = None, **more: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return f"data: {json.dumps({**head, 'choices': [choice], **more}, ensure_ascii=False)}\n\n"

    sent = held = ""  # whitespace is held back until text follows it, as the answer is stripped
    try:
        yield event({"role": "assistant", "content": ""})
        for piece in events:
            if isinstance(piece, Answer):
                if rest := missing(sent, piece.answer):
                    yield event({"content": rest})
                blocks = references(piece.citations)
                yield event({"content": blocks} if blocks else {}, "stop", **extras(piece))
                if include_usage:
                    data = {**head, "choices": [], "usage": usage_of(piece)}
                    yield f"data: {json.dumps(data)}\n\n"
                yield "data: [DONE]\n\n"
                return
            text = held + piece if sent else (held + piece).lstrip()
            body = text.rstrip()
            held = text[len(body) :]
            if body:
                sent += body
                yield event({"content": body})
    except AssistantError as exc:  # once streaming has begun, the status is already sent
        yield f"data: {json.dumps(error_body(500, str(exc), error_code(exc)))}\n\n"


def missing(sent: str, final: str) -> str:
    """What to send after `sent` so that the content ends with the final answer."""
    if final.startswith(sent):
        return final[len(sent) :]
    return f"\n\n{final}" if sent else final
