"""Record scripted-expert episodes of any suite into a LeRobot v3 dataset with the annotation column.

`vlaser sim record --suite aloha --task transfer_cube --episodes 50 --out DIR` runs episodes ``start_seed`` …
``start_seed + episodes - 1`` of every task (the episode's seed is its id) in worker processes and commits each
successful one through `hub_datasets.episodes.LeRobotEpisodeWriter` (the only code that touches the layout's files).

Why it is built this way:

* Resumable without a ledger that could disagree with the data: every frame carries its episode's seed
  (``episode_seed``), so the dataset itself says which (task, seed) pairs are done; the writer commits an episode
  atomically, so a killed run loses at most the episodes that were in flight, and re-running skips the rest.
* Failed expert episodes are not training data, so they stay out of the dataset, but they are counted: the report
  (``record_report.json`` / ``.md`` next to ``meta/``) lists their seeds, and a re-run does not retry them (the
  simulation is deterministic under a seed). Episodes that raised an error are listed too and are retried.
* Both CPU cores: episodes run in ``workers`` spawned processes (each keeps its environment between episodes, with
  llvmpipe on one thread, which the research notes measured as the fastest split); the parent only encodes and
  writes. At most ``2 × workers`` episodes are in flight.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulation.workers import init_worker_process

SEED_KEY = "episode_seed"
REPORT_JSON = "record_report.json"
REPORT_MD = "record_report.md"
DONE_PHASE = "done"
_SEED_FEATURE = {SEED_KEY: {"dtype": "int64", "shape": [1], "names": None}}


class RecordError(RuntimeError):
    """Bad recorder input or an output folder that cannot take this recording; nothing was written."""


@dataclass
class RecordConfig:
    """What to record. `cameras`, `image_size` and `fps` are passed to the suite's task factory only when set."""

    suite: str
    tasks: list[str]
    episodes: int
    out: Path
    start_seed: int = 0
    workers: int = 2
    cameras: list[str] | None = None
    image_size: int | None = None
    fps: int | None = None
    max_steps: int | None = None
    annotations: bool = True
    progress: bool = True

    def env_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.cameras:
            options["cameras"] = tuple(self.cameras)
        if self.image_size:
            options["image_size"] = (int(self.image_size), int(self.image_size))
        if self.fps:
            options["fps"] = int(self.fps)
        return options


@dataclass
class EpisodeJob:
    suite: str
    task: str
    seed: int
    options: dict[str, Any]
    max_steps: int | None
    annotations: bool


@dataclass
class EpisodeResult:
    task: str
    seed: int
    success: bool
    steps: int
    seconds: float
    phases: list[str] = field(default_factory=list)
    frames: list[dict[str, Any]] | None = None
    error: str | None = None
    pid: int = 0  # the process that ran the episode


# ---------------------------------------------------------------------------------------------------- one episode
def run_episode(env: Any, expert: Any, seed: int, max_steps: int, annotations: bool) -> tuple[list[dict], bool]:
    """Roll out `expert` on `env` from `seed`; returns the frames (LeRobot frame dicts) and the final success.

    Frame t holds the observation and annotations *before* action t, and action t. The episode ends when the expert
    reports the phase ``done`` or after `max_steps` actions. ``phase_index`` counts the phases of this episode
    (0, 1, 2, …, one more at each change of label); ``phase_text`` is added when the expert describes its phases.
    """
    observation = env.reset(seed)
    expert.reset(env)
    cameras = list(env.spec.cameras)
    frames: list[dict[str, Any]] = []
    previous_phase, phase_index = None, -1
    for _ in range(max_steps):
        action, phase = expert.act(env)
        if phase == DONE_PHASE:
            break
        if phase != previous_phase:
            previous_phase, phase_index = phase, phase_index + 1
        frame: dict[str, Any] = {f"observation.images.{name}": observation["images"][name] for name in cameras}
        frame["observation.state"] = np.asarray(observation["state"], dtype=np.float32)
        frame["action"] = np.asarray(action, dtype=np.float32)
        frame[SEED_KEY] = np.int64(seed)
        if annotations:
            record = env.annotations()
            record["phase"], record["phase_index"] = phase, phase_index
            text = getattr(expert, "phase_text", None)
            if isinstance(text, str):
                record["phase_text"] = text
            frame["annotations"] = record
        frames.append(frame)
        observation, _ = env.step(action, render=True)
    return frames, bool(env.success())


