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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..answers import Answer, Citation
from ..errors import EmptyQuestion
from ..ingest.spaces import User
from .grounding import segment
from .retrieval import other_spelling
from .words import STOPWORDS, tokenize

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


# "What do the documents say about X?", "Which officials in the corpus ...?", "across the
# papers": a question put to the whole library, not to one document
_ACROSS = re.compile(
    r"\b(?:(?:the|these|those|all(?: of)?(?: the)?|each of the|both|across(?: all)?(?: the)?|"
    r"in the|which(?: of the)?|any of the)\s+"
    r"(?:documents|papers|reports|sources|publications|texts)"
    r"|each (?:document|paper|report|source|publication)|(?:the|this|our) corpus)\b",
    re.I,
)


def surveys(question: str) -> bool:
    """A question put to the documents together ("What do the documents say the AI
    Security Institute should do?"), which each document found for it answers on its own."""
    return _ACROSS.search(question) is not None


# What a question put to the documents is about: "What do the documents say about the
# NHS?", "Which papers discuss data centres, and ...?", "Which bring up Singapore?" (not
# after "on": "depend on US firms" is no topic the documents must name)
_ABOUT = re.compile(
    r"\b(?:about|regarding|concerning|discuss(?:es|ed)?|mention(?:s|ed)?|covers?|"
    r"bring(?:s)? up|brought up|refer(?:s|red)? to)\s+"
    r"(?P<topic>[^,;:?.!]+)",
    re.I,
)
# words that end what a survey asks about: "about the NHS now", "about Estonia compared
# to Finland", "about AI tools used by the MoJ"
_NOT_TOPIC = {
    "across", "said", "say", "says", "now", "overall", "today", "currently", "versus", "vs",
    "compared", "generally", "mentioned", "used",
}  # fmt: skip
_ENDS_TOPIC = re.compile(r"(?:ed|ly)$")  # a participle or an adverb
ROOT = 5  # letters of a longer topic word its other forms share: "centre", "center"


def surveyed(question: str) -> list[list[str]]:
    """What a question put to the documents together asks about, as the words of each
    thing it names, each up to its first small word: "What do the papers say about
    open-source AI and national security?" gives [["open", "source", "ai"], ["national",
    "security"]]; a possessive's owner is the thing ("the EU's approach": ["eu"]). []
    when it is not worded so, or when one is a verb ("about switching providers", "about
    depending on US firms": the documents may say "relying"). Figures and dotted
    initials ("U.S.") are left to the name check."""
    found = _ABOUT.search(question)
    if found is None:
        return []
    out = []
    for part in re.split(r"\s+(?:and|or|as well as)\s+", found.group("topic").lower()):
        words = re.findall(r"[a-z0-9][\w'’.-]*", part)
        while words and words[0] == "the":
            words.pop(0)
        if words and words[0].endswith("ing"):
            return []
        kept: list[str] = []
        for word in words:
            owner = re.sub(r"['’]s?$", "", word)
            if word in STOPWORDS or word in _NOT_TOPIC or (kept and _ENDS_TOPIC.search(word)):
                break
            if len(word) > 1 and not re.search(r"\d|\w\.\w", word):
                kept += [w for w in owner.split("-") if w]  # "open-source": "open source" too
            if owner != word:  # "the EU's approach" is about the EU
                break
        if kept:
            out.append(kept)
    return out


def speaks_to(text: str, topics: Sequence[Sequence[str]]) -> bool:
    """Whether `text` holds each word of one of `topics` (`surveyed`), a longer word in
    any of its forms (its first `ROOT` letters: "centre" and "center", "policy" and
    "policies", "defence" and "defense"); True without topics. Loose on purpose: a
    document wrongly kept is asked as before, one wrongly dropped is not heard."""
    lower = text.lower()
    return not topics or any(all(_any_form(lower, w) for w in words) for words in topics)


def _any_form(lower: str, word: str) -> bool:
    return any(_holds(lower, form) for form in _forms(word))


def _forms(word: str) -> set[str]:
    """The starts of a topic word's forms: "centres" and "centers" either way, a longer
    word by its first `ROOT` letters."""
    forms = {
        word,
        re.sub(r"(?<=[^aeiou])re(s?)$", r"er\1", word),
        re.sub(r"(?<=[^aeiou])er(s?)$", r"re\1", word),
    }
    return {w[:ROOT] if len(w) > ROOT else w for w in forms}


