"""Replay: the same answer from the recorded build, or an honest account of what changed."""

from __future__ import annotations

from pathlib import Path

from conftest import FakeEmbedder, FakeGenerator, make_settings

from assistant.answering.assistant import Assistant
from assistant.ingest.store import KEEP_BUILDS
from assistant.trust.audit import AuditLog
from assistant.trust.replay import replay

REPLY = "The Ministry of Justice will give 2,500 employees access to AI tools [1]."
QUESTION = "And how many of them get AI tools?"  # a follow-up: the history is in its prompt


class OtherModel(FakeGenerator):
    sha256 = "1" * 64


def _asked(tmp_path: Path) -> tuple[Assistant, str]:
    assistant = Assistant(make_settings(tmp_path), FakeEmbedder(), FakeGenerator([REPLY]))
    assistant.index()
    history = [("Who gets AI tools?", "Justice staff [1].")]
    return assistant, assistant.ask(QUESTION, history).id


def test_replay_gives_the_identical_answer(tmp_path: Path, corpus: Path) -> None:
    assistant, answer_id = _asked(tmp_path)
    generator = FakeGenerator([REPLY])
    report = replay(assistant.settings, answer_id, FakeEmbedder(), generator)
    assert report.ran and report.identical and report.changes == ()
    assert report.answer is not None and report.answer.id != answer_id
    assert generator.prompts[0][1:3] == [
        {"role": "user", "content": "Who gets AI tools?"},
        {"role": "assistant", "content": "Justice staff [1]."},
    ]
    replayed = AuditLog.from_settings(assistant.settings).find(report.answer.id)
    assert replayed.replay_of == answer_id


def test_replay_reports_a_different_answer(tmp_path: Path, corpus: Path) -> None:
    assistant, answer_id = _asked(tmp_path)
    other = FakeGenerator(["More than 1,000 probation officers use transcription tools [2]."])
    report = replay(assistant.settings, answer_id, FakeEmbedder(), other)
    assert report.ran and not report.identical
    assert report.differences[0].startswith("the answer differs")
    assert "cited passages then [1], now [2]" in report.differences


def test_a_changed_model_is_named_not_replayed(tmp_path: Path, corpus: Path) -> None:
    assistant, answer_id = _asked(tmp_path)
    report = replay(assistant.settings, answer_id, FakeEmbedder(), OtherModel([REPLY]))
    assert not report.ran and report.answer is None
    assert report.changes == (
        f"the model file of fake-model changed: SHA-256 {'0' * 64} then, {'1' * 64} now",
    )


def test_a_changed_document_is_named_and_the_old_build_still_replays(
    tmp_path: Path, corpus: Path
) -> None:
    assistant, answer_id = _asked(tmp_path)
    (corpus / "justice.md").write_text("# Justice\n\nThe Ministry changed its plans entirely.\n")
    (corpus / "weather.md").unlink()
    assistant.index()
    report = replay(assistant.settings, answer_id, FakeEmbedder(), FakeGenerator([REPLY]))
    assert report.identical
    assert report.changes[0].startswith("justice (Justice, no date) has changed since: SHA-256")
    assert "weather (Weather, no date) has been removed from the index since" in report.changes


def test_a_pruned_build_is_named_with_what_changed(tmp_path: Path, corpus: Path) -> None:
    assistant, answer_id = _asked(tmp_path)
    for n in range(KEEP_BUILDS):
        (corpus / "justice.md").write_text(f"# Justice\n\nVersion {n} of the justice plans.\n")
        assistant.index()
    report = replay(assistant.settings, answer_id, FakeEmbedder(), FakeGenerator([REPLY]))
    assert not report.ran
    assert "is no longer kept" in report.changes[0]
    assert any(c.startswith("justice (Justice, no date) has changed") for c in report.changes)


def test_an_altered_kept_build_is_not_replayed(tmp_path: Path, corpus: Path) -> None:
    assistant, answer_id = _asked(tmp_path)
    build = tmp_path / "index" / "builds" / assistant.retriever.index.index_id
    chunks = build / "chunks.jsonl"
    chunks.write_text(chunks.read_text().replace("2,500", "25,000"))
    report = replay(assistant.settings, answer_id, FakeEmbedder(), FakeGenerator([REPLY]))
    assert not report.ran and "no longer holds passages justice#0" in report.changes[0]
