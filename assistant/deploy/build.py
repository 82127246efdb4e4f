"""Build a bundle: one folder under `dist/` to carry to a machine that has no network.

It holds every wheel the assistant needs on this platform and Python, collected by
`pip wheel` from the configured indexes and pip's cache (the built llama-cpp-python and
the CPU torch among them), pinned to the versions installed here, the chosen catalogue
models (their SHA-256 checked first), the documents of the corpus folder with their
metadata, optionally the built index, `install.sh`, `check_bundle.py` and the MANIFEST
with its SHA-256. An update bundle is built the same way, then keeps only the files whose
path or content is not in the earlier bundle's MANIFEST.

Not done here: signing (the MANIFEST's hash is compared by a person), and removing from
an installation what a later bundle no longer carries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from ..errors import BundleFailed
from ..generation.catalog import ModelStore
from ..settings import Settings
from . import manifest as manifest_module
from .manifest import (
    MANIFEST,
    Entry,
    Manifest,
    entry_for,
    files_under,
    sha256_of,
    write_manifest,
)

PROJECT = Path(__file__).resolve().parents[2]  # the checkout the bundle is built from
INSTALL_SCRIPT = Path(__file__).with_name("install.sh")
TORCH = "torch==2.13.0"  # any other spec pulls the CUDA build


@dataclass(frozen=True)
class BundleOptions:
    out: Path = Path("dist")
    models: tuple[str, ...] = ()  # catalogue names; empty: the configured model
    with_index: bool = False
    update_from: Path | None = None  # an earlier bundle's MANIFEST, or its folder


@dataclass(frozen=True)
class BundleResult:
    folder: Path
    digest: str  # the SHA-256 of the MANIFEST, to read out
    manifest: Manifest
    seconds: float
    sizes: dict[str, int] = field(default_factory=dict)  # bytes per top folder


def build_bundle(
    settings: Settings, options: BundleOptions, say: Callable[[str], None]
) -> BundleResult:
    start = time.monotonic()
    if not (PROJECT / "pyproject.toml").exists():
        raise BundleFailed(
            f"No pyproject.toml in {PROJECT}: build a bundle from a checkout of the project."
        )
    base, base_digest = None, "-"
    if options.update_from:
        base_file = options.update_from
        base_file = base_file / MANIFEST if base_file.is_dir() else base_file
        base, base_digest = Manifest.read(base_file), sha256_of(base_file)
    kind = "update" if base else "full"
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = f"policy-assistant-{version('policy-assistant')}-{stamp}-{kind}"
    folder = options.out.resolve() / name
    staging = folder.with_name(name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _collect_wheels(staging / "wheels", say)
        default = _copy_models(settings, options.models, staging / "models", say)
        _copy_tree(settings.paths.corpus_dir, staging / "corpus")
        if options.with_index:
            _copy_index(settings, staging / "index", say)
        if default != settings.generation.model:  # the configured model is not carried
            (staging / "assistant.toml").write_text(f'[generation]\nmodel = "{default}"\n')
        shutil.copyfile(INSTALL_SCRIPT, staging / "install.sh")
        (staging / "install.sh").chmod(0o755)
        shutil.copyfile(manifest_module.__file__, staging / "check_bundle.py")
        say("== hashing every file for the MANIFEST")
        entries = [entry_for(staging, p) for p in files_under(staging)]
        manifest = Manifest("full", "-", tuple(entries))
        if base:
            manifest = Manifest("update", base_digest, _against(base, entries, staging))
        digest = write_manifest(staging, manifest)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    sizes: dict[str, int] = {}
    for entry in manifest.carried:
        top = entry.path.split("/")[0] if "/" in entry.path else "(top)"
        sizes[top] = sizes.get(top, 0) + entry.size
    return BundleResult(folder, digest, manifest, time.monotonic() - start, sizes)


def _collect_wheels(wheels: Path, say: Callable[[str], None]) -> None:
    """`pip wheel` of this project and torch, every dependency pinned to the version
    installed here (what was tested), plus pip itself for the target's venv."""
    wheels.mkdir()
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=False,
    )
    if frozen.returncode != 0:
        raise BundleFailed(f"`pip freeze` failed: {frozen.stderr.strip()[-500:]}")
    pins = [
        line
        for line in frozen.stdout.splitlines()
        if line and not line.startswith(("#", "-e", "policy-assistant")) and "==" in line
    ]
    constraints = wheels.parent / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    # The project is built from a copy, so setuptools leaves no build/ in the checkout and
    # no stale module from an earlier build/ enters the wheel.
    source = wheels.parent / "source"
    for name in ("pyproject.toml", "README.md"):
        source.mkdir(exist_ok=True)
        shutil.copyfile(PROJECT / name, source / name)
    shutil.copytree(
        PROJECT / "assistant", source / "assistant", ignore=shutil.ignore_patterns("__pycache__")
    )
    say("== collecting the wheels with pip (from the configured indexes and pip's cache)")
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--progress-bar",
        "off",
        "--wheel-dir",
        str(wheels),
        "--constraint",
        str(constraints),
        TORCH,
        f"pip=={version('pip')}",
        str(source),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    constraints.unlink()
    shutil.rmtree(source)
    if done.returncode != 0:
        raise BundleFailed(
            "`pip wheel` could not collect the wheels (it needs the package indexes or pip's "
            f"cache):\n{done.stderr.strip()[-1500:]}"
        )


