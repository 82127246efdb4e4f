"""Conversations kept across restarts: one SQLite file under the data folder.

Each conversation has an id, a title (its first question until renamed), when it began
and when it last changed; each turn keeps the whole `Answer` as shown: its text, every
passage given with its reference, the sentences withheld and why, and the answer's id in
the audit log. The UI lists them, reopens one with its sources, renames and deletes them;
`assistant chat --resume [ID]` carries one on in the terminal.

Feedback on answers (thumbs up or down and a comment) is kept in the same file, keyed by
the answer's id, so `assistant eval --from-feedback` can turn the down-voted ones into
draft questions.

On a server with accounts each user has their own conversations: a store opened for an
`owner` lists, reopens, renames and deletes only theirs (another's id is unknown to it).
Conversations kept before accounts have no owner and stay with the laptop's one user.

Deleting a conversation leaves the audit log alone: that is the record of what was
answered. A file that is locked by another process or is not a database is reported
(`ConversationsUnavailable`) and the chat goes on without saving; the file is left as
it is for the user to move away.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..answering.grounding import Checked, Sentence
from ..answers import Answer, Citation, Timings
from ..errors import AssistantError
from ..trust.records import SentenceRecord

FILE_NAME = "conversations.sqlite3"
TITLE_LENGTH = 80
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    n INTEGER NOT NULL, answer_id TEXT, answer TEXT NOT NULL, PRIMARY KEY (conversation, n)
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY, rating TEXT NOT NULL, comment TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, time TEXT NOT NULL
);
"""


class ConversationsUnavailable(AssistantError):
    pass


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created: str
    updated: str
    turns: int

    @property
    def label(self) -> str:
        """ "Title · 25 Nov 2026 21:40 · 3 questions", for a list."""
        when = time.strftime("%d %b %Y %H:%M", time.localtime(float(self.updated)))
        s = "" if self.turns == 1 else "s"
        return f"{self.title} · {when} · {self.turns} question{s}"


@dataclass(frozen=True)
class Feedback:
    answer_id: str
    rating: str  # "up" or "down"
    comment: str
    question: str
    answer: str
    time: str


class Conversations:
    def __init__(self, data_dir: Path, timeout: float = 3.0, owner: str = "") -> None:
        self.path = data_dir / FILE_NAME
        self.timeout = timeout  # seconds to wait for another process's lock
        self.owner = owner  # "" on a laptop with no accounts

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=self.timeout)
        except (OSError, sqlite3.Error) as exc:
            raise self._unavailable(exc) from exc
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(conversations)")}
            if "owner" not in columns:  # a file kept before accounts
                db.execute("ALTER TABLE conversations ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
            with db:
                yield db
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        finally:
            db.close()

    def _unavailable(self, exc: Exception) -> ConversationsUnavailable:
        if "locked" in str(exc):
            what = "is locked by another program; try again in a moment"
        else:
            what = (
                f"cannot be used ({exc}); move it aside (for example to "
                f"{self.path.name}.broken) and a new one will be started"
            )
        return ConversationsUnavailable(
            f"Conversations are not being saved: {self.path} {what}. The chat still works."
        )

    # ------------------------------------------------------------ conversations

    def add(self, conversation: str | None, answer: Answer) -> str:
        """Keep `answer` as the next turn of `conversation` (a new one when None or no
        longer there); returns the conversation's id."""
        now = repr(time.time())
        with self._db() as db:
            exists = (
                conversation
                and db.execute(
                    "SELECT 1 FROM conversations WHERE id = ? AND owner = ?",
                    (conversation, self.owner),
                ).fetchone()
            )
            if not exists:
                conversation = uuid.uuid4().hex[:12]
                db.execute(
                    "INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                    (conversation, _title(answer.question), now, now, self.owner),
                )
            (turns,) = db.execute(
                "SELECT COUNT(*) FROM turns WHERE conversation = ?", (conversation,)
            ).fetchone()
            db.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?)",
                (conversation, turns + 1, answer.id, json.dumps(saved(answer))),
            )
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation))
        assert conversation
        return conversation

    def recent(self) -> list[Conversation]:
        """Every conversation, the latest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT c.id, c.title, c.created, c.updated, COUNT(t.n) FROM conversations c "
                "LEFT JOIN turns t ON t.conversation = c.id WHERE c.owner = ? GROUP BY c.id "
                "ORDER BY c.updated DESC",
                (self.owner,),
            ).fetchall()
        return [Conversation(*row) for row in rows]

    def answers(self, conversation: str) -> list[Answer]:
        """The conversation's answers in order; an unknown id is an error naming recent ones."""
        with self._db() as db:
            found = db.execute(
                "SELECT 1 FROM conversations WHERE id = ? AND owner = ?",
                (conversation, self.owner),
            )
            if not found.fetchone():
                raise self._unknown(conversation)
            rows = db.execute(
                "SELECT answer FROM turns WHERE conversation = ? ORDER BY n", (conversation,)
            ).fetchall()
        return [restored(json.loads(row[0])) for row in rows]

    def rename(self, conversation: str, title: str) -> None:
        title = " ".join(title.split())[:TITLE_LENGTH]
        if not title:
            raise AssistantError("The new title is empty: type a title.")
        with self._db() as db:
            changed = db.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                (title, conversation, self.owner),
            ).rowcount
        if not changed:
            raise self._unknown(conversation)

    def delete(self, conversation: str) -> None:
        """Forget the conversation (the audit log keeps its answers)."""
        with self._db() as db:
            gone = db.execute(
                "DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation, self.owner)
            ).rowcount
            if gone:
                db.execute("DELETE FROM turns WHERE conversation = ?", (conversation,))
        if not gone:
            raise self._unknown(conversation)

    def _unknown(self, conversation: str) -> AssistantError:
        recent = ", ".join(f"{c.id} ({c.title})" for c in self.recent()[:5])
        return AssistantError(
            f"No conversation has the id '{conversation}'. "
            + (f"Recent ones: {recent}." if recent else "None has been kept yet.")
        )

    # ------------------------------------------------------------ feedback

    def rate(self, answer: Answer, rating: str, comment: str = "") -> None:
        """Keep a thumbs up or down (and a comment) on an answer; a later rating of the
        same answer replaces the earlier one."""
        self.rate_id(answer.id, answer.question, answer.answer, rating, comment)

    def rate_id(
        self, answer_id: str, question: str, answer: str, rating: str, comment: str = ""
    ) -> None:
        """`rate` by the answer's id and its text (from its record, for the API)."""
        if rating not in ("up", "down"):
            raise AssistantError(f"A rating is 'up' or 'down', not '{rating}'.")
        if not answer_id:
            raise AssistantError("This answer has no id in the audit log, so it cannot be rated.")
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?, ?, ?)",
                (answer_id, rating, comment.strip(), question, answer, _now()),
            )

    def feedback(self, rating: str | None = None) -> list[Feedback]:
        with self._db() as db:
            rows = db.execute(
                "SELECT answer_id, rating, comment, question, answer, time FROM feedback "
                "WHERE ? IS NULL OR rating = ? ORDER BY time",
                (rating, rating),
            ).fetchall()
        return [Feedback(*row) for row in rows]


