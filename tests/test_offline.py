"""Proven offline: index, ask, evaluate and answer through the UI with no network at all.

Everything runs inside a network namespace that has only the loopback interface (so any
outbound connection fails at the kernel), and every Python process in it, children
included, carries a socket guard that also refuses and writes down any attempt to reach
beyond loopback. The test passes only if the whole path works and nothing was attempted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MODELS_DIR, ROOT

pytestmark = pytest.mark.model
GUARD = Path(__file__).parent / "offline_guard"
MODEL = "qwen2.5-coder-0.5b"
QUESTION = "What time does the city library open on weekdays?"
DOCUMENT = """# City library

The city library opens at 9 am on weekdays and at 10 am on Saturdays. It is closed on Sundays.

## Membership

Membership of the city library is free for every resident of the city.
"""
GOLD = {
    "id": "q001",
    "question": QUESTION,
    "type": "figure",
    "gold_answer": "At 9 am.",
    "key_terms": ["9 am"],
    "quotes": [{"doc_id": "library", "text": "The city library opens at 9 am on weekdays"}],
}

# Without the guard: shows that the namespace itself has no route out.
PROBE = """
import socket
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    print("OUTSIDE reached")
except OSError as exc:
    print("OUTSIDE refused", exc)
"""

DRIVER = r"""
import json, os, socket, subprocess, sys, time, urllib.request
from pathlib import Path

work, question, model = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
assistant = [sys.executable, "-m", "assistant"]
results = {}

def run(*args):
    done = subprocess.run([*assistant, *args], capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr[-3000:]

results["index"] = run("index", str(work / "library.md"))
results["ask"] = run("ask", "--json", "--model", model, question)
results["eval"] = run("eval", "--questions", str(work / "gold.jsonl"), "--limit", "1",
                      "--judge", "fast", "--model", model, "--out", str(work / "report"))
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
ui = subprocess.Popen([*assistant, "ui", "--port", str(port), "--model", model],
                      stdout=subprocess.DEVNULL, stderr=open(work / "ui.log", "w"))
url = f"http://127.0.0.1:{port}/"
try:
    for _ in range(600):
        try:
            with urllib.request.urlopen(url, timeout=5) as page:
                html = page.read().decode("utf-8", "replace")
                (work / "page.html").write_text(html)
                results["page"] = [page.status, html[:400]]
            break
        except OSError:
            if ui.poll() is not None:
                break
            time.sleep(0.5)
    # The test's own client: huggingface_hub, under gradio_client, looks up an agent list
    # online unless told it is offline. Set only now, so the product sets its own.
    os.environ["HF_HUB_OFFLINE"] = "1"
    from gradio_client import Client
    client = Client(url, verbose=False, analytics_enabled=False)  # the test's own client
    chat = client.predict(question, [], 6, api_name="/ask")
    results["ui"] = json.loads(json.dumps(chat, default=str))
finally:
    ui.terminate()
    ui.wait(30)
print("RESULTS " + json.dumps(results))
"""


def test_the_full_path_runs_with_no_network(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.fail("this test needs root and unshare(1) to make a network namespace")
    (tmp_path / "library.md").write_text(DOCUMENT)
    (tmp_path / "gold.jsonl").write_text(json.dumps(GOLD) + "\n")
    (tmp_path / "driver.py").write_text(DRIVER)
    attempts = tmp_path / "attempts.log"
    attempts.touch()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(GUARD), str(ROOT)]),
        "OFFLINE_GUARD_LOG": str(attempts),
        "ASSISTANT_PATHS__CORPUS_DIR": str(tmp_path / "corpus"),
        "ASSISTANT_PATHS__INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_PATHS__DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_PATHS__MODELS_DIR": str(MODELS_DIR),
    }
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "GRADIO_ANALYTICS_ENABLED"):
        env.pop(key, None)  # the product must set these itself
    script = (
        f"ip link set lo up && {sys.executable} {tmp_path / 'driver.py'} "
        f"{tmp_path} '{QUESTION}' {MODEL} && env -u PYTHONPATH {sys.executable} -c "
        f"'{PROBE}'"
    )
    done = subprocess.run(
        ["unshare", "--net", "bash", "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULTS ")), None)
    assert line, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(line.removeprefix("RESULTS "))

    assert results["index"][0] == 0, results["index"]
    code, out, err = results["ask"]
    assert code == 0, err
    answer = json.loads(out)
    assert "9 am" in answer["answer"] and answer["citations"][0]["doc_id"] == "library"
    assert results["eval"][0] == 0, results["eval"]
    summary = next((tmp_path / "report").rglob("*.json"))
    assert summary.stat().st_size > 0
    assert results["page"][0] == 200 and "<html" in results["page"][1].lower()
    page = (tmp_path / "page.html").read_text()
    outside = [
        u
        for u in re.findall(r'(?:src|href)="(https?://[^"]+)"', page)
        if not u.startswith(("http://127.0.0.1", "http://localhost"))
    ]
    assert outside == []  # the browser is not sent elsewhere for scripts, styles or fonts
    assert "9 am" in json.dumps(results["ui"])
    assert "OUTSIDE refused" in done.stdout  # the namespace really has no route out

    records = (tmp_path / "data" / "audit.jsonl").read_text().splitlines()
    questions = [json.loads(r)["question"] for r in records]
    assert questions.count(QUESTION) == 3  # the CLI, the evaluation and the UI each answered
    assert attempts.read_text() == ""  # and nothing even tried to leave
