"""Answering: the package's API. Retrieve, prompt, generate, parse into an `Answer`.

`Assistant` ties the stages together and keeps the embedder, index and model loaded
across questions (each loaded lazily, on first use). `Assistant.stream()` yields the
answer's text as it is generated and, last, the finished `Answer`; `ask()` returns only
the `Answer`. The UI, the CLI and the evaluation all read the same `Answer`.

A follow-up question ("and what did Red Hat say about it?") is searched together with
the previous question, and the earlier turns are given to the model, so pronouns resolve.

Answer or decline is decided from evidence, not left to the model: the model always
drafts from the passages; each sentence of the draft is checked (grounding: shown,
re-cited, rescued by the local model's yes/no judgement, or withheld), then the answer
is checked against what the question asks for (responsiveness: a how-much question
needs an amount). An answer with nothing supported, one that gives no amount to a
how-much question, one whose amount comes from documents that never name who or what
the question asks about (the MoJ's 2,500 staff for "how many NHS staff"), or one the
model opens by saying the sources do not answer, is a decline; a decline keeps what
the passages do say, cited, so it is of use. The draft, and what became of each of its
sentences, go into the provenance record.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..answers import Answer, Citation, Timings
from ..errors import Cancelled, DocumentNotFound, EmptyQuestion, NotAllowed
from ..generation.catalog import ModelStore
from ..generation.llm import GenerationStats, Generator
from ..ingest.embedding import Embedder
from ..ingest.indexing import Indexer, IndexReport, Progress, seen_by
from ..ingest.library import delete_document, screen_upload
from ..ingest.spaces import User, allowed, owner_of, sees, space_folder, visible
from ..ingest.store import DocumentRecord, Manifest, StoredIndex, load_index
from ..settings import Settings
from ..trust.provenance import build_record, record_answer
from .comparison import matter, phrased, speaks_to, surveyed, surveys
from .grounding import (
    ADDS_ONLY,
    MISADVISED,
    MISATTRIBUTED,
    MISAUTHORED,
    MISPLACED,
    NOT_CONFIRMED,
    Checked,
    SentenceStream,
    Verify,
    asked_of,
    render,
    short_title,
    unmentioned,
)
from .injection import neutralise
from .words import STOPWORDS

if TYPE_CHECKING:
    from .briefing import Brief
    from .comparison import Row
from .prompting import (
    DECLINE_TEXT,
    PackedPrompt,
    build_prompt,
    cited_numbers,
    focused_messages,
    is_decline,
    numbered_messages,
    source_label,
)
from .responsiveness import (
    Asked,
    asked_for,
    asked_parts,
    asks_for_list,
    decline_text,
    each_named,
    gives,
    hint,
    left_out,
    names_added,
    question_parts,
)
from .retrieval import Hit, Retriever

SURVEYED = 3  # documents a question put to the documents together is asked of, at most
SEAT_SEARCH = 3  # passages of a document searched on its own for such a question's topic
# "What about X?" asks the last question again of X; "And", "But", "So" ... open a
# follow-up only when what follows leans on the last turn (`search_query`).
_AGAIN = re.compile(r"^(what about|how about)\b", re.I)
_NAMED = re.compile(r"(?<=\s)[A-Z][\w@&.'’-]*[A-Za-z]")  # a name within a question
_CONNECTIVE = re.compile(r"^(and|but|also|so|then)\b", re.I)
_PRONOUN = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|he|she|his|her|him)\b", re.I
)
# Words that only mean something beside what came before ("Which other countries ...?",
# "Does ITIF say so too?", "the same", "instead").
_RELATIVE = re.compile(
    r"\b(other|others|else|same|too(?!\s+(?:much|many|few|little|far|high|low|late|"
    r"early|slow|fast|big|small|costly|expensive|risky|soon|often))|either|instead|"
    r"likewise|as well|former|latter|such|"
    r"similar|similarly)\b|\bthe (paper|report|piece|authors|study|unit|deal|document)\b",
    re.I,
)
# Pronouns that point inside the question, not back at the last answer: "their own" is
# the question's own subject's ("Which countries have built their own models?"), "that"
# after a verb or noun opens a clause ("Which report says that ...?", "the deal that
# ..."), "they", "them", "their" after a plural noun of the question are that noun's, and
# "its", "his", "her" one or two words after a name within the question (not its first
# word, nor "I") that name's: "What should America offer its allies?", "How does ITIF
# describe its proposal?"; but "Does the UK government agree with its findings?" leans.
_WITHIN = re.compile(
    r"\b(?:its|their|his|her)\s+own\b"
    r"|(?<![.?!]\s)(?<=\s)(?-i:[A-Z])[\w@&.'’-]*[A-Za-z]\s+[a-z]+\s+"
    r"(?:(?!(?:it|they|them|this|that|these|those|he|she|him|her)\b)[a-z]+\s+)?"
    r"(?:its|his|her)\b"
    r"|(?<!\bis )(?<!\bwas )(?<!\bdoes )(?<!\bdid )(?<!\babout )(?<!\bof )(?<!\bwith )"
    r"(?<!\bon )(?<!\bfor )(?<!\blike )(?<!^)\bthat\b(?=\s+\w)"
    r"|\b(?!(?:documents|papers|sources|reports|passages)\b)[a-z]{3,}[^s\W']s\b.*?"
    r"\b(?:they|them|their)\b",
    re.I,
)


class Assistant:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        progress: Progress | None = None,
        verify: Verify | None = None,
        index_build: str | None = None,
        replay_of: str | None = None,
    ) -> None:
        """`index_build`: search this kept build of the index instead of the current one
        and `replay_of`: the id of the recorded answer asked again (a replay), kept in
        every provenance record."""
        self.settings = settings
        self.index_build = index_build
        self.replay_of = replay_of
        self._embedder = embedder
        self._generator = generator
        self._verify = verify
        self._retriever: Retriever | None = None
        self.progress = progress
        self._load_lock = threading.RLock()
        self._generator_lock = threading.Lock()  # its own: the model loads beside the index
        self.library_version = 0  # counts index updates that changed the documents

    # ------------------------------------------------------------ loaded parts

    @property
    def embedder(self) -> Embedder:
        with self._load_lock:
            if self._embedder is None:
                from ..ingest.embedding import MiniLMEmbedder

                self._embedder = MiniLMEmbedder(
                    self.settings.embedding.batch_size,
                    graph_dir=self.settings.paths.models_dir / "embedder",
                )
            return self._embedder

    @property
    def generator(self) -> Generator:
        with self._generator_lock:
            if self._generator is None:
                self._generator = load_generator(self.settings)
            return self._generator

    @property
    def verify(self) -> Verify | None:
        """The sentence verifier: P(the passage supports the claim) from the answering
        model itself (no second model in memory), or None where it cannot be asked
        (a model server, a fake)."""
        if self._verify is None and self.settings.generation.verify:
            generator = self.generator
            llama = getattr(generator, "llama", None)
            if llama is not None:
                from .verification import SupportModel

                lock = getattr(generator, "lock", None)
                start = getattr(generator, "start_from_system", None)
                judge = SupportModel(llama, name=generator.name, lock=lock, start=start)
                self._verify = judge.probability
        return self._verify

    def warm(self) -> None:
        """Load the index and the model now: the UI does this at start, so that a missing
        index is reported at once and the first question does not wait for loading.

        The system prompt is not evaluated ahead: llama.cpp's numbers for a prefix depend
        on how the prompt was split into batches, and the 1.5B model is near its decision
        for some questions. "How many Ministry of Justice staff get AI tools?" asked first
        after a pre-evaluated system prompt was declined, asked cold it was answered; the
        head start was 0.5-1 s once per process. Later questions reuse the prefix anyway."""
        _ = self.retriever, self.generator

    def _preload_generator(self) -> None:
        """Load the model in the background while the first question is searched: on two
        cores the model's loading overlaps the embedder's import (cold start, bench)."""

        def load() -> None:
            try:
                _ = self.generator
            except Exception:  # the answering thread loads it again and reports the error
                pass

        if self._generator is None:
            threading.Thread(target=load, name="load-model", daemon=True).start()

    @property
    def retriever(self) -> Retriever:
        with self._load_lock:
            if self._retriever is None:
                index = self._load_index()
                self._retriever = Retriever(index, self.embedder, self.settings.retrieval)
            return self._retriever

    def _load_index(self) -> StoredIndex:
        return load_index(
            self.settings.paths.index_dir, self.embedder.name, self.embedder.dim, self.index_build
        )

    def documents(self, user: User | None = None) -> list[DocumentRecord]:
        """The documents of the library that `user` sees (`spaces`): all with no accounts."""
        records = self.retriever.index.manifest.documents.values()
        return [r for r in records if sees(user, r.doc_id)]

    def resolve(self, names: Sequence[str], user: User | None = None) -> tuple[str, ...]:
        """The doc ids of documents named by id, by title, by a part of the title only one
        document has, or by a name the retriever knows ("ITIF", "Demos"); a name that
        matches no document is an error that lists the ids there are. Only documents
        `user` sees are named: another's private document is unknown to them."""
        records = self.documents(user)
        found: list[str] = []
        unknown: list[str] = []
        for name in names:
            wanted = " ".join(name.split()).lower()
            exact = [r.doc_id for r in records if wanted in (r.doc_id.lower(), r.title.lower())]
            partial = [r.doc_id for r in records if wanted and wanted in r.title.lower()]
            named = set(visible(user, self.retriever.named_documents(name)))
            match = exact or (partial if len(partial) == 1 else []) or sorted(named)[:1]
            if len(match) == 1:
                found.append(match[0])
            else:
                unknown.append(name)
        waiting = [n for n in unknown if self._not_yet_indexed(n, user)]
        if waiting:
            raise DocumentNotFound(
                f"'{waiting[0]}' is in the corpus folder but not in the index yet: it is "
                "still being indexed, or run `assistant index` (the UI indexes uploads itself)."
            )
        if unknown:
            listed = "; ".join(f"{r.doc_id} ({r.title})" for r in records)
            quoted = ", ".join(f"'{n}'" for n in unknown)
            raise DocumentNotFound(
                f"No indexed document is called {quoted}. Name one by its id or title: "
                f"{listed or 'the library is empty'}."
            )
        return tuple(dict.fromkeys(found))

    def index(
        self,
        paths: Sequence[Path] = (),
        rebuild: bool = False,
        progress: Progress | None = None,
        settling_s: float = 0.0,
        into: Path | None = None,
    ) -> IndexReport:
        """Add files to the corpus (to the folder `into` within it, a private space) and
        bring the index up to date; reload it if it changed.
        `settling_s`: see `Indexer.update` (the corpus watcher sets it)."""
        indexer = Indexer(self.settings, lambda: self.embedder, progress or self.progress)
        report = indexer.update(list(paths), rebuild=rebuild, settling_s=settling_s, into=into)
        with self._load_lock:
            if self._retriever is None or self._retriever.index.index_id != report.index_id:
                self._retriever = None
            if report.changed:
                self.library_version += 1
        return report

    def prepare_queries(self) -> None:
        """Make the embedder's query graph now if it is missing (`assistant index` does,
        so that no question waits for it)."""
        ensure = getattr(self.embedder, "ensure_graph", None)  # the real embedder has one
        if ensure is not None:
            ensure()

    def upload(
        self,
        paths: Sequence[Path],
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        user: User | None = None,
        shared: bool = False,
    ) -> IndexReport:
        """Add uploaded files: each is screened (type by content, size limit) first.
        Once `stop` is set, the next step (a page read by OCR, a file, the last step
        before the index is switched) raises `Cancelled`, and the files are taken back.
        A `user`'s uploads go to their private space, or with `shared` (editors and
        admins) to the shared library; the report names only documents they see."""
        if shared and user is not None and not user.edits_shared:
            raise NotAllowed(
                f"{user.name} is a {user.role}: only editors and admins add to the shared "
                "library. Add it to your own space, or ask an editor."
            )
        into = space_folder(self.settings.paths.corpus_dir, user, shared)
        limit = self.settings.ui.max_upload_mb * 1024 * 1024
        rejected = [(p, screen_upload(p, limit)) for p in paths]

        shown = progress or self.progress

        def step(stage: str, done: int, total: int) -> None:
            if stop is not None and stop.is_set():
                raise Cancelled()
            if shown is not None:
                shown(stage, done, total)

        report = self.index([p for p, why in rejected if why is None], progress=step, into=into)
        report.failed[:0] = [(p.name, why) for p, why in rejected if why is not None]
        return seen_by(report, user, self.settings.paths.corpus_dir)

    def remove(
        self, doc_id: str, progress: Progress | None = None, user: User | None = None
    ) -> IndexReport:
        """Delete a document's file from the corpus folder and update the index. A user
        removes from their own space; from the shared library only as editor or admin."""
        records = self.documents(user)
        if user is not None and not user.edits_shared and owner_of(doc_id) is None:
            if any(r.doc_id == doc_id for r in records):
                raise NotAllowed(
                    f"{user.name} is a {user.role}: only editors and admins remove documents "
                    "of the shared library."
                )
        delete_document(self.settings.paths.corpus_dir, records, doc_id)
        return seen_by(self.index(progress=progress), user, self.settings.paths.corpus_dir)

    # ------------------------------------------------------------ answering

    def _prompts(
        self, question: str, packed: PackedPrompt, retriever: Retriever, query: str, asked: str
    ) -> tuple[list[list[dict[str, str]]], list[str]]:
        """The prompt, or for a question that names two or three documents ("How do ITIF
        and Demos differ on ...?") one prompt per named document with its passages only,
        asking what it says about the matter compared where the wording gives it (one
        that names none of the documents), or for a question put to the documents
        together one prompt per document found (`_survey`); with the documents compared
        (none otherwise). `question` is as the model reads it, `asked` as typed."""
        if not packed.hits:
            return [], []
        named = retriever.named_documents(retriever.expand(query))
        found: dict[str, list[tuple[int, Hit]]] = {}  # each document's numbered passages
        for n, hit in enumerate(packed.hits, start=1):
            found.setdefault(hit.chunk.doc_id, []).append((n, hit))
        groups = {doc_id: each for doc_id, each in found.items() if doc_id in named}
        if not 2 <= len(groups) <= 3:
            return self._survey(question, packed, found, query, asked), []
        # a phrase naming a document ("differs from ITIF's") is no matter of its own
        about = matter(question, partial(_is_document, retriever))
        prompts = [focused_messages(packed, question, each, about) for each in groups.values()]
        return prompts, list(groups)

    @staticmethod
    def _survey(
        question: str,
        packed: PackedPrompt,
        found: Mapping[str, list[tuple[int, Hit]]],
        query: str,
        asked: str,
    ) -> list[list[dict[str, str]]]:
        """For a question put to the documents together ("What do the documents say ...?",
        `surveys`), one prompt per document among the passages, the first `SURVEYED` by
        their best passage's rank, each with its own passages: asked at once, a small
        model answers from the first document's passages and leaves the others out.
        Only documents whose passages mention every name the question uses, and the
        words of what it asks about (`surveyed`: "data centres" in "Which papers discuss
        data centres?"), are asked: one asked about the AI Security Institute from
        passages that never name it pins what they do say on it (the names of `query`,
        the text searched), and one asked about data centres from passages on data
        sovereignty writes "data centres are essential ...". When what it asks about is
        in one document's passages only, that document alone is asked ("Which papers
        mention export controls?": given every passage, the model declined). Otherwise
        the one prompt. `found` is each document's numbered passages in order of its
        best, `asked` the question as typed."""
        if not surveys(asked):
            return [packed.messages]
        topic = surveyed(asked)
        chosen = [
            numbered
            for numbered in found.values()
            if _speaks(query, topic, "\n".join(h.chunk.passage for _, h in numbered))
        ][:SURVEYED]
        if len(chosen) == 1 and topic:
            return [focused_messages(packed, question, chosen[0])]
        if len(chosen) < 2:
            return [packed.messages]
        return [focused_messages(packed, question, numbered) for numbered in chosen]

    @staticmethod
    def _seated(
        asked: str,
        query: str,
        hits: list[Hit],
        retriever: Retriever,
        documents: Collection[str] | None,
    ) -> list[Hit]:
        """For a question put to the documents together about a named topic ("Which
        papers bring up Singapore?", `surveyed`), `hits` with each document among
        `documents` (None: all) that the search left out, or found only passages of that
        never name the topic, given its own best passage that names it, words together
        ("data centres", not "data sovereignty ... centres"): one search over the whole
        library ranks a second document's passage on the topic below a first document's
        other passages. Such passages take the places of the last passages of documents
        that do not speak to the topic, then of the speaking document with the most (the
        prompt does not grow), while fewer than `SURVEYED` documents speak to it."""
        topic = surveyed(asked)
        if not topic or not hits or not surveys(asked):
            return hits
        found: dict[str, list[Hit]] = {}
        for hit in hits:
            found.setdefault(hit.chunk.doc_id, []).append(hit)
        speaking = {
            d
            for d, each in found.items()
            if _speaks(query, topic, "\n".join(h.chunk.passage for h in each))
        }
        if len(speaking) >= SURVEYED:
            return hits
        taken = {hit.chunk.chunk_id for hit in hits}
        index = retriever.index
        seated = []
        for doc_id in sorted(index.manifest.documents if documents is None else documents):
            if doc_id in speaking or not any(
                phrased(c.passage, topic) for c in index.chunks_of(doc_id)
            ):
                continue  # searched only when one of its passages could be seated
            own = retriever.search(query, SEAT_SEARCH, [doc_id], asked)
            best = next(
                (
                    h
                    for h in own
                    if h.chunk.chunk_id not in taken
                    and phrased(h.chunk.passage, topic)
                    and _speaks(query, topic, h.chunk.passage)
                ),
                None,
            )
            if best is not None:
                seated.append(best)
        seated = sorted(seated, key=lambda h: -h.score)[: SURVEYED - len(speaking)]
        kept = list(hits)
        room = 0
        for _ in seated:
            drop = next((h for h in reversed(kept) if h.chunk.doc_id not in speaking), None)
            if drop is None:
                doc_id, n = Counter(h.chunk.doc_id for h in kept).most_common(1)[0]
                if n < 2:
                    break
                drop = next(h for h in reversed(kept) if h.chunk.doc_id == doc_id)
            kept.remove(drop)
            room += 1
        return kept + seated[:room]

    def _not_yet_indexed(self, name: str, user: User | None) -> bool:
        """A file of the corpus folder named `name` (its id: the name without extension)
        in what `user` sees."""
        folder = self.settings.paths.corpus_dir
        wanted = name.strip().lower()
        try:
            return any(
                p.is_file()
                and wanted in (p.stem.lower(), p.name.lower())
                and sees(user, p.relative_to(folder).as_posix())
                for p in folder.rglob("*")
            )
        except OSError:
            return False

    def ask(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        top_k: int | None = None,
        documents: Sequence[str] | None = None,
        max_tokens: int | None = None,
        max_sentences: int | None = None,
        search: str | None = None,
        passages: Sequence[Hit] | None = None,
        user: User | None = None,
    ) -> Answer:
        answer = None
        events = self.stream(
            question, history, top_k, documents, max_tokens, max_sentences, search, passages, user
        )
        for event in events:
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def compare(
        self, request: str, documents: Sequence[str] | None = None, user: User | None = None
    ) -> Iterator[Row]:
        """What each document (all `user` sees, or the chosen ones) says about the topic of
        `request`: one checked row per document, each searched on its own (`comparison`)."""
        from .comparison import compare

        return compare(self, request, documents, user)

    def brief(self, document: str, user: User | None = None) -> Brief:
        """The outline of a document (by id or title) with the key points of each section,
        chosen without the model (see `briefing`)."""
        from .briefing import outline

        (doc_id,) = self.resolve([document], user)
        index = self.retriever.index
        return outline(index.manifest.documents[doc_id], index.chunks_of(doc_id))

    def stream(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        top_k: int | None = None,
        documents: Sequence[str] | None = None,
        max_tokens: int | None = None,
        max_sentences: int | None = None,
        search: str | None = None,
        passages: Sequence[Hit] | None = None,
        user: User | None = None,
    ) -> Iterator[str | Answer]:
        """Text pieces as generated, then the `Answer`; `top_k` overrides the passages given,
        `max_tokens` the length of the draft and `max_sentences` the sentences shown of it;
        `documents` (ids or titles, see `resolve`) limits the search to those documents;
        `search` is searched instead of the question (and the conversation before it);
        `passages` are answered from without searching (a section of a brief); `user`
        is who asks: the search looks only in what they see, and the record is theirs."""
        question = " ".join(question.split())
        if not question:
            raise EmptyQuestion()
        scope = self.resolve(documents, user) if documents else ()
        started = time.perf_counter()
        self._preload_generator()
        history = list(history)[-self.settings.generation.history_turns :]
        retriever = self.retriever  # the index searched is the one recorded, even if reloaded
        query = search or search_query(question, history)
        if passages is not None:
            hits = list(passages)
        else:
            searched = scope or allowed(user, retriever.index.manifest.documents)
            hits = retriever.search(query, top_k, searched, question)
            hits = self._seated(question, query, hits, retriever, searched)
        retrieved = time.perf_counter()
        generator = self.generator
        asked = asked_for(question)
        prompted = question + hint(asked)  # the question as the model reads it
        max_tokens = max_tokens or self.settings.generation.max_tokens
        # a brief's section is summarised from the whole of its passages
        texts = self._focus(query, hits) if passages is None else None
        turns = prompt_history(question, history)

        def pack(asking: str) -> PackedPrompt:
            return build_prompt(
                asking, hits, turns, generator.count_tokens, generator.n_ctx, max_tokens, texts
            )

        packed = pack(prompted)
        checker = self._checker(packed, retriever)
        checker.question = question
        checker.max_sentences = max_sentences or checker.max_sentences
        prompts, compared = self._prompts(prompted, packed, retriever, query, question)
        checker.drop_declines = len(prompts) > 1
        # the one document the question asks what it holds, when it names no other
        named_here = partial(retriever.named_documents, proper=True)
        asked_here = set() if scope or passages is not None else asked_of(question, named_here)
        if len(asked_here) != 1 or not named_here(question) <= asked_here:
            asked_here = set()
        sources = [hit.chunk.doc_id for hit in packed.hits]
        stats = GenerationStats()
        draft: list[str] = []
        first_token = None
        parts: list[str] = []
        rounds = [prompts]  # and once more, below, for a draft that is only a label
        # rounds whose draft is shown only if what it adds passes a test, else withheld
        # for a reason: a part's, and a list's rest (below)
        gated: list[tuple[list[list[dict[str, str]]], Gate, str]] = []
        for batch in rounds:
            if gate := next(((keep, why) for b, keep, why in gated if b is batch), None):
                pieces = self._gated(batch, checker, stats, draft, max_tokens, *gate)
                first_token = first_token or (time.perf_counter() if pieces else None)
                parts += pieces
                yield from pieces
                continue
            for piece in self._checked(batch, checker, stats, draft, max_tokens):
                first_token = first_token or time.perf_counter()
                parts.append(piece)
                yield piece
            if (
                batch is prompts
                and prompts == [packed.messages]  # the plain prompt: not a part, not a brief's
                and passages is None
                and not packed.question_cut  # a cut question would lose the request
                and wrote_only_labels("".join(draft), checker.checked)
            ):
                # the model copied a source's label and stopped: it neither answered nor
                # declined, so "the documents do not say" would be untrue; asked once more
                again = pack(prompted + ANSWER_IN_A_SENTENCE)
                if again.hits == packed.hits:  # the same passages under the same numbers
                    rounds.append([again.messages])
            if (
                batch is prompts
                and prompts == [packed.messages]
                and passages is None
                and len(rounds) == 1  # not after a draft that was only a label
                and not (scope or max_sentences or packed.question_cut)  # a row, a cut question
                and not any(c.supported and is_decline(c.sentence.text) for c in checker.checked)
            ):
                # a question on two or three names answered for some of them, or with all
                # it drafted withheld: each name left out is asked of on its own, from the
                # same passages ("What savings have Microsoft and Meta reported?" answered
                # for Microsoft alone); not when the model said the sources do not answer
                named = each_named(question, partial(_is_document, retriever))
                for part in left_out(named, "".join(parts), "\n".join(checker.passages))[:2]:
                    again = pack(part.question + hint(asked))
                    if again.hits == packed.hits:
                        checker.drop_declines = True  # "the documents do not say" of one
                        rounds.append([again.messages])
                for asking, wanted in asked_parts(question) if len(rounds) == 1 else ():
                    # a question in parts answered without what one of them asks for
                    # ("..., and how many staff will get them?"): that part asked alone
                    if not gives(wanted, "".join(parts), question):
                        again = pack(asking + hint(wanted))
                        if again.hits == packed.hits:
                            checker.drop_declines = True
                            rounds.append([again.messages])
                            # shown only if it gives what the part asks for: a part asked
                            # alone is answered with what the passages hold nearby ("How
                            # much funding does it have?" with the EU's budget)
                            gated.append(
                                (
                                    rounds[-1],
                                    partial(_gives, wanted, question=question),
                                    NOT_THE_PART,
                                )
                            )
                own = [
                    (n, hit)
                    for n, hit in enumerate(packed.hits, start=1)
                    if hit.chunk.doc_id in asked_here
                ]
                if (
                    len(rounds) == 1
                    and 0 < len(own) < len(packed.hits)
                    and not any(c.supported for c in checker.checked)
                    and any(
                        sources[n - 1] not in asked_here
                        for c in checker.checked
                        for n in c.cited
                        if 0 < n <= len(sources)
                    )
                ):
                    # a question on one document whose draft was all withheld, drafted
                    # from another's passages ("Does the Cambridge report say anything
                    # about the NHS?" from Demos's "data resources held by the NHS"):
                    # asked again of that document's passages alone
                    rounds.append([numbered_messages(packed, prompted, own)])
                if len(rounds) == 1 and (others := self._rest(question, asked, packed, parts)):
                    # a list answered from one passage, with more of its document given:
                    # the rest of the list is asked for from those passages alone
                    checker.drop_declines = True
                    rounds.append([numbered_messages(packed, prompted, others)])
                    # shown only if it names what the answer had not: otherwise it restates
                    # the answer's items, or says what else the passages hold, off the list
                    said = question + " " + "".join(parts)
                    gated.append((rounds[-1], partial(_names_added, said=said), NO_NEW_ITEM))
        shown = "".join(parts).strip()
        # a caller's search text says what is asked about ("the NHS", without the names
        # of the documents a comparison row is not about)
        asked_about = search or question
        records = retriever.index.manifest.documents
        text, declined = accept(
            shown,
            checker.checked,
            asked,
            asked_about,
            checker.passages,
            lambda n: document_text(retriever.index, packed.hits[n - 1], checker.passages[n - 1]),
            sources,
            asked_here,
            {d: records[d].title for d in {*sources, *asked_here} if d in records},
        )
        if not shown:
            yield text  # a decline that is not a rewrite of text already shown
        finished = time.perf_counter()
        timings = Timings(
            retrieve_s=round(retrieved - started, 4),
            first_token_s=round((first_token or finished) - started, 4),
            total_s=round(finished - started, 4),
            prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens,
        )
        contexts = tuple(Citation.from_hit(n, hit) for n, hit in enumerate(packed.hits, start=1))
        cut = packed.question_cut
        warnings = ["The question was too long for the model and was cut."] if cut else []
        if scope:
            warnings.append(scope_note(scope, retriever.index.manifest.documents, declined))
        if not declined:
            warnings += unheard(compared, checker.checked, packed.hits, retriever.index.manifest)
        answer = Answer(
            question=question,
            answer=text,
            citations=tuple(contexts[n - 1] for n in cited_numbers(text, len(packed.hits))),
            contexts=contexts,
            declined=declined,
            scope=scope,
            model={"name": generator.name, "sha256": generator.sha256},
            timings=timings,
            warnings=tuple(warnings + notes(checker.checked)),
            draft="".join(draft).strip(),
            sentences=tuple(checker.checked),
        )
        record = build_record(
            answer,
            retriever.index.manifest,
            [messages for batch in rounds for messages in batch],  # every prompt given
            history,
            query,
            self.settings,
            embedder={"name": self.embedder.name, "dim": self.embedder.dim},
            model={
                "name": generator.name,
                "sha256": generator.sha256,
                "file": str(getattr(generator, "path", "")),
            },
            top_k=top_k,
            max_tokens=max_tokens,
            asked_for=asked.kind if asked else None,
            replay_of=self.replay_of,
            user=user.name if user else None,
        )
        yield record_answer(answer, record, self.settings)

    @staticmethod
    def _rest(
        question: str, asked: Asked | None, packed: PackedPrompt, shown: Sequence[str]
    ) -> list[tuple[int, Hit]]:
        """For a question that asks for several things (`asks_for_list`, not a figure or
        a date) answered from a single passage, the other passages of that passage's
        document, under their numbers: a small model names the items of the first passage
        that has any and stops ("Which open tools has Singapore put out ...?" answered
        with SEA-HELM while AI Verify and Moonshot were in the next passages). [] for any
        other question or answer."""
        if not asks_for_list(question) or (asked is not None and asked.kind != "name"):
            return []
        if _COUNTED.search(question):  # "What two meanings ...?": answered as counted
            return []
        cited = cited_numbers("".join(shown), len(packed.hits))
        if len(cited) != 1:
            return []
        doc_id = packed.hits[cited[0] - 1].chunk.doc_id
        return [
            (n, hit)
            for n, hit in enumerate(packed.hits, start=1)
            if hit.chunk.doc_id == doc_id and n not in cited
        ]

    def _focus(self, query: str, hits: Sequence[Hit]) -> list[str] | None:
        """Each passage cut to its sentences that best match the question, within
        `retrieval.passage_tokens` (`focusing`); None with it 0: whole passages."""
        budget = self.settings.retrieval.passage_tokens
        if budget <= 0 or not hits:
            return None
        from .focusing import focus_passages

        return focus_passages(query, hits, self.embedder.embed, self.generator.count_tokens, budget)

    def _checker(self, packed: PackedPrompt, retriever: Retriever) -> SentenceStream:
        """The sentence check over the prompt's passages, knowing their labels and titles
        (a small model copies them into its text) and their documents' names."""
        hits = packed.hits
        passages = [f"{source_label(h)}\n{neutralise(h.chunk.passage)}" for h in hits]
        labels = [source_label(h) for h in hits]
        labels += [  # the label without its section, as often copied
            source_label(replace(h, chunk=replace(h.chunk, section="", page=None))) for h in hits
        ]
        labels += [  # and without its title
            label[len(h.document.title) :].strip(" ,:")
            for label, h in zip(labels, [*hits, *hits], strict=True)
        ]
        labels += [  # as a question over several documents names each: "Title (Publisher)"
            f"{h.document.title} ({h.document.publisher})" for h in hits if h.document.publisher
        ]
        titles = [h.document.title for h in hits]
        return SentenceStream(
            passages,
            self.verify if hits else None,
            labels,
            titles,
            sources=[h.chunk.doc_id for h in hits],
            named=retriever.named_documents,
            named_sources=partial(retriever.named_documents, proper=True),
            headings=[h.chunk.section for h in hits if h.chunk.section],
        )

    def _gated(
        self,
        prompts: list[list[dict[str, str]]],
        checker: SentenceStream,
        stats: GenerationStats,
        draft: list[str],
        max_tokens: int,
        keep: Gate,
        why: str,
    ) -> list[str]:
        """The checked text of a further round's draft if `keep` passes it (the text and
        the sentences it shows), else nothing, its shown sentences withheld for `why`."""
        checked = len(checker.checked)
        pieces = list(self._checked(prompts, checker, stats, draft, max_tokens))
        added = [c for c in checker.checked[checked:] if c.supported]
        if keep("".join(pieces), added):
            return pieces
        checker.checked[checked:] = [
            replace(c, supported=False, reason=why) if c.supported else c
            for c in checker.checked[checked:]
        ]
        return []

    def _checked(
        self,
        prompts: list[list[dict[str, str]]],
        checker: SentenceStream,
        stats: GenerationStats,
        draft: list[str],
        max_tokens: int,
    ) -> Iterator[str]:
        """The checked text of each prompt's draft in turn, each followed by its verified
        sentences; the raw drafts are appended to `draft` and the token counts added to `stats`."""
        for messages in prompts:
            part = GenerationStats()
            tokens = self.generator.stream(messages, max_tokens, part)
            try:
                for token in tokens:
                    draft.append(token)
                    yield from checker.feed(token)
                    if checker.full:
                        checker.stop()  # the rest would be withheld: not worth the wait
                        break
            finally:
                getattr(tokens, "close", lambda: None)()  # ends the model's turn now
            draft.append("\n")
            stats.prompt_tokens += part.prompt_tokens
            stats.completion_tokens += part.completion_tokens
            yield from checker.end_part(cut_off=part.completion_tokens >= max_tokens)


