"""The system prompt's evaluated memory is kept on disk, and a new process starts from it
with the same answer as one that reads the system prompt itself (the real SmolLM2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import real_model_path

from assistant.answering.prompting import SYSTEM_PROMPT
from assistant.generation.catalog import CATALOG
from assistant.generation.llm import GenerationStats, LlamaGenerator

MODEL = "smollm2-135m"
MESSAGES = [
    {"role": "system", "content": SYSTEM_PROMPT},
    {
        "role": "user",
        "content": "Sources:\n[1] Justice plan (Ministry of Justice, 2025)\nThe Ministry of "
        "Justice will give 2,500 employees access to AI tools.\nQuestion: How many "
        "employees get AI tools?\nAnswer:",
    },
]


def generator(state_dir: Path | None) -> LlamaGenerator:
    path = real_model_path(MODEL)
    return LlamaGenerator(path, MODEL, CATALOG[MODEL].sha256, n_ctx=1024, state_dir=state_dir)


def answer(model: LlamaGenerator) -> str:
    return "".join(model.stream(MESSAGES, 24, GenerationStats()))


@pytest.mark.model
def test_a_new_process_starts_from_the_kept_system_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluated_here = answer(generator(None))
    first = generator(tmp_path)
    assert answer(first) == evaluated_here
    (kept,) = tmp_path.glob(f"{MODEL}-*.state")
    assert kept.stat().st_size > 0

    later = generator(tmp_path)  # as a new process would

    def not_evaluated(tokens: object) -> None:
        raise AssertionError("the system prompt was evaluated again")

    monkeypatch.setattr(later.llama, "eval", not_evaluated)
    with later.lock:
        later.start_from_system(SYSTEM_PROMPT)
    assert later.llama.n_tokens == len(later._system_tokens(SYSTEM_PROMPT)) > 50
    monkeypatch.undo()
    assert answer(later) == evaluated_here

    kept.write_bytes(b"not a state")  # damaged: evaluated again, and written anew
    damaged = generator(tmp_path)
    assert answer(damaged) == evaluated_here
    (rewritten,) = tmp_path.glob(f"{MODEL}-*.state")
    assert rewritten.stat().st_size > 100


@pytest.mark.model
def test_the_verifier_reads_each_claim_after_its_kept_system_prompt(tmp_path: Path) -> None:
    from assistant.answering.verification import SUPPORT_SYSTEM, SupportModel

    model = generator(tmp_path)
    verifier = SupportModel(model.llama, MODEL, model.lock, start=model.start_from_system)
    claim = "The Ministry of Justice gives 2,500 employees AI tools."
    passage = (
        "Justice plan (Ministry of Justice, 2025)\n"
        "The Ministry of Justice will give 2,500 employees access to AI tools."
    )
    first = verifier.probability(claim, passage)
    verifier.probability("The plan starts in 2030.", "Weather report\nIt rained on Tuesday.")
    answer(model)  # the answer's own system prompt in the context between two checks
    verifier._cache.clear()
    assert verifier.probability(claim, passage) == first
    # both system prompts are kept for the next process, and neither is read again there
    assert len(list(tmp_path.glob(f"{MODEL}-*.state"))) == 2
    later = generator(tmp_path)
    evaluated: list[int] = []
    original = later.llama.eval
    later.llama.eval = lambda tokens: (evaluated.append(len(tokens)), original(tokens))[1]
    again = SupportModel(later.llama, MODEL, later.lock, start=later.start_from_system)
    assert again.probability(claim, passage) == first
    system = len(later._system_tokens(SUPPORT_SYSTEM))
    assert system > 30 and sum(evaluated) == later.llama.n_tokens - system
