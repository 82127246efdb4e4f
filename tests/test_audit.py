"""Provenance records and the hash-chained audit log: contents, tampering, crashes, CLI."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeEmbedder, FakeGenerator, make_settings

from assistant.answering.assistant import Assistant
from assistant.answering.prompting import PROMPT_VERSION
from assistant.app.cli import main
from assistant.errors import AuditLogFailed, RecordNotFound
from assistant.trust.audit import GENESIS, AuditLog, record_hash
from assistant.trust.provenance import render

REPLY = "The Ministry of Justice will give 2,500 employees access to AI tools [1]."


def _assistant(tmp_path: Path, replies: int = 10, **sections: dict) -> Assistant:
    generator = FakeGenerator([REPLY] * replies)
    assistant = Assistant(make_settings(tmp_path, **sections), FakeEmbedder(), generator)
    assistant.index()
    return assistant


def _log(assistant: Assistant) -> AuditLog:
    return AuditLog.from_settings(assistant.settings)


# ---------------------------------------------------------------- the record


def test_every_answer_has_an_id_and_a_complete_record(tmp_path: Path, corpus: Path) -> None:
    assistant = _assistant(tmp_path)
    answer = assistant.ask("How many employees get AI tools?")
    contract = answer.to_json()
    assert contract["id"] == answer.id != ""
    assert list(contract) == [
        "id",
        "question",
        "answer",
        "citations",
        "contexts",
        "declined",
        "scope",
        "model",
        "timings",
    ]

    record = _log(assistant).find(answer.id).to_json()
    assert record == answer.provenance
    assert record["question"] == "How many employees get AI tools?"
    assert record["answer"] == answer.answer and record["cited"] == [1]
    assert [p["chunk_id"] for p in record["passages"]] == [c.chunk_id for c in answer.contexts]
    for passage in record["passages"]:
        assert passage["sha256"] == hashlib.sha256(passage["text"].encode()).hexdigest()
    justice = (corpus / "justice.md").read_bytes()
    assert record["documents"]["justice"]["sha256"] == hashlib.sha256(justice).hexdigest()
    assert record["documents"]["justice"]["title"] == "Justice"
    index = assistant.retriever.index
    assert record["index"]["id"] == index.index_id
    assert record["model"] == {"name": "fake-model", "sha256": "0" * 64, "file": ""}
    assert record["embedder"] == {"name": FakeEmbedder.name, "dim": 384}
    assert record["prompt"]["version"] == PROMPT_VERSION
    assert record["generation"]["seed"] == 42 and record["generation"]["temperature"] == 0.0
    assert record["software"]["policy-assistant"] == "0.1.0"
    assert record["time"].endswith("+00:00")
    assert record["seq"] == 1 and record["prev"] == GENESIS
    assert record["hash"] == record_hash(record)


def test_the_conversation_context_is_recorded(tmp_path: Path, corpus: Path) -> None:
    assistant = _assistant(tmp_path)
    history = [("Who gets AI tools?", "Justice staff [1].")]
    answer = assistant.ask("And how many of them?", history)
    record = answer.provenance
    assert record["history"] == [["Who gets AI tools?", "Justice staff [1]."]]
    assert record["history_in_prompt"] == 1
    assert record["search_query"] == "Who gets AI tools? And how many of them?"


def test_logging_can_be_turned_off(tmp_path: Path, corpus: Path) -> None:
    assistant = _assistant(tmp_path, audit={"enabled": False})
    answer = assistant.ask("How many employees get AI tools?")
    assert answer.id and answer.provenance["id"] == answer.id
    assert "hash" not in answer.provenance
    assert not _log(assistant).path.exists()


def test_an_unwritable_log_withholds_the_answer(tmp_path: Path, corpus: Path) -> None:
    assistant = _assistant(tmp_path)
    (tmp_path / "data").write_text("a file where the data folder should be")
    with pytest.raises(AuditLogFailed, match="could not be recorded"):
        assistant.ask("How many employees get AI tools?")


def test_render_shows_what_a_reader_needs(tmp_path: Path, corpus: Path) -> None:
    assistant = _assistant(tmp_path)
    answer = assistant.ask("How many employees get AI tools?")
    text = render(_log(assistant).find(answer.id))
    for expected in (
        answer.id,
        "How many employees get AI tools?",
        "2,500",
        "justice#0",
        answer.provenance["documents"]["justice"]["sha256"],
        "fake-model",
        PROMPT_VERSION,
        "seed 42",
    ):
        assert expected in text


# ---------------------------------------------------------------- tampering


@pytest.fixture
def five(tmp_path: Path, corpus: Path) -> AuditLog:
    assistant = _assistant(tmp_path)
    for n in range(5):
        assistant.ask(f"How many employees get AI tools? ({n})")
    log = _log(assistant)
    assert log.verify().ok and log.verify().records == 5
    return log


def _lines(log: AuditLog) -> list[bytes]:
    return log.path.read_bytes().splitlines(keepends=True)


def _rewrite(log: AuditLog, lines: list[bytes]) -> None:
    log.path.write_bytes(b"".join(lines))


def _altered(line: bytes, rehash: bool) -> bytes:
    record = json.loads(line)
    record["answer"] = "Nobody gets AI tools."
    if rehash:
        record["hash"] = record_hash(record)
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def test_an_altered_record_is_named(five: AuditLog) -> None:
    lines = _lines(five)
    lines[2] = _altered(lines[2], rehash=False)
    _rewrite(five, lines)
    result = five.verify()
    assert not result.ok and result.records == 2
    assert result.problem.startswith("record 3 (id ") and "was altered" in result.problem


def test_an_altered_record_with_its_hash_recomputed_is_caught_by_the_next(five: AuditLog) -> None:
    lines = _lines(five)
    lines[1] = _altered(lines[1], rehash=True)
    _rewrite(five, lines)
    assert five.verify().problem.startswith("record 2 was altered or replaced: record 3")


def test_an_altered_last_record_is_caught_by_the_head(five: AuditLog) -> None:
    lines = _lines(five)
    lines[4] = _altered(lines[4], rehash=True)
    _rewrite(five, lines)
    assert five.verify().problem.startswith("record 5 was altered or replaced")


def test_a_removed_record_is_named(five: AuditLog) -> None:
    lines = _lines(five)
    del lines[1]
    _rewrite(five, lines)
    assert five.verify().problem.startswith("record 2 removed: record 3 (id ")


def test_swapped_records_are_named(five: AuditLog) -> None:
    lines = _lines(five)
    lines[1], lines[3] = lines[3], lines[1]
    _rewrite(five, lines)
    problem = five.verify().problem
    assert problem.startswith("record 4 (id ") and "line 2) is out of order" in problem


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        (0.5, "records 3 to 5 are cut short or missing"),  # mid-record
        (None, "records 5 to 5 are missing"),  # the last whole record
        (0, "the log ends at record 0 but held 5"),
    ],
)
def test_a_truncated_file_is_caught(five: AuditLog, keep: float | None, expected: str) -> None:
    data = five.path.read_bytes()
    if keep is None:
        cut = len(b"".join(_lines(five)[:4]))
    else:
        cut = int(len(data) * keep)
    five.path.write_bytes(data[:cut])
    result = five.verify()
    assert not result.ok and expected in result.problem, result.problem


def test_a_garbled_line_is_named(five: AuditLog) -> None:
    lines = _lines(five)
    lines[3] = b"{not json\n"
    _rewrite(five, lines)
    assert five.verify().problem == "line 4 is not a readable record: it was altered or damaged"


def test_a_removed_head_file_is_caught(five: AuditLog) -> None:
    five.head_path.unlink()
    assert "head file is missing" in five.verify().problem


def test_appending_after_a_truncation_keeps_the_gap_visible(tmp_path: Path, corpus: Path) -> None:
    assistant = _assistant(tmp_path)
    for n in range(3):
        assistant.ask(f"How many employees get AI tools? ({n})")
    log = _log(assistant)
    _rewrite(log, _lines(log)[:2])
    assistant.ask("How many employees get AI tools? (after)")
    assert log.verify().problem.startswith("record 3 removed: record 4")


# ---------------------------------------------------------------- crashes and concurrency


def test_an_interrupted_write_is_not_a_record_and_is_cut_off(tmp_path: Path, corpus: Path) -> None:
    assistant = _assistant(tmp_path)
    assistant.ask("How many employees get AI tools?")
    log = _log(assistant)
    with log.path.open("ab") as handle:
        handle.write(b'{"answer":"half a rec')
    result = log.verify()
    assert result.ok and "interrupted write" in result.notes[0]
    assistant.ask("How many employees get AI tools? (again)")
    assert log.verify() == type(result)(2, log.verify().head_hash)
    assert all(line.endswith(b"}\n") for line in _lines(log))


def test_a_record_written_before_its_head_is_valid(tmp_path: Path, corpus: Path) -> None:
    assistant = _assistant(tmp_path)
    assistant.ask("How many employees get AI tools?")
    log = _log(assistant)
    old_head = log.head_path.read_bytes()
    assistant.ask("How many employees get AI tools? (2)")
    log.head_path.write_bytes(old_head)  # as if the process died before replacing the head
    result = log.verify()
    assert result.ok and result.records == 2 and "not yet counted" in result.notes[0]
    assistant.ask("How many employees get AI tools? (3)")
    assert log.verify().ok and log.verify().records == 3 and not log.verify().notes


_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from assistant.trust.audit import AuditLog
    log = AuditLog(Path(sys.argv[1]))
    n = 0
    while True:
        n += 1
        log.append({"id": f"{sys.argv[2]}-{n}", "answer": "x" * 20000})
""")


