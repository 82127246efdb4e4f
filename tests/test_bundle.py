"""The air-gapped laptop: a bundle built from pip's cache, checked, installed and asked with
no network at all, then updated the same way; a bundle with one changed byte refused
before anything is installed.

The manifest checks run in the fast suite on small folders; the whole path is marked
`model`: it builds a real bundle (every wheel, the smallest catalogue model), installs it
with the real pip inside a network namespace that has only loopback (as
test_offline.py does, the socket guard on every Python process) and asks one question.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MODELS_DIR, ROOT
from test_offline import PROBE  # the check that the namespace has no route out

from assistant.deploy.build import INSTALL_SCRIPT
from assistant.deploy.manifest import (
    INSTALLED,
    BundleError,
    Entry,
    Manifest,
    check_bundle,
    check_target,
    entry_for,
    files_under,
    sha256_of,
    write_manifest,
)

GUARD = Path(__file__).parent / "offline_guard"
MODEL = "smollm2-135m"
QUESTION = "What does the Ministry of Justice partnership with OpenAI cover?"
LIBRARY = "# Library hours\n\nThe city library opens at 9 am on weekdays.\n"
NOTES = "# My notes\n\nA document the laptop's user added after the installation.\n"


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


def test_a_target_without_room_is_refused(tmp_path: Path) -> None:
    huge = Manifest("full", "-", (Entry("models/huge.gguf", "0" * 64, 10**16),))
    with pytest.raises(BundleError, match="Not enough space for .* about 10000000.30 GB needed"):
        check_target(tmp_path / "target", huge)


def test_install_sh_without_python_3_11_says_what_to_install(tmp_path: Path) -> None:
    shutil.copyfile(INSTALL_SCRIPT, tmp_path / "install.sh")
    done = subprocess.run(
        ["bash", str(tmp_path / "install.sh"), str(tmp_path / "target")],
        env={**os.environ, "PYTHON": sys.executable.replace("python", "no-such-python")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Python 3.11 is needed" in done.stderr and "PYTHON=/path/to/python3.11" in done.stderr
    assert not (tmp_path / "target").exists()


def build(out: Path, env: dict[str, str], *options: str) -> Path:
    """`assistant bundle` run from this checkout; the folder it wrote."""
    built = subprocess.run(
        [sys.executable, "-m", "assistant", "bundle", "--models", MODEL, "--out", out, *options],
        env={**env, "PYTHONPATH": str(ROOT), "ASSISTANT_PATHS__MODELS_DIR": str(MODELS_DIR)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    folder = Path(built.stdout.split("bundle: ", 1)[1].split("\n", 1)[0])
    assert built.stdout.split()[-1] == sha256_of(folder / "MANIFEST")  # the hash read out
    return folder


def offline(script: str, env: dict[str, str], attempts: Path) -> subprocess.CompletedProcess:
    """`script` in a network namespace with only loopback, every Python process guarded."""
    return subprocess.run(
        ["unshare", "--net", "bash", "-c", f"ip link set lo up && {script}"],
        env={**env, "PYTHONPATH": str(GUARD), "OFFLINE_GUARD_LOG": str(attempts)},
        cwd=attempts.parent,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.model
def test_a_bundle_installs_answers_and_updates_with_no_network(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.fail("this test needs root and unshare(1) to make a network namespace")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    bundle = build(tmp_path / "dist", env)
    names = {p.name for p in (bundle / "wheels").iterdir()}
    assert any(n.startswith("llama_cpp_python-") for n in names)
    assert any(n.startswith("torch-2.13.0+cpu-cp311") for n in names)
    assert (bundle / "models" / "smollm2-135m-instruct-q4_1.gguf").exists()

    # One byte changed in a wheel: refused before anything is installed, the file named.
    wheel = next((bundle / "wheels").glob("policy_assistant-*.whl"))
    original = wheel.read_bytes()
    wheel.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
    refused = subprocess.run(
        ["bash", str(bundle / "install.sh"), str(tmp_path / "refused")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0
    assert f"changed: wheels/{wheel.name}" in refused.stderr
    assert not (tmp_path / "refused").exists()
    wheel.write_bytes(original)

    target = tmp_path / "laptop"
    attempts = tmp_path / "attempts.log"
    attempts.touch()
    done = offline(
        f"bash {bundle / 'install.sh'} {target} && cd {target} && "
        # A short answer, unverified: the test proves the installation answers, and the
        # tiny model's rambling would otherwise take minutes on a busy machine.
        f"ASSISTANT_GENERATION__MAX_TOKENS=64 ASSISTANT_GENERATION__VERIFY=false "
        f".venv/bin/assistant ask --json '{QUESTION}' > {tmp_path / 'answer.json'} && "
        f"env -u PYTHONPATH {sys.executable} -c '{PROBE}'",
        env,
        attempts,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "OUTSIDE refused" in done.stdout  # the namespace really has no route out
    assert f"cd {target} && .venv/bin/assistant ui" in done.stdout
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert answer["model"]["name"] == MODEL
    assert "moj-openai-partnership" in [c["doc_id"] for c in answer["contexts"]]
    assert sorted(p.name for p in target.iterdir()) == [
        ".bundle",
        ".venv",
        "assistant.toml",
        "corpus",
        "data",
        "index",
        "models",
    ]
    assert (target / INSTALLED).read_bytes() == (bundle / "MANIFEST").read_bytes()

    # An update with one new document: it carries only what changed, and keeps the audit
    # log and the document the user added.
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    (corpus / "library.md").write_text(LIBRARY)
    (target / "corpus" / "my-notes.md").write_text(NOTES)
    audit = (target / "data" / "audit.jsonl").read_bytes()
    update = build(
        tmp_path / "dist",
        {**env, "ASSISTANT_PATHS__CORPUS_DIR": str(corpus)},
        "--update-from",
        str(bundle / "MANIFEST"),
    )
    carried = {e.path for e in Manifest.read(update).carried}
    assert "corpus/library.md" in carried
    assert not any(p.startswith(("models/", "wheels/torch-", "corpus/open")) for p in carried)
    done = offline(f"bash {update / 'install.sh'} {target}", env, attempts)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "added: library" in done.stderr and "added: my-notes" in done.stderr
    assert (target / "corpus" / "my-notes.md").read_text() == NOTES
    assert (target / "data" / "audit.jsonl").read_bytes() == audit
    assert (target / INSTALLED).read_bytes() == (update / "MANIFEST").read_bytes()
    again = offline(f"bash {update / 'install.sh'} {target}", env, attempts)
    assert again.returncode != 0 and "in the order they were built" in again.stderr
    assert attempts.read_text() == ""  # and nothing, pip included, even tried to leave
