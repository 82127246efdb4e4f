"""Simulated users of the HTTP API, for the load test of the served assistant (`serve.py`).

A `SimulatedUser` has its own HTTP client, its questions (asked in turn, each streamed:
the time to its first "text" event and to its "answer" event), optionally a document to
upload first, and optionally a Bearer token sent with every request. `judge` decides, from
what came back and the audit log, which answers are the asked question's own.

Not done: the chat UI's own traffic (Gradio's queue), conversations with history.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import RecordNotFound
from ..trust.audit import AuditLog


@dataclass(frozen=True)
class SimulatedUser:
    """One user of a round: the questions asked in turn, a document (name, text) uploaded
    first or None, and a Bearer token sent with each request (None: no Authorization)."""

    number: int
    questions: tuple[str, ...]
    upload: tuple[str, str] | None = None
    token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class Asked:
    """One question asked, and what came back."""

    user: int
    question: str
    status: str = ""  # "200", "503", "200 error 503" (failed once streaming), "timeout"
    at_s: float = 0.0  # when it was asked, from the start of the round
    first_word_s: float | None = None
    answer_s: float | None = None
    answer: dict[str, Any] | None = None  # the "answer" event's data
    record_question: str | None = None  # the question of its record, read over HTTP
    refused: int = 0  # times the queue was full (503) and it asked again after Retry-After
    most_ahead: int = 0  # the most questions the server said were ahead of it


@dataclass
class UserLog:
    user: int
    asked: list[Asked] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    uploads: int = 0
    upload_s: float | None = None  # the upload's time, to its reply


def users_of_round(
    n: int, questions: list[str], per_user: int, tokens: Sequence[str | None] = ()
) -> list[SimulatedUser]:
    """`n` users, each asking `per_user` of `questions` starting at its own place in the
    list (users at once mostly ask different questions); every fourth uploads a note.
    `tokens[number]`: the user's API token (account `user<number>`), if there are any."""
    users = []
    for number in range(n):
        token = tokens[number] if number < len(tokens) else None
        asked = tuple(questions[(number + j) % len(questions)] for j in range(per_user))
        upload = None
        if number % 4 == 0:
            upload = (f"load-note-{n}-{number}.md", note(n, number))
        users.append(SimulatedUser(number, asked, upload, token))
    return users


def note(n: int, number: int) -> str:
    """A small document, different for each uploader."""
    return (
        f"# Harbour note {n}-{number}\n\n"
        f"The harbour board of district {number + 1} agreed to plant {37 * (number + 1)} "
        f"trees along the quay during round {n} of its works. The planting is paid for by a "
        "levy on berths and is reviewed every spring by the board's own committee.\n"
    )


# ---------------------------------------------------------------- one user


def run_user(
    url: str, user: SimulatedUser, began: float, deadline: float, timeout_s: float
) -> UserLog:
    """Upload (when the user has a document), ask each question in turn until `deadline`
    (`time.monotonic()`; the round `began` then), then read the record of one answer back
    (uploaders)."""
    log = UserLog(user.number)
    timeout = httpx.Timeout(timeout_s, connect=10)
    with httpx.Client(base_url=url, timeout=timeout, headers=user.headers) as http:
        if user.upload is not None:
            name, text = user.upload
            files = {"files": (name, text.encode(), "text/markdown")}
            started = time.monotonic()
            status, _ = _request(http, "POST", "/api/documents", files=files)
            log.upload_s = time.monotonic() - started
            log.statuses[f"upload {status}"] += 1
            log.uploads += status == "200"
        for question in user.questions:
            if time.monotonic() > deadline:
                log.skipped += 1
                continue
            asked = ask(http, user.number, question, began, deadline)
            log.statuses[f"ask {asked.status}"] += 1
            if asked.refused:  # refused while the queue was full, then asked again
                log.statuses["ask 503"] += asked.refused
            log.asked.append(asked)
        answered = [a for a in log.asked if a.answer and a.answer.get("id")]
        if user.upload is not None and answered:
            last = answered[-1]
            assert last.answer is not None
            status, record = _request(http, "GET", f"/api/answers/{last.answer['id']}")
            log.statuses[f"record {status}"] += 1
            if isinstance(record, dict):
                last.record_question = str(record.get("question"))
    return log


