"""The embedder as an ONNX graph: a search's one query vector without torch.

A question needs one vector, but the library that makes it (sentence-transformers, hence
transformers and torch) takes seven seconds to import on two cores, the largest part of a
cold `assistant ask`. The same all-MiniLM-L6-v2 weights, exported once to an ONNX graph
and run by onnxruntime with the `tokenizers` library, give the same vectors (cosine
0.9999999 and above on every gold question and every chunk of the default corpus) after
0.4 s of loading. Bulk embedding (indexing) stays with sentence-transformers.

The graph is made here from the installed weights, never fetched: `export` writes it
beside the GGUF models with a record of the SHA-256 of the weights it came from and of
itself, and refuses to write a graph whose vectors differ from sentence-transformers' on
check sentences. `QueryGraph.load` uses a graph only while both hashes still hold (the
hashes are cached by size and modification time, as for the models); otherwise the
caller falls back to sentence-transformers and exports again.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

GRAPH_FILE = "all-minilm-l6-v2.onnx"
RECORD_FILE = "all-minilm-l6-v2.json"
WEIGHTS_FILE = "model.safetensors"
# Sentences the exported graph must embed as sentence-transformers does before it is kept.
CHECK_TEXTS = (
    "How many Ministry of Justice staff will get access to AI tools?",
    "Openness enables scrutiny, competition and national capability in artificial "
    "intelligence, and a strategy should say how it will be measured.",
    "AI",
)
SAME_VECTOR = 0.9999  # least cosine between the graph's vector and sentence-transformers'


def max_tokens(model_dir: Path) -> int:
    """The word pieces the model embeds of a text (sentence-transformers' max_seq_length)."""
    config = json.loads((model_dir / "sentence_bert_config.json").read_text())
    return int(config["max_seq_length"])


class QueryGraph:
    """Mean-pooled, L2-normalised vectors from the ONNX graph, on one thread."""

    def __init__(self, graph: Path, model_dir: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens(model_dir))
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text
        options = onnxruntime.SessionOptions()
        # one text at a time: a second thread only waits on the first (embedding.QUERY_TEXTS)
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )

    @classmethod
    def load(cls, folder: Path, model_dir: Path) -> QueryGraph | None:
        """The graph in `folder` when it is there and still what `export` wrote from the
        installed weights; None otherwise."""
        if problem(folder, model_dir) is not None:
            return None
        try:
            return cls(folder / GRAPH_FILE, model_dir)
        except (OSError, RuntimeError, ValueError):  # not a graph onnxruntime runs
            return None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        types = np.array([e.type_ids for e in encoded], dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self.session.run(None, inputs)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def problem(folder: Path, model_dir: Path) -> str | None:
    """Why the graph in `folder` cannot be used for the weights in `model_dir`, or None."""
    record = _record(folder)
    graph = folder / GRAPH_FILE
    if record is None or not graph.is_file():
        return f"no query graph in {folder} yet (`assistant index` makes it)"
    from ..generation.catalog import ModelStore

    store = ModelStore(folder)
    try:
        if store.file_hash(graph) != record.get("graph"):
            return f"{graph} changed since it was made (`assistant index` makes it again)"
        if store.file_hash(model_dir / WEIGHTS_FILE) != record.get("weights"):
            return f"{graph} was made from other weights (`assistant index` makes it again)"
    except OSError as exc:
        return f"{graph} cannot be read: {exc}"
    return None


def _record(folder: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((folder / RECORD_FILE).read_text()))
    except (OSError, ValueError):
        return None


def export(model: Any, model_dir: Path, folder: Path) -> QueryGraph:
    """Write the graph of a loaded SentenceTransformer into `folder`, checked against it on
    CHECK_TEXTS, with its record; the graph, or ValueError when it embeds differently
    (nothing is then left behind)."""
    import torch

    from ..generation.catalog import ModelStore

    class Encoder(torch.nn.Module):  # the transformer's token vectors; pooling is numpy's
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{GRAPH_FILE}.{os.getpid()}.partial"  # two exporters never share one
    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.ones(2, 8, dtype=torch.long)
    axes = {name: {0: "texts", 1: "pieces"} for name in [*names, "hidden"]}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on ops it handles
            torch.onnx.export(
                Encoder(model[0].auto_model).eval(),
                (sample, torch.ones_like(sample), torch.zeros_like(sample)),
                str(partial),
                input_names=names,
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        graph = QueryGraph(partial, model_dir)
        expected = model.encode(list(CHECK_TEXTS), normalize_embeddings=True)
        cosine = (graph.embed(CHECK_TEXTS) * expected).sum(axis=1)
        if float(cosine.min()) < SAME_VECTOR:
            raise ValueError(
                f"the exported graph embeds differently (cosine {float(cosine.min()):.6f})"
            )
        os.replace(partial, folder / GRAPH_FILE)
    finally:
        partial.unlink(missing_ok=True)
    store = ModelStore(folder)
    record = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "weights": store.file_hash(model_dir / WEIGHTS_FILE),
        "graph": store.file_hash(folder / GRAPH_FILE),
        "torch": torch.__version__,
        "opset": 17,
    }
    written = folder / f"{RECORD_FILE}.{os.getpid()}.partial"
    written.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(written, folder / RECORD_FILE)
    return QueryGraph(folder / GRAPH_FILE, model_dir)
