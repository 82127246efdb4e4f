"""Private spaces over the fake embedder and model: what one user adds, another never
sees, names, searches, cites, briefs, removes or reads the record of."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering.assistant import Assistant
from assistant.app.conversations import Conversations
from assistant.errors import DocumentNotFound, NotAllowed, RecordNotFound
from assistant.ingest.spaces import User, allowed, owner_of, sees
from assistant.trust.audit import AuditLog

ALICE, BOB = User("alice", "reader"), User("bob", "reader")
EDITOR, ADMIN = User("erin", "editor"), User("root", "admin")
SECRET = "The heron protocol caps pilot spending at 40 pounds per desk."


def _draft(tmp_path: Path, name: str = "heron.md", text: str = SECRET) -> Path:
    path = tmp_path / "uploads" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"# Heron protocol\n\n{text}\n", encoding="utf-8")
    return path


def test_owner_and_visibility_come_from_the_folder() -> None:
    assert owner_of("private/alice/heron") == "alice"
    assert owner_of("justice") is None and owner_of("private/readme") is None
    assert sees(ALICE, "private/alice/heron") and not sees(BOB, "private/alice/heron")
    assert sees(None, "private/alice/heron") and sees(BOB, "justice")
    assert allowed(BOB, ["justice", "weather"]) is None
    assert allowed(BOB, ["justice", "private/alice/heron"]) == ("justice",)


def test_an_upload_goes_to_its_users_space(fake_assistant: Assistant, tmp_path: Path) -> None:
    report = fake_assistant.upload([_draft(tmp_path)], user=ALICE)
    assert report.added == ["private/alice/heron"]
    assert (tmp_path / "corpus" / "private" / "alice" / "heron.md").exists()
    ids = [r.doc_id for r in fake_assistant.documents(ALICE)]
    assert "private/alice/heron" in ids and "justice" in ids
    assert "private/alice/heron" not in [r.doc_id for r in fake_assistant.documents(BOB)]
    assert "private/alice/heron" in [r.doc_id for r in fake_assistant.documents()]  # laptop


def test_another_user_cannot_name_search_or_cite_it(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    fake_assistant.upload([_draft(tmp_path)], user=ALICE)
    for name in ("private/alice/heron", "Heron protocol", "heron"):
        with pytest.raises(DocumentNotFound) as refused:
            fake_assistant.resolve([name], BOB)
        listed = str(refused.value).split("Name one by")[1]  # what Bob may name
        assert "heron" not in listed.lower() and "alice" not in listed
    assert fake_assistant.resolve(["Heron protocol"], ALICE) == ("private/alice/heron",)
    hits = fake_assistant.retriever.search(
        "heron protocol pilot spending 40 pounds per desk", 6, allowed(BOB, _ids(fake_assistant))
    )
    assert hits and all(h.chunk.doc_id != "private/alice/heron" for h in hits)
    fake_assistant.generator.enqueue(SECRET + " [1]")  # type: ignore[attr-defined]
    answer = fake_assistant.ask("What does the heron protocol cap?", user=BOB)
    assert all(c.doc_id != "private/alice/heron" for c in answer.contexts)
    assert "40 pounds" not in answer.answer  # what the model made up is not shown
    fake_assistant.generator.enqueue(SECRET + " [1]")  # type: ignore[attr-defined]
    own = fake_assistant.ask("What does the heron protocol cap?", user=ALICE)
    assert own.citations and own.citations[0].doc_id == "private/alice/heron"


def test_briefs_comparisons_and_removal_stay_within_the_space(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    fake_assistant.upload([_draft(tmp_path)], user=ALICE)
    with pytest.raises(DocumentNotFound):
        fake_assistant.brief("private/alice/heron", BOB)
    assert fake_assistant.brief("private/alice/heron", ALICE).document.title == "Heron protocol"
    with pytest.raises(DocumentNotFound):
        list(fake_assistant.compare("spending", ["Heron protocol"], BOB))
    from assistant.answering.comparison import compared

    assert "private/alice/heron" not in compared(fake_assistant, None, BOB)
    with pytest.raises(DocumentNotFound):
        fake_assistant.remove("private/alice/heron", user=BOB)
    assert (tmp_path / "corpus" / "private" / "alice" / "heron.md").exists()
    with pytest.raises(NotAllowed, match="editors and admins"):
        fake_assistant.remove("justice", user=BOB)
    fake_assistant.remove("private/alice/heron", user=ALICE)
    assert not (tmp_path / "corpus" / "private" / "alice" / "heron.md").exists()


def test_the_shared_library_is_for_editors(fake_assistant: Assistant, tmp_path: Path) -> None:
    with pytest.raises(NotAllowed, match="only editors and admins add"):
        fake_assistant.upload([_draft(tmp_path)], user=BOB, shared=True)
    report = fake_assistant.upload([_draft(tmp_path)], user=EDITOR, shared=True)
    assert report.added == ["heron"]
    assert "heron" in [r.doc_id for r in fake_assistant.documents(BOB)]


def test_the_same_file_in_two_spaces_is_kept_twice(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    fake_assistant.upload([_draft(tmp_path)], user=ALICE)
    report = fake_assistant.upload([_draft(tmp_path)], user=BOB)
    assert report.added == ["private/bob/heron"]  # not skipped as "already there"
    assert "private/alice/heron" not in report.unchanged


def test_a_report_names_only_what_its_user_sees(fake_assistant: Assistant, tmp_path: Path) -> None:
    """Alice's file lands in the corpus folder unindexed (a copy, a restore); Bob's upload
    indexes it, and his report must not name it."""
    folder = tmp_path / "corpus" / "private" / "alice"
    folder.mkdir(parents=True)
    (folder / "heron.md").write_text(f"# Heron\n\n{SECRET}\n", encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    report = fake_assistant.upload(
        [_draft(tmp_path, "bob.md", "Bob's own note on roads.")], user=BOB
    )
    shown = repr(report)
    assert "heron" not in shown and "broken" not in shown and "alice" not in shown
    assert report.added == ["private/bob/bob"]


def test_records_and_conversations_are_their_users(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    fake_assistant.upload([_draft(tmp_path)], user=ALICE)
    fake_assistant.generator.enqueue(SECRET + " [1]")  # type: ignore[attr-defined]
    answer = fake_assistant.ask("What does the heron protocol cap?", user=ALICE)
    log = AuditLog.from_settings(fake_assistant.settings)
    assert log.find(answer.id, ALICE).user == "alice"
    assert log.find(answer.id, ADMIN).id == answer.id
    with pytest.raises(RecordNotFound):
        log.find(answer.id, BOB)
    data = fake_assistant.settings.paths.data_dir
    Conversations(data, owner="alice").add(None, answer)
    assert Conversations(data, owner="bob").recent() == []
    (kept,) = Conversations(data, owner="alice").recent()
    with pytest.raises(Exception, match="No conversation has the id"):
        Conversations(data, owner="bob").answers(kept.id)
    with pytest.raises(Exception, match="No conversation has the id"):
        Conversations(data, owner="bob").delete(kept.id)
    assert Conversations(data, owner="alice").answers(kept.id)[0].id == answer.id


def _ids(assistant: Assistant) -> list[str]:
    return [r.doc_id for r in assistant.documents()]


def test_a_page_of_anothers_document_is_not_drawn(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    """The sources panel's server function takes a doc id from the browser: Bob's browser
    asking for a page of Alice's draft gets no page."""
    from assistant.app.ui import page_view

    fake_assistant.upload([_draft(tmp_path)], user=ALICE)
    wanted = {"doc": "private/alice/heron", "page": 1, "phrases": []}
    refused = page_view(fake_assistant, wanted, BOB)
    assert "no longer in the library" in refused and "base64" not in refused
