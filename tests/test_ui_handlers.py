"""The chat UI's event handlers and rendering, driven with the fake embedder and model."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import pytest
from conftest import FakeEmbedder, FakeGenerator, make_settings
from test_documents import make_pdf
from test_pages import LINES

from assistant.answering.assistant import Assistant
from assistant.answers import Answer, Citation, Timings
from assistant.app.conversations import Conversations
from assistant.app.ui import (
    PENDING,
    answer_html,
    briefing,
    build_ui,
    comment_on,
    comparing,
    export,
    library_since,
    page_view,
    rate,
    remove,
    reopen,
    respond,
    sources_html,
    upload,
)
from assistant.app.waiting import AnswerQueue
from assistant.errors import AssistantError

REPLY = (
    "The Ministry of Justice will give 2,500 employees access to AI tools [1]. "
    "More than 1,000 probation officers already use transcription tools [2]."
)


def run(assistant: Assistant, question: str, history=None, answers=None, top_k=None):
    return list(respond(assistant, question, history or [], answers or [], top_k))


def test_respond_streams_then_shows_the_checked_answer(fake_assistant: Assistant) -> None:
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    steps = run(fake_assistant, "How many Ministry of Justice staff get AI tools?")
    first_chat, first_answers, _, box = steps[0]
    assert PENDING in first_chat[-1]["content"] and first_answers == [] and box == ""
    streamed = [chat[-1]["content"] for chat, answers, _, _ in steps[1:-1]]
    assert streamed and all(len(a) <= len(b) for a, b in zip(streamed, streamed[1:], strict=False))
    assert "cite" not in streamed[0]  # plain text while streaming
    chat, answers, panel, box = steps[-1]
    assert len(answers) == 1 and isinstance(answers[0], Answer)
    assert [m["role"] for m in chat] == ["user", "assistant"]
    final = chat[-1]["content"]
    assert "2,500 employees" in final
    cited = {c.n for c in answers[0].citations}
    for n in cited:
        assert f'href="#src-1-{n}"' in final  # the marker links to its card
        assert f'id="src-1-{n}"' in panel
    assert 'title="Justice' in final  # hovering shows the source
    supporting = "The Ministry of Justice will give 2,500 employees access to AI tools."
    assert f"<mark>{supporting}</mark>" in panel
    assert 'class="uncited"' in panel and "retrieved but not cited" in panel
    assert "Copy answer with references" in panel and "References:" in panel


def test_follow_up_gets_the_earlier_turn(fake_assistant: Assistant) -> None:
    generator: FakeGenerator = fake_assistant.generator  # type: ignore[assignment]
    generator.enqueue(REPLY)
    question = "How many Ministry of Justice staff get AI tools?"
    chat, answers, _, _ = run(fake_assistant, question)[-1]
    generator.enqueue("More than 1,000 probation officers already use transcription tools [1].")
    chat, answers, panel, _ = run(fake_assistant, "And what about probation?", chat, answers)[-1]
    assert len(answers) == 2 and len(chat) == 4
    prompt = " ".join(m["content"] for m in generator.prompts[-1])
    assert question in prompt
    assert 'href="#src-2-' in chat[-1]["content"]
    assert panel.index('id="turn-2"') < panel.index('id="turn-1"')  # newest first


def test_passages_setting_limits_the_sources(fake_assistant: Assistant) -> None:
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    _, answers, _, _ = run(fake_assistant, "Ministry of Justice AI tools", top_k=1)[-1]
    assert len(answers[0].contexts) == 1


def test_model_output_is_escaped(fake_assistant: Assistant) -> None:
    reply = "<script>alert(1)</script> Ministry of Justice [1]."
    fake_assistant.generator.enqueue(reply)  # type: ignore[attr-defined]
    steps = run(fake_assistant, "Ministry of Justice AI tools")
    for chat, _, panel, _ in steps:
        assert "<script>" not in chat[-1]["content"] and "<script>" not in panel


def citation(n: int, text: str) -> Citation:
    return Citation(n, f"doc{n}", f"Doc {n}", "", text, 0.5, "Publisher", "2025")


def test_declined_is_calm_and_distinct() -> None:
    answer = Answer(
        question="Who is the mayor?",
        answer="The documents do not say.",
        citations=(),
        contexts=(citation(1, "Bus fares will be frozen."),),
        declined=True,
        model={"name": "m", "sha256": ""},
        timings=Timings(0, 0, 0, 0, 0),
    )
    shown = answer_html(answer, 1)
    assert 'class="declined"' in shown and "do not answer this question" in shown
    assert "cite" not in shown and "⚠" not in shown
    panel = sources_html([answer])
    assert 'class="declined"' in panel and "1 more passage retrieved but not cited" in panel
    assert "Copy answer" not in panel


def test_errors_show_as_warnings(tmp_path: Path) -> None:
    assistant = Assistant(make_settings(tmp_path), FakeEmbedder(), FakeGenerator())
    chat, answers, _, _ = run(assistant, "Anything?")[-1]  # no index was built
    shown = chat[-1]["content"]
    assert 'class="failed"' in shown and "Something went wrong" in shown
    assert "assistant index" in shown  # says what to do next
    assert answers == []
    assert run(assistant, "   ") == [([], [], sources_html([]), "")]


def test_upload_and_remove_report_what_happened(fake_assistant: Assistant, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "harbour.md"
    good.write_text("# Harbour\n\nThe harbour authority will dredge the channel in 2027.\n")
    bad = incoming / "scan.pdf"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    seen: list[tuple[tuple[int, int], str]] = []
    text, rows, choices = upload(
        fake_assistant, [str(good), str(bad)], lambda v, desc="": seen.append((v, desc))
    )
    assert "**Added:** “Harbour”" in text
    assert "**Not added: scan.pdf**" in text and "content is PNG, not the .pdf" in text
    assert "<strong>Harbour</strong>" in rows and ("Harbour", "harbour") in choices
    assert any(desc == "reading documents" for _, desc in seen)
    text, rows, choices = remove(fake_assistant, "harbour")
    assert text.startswith("Removed “Harbour”") and "Harbour" not in rows
    assert rows.count("<tr>") == 4 and len(choices) == 3  # a header and three documents
    assert remove(fake_assistant, None)[0] == "Choose a document to remove first."


def test_export_writes_a_brief(fake_assistant: Assistant) -> None:
    assert export(fake_assistant, []) is None
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    _, answers, _, _ = run(fake_assistant, "How many Ministry of Justice staff get AI tools?")[-1]
    path = Path(export(fake_assistant, answers) or "")
    assert path.parent == fake_assistant.settings.paths.data_dir / "exports"
    brief = path.read_text(encoding="utf-8")
    assert "## 1. How many Ministry of Justice staff get AI tools?" in brief
    assert answers[0].answer in brief and "### Sources" in brief
    assert "**The Ministry of Justice will give 2,500 employees access to AI tools.**" in brief


def test_build_ui_lists_documents_and_examples(fake_assistant: Assistant) -> None:
    import gradio as gr

    demo = build_ui(fake_assistant)
    assert isinstance(demo, gr.Blocks)
    config = str(demo.config)
    for elem in ("chat", "question", "sources-panel", "documents", "upload", "status"):
        assert f"'elem_id': '{elem}'" in config
    assert "What does “Justice” recommend?" in config
    assert "SHA-256 verified" in config and "Offline" in config


def test_answers_are_generated_one_at_a_time(fake_assistant: Assistant) -> None:
    demo = build_ui(fake_assistant, queue=AnswerQueue(slots=1, max_waiting=5))
    model_events = [fn for fn in demo.fns.values() if fn.concurrency_id == "model"]
    # the brief; Enter and the button of the comparison: one at a time, and each takes a
    # turn in the answer queue too
    assert sorted(fn.name for fn in model_events) == ["brief_view", "compare_table"] * 1 + [
        "compare_table"
    ]
    assert all(fn.concurrency_limit == 1 for fn in model_events)
    # questions (Enter and the Ask button) wait in the answer queue, which shows their place
    asking = [fn for fn in demo.fns.values() if fn.concurrency_id == "ask"]
    assert sorted(fn.name for fn in asking) == ["ask", "ask"]
    assert all(fn.concurrency_limit == 6 for fn in asking)
    assert any(d.get("cancels") for d in demo.config["dependencies"])  # the Stop button


def test_a_waiting_question_shows_how_many_are_ahead(fake_assistant: Assistant) -> None:
    queue = AnswerQueue(slots=1, max_waiting=5)
    busy = queue.join()
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    steps = respond(fake_assistant, "How many staff get AI tools?", [], [], queue=queue)
    next(steps)  # the question shown
    waiting = next(steps)[0][-1]["content"]
    assert "Waiting for the model: 1 question ahead of yours" in waiting
    busy.leave()
    *_, (chat, answers, _, _) = steps
    assert "2,500 employees" in chat[-1]["content"] and queue.waiting == 0
    busy = queue.join()
    stopped = respond(fake_assistant, "How many staff?", [], [], queue=queue)
    next(stopped), next(stopped)
    stopped.close()  # the Stop button: its place is given up
    assert queue.waiting == 0
    busy.leave()


def test_respond_limits_the_search_to_the_chosen_documents(fake_assistant: Assistant) -> None:
    fake = fake_assistant.generator
    assert isinstance(fake, FakeGenerator)
    fake.replies.append("It rained on Tuesday in the northern districts [1].")
    *_, (chat, answers, panel, _) = respond(
        fake_assistant, "Did it rain?", [], [], None, ["weather"]
    )
    assert answers[-1].scope == ("weather",)
    assert {c.doc_id for c in answers[-1].contexts} == {"weather"}
    assert "Searched only the chosen documents: “Weather”." in chat[-1]["content"]


def test_comparing_shows_rows_as_they_come_then_the_exports(fake_assistant: Assistant) -> None:
    fake = fake_assistant.generator
    assert isinstance(fake, FakeGenerator)
    fake.replies.append("The Ministry of Justice will give 2,500 employees access to AI tools [1].")
    events = list(comparing(fake_assistant, "AI tools for employees", ["justice", "weather"]))
    first_html, first_files = events[0]
    assert first_html.count("Searching this document…") == 2 and first_files == []
    assert events[1][0].count("Searching this document…") == 1
    final_html, files = events[-1]
    assert final_html.count("<tr data-doc=") == 2 and "Not addressed" in final_html
    assert 'class="cite"' in final_html and "2,500 employees" in final_html
    assert sorted(Path(f).suffix for f in files) == [".csv", ".md"]
    assert "| Weather | Not addressed |" in Path(files[0]).read_text(encoding="utf-8")
    ((html_text, files),) = list(comparing(fake_assistant, "AI tools", ["nowhere"]))
    assert "Not compared." in html_text and "&#x27;nowhere&#x27;" in html_text and files == []
    ((html_text, files),) = list(comparing(fake_assistant, "  "))
    assert "Type a topic" in html_text


def test_a_comparison_asked_in_the_chat_is_offered_the_table(fake_assistant: Assistant) -> None:
    *_, (chat, *_rest) = respond(fake_assistant, "How do the notes differ on rain?", [], [])
    assert "ask this in the Compare tab" in chat[-1]["content"]
    *_, (chat, *_rest) = respond(fake_assistant, "Did it rain?", [], [])
    assert "Compare tab" not in chat[-1]["content"]


def test_a_kept_conversation_reopens_with_its_sources(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    store = Conversations(tmp_path / "kept")
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    *_, (_, answers, _, _) = run(fake_assistant, "How many staff get AI tools?")
    conversation = store.add(None, answers[-1])
    chat, kept, panel = reopen(store, conversation)
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert 'class="cite"' in chat[1]["content"] and kept[0].id == answers[-1].id
    assert "2,500 employees" in panel and "src-card" in panel
    with pytest.raises(AssistantError, match="No conversation has the id"):
        reopen(store, "gone")


def test_thumbs_and_a_comment_are_kept_by_answer_id(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    store = Conversations(tmp_path / "kept")
    *_, (_, answers, _, _) = run(fake_assistant, "How many staff get AI tools?")
    said, rated = rate(store, answers, 1, False)  # the first answer is chat message 1
    assert "👎" in said and rated == answers[0].id
    assert comment_on(store, answers, rated, "Too short") == (
        "Comment kept for “How many staff get AI tools?”."
    )
    (kept,) = store.feedback()
    assert (kept.answer_id, kept.rating, kept.comment) == (answers[0].id, "down", "Too short")
    assert rate(store, answers, 1, None) == ("", None)  # a thumb taken back
    assert "Rate an answer" in comment_on(store, answers, None, "x")


def test_a_brief_shows_at_once_then_its_summaries(fake_assistant: Assistant) -> None:
    fake_assistant.generator.enqueue(  # type: ignore[attr-defined]
        "The Ministry of Justice will give 2,500 employees access to AI tools [1]."
    )
    steps = list(briefing(fake_assistant, "justice", summaries=True))
    first, path = steps[0]
    assert "<h4>Justice" in first and "Summarising…" in first and path is None
    last, path = steps[-1]
    assert 'class="brief-summary"' in last and "Summarising…" not in last
    assert path and Path(path).read_text(encoding="utf-8").startswith("# Brief: Justice")
    ((shown, path),) = list(briefing(fake_assistant, "nowhere"))
    assert "No brief." in shown and path is None


def test_a_brief_has_its_summaries_written_in_the_background(fake_assistant: Assistant) -> None:
    from assistant.answering.briefing import _RUNNING

    fake = fake_assistant.generator
    assert isinstance(fake, FakeGenerator)
    fake.replies.append("The Ministry of Justice will give 2,500 employees access to AI tools [1].")
    shown, _ = list(briefing(fake_assistant, "justice"))[-1]
    assert "section summaries are being written in the background" in shown
    for thread in list(_RUNNING.values()):
        thread.join(timeout=10)
    asked = len(fake.prompts)
    assert asked == 2  # one per section, without waiting for the user
    shown, _ = list(briefing(fake_assistant, "justice"))[-1]
    assert 'class="brief-summary"' in shown and "in the background" not in shown
    assert len(fake.prompts) == asked  # read from the cache


def test_the_documents_list_follows_the_index(fake_assistant: Assistant, corpus: Path) -> None:
    """What the UI's timer polls: nothing while the library stands, new rows once it moved."""
    seen = fake_assistant.library_version
    assert library_since(fake_assistant, seen) is None
    (corpus / "harbour.md").write_text("# Harbour\n\nThe channel is dredged in 2026.\n")
    fake_assistant.index()  # as the corpus watcher does
    version, rows, choices = library_since(fake_assistant, seen) or (seen, "", [])
    assert version == seen + 1 and "<strong>Harbour</strong>" in rows
    assert ("Harbour", "harbour") in choices
    assert library_since(fake_assistant, version) is None


