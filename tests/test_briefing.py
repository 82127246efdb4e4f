"""Briefs: the outline and key points without the model, then cached checked summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeGenerator

from assistant.answering.assistant import Assistant
from assistant.answering.briefing import BriefCache, outline, with_summaries
from assistant.app import cli
from assistant.app.export import brief_markdown
from assistant.errors import DocumentNotFound
from assistant.ingest.chunking import Chunk
from assistant.ingest.store import DocumentRecord

REPORT = DocumentRecord(
    doc_id="report", title="Report", publisher="Office", date="2026", file="report.pdf",
    sha256="a" * 64, kind="pdf", added="", chunks=0,
)  # fmt: skip


def chunk(n: int, section: str, text: str, page: int | None = None) -> Chunk:
    return Chunk(f"report:{n}", "report", section, section, page, 0, len(text), text)


def test_key_points_are_the_sentences_central_to_each_section() -> None:
    parks = (
        "Parks in the city open at dawn every single day. "
        "Parks in the city close at dusk every single day. "
        "Parks in the city are free for residents every day. "
        "A fox was seen near the harbour wall on Tuesday night. "
        "Parks in the city are cleaned by volunteers each day. "
    )
    chunks = [
        chunk(0, "Contents", "SECTION 1: PARKS AND GARDENS TODAY?\nParks 3\nRivers 5", 1),
        chunk(1, "Parks", parks, 3),
        chunk(2, "Parks", "Parks in the city close at dusk every single day. Short one.", 4),
        chunk(3, "Rivers", "The river is cleaned by volunteers twice a year in spring.", 5),
    ]
    brief = outline(REPORT, chunks)
    # the table of contents has no sentence worth a point (a heading in capitals, lines)
    assert [s.title for s in brief.sections] == ["Parks", "Rivers"]
    parks_section = brief.sections[0]
    assert parks_section.pages == (3, 4) and parks_section.where == "pages 3–4"
    points = [p.text for p in parks_section.points]
    assert len(points) == 2  # five sentences (the repeat read once): a quarter, rounded up
    assert "A fox was seen near the harbour wall on Tuesday night." not in points
    assert points == sorted(points, key=parks.index)  # in the order they stand
    assert all(p.citation.doc_id == "report" for p in parks_section.points)
    assert [p.citation.n for s in brief.sections for p in s.points] == [1, 2, 3]
    assert brief.sections[1].points[0].citation.page == 5


def test_summaries_are_checked_cached_and_exported(fake_assistant: Assistant) -> None:
    fake = fake_assistant.generator
    assert isinstance(fake, FakeGenerator)
    brief = fake_assistant.brief("justice")
    assert [s.title for s in brief.sections] == ["Justice", "Probation"]
    fake.replies += [
        "The Ministry of Justice will give 2,500 employees access to AI tools [1].",
        "The river floods the northern districts every spring [1].",  # not what it says
    ]
    steps = list(with_summaries(fake_assistant, brief))
    assert len(steps) == 2 and not steps[0].sections[1].summary  # one section at a time
    done = steps[-1]
    first, second = done.sections
    assert first.summary.startswith("The Ministry of Justice will give 2,500")
    assert first.summary_citations[0].doc_id == "justice" and first.summary_id
    assert fake.prompts[0][-1]["content"].count("2,500") >= 1  # its own section's passage
    assert second.summary == "" and second.summary_declined
    asked = len(fake.prompts)
    again = list(with_summaries(fake_assistant, fake_assistant.brief("Justice")))[-1]
    assert len(fake.prompts) == asked  # this version of the document was summarised before
    assert again.sections[0].summary == first.summary
    cache = BriefCache(fake_assistant.settings.paths.data_dir)
    assert cache.read(done.document)
    text = brief_markdown(done, "1 May 2026")
    assert text.startswith("# Brief: Justice\n")
    assert "## Justice" in text and "**Summary.** The Ministry of Justice" in text
    assert "**Key points**" in text and "“More than 1,000 probation officers" in text
    assert json.dumps(done.to_json())


def test_a_brief_of_a_document_not_indexed_yet_says_so(fake_assistant: Assistant) -> None:
    (fake_assistant.settings.paths.corpus_dir / "budget.md").write_text("# Budget\n\nSoon.\n")
    with pytest.raises(DocumentNotFound, match="'budget' is in the corpus folder but not in"):
        fake_assistant.brief("budget")
    with pytest.raises(DocumentNotFound, match="No indexed document is called 'nowhere'"):
        fake_assistant.brief("nowhere")


def test_cli_brief(corpus: Path, tmp_path: Path, env: dict[str, str], replies: list[str]) -> None:
    replies += ["The Ministry of Justice will give 2,500 employees access to AI tools [1]."]
    runner = CliRunner()
    assert runner.invoke(cli.main, ["index"], env=env).exit_code == 0
    result = runner.invoke(cli.main, ["brief", "justice"], env=env)
    assert result.exit_code == 0, result.output
    assert "# Brief: Justice" in result.stdout and "**Summary.**" not in result.stdout
    out = tmp_path / "brief.md"
    result = runner.invoke(
        cli.main, ["brief", "--summaries", "--json", "--export", str(out), "justice"], env=env
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sections"][0]["summary"].startswith("The Ministry of Justice")
    assert "**Summary.**" in out.read_text(encoding="utf-8")
    result = runner.invoke(cli.main, ["brief", "nowhere"], env=env)
    assert result.exit_code == 1 and "justice (Justice)" in result.stderr
