"""Grounding: check each sentence of an answer against the passages, and fix its citations.

A fast, deterministic support test, used on every answer before it is shown:

- a claim's content words (not stop words, compared by their first five letters, so
  "investing" meets "investment"; "the UK's" is "the UK’s"; an acronym is present where
  the passage spells it out) must be mostly present in the passage, and
- every number and every capitalised name in the claim must appear in the passage,
  a name in initials ("MoJ") also as the phrase they abbreviate ("Ministry of Justice"),
  a country by any of its names ("Britain" as "the UK", `words.countries_as_codes`).
  Names the question uses get no exemption: a question that presupposes an actor ("How
  much is the Ministry of Justice paying...?") is what tempts a small model to pin a
  figure from another passage on that actor.

A sentence whose cited passages do not support it is re-cited to the given passage that
does, if one does, and keeps of the passages it cites only those it needs (`_needed`: a
"[1][2][3][4]" where [4] adds nothing cites [1][2][3]); a sentence no passage supports is
removed; an answer left with nothing
supported is replaced by the plain statement that the documents do not say. This catches
what small models do most: answering from memory with a made-up citation, and citing the
neighbouring passage.

The lexical test cannot see negation or swapped roles ("A bought B" against "B bought
A"), and it rejects faithful paraphrase. So when a verifier is given (the local model's
yes/no judgement, `verification.SupportModel.probability`, which the evaluation's
model judge also uses), three kinds
of sentence go to it once the draft is finished (the model is busy until then): a
sentence the lexical test rejects, which is shown if the model finds a passage that
supports it (rescued rather than withheld); a sentence its own marker does not support,
unless it is copied word for word from a passage (the model did not know where it came
from: "The Ministry of Justice employs 1,000 probation officers" from "more than 1,000
probation officers are already using ...");
and a sentence that states a stance or a negation ("ITIF is for countries building
their own AI"). The last two are shown only if the model agrees a passage says so, but
a sentence of the second kind whose every word beyond the question's own is in the
passage it was moved to (`_adds_only`: the answer is the passage's, the rest echoes the
question) is shown when the model is unsure (`UNSURE_FLOOR`) rather than against it.
Sentences after a held one wait with it, so the order is kept; the others stream as
soon as they are checked.

Whatever the lexical test and the verifier say, a sentence is withheld when it names as
its source a document none of its cited passages comes from ("The authors of the
Sovereign AI paper set up ..." cited to a Demos passage that mentions the UK's Sovereign
AI Unit; `_sourced`), speaks for two documents and cites one (`_joint`), or gives a figure
or a place to another name than its passage does (`_attributed`).

The answer is also tidied as it is checked: sentences are split by pysbd ("e.g.",
"Mr.", "p. 12" do not end one), a passage's label copied into the text is removed
whole (its section's "4." does not end a sentence) or, as a sentence's subject, replaced
by the document's short title ("“The Open Dividend” says ..."),
repeated markers and repeated sentences are dropped, and a last sentence cut off by the
token limit is not shown. Every decision is kept (`Checked.reason`) for the record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from .prompting import MARKER, is_decline
from .words import (
    PHRASE,
    STOPWORDS,
    capital_of,
    countries_as_codes,
    countries_named,
    phrase_initials,
)

# what ends a sentence, before the space pysbd cuts at: a full stop, question or
# exclamation mark (closing quotes or brackets after it), or a citation marker; pysbd also
# cuts before an enumeration inside a sentence, "(a) ..., (b) ...", which is no end
_ENDS_SENTENCE = re.compile(r"(?:[.!?…][\"”’')\]]*\d{0,3}|\])\s*$")  # ".12 ": a footnote
_LEADING_MARKERS = re.compile(r"\s*(?:\[[\d,\s]+\][ \t]*)+")
_CLOSING = re.compile(r"[\"”’)]+")  # closing quotes or brackets that end the sentence before
_MARKERS_WRITTEN = (
    r"\s+(?:(?:the\s+)?(?:sources?|passages?)\s+)?\[\d{1,3}\](?:\s*(?:,|and|&)\s*\[\d{1,3}\])*"
)
_MARKER_AS_OBJECT = re.compile(
    rf"(?:,\s*)?\b(?:(?:[Aa]ccording to|[Aa]s (?:stated|noted|said|set out) in){_MARKERS_WRITTEN}"
    # "in [2]" ends "phased in [2]." as a marker: only with more of the sentence after it
    rf"|(?:[Ii]n|[Ff]rom){_MARKERS_WRITTEN}(?=\s*,|\s+[A-Za-z]))(?:,(?=\s))?"
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-Z][a-zA-Z]+(?:[-\s][A-Z][a-zA-Z]+)*")
COVERAGE_THRESHOLD = 0.6


@dataclass(frozen=True)
class Sentence:
    text: str  # without its markers
    cited: tuple[int, ...]


@dataclass(frozen=True)
class Support:
    coverage: float
    missing_numbers: tuple[str, ...]
    missing_names: tuple[str, ...]

    @property
    def supported(self) -> bool:
        return (
            self.coverage >= COVERAGE_THRESHOLD
            and not self.missing_numbers
            and not self.missing_names
        )


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def segment(text: str) -> list[str]:
    """The text cut into raw sentences that join back into it: each line apart, each line
    by pysbd, and markers that open a piece given to the sentence before them, as are the
    quotes or brackets that close it (pysbd cuts '... the UK." [4]' before its quote): a
    quote followed by a word opens the next sentence ('"We want ...', "’90s"), one
    followed by a space, a marker or nothing closes the one before."""
    pieces: list[str] = []
    for line in re.split(r"(?<=\n)", text):
        if not line.strip():
            if pieces:
                pieces[-1] += line
            elif line:
                pieces.append(line)
            continue
        spans = _segmenter().segment(line)
        cuts = [
            span.start
            for span in spans[1:]
            if _ENDS_SENTENCE.search(line, 0, span.start)  # not "must not be (a) ..., (b) ..."
        ]
        bounds = [0, *cuts, len(line)]
        for start, end in zip(bounds, bounds[1:], strict=False):
            piece = line[start:end]
            closing = _CLOSING.match(piece)
            if closing and start > 0 and not piece[closing.end() : closing.end() + 1].isalnum():
                pieces[-1] += closing.group(0)
                piece = piece[closing.end() :]
            lead = _LEADING_MARKERS.match(piece)
            if lead and pieces and lead.end() > 0:
                pieces[-1] += piece[: lead.end()]
                piece = piece[lead.end() :]
            if piece:
                pieces.append(piece)
    return pieces


def split_sentences(answer: str) -> list[Sentence]:
    """Sentences with the markers that follow them ("Text [1]." and "Text. [1]" alike)."""
    sentences = []
    for piece in segment(answer):
        cited = tuple(int(n) for m in MARKER.finditer(piece) for n in m.group(1).split(","))
        # a marker written as a noun ("In [4], he said") goes with the words that govern it
        bare = _MARKER_AS_OBJECT.sub(" ", piece).lstrip()
        if _MARKER_AS_OBJECT.match(piece.lstrip()):  # it opened the sentence
            bare = bare[:1].upper() + bare[1:]
        text = " ".join(MARKER.sub(" ", bare).split())
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        text = re.sub(rf"(?<=[.!?])\s+({_CLOSING.pattern})$", r"\1", text)  # 'cybersecurity. "'
        if re.search(r"[A-Za-z0-9]", text):
            sentences.append(Sentence(text, cited))
    return sentences


def _stem(word: str) -> str:
    return word[:5]


def content_words_ordered(text: str) -> list[str]:
    """The sentence's content-word stems in order (two sentences saying the same thing in
    the same words give the same list)."""
    words = re.findall(r"[a-z][a-z'-]+|\d+(?:[.,]\d+)*", text.lower().replace("’", "'"))
    words = [re.sub(r"'s?$", "", w) for w in words]  # "the UK’s" is "the UK's", of "UK"
    return [_stem(w) for w in words if w not in STOPWORDS and len(w) > 2]


def _repeat_key(text: str) -> str:
    """What two sentences saying the same thing share: their content words in order and
    their names ("The UK's approach ..." is not "The EU's approach ...")."""
    return " ".join([*content_words_ordered(text), *sorted(_names(text))])


def content_words(text: str) -> set[str]:
    return set(content_words_ordered(text))


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


_SPELLED = {
    word: str(n)
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70"}
_SPELLED |= {"eighty": "80", "ninety": "90", "hundred": "100", "dozen": "12"}
_SPELLED_NUMBER = re.compile(rf"\b(?:{'|'.join(_SPELLED)})\b", re.I)


def _passage_numbers(passage: str) -> set[str]:
    """The passage's numbers, those written in words as well: a passage saying "four
    open-source models" supports "4 models"."""
    spelled = {_SPELLED[w.lower()] for w in _SPELLED_NUMBER.findall(passage)}
    return _numbers(passage) | spelled


def _names(text: str) -> set[str]:
    names: set[str] = set()
    for match in _NAME.finditer(text):
        words = re.split(r"[-\s]", match.group(0))
        if match.start() == 0 and len(words) == 1:
            continue  # a capital that only opens the sentence
        words = [w for w in words if w.lower() not in STOPWORDS]
        names.update(w.lower() for w in words if len(w) > 1)
    return names


def _initials(text: str) -> set[str]:
    """The initials of the passage's capitalised phrases, with and without connectors."""
    return {initials for phrase in PHRASE.findall(text) for initials in phrase_initials(phrase)}