@pytest.mark.parametrize("watch", [True, False])
def test_the_library_is_polled_unless_watching_is_off(
    tmp_path: Path, corpus: Path, watch: bool
) -> None:
    settings = make_settings(tmp_path, ui={"watch_corpus": watch})
    assistant = Assistant(settings, FakeEmbedder(), FakeGenerator())
    assistant.index()
    timers = [c for c in build_ui(assistant).config["components"] if c["type"] == "timer"]
    assert [t["props"]["active"] for t in timers] == [watch]


def pdf_answer(assistant: Assistant, corpus: Path) -> Answer:
    """An answer citing page 2 of a PDF added to the corpus and indexed."""
    make_pdf(corpus / "schools.pdf", [["A cover page about the schools policy."], LINES], "Schools")
    assistant.index()
    chunk = next(c for c in assistant.retriever.index.chunks if c.doc_id == "schools")
    assert chunk.page == 2
    cited = Citation(1, "schools", "Schools", "", chunk.text, 0.9, page=2)
    return Answer(
        question="When do schools report their spending?",
        answer="Each school reports its spending by the end of March [1].",
        citations=(cited,),
        contexts=(cited,),
        declined=False,
        model={"name": "fake-model"},
        timings=Timings(0, 0, 0, 0, 0),
    )


