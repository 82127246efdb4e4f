"""The HTTP API, served beside the chat UI on one FastAPI app (`assistant serve`).

    GET    /api/health                 the model (and its verified SHA-256), the index, documents
    GET    /api/documents              the library
    POST   /api/documents              multipart upload, screened and indexed as UI uploads are
    DELETE /api/documents/{doc_id}     a document out of the corpus folder and the index
    POST   /api/ask                    the answer contract; with "stream": true, server-sent
                                       events: "text" as it is checked, then "answer"
    GET    /api/answers/{id}           the provenance record (as `assistant audit show ID --json`)
    GET    /docs, /openapi.json        what is above, drawn here (nothing fetched from the web)

and, for tools written for OpenAI's API, `/v1/models` and `/v1/chat/completions`
(`openai_api.py`).

Errors are JSON, `{"error": "<what went wrong and what to do>"}` (under /v1 in OpenAI's
shape, `{"error": {"message", "type", "code"}}`), with the status that says what kind:
400 a question or request that cannot be answered as it is, 401 no or a wrong login, 404
an unknown document or answer id, 413 an upload over the size limit, 503 no index or no
model yet. When the UI has a login (bound beyond this computer) the API takes the same
one, as HTTP Basic.
"""

from __future__ import annotations

import html
import json
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, File, Request, UploadFile
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
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
    QuestionTooLong,
    RecordNotFound,
)
from ..generation.catalog import ModelStore
from ..ingest.indexing import IndexReport
from ..settings import Settings
from ..trust.audit import AuditLog
from .openai_api import PREFIX, error_code, error_response, openai_router

STATUS: dict[type[AssistantError], int] = {
    EmptyQuestion: 400,
    QuestionTooLong: 400,
    DocumentNotFound: 404,
    RecordNotFound: 404,
    IndexNotFound: 503,
    ModelNotFound: 503,
    ModelHashMismatch: 503,
}


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


def api_router(assistant: Assistant, settings: Settings) -> APIRouter:
    """The routes of the module's docstring, over one assistant."""
    router = APIRouter(prefix="/api")

    @router.get("/health", summary="Whether the assistant can answer, and with what")
    def health() -> dict[str, Any]:
        model = ModelStore(settings.paths.models_dir).resolve(settings.generation.model)
        try:
            records = assistant.documents()
            index: str | None = assistant.retriever.index.index_id
        except IndexNotFound:
            records, index = [], None
        return {
            "status": "ok" if index else "no index: run `assistant index`",
            "model": {"name": model.name, "sha256": model.sha256, "verified": model.verified},
            "index": index,
            "documents": len(records),
            "passages": sum(r.chunks for r in records),
        }

    @router.get("/documents", summary="The documents in the library")
    def documents() -> list[dict[str, Any]]:
        return [
            {
                "doc_id": r.doc_id,
                "title": r.title,
                "publisher": r.publisher,
                "date": r.date,
                "kind": r.kind,
                "passages": r.chunks,
                "added": r.added,
            }
            for r in sorted(assistant.documents(), key=lambda r: r.title.lower())
        ]

    @router.post("/documents", summary="Add documents (screened and indexed as UI uploads)")
    def add_documents(files: list[UploadFile] = File(...)) -> dict[str, Any]:  # noqa: B008
        limit = settings.ui.max_upload_mb * 1024 * 1024
        with tempfile.TemporaryDirectory(prefix="upload-") as folder:
            paths = [_received(upload, Path(folder), limit) for upload in files]
            report = assistant.upload(paths)
        if report.failed and not (report.added or report.updated):
            reasons = "; ".join(f"{Path(f).name}: {why}" for f, why in report.failed)
            raise ApiError(400, f"Nothing was added. {reasons}")
        return _report(report)

    @router.delete("/documents/{doc_id}", summary="Remove a document from the library")
    def remove_document(doc_id: str) -> dict[str, Any]:
        report = assistant.remove(doc_id)
        return {
            "removed": doc_id,
            "documents": len(assistant.documents()),
            "passages": report.chunks,
        }

    @router.post(
        "/ask",
        summary="Ask a question: the answer contract, or server-sent events",
        response_model=None,
    )
    def ask(body: AskRequest) -> Any:
        question = " ".join(body.question.split())
        if not question:
            raise EmptyQuestion()
        scope = assistant.resolve(body.documents) if body.documents else None
        history = [(asked, answered) for asked, answered in body.history or []]
        if not body.stream:
            return assistant.ask(question, history, documents=scope).to_json()
        events = assistant.stream(question, history, documents=scope)
        return StreamingResponse(_events(events), media_type="text/event-stream")

    @router.get("/answers/{answer_id}", summary="The provenance record of an answer")
    def answer_record(answer_id: str) -> dict[str, Any]:
        return AuditLog.from_settings(settings).find(answer_id).to_json()

    return router


def _events(events: Iterator[str | Answer]) -> Iterator[str]:
    """Server-sent events, each one line of JSON: "text" pieces, then the "answer"."""

    def event(name: str, data: object) -> str:
        return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    try:
        for piece in events:
            if isinstance(piece, Answer):
                yield event("answer", piece.to_json())
            elif piece:
                yield event("text", piece)
    except AssistantError as exc:  # once streaming has begun, the status is already sent
        yield event("error", {"error": str(exc), "status": status_of(exc)})


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


def add_api(app: FastAPI, assistant: Assistant, settings: Settings, auth: Any = None) -> None:
    """The API's routes (/api and /v1), error handlers and self-contained docs on `app`;
    with `auth` (user, password), every route asks for that login."""
    needs: list[Any] = []
    if auth is not None:
        basic = HTTPBasic(realm="Policy assistant", auto_error=False)

        def login(credentials: HTTPBasicCredentials | None = Depends(basic)) -> None:  # noqa: B008
            given = credentials or HTTPBasicCredentials(username="", password="")
            user_ok = secrets.compare_digest(given.username.encode(), auth[0].encode())
            password_ok = secrets.compare_digest(given.password.encode(), auth[1].encode())
            if not (user_ok and password_ok):
                raise ApiError(401, "Wrong user name or password: use the UI's login.")

        needs.append(Depends(login))
    app.include_router(api_router(assistant, settings), dependencies=needs)
    app.include_router(openai_router(assistant, settings), dependencies=needs)

    def openai_route(request: Request) -> bool:
        return request.url.path.startswith(PREFIX + "/")

    @app.exception_handler(ApiError)
    def api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Basic"} if exc.status == 401 else None
        if openai_route(request):
            return error_response(exc.status, str(exc), None, headers)
        return JSONResponse({"error": str(exc)}, status_code=exc.status, headers=headers)

    @app.exception_handler(AssistantError)
    def assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        if openai_route(request):
            return error_response(status_of(exc), str(exc), error_code(exc))
        return JSONResponse({"error": str(exc)}, status_code=status_of(exc))

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
