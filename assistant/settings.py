"""All settings in one place: defaults, then `assistant.toml`, then `ASSISTANT_*` variables.

Nested by pipeline stage. A nested field is set from the environment with a double
underscore, e.g. `ASSISTANT_RETRIEVAL__TOP_K=8`, and in `assistant.toml` under its table:

    [retrieval]
    top_k = 8

Settings are built once by the entry point (`Settings.load()`) and passed down; nothing
reads them at import time. Relative paths are resolved against the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_MODEL = "qwen2.5-coder-1.5b"


class PathSettings(BaseModel):
    corpus_dir: Path = Field(Path("corpus"), description="Folder of documents to index.")
    index_dir: Path = Field(Path("index"), description="Folder holding the built index.")
    models_dir: Path = Field(Path("models"), description="Folder of GGUF model files.")
    data_dir: Path = Field(Path("data"), description="Folder for logs and exports.")


class DocumentSettings(BaseModel):
    max_document_mb: int = Field(100, description="Largest file the indexer reads.")


class ChunkingSettings(BaseModel):
    chunk_tokens: int = Field(200, description="Chunk size in embedder word pieces (max 256).")
    overlap_tokens: int = Field(30, description="Overlap between neighbouring chunks.")
    min_chunk_chars: int = Field(40, description="Drop chunks shorter than this (page furniture).")


class EmbeddingSettings(BaseModel):
    batch_size: int = Field(32, description="Texts per embedding batch.")


class RetrievalSettings(BaseModel):
    top_k: int = Field(
        6,
        description="Passages given to the model (fewer start the answer sooner but miss "
        "the second document of multi-part questions; `assistant bench --sweep`).",
    )
    passage_tokens: int = Field(
        0,
        description="Most tokens of each passage given to the model: its sentences that "
        "best match the question, in order (0: whole passages). The prompt is what the first "
        "word waits for (`assistant bench --sweep-part focus`).",
    )
    candidates: int = Field(100, description="Candidates taken from each of dense and BM25.")
    max_per_document: int = Field(4, description="Most passages taken from one document.")
    named_seats: int = Field(
        3,
        description="Passages kept for each document the question names (by publisher or "
        "title), so that a comparison sees both sides.",
    )
    champions: int = Field(
        1,
        description="Best passages of the dense and of the BM25 ranking, and of each named "
        "document's own, given even when the fusion ranks them lower (0: none; see README).",
    )
    champion_places: int = Field(
        1,
        description="Places of the top_k passages that such passages may take, from the "
        "fusion's last picks (0: they are given beyond top_k instead, at most half of it).",
    )
    skip_furniture: bool = Field(
        True,
        description='Leave a publisher\'s furniture (licence, imprint, "About us") out of the '
        "search unless the question asks about the publication itself (see README).",
    )
    rrf_k: int = Field(20, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(1.0, description="Weight of the dense ranking in the fusion.")
    bm25_weight: float = Field(1.5, description="Weight of the BM25 ranking in the fusion.")
    compare_top_k: int = Field(
        4, description="Passages given for each document's row of a comparison table."
    )


class GenerationSettings(BaseModel):
    model: str = Field(
        DEFAULT_MODEL, description="Catalogue name of the model, or a path to any GGUF file."
    )
    n_ctx: int = Field(4096, description="Context window in tokens.")
    n_threads: int = Field(
        default_factory=lambda: physical_cores(),
        description="Threads writing the answer (memory-bound: one per physical core).",
    )
    n_threads_batch: int = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1),
        description="Threads reading the prompt (compute-bound: every logical core).",
    )
    n_batch: int = Field(512, description="Prompt tokens evaluated per batch.")
    use_mmap: bool = Field(
        False,
        description="Map the model file instead of reading it: loads 0.4 s sooner but "
        "holds the file's pages beside llama.cpp's repacked copy of the weights (+0.6 GB RSS "
        "for the 1.5B model, `assistant bench`).",
    )
    max_tokens: int = Field(384, description="Most tokens in one answer.")
    compare_max_tokens: int = Field(
        120, description="Most tokens in one document's row of a comparison table."
    )
    temperature: float = Field(0.0, description="Sampling temperature (0 = greedy).")
    seed: int = Field(42, description="Sampling seed, for reproducible answers.")
    history_turns: int = Field(3, description="Earlier turns of a conversation kept in the prompt.")
    verify: bool = Field(
        True,
        description="Let the local model confirm sentences the lexical check rejects "
        "or that state a stance, before they are shown (about 1-2 s per sentence asked).",
    )
    backend: Literal["local", "openai"] = Field(
        "local", description="local: llama.cpp in-process; openai: an OpenAI-compatible server."
    )
    base_url: str = Field(
        "http://127.0.0.1:8080/v1", description="The server's API root (backend openai)."
    )
    api_key: str = Field("", description="Bearer token for the server, if it wants one.")
    remote_model: str = Field("", description="Model name sent to the server (empty: its first).")
    remote_gguf: str = Field(
        "", description="Catalogue name or path of the GGUF the server runs, hashed for the record."
    )
    timeout_s: float = Field(120.0, description="Seconds to wait for the server.")
    concurrency: int = Field(
        4,
        description="Answers generated at once with a model server (backend openai; the "
        "in-process model answers one at a time).",
    )


def physical_cores() -> int:
    """Physical cores (hyperthreads share one core's memory bandwidth), else all logical ones."""
    import psutil

    return psutil.cpu_count(logical=False) or max(1, os.cpu_count() or 1)


class UISettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address the chat UI binds to.")
    port: int = Field(7860, description="Port of the chat UI.")
    max_waiting: int = Field(
        8,
        description="Questions that may wait for the model at once; beyond, a question is "
        "refused (HTTP 503 with Retry-After) rather than kept waiting.",
    )
    max_upload_mb: int = Field(50, description="Largest document accepted by upload.")
    watch_corpus: bool = Field(
        True,
        description="Index files added, changed or removed in the corpus folder while it runs.",
    )


class AuditSettings(BaseModel):
    enabled: bool = Field(True, description="Append a provenance record of every answer.")
    log_file: str = Field("audit.jsonl", description="Audit log file, inside paths.data_dir.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
    )

    paths: PathSettings = Field(default_factory=lambda: PathSettings())
    documents: DocumentSettings = Field(default_factory=lambda: DocumentSettings())
    chunking: ChunkingSettings = Field(default_factory=lambda: ChunkingSettings())
    embedding: EmbeddingSettings = Field(default_factory=lambda: EmbeddingSettings())
    retrieval: RetrievalSettings = Field(default_factory=lambda: RetrievalSettings())
    generation: GenerationSettings = Field(default_factory=lambda: GenerationSettings())
    ui: UISettings = Field(default_factory=lambda: UISettings())
    audit: AuditSettings = Field(default_factory=lambda: AuditSettings())

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("ASSISTANT_CONFIG", "assistant.toml")
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build the settings; `overrides` are nested dicts, e.g. generation={"model": p}."""
        return cls(**overrides)

    def with_overrides(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some fields of some sections replaced (for CLI flags and tests)."""
        data = self.model_dump()
        for section, values in sections.items():
            data[section].update({k: v for k, v in values.items() if v is not None})
        return Settings.model_validate(data)
