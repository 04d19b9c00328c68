# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""The evaluation report: Markdown and JSON tables of per-benchmark scores with the plain mean over the benchmarks
that ran, and a PNG comparing them with rows of the paper's Table 1.

The paper's "Avg" is the plain mean of its 12 columns (it reproduces every reported Avg within 0.06). A run that covers
only some benchmarks is compared on those: every row's mean is recomputed over the same columns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

COLUMNS = ("ERQA", "Ego2", "W2P", "PArena", "Paco", "Pixmo", "VSI", "RefSp", "MMSI", "VLAB", "EB-A", "EB-H")
"""Table 1 columns, in order: QA | Planning | Embodied grounding | Spatial intelligence | Simulation."""

_TABLE1 = """
GPT-4o-20241120    47.0 41.8 29.1 29.5 16.2 10.8 42.5  8.8 30.3 39.3 56.3 59.0 34.2
Claude-3.7-Sonnet  35.5 41.3 25.6 22.2 12.4  7.2 47.0  7.7 30.2 41.7 67.0 65.7 33.6
Gemini-2.5-Pro     55.0 42.9 39.9 62.8 45.5 25.8 43.4 30.3 36.9 34.8 62.7 53.0 44.4
ChatVLA-2B         34.3 25.3  3.7 10.1 10.2  2.1  2.4  0.9 20.1  0.0  0.0  0.0  9.1
InternVL3-2B       31.5 30.9  5.2  7.1 15.4  1.4 31.5  1.8 25.3 19.4  1.3 12.0 15.2
Qwen2.5VL-3B       35.3 30.3 31.0 41.7 67.4 36.6 27.9 24.9 26.5 31.3  6.7 19.7 31.6
Embodied-R1-3B     36.0 36.0 35.1 45.3 68.3 36.6 28.0 28.5 26.0 24.6  7.0 19.3 32.5
RoboBrain2.0-3B    37.3 41.8 64.2 46.0 67.6 36.9 28.8 46.5 26.8 18.1  0.0 10.0 35.3
Vlaser-2B          35.8 38.3 74.0 57.8 72.5 44.6 57.5 43.0 23.6 23.1 42.3 30.7 45.3
Magma-8B           29.3 27.9 10.9 29.6 15.3 10.1 12.7  4.5 26.2  8.5  0.0  0.0 14.6
Cosmos-Reason1-7B  39.3 26.9 11.4 40.8 61.8 23.6 33.9  5.4 26.4 35.5  4.0  5.3 26.2
VeBrain-7B         38.3 27.3 33.1 38.9 55.1 20.1 39.9 20.6 28.3 25.9  5.7 12.3 28.8
InternVL3-8B       35.3 40.0 10.0 14.2 21.1  5.7 42.1  5.6 25.7 24.7 19.0 23.7 22.3
Qwen2.5VL-7B       39.3 29.7 31.1 56.3 68.0 43.5 38.2 32.1 25.9 36.4 10.0 18.3 35.7
Embodied-R1-7B     38.3 37.1 69.5 51.2 69.9 39.2 38.6 31.1 28.1 35.5 10.0 19.0 38.9
RoboBrain2.0-7B    42.0 33.2 63.6 49.5 73.1 37.8 36.1 32.5 26.5  6.6 14.0 29.3 37.0
Vlaser-8B          41.0 53.4 69.5 60.3 68.3 40.5 60.3 59.2 27.2 45.6 50.0 40.0 51.3
"""

PAPER_TABLE1: dict[str, dict[str, float]] = {
    line.split()[0]: dict(zip((*COLUMNS, "Avg"), map(float, line.split()[1:]), strict=True))
    for line in _TABLE1.strip().splitlines()
}
"""VLASER paper (arXiv 2510.11027 v2) Table 1: scores per model and column, plus the reported "Avg"."""

COMPARISON_ROWS = (
    "Vlaser-2B",
    "Vlaser-8B",
    "InternVL3-2B",
    "InternVL3-8B",
    "RoboBrain2.0-3B",
    "RoboBrain2.0-7B",
    "Embodied-R1-3B",
    "Embodied-R1-7B",
)
"""The Table 1 rows the comparison figure shows."""


@dataclass
class BenchmarkEntry:
    """One benchmark's line of the report.

    `status` is "ok", "not run" (closed-loop benchmarks without an environment), "no data" (only under
    `--benchmarks all`; the reason says where the run looked and how to obtain the data) or "empty" (no usable
    sample).
    """

    name: str
    display_name: str
    paper_column: str | None
    status: str
    score: float | None = None
    samples: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    categories: dict[str, float] = field(default_factory=dict)
    metric: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    source: str = ""
    generated: int = 0
    cached: int = 0
    seconds: float = 0.0

    @property
    def scored(self) -> bool:
        return self.status == "ok" and self.score is not None and math.isfinite(self.score)