def test_writers_killed_mid_append_never_break_the_chain(tmp_path: Path) -> None:
    """SIGKILL two concurrent writer processes at random moments, five times over."""
    path = tmp_path / "audit.jsonl"
    for round_ in range(5):
        writers = [
            subprocess.Popen([sys.executable, "-c", _WRITER, str(path), f"{round_}{w}"])
            for w in range(2)
        ]
        deadline = time.monotonic() + 30
        while _size(path) < (round_ + 1) * 200_000 and time.monotonic() < deadline:
            time.sleep(0.01)  # both writers are appending now
        time.sleep(0.013 * round_)
        for writer in writers:
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait()
        result = AuditLog(path).verify()
        assert result.ok, result.problem
    AuditLog(path).append({"id": "after", "answer": "done"})
    final = AuditLog(path).verify()
    assert final.ok and not final.notes and final.records > 10


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def test_threads_and_processes_share_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    script = (
        "import sys; from pathlib import Path; from assistant.trust.audit import AuditLog\n"
        "for n in range(40): AuditLog(Path(sys.argv[1])).append({'id': f'p{n}'})"
    )
    other = subprocess.Popen([sys.executable, "-c", script, str(path)])

    def write(thread: int) -> None:
        for n in range(20):
            AuditLog(path).append({"id": f"t{thread}-{n}"})

    threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert other.wait() == 0
    result = AuditLog(path).verify()
    assert result.ok and result.records == 120