def ask(
    http: httpx.Client, user: int, question: str, began: float, deadline: float = math.inf
) -> Asked:
    """One question, streamed: the times to its first text and to its answer (from when
    it was first asked). Refused because the queue is full (503), it asks again after the
    server's Retry-After, as a client should, until `deadline`."""
    asked = Asked(user, question, at_s=round(time.monotonic() - began, 3))
    body = {"question": question, "stream": True}
    started = time.perf_counter()
    try:
        while True:
            with http.stream("POST", "/api/ask", json=body) as reply:
                asked.status = str(reply.status_code)
                if reply.status_code == 200:
                    _read_answer(asked, reply, started)
                    return asked
                reply.read()
                wait = float(reply.headers.get("retry-after", "0") or 0)
            if reply.status_code != 503 or not wait or time.monotonic() + wait > deadline:
                return asked
            asked.refused += 1
            time.sleep(wait)
    except httpx.TimeoutException:
        asked.status = "timeout"
    except httpx.HTTPError:
        asked.status = "cut off"
    return asked


def _read_answer(asked: Asked, reply: httpx.Response, started: float) -> None:
    for name, data in events(reply.iter_lines()):
        if name == "queue":
            asked.most_ahead = max(asked.most_ahead, int(data.get("ahead", 0)))
        elif name == "text" and asked.first_word_s is None:
            asked.first_word_s = time.perf_counter() - started
        elif name == "answer":
            asked.answer_s = time.perf_counter() - started
            asked.answer = data
        elif name == "error":
            asked.status += f" error {data.get('status')}"


def events(lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """(event name, JSON data) of server-sent events given line by line."""
    name = "message"
    for line in lines:
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line[5:])
            name = "message"


def _request(http: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[str, Any]:
    """The status of a plain request ("timeout" when none came) and its JSON, if any."""
    try:
        reply = http.request(method, path, **kwargs)
    except httpx.TimeoutException:
        return "timeout", None
    except httpx.HTTPError:
        return "cut off", None
    try:
        return str(reply.status_code), reply.json()
    except ValueError:
        return str(reply.status_code), None


# ---------------------------------------------------------------- checking


def judge(asked: list[Asked], recorded: Callable[[str], str | None]) -> tuple[int, int]:
    """(answered, mixed): answers to the question asked and recorded as such, and answers
    delivered for another question, to two users, recorded as another question, or given
    a passage of another user's private space (account `user<number>`'s is
    `private/user<number>/`). `recorded(id)`: the question of the answer's record, None
    when there is none."""
    ids = Counter(a.answer.get("id") for a in asked if a.answer)
    answered = mixed = 0
    for a in asked:
        if a.answer is None:
            continue  # lost
        given = str(a.answer.get("question"))
        read_back = a.record_question if a.record_question is not None else a.question
        if not same(given, a.question) or not same(read_back, a.question):
            mixed += 1
            continue
        if not a.answer.get("id") or ids[a.answer["id"]] > 1:
            mixed += 1
            continue
        own = f"private/{account(a.user)}/"
        spaces = [str(c.get("doc_id", "")) for c in a.answer.get("contexts", [])]
        if any(d.startswith("private/") and not d.startswith(own) for d in spaces):
            mixed += 1
            continue
        question = recorded(a.answer["id"])
        if question is None:
            continue  # lost: given without its record
        if same(question, a.question):
            answered += 1
        else:
            mixed += 1
    return answered, mixed


def recorded_in(audit: AuditLog) -> Callable[[str], str | None]:
    """The question of an answer's record in `audit`, None when it has none."""

    def question(answer_id: str) -> str | None:
        try:
            return audit.find(answer_id).question
        except RecordNotFound:
            return None

    return question


def account(number: int) -> str:
    """The account name of simulated user `number`."""
    return f"user{number}"


def same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())  # the API normalises whitespace