def plain_mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean, `None` for no values (the paper's "Avg")."""
    return sum(values) / len(values) if values else None


def _format(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.1f}"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def comparison_table(entries: Sequence[BenchmarkEntry], rows: Sequence[str] = COMPARISON_ROWS) -> dict[str, Any]:
    """This run next to the paper rows, on the paper columns this run scored, with each row's mean over them."""
    scored = [entry for entry in entries if entry.scored and entry.paper_column in COLUMNS]
    columns = [entry.paper_column for entry in scored]
    table = {"this run": {entry.paper_column: entry.score for entry in scored}}
    for row in rows:
        table[row] = {column: PAPER_TABLE1[row][column] for column in columns}
    for values in table.values():
        values["Mean"] = plain_mean([values[column] for column in columns])
    return {"columns": columns, "rows": table}


def render_markdown(
    model: str, entries: Sequence[BenchmarkEntry], mean: float | None, settings: dict[str, Any], created: str
) -> str:
    lines = [
        "# VLASER embodied-reasoning evaluation",
        "",
        f"Model: `{model}` · {created}",
        "",
        "| Benchmark | Score | Samples | Skipped | Status |",
        "|---|---:|---:|---:|---|",
    ]
    for entry in entries:
        status = entry.status if not entry.reason else f"{entry.status}: {entry.reason.splitlines()[0]}"
        lines.append(
            f"| {entry.display_name} | {_format(entry.score)} | {entry.samples or '–'} | {entry.skipped or '–'} | {status} |"
        )
    count = sum(entry.scored for entry in entries)
    lines.append(f"| **Mean over the {count} run** | **{_format(mean)}** | | | |")
    comparison = comparison_table(entries)
    if comparison["columns"]:
        columns = comparison["columns"]
        lines += [
            "",
            "## Compared with the paper's Table 1 (same benchmarks; each row's mean over them)",
            "",
            "| Model | " + " | ".join(columns) + " | Mean |",
            "|---|" + "---:|" * (len(columns) + 1),
        ]
        for row, values in comparison["rows"].items():
            lines.append(f"| {row} | " + " | ".join(_format(values[c]) for c in (*columns, "Mean")) + " |")
    not_run = [entry for entry in entries if entry.status != "ok"]
    if not_run:
        lines += ["", "## Not run", ""]
        lines += [f"- **{entry.display_name}** ({entry.status}): {entry.reason}" for entry in not_run]
    skipped = [entry for entry in entries if entry.skipped]
    if skipped:
        lines += ["", "## Skipped rows", ""]
        for entry in skipped:
            reasons = "; ".join(f"{reason}: {count}" for reason, count in entry.skipped_reasons.items())
            lines.append(f"- {entry.display_name}: {entry.skipped} ({reasons})")
    detailed = [entry for entry in entries if entry.categories]
    if detailed:
        lines += ["", "## Per category", ""]
        for entry in detailed:
            parts = ", ".join(f"{name or '(none)'} {_format(value)}" for name, value in entry.categories.items())
            lines.append(f"- {entry.display_name}: {parts}")
    lines += ["", "## Settings", "", "```json", json.dumps(_json_safe(settings), indent=2, default=str), "```", ""]
    return "\n".join(lines)


def plot_comparison(
    entries: Sequence[BenchmarkEntry], path: Path, rows: Sequence[str] = COMPARISON_ROWS
) -> Path | None:
    """Grouped bars: per scored paper column (and the mean over them), this run next to the paper rows."""
    comparison = comparison_table(entries, rows)
    columns = comparison["columns"]
    if not columns:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = [*columns, "Mean"]
    series = list(comparison["rows"].items())
    width = 0.8 / len(series)
    figure, axes = plt.subplots(figsize=(max(8.0, 1.3 * len(groups) + 3), 4.8))
    positions = np.arange(len(groups))
    colors = plt.get_cmap("tab10")
    for index, (name, values) in enumerate(series):
        heights = [values[group] if values[group] is not None else 0.0 for group in groups]
        axes.bar(
            positions + (index - (len(series) - 1) / 2) * width,
            heights,
            width,
            label=name,
            color="black" if name == "this run" else colors(index % 10),
        )
    axes.set_xticks(positions, groups)
    axes.set_ylabel("score (%)")
    axes.set_title("Embodied reasoning: this run vs. VLASER paper Table 1")
    axes.legend(ncol=3, fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def write_report(
    output_dir: Path, model: str, entries: Sequence[BenchmarkEntry], settings: dict[str, Any], created: str
) -> dict[str, Any]:
    """Write `report.json`, `report.md` and `comparison.png` under `output_dir`; return the JSON report."""
    output_dir.mkdir(parents=True, exist_ok=True)
    mean = plain_mean([entry.score for entry in entries if entry.scored])
    report = {
        "model": model,
        "created": created,
        "mean": mean,
        "mean_over": [entry.name for entry in entries if entry.scored],
        "benchmarks": {entry.name: asdict(entry) for entry in entries},
        "comparison": comparison_table(entries),
        "paper_table1": PAPER_TABLE1,
        "settings": settings,
    }
    (output_dir / "report.json").write_text(json.dumps(_json_safe(report), indent=2, default=str), encoding="utf-8")
    (output_dir / "report.md").write_text(render_markdown(model, entries, mean, settings, created), encoding="utf-8")
    figure = plot_comparison(entries, output_dir / "comparison.png")
    report["files"] = {
        "json": str(output_dir / "report.json"),
        "markdown": str(output_dir / "report.md"),
        "figure": str(figure) if figure else None,
    }
    return report
