"""Briefing: a document's outline with its key points, then a checked summary per section.

The outline is the document's sections in order (their pages, for a PDF), each with its
key points: the sentences most central to the section, quoted as they stand and cited.
They are chosen without the model, so a brief is instant even for a long report: each
sentence of the section is a TF-IDF vector over the document's words, and the sentences
closest (cosine) to the section's mean vector are its key points, kept in the order they
appear. Sentences are the section's passages cut by the same splitter as answers; the
overlap between passages is read once; a "sentence" without a verb-like length (under
six words) or without closing punctuation (a heading, a line of a table of contents) is
not a point.

A summary of each section is then written by the local model from that section's
passages and checked sentence by sentence like any answer (`Assistant.ask(passages=...)`),
and kept per document version (its SHA-256) under `data/briefs/`, so a brief is written
once per version of a document. Each summary is an answer in the audit log. They are
written as the caller waits (`with_summaries`), or in the background
(`summarise_in_background`, which the UI starts when a brief is opened) while the brief
shows the summaries already kept (`from_cache`).

Not done: a summary of the whole document (the sections' summaries are it, read in order).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..answers import Citation
from ..ingest.chunking import Chunk
from ..ingest.store import DocumentRecord
from .grounding import segment
from .retrieval import Hit
from .words import tokenize

if TYPE_CHECKING:
    from .assistant import Assistant

POINTS = 3  # key points of a section, at most
MIN_WORDS = 6
SUMMARY_SENTENCES = 3
SUMMARY_PASSAGES = 6  # of a long section, the first ones, for the model's context
SUMMARY_TOKENS = 240  # room for three sentences
_ENDS = re.compile(r"[.!?][\"”’)\]]*$")


@dataclass(frozen=True)
class KeyPoint:
    text: str  # as it stands in the document
    citation: Citation  # its passage


@dataclass(frozen=True)
class Section:
    title: str
    pages: tuple[int, ...]
    points: tuple[KeyPoint, ...]
    chunks: tuple[Chunk, ...] = field(repr=False)
    summary: str = ""  # the model's, checked; "" until written
    summary_id: str = ""  # its answer's id in the audit log
    summary_declined: bool = False  # the model's draft was not confirmed
    summary_citations: tuple[Citation, ...] = ()  # the passages its markers [n] name

    @property
    def where(self) -> str:
        if not self.pages:
            return ""
        first, last = min(self.pages), max(self.pages)
        return f"page {first}" if first == last else f"pages {first}–{last}"


@dataclass(frozen=True)
class Brief:
    document: DocumentRecord
    sections: tuple[Section, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "doc_id": self.document.doc_id,
            "title": self.document.title,
            "sha256": self.document.sha256,
            "sections": [
                {
                    "title": s.title,
                    "pages": list(s.pages),
                    "points": [
                        {"text": p.text, "citation": p.citation.contract()} for p in s.points
                    ],
                    "summary": s.summary,
                    "summary_id": s.summary_id,
                    "summary_declined": s.summary_declined,
                    "summary_citations": [c.contract() for c in s.summary_citations],
                }
                for s in self.sections
            ],
        }


def outline(document: DocumentRecord, chunks: Sequence[Chunk]) -> Brief:
    """The document's sections with their key points (no model)."""
    groups: list[list[Chunk]] = []
    for chunk in chunks:
        if groups and groups[-1][0].section == chunk.section:
            groups[-1].append(chunk)
        else:
            groups.append([chunk])
    pieces = [_sentences(group) for group in groups]
    vocabulary = _idf([s for group in pieces for s, _ in group])
    sections = []
    number = 0
    for group, sentences in zip(groups, pieces, strict=True):
        if not sentences:
            continue
        chosen = _central(sentences, vocabulary)
        points = []
        for text, chunk in chosen:
            number += 1
            hit = Hit(chunk, document, 1.0, None, None)
            points.append(KeyPoint(text, Citation.from_hit(number, hit)))
        pages = tuple(sorted({c.page for c in group if c.page}))
        title = group[0].section or document.title
        sections.append(Section(title, pages, tuple(points), tuple(group)))
    return Brief(document, tuple(sections))


def _sentences(group: Sequence[Chunk]) -> list[tuple[str, Chunk]]:
    """The section's sentences once each (passages overlap), with the passage of each."""
    seen: set[str] = set()
    out = []
    for chunk in group:
        for piece in segment(chunk.text):
            text = " ".join(piece.split())
            key = text.lower()
            if len(text.split()) < MIN_WORDS or not _ENDS.search(text) or key in seen:
                continue
            if sum(c.isupper() for c in text) > sum(c.islower() for c in text):
                continue  # a heading in capitals

            seen.add(key)
            out.append((text, chunk))
    return out


