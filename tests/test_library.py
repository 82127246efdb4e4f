"""Screening uploads by content, removing documents, suggested questions, and the briefing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from assistant.answering.assistant import Assistant
from assistant.answering.grounding import supporting_spans
from assistant.answers import Answer, Citation, Timings
from assistant.app.export import answer_markdown, conversation_markdown, highlighted, reference
from assistant.errors import DocumentNotFound
from assistant.ingest.library import detect_kind, screen_upload, short_title, suggested_questions
from assistant.ingest.store import DocumentRecord

MB = 1024 * 1024


def make_docx(path: Path, text: str) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    document.save(str(path))
    return path


def make_pdf(path: Path, line: str) -> Path:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    pdf.drawString(72, 800, line)
    pdf.save()
    return path


def test_detect_kind_reads_content_not_names(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "named.txt", "A real PDF with a misleading name.")
    docx = make_docx(tmp_path / "report.bin", "Text inside a Word file.")
    archive = tmp_path / "plain.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "not a word document")
    text = tmp_path / "notes.pdf"
    text.write_text("Grüße: plain UTF-8 text with accents.", encoding="utf-8")
    image = tmp_path / "image.md"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02 not text")
    assert [detect_kind(p) for p in (pdf, docx, archive, text, image, binary)] == [
        "pdf",
        "docx",
        "zip",
        "text",
        "png",
        "binary",
    ]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("slides.pptx", b"PK\x03\x04", "type '.pptx' is not supported"),
        ("empty.txt", b"", "the file is empty"),
        ("fake.pdf", b"just some text pretending to be a PDF", "its content is plain text"),
        ("fake.docx", b"%PDF-1.4 not really", "its content is PDF, not the .docx"),
        ("photo.txt", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "its content is JPG, not the .txt"),
        ("blob.txt", b"\x00\x01\x02\x03 binary", "its content is binary data"),
    ],
)
def test_screen_upload_says_why(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert reason in (screen_upload(path, 5 * MB) or "")


def test_screen_upload_size_limit_and_accepts_good_files(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000)
    assert "over the 1 MB upload limit" in (screen_upload(big, 1 * MB) or "")
    good = [
        make_pdf(tmp_path / "a.pdf", "Hello"),
        make_docx(tmp_path / "b.docx", "Hello"),
        tmp_path / "c.html",
    ]
    good[2].write_text("<html><body><p>Hello</p></body></html>")
    assert [screen_upload(p, 5 * MB) for p in good] == [None, None, None]


def test_upload_rejects_bad_files_and_keeps_the_library(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    before = {r.doc_id for r in fake_assistant.documents()}
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    fake = incoming / "budget.pdf"
    fake.write_text("not a pdf at all")
    good = incoming / "..%2F..%2Fevil name!.md"
    good.write_text("# Harbour\n\nThe harbour authority will dredge the channel in 2027.\n")
    report = fake_assistant.upload([fake, good])
    assert [name for name, _ in report.failed] == ["budget.pdf"]
    assert "plain text" in report.failed[0][1]
    corpus = fake_assistant.settings.paths.corpus_dir
    assert not (corpus / "budget.pdf").exists()
    assert [p.name for p in corpus.iterdir() if "evil" in p.name] == ["2F..-2Fevil-name-.md"]
    after = {r.doc_id for r in fake_assistant.documents()}
    assert before < after and len(after - before) == 1


def test_remove_deletes_the_file_and_reindexes(fake_assistant: Assistant) -> None:
    corpus = fake_assistant.settings.paths.corpus_dir
    report = fake_assistant.remove("weather")
    assert report.removed == ["weather"]
    assert not (corpus / "weather.md").exists()
    assert "weather" not in {r.doc_id for r in fake_assistant.documents()}
    assert (corpus / "justice.md").exists()
    with pytest.raises(DocumentNotFound):
        fake_assistant.remove("weather")


def record(title: str, chunks: int) -> DocumentRecord:
    return DocumentRecord(title.lower(), "f.md", "0", title, "P", "2025", "md", chunks, "now")


def test_suggested_questions_follow_the_largest_documents() -> None:
    records = [
        record("Small note", 1),
        record("The Open Dividend: Building an AI Openness Strategy", 40),
        record("AI Sovereignty Makes Everyone Weaker—The US Can Lead Differently", 12),
    ]
    assert suggested_questions(records, n=2) == [
        "What does “The Open Dividend” recommend?",
        "What does “AI Sovereignty Makes Everyone Weaker” propose?",
    ]
    # a document's own example (metadata.toml) comes first
    examples = {"f.md": "How many languages does Bhashini support?"}
    assert suggested_questions(records[:1], examples=examples) == [examples["f.md"]]
    assert short_title("one two three four five six seven eight nine ten") == (
        "one two three four five six seven eight…"
    )


PASSAGE = (
    "The ministry published its plan in May. It will give 2,500 employees access to AI "
    "tools by 2026. Training starts next year."
)


def make_answer(text: str, declined: bool = False) -> Answer:
    cited = Citation(1, "moj", "AI at the Ministry", "Plans", PASSAGE, 0.9, "Amplify", "2025", 3)
    other = Citation(2, "weather", "Weather", "", "It rained.", 0.1)
    return Answer(
        question="How many staff get AI tools?",
        answer=text,
        citations=() if declined else (cited,),
        contexts=(cited, other),
        declined=declined,
        model={"name": "fake-model", "sha256": "0" * 64},
        timings=Timings(0.1, 0.2, 0.3, 10, 5),
    )


def test_supporting_spans_pick_the_sentence_behind_the_claim() -> None:
    spans = supporting_spans("2,500 employees will get AI tools [1].", 1, PASSAGE)
    assert [PASSAGE[s:e] for s, e in spans] == [
        "It will give 2,500 employees access to AI tools by 2026."
    ]
    assert supporting_spans("2,500 employees will get AI tools [1].", 2, PASSAGE) == []
    answer = make_answer("2,500 employees will get AI tools [1].")
    pieces = highlighted(answer, answer.contexts[0])
    assert "".join(text for text, _ in pieces) == PASSAGE
    assert [text for text, marked in pieces if marked] == [
        "It will give 2,500 employees access to AI tools by 2026."
    ]


def test_briefing_markdown_quotes_and_bolds_support() -> None:
    answer = make_answer("2,500 employees will get AI tools [1].")
    assert reference(answer.citations[0]) == "AI at the Ministry (Amplify, 2025), §Plans, page 3"
    assert answer_markdown(answer) == (
        "2,500 employees will get AI tools [1].\n\nReferences:\n"
        "[1] AI at the Ministry (Amplify, 2025), §Plans, page 3\n"
    )
    brief = conversation_markdown([answer, make_answer("", declined=True)], "fake-model", "today")
    assert "## 1. How many staff get AI tools?" in brief
    assert "**[1] AI at the Ministry (Amplify, 2025), §Plans, page 3**" in brief
    assert (
        "> The ministry published its plan in May. **It will give 2,500 employees access to "
        "AI tools by 2026.** Training starts next year." in brief
    )
    assert "## 2. How many staff get AI tools?\n\n_The indexed documents do not answer" in brief
    assert "It rained." not in brief  # retrieved but not cited


def test_each_paragraph_of_a_comparison_is_headed_by_its_document() -> None:
    from dataclasses import replace

    from assistant.app.export import labelled
    from assistant.app.ui import answer_html

    text = "2,500 employees will get AI tools [1].\n\nIt rained [2]. It rained again [2]."
    answer = make_answer(text)
    answer = replace(answer, citations=answer.contexts)
    assert labelled(answer) == (
        "**AI at the Ministry** (Amplify): 2,500 employees will get AI tools [1].\n\n"
        "**Weather**: It rained [2]. It rained again [2]."
    )
    assert "**Weather**: It rained" in answer_markdown(answer)
    assert "**AI at the Ministry** (Amplify): 2,500" in answer_html(answer, 1)
    # one paragraph: as it is; a paragraph citing two documents: not headed; a decline
    assert labelled(replace(answer, answer="It rained [2].")) == "It rained [2]."
    mixed = labelled(replace(answer, answer="A [1].\n\nB [1][2]."))
    assert mixed == "**AI at the Ministry** (Amplify): A [1].\n\nB [1][2]."
    assert labelled(replace(answer, declined=True)) == text
    # a paragraph that names its document as it opens does not name it twice
    named = labelled(replace(answer, answer="A [1].\n\n“Weather” says that it rained [2]."))
    assert named.endswith("\n\n**Weather**: It rained [2].")
    kept = labelled(replace(answer, answer="A [1].\n\n“Weather” was wrong: it rained [2]."))
    assert kept.endswith("**Weather**: “Weather” was wrong: it rained [2].")
    # nor speaks for all the documents under one document's heading
    for opener in (
        "The reports say that it",
        "The documents state that it",
        "According to the sources, it",
    ):
        framed = labelled(replace(answer, answer=f"A [1].\n\n{opener} rained [2]."))
        assert framed.endswith("\n\n**Weather**: It rained [2]."), framed
    kept = labelled(replace(answer, answer="A [1].\n\nThe reports of rain were right [2]."))
    assert kept.endswith("**Weather**: The reports of rain were right [2].")
    kept = labelled(replace(answer, answer="A [1].\n\nThe papers mention rain in May [2]."))
    assert kept.endswith("**Weather**: The papers mention rain in May [2].")  # not "Rain in May"
    # a second paragraph of the same document is not headed again
    rest = labelled(replace(answer, answer="A [1].\n\nB [2].\n\nC [2].\n\nD [1]."))
    assert rest == (
        "**AI at the Ministry** (Amplify): A [1].\n\n**Weather**: B [2].\n\nC [2].\n\n"
        "**AI at the Ministry** (Amplify): D [1]."
    )
    # nor does it speak for all the documents, and an uncited line between keeps it
    framed = "B [2].\n\nThe reports say that it rained [2].\n\nSo it was.\n\nC [2]."
    assert labelled(replace(answer, answer=framed)) == (
        "**Weather**: B [2].\n\nIt rained [2].\n\nSo it was.\n\nC [2]."
    )
    both = labelled(replace(answer, answer="B [2].\n\nA [1][2].\n\nC [2]."))
    assert both == "**Weather**: B [2].\n\nA [1][2].\n\n**Weather**: C [2]."


def test_a_cited_table_row_is_quoted_under_its_header_in_the_brief_and_the_card() -> None:
    from assistant.app.ui import card_html

    header = "The share of each source.\n| Source | 2022 | 2023 |\n| --- | --- | --- |"
    rows = "| Wind | 12.5% | 14.1% |\n| Sun | 3.2% | 4.0% |"
    table = Citation(1, "mix", "Energy mix", "", rows, 0.9, page=2, header=header)
    answer = Answer(
        question="What share did wind have in 2023?",
        answer="Wind had a 14.1% share in 2023 [1].",
        citations=(table,),
        contexts=(table,),
        declined=False,
        model={"name": "fake-model", "sha256": "0" * 64},
        timings=Timings(0.1, 0.2, 0.3, 10, 5),
    )
    brief = conversation_markdown([answer])
    assert (
        "> The share of each source.\n> | Source | 2022 | 2023 |\n> | --- | --- | --- |\n"
        "> | **Wind** | **12.5%** | **14.1%** |\n> | Sun | 3.2% | 4.0% |\n" in brief
    )
    card = card_html(answer, table, 1)
    assert '<div class="passage-head">The share of each source.\n| Source |' in card
    assert card.index("passage-head") < card.index("<mark>| Wind | 12.5% | 14.1% |</mark>")
