"""`assistant serve`: the chat UI (`ui.py`) at `/`, the HTTP API (`api.py`, with the
OpenAI-compatible routes) beside it, on one FastAPI app served by uvicorn; one answer queue
(`waiting.py`) for both; the accounts (`trust/accounts.py`) for both when there are any;
and the corpus watcher beside them.
"""

from __future__ import annotations

from ..answering.assistant import Assistant
from ..ingest.watching import CorpusWatcher
from ..settings import Settings
from ..trust.accounts import check_binding
from .ui import CSS, build_ui
from .waiting import AnswerQueue


def launch(assistant: Assistant, settings: Settings) -> None:
    """The chat UI at `/` and the HTTP API (`api.py`) at `/api` and `/v1`, on one FastAPI app
    served by uvicorn, with the corpus watcher beside them."""
    import gradio as gr
    import uvicorn
    from fastapi import FastAPI

    from .api import add_api

    accounts = check_binding(settings)
    assistant.warm()
    queue = AnswerQueue.from_settings(settings)
    demo = build_ui(assistant, accounts, queue)
    app = FastAPI(title="Policy assistant", docs_url=None, redoc_url=None)
    add_api(app, assistant, settings, accounts, queue)
    demo.queue(default_concurrency_limit=1)

    def sign_in(name: str, password: str) -> bool:
        return accounts is not None and accounts.sign_in(name, password) is not None

    app = gr.mount_gradio_app(
        app,
        demo,
        path="",
        auth=sign_in if accounts is not None else None,
        auth_message="Sign in with your account of the policy assistant.",
        footer_links=[],
        max_file_size=f"{settings.ui.max_upload_mb}mb",
        allowed_paths=[str(settings.paths.data_dir / "exports")],
        css=CSS,
    )
    watcher = None
    if settings.ui.watch_corpus:  # files saved into the corpus folder join the library
        watcher = CorpusWatcher(
            settings.paths.corpus_dir,
            lambda settling_s: assistant.index(progress=_silent, settling_s=settling_s),
            say=lambda line: print(line, flush=True),
        )
        watcher.start()
    url = f"http://{settings.ui.host}:{settings.ui.port}"
    print(
        f"Chat UI at {url}, its API at {url}/api and, OpenAI-compatible, {url}/v1 "
        f"(docs: {url}/docs). Ctrl-C stops it."
    )
    try:
        # stopped (Ctrl-C, SIGTERM), it waits for answers under way, but not for ever for
        # the open connections of a browser or client left open
        uvicorn.run(
            app,
            host=settings.ui.host,
            port=settings.ui.port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
    finally:
        if watcher is not None:
            watcher.stop()


def _silent(stage: str, done: int, total: int) -> None:
    """No progress shown for the watcher's updates: each is one line."""
