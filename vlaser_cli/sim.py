"""`vlaser sim record|show|tasks`: record expert episodes into a LeRobot dataset, draw a contact sheet, list tasks.

Examples::

    vlaser sim record --suite aloha --task transfer_cube insertion --episodes 50 --out data/aloha
    vlaser sim record --suite widowx --task all --episodes 20 --out data/widowx --workers 2
    vlaser sim show --dataset data/aloha --out sheet.png --episode 0 --camera top
    vlaser sim tasks --suite aloha

Re-running `record` with the same `--out` resumes: finished and failed episodes are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import parse_arguments

USAGE = "usage: vlaser sim {record,show,tasks} [--config FILE.yaml] [--flag value ...]"


@dataclass
class SimRecordArguments:
    suite: str = field(default="aloha", metadata={"help": "simulator suite: aloha or widowx"})
    task: list[str] = field(default_factory=lambda: ["all"], metadata={"help": "task name(s), or 'all'"})
    episodes: int = field(default=10, metadata={"help": "episodes per task: seeds start_seed … start_seed+N-1"})
    out: str = field(default="outputs/sim", metadata={"help": "dataset folder (created, or resumed)"})
    start_seed: int = field(default=0, metadata={"help": "seed of the first episode (the seed is the episode id)"})
    workers: int = field(default=2, metadata={"help": "worker processes (0: run in this process)"})
    cameras: list[str] | None = field(default=None, metadata={"help": "cameras to record (suite default if unset)"})
    image_size: int | None = field(default=None, metadata={"help": "square image side in pixels (suite default)"})
    fps: int | None = field(default=None, metadata={"help": "policy/recording rate in Hz (suite default)"})
    max_steps: int | None = field(default=None, metadata={"help": "cap on actions per episode"})
    no_annotations: bool = field(default=False, metadata={"help": "leave out the annotations column"})
    no_progress: bool = field(default=False, metadata={"help": "no progress bar"})


@dataclass
class SimShowArguments:
    dataset: str = field(default="outputs/sim", metadata={"help": "recorded dataset folder (or Hub repo id)"})
    out: str = field(default="outputs/sim_sheet.png", metadata={"help": "PNG to write"})
    episode: int | None = field(default=None, metadata={"help": "episode index (default: the first)"})
    camera: str | None = field(default=None, metadata={"help": "camera (default: the first)"})
    frames: int = field(default=12, metadata={"help": "frames on the sheet, evenly spaced"})
    columns: int = field(default=4, metadata={"help": "frames per row"})
    scale: int = field(default=2, metadata={"help": "integer zoom of each frame"})


@dataclass
class SimTasksArguments:
    suite: str = field(default="aloha", metadata={"help": "simulator suite: aloha or widowx"})


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("record", "show", "tasks"):
        raise SystemExit(USAGE)
    command, rest = argv[0], argv[1:]
    if command == "record":
        (args,) = parse_arguments((SimRecordArguments,), rest, prog="vlaser sim record")
        _record(args)
    elif command == "show":
        (args,) = parse_arguments((SimShowArguments,), rest, prog="vlaser sim show")
        from simulation.show import show

        try:
            path, tiles = show(args.dataset, args.out, args.episode, args.camera, args.frames, args.columns, args.scale)
        except (FileNotFoundError, ValueError) as err:
            raise SystemExit(f"vlaser sim show: {err}") from err
        print(f"wrote {path} ({len(tiles)} frames)")
    else:
        (args,) = parse_arguments((SimTasksArguments,), rest, prog="vlaser sim tasks")
        from simulation.registry import make_env, task_names

        try:
            names = task_names(args.suite)
        except (KeyError, ImportError) as err:
            raise SystemExit(f"vlaser sim tasks: {err}") from err
        for name in names:
            try:
                env = make_env(args.suite, name)
            except Exception as err:  # missing assets or renderer: still list the task, with the reason
                print(f"{name:<24} (cannot be made here: {str(err).splitlines()[0][:300]})")
                continue
            print(f"{name:<24} {env.spec.instruction}  ({env.spec.max_steps} steps at {env.spec.fps} Hz)")
            env.close()


def _record(args: SimRecordArguments) -> None:
    from simulation.record import RecordConfig, RecordError, record
    from simulation.registry import task_names

    try:
        tasks = task_names(args.suite) if args.task in (["all"], []) else list(args.task)
        config = RecordConfig(
            suite=args.suite,
            tasks=tasks,
            episodes=args.episodes,
            out=Path(args.out),
            start_seed=args.start_seed,
            workers=args.workers,
            cameras=args.cameras,
            image_size=args.image_size,
            fps=args.fps,
            max_steps=args.max_steps,
            annotations=not args.no_annotations,
            progress=not args.no_progress,
        )
        report = record(config)
    except (RecordError, KeyError, ImportError, ValueError, OSError, RuntimeError) as err:
        # bad input, missing assets, no renderer: one message, nothing half-written (the writer commits per episode)
        raise SystemExit(f"vlaser sim record: {err}") from err
    dataset = report["dataset"]
    print(f"dataset {args.out}: {dataset['episodes']} episodes, {dataset['frames']} frames")
    for task, entry in report["tasks"].items():
        print(f"  {task}: recorded {entry['recorded']}, failed {len(entry['failed'])}, errors {len(entry['errors'])}")
    print(f"report: {Path(args.out) / 'record_report.md'}")
