"""The chat UI in the browser (Gradio Blocks), built by `build_ui(assistant)`.

Thin: the handlers call the core (`Assistant.stream`, `upload`, `remove`, `documents`,
`export`) and turn what comes back into HTML. An answer streams in as it is generated
and is then replaced by the checked `Answer`, whose markers [n] link to source cards in
the sources panel (hover shows the source, click scrolls to it). A card of a PDF (or
scanned) passage opens, on demand, to its page drawn with the cited sentences highlighted
(`ingest/pages.py`). A declined answer is
shown as a calm notice, an error as a warning. While it runs, the corpus folder is watched
(`ingest/watching.py`, unless `ui.watch_corpus` is off) and the documents list follows
the index.

Bound to 127.0.0.1 unless told otherwise; binding to any other address needs accounts
(`trust/accounts.py`): each user signs in, sees the shared library and their own private
space (`ingest/spaces.py`), and their own conversations. No share links, no analytics.
Questions take turns at the model with the API's (`waiting.py`); a waiting question shows
how many are ahead of it, and Stop gives up its place.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..answering.assistant import Assistant
from ..answering.briefing import (
    Brief,
    from_cache,
    missing,
    summarise_in_background,
    with_summaries,
)
from ..answering.comparison import NOT_ADDRESSED, Row, compared, topic_of, wants_table
from ..answering.prompting import MARKER
from ..answers import Answer, Citation
from ..errors import AssistantError, Cancelled, DocumentNotFound
from ..generation.catalog import ModelStore
from ..ingest.documents import SUPPORTED_SUFFIXES, read_metadata
from ..ingest.indexing import IndexReport
from ..ingest.library import suggested_questions
from ..ingest.pages import PageImage, document_page
from ..ingest.spaces import User, owner_of
from ..ingest.store import DocumentRecord
from ..trust.accounts import Accounts
from .conversations import Conversations, ConversationsUnavailable
from .export import (
    answer_markdown,
    brief_markdown,
    citation_phrases,
    comparison_csv,
    comparison_markdown,
    declined_note,
    highlighted,
    labelled,
    reference,
    write_conversation,
)
from .waiting import AnswerQueue

PENDING = "Searching the documents and reading the passages…"
Chat = list[dict[str, Any]]

CSS = """
.gradio-container {max-width: 1400px !important}
#status {font-size: .9em}
.badge {display:inline-block; padding:.1em .6em; border-radius:999px; margin-right:.4em;
  background:#e2e8f0; color:#1e293b}
.badge.offline {background:#dcfce7; color:#14532d}
a.cite {text-decoration:none; font-weight:600; font-size:.8em; padding:0 .1em;
  vertical-align:super; line-height:0}
a.cite:hover, a.cite:focus {text-decoration:underline}
.pending {color:#64748b; font-style:italic}
.declined {background:#f1f5f9; border-left:4px solid #64748b; padding:.5em .8em;
  border-radius:6px; color:#1e293b}
.declined::before {content:"Not in the documents"; display:block; font-weight:600;
  font-size:.8em; text-transform:uppercase; letter-spacing:.04em; color:#475569}
table.compare {width:100%; border-collapse:collapse}
table.compare th, table.compare td {border-bottom:1px solid #e2e8f0; padding:.5em .6em;
  text-align:left; vertical-align:top}
table.compare td.doc {width:26%; font-weight:600}
table.compare td.doc .meta {font-weight:400}
table.compare .not-addressed, table.compare .waiting {color:#64748b; font-style:italic}
.brief-section {border-bottom:1px solid #e2e8f0; padding:.4em 0 .6em}
.brief-section h4 {margin:.2em 0}
.brief-summary {background:#f8fafc; border-left:3px solid #0ea5e9; padding:.4em .7em;
  margin:.3em 0; border-radius:4px}
.brief-points li {margin:.2em 0}
table.compare .refs {font-size:.85em; color:#475569; margin-top:.3em}
.failed {background:#fef2f2; border-left:4px solid #b91c1c; padding:.5em .8em; border-radius:6px}
.note {color:#64748b; font-size:.85em; margin-top:.4em}
#sources-panel {max-height:75vh; overflow-y:auto; scroll-behavior:smooth}
.turn h4 {margin:.2em 0 .4em 0}
.src-card {border:1px solid #cbd5e1; border-radius:8px; padding:.6em .8em; margin:.5em 0;
  scroll-margin-top:1em; background:var(--block-background-fill)}
.src-card:target {outline:3px solid #f59e0b; background:#fffbeb}
.src-card .meta {color:#475569; font-size:.85em; margin:.15em 0 .4em 0}
.src-card .passage {font-size:.92em; line-height:1.45; white-space:pre-line}
.src-card .passage-head {font-size:.92em; line-height:1.45; white-space:pre-line; opacity:.75}
.src-card mark {background:#fde68a; padding:0 .1em}
details.uncited > summary, details.on-page > summary {cursor:pointer; color:#475569;
  font-size:.9em}
details.on-page {margin-top:.4em}
.page-view img {width:100%; height:auto; border:1px solid #e2e8f0; margin-top:.3em}
details.uncited .src-card {opacity:.8; font-size:.9em; border-style:dashed}
button.copy-answer {border:1px solid #94a3b8; border-radius:6px; padding:.15em .7em;
  font-size:.85em; background:transparent; cursor:pointer}
textarea.copy-text {position:absolute; left:-9999px}
.earlier {border-top:1px solid #e2e8f0; margin-top:1em; padding-top:.5em}
table.library {width:100%; border-collapse:collapse; font-size:.88em}
table.library th, table.library td {text-align:left; padding:.35em .4em; vertical-align:top;
  border-bottom:1px solid #e2e8f0}
table.library td.num {text-align:right}
.library-wrap {max-height:42vh; overflow:auto; border:1px solid #e2e8f0; border-radius:6px}
table.library thead th {position:sticky; top:0; background:var(--block-background-fill)}
@media (max-width: 800px) { #sources-panel, .library-wrap {max-height:none} }
"""

# Copy buttons in the sources panel: the answer's Markdown sits in a hidden textarea.
COPY_JS = """
element.addEventListener('click', async (event) => {
  const button = event.target.closest('button.copy-answer');
  if (!button) return;
  const text = button.parentElement.querySelector('textarea.copy-text');
  try { await navigator.clipboard.writeText(text.value); }
  catch (e) { text.select(); document.execCommand('copy'); }
  button.textContent = 'Copied';
  setTimeout(() => { button.textContent = 'Copy answer with references'; }, 2000);
});
"""

# "Show on page N": the page is drawn by the server the first time the card opens to it.
PAGE_JS = """
element.addEventListener('click', async (event) => {
  const summary = event.target.closest('details.on-page > summary');
  if (!summary || summary.parentElement.dataset.drawn) return;
  const details = summary.parentElement;
  details.dataset.drawn = '1';
  const view = details.querySelector('.page-view');
  try { view.innerHTML = await server.shown_page(JSON.parse(details.dataset.page)); }
  catch (e) {
    view.textContent = 'The page could not be drawn: ' + e;
    delete details.dataset.drawn;
  }
});
"""


# ---------------------------------------------------------------- rendering


def cite_links(text: str, turn: int, citations: dict[int, Citation]) -> str:
    """Escaped answer text whose markers [n] link to the source cards of `turn`."""

    def link(match: re.Match[str]) -> str:
        out = []
        for n in (int(x) for x in match.group(1).split(",")):
            c = citations.get(n)
            if c is None:
                out.append(f"[{n}]")
                continue
            tip = html.escape(f"{reference(c)}: {_clip(c.text, 240)}", quote=True)
            out.append(f'<a class="cite" href="#src-{turn}-{n}" title="{tip}">[{n}]</a>')
        return "".join(out)

    return MARKER.sub(link, html.escape(text, quote=False))


def answer_html(answer: Answer, turn: int) -> str:
    """The chat message for a finished answer: a decline shows what the documents do say
    (cited) when it has that; sentences of the draft that were withheld can be opened."""
    withheld = withheld_html(answer)
    notes = "".join(
        f'<div class="note">Note: {html.escape(w)}</div>'
        for w in answer.warnings
        if "withheld" not in w
    )
    if answer.declined:
        said = ""
        if answer.citations:
            said = "<br>" + cite_links(answer.answer, turn, {c.n: c for c in answer.contexts})
        declined = f'<div class="declined">{html.escape(declined_note(answer))}{said}</div>'
        return declined + notes + withheld
    body = cite_links(labelled(answer), turn, {c.n: c for c in answer.contexts})
    return body + notes + withheld


def withheld_html(answer: Answer) -> str:
    """ "1 sentence withheld: no passage supports it", opening to the sentences and why."""
    withheld = answer.withheld
    if not withheld:
        return ""
    reasons = "; ".join(dict.fromkeys(c.reason.split(" (")[0] for c in withheld))
    items = "".join(
        f"<li>{html.escape(c.sentence.text)} <em>({html.escape(c.reason)})</em></li>"
        for c in withheld
    )
    s = "" if len(withheld) == 1 else "s"
    return (
        f'<details class="withheld note"><summary>{len(withheld)} sentence{s} of the '
        f"model's draft withheld: {html.escape(reasons)}</summary><ul>{items}</ul></details>"
    )


def card_html(answer: Answer, c: Citation, turn: int) -> str:
    passage = "".join(
        f"<mark>{html.escape(text)}</mark>" if marked else html.escape(text)
        for text, marked in highlighted(answer, c)
    )
    meta = " · ".join(
        html.escape(p)
        for p in (c.publisher, c.date, c.section and f"§{c.section}", c.page and f"page {c.page}")
        if p
    )
    # a table's rows are shown under its caption and header row, as the model read them
    head = f'<div class="passage-head">{html.escape(c.header)}</div>' if c.header else ""
    return (
        f'<div class="src-card" id="src-{turn}-{c.n}"><strong>[{c.n}] {html.escape(c.title)}'
        f'</strong><div class="meta">{meta}</div>{head}<div class="passage">{passage}</div>'
        f"{on_page_html(answer, c)}</div>"
    )


def on_page_html(answer: Answer, c: Citation) -> str:
    """ "Show on page N", for a passage with a page: what to draw is carried in the element
    and drawn by `page_view` only when opened (about 0.1 s a page, 1-2 s for a scan)."""
    if c.page is None:
        return ""
    wanted = {"doc": c.doc_id, "page": c.page, "phrases": citation_phrases(answer, c)}
    return (
        f'<details class="on-page" data-page="{html.escape(json.dumps(wanted), quote=True)}">'
        f'<summary>Show on page {c.page}</summary><div class="page-view note pending">'
        "Drawing the page…</div></details>"
    )


def turn_html(answer: Answer, turn: int) -> str:
    cited = {c.n for c in answer.citations}
    parts = [f'<section class="turn" id="turn-{turn}">']
    parts.append(f"<h4>Sources for: “{html.escape(answer.question)}”</h4>")
    if answer.declined:
        parts.append(f'<div class="declined">{html.escape(declined_note(answer))}</div>')
    else:
        parts.append(
            '<div><button class="copy-answer" type="button">Copy answer with references'
            f'</button><textarea class="copy-text" readonly aria-hidden="true" tabindex="-1">'
            f"{html.escape(answer_markdown(answer))}</textarea></div>"
        )
    parts += [card_html(answer, c, turn) for c in answer.citations]
    others = [c for c in answer.contexts if c.n not in cited]
    if others:
        label = "passage" if len(others) == 1 else "passages"
        parts.append(
            f'<details class="uncited"><summary>{len(others)} more {label} retrieved but not '
            "cited</summary>" + "".join(card_html(answer, c, turn) for c in others) + "</details>"
        )
    parts.append("</section>")
    return "".join(parts)


def sources_html(answers: list[Answer]) -> str:
    """The sources panel: the latest answer's sources first, then earlier answers'."""
    if not answers:
        return (
            '<p class="note">The passages behind each answer appear here, with the sentences '
            "that support it highlighted.</p>"
        )
    turns = [turn_html(a, t) for t, a in reversed(list(enumerate(answers, start=1)))]
    if len(turns) > 1:
        turns[1] = '<div class="earlier">Earlier answers</div>' + turns[1]
    return "".join(turns)


def compare_html(rows: Sequence[Row], waiting: Sequence[str] = ()) -> str:
    """The comparison table: a row per document, each answer with its references (hover a
    number for the passage); documents still being read are shown as waiting."""
    if not rows and not waiting:
        return (
            '<p class="note">Type a topic: each document is searched on its own and gives '
            "a checked, cited answer of one or two sentences, or “Not addressed”.</p>"
        )
    body = []
    for number, row in enumerate(rows, start=1):
        meta = html.escape(row.publisher)
        if row.declined:
            cell = f'<span class="not-addressed">{NOT_ADDRESSED}</span>'
        else:
            cell = cite_links(row.text, 1000 + number, {c.n: c for c in row.citations})
            refs = "<br>".join(f"[{c.n}] {html.escape(reference(c))}" for c in row.citations)
            cell += f'<div class="refs">{refs}</div>'
        body.append(
            f'<tr data-doc="{html.escape(row.doc_id)}"><td class="doc">'
            f'{html.escape(row.title)}<div class="meta note">{meta}</div></td><td>{cell}</td></tr>'
        )
    body += [
        f'<tr class="waiting-row"><td class="doc">{html.escape(title)}</td>'
        '<td class="waiting">Searching this document…</td></tr>'
        for title in waiting
    ]
    return (
        '<table class="compare"><thead><tr><th>Document</th><th>What it says</th></tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table>"
    )


def brief_html(brief: Brief, summarising: bool = False) -> str:
    """A document's brief: sections with their pages, the model's checked summary (or
    "Summarising…" while it is written) and the key points quoted."""
    doc = brief.document
    about = " · ".join(html.escape(p) for p in (doc.publisher, doc.date) if p)
    parts = [f'<h3>{html.escape(doc.title)}</h3><p class="note">{about}</p>']
    for number, section in enumerate(brief.sections, start=1):
        where = f' <span class="note">{section.where}</span>' if section.where else ""
        parts.append(f'<div class="brief-section"><h4>{html.escape(section.title)}{where}</h4>')
        if section.summary:
            cited = {c.n: c for c in section.summary_citations}
            parts.append(
                f'<div class="brief-summary">{cite_links(section.summary, 2000 + number, cited)}'
                "</div>"
            )
        elif section.summary_declined:
            parts.append('<div class="note">No summary could be confirmed for this section.</div>')
        elif summarising:
            parts.append('<div class="note pending">Summarising…</div>')
        points = "".join(
            f"<li>“{html.escape(p.text)}”"
            + (f' <span class="note">page {p.citation.page}</span>' if p.citation.page else "")
            + "</li>"
            for p in section.points
        )
        parts.append(f'<ul class="brief-points">{points}</ul></div>')
    return "".join(parts)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def documents_html(records: list[DocumentRecord]) -> str:
    """The library as a table: title, publisher, date, type, passages, when added."""
    if not records:
        return '<p class="note">No documents are indexed yet: add some below.</p>'
    rows = "".join(
        f"<tr><td><strong>{html.escape(r.title)}</strong>"
        + (' <span class="badge">your space</span>' if owner_of(r.doc_id) else "")
        + f"</td><td>{html.escape(r.publisher)}"
        f"</td><td>{html.escape(r.date)}</td><td>{html.escape(r.kind.upper())}</td>"
        f'<td class="num">{r.chunks}</td><td>{html.escape(r.added)}</td></tr>'
        for r in sorted(records, key=lambda r: r.title.lower())
    )
    head = "".join(
        f"<th>{h}</th>" for h in ("Title", "Publisher", "Date", "Type", "Passages", "Added")
    )
    table = f'<table class="library"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    return f'<div class="library-wrap">{table}</div>'


def report_markdown(report: IndexReport, records: list[DocumentRecord]) -> str:
    """What an upload did, by document title; re-indexed documents only as a count."""
    titles = {r.doc_id: r.title for r in records}
    lines = []
    if report.added:
        names = ", ".join(f"“{html.escape(titles.get(d, d))}”" for d in report.added)
        lines.append(f"**Added:** {names}.")
    if report.updated:
        lines.append(f"{len(report.updated)} changed document(s) were indexed again.")
    for name, reason in report.failed:
        lines.append(f"**Not added: {html.escape(Path(name).name)}**: {html.escape(reason)}.")
    for name in report.retried:
        lines.append(
            f"{html.escape(Path(name).name)} is still being written: left for the next update."
        )
    lines += [f"Note: {html.escape(note)}." for note in report.notes]  # pages read by OCR
    if not (report.added or report.failed):
        lines.append("Nothing new: the document is already in the library.")
    total = len(report.added) + len(report.updated) + len(report.unchanged)
    lines.append(f"The library holds {total} documents ({report.chunks} passages).")
    return "\n\n".join(lines)


def status_markdown(assistant: Assistant, top_k: int, user: User | None = None) -> str:
    """Model name, licence and verification, passages per answer, offline state, and who
    is signed in."""
    settings = assistant.settings
    try:
        model = ModelStore(settings.paths.models_dir).resolve(settings.generation.model)
        check = "SHA-256 verified ✓" if model.verified else "not in the catalogue: unverified"
        model_line = f"**{model.name}** ({model.licence}), {check} `{model.sha256[:16]}…`"
    except AssistantError as exc:
        model_line = f"**Model problem:** {_text(exc)}"
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    state = "Offline: nothing leaves this computer" if offline else "Offline mode is not set"
    signed = (
        f'<span class="badge signed-in">{html.escape(user.name)} ({user.role})</span> '
        if user and user.name
        else ""
    )
    return (
        f'{signed}<span class="badge offline">● {state}</span> '
        f'<span class="badge">{top_k} passages per answer</span>\n\n'
        f"Model: {model_line}"
    )


# ---------------------------------------------------------------- handlers


def respond(
    assistant: Assistant,
    message: str,
    history: Chat,
    answers: list[Answer],
    top_k: int | None = None,
    documents: Sequence[str] = (),
    user: User | None = None,
    queue: AnswerQueue | None = None,
) -> Iterator[tuple[Chat, list[Answer], str, str]]:
    """Event handler: yields (chat, answers so far, sources panel, textbox value);
    `documents` (doc ids) limits the search to them; with a `queue`, the question waits
    its turn there, showing how many are ahead."""
    message = message.strip()
    if not message:
        yield history, answers, sources_html(answers), ""
        return
    turn = len(answers) + 1
    asked = [*history, {"role": "user", "content": html.escape(message)}]
    waiting = f'<span class="pending">{PENDING}</span>'
    yield [*asked, {"role": "assistant", "content": waiting}], answers, sources_html(answers), ""
    pairs = [(a.question, a.answer) for a in answers]
    streamed = ""
    ticket = None
    try:
        if queue is not None:
            ticket = queue.join()
            while not ticket.wait(1.0):
                ahead = ticket.ahead
                place = f"{ahead} question{'s' if ahead != 1 else ''} ahead of yours"
                note = f'<span class="pending">Waiting for the model: {place}…</span>'
                panel = sources_html(answers)
                yield [*asked, {"role": "assistant", "content": note}], answers, panel, ""
            panel = sources_html(answers)
            yield [*asked, {"role": "assistant", "content": waiting}], answers, panel, ""
        events = assistant.stream(message, pairs, top_k, list(documents) or None, user=user)
        for event in events:
            if isinstance(event, Answer):
                done = [*answers, event]
                shown = answer_html(event, turn)
                if wants_table(message):
                    shown += (
                        '<div class="note offer-table">To see each document’s answer side by '
                        "side, ask this in the Compare tab.</div>"
                    )
                chat = [*asked, {"role": "assistant", "content": shown}]
                yield chat, done, sources_html(done), ""
            else:
                streamed += event
                chat = [*asked, {"role": "assistant", "content": html.escape(streamed)}]
                yield chat, answers, sources_html(answers), ""
    except AssistantError as exc:
        failed = f'<div class="failed"><strong>Something went wrong.</strong> {_text(exc)}</div>'
        yield [*asked, {"role": "assistant", "content": failed}], answers, sources_html(answers), ""
    finally:
        if ticket is not None:
            ticket.leave()


def upload(
    assistant: Assistant,
    files: list[str] | None,
    progress: Any = None,
    stop: threading.Event | None = None,
    user: User | None = None,
    shared: bool = False,
) -> tuple[str, str, list[tuple[str, str]]]:
    """Event handler: index uploaded files; yields (report, document rows, remove choices).
    `stop`, set by the Stop button, ends it at its next step with nothing kept. A user's
    files go to their private space, or with `shared` to the shared library."""
    if not files:
        return "", *_library(assistant, user)

    def report_progress(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress((done, max(total, 1)), desc=stage)

    try:
        report = assistant.upload(
            [Path(f) for f in files], report_progress, stop, user=user, shared=shared
        )
        text = report_markdown(report, assistant.documents(user))
    except Cancelled as exc:
        text = f"**{_text(exc)}**"
    except AssistantError as exc:
        text = f"**Not added:** {_text(exc)}"
    return text, *_library(assistant, user)


def remove(
    assistant: Assistant, doc_id: str | None, progress: Any = None, user: User | None = None
) -> tuple[str, str, list[tuple[str, str]]]:
    """Event handler: remove a document from the corpus and the index."""
    if not doc_id:
        return "Choose a document to remove first.", *_library(assistant, user)
    title = next((r.title for r in assistant.documents(user) if r.doc_id == doc_id), doc_id)

    def report_progress(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress((done, max(total, 1)), desc=stage)

    try:
        assistant.remove(doc_id, report_progress, user=user)
        held = sum(r.chunks for r in assistant.documents(user))
        text = f"Removed “{html.escape(title)}”. The library holds {held} passages."
    except AssistantError as exc:
        text = f"**Not removed:** {_text(exc)}"
    return text, *_library(assistant, user)


def _text(exc: Exception) -> str:
    return html.escape(str(exc))


def library_since(
    assistant: Assistant, seen: int, user: User | None = None
) -> tuple[int, str, list[tuple[str, str]]] | None:
    """Timer handler: (library version, document rows, choices) when the library changed
    since version `seen` (the corpus watcher indexed, another window uploaded), else None."""
    version = assistant.library_version
    if version == seen:
        return None
    return version, *_library(assistant, user)


def _library(assistant: Assistant, user: User | None = None) -> tuple[str, list[tuple[str, str]]]:
    records = assistant.documents(user)
    choices = [(r.title, r.doc_id) for r in sorted(records, key=lambda r: r.title.lower())]
    return documents_html(records), choices


def export(assistant: Assistant, answers: list[Answer], user: User | None = None) -> str | None:
    """Event handler: write the conversation as Markdown, with the cited pages of PDFs as
    images beside it (`<name>-pages/`); returns the Markdown file's path."""
    if not answers:
        return None
    path = _export_path(assistant, "conversation", ".md", user)
    model = answers[-1].model.get("name", "")

    def page(answer: Answer, c: Citation) -> bytes:
        phrases = citation_phrases(answer, c)
        return cited_page(assistant, c.doc_id, c.page or 0, phrases, user).png

    write_conversation(path, answers, model, _when(), page)
    return str(path)


def cited_page(
    assistant: Assistant,
    doc_id: str,
    page: int,
    phrases: Sequence[str],
    user: User | None = None,
) -> PageImage:
    """The page of an indexed document with `phrases` highlighted (see `ingest/pages.py`);
    only of a document `user` sees."""
    record = next((r for r in assistant.documents(user) if r.doc_id == doc_id), None)
    if record is None:
        raise DocumentNotFound(
            f"The document '{doc_id}' is no longer in the library: add it again to see its pages."
        )
    return document_page(assistant.settings.paths.corpus_dir, record, page, phrases)


def page_view(assistant: Assistant, wanted: dict[str, Any], user: User | None = None) -> str:
    """Server function of the sources panel: a card's page drawn with its cited text
    highlighted, or why it cannot be (the file is gone or changed since it was indexed)."""
    page = int(wanted.get("page") or 0)
    phrases = list(wanted.get("phrases", []))
    try:
        shown = cited_page(assistant, str(wanted.get("doc")), page, phrases, user)
    except AssistantError as exc:
        return f'<div class="failed">{_text(exc)}</div>'
    data = base64.b64encode(shown.png).decode("ascii")
    alt = f"Page {page}, the cited text highlighted"
    notes = []
    if shown.missed and not shown.boxes:
        notes.append(
            "The cited text was not found in the page's words, so the page is shown "
            "without a highlight: the passage above is the text cited."
        )
    elif shown.missed:
        notes.append(f"{len(shown.missed)} part(s) of the cited text were not found on the page.")
    if shown.scanned:
        notes.append("A scanned page: the highlight is placed from the words OCR found on it.")
    note = "".join(f'<div class="note">{html.escape(n)}</div>' for n in notes)
    return (
        f'<img src="data:image/png;base64,{data}" alt="{alt}" width="{shown.width}" '
        f'height="{shown.height}">{note}'
    )


def _export_path(assistant: Assistant, name: str, suffix: str, user: User | None = None) -> Path:
    """A new file under data/exports (the one folder the UI serves downloads from), in
    the user's own folder and with a random part in its name: the UI serves that folder to
    anyone signed in, so another user's file must not be found by guessing."""
    folder = assistant.settings.paths.data_dir / "exports"
    if user is not None:
        folder = folder / user.name
    folder.mkdir(parents=True, exist_ok=True)
    name = name.replace("/", "-")  # a private document's id has folders
    stamp = time.strftime("%Y-%m-%d-%H%M%S")
    return folder / f"{name}-{stamp}-{secrets.token_hex(8)}{suffix}"


def _when() -> str:
    """Now, as an export says when it was prepared."""
    return time.strftime("%d %B %Y, %H:%M")


def comparing(
    assistant: Assistant, request: str, documents: Sequence[str] = (), user: User | None = None
) -> Iterator[tuple[str, list[str]]]:
    """Event handler: the comparison table as its rows are ready, then its exports
    (Markdown and CSV paths)."""
    if not request.strip():
        yield '<p class="note">Type a topic to compare the documents on.</p>', []
        return
    titles = {r.doc_id: r.title for r in assistant.documents(user)}
    try:
        order = compared(assistant, documents, user)
        rows: list[Row] = []
        yield compare_html(rows, [titles[d] for d in order]), []
        for row in assistant.compare(request, order, user):
            rows.append(row)
            yield compare_html(rows, [titles[d] for d in order[len(rows) :]]), []
    except AssistantError as exc:
        yield f'<div class="failed"><strong>Not compared.</strong> {_text(exc)}</div>', []
        return
    markdown = _export_path(assistant, "comparison", ".md", user)
    model = rows[0].answer.model.get("name", "") if rows else ""
    markdown.write_text(comparison_markdown(topic_of(request), rows, model, _when()), "utf-8")
    table = markdown.with_suffix(".csv")
    table.write_text(comparison_csv(rows), encoding="utf-8")
    yield compare_html(rows), [str(markdown), str(table)]


def briefing(
    assistant: Assistant, document: str | None, summaries: bool = False, user: User | None = None
) -> Iterator[tuple[str, str | None]]:
    """Event handler: the brief at once with the summaries already kept, then (with
    `summaries`) again as each section's summary is written, or else the rest written in
    the background; last, the path of its Markdown export."""
    if not document:
        yield '<p class="note">Choose a document to brief.</p>', None
        return
    try:
        made = from_cache(assistant, assistant.brief(document, user))
        yield brief_html(made, summarising=summaries), None
        if not summaries:
            summarise_in_background(assistant, made)
        if summaries:
            for step in with_summaries(assistant, made):
                made = step
                yield brief_html(made, summarising=True), None
    except AssistantError as exc:
        yield f'<div class="failed"><strong>No brief.</strong> {_text(exc)}</div>', None
        return
    path = _export_path(assistant, f"brief-{made.document.doc_id}", ".md", user)
    path.write_text(brief_markdown(made, _when()), encoding="utf-8")
    note = ""
    if not summaries and missing(made):
        note = (
            f'<p class="note pending">{missing(made)} section summaries are being written in '
            "the background; press Brief again to see those ready.</p>"
        )
    yield note + brief_html(made), str(path)


def reopen(store: Conversations, conversation: str) -> tuple[Chat, list[Answer], str]:
    """Event handler: a kept conversation as the chat, its answers and its sources."""
    answers = store.answers(conversation)
    chat: Chat = []
    for turn, answer in enumerate(answers, start=1):
        chat.append({"role": "user", "content": html.escape(answer.question)})
        chat.append({"role": "assistant", "content": answer_html(answer, turn)})
    return chat, answers, sources_html(answers)


def rate(
    store: Conversations, answers: list[Answer], index: Any, liked: Any, comment: str = ""
) -> tuple[str, str | None]:
    """Event handler: keep a thumbs up or down on the answer at chat message `index`;
    returns what the user is told and the rated answer's id (for a comment after)."""
    position = index[0] if isinstance(index, (tuple, list)) else int(index)
    turn = position // 2  # user and assistant messages alternate
    if liked is None or not 0 <= turn < len(answers):
        return "", None
    answer = answers[turn]
    rating = "up" if liked is True or liked == "Like" else "down"
    store.rate(answer, rating, comment)
    thumb = "👍" if rating == "up" else "👎"
    return f"{thumb} kept for “{html.escape(_clip(answer.question, 80))}”.", answer.id


def comment_on(store: Conversations, answers: list[Answer], rated: str | None, comment: str) -> str:
    """Event handler: add a comment to the answer rated last."""
    answer = next((a for a in answers if a.id == rated), None)
    if answer is None:
        return "Rate an answer with 👍 or 👎 first, then add your comment."
    if not comment.strip():
        return "Type a comment first."
    kept = {f.answer_id: f.rating for f in store.feedback()}
    store.rate(answer, kept.get(answer.id, "down"), comment)
    return f"Comment kept for “{html.escape(_clip(answer.question, 80))}”."


def conversation_choices(store: Conversations) -> list[tuple[str, str]]:
    try:
        return [(c.label, c.id) for c in store.recent()]
    except ConversationsUnavailable:
        return []


# ---------------------------------------------------------------- layout


def build_ui(
    assistant: Assistant, accounts: Accounts | None = None, queue: AnswerQueue | None = None
) -> Any:
    """The Blocks; with `accounts`, each handler acts for the signed-in user (Gradio's
    login), and the lists that differ by user are filled when their page loads."""
    import gradio as gr

    settings = assistant.settings
    queue = queue or AnswerQueue.from_settings(settings)
    top_k = settings.retrieval.top_k
    shared_only = User("", "reader") if accounts is not None else None  # before sign-in
    rows, choices = _library(assistant, shared_only)
    metadata = read_metadata(settings.paths.corpus_dir)
    examples = suggested_questions(
        assistant.documents(shared_only),
        examples={name: entry["example"] for name, entry in metadata.items() if "example" in entry},
    )
    types = list(SUPPORTED_SUFFIXES)

    def person(request: Any) -> User | None:
        """The signed-in user of a request (None with no accounts)."""
        if accounts is None:
            return None
        name = getattr(request, "username", None)
        if not name:
            raise AssistantError("Sign in again: your session has ended.")
        return accounts.user(name)

    def store_of(request: Any) -> Conversations:
        user = person(request)
        return Conversations(settings.paths.data_dir, owner=user.name if user else "")

    def shown_page(wanted: dict[str, Any], request: Any = None) -> str:
        return page_view(assistant, wanted, person(request))

    _takes_request(shown_page)

    with gr.Blocks(title="Policy assistant (offline)") as demo:
        answers = gr.State([])
        library_seen = gr.State(assistant.library_version)  # refreshed when the index changes
        current = gr.State(None)  # the id of the conversation kept, once it has a turn
        rated = gr.State(None)  # the answer rated last, for a comment
        with gr.Row(equal_height=False):
            gr.Markdown(
                "## Policy assistant\nAnswers come only from the indexed documents; every "
                "sentence cites its source. Hover or click a number [1] to see the passage."
            )
            status = gr.Markdown(status_markdown(assistant, top_k), elem_id="status")
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=340):
                        chatbot = gr.Chatbot(
                            label="Conversation",
                            elem_id="chat",
                            height="58vh",
                            buttons=[],
                            feedback_options=("Like", "Dislike"),
                            placeholder="Ask a question about the documents below, or pick an "
                            "example.",
                        )
                        scope = gr.Dropdown(
                            choices,
                            value=[],
                            multiselect=True,
                            label="Search only these documents (leave empty to search all)",
                            elem_id="scope",
                        )
                        with gr.Row():
                            box = gr.Textbox(
                                placeholder="Type a question and press Enter",
                                show_label=False,
                                scale=8,
                                min_width=260,
                                autofocus=True,
                                lines=1,
                                max_lines=4,
                                elem_id="question",
                            )
                            send = gr.Button("Ask", variant="primary", scale=1, min_width=70)
                            stop = gr.Button("Stop", variant="stop", scale=1, min_width=70)
                        gr.Examples(examples, inputs=box, label="Example questions")
                        with gr.Row():
                            clear = gr.Button("New conversation", size="sm")
                            save = gr.Button("Export conversation (Markdown)", size="sm")
                        exported = gr.File(
                            label="Exported conversation (with its cited PDF pages)",
                            file_count="multiple",
                            visible=False,
                            elem_id="export",
                        )
                    with gr.Column(scale=2, min_width=300):
                        with gr.Tabs():
                            with gr.Tab("Sources", id="sources"):
                                sources = gr.HTML(
                                    sources_html([]),
                                    elem_id="sources-panel",
                                    js_on_load=COPY_JS + PAGE_JS,
                                    server_functions=[shown_page],
                                )
                            with gr.Tab("Documents", id="documents"):
                                table = gr.HTML(rows, elem_id="documents")
                                files = gr.File(
                                    label="Add documents (PDF, DOCX, TXT, MD, HTML; scans as "
                                    f"PNG, JPG, TIFF; up to {settings.ui.max_upload_mb} MB each)",
                                    file_count="multiple",
                                    file_types=types,
                                    elem_id="upload",
                                )
                                stop_adding = gr.Button(
                                    "Stop adding",
                                    variant="stop",
                                    size="sm",
                                    visible=False,
                                    elem_id="stop-upload",
                                )
                                to_shared = gr.Checkbox(
                                    label="Add to the shared library (everyone reads it); "
                                    "else to your own space",
                                    value=False,
                                    visible=False,
                                    elem_id="to-shared",
                                )
                                report = gr.Markdown(elem_id="upload-report")
                                with gr.Row():
                                    doomed = gr.Dropdown(
                                        choices,
                                        label="A document",
                                        scale=3,
                                        elem_id="document-pick",
                                    )
                                    only = gr.Button("Ask this document", scale=1, min_width=80)
                                    drop = gr.Button(
                                        "Remove", variant="stop", scale=1, min_width=80
                                    )
                            with gr.Tab("Conversations", id="conversations"):
                                kept_list = gr.Dropdown(
                                    conversation_choices(Conversations(settings.paths.data_dir))
                                    if accounts is None
                                    else [],
                                    label="Past conversations (latest first)",
                                    elem_id="conversations",
                                )
                                with gr.Row():
                                    reopen_button = gr.Button("Open", size="sm")
                                    delete_button = gr.Button("Delete", variant="stop", size="sm")
                                with gr.Row():
                                    new_title = gr.Textbox(
                                        placeholder="A new title", show_label=False, scale=3
                                    )
                                    rename_button = gr.Button("Rename", size="sm", scale=1)
                                gr.Markdown(
                                    "Conversations are kept on this computer. Deleting one "
                                    "leaves the audit log of its answers intact."
                                )
                                feedback_note = gr.Markdown(elem_id="feedback-note")
                                with gr.Row():
                                    feedback_text = gr.Textbox(
                                        placeholder="A comment on the answer you rated",
                                        show_label=False,
                                        scale=3,
                                        elem_id="feedback-comment",
                                    )
                                    send_comment = gr.Button("Send comment", size="sm", scale=1)
                            with gr.Tab("Settings", id="settings"):
                                passages = gr.Slider(
                                    1, 12, value=top_k, step=1, label="Passages given to the model"
                                )
                                gr.Markdown(
                                    "Fewer passages answer faster; more find answers spread across "
                                    "documents. The model and the documents stay on this computer."
                                )
            with gr.Tab("Compare", id="compare"):
                gr.Markdown(
                    "What does each document say about a topic? Each document is searched "
                    "on its own, so none is crowded out; every cell is checked and cited."
                )
                with gr.Row():
                    topic = gr.Textbox(
                        placeholder="A topic (open-source AI) or a question (What does each "
                        "document say about data residency?)",
                        show_label=False,
                        scale=6,
                        elem_id="compare-topic",
                    )
                    run_compare = gr.Button("Compare", variant="primary", scale=1, min_width=90)
                    stop_compare = gr.Button("Stop", variant="stop", scale=1, min_width=70)
                compared = gr.Dropdown(
                    choices,
                    value=[],
                    multiselect=True,
                    label="Documents to compare (leave empty for all)",
                    elem_id="compare-docs",
                )
                comparison = gr.HTML(compare_html([]), elem_id="compare-table")
                compare_files = gr.File(
                    label="The table as Markdown and CSV",
                    file_count="multiple",
                    visible=False,
                    elem_id="compare-export",
                )
            with gr.Tab("Brief", id="brief"):
                gr.Markdown(
                    "A document's outline with the key points of each section, quoted as they "
                    "stand (instant); and, if asked, the local model's checked summary of each "
                    "section (kept, so only the first brief of a document waits for it)."
                )
                with gr.Row():
                    to_brief = gr.Dropdown(
                        choices, label="Document", scale=4, elem_id="brief-document"
                    )
                    summarise = gr.Checkbox(
                        label="Also summarise each section", value=False, scale=2
                    )
                    run_brief = gr.Button("Brief", variant="primary", scale=1, min_width=90)
                    stop_brief = gr.Button("Stop", variant="stop", scale=1, min_width=70)
                brief_out = gr.HTML(elem_id="brief")
                brief_file = gr.File(
                    label="The brief as Markdown", visible=False, elem_id="brief-export"
                )

        def ask(
            message: str,
            history: Chat,
            kept: list[Answer],
            k: float,
            chosen: list[str] | None,
            conversation: str | None,
            request: Any,
        ) -> Iterator[Any]:
            kept = kept or []
            chat, done = history or [], kept
            user, store = person(request), store_of(request)
            for chat, done, panel, box_value in respond(
                assistant, message, history or [], kept, int(k), chosen or [], user, queue
            ):
                yield chat, done, panel, box_value, conversation, gr.skip()
            if len(done) > len(kept):  # an answer was given: keep it
                try:
                    conversation = store.add(conversation, done[-1])
                except ConversationsUnavailable as exc:
                    gr.Warning(str(exc))
                listed = gr.Dropdown(choices=conversation_choices(store))
                yield chat, done, sources_html(done), "", conversation, listed

        def opened(conversation: str | None, request: Any) -> Any:
            if not conversation:
                return gr.skip(), gr.skip(), gr.skip(), gr.skip()
            try:
                chat, kept, panel = reopen(store_of(request), conversation)
            except AssistantError as exc:
                gr.Warning(str(exc))
                return gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return chat, kept, panel, conversation

        def forget(conversation: str | None, open_one: str | None, request: Any) -> Any:
            store = store_of(request)
            if conversation:
                try:
                    store.delete(conversation)
                except AssistantError as exc:
                    gr.Warning(str(exc))
            listed = gr.Dropdown(choices=conversation_choices(store), value=None)
            return listed, (None if open_one == conversation else open_one)

        def renamed(conversation: str | None, title: str, request: Any) -> Any:
            store = store_of(request)
            if conversation:
                try:
                    store.rename(conversation, title)
                except AssistantError as exc:
                    gr.Warning(str(exc))
            return gr.Dropdown(choices=conversation_choices(store), value=conversation), ""

        def liked(kept: list[Answer], data: gr.LikeData, request: Any) -> Any:
            try:
                return rate(store_of(request), kept or [], data.index, data.liked)
            except AssistantError as exc:
                return str(exc), None

        # Gradio finds where to pass the like's data by the annotation's type, which it
        # cannot resolve from the string this module's annotations are (gradio is imported
        # here, not at the top, to keep the command line quick to start).
        liked.__annotations__["data"] = gr.LikeData

        def commented(kept: list[Answer], answer_id: str | None, text: str, request: Any) -> Any:
            try:
                return comment_on(store_of(request), kept or [], answer_id, text), ""
            except AssistantError as exc:
                return str(exc), text

        def brief_view(document: str | None, summaries: bool, request: Any) -> Iterator[Any]:
            user = person(request)
            with queue.turn():
                for view, path in briefing(assistant, document, summaries, user):
                    yield view, gr.File(value=path, visible=path is not None)

        def compare_table(asked: str, chosen: list[str] | None, request: Any) -> Iterator[Any]:
            user = person(request)
            with queue.turn():
                for table_html, paths in comparing(assistant, asked, chosen or [], user):
                    yield table_html, gr.File(value=paths or None, visible=bool(paths))

        def narrowed(new_choices: list[tuple[str, str]], chosen: list[str] | None) -> Any:
            """The scope's choices after the library changed, keeping what is still there."""
            kept = [d for d in chosen or [] if d in {doc_id for _, doc_id in new_choices}]
            return gr.Dropdown(choices=new_choices, value=kept)

        stops: dict[str, threading.Event] = {}  # a window's upload under way, to stop
        window = gr.State(lambda: uuid.uuid4().hex)  # which window (browser tab) asks

        def add(
            paths: list[str] | None,
            chosen: list[str] | None,
            to_compare: list[str] | None,
            window: str,
            shared: bool,
            request: Any,
            progress: Any = gr.Progress(),  # noqa: B008
        ) -> Any:
            stop = stops.setdefault(window, threading.Event())
            stop.clear()
            user = person(request)
            text, new_rows, new_choices = upload(assistant, paths, progress, stop, user, shared)
            picker = gr.Dropdown(choices=new_choices, value=None)
            pickers = narrowed(new_choices, chosen), narrowed(new_choices, to_compare)
            return text, new_rows, picker, None, *pickers, gr.Dropdown(choices=new_choices)

        def delete(
            doc_id: str | None,
            chosen: list[str] | None,
            to_compare: list[str] | None,
            request: Any,
            progress: Any = gr.Progress(),  # noqa: B008
        ) -> Any:
            text, new_rows, new_choices = remove(assistant, doc_id, progress, person(request))
            picker = gr.Dropdown(choices=new_choices, value=None)
            return (
                text,
                new_rows,
                picker,
                narrowed(new_choices, chosen),
                narrowed(new_choices, to_compare),
            )

        def refreshed(
            seen: int, chosen: list[str] | None, to_compare: list[str] | None, request: Any
        ) -> Any:
            changed = library_since(assistant, seen, person(request))
            if changed is None:
                return (gr.skip(),) * 6
            version, new_rows, new_choices = changed
            picker = gr.Dropdown(choices=new_choices)
            pickers = narrowed(new_choices, chosen), narrowed(new_choices, to_compare)
            return version, new_rows, picker, *pickers, gr.Dropdown(choices=new_choices)

        def keep(kept: list[Answer], request: Any) -> Any:
            path = export(assistant, kept or [], person(request))
            if path is None:
                return gr.File(value=None, visible=False)
            pages = Path(path).with_name(f"{Path(path).stem}-pages")
            images = sorted(str(p) for p in pages.glob("*.png"))
            return gr.File(value=[path, *images], visible=True)

        def signed_in(request: Any) -> Any:
            """What differs by user, filled when the page loads."""
            user = person(request)
            new_rows, new_choices = _library(assistant, user)
            listed = conversation_choices(store_of(request))
            pick = gr.Dropdown(choices=new_choices)
            return (
                new_rows,
                pick,
                pick,
                pick,
                pick,
                gr.Dropdown(choices=listed),
                gr.Checkbox(visible=bool(user and user.edits_shared)),
                status_markdown(assistant, top_k, user),
            )

        for handler in (
            ask,
            opened,
            forget,
            renamed,
            liked,
            commented,
            brief_view,
            compare_table,
            add,
            delete,
            refreshed,
            keep,
            signed_in,
        ):
            _takes_request(handler)
        if accounts is not None:
            demo.load(
                signed_in,
                None,
                [table, doomed, scope, compared, to_brief, kept_list, to_shared, status],
            )

        chat_io = (
            [box, chatbot, answers, passages, scope, current],
            [chatbot, answers, sources, box, current, kept_list],
        )
        # questions wait in the answer queue (shared with the API), which shows their place
        many = queue.slots + queue.max_waiting
        asking = [
            trigger(ask, *chat_io, concurrency_limit=many, concurrency_id="ask")
            for trigger in (box.submit, send.click)
        ]
        stop.click(None, None, None, cancels=asking)  # type: ignore[arg-type]
        briefed = run_brief.click(
            brief_view,
            [to_brief, summarise],
            [brief_out, brief_file],
            concurrency_limit=1,
            concurrency_id="model",
        )
        # the summaries written so far are kept: briefing again carries on from them
        stop_brief.click(None, None, None, cancels=[briefed])
        compare_io = ([topic, compared], [comparison, compare_files])
        comparing_events = [
            trigger(compare_table, *compare_io, concurrency_limit=1, concurrency_id="model")
            for trigger in (topic.submit, run_compare.click)
        ]
        stop_compare.click(None, None, None, cancels=comparing_events)  # type: ignore[arg-type]
        clear.click(
            lambda: ([], [], sources_html([]), gr.File(value=None, visible=False), None),
            None,
            [chatbot, answers, sources, exported, current],
            cancels=asking,  # type: ignore[arg-type]
        )
        reopen_button.click(
            opened,
            kept_list,
            [chatbot, answers, sources, current],
            cancels=asking,  # type: ignore[arg-type]
        )
        delete_button.click(
            forget,
            [kept_list, current],
            [kept_list, current],
            js="(c, o) => [(c && confirm('Delete this conversation? The audit log keeps its "
            "answers.')) ? c : null, o]",
        )
        rename_button.click(renamed, [kept_list, new_title], [kept_list, new_title])
        chatbot.like(liked, answers, [feedback_note, rated])
        send_comment.click(
            commented, [answers, rated, feedback_text], [feedback_note, feedback_text]
        )
        save.click(keep, answers, exported)

        def stop_upload(window: str) -> Any:
            stops.setdefault(window, threading.Event()).set()
            return gr.Button("Stopping…", interactive=False)

        files.upload(
            lambda: gr.Button("Stop adding", visible=True, interactive=True),
            None,
            stop_adding,
            queue=False,
        ).then(
            add,
            [files, scope, compared, window, to_shared],
            [report, table, doomed, files, scope, compared, to_brief],
            concurrency_id="library",
        ).then(lambda: gr.Button(visible=False), None, stop_adding, queue=False)
        stop_adding.click(stop_upload, window, stop_adding, queue=False)
        drop.click(
            delete,
            [doomed, scope, compared],
            [report, table, doomed, scope, compared, to_brief],
            js="(d, s, c) => [(d && confirm('Remove this document from the library?')) ? d : null"
            ", s, c]",
            concurrency_id="library",
        )
        only.click(lambda d: [d] if d else [], doomed, scope)
        # The documents list follows the corpus watcher's updates: a cheap version check
        # every two seconds, the rows rebuilt only when it moved.
        gr.Timer(2.0, active=settings.ui.watch_corpus).tick(
            refreshed,
            [library_seen, scope, compared],
            [library_seen, table, doomed, scope, compared, to_brief],
            show_progress="hidden",
        )

        def restated(k: float, request: Any) -> str:
            return status_markdown(assistant, int(k), person(request))

        _takes_request(restated)
        passages.change(restated, passages, status)
    return demo


def _takes_request(handler: Any) -> None:
    """Gradio passes the request to a handler's parameter annotated `gr.Request`; this
    module's annotations are strings it cannot resolve (gradio is imported late, to keep
    the command line quick to start), so the type is set here."""
    import gradio as gr

    handler.__annotations__["request"] = gr.Request
