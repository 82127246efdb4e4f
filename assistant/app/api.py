"""The HTTP API, served beside the chat UI on one FastAPI app (`assistant serve`).

    GET    /api/health                 the model (and its verified SHA-256), the index, documents
    GET    /api/documents              the library (the shared one and the caller's space)
    POST   /api/documents              multipart upload, screened and indexed as UI uploads are
                                       (`?space=shared`: to the shared library, editors only)
    DELETE /api/documents/{doc_id}     a document out of the corpus folder and the index
    POST   /api/ask                    the answer contract; with "stream": true, server-sent
                                       events: "queue" while waiting, "text" as it is
                                       checked, then "answer"
    GET    /api/answers/{id}           the provenance record (as `assistant audit show ID --json`)
    POST   /api/feedback               a thumbs up or down, and a comment, on an answer
    GET    /docs, /openapi.json        what is above, drawn here (nothing fetched from the web)

and, for tools written for OpenAI's API, `/v1/models` and `/v1/chat/completions`
(`openai_api.py`), with the same sign-in, spaces and queue.

Errors are JSON, `{"error": "<what went wrong and what to do>"}` (under /v1 in OpenAI's
shape, `{"error": {"message", "type", "code"}}`), with the status that says what kind:
400 a question or request that cannot be answered as it is, 401 no or a wrong sign-in,
403 a role that may not do it, 404 an unknown document or answer id (another user's are
unknown too), 413 an upload over the size limit, 503 no index or no model yet, or too many
questions waiting (with Retry-After).

With accounts (`assistant users`), every route but /api/health and /docs wants
`Authorization: Bearer TOKEN` (`assistant users token NAME`) or the account's name and
password as HTTP Basic; with none, on 127.0.0.1, it is one person's and asks for nothing.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, File, Query, Request, UploadFile
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from ..answering.assistant import Assistant
from ..answers import Answer
from ..errors import (
    AssistantError,
    DocumentNotFound,
    EmptyQuestion,
    IndexNotFound,
    ModelHashMismatch,
    ModelNotFound,
    NotAllowed,
    QuestionTooLong,
    QueueFull,
    RecordNotFound,
)
from ..generation.catalog import ModelStore
from ..ingest.indexing import IndexReport
from ..ingest.spaces import User, owner_of
from ..settings import Settings
from ..trust.accounts import Accounts
from ..trust.audit import AuditLog
from .conversations import Conversations
from .openai_api import PREFIX, error_code, error_response, openai_router
from .waiting import AnswerQueue, Ticket

STATUS: dict[type[AssistantError], int] = {
    EmptyQuestion: 400,
    QuestionTooLong: 400,
    NotAllowed: 403,
    DocumentNotFound: 404,
    RecordNotFound: 404,
    IndexNotFound: 503,
    ModelNotFound: 503,
    ModelHashMismatch: 503,
    QueueFull: 503,
}
# how often a waiting stream says how many are ahead
QUEUE_EVERY_S = 1.0


class ApiError(Exception):
    """An answer of the API that is not a success: its status and what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def status_of(exc: AssistantError) -> int:
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)


class AskRequest(BaseModel):
    question: str = Field(description="The question, in your own words.")
    documents: list[str] | None = Field(
        None, description="Search only these documents (ids, titles or names like 'ITIF')."
    )
    history: list[tuple[str, str]] | None = Field(
        None, description="The conversation so far: [question, answer] pairs, oldest first."
    )
    stream: bool = Field(
        False, description="Server-sent events: the checked text, then the answer."
    )


class FeedbackRequest(BaseModel):
    answer_id: str = Field(description='The answer\'s id (its "id" in the answer contract).')
    rating: str = Field(description='"up" or "down".')
    comment: str = Field("", description="What was wrong or right with it.")


def signed_in(accounts: Accounts | None) -> Any:
    """The dependency that gives a route its user: None with no accounts (one person's
    laptop); else the owner of the Bearer token, or of the HTTP Basic name and password."""

    def user(request: Request) -> User | None:
        if accounts is None:
            return None
        header = request.headers.get("authorization", "")
        found = None
        if header.lower().startswith("bearer "):
            found = accounts.by_token(header[7:].strip())
        elif header.lower().startswith("basic "):
            try:
                name, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                name, password = "", ""
            found = accounts.sign_in(name, password)
        if found is None:
            raise ApiError(
                401,
                "Sign in: send `Authorization: Bearer TOKEN` (an admin makes one with "
                "`assistant users token NAME`) or your account's name and password."
                if not header
                else "Wrong token, or wrong name or password.",
            )
        return found

    return user


