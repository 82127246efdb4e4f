"""Questions take turns at the model: a first-come queue shared by the UI and the API.

The in-process model answers one question at a time; a model server (`generation.backend
= "openai"`) takes `generation.concurrency` at once. A question joins the queue and learns
how many are ahead of it (answering or waiting before it); past `ui.max_waiting` waiting it
is refused at once (`QueueFull`, HTTP 503 with Retry-After) instead of waiting without end.
A question that leaves before its turn (the user cancelled, the client went away) gives up
its place; one that leaves after it frees its slot for the next.

    ticket = queue.join()
    try:
        while not ticket.wait(1.0):
            show(ticket.ahead)        # "2 questions ahead of yours"
        answer(...)
    finally:
        ticket.leave()
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import QueueFull
from ..settings import Settings

# Until answers have been timed, a turn is taken to last this long (a warm answer on two
# cores, `assistant bench`).
FIRST_GUESS_S = 15.0


class Ticket:
    def __init__(self, queue: AnswerQueue, number: int) -> None:
        self._queue = queue
        self.number = number
        self.started: float | None = None  # when its turn came
        self.left = False

    @property
    def ahead(self) -> int:
        """Questions answering or waiting before this one; 0 once its turn has come."""
        return self._queue.ahead_of(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` seconds for its turn; whether it has come."""
        return self._queue.wait_for(self, timeout)

    def leave(self) -> None:
        """Give up the place, or the slot once answered (safe to call twice)."""
        self._queue.leave(self)


class AnswerQueue:
    def __init__(self, slots: int = 1, max_waiting: int = 8) -> None:
        self.slots = max(1, slots)
        self.max_waiting = max(0, max_waiting)
        self._cond = threading.Condition()
        self._line: deque[Ticket] = deque()
        self._running: set[Ticket] = set()
        self._numbers = itertools.count(1)
        self._turn_s = FIRST_GUESS_S

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerQueue:
        remote = settings.generation.backend == "openai"
        slots = settings.generation.concurrency if remote else 1
        return cls(slots, settings.ui.max_waiting)

    def join(self) -> Ticket:
        """A place at the end of the queue; `QueueFull` when too many wait already."""
        with self._cond:
            if len(self._line) >= self.max_waiting and len(self._running) >= self.slots:
                raise QueueFull(
                    f"{len(self._line)} questions are waiting for the model already: ask "
                    f"again in about {self.retry_after()} s.",
                    self.retry_after(),
                )
            ticket = Ticket(self, next(self._numbers))
            self._line.append(ticket)
            self._promote()
            return ticket

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the queue's length in turns of the mean
        answer time, over the slots."""
        turns = (len(self._line) + 1) / self.slots
        return max(1, math.ceil(turns * self._turn_s))

    def ahead_of(self, ticket: Ticket) -> int:
        with self._cond:
            if ticket in self._running or ticket.left:
                return 0
            return len(self._running) + self._line.index(ticket)

    def wait_for(self, ticket: Ticket, timeout: float | None) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: ticket in self._running, timeout)

    def leave(self, ticket: Ticket) -> None:
        with self._cond:
            if ticket.left:
                return
            ticket.left = True
            if ticket in self._running:
                self._running.discard(ticket)
                if ticket.started is not None:  # a moving mean of how long a turn lasts
                    taken = time.monotonic() - ticket.started
                    self._turn_s = 0.8 * self._turn_s + 0.2 * taken
            else:
                self._line.remove(ticket)
            self._promote()

    @contextmanager
    def turn(self) -> Iterator[Ticket]:
        """A place at once (`QueueFull` when there is none), then the wait for its turn;
        the slot, or the place, given back on leaving, however it is left."""
        ticket = self.join()
        try:
            ticket.wait()
            yield ticket
        finally:
            ticket.leave()

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._line)

    def _promote(self) -> None:
        while self._line and len(self._running) < self.slots:
            ticket = self._line.popleft()
            ticket.started = time.monotonic()
            self._running.add(ticket)
        self._cond.notify_all()
