"""The evaluation run: answer a question set (or read answers), score it, write the report.

`run_eval` answers the questions with the assistant (or reads answers another system
produced), judges them, and writes under the output folder:

    answers.jsonl   one line per question: question, answer, citations, contexts, claims
                    marked supported or not, every metric
    summary.json    averages overall and by question type, latency, judge calibration
                    (`records.EvalSummary`)
    report.md       the summary table and the ten worst answers with their claims
    metrics_by_type.png, latency.png

Questions are all answered first, then all judged, so each model keeps its prompt prefix
warm. `compare` puts two reports side by side. Not done here: the metric formulas
(`metrics.py`) and the judges (`judges.py`); display (the CLI).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..answering.assistant import Assistant
from ..errors import AssistantError, EvaluationDataError, RecordInvalid
from ..files import Progress
from ..generation.catalog import ModelStore
from ..ingest.documents import read_metadata
from ..settings import Settings
from .judges import (
    CombinedJudge,
    FastJudge,
    Judge,
    ModelJudge,
    TierScore,
    calibrate,
    load_model_judge,
    make_judge,
)
from .metrics import METRICS, STAGES, average, load_pairs, score_answer
from .records import (
    QUESTION_TYPES,
    EvalSummary,
    GoldQuestion,
    Latency,
    Paraphrases,
    Scores,
    TierCalibration,
    TypeScores,
    load_questions,
)

LABELS = {
    "hit": "hit@k",
    "mrr": "MRR",
    "quote_recall": "quote recall",
    "key_terms": "key terms",
    "correct": "strictly correct",
    "faithfulness": "faithfulness",
    "citation_recall": "citation recall",
    "citation_precision": "citation precision",
    "refusal": "unanswerable declined",
    "false_refusal": "answerable declined",
    "first_token_s": "first token (s)",
    "total_s": "total (s)",
}


@dataclass(frozen=True)
class EvalOptions:
    questions: Path
    limit: int | None = None
    answers: Path | None = None  # score these instead of asking the assistant
    judge: str = "combined"
    claims: str = "sentences"  # or "model": the judge model splits answers into claims
    judge_model: str | None = None  # default: the answering model
    calibration: Path | None = None  # labelled pairs to calibrate the judge on
    out: Path | None = None


def run_eval(
    settings: Settings,
    options: EvalOptions,
    progress: Progress | None = None,
    assistant: Assistant | None = None,
) -> tuple[EvalSummary, Path]:
    """Answer, judge, write the report; returns the summary and the report's folder."""
    started = time.perf_counter()
    questions = with_originals(
        _read_questions(options.questions)[: options.limit], options.questions
    )
    if options.answers:
        answers = read_answers(options.answers, questions)
    else:
        assistant = assistant or Assistant(settings)
        answers = answer_all(assistant, questions, progress)
    judge = build_judge(settings, options, assistant)
    records = []
    for i, (question, answer) in enumerate(zip(questions, answers, strict=True), start=1):
        records.append(score_answer(question, answer, judge, options.claims))
        if progress:
            progress("judging", i, len(questions))
    calibration = None
    if options.calibration:
        calibration = run_calibration(settings, options.calibration, judge, progress)
    seconds = round(time.perf_counter() - started, 1)
    summary = summarise(records, options, answers, judge, calibration, seconds)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = options.out or options.questions.parent / "reports" / stamp
    write_report(out, records, summary)
    return summary, out


def _read_questions(path: Path) -> list[GoldQuestion]:
    try:
        return load_questions(path)
    except (OSError, ValueError, RecordInvalid) as exc:
        raise EvaluationDataError(
            f"{path} is not a question set ({exc}); see eval/FORMAT.md."
        ) from exc


def with_originals(questions: list[GoldQuestion], path: Path) -> list[GoldQuestion]:
    """A set of paraphrases is asked with the gold questions they reword (from the
    gold.jsonl beside it), each original just before its rewordings."""
    wanted = {q.paraphrase_of for q in questions if q.paraphrase_of}
    if not wanted:
        return questions
    gold = {q.id: q for q in _read_questions(path.parent / "gold.jsonl") if q.id in wanted}
    out: list[GoldQuestion] = []
    for q in questions:
        original = gold.pop(q.paraphrase_of, None) if q.paraphrase_of else None
        if original is not None and all(o.id != original.id for o in questions):
            out.append(original)
        out.append(q)
    return out


