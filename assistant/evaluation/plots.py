"""Plotting: the evaluation report's two PNG figures, drawn with matplotlib (Agg, no display).

`plot_metrics_by_type`: grouped bars, one group per metric, one bar per question type.
`plot_latency`: histograms of time to first token and total time per question.
Nothing interactive; figures are written and closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .records import EvalSummary

BAR_METRICS = (
    ("hit", "hit@k"),
    ("mrr", "MRR"),
    ("key_terms", "key terms"),
    ("correct", "correct"),
    ("faithfulness", "faithful"),
    ("citation_recall", "cit. recall"),
    ("citation_precision", "cit. precision"),
    ("refusal", "declined\n(unanswerable)"),
    ("false_refusal", "declined\n(answerable)"),
)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metrics_by_type(summary: EvalSummary, path: Path) -> None:
    plt = _pyplot()
    by_type = summary.by_type
    types = list(by_type)
    metrics = [
        (k, label)
        for k, label in BAR_METRICS
        if any(scores.get(k) is not None for scores in by_type.values())
    ]
    fig, ax = plt.subplots(figsize=(11, 4.2))
    width = 0.8 / max(1, len(types))
    for i, (t, scores) in enumerate(by_type.items()):
        values = [100 * (scores.get(k) or 0) for k, _ in metrics]
        xs = [j + (i - (len(types) - 1) / 2) * width for j in range(len(metrics))]
        ax.bar(xs, values, width, label=f"{t} ({scores.n})")
    ax.set_xticks(range(len(metrics)), [label for _, label in metrics], fontsize=8)
    ax.set_ylabel("percent")
    ax.set_ylim(0, 105)
    ax.set_title(f"Metrics by question type ({summary.model}, judge: {summary.judge})")
    ax.legend(fontsize=8, ncol=len(types), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(records: Sequence[Mapping[str, Any]], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for key, label in (("first_token_s", "first token"), ("total_s", "total")):
        values = [r["metrics"][key] for r in records if r["metrics"].get(key) is not None]
        if values:
            ax.hist(values, bins=min(20, max(3, len(values))), alpha=0.6, label=label)
    ax.set_xlabel("seconds per question")
    ax.set_ylabel("questions")
    ax.set_title("Latency")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    else:  # answers from elsewhere may come without timings
        ax.text(0.5, 0.5, "no timings recorded", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
