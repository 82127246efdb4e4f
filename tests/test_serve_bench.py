"""The load test of the served assistant (`assistant bench --only serve`), small: a real
`python -m llama_cpp.server` with SmolLM2-135M and a real `assistant serve` in front of it,
two users at once asking one question each, one of them uploading a document and reading
its answer's record back. What is checked is that nothing is lost or mixed up and the
audit chain holds; the times are printed, not asserted (the machine is shared). The model
runs on one thread: on a busy 2-core machine two llama.cpp threads waited on each other and
the same run took four times as long (133 s against 34 s).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import MODELS_DIR, ROOT, real_model_path

from assistant.bench.harness import BenchOptions, ServeOptions
from assistant.bench.report import SERVE_HEADER, serve_table
from assistant.bench.results import BenchResults
from assistant.bench.runner import run_bench
from assistant.bench.users import Asked, SimulatedUser, events, judge, users_of_round
from assistant.settings import Settings

MODEL = "smollm2-135m"


@pytest.mark.model
def test_two_users_at_once_get_their_own_answers(tmp_path: Path) -> None:
    real_model_path(MODEL)
    settings = Settings.load(
        paths={
            "corpus_dir": ROOT / "corpus",
            "index_dir": ROOT / "index",  # copied; built in the copy when there is none
            "models_dir": MODELS_DIR,
            "data_dir": tmp_path / "data",
        },
        generation={"model": MODEL, "n_threads": 1, "n_threads_batch": 1, "max_tokens": 64},
    )
    options = BenchOptions(
        sections=("serve",),
        questions=ROOT / "eval" / "gold.jsonl",
        serve=ServeOptions.small(),
        out=tmp_path / "bench",
    )
    started = time.perf_counter()
    results, folder = run_bench(settings, options, print)
    print(f"the small load test took {time.perf_counter() - started:.1f} s")
    assert results.serve is not None
    print(SERVE_HEADER, *serve_table(results.serve), sep="\n")
    (round_,) = results.serve.rounds
    assert (round_.users, round_.asked, round_.skipped) == (2, 2, 0)
    # mixed counts an answer given a passage of another user's private space too: each
    # user signed in with its own account, and the upload went to its uploader's space
    assert (round_.answered, round_.lost, round_.mixed) == (2, 0, 0)
    assert round_.statuses == {"ask 200": 2, "record 200": 1, "upload 200": 1}
    assert round_.uploads == 1
    assert round_.audit_ok and round_.audit_records == 2, round_.audit_problem
    assert round_.first_word.p50_s is not None and round_.full_answer.p95_s is not None
    assert round_.serve_peak_rss_bytes > 0 and round_.model_server_peak_rss_bytes > 0
    assert BenchResults.load(folder).serve == results.serve  # results.json reads back
    report = (folder / "report.md").read_text()
    assert "## Serving: users at once" in report and "| 2 | 2 / 2 | 0 | 0 |" in report
    lines = [json.loads(x) for x in (folder / "serve" / "requests.jsonl").open()]
    asked = [r for r in lines if "question" in r]
    assert [r["question"] == r["answered_question"] for r in asked] == [True, True]
    assert [r["upload_s"] > 0 for r in lines if "upload_s" in r] == [True]
    assert not (ROOT / "corpus" / "load-note-2-0.md").exists()  # uploads go to a copy


def test_each_user_asks_from_its_own_place_and_every_fourth_uploads() -> None:
    users = users_of_round(5, ["a", "b", "c"], 2)
    assert [u.questions for u in users] == [
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("a", "b"),
        ("b", "c"),
    ]
    assert [u.upload is not None for u in users] == [True, False, False, False, True]
    assert users[0].headers == {}  # no token: no Authorization header
    assert SimulatedUser(9, ("a",), token="t0k").headers == {"Authorization": "Bearer t0k"}
    assert users[4].upload and users[4].upload[0] != users[0].upload[0]  # type: ignore[index]


def test_server_sent_events_are_read_with_their_names() -> None:
    lines = [
        "event: text",
        'data: "The Ministry"',
        "",
        "event: answer",
        'data: {"id": "a1", "question": "q"}',
        "",
    ]
    assert list(events(lines)) == [
        ("text", "The Ministry"),
        ("answer", {"id": "a1", "question": "q"}),
    ]


def test_answers_are_judged_answered_lost_or_mixed() -> None:
    def answer(id_: str, question: str) -> dict[str, str]:
        return {"id": id_, "question": question}

    records = {"a1": "Q one", "a2": "Q two", "a3": "Q three", "a5": "Q five"}
    asked = [
        Asked(0, "Q one", "200", answer=answer("a1", "Q  one")),  # whitespace as the API has it
        Asked(1, "Q two", "200", answer=answer("a3", "Q three")),  # another user's answer
        Asked(2, "Q three", "200", answer=answer("a3", "Q three")),  # its id given twice
        Asked(3, "Q four", "200 error 503"),  # no answer: lost
        Asked(4, "Q five", "200", answer=answer("a4", "Q five")),  # not recorded: lost
        Asked(5, "Q five", "200", answer=answer("a5", "Q five"), record_question="Q two"),
    ]
    assert judge(asked, records.get) == (1, 3)  # answered, mixed; so 2 lost
    # a passage of another user's private space given to the model is mixed too
    foreign = {**answer("a1", "Q one"), "contexts": [{"doc_id": "private/user1/note"}]}
    own = {**answer("a2", "Q two"), "contexts": [{"doc_id": "private/user0/note"}]}
    spaces = [Asked(0, "Q one", "200", answer=foreign), Asked(0, "Q two", "200", answer=own)]
    assert judge(spaces, records.get) == (1, 1)
    assert users_of_round(2, ["a"], 1, ["t0", "t1"])[1].headers == {"Authorization": "Bearer t1"}


def test_a_user_refused_by_a_full_queue_asks_again_after_retry_after() -> None:
    import httpx

    from assistant.bench.users import ask

    replies = iter(
        [
            httpx.Response(503, headers={"Retry-After": "1"}, json={"error": "full"}),
            httpx.Response(
                200,
                text='event: queue\ndata: {"ahead": 2}\n\nevent: text\ndata: "Two"\n\n'
                'event: answer\ndata: {"id": "a1", "question": "q"}\n\n',
            ),
        ]
    )
    transport = httpx.MockTransport(lambda request: next(replies))
    with httpx.Client(transport=transport, base_url="http://serve") as http:
        asked = ask(http, 0, "q", time.monotonic())
    assert (asked.status, asked.refused, asked.most_ahead) == ("200", 1, 2)
    assert asked.answer == {"id": "a1", "question": "q"} and asked.answer_s >= 1.0
    with httpx.Client(
        transport=httpx.MockTransport(
            lambda request: httpx.Response(503, headers={"Retry-After": "30"})
        ),
        base_url="http://serve",
    ) as http:
        gave_up = ask(http, 0, "q", time.monotonic(), deadline=time.monotonic() + 5)
    assert (gave_up.status, gave_up.refused, gave_up.answer) == ("503", 0, None)
