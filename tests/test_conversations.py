"""Conversations and feedback kept in SQLite: round trip, rename, delete, bad files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from assistant.answering.assistant import Assistant
from assistant.app.conversations import (
    Conversations,
    ConversationsUnavailable,
    draft_questions,
)
from assistant.errors import AssistantError

MOJ = "The Ministry of Justice will give 2,500 employees access to AI tools [1]. It rains [9]."


def answered(assistant: Assistant, question: str, reply: str = MOJ):
    assistant.generator.replies.append(reply)  # type: ignore[attr-defined]
    return assistant.ask(question)


def test_a_conversation_comes_back_whole(fake_assistant: Assistant, tmp_path: Path) -> None:
    store = Conversations(tmp_path / "data")
    first = answered(fake_assistant, "How many staff get AI tools?")
    assert first.withheld  # "It rains" has no support: kept with its reason
    conversation = store.add(None, first)
    second = answered(fake_assistant, "And who runs it?", "The documents do not say.")
    assert store.add(conversation, second) == conversation
    (listed,) = store.recent()
    assert listed.id == conversation and listed.turns == 2
    assert listed.title == "How many staff get AI tools?"
    assert "2 questions" in listed.label
    # a new process reads the same file
    again = Conversations(tmp_path / "data").answers(conversation)
    assert [a.question for a in again] == [first.question, second.question]
    assert again[0].answer == first.answer and again[0].id == first.id
    assert again[0].citations == first.citations and again[0].contexts == first.contexts
    assert [c.sentence.text for c in again[0].withheld] == [c.sentence.text for c in first.withheld]
    assert again[0].withheld[0].reason == first.withheld[0].reason
    assert again[1].declined and again[0].timings == first.timings


def test_rename_delete_and_unknown_ids(fake_assistant: Assistant, tmp_path: Path) -> None:
    store = Conversations(tmp_path / "data")
    answer = answered(fake_assistant, "How many staff get AI tools?")
    conversation = store.add(None, answer)
    store.rename(conversation, "  MoJ   staff  ")
    assert store.recent()[0].title == "MoJ staff"
    with pytest.raises(AssistantError, match="title is empty"):
        store.rename(conversation, "  ")
    with pytest.raises(AssistantError, match=rf"'nope'.*{conversation} \(MoJ staff\)"):
        store.answers("nope")
    audit = fake_assistant.settings.paths.data_dir / "audit.jsonl"
    logged = audit.read_text(encoding="utf-8")
    store.delete(conversation)
    assert store.recent() == []
    assert audit.read_text(encoding="utf-8") == logged  # the audit log keeps the answer
    with pytest.raises(AssistantError, match="None has been kept yet"):
        store.delete(conversation)
    # a turn added to a conversation deleted meanwhile starts a new one
    assert store.add(conversation, answer) != conversation


def test_a_corrupt_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    store = Conversations(tmp_path)
    store.path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ConversationsUnavailable, match="move it aside.*The chat still works"):
        store.recent()
    assert store.path.read_bytes().startswith(b"not a database")


def test_a_locked_file_is_reported(fake_assistant: Assistant, tmp_path: Path) -> None:
    store = Conversations(tmp_path, timeout=0.1)
    store.recent()
    holder = sqlite3.connect(store.path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ConversationsUnavailable, match="locked by another program"):
            store.add(None, answered(fake_assistant, "How many staff get AI tools?"))
    finally:
        holder.rollback()
        holder.close()


def test_down_votes_become_draft_questions(fake_assistant: Assistant, tmp_path: Path) -> None:
    store = Conversations(tmp_path)
    good = answered(fake_assistant, "How many staff get AI tools?")
    bad = answered(fake_assistant, "Who pays for the tools?")
    store.rate(good, "up")
    store.rate(bad, "up")
    store.rate(bad, "down", "  It does not say who pays. ")  # replaces the earlier rating
    assert [(f.answer_id, f.rating) for f in store.feedback()] == [
        (good.id, "up"),
        (bad.id, "down"),
    ]
    (draft,) = draft_questions(store.feedback())
    assert draft["id"] == f"fb-{bad.id}" and draft["question"] == "Who pays for the tools?"
    assert draft["draft"] is True and draft["feedback"]["comment"] == "It does not say who pays."
    assert set(draft) >= {"id", "question", "type", "gold_answer", "key_terms", "quotes"}
    json.dumps(draft)
    with pytest.raises(AssistantError, match="'up' or 'down'"):
        store.rate(good, "meh")
