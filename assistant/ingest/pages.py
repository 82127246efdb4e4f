"""Pages: a PDF page as an image, the cited sentences highlighted where they stand on it.

`page_image()` renders a page with pypdfium2 and finds each phrase from the positions of
the page's words: pdfplumber's for a page with a text layer, tesseract's for a scanned
page or an image file (set upright as `ocr.py` read it, so its words are the ones
indexed). A phrase is matched on its letters and digits alone, in order, so line breaks, a word
hyphenated at a line end, ligatures, quotes and punctuation do not stop a match; the
matched words are merged into one box per line. `document_page()` does it for an indexed
document, refusing a file that is gone or has changed since it was indexed. Rendered
pages are kept in a small LRU cache per file hash, page and phrases.

It leaves out approximate matching: a phrase whose letters differ from the page's (a
scan read differently) gets no box and is named in `PageImage.missed`, line by line
where some of its lines are found. Documents other than PDFs and images (text, HTML,
DOCX) have no pages to draw.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DocumentChanged, DocumentNotFound, UnreadableDocument
from ..files import file_sha256
from . import ocr
from .library import corpus_path
from .store import DocumentRecord

if TYPE_CHECKING:
    from PIL.Image import Image

SCALE = 1.5  # pixels per PDF point: 108 dpi, an A4 page 893 pixels wide
HIGHLIGHT = (250, 204, 21, 96)  # amber, about 40% opaque, so the words stay readable
PAD = 2  # pixels drawn around a box, so the highlight does not clip the letters
IMAGE_WIDTH = 900  # pixels: a scan saved as an image is shrunk to about a PDF page's width
MIN_LINE_LETTERS = 12  # a line of a phrase tried on its own must be this long to count


@dataclass(frozen=True)
class Box:
    """A rectangle on the page image, in pixels from its top left corner."""

    x0: float
    top: float
    x1: float
    bottom: float


@dataclass(frozen=True)
class Word:
    text: str
    box: Box


@dataclass(frozen=True)
class PageImage:
    png: bytes
    width: int
    height: int
    boxes: tuple[Box, ...]  # one per line of each phrase found
    missed: tuple[str, ...]  # the phrases (or lines of them) not found on the page
    scanned: bool  # the words' positions come from OCR


def letters(text: str) -> str:
    """The letters and digits of `text`, lower case, ligatures opened ("ﬁ" -> "fi")."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def find(words: Sequence[Word], phrase: str) -> list[Box] | None:
    """The boxes, one per line, of the words holding `phrase` in order; None when the
    page does not hold it. The first place it stands is taken."""
    wanted = letters(phrase)
    if not wanted:
        return None
    text: list[str] = []
    owner: list[int] = []  # the word each letter came from
    for i, word in enumerate(words):
        chars = letters(word.text)
        text.append(chars)
        owner += [i] * len(chars)
    at = "".join(text).find(wanted)
    if at < 0:
        return None
    matched = sorted(set(owner[at : at + len(wanted)]))
    return lines([words[i].box for i in matched])


def lines(boxes: Sequence[Box]) -> list[Box]:
    """Word boxes in reading order merged into one box per line: a word starts a new
    line when it does not overlap the line's height by half, or stands left of it."""
    merged: list[Box] = []
    for box in boxes:
        if merged:
            last = merged[-1]
            overlap = min(last.bottom, box.bottom) - max(last.top, box.top)
            height = min(last.bottom - last.top, box.bottom - box.top)
            if overlap >= height / 2 and box.x0 >= last.x0:
                merged[-1] = Box(
                    last.x0,
                    min(last.top, box.top),
                    max(last.x1, box.x1),
                    max(last.bottom, box.bottom),
                )
                continue
        merged.append(box)
    return merged


def locate(orders: Sequence[Sequence[Word]], phrase: str) -> tuple[list[Box], list[str]]:
    """The boxes of `phrase` in the first word order that holds it (text flow, then
    layout); else of each of its lines found on their own, with the lines missed."""
    for words in orders:
        found = find(words, phrase)
        if found is not None:
            return found, []
    boxes: list[Box] = []
    missed: list[str] = []
    parts = [p.strip() for p in phrase.splitlines() if p.strip()]
    for part in parts if len(parts) > 1 else []:
        found = next((f for w in orders if (f := find(w, part)) is not None), None)
        if found is not None and len(letters(part)) >= MIN_LINE_LETTERS:
            boxes += found
        else:
            missed.append(part)
    return (boxes, missed) if boxes else ([], [phrase])


def page_image(
    pdf_path: Path, page_number: int, phrases: Sequence[str], scale: float = SCALE
) -> PageImage:
    """Page `page_number` (from 1) of a PDF as a PNG with `phrases` highlighted."""
    return rendered(str(pdf_path), file_sha256(pdf_path), page_number, tuple(phrases), scale)


