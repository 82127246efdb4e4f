"""Chunking: a hand-checked reference case, heading display, and exact offsets on the corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest.chunking import Chunk, Chunker, Section, display_heading, split_sections
from assistant.ingest.documents import Document, load_document
from assistant.settings import Settings

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

# Offsets counted by hand: "# Budget\n" is 0-8, a blank line at 9, the first paragraph
# 10-56 (47 characters), blank lines 57-58, the heading 59-84, blank lines 85-86 and
# the last paragraph 87-169 (sentences of 5, 4, 3 and 3 words), then "\n" at 170.
REFERENCE = (
    "# Budget\n"
    "\n"
    "The council will spend more on parks this year.\n"
    "\n"
    "## 2.1 NHS AND AI SPENDING\n"
    "\n"
    "The NHS buys AI tools. Staff train for weeks. Wards get tablets. Nurses log shifts.\n"
)


def words(text: str) -> int:
    return len(text.split())


def document(text: str, doc_id: str = "ref") -> Document:
    return Document(doc_id, f"{doc_id}.md", "Reference", "", "", text, "0" * 64, "md")


def test_reference_sections() -> None:
    assert split_sections(REFERENCE) == [
        Section(("Budget",), 9, 59),
        Section(("Budget", "2.1 NHS and AI spending"), 86, 171),
    ]


def test_reference_chunks_exact_boundaries_with_overlap() -> None:
    # 10 words a chunk with 4 of overlap: the 15-word paragraph is split at sentence ends,
    # and the second chunk repeats the 4-word sentence "Staff train for weeks.".
    chunker = Chunker(words, chunk_tokens=10, overlap_tokens=4, min_chunk_chars=10)
    section = "2.1 NHS and AI spending"
    path = "Budget › 2.1 NHS and AI spending"
    assert chunker.chunks(document(REFERENCE)) == [
        Chunk(
            "ref#0",
            "ref",
            "Budget",
            "Budget",
            None,
            10,
            57,
            "The council will spend more on parks this year.",
        ),
        Chunk(
            "ref#1",
            "ref",
            section,
            path,
            None,
            87,
            132,
            "The NHS buys AI tools. Staff train for weeks.",
        ),
        Chunk(
            "ref#2",
            "ref",
            section,
            path,
            None,
            110,
            170,
            "Staff train for weeks. Wards get tablets. Nurses log shifts.",
        ),
    ]


def test_worked_example_of_the_module_docstring() -> None:
    text = "# Intro\nHello.\n## 1.2 DATA USE\nThe UK AI plan."
    chunks = Chunker(words, 200, 0, 0).chunks(document(text))
    assert [(c.section, c.text, c.start, c.end) for c in chunks] == [
        ("Intro", "Hello.", 8, 14),
        ("1.2 Data use", "The UK AI plan.", 31, 46),
    ]


def test_short_pieces_are_dropped_but_a_tiny_document_is_one_passage() -> None:
    text = "# Title\n\nok\n\n## Next\n\nThis paragraph is long enough to be kept as a passage.\n"
    chunks = Chunker(words, 50, 0, 20).chunks(document(text))
    assert [c.text for c in chunks] == ["This paragraph is long enough to be kept as a passage."]
    tiny = Chunker(words, 50, 0, 20).chunks(document("\n  Just a line.\n"))
    assert [(c.text, c.start, c.end, c.section) for c in tiny] == [("Just a line.", 3, 15, "")]


@pytest.mark.parametrize(
    ("heading", "acronyms", "expected"),
    [
        (
            "3.2 THE GEOPOLITICAL LANDSCAPE IS SHIFTING",
            frozenset(),
            "3.2 The geopolitical landscape is shifting",
        ),
        (
            "WHY THE UK NEEDS AI SOVEREIGNTY",
            frozenset({"UK", "AI"}),
            "Why the UK needs AI sovereignty",
        ),
        ("THE NHS, AI AND DATA:", frozenset({"NHS", "AI"}), "The NHS, AI and data"),
        ("Executive Summary", frozenset({"AI"}), "Executive Summary"),
        ("**BOLD HEADING**", frozenset(), "Bold heading"),
        ("WHAT ARE LLMS?", frozenset({"LLMs"}), "What are LLMs?"),
        (
            "SQUARING AI WITH THE UK'S AI-SAFETY PLAN",
            frozenset({"UK", "AI"}),
            "Squaring AI with the UK's AI-safety plan",
        ),
        ("WHAT ARE LLMs?", frozenset({"LLMs"}), "WHAT ARE LLMs?"),  # not all capitals
    ],
)
def test_all_caps_headings_in_sentence_case_keeping_acronyms(
    heading: str, acronyms: frozenset[str], expected: str
) -> None:
    assert display_heading(heading, acronyms) == expected


def test_acronyms_come_from_the_documents_running_text() -> None:
    text = (
        "## THE UK AND AI POLICY\n\nThe UK government published an AI plan last year.\n"
        "## WHY IT MATTERS\n\nIt matters to everyone who works in the sector.\n"
    )
    sections = split_sections(text)
    assert [s.path[-1] for s in sections] == ["The UK and AI policy", "Why it matters"]


@pytest.fixture(scope="module")
def real_chunker() -> tuple[Chunker, int]:
    from assistant.ingest.embedding import MiniLMEmbedder

    settings = Settings.load().chunking
    embedder = MiniLMEmbedder()
    chunker = Chunker(
        embedder.count_tokens,
        settings.chunk_tokens,
        settings.overlap_tokens,
        settings.min_chunk_chars,
    )
    chunker.count_tokens = embedder.count_tokens  # type: ignore[attr-defined]
    return chunker, settings.chunk_tokens


@pytest.mark.parametrize(
    "name", sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".md", ".txt"))
)
def test_offsets_and_sizes_on_the_real_corpus(name: str, real_chunker: tuple[Chunker, int]) -> None:
    chunker, limit = real_chunker
    doc = load_document(CORPUS / name)
    chunks = chunker.chunks(doc)
    assert chunks, f"{name} gave no chunks"
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text, chunk.chunk_id
        assert chunker.count_tokens(chunk.text) <= limit, chunk.chunk_id  # type: ignore[attr-defined]
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
