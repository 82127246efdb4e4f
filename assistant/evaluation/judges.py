"""Judging: does a passage support a claim? Offline, with no paid judge.

Two tiers, and their combination:

- `FastJudge`: the lexical test of `grounding.support` (content-word coverage of the
  claim by the passage; every number and capitalised name of the claim must occur in the
  passage). Deterministic, microseconds per pair; blind to negation and hedges.
- `ModelJudge`: the product's verifier (`answering.verification.SupportModel`: a local
  GGUF model asked "does the passage support the claim? yes or no", P(yes) read from
  the first token's probabilities) with a threshold; like the verifier, it is asked
  about the claim without a phrase naming the passage's own document as its source.
- `CombinedJudge`: the fast tier vetoes a claim with a number the passage lacks, or with
  too few of its words in the passage (the model is not asked); otherwise the model
  decides. The fast tier's name check is left out of the veto: it rejects faithful
  paraphrases that abbreviate ("EU" for "European Union"). The thresholds below were
  chosen on eval/judge_calibration.jsonl (eval/METRICS.md gives the balanced accuracy of
  each tier and of this rule).

Also here: `decompose`, which asks the model to split an answer into atomic claims (the
slower claim mode of the evaluation), and `calibrate`, which scores a judge on labelled
pairs. Not done: multi-hop entailment across passages beyond reading them joined, and
any judge needing a network.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..answering.grounding import (
    COVERAGE_THRESHOLD,
    VERIFY_THRESHOLD,
    support,
    without_attribution,
)
from ..answering.verification import SupportModel

# Chosen on the calibration set (eval/METRICS.md): the model says yes at or above this.
MODEL_THRESHOLD = VERIFY_THRESHOLD
# The combined rule: below this coverage the fast tier rejects without asking the model.
VETO_COVERAGE = 0.35

DECOMPOSE_SYSTEM = (
    "Split the text into short, self-contained factual claims, one per line, each a full "
    "sentence that names its subject. Do not add anything. Reply with the claims only."
)


@dataclass(frozen=True)
class Verdict:
    supported: bool
    score: float  # the tier's confidence that the claim is supported, 0..1
    tier: str  # "fast", "model" or "fast-veto"
    detail: str = ""  # what the fast tier found missing, when it rejects


class Judge(Protocol):
    name: str

    def judge(self, claim: str, passage: str) -> Verdict: ...


class FastJudge:
    name = "fast"

    def __init__(self, threshold: float = COVERAGE_THRESHOLD) -> None:
        self.threshold = threshold

    def judge(self, claim: str, passage: str) -> Verdict:
        found = support(claim, passage)
        missing = [*found.missing_numbers, *found.missing_names]
        ok = found.coverage >= self.threshold and not missing
        score = 0.0 if missing else found.coverage
        detail = f"not in the passage: {', '.join(missing)}" if missing else ""
        if not ok and not missing:
            detail = f"only {found.coverage:.0%} of its words in the passage"
        return Verdict(ok, score, "fast", detail)


class ModelJudge(SupportModel):
    """The verifier's P(yes) with a threshold: a verdict per claim (and the model's split
    of an answer into claims)."""

    def __init__(
        self,
        llama: Any,
        name: str = "model",
        threshold: float = MODEL_THRESHOLD,
        lock: threading.Lock | None = None,
    ) -> None:
        super().__init__(llama, name, lock)
        self.threshold = threshold

    def judge(self, claim: str, passage: str) -> Verdict:
        # as the product's verifier asks it: a claim's naming of the passage's own
        # document ("“The Open Dividend” says that ...", "..., according to Demos") is
        # where the claim comes from, not what it says
        p = self.probability(without_attribution(claim, passage), passage)
        return Verdict(p >= self.threshold, round(p, 4), "model")

    def decompose(self, text: str, max_tokens: int = 256) -> list[str]:
        """The answer split into atomic claims by the model (greedy decoding)."""
        with self.lock:
            reply = self.llama.create_chat_completion(
                messages=[
                    {"role": "system", "content": DECOMPOSE_SYSTEM},
                    {"role": "user", "content": text},
                ],
                max_tokens=max_tokens,
                temperature=0.0,
                top_k=1,
            )
        content = reply["choices"][0]["message"]["content"] or ""
        claims = [
            re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip() for line in content.splitlines()
        ]
        return [c for c in claims if re.search(r"[A-Za-z0-9]", c)]


class CombinedJudge:
    """The fast tier's vetoes (a missing number, little overlap), then the model."""

    name = "combined"

    def __init__(self, model: ModelJudge, veto_coverage: float = VETO_COVERAGE) -> None:
        self.model = model
        self.veto_coverage = veto_coverage

    def judge(self, claim: str, passage: str) -> Verdict:
        found = support(claim, passage)
        if found.missing_numbers:
            missing = ", ".join(found.missing_numbers)
            return Verdict(False, 0.0, "fast-veto", f"not in the passage: {missing}")
        if found.coverage < self.veto_coverage:
            detail = f"only {found.coverage:.0%} of its words in the passage"
            return Verdict(False, found.coverage, "fast-veto", detail)
        return self.model.judge(claim, passage)