def test_audit_cost_per_answer(tmp_path: Path, corpus: Path) -> None:
    """The log's cost per answer: time of the append and bytes of the record (printed)."""
    assistant = _assistant(tmp_path, replies=40, audit={"enabled": False})
    answers = [assistant.ask(f"How many employees get AI tools? ({n})") for n in range(20)]
    log = AuditLog(tmp_path / "cost" / "audit.jsonl")
    started = time.perf_counter()
    for answer in answers:
        log.append(answer.provenance)
    per_answer_ms = (time.perf_counter() - started) * 1000 / len(answers)
    per_answer_bytes = log.path.stat().st_size / len(answers)
    print(f"\naudit cost: {per_answer_ms:.2f} ms and {per_answer_bytes:.0f} bytes per answer")
    assert log.verify().records == 20


# ---------------------------------------------------------------- the commands


def _cli(tmp_path: Path, *args: str) -> object:
    env = {
        "ASSISTANT_PATHS__DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_PATHS__INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_PATHS__CORPUS_DIR": str(tmp_path / "corpus"),
    }
    return CliRunner().invoke(main, list(args), env=env)


def test_audit_verify_and_show_commands(five: AuditLog, tmp_path: Path) -> None:
    result = _cli(tmp_path, "audit", "verify")
    assert result.exit_code == 0 and "5 records, chain intact" in result.output
    first = json.loads(_lines(five)[0])
    shown = _cli(tmp_path, "audit", "show", first["id"])
    assert shown.exit_code == 0 and first["hash"] in shown.output
    as_json = _cli(tmp_path, "audit", "show", "--json", first["id"])
    assert json.loads(as_json.output) == first
    missing = _cli(tmp_path, "audit", "show", "20000101-000000-deadbeef")
    assert missing.exit_code == 1 and "No answer with id" in missing.output

    lines = _lines(five)
    del lines[2]
    _rewrite(five, lines)
    broken = _cli(tmp_path, "audit", "verify")
    assert broken.exit_code == 1 and "record 3 removed" in broken.output


def test_find_unknown_id_raises(tmp_path: Path) -> None:
    with pytest.raises(RecordNotFound):
        AuditLog(tmp_path / "audit.jsonl").find("nothing")
