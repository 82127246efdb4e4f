"""Comparison: what each document says about one topic, side by side.

Plain top-k retrieval answers "How do ITIF and Demos differ on X?" from whichever document
matches the wording best, and the other side of the comparison is crowded out. A comparison
asks each document on its own instead: the search is limited to that document's passages
(a scope, as in `Assistant.ask(..., documents=...)`), the model drafts one or two sentences
from them, and the draft is checked like any answer. A row whose answer is a decline says
"Not addressed", and so does one whose cited passages never mention the topic: a small
model asked about open-source AI writes a true sentence about data residency from a
document that does not discuss it. The topic's words that most passages contain ("AI" in
this corpus) are not asked for. Where the model's row fails so but one of the row's
passages does mention the topic, the row quotes that passage's sentence with the most of
the topic's words, verbatim and cited, marked as a quotation.

Each row is a whole answer, with its own passages, citations and provenance record in the
audit log; rows are yielded as they are ready. A row searches the topic without the names
of documents in it: within one document, "Demos" finds its publisher's boilerplate, not
the passage on the NHS. Not done: a verdict across rows (which
documents agree); the table is for the reader to compare.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..answers import Answer, Citation
from ..errors import EmptyQuestion
from ..ingest.spaces import User
from .grounding import segment
from .retrieval import other_spelling
from .words import tokenize

if TYPE_CHECKING:
    from .assistant import Assistant

NOT_ADDRESSED = "Not addressed"
SENTENCES = 2  # in one row
GENERIC = 0.5  # a topic word in more than this share of all passages says nothing
# Words of a comparison request that say how to compare, not what about: left out of a
# row's search (within one document "the report" finds its introduction) and its topic.
_FRAME = re.compile(
    r"(?<![\w-])(?:what|which|how|why|do|does|did|is|are|the|a|an|each|both|all|every|"
    r"reports?|papers?|documents?|sources|pieces?|commentary|articles?|digests?|say|says|"
    r"said|see|sees|think|view|views|argue|argues|propose|proposes|differ|differs|compare|"
    r"compared|agree|agrees|disagree|between|roles?|have|has|common|and)(?![\w-])",
    re.I,
)

# "What does each document say about X?", "Compare the documents on X": the topic is X.
_LEAD = re.compile(
    r"^(?:(?:so|and|now|please)[, ]+)?(?:"
    r"what (?:do|does|did) (?:each|every|all|the)(?: of the)?(?: \w+)? "
    r"(?:documents?|papers?|reports?|sources?)?(?: each)? "
    r"(?:say|said|think|argue|propose|conclude|recommend)(?: about| on| of| regarding)?"
    r"|how do (?:the|all the|these) (?:documents|papers|reports|sources) "
    r"(?:differ|compare|agree)(?: on| about| over| regarding)?"
    r"|compare (?:the |all the |these )?(?:documents|papers|reports|sources)?"
    r"(?: on| about| regarding)?"
    r")\s+",
    re.I,
)


def topic_of(text: str) -> str:
    """The topic of a comparison request: "What does each document say about open
    models?" gives "open models"; a bare topic is kept as it is."""
    text = " ".join(text.split()).strip()
    topic = _LEAD.sub("", text).strip()
    return topic.rstrip("?.! ").strip() or text.rstrip("?.! ").strip()


_SIDE_BY_SIDE = re.compile(
    r"\b(?:differ|differs|difference|differences|compare|compared|comparison|contrast|"
    r"versus|vs|each|both|agree|disagree)\b",
    re.I,
)


def wants_table(question: str) -> bool:
    """A question worded as a comparison ("How do ITIF and Demos differ on ...?"), to
    which the chat offers the comparison table."""
    return _SIDE_BY_SIDE.search(question) is not None


_QUESTION = re.compile(
    r"^(?:what|which|how|why|who|whom|whose|when|where|does|do|did|is|are|was|were|can|"
    r"should|will|would)\b",
    re.I,
)


def row_question(topic: str) -> str:
    """What one document is asked for its row: a question typed as one ("Which roles do
    they see for the NHS?") is asked as it is, a topic as "what does it say about"."""
    if _QUESTION.match(topic):
        return f"In one or two sentences from this document: {topic}?"
    return f"In one or two sentences, what does this document say about {topic}?"


