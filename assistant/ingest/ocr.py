"""OCR: text from scanned pages and images, with Debian's tesseract (through pytesseract).

A PDF page with no text layer is rendered to an image (pypdfium2, 300 dpi) and read by
tesseract; so is an image file (png, jpg, tiff: each frame of a tiff is a page). A page
turned on its side is set upright first, from tesseract's orientation detection. Each
page's text comes with tesseract's mean word confidence (0-100), which the index report
gives so that a reader knows which passages were read by OCR and how well.

Not done: languages other than English (tesseract reads what its installed language data
covers; `OCR_LANGUAGES` names them), and handwriting.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UnreadableDocument

if TYPE_CHECKING:
    from PIL.Image import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
OCR_LANGUAGES = "eng"
DPI = 300  # tesseract reads body text best at about 300 dpi
MIN_TEXT_CHARS = 20  # a PDF page with less text than this in its layer is read by OCR
INSTALL_HINT = "install tesseract (`apt-get install tesseract-ocr`; `make run` does)"


# tesseract reads "4,200" as "4, 200"; a year before a comma ("2023, 200 staff") is kept
_THOUSANDS = re.compile(r"(?<![\d,])(\d{1,3}), (\d{3})(?!\d)")


@dataclass(frozen=True)
class OcrPage:
    number: int  # from 1
    text: str
    confidence: float  # tesseract's mean word confidence, 0-100; 0 without words


def available() -> bool:
    """Whether the tesseract program is installed."""
    return shutil.which("tesseract") is not None


def require(name: str) -> None:
    """Raise UnreadableDocument saying what to install when tesseract is missing."""
    if not available():
        raise UnreadableDocument(
            f"{name}: has pages with no text layer; to read them, {INSTALL_HINT}"
        )


def read_image(image: Image, number: int = 1) -> OcrPage:
    """The text of one page image, set upright first, with its confidence."""
    import pytesseract

    image = upright(image.convert("L"))
    data = pytesseract.image_to_data(image, lang=OCR_LANGUAGES, output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences = []
    for i, word in enumerate(data["text"]):
        word = word.strip()
        if not word:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append(word)
        confidence = float(data["conf"][i])
        if confidence >= 0:
            confidences.append(confidence)
    paragraphs: dict[tuple[int, int], list[str]] = {}
    for (block, par, _), words in sorted(lines.items()):
        paragraphs.setdefault((block, par), []).append(" ".join(words))
    text = "\n\n".join(" ".join(p) for p in paragraphs.values())
    text = _THOUSANDS.sub(r"\1,\2", text)
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return OcrPage(number, text, round(mean, 1))


def upright(image: Image) -> Image:
    """The page turned the way tesseract's orientation detection says; as it is when
    there is too little text to tell."""
    import pytesseract

    try:
        osd = pytesseract.image_to_osd(image, output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError:  # a blank page, or too few letters
        return image
    rotate = int(osd.get("rotate", 0))
    return image.rotate(-rotate, expand=True) if rotate else image


def render_pdf_page(path: Path, index: int, dpi: int = DPI) -> Image:
    """Page `index` (from 0) of a PDF as an image."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return pdf[index].render(scale=dpi / 72).to_pil()
    finally:
        pdf.close()


def read_pdf_pages(
    path: Path, indexes: list[int], progress: Callable[[int, int], None] | None = None
) -> Iterator[OcrPage]:
    """The given pages (from 0) of a PDF read by OCR, one at a time."""
    require(path.name)
    for done, index in enumerate(indexes, start=1):
        yield read_image(render_pdf_page(path, index), index + 1)
        if progress:
            progress(done, len(indexes))


def read_image_file(
    path: Path, progress: Callable[[int, int], None] | None = None
) -> list[OcrPage]:
    """Each frame of an image file read by OCR (a tiff may hold many pages)."""
    from PIL import Image as PILImage
    from PIL import ImageSequence, UnidentifiedImageError

    require(path.name)
    try:
        with PILImage.open(path) as image:
            frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UnreadableDocument(f"{path.name}: not a readable image ({exc})") from exc
    pages = []
    for number, frame in enumerate(frames, start=1):
        pages.append(read_image(frame, number))
        if progress:
            progress(number, len(frames))
    return pages


def report(name: str, pages: list[OcrPage]) -> list[str]:
    """The index report's notes: which pages were read by OCR, how confidently, and
    which gave no text."""
    read = [p for p in pages if p.text.strip()]
    empty = [p.number for p in pages if not p.text.strip()]
    notes = []
    if read:
        mean = sum(p.confidence for p in read) / len(read)
        numbers = _ranges([p.number for p in read])
        notes.append(
            f"{name}: page(s) {numbers} read by OCR (mean confidence {mean:.0f}%; "
            f"lowest {min(p.confidence for p in read):.0f}% on page "
            f"{min(read, key=lambda p: p.confidence).number})"
        )
    if empty:
        notes.append(f"{name}: page(s) {_ranges(empty)} gave no text (blank, or not legible)")
    return notes


def _ranges(numbers: list[int]) -> str:
    """ "1-3, 5" for [1, 2, 3, 5]."""
    out: list[str] = []
    for n in sorted(numbers):
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)
