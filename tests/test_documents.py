"""Loaders for each file type, cleaning, and clear refusals of bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import UnreadableDocument, UnsupportedDocument
from assistant.ingest import documents
from assistant.ingest.chunking import Chunker
from assistant.ingest.documents import clean_text, load_document, read_metadata


def words(text: str) -> int:
    return len(text.split())


def make_pdf(path: Path, pages: list[list[str]], title: str = "") -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    if title:
        pdf.setTitle(title)
    for lines in pages:
        y = 800
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Digital strategy"
    document.add_paragraph("A short preface about the strategy and its aims for everyone.")
    document.add_heading("Funding the programme", level=1)
    document.add_paragraph("The programme receives 40 million pounds over four years.")
    document.add_heading("Staff training", level=2)
    document.add_paragraph("Every analyst attends a two-week course on data ethics.")
    document.save(str(path))
    return path


def test_txt_is_read_and_title_falls_back_to_file_name(tmp_path: Path) -> None:
    path = tmp_path / "annual_review-2024.txt"
    path.write_text("The agency reviewed 14 programmes this year.\n", encoding="utf-8")
    document = load_document(path)
    assert document.text == "The agency reviewed 14 programmes this year.\n"
    assert document.title == "Annual review 2024"
    assert document.kind == "txt"
    assert document.doc_id == "annual_review-2024"
    assert document.notes == ()
    assert len(document.sha256) == 64


def test_markdown_front_matter_gives_title_and_date_and_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "news.md"
    path.write_text(
        '---\ntitle: "Councils adopt open models"\ndate: 2025-03-04\nauthor: City Desk\n---\n'
        "# A heading\n\nCouncils adopted **open** models, see [the plan](https://x.org/p).\n",
        encoding="utf-8",
    )
    document = load_document(path)
    assert document.title == "Councils adopt open models"
    assert document.date == "2025-03-04"
    assert document.publisher == "City Desk"
    assert "---" not in document.text and "title:" not in document.text
    assert document.text.startswith("# A heading\n")
    assert "Councils adopted open models, see the plan." in document.text  # emphasis, link


def test_front_matter_values_are_kept_as_written(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text(
        "---\nTitle: A long title\n  on two lines\ndate: 2025-03-04T10:00:00Z\n"
        "publisher: 'Ministry'\ntags:\n  - tag: Policy\n---\nSome body text here.\n"
    )
    document = load_document(path)
    assert document.title == "A long title on two lines"  # keys of any case, folded lines
    assert document.date == "2025-03-04T10:00:00Z"  # not turned into a datetime
    assert document.publisher == "Ministry"
    assert document.text == "Some body text here.\n"
    assert document.notes == ()


@pytest.mark.parametrize(
    ("front_matter", "note"),
    [
        ("title: Policy: a review\ndate: 2025", "front matter is not valid YAML (line 2)"),
        ("title: [unclosed", "front matter is not valid YAML"),
        ("- a list\n- not a mapping", "front matter is not a YAML mapping"),
    ],
)
def test_malformed_front_matter_is_removed_and_ignored_with_a_note(
    tmp_path: Path, front_matter: str, note: str
) -> None:
    path = tmp_path / "note.md"
    path.write_text(f"---\n{front_matter}\n---\n# The heading\n\nSome body text here.\n")
    document = load_document(path)
    assert document.title == "The heading"  # the first heading, as without front matter
    assert (document.publisher, document.date) == ("", "")
    assert document.text.startswith("# The heading\n") and "---" not in document.text
    assert len(document.notes) == 1 and document.notes[0].startswith(f"note.md: {note}")


def test_metadata_toml_wins_over_the_file(tmp_path: Path) -> None:
    (tmp_path / "metadata.toml").write_text(
        '["news.md"]\ntitle = "From the catalogue"\npublisher = "Ministry"\ndate = "2025"\n'
    )
    path = tmp_path / "news.md"
    path.write_text("---\ntitle: From the file\n---\nSome body text here.\n")
    document = load_document(path, metadata=read_metadata(tmp_path)["news.md"])
    assert (document.title, document.publisher, document.date) == (
        "From the catalogue",
        "Ministry",
        "2025",
    )


def test_pdf_keeps_page_numbers_on_chunks(tmp_path: Path) -> None:
    page1 = ["Page one talks about the national compute budget for research."] * 3
    page2 = ["Page two describes the training plan for public servants."] * 3
    path = make_pdf(tmp_path / "report.pdf", [page1, page2], title="Compute report")
    document = load_document(path)
    assert document.title == "Compute report"
    assert document.kind == "pdf"
    assert [number for _, number in document.pages] == [1, 2]
    second_start = document.pages[1][0]
    assert document.text[second_start:].startswith("Page two")
    assert "national compute budget" in document.text[:second_start]
    chunks = Chunker(words, chunk_tokens=12, overlap_tokens=0, min_chunk_chars=10).chunks(document)
    pages = {chunk.page for chunk in chunks}
    assert pages == {1, 2}
    for chunk in chunks:
        assert chunk.page == (1 if "Page one" in chunk.text else 2)
        assert document.text[chunk.start : chunk.end] == chunk.text
    # however long a passage may be, it lies on one page: its citation's page is exact
    whole = Chunker(words, chunk_tokens=500, overlap_tokens=0, min_chunk_chars=10).chunks(document)
    assert [(c.page, c.text[:8]) for c in whole] == [(1, "Page one"), (2, "Page two")]


def test_html_drops_scripts_and_navigation_and_h2_becomes_a_section(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Open AI in the public sector</title>"
        "<script>var tracker = 'SECRET_SCRIPT';</script><style>p {color: red}</style></head>"
        "<body><nav><a href='/'>Home</a> NAVIGATION_MENU</nav>"
        "<p>Skip to content</p>"
        "<h1>Open AI in government</h1><p>Open models can be inspected by auditors.</p>"
        "<h2>Procurement rules</h2><p>Buyers must ask for model weights<sup>12</sup> first.</p>"
        "<p>Back to Top</p><footer>FOOTER_TEXT</footer></body></html>",
        encoding="utf-8",
    )
    document = load_document(path)
    assert document.title == "Open AI in the public sector"
    for absent in (
        "SECRET_SCRIPT",
        "color",
        "NAVIGATION_MENU",
        "FOOTER_TEXT",
        "Skip to content",
        "Back to Top",
        "12",
        "<",
    ):
        assert absent not in document.text
    assert "## Procurement rules" in document.text
    assert "Buyers must ask for model weights first." in document.text
    chunks = Chunker(words, 50, 0, 10).chunks(document)
    by_text = {c.text: c.section for c in chunks}
    assert by_text["Buyers must ask for model weights first."] == "Procurement rules"


def test_docx_heading_1_becomes_a_section(tmp_path: Path) -> None:
    document = load_document(make_docx(tmp_path / "strategy.docx"))
    assert document.title == "Digital strategy"
    assert document.kind == "docx"
    assert "# Funding the programme" in document.text
    assert "## Staff training" in document.text
    chunks = Chunker(words, 50, 0, 10).chunks(document)
    sections = {c.text: (c.section, c.section_path) for c in chunks}
    assert sections["The programme receives 40 million pounds over four years."] == (
        "Funding the programme",
        "Funding the programme",
    )
    assert sections["Every analyst attends a two-week course on data ethics."] == (
        "Staff training",
        "Funding the programme › Staff training",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Skip to content\nReal text stays.", "Real text stays.\n"),
        ("Real text stays.\nBack to Top", "Real text stays.\n"),
        ("## Back to top\nReal text stays.", "Real text stays.\n"),
        ("Spending rose<sup>4</sup> sharply.", "Spending rose sharply.\n"),
        ("Spending rose<sup>[4, 5]</sup> sharply.", "Spending rose sharply.\n"),
        ("A\r\nB\r\n\r\n\r\n\r\nC", "A\nB\n\nC\n"),
        ("Text with <b>bold</b> tags.", "Text with bold tags.\n"),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_furniture_lines_removed_from_a_loaded_file(tmp_path: Path) -> None:
    path = tmp_path / "item.md"
    path.write_text(
        "Skip to content\n\n# News\n\nThe ministry announced a plan<sup>3</sup>.\n\nBack to Top\n"
    )
    document = load_document(path)
    assert document.text == "# News\n\nThe ministry announced a plan.\n"


def test_non_utf8_text_is_read_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes("Café budgets rose by 5 € per person – “quoted”.\n".encode("cp1252"))
    document = load_document(path)
    assert "Café budgets rose by 5 € per person – “quoted”." in document.text
    assert document.notes == ("legacy.txt: not UTF-8; read as Windows-1252",)


def _corrupt_pdf(path: Path) -> None:
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage without xref\n%%EOF")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 4)


def _broken_docx(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")


def _blank_pdf(path: Path) -> None:
    make_pdf(path, [[]])


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("broken.pdf", _corrupt_pdf, "broken.pdf: not a readable PDF"),
        ("empty.txt", _empty, "empty.txt: the file is empty"),
        ("blob.txt", _binary, "blob.txt: looks like a binary file, not text"),
        ("broken.docx", _broken_docx, "broken.docx: not a readable DOCX file"),
        ("scan.pdf", _blank_pdf, "scan.pdf: no text could be extracted"),
    ],
)
def test_unreadable_files_are_refused_with_the_reason(
    tmp_path: Path, name: str, make: object, message: str
) -> None:
    path = tmp_path / name
    make(path)  # type: ignore[operator]
    with pytest.raises(UnreadableDocument) as caught:
        load_document(path)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("name", ["slides.pptx", "data.csv", "README"])
def test_unsupported_extensions_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("some content that would be readable\n")
    with pytest.raises(UnsupportedDocument) as caught:
        load_document(path)
    assert name in str(caught.value)
    assert "supported: .txt, .md" in str(caught.value)


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(UnreadableDocument, match="over the 0 MB limit"):
        load_document(path, max_bytes=100)


def make_table_pdf(path: Path, rows: list[list[str]]) -> Path:
    """A PDF with a paragraph, a ruled table (long enough to go on to a second page, its
    header not repeated there) and a paragraph after it."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    table = Table(rows, repeatRows=0)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    SimpleDocTemplate(str(path), pagesize=A4).build(
        [
            Paragraph("Energy mix", styles["Heading1"]),
            Paragraph("The table gives the share of each source of electricity.", styles["Normal"]),
            Spacer(1, 12),
            table,
            Paragraph("After the table, a closing remark on grid investment.", styles["Normal"]),
        ]
    )
    return path