def opened(panel: str) -> dict:
    """What the card's "Show on page" element asks the server to draw."""
    found = re.search(r'class="on-page" data-page="([^"]*)"', panel)
    assert found is not None
    return json.loads(html.unescape(found.group(1)))


def test_a_pdf_source_opens_to_its_page_with_the_cited_sentence_highlighted(
    fake_assistant: Assistant, corpus: Path
) -> None:
    answer = pdf_answer(fake_assistant, corpus)
    panel = sources_html([answer])
    assert "<summary>Show on page 2</summary>" in panel
    wanted = opened(panel)
    assert wanted == {
        "doc": "schools",
        "page": 2,
        "phrases": ["report on its spending by the end of March."],  # as the card marks it
    }
    shown = page_view(fake_assistant, wanted)
    png = base64.b64decode(re.search(r"base64,([^\"]+)", shown).group(1))  # type: ignore[union-attr]
    assert png.startswith(b"\x89PNG") and 'alt="Page 2, the cited text highlighted"' in shown
    assert "without a highlight" not in shown
    missing = page_view(fake_assistant, {**wanted, "phrases": ["Nothing like this is there."]})
    assert "shown without a highlight" in missing and "base64," in missing
    # the sources panel offers the browser the one server function that draws a page
    demo = build_ui(fake_assistant)
    sources = next(b for b in demo.blocks.values() if getattr(b, "elem_id", "") == "sources-panel")
    assert sources.get_config()["server_fns"] == ["shown_page"]
    assert sources.shown_page(wanted) == shown
    # passages of text files have no page to open
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    question = "How many Ministry of Justice staff get AI tools?"
    _, answers, text_panel, _ = run(fake_assistant, question)[-1]
    paged = [c for c in answers[0].contexts if c.page is not None]
    assert len(paged) < len(answers[0].contexts)
    assert text_panel.count('class="on-page"') == len(paged)


