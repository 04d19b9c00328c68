"""The closed-loop report: JSON (everything, per episode), Markdown (the table people read) and a bar chart.

Why per-episode rows with seeds: a success rate is only reproducible, and two policies only comparable, when the
exact scenes are known; the seeds and each episode's steps and query count are kept so a run can be re-checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .stats import wilson_interval

REPORT_JSON = "closed_loop_report.json"
REPORT_MD = "closed_loop_report.md"
FIGURE = "closed_loop_success.png"


def build_report(
    config: Any, specs: dict[str, Any], episodes: list[dict[str, Any]], seconds: float, chunk: dict[str, int | None]
) -> dict[str, Any]:
    """Per-task success with 95 % Wilson intervals, the seeds, the settings and every episode's outcome."""
    tasks = {}
    for task in config.tasks:
        rows = [e for e in episodes if e["task"] == task]
        successes = sum(e["success"] for e in rows)
        low, high = wilson_interval(successes, len(rows))
        spec = specs[task]
        limit = spec.max_steps if config.max_steps is None else min(config.max_steps, spec.max_steps)
        tasks[task] = {
            "instruction": spec.instruction,
            "episodes": len(rows),
            "successes": successes,
            "success_rate": successes / len(rows) if rows else 0.0,
            "ci95_low": low,
            "ci95_high": high,
            "max_steps": limit,
            "mean_steps": sum(e["steps"] for e in rows) / len(rows) if rows else 0.0,
            "seeds": [e["seed"] for e in rows],
            "errors": sum(e["error"] is not None for e in rows),
        }
    first = specs[config.tasks[0]]
    return {
        "policy": config.policy,
        "suite": config.suite,
        "tasks": tasks,
        "settings": {
            "episodes_per_task": config.episodes,
            "start_seed": config.start_seed,
            "seeds": config.seeds(),
            "workers": config.workers,
            "cameras": list(first.cameras),
            "fps": first.fps,
            **chunk,
        },
        "seconds": seconds,
        "episodes_per_minute": 60.0 * len(episodes) / seconds if seconds > 0 else None,
        "episodes": episodes,
        "videos": [e["video"] for e in episodes if e["video"]],
    }


def render_markdown(report: dict[str, Any]) -> str:
    settings = report["settings"]
    lines = [
        f"# Closed-loop evaluation: `{report['policy']}` on {report['suite']}",
        "",
        f"{settings['episodes_per_task']} episodes per task, seeds {settings['seeds'][0]}…{settings['seeds'][-1]}; "
        f"chunk P = {settings['chunk_size']}, executed H = {settings['n_action_steps']}; cameras "
        f"{', '.join(settings['cameras'])}; {report['seconds']:.1f} s "
        f"({report['episodes_per_minute'] or 0:.1f} episodes/min, {settings['workers']} workers).",
        "",
        "| task | success | rate | 95 % Wilson interval | mean steps | max steps | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, task in report["tasks"].items():
        lines.append(
            f"| {name} | {task['successes']}/{task['episodes']} | {100 * task['success_rate']:.1f} % | "
            f"[{100 * task['ci95_low']:.1f}, {100 * task['ci95_high']:.1f}] % | {task['mean_steps']:.1f} | "
            f"{task['max_steps']} | {task['errors']} |"
        )
    lines += ["", f"![per-task success]({FIGURE})", ""]
    if report["videos"]:
        lines += ["Videos:", ""] + [f"- [{Path(v).name}](videos/{Path(v).name})" for v in report["videos"]] + [""]
    errors = [e for e in report["episodes"] if e["error"]]
    if errors:
        lines += ["Episodes that raised (counted as failures):", ""]
        lines += [f"- {e['task']} seed {e['seed']}: `{e['error'].splitlines()[0]}`" for e in errors] + [""]
    return "\n".join(lines)


def plot_success(report: dict[str, Any], path: Path) -> None:
    """Bars of per-task success rate with asymmetric Wilson error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["tasks"])
    rates = [100 * report["tasks"][n]["success_rate"] for n in names]
    below = [100 * (report["tasks"][n]["success_rate"] - report["tasks"][n]["ci95_low"]) for n in names]
    above = [100 * (report["tasks"][n]["ci95_high"] - report["tasks"][n]["success_rate"]) for n in names]
    figure, axis = plt.subplots(figsize=(max(4.0, 1.2 * len(names) + 2), 3.5))
    axis.bar(names, rates, yerr=[below, above], capsize=5, color="#4C72B0")
    axis.set_ylim(0, 105)
    axis.set_ylabel("success (%)")
    axis.set_title(f"{report['policy']} on {report['suite']} (95 % Wilson)", fontsize=9)
    axis.tick_params(axis="x", labelrotation=20)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_report(report: dict[str, Any], out: Path) -> dict[str, str]:
    files = {"json": str(out / REPORT_JSON), "markdown": str(out / REPORT_MD), "figure": str(out / FIGURE)}
    Path(files["json"]).write_text(json.dumps({**report, "files": files}, indent=2) + "\n")
    Path(files["markdown"]).write_text(render_markdown(report))
    plot_success(report, Path(files["figure"]))
    return files