def _acronyms(text: str) -> str:
    """ "U.S." and "U.K." written as "US" and "UK"."""
    return re.sub(r"\b((?:[A-Z]\.){2,})", lambda m: m.group(1).replace(".", ""), text)


# Capitalised adjectives ("Western", "British", "Chinese"): a passage may say "the West".
_ADJECTIVE = re.compile(r"(?:ern|ese|ish|ian|ean|ican|ic)$")


def _place_adjectives(text: str) -> set[str]:
    """The words of capitalised runs that end in an adjective of place: "South Korean",
    "Latin American" and "Sub-Saharan African" name no one, whatever their first words."""
    out: set[str] = set()
    for match in _NAME.finditer(text):
        words = [w.lower() for w in re.split(r"[-\s]", match.group(0)) if w]
        if len(words) > 1 and _ADJECTIVE.search(words[-1]):
            out.update(words)
    return out


_WORD_CODES = re.compile(r"\b(?:AND|ARE|CAN|NOR)\b")  # Andorra, the UAE, Canada, Norway


def unmentioned(question: str, passages: str) -> list[str]:
    """Names in the question (capitalised words, initials) that the passages never
    mention, in full or by initials: "How many NHS staff ...?" over passages that never
    mention the NHS cannot be answered from them, however true a sentence about other
    staff is. Adjectives of place are left out, a capital is mentioned when its country
    is ("Washington" by "the U.S."), and a spelled-out name when its acronym is ("Open
    Compute Project" by "OCP")."""
    passages = countries_as_codes(_acronyms(passages))
    words = set(re.findall(r"[a-z0-9@]+", passages.lower()))
    asked = countries_as_codes(_acronyms(question))
    missing = [
        n
        for n in _names(asked) - _place_adjectives(asked)
        if n not in words and not _ADJECTIVE.search(n) and capital_of(n) not in words
    ]
    # a country whose code is also a small word ("CAN", "NOR", "ARE", "AND") is matched
    # by its code as written, not by the word
    named = countries_named(_acronyms(question))
    missing += [
        c.lower()
        for c in _WORD_CODES.findall(asked)
        if c.lower() in named and not re.search(rf"\b{c}\b", passages)
    ]
    if missing:
        found = _spelled_initials(passages)
        missing = [n for n in missing if n not in found]
    if missing:  # "Open Compute Project" over a passage that says "OCP"
        shortened = _shortened(asked, {a.lower() for a in _ACRONYM.findall(passages)})
        missing = [n for n in missing if n not in shortened]
    if missing:  # "LLMs" over passages that say "large language models"
        missing = [n for n in missing if not _spelled_out(n, passages)]
    if missing:  # a country as the question names it ("Britain"), not by its code
        missing = [named[n].split()[0].lower() if n in named else n for n in missing]
        asked = _acronyms(question)
    lower = asked.lower()  # in the question's order: "Red Hat", not "hat, red"

    def where(name: str) -> int:
        found = re.search(rf"(?<![a-z0-9@]){re.escape(name)}(?![a-z0-9@])", lower)
        return found.start() if found else len(lower)

    return sorted(missing, key=lambda n: (where(n), n))


_ACRONYM = re.compile(r"\b(?=\w*[A-Z]\w*[A-Z])[A-Za-z]{3,6}\b")  # NHS, MoJ, OCP


# Abbreviations of one word, which no initials spell: "digital ID" is "digital identity".
_SHORT_FOR = {"id": r"identit(?:y|ies)|identification|identifiers?"}


def _spelled_out(name: str, passages: str) -> bool:
    """Whether the passages spell out an abbreviation of the question in words of any
    case: "LLMs" by "large language models", "SME" by "small and medium-sized
    enterprises", "GDP" by "gross domestic product", "ID" by "identity". Each word of
    the spelling has four letters or more ("in place" spells no "IP")."""
    letters = name[:-1] if len(name) > 2 and name.endswith("s") else name
    if not re.fullmatch(r"[a-z]{2,5}", letters):
        return False
    if letters in _SHORT_FOR:
        return re.search(rf"\b(?:{_SHORT_FOR[letters]})\b", passages, re.I) is not None
    words = r"(?:\s+(?:and|of|for|&)\s+|\s+)".join(rf"{c}[a-z]{{3,}}(?:-[a-z]+)*" for c in letters)
    return re.search(rf"\b{words}\b", passages, re.I) is not None


def _shortened(question: str, acronyms: set[str]) -> set[str]:
    """The words of the question's capitalised names that the acronyms abbreviate:
    "National Health Service" by "NHS", also as "In the National Health Service"; two
    names joined by "and" are two names ("Cohere and Nvidia" is not "CAN")."""
    out: set[str] = set()
    for run in _RUN.findall(question):
        for name in re.split(r"\s+and\s+", run):
            words = name.split()
            for start, word in enumerate(words):
                if not word[:1].isupper():
                    continue
                tail = " ".join(words[start:])
                if phrase_initials(tail) & acronyms:
                    out.update(w.lower() for w in re.split(r"[-\s]+", tail))
                    break
    return out


_RUN = re.compile(
    r"\b[A-Z][a-z]+(?:(?:-|[ \t]+(?:(?:of|for|and|the|on|in|to)[ \t]+)?)[A-Z][a-z]+)+"
)


def _hyphenated_initials(text: str) -> set[str]:
    """Initials of capitalised runs whose words are joined by hyphens too:
    "Asia-Pacific Economic Cooperation" gives "apec"."""
    out = set()
    for run in _RUN.findall(text):
        words = [w for w in re.split(r"[-\s]+", run) if w]
        for start in range(len(words) - 1):  # "At the Asia-Pacific ..." holds "Asia-..."
            tail = words[start:]
            out.add("".join(w[0] for w in tail if w[0].isupper()).lower())
            out.add("".join(w[0] for w in tail).lower())
    return out


@lru_cache(maxsize=512)
def _spelled_initials(text: str) -> frozenset[str]:
    """The initials of every name the text spells out, hyphenated ones too: what an
    acronym written elsewhere ("MoJ", "APEC") is met by. Kept per text: a passage is
    read again for each sentence checked against it."""
    return frozenset(_initials(text) | _hyphenated_initials(text))


def _place_met(adjective: str, words: set[str]) -> bool:
    """Whether a passage's words (lower case, countries as codes) name the place an
    adjective is of: "korean" by "korea", "western" by "west", "american" by "USA",
    "chinese" by "China"."""
    for cut in range(1, 5):
        root = adjective[:-cut]
        if len(root) < 4:
            break
        if any(w.startswith(root) for w in words):
            return True
        for name in (root, root + "a", root + "ain", root + "y"):  # China, Britain, Italy
            code = countries_as_codes(name.capitalize())
            if code != name.capitalize() and code.lower() in words:
                return True
    return False


def support(claim: str, passage: str) -> Support:
    """How far the passage supports the claim, by the lexical test above (a country
    named either way: "Britain" is met by "the UK"; a name by its initials either way;
    an adjective of place by its place)."""
    written = claim
    claim, passage = countries_as_codes(claim), countries_as_codes(passage)
    passage_lower = set(re.findall(r"[a-z0-9]+", passage.lower()))
    # the words of a name the passage writes as its acronym ("Open Compute Project": "OCP")
    # and of a place the passage names ("South Korean": "Korea", "Western": "the West")
    met = _shortened(claim, {a.lower() for a in _ACRONYM.findall(passage)})
    met |= _places_met(claim, passage_lower)
    # and the claim's acronyms the passage spells out ("APEC": "Asia-Pacific Economic
    # Cooperation"), as words as well as names; not a country's code ("Canada" is no
    # "Cohere and Nvidia")
    short = {a.lower() for a in _ACRONYM.findall(written)} - passage_lower
    short -= {name.lower() for name in countries_named(written).values()}
    if short:
        met |= short & _spelled_initials(passage)
    words = content_words(claim)
    passage_words = content_words(passage) | {_stem(w) for w in met}
    coverage = len(words & passage_words) / len(words) if words else 1.0
    passage_numbers = _passage_numbers(passage)
    missing_numbers = tuple(sorted(n for n in _numbers(claim) if n not in passage_numbers))
    missing = [n for n in _names(claim) if n not in passage_lower and n not in met]
    if missing:  # "APEC" met by "Asia-Pacific Economic Cooperation"
        initials = _spelled_initials(passage)
        missing = [n for n in missing if n not in initials]
    missing_names = tuple(sorted(missing))
    return Support(round(coverage, 3), missing_numbers, missing_names)


def _places_met(claim: str, words: set[str]) -> set[str]:
    """The words of the claim's adjectives of place ("South Korean", "Western") whose
    place the passage's words name."""
    out: set[str] = set()
    for run in _NAME.finditer(claim):
        parts = [w.lower() for w in re.split(r"[-\s]", run.group(0)) if w]
        for i, word in enumerate(parts):
            if _ADJECTIVE.search(word) and _place_met(word, words):
                out.add(word)
                j = i
                while j > 0 and parts[j - 1] in _COMPASS:  # "South Korean", "North African"
                    j -= 1
                    out.add(parts[j])
    return out


_COMPASS = {"north", "south", "east", "west", "central", "northern", "southern", "eastern"}


