"""The support judge's tiers on labelled pairs from eval/judge_calibration.jsonl."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.evaluation.judges import (
    CombinedJudge,
    FastJudge,
    ModelJudge,
    calibrate,
    load_model_judge,
)
from assistant.evaluation.metrics import load_pairs
from assistant.generation.catalog import ModelStore
from assistant.ingest.documents import read_metadata

ROOT = Path(__file__).resolve().parent.parent
# supported paraphrase, negation, unrelated, verbatim, entity swap, supported paraphrase
CHOSEN = ("c001", "c002", "c003", "c004", "c006", "c010")


def _pairs():
    labels = {
        Path(name).stem: f"{m['title']} ({m['publisher']}, {m['date']})"
        for name, m in read_metadata(ROOT / "corpus").items()
    }
    pairs = load_pairs(ROOT / "eval" / "judge_calibration.jsonl", labels)
    return [p for p in pairs if p.id in CHOSEN]


def test_fast_tier_catches_a_changed_figure_and_name_but_not_a_negation() -> None:
    judge = FastJudge()
    passage = "The Ministry of Justice alone will provide 2,500 employees with access to AI tools."
    assert judge.judge("The Ministry of Justice will give 2,500 staff AI tools.", passage).supported
    swapped = judge.judge("The Ministry of Justice will give 25,000 staff AI tools.", passage)
    assert not swapped.supported and "25000" in swapped.detail
    assert not judge.judge("The Ministry of Defence gives 2,500 staff tools.", passage).supported
    # lexical: a negation keeps the words, so the fast tier is fooled (the model tier is not)
    assert judge.judge(
        "The Ministry of Justice will not provide 2,500 employees with AI tools.", passage
    ).supported


@pytest.fixture(scope="module")
def model_judge() -> ModelJudge:
    model = ModelStore(ROOT / "models").resolve("qwen2.5-coder-1.5b")
    return load_model_judge(model.path, model.name)


@pytest.mark.model
def test_model_tier_on_labelled_pairs(model_judge: ModelJudge) -> None:
    pairs = _pairs()
    verdicts = {p.id: model_judge.judge(p.claim, p.passage) for p in pairs}
    agree = sum(verdicts[p.id].supported == p.supported for p in pairs) / len(pairs)
    assert agree >= 0.8, {p.id: verdicts[p.id].score for p in pairs}
    # the negation and the entity swap are the ones the lexical tier cannot see
    assert verdicts["c002"].score < model_judge.threshold
    assert verdicts["c006"].score < model_judge.threshold
    # the same pair again is answered from the cache, identically
    again = model_judge.judge(pairs[0].claim, pairs[0].passage)
    assert again == verdicts[pairs[0].id]


@pytest.mark.model
def test_the_model_tier_judges_what_a_document_says_not_its_title(
    model_judge: ModelJudge,
) -> None:
    passage = (
        "The Open Dividend: Building an AI Openness Strategy (Demos, June 2025)\n"
        "DeepSeek trained its V3 model on Nvidia H800 chips at a fraction of the cost."
    )
    bare = "DeepSeek trained its V3 model on Nvidia H800 chips."
    titled = f"“The Open Dividend” says that {bare[0].lower()}{bare[1:]}"
    assert model_judge.judge(titled, passage) == model_judge.judge(bare, passage)


@pytest.mark.model
def test_calibration_scores_every_tier(model_judge: ModelJudge) -> None:
    pairs = _pairs()
    scores = {
        s.tier: s for s in calibrate([FastJudge(), model_judge, CombinedJudge(model_judge)], pairs)
    }
    assert scores[model_judge.name].balanced_accuracy >= 80.0
    assert scores["combined"].balanced_accuracy >= 80.0
    # the fast tier lets the negation through: it scores below the model
    assert scores["fast"].balanced_accuracy < scores[model_judge.name].balanced_accuracy
    assert set(scores["fast"].by_kind) == {
        "paraphrase",
        "negation",
        "unrelated",
        "verbatim",
        "entity_swap",
    }


@pytest.mark.model
def test_model_splits_an_answer_into_claims(model_judge: ModelJudge) -> None:
    text = (
        "The Ministry of Justice will give 2,500 employees AI tools, and more than 1,000 "
        "probation officers already use Justice Transcribe [1]."
    )
    claims = model_judge.decompose(text, max_tokens=96)
    assert 2 <= len(claims) <= 4
    assert any("2,500" in c for c in claims) and any("1,000" in c for c in claims)