def test_a_page_is_not_shown_when_its_pdf_changed_or_went(
    fake_assistant: Assistant, corpus: Path
) -> None:
    answer = pdf_answer(fake_assistant, corpus)
    wanted = opened(sources_html([answer]))
    make_pdf(corpus / "schools.pdf", [["A new cover."], ["Other text on page two."]], "Schools")
    shown = page_view(fake_assistant, wanted)
    assert '<div class="failed">' in shown and "base64" not in shown
    assert "has changed since it was indexed" in shown and "assistant index" in shown
    (corpus / "schools.pdf").unlink()
    assert "no longer in the corpus folder" in page_view(fake_assistant, wanted)


def test_the_export_writes_the_cited_pages_beside_the_markdown(
    fake_assistant: Assistant, corpus: Path
) -> None:
    answer = pdf_answer(fake_assistant, corpus)
    path = Path(export(fake_assistant, [answer]) or "")
    image = path.with_name(f"{path.stem}-pages") / "1-1-schools-p2.png"
    assert image.read_bytes().startswith(b"\x89PNG")
    brief = path.read_text(encoding="utf-8")
    link = f"([page 2, the cited text highlighted]({path.stem}-pages/{image.name}))"
    assert f"**[1] Schools, page 2** {link}" in brief
    make_pdf(corpus / "schools.pdf", [["A new cover."], ["Other text on page two."]], "Schools")
    later = Path(export(fake_assistant, [answer]) or "").read_text(encoding="utf-8")
    assert "**[1] Schools, page 2**\n\n_No page image: Schools: schools.pdf has changed" in later


