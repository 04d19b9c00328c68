"""Closed-loop evaluation: roll a policy out in a simulated suite and measure per-task success.

`vlaser eval closed-loop --policy PATH|repo|expert|random --suite aloha --tasks transfer_cube --episodes 50` runs,
for every task, the episodes with seeds ``start_seed`` … ``start_seed + episodes - 1`` (default 100000…, disjoint
from the recorder's seeds 0…, so a policy is never scored on scenes it was trained on). Each episode executes H
actions of every P-step chunk, then re-queries the policy, until the task succeeds or its step limit is reached.

Why it is built this way:

* Episodes are independent and the simulators are single-threaded, so they are sharded over ``workers`` spawned
  processes (spawn: MuJoCo/EGL and torch do not survive fork). Each worker loads the policy and each task's
  environment once. Results are keyed by (task, seed) and every source of randomness is seeded from the episode
  seed, so the per-seed results do not depend on the number of workers.
* Only frames somebody looks at are rendered: before a policy query (when the policy needs observations) and in
  episodes that are filmed. The scripted expert never needs images, so an expert evaluation renders nothing.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from simulation.workers import init_worker_process

from .policies import EXPERT, RANDOM, ExpertPolicy, RandomPolicy, chunk_lengths, expert_action_range, load_checkpoint

DEFAULT_START_SEED = 100_000


@dataclass
class ClosedLoopConfig:
    """Arguments of `vlaser eval closed-loop` (also the Python API's)."""

    policy: str = field(metadata={"help": "a VLASER checkpoint folder or Hub repo id, 'expert' or 'random'"})
    suite: str = field(metadata={"help": "simulation suite: aloha | widowx"})
    tasks: list[str] = field(default_factory=list, metadata={"help": "task names of the suite"})
    episodes: int = field(default=10, metadata={"help": "episodes per task"})
    workers: int = field(default=2, metadata={"help": "worker processes (0: run in this process)"})
    start_seed: int = field(default=DEFAULT_START_SEED, metadata={"help": "seed of each task's first episode"})
    videos: int = field(default=2, metadata={"help": "episodes filmed per task (the first seeds)"})
    out: str = field(default="closed_loop_eval", metadata={"help": "folder for the report, figure and videos"})
    max_steps: int | None = field(default=None, metadata={"help": "cap on each task's own step limit"})
    n_action_steps: int | None = field(default=None, metadata={"help": "override H (actions executed per chunk)"})
    device: str | None = field(default=None, metadata={"help": "torch device of a checkpoint policy (cpu, cuda)"})
    progress: bool = field(default=True, metadata={"help": "show a tqdm progress bar"})

    def check(self) -> None:
        if not self.tasks:
            raise ValueError("tasks: give at least one task name")
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"tasks: each task once, got {self.tasks}")
        for name, minimum in (("episodes", 1), ("workers", 0), ("start_seed", 0), ("videos", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        for name in ("max_steps", "n_action_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")

    def seeds(self) -> list[int]:
        return list(range(self.start_seed, self.start_seed + self.episodes))


@dataclass
class EpisodeJob:
    task: str
    seed: int
    video: str | None  # path of the MP4 to write, or None


@dataclass
class EpisodeOutcome:
    task: str
    seed: int
    success: bool
    steps: int  # actions executed
    queries: int  # predict_action calls
    seconds: float
    video: str | None = None
    error: str | None = None


# ---------------------------------------------------------------------------------------------------- one episode
def _seed_everything(seed: int) -> None:
    """Seed the global generators a policy may draw from (flow-matching noise is torch's), per episode."""
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _camera_input(images: dict[str, np.ndarray], cameras: list[str]) -> Any:
    """All cameras in env order, as a batch of one: a single camera as one image, several as ``[[cam1, cam2, ...]]``
    (the processor reads a flat list as a batch of samples; see `policies` for why all cameras)."""
    return images[cameras[0]] if len(cameras) == 1 else [[images[name] for name in cameras]]


def rollout(
    env: Any, policy: Any, seed: int, max_steps: int, n_action_steps: int | None = None, film: bool = False
) -> tuple[bool, int, int, list[np.ndarray]]:
    """Run one episode; returns (success, steps, queries, filmed frames with the cameras side by side).

    H is `n_action_steps` if given, else the policy's, else the returned chunk's length; at most P actions of a chunk
    are executed whatever H says.
    """
    _seed_everything(seed)
    observation = env.reset(seed)
    if hasattr(policy, "reset_episode"):
        policy.reset_episode(env, seed)
    cameras = list(env.spec.cameras)
    needs_observations = getattr(policy, "needs_observations", True)
    horizon = n_action_steps or chunk_lengths(policy)[1]
    frames = [np.concatenate([observation["images"][c] for c in cameras], axis=1)] if film else []
    queue: list[np.ndarray] = []
    queries, steps, success = 0, 0, bool(env.success())
    while steps < max_steps and not success:
        if not queue:
            chunk = np.asarray(
                policy.predict_action(
                    _camera_input(observation["images"], cameras), env.spec.instruction, observation["state"]
                ),
                dtype=np.float32,
            )
            if chunk.ndim != 3 or chunk.shape[0] != 1 or chunk.shape[2] != env.spec.action_dim or chunk.shape[1] < 1:
                raise ValueError(f"predict_action must return shape (1, P, {env.spec.action_dim}), got {chunk.shape}")
            queries += 1
            queue = list(chunk[0, : (horizon or chunk.shape[1])])
        action = queue.pop(0)
        render = film or (needs_observations and not queue)
        new_observation, success = env.step(action, render=render)
        steps += 1
        if new_observation is not None:
            observation = new_observation
            if film:
                frames.append(np.concatenate([observation["images"][c] for c in cameras], axis=1))
    return bool(success), steps, queries, frames


def write_video(path: str | Path, frames: list[np.ndarray], fps: int) -> None:
    """An H.264 MP4 through imageio-ffmpeg (widths/heights are multiples of 2 for the 224-pixel cameras)."""
    import imageio.v2 as imageio

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(str(path), fps=fps, codec="libx264", macro_block_size=1, quality=7) as writer:
        for frame in frames:
            writer.append_data(frame)


# ---------------------------------------------------------------------------------------------------- a worker
_STATE: dict[str, Any] = {}


def _worker_init(config: ClosedLoopConfig, policy_blob: bytes | None, parent: int | None) -> None:
    init_worker_process(parent)
    _STATE.clear()
    _STATE.update(config=config, policy=pickle.loads(policy_blob) if policy_blob else None, envs={}, per_task={})


def _task_policy(config: ClosedLoopConfig, task: str, env: Any) -> Any:
    """The policy object for `task`: expert and random are per task, a checkpoint or given object is shared."""
    per_task = _STATE["per_task"]
    if task in per_task:
        return per_task[task]
    if _STATE["policy"] is not None:
        policy = _STATE["policy"]
    elif config.policy == EXPERT:
        policy = ExpertPolicy(config.suite, task)
    elif config.policy == RANDOM:
        low, high = expert_action_range(env, config.suite, task)
        policy = RandomPolicy(low, high)
    else:
        if "checkpoint" not in _STATE:
            _STATE["checkpoint"] = load_checkpoint(config.policy, config.device)
        policy = _STATE["checkpoint"]
    per_task[task] = policy
    return policy


def _run_job(job: EpisodeJob) -> EpisodeOutcome:
    from simulation.registry import make_env

    config: ClosedLoopConfig = _STATE["config"]
    start = time.perf_counter()
    try:
        envs = _STATE["envs"]
        if job.task not in envs:
            envs[job.task] = make_env(config.suite, job.task)
        env = envs[job.task]
        policy = _task_policy(config, job.task, env)
        limit = env.spec.max_steps if config.max_steps is None else min(config.max_steps, env.spec.max_steps)
        success, steps, queries, frames = rollout(
            env, policy, job.seed, limit, config.n_action_steps, film=job.video is not None
        )
        if job.video is not None:
            write_video(job.video, frames, env.spec.fps)
    except Exception as err:  # one broken episode is reported (and counted as a failure), not fatal to the run
        message = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=6)}"
        return EpisodeOutcome(job.task, job.seed, False, 0, 0, time.perf_counter() - start, error=message)
    return EpisodeOutcome(job.task, job.seed, success, steps, queries, time.perf_counter() - start, video=job.video)


