"""A bundle's MANIFEST: every file it carries with its SHA-256 and size, and the checks
made before anything is installed from it.

Standard library only: the bundle carries a copy of this module as `check_bundle.py`,
and `install.sh` runs it with the bare python3.11 before a virtual environment exists.
It checks the bundle folder against its MANIFEST (naming every changed, missing or extra
file), the MANIFEST against `MANIFEST.sha256`, and the target folder (empty, or an
installation this bundle may update, with room for it). It does not check that the
MANIFEST is the one that was built: that is the person's comparison of `sha256sum
MANIFEST` with the hash read out by whoever built it.

The format, one line per file after a header (a path may contain spaces):

    policy-assistant bundle manifest 1
    kind update
    base 3f1c...            (the SHA-256 of the MANIFEST of the bundle it updates; - if none)
    file 9a0b...  203018  wheels/policy_assistant-0.1.0-py3-none-any.whl
    kept 77c2...  184221  wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl

`file` lines are in this bundle; `kept` lines (update bundles only) were in an earlier
bundle and are already installed, so a later update can be built from this MANIFEST alone.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

HEADER = "policy-assistant bundle manifest"
FORMAT = 1
MANIFEST = "MANIFEST"
MANIFEST_HASH = "MANIFEST.sha256"
INSTALLED = Path(".bundle") / MANIFEST  # in a target: the MANIFEST of what is installed
# Installed, the wheels take about 3.8 times their size (530 MB of wheels became a 2.0 GB
# .venv), and a 300 MB margin covers the index, the audit log and pip's temporary files.
WHEEL_GROWTH = 4.0
MARGIN = 300 * 1000 * 1000


class BundleError(Exception):
    """A bundle or target that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Entry:
    path: str  # relative, with forward slashes
    sha256: str
    size: int
    carried: bool = True  # False: a `kept` line, installed from an earlier bundle


