"""Retrieval at sizes the shipped corpus does not reach: synthetic vectors and documents.

The vectors are clustered, shaped like the corpus's own embeddings: a direction all of
them share (one subject), a direction per topic, and noise, weighted so that the mean
cosine of two unrelated vectors and of a vector and its 10th nearest neighbour match the
ones measured on the indexed corpus (`corpus_shape`; the default corpus: 0.64 and 0.81).
Uniformly random vectors would have no neighbours worth finding and make every
approximate index look bad; an earlier version of this generator, with neighbours at
cosine 0.31 and unrelated vectors at 0, got IVF1000 recall@10 of 0.55 at 1M vectors.
Queries are perturbed copies of stored vectors. The documents for BM25 draw words from a
Zipf vocabulary.

Measured: flat search (exact) against an IVF index (approximate; recall@10 against the
flat result), each query alone as in the product; build time and memory of each index.
BM25 is measured only where its build stays in seconds (`bm25_limit` documents).
Not done: HNSW (its build takes minutes at 1M vectors on two cores).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..answering.retrieval import rrf_fuse
from .results import (
    FlatSearch,
    HybridSearch,
    IvfSearch,
    LatencySummary,
    Probe,
    Shape,
    SyntheticSize,
)

DIM = 384
DEFAULT_SHAPE = Shape()  # the default corpus's
CANDIDATES = 100  # what the product takes from each ranking before fusing


def corpus_shape(vectors: np.ndarray, k: int = 10) -> Shape:
    """The shape of a set of unit vectors (at least k + 1 of them)."""
    similar = vectors @ vectors.T
    np.fill_diagonal(similar, -np.inf)
    tenth = -np.sort(-similar, axis=1)[:, k - 1]
    pairs = similar[np.triu_indices(len(vectors), 1)]
    return Shape(round(float(pairs.mean()), 3), round(float(tenth.mean()), 3))


def clustered_vectors(
    n: int, clusters: int, seed: int = 0, block: int = 100_000, shape: Shape = DEFAULT_SHAPE
) -> np.ndarray:
    """n unit vectors around `clusters` topics, built in blocks to bound memory."""
    shared = max(0.0, min(shape.unrelated, 0.98))
    topical = max(0.01, min(shape.neighbour, 0.99) - shared)
    noise = max(0.01, 1.0 - shared - topical)
    rng = np.random.default_rng(seed)
    common = math.sqrt(shared) * rng.standard_normal(DIM).astype(np.float32)
    centres = common + math.sqrt(topical) * rng.standard_normal((clusters, DIM)).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for begin in range(0, n, block):
        size = min(block, n - begin)
        rows = centres[rng.integers(clusters, size=size)]
        rows += math.sqrt(noise) * rng.standard_normal((size, DIM), dtype=np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        out[begin : begin + size] = rows
    return out


def queries_near(vectors: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picked = vectors[rng.choice(len(vectors), size=n, replace=False)].copy()
    picked += 0.3 * rng.standard_normal(picked.shape, dtype=np.float32) / math.sqrt(DIM)
    return picked / np.linalg.norm(picked, axis=1, keepdims=True)


def zipf_documents(
    n: int, vocabulary: int = 20_000, words: int = 60, seed: int = 2
) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    ids = np.minimum(rng.zipf(1.2, size=(n, words)), vocabulary) - 1
    return [[f"w{i}" for i in row] for row in ids]


def timed(run: Callable[[int], Any], n: int) -> tuple[list[float], list[Any]]:
    seconds, results = [], []
    for i in range(n):
        started = time.perf_counter()
        results.append(run(i))
        seconds.append(time.perf_counter() - started)
    return seconds, results


def index_bytes(index: Any) -> int:
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def bm25_bytes(bm25: Any) -> int:
    return int(sum(getattr(a, "nbytes", 0) for a in (getattr(bm25, "scores", None) or {}).values()))


def measure_size(
    n: int, queries: int, bm25_limit: int, threads: int, shape: Shape = DEFAULT_SHAPE
) -> SyntheticSize:
    """Flat and IVF search (and BM25 with fusion, up to `bm25_limit` documents) over n vectors."""
    import faiss

    faiss.omp_set_num_threads(threads)
    vectors = clustered_vectors(n, clusters=max(64, n // 20), shape=shape)
    asked = queries_near(vectors, queries)

    started = time.perf_counter()
    flat = faiss.IndexFlatIP(DIM)
    flat.add(vectors)
    flat_build_s = round(time.perf_counter() - started, 2)
    seconds, exact = timed(lambda i: flat.search(asked[i : i + 1], CANDIDATES)[1][0], queries)
    flat_search = FlatSearch(
        build_s=flat_build_s, bytes=index_bytes(flat), latency=LatencySummary.of(seconds)
    )

    nlist = max(16, min(4096, int(math.sqrt(n))))
    started = time.perf_counter()
    quantizer = faiss.IndexFlatIP(DIM)
    ivf = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors[np.random.default_rng(3).choice(n, min(n, 64 * nlist), replace=False)])
    ivf.add(vectors)
    ivf_build_s = round(time.perf_counter() - started, 2)
    probes = []
    for nprobe in (8, 32, 128, 256):
        ivf.nprobe = nprobe
        seconds, found = timed(lambda i: ivf.search(asked[i : i + 1], CANDIDATES)[1][0], queries)
        recall = np.mean(
            [len(set(f[:10]) & set(e[:10])) / 10 for f, e in zip(found, exact, strict=True)]
        )
        probes.append(
            Probe(
                nprobe=nprobe,
                recall_at_10=round(float(recall), 4),
                latency=LatencySummary.of(seconds),
            )
        )
    ivf_search = IvfSearch(
        nlist=nlist, build_s=ivf_build_s, bytes=index_bytes(ivf), by_nprobe=probes
    )
    del vectors
    return SyntheticSize(
        vectors=n,
        queries=queries,
        dim=DIM,
        flat=flat_search,
        ivf=ivf_search,
        # BM25 over more documents than the limit: see the module's note
        hybrid=_hybrid(n, asked, flat, ivf) if n <= bm25_limit else None,
    )


def _hybrid(n: int, asked: np.ndarray, flat: Any, ivf: Any) -> HybridSearch:
    """BM25 over n synthetic documents, and dense + BM25 + fusion as one search."""
    import bm25s

    documents = zipf_documents(n)
    started = time.perf_counter()
    bm25 = bm25s.BM25()
    bm25.index(documents, show_progress=False)
    build = time.perf_counter() - started
    rng = np.random.default_rng(4)
    texts = [list(rng.choice(documents[int(i)], size=6)) for i in rng.integers(n, size=len(asked))]

    def search(index: Any) -> Callable[[int], Any]:
        def run(i: int) -> Any:
            dense = index.search(asked[i : i + 1], CANDIDATES)[1][0]
            ids, _ = bm25.retrieve([texts[i]], k=CANDIDATES, show_progress=False, n_threads=1)
            return rrf_fuse([list(dense), list(ids[0])], [1.0, 1.5], 20)[:10]

        return run

    bm25_only, _ = timed(
        lambda i: bm25.retrieve([texts[i]], k=CANDIDATES, show_progress=False, n_threads=1),
        len(asked),
    )
    with_flat, _ = timed(search(flat), len(asked))
    with_ivf, _ = timed(search(ivf), len(asked))
    return HybridSearch(
        bm25_build_s=round(build, 2),
        bm25_bytes=bm25_bytes(bm25),
        bm25_latency=LatencySummary.of(bm25_only),
        hybrid_flat_latency=LatencySummary.of(with_flat),
        hybrid_ivf_latency=LatencySummary.of(with_ivf),
    )
