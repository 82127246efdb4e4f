"""Focusing: each passage cut down to the sentences that answer the question.

On two cores the wait for the first word is the prompt: llama.cpp reads about 190 prompt
tokens a second, and six whole passages of 200 word pieces cost some 1,200 tokens, six
seconds before the model writes anything. Most of a passage is not about the question. So
within each retrieved passage the sentences are ranked by how well they match the question,
in meaning (the embedder's cosine, the same MiniLM that searched) and in words (the share
of the question's content words the sentence holds), with a lift for a sentence holding
the kind of detail asked for (an amount for a how-much question: `responsiveness`). The
best are kept, in their passage's order, up to a budget of tokens per passage; where a
sentence between two kept ones is dropped, an ellipsis stands for it. A table's header is
always kept with its rows.

Only the prompt is focused. The sentence check, the citations shown and the record's
passages are the whole passages, so what a reader is shown to check an answer against is
never less than what the model read. `assistant bench --sweep-part focus` gives the curve
of prompt tokens against quote recall for `retrieval.passage_tokens`; the evaluation keeps
it at 0 (whole passages), because focused prompts lost lists (README).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .grounding import content_words, segment
from .responsiveness import asked_for, gives
from .retrieval import Hit

GAP = "…"
# A piece shorter than this (a heading, a list's lead-in, "Key points") goes with the next.
_SHORT_WORDS = 4
DETAIL_LIFT = 0.15


def pieces(text: str) -> list[str]:
    """The passage's sentences (and lines), a very short one joined to the next; a piece
    that ends a line keeps its line break."""
    out: list[str] = []
    carry = ""
    for raw in segment(text):
        piece = " ".join(raw.split())
        if not piece:
            continue
        piece = f"{carry} {piece}" if carry else piece
        carry = ""
        if len(piece.split()) < _SHORT_WORDS:
            carry = piece
            continue
        out.append(piece + ("\n" if raw.endswith("\n") else ""))
    if carry:
        if out:
            out[-1] = f"{out[-1].rstrip()} {carry}"
        else:
            out.append(carry)
    return out


def lexical(question_words: set[str], sentence: str) -> float:
    """Share of the question's content words (stems) the sentence holds."""
    if not question_words:
        return 0.0
    return len(question_words & content_words(sentence)) / len(question_words)


def focus_passages(
    question: str,
    hits: Sequence[Hit],
    embed: Callable[[Sequence[str]], np.ndarray],
    count_tokens: Callable[[str], int],
    budget: int,
) -> list[str]:
    """The text given to the model for each hit: the whole passage when `budget` is 0 or
    the passage fits in it, else its best sentences within `budget` tokens."""
    whole = [hit.chunk.passage for hit in hits]
    if budget <= 0 or not hits:
        return whole
    split: list[list[str]] = []
    for hit in hits:
        sentences = pieces(hit.chunk.text)
        fits = count_tokens(hit.chunk.passage) <= budget
        split.append([] if fits or len(sentences) <= 1 else sentences)
    flat = [s for sentences in split for s in sentences]
    if not flat:
        return whole
    vectors = embed([question, *flat])
    similarity = vectors[1:] @ vectors[0]
    asked = asked_for(question)
    words = content_words(question)
    scores = iter(
        float(sim) + lexical(words, s) + (DETAIL_LIFT if asked and gives(asked, s, question) else 0)
        for sim, s in zip(similarity, flat, strict=True)
    )
    out = []
    for hit, sentences in zip(hits, split, strict=True):
        if not sentences:
            out.append(hit.chunk.passage)
            continue
        ranked = [(next(scores), i) for i in range(len(sentences))]
        header = f"{hit.chunk.header}\n" if hit.chunk.header else ""
        left = budget - (count_tokens(header) if header else 0)
        kept: list[int] = []
        for _, i in sorted(ranked, key=lambda pair: (-pair[0], pair[1])):
            cost = count_tokens(sentences[i]) + 1
            if kept and cost > left:
                continue
            kept.append(i)
            left -= cost
        out.append(header + _joined(sentences, sorted(kept)))
    return out


def _joined(sentences: Sequence[str], kept: Sequence[int]) -> str:
    """The kept sentences in order, an ellipsis where sentences were left out."""
    text = ""
    for n, i in enumerate(kept):
        if i > (kept[n - 1] + 1 if n else 0):
            text += GAP + ("\n" if sentences[i - 1].endswith("\n") else " ")
        text += sentences[i] if sentences[i].endswith("\n") else sentences[i] + " "
    if kept and kept[-1] < len(sentences) - 1:
        text += GAP
    return text.strip()