_WORKER_STATE: dict[str, Any] = {}


def _episode_job(job: EpisodeJob) -> EpisodeResult:
    """Worker side: (re)use this process's environment for the job's task and run one episode."""
    from simulation.registry import make_env, make_expert

    start = time.perf_counter()
    key = (job.suite, job.task, json.dumps(job.options, sort_keys=True, default=str))
    try:
        if _WORKER_STATE.get("key") != key:
            if _WORKER_STATE.get("env") is not None:
                _WORKER_STATE["env"].close()
            _WORKER_STATE.update(key=key, env=None)
            _WORKER_STATE["env"] = make_env(job.suite, job.task, **job.options)
        env = _WORKER_STATE["env"]
        expert = make_expert(job.suite, job.task)
        limit = env.spec.max_steps if job.max_steps is None else min(job.max_steps, env.spec.max_steps)
        frames, success = run_episode(env, expert, job.seed, limit, job.annotations)
    except Exception as err:  # reported and retried on the next run, never recorded
        message = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=6)}"
        return EpisodeResult(job.task, job.seed, False, 0, time.perf_counter() - start, error=message, pid=os.getpid())
    phases = []
    for frame in frames:
        label = frame.get("annotations", {}).get("phase") if job.annotations else None
        if label and (not phases or phases[-1] != label):
            phases.append(label)
    return EpisodeResult(
        job.task,
        job.seed,
        success,
        len(frames),
        time.perf_counter() - start,
        phases=phases,
        frames=frames if success and frames else None,
        pid=os.getpid(),
    )