# A question that says how many things it wants (not a year, "since 2023", nor "G7").
_COUNTED = re.compile(
    r"\b\d{1,3}\b(?![\d.,])|\b(?:two|three|four|five|six|seven|eight|nine|ten|both)\b", re.I
)
# Whether a further round's draft is shown: given its text and the sentences it shows.
Gate = Callable[[str, list[Checked]], bool]


def _gives(wanted: Asked, shown: str, added: list[Checked], question: str) -> bool:
    return gives(wanted, shown, question)


def _names_added(shown: str, added: list[Checked], said: str) -> bool:
    return names_added([c.sentence.text for c in added], said)


# Why a sentence asked for as more of a list is not shown.
NO_NEW_ITEM = "asked for the rest of a list, it names nothing the answer had not"
# Why a sentence drafted for one part of a question is not shown.
NOT_THE_PART = "asked for one part of the question, it does not give what that part asks for"

# Added to the question when the model answered it with a source's label alone.
ANSWER_IN_A_SENTENCE = (
    " (Answer in a sentence of your own that cites its source's number, not with a source's title.)"
)


def _is_document(retriever: Retriever, text: str) -> bool:
    """Whether `text` names a document of the index (by publisher, title or initials)."""
    return bool(retriever.named_documents(retriever.expand(text)))


