"""Measure the scripted experts' success rate: `python -m simulation.aloha.measure_experts --seeds 50`.

Runs every task's expert on seeds 0 … N-1 without rendering (success does not depend on pixels), in worker
processes, and prints a Markdown table (success count, rate with a 95 % Wilson interval, mean steps, seconds per
episode). Optionally writes the table and per-seed results as JSON. This is the measurement behind the success
table in docs; tests only check a couple of fixed seeds.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def run_seed(task: str, seed: int) -> dict:
    """One expert episode without rendering: success at the end, steps, seconds, last phase reached."""
    from simulation.aloha import EXPERTS, TASKS

    start = time.perf_counter()
    env = _ENVS.get(task) or _ENVS.setdefault(task, TASKS[task]())
    env.reset(seed)
    expert = EXPERTS[task]()
    expert.reset(env)
    steps, phase = 0, ""
    for steps in range(env.spec.max_steps):  # noqa: B007  (steps is reported)
        action, phase = expert.act(env)
        if phase == "done":
            break
        env.step(action, render=False)
    return {
        "task": task,
        "seed": seed,
        "success": env.success(),
        "steps": steps,
        "last_phase": phase,
        "seconds": time.perf_counter() - start,
    }


_ENVS: dict = {}


def _run(job: tuple[str, int]) -> dict:
    return run_seed(*job)


def main(argv: list[str] | None = None) -> dict:
    from tqdm.auto import tqdm

    from simulation.aloha import TASKS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="seeds 0 … N-1 per task (default 50)")
    parser.add_argument("--start-seed", type=int, default=0)
    parser.add_argument("--tasks", nargs="+", default=sorted(TASKS), choices=sorted(TASKS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)

    jobs = [(task, seed) for task in args.tasks for seed in range(args.start_seed, args.start_seed + args.seeds)]
    results: list[dict] = []
    with ProcessPoolExecutor(max(1, args.workers)) as pool:
        for result in tqdm(pool.map(_run, jobs, chunksize=4), total=len(jobs), desc="expert episodes"):
            results.append(result)
    table = {}
    lines = [
        f"Scripted experts, seeds {args.start_seed}–{args.start_seed + args.seeds - 1} (success at the episode's end):",
        "",
        "| task | success | rate | 95 % Wilson | mean steps | s/episode (no rendering) | failed seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for task in args.tasks:
        rows = [r for r in results if r["task"] == task]
        wins = sum(r["success"] for r in rows)
        low, high = wilson_interval(wins, len(rows))
        failed = [r["seed"] for r in rows if not r["success"]]
        steps = sum(r["steps"] for r in rows) / len(rows)
        seconds = sum(r["seconds"] for r in rows) / len(rows)
        table[task] = {"success": wins, "trials": len(rows), "wilson95": [low, high], "failed_seeds": failed}
        lines.append(
            f"| {task} | {wins}/{len(rows)} | {100 * wins / len(rows):.0f} % | {100 * low:.0f}–{100 * high:.0f} % | "
            f"{steps:.0f} | {seconds:.2f} | {', '.join(map(str, failed)) or '–'} |"
        )
    print("\n".join(lines))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"table": table, "episodes": results}, indent=2) + "\n", encoding="utf-8")
    return table


if __name__ == "__main__":
    main()