@dataclass(frozen=True)
class Checked:
    sentence: Sentence
    cited: tuple[int, ...]  # after re-citing
    supported: bool
    recited: bool
    reason: str = ""  # why it was shown, re-cited or withheld (for the record)
    verified: float | None = None  # the verifier's P(supported), when it was asked

    def record(self) -> dict[str, Any]:
        return {
            "text": self.sentence.text,
            "drafted_cites": list(self.sentence.cited),
            "cited": list(self.cited),
            "shown": self.supported,
            "reason": self.reason,
            "verified": self.verified,
        }


def check_answer(answer: str, passages: list[str]) -> list[Checked]:
    """Each sentence with the passages that support it (numbers are 1-based)."""
    checked = []
    for sentence in split_sentences(answer):
        if is_decline(sentence.text):  # no content words: any passage would "support" it
            checked.append(
                Checked(sentence, (), True, False, "the model says the sources do not answer")
            )
            continue
        if not content_words(sentence.text):  # ", 4." left of a copied label
            checked.append(Checked(sentence, (), False, False, "not a sentence"))
            continue
        valid = tuple(dict.fromkeys(n for n in sentence.cited if 1 <= n <= len(passages)))
        joined = " ".join(passages[n - 1] for n in valid)
        if valid and support(sentence.text, joined).supported:
            kept = _needed(sentence.text, valid, passages)
            reason = "its passage supports it"
            if kept != valid:
                reason += f" (passage {', '.join(str(n) for n in kept)} without the others cited)"
            checked.append(Checked(sentence, kept, True, False, reason))
            continue
        best = _best_passage(sentence.text, passages)
        if best is not None:
            checked.append(
                Checked(
                    sentence, (best,), True, True, f"re-cited to passage {best}, which supports it"
                )
            )
        elif (each := _clause_passages(sentence.text, passages)) is not None:
            checked.append(
                Checked(
                    sentence, each, True, valid != each, "each clause is supported by its passage"
                )
            )
        else:
            checked.append(Checked(sentence, valid, False, False, _why_not(sentence, passages)))
    return checked


def _needed(text: str, cited: tuple[int, ...], passages: list[str]) -> tuple[int, ...]:
    """The passages of `cited` that a sentence they support together needs: each, from the
    last, is dropped while the others still support it ("... for document analysis,
    compliance, research and transcription [1][2][3][4]" where [4], another document's,
    adds nothing). A passage whose label (its first line) the sentence names is kept:
    "According to Demos and ITIF, ... [1][2]" cites both, whatever [1] says of ITIF."""
    named = _names(text)
    kept = list(cited)
    for n in reversed(cited):
        if named & _names(passages[n - 1].split("\n", 1)[0]):
            continue
        rest = [m for m in kept if m != n]
        if rest and support(text, " ".join(passages[m - 1] for m in rest)).supported:
            kept = rest
    return tuple(kept)


def _why_not(sentence: Sentence, passages: list[str]) -> str:
    """What the lexical test found missing, against the cited passages or the closest."""
    valid = [n for n in sentence.cited if 1 <= n <= len(passages)]
    if not valid and passages:
        valid = [
            max(
                range(1, len(passages) + 1),
                key=lambda n: support(sentence.text, passages[n - 1]).coverage,
            )
        ]
    if not valid:
        return "no passage supports it"
    found = support(sentence.text, " ".join(passages[n - 1] for n in valid))
    spelled = countries_named(_acronyms(sentence.text))  # "Britain", not its code
    names = [spelled[n].lower() if n in spelled else n for n in found.missing_names]
    missing = [*found.missing_numbers, *names]
    where = ", ".join(str(n) for n in valid)
    if missing:
        return f"no passage supports it ({', '.join(missing)} not in passage {where})"
    return f"no passage supports it (only {found.coverage:.0%} of its words in passage {where})"


# Where a comparison joins two claims in one sentence ("A argues X, while B says Y").
_CLAUSE_BREAK = re.compile(r",?\s+(?:while|whereas)\s+|;\s+|,\s+but\s+|,\s+and\s+(?=the\s+[A-Z])")


def _clause_passages(claim: str, passages: list[str]) -> tuple[int, ...] | None:
    """The passages supporting each clause of a compound sentence, if every clause has
    one: each clause is checked like a sentence, so no clause borrows another's passage."""
    clauses = [c for c in _CLAUSE_BREAK.split(claim) if c.strip()]
    if len(clauses) < 2:
        return None
    found = [_best_passage(clause, passages) for clause in clauses]
    if any(n is None for n in found):
        return None
    return tuple(sorted({n for n in found if n is not None}))


def _best_passage(claim: str, passages: list[str]) -> int | None:
    scored = [(support(claim, p), n) for n, p in enumerate(passages, start=1)]
    good = [(s.coverage, -n, n) for s, n in scored if s.supported]
    return max(good)[2] if good else None


def render(checked: list[Checked]) -> str:
    """The answer rebuilt from its supported sentences, each with its markers."""
    parts = []
    for item in checked:
        if not item.supported:
            continue
        text = item.sentence.text
        markers = "".join(f"[{n}]" for n in dict.fromkeys(item.cited))
        if text[-1:] in ".!?":
            parts.append(f"{text[:-1]} {markers}{text[-1]}" if markers else text)
        else:
            parts.append(f"{text} {markers}".strip())
    return " ".join(parts)


# A sentence that takes a side or denies: the lexical test passes it when the words are
# all there, whatever the passage concludes, so the verifier must agree with it.
_STANCE = re.compile(
    r"\b(?:not|no longer|never|neither|nor|cannot|can't|doesn't|don't|isn't|aren't|won't|"
    r"against|oppos\w*|reject\w*|critic\w*|sceptic\w*|skeptic\w*|favou?r\w*|endors\w*|"
    r"(?:dis)?agree[sd]?|"
    r"(?:is|are|was|were)\s+for)\b",
    re.I,
)
NOT_CONFIRMED = "the model finds no passage that says so"  # a withheld sentence's reason
VERIFY_THRESHOLD = 0.6  # chosen on eval/judge_calibration.jsonl (the judge uses it too)
# A sentence the lexical test passed, asked of the model only for its marker, whose
# words beyond the question's are all its passage's, is shown when the model is unsure
# rather than against it (`SentenceStream._adds_only`)
UNSURE_FLOOR = 0.4
MIN_ADDED_WORDS = 2  # a bare figure added to the question's words is not enough
ADDS_ONLY = "every word it adds to the question is its passage's; the model is unsure"
VETO_COVERAGE = 0.35  # below this share of its words in a passage the model is not asked
MAX_VERIFICATIONS = 6  # model calls per answer (about 1-2 s each on two cores)
MAX_SENTENCES = 6  # shown per draft: past this a small model drifts into boilerplate
LABEL_HEAD = 12  # characters of a label's start that mark a copy of it in the draft
LABEL_WAIT = 400  # characters of the draft's end searched for an unfinished label

Verify = Callable[[str, str], float]


def needs_verifier(item: Checked, passages: Sequence[str] = ()) -> bool:
    """A sentence the lexical test rejected, one its own marker did not support (the
    model was unsure where it came from) unless it is a whole statement copied word for
    word from the passage it was re-cited to, or one stating a stance or a negation."""
    text = item.sentence.text
    if is_decline(text):
        return False
    if not item.supported or _STANCE.search(text):
        return True
    return item.recited and not any(
        verbatim(text, passages[n - 1]) and self_standing(text, passages[n - 1]) for n in item.cited
    )


# A sentence that says two documents hold the same view, or that each does something.
_JOINT_CLAIM = re.compile(r"\b(?:both|agree[sd]?|alike|neither)\b", re.I)
JOINT = "speaks for documents it cites no passage of"
MISSOURCED = "names as its source a document it cites no passage of"
# A sentence that says whose claim it is: "According to Demos, ...", "The authors of the
# Sovereign AI paper set up ...", "The Demos paper also discusses ...", "ITIF argues ...".
_DOCUMENT_NOUN = (
    r"(?:paper|report|piece|digest|commentary|article|study|brief|write-up|news item|"
    r"analysis|authors?)(?![\w-])"  # "reporting" or "papers" is no "report", "paper"
)
_SOURCE_PHRASE = (
    rf"(?:the\s+)?(?:[A-Z@][\w@&.'’-]*|{_DOCUMENT_NOUN})"
    rf"(?:\s+(?:[A-Z@][\w@&.'’-]*|of|and|&|the|{_DOCUMENT_NOUN}))*"
)
_SOURCE_VERB = (
    r"(?:says?|said|argues?|argued|states?|stated|recommends?|recommended|describes?|"
    r"notes?|noted|warns?|warned|suggests?|suggested|proposes?|proposed|writes?|"
    r"wrote|highlights?|highlighted|emphasi[sz]es|emphasi[sz]ed|believes?|sees|saw|claims?|"
    r"claimed|contends?|concludes?|concluded|maintains?|finds|found|calls? for|"
    r"points? (?:out|to)|sets? up|establishes|cites?|cited|mentions?|mentioned|"
    r"acknowledges?|acknowledged|admits?|admitted|considers?|views?|"
    r"characteri[sz]es|characteri[sz]ed|frames?|discuss(?:es|ed)?|talks? about|"
    r"explains?|explained|reports|reported|observes?|observed|predicts?|predicted|expects?|"
    r"estimates?|wants?|wanted|think|thinks|urge|urges|urged|insists?|insisted)"
)
_SOURCED = [
    re.compile(
        rf"\b(?:[Aa]ccording to|[Aa]uthors? of|[Pp]ublished by|[Ww]ritten by)\s+"
        rf"(?P<source>{_SOURCE_PHRASE})"
    ),
    # the subject that opens the sentence, before a verb of saying
    re.compile(
        r"^\W*(?P<source>(?:The\s+)?[\w@&.'’“”\"-]+(?:\s+[\w@&.'’“”\"-]+){0,9}?)\s+"
        rf"(?<!\bis)(?<!\bare)(?<!\bwas)(?<!\bwere)(?<!\bbe)(?<!\bbeen)"
        rf"(?:also\s+|further\s+|explicitly\s+)?{_SOURCE_VERB}\b"
    ),
]
# a question that asks what a document holds: "What does the Sovereign AI paper say
# about ...?", "According to Demos, ...?", "... in the Cambridge report?"
_ASKED_OF = [
    re.compile(
        rf"\b(?:does|do|did|would|will)\s+(?P<source>{_SOURCE_PHRASE})\s+"
        r"(?:say|think|argue|recommend|propose|want|mean|suggest|describe|see|make of|"
        r"conclude|claim|find|call for|consider|view|warn|note|state|characteri[sz]e|frame|"
        r"discuss|explain|expect|estimate|predict|cite|mention|set out|lay out|offer|"
        r"advise|urge|list|name|give|report|identify|highlight|stress|single out)\b"
    ),
    re.compile(rf"\b[Aa]ccording to\s+(?P<source>{_SOURCE_PHRASE})"),
    # "in the ITIF piece", "per the Demos paper", "the Cambridge report recommends"; not a
    # document the question is about ("Who criticises the Demos paper's proposals?")
    re.compile(
        rf"\b(?:[Ii]n|[Ff]rom|[Pp]er|[Bb]y)\s+(?P<source>the\s+(?:[A-Z@][\w@&.'’-]*\s+){{1,6}}"
        rf"{_DOCUMENT_NOUN})"
    ),
    re.compile(
        rf"(?P<source>\b[Tt]he\s+(?:[A-Z@][\w@&.'’-]*\s+){{1,6}}{_DOCUMENT_NOUN})\s+"
        rf"(?:also\s+)?{_SOURCE_VERB}\b"
    ),
]