def wrote_only_labels(draft: str, checked: Sequence[Checked]) -> bool:
    """Whether the model drafted something, but nothing a sentence check saw (all of it a
    source's label or title, which the check drops) and no decline of its own."""
    return bool(draft.strip()) and not checked and not is_decline(draft)


# The model drafted an answer in the passages' own words and the verifier found that no
# passage says it: the documents do speak to the question, so "the documents do not say"
# would be untrue. (A draft in other words is declined plainly: it came from elsewhere.)
UNCONFIRMED_TEXT = (
    "No answer is shown: what the model drafted is not supported by the passages found. "
    "Try asking more narrowly, or name the document."
)


def _speaks(query: str, topic: Sequence[Sequence[str]], text: str) -> bool:
    """Whether passages' `text` mentions every name of the question (`query`, the text
    searched) and the words of what it asks about (`surveyed`)."""
    return not unmentioned(query, text) and speaks_to(text, topic)


def accept(
    shown: str,
    checked: Sequence[Checked],
    asked: Asked | None,
    question: str,
    passages: Sequence[str] = (),
    document: Callable[[int], str] | None = None,
    sources: Sequence[str] = (),
    named: Collection[str] = (),
    titles: Mapping[str, str] | None = None,
) -> tuple[str, bool]:
    """The answer's final text and whether it is a decline (see the module docstring);
    `passages` are those given, numbered from 1, with their labels; `document(n)` is the
    whole text of passage n's document (the passage alone when not given); `sources`
    their documents' ids; `named` the documents the question asks what they hold, by
    id; `titles` the titles of those documents and the passages', by id."""
    content = [c for c in checked if c.supported and not is_decline(c.sentence.text)]
    if not content:
        if asked:
            return decline_text(asked), True
        unconfirmed = any(
            c.reason.startswith((NOT_CONFIRMED, MISATTRIBUTED, MISPLACED, MISAUTHORED, MISADVISED))
            for c in checked
        )
        return (UNCONFIRMED_TEXT if unconfirmed else DECLINE_TEXT), True
    # each passage's document text, read once however many sentences cite it
    whole = functools.cache(document or (lambda n: passages[n - 1]))
    if passages and (missing := unmentioned(question, "\n".join(passages))):
        names = ", ".join(as_written(missing, question))
        return closest(
            f"The documents do not mention {names}.",
            question,
            shown,
            content,
            missing,
            passages,
            whole,
        )
    opening = next((c for c in checked if c.supported), None)
    if opening is not None and is_decline(opening.sentence.text):
        return shown, True  # the model says the sources do not answer, then what they say
    if len(named) == 1 and sources:
        # "What does the Sovereign AI paper say about ...?" answered wholly from another
        # document's passages: each sentence is that document's, so none is wrong, but
        # the answer reads as the named document's view
        titles = titles or {}
        (doc_id,) = named
        cited = {sources[n - 1] for c in content for n in c.cited if 0 < n <= len(sources)}
        if cited and doc_id not in cited:
            lacking = (
                f"The passages found in {_quoted(titles.get(doc_id, doc_id))} do not answer this."
            )
            others = " and ".join(_quoted(titles.get(d, d)) for d in sorted(cited))
            return f"{lacking} From {others}: {shown}", True
    if asked is not None and not gives(asked, shown, question):
        return f"{decline_text(asked)} The closest they come: {shown}", True
    if asked is not None and (missing := not_of(question, asked, content, passages, whole)):
        # the figure is another's: "How many NHS staff ...?" answered by the MoJ's 2,500
        names = ", ".join(as_written(missing, question))
        lacking = f"The documents give no {asked.missing} for {names}."
        return closest(lacking, question, shown, content, missing, passages, whole)
    return shown, False


