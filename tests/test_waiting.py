"""The answer queue: first come, first served; places told; a full queue refused."""

from __future__ import annotations

import threading

import pytest

from assistant.app.waiting import AnswerQueue
from assistant.errors import QueueFull


def test_questions_take_turns_in_order_and_know_their_place() -> None:
    queue = AnswerQueue(slots=1, max_waiting=3)
    first, second, third = queue.join(), queue.join(), queue.join()
    assert first.wait(0) and not second.wait(0)
    assert (first.ahead, second.ahead, third.ahead) == (0, 1, 2)
    second.leave()  # gave up before its turn: the third moves up
    assert third.ahead == 1 and not third.wait(0)
    first.leave()
    assert third.wait(0) and third.ahead == 0
    third.leave()
    third.leave()  # twice is harmless
    assert queue.waiting == 0


def test_a_model_server_answers_several_at_once() -> None:
    queue = AnswerQueue(slots=2, max_waiting=1)
    a, b, c = queue.join(), queue.join(), queue.join()
    assert a.wait(0) and b.wait(0) and not c.wait(0) and c.ahead == 2
    with pytest.raises(QueueFull) as full:
        queue.join()
    assert full.value.retry_after >= 1 and "waiting for the model" in str(full.value)
    b.leave()
    assert c.wait(0)


def test_a_waiting_question_wakes_when_its_turn_comes() -> None:
    queue = AnswerQueue(slots=1, max_waiting=2)
    running = queue.join()
    waiting = queue.join()
    woke = threading.Event()

    def wait() -> None:
        if waiting.wait(10):
            woke.set()

    thread = threading.Thread(target=wait)
    thread.start()
    assert not woke.wait(0.2)
    running.leave()
    thread.join(10)
    assert woke.is_set()
