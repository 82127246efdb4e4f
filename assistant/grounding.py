"""Grounding: check each sentence of an answer against the passages, and fix its citations.

A fast, deterministic support test, used on every answer before it is shown:

- a claim's content words (not stop words, compared by their first five letters, so
  "investing" meets "investment") must be mostly present in the passage, and
- every number and every capitalised name in the claim must appear in the passage,
  a name in initials ("MoJ") also as the phrase they abbreviate ("Ministry of Justice").
  Names the question uses get no exemption: a question that presupposes an actor ("How
  much is the Ministry of Justice paying...?") is what tempts a small model to pin a
  figure from another passage on that actor.

A sentence whose cited passages do not support it is re-cited to the given passage that
does, if one does; a sentence no passage supports is removed; an answer left with nothing
supported is replaced by the plain statement that the documents do not say. This catches
what small models do most: answering from memory with a made-up citation, and citing the
neighbouring passage.

It is a lexical test: it cannot see negation or swapped roles ("A bought B" against "B
bought A"). The evaluation harness adds a model-based judge for that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .prompting import is_decline
from .retrieval import _PHRASE, _STOPWORDS, phrase_initials

_BOUNDARY = re.compile(  # not inside a number: "2.5 billion" is one sentence
    r"(?<![A-Z])[.!?](?![0-9])(?:\s*\[[\d,\s]+\])*[ \t]*\n?\s*(?=[^\s\[])|\n+(?=\S)"
)
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
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


def split_sentences(answer: str) -> list[Sentence]:
    """Sentences with the markers that follow them ("Text [1]." and "Text. [1]" alike)."""
    sentences = []
    start = 0
    pieces = []
    for match in _BOUNDARY.finditer(answer):
        pieces.append(answer[start : match.end()])
        start = match.end()
    pieces.append(answer[start:])
    for piece in pieces:
        cited = tuple(
            int(n) for m in _MARKER.finditer(piece) for n in m.group(1).split(",")
        )
        text = " ".join(_MARKER.sub(" ", piece).split())
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        if re.search(r"[A-Za-z0-9]", text):
            sentences.append(Sentence(text, cited))
    return sentences


def _stem(word: str) -> str:
    return word[:5]


def content_words(text: str) -> set[str]:
    words = re.findall(r"[a-z][a-z'’-]+|\d+(?:[.,]\d+)*", text.lower())
    return {_stem(w) for w in words if w not in _STOPWORDS and len(w) > 2}


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def _names(text: str) -> set[str]:
    names: set[str] = set()
    for match in _NAME.finditer(text):
        words = re.split(r"[-\s]", match.group(0))
        if match.start() == 0 and len(words) == 1:
            continue  # a capital that only opens the sentence
        words = [w for w in words if w.lower() not in _STOPWORDS]
        names.update(w.lower() for w in words if len(w) > 1)
    return names


def _initials(text: str) -> set[str]:
    """The initials of the passage's capitalised phrases, with and without connectors."""
    return {initials for phrase in _PHRASE.findall(text) for initials in phrase_initials(phrase)}


def support(claim: str, passage: str) -> Support:
    """How far the passage supports the claim, by the lexical test above."""
    words = content_words(claim)
    passage_words = content_words(passage)
    coverage = len(words & passage_words) / len(words) if words else 1.0
    passage_lower = set(re.findall(r"[a-z0-9]+", passage.lower()))
    passage_numbers = _numbers(passage)
    missing_numbers = tuple(sorted(n for n in _numbers(claim) if n not in passage_numbers))
    missing = [n for n in _names(claim) if n not in passage_lower]
    if missing:
        initials = _initials(passage)
        missing = [n for n in missing if n not in initials]
    missing_names = tuple(sorted(missing))
    return Support(round(coverage, 3), missing_numbers, missing_names)


@dataclass(frozen=True)
class Checked:
    sentence: Sentence
    cited: tuple[int, ...]  # after re-citing
    supported: bool
    recited: bool


def check_answer(answer: str, passages: list[str]) -> list[Checked]:
    """Each sentence with the passages that support it (numbers are 1-based)."""
    checked = []
    for sentence in split_sentences(answer):
        if is_decline(sentence.text):  # no content words: any passage would "support" it
            checked.append(Checked(sentence, (), True, False))
            continue
        valid = [n for n in sentence.cited if 1 <= n <= len(passages)]
        joined = " ".join(passages[n - 1] for n in valid)
        if valid and support(sentence.text, joined).supported:
            checked.append(Checked(sentence, tuple(valid), True, False))
            continue
        best = _best_passage(sentence.text, passages)
        if best is not None:
            checked.append(Checked(sentence, (best,), True, True))
        elif (each := _clause_passages(sentence.text, passages)) is not None:
            checked.append(Checked(sentence, each, True, tuple(valid) != each))
        else:
            checked.append(Checked(sentence, tuple(valid), False, False))
    return checked


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
        markers = "".join(f"[{n}]" for n in item.cited)
        if text[-1:] in ".!?":
            parts.append(f"{text[:-1]} {markers}{text[-1]}" if markers else text)
        else:
            parts.append(f"{text} {markers}".strip())
    return " ".join(parts)


class SentenceStream:
    """Checks a streamed answer sentence by sentence, before any of it is shown.

    Tokens are buffered until a sentence (with the markers that follow it) is complete;
    the sentence is then checked against the passages and released with corrected
    markers, or held back when no passage supports it. The text shown is therefore the
    checked answer, one sentence behind the model.
    """

    def __init__(self, passages: list[str]) -> None:
        self.passages = passages
        self.buffer = ""
        self.checked: list[Checked] = []

    def feed(self, token: str) -> list[str]:
        self.buffer += token
        out = []
        while (match := _BOUNDARY.search(self.buffer)) is not None:
            sentence, self.buffer = self.buffer[: match.end()], self.buffer[match.end() :]
            out.extend(self._release(sentence))
        return out

    def finish(self) -> list[str]:
        sentence, self.buffer = self.buffer, ""
        return self._release(sentence)

    def _release(self, raw: str) -> list[str]:
        checked = check_answer(raw, self.passages)
        self.checked.extend(checked)
        shown = [c for c in checked if c.supported]
        if not shown:
            return []
        separator = "\n" if raw.rstrip(" \t").endswith("\n") else " "
        prefix = " " if self._released else ""
        self._released = True
        return [prefix + render(shown) + ("" if separator == " " else "\n")]

    _released = False

    @property
    def unsupported(self) -> int:
        return sum(not c.supported for c in self.checked)


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
