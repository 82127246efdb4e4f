"""Files as the product checks them: a file's SHA-256, read in blocks with progress.

`Progress` is the one progress callback of long steps (indexing, hashing a model,
fetching, evaluating): `progress(stage, done, total)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def file_sha256(path: Path, progress: Progress | None = None) -> str:
    """The hex SHA-256 of a file; `progress("hashing", bytes done, bytes in all)`."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(8 << 20), b""):
            digest.update(block)
            done += len(block)
            if progress:
                progress("hashing", done, total)
    return digest.hexdigest()