def document_page(
    corpus_dir: Path, record: DocumentRecord, page_number: int, phrases: Sequence[str]
) -> PageImage:
    """A page of an indexed PDF (or scan saved as an image), refused when its file is
    gone or has changed since it was indexed (its page would not be the one cited)."""
    if f".{record.kind}" not in (".pdf", *ocr.IMAGE_SUFFIXES):
        raise UnreadableDocument(f"{record.title}: only PDF and image pages can be shown")
    path = corpus_path(corpus_dir, record)
    if not path.is_file():
        raise DocumentNotFound(
            f"{record.title}: its file {record.file} is no longer in the corpus folder; "
            "put it back, or update the index (`assistant index`) to drop its passages"
        )
    sha256 = file_sha256(path)
    if sha256 != record.sha256:
        raise DocumentChanged(
            f"{record.title}: {record.file} has changed since it was indexed, so its pages "
            "may not hold the cited text; update the index (`assistant index`) and ask again"
        )
    return rendered(str(path), sha256, page_number, tuple(phrases), SCALE)


@lru_cache(maxsize=32)
def rendered(
    path: str, sha256: str, page_number: int, phrases: tuple[str, ...], scale: float
) -> PageImage:
    """The page drawn and highlighted; `sha256` is the file's, so that a changed file
    is drawn again."""
    image, orders, scanned = _page(Path(path), page_number, scale)
    boxes: list[Box] = []
    missed: list[str] = []
    for phrase in phrases:
        found, lost = locate(orders, phrase)
        boxes += found
        missed += lost
    png = io.BytesIO()
    highlight(image, boxes).save(png, format="PNG", compress_level=3)
    return PageImage(
        png.getvalue(), image.width, image.height, tuple(boxes), tuple(missed), scanned
    )


def highlight(image: Image, boxes: Sequence[Box]) -> Image:
    """The image with a translucent rectangle over each box."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    overlay = PILImage.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for b in boxes:
        draw.rectangle((b.x0 - PAD, b.top - PAD, b.x1 + PAD, b.bottom + PAD), fill=HIGHLIGHT)
    return PILImage.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def _page(path: Path, page_number: int, scale: float) -> tuple[Image, list[list[Word]], bool]:
    """The page image and its words in pixels, in text-flow and in layout order; a page
    with (almost) no text layer is read by OCR as the index read it."""
    import pdfplumber
    import pypdfium2 as pdfium

    if path.suffix.lower() in ocr.IMAGE_SUFFIXES:  # a scan saved as an image: its pages
        frame = _frame(path, page_number)
        return _scan(frame, min(1.0, IMAGE_WIDTH / frame.width))
    with pdfplumber.open(str(path)) as pdf:
        if not 1 <= page_number <= len(pdf.pages):
            raise DocumentNotFound(f"{path.name} has no page {page_number}")
        page = pdf.pages[page_number - 1]
        flow = page.extract_words(use_text_flow=True)
        layout = page.extract_words()
        x0, top, x1, bottom = page.cropbox  # pdfium draws the crop box
    if sum(len(letters(w["text"])) for w in flow) >= ocr.MIN_TEXT_CHARS:
        document = pdfium.PdfDocument(str(path))
        try:
            image = document[page_number - 1].render(scale=scale).to_pil()
        finally:
            document.close()
        sx, sy = image.width / (x1 - x0), image.height / (bottom - top)

        def word(w: dict) -> Word:
            box = Box(
                (w["x0"] - x0) * sx,
                (w["top"] - top) * sy,
                (w["x1"] - x0) * sx,
                (w["bottom"] - top) * sy,
            )
            return Word(w["text"], box)

        return image, [[word(w) for w in flow], [word(w) for w in layout]], False
    return _scan(ocr.render_pdf_page(path, page_number - 1), scale * 72 / ocr.DPI)


def _scan(image: Image, factor: float) -> tuple[Image, list[list[Word]], bool]:
    """A scanned page set upright and shrunk by `factor`, with tesseract's words."""
    scan, words = scanned_words(image)
    size = (round(scan.width * factor), round(scan.height * factor))
    shrunk = [
        Word(w.text, Box(*(v * factor for v in (w.box.x0, w.box.top, w.box.x1, w.box.bottom))))
        for w in words
    ]
    return scan.convert("RGB").resize(size), [shrunk], True


def _frame(path: Path, page_number: int) -> Image:
    """Frame `page_number` (from 1) of an image file."""
    from PIL import Image as PILImage
    from PIL import ImageSequence

    with PILImage.open(path) as image:
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if number == page_number:
                return frame.copy()
    raise DocumentNotFound(f"{path.name} has no page {page_number}")


def scanned_words(image: Image) -> tuple[Image, list[Word]]:
    """The page set upright as `ocr.read_image` sets it, and tesseract's words on it in
    reading order, in pixels of that image."""
    import pytesseract

    ocr.require("the page")
    upright = ocr.upright(image.convert("L"))
    data = pytesseract.image_to_data(
        upright, lang=ocr.OCR_LANGUAGES, output_type=pytesseract.Output.DICT
    )
    words = [
        Word(
            text.strip(),
            Box(
                data["left"][i],
                data["top"][i],
                data["left"][i] + data["width"][i],
                data["top"][i] + data["height"][i],
            ),
        )
        for i, text in enumerate(data["text"])
        if text.strip()
    ]
    return upright, words
