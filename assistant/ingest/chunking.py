"""Chunking: documents into passages that fit the embedder, each with its section and offsets.

Two steps. First the markdown headings split a document into sections, each knowing its
heading path; the headings are found by a line scan rather than by langchain's
`MarkdownHeaderTextSplitter`, because that splitter rewrites whitespace and so loses the
character offsets a citation needs. A section is cut again where a PDF page starts, so a
passage lies on one page. Then langchain's `RecursiveCharacterTextSplitter` splits each
section on paragraphs, lines, sentences and words to at most `chunk_tokens` word pieces
of the embedder's own tokenizer, with overlap, keeping each piece's offset. A passage
that holds rows of a Markdown table but not its header carries the header, and the line
of prose before the table, beside its text (`Chunk.header`), so a row is read, searched
and checked under its column names and what the table is about.

Worked example (chunk_tokens large enough):

    "# Intro\\nHello.\\n## 1.2 DATA USE\\nThe UK AI plan."
    -> Chunk(section="Intro", text="Hello.", start=8, end=14)
       Chunk(section="1.2 Data use", text="The UK AI plan.", start=31, end=46)

All-capital headings are put in sentence case for display, keeping the acronyms that the
document itself writes in capitals elsewhere ("AI", "UK"). Not handled: setext headings
(underlined with === or ---), and headings inside code blocks are treated as headings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .documents import Document

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
# A Markdown table: its header row and the line under it, then its rows.
_TABLE = re.compile(r"^(?P<header>\|.*\|\n\|(?: ?:?-+:? ?\|)+)\n(?:\|.*\|(?:\n|$))*", re.M)
_SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    section: str
    section_path: str
    page: int | None
    start: int
    end: int
    text: str
    header: str = ""  # the caption and header of the table whose rows it holds, when not in it

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def passage(self) -> str:
        """The passage as the model, the search and the reader see it: rows of a table
        under their header."""
        return f"{self.header}\n{self.text}" if self.header else self.text


@dataclass(frozen=True)
class Section:
    path: tuple[str, ...]
    start: int
    end: int


def split_sections(text: str) -> list[Section]:
    """Sections between headings, with the heading path that leads to each."""
    acronyms = _acronyms(text)
    stack: list[tuple[int, str]] = []
    sections: list[Section] = []
    position = 0
    for match in _HEADING.finditer(text):
        if match.start() > position:
            sections.append(Section(tuple(t for _, t in stack), position, match.start()))
        level = len(match.group(1))
        title = display_heading(match.group(2), acronyms)
        stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, title)]
        position = match.end() + 1
    if position < len(text):
        sections.append(Section(tuple(t for _, t in stack), position, len(text)))
    return sections


def display_heading(heading: str, acronyms: frozenset[str] = frozenset()) -> str:
    heading = re.sub(r"[*_`]+", "", heading).strip().rstrip(":")
    letters = [c for c in heading if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        forms = {a.upper(): a for a in acronyms}  # "LLMS" -> "LLMs", and "uk's" -> "UK's"
        heading = re.sub(
            r"[a-z]+", lambda m: forms.get(m.group(0).upper(), m.group(0)), heading.lower()
        )
        index = next((i for i, c in enumerate(heading) if c.isalpha()), 0)
        heading = heading[:index] + heading[index].upper() + heading[index + 1 :]
    return heading


def _acronyms(text: str) -> frozenset[str]:
    body = _HEADING.sub("", text)
    found = set()
    for line in body.split("\n"):
        if sum(c.islower() for c in line) > 10:  # only lines of running text
            found.update(re.findall(r"\b[A-Z]{2,6}s?\b", line))
    return frozenset(found)


class Chunker:
    """Splits documents with a token counter (the embedder's tokenizer in production)."""

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        chunk_tokens: int = 200,
        overlap_tokens: int = 30,
        min_chunk_chars: int = 40,
    ) -> None:
        # Imported here: it pulls in langchain-core (a second of start-up), and only
        # indexing needs it, not answering or an up-to-date `assistant index`.
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.min_chunk_chars = min_chunk_chars
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_tokens,
            chunk_overlap=overlap_tokens,
            length_function=count_tokens,
            separators=_SEPARATORS,
            keep_separator="end",
            add_start_index=True,
            strip_whitespace=True,
        )

    def chunks(self, document: Document) -> list[Chunk]:
        pieces = list(self._pieces(document))
        if not pieces and document.text.strip():  # a tiny document is still one passage
            text = document.text.strip()
            start = document.text.find(text)
            pieces = [("", "", start, text)]
        tables: list[tuple[int, int, int, str]] = []
        caption = ""
        for m in _TABLE.finditer(document.text):
            goes_on = tables and not document.text[tables[-1][2] : m.start()].strip()
            caption = caption if goes_on else _caption(document.text, m.start())
            tables.append((m.start(), m.end("header"), m.end(), caption + m["header"]))
        return [
            Chunk(
                chunk_id=f"{document.doc_id}#{n}",
                doc_id=document.doc_id,
                section=section,
                section_path=path,
                page=document.page_at(start),
                start=start,
                end=start + len(text),
                text=text,
                header=next((h for _, s, e, h in tables if s <= start < e), ""),
            )
            for n, (section, path, start, text) in enumerate(pieces)
        ]

    def _pieces(self, document: Document) -> Iterator[tuple[str, str, int, str]]:
        for section, begin, end in _on_pages(split_sections(document.text), document.pages):
            body = document.text[begin:end]
            if not body.strip():
                continue
            for piece in self.splitter.create_documents([body]):
                text = piece.page_content
                if len(text) < self.min_chunk_chars:
                    continue
                start = begin + int(piece.metadata["start_index"])
                if document.text[start : start + len(text)] != text:  # should never happen
                    start = document.text.find(text, begin)
                title = section.path[-1] if section.path else ""
                yield title, " › ".join(section.path), start, text


def _caption(text: str, start: int) -> str:
    """The line of prose just before a table ("Table 2: share of electricity by source"),
    with a line break, kept with the table's rows; "" when there is none. A table that
    goes on from the page before keeps that page's caption."""
    before = text[:start].rstrip("\n").rsplit("\n", 1)[-1].strip()
    if not before or before.startswith(("|", "#")) or len(before) > 300:
        return ""
    return before + "\n"


def _on_pages(
    sections: list[Section], pages: tuple[tuple[int, int], ...]
) -> Iterator[tuple[Section, int, int]]:
    """Each section's span, cut where a page starts: a passage lies on one page, so the
    page its citation gives is where all of it is."""
    starts = [offset for offset, _ in pages]
    for section in sections:
        cuts = [section.start, *(o for o in starts if section.start < o < section.end)]
        for begin, end in zip(cuts, [*cuts[1:], section.end], strict=True):
            yield section, begin, end


def embedding_text(chunk: Chunk, title: str) -> str:
    """What the embedder and BM25 see: the passage with its document and section names."""
    heading = f"{title} — {chunk.section_path}" if chunk.section_path else title
    return f"{heading}\n{chunk.passage}"