@dataclass(frozen=True)
class Manifest:
    kind: str  # "full" or "update"
    base: str  # the SHA-256 of the MANIFEST this one updates, or "-"
    entries: tuple[Entry, ...]

    @property
    def carried(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.carried)

    def to_text(self) -> str:
        lines = [f"{HEADER} {FORMAT}", f"kind {self.kind}", f"base {self.base}"]
        for e in sorted(self.entries, key=lambda e: e.path):
            lines.append(f"{'file' if e.carried else 'kept'} {e.sha256}  {e.size}  {e.path}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str, where: str = MANIFEST) -> Manifest:
        lines = text.splitlines()
        if len(lines) < 3 or lines[0] != f"{HEADER} {FORMAT}":
            raise BundleError(
                f"{where} is not a format-{FORMAT} bundle manifest (first line "
                f"{lines[0] if lines else 'empty'!r}): it was made by another version, or "
                "it is damaged. Copy the bundle again from the original."
            )
        kind, base = lines[1].removeprefix("kind "), lines[2].removeprefix("base ")
        entries = []
        for number, line in enumerate(lines[3:], start=4):
            parts = line.split(maxsplit=3)
            if len(parts) != 4 or parts[0] not in ("file", "kept") or not parts[2].isdigit():
                raise BundleError(f"{where}, line {number}, cannot be read: {line!r}.")
            entries.append(Entry(parts[3], parts[1], int(parts[2]), parts[0] == "file"))
        if kind not in ("full", "update"):
            raise BundleError(f"{where} names an unknown kind of bundle: {kind!r}.")
        return cls(kind, base, tuple(entries))

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """A MANIFEST file, or a bundle folder holding one."""
        path = path / MANIFEST if path.is_dir() else path
        try:
            return cls.from_text(path.read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            raise BundleError(f"No bundle manifest at {path} ({exc.strerror}).") from exc


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def entry_for(folder: Path, path: Path) -> Entry:
    return Entry(path.relative_to(folder).as_posix(), sha256_of(path), path.stat().st_size)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def write_manifest(folder: Path, manifest: Manifest) -> str:
    """Write MANIFEST and MANIFEST.sha256 (the form `sha256sum -c` reads); the hash."""
    text = manifest.to_text()
    (folder / MANIFEST).write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    (folder / MANIFEST_HASH).write_text(f"{digest}  {MANIFEST}\n", encoding="utf-8")
    return digest


def problems(folder: Path, manifest: Manifest) -> list[str]:
    """What differs between the folder and its manifest: changed, missing, extra files."""
    expected = {e.path: e for e in manifest.carried}
    found = {
        p.relative_to(folder).as_posix(): p
        for p in files_under(folder)
        if p.relative_to(folder).as_posix() not in (MANIFEST, MANIFEST_HASH)
    }
    out = []
    for name, entry in sorted(expected.items()):
        path = found.get(name)
        if path is None:
            out.append(f"missing: {name}")
        elif path.is_symlink() or path.stat().st_size != entry.size:
            out.append(f"changed: {name} (size {path.lstat().st_size}, listed {entry.size})")
        elif sha256_of(path) != entry.sha256:
            out.append(f"changed: {name} (its SHA-256 is not the one listed)")
    out += [f"extra: {name} (not in the manifest)" for name in sorted(set(found) - set(expected))]
    return out


def check_bundle(folder: Path) -> tuple[Manifest, str]:
    """The bundle's manifest and its SHA-256, or BundleError naming every bad file."""
    try:
        recorded = (folder / MANIFEST_HASH).read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError) as exc:
        raise BundleError(
            f"{folder / MANIFEST_HASH} is missing or empty: the bundle is incomplete. "
            "Copy the whole bundle folder again."
        ) from exc
    manifest = Manifest.read(folder)
    digest = sha256_of(folder / MANIFEST)
    if digest != recorded:
        raise BundleError(
            f"{folder / MANIFEST} does not match {MANIFEST_HASH} (SHA-256 {digest}): the "
            "manifest was changed. Nothing was installed; copy the bundle again."
        )
    bad = problems(folder, manifest)
    if bad:
        listed = "\n  ".join(bad)
        raise BundleError(
            f"The bundle in {folder} does not match its MANIFEST; nothing was installed.\n"
            f"  {listed}\nCopy the bundle again from the original and compare "
            "`sha256sum MANIFEST` with the hash read out by whoever built it."
        )
    return manifest, digest


def check_target(target: Path, manifest: Manifest) -> None:
    """Refuse a target that holds something else, that an update does not fit, or that
    has no room; say what to do."""
    installed = target / INSTALLED
    if manifest.kind == "update":
        if not installed.exists():
            raise BundleError(
                f"{target} holds no installation of the assistant, and this is an update "
                "bundle: install the full bundle first, then apply updates in order."
            )
        have = sha256_of(installed)
        if have != manifest.base:
            raise BundleError(
                f"This update applies to the installation made from the bundle with manifest "
                f"{manifest.base[:16]}…, but {target} was installed from {have[:16]}…. "
                "Apply the updates in the order they were built (or install a full bundle)."
            )
    elif target.exists() and not installed.parent.is_dir():  # `.bundle/`: an installation
        if not target.is_dir():
            raise BundleError(f"{target} is a file: give a new or empty folder as TARGET.")
        others = sorted(p.name for p in target.iterdir())
        if others:
            raise BundleError(
                f"{target} already holds other files ({', '.join(others[:5])}"
                f"{', …' if len(others) > 5 else ''}): choose a new or empty folder, or the "
                "folder of an earlier installation of the assistant."
            )
    wheels = sum(e.size for e in manifest.carried if e.path.startswith("wheels/"))
    rest = sum(e.size for e in manifest.carried) - wheels
    needed = int(wheels * WHEEL_GROWTH) + rest + MARGIN
    existing = next(p for p in (target, *target.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if free < needed:
        raise BundleError(
            f"Not enough space for {target}: {free / 1e9:.2f} GB free on that disk, about "
            f"{needed / 1e9:.2f} GB needed. Free some space or choose a TARGET on another disk."
        )


def main(argv: list[str]) -> int:
    """`python3.11 check_bundle.py BUNDLE TARGET`: exit 0 when both may be used."""
    if len(argv) != 2:
        print("usage: check_bundle.py BUNDLE TARGET", file=sys.stderr)
        return 2
    bundle, target = Path(argv[0]).resolve(), Path(os.path.abspath(argv[1]))
    try:
        manifest, digest = check_bundle(bundle)
        check_target(target, manifest)
    except BundleError as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return 1
    print(
        f"== the bundle matches its MANIFEST ({len(manifest.carried)} files, "
        f"manifest SHA-256 {digest})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
