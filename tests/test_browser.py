"""The chat UI in a real Chromium, on the real embedder and the default model.

Starts `assistant ui` on a free port over a copy of the corpus and index (uploads do not
touch the repository's corpus), then, as an adviser would: loads the page, asks a corpus
question, watches the answer stream in, clicks a citation, copies an answer, asks
something the documents do not cover, uploads a document and asks what only it says,
asks that document alone, exports the conversation and reads the file, compares two
documents on one topic, and after a restart of the UI reopens the conversation (and finds
the thumbs-down given on the way kept). A screenshot of each step is saved under
test-output/browser/, with the time from pressing Enter to the first visible token.

Needs /usr/bin/chromium (`make browser-deps` installs it) and the models (`make test-models`);
it indexes its copy of the corpus itself (reusing the repository's index when there is one).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, Server, free_port, serve_env

pytestmark = [pytest.mark.browser, pytest.mark.model]

CHROMIUM = Path("/usr/bin/chromium")
OUT = ROOT / "test-output" / "browser"
MODEL = os.environ.get("BROWSER_TEST_MODEL", "qwen2.5-coder-1.5b")
UPLOADED = (
    "# Riverside Harbour Plan\n\n"
    "The Riverside Harbour Authority will plant 4,812 oak trees along the Quayside "
    "promenade by 2031. The planting is paid for by a levy on cruise ship berths.\n"
)
LAST_BOT = "#chat .bot .message-content"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)")
    work = tmp_path_factory.mktemp("ui")
    shutil.copytree(ROOT / "corpus", work / "corpus")
    # its own index, built from its own copy of the corpus (never the working tree's)
    port = free_port()
    env = serve_env(work, MODEL, port)
    indexed = subprocess.run(
        [sys.executable, "-m", "assistant", "index"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    running = Server(work, env, port)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def page(server: Server) -> Iterator:
    from playwright.sync_api import sync_playwright

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-dev-shm-usage",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        context = browser.new_context(
            viewport={"width": 1366, "height": 860}, accept_downloads=True
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        tab = context.new_page()
        tab.set_default_timeout(180_000)
        tab.goto(server.url)
        yield tab
        browser.close()


def shot(page, name: str, full: bool = True) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)


def ask(page, question: str) -> float:
    """Type the question, press Enter; wait for the finished answer. Returns the seconds
    from Enter to the first visible token of the answer."""
    page.fill("#question textarea", question)
    started = time.monotonic()
    page.press("#question textarea", "Enter")
    page.wait_for_selector("#chat .pending", timeout=60_000)
    page.wait_for_function(
        """() => { const b = document.querySelectorAll('#chat .bot .message-content');
                   const last = b[b.length - 1];
                   return last.innerText.trim() && !last.querySelector('.pending'); }""",
        polling=50,
    )
    first_token = time.monotonic() - started
    # Finished: the Ask button is usable again and the question is in the sources panel.
    page.wait_for_function(
        "(q) => document.querySelector('#sources-panel').innerText.includes(q)", arg=question
    )
    return first_token


def last_answer(page) -> str:
    return page.locator(LAST_BOT).last.inner_text()


def test_policymaker_journey(page, server: Server) -> None:
    timings: dict[str, float] = {}
    page.wait_for_selector("#question textarea")
    assert page.locator("text=Offline: nothing leaves this computer").count() == 1
    assert page.locator("text=SHA-256 verified").count() == 1
    examples = page.locator("text=How many Indian languages do the Bhashini").count()
    assert examples >= 1
    shot(page, "01-loaded")

    # A corpus question, streamed, then checked and cited.
    question = "How many Ministry of Justice staff will get access to AI tools?"
    page.fill("#question textarea", question)
    started = time.monotonic()
    page.press("#question textarea", "Enter")
    page.wait_for_selector("#chat .pending")
    shot(page, "02-waiting", full=False)
    page.wait_for_function(
        """() => { const b = document.querySelectorAll('#chat .bot .message-content');
                   return b.length && b[b.length-1].innerText.trim()
                          && !b[b.length-1].querySelector('.pending'); }""",
        polling=50,
    )
    timings["enter_to_first_token_s"] = round(time.monotonic() - started, 2)
    shot(page, "03-streaming", full=False)
    page.wait_for_selector("#chat a.cite")
    timings["enter_to_final_answer_s"] = round(time.monotonic() - started, 2)
    answer = last_answer(page)
    assert re.search(r"2,?500", answer), answer
    cards = page.locator("#sources-panel .turn").first.locator(":scope > .src-card")
    assert cards.count() >= 1
    assert cards.first.locator(".passage").inner_text().strip()
    assert cards.first.locator("mark").count() >= 1  # supporting sentence highlighted
    shot(page, "04-answer")

    # Thumbs down on that answer, with a comment.
    page.locator("#chat button[aria-label=Dislike]").last.click()
    page.get_by_role("tab", name="Conversations").click()
    page.wait_for_function(
        "() => document.querySelector('#feedback-note').innerText.includes('👎 kept')"
    )
    page.fill("#feedback-comment textarea", "Say when they get them")
    page.get_by_role("button", name="Send comment").click()
    page.wait_for_function(
        "() => document.querySelector('#feedback-note').innerText.includes('Comment kept')"
    )
    page.get_by_role("tab", name="Sources").click()

    # Clicking a citation shows its passage.
    marker = page.locator("#chat a.cite").first
    target = marker.get_attribute("href") or ""
    assert re.fullmatch(r"#src-1-\d+", target)
    assert marker.get_attribute("title")  # hover shows the source
    marker.click()
    card = page.locator(target)
    page.wait_for_function("(id) => location.hash === id", arg=target)
    assert card.evaluate("el => el.matches(':target')")
    box = card.bounding_box()
    assert box is not None and 0 <= box["y"] < page.viewport_size["height"]
    shot(page, "05-citation-clicked", full=False)

    # Copy one answer with its references.
    page.locator("#sources-panel button.copy-answer").first.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert re.search(r"2,?500", copied) and "References:" in copied and "[1]" in copied

    # A question the documents do not answer: a calm, distinct state.
    ask(page, "What is the population of Lima, the capital of Peru?")
    assert page.locator("#chat .bot").last.locator(".declined").count() == 1
    assert page.locator("#chat .bot").last.locator(".failed").count() == 0
    shot(page, "06-declined")

    # Upload a document, then ask what only it says.
    page.get_by_role("tab", name="Documents").click()
    upload = OUT / "riverside-harbour-plan.md"
    upload.write_text(UPLOADED, encoding="utf-8")
    page.set_input_files("#upload input[type=file]", str(upload))
    page.wait_for_function(
        "() => document.querySelector('#upload-report').innerText.includes('Added')"
    )
    assert page.locator("#documents").get_by_text("Riverside Harbour Plan").count() >= 1
    shot(page, "07-uploaded")
    page.get_by_role("tab", name="Sources").click()
    timings["uploaded_question_first_token_s"] = round(
        ask(page, "How many oak trees will the Riverside Harbour Authority plant?"), 2
    )
    assert "4,812" in last_answer(page) or "4812" in last_answer(page)
    latest = page.locator("#sources-panel .turn").first
    assert "Riverside Harbour Plan" in latest.locator(":scope > .src-card").first.inner_text()
    shot(page, "08-uploaded-answer")

    # Ask one document only ("Ask this document"): every passage given comes from it.
    page.get_by_role("tab", name="Documents").click()
    page.locator("#document-pick input").click()
    page.get_by_role("option", name="Riverside Harbour Plan").click()
    page.get_by_role("button", name="Ask this document").click()
    page.wait_for_function(
        "() => document.querySelector('#scope').innerText.includes('Riverside Harbour Plan')"
    )
    page.get_by_role("tab", name="Sources").click()
    ask(page, "Who pays for the planting?")
    latest = page.locator("#sources-panel .turn").first
    titles = latest.locator(".src-card strong").all_inner_texts()
    assert titles and all("Riverside Harbour Plan" in t for t in titles), titles
    assert "Searched only the chosen documents" in last_answer(page)
    shot(page, "09-one-document")

    # Export the conversation and read the file.
    page.get_by_role("button", name="Export conversation (Markdown)").click()
    link = page.locator("#export a").first
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    saved = OUT / "conversation.md"
    download.value.save_as(saved)
    brief = saved.read_text(encoding="utf-8")
    assert f"## 1. {question}" in brief
    assert "## 3. How many oak trees will the Riverside Harbour Authority plant?" in brief
    # the declined turn, said plainly: that the documents do not answer, or what they lack
    assert re.search(
        r"## 2\. What is the population of Lima[^\n]*\n\n_The (?:indexed documents do not "
        r"answer this question|documents do not mention Lima)",
        brief,
    ), brief
    assert "**[1]" in brief and "> " in brief and "4,812 oak trees" in brief
    shot(page, "10-exported")

    # Compare two documents on one topic: a row each, checked, and the table exported.
    page.get_by_role("tab", name="Compare").click()
    page.fill("#compare-topic textarea", "planting oak trees")
    for title in ("Riverside Harbour Plan", "OpenAI's expanded partnership"):
        page.locator("#compare-docs input").click()
        page.get_by_role("option", name=title).click()
    page.keyboard.press("Escape")
    started = time.monotonic()
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_selector("#compare-table tr.waiting-row")
    page.wait_for_selector("#compare-export a")
    timings["comparison_of_two_documents_s"] = round(time.monotonic() - started, 2)
    rows = page.locator("#compare-table tr[data-doc]")
    assert rows.count() == 2
    first, second = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert "Riverside Harbour Plan" in first and re.search(r"4,?812", first), first
    assert "OpenAI's expanded partnership" in second and "Not addressed" in second, second
    files = page.locator("#compare-export").inner_text()
    assert re.search(r"comparison-\S+\s*\.md", files) and re.search(r"\.csv", files), files
    shot(page, "11-compared")

    # Brief the uploaded document, with the model's checked summary of its section.
    page.get_by_role("tab", name="Brief").click()
    page.locator("#brief-document input").click()
    page.get_by_role("option", name="Riverside Harbour Plan").click()
    page.get_by_label("Also summarise each section").check()
    started = time.monotonic()
    page.get_by_role("button", name="Brief", exact=True).click()
    page.wait_for_selector("#brief-export a")
    timings["brief_with_summaries_s"] = round(time.monotonic() - started, 2)
    brief = page.locator("#brief").inner_text()
    assert "Riverside Harbour Plan" in brief and "4,812 oak trees" in brief  # a key point
    summary = page.locator("#brief .brief-summary")
    assert summary.count() == 1 and re.search(r"4,?812|levy", summary.inner_text())
    shot(page, "11b-brief")

    # The thumbs-down is kept with the answer's id; the conversation survives a restart.
    with sqlite3.connect(server.work / "data" / "conversations.sqlite3") as db:
        kept = db.execute("SELECT rating, comment, question FROM feedback").fetchall()
    assert kept == [("down", "Say when they get them", question)]
    server.restart()
    # A new tab: the old one's connections were to the stopped server, and its "load"
    # event after a reload has been seen to wait on them; the app's own tab is the sign.
    # (The first tab stays open: the module's other tests carry on in it.)
    page = page.context.new_page()
    page.set_default_timeout(180_000)
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("tab", name="Conversations").click(timeout=120_000)
    page.locator("#conversations input").click()
    page.get_by_role("option", name=re.compile(re.escape(question))).click()
    page.get_by_role("button", name="Open", exact=True).click()
    page.wait_for_selector("#chat a.cite")
    assert page.locator("#chat .user").count() == 4  # its four questions
    assert re.search(r"2,?500", page.locator(LAST_BOT).first.inner_text())
    assert page.locator("#sources-panel .src-card").count() >= 3
    shot(page, "12-reopened-after-restart")

    # A narrow window still reads.
    page.set_viewport_size({"width": 420, "height": 900})
    page.wait_for_timeout(500)
    shot(page, "13-narrow")
    (OUT / "timings.json").write_text(json.dumps({"model": MODEL, **timings}, indent=1))
    print(f"\nbrowser timings ({MODEL}): {timings}")
    page.close()


def test_documents_as_they_come(page, server: Server) -> None:
    """A file saved into the corpus folder joins the list by itself; a PDF's citation
    opens to its page; a long scanned upload is stopped and leaves nothing behind."""
    from test_documents import make_pdf
    from test_ocr import scanned_page

    page.set_viewport_size({"width": 1366, "height": 860})
    page.goto(server.url)
    page.get_by_role("tab", name="Documents").click()

    # Saved into the watched corpus folder: listed without a restart or an upload.
    saved = server.work / "corpus" / "allotment-note.md"
    saved.write_text(
        "# Allotment Waiting List Note\n\nThe council keeps 1,379 allotment plots.\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    page.locator("#documents").get_by_text("Allotment Waiting List Note").wait_for(timeout=60_000)
    print(f"\nsaved file listed after {time.monotonic() - started:.1f} s")
    shot(page, "14-watched-file-listed")

    # A PDF: its citation opens to the page, drawn with the cited text highlighted.
    pdf = make_pdf(
        OUT / "northfield-water.pdf",
        [["Northfield Water Board plan.", "The board will replace 3,917 lead pipes by 2029."]],
        title="Northfield Water Board Plan",
    )
    page.set_input_files("#upload input[type=file]", str(pdf))
    page.wait_for_function(
        "() => document.querySelector('#upload-report').innerText.includes('Added')"
    )
    page.get_by_role("tab", name="Sources").click()
    ask(page, "How many lead pipes will the Northfield Water Board replace?")
    assert re.search(r"3,?917", last_answer(page)), last_answer(page)
    card = page.locator("#sources-panel .turn").first.locator(":scope > .src-card").first
    assert "Northfield Water Board Plan" in card.inner_text()
    card.get_by_text("Show on page 1").click()
    image = card.locator(".page-view img")
    image.wait_for(timeout=60_000)
    assert image.evaluate("img => img.complete && img.naturalWidth > 500")
    assert "not found" not in card.locator(".page-view").inner_text()
    shot(page, "15-citation-on-its-page")

    # A long scan, stopped while OCR reads it: nothing is added, the file is not kept.
    from PIL import Image

    scans = [scanned_page(f"Page {n} of the harbour dredging survey.") for n in range(1, 41)]
    blank = Image.new("L", (1240, 1754), 255)
    survey = OUT / "dredging-survey.pdf"
    scans[0].save(survey, "PDF", resolution=150, save_all=True, append_images=[*scans[1:], blank])
    page.get_by_role("tab", name="Documents").click()
    page.set_input_files("#upload input[type=file]", str(survey))
    stop = page.locator("#stop-upload")
    stop.wait_for(state="visible")
    page.wait_for_timeout(3000)  # a few pages read
    stop.click()
    page.wait_for_function(
        "() => document.querySelector('#upload-report').innerText.includes('Stopped')"
    )
    stop.wait_for(state="hidden")
    assert not any("dredging" in p.name for p in (server.work / "corpus").iterdir())
    assert page.locator("#documents").get_by_text("dredging", exact=False).count() == 0
    shot(page, "16-scan-upload-stopped")


def test_the_api_beside_the_ui(server: Server) -> None:
    """The HTTP API on the same server as the UI, asked with a real HTTP client."""
    import httpx

    question = "How many Ministry of Justice staff will get access to AI tools?"
    with httpx.Client(base_url=server.url, timeout=600) as http:
        health = http.get("/api/health").json()
        assert health["status"] == "ok" and health["model"]["verified"], health
        answer = http.post("/api/ask", json={"question": question}).json()
        assert re.search(r"2,?500", answer["answer"]) and answer["citations"], answer
        record = http.get(f"/api/answers/{answer['id']}").json()
        assert record["question"] == question
        assert record["model"]["sha256"] == health["model"]["sha256"]
        body = {"question": question, "documents": ["moj-openai-partnership"], "stream": True}
        with http.stream("POST", "/api/ask", json=body) as response:
            lines = [line for line in response.iter_lines() if line]
        names = [line[7:] for line in lines if line.startswith("event: ")]
        assert names[-1] == "answer" and "text" in names, names
        final = json.loads(lines[-1][6:])
        assert final["scope"] == ["moj-openai-partnership"] and re.search(
            r"2,?500", final["answer"]
        )
        empty = http.post("/api/ask", json={"question": "  "})
        assert empty.status_code == 400 and "empty" in empty.json()["error"]
        assert http.get("/api/answers/nope").status_code == 404
        docs = http.get("/docs").text
        assert "POST /api/ask" in docs and "https://" not in docs