JUDGE_MODES = ("fast", "model", "combined")


def make_judge(mode: str, load_model: Callable[[], ModelJudge] | None = None) -> Judge:
    """The judge of a mode; the model is loaded only when the mode needs it."""
    if mode == "fast":
        return FastJudge()
    if mode not in JUDGE_MODES or load_model is None:
        raise ValueError(f"unknown judge mode {mode!r} (choose from {', '.join(JUDGE_MODES)})")
    model = load_model()
    return model if mode == "model" else CombinedJudge(model)


def load_model_judge(path: Path, name: str, n_ctx: int = 4096, n_threads: int = 2) -> ModelJudge:
    """A model judge on its own llama.cpp context (use `ModelJudge(llama)` to share one)."""
    from llama_cpp import Llama

    from ..generation.llm import plain_weights

    plain_weights()
    llama = Llama(
        model_path=str(path),
        n_ctx=n_ctx,
        n_threads=n_threads,
        n_threads_batch=n_threads,
        n_batch=512,
        verbose=False,
    )
    return ModelJudge(llama, name=name)


# ---------------------------------------------------------------- calibration


@dataclass(frozen=True)
class LabelledPair:
    id: str
    passage: str
    claim: str
    supported: bool
    kind: str


@dataclass(frozen=True)
class TierScore:
    tier: str
    balanced_accuracy: float  # percent
    true_positive_rate: float  # percent of supported pairs judged supported
    true_negative_rate: float
    by_kind: dict[str, float]  # percent correct per kind


def balanced_accuracy(labels: Sequence[bool], predictions: Sequence[bool]) -> float:
    """Mean of the recall on supported pairs and the recall on unsupported ones, in percent."""
    pos = [p for t, p in zip(labels, predictions, strict=True) if t]
    neg = [not p for t, p in zip(labels, predictions, strict=True) if not t]
    rates = [sum(group) / len(group) for group in (pos, neg) if group]
    return round(100 * sum(rates) / len(rates), 1) if rates else 0.0


def score_predictions(
    tier: str, pairs: Sequence[LabelledPair], predictions: Sequence[bool]
) -> TierScore:
    labels = [p.supported for p in pairs]
    pos = [pred for pair, pred in zip(pairs, predictions, strict=True) if pair.supported]
    neg = [not pred for pair, pred in zip(pairs, predictions, strict=True) if not pair.supported]
    kinds: dict[str, list[bool]] = {}
    for pair, pred in zip(pairs, predictions, strict=True):
        kinds.setdefault(pair.kind, []).append(pred == pair.supported)
    return TierScore(
        tier=tier,
        balanced_accuracy=balanced_accuracy(labels, predictions),
        true_positive_rate=round(100 * sum(pos) / len(pos), 1) if pos else 0.0,
        true_negative_rate=round(100 * sum(neg) / len(neg), 1) if neg else 0.0,
        by_kind={k: round(100 * sum(v) / len(v), 1) for k, v in sorted(kinds.items())},
    )


def calibrate(
    judges: Iterable[Judge],
    pairs: Sequence[LabelledPair],
    progress: Callable[[str, int, int], None] | None = None,
) -> list[TierScore]:
    """Each judge's agreement with the labels."""
    scores = []
    for judge in judges:
        predictions = []
        for i, pair in enumerate(pairs, start=1):
            predictions.append(judge.judge(pair.claim, pair.passage).supported)
            if progress:
                progress(f"calibrating the {judge.name} judge", i, len(pairs))
        scores.append(score_predictions(judge.name, pairs, predictions))
    return scores
