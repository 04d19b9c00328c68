"""Statistics of a built dataset folder: items per family and config, answer lengths, question kinds, object balance,
as `stats/stats.json` and a PNG plot (`stats/stats.png`) that the dataset card embeds.

Why: a data engine that asks about the gripper in every frame, or always about the carrot, trains a lopsided model;
these numbers make that visible before training. Read from the parquet files themselves (not the build's own
counters), so they describe what is actually on disk. Object balance comes from the provenance claims (every object
a question is about); rows without provenance fall back to the `<ref>` names of their answers.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from modeling_vlaser.grounding import parse_refs

__all__ = ["compute_stats", "plot_stats", "write_stats"]

_OBJECT_KEYS = ("a", "b", "container", "reference", "gripper", "moved")


def _claim_objects(claim: dict[str, Any]) -> list[str]:
    names = list(claim.get("objects") or [])
    names += [claim[key] for key in _OBJECT_KEYS if isinstance(claim.get(key), str)]
    return names


def _summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {"count": 0, "mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0}
    ordered = sorted(values)
    return {
        "count": len(values),
        "mean": statistics.fmean(values),
        "median": float(statistics.median(values)),
        "p95": float(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]),
        "max": ordered[-1],
    }


def compute_stats(folder: str | Path) -> dict[str, Any]:
    """Counts and distributions of a dataset folder written by `hub_datasets.build` (see the module docstring)."""
    root = Path(folder)
    claims_by_id: dict[str, list[dict[str, Any]]] = {}
    for file in sorted((root / "provenance").glob("*/*.parquet")):
        for row in pq.read_table(file, columns=["id", "claims"]).to_pylist():
            claims_by_id[row["id"]] = json.loads(row["claims"])
    rows_by_config: Counter = Counter()
    items_by_config: Counter = Counter()
    items_by_family: Counter = Counter()
    kinds: Counter = Counter()
    objects: Counter = Counter()
    answer_words: dict[str, list[int]] = defaultdict(list)
    question_words: dict[str, list[int]] = defaultdict(list)
    turns_per_row: Counter = Counter()
    for file in sorted((root / "data").glob("*/*.parquet")):
        config = file.parent.name
        for row in pq.read_table(file, columns=["id", "messages", "category"]).to_pylist():
            family = row["category"]
            rows_by_config[config] += 1
            answers = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
            questions = [m["content"] for m in row["messages"] if m["role"] == "user"]
            items_by_config[config] += len(answers)
            items_by_family[family] += len(answers)
            turns_per_row[len(answers)] += 1
            answer_words[family] += [len(a.split()) for a in answers]
            question_words[family] += [len(q.split()) for q in questions]
            claims = claims_by_id.get(row["id"])
            if claims is not None:
                for claim in claims:
                    role = claim.get("role")
                    kinds[f"{family}.{claim.get('kind')}" + (f"/{role}" if role else "")] += 1
                    objects.update(_claim_objects(claim))
            else:
                for answer in answers:
                    objects.update(parse_refs(answer))
    return {
        "rows_by_config": dict(sorted(rows_by_config.items())),
        "qa_items_by_config": dict(sorted(items_by_config.items())),
        "qa_items_by_family": dict(sorted(items_by_family.items())),
        "qa_items_by_kind": dict(sorted(kinds.items())),
        "turns_per_conversation": {str(k): v for k, v in sorted(turns_per_row.items())},
        "answer_words": {family: _summary(values) for family, values in sorted(answer_words.items())},
        "question_words": {family: _summary(values) for family, values in sorted(question_words.items())},
        "answer_word_counts": {family: values for family, values in sorted(answer_words.items())},
        "object_mentions": dict(objects.most_common()),
    }


def plot_stats(stats: dict[str, Any], path: str | Path) -> Path:
    """Three panels: QA items per family, answer-length histograms per family, object balance (top 20)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    families = list(stats["qa_items_by_family"])
    axes[0].bar(families, [stats["qa_items_by_family"][f] for f in families], color="#4477aa")
    axes[0].set_title("QA items per family")
    axes[0].tick_params(axis="x", rotation=20)
    for family, values in stats["answer_word_counts"].items():
        if values:
            axes[1].hist(values, bins=range(0, max(values) + 2), histtype="step", label=family, linewidth=1.5)
    axes[1].set_title("answer length (words)")
    axes[1].set_xlabel("words")
    axes[1].set_ylabel("QA items")
    if stats["answer_word_counts"]:
        axes[1].legend(fontsize=8)
    top = list(stats["object_mentions"].items())[:20]
    axes[2].barh([name for name, _ in top][::-1], [count for _, count in top][::-1], color="#228833")
    axes[2].set_title("object balance (questions mentioning it)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def write_stats(folder: str | Path) -> dict[str, Any]:
    """Compute the stats of `folder` and write `stats/stats.json` and `stats/stats.png` into it."""
    root = Path(folder)
    stats = compute_stats(root)
    (root / "stats").mkdir(exist_ok=True)
    summary = {key: value for key, value in stats.items() if key != "answer_word_counts"}
    (root / "stats" / "stats.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_stats(stats, root / "stats" / "stats.png")
    return stats
