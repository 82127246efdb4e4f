"""Evaluation metrics: each computed for one question, then averaged (eval/METRICS.md).

- Retrieval: hit@k and reciprocal rank of the gold quotes among the passages given to
  the model (a quote is found in a passage after both are normalised, when most of its
  words appear there contiguously), and the share of gold quotes found.
- Correctness: share of key terms in the answer; strict correctness (all of them).
- Faithfulness (RAGAS): supported claims / claims, each claim judged against the passages.
- Citation recall and precision (ALCE): a sentence is recalled when its cited passages,
  joined, support it; a citation is precise unless it is irrelevant (it alone does not
  support the sentence, and the other citations without it still do).
- Refusals: declined or not; scored against whether the question is answerable.

The functions here are pure: the judge comes in as a callable, so the formulas can be
checked on hand-computed cases. Running the assistant and writing reports live in
`runner.py`. Not done: semantic similarity to the gold answer (no offline scorer
agrees with people well enough to be worth the number).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from ..answering.grounding import split_sentences
from ..answering.prompting import is_decline
from ..ingest.documents import clean_text
from .judges import Judge, LabelledPair, ModelJudge, Verdict
from .records import GoldQuestion, Quote

QUOTE_MIN_SHARE = 0.7  # of a quote's words, contiguous in the passage, for it to count as found
_LOOKALIKES = str.maketrans(
    {"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-", "\u00a0": " "}
)

Entails = Callable[[str, str], bool]


def load_pairs(path: Path, labels: Mapping[str, str] | None = None) -> list[LabelledPair]:
    """Calibration pairs; a pair's passage is headed by its document's label when known."""
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            label = (labels or {}).get(row["doc_id"], "")
            passage = f"{label}\n{row['passage']}" if label else row["passage"]
            pairs.append(
                LabelledPair(row["id"], passage, row["claim"], row["supported"], row["kind"])
            )
    return pairs


# ---------------------------------------------------------------- retrieval


def normalised_words(text: str) -> list[str]:
    """Words for matching a raw-file quote against a cleaned passage."""
    text = clean_text(text).translate(_LOOKALIKES).lower()
    return re.findall(r"[a-z0-9]+", text)


def quote_found(quote: str, passage: str, min_share: float = QUOTE_MIN_SHARE) -> bool:
    """True when at least `min_share` of the quote's words appear contiguously in the passage."""
    q, p = normalised_words(quote), normalised_words(passage)
    if not q:
        return False
    match = SequenceMatcher(None, q, p, autojunk=False).find_longest_match(0, len(q), 0, len(p))
    return match.size >= min_share * len(q)


@dataclass(frozen=True)
class RetrievalScore:
    hit: float  # 1 if any gold quote is in the passages given
    reciprocal_rank: float  # 1 / rank of the first passage holding a gold quote, else 0
    quote_recall: float  # share of the gold quotes found in some passage


def retrieval_score(quotes: Sequence[Quote], passages: Sequence[str]) -> RetrievalScore | None:
    """None for a question with no gold quotes (an unanswerable one)."""
    if not quotes:
        return None
    holding = [any(quote_found(q.text, p) for q in quotes) for p in passages]
    rank = next((i for i, held in enumerate(holding, start=1) if held), None)
    found = sum(any(quote_found(q.text, p) for p in passages) for q in quotes)
    return RetrievalScore(
        hit=1.0 if rank else 0.0,
        reciprocal_rank=1.0 / rank if rank else 0.0,
        quote_recall=found / len(quotes),
    )


# ---------------------------------------------------------------- correctness


def key_term_share(answer: str, key_terms: Sequence[str]) -> float | None:
    """Share of the key terms in the answer (case-insensitive substring); None if none."""
    if not key_terms:
        return None
    text = " ".join(answer.translate(_LOOKALIKES).lower().split())
    present = [" ".join(t.translate(_LOOKALIKES).lower().split()) in text for t in key_terms]
    return sum(present) / len(present)


# ---------------------------------------------------------------- faithfulness


def faithfulness(supported: Sequence[bool]) -> float | None:
    """RAGAS: supported claims / claims; None for an answer with no claims."""
    return sum(supported) / len(supported) if supported else None


# ---------------------------------------------------------------- citations (ALCE)


@dataclass(frozen=True)
class SentenceCitations:
    text: str
    cited: tuple[int, ...]
    recalled: bool
    precise: tuple[bool, ...]  # one per citation, in the order of `cited`


@dataclass(frozen=True)
class CitationScore:
    recall: float
    precision: float
    sentences: tuple[SentenceCitations, ...]


def joined(passages: Mapping[int, str], numbers: Sequence[int]) -> str:
    return "\n\n".join(passages[n] for n in numbers)


