"""Lay a checked bundle out in a target folder, as a checkout is laid out, once its wheels
are installed: `install.sh` runs this with the target's own Python.

It copies the models, the documents and the index the bundle carries (a document the
user added to `corpus/`, and everything in `data/`, is left alone), writes the bundle's
`assistant.toml` only where the target has none, and verifies each carried catalogue
model's SHA-256 against the catalogue. Building the index, the doctor and recording the
installed MANIFEST are `install.sh`'s steps after this one.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ..errors import AssistantError
from ..generation.catalog import CATALOG, ModelStore
from .manifest import BundleError, Manifest

LAID_OUT = ("models/", "corpus/", "index/")


def lay_out(bundle: Path, target: Path) -> list[str]:
    """Copy what the bundle carries into `target`; the lines to tell the person."""
    manifest = Manifest.read(bundle)
    told = []
    for entry in manifest.carried:
        source, destination = bundle / entry.path, target / entry.path
        if entry.path.startswith(LAID_OUT):
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
        elif entry.path == "assistant.toml":
            if destination.exists():
                told.append(f"kept your {destination} (the bundle's is in {source})")
            else:
                shutil.copyfile(source, destination)
    (target / "data").mkdir(exist_ok=True)
    store = ModelStore(target / "models")
    for model in CATALOG.values():
        if any(e.path == f"models/{model.file}" for e in manifest.carried):
            resolved = store.resolve(model.name)  # raises on a wrong SHA-256
            told.append(f"model {model.name}: {resolved.path} (SHA-256 matches the catalogue)")
    documents = sum(1 for e in manifest.carried if e.path.startswith("corpus/"))
    told.append(f"{documents} files into {target / 'corpus'}; data/ and your own documents kept")
    return told


def main(argv: list[str]) -> int:
    bundle, target = Path(argv[0]), Path(argv[1])
    try:
        for line in lay_out(bundle, target):
            print(f"   {line}")
    except (AssistantError, BundleError, OSError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
