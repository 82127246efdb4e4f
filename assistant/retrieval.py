"""Retrieval: hybrid dense (FAISS) and keyword (BM25) search fused by reciprocal rank.

Dense search with all-MiniLM-L6-v2 finds paraphrases but misses exact names and
abbreviations; BM25 finds those. The two rankings are fused by weighted reciprocal rank
fusion, score(c) = sum over rankings r of w_r / (rrf_k + rank_r(c)), ranks from 1.

Abbreviations the corpus never writes ("MoJ") are expanded before searching, from the
capitalised phrases the corpus does contain ("Ministry of Justice"): a query word in
capitals is matched against the initials of those phrases.

Not done here: re-ranking with a cross-encoder (none ships offline).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .chunking import Chunk, embedding_text
from .embedding import Embedder
from .settings import RetrievalSettings
from .store import DocumentRecord, StoredIndex

# Within one line, not opening with a sentence's "The": "The Ministry of Justice" gives
# "Ministry of Justice".
_PHRASE = re.compile(
    r"\b(?!(?:The|A|An|And|In|On|Of|For|To)\b)[A-Z][a-z]+"
    r"(?:[ \t]+(?:(?:of|for|and|the|on|in|to)[ \t]+){0,2}[A-Z][a-z]+)+"
)
_CONNECTORS = {"of", "for", "and", "the", "on", "in", "to"}


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    document: DocumentRecord
    score: float
    dense_rank: int | None
    bm25_rank: int | None


def rrf_fuse(
    rankings: Sequence[Sequence[int]], weights: Sequence[float], k: int
) -> list[tuple[int, float]]:
    """Fuse rankings (lists of item ids, best first) into [(id, score)], best first.

    Ties keep the order of first appearance, scanning the rankings in turn.
    """
    scores: dict[int, float] = {}
    order: dict[int, int] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            order.setdefault(item, len(order))
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))


_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not of off on once only or other
    our ours ourselves out over own same say said says she should so some such than that the
    their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves according document documents report paper tell""".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-case words and numbers ("2,500" stays one token), English stop words dropped."""
    words = re.findall(r"[a-z0-9]+(?:[.,'’-][a-z0-9]+)*", text.lower())
    return [w for w in words if w not in _STOPWORDS]


# Below this many vectors one FAISS thread searches as fast as several (11.4 against 11.8 ms
# at the default corpus on an idle 2-core machine) and stays fast when llama.cpp holds the
# other core, where two OpenMP threads took 552 ms instead of 32 (`assistant bench`).
ONE_THREAD_BELOW = 100_000


class Retriever:
    def __init__(self, index: StoredIndex, embedder: Embedder, settings: RetrievalSettings):
        import bm25s

        self.index = index
        self.embedder = embedder
        self.settings = settings
        large = index.faiss_index.ntotal >= ONE_THREAD_BELOW
        self.faiss_threads = max(1, os.cpu_count() or 1) if large else 1
        titles = {doc_id: d.title for doc_id, d in index.manifest.documents.items()}
        texts = [embedding_text(c, titles.get(c.doc_id, "")) for c in index.chunks]
        self.bm25 = bm25s.BM25()
        self._empty = not texts
        if texts:
            self.bm25.index([tokenize(t) for t in texts], show_progress=False)
        self.abbreviations = _abbreviations(texts)

    def expand(self, query: str) -> str:
        """The query with the phrases behind abbreviations the corpus does not use."""
        extra = [
            self.abbreviations[word.lower()]
            for word in re.findall(r"\b[A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z]*\b", query)
            if word.lower() in self.abbreviations
        ]
        return f"{query} ({'; '.join(extra)})" if extra else query

    def search(self, query: str, top_k: int | None = None) -> list[Hit]:
        import faiss  # loaded with the index already; imported here to keep the CLI start quick

        if self._empty:
            return []
        top_k = top_k or self.settings.top_k
        query = self.expand(query)
        n = min(self.settings.candidates, len(self.index.chunks))
        vector = self.embedder.embed([query]).astype(np.float32)
        faiss.omp_set_num_threads(self.faiss_threads)
        _, dense_ids = self.index.faiss_index.search(vector, n)
        dense = [int(i) for i in dense_ids[0] if i >= 0]
        keyword = self._bm25(query, n)
        fused = rrf_fuse(
            [dense, keyword],
            [self.settings.dense_weight, self.settings.bm25_weight],
            self.settings.rrf_k,
        )
        dense_rank = {item: r for r, item in enumerate(dense, start=1)}
        bm25_rank = {item: r for r, item in enumerate(keyword, start=1)}
        hits: list[Hit] = []
        per_document: dict[str, int] = {}
        for item, score in fused:
            if len(hits) == top_k:
                break
            chunk = self.index.chunks[item]
            if per_document.get(chunk.doc_id, 0) >= self.settings.max_per_document:
                continue  # leave room for other documents (comparisons need them)
            per_document[chunk.doc_id] = per_document.get(chunk.doc_id, 0) + 1
            hits.append(
                Hit(
                    chunk=chunk,
                    document=self.index.manifest.documents[chunk.doc_id],
                    score=round(score, 6),
                    dense_rank=dense_rank.get(item),
                    bm25_rank=bm25_rank.get(item),
                )
            )
        return hits

    def _bm25(self, query: str, n: int) -> list[int]:
        tokens = tokenize(query)
        if not tokens:
            return []
        ids, scores = self.bm25.retrieve([tokens], k=n, show_progress=False, n_threads=1)
        return [int(i) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]


def _abbreviations(texts: list[str]) -> dict[str, str]:
    """{initials in lower case: phrase} for capitalised phrases whose initials never
    appear as a word in the corpus, e.g. {"moj": "Ministry of Justice"}."""
    words = {w.lower() for t in texts for w in re.findall(r"\b\w+\b", t)}
    found: dict[str, str] = {}
    for text in texts:
        for phrase in _PHRASE.findall(text):
            parts = phrase.split()
            capitals = "".join(p[0] for p in parts if p not in _CONNECTORS)
            with_connectors = "".join(p[0] for p in parts)
            for initials in {capitals.lower(), with_connectors.lower()}:
                if len(initials) >= 2 and initials not in words:
                    found.setdefault(initials, phrase)
    return found