def phrased(text: str, topics: Sequence[Sequence[str]]) -> bool:
    """Whether `text` holds the words of one of `topics` together and in order, each in
    any of its forms ("data centers" for "data centres", "open source AI" for
    "open-source AI"): stricter than `speaks_to`, for a document the search left out."""
    for words in topics:
        starts = []
        for word in words:
            stems = set()
            for form in _forms(word):
                # a whole short word without its plural "s" ("tools": "tool"); a longer
                # word's start is kept as it is ("deepseek" is "deeps", not "deep")
                plural = form == word and len(form) > 3 and form.endswith("s")
                stem = form[:-1] if plural and not form.endswith("ss") else form
                stems |= {stem, other_spelling(stem) or stem}
            starts.append("(?:" + "|".join(re.escape(s) for s in sorted(stems)) + ")")
        if re.search(r"\b" + r"[\w'’]*[\s-]+".join(starts), text, re.I):
            return True
    return False


# What a question that compares documents asks each of them about ("Do ITIF and Demos
# agree on whether the UK should pursue AI sovereignty?" asks each "whether the UK should
# pursue AI sovereignty"): asked as typed, one document's draft answers the yes/no frame
# for both ("ITIF agrees that ...") from that document's passages alone.
_LEADING_MATTER = re.compile(
    r"^(?:on|about|regarding|when it comes to|as (?:for|to))\s+(?P<m>[^,?]{3,}?),\s", re.I
)
_COMPARED_ON = re.compile(
    r"(?:\b(?:agree|disagree|differ|diverge|compare|contrast|converge|align|split|part ways|"
    r"on the same (?:page|side)|see eye to eye|at odds|in agreement|in line)\b"
    r"|\b(?:agreement|disagreement|differences?|common ground) between .+?"
    r"(?=\s(?:as to|on|about|over|regarding|when it comes to)\s))"
    # "agree with each other on X", "agree with ITIF about X", "agree with ITIF that X"
    r"(?:\s+(?:with|from) (?:each other|one another|[^?]{1,60}?"
    r"(?=\s(?:about|on|over|regarding|as to|that|when it comes to)\s)))?"
    r"(?:\s+(?:in|on|of|about|over|regarding|as to|when it comes to))*"
    r"(?:\s+(?:their|its|how they)\s+(?:views?|takes?|stances?|positions?|approach(?:es)?|"
    r"thinking|assessments?|see|view|treat|think about)(?:\s+(?:of|on|about|to|towards))?)?"
    r"\s+(?P<m>[^?]+)",
    re.I,
)
_SAID_ABOUT = re.compile(
    r"\b(?:say|said|write|argue|propose|recommend|conclude|talk|speak|think|feel)s?"
    r"(?:,?\s+(?:respectively|each|in turn),?)?\s+(?:about|on|regarding)\s+"
    r"(?P<m>.+?)(?:\s+[-\u2013\u2014;:]\s+|[?;]|$)",
    re.I,
)
_VIEWED = re.compile(
    r"^how (?:do|does|did)\b.*?\b(?:frame|read|see|view|treat|describe|portray|approach|"
    r"handle|assess|judge|characteri[sz]e|regard|present|explain)\s+(?P<m>[^?]+)",
    re.I,
)
# "How are partnerships framed by A and by B?", "A's position on T differs from B's"
_PASSIVE = re.compile(
    r"^how (?:is|are|was|were) (?P<m>.+?) (?:framed|seen|viewed|treated|described|regarded|"
    r"portrayed|handled|assessed) by\b"
    r"|\b(?:position|view|stance|take|treatment|approach|reading) (?:on|of|to) (?P<m2>.+?) "
    r"(?:differ|compare|contrast)\w*\b",
    re.I,
)
# "Is self-sufficiency regarded as realistic by A and B?": whether it is realistic
_JUDGED = re.compile(
    r"^(?:is|are) (?P<m>.+?) (?:regarded|seen|viewed|considered|thought of|judged) as "
    r"(?P<how>[\w-]+(?: [\w-]+)?) by\b",
    re.I,
)
_BELIEVED = re.compile(
    r"^(?:do|does|did)\b.*?\b(?:think|believe|consider|expect|argue|claim|accept|reckon)\s+(?:that\s+)?"
    r"(?P<m>[^?]+?\b(?:is|are|was|were|can|could|should|would|will)\b[^?]*)",
    re.I,
)
# "ITIF vs Demos on X", "Where do A and B stand on X?", "What do A and B make of X?"
_VERSUS = re.compile(
    r"\b(?:vs\.?|versus)\s+[^?]+?\s+(?:on|about|over|regarding)\s+(?P<m>[^?]+)", re.I
)
_STANCE = re.compile(r"\b(?:stand|stands|make|makes)\s+(?:on|of)\s+(?P<m>[^?]+)", re.I)
# "the views of A and B on X (differ)", "Do A and B see X the same way?"
_VIEWS_OF = re.compile(
    r"\b(?:(?:views?|positions?|stances?|takes?)\s+of\s+[^?]+?\s+(?:on|about|regarding|towards?)"
    r"|(?:same|similar|different|differing)\s+(?:views?|takes?|positions?|stances?|approach)"
    r"\s+(?:of|on|about|to|towards?))\s+(?P<m>[^?]+?)"
    r"(?:\s+(?:differ|compare|contrast|diverge|agree)\w*)?(?=[?.!]|$)",
    re.I,
)
_SAME_WAY = re.compile(
    r"\bsee\s+(?P<m>[^?]+?)\s+(?:the same way|differently|alike|similarly|in the same light)\b",
    re.I,
)
# "Does A share B's view that X?", "Is A more positive than B about X?"
_SHARE = re.compile(
    r"\bshares?\s+[^?]*?\b(?:view|belief|position|concern|worry|scepticism|skepticism|"
    r"optimism|enthusiasm)\s+(?:about|on|of|over|(?=that\b))\s*(?P<m>[^?]+)",
    re.I,
)
_MORE = re.compile(
    r"\b(?:more|less)\s+(?:[\w-]+\s+){1,2}?(?:than\s+[^?]+?\s+)?(?:about|of|on|towards?)\s+"
    r"(?P<m>[^?,]+)",
    re.I,
)
# "Is X affordable according to A and B?", "According to A and B, should the UK ...?":
# the question without its sources
_ACCORDING = re.compile(
    r"(?:,\s*|\s+|^)(?:according to|in the view of|in the eyes of)\s+"
    r"(?P<who>[^,?]*?\b(?:and|both|each)\b[^,?]*?)(?=\s*[,?]|$),?",
    re.I,
)
_PREPOSITION = re.compile(r"\s(?:on|about|over|regarding|towards?|as to)\s+", re.I)
_AGAINST = re.compile(r",?\s+(?:compared|as against|versus|vs\.?|in contrast)\b.*$", re.I)
_NOT_A_MATTER = re.compile(r"(?:from|than|with|to|differs?|compares?|contrasts?|agrees?)\b", re.I)
_POINTER = re.compile(r"^(?:that|this|it|these|those|them|the same|the same thing)$", re.I)


