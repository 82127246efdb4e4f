"""The evaluation data in eval/ passes its validator, and the validator catches a bad quote
and a malformed question (read by the assistant's own `GoldQuestion`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "eval" / "check_data.py"


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECKER), *args], capture_output=True, text=True, timeout=120
    )


def test_shipped_question_and_calibration_sets_are_valid() -> None:
    result = _check()
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["unseen.jsonl", "paraphrases.jsonl", "dev.jsonl"])
def test_the_held_out_and_reworded_sets_are_valid(name: str) -> None:
    result = _check("--gold", str(ROOT / "eval" / name))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rewording_names_a_gold_question_and_keeps_its_type() -> None:
    gold = {r["id"]: r for r in map(json.loads, (ROOT / "eval" / "gold.jsonl").open())}
    rows = [json.loads(line) for line in (ROOT / "eval" / "paraphrases.jsonl").open()]
    originals = {r["paraphrase_of"] for r in rows}
    assert len(originals) >= 40
    for row in rows:
        original = gold[row["paraphrase_of"]]
        assert row["type"] == original["type"] and row["key_terms"] == original["key_terms"]
        assert row["question"] != original["question"]


def test_a_quote_that_is_not_in_its_document_fails(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (ROOT / "eval" / "gold.jsonl").read_text().splitlines()]
    rows[0]["quotes"][0]["text"] = rows[0]["quotes"][0]["text"].replace("2,500", "25,000")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = _check("--gold", str(gold))
    assert result.returncode == 1
    assert "q001" in result.stdout + result.stderr


def test_a_malformed_question_is_named_with_its_line_and_problem(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (ROOT / "eval" / "gold.jsonl").read_text().splitlines()]
    rows[1] |= {"type": "opinion", "key_terms": "2,500", "colour": "red"}
    del rows[2]["quotes"][0]["text"]
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = _check("--gold", str(gold))
    assert result.returncode == 1
    second, third = rows[1]["id"], rows[2]["id"]
    for failure in (
        f"gold.jsonl:2 {second}: type: input should be 'fact', 'figure', 'multi', "
        "'comparison' or 'unanswerable' (got 'opinion')",
        f"gold.jsonl:2 {second}: key_terms: input should be a list (got '2,500')",
        f"gold.jsonl:2 {second}: colour: unknown field",
        f"gold.jsonl:3 {third}: quotes.0.text: missing",
    ):
        assert f"FAIL {failure}\n" in result.stdout, result.stdout


def test_the_checker_runs_from_the_repository_root() -> None:
    result = subprocess.run(
        [sys.executable, "eval/check_data.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("OK"), result.stderr