def paraphrase_agreement(records: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """How often a gold question and its rewordings get the same outcome (correct,
    declined, or answered wrongly), and how often all of them are right."""
    outcome = {r["id"]: _outcome(r) for r in records}
    groups: dict[str, list[str]] = {}
    for r in records:
        if r.get("paraphrase_of") and r["paraphrase_of"] in outcome:
            groups.setdefault(r["paraphrase_of"], [outcome[r["paraphrase_of"]]]).append(
                outcome[r["id"]]
            )
    if not groups:
        return None
    same = [len(set(g)) == 1 for g in groups.values()]
    right = [
        all(
            o == ("declined" if records_type(records, k) == "unanswerable" else "correct")
            for o in g
        )
        for k, g in groups.items()
    ]
    return {
        "groups": len(groups),
        "agree": round(sum(same) / len(same), 4),
        "all_right": round(sum(right) / len(right), 4),
    }


def records_type(records: Sequence[Mapping[str, Any]], qid: str) -> str:
    return next(str(r["type"]) for r in records if r["id"] == qid)


def _outcome(record: Mapping[str, Any]) -> str:
    if record["declined"]:
        return "declined"
    return "correct" if record["metrics"].get("correct") == 1.0 else "wrong"


def stage_table(records: Sequence[Mapping[str, Any]]) -> str:
    """Misses by the stage at fault, overall and by question type, as Markdown."""
    types = [t for t in QUESTION_TYPES if any(r["type"] == t for r in records)]
    rows = [
        "| stage at fault | all | " + " | ".join(types) + " |",
        "| --- | --- |" + " --- |" * len(types),
    ]
    for stage in STAGES:
        hits = [r for r in records if r.get("stage") == stage]
        cells = [str(sum(1 for r in hits if r["type"] == t)) for t in types]
        rows.append(f"| {stage} | {len(hits)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def answer_all(
    assistant: Assistant, questions: Sequence[GoldQuestion], progress: Progress | None
) -> list[dict[str, Any]]:
    answers = []
    for i, question in enumerate(questions, start=1):
        try:
            answer = assistant.ask(question.question)
            answers.append(
                answer.to_json()
                | {
                    "draft": answer.draft,
                    "sentences": [c.record() for c in answer.sentences],
                    "warnings": list(answer.warnings),
                }
            )
        except AssistantError as exc:  # one bad question must not end a long run
            answers.append(
                {
                    "question": question.question,
                    "answer": "",
                    "declined": False,
                    "citations": [],
                    "contexts": [],
                    "error": str(exc),
                }
            )
        if progress:
            progress("answering", i, len(questions))
    return answers


def read_answers(path: Path, questions: Sequence[GoldQuestion]) -> list[dict[str, Any]]:
    """Answers in the answer contract, one JSON object a line, matched by `id` or question."""
    by_key: dict[str, dict[str, Any]] = {}
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                by_key[str(row.get("id") or " ".join(str(row["question"]).split()))] = row
    except (OSError, ValueError, KeyError) as exc:
        raise EvaluationDataError(f"{path} is not a file of answers ({exc}).") from exc
    answers = []
    for q in questions:
        row = by_key.get(q.id) or by_key.get(" ".join(q.question.split()))
        if row is None:
            raise EvaluationDataError(f"{path} has no answer to {q.id}: {q.question}")
        answers.append(row)
    return answers


def build_judge(settings: Settings, options: EvalOptions, assistant: Assistant | None) -> Judge:
    def load() -> ModelJudge:
        spec = options.judge_model or settings.generation.model
        generator = assistant.generator if assistant and not options.answers else None
        llama = getattr(generator, "llama", None)
        model = ModelStore(settings.paths.models_dir).resolve(spec)
        if llama is not None and getattr(generator, "sha256", None) == model.sha256:
            return ModelJudge(llama, name=model.name, lock=getattr(generator, "lock", None))
        g = settings.generation
        return load_model_judge(model.path, model.name, g.n_ctx, g.n_threads)

    return make_judge(options.judge, load)


def run_calibration(
    settings: Settings, path: Path, judge: Judge, progress: Progress | None
) -> list[TierCalibration]:
    """Balanced accuracy of each tier the judge has, and of the judge itself."""
    metadata = read_metadata(settings.paths.corpus_dir)
    labels = {}
    for name, entry in metadata.items():
        where = ", ".join(v for v in (entry.get("publisher"), entry.get("date")) if v)
        labels[Path(name).stem] = f"{entry.get('title', '')} ({where})" if where else ""
    try:
        pairs = load_pairs(path, labels)
    except (OSError, ValueError, KeyError) as exc:
        raise EvaluationDataError(f"{path} is not a calibration set ({exc}).") from exc
    judges: list[Judge] = [FastJudge()]
    if isinstance(judge, CombinedJudge):
        judges += [judge.model, judge]
    elif isinstance(judge, ModelJudge):
        judges.append(judge)
    scores: list[TierScore] = calibrate(judges, pairs, progress)
    return [TierCalibration(**asdict(s), pairs=len(pairs)) for s in scores]


def latency_summary(values: Sequence[float]) -> Latency:
    """Median, 90th percentile and maximum. The percentile is by nearest rank (the
    smallest time that at least 90% of answers took no longer than): a time some answer
    took, and never below the median, as the rank below would be for two answers."""
    return Latency(
        median=round(statistics.median(values), 3),
        p90=round(float(np.percentile(values, 90, method="inverted_cdf")), 3),
        max=round(max(values), 3),
    )


def summarise(
    records: Sequence[Mapping[str, Any]],
    options: EvalOptions,
    answers: Sequence[Mapping[str, Any]],
    judge: Judge,
    calibration: list[TierCalibration] | None,
    seconds: float = 0.0,
) -> EvalSummary:
    by_type = {
        t: TypeScores(n=len(rows), **average(rows))
        for t in QUESTION_TYPES
        if (rows := [r for r in records if r["type"] == t])
    }
    latency = {}
    for key in ("first_token_s", "total_s"):
        values = [r["metrics"][key] for r in records if r["metrics"].get(key) is not None]
        if values:
            latency[key] = latency_summary(values)
    models = sorted({str((a.get("model") or {}).get("name", "")) for a in answers} - {""})
    agreement = paraphrase_agreement(records)
    return EvalSummary(
        format=EvalSummary.FORMAT,
        created=datetime.now().isoformat(timespec="seconds"),
        questions=str(options.questions),
        n=len(records),
        answers=str(options.answers) if options.answers else "assistant",
        model=", ".join(models) or "unknown",
        judge=options.judge,
        judge_model=model.name
        if isinstance(model := getattr(judge, "model", judge), ModelJudge)
        else None,
        claims=options.claims,
        overall=Scores(**average(records)),
        by_type=by_type,
        latency=latency,
        errors=sum(1 for a in answers if a.get("error")),
        stages={stage: sum(1 for r in records if r.get("stage") == stage) for stage in STAGES},
        paraphrases=Paraphrases(**agreement) if agreement else None,
        calibration=calibration,
        seconds=seconds,
    )


# ---------------------------------------------------------------- files


def write_report(out: Path, records: Sequence[Mapping[str, Any]], summary: EvalSummary) -> None:
    from .plots import plot_latency, plot_metrics_by_type

    out.mkdir(parents=True, exist_ok=True)
    with (out / "answers.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    text = json.dumps(summary.to_json(), indent=2, ensure_ascii=False)
    (out / "summary.json").write_text(text + "\n")
    plot_metrics_by_type(summary, out / "metrics_by_type.png")
    plot_latency(records, out / "latency.png")
    (out / "report.md").write_text(markdown(summary, records), encoding="utf-8")


def quality(record: Mapping[str, Any]) -> float:
    """One number to rank answers by (for the worst ten): the mean of what applies."""
    m = record["metrics"]
    parts = [m.get(k) for k in ("key_terms", "faithfulness", "citation_recall", "refusal")]
    if m.get("false_refusal") is not None:
        parts.append(1 - m["false_refusal"])
    values = [p for p in parts if p is not None]
    return sum(values) / len(values) if values else 1.0


def summary_rows(summary: EvalSummary) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the metrics overall and by question type."""
    by_type = summary.by_type
    header = ["metric", f"all ({summary.n})", *(f"{t} ({s.n})" for t, s in by_type.items())]
    rows = []
    for name in METRICS:
        cells = [_cell(summary.overall.get(name), name)]
        cells += [_cell(s.get(name), name) for s in by_type.values()]
        rows.append([LABELS[name], *cells])
    return header, rows


def summary_table(summary: EvalSummary) -> str:
    """The metrics overall and by question type, as a Markdown table (for the report)."""
    header, rows = summary_rows(summary)
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(row) + " |" for row in lines)


def _cell(value: float | None, name: str) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if name.endswith("_s") else f"{100 * value:.1f}"


def markdown(summary: EvalSummary, records: Sequence[Mapping[str, Any]]) -> str:
    s = summary
    lines = [
        f"# Evaluation report ({s.created})",
        "",
        f"- questions: `{s.questions}` ({s.n}); answers: {s.answers}",
        f"- answering model: {s.model}; judge: {s.judge}"
        + (f" ({s.judge_model})" if s.judge_model else "")
        + f"; claims: {s.claims}; run time {s.seconds:.0f} s",
        "",
        "Scores in percent (latency in seconds), each averaged over the questions where it "
        "applies; formulas in eval/METRICS.md.",
        "",
        summary_table(summary),
        "",
        "![metrics by question type](metrics_by_type.png) ![latency](latency.png)",
        "",
    ]
    for key, stats in s.latency.items():
        lines.append(f"- {LABELS[key]}: median {stats.median}, p90 {stats.p90}, max {stats.max}")
    lines += [
        "",
        "## Where the misses come from",
        "",
        "Each answer that is not strictly correct (or an unanswerable question that "
        "was answered), by the first stage that went wrong (eval/METRICS.md):",
        "",
        stage_table(records),
    ]
    if p := s.paraphrases:
        lines += [
            "",
            "## Rewordings",
            "",
            f"{p.groups} gold questions each asked as written and in its "
            "rewordings: all wordings got the same outcome (correct, declined or wrong) "
            f"in {100 * p.agree:.1f}% of them; all were right in "
            f"{100 * p.all_right:.1f}%.",
        ]
    if s.calibration:
        lines += [
            "",
            "## Judge calibration",
            "",
            f"Balanced accuracy (percent) against hand labels ({s.calibration[0].pairs} pairs):",
            "",
            "| judge | balanced accuracy | supported found | unsupported found |",
            "| --- | --- | --- | --- |",
        ]
        for tier in s.calibration:
            lines.append(
                f"| {tier.tier} | {tier.balanced_accuracy} | "
                f"{tier.true_positive_rate} | {tier.true_negative_rate} |"
            )
        lines += _by_kind(s.calibration)
    lines += [
        "",
        "## The ten worst answers",
        "",
        "Answers that say something, ranked by the mean of their key terms, "
        "faithfulness, citation recall and refusal score; each claim as judged.",
        "",
    ]
    answered = [r for r in records if r["claims"] and quality(r) < 1]
    for record in sorted(answered, key=quality)[:10]:
        lines += _worst(record)
    if not answered:
        lines.append("None: every answer that says something scored full marks.")
    declined = [r for r in records if r["metrics"].get("false_refusal")]
    if declined:
        lines += ["", f"## Declined although the documents answer ({len(declined)})", ""]
        lines += [
            f"- {r['id']} ({r['type']}, gold quote retrieved: "
            f"{'yes' if r['metrics'].get('hit') else 'no'}): {r['question']}"
            for r in declined
        ]
    return "\n".join(lines) + "\n"


def _by_kind(calibration: Sequence[TierCalibration]) -> list[str]:
    tiers = [t.tier for t in calibration]
    lines = [
        "",
        "Percent judged correctly, by kind of claim:",
        "",
        "| kind | " + " | ".join(tiers) + " |",
        "| --- |" + " --- |" * len(tiers),
    ]
    for kind in calibration[0].by_kind:
        cells = [f"{t.by_kind.get(kind, 0):.0f}" for t in calibration]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return lines


def _worst(record: Mapping[str, Any]) -> list[str]:
    m = {k: v for k, v in record["metrics"].items() if v is not None and not k.endswith("_s")}
    scores = ", ".join(f"{LABELS[k]} {100 * v:.0f}" for k, v in m.items())
    lines = [
        f"### {record['id']} ({record['type']}): {record['question']}",
        "",
        f"- expected: {record['gold_answer']}",
        f"- answer: {record['answer'] or '(none)'}",
        f"- scores: {scores}",
    ]
    for claim in record["claims"]:
        mark = "supported" if claim["supported"] else "NOT supported"
        note = f" ({claim['detail']})" if claim.get("detail") else ""
        lines.append(f"  - [{mark}, {claim['tier']} {claim['score']:.2f}] {claim['text']}{note}")
    return [*lines, ""]


# ---------------------------------------------------------------- comparing


def load_summary(path: Path) -> EvalSummary:
    """The summary of a report folder (or a summary.json)."""
    file = path / "summary.json" if path.is_dir() else path
    try:
        return EvalSummary.from_json(json.loads(file.read_text(encoding="utf-8")), str(file))
    except (OSError, ValueError) as exc:
        raise EvaluationDataError(f"{file} is not an evaluation summary ({exc}).") from exc


def compare(a: EvalSummary, b: EvalSummary) -> list[tuple[str, str, str, str]]:
    """(metric, A, B, B - A) rows, overall then by question type."""
    rows = [
        ("model", a.model, b.model, ""),
        ("judge", a.judge, b.judge, ""),
        ("questions", str(a.n), str(b.n), ""),
    ]
    scopes: list[tuple[str, Scores, Scores]] = [("", a.overall, b.overall)]
    scopes += [(f"{t}: ", a.by_type[t], b.by_type[t]) for t in a.by_type if t in b.by_type]
    for prefix, left, right in scopes:
        for name in METRICS:
            x, y = left.get(name), right.get(name)
            if x is None and y is None:
                continue
            scale = 1 if name.endswith("_s") else 100
            delta = f"{scale * (y - x):+.1f}" if x is not None and y is not None else ""
            rows.append((prefix + LABELS[name], _cell(x, name), _cell(y, name), delta))
    return rows
