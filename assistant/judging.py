"""Judging: does a passage support a claim? Offline, with no paid judge.

Two tiers, and their combination:

- `FastJudge`: the lexical test of `grounding.support` (content-word coverage of the
  claim by the passage; every number and capitalised name of the claim must occur in the
  passage). Deterministic, microseconds per pair; blind to negation and hedges.
- `ModelJudge`: a local GGUF model run by llama.cpp is asked "does the passage support
  the claim? yes or no" and the answer is read from the probabilities of the first token,
  P(yes) / (P(yes) + P(no)), with no sampling. The passage comes first in the prompt, so
  llama.cpp reuses its evaluated tokens when several claims are judged against it.
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

import numpy as np

from .grounding import COVERAGE_THRESHOLD, support

# Chosen on the calibration set (eval/METRICS.md): the model says yes at or above this.
MODEL_THRESHOLD = 0.6
# The combined rule: below this coverage the fast tier rejects without asking the model.
VETO_COVERAGE = 0.35

JUDGE_SYSTEM = (
    "You check whether a claim is supported by a passage. Judge against the passage only, "
    "not your own knowledge. Answer yes only if the passage states everything the claim "
    "says: same numbers, dates, names and who did what, with no hedge turned into fact "
    "and nothing added. Otherwise answer no. Reply with one word: yes or no."
)
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


class ModelJudge:
    """P(yes) of a local model, read from the logits of its first answer token."""

    def __init__(
        self,
        llama: Any,
        name: str = "model",
        threshold: float = MODEL_THRESHOLD,
        lock: threading.Lock | None = None,
    ) -> None:
        self.llama = llama
        self.name = name
        self.threshold = threshold
        self.lock = lock or threading.Lock()
        self._format = chat_formatter(llama)
        self._yes = _answer_tokens(llama, ("yes", "Yes", "YES"))
        self._no = _answer_tokens(llama, ("no", "No", "NO"))
        self._cache: dict[tuple[str, str], float] = {}

    def probability(self, claim: str, passage: str) -> float:
        key = (claim, passage)
        if key not in self._cache:
            user = (
                f"Passage:\n{passage}\n\nClaim: {claim}\n\n"
                "Does the passage support the claim? Answer yes or no."
            )
            prompt = self._format([
                {"role": "system", "content": JUDGE_SYSTEM},
                {"role": "user", "content": user},
            ])  # fmt: skip
            logits = self._last_logits(prompt)
            yes = np.logaddexp.reduce(logits[self._yes])
            no = np.logaddexp.reduce(logits[self._no])
            self._cache[key] = float(1.0 / (1.0 + np.exp(no - yes)))
        return self._cache[key]

    def judge(self, claim: str, passage: str) -> Verdict:
        p = self.probability(claim, passage)
        return Verdict(p >= self.threshold, round(p, 4), "model")

    def _last_logits(self, prompt: str) -> np.ndarray:
        llama = self.llama
        tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        limit = llama.n_ctx() - 1
        if len(tokens) > limit:  # keep the end: the claim and the question
            tokens = tokens[:1] + tokens[len(tokens) - limit + 1 :]
        with self.lock:
            done = llama.n_tokens
            reuse = _common_prefix(llama.input_ids[:done].tolist(), tokens)
            reuse = min(reuse, len(tokens) - 1)  # evaluate at least one token for its logits
            llama.n_tokens = reuse
            llama.eval(tokens[reuse:])
            pointer = llama._ctx.get_logits_ith(-1)
            return np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),)).copy()

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
        claims = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip() for line in
                  content.splitlines()]  # fmt: skip
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

    from .generation.llm import plain_weights

    plain_weights()
    llama = Llama(
        model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
        n_batch=512, verbose=False,
    )  # fmt: skip
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


# ---------------------------------------------------------------- llama.cpp details


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _answer_tokens(llama: Any, words: Sequence[str]) -> list[int]:
    """Ids of the single tokens that spell the words, with and without a leading space."""
    ids: set[int] = set()
    for word in words:
        for text in (word, " " + word):
            tokens = llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
            if len(tokens) == 1:
                ids.add(tokens[0])
    if not ids:
        raise ValueError(f"the model has no single token for {words[0]!r}")
    return sorted(ids)


def chat_formatter(llama: Any) -> Callable[[list[dict[str, str]]], str]:
    """The model's own chat template (from the GGUF), or ChatML when it has none."""
    template = llama.metadata.get("tokenizer.chat_template")
    if template:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        vocab = llama._model
        eos = vocab.token_get_text(llama.token_eos()) if llama.token_eos() >= 0 else ""
        bos = vocab.token_get_text(llama.token_bos()) if llama.token_bos() >= 0 else ""
        formatter = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)

        def render(messages: list[dict[str, str]]) -> str:
            prompt = formatter(messages=messages).prompt  # type: ignore[arg-type]
            return prompt[len(bos) :] if bos and prompt.startswith(bos) else prompt

        return render

    def chatml(messages: list[dict[str, str]]) -> str:
        body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return body + "<|im_start|>assistant\n"

    return chatml