def _quoted(title: str) -> str:
    return f"“{short_title(title)}”"


def closest(
    opening: str,
    question: str,
    shown: str,
    content: Sequence[Checked],
    missing: Sequence[str],
    passages: Sequence[str],
    document: Callable[[int], str],
) -> tuple[str, bool]:
    """A decline that opens with what the documents lack, then what they come closest to
    saying: the shown sentences, less any that says something of a missing name its cited
    documents never mention ("Germany is spending €1 billion" from the EU's €1 billion is
    not close, it is wrong)."""
    for item in content:
        cited = [n for n in item.cited if 0 < n <= len(passages)]
        silent = set(missing) & set(unmentioned(question, "\n".join(map(document, cited))))
        said = item.sentence.text.lower()
        if any(re.search(rf"(?<![a-z0-9@]){re.escape(n)}(?![a-z0-9@])", said) for n in silent):
            shown = shown.replace(render([item]), "")
    shown = re.sub(r"\n{3,}", "\n\n", re.sub(r" *\n *", "\n", re.sub(r" {2,}", " ", shown)))
    shown = shown.strip()
    return (f"{opening} The closest they come: {shown}" if shown else opening), True


def not_of(
    question: str,
    asked: Asked,
    content: Sequence[Checked],
    passages: Sequence[str],
    document: Callable[[int], str],
) -> list[str]:
    """Names of the question that no document of the figure's passages mentions: the
    sentences that give what was asked cite only documents silent on them; `document(n)`
    is the whole text of passage n's document."""
    giving = [c for c in content if gives(asked, c.sentence.text, question)]
    numbers = sorted({n for c in giving for n in c.cited if 0 < n <= len(passages)})
    if not numbers:
        return []
    return unmentioned(question, "\n".join(document(n) for n in numbers))