def _idf(sentences: Sequence[str]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for sentence in sentences:
        for word in set(tokenize(sentence)):
            counts[word] = counts.get(word, 0) + 1
    n = len(sentences)
    return {w: math.log((1 + n) / (1 + c)) + 1.0 for w, c in counts.items()}


def _central(
    sentences: Sequence[tuple[str, Chunk]], idf: dict[str, float]
) -> list[tuple[str, Chunk]]:
    """The sentences nearest the section's mean TF-IDF vector, in document order."""
    keep = min(POINTS, max(1, math.ceil(len(sentences) / 4)))
    if len(sentences) <= keep:
        return list(sentences)
    words = sorted({w for s, _ in sentences for w in tokenize(s)})
    column = {w: i for i, w in enumerate(words)}
    matrix = np.zeros((len(sentences), len(words)), dtype=np.float32)
    for row, (text, _) in enumerate(sentences):
        for word in tokenize(text):
            matrix[row, column[word]] += idf.get(word, 1.0)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = matrix / np.where(norms == 0, 1, norms)
    centre = unit.mean(axis=0)
    scores = unit @ (centre / (np.linalg.norm(centre) or 1.0))
    best = sorted(np.argsort(-scores, kind="stable")[:keep].tolist())
    return [sentences[i] for i in best]


# ---------------------------------------------------------------- model-written summaries


def summary_question(section: Section) -> str:
    return f"In two or three sentences, summarise what this section, “{section.title}”, says."


class BriefCache:
    """Summaries kept per document version: data/briefs/<sha256>.json."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "briefs"

    def _path(self, document: DocumentRecord) -> Path:
        return self.folder / f"{document.sha256}.json"

    def read(self, document: DocumentRecord) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self._path(document).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # none yet, or unreadable: written again
        return data if isinstance(data, dict) else {}

    def write(self, document: DocumentRecord, summaries: dict[str, dict[str, Any]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(document)
        staging = path.with_suffix(".tmp")
        staging.write_text(json.dumps(summaries, ensure_ascii=False, indent=1), "utf-8")
        staging.replace(path)


def with_summaries(
    assistant: Assistant,
    brief: Brief,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[Brief]:
    """The brief again after each section's summary is ready (from the cache when this
    version of the document was summarised before); the last one has them all."""
    cache = BriefCache(assistant.settings.paths.data_dir)
    kept = cache.read(brief.document)
    sections = list(brief.sections)
    for number, section in enumerate(sections):
        if progress is not None:
            progress(number, len(sections))
        key = f"{number}:{section.title}"
        if key not in kept:
            kept[key] = _summarise(assistant, brief.document, section)
            cache.write(brief.document, kept)
        sections[number] = _with(section, kept[key])
        yield replace(brief, sections=tuple(sections))
    if progress is not None:
        progress(len(sections), len(sections))


def _with(section: Section, done: dict[str, Any]) -> Section:
    return replace(
        section,
        summary=done["summary"],
        summary_id=done["id"],
        summary_declined=done["declined"],
        summary_citations=tuple(Citation(**c) for c in done["citations"]),
    )


def _summarise(assistant: Assistant, document: DocumentRecord, section: Section) -> dict:
    hits = [Hit(chunk, document, 1.0, None, None) for chunk in section.chunks[:SUMMARY_PASSAGES]]
    answer = assistant.ask(
        summary_question(section),
        passages=hits,
        max_sentences=SUMMARY_SENTENCES,
        max_tokens=SUMMARY_TOKENS,
    )
    return {
        "summary": "" if answer.declined else answer.answer,
        "id": answer.id,
        "declined": answer.declined,
        "citations": [asdict(c) for c in answer.citations],
    }


def from_cache(assistant: Assistant, brief: Brief) -> Brief:
    """The brief with the summaries already kept for this version of the document."""
    kept = BriefCache(assistant.settings.paths.data_dir).read(brief.document)
    sections = list(brief.sections)
    for number, section in enumerate(sections):
        done = kept.get(f"{number}:{section.title}")
        if done:
            sections[number] = _with(section, done)
    return replace(brief, sections=tuple(sections))


def missing(brief: Brief) -> int:
    """Sections without a summary (written or declined)."""
    return sum(1 for s in brief.sections if not s.summary and not s.summary_declined)


_RUNNING: dict[str, threading.Thread] = {}
_RUNNING_LOCK = threading.Lock()


def summarise_in_background(assistant: Assistant, brief: Brief) -> threading.Thread | None:
    """Write the missing summaries of `brief` in a background thread (one per document
    version at a time; the model takes turns with questions between sections)."""
    if not missing(from_cache(assistant, brief)):
        return None
    key = brief.document.sha256
    with _RUNNING_LOCK:
        running = _RUNNING.get(key)
        if running is not None and running.is_alive():
            return running

        def work() -> None:
            try:
                for _ in with_summaries(assistant, brief):
                    pass
            except Exception:  # the next brief of the document starts it again
                pass

        thread = threading.Thread(target=work, name=f"brief-{key[:8]}", daemon=True)
        _RUNNING[key] = thread
        thread.start()
        return thread
