"""`vlaser data build|stats|validate|hashes|scenes|push`: the in-domain QA engine and the VLASER-6M builder.

    vlaser data scenes --out data/scenes                          # hand-made annotated WidowX + ALOHA episodes
    vlaser data build --episodes data/scenes/widowx data/scenes/aloha --out data/vlaser6m [--max-per-episode 8]
    vlaser data stats data/vlaser6m                               # counts, answer lengths, object balance (+ PNG)
    vlaser data validate data/vlaser6m                            # re-derive every checkable answer; exit 1 on mismatch
    vlaser data hashes --episodes data/eval_episodes --out eval_hashes.txt   # for --exclude-image-hashes
    vlaser data push data/vlaser6m --repo-id me/vlaser6m-indomain

Every subcommand also takes `--config FILE.yaml` with the same keys as its flags.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import parse_arguments

USAGE = "usage: vlaser data {build,stats,validate,hashes,scenes,push} [--config FILE.yaml] [--flag value ...]"
_FAMILIES = ["grounding", "spatial_reasoning", "planning", "general_qa"]


@dataclass
class DataBuildArguments:
    episodes: list[str] = field(default_factory=list, metadata={"help": "LeRobot datasets (folders or repo ids)"})
    out: str = field(default="", metadata={"help": "output dataset folder (new or empty)"})
    names: list[str] = field(
        default_factory=list, metadata={"help": "source names, one per --episodes (default: folder names)"}
    )
    domains: list[str] = field(
        default_factory=list, metadata={"help": "domains, one per --episodes (default: robot_type)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of keyframes, questions and paraphrases"})
    max_per_episode: int = field(
        default=8, metadata={"help": "keyframes per episode (one conversation per family each)"}
    )
    frames_per_phase: int = field(default=1, metadata={"help": "keyframes drawn from each run of one phase"})
    turns: int = field(default=3, metadata={"help": "QA pairs per conversation (0: every applicable question)"})
    families: list[str] = field(default_factory=lambda: list(_FAMILIES), metadata={"help": "QA families to generate"})
    min_visible_fraction: float = field(
        default=0.1, metadata={"help": "objects less visible than this are not asked about"}
    )
    camera: str | None = field(
        default=None, metadata={"help": "camera the boxes refer to (default: the record's first)"}
    )
    exclude_episodes: str | None = field(
        default=None, metadata={"help": "file of 'source:episode_index' lines to leave out"}
    )
    exclude_image_hashes: str | None = field(
        default=None, metadata={"help": "file of image sha256 lines (vlaser data hashes)"}
    )
    validate: bool = field(default=True, metadata={"help": "re-derive every checkable answer and reject mismatches"})
    image_format: str = field(default="png", metadata={"help": "png (lossless) or jpeg"})
    shard_rows: int = field(default=1000, metadata={"help": "rows per parquet shard"})
    license: str = field(default="apache-2.0", metadata={"help": "license in the dataset card"})
    overwrite: bool = field(default=False, metadata={"help": "replace --out if it exists"})
    push_to_hub: str | None = field(default=None, metadata={"help": "repo id to upload the result to"})
    private: bool = field(default=False, metadata={"help": "create the Hub repo private"})
    model_qa_url: str | None = field(
        default=None, metadata={"help": "OpenAI-compatible endpoint for model-written QA (off if unset)"}
    )
    model_qa_model: str = field(default="Qwen/Qwen2.5-VL-7B-Instruct", metadata={"help": "generator model"})
    model_qa_judge_model: str | None = field(default=None, metadata={"help": "judge model (default: the generator)"})
    model_qa_families: list[str] = field(
        default_factory=lambda: ["general_qa", "spatial_reasoning", "grounding"], metadata={"help": "model-QA families"}
    )
    model_qa_min_score: int = field(default=2, metadata={"help": "keep judged pairs scoring at least this (1-3)"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})


@dataclass
class DataFolderArguments:
    folder: str = field(default="", metadata={"help": "a dataset folder written by `vlaser data build`"})
    json: bool = field(default=False, metadata={"help": "print the result as JSON"})


@dataclass
class DataHashesArguments:
    episodes: list[str] = field(default_factory=list, metadata={"help": "LeRobot datasets whose frames to hash"})
    out: str = field(default="", metadata={"help": "text file to write, one sha256 per line"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})


@dataclass
class DataScenesArguments:
    out: str = field(default="", metadata={"help": "folder for widowx/ and aloha/"})
    episodes: int = field(default=6, metadata={"help": "WidowX episodes (ALOHA gets two thirds as many)"})
    seed: int = field(default=0, metadata={"help": "seed of object placements"})
    width: int = field(default=224, metadata={"help": "image width"})
    height: int = field(default=224, metadata={"help": "image height"})


@dataclass
class DataPushArguments:
    folder: str = field(default="", metadata={"help": "a dataset folder written by `vlaser data build`"})
    repo_id: str = field(default="", metadata={"help": "Hub dataset repo id (namespace/name)"})
    private: bool = field(default=False, metadata={"help": "create the repo private"})


def _require(value: object, flag: str, prog: str) -> None:
    if not value:
        raise SystemExit(f"{prog}: {flag} is required")


def _build(rest: list[str]) -> None:
    from hub_datasets.build import Exclusions, InDomainSource, build_dataset, push_to_hub, read_list_file
    from hub_datasets.in_domain import EngineConfig

    prog = "vlaser data build"
    (args,) = parse_arguments((DataBuildArguments,), rest, prog=prog)
    _require(args.episodes, "--episodes", prog)
    _require(args.out, "--out", prog)
    for flag, values in (("--names", args.names), ("--domains", args.domains)):
        if values and len(values) != len(args.episodes):
            raise SystemExit(f"{prog}: {flag} needs one value per --episodes ({len(args.episodes)}), got {len(values)}")
    config = EngineConfig(
        seed=args.seed,
        max_per_episode=args.max_per_episode,
        frames_per_phase=args.frames_per_phase,
        families=tuple(args.families),
        turns=args.turns or None,
        min_visible_fraction=args.min_visible_fraction,
        camera=args.camera,
    )
    model_qa = None
    if args.model_qa_url:
        from hub_datasets.model_qa import ModelQA, ModelQAConfig

        model_qa = ModelQA(
            ModelQAConfig(
                base_url=args.model_qa_url,
                model=args.model_qa_model,
                judge_model=args.model_qa_judge_model,
                families=tuple(args.model_qa_families),
                min_score=args.model_qa_min_score,
            )
        )
    sources = [
        InDomainSource(
            path,
            name=args.names[i] if args.names else None,
            domain=args.domains[i] if args.domains else None,
            config=config,
            model_qa=model_qa,
        )
        for i, path in enumerate(args.episodes)
    ]
    exclusions = Exclusions(
        episodes=set(read_list_file(args.exclude_episodes)) if args.exclude_episodes else set(),
        image_hashes=set(read_list_file(args.exclude_image_hashes)) if args.exclude_image_hashes else set(),
    )
    report = build_dataset(
        sources,
        args.out,
        exclusions=exclusions,
        validate=args.validate,
        image_format=args.image_format,
        shard_rows=args.shard_rows,
        license=args.license,
        overwrite=args.overwrite,
        progress=args.progress,
        command="vlaser data build " + shlex.join(rest),
    )
    summary = report.to_dict(exclusions)
    engine = summary["engine"]
    print(
        f"wrote {args.out}: {sum(summary['rows_by_config'].values())} conversations, "
        f"{sum(summary['qa_items_by_config'].values())} QA pairs, {summary['images']} images in {summary['seconds']} s"
    )
    for config, rows in summary["rows_by_config"].items():
        print(f"  {config:<32} {rows:>7} conversations {summary['qa_items_by_config'][config]:>8} QA pairs")
    print(
        f"  frames skipped (bad/missing annotations): {engine['frames_skipped_bad_annotations']} "
        f"{json.dumps(engine['frames_bad_by_field']) if engine['frames_bad_by_field'] else ''}"
    )
    print(f"  decontamination: {json.dumps(summary['decontamination'])}")
    print(
        f"  validation: {json.dumps(summary['validation']['rejected_qa_pairs_by_kind'])} rejected of "
        f"{summary['validation']['checked_qa_pairs']} checked"
    )
    if args.push_to_hub:
        print(f"pushed: {push_to_hub(args.out, args.push_to_hub, private=args.private or None)}")


def _folder_args(rest: list[str], prog: str) -> DataFolderArguments:
    if rest and not rest[0].startswith("-"):
        rest = ["--folder", rest[0], *rest[1:]]
    (args,) = parse_arguments((DataFolderArguments,), rest, prog=prog)
    _require(args.folder, "FOLDER", prog)
    if not Path(args.folder).is_dir():
        raise SystemExit(f"{prog}: {args.folder} is not a folder")
    return args


def _stats(rest: list[str]) -> None:
    from hub_datasets.stats import write_stats

    args = _folder_args(rest, "vlaser data stats")
    stats = write_stats(args.folder)
    summary = {key: value for key, value in stats.items() if key != "answer_word_counts"}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{args.folder}: stats written to stats/stats.json and stats/stats.png")
    for family, count in summary["qa_items_by_family"].items():
        words = summary["answer_words"][family]
        print(f"  {family:<18} {count:>8} QA pairs   answer words mean {words['mean']:.1f}, p95 {words['p95']:.0f}")
    top = ", ".join(f"{name} {count}" for name, count in list(summary["object_mentions"].items())[:10])
    print(f"  objects (most asked about): {top}")


def _validate(rest: list[str]) -> None:
    from hub_datasets.validate import validate_repo

    args = _folder_args(rest, "vlaser data validate")
    report = validate_repo(args.folder)
    result = report.to_dict()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{args.folder}: {result['rows']} rows, {result['checked_qa_pairs']} QA pairs re-derived, "
            f"{result['mismatches']} mismatches"
        )
        for line in result["mismatch_examples"]:
            print(f"  {line}")
    if not report.ok:
        raise SystemExit(1)


def _hashes(rest: list[str]) -> None:
    from tqdm.auto import tqdm

    from hub_datasets.build import image_hash
    from hub_datasets.episodes import LeRobotEpisodes

    prog = "vlaser data hashes"
    (args,) = parse_arguments((DataHashesArguments,), rest, prog=prog)
    _require(args.episodes, "--episodes", prog)
    _require(args.out, "--out", prog)
    hashes: set[str] = set()
    for path in args.episodes:
        episodes = LeRobotEpisodes(path)
        for index in tqdm(range(episodes.num_frames), desc=f"hashing {path}", disable=not args.progress):
            frame = episodes.frame(index)
            hashes.update(image_hash(frame[key]) for key in episodes.camera_keys)
    Path(args.out).write_text("".join(f"{h}\n" for h in sorted(hashes)))
    print(f"wrote {len(hashes)} image hashes to {args.out}")


def _scenes(rest: list[str]) -> None:
    from hub_datasets.in_domain.scenes import write_demo_scenes

    prog = "vlaser data scenes"
    (args,) = parse_arguments((DataScenesArguments,), rest, prog=prog)
    _require(args.out, "--out", prog)
    paths = write_demo_scenes(args.out, episodes=args.episodes, seed=args.seed, image_size=(args.width, args.height))
    for domain, path in paths.items():
        print(f"{domain}: {path}")


def _push(rest: list[str]) -> None:
    from hub_datasets.build import push_to_hub

    prog = "vlaser data push"
    if rest and not rest[0].startswith("-"):
        rest = ["--folder", rest[0], *rest[1:]]
    (args,) = parse_arguments((DataPushArguments,), rest, prog=prog)
    _require(args.folder, "FOLDER", prog)
    _require(args.repo_id, "--repo-id", prog)
    print(push_to_hub(args.folder, args.repo_id, private=args.private or None))


_SUBCOMMANDS = {
    "build": _build,
    "stats": _stats,
    "validate": _validate,
    "hashes": _hashes,
    "scenes": _scenes,
    "push": _push,
}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in _SUBCOMMANDS:
        print(USAGE, file=sys.stderr)
        raise SystemExit(0 if argv[:1] in (["-h"], ["--help"]) else 2)
    _SUBCOMMANDS[argv[0]](argv[1:])
