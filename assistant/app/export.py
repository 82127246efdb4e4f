"""Export: answers as text people keep, with their references and source passages.

`reference()` is the one-line reference of a cited passage (title, publisher, date,
section, page); `answer_markdown()` is one answer with its references, for pasting;
`conversation_markdown()` is a whole conversation as a brief: each question, its answer,
and each cited passage quoted with the sentences that support the answer in bold.
`labelled()` names the document of each paragraph of a comparison.
`highlighted()` splits a passage into (text, supports the answer?) pieces for display;
`citation_phrases()` gives the text to highlight on the cited page.
`write_conversation()` writes the brief to a file with, beside it in `<name>-pages/`, each
cited PDF (or scanned) page as an image with the cited sentences highlighted, linked from
its reference.

`brief_markdown()` is a document's brief: its sections, key points quoted and cited,
and the model's checked summary of each where written.
`comparison_markdown()` and `comparison_csv()` are a comparison table (one row per
document) with each row's references.

It leaves out passages that were retrieved but not cited.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..answering.assistant import UNCONFIRMED_TEXT
from ..answering.briefing import Brief
from ..answering.comparison import Row
from ..answering.grounding import short_title, supporting_spans
from ..answering.prompting import cited_numbers
from ..answers import Answer, Citation
from ..errors import AssistantError

DECLINED_NOTE = (
    "The indexed documents do not answer this question. Try other words, or add a "
    "document that covers it."
)
# The passages found do speak to the question, but nothing the model drafted from them
# could be checked against them: "the documents do not answer" would be untrue.
UNCONFIRMED_NOTE = (
    "The passages found bear on this question, but no answer drawn from them could be "
    "checked against them. Read the passages under Sources, ask more narrowly, or name "
    "the document."
)


# A decline that says what is missing: "The documents give no figure for this.", "The
# documents do not mention NHS." (`answering.assistant.accept`)
_SPECIFIC = re.compile(r"^The documents (?:give no \w+ for|do not mention) [^.]+\.")


def declined_note(answer: Answer) -> str:
    """What is said of a declined answer: that the documents do not answer it (what they
    lack, where the answer says: "The documents give no figure for this."), or, when a
    draft from the passages was withheld as unsupported, that they bear on it. A decline
    that quotes what the documents come closest to saying shows that text after this."""
    if answer.answer.startswith(UNCONFIRMED_TEXT):
        return UNCONFIRMED_NOTE
    specific = _SPECIFIC.match(answer.answer)
    if specific and not answer.citations:
        return f"{specific.group(0)} Try other words, or add a document that covers it."
    return DECLINED_NOTE


_SAYS = r"(?:say|state|note|write|argue|report|mention|suggest|explain|stress)(?:e?s)?"
# the question's own frame, copied into one document's paragraph: "The reports say that"
_ALL_OF_THEM = r"(?:the|these) (?:documents|reports|papers|sources)"


def labelled(answer: Answer) -> str:
    """The answer's text with each paragraph of an answer that compares documents (one
    paragraph per document, `Assistant.stream`) opening with the name of the document it
    cites: "**The Open Dividend** (Demos): ..."; other answers as they are. A paragraph
    that opens by naming its document ("“The Open Dividend” says that ...") says it once,
    and one that opens by speaking for all of them ("The reports say that ...",
    "According to the documents, ...") speaks for its own. A paragraph of the same document
    as the one before it (the rest of a list, asked for after) is not headed again."""
    paragraphs = answer.answer.split("\n\n")
    if answer.declined or len(paragraphs) < 2:
        return answer.answer
    by_n = {c.n: c for c in answer.contexts}
    out = []
    headed = None  # the document the paragraphs before were headed with
    for paragraph in paragraphs:
        cited = [by_n[n] for n in cited_numbers(paragraph, max(by_n, default=0)) if n in by_n]
        documents = {c.doc_id for c in cited}
        if len(documents) == 1:
            doc = cited[0]
            by = f" ({doc.publisher})" if doc.publisher else ""
            # "“The Open Dividend” says that X" under its own heading is "X"
            said = re.match(
                rf"(?:(?:“{re.escape(short_title(doc.title))}”|“{re.escape(doc.title)}”)"
                rf"\s+{_SAYS}\s+(?:that\s+)?"  # not "The papers mention export controls"
                rf"|{_ALL_OF_THEM}\s+{_SAYS}\s+that\s+|according to {_ALL_OF_THEM},\s+)(?=\w)",
                paragraph,
                re.I,
            )
            if said:
                rest = paragraph[said.end() :]
                paragraph = rest[0].upper() + rest[1:]
            if doc.doc_id != headed:
                paragraph = f"**{short_title(doc.title)}**{by}: {paragraph}"
                headed = doc.doc_id
        elif documents:  # a paragraph citing several documents ends the heading's reach
            headed = None
        out.append(paragraph)
    return "\n\n".join(out)


def reference(c: Citation) -> str:
    """ "Title (Publisher, date), §section, page 4" """
    return c.reference


def highlighted(answer: Answer, c: Citation) -> list[tuple[str, bool]]:
    """The passage as pieces, each marked True when it supports the answer."""
    spans = supporting_spans(answer.answer, c.n, c.text) if not answer.declined else []
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in spans:
        if start > at:
            pieces.append((c.text[at:start], False))
        pieces.append((c.text[start:end], True))
        at = end
    if at < len(c.text):
        pieces.append((c.text[at:], False))
    return pieces


def citation_phrases(answer: Answer, c: Citation) -> list[str]:
    """The text to highlight where the passage stands on its page: the sentences marked
    in `highlighted()`, or the whole passage when none is (an uncited or declined one)."""
    marked = [text for text, supports in highlighted(answer, c) if supports]
    return marked or [c.text]


@dataclass(frozen=True)
class PageLink:
    """A cited page in an export: its image file (relative to the Markdown), or why
    there is none."""

    file: str = ""
    note: str = ""


def answer_markdown(answer: Answer) -> str:
    """One answer with its references, ready to paste."""
    if answer.declined and not answer.citations:
        return f"{answer.question}\n\n{declined_note(answer)}\n"
    lines = [labelled(answer), "", "References:"]
    if answer.declined:
        lines[:0] = [answer.question, "", declined_note(answer), ""]
    lines += [f"[{c.n}] {reference(c)}" for c in answer.citations]
    return "\n".join(lines) + "\n"


def conversation_markdown(
    answers: Sequence[Answer],
    model: str = "",
    when: str = "",
    pages: Mapping[tuple[int, int], PageLink] | None = None,
) -> str:
    """The conversation as a brief: questions, answers, references, quoted passages;
    `pages` links a reference (answer number, citation number) to its page's image."""
    pages = pages or {}
    lines = ["# Questions answered from the indexed documents", ""]
    made = ", ".join(p for p in (when and f"Prepared {when}", model and f"model {model}") if p)
    if made:
        lines += [f"_{made}. Every answer cites the passages below; check them before use._", ""]
    for number, answer in enumerate(answers, start=1):
        lines += [f"## {number}. {answer.question}", ""]
        if answer.declined:
            lines += [f"_{declined_note(answer)}_", ""]
            if not answer.citations:
                continue
        lines += [labelled(answer), ""]
        for note in answer.warnings:
            lines += [f"_Note: {note}_", ""]
        if answer.citations:
            lines += ["### Sources", ""]
        for c in answer.citations:
            link = pages.get((number, c.n), PageLink())
            shown = (
                f" ([page {c.page}, the cited text highlighted]({link.file}))" if link.file else ""
            )
            lines += [f"**[{c.n}] {reference(c)}**{shown}", ""]
            if link.note:
                lines += [f"_No page image: {link.note}_", ""]
            lines += [*quoted_passage(answer, c), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_conversation(
    path: Path,
    answers: Sequence[Answer],
    model: str = "",
    when: str = "",
    page: Callable[[Answer, Citation], bytes] | None = None,
) -> list[Path]:
    """Write the brief to `path`; with `page` (the PNG of a citation's page, highlighted),
    each citation that has a page gets its image in `<name>-pages/` beside it. Returns the
    files written, the Markdown first."""
    folder = path.with_name(f"{path.stem}-pages")
    links: dict[tuple[int, int], PageLink] = {}
    images: list[Path] = []
    for number, answer in enumerate(answers, start=1):
        for c in answer.citations:
            if page is None or c.page is None:  # text, HTML, DOCX: the quote stands for it
                continue
            try:
                png = page(answer, c)
            except AssistantError as exc:  # gone or changed since indexed: say so
                links[(number, c.n)] = PageLink(note=str(exc))
                continue
            folder.mkdir(parents=True, exist_ok=True)
            image = folder / f"{number}-{c.n}-{_SLUG.sub('-', c.doc_id)}-p{c.page}.png"
            image.write_bytes(png)
            images.append(image)
            links[(number, c.n)] = PageLink(file=f"{folder.name}/{image.name}")
    path.write_text(conversation_markdown(answers, model, when, links), encoding="utf-8")
    return [path, *images]


_SLUG = re.compile(r"[^A-Za-z0-9_.-]+")


def quoted_passage(answer: Answer, c: Citation) -> list[str]:
    """The passage as Markdown quote lines, what supports the answer in bold: prose on
    one line; the rows of a table line by line under its caption and header row (which
    the passage is read under), so that the quote is still a table."""
    pieces = highlighted(answer, c)
    if not c.header:
        return ["> " + "".join(f"**{_inline(t)}**" if m else _inline(t) for t, m in pieces)]
    lines = [f"> {line}" for line in c.header.split("\n")]
    at = 0
    for line in c.text.split("\n"):
        end = at + len(line)
        marked = any(m and start < end and at < start + len(t) for start, t, m in _offsets(pieces))
        if marked and line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])
            line = "|" + "|".join(f" **{x.strip()}** " if x.strip() else x for x in cells) + "|"
        elif marked:
            line = f"**{line.strip()}**" if line.strip() else line
        lines.append(f"> {line}")
        at = end + 1
    return lines