# ---------------------------------------------------------------------------------------------------- the run
class Recorder:
    """Runs a `RecordConfig`: checks the output folder, schedules the missing episodes, writes, reports."""

    def __init__(self, config: RecordConfig) -> None:
        self.config = config
        self._check_config()
        self.out = Path(config.out).expanduser()
        self.specs = self._task_specs()
        self.spec = self.specs[config.tasks[0]]
        self.instructions = {task: spec.instruction for task, spec in self.specs.items()}

    # -- checks
    def _check_config(self) -> None:
        config = self.config
        if not config.tasks:
            raise RecordError("tasks: give at least one task name")
        if len(set(config.tasks)) != len(config.tasks):
            raise RecordError(f"tasks: each task once, got {config.tasks}")
        for name, value, minimum in (
            ("episodes", config.episodes, 1),
            ("workers", config.workers, 0),
            ("start_seed", config.start_seed, 0),
        ):
            if not isinstance(value, int) or value < minimum:
                raise RecordError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if config.max_steps is not None and config.max_steps < 1:
            raise RecordError(f"max_steps must be >= 1, got {config.max_steps}")

    def _task_specs(self) -> dict[str, Any]:
        from simulation.registry import make_env

        specs = {}
        for task in self.config.tasks:
            env = make_env(self.config.suite, task, **self.config.env_options())
            try:
                specs[task] = env.spec
            finally:
                env.close()
        first = specs[self.config.tasks[0]]
        for task, spec in specs.items():
            for attribute in ("robot_type", "state_names", "action_names", "cameras", "fps"):
                if getattr(spec, attribute) != getattr(first, attribute):
                    raise RecordError(
                        f"tasks {self.config.tasks[0]} and {task} cannot share a dataset: {attribute} differs "
                        f"({getattr(first, attribute)} vs {getattr(spec, attribute)})"
                    )
        if len(set(spec.instruction for spec in specs.values())) != len(specs):
            raise RecordError("tasks with the same instruction cannot be told apart in one dataset")
        return specs

    def _expected_features(self) -> dict[str, Any]:
        spec = self.spec
        features: dict[str, Any] = {
            "observation.state": list(spec.state_names),
            "action": list(spec.action_names),
            **{f"observation.images.{name}": [*size, 3] for name, size in spec.cameras.items()},
            SEED_KEY: [1],
        }
        if self.config.annotations:
            features["annotations"] = [1]
        return features

    def _check_existing(self, info: dict[str, Any]) -> None:
        """An existing dataset must hold the same robot, arrays and cameras as this run would write."""
        spec, problems = self.spec, []
        if info.get("robot_type") != spec.robot_type:
            problems.append(f"robot_type {info.get('robot_type')!r} (this run: {spec.robot_type!r})")
        if info.get("fps") != spec.fps:
            problems.append(f"fps {info.get('fps')} (this run: {spec.fps})")
        features = info.get("features", {})
        for key, expected in self._expected_features().items():
            found = features.get(key)
            if found is None:
                problems.append(f"no feature {key!r}")
            elif key in ("observation.state", "action"):
                if found.get("names") != expected:
                    problems.append(f"{key} names {found.get('names')} (this run: {expected})")
            elif list(found.get("shape") or [1]) != expected:
                problems.append(f"{key} shape {found.get('shape')} (this run: {expected})")
        extra = [
            k for k, f in features.items() if k.startswith("observation.images.") and k not in self._expected_features()
        ]
        if extra:
            problems.append(f"cameras {extra} that this run does not record")
        if "annotations" in features and not self.config.annotations:
            problems.append("an annotations column (this run: --no-annotations)")
        if problems:
            raise RecordError(
                f"{self.out} already holds a dataset this run cannot extend (suite {self.config.suite!r}, tasks "
                f"{self.config.tasks}): it has " + "; ".join(problems) + ". Record into another --out folder."
            )

    def _check_writable(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            probe = self.out / f".write-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise RecordError(f"cannot write to the output folder {self.out}: {err}") from err

    # -- dataset and report
    def _open_writer(self) -> tuple[Any, set[tuple[str, int]]]:
        from hub_datasets.episodes import LeRobotEpisodes, LeRobotEpisodeWriter

        info_path = self.out / "meta" / "info.json"
        if info_path.is_file():
            try:
                info = json.loads(info_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise RecordError(f"{info_path} is not valid JSON ({err}); record into another --out folder") from err
            self._check_existing(info)
            writer = LeRobotEpisodeWriter.open(self.out)  # removes the leftovers of a killed episode first
            done = set()
            reader = LeRobotEpisodes(self.out)
            if reader.num_frames:
                seeds = reader.column(SEED_KEY)
                task_index = reader.column("task_index")
                names = {text: task for task, text in self.instructions.items()}
                for index, seed in {(int(t), int(s)) for t, s in zip(task_index, seeds, strict=True)}:
                    text = reader.tasks.get(index)
                    done.add((names.get(text, f"<other task: {text}>"), seed))
            return writer, done
        self._check_writable()
        leftovers = [p for p in self.out.iterdir() if p.name not in (REPORT_JSON, REPORT_MD)]
        if leftovers:
            raise RecordError(
                f"{self.out} is not empty and holds no LeRobot dataset (found {sorted(p.name for p in leftovers)[:5]}); "
                "record into a new or empty folder"
            )
        for name in (REPORT_JSON, REPORT_MD):  # a report without a dataset belongs to nothing
            (self.out / name).unlink(missing_ok=True)
        spec = self.spec
        writer = LeRobotEpisodeWriter.create(
            self.out,
            fps=spec.fps,
            robot_type=spec.robot_type,
            state_names=spec.state_names,
            action_names=spec.action_names,
            cameras=dict(spec.cameras),
            with_annotations=self.config.annotations,
            extra_features=_SEED_FEATURE,
        )
        return writer, set()

    def _load_report(self) -> dict[str, Any]:
        path = self.out / REPORT_JSON
        if path.is_file():
            try:
                report = json.loads(path.read_text(encoding="utf-8"))
                if report.get("suite") == self.config.suite:
                    return report
            except json.JSONDecodeError:
                pass  # rebuilt below; the dataset is the source of truth for recorded episodes
        return {"suite": self.config.suite, "tasks": {}, "runs": []}

    # -- main loop
    def run(self) -> dict[str, Any]:
        config = self.config
        writer, done = self._open_writer()
        report = self._load_report()
        seeds = range(config.start_seed, config.start_seed + config.episodes)
        for task in config.tasks:
            entry = report["tasks"].setdefault(task, {"failed": {}, "errors": {}})
            entry["instruction"] = self.instructions[task]
        failed = {(task, int(seed)) for task in config.tasks for seed in report["tasks"][task]["failed"]}
        for task in config.tasks:
            report["tasks"][task]["errors"] = {}  # errors are retried
        jobs = [
            EpisodeJob(config.suite, task, seed, config.env_options(), config.max_steps, config.annotations)
            for seed in seeds
            for task in config.tasks
            if (task, seed) not in done and (task, seed) not in failed
        ]
        run_entry = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "requested": {"tasks": list(config.tasks), "seeds": [seeds.start, seeds.stop - 1]},
            "skipped_done": sum((t, s) in done for t in config.tasks for s in seeds),
            "skipped_failed": sum((t, s) in failed for t in config.tasks for s in seeds),
            "recorded": 0,
            "failed": 0,
            "errors": 0,
            "frames": 0,
            "workers": config.workers,
            "worker_pids": [],
        }
        report["runs"].append(run_entry)
        report["config"] = {
            key: (str(value) if isinstance(value, Path) else value)
            for key, value in asdict(config).items()
            if key not in ("progress",)
        }
        started = time.perf_counter()
        self._write_report(report, writer, run_entry, started, seeds)
        bar = _progress(len(jobs), f"{config.suite} {'/'.join(config.tasks)}", config.progress)
        try:
            for result in self._results(jobs):
                entry = report["tasks"][result.task]
                if result.pid not in run_entry["worker_pids"]:
                    run_entry["worker_pids"].append(result.pid)
                if result.error is not None:
                    entry["errors"][str(result.seed)] = result.error.splitlines()[0]
                    run_entry["errors"] += 1
                elif result.success and result.frames:
                    writer.add_episode(result.frames, task=self.instructions[result.task])
                    entry["failed"].pop(str(result.seed), None)
                    run_entry["recorded"] += 1
                    run_entry["frames"] += len(result.frames)
                else:
                    entry["failed"][str(result.seed)] = {"steps": result.steps, "phases": result.phases}
                    run_entry["failed"] += 1
                self._write_report(report, writer, run_entry, started, seeds)
                bar.update(1)
                bar.set_postfix(ok=run_entry["recorded"], failed=run_entry["failed"], errors=run_entry["errors"])
        finally:
            bar.close()
        self._write_report(report, writer, run_entry, started, seeds, finished=True)
        return report

    def _results(self, jobs: list[EpisodeJob]) -> Iterator[EpisodeResult]:
        if not jobs:
            return
        if self.config.workers == 0:  # in-process: for debugging and profiling
            _WORKER_STATE.clear()
            for job in jobs:
                yield _episode_job(job)
            return
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # fresh interpreters: no inherited GL state or threads
        workers = min(self.config.workers, len(jobs))
        pool = ProcessPoolExecutor(
            workers, mp_context=context, initializer=init_worker_process, initargs=(os.getpid(),)
        )
        try:
            pending: set[Future] = set()
            queue = iter(jobs)
            for job in queue:
                pending.add(pool.submit(_episode_job, job))
                if len(pending) >= 2 * workers:
                    break
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    for job in queue:
                        pending.add(pool.submit(_episode_job, job))
                        break
                    yield future.result()
        finally:  # interrupted (Ctrl-C, an error while writing): drop queued episodes, let running ones end
            pool.shutdown(wait=True, cancel_futures=True)

    def _write_report(
        self,
        report: dict[str, Any],
        writer: Any,
        run_entry: dict[str, Any],
        started: float,
        seeds: range,
        finished: bool = False,
    ) -> None:
        from hub_datasets.episodes import LeRobotEpisodes

        seconds = time.perf_counter() - started
        run_entry["seconds"] = round(seconds, 2)
        attempted = run_entry["recorded"] + run_entry["failed"] + run_entry["errors"]
        run_entry["episodes_per_minute"] = round(60.0 * attempted / seconds, 2) if seconds > 0 and attempted else 0.0
        run_entry["finished"] = finished
        report["dataset"] = {"episodes": writer.num_episodes, "frames": writer.num_frames}
        if finished:
            reader = LeRobotEpisodes(self.out)
            counts: dict[str, int] = {}
            if reader.num_frames:
                pairs = {
                    (int(t), int(s)) for t, s in zip(reader.column("task_index"), reader.column(SEED_KEY), strict=True)
                }
                for index, _ in pairs:
                    counts[reader.tasks[index]] = counts.get(reader.tasks[index], 0) + 1
            for entry in report["tasks"].values():
                recorded = counts.get(entry.get("instruction", ""), 0)
                entry["recorded"] = recorded
                entry["attempted"] = recorded + len(entry["failed"])
                entry["success_rate"] = round(recorded / entry["attempted"], 4) if entry["attempted"] else None
        _atomic_text(self.out / REPORT_JSON, json.dumps(report, indent=2) + "\n")
        _atomic_text(self.out / REPORT_MD, _markdown(report))


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Recording report: suite `{report['suite']}`",
        "",
        f"Dataset: {report.get('dataset', {}).get('episodes', 0)} episodes, "
        f"{report.get('dataset', {}).get('frames', 0)} frames. Failed expert episodes are not in the dataset; "
        "episodes that raised an error are retried by the next run.",
        "",
        "| task | recorded | failed (seeds) | success rate | errors |",
        "|---|---|---|---|---|",
    ]
    for task, entry in report["tasks"].items():
        failed = sorted(int(s) for s in entry["failed"])
        shown = ", ".join(map(str, failed[:12])) + (" …" if len(failed) > 12 else "")
        rate = entry.get("success_rate")
        lines.append(
            f"| {task} | {entry.get('recorded', '…')} | {len(failed)}{f' ({shown})' if failed else ''} | "
            f"{'…' if rate is None else f'{100 * rate:.1f} %'} | {len(entry['errors'])} |"
        )
    lines += [
        "",
        "| run started | recorded | failed | errors | skipped (done/failed) | seconds | episodes/min | workers |",
    ]
    lines.append("|---|---|---|---|---|---|---|---|")
    for run in report["runs"]:
        lines.append(
            f"| {run['started']}{'' if run.get('finished') else ' (interrupted)'} | {run['recorded']} | "
            f"{run['failed']} | {run['errors']} | {run['skipped_done']}/{run['skipped_failed']} | "
            f"{run.get('seconds', 0)} | {run.get('episodes_per_minute', 0)} | {run['workers']} |"
        )
    errors = [(task, seed, text) for task, entry in report["tasks"].items() for seed, text in entry["errors"].items()]
    if errors:
        lines += ["", "Errors of the last run:", ""] + [f"- {task} seed {seed}: {text}" for task, seed, text in errors]
    return "\n".join(lines) + "\n"


def _atomic_text(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


class _NoBar:
    def update(self, n: int = 1) -> None: ...

    def set_postfix(self, **kwargs: Any) -> None: ...

    def close(self) -> None: ...


def _progress(total: int, description: str, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="episode", dynamic_ncols=True)


def record(config: RecordConfig) -> dict[str, Any]:
    """Record the episodes of `config` (resuming what is already in `config.out`); returns the report."""
    return Recorder(config).run()


def all_tasks(suite: str) -> list[str]:
    from simulation.registry import task_names

    return task_names(suite)
