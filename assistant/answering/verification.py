"""Verification: the local model's yes/no judgement of whether a passage supports a claim.

The answering model itself is asked "does the passage support the claim? yes or no" and
the answer is read from the probabilities of its first token, P(yes) / (P(yes) + P(no)),
with no sampling. It shares the answering model's llama.cpp context (and its lock), so no
second model is held in memory. Its system prompt's memory is kept like the answer's
(`LlamaGenerator.start_from_system`): every claim is read after exactly that prefix, so
its verdict does not depend on what was asked before. Grounding asks
it about the sentences the lexical test cannot settle; the evaluation's model judge
(`evaluation.judges.ModelJudge`) is the same question with a threshold, calibrated on
eval/judge_calibration.jsonl.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..generation.llm import chat_formatter

SUPPORT_SYSTEM = (
    "You check whether a claim is supported by a passage. Judge against the passage only, "
    "not your own knowledge. Answer yes only if the passage states everything the claim "
    "says: same numbers, dates, names and who did what, with no hedge turned into fact "
    "and nothing added. Otherwise answer no. Reply with one word: yes or no."
)


class SupportModel:
    """P(yes) of a local model, read from the logits of its first answer token."""

    def __init__(
        self,
        llama: Any,
        name: str = "model",
        lock: threading.Lock | None = None,
        start: Callable[[str], None] | None = None,
    ) -> None:
        """`start(system)`: leaves llama.cpp holding exactly the system prompt's memory,
        kept from its first evaluation (`LlamaGenerator.start_from_system`), so that each
        claim is read after the same prefix whatever the context held (and the verifier's
        instructions are not read again after every answer). Without it, the longest
        prefix the context shares with the prompt is reused."""
        self.llama = llama
        self.name = name
        self.lock = lock or threading.Lock()
        self.start = start
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
            prompt = self._format(
                [
                    {"role": "system", "content": SUPPORT_SYSTEM},
                    {"role": "user", "content": user},
                ]
            )
            logits = self._last_logits(prompt)
            yes = np.logaddexp.reduce(logits[self._yes])
            no = np.logaddexp.reduce(logits[self._no])
            self._cache[key] = float(1.0 / (1.0 + np.exp(no - yes)))
        return self._cache[key]

    def _last_logits(self, prompt: str) -> np.ndarray:
        llama = self.llama
        tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        limit = llama.n_ctx() - 1
        if len(tokens) > limit:  # keep the end: the claim and the question
            tokens = tokens[:1] + tokens[len(tokens) - limit + 1 :]
        with self.lock:
            if self.start is not None:
                self.start(SUPPORT_SYSTEM)
            done = llama.n_tokens
            reuse = _common_prefix(llama.input_ids[:done].tolist(), tokens)
            reuse = min(reuse, len(tokens) - 1)  # evaluate at least one token for its logits
            llama.n_tokens = reuse
            llama.eval(tokens[reuse:])
            pointer = llama._ctx.get_logits_ith(-1)
            return np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),)).copy()


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
