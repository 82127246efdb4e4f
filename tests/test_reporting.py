"""The harness end to end: answer, judge, write the report; score other answers; compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.answering.assistant import Assistant
from assistant.app.cli import main
from assistant.evaluation.records import Paraphrases
from assistant.evaluation.runner import EvalOptions, compare, load_summary, run_eval

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG"

GOLD = [
    {
        "id": "t1",
        "question": "How many Ministry of Justice employees get AI tools?",
        "type": "figure",
        "gold_answer": "2,500 employees.",
        "key_terms": ["2,500"],
        "quotes": [
            {
                "doc_id": "justice",
                "text": "The Ministry of Justice will give 2,500 employees access to AI tools.",
            }
        ],
    },
    {
        "id": "t2",
        "question": "How much did the ministry pay for the tools?",
        "type": "unanswerable",
        "gold_answer": "The documents do not say.",
        "key_terms": [],
        "quotes": [],
    },
    {
        "id": "t3",
        "question": "What did Red Hat say sovereignty needs?",
        "type": "fact",
        "gold_answer": "The ability to switch providers.",
        "key_terms": ["switch providers"],
        "quotes": [
            {"doc_id": "openness", "text": "sovereignty needs the ability to switch providers"}
        ],
    },
]
REPLIES = [
    "The Ministry of Justice will give 2,500 employees access to AI tools [1].",
    "The documents do not say.",
    "Red Hat argued that sovereignty needs the ability to switch providers [1].",
]


def _gold(tmp_path: Path) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in GOLD), encoding="utf-8")
    return path


def _run(fake_assistant: Assistant, tmp_path: Path, name: str) -> tuple[dict, Path]:
    for reply in REPLIES:
        fake_assistant.generator.enqueue(reply)  # type: ignore[attr-defined]
    options = EvalOptions(questions=_gold(tmp_path), judge="fast", out=tmp_path / name)
    seen: list[tuple[str, int, int]] = []
    summary, out = run_eval(
        fake_assistant.settings, options, lambda *a: seen.append(a), fake_assistant
    )
    assert ("answering", 3, 3) in seen and ("judging", 3, 3) in seen
    return summary, out


def test_harness_on_three_questions_with_fakes(fake_assistant: Assistant, tmp_path: Path) -> None:
    summary, out = _run(fake_assistant, tmp_path, "report")
    overall = summary.overall
    assert summary.n == 3
    assert overall.refusal == 1.0 and overall.false_refusal == 0.0
    assert overall.key_terms == 1.0 and overall.hit == 1.0
    assert overall.faithfulness == 1.0 and overall.citation_recall == 1.0
    records = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["t1", "t2", "t3"]
    assert {"question", "answer", "citations", "contexts", "claims", "metrics"} <= set(records[2])
    assert [c["supported"] for c in records[2]["claims"]] == [True]
    report = (out / "report.md").read_text()
    assert "| faithfulness | 100.0 |" in report and "## The ten worst answers" in report
    for png in ("metrics_by_type.png", "latency.png"):
        assert (out / png).read_bytes()[:4] == PNG
    assert load_summary(out) == summary


def test_the_report_carries_the_judge_calibration(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    for reply in REPLIES:
        fake_assistant.generator.enqueue(reply)  # type: ignore[attr-defined]
    settings = fake_assistant.settings.with_overrides(paths={"corpus_dir": ROOT / "corpus"})
    options = EvalOptions(
        questions=_gold(tmp_path),
        judge="fast",
        out=tmp_path / "r",
        calibration=ROOT / "eval" / "judge_calibration.jsonl",
    )
    summary, out = run_eval(settings, options, None, fake_assistant)
    assert summary.calibration is not None
    (fast,) = summary.calibration
    assert fast.tier == "fast" and fast.pairs == 246
    assert 60 < fast.balanced_accuracy < 95  # lexical: it misses negations
    assert fast.by_kind["negation"] < 20 and fast.by_kind["number_swap"] > 70
    assert f"| fast | {fast.balanced_accuracy} |" in (out / "report.md").read_text()


def test_scoring_answers_from_another_system_and_comparing(
    fake_assistant: Assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, ours = _run(fake_assistant, tmp_path, "ours")
    other = []  # another system: answers t1 wrongly, t2 instead of declining, t3 well
    for row in (json.loads(line) for line in (ours / "answers.jsonl").read_text().splitlines()):
        text = {"t1": "About 25,000 employees [1].", "t2": "It paid 5 million pounds [1]."}
        other.append(
            {
                "id": row["id"],
                "question": row["question"],
                "contexts": row["contexts"],
                "answer": text.get(row["id"], row["answer"]),
            }
        )
    answers = tmp_path / "other.jsonl"
    answers.write_text("".join(json.dumps(o) + "\n" for o in other))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "eval",
            "--questions",
            str(_gold(tmp_path)),
            "--answers",
            str(answers),
            "--judge",
            "fast",
            "--out",
            "theirs",
        ],
    )
    assert result.exit_code == 0, result.output
    theirs = load_summary(tmp_path / "theirs")
    assert theirs.overall.refusal == 0.0  # t2 answered instead of declining
    assert theirs.overall.key_terms == 0.5
    # t1's 25,000 and t2's 5 million are in no passage; t3 is supported: (0 + 0 + 1) / 3
    assert theirs.overall.faithfulness == 0.3333
    report = (tmp_path / "theirs" / "report.md").read_text()
    assert "[NOT supported, fast 0.00] About 25,000 employees." in report
    rows = {r[0]: r for r in compare(load_summary(ours), theirs)}
    assert rows["unanswerable declined"][1:] == ("100.0", "0.0", "-100.0")
    result = runner.invoke(main, ["eval", "--compare", str(ours), "theirs"])
    assert result.exit_code == 0, result.output
    assert "unanswerable declined" in result.output and "-100.0" in result.output


def test_a_missing_answer_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = tmp_path / "a.jsonl"
    answers.write_text(json.dumps({"id": "t1", "answer": "2,500 [1]", "contexts": []}) + "\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main,
        ["eval", "--questions", str(_gold(tmp_path)), "--answers", str(answers), "--judge", "fast"],
    )
    assert result.exit_code == 1
    assert "has no answer to t2" in result.output


@pytest.mark.model
def test_harness_on_three_gold_questions_with_the_real_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real embedder, index and llama.cpp answering with the smallest model; the fast judge
    (the model judge on real pairs is tested in test_judging.py)."""
    for key, value in {
        "INDEX_DIR": ROOT / "index",
        "CORPUS_DIR": ROOT / "corpus",
        "MODELS_DIR": ROOT / "models",
        "DATA_DIR": tmp_path / "data",
    }.items():
        monkeypatch.setenv(f"ASSISTANT_PATHS__{key}", str(value))
    monkeypatch.setenv("ASSISTANT_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("ASSISTANT_GENERATION__MAX_TOKENS", "96")  # its answers ramble
    result = CliRunner().invoke(
        main,
        [
            "eval",
            "--questions",
            str(ROOT / "eval" / "gold.jsonl"),
            "--limit",
            "3",
            "--model",
            "smollm2-135m",
            "--judge",
            "fast",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = load_summary(tmp_path / "r")
    assert summary.n == 3 and summary.model == "smollm2-135m"
    assert summary.judge == "fast"
    assert summary.overall.hit is not None and (summary.overall.total_s or 0) > 0
    records = [json.loads(x) for x in (tmp_path / "r" / "answers.jsonl").read_text().splitlines()]
    assert all(len(r["contexts"]) > 0 for r in records)
    assert any(line.split()[:1] == ["hit@k"] for line in result.output.splitlines())


def test_misses_are_put_down_to_a_stage_and_rewordings_are_compared(
    fake_assistant: Assistant, tmp_path: Path
) -> None:
    """Two rewordings of t1: one answered like the original, one declined by the model;
    t3's draft is withheld by the sentence check."""
    _gold(tmp_path)  # the originals, beside the rewordings
    rows = [
        dict(GOLD[0], id=f"t1-{s}", paraphrase_of="t1", question=q)
        for s, q in (
            ("a", "So how many MoJ staff are getting AI tools?"),
            ("b", "What number of Ministry of Justice employees will receive AI tools?"),
        )
    ]
    rows.append(
        dict(
            GOLD[2],
            id="t3-a",
            paraphrase_of="t3",
            question="What does Red Hat think sovereignty requires?",
        )
    )
    path = tmp_path / "paraphrases.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    for reply in [
        REPLIES[0],
        REPLIES[0],
        "The documents do not say.",
        REPLIES[2],
        "Red Hat wants sovereign clouds in Peru [1].",
    ]:
        fake_assistant.generator.enqueue(reply)  # type: ignore[attr-defined]
    options = EvalOptions(questions=path, judge="fast", out=tmp_path / "para")
    summary, out = run_eval(fake_assistant.settings, options, None, fake_assistant)
    records = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == ["t1", "t1-a", "t1-b", "t3", "t3-a"]
    assert [r["stage"] for r in records] == [
        None,
        None,
        "the model declined",
        None,
        "a draft was withheld",
    ]
    assert summary.paraphrases == Paraphrases(groups=2, agree=0.0, all_right=0.0)
    report = (out / "report.md").read_text()
    assert "| the model declined | 1 |" in report and "| a draft was withheld | 1 |" in report
    assert "2 gold questions each asked as written and in its rewordings" in report