@dataclass(frozen=True)
class Row:
    """One document's cell of the table: its checked answer, or "Not addressed"."""

    doc_id: str
    title: str
    publisher: str
    answer: Answer
    on_topic: bool = True  # the cited passages mention the topic
    quote: str = ""  # shown instead of a failed answer: a sentence of `quoted_from`
    quoted_from: Citation | None = None

    @property
    def answered(self) -> bool:
        """The model's checked answer is shown."""
        return not self.answer.declined and self.on_topic

    @property
    def declined(self) -> bool:
        return not self.answered and self.quoted_from is None

    @property
    def text(self) -> str:
        if self.answered:
            return self.answer.answer
        if self.quoted_from is not None:
            return f"Quoted: “{self.quote}” [{self.quoted_from.n}]"
        return NOT_ADDRESSED

    @property
    def citations(self) -> tuple[Citation, ...]:
        if self.answered:
            return self.answer.citations
        return () if self.quoted_from is None else (self.quoted_from,)

    def to_json(self) -> dict[str, Any]:
        """`compare --json`: the row as scripts read it."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "answer": self.text,
            "citations": [c.contract() for c in self.citations],
            "declined": self.declined,
            "quoted": not self.answered and not self.declined,
            "id": self.answer.id,
        }


def compared(
    assistant: Assistant, documents: Sequence[str] | None = None, user: User | None = None
) -> list[str]:
    """The ids of the documents a comparison has rows for, in their order: the chosen ones
    as given (by id or title), or all `user` sees by title."""
    if documents:
        return list(assistant.resolve(documents, user))
    records = sorted(assistant.documents(user), key=lambda r: r.title.lower())
    return [r.doc_id for r in records]


def compare(
    assistant: Assistant,
    request: str,
    documents: Sequence[str] | None = None,
    user: User | None = None,
) -> Iterator[Row]:
    """A row for each document (all `user` sees, ordered by title, or the chosen ones in
    the order given), each searched on its own; yielded as each is ready."""
    topic = topic_of(request)
    if not topic:
        raise EmptyQuestion()
    records = {r.doc_id: r for r in assistant.documents(user)}
    chosen = compared(assistant, documents, user)
    settings = assistant.settings
    texts = [c.text for c in assistant.retriever.index.chunks]
    asked = topic_words(subject(assistant.retriever.without_names(topic)) or topic, texts)
    about = subject(assistant.retriever.without_names(topic))
    search = about or topic
    comparative = len(assistant.retriever.named_documents(topic)) >= 2 or wants_table(topic)
    # "How do ITIF and Demos differ on X?" is asked of each as "what does it say about X":
    # asked as typed, a row's model answers for both documents from one's passages
    question = row_question(about if comparative and about else topic)
    for doc_id in chosen:
        answer = assistant.ask(
            question,
            top_k=settings.retrieval.compare_top_k,
            documents=[doc_id],
            max_tokens=settings.generation.compare_max_tokens,
            max_sentences=SENTENCES,
            search=search,
            user=user,
        )
        record = records[doc_id]
        cited = " ".join(c.text for c in answer.citations)
        row = Row(doc_id, record.title, record.publisher, answer, mentions(cited, asked))
        if not row.answered and asked and (found := quotation(answer.contexts, asked, texts)):
            row = replace(row, quote=found[0], quoted_from=found[1])
        yield row


def quotation(
    passages: Sequence[Citation], words: Sequence[str], corpus: Sequence[str] = ()
) -> tuple[str, Citation] | None:
    """The sentence of `passages` that holds the most of `words`, each weighted by how
    rare it is in `corpus` ("NHS" outweighs "strategy"), with its passage (the first, on a
    tie); None when no sentence of six words or more holds the rarest of them (a sentence
    on "strategy" is no quotation on the NHS)."""
    lower = [t.lower() for t in corpus]
    weight = {
        w: math.log((1 + len(lower)) / (1 + sum(1 for t in lower if _holds(t, w)))) + 1.0
        for w in words
    }
    rarest = max(words, key=lambda w: weight[w])
    best: tuple[float, str, Citation] | None = None
    for passage in passages:
        for piece in segment(passage.text):
            sentence = " ".join(piece.split())
            if len(sentence.split()) < 6 or not _holds(sentence.lower(), rarest):
                continue
            held = sum(weight[w] for w in words if _holds(sentence.lower(), w))
            if best is None or held > best[0]:
                best = (held, sentence, passage)
    return None if best is None else (best[1], best[2])


_EDGE = re.compile(
    r"^(?:(?:on|about|in|of|for|over|regarding|to|with|at)\b[\s,]*)+|"
    r"(?:[\s,]*\b(?:on|about|in|of|for|over|regarding|to|with|at))+$",
    re.I,
)


def subject(text: str) -> str:
    """What a comparison is about, without the words that frame it: "What roles do the
    reports each see for the NHS" gives "NHS"."""
    words = " ".join(_FRAME.sub(" ", text).split()).strip(" ,;:?")
    return _EDGE.sub("", words).strip(" ,;:?")


def topic_words(topic: str, passages: Iterable[str]) -> list[str]:
    """The topic's words that a passage on it would hold: not those most passages hold."""
    words = list(dict.fromkeys(tokenize(topic)))
    texts = [p.lower() for p in passages]
    if not texts:
        return words
    return [w for w in words if sum(1 for t in texts if _holds(t, w)) <= GENERIC * len(texts)]


def mentions(text: str, words: Sequence[str]) -> bool:
    """Whether `text` holds one of `words` (or a word they begin: "procure" for
    "procurement" does not count, "regulations" for "regulation" does); True without words."""
    if not words:
        return True
    lower = text.lower()
    return any(_holds(lower, w) for w in words)


def _holds(lower: str, word: str) -> bool:
    """`word` (or its other spelling, -ise or -ize) begins a word of `lower`."""
    stem = word[:-1] if len(word) > 3 and word.endswith("s") else word
    spellings = {stem, other_spelling(stem) or stem}
    return any(re.search(rf"\b{re.escape(s)}", lower) for s in spellings)
