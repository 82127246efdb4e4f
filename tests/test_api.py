"""The HTTP API over the fake embedder and model, through FastAPI's test client (httpx).

The same routes are tried over HTTP on the real model beside the UI in test_browser.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.answering.assistant import Assistant
from assistant.app.api import add_api
from assistant.app.conversations import Conversations
from assistant.app.waiting import AnswerQueue
from assistant.trust.accounts import Accounts

REPLY = "The Ministry of Justice will give 2,500 employees access to AI tools [1]."


def test_health_and_the_library(client: TestClient) -> None:
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["documents"] == 3 and health["index"]
    documents = client.get("/api/documents").json()
    assert [d["doc_id"] for d in documents] == ["justice", "openness", "weather"]
    assert documents[0]["title"] == "Justice" and documents[0]["passages"] >= 1


def test_ask_gives_the_answer_contract_and_its_record(
    client: TestClient, fake_assistant: Assistant
) -> None:
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    answer = client.post("/api/ask", json={"question": "How many staff get AI tools?"}).json()
    assert answer["answer"] == REPLY and not answer["declined"]
    assert answer["citations"][0]["doc_id"] == "justice"
    record = client.get(f"/api/answers/{answer['id']}").json()
    assert record["id"] == answer["id"] and record["question"] == "How many staff get AI tools?"


def test_ask_streams_the_checked_text_then_the_answer(
    client: TestClient, fake_assistant: Assistant
) -> None:
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    body = {"question": "How many staff get AI tools?", "documents": ["justice"], "stream": True}
    with client.stream("POST", "/api/ask", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    events = [(lines[i][7:], json.loads(lines[i + 1][6:])) for i in range(0, len(lines), 2)]
    names = [name for name, _ in events]
    assert names[-1] == "answer" and set(names[:-1]) == {"text"}
    assert "".join(data for name, data in events if name == "text").strip() == REPLY
    assert events[-1][1]["answer"] == REPLY and events[-1][1]["scope"] == ["justice"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("POST", "/api/ask", {"question": "   "}, 400, "The question is empty"),
        ("POST", "/api/ask", {"question": "Hi?", "documents": ["nope"]}, 404, "'nope'"),
        ("POST", "/api/ask", {"history": []}, 422, "question"),
        ("GET", "/api/answers/0123456789ab", None, 404, "No answer with id"),
        ("DELETE", "/api/documents/nope", None, 404, "No indexed document has the id 'nope'"),
    ],
)
def test_a_bad_request_gets_json_saying_what_to_do(
    client: TestClient, method: str, path: str, body: object, status: int, says: str
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == status
    assert says in json.dumps(response.json())


def test_documents_are_added_and_removed(client: TestClient, tmp_path: Path) -> None:
    note = (
        "memo.md",
        b"# Memo\n\nThe harbour board will plant 4,812 oak trees.\n",
        "text/markdown",
    )
    added = client.post("/api/documents", files=[("files", note)])
    assert added.status_code == 200 and added.json()["added"] == ["memo"]
    assert "memo" in [d["doc_id"] for d in client.get("/api/documents").json()]
    binary = ("blob.txt", b"\x00\x01\x02 not text", "text/plain")
    refused = client.post("/api/documents", files=[("files", binary)])
    assert refused.status_code == 400 and "blob.txt" in refused.json()["error"]
    removed = client.delete("/api/documents/memo")
    assert removed.status_code == 200
    assert "memo" not in [d["doc_id"] for d in client.get("/api/documents").json()]
    assert not (tmp_path / "corpus" / "memo.md").exists()


def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    settings = fake_assistant.settings.with_overrides(ui={"max_upload_mb": 1})
    app = FastAPI()
    add_api(app, fake_assistant, settings)
    big = ("big.txt", b"word " * 300_000, "text/plain")
    response = TestClient(app).post("/api/documents", files=[("files", big)])
    assert response.status_code == 413 and "over the 1 MB limit" in response.json()["error"]
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == [
        "justice.md",
        "openness.txt",
        "weather.md",
    ]


def test_with_accounts_every_route_but_health_asks_who_you_are(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    accounts = Accounts(tmp_path / "data")
    accounts.add("adviser", "reader", "s3cret-words")
    token = accounts.new_token("adviser")
    app = FastAPI()
    add_api(app, fake_assistant, fake_assistant.settings, accounts)
    client = TestClient(app)
    assert client.get("/api/health").status_code == 200
    missing = client.get("/api/documents")
    assert missing.status_code == 401 and "Bearer" in missing.json()["error"]
    assert "Bearer" in missing.headers["www-authenticate"]
    wrong = client.get("/api/documents", auth=("adviser", "guess"))
    assert wrong.status_code == 401 and "wrong" in wrong.json()["error"].lower()
    forged = client.get("/api/documents", headers={"Authorization": "Bearer pa-forged"})
    assert forged.status_code == 401
    assert client.get("/api/documents", auth=("adviser", "s3cret-words")).status_code == 200
    bearer = {"Authorization": f"Bearer {token}"}
    assert [d["doc_id"] for d in client.get("/api/documents", headers=bearer).json()] == [
        "justice",
        "openness",
        "weather",
    ]
    # a reader adds to their own space only
    doc = ("draft.md", b"# Draft\n\nThe pilot budget is 40 pounds per desk.\n", "text/markdown")
    refused = client.post("/api/documents?space=shared", files=[("files", doc)], headers=bearer)
    assert refused.status_code == 403 and "editors and admins" in refused.json()["error"]
    added = client.post("/api/documents", files=[("files", doc)], headers=bearer).json()
    assert added["added"] == ["private/adviser/draft"]
    assert not (tmp_path / "corpus" / "draft.md").exists()
    assert client.delete("/api/documents/justice", headers=bearer).status_code == 403
    gone = client.delete("/api/documents/private/adviser/draft", headers=bearer)
    assert gone.status_code == 200 and gone.json()["removed"] == "private/adviser/draft"


def test_a_full_queue_is_refused_with_retry_after(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    queue = AnswerQueue(slots=1, max_waiting=0)
    app = FastAPI()
    add_api(app, fake_assistant, fake_assistant.settings, queue=queue)
    client = TestClient(app)
    busy = queue.join()  # a question being answered, none may wait
    try:
        full = client.post("/api/ask", json={"question": "How many staff get AI tools?"})
        assert full.status_code == 503 and int(full.headers["retry-after"]) >= 1
        assert "waiting for the model" in full.json()["error"]
    finally:
        busy.leave()
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    assert client.post("/api/ask", json={"question": "How many staff?"}).status_code == 200


def test_feedback_is_kept_for_the_answer(client: TestClient, fake_assistant: Assistant) -> None:
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    answer = client.post("/api/ask", json={"question": "How many staff get AI tools?"}).json()
    body = {"answer_id": answer["id"], "rating": "down", "comment": "Give the date too."}
    assert client.post("/api/feedback", json=body).json() == {
        "answer_id": answer["id"],
        "rating": "down",
    }
    kept = Conversations(fake_assistant.settings.paths.data_dir).feedback("down")
    assert [(f.answer_id, f.comment, f.question) for f in kept] == [
        (answer["id"], "Give the date too.", "How many staff get AI tools?")
    ]
    bad = client.post("/api/feedback", json={**body, "rating": "meh"})
    assert bad.status_code == 400 and "'up' or 'down'" in bad.json()["error"]
    unknown = client.post("/api/feedback", json={**body, "answer_id": "nope"})
    assert unknown.status_code == 404


def test_the_docs_page_fetches_nothing(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "POST /api/ask" in page and "question" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
