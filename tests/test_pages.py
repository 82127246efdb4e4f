"""Pages: a PDF page drawn with the cited sentences highlighted exactly where pdfplumber
(or, on a scan, tesseract) places their words."""

from __future__ import annotations

import dataclasses
import io
import time
from pathlib import Path

import pytest
from test_documents import make_pdf
from test_ocr import WATER, mixed_pdf

from assistant.errors import DocumentChanged, DocumentNotFound
from assistant.files import file_sha256
from assistant.ingest.pages import SCALE, Box, Word, document_page, find, letters, page_image
from assistant.ingest.store import DocumentRecord

LINES = [
    "The council reviews the policy every year. Each school files a",
    "report on its spending by the end of March. Staff are trained twice.",
    "A closing line that says nothing at all.",
]
SENTENCE = "Each school files a report on its spending by the end of March."
ONE_LINE = "Staff are trained twice."


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "policy.pdf", [["A cover page with a title."], LINES])


def word_boxes(path: Path, page: int, words: list[str]) -> list[tuple[float, ...]]:
    """pdfplumber's boxes (points) of the run of `words` on the page."""
    import pdfplumber

    with pdfplumber.open(str(path)) as document:
        found = document.pages[page - 1].extract_words()
    texts = [w["text"] for w in found]
    at = next(i for i in range(len(texts)) if texts[i : i + len(words)] == words)
    return [(w["x0"], w["top"], w["x1"], w["bottom"]) for w in found[at : at + len(words)]]


def union(boxes: list[tuple[float, ...]]) -> tuple[float, ...]:
    """The box around `boxes`, in pixels."""
    return tuple(
        SCALE * v
        for v in (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
    )


def tinted(png: bytes, box: Box) -> tuple[bool, bool]:
    """(every pixel inside `box` is tinted amber, none in a band around it is): the page
    itself is black on white, so a pixel whose blue falls short of its red is highlighted."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    inside = image.crop((round(box.x0), round(box.top), round(box.x1), round(box.bottom)))
    # the band: the line, and 3 pixels above and below (the highlight's margin is 2)
    band = image.crop((0, round(box.top) - 3, image.width, round(box.bottom) + 3))
    band.paste((0, 0, 255), (round(box.x0) - 3, 0, round(box.x1) + 3, band.height))
    amber = all(r - b > 50 for r, _, b in inside.getdata())
    plain = all(r == g == b or (r, g, b) == (0, 0, 255) for r, g, b in band.getdata())
    return amber, plain


def test_a_sentence_on_one_line_gets_the_box_of_its_words(pdf: Path) -> None:
    shown = page_image(pdf, 2, [ONE_LINE])
    assert (shown.width, shown.height) == (round(595.28 * SCALE), round(841.89 * SCALE))
    expected = union(word_boxes(pdf, 2, ONE_LINE.split()))
    (box,) = shown.boxes
    assert tuple(dataclasses.astuple(box)) == pytest.approx(expected, abs=1.5)
    assert shown.missed == () and not shown.scanned
    assert tinted(shown.png, box) == (True, True)


def test_a_sentence_across_two_lines_gets_a_box_per_line(pdf: Path) -> None:
    shown = page_image(pdf, 2, [SENTENCE])
    first, second = shown.boxes
    words = SENTENCE.split()
    assert dataclasses.astuple(first) == pytest.approx(
        union(word_boxes(pdf, 2, words[:4])), abs=1.5
    )
    assert dataclasses.astuple(second) == pytest.approx(
        union(word_boxes(pdf, 2, words[4:])), abs=1.5
    )
    # "The council reviews ..." before it on its first line is not tinted, nor is the
    # sentence after it on the second
    assert tinted(shown.png, first) == tinted(shown.png, second) == (True, True)


def test_a_sentence_not_on_the_page_gets_no_box_and_is_named(pdf: Path) -> None:
    shown = page_image(pdf, 1, [SENTENCE])
    assert shown.boxes == () and shown.missed == (SENTENCE,)


@pytest.mark.parametrize(
    ("page_words", "phrase"),
    [
        (["Each", "school", "ﬁles", "a"], "Each school files a"),  # a ligature
        (["“Each", "school”", "files"], '"Each school" files'),  # curly quotes
        (["the", "regu-", "lation", "says"], "the regulation says"),  # hyphenated at a line end
        (["the", "regulation", "says"], "the\nregulation says"),  # a line break in the passage
    ],
)
def test_words_are_matched_on_their_letters(page_words: list[str], phrase: str) -> None:
    words = [Word(w, Box(10.0 * i, 0, 10.0 * i + 8, 10)) for i, w in enumerate(page_words)]
    assert letters("“Eﬁ-x”") == "efix"
    assert find(words, phrase) == [Box(0, 0, 10.0 * len(page_words) - 2, 10)]


def test_an_indexed_page_is_refused_when_its_file_is_gone_or_changed(
    tmp_path: Path, pdf: Path
) -> None:
    corpus = pdf.parent
    record = DocumentRecord(
        "policy", "policy.pdf", file_sha256(pdf), "Policy", "", "", "pdf", 2, "today"
    )
    assert document_page(corpus, record, 2, [SENTENCE]).boxes
    make_pdf(pdf, [["A cover page with a title."], ["Another text altogether."]])
    with pytest.raises(DocumentChanged, match="changed since it was indexed.*assistant index"):
        document_page(corpus, record, 2, [SENTENCE])
    pdf.unlink()
    with pytest.raises(DocumentNotFound, match="no longer in the corpus folder"):
        document_page(corpus, record, 2, [SENTENCE])


def test_a_page_drawn_once_is_given_again_from_the_cache(tmp_path: Path) -> None:
    many = [f"Paragraph {i} of the report says something about item {i}." for i in range(45)]
    path = make_pdf(tmp_path / "long.pdf", [many, many])
    page_image(path, 1, ["Paragraph 3"])  # the libraries are imported
    started = time.perf_counter()
    shown = page_image(path, 2, ["Paragraph 30 of the report says something about item 30."])
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = page_image(path, 2, ["Paragraph 30 of the report says something about item 30."])
    cached = time.perf_counter() - started
    print(f"page drawn and highlighted in {first * 1000:.0f} ms, again in {cached * 1000:.1f} ms")
    assert again is shown and len(shown.boxes) == 1  # the second time from the cache


def test_a_scanned_page_is_highlighted_from_tesseract_words(tmp_path: Path) -> None:
    path = mixed_pdf(tmp_path / "water.pdf")
    started = time.perf_counter()
    shown = page_image(path, 2, [WATER.split(". ")[1]])  # "The work costs 18 million ..."
    print(f"scanned page read and highlighted in {time.perf_counter() - started:.1f} s")
    assert shown.scanned and shown.missed == ()
    assert len(shown.boxes) == 2  # the sentence is wrapped onto two lines of the scan
    # the page is drawn at the same scale as a typed one: A4 at SCALE pixels per point
    assert shown.width == pytest.approx(595 * SCALE, abs=3)
    assert all(tinted(shown.png, box)[0] for box in shown.boxes)
