"""Metric formulas on hand-computed cases (eval/METRICS.md)."""

from __future__ import annotations

import pytest

from assistant.evaluation.judges import FastJudge, balanced_accuracy
from assistant.evaluation.metrics import (
    average,
    citation_scores,
    faithfulness,
    key_term_share,
    quote_found,
    retrieval_score,
    score_answer,
)
from assistant.evaluation.records import GoldQuestion, Latency, Quote

JUSTICE = "The Ministry of Justice will give 2,500 employees access to AI tools."
PROBATION = "More than 1,000 probation officers already use transcription tools."
WEATHER = "It rained on Tuesday in the northern districts of the city."


def _answer(text: str, declined: bool = False) -> dict:
    contexts = [
        {"n": n, "doc_id": d, "title": "", "section": "", "text": t, "score": 0.0}
        for n, (d, t) in enumerate(
            (("justice", JUSTICE), ("justice", PROBATION), ("weather", WEATHER)), start=1
        )
    ]
    return {
        "answer": text,
        "declined": declined,
        "contexts": contexts,
        "citations": [],
        "timings": {"first_token_s": 1.0, "total_s": 3.0},
    }


QUESTION = GoldQuestion(
    "q1",
    "How many justice staff get AI tools?",
    "figure",
    "2,500.",
    ("2,500", "Justice"),
    (Quote("justice", "The Ministry of Justice will give 2,500 employees"),),
)


@pytest.mark.parametrize(
    ("quote", "passage", "found"),
    [
        # markup of the raw file and typographic characters are normalised away
        (
            "the <sup>12</sup> **open** model’s weights — all of them",
            "The open model's weights - all of them, published.",
            True,
        ),
        # most of the quote, contiguous, is enough (a quote cut by a chunk boundary)
        (
            "alpha beta gamma delta epsilon zeta eta theta iota kappa",
            "... gamma delta epsilon zeta eta theta iota kappa",
            True,
        ),
        (
            "alpha beta gamma delta epsilon zeta eta theta iota kappa",
            "alpha beta gamma delta epsilon",
            False,
        ),
        ("alpha beta gamma delta", "delta gamma beta alpha", False),
    ],
)
def test_quote_matching(quote: str, passage: str, found: bool) -> None:
    assert quote_found(quote, passage) is found


def test_retrieval_hit_and_reciprocal_rank() -> None:
    quotes = [Quote("a", "More than 1,000 probation officers"), Quote("b", "not anywhere at all")]
    score = retrieval_score(quotes, [WEATHER, PROBATION, JUSTICE])
    assert score is not None
    assert (score.hit, score.reciprocal_rank, score.quote_recall) == (1.0, 0.5, 0.5)
    missed = retrieval_score(quotes[1:], [WEATHER])
    assert missed is not None and (missed.hit, missed.reciprocal_rank) == (0.0, 0.0)
    assert retrieval_score([], [WEATHER]) is None


def test_key_terms_are_case_insensitive_substrings() -> None:
    assert key_term_share("2,500 staff at the ministry of justice", ["2,500", "Justice"]) == 1.0
    assert key_term_share("2500 staff", ["2,500", "Justice"]) == 0.0
    assert key_term_share("protectionist measures", ["protectionis", "tariff"]) == 0.5
    assert key_term_share("anything", []) is None


def test_faithfulness_of_a_hand_labelled_answer() -> None:
    # claims 1 and 2 are supported by their passages; claim 3 has a number no passage holds
    text = (
        "The Ministry of Justice will give 2,500 employees AI tools [1]. "
        "More than 1,000 probation officers use transcription tools [2]. "
        "The Ministry of Justice will spend 40 million pounds on it [1]."
    )
    record = score_answer(QUESTION, _answer(text), FastJudge())
    assert [c["supported"] for c in record["claims"]] == [True, True, False]
    m = record["metrics"]
    assert m["faithfulness"] == round(2 / 3, 4)
    assert m["citation_recall"] == round(2 / 3, 4)
    assert m["citation_precision"] == round(2 / 3, 4)
    assert (m["hit"], m["mrr"], m["key_terms"], m["correct"]) == (1.0, 1.0, 1.0, 1.0)
    assert m["false_refusal"] == 0.0 and "refusal" not in m
    assert (m["first_token_s"], m["total_s"]) == (1.0, 3.0)
    assert faithfulness([]) is None and faithfulness([True, False, False, False]) == 0.25