def _close_envs() -> None:
    for env in _STATE.get("envs", {}).values():
        env.close()


# ---------------------------------------------------------------------------------------------------- the run
def _jobs(config: ClosedLoopConfig, out: Path) -> list[EpisodeJob]:
    jobs = []
    for task in config.tasks:
        for index, seed in enumerate(config.seeds()):
            video = str(out / "videos" / f"{task}_seed{seed}.mp4") if index < config.videos else None
            jobs.append(EpisodeJob(task, seed, video))
    return jobs


def run_closed_loop_eval(config: ClosedLoopConfig, policy: Any | None = None) -> dict[str, Any]:
    """Evaluate and write the report; returns the report dict (see `report.build_report`).

    `policy` is an already built policy object (it must pickle when ``workers > 0``); without it the policy named by
    ``config.policy`` is loaded in every worker.
    """
    from simulation.registry import make_env

    from .report import build_report, write_report

    config.check()
    out = Path(config.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    if not os.access(out, os.W_OK):
        raise OSError(f"output folder {out} is not writable")
    specs = {}
    for task in config.tasks:  # fail fast on unknown names and read each task's spec (limits, fps) once
        env = make_env(config.suite, task)
        specs[task] = env.spec
        env.close()
    blob = pickle.dumps(policy) if policy is not None else None
    jobs = _jobs(config, out)
    outcomes: list[EpisodeOutcome] = []
    bar = _progress(len(jobs), config.progress)
    start = time.perf_counter()
    if config.workers == 0:
        saved = dict(_STATE)
        _worker_init(config, None, None)
        if policy is not None:
            _STATE["policy"] = policy  # in-process: use the object itself, not a copy
        try:
            for job in jobs:
                outcomes.append(_run_job(job))
                bar.update(1)
        finally:
            _close_envs()
            _STATE.clear()
            _STATE.update(saved)
    else:
        with ProcessPoolExecutor(
            max_workers=min(config.workers, len(jobs)),
            mp_context=get_context("spawn"),
            initializer=_worker_init,
            initargs=(config, blob, os.getpid()),
        ) as pool:
            futures = [pool.submit(_run_job, job) for job in jobs]
            for future in as_completed(futures):
                outcomes.append(future.result())
                bar.update(1)
    bar.close()
    seconds = time.perf_counter() - start
    outcomes.sort(key=lambda o: (config.tasks.index(o.task), o.seed))
    chunk = _declared_chunk(config, policy)
    report = build_report(config, specs, [asdict(o) for o in outcomes], seconds, chunk)
    report["files"] = write_report(report, out)
    return report


def _declared_chunk(config: ClosedLoopConfig, policy: Any | None) -> dict[str, int | None]:
    """P and H for the report (what the policy declares; H overridden by the config)."""
    if policy is not None:
        size, steps = chunk_lengths(policy)
    elif config.policy == EXPERT:
        size, steps = ExpertPolicy.chunk_size, ExpertPolicy.n_action_steps
    elif config.policy == RANDOM:
        size, steps = 4, 4
    else:
        size, steps = _checkpoint_chunk(config.policy)
    return {"chunk_size": size, "n_action_steps": config.n_action_steps or steps}


def _checkpoint_chunk(path_or_repo_id: str) -> tuple[int | None, int | None]:
    try:
        from modeling_vlaser import VlaserConfig

        config = VlaserConfig.from_pretrained(path_or_repo_id)
        return config.chunk_size, config.n_action_steps
    except Exception:  # the report still stands without them
        return None, None


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="closed-loop episodes", unit="ep")


def expected_queries(steps: int, n_action_steps: int) -> int:
    """How many times a policy executing H actions per chunk is asked during `steps` steps: ceil(steps / H)."""
    return math.ceil(steps / n_action_steps)
