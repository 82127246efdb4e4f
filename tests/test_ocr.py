"""OCR: scanned PDF pages and images read by the real tesseract, page numbers kept."""

from __future__ import annotations

import difflib
import io
import textwrap
import time
from pathlib import Path

import pytest
from conftest import real_model_path, real_settings
from test_documents import make_pdf

from assistant.answering.assistant import Assistant
from assistant.errors import UnreadableDocument
from assistant.ingest import ocr
from assistant.ingest.documents import load_document
from assistant.ingest.library import screen_upload
from assistant.settings import DEFAULT_MODEL

WATER = (
    "The regional water board will replace 4,200 lead pipes in Dunmore by March 2027. "
    "The work costs 18 million pounds and is paid for by the national infrastructure fund."
)
STAFF = "The board employs 312 engineers, of whom 40 work on the lead pipe programme."


@pytest.fixture(autouse=True)
def tesseract() -> None:
    if not ocr.available():
        pytest.fail(f"tesseract is missing: {ocr.INSTALL_HINT}")


def scanned_page(text: str, rotate: int = 0):  # type: ignore[no-untyped-def]
    """A page of text as a scanner gives it: an image at 150 dpi, no text layer."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=30)
    y = 120
    for paragraph in text.split("\n\n"):
        for line in textwrap.wrap(paragraph, 60):
            draw.text((110, y), line, fill=0, font=font)
            y += 42
        y += 30
    return image.rotate(rotate, expand=True) if rotate else image


def mixed_pdf(path: Path) -> Path:
    """Page 1 with a text layer; page 2 scanned; page 3 scanned on its side; page 4 blank."""
    from PIL import Image
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfgen import canvas

    typed, scans = io.BytesIO(), io.BytesIO()
    pdf = canvas.Canvas(typed)
    pdf.drawString(72, 800, "Summary of the water board's plans.")
    pdf.save()
    first, *rest = [
        scanned_page(f"Lead pipes\n\n{WATER}"),
        scanned_page(f"Staffing\n\n{STAFF}", rotate=90),
        Image.new("L", (1240, 1754), 255),
    ]
    first.save(scans, "PDF", resolution=150, save_all=True, append_images=rest)
    writer = PdfWriter()
    for source in (typed, scans):
        for page in PdfReader(source).pages:
            writer.add_page(page)
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def test_a_mixed_pdf_is_read_page_by_page_with_ocr_where_there_is_no_text(
    tmp_path: Path,
) -> None:
    progress: list[tuple[str, int, int]] = []
    started = time.perf_counter()
    document = load_document(
        mixed_pdf(tmp_path / "board.pdf"), progress=lambda *p: progress.append(p)
    )
    seconds = time.perf_counter() - started
    assert [number for _, number in document.pages] == [1, 2, 3]  # the blank page gives none
    page2, page3 = document.pages[1][0], document.pages[2][0]
    assert document.text.startswith("Summary of the water board's plans.")
    read = {2: document.text[page2:page3], 3: document.text[page3:]}
    for number, source in ((2, f"Lead pipes {WATER}"), (3, f"Staffing {STAFF}")):
        accuracy = difflib.SequenceMatcher(None, " ".join(read[number].split()), source)
        print(f"page {number}: character accuracy {accuracy.ratio():.3f}")
        assert accuracy.ratio() > 0.95, read[number]
    assert "4,200 lead pipes" in read[2]  # not "4, 200"
    assert document.notes[0].startswith("board.pdf: page(s) 2-3 read by OCR (mean confidence")
    assert document.notes[1] == "board.pdf: page(s) 4 gave no text (blank, or not legible)"
    assert progress[-1] == ("reading board.pdf by OCR", 3, 3)
    print(f"3 pages by OCR in {seconds:.1f} s")


def test_an_image_file_is_read_and_an_image_without_text_is_refused(tmp_path: Path) -> None:
    from PIL import Image

    scanned_page(f"Staffing\n\n{STAFF}").save(tmp_path / "memo.png")
    document = load_document(tmp_path / "memo.png")
    assert document.kind == "png" and "312 engineers" in document.text
    assert document.pages == ((0, 1),)
    Image.new("L", (400, 300), 255).save(tmp_path / "blank.jpg")
    with pytest.raises(UnreadableDocument, match="blank.jpg: no text could be extracted"):
        load_document(tmp_path / "blank.jpg")


def test_without_tesseract_a_scan_is_refused_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    with pytest.raises(UnreadableDocument) as caught:
        load_document(mixed_pdf(tmp_path / "board.pdf"))
    assert "apt-get install tesseract-ocr" in str(caught.value)
    # a PDF with its text layer is read as before
    assert load_document(make_pdf(tmp_path / "typed.pdf", [["A typed page of text."]])).text


def test_a_password_protected_pdf_says_so(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(tmp_path / "locked.pdf"), encrypt="secret")
    pdf.drawString(72, 800, "Confidential plans.")
    pdf.save()
    with pytest.raises(UnreadableDocument, match="protected by a password"):
        load_document(tmp_path / "locked.pdf")


def test_an_upload_must_be_the_image_its_name_says(tmp_path: Path) -> None:
    scanned_page("A memo").save(tmp_path / "memo.png")
    assert screen_upload(tmp_path / "memo.png", 10**8) is None
    scanned_page("A memo").save(tmp_path / "memo.jpeg", "JPEG")
    assert screen_upload(tmp_path / "memo.jpeg", 10**8) is None
    (tmp_path / "fake.tiff").write_text("not an image at all")
    assert "not the .tiff its name says" in (screen_upload(tmp_path / "fake.tiff", 10**8) or "")


@pytest.mark.model
def test_a_scanned_page_is_answered_with_its_page_cited(tmp_path: Path) -> None:
    real_model_path(DEFAULT_MODEL)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    mixed_pdf(corpus / "board.pdf")
    assistant = Assistant(real_settings(tmp_path, corpus))
    report = assistant.index()
    assert report.added == ["board"] and any("read by OCR" in n for n in report.notes)
    answer = assistant.ask("How many engineers does the water board employ?")
    assert "312" in answer.answer and not answer.declined
    assert {c.page for c in answer.citations} == {3}