SHARES = [["Source", "Share in 2022", "Share in 2023"]] + [
    [f"Interconnector {i}", f"{i / 10:.2f}%", f"{i / 10 + 0.01:.2f}%"] for i in range(1, 60)
]


def test_a_pdf_table_becomes_a_markdown_table_with_its_header_on_every_page(
    tmp_path: Path,
) -> None:
    document = load_document(make_table_pdf(tmp_path / "energy.pdf", SHARES))
    assert [number for _, number in document.pages] == [1, 2]
    first, second = document.text[: document.pages[1][0]], document.text[document.pages[1][0] :]
    assert first.startswith("Energy mix\nThe table gives the share")
    assert "| Source | Share in 2022 | Share in 2023 |\n| --- | --- | --- |\n" in first
    assert "| Interconnector 1 | 0.10% | 0.11% |" in first
    # the rows on the next page are under the same header
    assert second.startswith("| Source | Share in 2022 | Share in 2023 |\n| --- | --- | --- |\n|")
    assert "| Interconnector 59 | 5.90% | 5.91% |" in second
    assert second.rstrip().endswith("After the table, a closing remark on grid investment.")


def test_a_docx_table_is_a_markdown_table_where_it_stands(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Before the table.")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate(
        [["Source", "2022", "2023"], ["Wind", "12.5%", "14.1%"], ["Sun", "3|4", "5"]]
    ):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("After the table.")
    document.save(str(tmp_path / "mix.docx"))
    text = load_document(tmp_path / "mix.docx").text
    assert text.index("Before the table.") < text.index("| Source | 2022 | 2023 |")
    assert "| Source | 2022 | 2023 |\n| --- | --- | --- |\n| Wind | 12.5% | 14.1% |\n" in text
    assert "| Sun | 3\\|4 | 5 |" in text
    assert text.index("| Sun |") < text.index("After the table.")