def citation_scores(
    sentences: Sequence[tuple[str, Sequence[int]]],
    passages: Mapping[int, str],
    entails: Entails,
) -> CitationScore | None:
    """ALCE recall and precision of one answer; None for an answer with no sentences.

    A citation to a passage that was not given counts as a citation that supports nothing.
    Precision is 0 when the answer cites nothing (as in ALCE).
    """
    if not sentences:
        return None
    results = []
    for text, cited_numbers in sentences:
        cited = tuple(dict.fromkeys(cited_numbers))
        valid = [n for n in cited if n in passages]
        recalled = bool(valid) and entails(text, joined(passages, valid))
        if not recalled:
            precise = tuple(False for _ in cited)
        elif len(cited) == 1:
            precise = (True,)
        else:
            precise = tuple(
                n in passages and _relevant(text, n, valid, passages, entails) for n in cited
            )
        results.append(SentenceCitations(text, cited, recalled, precise))
    total = sum(len(s.cited) for s in results)
    return CitationScore(
        recall=sum(s.recalled for s in results) / len(results),
        precision=sum(sum(s.precise) for s in results) / total if total else 0.0,
        sentences=tuple(results),
    )


def _relevant(
    text: str, n: int, valid: Sequence[int], passages: Mapping[int, str], entails: Entails
) -> bool:
    if entails(text, passages[n]):
        return True
    rest = [m for m in valid if m != n]
    return not (rest and entails(text, joined(passages, rest)))


# ---------------------------------------------------------------- one answer


@dataclass(frozen=True)
class ClaimVerdict:
    text: str
    supported: bool
    score: float
    tier: str
    detail: str


def context_passages(answer: Mapping[str, Any]) -> dict[int, str]:
    """The passages given to the model, by their number, each headed by its title."""
    rows = answer.get("contexts") or answer.get("citations") or []
    out = {}
    for i, row in enumerate(rows, start=1):
        title = row.get("title", "")
        out[int(row.get("n", i))] = f"{title}\n{row['text']}" if title else row["text"]
    return out


def is_declined(answer: Mapping[str, Any]) -> bool:
    """Declined by the contract's flag, or by an answer that only says the sources do not
    answer (a decline that the answering system left unflagged or decorated with a marker)."""
    sentences = split_sentences(str(answer.get("answer", "")))
    return (
        bool(answer.get("declined"))
        or bool(sentences)
        and all(is_decline(s.text) for s in sentences)
    )


def score_answer(
    question: GoldQuestion, answer: Mapping[str, Any], judge: Judge, claim_mode: str = "sentences"
) -> dict[str, Any]:
    """Every metric of one answer (the answer contract as a dict), with its claims judged:
    the answer's row of answers.jsonl."""
    passages = context_passages(answer)
    declined = is_declined(answer)
    metrics = _answer_metrics(question, answer, passages, declined)
    claims: list[ClaimVerdict] = []
    citations = None
    if not declined:
        claims, citations = _judged(answer, passages, judge, claim_mode)
        metrics["faithfulness"] = faithfulness([c.supported for c in claims])
        if citations is not None:
            metrics.update(citation_recall=citations.recall, citation_precision=citations.precision)
    stage = stage_at_fault(question, answer, metrics, declined)
    metrics.update(latency_metrics(answer))
    return {
        "id": question.id,
        "type": question.type,
        "question": question.question,
        "gold_answer": question.gold_answer,
        "answer": answer.get("answer", ""),
        "declined": declined,
        "citations": list(answer.get("citations") or []),
        "contexts": list(answer.get("contexts") or []),
        "timings": answer.get("timings") or {},
        "claims": [c.__dict__ for c in claims],
        "stage": stage,
        "draft": answer.get("draft", ""),
        "checked": answer.get("sentences") or [],
        "paraphrase_of": question.paraphrase_of,
        "sentences": [s.__dict__ for s in citations.sentences] if citations else [],
        "metrics": {k: (round(v, 4) if v is not None else None) for k, v in metrics.items()},
    }


def latency_metrics(answer: Mapping[str, Any]) -> dict[str, float]:
    """Time to the first token and in all, where the answer's timings give them (answers
    from another system may come without)."""
    timings = answer.get("timings") or {}
    return {
        key: float(timings[key])
        for key in ("first_token_s", "total_s")
        if isinstance(timings.get(key), int | float)
    }


