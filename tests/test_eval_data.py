"""The evaluation data in eval/ passes its validator, and the validator catches a bad quote."""

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


@pytest.mark.parametrize("name", ["unseen.jsonl", "paraphrases.jsonl"])
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