def asked_of(question: str, named: Callable[[str], set[str]]) -> set[str]:
    """The documents a question asks what they hold, by the names `named` finds in how
    it points to them ("What does the Sovereign AI paper say about ...?"); not a name
    that is only words of the question ("China's National AI Team for Governance")."""
    out: set[str] = set()
    for pattern in _ASKED_OF:
        for found in pattern.finditer(question):
            out |= named(found.group("source"))
    return out


MISATTRIBUTED = "gives a figure to another name than its passage does"
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[A-Za-z][\w&@'’-]*")
OWNER_REACH = 12  # words back from a figure to the name it belongs to


def _owners(text: str) -> list[list[tuple[str, str]]]:
    """For each sentence, its figures, each with the nearest name before it (who reported,
    spent or saved it). Acronyms are not owners: "GDP", "OCP" and "AI" sit beside
    figures that are not theirs."""
    out = []
    for sentence in split_sentences(text):
        tokens = _TOKEN.findall(sentence.text)
        named = [t[:1].isupper() and not t.isupper() and t.lower() not in STOPWORDS for t in tokens]
        pairs = []
        for i, token in enumerate(tokens):
            if token[:1].isdigit():
                back = range(i - 1, max(-1, i - 1 - OWNER_REACH), -1)
                j = next((j for j in back if named[j]), None)
                if j is not None:
                    pairs.append((token.replace(",", ""), tokens[j].lower()))
        out.append(pairs)
    return out


def misattribution(claim: str, passage: str) -> tuple[str, str, str] | None:
    """(figure, the claim's owner of it, the passage's) when the claim gives a figure to
    a name that the passage's sentence gives another figure, the figure itself going to
    someone else: "Meta reported over 40% cost savings" from "Microsoft has reported over
    40% cost savings ..., Meta reported saving $1.2 billion". Every word is in the
    passage, so the lexical test cannot see the swap, and the local model's yes/no check
    accepts it too (P(yes) 0.84)."""
    claimed = {figure: owner for pairs in _owners(claim) for figure, owner in pairs}
    if not claimed:
        return None
    for pairs in _owners(passage.split("\n", 1)[-1]):  # not the label line
        first: dict[str, str] = {}
        for figure, owner in pairs:
            first.setdefault(figure, owner)
        for figure, owner in claimed.items():
            theirs = first.get(figure)
            if theirs and theirs != owner and any(o == owner and f != figure for f, o in pairs):
                return figure, owner, theirs
    return None


# the European Union acts as a country does: it funds, regulates and spends
_UNION = re.compile(r"\b(?:EU|European Union|European Commission)\b")
_YEAR = re.compile(r"(?:19|20)\d\d")


def _places(text: str) -> dict[str, str]:
    """The countries a text names, and the EU, by code (lower case), as written."""
    out = countries_named(text)
    if found := _UNION.search(text):
        out["eu"] = found.group(0)
    return out


def figure_elsewhere(claim: str, passage: str) -> tuple[str, str, str] | None:
    """(figure, the claim's place, the passage's) when the claim gives a figure to a
    country (or the EU), named before it in its sentence, while every sentence of the
    passage that holds the figure gives it to another, named before it there, and names
    the claim's neither there nor in the sentence before: "The UK has committed €20
    million funding to the OpenEuroLLM project" from "The EU has provided €20 million
    funding to the OpenEuroLLM project" (the passage names the UK elsewhere, so the
    lexical test passes it). A place after the figure is not its owner ("Nvidia will
    invest £2 billion in the UK"); a year is no one's figure."""
    sentences = segment(passage.split("\n", 1)[-1])  # not the label line
    for figure in sorted(_numbers(claim)):
        if _YEAR.fullmatch(figure):
            continue
        mine = _places(_before(claim, figure))
        holding = [i for i, s in enumerate(sentences) if figure in _passage_numbers(s)]
        if not mine or not holding:
            continue
        theirs = [_places(_before(sentences[i], figure)) for i in holding]
        near = {code for i in holding for code in _places(sentences[i])}
        near |= {code for i in holding if i for code in _places(sentences[i - 1])}
        if all(theirs) and not near & mine.keys():
            return figure, next(iter(mine.values())), next(iter(theirs[0].values()))
    return None


def _before(sentence: str, figure: str) -> str:
    """The sentence up to the figure's first place in it (all of it when the figure is
    written in words there)."""
    for match in _NUMBER.finditer(sentence):
        if match.group(0).replace(",", "") == figure:
            return sentence[: match.start()]
    return sentence


MISPLACED = "says it happened at a place its passage does not"
# "at the <Name>": a venue or an event ("at the White House", "at the Paris AI Summit");
# "good at AI", "aimed at US firms", "at EU level" name no place
_AT_NAME = re.compile(
    r"\bat\s+the\s+(?P<name>[A-Z][\w&'’.-]*(?:\s+(?:of\s+|and\s+)?[A-Z][\w&'’.-]*)*)"
)
# who belongs to a place rather than did something there: "officials at the Ministry"
_MEMBERS = re.compile(
    r"^(?:staff|officers?|officials?|employees?|researchers?|head|heads|directors?|envoys?|"
    r"advis[eo]rs?|ministers?|teams?|people|workers?|servants|experts?|leaders?|chiefs?|"
    r"secretar(?:y|ies)|members?|scientists?|engineers?|colleagues?|spokes(?:person|man|woman))$",
    re.I,
)


def misplaced(claim: str, body: str) -> str | None:
    """The claim's "at the <Name>" when its passages' text (`body`, without their labels)
    gives the name but never within four words after "at" or "during": "Kratsios
    endorsed AI sovereignty at the White House" from "At the 21-nation ... meeting in
    South Korea last month, White House Technology Advisor Michael Kratsios endorsed
    ...". Every word is in the passage, so the lexical test passes it; asked "Who at the
    White House ...?", a small model puts the question's words there. After a person's
    name or a word for members, "at" says whose they are, not where: "Michael Kratsios at
    the White House", "officials at the Ministry of Justice"."""
    for found in _AT_NAME.finditer(claim):
        before = claim[: found.start()].split()
        last = before[-1].strip(",") if before else ""
        if (last[:1].isupper() and not last.isupper()) or _MEMBERS.match(last):
            continue
        name = found.group("name").rstrip(".")
        at_it = rf"\b(?:at|during)\s+(?:\S+\s+){{0,3}}{re.escape(name)}\b"
        if re.search(rf"\b{re.escape(name)}\b", body) and not re.search(at_it, body, re.I):
            return found.group(0).rstrip(".")
    return None


MISAUTHORED = "says who wrote it where its passage does not"
_WROTE_BY = re.compile(
    r"\b(?:written|authored|co-authored|penned|edited)\s+by\s+"
    r"(?P<name>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*)*)"
)
_WROTE = re.compile(
    r"(?P<name>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*)*)\s+(?:wrote|authored|co-authored|penned)\b"
)
AUTHOR_REACH = 8  # words between an authorship word and the name it is about, in a sentence
_SENTENCE_END = re.compile(
    r"(?<=[a-z0-9)”\"][.!?])\s+|\n"
)  # not after an initial: "David L. Shrier"
_AUTHOR_CUE = r"\b(?:by|authors?|authored|co-authored|wrote|written|writes|edited|editors?)\b"
_AUTHOR_NEAR = rf"(?:\W+\S+){{0,{AUTHOR_REACH}}}?\W+"


def misauthored(claim: str, body: str) -> str | None:
    """The name the claim says wrote something ("written by Professor Neil Lawrence",
    "Neil Lawrence wrote ...") when its passages' text (`body`, without their labels)
    gives the name but never near "by", "author", "wrote" or "edited": asked "Who wrote
    the Cambridge piece?", a small model made the professor it quotes ("..., said
    Professor Neil Lawrence") its author. A name only a label holds (a paper's authors)
    is not checked."""
    for pattern in (_WROTE_BY, _WROTE):
        for found in pattern.finditer(claim):
            surname = found.group("name").split()[-1].rstrip(".,")
            if len(surname) < 2 or not re.search(rf"\b{re.escape(surname)}\b", body):
                continue
            name = re.escape(surname)
            authored = rf"{_AUTHOR_CUE}{_AUTHOR_NEAR}{name}\b|\b{name}\b{_AUTHOR_NEAR}{_AUTHOR_CUE}"
            if not any(
                re.search(authored, sentence, re.I) for sentence in _SENTENCE_END.split(body)
            ) and not _byline(surname, body):
                return found.group(0).rstrip(".,")
    return None


CUT_SHORT = "ends where its passage is cut off, mid-sentence"
CUT_WORDS = 4  # the last words a sentence shares with a passage cut off mid-sentence
PROSE_LINE = 12  # words of a passage's last line that make it prose, not a heading


def cut_short(claim: str, passage: str) -> bool:
    """The claim ends on the last words of a passage that stops mid-sentence (a chunk's
    end): "..., and is reportedly looking instead to implement a global licencing." A
    model copies up to the cut and adds a full stop; the sentence is not whole."""
    end = passage.rstrip()
    last_line = end.rsplit("\n", 1)[-1]
    if not re.search(r"\w$", end) or len(last_line.split()) < PROSE_LINE:
        return False
    if re.match(r"\s*(?:[-*\u2022]|\(?[a-z0-9]{1,3}[).])\s", last_line):  # a list item
        return False
    tail = re.findall(r"[a-z0-9]+", end.lower())[-CUT_WORDS:]
    return len(tail) == CUT_WORDS and re.findall(r"[a-z0-9]+", claim.lower())[-CUT_WORDS:] == tail


LEAD_IN = "ends where its passage opens a list, without the list"


def lead_in(claim: str, passage: str) -> bool:
    """The claim ends a sentence on the words of a sentence of prose (not a heading,
    "Strategic building blocks:", which a list may end on) that ends a line of the passage
    with a colon: "Taken together, these are to." from "... these are to:", the reasons
    in the lines after it or in the next passage. A list's lead-in alone says nothing; one
    the draft ends with a colon is followed by its list."""
    claim = re.sub(r"\[[\d,\s]+\]", " ", claim).lower()
    if re.search(r":\W*$", claim):
        return False
    words = re.findall(r"[a-z0-9]+", claim)
    tail = min(len(words), LEAD_IN_WORDS)
    for line in re.findall(r"^(.*):[ \t]*$", passage.lower(), re.M):
        opening = re.findall(r"[a-z0-9]+", re.split(r"[.!?]\s", line)[-1])
        if len(opening) >= LEAD_IN_WORDS and tail and words[-tail:] == opening[-tail:]:
            return True
    return False


LEAD_IN_WORDS = 5  # of a sentence ending in a colon that make it prose, not a heading


MISADVISED = "says what should be done where its passage recommends no such thing"
# an adverb between a modal and its verb ("should first evaluate", "must urgently act");
# not a verb that ends in -ly ("should comply", "must rely")
_ADVERB = (
    r"(?:(?!(?:apply|comply|supply|rely|reply|multiply|fly|ally)\b)[a-z]+ly|first|also|"
    r"still|then|now|instead|rather|jointly|together|never)"
)
# who a source wants to act: a name or an actor ("the UK", "governments", "its allies"),
# not a thing wanted ("Demos wants access to compute", "urges caution to avoid ...")
_ACTOR = (
    r"(?:(?:the|its|their|all|other|national)\s+)?(?-i:(?:[A-Z][\w'’.-]*\s+){0,3}?"
    r"(?:[A-Z][\w'’.-]*|governments?|countries|nations?|states|policymakers|allies|"
    r"partners|regulators|departments|ministers|firms|companies|developers))"
)
# what a claim says should be done: "countries should build sovereign AI", "the UK must
# not be left behind", "ITIF wants the UK to give ..." (the verb it advises)
_ADVISES = re.compile(
    r"(?<!^)(?<![.?!]\s)\b(?:should|must|ought to|needs? to|has to(?!\s+date)|"
    r"have to(?!\s+date)|(?:wants?|wanted|urges?|urged|calls on|called on)\s+"
    rf"{_ACTOR}\s+to)\s+(?P<not>(?:not|never)\s+)?(?:{_ADVERB}\s+)?(?P<later>(?:not|never)\s+)?"
    r"(?:be\s+)?(?:able\s+to\s+)?(?P<verb>[a-z]{3,})",
    re.I,
)
# a sentence of a passage that recommends or requires something ("could" only with the
# verb after it: "Government could use ...", not "... could duplicate capacity")
_ADVISING = re.compile(
    r"\b(?:should|must|ought|needs?\s+to|need\s+for|has\s+to|have\s+to|recommend\w*|"
    r"urg(?:e|es|ed|ing)|calls?\s+for|called\s+for|requir\w*|essential|important|vital|"
    r"imperative|necessary|propos(?:e|es|ed|ing)|advocat\w*)\b",
    re.I,
)
_NEGATED = re.compile(r"\b(?:not|never|no longer)\b|n['’]t\b", re.I)


def misadvised(claim: str, body: str, question: str = "") -> str | None:
    """The claim's "should <verb>" when no sentence of its passages' text (`body`) both
    recommends or requires something and uses that verb, negated as the claim is: asked
    "Do ITIF and Demos agree on whether countries should build sovereign AI?", a small
    model wrote "ITIF argues that countries should build sovereign AI, stating that it
    does more than harm ..." over a passage against it, and the verifier agreed. The
    words are the passage's and the question's; the advice is the model's. "Wants the UK
    to give" and "urges governments to act" advise as "should" does; so does a passage's
    bidding ("1d Identify and develop ..."). Advice a question asking why or how states
    ("Why does Demos say the UK should commit ...?") is what is asked about, not claimed;
    advice a yes-or-no question or "whether" asks about is not given; advice the passage
    itself words (a quotation) is its own."""
    sentences = segment(body) if _ADVISES.search(claim) else []
    if not sentences:
        return None
    open_question = not _YES_NO.match(question.strip())
    asked = {
        _advised(m)
        for m in _ADVISES.finditer(question)
        if open_question and not _WHETHER.search(question[: m.start()])
    }
    bidden = {m.group("verb").lower() for m in _BIDDING.finditer(body)}
    for found in _ADVISES.finditer(claim):
        verb, negated = _advised(found), bool(found.group("not") or found.group("later"))
        if verb in asked or (found.group("verb").lower() in bidden and not negated):
            continue
        if found.group(0).lower() in body.lower():  # the passage's own words: a quotation
            continue
        if not any(_advises(s, verb, found.group("verb").lower(), negated) for s in sentences):
            return found.group(0)
    return None


def _advises(sentence: str, verb: str, written: str, negated: bool) -> bool:
    """The passage's sentence recommends or requires the verb (by its stem), negated or
    not as the claim is."""
    words = {_stem(w) for w in re.findall(r"[a-z]+", sentence.lower())}
    if verb not in words or bool(_NEGATED.search(sentence)) != negated:
        return False
    could = re.search(rf"\bcould\s+(?:{_ADVERB}\s+)?{re.escape(written)}\b", sentence, re.I)
    return bool(_ADVISING.search(sentence) or could)


# a recommendation written as a bidding, opening a line or what follows a colon or a
# tab: "1d\tBuilding on AP Proposals 7-9: Identify and develop ...", "Urgently reset
# relationship with the EU ..."; not a noun ("Support for startups has fallen")
_BIDDING = re.compile(
    r"(?:^|[\n\t:])\s*(?:[-*\u2022]\s*)?(?:<[^>]+>\s*)*(?:[A-Za-z]+ly\s+)?"
    r"(?P<verb>[A-Za-z]+)(?!\s+(?:for|of|in|on)\b)",
    re.M,
)
# the question's advice is asked about, not given: "... on whether countries should ..."
_WHETHER = re.compile(r"\b(?:whether|if)\s+(?:\S+\s+){0,5}$", re.I)
# a question answered yes or no: "Does ITIF think countries should build ...?"
_YES_NO = re.compile(
    r"(?:does|do|did|is|are|was|were|can|could|would|will|has|have|had|should|must)\b", re.I
)


def _advised(found: re.Match[str]) -> str:
    return _stem(found.group("verb").lower())


def _byline(surname: str, body: str) -> bool:
    """The name stands on a line of its own among a few names ("**Jamie Hancock**"), as
    a report's authors do under its title."""
    for line in body.splitlines():
        words = re.findall(r"[\w.'’-]+", line)
        if (
            surname in words
            and len(words) <= 6
            and all(w[:1].isupper() or w in ("and", "&") for w in words)
        ):
            return True
    return False


def _settled(item: Checked) -> bool:
    """Withheld whatever the model would say of it."""
    return item.reason == "repeats an earlier sentence" or item.reason.startswith(
        (JOINT, MISATTRIBUTED, MISPLACED, MISAUTHORED, MISADVISED, CUT_SHORT, LEAD_IN)
    )


# What a copied span needs to mean in the answer what it meant in its passage: a few
# words, not opening on a word that points back ("Both amount to protectionism.") nor
# being an item of a list cut from its lead-in ("(b) sold commercially,").
_POINTS_BACK = re.compile(
    r"^(?:both|it|its|this|that|these|those|they|their|them|such|he|she|his|her|which|"
    r"here|there|the latter|the former|the same|also|and|or|but)\b",
    re.I,
)
_LIST_ITEM = re.compile(
    r"^\s*(?:\(?[a-z0-9]{1,3}[).]|[-*\u2022])\s|[,;:]\s*$|\b(?:and|or)\W*$", re.I
)
MIN_STANDING_WORDS = 6
MIN_FIGURE_WORDS = 4  # a name and its figure: "Meta reported saving $1.2 billion."


def self_standing(sentence: str, passage: str = "") -> bool:
    """A sentence that says the same thing out of its passage as in it: six words or
    more, or fewer that give a figure to the name they open with, a name the passage
    writes with a capital inside a sentence (a whole statement of who reported, spent or
    saved what: "Meta reported saving $1.2 billion.", not "Costs fell by 40%.")."""
    words = len(sentence.split())
    return (
        (
            words >= MIN_STANDING_WORDS
            or (words >= MIN_FIGURE_WORDS and _named_figure(sentence, passage))
        )
        and not _POINTS_BACK.search(sentence.strip(" \"'\u201c\u2018"))
        and not _LIST_ITEM.search(sentence)
    )


def _named_figure(sentence: str, passage: str) -> bool:
    """The sentence opens with a name of the passage's and gives that name a figure."""
    first = _TOKEN.match(sentence.strip(" \"'\u201c\u2018"))
    if first is None or not first.group(0)[:1].isupper() or first.group(0).isupper():
        return False
    name = first.group(0)
    if not re.search(rf"[\w,;:]\s+{re.escape(name)}\b", passage):  # not only opening a sentence
        return False
    return any(owner == name.lower() for pairs in _owners(sentence) for _, owner in pairs)


# "..., according to the Demos appendix." / "According to ITIF, ..." / "..., per the
# Imperial/MIT paper." / "..., in ITIF's view.": who says it, not what is said.
_SOURCE = r"(?P<who>[^,.;:]{2,80}?)"
_ATTRIBUTION = (
    re.compile(
        rf",?\s+(?:according to|per|as (?:stated|noted|argued|set out) (?:in|by))\s+"
        rf"{_SOURCE}\s*(?P<end>[.!?]?)$",
        re.I,
    ),
    re.compile(rf",?\s+in\s+{_SOURCE}(?:'s|’s)\s+(?:view|words|account)\s*(?P<end>[.!?]?)$", re.I),
    re.compile(rf"^(?:according to|in the view of|per)\s+{_SOURCE},\s*(?P<end>)", re.I),
    # a document's title put as the subject where the model copied its label: "“The Open
    # Dividend” says that ..."
    re.compile(
        r"^[“\"](?P<who>[^”\"]{2,160})[”\"]\s+(?:says|states|notes|argues|writes|reports|"
        r"explains|suggests|emphasi[sz]es|highlights|stresses|observes|finds|concludes|adds)"
        r"\s+(?:that\s+)?(?P<end>)",
    ),
)


def without_attribution(claim: str, passage: str) -> str:
    """The claim without a phrase naming its source, when that source is the one the
    passage comes from (a name in it is in the passage's label, its first line): the
    model is asked whether the passage says the claim, which the source's name written
    another way ("the Demos appendix", its title in place of its copied label) only
    obscures. A source the passage is not from stays in the claim, for the model to
    refuse."""
    label = passage.split("\n", 1)[0].lower()
    label_words = set(re.findall(r"[a-z0-9]+", label))
    for pattern in _ATTRIBUTION:
        found = pattern.search(claim)
        if found is None:
            continue
        names = [w.lower() for w in re.findall(r"\b[A-Z][\w-]*", found["who"])]
        names = [n for n in names if n not in STOPWORDS]
        if names and all(part in label_words for n in names for part in re.split(r"[-/]", n)):
            rest = (claim[: found.start()] + found["end"] + claim[found.end() :]).strip()
            return rest[:1].upper() + rest[1:] if rest else claim
    return claim


def verbatim(sentence: str, passage: str) -> bool:
    """The sentence's words appear in the passage in the same order, uninterrupted."""
    words = " ".join(re.findall(r"[a-z0-9]+", sentence.lower()))
    return (
        bool(words)
        and f" {words} " in " " + " ".join(re.findall(r"[a-z0-9]+", passage.lower())) + " "
    )


_INITIALISM = re.compile(r"\b(?:[A-Z]\.){2,}")  # "U.S.", "U.K."
_SPACED_INITIALISM = re.compile(r"\b[A-Z]\.(?: [A-Z]\.)+")  # "U. S." (or "J. K.")


# Words after which a copied label is the object the sentence needs ("as set out in <label>")
_GOVERNS = r"(\b(?:[Ii]n|[Ff]rom|[Bb]y|[Oo]f|[Tt]o|[Aa]ccording to|[Pp]er|and)\s+(?:the\s+)?)"


class SentenceStream:
    """Checks a streamed answer sentence by sentence, before any of it is shown.

    Tokens are buffered until a sentence (with the markers that follow it) is complete;
    the sentence is then checked against the passages and released with corrected
    markers, or held back: withheld when nothing supports it, or kept for the verifier
    (see the module's docstring) until `finish()`. The text shown is therefore the
    checked answer, one sentence behind the model.
    """

    def __init__(
        self,
        passages: list[str],
        verify: Verify | None = None,
        labels: Sequence[str] = (),
        titles: Sequence[str] = (),
        sources: Sequence[str] = (),
        named: Callable[[str], set[str]] | None = None,
        headings: Sequence[str] = (),
        named_sources: Callable[[str], set[str]] | None = None,
    ) -> None:
        self.passages = passages
        self.verify = verify
        # initialisms as the passages write them ("U.S."), which a model may space out
        self._initialisms = {m.group(0) for p in passages for m in _INITIALISM.finditer(p)}
        # each passage's document, and the documents a text names ("ITIF", "the Demos
        # paper"): a sentence that speaks for two documents must cite each (`_joint`)
        self.sources = list(sources)
        self.named = named
        # and the documents a sentence gives as its source (`_sourced`): by names that
        # are not also common words, as a sentence's capitalised opening word can be
        self.named_sources = named_sources or named
        # only a label long enough not to be words of a sentence ("Justice" is both)
        self.labels = sorted(
            {label for label in labels if len(label.split()) >= 4}, key=len, reverse=True
        )
        self.titles = {_bare(t) for t in titles if len(t.split()) >= 3}
        # and a passage's short section heading, numbered or not ("5. Integrating Digital
        # Initiatives"), which a small model gives as the answer to "Which documents
        # ...?"; a long one can be a sentence ("4. Influence a positive future for AI ..."),
        # a one-word one a name that answers ("SINGAPORE")
        self.titles |= {
            _bare(h) for h in (_NUMBERING.sub("", h) for h in headings) if 2 <= len(h.split()) <= 6
        } - {""}
        # a label that opens with its title and is followed by a verb is the subject of
        # its sentence ("<label> says that ...", "<label> was published in June 2025"):
        # the title, quoted, stands in for it; elsewhere a label is dropped
        self._named = {
            label: f"“{short_title(title)}”"
            for label in self.labels
            for title in sorted(titles, key=len)  # the longest title that opens it
            if label.startswith(title)
        }
        self.drop_declines = False
        self.question = ""  # as asked: the words a sentence takes from it (`_adds_only`)
        self.max_sentences = MAX_SENTENCES  # shown per draft
        self.buffer = ""
        self.checked: list[Checked] = []
        self.held: list[Checked] = []
        self.verifications = 0
        self._released = False
        self._newline = False
        self._part_break = False  # a part has ended: the next shown text opens a paragraph
        self._shown: set[str] = set()
        self._in_part = 0  # sentences of the current draft that passed the check

    def feed(self, token: str) -> list[str]:
        self.buffer += token
        if self._inside_label():
            return []  # "... June 2025), 4. Influence ..." would split at "4."
        pieces = segment(self._unlabelled(self.buffer))
        if len(pieces) < 2:
            return []
        last = pieces[-1].lstrip()
        if not last or last.startswith("["):  # its markers may belong to the sentence before
            return []
        done = "".join(pieces[:-1])
        self.buffer = "".join(pieces)[len(done) :]
        return [piece for raw in pieces[:-1] for piece in self._take(raw)]

    def flush(self, cut_off: bool = False) -> list[str]:
        """End one draft (of several, one per document): its last sentence is complete.
        `cut_off`: the model stopped at its token limit, so an unfinished last sentence
        is dropped."""
        raw, self.buffer = self.buffer, ""
        try:
            return self._end_part(raw, cut_off)
        finally:
            self._in_part = 0

    def _end_part(self, raw: str, cut_off: bool) -> list[str]:
        if not raw.strip():
            return []
        if cut_off and not re.search(r"[.!?\])\"”’]\s*$", raw):
            for item in split_sentences(raw):
                self.checked.append(
                    Checked(item, item.cited, False, False, "cut off by the answer's length limit")
                )
            return []
        return self._take(raw + ("" if raw.endswith((" ", "\n")) else " "))

    def end_part(self, cut_off: bool = False) -> Iterator[str]:
        """End one draft: its rest and its held sentences, verified now. In a comparison
        (one draft per document) each document's part so reads whole and in order, and
        the next part starts a new paragraph."""
        yield from self.finish(cut_off)
        self._part_break = self._released

    def finish(self, cut_off: bool = False) -> Iterator[str]:
        """The rest of the draft, then the held sentences, each as soon as it is verified
        (the verifier takes a second or two a sentence: the first is not kept waiting
        for the last)."""
        yield from self.flush(cut_off)
        held, self.held = self.held, []
        for item in held:
            verified = self._verified(item)
            self.checked.append(verified)
            shown = self._show([verified])
            if shown:
                self._newline = False  # the next is joined to it as within one sentence run
            yield from shown

    def _take(self, raw: str) -> list[str]:
        items = [
            self._limit(self._dedupe(self._sourced(self._joint(self._attributed(item)))))
            for item in check_answer(self._clean(raw), self.passages)
        ]
        if self.drop_declines:  # a part's "nothing on this" is not the answer's
            items = [
                replace(
                    i,
                    supported=False,
                    reason="the model found nothing on this in its document's passages",
                )
                if is_decline(i.sentence.text)
                else i
                for i in items
            ]
        out = []
        for item in items:
            if self.held or (
                self.verify is not None
                and needs_verifier(item, self.passages)
                and not _settled(item)
            ):
                self.held.append(item)
                continue
            self.checked.append(item)
            out += self._show([item])
        self._newline = bool(out) and raw.rstrip(" \t").endswith("\n")
        if self._newline:
            out[-1] += "\n"  # a list's items stay on their lines
        return out

    def _inside_label(self) -> bool:
        """The draft so far ends part-way through a copied label: it is held until the
        label is whole, so that it is removed whole (a section label holds full stops)."""
        tail = self.buffer[-LABEL_WAIT:]
        for label in self.labels:
            start = tail.rfind(label[:LABEL_HEAD])
            # whole but not yet followed by a word: "<label> says" makes it the subject
            if start >= 0 and label.startswith(tail[start:].rstrip(" \t\n,;:")):
                return True
        return False

    def _unlabelled(self, raw: str) -> str:
        for label in self.labels:
            if label in self._named:  # followed by a verb: the sentence's subject
                # the model's article goes with it: "The <label> says" is "“Title” says"
                subject = rf"(?:\b[Tt]he\s+)?{re.escape(label)}(?=[\s,]*[a-z])"
                raw = re.sub(subject, self._named[label], raw)
                # and after a preposition its object: "In <label>, he said" is not "In, he said"
                raw = re.sub(rf"{_GOVERNS}{re.escape(label)}", rf"\1{self._named[label]}", raw)
            # with the comma or colon that joined it to the text: "<label>, RECOMMENDATION
            # 2a states ..." is not ", RECOMMENDATION 2a states ..."
            raw = re.sub(rf"{re.escape(label)}(?:\s*[,;:](?=\s|$))?", " ", raw)
        return raw

    def _clean(self, raw: str) -> str:
        """A passage's label copied into the text is not part of the answer, nor is a
        sentence that is only a document's title or a passage's section heading (one
        inside a sentence stays)."""
        raw = self._unlabelled(raw)
        if _bare(raw) in self.titles or _bare(_NUMBERING.sub("", raw)) in self.titles:
            return ""
        raw = _SPACED_INITIALISM.sub(  # "U. S." written as the passages write it: "U.S."
            lambda m: (
                m.group(0).replace(" ", "")
                if m.group(0).replace(" ", "") in self._initialisms
                else m.group(0)
            ),
            raw,
        )
        return re.sub(r"(\[\d{1,3}\])(?:\s*\1)+", r"\1", raw)  # "[3][3]" is one marker

    def _limit(self, item: Checked) -> Checked:
        if not item.supported or is_decline(item.sentence.text):
            return item
        self._in_part += 1
        if self._in_part > self.max_sentences:
            return replace(
                item,
                supported=False,
                reason=f"past the {self.max_sentences} sentences an answer may have",
            )
        return item

    @property
    def full(self) -> bool:
        """The current draft has shown as many sentences as it may: the rest of it would
        be withheld, so it need not be generated."""
        return self._in_part >= self.max_sentences

    def stop(self) -> None:
        """The draft is stopped because it is full: its unfinished text is dropped."""
        self.buffer = ""

    def _attributed(self, item: Checked) -> Checked:
        """A sentence that gives a figure to another name than its passage does
        (`misattribution`), puts a name at a place its passage does not (`misplaced`),
        makes someone an author it does not (`misauthored`), says what should be done
        where it recommends no such thing (`misadvised`), ends where its passage is cut
        off mid-sentence (`cut_short`) or where it opens a list (`lead_in`), is withheld,
        whatever the model would say of it."""
        if not item.supported:
            return item
        for check in (misattribution, figure_elsewhere):
            for n in item.cited:
                if n <= len(self.passages) and (
                    wrong := check(item.sentence.text, self.passages[n - 1])
                ):
                    figure, claimed, theirs = wrong
                    return replace(
                        item,
                        supported=False,
                        reason=f"{MISATTRIBUTED} ({figure} is {theirs}'s there, not {claimed}'s)",
                    )
        body = "\n".join(  # the cited passages without their label lines
            self.passages[n - 1].split("\n", 1)[-1] for n in item.cited if n <= len(self.passages)
        )
        if body and (where := misplaced(item.sentence.text, body)):
            return replace(item, supported=False, reason=f"{MISPLACED} (“{where}”)")
        if body and (who := misauthored(item.sentence.text, body)):
            return replace(item, supported=False, reason=f"{MISAUTHORED} (“{who}”)")
        if body and (advice := misadvised(item.sentence.text, body, self.question)):
            return replace(item, supported=False, reason=f"{MISADVISED} (“{advice}”)")
        for n in item.cited:
            if n <= len(self.passages) and cut_short(item.sentence.text, self.passages[n - 1]):
                return replace(item, supported=False, reason=f"{CUT_SHORT} (passage {n})")
            if n <= len(self.passages) and lead_in(item.sentence.text, self.passages[n - 1]):
                return replace(item, supported=False, reason=f"{LEAD_IN} (passage {n})")
        return item

    def _joint(self, item: Checked) -> Checked:
        """A sentence that speaks for two or more documents at once ("ITIF and Demos both
        argue ...", "the Cambridge report and ITIF agree ...") is withheld unless each of
        them is behind a passage it cites (its own passage, or one that names it): the
        words may all be in one document's passage while the other says the opposite."""
        if self.named is None or not self.sources or not _JOINT_CLAIM.search(item.sentence.text):
            return item
        speaks_for = self.named(item.sentence.text)
        if len(speaks_for) < 2:
            return item
        behind = {self.sources[n - 1] for n in item.cited if n <= len(self.sources)}
        for n in item.cited:
            behind |= self.named(self.passages[n - 1].split("\n", 1)[-1])
        if speaks_for <= behind:
            return item
        return replace(
            item,
            supported=False,
            reason=f"{JOINT} ({len(speaks_for)} documents, passages of "
            f"{len(speaks_for & behind)} cited)",
        )

    def _sourced(self, item: Checked) -> Checked:
        """A sentence that names whose claim it is ("According to Demos, ...", "The
        authors of the Sovereign AI paper set up ...") is withheld unless each document
        it names is behind a passage it cites: the document's own passage, or for a
        publisher or person named without "paper" or "report" ("ITIF argues ..."), a
        passage that names them (one document reporting another's words). Its words may
        all be in another document's passage, which the lexical test and the verifier
        accept."""
        named, by_name = self.named, self.named_sources
        if named is None or by_name is None or not self.sources:
            return item
        if not item.supported or not item.cited:
            return item
        own = {self.sources[n - 1] for n in item.cited if n <= len(self.sources)}
        quoting: set[str] | None = None  # and the names in the cited passages, when needed
        for pattern in _SOURCED:
            for match in pattern.finditer(item.sentence.text):
                for source in re.split(r",|\s+(?:and|&)\s+", match.group("source")):
                    names = by_name(source)
                    if not names:
                        continue
                    if re.search(rf"\b{_DOCUMENT_NOUN}\b", source, re.I):
                        behind = own
                    else:
                        if quoting is None:
                            quoting = own.union(
                                *(
                                    named(self.passages[n - 1].split("\n", 1)[-1])
                                    for n in item.cited
                                    if n <= len(self.passages)
                                )
                            )
                        behind = quoting
                    if not names <= behind:
                        reason = f"{MISSOURCED} (“{source.strip()}”)"
                        return replace(item, supported=False, reason=reason)
        return item

    def _dedupe(self, item: Checked) -> Checked:
        key = _repeat_key(item.sentence.text)
        if item.supported and key and key in self._shown:
            return replace(item, supported=False, reason="repeats an earlier sentence")
        if item.supported and key:
            self._shown.add(key)
        return item

    def _verified(self, item: Checked) -> Checked:
        """The held sentence after the verifier has read its passage(s); one it passes is
        still withheld if it gives a figure to another name or puts it at another place
        than the passage(s) it is now cited to (`_attributed`), or names as its source a
        document none of them is from (`_sourced`): the verifier cannot tell."""
        checked = self._asked(item)  # the same item when nothing was asked: checked already
        if checked.supported and checked is not item:  # perhaps cited to other passages now
            return self._sourced(self._attributed(checked))
        return checked

    def _asked(self, item: Checked) -> Checked:
        if self.verify is None or not needs_verifier(item, self.passages):
            return item  # held only to keep the order
        if _settled(item):
            return item
        text = item.sentence.text
        if item.supported:  # re-cited or a stance: a passage must say so
            p = own = None  # the model's last answer, and its answer for the cited passages
            for numbers in self._candidates(item):
                p = self._ask(text, [self.passages[n - 1] for n in numbers])
                if p is None:
                    return item  # out of verifications: the lexical test decides
                own = p if numbers == item.cited else own
                if p >= VERIFY_THRESHOLD:
                    return replace(
                        item,
                        cited=numbers,
                        recited=item.recited or numbers != item.cited,
                        verified=p,
                        reason=item.reason + f"; the model agrees (p={p:.2f})",
                    )
            if own is not None and own >= UNSURE_FLOOR and self._adds_only(item):
                return replace(
                    item,
                    verified=own,
                    reason=item.reason + f"; {ADDS_ONLY} (p={own:.2f})",
                )
            self._shown.discard(_repeat_key(text))
            return replace(
                item,
                supported=False,
                verified=p,
                reason=NOT_CONFIRMED + (f" (p={p:.2f})" if p is not None else ""),
            )
        asked = None
        for numbers in self._candidates(item):
            p = self._ask(text, [self.passages[n - 1] for n in numbers])
            asked = p if p is not None else asked
            if p is not None and p >= VERIFY_THRESHOLD:
                self._shown.add(_repeat_key(text))
                return replace(
                    item,
                    supported=True,
                    cited=numbers,
                    recited=numbers != item.cited,
                    verified=p,
                    reason=f"the model finds passage "
                    f"{', '.join(map(str, numbers))} supports it (p={p:.2f})",
                )
        if asked is not None:  # the reviewer sees that the model was asked, and its answer
            return replace(
                item, verified=asked, reason=f"{item.reason}; nor does the model (p={asked:.2f})"
            )
        return item

    def _adds_only(self, item: Checked) -> bool:
        """Whether every word the sentence adds to the question (at least
        `MIN_ADDED_WORDS`) is in its cited passages, and it takes no side: the answer
        is the passage's, the rest the question's own words ("The American framework
        the Sovereign AI paper mentions as steering voluntary AI governance in the US
        is the NIST AI Risk Management Framework."), which the model, asked whether
        the passage says all of it, is unsure of."""
        if not self.question or not item.cited or _STANCE.search(item.sentence.text):
            return False
        asked = content_words(self.question)
        added = [w for w in content_words(item.sentence.text) if w not in asked]
        held = content_words(" ".join(self.passages[n - 1] for n in item.cited))
        return len(added) >= MIN_ADDED_WORDS and all(w in held for w in added)

    def _candidates(self, item: Checked) -> list[tuple[int, ...]]:
        """Passages worth asking about: the cited ones, then the closest other one; never
        one that lacks the sentence's numbers or most of its words."""
        text = item.sentence.text
        out = []
        if item.cited:
            out.append(item.cited)
        ranked = sorted(
            range(1, len(self.passages) + 1),
            key=lambda n: -support(text, self.passages[n - 1]).coverage,
        )
        out += [(n,) for n in ranked[:1] if (n,) != item.cited]
        keep = []
        for numbers in out:
            found = support(text, " ".join(self.passages[n - 1] for n in numbers))
            if not found.missing_numbers and found.coverage >= VETO_COVERAGE:
                keep.append(numbers)
        return keep

    def _ask(self, claim: str, passages: Sequence[str]) -> float | None:
        if self.verify is None or self.verifications >= MAX_VERIFICATIONS:
            return None
        self.verifications += 1
        claim = without_attribution(claim, passages[0])
        return round(float(self.verify(claim, evidence(passages, claim))), 4)

    def _show(self, items: list[Checked]) -> list[str]:
        shown = [c for c in items if c.supported]
        if not shown:
            return []
        prefix = " " if self._released and not self._newline else ""
        if self._part_break:
            prefix, self._part_break = "\n" if self._newline else "\n\n", False
        self._released = True
        return [prefix + render(shown)]

    @property
    def withheld(self) -> list[Checked]:
        return [c for c in self.checked if not c.supported]


EVIDENCE_SENTENCES = 3  # of each passage, shown to the verifier with its label


def evidence(passages: Sequence[str], claim: str, keep: int = EVIDENCE_SENTENCES) -> str:
    """What the verifier reads for a claim: each passage's label (its first line), the
    `keep` sentences of it that share most words with the claim, and any other sentence
    that holds words of the claim those do not (a claim that sums up a list draws on
    every item), in the passage's order and lines. On the first 73 hand-labelled pairs of
    eval/judge_calibration.jsonl, each set in its whole indexed passage, the 1.5B model
    told supported from unsupported claims with a balanced accuracy of 0.86 reading the
    whole passage and 0.92 reading its three closest sentences (as reading the pair's own
    short passage): the passage's other sentences only distract it."""
    words = content_words(claim)
    out = []
    for passage in passages:
        label, _, body = passage.partition("\n")
        if not body:
            label, body = "", label
        lines, line = [], 0  # each sentence and the line it is on
        for piece in segment(rows_as_sentences(body, claim)):
            if piece.strip():
                lines.append((line, piece.strip()))
            line += piece.count("\n")
        if len(lines) > keep:
            has = [words & content_words(sentence) for _, sentence in lines]
            ranked = sorted(range(len(lines)), key=lambda i: -len(has[i]))
            chosen = set(ranked[:keep])
            covered = set().union(*(has[i] for i in chosen))
            while True:  # and each sentence that holds more of the claim: a list's items
                gain, best = max((len(has[i] - covered), i) for i in range(len(has)))
                if gain == 0:
                    break
                chosen.add(best)
                covered |= has[best]
            lines = [lines[i] for i in sorted(chosen)]
        text = "".join(
            ("\n" if n and lines[n - 1][0] != at else " " if n else "") + sentence
            for n, (at, sentence) in enumerate(lines)
        )
        out.append("\n".join(p for p in (label, text) if p))
    return "\n\n".join(out)


_TABLE_ROW = re.compile(r"^\|(.*)\|$")


def rows_as_sentences(passage: str, claim: str = "") -> str:
    """A passage's Markdown table rows written out, each cell with its column's name
    ("Wind: Share in 2023 41.2%; ..."): a small model asked whether a row says something
    reads a sentence better than a grid of bars. With a `claim`, only the rows with a cell
    the claim holds are kept (fifty rows of other figures only distract the model)."""
    said = " ".join(re.findall(r"[a-z0-9.,%]+", claim.lower()))
    lines = passage.split("\n")
    out: list[str] = []
    header: list[str] | None = None
    for n, line in enumerate(lines):
        row = _TABLE_ROW.match(line.strip())
        if row is None:
            header = None
            out.append(line)
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row.group(1))]
        if all(re.fullmatch(r":?-+:?", c) for c in cells if c):
            continue  # the line under the header
        following = lines[n + 1].strip() if n + 1 < len(lines) else ""
        if header is None and re.fullmatch(r"\|(?:\s*:?-+:?\s*\|)+", following):
            header = cells
            continue
        if header is None:
            out.append(line)
            continue
        if said and not any(
            c and re.search(rf"(?<![\w.]){re.escape(c.lower())}(?![\w])", said) for c in cells
        ):
            continue
        named = [f"{h} {c}" for h, c in zip(header[1:], cells[1:], strict=False) if c]
        out.append(f"{cells[0]}: {'; '.join(named)}.")
    return "\n".join(out)