def _answer_metrics(
    question: GoldQuestion, answer: Mapping[str, Any], passages: dict[int, str], declined: bool
) -> dict[str, Any]:
    """What needs no judge: retrieval against the gold quotes, key terms, declining."""
    metrics: dict[str, Any] = {}
    retrieval = retrieval_score(question.quotes, [passages[n] for n in sorted(passages)])
    if retrieval is not None:
        metrics.update(
            hit=retrieval.hit, mrr=retrieval.reciprocal_rank, quote_recall=retrieval.quote_recall
        )
    share = key_term_share(answer.get("answer", ""), question.key_terms)
    if share is not None and question.answerable:
        metrics.update(key_terms=share, correct=float(share == 1.0))
    if question.answerable:
        metrics["false_refusal"] = float(declined)
    else:
        metrics["refusal"] = float(declined)
    return metrics


def _judged(
    answer: Mapping[str, Any], passages: dict[int, str], judge: Judge, claim_mode: str
) -> tuple[list[ClaimVerdict], CitationScore | None]:
    """The answer's claims and citations judged against the passages (each pair once)."""
    verdicts: dict[tuple[str, str], Verdict] = {}

    def verdict(claim: str, passage: str) -> Verdict:
        if (claim, passage) not in verdicts:
            verdicts[claim, passage] = judge.judge(claim, passage)
        return verdicts[claim, passage]

    sentences = [(s.text, s.cited) for s in split_sentences(answer.get("answer", ""))]
    citations = citation_scores(sentences, passages, lambda c, p: verdict(c, p).supported)
    claims = _judge_claims(answer, sentences, passages, judge, claim_mode, verdict)
    return claims, citations


STAGES = (
    "retrieval missed the passage",
    "the model declined",
    "a draft was withheld",
    "the answer lacked the detail asked for",
    "answered off the question",
    "incomplete",
    "answered an unanswerable question",
)


def stage_at_fault(
    question: GoldQuestion, answer: Mapping[str, Any], metrics: Mapping[str, Any], declined: bool
) -> str | None:
    """For a miss, the first stage that went wrong (None for a good answer):

    - an unanswerable question answered: "answered an unanswerable question";
    - an answerable one not strictly correct: the gold passage not among those given
      (retrieval), else a decline with nothing drafted but a decline (the model), with
      every drafted sentence withheld (the sentence check), or with sentences shown but
      not the detail asked for (responsiveness); else an answer with none of the key terms
      (off the question) or with some (incomplete).

    The draft's sentences come from the answering system's `sentences` field (this
    assistant's `Answer.sentences`); answers from elsewhere have none, and a decline of
    theirs counts as the model's."""
    if not question.answerable:
        return None if declined else STAGES[6]
    if metrics.get("correct") == 1.0 and not declined:
        return None
    if metrics.get("hit") == 0.0:
        return STAGES[0]
    if declined:
        drafted = [s for s in answer.get("sentences") or [] if not is_decline(str(s["text"]))]
        if not drafted:
            return STAGES[1]
        return STAGES[3] if any(s.get("shown") for s in drafted) else STAGES[2]
    return STAGES[5] if metrics.get("key_terms") else STAGES[4]


def _judge_claims(
    answer: Mapping[str, Any],
    sentences: Sequence[tuple[str, Sequence[int]]],
    passages: Mapping[int, str],
    judge: Judge,
    claim_mode: str,
    verdict: Callable[[str, str], Verdict],
) -> list[ClaimVerdict]:
    """Each claim against the passages. A claim its cited passages support is supported by
    all of them (entailment is monotonic), so the full context is judged only otherwise."""
    everything = joined(passages, sorted(passages))
    model = getattr(judge, "model", judge)
    if claim_mode == "model" and isinstance(model, ModelJudge):
        units: list[tuple[str, Sequence[int]]] = [
            (c, ()) for c in model.decompose(str(answer.get("answer", "")))
        ]
    else:
        units = list(sentences)
    claims = []
    for text, cited in units:
        valid = [n for n in dict.fromkeys(cited) if n in passages]
        found = verdict(text, joined(passages, valid)) if valid else None
        if found is None or not found.supported:
            found = verdict(text, everything) if everything else Verdict(False, 0.0, "none")
        claims.append(ClaimVerdict(text, found.supported, found.score, found.tier, found.detail))
    return claims


# ---------------------------------------------------------------- averaging

METRICS = (
    "hit",
    "mrr",
    "quote_recall",
    "key_terms",
    "correct",
    "faithfulness",
    "citation_recall",
    "citation_precision",
    "refusal",
    "false_refusal",
    "first_token_s",
    "total_s",
)


def average(records: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """The mean of each metric over the questions where it is defined."""
    out: dict[str, float | None] = {}
    for name in METRICS:
        values = [r["metrics"][name] for r in records if r["metrics"].get(name) is not None]
        out[name] = round(sum(values) / len(values), 4) if values else None
    return out