def test_a_declined_answer_has_no_faithfulness_and_scores_the_refusal() -> None:
    unanswerable = GoldQuestion("q2", "What did it cost?", "unanswerable", "", (), ())
    record = score_answer(unanswerable, _answer("The documents do not say.", True), FastJudge())
    assert record["metrics"]["refusal"] == 1.0
    assert "faithfulness" not in record["metrics"] and "hit" not in record["metrics"]
    answered = score_answer(QUESTION, _answer("The documents do not say.", True), FastJudge())
    assert answered["metrics"]["false_refusal"] == 1.0
    assert answered["metrics"]["key_terms"] == 0.0


# A judge given as a truth table: which passage texts support the sentence "S".
def _entails(supporting: set[str]):
    return lambda claim, passage: passage in supporting


P = {1: "one", 2: "two", 3: "three"}


@pytest.mark.parametrize(
    ("cited", "supporting", "recall", "precision"),
    [
        ((1,), {"one"}, 1.0, 1.0),
        ((1,), set(), 0.0, 0.0),
        # [1] alone supports; [2] alone does not, and without it [1] still does: irrelevant
        ((1, 2), {"one", "one\n\ntwo"}, 1.0, 0.5),
        # neither alone supports but together they do: both precise
        ((1, 2), {"one\n\ntwo"}, 1.0, 1.0),
        # each alone supports: both precise
        ((1, 2), {"one", "two", "one\n\ntwo"}, 1.0, 1.0),
        # together they do not support: recall 0, no citation precise
        ((1, 2), {"one"}, 0.0, 0.0),
        # a citation to a passage that was not given supports nothing
        ((1, 9), {"one"}, 1.0, 0.5),
        # no citation at all: not recalled, and precision 0 as in ALCE
        ((), {"one"}, 0.0, 0.0),
        # three citations, [3] irrelevant: precision 2/3
        ((1, 2, 3), {"one\n\ntwo", "one\n\ntwo\n\nthree"}, 1.0, 2 / 3),
    ],
)
def test_alce_citation_recall_and_precision(
    cited: tuple[int, ...], supporting: set[str], recall: float, precision: float
) -> None:
    score = citation_scores([("S", cited)], P, _entails(supporting))
    assert score is not None
    assert score.recall == recall
    assert score.precision == pytest.approx(precision)


def test_citation_scores_average_over_sentences_and_citations() -> None:
    sentences = [("S", (1,)), ("S", (2, 3)), ("S", ())]
    score = citation_scores(sentences, P, _entails({"one", "two", "two\n\nthree"}))
    assert score is not None
    assert score.recall == pytest.approx(2 / 3)  # the uncited sentence is not recalled
    assert score.precision == pytest.approx(2 / 3)  # [1] and [2] precise, [3] irrelevant
    assert citation_scores([], P, _entails(set())) is None


def test_average_skips_metrics_a_question_does_not_have() -> None:
    records = [
        {"metrics": {"hit": 1.0, "refusal": None}},
        {"metrics": {"hit": 0.0}},
        {"metrics": {"refusal": 1.0}},
    ]
    means = average(records)
    assert (means["hit"], means["refusal"], means["faithfulness"]) == (0.5, 1.0, None)


def test_balanced_accuracy() -> None:
    labels = [True, True, True, True, False, False]
    predicted = [True, True, True, False, True, False]
    assert balanced_accuracy(labels, predicted) == 62.5  # (3/4 + 1/2) / 2
    assert balanced_accuracy([True, False], [True, False]) == 100.0


def test_latency_p90_is_the_nearest_rank_and_never_below_the_median() -> None:
    import math

    from assistant.evaluation.runner import latency_summary

    assert latency_summary([3.0, 1.0, 2.0]) == Latency(median=2.0, p90=3.0, max=3.0)
    # two answers: the median lies between them, the 90th percentile is the slower one
    assert latency_summary([16.4, 59.5]) == Latency(median=37.95, p90=59.5, max=59.5)
    for n in range(1, 200):  # the smallest time at least 90% of answers took no longer than
        values = [((7 * i) % n) / 3 for i in range(n)]  # not sorted
        ranked = sorted(values)
        stats = latency_summary(values)
        assert stats.p90 == round(ranked[math.ceil(0.9 * n) - 1], 3)
        assert stats.median <= stats.p90 <= stats.max
