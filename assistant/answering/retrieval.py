"""Retrieval: hybrid dense (FAISS) and keyword (BM25) search fused by reciprocal rank.

Dense search with all-MiniLM-L6-v2 finds paraphrases but misses exact names and
abbreviations; BM25 finds those. The two rankings are fused by weighted reciprocal rank
fusion, score(c) = sum over rankings r of w_r / (rrf_k + rank_r(c)), ranks from 1.

Abbreviations the corpus never writes ("MoJ") are expanded before searching, from the
capitalised phrases the corpus does contain ("Ministry of Justice"): a query word in
capitals is matched against the initials of those phrases.

A search can be limited to chosen documents (a scope): both FAISS (an id selector) and
BM25 (a weight mask) then rank only those documents' passages, so a small document is not
starved by a global top-k filtered afterwards.

A publisher's furniture (a licence, the imprint, "About Demos") is found only for a question
about the publication itself (its licence, copyright, publisher, how to reach them): its
passages name the publisher in every line, so "Is Demos worried that open models are
unsafe?" found four of them and the answer quoted "Demos is a champion of people, ideas
and democracy".

Not done here: re-ranking with a cross-encoder (none ships offline).
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ingest.chunking import Chunk, embedding_text
from ..ingest.embedding import Embedder
from ..ingest.store import DocumentRecord, StoredIndex
from ..settings import RetrievalSettings
from .words import (
    CONNECTORS,
    PHRASE,
    countries_named,
    country_forms,
    phrase_initials,
    tokenize,
)


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
        self.vocabulary = {w for t in texts for w in re.findall(r"[a-z]+", t.lower())}
        self.document_names = _document_names(index.manifest.documents)
        self.publishers = _publisher_names(index.manifest.documents)
        whole_titles = {  # a title whole and before its subtitle ("The Open Dividend")
            " ".join(part.split()).lower()
            for d in index.manifest.documents.values()
            for part in (d.title, re.split(r"[:—–]", d.title)[0])
            if part.strip()
        }
        self._about_named = _about_named(self.publishers | whole_titles)
        self.furniture = furniture(index.chunks)
        # one-word names a passage also writes as a common word ("Information", "Technology"
        # of a publisher's name: "information", "technology"): `named_documents(proper=True)`
        lower = {  # not in an address: "hello@demos.co.uk", "sovereign-ai.org/shrier"
            w
            for c in index.chunks
            for w in re.findall(
                r"\b[a-z]+\b", re.sub(r"\S*(?:[@/]|\.(?:org|com|uk)\b)\S*", " ", c.passage)
            )
        }
        self._common_names = {
            name for name in self.document_names if " " not in name and name.lower() in lower
        }

    def about_publication(self, question: str) -> bool:
        """Whether `question` asks about a publication itself (its licence, copyright,
        publisher, how to reach them, "Who are Demos?"), which its furniture answers,
        rather than about what it says."""
        if _ABOUT_PUBLICATION.search(question):
            return True
        lower = " ".join(question.lower().split())
        if (bare := _WHO_IS.match(lower)) and bare.group(1) in self.publishers:
            return True
        return self._about_named.search(lower) is not None

    def _asks_about_publication(self, query: str, asked: str | None) -> bool:
        """`about_publication` of the question as asked; of the text searched where the
        question has no words of its own beyond document names ("And the ITIF paper?"
        after "What licence is the Demos paper under?")."""
        if asked is None or (query != asked and not tokenize(self.without_names(asked))):
            return self.about_publication(query)
        return self.about_publication(asked)

    def expand(self, query: str) -> str:
        """The query with the phrases behind abbreviations the corpus does not use, and
        with the other spelling of a word the corpus spells only the other way
        ("localisation" for a corpus that writes "localization", and back), and with a
        country named in full as the corpus abbreviates it ("Britain": "UK")."""
        extra = [
            self.abbreviations[word.lower()]
            for word in re.findall(r"\b[A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z]*\b", query)
            if word.lower() in self.abbreviations
        ]
        for word in dict.fromkeys(re.findall(r"[a-z]+", query.lower())):
            other = other_spelling(word)
            if other and word not in self.vocabulary and other in self.vocabulary:
                extra.append(other)
        for code, written in countries_named(query).items():  # "Britain" is "the UK" here
            if written.replace(".", "").isupper():
                continue  # "UK", "U.S.": as documents write them
            seen = set(tokenize(re.sub(r"['’]s\b", "", query)))
            for form in country_forms(code):  # as abbreviated: a long name's words mislead
                words = tokenize(form)
                if form.isupper() and not set(words) & seen and set(words) <= self.vocabulary:
                    extra.append(form)
                    seen |= set(words)
        return f"{query} ({'; '.join(extra)})" if extra else query

    def search(
        self,
        query: str,
        top_k: int | None = None,
        documents: Collection[str] | None = None,
        asked: str | None = None,
    ) -> list[Hit]:
        """The best passages for `query`; with `documents` (doc ids), only theirs.
        `asked` is the question as asked, where `query` carries more (a follow-up's
        search carries the question before it): whether it is about the publication
        itself decides whether the publisher's furniture is searched."""
        if self._empty:
            return []
        top_k = top_k or self.settings.top_k
        skip = (
            self.furniture
            if self.settings.skip_furniture and not self._asks_about_publication(query, asked)
            else frozenset()
        )
        query = self.expand(query)
        scope = self._scope(documents)
        if scope is not None and len(scope) == 0:
            return []
        fused, dense, keyword = self._ranked(query, scope, skip=skip)
        dense_rank = {item: r for r, item in enumerate(dense, start=1)}
        bm25_rank = {item: r for r, item in enumerate(keyword, start=1)}
        named = self.named_documents(query)
        if documents is not None:
            named &= set(documents)
        bare = self.without_names(query) if named else ""
        champions = self.settings.champions > 0
        # each named document searched on its own, for what is asked without the names:
        # in the whole index "ITIF and Demos" pulls both publishers' boilerplate, and one
        # side's wording crowds out the other's passage
        searched = bare and (len(named) >= 2 or champions)
        vector = self._vector(bare) if searched else None  # embedded once for every search
        own = (
            {d: self._ranked(bare, self._scope([d]), vector, skip) for d in sorted(named)}
            if searched
            else {}
        )
        seats = {doc_id: ranked[0] for doc_id, ranked in own.items()} if len(named) >= 2 else {}
        chosen = self._choose(fused, top_k, named, documents, seats)
        if champions:
            if bare:
                # a document's name is its boilerplate's best match ("Demos is a champion
                # of people, ideas and democracy"), not the passage on the question
                _, dense, keyword = self._ranked(bare, scope, vector, skip)
            # and each named document's own best: within it the embedder's first is often
            # the passage, where the whole index has closer wording elsewhere
            rankings = [(dense, keyword)] + [(d, k) for _, d, k in own.values()]
            places = self.settings.champion_places
            extra = self._champions(chosen, fused, rankings, limit=places or max(1, top_k // 2))
            if places:  # in the places of the fusion's last picks: the prompt does not grow
                chosen, extra = _make_room(chosen, extra, self._doc_of, named)
            chosen += extra
            chosen.sort(key=lambda pair: -pair[1])
        return [
            Hit(
                chunk=self.index.chunks[item],
                document=self.index.manifest.documents[self.index.chunks[item].doc_id],
                score=round(score, 6),
                dense_rank=dense_rank.get(item),
                bm25_rank=bm25_rank.get(item),
            )
            for item, score in chosen
        ]

    def _champions(
        self,
        chosen: Sequence[tuple[int, float]],
        fused: Sequence[tuple[int, float]],
        rankings: Sequence[tuple[Sequence[int], Sequence[int]]],
        limit: int,
    ) -> list[tuple[int, float]]:
        """The best passages of each (dense, keyword) pair of `rankings` that the fusion
        left out, at most `limit` of them. Fusion rewards a passage both rankings place
        fairly high over one that a single ranking is sure of: the only passage naming
        "Jonny Williams" (BM25's first) fell to eighth because the embedder ranked it
        nowhere, and the passage the embedder ranked first for "which two definitions of
        AI sovereignty does ITIF distinguish" to eleventh. A question worded unlike its
        document is the embedder's alone: "Which bit of the US defence establishment does
        the Shrier paper point to ...?" is the embedder's second passage within that
        paper, and BM25's 32nd."""
        n = self.settings.champions
        taken = {item for item, _ in chosen}
        score = dict(fused)
        extra: list[tuple[int, float]] = []
        for dense, keyword in rankings:
            for item in (*dense[:n], *keyword[:n]):
                if item not in taken and len(extra) < limit:
                    taken.add(item)
                    extra.append((item, score.get(item, 0.0)))
        return extra

    def _doc_of(self, item: int) -> str:
        return self.index.chunks[item].doc_id

    def _vector(self, query: str) -> np.ndarray:
        return self.embedder.embed([query]).astype(np.float32)

    def _ranked(
        self,
        query: str,
        scope: np.ndarray | None,
        vector: np.ndarray | None = None,
        skip: Collection[int] = frozenset(),
    ) -> tuple[list[tuple[int, float]], list[int], list[int]]:
        """The fused ranking of `query` over `scope` (None: the whole index) less the
        passages in `skip`, with the dense and keyword rankings it came from; `vector` is
        the query's, if embedded."""
        import faiss  # loaded with the index already; imported here to keep the CLI start quick

        size = len(self.index.chunks) if scope is None else len(scope)
        out = np.array(sorted(skip), dtype=np.int64)
        if scope is not None and len(out):
            out = np.intersect1d(out, scope)
        if len(out) >= size:
            out = out[:0]  # all of it is furniture: searched as it is
        n = min(self.settings.candidates, size - len(out))
        vector = self._vector(query) if vector is None else vector
        faiss.omp_set_num_threads(self.faiss_threads)
        params = None
        selectors: list[Any] = []  # kept alive while the search runs
        if scope is not None:
            selectors.append(faiss.IDSelectorBatch(scope))
        if len(out):  # left out before the candidates are cut, not after
            selectors.append(faiss.IDSelectorBatch(out))
            selectors.append(faiss.IDSelectorNot(selectors[-1]))
            if scope is not None:
                selectors.append(faiss.IDSelectorAnd(selectors[0], selectors[-1]))
        if selectors:
            params = faiss.SearchParameters()
            params.sel = selectors[-1]
        _, dense_ids = self.index.faiss_index.search(vector, n, params=params)
        dense = [int(i) for i in dense_ids[0] if i >= 0]
        keyword = self._bm25(query, n, scope, out)
        fused = rrf_fuse(
            [dense, keyword],
            [self.settings.dense_weight, self.settings.bm25_weight],
            self.settings.rrf_k,
        )
        return fused, dense, keyword

    def _scope(self, documents: Collection[str] | None) -> np.ndarray | None:
        """The positions of the passages of `documents`, or None for the whole index."""
        if documents is None:
            return None
        wanted = set(documents)
        return np.array(
            [i for i, c in enumerate(self.index.chunks) if c.doc_id in wanted], dtype=np.int64
        )

    def named_documents(self, query: str, proper: bool = False) -> set[str]:
        """Documents the question names by publisher or title ("ITIF", "the Cambridge
        report", "The Open Dividend", "the MoJ digest"); with `proper`, not by a one-word
        name the passages also use as a common word ("Technology companies argue ...",
        "The Information Commissioner's Office ...")."""
        words = re.findall(r"[\w@&]+", query)
        named = set()
        for name, doc_id in self.document_names.items():
            if proper and name in self._common_names:
                continue
            if " " in name:
                if re.search(rf"\b{re.escape(name)}\b", query):
                    named.add(doc_id)
            elif name.isupper() and any(w.upper() == name for w in words if w[0].isupper()):
                named.add(doc_id)  # initials, written "MoJ" as often as "MOJ"
            elif name in words:
                named.add(doc_id)
        return named

    def without_names(self, query: str) -> str:
        """The query without the names of documents in it ("the Demos report" becomes "the
        report"): searching one document, a name matches its boilerplate (the publisher's
        "About Demos"), not the passage on the question."""
        for name in sorted(self.document_names, key=len, reverse=True):
            flags = re.I if name.isupper() and " " not in name else 0
            query = re.sub(rf"\b{re.escape(name)}(?:['’]s)?(?!\w)", " ", query, flags=flags)
        return " ".join(query.split())

    def _choose(
        self,
        fused: list[tuple[int, float]],
        top_k: int,
        named: set[str],
        documents: Collection[str] | None = None,
        rankings: Mapping[str, list[tuple[int, float]]] | None = None,
    ) -> list[tuple[int, float]]:
        """The best passages, at most `max_per_document` from one document, and each
        document the question names given `named_seats` of them first (a comparison of
        two documents needs both, even when one of them matches the wording better), from
        its own ranking in `rankings` where there is one. Within chosen `documents` the
        cap is at least an even share of `top_k`."""
        cap = self.settings.max_per_document
        if documents:
            cap = max(cap, math.ceil(top_k / len(set(documents))))
        chosen: list[tuple[int, float]] = []
        per_document: dict[str, int] = {}
        seats = min(self.settings.named_seats, top_k // max(1, len(named)))
        for doc_id in sorted(named):
            for item, score in (rankings or {}).get(doc_id, fused):
                if per_document.get(doc_id, 0) >= seats:
                    break
                if self.index.chunks[item].doc_id == doc_id:
                    chosen.append((item, score))
                    per_document[doc_id] = per_document.get(doc_id, 0) + 1
        taken = {item for item, _ in chosen}
        for item, score in fused:
            if len(chosen) >= top_k:
                break
            doc_id = self.index.chunks[item].doc_id
            if item in taken or per_document.get(doc_id, 0) >= cap:
                continue  # leave room for other documents (comparisons need them)
            per_document[doc_id] = per_document.get(doc_id, 0) + 1
            chosen.append((item, score))
        return sorted(chosen, key=lambda pair: -pair[1])[:top_k]

    def _bm25(
        self, query: str, n: int, scope: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> list[int]:
        """BM25's best `n` passages for `query` within `scope` (None: all), less `out`."""
        tokens = tokenize(query)
        if not tokens or n <= 0:
            return []
        mask = None
        if scope is not None:
            mask = np.zeros(len(self.index.chunks), dtype=np.float32)
            mask[scope] = 1.0
        if out is not None and len(out):
            mask = np.ones(len(self.index.chunks), dtype=np.float32) if mask is None else mask
            mask[out] = 0.0
        ids, scores = self.bm25.retrieve(
            [tokens], k=n, show_progress=False, n_threads=1, weight_mask=mask
        )
        return [int(i) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]


def _make_room(
    chosen: list[tuple[int, float]],
    extra: list[tuple[int, float]],
    doc_of: Callable[[int], str],
    named: set[str],
) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """`chosen` (best first) without as many of its last picks as there are `extra`, and
    the `extra` that take their places. Only picks from documents the question does not
    name give way: a comparison keeps every passage of both sides, and a question on one
    document keeps its passages as they were."""
    spare = [i for i in reversed(range(len(chosen))) if doc_of(chosen[i][0]) not in named]
    n = min(len(extra), len(spare))
    dropped = set(spare[:n])
    return [pick for i, pick in enumerate(chosen) if i not in dropped], extra[:n]


_SPELLING = re.compile(r"(?<=[a-z]{3})i([sz])(?=(?:e|ed|es|ing|ation|ations|er|ers)$)")


def other_spelling(word: str) -> str | None:
    """The British or American spelling of an -ise/-ize word ("localisation" and
    "localization", "organise" and "organize"); None for other words."""
    match = _SPELLING.search(word)
    if not match:
        return None
    swap = "z" if match.group(1) == "s" else "s"
    return word[: match.start()] + "i" + swap + word[match.start() + 2 :]


# What a publisher prints around the work, not in it: each kind counts once in a passage.
# A web or e-mail address is not one (papers cite their sources by address), and a
# licence and copyright are one kind (a paper on open models discusses both).
_IMPRINT = [
    re.compile(pattern, re.I | re.M)
    for pattern in (
        r"\blicen[cs](?:e|es|or|ee|ed|ing)\b|\bcopyright\b|©",
        r"\ball rights reserved\b|\bsome rights reserved\b",
        r"\bcharity\b",
        r"\b(?:regist(?:ration|ered)|company) (?:no|number)\.?\s*\d",
        r"^\W*published by\b|\bisbn\b",
        r"^\s*(?:t|tel|phone)\s*:\s*\+?\d",
        r"\bterms and conditions\b|\bhereunder\b|\bhereby grants?\b",
    )
]
_IMPRINT_KINDS = 2
_IMPRINT_GAP = 3  # passages between two furniture passages may be the same licence's clauses

# A question about the publication itself, for which the furniture is the answer; not
# one on a topic that shares a word: licences of models, copyright law, "contact
# tracing", "phishing e-mails", "government websites", "Can we share data with OpenAI?".
_VERBS = (
    r"(?:re-?use|use|quote|cite|copy|share|reproduce|republish|redistribute|translate|adapt|print)"
)
_WORK = "paper|report|document|study|publication|piece|work|article|digest"  # what it is called
_PUBLICATION = (  # the publication as an object: "this report", "Demos's paper"
    r"(?:(?:the|this|that|its|their) (?:[\w'’-]+ ){0,5}|[\w@&-]+['’]s (?:[\w'’-]+ ){0,3})"
    rf"(?:{_WORK}|brief)s?\b"
)
_ABOUT_PUBLICATION = re.compile(
    r"\bunder (?:what|which|a|an|the|its) (?:[\w-]+ ){0,2}licen[cs]e|\blicen[cs]ed under"
    rf"|\b(?:what|which) (?:licen[cs]e|copyright)\b(?:[\w'’ -]{{0,60}})\b(?:{_WORK}|it|this)\b"
    rf"|\b(?:{_WORK}|it|this) (?:is |was )?(?:copyrighted|licen[cs]ed|open access)\b"
    r"|\bcopyright (?:holder|owner|notice)|\bwho (?:owns|holds) (?:the )?copyright"
    r"|\b(?:its|their)(?: own)? (?:licen[cs]e|copyright)\b|['’]s (?:licen[cs]e|copyright)\b"
    r"|\bcreative commons|\brights reserved|\bregistered charity|\bis (?:it|\w+) a charity"
    rf"|\b{_VERBS}(?: from)? {_PUBLICATION}"
    r"|\b(?:re-?use|quote|cite|reproduce|republish|redistribute)(?: from)? (?:it|this|that)\b"
    r"(?! (?:\w+ )?(?:says?|said|argues?|finds?|claims?)\b)"
    r"|\bpublisher\b|\bpublished by\b|\bwho (?:published|publishes|publish)\b"
    r"|\b(?:contact|reach|write to|get in touch with|get hold of|e-?mail) (?:them|the "
    r"(?:publisher|authors?|team))\b|\bcontact (?:details|information|address)\b"
    r"|\b(?:its|their) (?:e-?mail|phone number|telephone|address|website|web address)\b",
    re.I,
)
# "Who are Demos?": about the publisher when what follows is a publisher's name alone.
_WHO_IS = re.compile(r"^\W*(?:who|what)(?: is| are| was| were|['’]s|['’]re) (?:the )?(.+?)\W*$")


def _about_named(names: Collection[str]) -> re.Pattern[str]:
    """Questions, in lower case, that ask about a publication or publisher by its name
    (`names`, in lower case): "How can I reach Demos?", "Can I quote The Open Dividend?",
    "What is Demos's website?", "Where is ITIF based?"."""
    if not names:
        return re.compile(r"(?!)")
    name = "(?:the )?(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    name += r")(?![\w@&])"
    return re.compile(
        rf"\b(?:{_VERBS}(?: from)?|contact|reach|e-?mail|write to|get in touch with"
        rf"|get hold of|phone|call) {name}"
        rf"|(?<![\w@&]){name}['’]s? (?:website|web address|address|offices?|e-?mail|phone)"
        rf"|\be-?mail (?:address )?(?:for|of) {name}|\bwhere (?:is|are) {name} (?:based|located)"
        rf"|^\W*tell me (?:more )?about {name}\W*$|^\W*what (?:does|do) {name} do\W*$"
    )


def _publisher_names(documents: Mapping[str, DocumentRecord]) -> set[str]:
    """The names the documents' publishers go by, in lower case: each part of the
    publisher line ("Demos, with Mozilla": "demos", "mozilla"; "Information Technology
    and Innovation Foundation (ITIF)": the name and "itif"), not its single words
    ("University of Cambridge" is no "Cambridge")."""
    names = set()
    for record in documents.values():
        for part in re.split(r"[,;()&]|\bwith\b|\band others\b", record.publisher):
            part = " ".join(part.split()).lower()
            if len(part) > 1 and re.search(r"[a-z]", part):
                names.add(part)
    return names


def furniture(chunks: Sequence[Chunk]) -> frozenset[int]:
    """Positions of the passages that are a publisher's furniture: those with two or more
    kinds of imprint ("licence" or "copyright", "rights reserved", "charity", a
    registration number, a line opening "Published by", a telephone line, "hereby
    grants"), and the passages of the same document between two such a few passages
    apart, at least half of them printing some imprint (a licence's clauses)."""
    kinds = [sum(bool(kind.search(chunk.text)) for kind in _IMPRINT) for chunk in chunks]
    marked = [i for i, n in enumerate(kinds) if n >= _IMPRINT_KINDS]
    found = set(marked)
    for a, b in itertools.pairwise(marked):
        between = range(a + 1, b)
        if (
            len(between) <= _IMPRINT_GAP
            and chunks[a].doc_id == chunks[b].doc_id
            and 2 * sum(kinds[i] > 0 for i in between) >= len(between)
        ):  # clauses of one licence print its words too; a paper's own passages rarely
            found.update(between)
    return frozenset(found)


_TITLE_PHRASE = re.compile(  # two or more capitalised words: "Open Dividend", "Sovereign AI"
    r"\b[A-Z][\w'’]*(?:[ \t]+(?:(?:of|for|and|the|on|in|to)[ \t]+)?[A-Z][\w'’]*)+"
)


def _title_names(words: list[str]) -> set[str]:
    """A run of title words as a name ("Sovereign AI"), and one joined by small words also
    as its initials ("Ministry of Justice": "MOJ"); not runs of acronyms alone ("UK AI"),
    nor runs edged by small words."""
    if words[0] in CONNECTORS or words[-1] in CONNECTORS or words[0] in ("The", "A", "An"):
        return set()
    if all(w.isupper() for w in words):
        return set()
    names = {" ".join(words)}
    if not any(w.isupper() for w in words) and any(w in CONNECTORS for w in words):
        names.add("".join(w[0] for w in words).upper())
    return names


def _document_names(documents: Mapping[str, DocumentRecord]) -> dict[str, str]:
    """{name: doc_id} for the names a question may call a document by, where only one
    document has the name: each capitalised word of its publisher ("ITIF", "Demos",
    "Cambridge"), each run of capitalised words in its title ("Open Dividend", "Sovereign
    AI"), and the initials of those runs ("MoJ"). Words are matched as written."""
    owners: dict[str, set[str]] = {}
    for doc_id, record in documents.items():
        names = {
            w
            for w in re.findall(r"[\w@&]+", record.publisher)
            if (w[0].isupper() or "@" in w) and len(w) > 2
        }
        for phrase in _TITLE_PHRASE.findall(record.title):
            words = [w.removesuffix("'s").removesuffix("’s") for w in phrase.split()]
            for begin in range(len(words)):
                for end in range(begin + 2, len(words) + 1):
                    names.update(_title_names(words[begin:end]))
        for name in names:
            owners.setdefault(name, set()).add(doc_id)
    return {name: next(iter(ids)) for name, ids in owners.items() if len(ids) == 1}


def _abbreviations(texts: list[str]) -> dict[str, str]:
    """{initials in lower case: phrase} for capitalised phrases whose initials never
    appear as a word in the corpus, e.g. {"moj": "Ministry of Justice"}."""
    words = {w.lower() for t in texts for w in re.findall(r"\b\w+\b", t)}
    found: dict[str, str] = {}
    for text in texts:
        for phrase in PHRASE.findall(text):
            for initials in phrase_initials(phrase):
                if len(initials) >= 2 and initials not in words:
                    found.setdefault(initials, phrase)
        for phrase in _HYPHENATED.findall(text):  # "APEC": "Asia-Pacific Economic Cooperation"
            for initials in phrase_initials(phrase.replace("-", " ")):
                if len(initials) >= 3 and initials not in words:
                    found.setdefault(initials, phrase)
    return found


# A capitalised phrase that opens with words joined by a hyphen, which `PHRASE` cuts:
# "Asia-Pacific Economic Cooperation", "South-East Asian Languages".
_HYPHENATED = re.compile(
    r"\b[A-Z][a-z]+(?:-[A-Z][a-z]+)+"
    r"(?:[ \t]+(?:(?:of|for|and|the|on|in|to)[ \t]+){0,2}[A-Z][a-z]+)*"
)