def test_a_withheld_draft_is_not_called_unanswered(capsys: pytest.CaptureFixture[str]) -> None:
    """When the passages bear on the question but the draft from them was withheld, the
    UI, the export and the CLI say so and point to the passages, not that the documents
    do not answer."""
    from assistant.answering.assistant import UNCONFIRMED_TEXT
    from assistant.app.cli import _print_sources
    from assistant.app.export import answer_markdown

    answer = Answer(
        question="Is the piece for or against it?",
        answer=UNCONFIRMED_TEXT,
        citations=(),
        contexts=(citation(1, "The piece argues against it."),),
        declined=True,
        model={"name": "m", "sha256": ""},
        timings=Timings(0, 0, 0, 0, 0),
    )
    for shown in (answer_html(answer, 1), sources_html([answer]), answer_markdown(answer)):
        assert "bear on this question" in shown and "do not answer" not in shown
    _print_sources(answer)
    printed = capsys.readouterr().out
    assert "do not answer" not in printed and "[1] Doc 1" in printed
    plain = Answer(**{**answer.__dict__, "answer": "The documents do not say."})
    assert "do not answer this question" in answer_markdown(plain)
    # a decline that says what the documents lack says it, in the chat and the export
    for lacking in ("The documents give no figure for this.", "The documents do not mention NHS."):
        specific = Answer(**{**answer.__dict__, "answer": lacking})
        for shown in (answer_html(specific, 1), answer_markdown(specific)):
            assert f"{lacking} Try other words" in shown and "do not answer" not in shown
