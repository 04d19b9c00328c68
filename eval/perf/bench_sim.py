"""Simulation throughput per suite: physics steps/s, render and annotation cost per frame, episode seconds and
recorded episodes per minute.

    python eval/perf/bench_sim.py --suite aloha                       # every task, 2 episodes each
    python eval/perf/bench_sim.py --suite aloha --tasks transfer_cube --record-episodes 10 --workers 2
    python eval/perf/bench_sim.py --suite widowx --json outputs/bench_sim_widowx.json

Suite-agnostic (everything goes through `simulation.registry` and the `SimEnv` protocol):

* physics: ``env.step(action, render=False)`` with the expert's actions, steps per second (expert time excluded);
* render: ``env.step(action, render=True)`` minus the same without rendering, per step (all recorded cameras);
* annotate: one ``env.annotations()`` call per step (segmentation passes + projections);
* episode: a whole expert episode without pixels, and as the recorder runs it (pixels + annotations, no writing);
* record: the real recorder (`simulation.record`) with `--workers` processes into a temporary folder, episodes/min.

Timings are the median over steps of `--episodes` episodes; other processes on the machine inflate them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _median_ms(values: list[float]) -> float:
    return round(1000 * statistics.median(values), 2) if values else float("nan")


def bench_task(suite: str, task: str, episodes: int, options: dict) -> dict:
    """Per-step and per-episode timings of one task, in this process."""
    from simulation.record import run_episode
    from simulation.registry import make_env, make_expert

    env = make_env(suite, task, **options)
    physics, with_pixels, annotate, expert_time = [], [], [], []
    episode_plain, episode_recorded, steps_per_episode, successes = [], [], [], 0
    try:
        env.reset(0)  # warm-up: renderer creation, first-frame costs
        for seed in range(episodes):
            expert = make_expert(suite, task)
            start_episode = time.perf_counter()
            env.reset(seed)
            expert.reset(env)
            steps = 0
            for _ in range(env.spec.max_steps):
                t0 = time.perf_counter()
                action, phase = expert.act(env)
                t1 = time.perf_counter()
                if phase == "done":
                    break
                env.step(action, render=False)
                t2 = time.perf_counter()
                expert_time.append(t1 - t0)
                physics.append(t2 - t1)
                steps += 1
            episode_plain.append(time.perf_counter() - start_episode)
            steps_per_episode.append(steps)
            successes += bool(env.success())
            # same seed again, as the recorder runs it; time pixels and annotations step by step
            expert = make_expert(suite, task)
            env.reset(seed)
            expert.reset(env)
            for _ in range(min(steps, 40)):
                action, _ = expert.act(env)
                t0 = time.perf_counter()
                env.annotations()
                t1 = time.perf_counter()
                env.step(action, render=True)
                t2 = time.perf_counter()
                annotate.append(t1 - t0)
                with_pixels.append(t2 - t1)
            start_episode = time.perf_counter()
            frames, _ = run_episode(env, make_expert(suite, task), seed, env.spec.max_steps, annotations=True)
            episode_recorded.append(time.perf_counter() - start_episode)
    finally:
        env.close()
    physics_ms = _median_ms(physics)
    return {
        "task": task,
        "cameras": list(env.spec.cameras),
        "fps": env.spec.fps,
        "steps_per_episode": round(statistics.mean(steps_per_episode), 1),
        "expert_success": f"{successes}/{episodes}",
        "physics_ms_per_step": physics_ms,
        "physics_steps_per_s": round(1000 / physics_ms, 1) if physics_ms else None,
        "expert_ms_per_step": _median_ms(expert_time),
        "render_ms_per_step": round(_median_ms(with_pixels) - physics_ms, 2),
        "render_ms_per_camera": round((_median_ms(with_pixels) - physics_ms) / len(env.spec.cameras), 2),
        "annotate_ms_per_step": _median_ms(annotate),
        "episode_s_no_pixels": round(statistics.median(episode_plain), 2),
        "episode_s_recorded": round(statistics.median(episode_recorded), 2),
    }


def bench_recorder(suite: str, tasks: list[str], episodes: int, workers: int, options: dict) -> dict:
    """The real recorder, `workers` processes, into a temporary folder: episodes per minute end to end."""
    from simulation.record import RecordConfig, record

    with tempfile.TemporaryDirectory() as folder:
        config = RecordConfig(
            suite=suite,
            tasks=tasks,
            episodes=episodes,
            out=Path(folder) / "bench",
            workers=workers,
            cameras=options.get("cameras"),
            image_size=options.get("image_size"),
            progress=True,
        )
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        report = record(config)
        seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    run = report["runs"][-1]
    attempted = run["recorded"] + run["failed"] + run["errors"]
    return {
        "tasks": tasks,
        "workers": workers,
        "episodes": attempted,
        "recorded": run["recorded"],
        "frames": run["frames"],
        "seconds": round(seconds, 1),
        "episodes_per_minute": round(60 * attempted / seconds, 2),
        "frames_per_second": round(run["frames"] / seconds, 1),
        "cpu_seconds": round(cpu, 1),
        # what two otherwise idle cores would sustain: CPU time of the parent and the workers per episode
        "cpu_bound_episodes_per_minute_2_cores": round(60 * attempted / (cpu / 2), 2) if cpu else None,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the recorder's workers, once joined)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="aloha", choices=["aloha", "widowx"])
    parser.add_argument("--tasks", nargs="+", default=None, help="default: every task of the suite")
    parser.add_argument("--episodes", type=int, default=2, help="episodes per task for the in-process timings")
    parser.add_argument("--cameras", nargs="+", default=None, help="default: the suite's")
    parser.add_argument("--image-size", type=int, default=None, help="default: the suite's (224)")
    parser.add_argument("--record-episodes", type=int, default=6, help="episodes per task for the recorder (0: skip)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)

    os.environ.setdefault("LP_NUM_THREADS", "1")  # as the recorder's workers do
    from simulation.registry import task_names

    tasks = args.tasks or task_names(args.suite)
    options: dict = {}
    if args.cameras:
        options["cameras"] = tuple(args.cameras)
    if args.image_size:
        options["image_size"] = (args.image_size, args.image_size)

    rows = [bench_task(args.suite, task, args.episodes, options) for task in tasks]
    header = (
        "| task | cameras | steps/ep | physics steps/s | expert ms/step | render ms/camera | annotate ms/step "
        "| episode s (no pixels) | episode s (recorded) |"
    )
    lines = [f"Suite `{args.suite}`, {os.cpu_count()} CPUs, fps {rows[0]['fps']}:", "", header, "|" + "---|" * 9]
    for row in rows:
        lines.append(
            f"| {row['task']} | {len(row['cameras'])} | {row['steps_per_episode']} | {row['physics_steps_per_s']} | "
            f"{row['expert_ms_per_step']} | {row['render_ms_per_camera']} | {row['annotate_ms_per_step']} | "
            f"{row['episode_s_no_pixels']} | {row['episode_s_recorded']} |"
        )
    result: dict = {"suite": args.suite, "cpus": os.cpu_count(), "tasks": rows}
    if args.record_episodes:
        opts = {"cameras": args.cameras, "image_size": args.image_size}
        recorder = bench_recorder(args.suite, tasks, args.record_episodes, args.workers, opts)
        result["recorder"] = recorder
        lines += [
            "",
            f"Recorder, {recorder['workers']} workers, {recorder['episodes']} episodes ({recorder['frames']} frames): "
            f"**{recorder['episodes_per_minute']} episodes/min**, {recorder['frames_per_second']} frames/s, "
            f"{recorder['seconds']} s wall (1-min load average {recorder['load_average_1min']} on "
            f"{os.cpu_count()} CPUs); CPU time {recorder['cpu_seconds']} s, i.e. "
            f"**{recorder['cpu_bound_episodes_per_minute_2_cores']} episodes/min on 2 idle cores**.",
        ]
    print("\n".join(lines))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