def document_text(index: StoredIndex, hit: Hit, passage: str) -> str:
    """The passage's label and the whole text of its document."""
    label = passage.split("\n", 1)[0]
    chunks = [c.passage for c in index.chunks_of(hit.chunk.doc_id)]
    return "\n".join([label, *chunks]) if chunks else passage


def as_written(names: Sequence[str], question: str) -> list[str]:
    """Lower-cased names as the question writes them, a name of several words whole
    ("red", "hat" are "Red Hat")."""
    runs = []
    for run in re.findall(r"[A-Z][\w@&.-]*(?:\s+[A-Z][\w@&.-]*)*", question):
        words = run.split()  # "Does Red Hat" is "Red Hat"
        while words and words[0].lower() in STOPWORDS:
            words.pop(0)
        runs.append(" ".join(words))
    written = {w.lower(): w for w in re.findall(r"[\w@&.-]+", question)}
    out = []
    for name in names:
        words = (r for r in runs if name in {w.lower() for w in r.split()})
        out.append(next(words, written.get(name, name)))
    return list(dict.fromkeys(out))


def unheard(
    compared: Sequence[str], checked: Sequence[Checked], hits: Sequence[Hit], manifest: Manifest
) -> list[str]:
    """What the user is told of a document compared that no shown sentence cites: its
    part said nothing on the matter, or nothing of it passed the check."""
    heard = {
        hits[n - 1].chunk.doc_id
        for c in checked
        if c.supported and not is_decline(c.sentence.text)
        for n in c.cited
        if 0 < n <= len(hits)
    }
    out = []
    for doc_id in compared:
        if doc_id not in heard and doc_id in manifest.documents:
            title = manifest.documents[doc_id].title
            out.append(
                f"Nothing is shown from “{title}”: the model found nothing on this in its "
                "passages, or nothing it drafted from them passed the check."
            )
    return out


