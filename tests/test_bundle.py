"""The manifest checks of an offline bundle, on small folders: a changed, missing or extra
file is named, an edited manifest refused, a target holding something else refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.deploy.manifest import (
    INSTALLED,
    BundleError,
    Manifest,
    check_bundle,
    check_target,
    entry_for,
    files_under,
    sha256_of,
    write_manifest,
)


def small_bundle(folder: Path) -> str:
    (folder / "wheels").mkdir(parents=True)
    (folder / "wheels" / "a-1.0-py3-none-any.whl").write_bytes(b"wheel bytes")
    (folder / "corpus").mkdir()
    (folder / "corpus" / "a policy.md").write_text("# A policy\n\nText.\n")
    entries = tuple(entry_for(folder, p) for p in files_under(folder))
    return write_manifest(folder, Manifest("full", "-", entries))


def refusal(folder: Path) -> str:
    with pytest.raises(BundleError) as caught:
        check_bundle(folder)
    return str(caught.value)


def test_a_bundle_that_matches_its_manifest_passes(tmp_path: Path) -> None:
    digest = small_bundle(tmp_path)
    manifest, found = check_bundle(tmp_path)
    assert found == digest == sha256_of(tmp_path / "MANIFEST")
    assert (tmp_path / "MANIFEST.sha256").read_text() == f"{digest}  MANIFEST\n"
    assert [(e.path, e.size) for e in manifest.carried] == [
        ("corpus/a policy.md", 18),  # a name with a space reads back whole
        ("wheels/a-1.0-py3-none-any.whl", 11),
    ]


def test_a_changed_byte_is_named(tmp_path: Path) -> None:
    small_bundle(tmp_path)
    (tmp_path / "wheels" / "a-1.0-py3-none-any.whl").write_bytes(b"wheel bytez")
    message = refusal(tmp_path)
    assert "changed: wheels/a-1.0-py3-none-any.whl (its SHA-256" in message
    assert "nothing was installed" in message


def test_a_missing_and_an_extra_file_are_named(tmp_path: Path) -> None:
    small_bundle(tmp_path)
    (tmp_path / "corpus" / "a policy.md").unlink()
    (tmp_path / "wheels" / "b-1.0-py3-none-any.whl").write_bytes(b"x")
    message = refusal(tmp_path)
    assert "missing: corpus/a policy.md" in message
    assert "extra: wheels/b-1.0-py3-none-any.whl" in message


def test_an_edited_manifest_is_refused(tmp_path: Path) -> None:
    small_bundle(tmp_path)
    text = (tmp_path / "MANIFEST").read_text()
    (tmp_path / "MANIFEST").write_text(text.replace("  11  ", "  12  "))
    assert "the manifest was changed" in refusal(tmp_path)
    (tmp_path / "MANIFEST.sha256").unlink()
    assert "the bundle is incomplete" in refusal(tmp_path)


def test_a_target_holding_something_else_is_refused(tmp_path: Path) -> None:
    small_bundle(tmp_path / "bundle")
    manifest = Manifest.read(tmp_path / "bundle")
    target = tmp_path / "target"
    check_target(target, manifest)  # a new folder is fine
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(BundleError, match=r"already holds other files \(notes.txt\)"):
        check_target(target, manifest)
    (target / INSTALLED).parent.mkdir()
    check_target(target, manifest)  # an earlier installation may be installed over


def test_an_update_applies_only_to_the_installation_it_was_built_from(tmp_path: Path) -> None:
    small_bundle(tmp_path / "bundle")
    target = tmp_path / "target"
    update = Manifest("update", sha256_of(tmp_path / "bundle" / "MANIFEST"), ())
    with pytest.raises(BundleError, match="install the full bundle first"):
        check_target(target, update)
    (target / INSTALLED).parent.mkdir(parents=True)
    shutil.copyfile(tmp_path / "bundle" / "MANIFEST", target / INSTALLED)
    check_target(target, update)
    (target / INSTALLED).write_text("another\n")
    with pytest.raises(BundleError, match="in the order they were built"):
        check_target(target, update)