def test_rows_of_a_long_table_keep_its_header(tmp_path: Path) -> None:
    document = load_document(make_table_pdf(tmp_path / "energy.pdf", SHARES))
    chunks = Chunker(words, chunk_tokens=60, overlap_tokens=0, min_chunk_chars=10).chunks(document)
    rows = [c for c in chunks if c.text.startswith("| Interconnector")]
    assert len(rows) >= 3
    for chunk in rows:
        assert chunk.header == (
            "The table gives the share of each source of electricity.\n"
            "| Source | Share in 2022 | Share in 2023 |\n| --- | --- | --- |"
        )
        assert chunk.passage == f"{chunk.header}\n{chunk.text}"
        assert document.text[chunk.start : chunk.end] == chunk.text
    prose = [c for c in chunks if "closing remark" in c.text]
    assert prose and prose[0].header == ""


def test_only_pages_that_draw_rules_are_searched_for_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "mixed.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.drawString(72, 800, "Page one has words only, and no table at all.")
    pdf.showPage()
    pdf.beginForm("grid")  # a table drawn once as a form and placed on the page
    for y in (700, 720, 740):
        pdf.line(72, y, 372, y)
    for x in (72, 222, 372):
        pdf.line(x, 700, x, 740)
    pdf.drawString(80, 725, "Source")
    pdf.drawString(230, 725, "Share")
    pdf.drawString(80, 705, "Wind")
    pdf.drawString(230, 705, "14.1%")
    pdf.endForm()
    pdf.doForm("grid")
    pdf.showPage()
    pdf.drawString(72, 800, "Page three has words only as well.")
    pdf.showPage()
    pdf.save()
    asked: list[set[int]] = []
    scan = documents._pages_with_tables

    def recording(path: Path, skip: set[int]) -> dict[int, str]:
        asked.append(skip)
        return scan(path, skip)

    monkeypatch.setattr(documents, "_pages_with_tables", recording)
    document = load_document(path)
    assert asked == [{0, 2}]  # the page with the form is read by pdfplumber, no other
    assert "| Source | Share |\n| --- | --- |\n| Wind | 14.1% |" in document.text
    asked.clear()
    load_document(make_pdf(tmp_path / "words.pdf", [["Only words here."], ["And here."]]))
    assert asked == []  # no page draws a rule: pdfplumber is not opened at all