def _copy_models(
    settings: Settings, names: tuple[str, ...], models: Path, say: Callable[[str], None]
) -> str:
    """Copy the chosen catalogue models, each verified first; the model to configure."""
    store = ModelStore(settings.paths.models_dir)
    models.mkdir()
    chosen = names or (settings.generation.model,)
    for name in chosen:
        say(f"== verifying and copying the model {name}")
        resolved = store.resolve(name)  # refuses a missing file or a wrong SHA-256
        if not resolved.verified:
            raise BundleFailed(f"{name} is not a catalogue model: give a catalogue name.")
        shutil.copyfile(resolved.path, models / resolved.path.name)
    return settings.generation.model if settings.generation.model in chosen else chosen[0]


def _copy_tree(source: Path, target: Path) -> None:
    if not source.is_dir():
        raise BundleFailed(f"No corpus folder at {source}: nothing to carry.")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*"))


def _copy_index(settings: Settings, target: Path, say: Callable[[str], None]) -> None:
    """The index brought up to date with the corpus and this version's chunking first (an
    index built by an older version would only be embedded again on the laptop), then its
    current build only (`CURRENT` and `builds/<id>/`), not older builds."""
    from ..answering.assistant import Assistant

    say("== bringing the index up to date before carrying it")
    report = Assistant(settings).index()
    if report.failed:
        raise BundleFailed(
            f"{len(report.failed)} documents of the corpus could not be indexed (see "
            "`assistant index`): fix or remove them, or leave the index out."
        )
    index_dir = settings.paths.index_dir
    current = (index_dir / "CURRENT").read_text().strip()
    say(f"== copying the index build {current} ({report.chunks} passages)")
    shutil.copytree(index_dir / "builds" / current, target / "builds" / current)
    shutil.copyfile(index_dir / "CURRENT", target / "CURRENT")


def _against(base: Manifest, entries: list[Entry], staging: Path) -> tuple[Entry, ...]:
    """Keep in the folder only what the base lacks; list the rest as `kept`."""
    known = {(e.path, e.sha256) for e in base.entries}
    # The installer and its checker always travel, so an update is checked and applied
    # by its own version of them.
    always = {"install.sh", "check_bundle.py"}
    out = []
    for entry in entries:
        if (entry.path, entry.sha256) in known and entry.path not in always:
            (staging / entry.path).unlink()
            out.append(Entry(entry.path, entry.sha256, entry.size, carried=False))
        else:
            out.append(entry)
    for folder in sorted(staging.rglob("*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return tuple(out)
