"""The command line through click's CliRunner, with the fake embedder and model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import assistant.app.cli as cli
from assistant.generation.catalog import CATALOG

CONTRACT_KEYS = {
    "id",
    "question",
    "answer",
    "citations",
    "contexts",
    "declined",
    "scope",
    "model",
    "timings",
}
REPLY = "The Ministry of Justice will give 2,500 employees access to AI tools [1]."


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)


def test_ask_json_prints_exactly_one_contract_object(
    corpus: Path, env: dict[str, str], replies: list[str]
) -> None:
    assert run(env, "index").exit_code == 0
    replies.append(REPLY)
    result = run(env, "ask", "--json", "How many Ministry of Justice staff get AI tools?")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)  # the whole of stdout is one JSON object
    assert set(data) == CONTRACT_KEYS
    assert data["question"] == "How many Ministry of Justice staff get AI tools?"
    assert not data["declined"]
    assert [c["doc_id"] for c in data["citations"]] == ["justice"]
    assert "2,500" in data["citations"][0]["text"]


def test_ask_streams_the_answer_and_its_sources(
    corpus: Path, env: dict[str, str], replies: list[str]
) -> None:
    run(env, "index")
    replies.append(REPLY)
    result = run(env, "ask", "How", "many", "Ministry", "of", "Justice", "staff", "get", "tools?")
    assert result.exit_code == 0, result.stderr
    assert "2,500 employees" in result.stdout
    assert "Sources:" in result.stdout and "[1] Justice, §Justice" in result.stdout


def test_ask_doc_limits_the_search_and_names_unknown_ids(
    corpus: Path, env: dict[str, str], replies: list[str]
) -> None:
    run(env, "index")
    replies.append("It rained on Tuesday in the northern districts [1].")
    result = run(env, "ask", "--json", "--doc", "weather", "How many staff get AI tools?")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["scope"] == ["weather"]
    assert {c["doc_id"] for c in data["contexts"]} == {"weather"}
    result = run(env, "ask", "--doc", "weather", "--doc", "nowhere", "Did it rain?")
    assert result.exit_code == 1 and result.stdout == ""
    assert "No indexed document is called 'nowhere'" in result.stderr
    assert "weather (Weather)" in result.stderr


def test_chat_doc_says_what_it_searches(
    corpus: Path, env: dict[str, str], replies: list[str]
) -> None:
    run(env, "index")
    replies.append("It rained on Tuesday in the northern districts [1].")
    result = CliRunner().invoke(
        cli.main, ["chat", "--doc", "Weather"], input="Did it rain?\n\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert "Searching only: Weather" in result.output
    assert "It rained on Tuesday" in result.output


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_fails_with_a_clear_message(
    corpus: Path, env: dict[str, str], replies: list[str], question: str
) -> None:
    run(env, "index")
    result = run(env, "ask", question)
    assert result.exit_code != 0
    assert "The question is empty: type a question about the documents." in result.stderr
    assert result.stdout == ""


def test_no_question_at_all_is_a_usage_error(env: dict[str, str], replies: list[str]) -> None:
    result = run(env, "ask")
    assert result.exit_code == 2 and "Missing argument 'QUESTION...'" in result.stderr


def test_missing_index_names_the_index_command(
    env: dict[str, str], replies: list[str], tmp_path: Path
) -> None:
    result = run(env, "ask", "--json", "Anything?")
    assert result.exit_code == 1
    assert "No index found in" in result.stderr and "`assistant index`" in result.stderr
    assert result.stdout == ""


def test_models_lists_the_three_catalogue_entries(env: dict[str, str], tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / CATALOG["smollm2-135m"].file).write_bytes(b"GGUF not the real file")
    result = run(env, "models")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["name", "licence", "size", "installed", "verified"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"]
    assert "(default)" in rows["qwen2.5-coder-1.5b"]
    assert "HASH MISMATCH" in rows["smollm2-135m"]
    assert "1.12 GB" in rows["qwen2.5-coder-1.5b"]
    assert rows["qwen2.5-coder-0.5b"].split()[3:6] == ["MB", "no", "-"]  # 491 MB
    assert "\x1b" not in result.stdout  # no colour codes when not printed to a terminal
    assert all(line == line.rstrip() for line in lines)


def test_tables_on_a_terminal_have_a_bold_header(env: dict[str, str]) -> None:
    result = run({**env, "FORCE_COLOR": "1", "COLUMNS": "200"}, "models")
    assert result.exit_code == 0
    assert "\x1b[1mname" in result.stdout
    assert "qwen2.5-coder-1.5b (default)" in result.stdout


def test_index_lists_a_bad_file_and_indexes_the_rest(
    corpus: Path, env: dict[str, str], replies: list[str]
) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a pdf body\n%%EOF")
    (corpus / "blob.txt").write_bytes(bytes(range(256)))
    result = run(env, "index")
    assert result.exit_code == 0
    err = result.stderr
    assert f"not indexed: {corpus / 'broken.pdf'}: broken.pdf: not a readable PDF" in err
    assert f"not indexed: {corpus / 'blob.txt'}: blob.txt: looks like a binary file" in err
    for doc_id in ("justice", "openness", "weather"):
        assert f"added: {doc_id}" in err
    assert "Index updated: 3 documents, 4 passages (4 embedded now)" in err
    again = run(env, "index")
    assert "Index already up to date: 3 documents, 4 passages (0 embedded now)" in again.stderr


def test_index_adds_given_files(
    corpus: Path, env: dict[str, str], replies: list[str], tmp_path: Path
) -> None:
    extra = tmp_path / "Harbour plan.md"
    extra.write_text("# Harbour\n\nThe harbour authority will dredge the channel in 2027.\n")
    result = run(env, "index", str(extra), str(tmp_path / "missing.md"))
    assert "skipped " + str(tmp_path / "missing.md") + ": no such file or folder" in result.stderr
    assert "added: Harbour-plan" in result.stderr
    assert (corpus / "Harbour-plan.md").exists()


def test_chat_is_kept_rated_and_resumed(
    corpus: Path, env: dict[str, str], replies: list[str], tmp_path: Path
) -> None:
    run(env, "index")
    replies.append(REPLY)
    first = CliRunner().invoke(
        cli.main,
        ["chat"],
        input="How many Ministry of Justice staff get AI tools?\n/down It missed the date\n\n",
        env=env,
    )
    assert first.exit_code == 0, first.output
    assert "your rating of the last answer is kept" in first.output
    kept = re.search(r"chat --resume (\w+)", first.stderr)
    assert kept
    replies.append(REPLY)
    again = CliRunner().invoke(
        cli.main, ["chat", "--resume"], input="And the probation officers?\n\n", env=env
    )
    assert again.exit_code == 0, again.output
    assert "Carrying on “How many Ministry of Justice staff get AI tools?”" in again.output
    assert f"chat --resume {kept.group(1)}" in again.stderr  # the same conversation
    unknown = CliRunner().invoke(cli.main, ["chat", "--resume", "nope"], input="\n", env=env)
    assert unknown.exit_code == 1 and "No conversation has the id 'nope'" in unknown.stderr
    drafts = tmp_path / "drafts.jsonl"
    made = run(env, "eval", "--from-feedback", str(drafts))
    assert made.exit_code == 0 and "1 new draft question" in made.stdout
    (draft,) = [json.loads(line) for line in drafts.read_text().splitlines()]
    assert draft["question"] == "How many Ministry of Justice staff get AI tools?"
    assert draft["feedback"]["comment"] == "It missed the date"
    assert "0 new draft question" in run(env, "eval", "--from-feedback", str(drafts)).stdout