def matter(question: str, names: Callable[[str], bool] | None = None) -> str | None:
    """What a question comparing documents asks each about, as a phrase that follows
    "what does X say about": "Do A and B think self-sufficiency is realistic?" gives
    "whether self-sufficiency is realistic"; None when the question is not worded so.
    `names(text)` says whether a text names one of the documents: a phrase that does
    ("ITIF and Demos on data localisation") is cut to what follows its first "on",
    "about" ("data localisation"), and is not used if that still names one ("differs
    from ITIF's")."""
    text = " ".join(question.split())
    found: list[tuple[str, int]] = []  # each phrase, and where its wording was found
    if lead := _LEADING_MATTER.match(text):
        found.append((lead.group("m"), 0))
    if judged := _JUDGED.match(text):
        verb = "are" if judged.group(0).lower().startswith("are") else "is"
        found.append((f"whether {judged.group('m')} {verb} {judged.group('how')}", 0))
    patterns = (_COMPARED_ON, _PASSIVE, _SAID_ABOUT, _VIEWED, _BELIEVED, _VERSUS, _STANCE)
    for pattern in (*patterns, _VIEWS_OF, _SAME_WAY, _SHARE, _MORE):
        if hit := pattern.search(text):
            phrase = next(g for g in hit.groups() if g)
            found.append(("whether " + phrase if pattern is _BELIEVED else phrase, hit.start()))
    if (source := _ACCORDING.search(text)) and (rest := _ACCORDING.sub("", text, count=1)):
        rest = rest.strip(" ,")
        found.append((f"the question “{rest[0].upper()}{rest[1:]}”", source.start()))
    found = [(_AGAINST.sub("", f).strip(" ,;:.?!"), at) for f, at in found]
    # "agree that X": whether X
    found = [(re.sub(r"^that\s+", "whether ", f, flags=re.I), at) for f, at in found]
    # not "from ITIF's" ("A's position on X differs from ITIF's") nor "differ from ..."
    found = [(f, at) for f, at in found if f and not _NOT_A_MATTER.match(f)]
    if names is not None:
        found = [(_unnamed(f, names), at) for f, at in found]
        found = [(f, at) for f, at in found if f]
    if not found:
        return None
    phrase, at = found[0]
    if _POINTER.match(phrase):  # "Is X wise? How do A and B differ on that?"
        sentences = [m for m in re.finditer(r"[^?]+\?", text) if not m.start() <= at < m.end()]
        asked = [m.group(0).strip() for m in sentences]
        return f"the question “{asked[0]}”" if len(asked) == 1 else None
    return phrase if tokenize(phrase) else None  # not only small words ("the same")


def _unnamed(phrase: str, names: Callable[[str], bool]) -> str:
    """The phrase, or what follows its first "on"/"about" if it names a document; ""
    if that names one too."""
    if not names(phrase):
        return phrase
    cut = _PREPOSITION.search(phrase)
    tail = phrase[cut.end() :].strip() if cut else ""
    return tail if tail and not names(tail) else ""


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
