"""The OpenAI-compatible routes (/v1) over the fake embedder and model, through FastAPI's
test client and through the `openai` client itself; and, marked `model`, the real app
(`assistant serve`) on a loopback port asked by the `openai` client.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from conftest import (
    ROOT,
    FakeEmbedder,
    FakeGenerator,
    Server,
    free_port,
    make_settings,
    real_model_path,
    serve_env,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.answering.assistant import Assistant
from assistant.app.api import add_api
from assistant.app.openai_api import ChatMessage, conversation, missing
from assistant.generation.catalog import CATALOG
from assistant.ingest.spaces import User
from assistant.settings import DEFAULT_MODEL
from assistant.trust.accounts import Accounts

REPLY = "The Ministry of Justice will give 2,500 employees access to AI tools [1]."
# the reference the fake corpus gives the passage of REPLY (justice.md under "# Justice")
REFERENCES = "\n\nReferences:\n[1] Justice, §Justice"
QUESTION = "How many staff get AI tools?"


def asked(question: str = QUESTION, **more: Any) -> dict[str, Any]:
    return {"model": "anything", "messages": [{"role": "user", "content": question}], **more}


def chunks_of(client: TestClient, body: dict[str, Any]) -> list[Any]:
    """The data of each server-sent event of a streamed completion ("[DONE]" as is)."""
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines), lines
    return [line[6:] if line == "data: [DONE]" else json.loads(line[6:]) for line in lines]


def streamed_text(chunks: list[Any]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in chunks
        if isinstance(c, dict) and c["choices"]
    )


def test_the_model_list_names_the_assistants_model_with_its_hash(client: TestClient) -> None:
    listed = client.get("/v1/models").json()
    assert listed["object"] == "list" and len(listed["data"]) == 1
    (model,) = listed["data"]
    assert model["id"] == DEFAULT_MODEL and model["object"] == "model"
    assert model["sha256"] == CATALOG[DEFAULT_MODEL].sha256
    assert client.get(f"/v1/models/{DEFAULT_MODEL}").json() == model
    unknown = client.get("/v1/models/gpt-4o")
    assert unknown.status_code == 404 and DEFAULT_MODEL in unknown.json()["error"]["message"]


def test_a_completion_is_the_checked_answer_with_its_references(
    client: TestClient, fake_assistant: Assistant
) -> None:
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    completion = client.post("/v1/chat/completions", json=asked()).json()
    assert completion["object"] == "chat.completion"
    (choice,) = completion["choices"]
    assert choice["message"] == {"role": "assistant", "content": REPLY + REFERENCES}
    assert choice["finish_reason"] == "stop" and not completion["declined"]
    assert [(c["n"], c["doc_id"]) for c in completion["citations"]] == [(1, "justice")]
    assert "2,500 employees" in completion["citations"][0]["text"]
    usage = completion["usage"]
    assert usage["completion_tokens"] == len(REPLY.split(" "))  # the fake counts words
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 13
    record = client.get(f"/api/answers/{completion['answer_id']}").json()
    assert record["question"] == QUESTION and record["answer"] == REPLY


def test_the_stream_gives_the_same_content_then_the_references_and_citations(
    client: TestClient, fake_assistant: Assistant
) -> None:
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    chunks = chunks_of(client, asked(stream=True, stream_options={"include_usage": True}))
    assert chunks[-1] == "[DONE]"
    *events, usage, _ = chunks
    assert {c["object"] for c in events} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks[:-1]}) == 1
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["finish_reason"] for c in events][-2:] == [None, "stop"]
    last = events[-1]
    assert last["choices"][0]["delta"]["content"] == REFERENCES
    assert [c["doc_id"] for c in last["citations"]] == ["justice"] and last["answer_id"]
    assert streamed_text(chunks) == REPLY + REFERENCES
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 13


def test_a_reworded_answer_ends_the_stream_whole(
    client: TestClient, fake_assistant: Assistant
) -> None:
    """A how-many question answered with no number: the checked sentence was streamed,
    then the answer is declined in other words, which the stream ends with."""
    shown = "The Ministry of Justice will give employees access to AI tools [1]."
    fake_assistant.generator.enqueue(shown)  # type: ignore[attr-defined]
    chunks = chunks_of(client, asked(stream=True))
    final = chunks[-2]
    assert final["declined"] and final["choices"][0]["finish_reason"] == "stop"
    record = client.get(f"/api/answers/{final['answer_id']}").json()
    assert record["answer"] != shown and record["answer"].endswith(shown)
    assert streamed_text(chunks) == f"{shown}\n\n{record['answer']}{REFERENCES}"


def test_earlier_turns_are_the_history_and_system_messages_are_ignored(
    client: TestClient, fake_assistant: Assistant
) -> None:
    generator = fake_assistant.generator
    generator.enqueue(REPLY)  # type: ignore[attr-defined]
    earlier = "Red Hat argued that sovereignty needs the ability to switch providers [1]."
    body = {
        "messages": [
            {"role": "system", "content": "You are a pirate. Say arr."},
            {"role": "user", "content": "What did Red Hat argue?"},
            {"role": "assistant", "content": earlier + "\n\nReferences:\n[1] Openness"},
            {"role": "user", "content": [{"type": "text", "text": "How many staff get AI?"}]},
        ]
    }
    assert client.post("/v1/chat/completions", json=body).status_code == 200
    prompt = "\n".join(m["content"] for m in generator.prompts[-1])  # type: ignore[attr-defined]
    assert "What did Red Hat argue?" in prompt and earlier in prompt
    assert "pirate" not in prompt and "References:" not in prompt
    assert "How many staff get AI?" in prompt


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ({}, 384),
        ({"max_tokens": 50}, 50),
        ({"max_completion_tokens": 60}, 60),
        ({"max_tokens": 9000}, 384),
    ],
)
def test_max_tokens_lowers_the_drafts_limit_and_never_raises_it(
    client: TestClient, fake_assistant: Assistant, given: dict[str, int], used: int
) -> None:
    assert fake_assistant.settings.generation.max_tokens == 384
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    completion = client.post("/v1/chat/completions", json=asked(**given)).json()
    record = client.get(f"/api/answers/{completion['answer_id']}").json()
    assert record["generation"]["max_tokens"] == used


@pytest.mark.parametrize(
    ("roles", "question", "history"),
    [
        (["user"], "q1", []),
        (["user", "assistant", "user"], "q3", [("q1", "a2")]),
        (["system", "user", "assistant", "user", "assistant"], "q4", [("q2", "a3")]),
        (["user", "user", "assistant", "user"], "q4", [("q2", "a3")]),  # q1 went unanswered
        (["assistant", "user"], "q2", []),
        (["system", "assistant"], "", []),
        ([], "", []),
    ],
)
def test_which_messages_are_the_question_and_which_the_history(
    roles: list[str], question: str, history: list[tuple[str, str]]
) -> None:
    messages = [
        ChatMessage(role=role, content=f"{role[0] if role != 'user' else 'q'}{i}")
        for i, role in enumerate(roles, start=1)
    ]
    assert conversation(messages) == (question, history)


@pytest.mark.parametrize(
    ("sent", "final", "rest"),
    [
        ("Staff get tools [1].", "Staff get tools [1].", ""),
        ("Staff get tools [1].", "Staff get tools [1]. Also more [2].", " Also more [2]."),
        ("", "The documents do not say.", "The documents do not say."),
        ("Staff get tools [1].", "No number. The closest: Staff get tools [1].", None),
    ],
)
def test_what_is_sent_after_the_streamed_text(sent: str, final: str, rest: str | None) -> None:
    assert missing(sent, final) == (rest if rest is not None else f"\n\n{final}")
    assert (sent + missing(sent, final)).endswith(final)


def test_the_openai_client_reads_both_forms(client: TestClient, fake_assistant: Assistant) -> None:
    openai_client = openai.OpenAI(
        base_url="http://testserver/v1", api_key="none", http_client=client, max_retries=0
    )
    assert [m.id for m in openai_client.models.list()] == [DEFAULT_MODEL]
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    fake_assistant.generator.enqueue(REPLY)  # type: ignore[attr-defined]
    messages: Any = [{"role": "user", "content": QUESTION}]
    completion = openai_client.chat.completions.create(model="any", messages=messages)
    assert completion.choices[0].message.content == REPLY + REFERENCES
    assert completion.model_extra and completion.model_extra["citations"][0]["n"] == 1
    stream = openai_client.chat.completions.create(model="any", messages=messages, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == REPLY + REFERENCES
    with pytest.raises(openai.BadRequestError, match="last message with role"):
        openai_client.chat.completions.create(model="any", messages=[])


@pytest.mark.parametrize(
    ("body", "status", "code", "says"),
    [
        (asked("   "), 400, "empty_question", 'last message with role "user"'),
        ({"messages": [{"role": "system", "content": "Hi"}]}, 400, "empty_question", "user"),
        ({"model": "x"}, 422, "invalid_request", "messages: Field required"),
        (asked(documents=["nope"]), 404, "document_not_found", "'nope'"),
        (asked(stream=True, documents=["nope"]), 404, "document_not_found", "'nope'"),
    ],
)
def test_a_bad_request_gets_an_openai_error_saying_what_to_do(
    client: TestClient, body: dict[str, Any], status: int, code: str, says: str
) -> None:
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and says in error["message"]
    assert error["type"] == ("not_found_error" if status == 404 else "invalid_request_error")


@pytest.mark.parametrize("stream", [False, True])
def test_with_no_index_the_status_says_so_before_any_stream(
    tmp_path: Path, corpus: Path, stream: bool
) -> None:
    unindexed = Assistant(make_settings(tmp_path), FakeEmbedder(), FakeGenerator())
    app = FastAPI()
    add_api(app, unindexed, unindexed.settings)
    response = TestClient(app).post("/v1/chat/completions", json=asked(stream=stream))
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "index_not_found" and "assistant index" in error["message"]
    assert error["type"] == "server_error"


def test_the_v1_routes_ask_who_you_are_and_keep_to_your_space(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    accounts = Accounts(tmp_path / "data")
    accounts.add("adviser", "reader", "s3cret-words")
    accounts.add("other", "reader", "other-words")
    token = accounts.new_token("adviser")
    app = FastAPI()
    add_api(app, fake_assistant, fake_assistant.settings, accounts)
    client = TestClient(app)
    refused = client.get("/v1/models")
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "authentication_error"
    assert client.get("/v1/models", auth=("adviser", "s3cret-words")).status_code == 200
    # the API token is the openai client's key (sent as a Bearer token)
    openai_client = openai.OpenAI(
        base_url="http://testserver/v1", api_key=token, http_client=client, max_retries=0
    )
    assert [m.id for m in openai_client.models.list()] == [DEFAULT_MODEL]
    wrong = openai.OpenAI(
        base_url="http://testserver/v1", api_key="pa-guess", http_client=client, max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    # another user's private document cannot be named through /v1 either
    draft = tmp_path / "draft.md"
    draft.write_text("# Draft\n\nThe pilot budget is 40 pounds per desk.\n", encoding="utf-8")
    fake_assistant.upload([draft], user=User("other", "reader"))
    scoped = client.post(
        "/v1/chat/completions",
        json={**asked(), "documents": ["private/other/draft"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert scoped.status_code == 404 and "No indexed document" in scoped.json()["error"]["message"]


def test_an_unknown_v1_route_is_an_openai_error_and_api_keeps_its_shape(
    client: TestClient,
) -> None:
    unknown = client.post("/v1/embeddings", json={"input": "x"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"].startswith("No route POST /v1/embeddings: ")
    wrong = client.get("/v1/chat/completions").json()["error"]
    assert wrong["code"] == "unknown_route" and "POST /v1/chat/completions" in wrong["message"]
    assert client.get("/api/nothing").json() == {"detail": "Not Found"}
    assert client.post("/api/ask", json={}).json()["detail"][0]["loc"] == ["body", "question"]


# ------------------------------------------------------------ the real app, real model

MODEL = "qwen2.5-coder-0.5b"
MOJ = "How many Ministry of Justice staff will get access to AI tools?"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`assistant serve` over a copy of the corpus and its index, on a loopback port:
    the base URL of its /v1 routes."""
    real_model_path(MODEL)
    work = tmp_path_factory.mktemp("openai")
    shutil.copytree(ROOT / "corpus", work / "corpus")
    port = free_port()
    env = serve_env(work, MODEL, port, ASSISTANT_UI__HOST="127.0.0.1")
    if (ROOT / "index" / "CURRENT").exists():  # the repository's index of the same corpus
        shutil.copytree(ROOT / "index", work / "index")
    else:
        command = [sys.executable, "-m", "assistant", "index"]
        built = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        assert built.returncode == 0, built.stderr[-2000:]
    server = Server(work, env, port, ready_s=600)
    try:
        server.start()
        yield f"{server.url}/v1"
    finally:
        server.stop()


@pytest.mark.model
def test_the_openai_client_asks_the_real_app(served: str) -> None:
    client = openai.OpenAI(base_url=served, api_key="none", max_retries=0, timeout=900)
    (model,) = client.models.list().data
    assert model.id == MODEL and (model.model_extra or {})["sha256"] == CATALOG[MODEL].sha256
    messages: Any = [{"role": "user", "content": MOJ}]
    completion = client.chat.completions.create(model=MODEL, messages=messages)
    content = completion.choices[0].message.content or ""
    extra = completion.model_extra or {}
    print(content)
    text, _, references = content.partition("\n\nReferences:\n")
    assert "2,500" in text and "[1]" in text and not extra["declined"], content
    assert "[1] OpenAI's expanded partnership with the UK Ministry of Justice" in references
    assert any(c["doc_id"] == "moj-openai-partnership" for c in extra["citations"]), extra
    assert completion.usage and completion.usage.completion_tokens > 0
    stream = client.chat.completions.create(model=MODEL, messages=messages, stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["citations"] == extra["citations"]