def saved(answer: Answer) -> dict[str, Any]:
    """The answer as kept: all that the UI shows of it, sources and withheld sentences too."""
    return {
        "id": answer.id,
        "question": answer.question,
        "answer": answer.answer,
        "cited": [c.n for c in answer.citations],
        "contexts": [asdict(c) for c in answer.contexts],
        "declined": answer.declined,
        "scope": list(answer.scope),
        "model": dict(answer.model),
        "timings": asdict(answer.timings),
        "warnings": list(answer.warnings),
        "sentences": [c.record() for c in answer.sentences],
    }


def restored(data: dict[str, Any]) -> Answer:
    contexts = tuple(Citation(**c) for c in data["contexts"])
    cited = set(data["cited"])
    return Answer(
        id=data["id"],
        question=data["question"],
        answer=data["answer"],
        citations=tuple(c for c in contexts if c.n in cited),
        contexts=contexts,
        declined=data["declined"],
        scope=tuple(data["scope"]),
        model=data["model"],
        timings=Timings(**data["timings"]),
        warnings=tuple(data["warnings"]),
        sentences=tuple(_checked(s) for s in data["sentences"]),
    )


def _checked(data: dict[str, Any]) -> Checked:
    record = SentenceRecord.model_validate(data)
    drafted, cited = tuple(record.drafted_cites), tuple(record.cited)
    return Checked(
        Sentence(record.text, drafted),
        cited,
        record.shown,
        cited != drafted,
        record.reason,
        record.verified,
    )


def _title(question: str) -> str:
    words = " ".join(question.split())
    return words if len(words) <= TITLE_LENGTH else words[: TITLE_LENGTH - 1].rstrip() + "…"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def draft_questions(items: Sequence[Feedback]) -> list[dict[str, Any]]:
    """Down-voted answers as draft questions in the gold format, for a reviewer to
    complete (type, reference answer, key terms, quotes)."""
    return [
        {
            "id": f"fb-{item.answer_id}",
            "question": item.question,
            "type": "",
            "gold_answer": "",
            "key_terms": [],
            "quotes": [],
            "draft": True,
            "feedback": {"comment": item.comment, "answer_given": item.answer, "time": item.time},
        }
        for item in items
        if item.rating == "down"
    ]