def notes(checked: Sequence[Checked]) -> list[str]:
    """What the user is told about sentences the check changed."""
    # a part's "nothing on this" (a name asked of alone, the rest of a list) was no claim
    withheld = [c for c in checked if not c.supported and not is_decline(c.sentence.text)]
    out = []
    if withheld:
        reasons = "; ".join(dict.fromkeys(c.reason.split(" (")[0] for c in withheld))
        out.append(f"{_sentences(len(withheld))} of the model's draft withheld: {reasons}.")
    rescued = sum(
        1 for c in checked if c.supported and c.verified is not None and "finds passage" in c.reason
    )
    if rescued:
        out.append(f"{_sentences(rescued)} shown after the local model confirmed its passage.")
    unsure = [c for c in checked if c.supported and ADDS_ONLY in c.reason]
    if unsure:
        out.append(
            f"{_sentences(len(unsure))} shown that the local model could not confirm: each "
            "adds to the question's words only words of its passage."
        )
    return out


def _sentences(count: int) -> str:
    return f"{count} sentence" if count == 1 else f"{count} sentences"


def scope_note(
    scope: Sequence[str], documents: Mapping[str, DocumentRecord], declined: bool
) -> str:
    """What the user is told of a search limited to chosen documents."""
    titles = "; ".join(f"“{documents[d].title}”" for d in scope if d in documents)
    if declined:
        return (
            f"Only the chosen documents were searched ({titles}); the others were not. "
            "Clear the choice to search every document."
        )
    return f"Searched only the chosen documents: {titles}."