def short_title(title: str) -> str:
    """A title without its subtitle ("The Open Dividend" of "The Open Dividend: Building
    ..."), as a sentence names a document; the citation gives it in full."""
    head = re.split(r":\s|\s*[—–]\s*|\s-\s", title, maxsplit=1)[0].strip()
    return head if len(head.split()) >= 2 else title


# "5. ", "2.1 ", "B. ", "IV. " (not a year: "2030 Vision")
_NUMBERING = re.compile(r"^\s*(?:\d{1,2}(?:\.\d+)*\.?|[A-Z]\.|[IVXivx]+\.)\s+")


def _bare(text: str) -> str:
    """Text without markers, punctuation, case or a leading "the", for comparing with a
    title: "The <title> [1]." is the title alone."""
    return re.sub(r"^the ", "", " ".join(re.findall(r"[a-z0-9]+", MARKER.sub(" ", text).lower())))


_PASSAGE_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=\w))+(?:[.!?]+|\n|$)")


def supporting_spans(answer: str, n: int, passage: str) -> list[tuple[int, int]]:
    """Character spans of the passage's sentences that best support the answer's
    sentences citing passage `n` (for highlighting): per sentence, the passage sentence
    sharing most of its content words, and any other sharing at least half of them."""
    pieces = [
        (m.start(), m.end(), content_words(m.group(0)))
        for m in _PASSAGE_SENTENCE.finditer(passage)
        if m.group(0).strip()
    ]
    spans: set[tuple[int, int]] = set()
    for sentence in split_sentences(answer):
        words = content_words(sentence.text)
        if n not in sentence.cited or not words:
            continue
        scored = [(len(words & w) / len(words), start, end) for start, end, w in pieces]
        best = max(scored, default=(0.0, 0, 0))
        spans.update((s, e) for c, s, e in scored if c > 0 and (c == best[0] or c >= 0.5))
    return [_trim(passage, s, e) for s, e in sorted(spans)]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
