"""The typed records kept on disk: each reads back what it wrote, reads its older form
with the defaults, and refuses a wrong type or an unknown format with a clear message."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeEmbedder, FakeGenerator, make_settings

from assistant.answering.assistant import Assistant
from assistant.errors import RecordInvalid
from assistant.trust.audit import AuditLog, record_hash
from assistant.trust.provenance import render
from assistant.trust.records import ProvenanceRecord

REPLY = "The Ministry of Justice will give 2,500 employees access to AI tools [1]."

# ---------------------------------------------------------------- provenance


def _provenance(tmp_path: Path) -> dict[str, Any]:
    settings = make_settings(tmp_path, audit={"enabled": False})
    assistant = Assistant(settings, FakeEmbedder(), FakeGenerator([REPLY]))
    assistant.index()
    return assistant.ask("How many employees get AI tools?").provenance


def _before_drafts(record: dict[str, Any]) -> dict[str, Any]:
    """The record as format 1 was first written: no draft, sentences, scope or asked_for,
    no mark on passages holding instructions."""
    old = copy.deepcopy(record)
    for key in ("draft", "sentences", "scope", "asked_for"):
        del old[key]
    for passage in old["passages"]:
        del passage["instructions_withheld"]
    return old


def test_a_provenance_record_reads_back_what_it_wrote(tmp_path: Path, corpus: Path) -> None:
    data = _provenance(tmp_path)
    record = ProvenanceRecord.from_json(data)
    assert record.to_json() == data
    assert ProvenanceRecord.from_json(record.to_json()) == record
    assert record.format == ProvenanceRecord.FORMAT == 1
    assert record.passages[0].doc_id == "justice" and record.cited == [1]


def test_an_older_provenance_record_reads_with_the_defaults(tmp_path: Path, corpus: Path) -> None:
    old = _before_drafts(_provenance(tmp_path))
    record = ProvenanceRecord.from_json(old)
    assert (record.draft, record.sentences, record.scope, record.asked_for) == ("", [], [], None)
    assert record.passages[0].instructions_withheld is False
    assert record.to_json() == old  # written back as it was: its hash still holds
    assert "Passages given to the model:" in render(record)


def test_an_older_record_in_the_audit_log_verifies_and_is_found(
    tmp_path: Path, corpus: Path
) -> None:
    old = _before_drafts(_provenance(tmp_path))
    log = AuditLog(tmp_path / "old" / "audit.jsonl")
    chained = log.append(old)
    assert log.verify().ok
    found = log.find(old["id"])
    assert found.seq == 1 and found.hash == chained["hash"] == record_hash(found.to_json())


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda r: r["passages"][0].update(score="high"), "passages.0.score"),
        (lambda r: r.update(declined="perhaps"), "declined"),
        (lambda r: r.pop("question"), "question: missing"),
        (lambda r: r["model"].update(colour="blue"), "model.colour: unknown field"),
    ],
)
def test_a_provenance_record_of_another_shape_is_refused(
    tmp_path: Path, corpus: Path, change: Any, said: str
) -> None:
    data = _provenance(tmp_path)
    change(data)
    with pytest.raises(RecordInvalid) as caught:
        ProvenanceRecord.from_json(data, "audit.jsonl, answer x")
    message = str(caught.value)
    assert message.startswith("audit.jsonl, answer x: not a provenance record")
    assert said in message and "read it with the version of the assistant" in message


def test_a_provenance_record_of_a_newer_format_says_so(tmp_path: Path, corpus: Path) -> None:
    data = _provenance(tmp_path) | {"format": 2}
    with pytest.raises(RecordInvalid, match=r"format: format 2 is not one .* reads \(1 to 1\)"):
        ProvenanceRecord.from_json(data)