def search_query(question: str, history: Sequence[tuple[str, str]]) -> str:
    """The text searched: a follow-up carries the previous question with it. A question
    that opens with "And" or "But" yet says all it asks ("And is Demos worried that open
    models are unsafe?") stands alone, as it would first in a conversation."""
    words = len(question.split())
    # a later part's pronoun is the first part's, when that names something: "Who wrote
    # the Open Dividend, and when did it come out?"
    first, *rest = question_parts(question)
    named = rest and _NAMED.search(first)
    leans = _PRONOUN.search(_WITHIN.sub(" ", first if named else question))
    follow_up = (
        _AGAIN.search(question)
        or words <= 5
        or (words <= 12 and leans)  # a long question stands alone
        or (_CONNECTIVE.search(question) and (words <= 7 or leans or _RELATIVE.search(question)))
    )
    return f"{history[-1][0]} {question}" if history and follow_up else question


def prompt_history(question: str, history: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The turns the model is shown before the question: all of them for a follow-up
    (`search_query`), none for a question that stands alone, so that it is answered as
    it would be first in a conversation (the same question, the same answer) and sooner.
    A long question's "it" is its own ("... a law firm getting the green light: which
    firm, and who approved it?")."""
    return list(history) if search_query(question, history) != question else []


def load_generator(settings: Settings, progress: Callable[[str, int, int], None] | None = None):
    """The configured model, verified, loaded into llama.cpp (or a model server's client)."""
    from ..generation.llm import LlamaGenerator

    g = settings.generation
    if g.backend == "openai":
        from ..generation.remote import load_remote

        return load_remote(settings, progress)
    model = ModelStore(settings.paths.models_dir, progress).resolve(g.model)
    return LlamaGenerator(
        model.path,
        name=model.name,
        sha256=model.sha256,
        n_ctx=g.n_ctx,
        n_threads=g.n_threads,
        n_threads_batch=g.n_threads_batch,
        n_batch=g.n_batch,
        use_mmap=g.use_mmap,
        temperature=g.temperature,
        seed=g.seed,
        state_dir=settings.paths.data_dir / "model-state",
    )