def api_router(
    assistant: Assistant,
    settings: Settings,
    accounts: Accounts | None,
    who: Any,
    queue: AnswerQueue,
) -> APIRouter:
    """The routes of the module's docstring, over one assistant; `who` is the dependency
    that gives the signed-in user (`signed_in`), `queue` is shared with the UI so that
    both count the same questions ahead."""
    router = APIRouter(prefix="/api")

    @router.get("/health", summary="Whether the assistant can answer, and with what")
    def health() -> dict[str, Any]:
        model = ModelStore(settings.paths.models_dir).resolve(settings.generation.model)
        try:  # counted in the shared library only: this route asks for no sign-in
            records = [r for r in assistant.documents() if owner_of(r.doc_id) is None]
            index: str | None = assistant.retriever.index.index_id
        except IndexNotFound:
            records, index = [], None
        return {
            "status": "ok" if index else "no index: run `assistant index`",
            "model": {"name": model.name, "sha256": model.sha256, "verified": model.verified},
            "index": index,
            "documents": len(records),
            "passages": sum(r.chunks for r in records),
            "accounts": accounts is not None,
            "waiting": queue.waiting,
        }

    @router.get("/documents", summary="The documents in the library")
    def documents(user: User | None = who) -> list[dict[str, Any]]:
        return [
            {
                "doc_id": r.doc_id,
                "title": r.title,
                "publisher": r.publisher,
                "date": r.date,
                "kind": r.kind,
                "passages": r.chunks,
                "added": r.added,
                "space": "private" if owner_of(r.doc_id) else "shared",
            }
            for r in sorted(assistant.documents(user), key=lambda r: r.title.lower())
        ]

    @router.post("/documents", summary="Add documents (screened and indexed as UI uploads)")
    def add_documents(
        files: list[UploadFile] = File(...),  # noqa: B008
        space: str = Query(
            "",
            description='"shared" (editors and admins) or "private"; with accounts the '
            "default is your private space, without them the shared library.",
        ),
        user: User | None = who,
    ) -> dict[str, Any]:
        if space not in ("", "shared", "private"):
            raise ApiError(400, f'No space "{space}": use "shared" or "private".')
        if space == "private" and user is None:
            raise ApiError(400, "There are no accounts, so no private spaces: leave out space.")
        limit = settings.ui.max_upload_mb * 1024 * 1024
        with tempfile.TemporaryDirectory(prefix="upload-") as folder:
            paths = [_received(upload, Path(folder), limit) for upload in files]
            report = assistant.upload(paths, user=user, shared=space == "shared")
        if report.failed and not (report.added or report.updated):
            reasons = "; ".join(f"{Path(f).name}: {why}" for f, why in report.failed)
            raise ApiError(400, f"Nothing was added. {reasons}")
        return _report(report)

    @router.delete("/documents/{doc_id:path}", summary="Remove a document from the library")
    def remove_document(doc_id: str, user: User | None = who) -> dict[str, Any]:
        assistant.remove(doc_id, user=user)
        records = assistant.documents(user)
        return {
            "removed": doc_id,
            "documents": len(records),
            "passages": sum(r.chunks for r in records),
        }

    @router.post(
        "/ask",
        summary="Ask a question: the answer contract, or server-sent events",
        response_model=None,
    )
    def ask(body: AskRequest, user: User | None = who) -> Any:
        question = " ".join(body.question.split())
        if not question:
            raise EmptyQuestion()
        scope = assistant.resolve(body.documents, user) if body.documents else None
        history = [(asked, answered) for asked, answered in body.history or []]
        if not body.stream:
            with queue.turn():  # refused before any answer starts, when it is full
                return assistant.ask(question, history, documents=scope, user=user).to_json()
        ticket = queue.join()

        def answered() -> Iterator[str | Answer]:
            return assistant.stream(question, history, documents=scope, user=user)

        return StreamingResponse(_events(ticket, answered), media_type="text/event-stream")

    @router.get("/answers/{answer_id}", summary="The provenance record of an answer")
    def answer_record(answer_id: str, user: User | None = who) -> dict[str, Any]:
        return AuditLog.from_settings(settings).find(answer_id, user).to_json()

    @router.post("/feedback", summary="Rate an answer: up or down, with a comment")
    def feedback(body: FeedbackRequest, user: User | None = who) -> dict[str, Any]:
        record = AuditLog.from_settings(settings).find(body.answer_id, user)
        store = Conversations(settings.paths.data_dir, owner=user.name if user else "")
        store.rate_id(record.id, record.question, record.answer, body.rating, body.comment)
        return {"answer_id": record.id, "rating": body.rating}

    return router