def _offsets(pieces: list[tuple[str, bool]]) -> list[tuple[int, str, bool]]:
    out, at = [], 0
    for text, marked in pieces:
        out.append((at, text, marked))
        at += len(text)
    return out


def _inline(text: str) -> str:
    """Passage text on one line, so the whole passage stays inside its quote."""
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return lead + " ".join(text.replace("*", "\\*").split()) + trail


def comparison_markdown(topic: str, rows: Sequence[Row], model: str = "", when: str = "") -> str:
    """The comparison as a Markdown table, each document's references beneath it."""
    lines = [f"# What each document says about {topic}", ""]
    made = ", ".join(p for p in (when and f"Prepared {when}", model and f"model {model}") if p)
    if made:
        lines += [f"_{made}. Each row was searched and checked on its own document._", ""]
    lines += ["| Document | What it says |", "| --- | --- |"]
    for row in rows:
        lines.append(f"| {_cell(row.title)} | {_cell(row.text)} |")
    lines += ["", "## References", ""]
    for row in rows:
        if row.declined:
            continue
        lines += [f"**{row.title}**", ""]
        lines += [f"- [{c.n}] {reference(c)}" for c in row.citations]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def comparison_csv(rows: Sequence[Row]) -> str:
    """The comparison as CSV: one line per document, its references in one column."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["doc_id", "title", "answer", "declined", "references", "answer_id"])
    for row in rows:
        references = "; ".join(f"[{c.n}] {reference(c)}" for c in row.citations)
        writer.writerow([row.doc_id, row.title, row.text, row.declined, references, row.answer.id])
    return out.getvalue()


def _cell(text: str) -> str:
    """Text inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def brief_markdown(brief: Brief, when: str = "") -> str:
    """A document's brief: each section with its summary (where written) and key points,
    each point quoted with where it stands (section, page) and its passage's number."""
    doc = brief.document
    about = ", ".join(p for p in (doc.publisher, doc.date) if p)
    note = "Key points are quoted from the document as they stand"
    if any(s.summary or s.summary_declined for s in brief.sections):
        note += "; summaries were written by the local model and checked against the section"
    lines = [f"# Brief: {doc.title}", ""]
    lines += [f"_{about + '. ' if about else ''}{note}.{f' Prepared {when}.' if when else ''}_", ""]
    for section in brief.sections:
        heading = section.title + (f" ({section.where})" if section.where else "")
        lines += [f"## {heading}", ""]
        if section.summary:
            lines += [f"**Summary.** {section.summary}", ""]
            lines += [f"- [{c.n}] {reference(c)}" for c in section.summary_citations]
            lines.append("")
        elif section.summary_declined:
            lines += ["_No summary could be confirmed against this section._", ""]
        lines += ["**Key points**", ""]
        for point in section.points:
            where = f"page {point.citation.page}" if point.citation.page else ""
            lines.append(f"- “{_inline(point.text)}”" + (f" ({where})" if where else ""))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
