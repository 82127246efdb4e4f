"""The chat UI in the browser (Gradio Blocks), built by `build_ui(assistant)`.

Thin: it streams what `Assistant.stream()` yields and shows the sources of each answer
from the `Answer`'s citations. Bound to 127.0.0.1 unless told otherwise; binding to any
other address needs a username and password. No share links, no analytics. One answer
is generated at a time; other requests wait in Gradio's queue.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

from .answering import Answer, Assistant
from .errors import AssistantError
from .settings import Settings

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
EXAMPLES = [
    "How many Ministry of Justice staff get AI tools?",
    "What does the Open Dividend report recommend the UK government do about AI openness?",
    "How does ITIF define control-oriented AI sovereignty?",
    "What policy levers does ai@cam say the UK should connect?",
]


def sources_markdown(answer: Answer) -> str:
    if answer.declined:
        return "_The indexed documents do not answer this question._"
    lines = []
    for c in answer.citations:
        where = ", ".join(p for p in (c.publisher, c.date) if p)
        label = f"**[{c.n}] {html.escape(c.title)}**" + (f" ({html.escape(where)})" if where else "")
        if c.section:
            label += f", §{html.escape(c.section)}"
        if c.page:
            label += f", page {c.page}"
        quote = html.escape(" ".join(c.text.split()))
        lines.append(f"{label}\n\n> {quote}\n")
    return "\n".join(lines) or "_No passage cited._"


def respond(
    assistant: Assistant, message: str, history: list[dict[str, Any]]
) -> Iterator[tuple[list[dict[str, Any]], str, str]]:
    """Event handler: yields (chat history, sources markdown, cleared textbox)."""
    turns = _pairs(history)
    history = [*history, {"role": "user", "content": message}]
    reply = ""
    try:
        for event in assistant.stream(message, turns):
            if isinstance(event, Answer):
                text = event.answer
                notes = "".join(f"\n\n_Note: {w}_" for w in event.warnings)
                final = [*history, {"role": "assistant", "content": text + notes}]
                yield final, sources_markdown(event), ""
            else:
                reply += event
                yield [*history, {"role": "assistant", "content": reply}], "", ""
    except AssistantError as exc:
        yield [*history, {"role": "assistant", "content": f"⚠️ {exc}"}], "", ""


def _pairs(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    pairs = []
    for asked, answered in zip(history[::2], history[1::2], strict=False):
        if asked.get("role") == "user" and answered.get("role") == "assistant":
            pairs.append((str(asked["content"]), str(answered["content"])))
    return pairs


def build_ui(assistant: Assistant) -> Any:
    import gradio as gr

    with gr.Blocks(title="Policy assistant (offline)") as demo:
        gr.Markdown(
            "## Policy assistant\nAnswers come only from the indexed documents, each "
            "sentence with its source. Runs offline on this computer."
        )
        chatbot = gr.Chatbot(label="Conversation", height=460)
        with gr.Row():
            box = gr.Textbox(
                placeholder="Ask a question about the documents, then press Enter",
                show_label=False,
                scale=8,
                autofocus=True,
            )
            send = gr.Button("Ask", variant="primary", scale=1)
        gr.Examples(EXAMPLES, inputs=box)
        gr.Markdown("### Sources of the last answer")
        sources = gr.Markdown(elem_id="sources")

        def handler(message: str, history: list[dict[str, Any]]) -> Iterator[Any]:
            if not message.strip():
                yield history, "_Type a question first._", message
                return
            yield from respond(assistant, message, history or [])

        for trigger in (box.submit, send.click):
            trigger(handler, [box, chatbot], [chatbot, sources, box], concurrency_limit=1)
    return demo


def check_binding(settings: Settings) -> tuple[str, str] | None:
    """The login required for the configured address, refusing to run open to a network."""
    ui = settings.ui
    if ui.host in LOCAL_HOSTS:
        return (ui.username, ui.password) if ui.username and ui.password else None
    if not (ui.username and ui.password):
        raise AssistantError(
            f"Refusing to listen on {ui.host} without a login: set ASSISTANT_UI__USERNAME and "
            "ASSISTANT_UI__PASSWORD (or [ui] username/password in assistant.toml), or use "
            "--host 127.0.0.1."
        )
    return (ui.username, ui.password)


def launch(assistant: Assistant, settings: Settings) -> None:
    auth = check_binding(settings)
    assistant.retriever  # load the index now, so a missing index is reported at start
    demo = build_ui(assistant)
    demo.queue(default_concurrency_limit=1).launch(
        server_name=settings.ui.host,
        server_port=settings.ui.port,
        auth=auth,
        share=False,
        inbrowser=False,
        footer_links=[],
        max_file_size=f"{settings.ui.max_upload_mb}mb",
    )