def _events(ticket: Ticket, answered: Any) -> Iterator[str]:
    """Server-sent events, each one line of JSON: "queue" ({"ahead": n}) while the
    question waits its turn, "text" pieces, then the "answer". A client that goes away
    gives up its place (the generator is closed)."""

    def event(name: str, data: object) -> str:
        return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    try:
        told = None
        while not ticket.wait(QUEUE_EVERY_S if told is not None else 0):
            if (ahead := ticket.ahead) != told:
                told = ahead
                yield event("queue", {"ahead": ahead})
        events: Iterator[str | Answer] = answered()
        for piece in events:
            if isinstance(piece, Answer):
                # with the notes a reader is given beside the answer
                yield event("answer", piece.to_json() | {"warnings": list(piece.warnings)})
            elif piece:
                yield event("text", piece)
    except AssistantError as exc:  # once streaming has begun, the status is already sent
        yield event("error", {"error": str(exc), "status": status_of(exc)})
    finally:
        ticket.leave()


def _received(upload: UploadFile, folder: Path, limit: int) -> Path:
    """The uploaded file saved under its own name, refused once it passes `limit` bytes."""
    name = Path(upload.filename or "upload").name or "upload"
    path = folder / name
    written = 0
    with path.open("wb") as out:
        while block := upload.file.read(1 << 20):
            written += len(block)
            if written > limit:
                raise ApiError(
                    413,
                    f"{name} is over the {limit // (1024 * 1024)} MB limit for uploads: "
                    "split it, or raise [ui] max_upload_mb.",
                )
            out.write(block)
    return path


def _report(report: IndexReport) -> dict[str, Any]:
    return {
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "failed": [{"file": Path(f).name, "reason": why} for f, why in report.failed],
        "notes": report.notes,
        "passages": report.chunks,
    }


def add_api(
    app: FastAPI,
    assistant: Assistant,
    settings: Settings,
    accounts: Accounts | None = None,
    queue: AnswerQueue | None = None,
) -> None:
    """The API's routes (/api and /v1), error handlers and self-contained docs on `app`;
    with `accounts`, every route but the health check wants a signed-in user. Both sets
    of routes share one answer queue (and the UI's, when it is given)."""
    queue = queue or AnswerQueue.from_settings(settings)
    who = Depends(signed_in(accounts))
    app.include_router(api_router(assistant, settings, accounts, who, queue))
    app.include_router(openai_router(assistant, settings, who, queue))

    def openai_route(request: Request) -> bool:
        return request.url.path.startswith(PREFIX + "/")

    @app.exception_handler(ApiError)
    def api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = (
            {"WWW-Authenticate": 'Bearer, Basic realm="Policy assistant"'}
            if exc.status == 401
            else None
        )
        if openai_route(request):
            return error_response(exc.status, str(exc), None, headers)
        return JSONResponse({"error": str(exc)}, status_code=exc.status, headers=headers)

    @app.exception_handler(AssistantError)
    def assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, QueueFull) else None
        if openai_route(request):
            return error_response(status_of(exc), str(exc), error_code(exc), headers)
        return JSONResponse({"error": str(exc)}, status_code=status_of(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Any:
        if not openai_route(request):
            return await request_validation_exception_handler(request, exc)
        wrong = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return error_response(422, f"The request does not fit: {wrong}.", "invalid_request")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_html(app.openapi()))


def docs_html(spec: dict[str, Any]) -> str:
    """The OpenAPI description as one page of HTML with nothing to fetch (FastAPI's own
    pages load their scripts from a CDN, which an offline machine cannot reach)."""
    parts = [
        "<!doctype html><meta charset='utf-8'><title>Policy assistant API</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "code,pre{background:#f1f5f9;padding:.1em .3em}h2{margin-top:1.5em}</style>",
        "<h1>Policy assistant API</h1>",
        "<p>The machine-readable description: <a href='/openapi.json'>/openapi.json</a>. "
        'Errors are JSON: <code>{"error": "..."}</code>; under /v1, OpenAI\'s '
        '<code>{"error": {"message", "type", "code"}}</code>.</p>',
    ]
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            parts.append(f"<h2><code>{method.upper()} {html.escape(path)}</code></h2>")
            parts.append(f"<p>{html.escape(op.get('summary', ''))}</p>")
            body = op.get("requestBody", {}).get("content", {})
            for kind, content in body.items():
                schema = _schema(spec, content.get("schema", {}))
                shown = json.dumps(schema.get("properties", schema), indent=1)
                parts.append(f"<p>Body ({html.escape(kind)}):</p><pre>{html.escape(shown)}</pre>")
            codes = ", ".join(sorted(op.get("responses", {})))
            parts.append(f"<p>Responses: {html.escape(codes)}</p>")
    return "".join(parts)


def _schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        found: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        return found
    return schema
