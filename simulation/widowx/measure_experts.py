"""Measure the WidowX scripted experts' success over many seeds and print a Markdown table.

    MS_ASSET_DIR=../shared/assets/maniskill python -m simulation.widowx.measure_experts --seeds 50

An episode runs as the recorder runs it: until the expert reports `done` (after releasing and retreating) or the
task's step limit. "Success at the end" is ManiSkill's check then (what a recorder keeps episodes by); "at any step"
is what SimplerEnv evaluations count. Episodes run without rendering (the expert reads simulator state, not
pixels), so the timing is the expert's and the physics'; `--render` renders every step, as a closed-loop evaluation
of an image policy would. Seeds 0..N-1 play ManiSkill's layout grid in order (seed % grid size), so N >= the grid
size covers every layout of a task.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from simulation.widowx.tasks import WIDOWX_TASKS


def measure(task: str, seeds: list[int], render: bool = False, **env_kwargs: Any) -> dict[str, Any]:
    """Run the expert of `task` once per seed; returns per-seed results and a summary."""
    from simulation.widowx.env import WidowXEnv
    from simulation.widowx.expert import WidowXExpert, run_episode

    env = WidowXEnv(task, **env_kwargs)
    expert = WidowXExpert(task)
    try:
        start = time.perf_counter()
        episodes = [run_episode(env, expert, seed, render=render) for seed in seeds]
        seconds = time.perf_counter() - start
    finally:
        env.close()
    successes = [e for e in episodes if e["success"]]
    return {
        "successes_any_step": sum(e["success_any"] for e in episodes),
        "task": task,
        "env_id": WIDOWX_TASKS[task].env_id,
        "episodes": len(episodes),
        "successes": len(successes),
        "success_rate": len(successes) / len(episodes) if episodes else 0.0,
        "mean_steps_success": sum(e["steps"] for e in successes) / len(successes) if successes else None,
        "seconds_per_episode": seconds / len(episodes) if episodes else None,
        "grid_size": env.num_configs,
        "failed_seeds": [e["seed"] for e in episodes if not e["success"]],
        "standins": env.standins,
        "render": render,
    }


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| task | ManiSkill env | success at the end | rate | success at any step | mean steps | s / episode "
        "| failed seeds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        steps = f"{r['mean_steps_success']:.1f}" if r["mean_steps_success"] is not None else "-"
        failed = ", ".join(str(s) for s in r["failed_seeds"]) or "-"
        lines.append(
            f"| {r['task']} | {r['env_id']} | {r['successes']}/{r['episodes']} | {100 * r['success_rate']:.0f} % "
            f"| {r['successes_any_step']}/{r['episodes']} | {steps} | {r['seconds_per_episode']:.2f} | {failed} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(WIDOWX_TASKS), choices=list(WIDOWX_TASKS))
    parser.add_argument("--seeds", type=int, default=50, help="number of seeds, starting at --first-seed")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--render", action="store_true", help="render every step (timing of image policies)")
    parser.add_argument("--xy-jitter", type=float, default=0.0, help="layout jitter in metres (see WidowXEnv)")
    parser.add_argument("--yaw-jitter", type=float, default=0.0, help="object yaw jitter in radians")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.seeds <= 0:
        parser.error(f"--seeds: expected a positive number, got {args.seeds}")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    results = []
    for task in args.tasks:
        result = measure(task, seeds, render=args.render, xy_jitter=args.xy_jitter, yaw_jitter=args.yaw_jitter)
        results.append(result)
        print(f"{task}: {result['successes']}/{result['episodes']}", flush=True)
    print(markdown(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(r["success_rate"] >= 0.9 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
