"""The VLASER-6M builder: any number of conversation sources -> one Hub dataset folder, one config per
category x domain (`grounding_widowx`, `spatial_reasoning_widowx`, `planning_aloha`, ...).

Layout of the folder (a Hub dataset repo as it is; `load_dataset(folder, config)` and `push_to_hub` work on it)::

    README.md                           dataset card: YAML `configs:` + counts, recipe, schema, decontamination
    data/<config>/train-XXXXX-of-YYYYY.parquet     rows in the VLASER-6M schema, images embedded (PNG/JPEG bytes)
    provenance/<config>/train-XXXXX-of-YYYYY.parquet  per row: episode, frame, image hash, annotation record,
                                        claims (what each QA pair asked), validation settings
    build_report.json                   what was built, skipped, removed and rejected, and why
    stats/stats.json, stats/stats.png   items per family, answer lengths, object balance

Why provenance beside the data: `hub_datasets.validate.validate_repo` can re-check every answer of a downloaded or
edited copy without the source episodes, and the in-domain evaluation can score against the same claims.

Sources implement `RowSource` (`name`, `domain`, `frames(...)` yielding `FrameRows`); `InDomainSource` wraps the
in-domain engine, and out-of-domain converters only have to yield `FrameRows` too. The builder decontaminates
(excluded episode ids `source:episode_index`, excluded image hashes, see `image_hash`), validates every checkable
answer against its record, writes sharded parquet with the HF features in the schema, then the stats and the card.
The output is written to a temporary folder and renamed into place at the end, so an interrupted build leaves no
half-written dataset behind and never damages an existing one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image as PILImage

from .episodes import LeRobotEpisodes
from .in_domain.engine import Conversation, EngineConfig, EngineReport, InDomainEngine
from .in_domain.qa import FAMILIES
from .synthetic import CONVERSATION_FEATURES
from .validate import ValidationSettings, validate_pairs

__all__ = [
    "BuildReport",
    "Exclusions",
    "FrameRows",
    "InDomainSource",
    "RowSource",
    "build_dataset",
    "config_name",
    "image_hash",
    "push_to_hub",
    "read_list_file",
]

PROVENANCE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("episode_uid", pa.string()),
        ("frame_index", pa.int64()),
        ("image_sha256", pa.list_(pa.string())),
        ("record", pa.string()),
        ("claims", pa.string()),
        ("settings", pa.string()),
    ]
)
_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def config_name(category: str, domain: str) -> str:
    """`grounding_widowx` etc.: category and domain joined by `_`, other characters replaced."""
    return _NAME.sub("_", f"{category}_{domain}").strip("_").lower()


def image_hash(image: Any) -> str:
    """sha256 of an image's RGB pixels and shape: the same picture gives the same hash whatever its file encoding
    (PNG in one dataset, JPEG-free re-encodes in another), so evaluation frames can be excluded from training."""
    if isinstance(image, (bytes, bytearray)):
        image = PILImage.open(io.BytesIO(image))
    if isinstance(image, PILImage.Image):
        image = np.asarray(image.convert("RGB"))
    array = np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"image must be HxWx3 uint8 (RGB), got shape {array.shape}")
    digest = hashlib.sha256(f"{array.shape[0]}x{array.shape[1]}x3:".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def read_list_file(path: str | os.PathLike[str]) -> list[str]:
    """One entry per line; blank lines and `#` comments ignored (exclusion lists)."""
    lines = Path(path).read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


@dataclass
class Exclusions:
    """What must not be in the training data: episodes (`source:episode_index`) and image hashes (`image_hash`)."""

    episodes: set[str] = field(default_factory=set)
    image_hashes: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.episodes = {str(e).strip() for e in self.episodes}
        bad = sorted(e for e in self.episodes if not re.fullmatch(r".+:\d+", e))
        if bad:
            raise ValueError(
                f"exclude_episodes: expected entries 'source:episode_index' (e.g. 'widowx:12'), got {bad[:5]}"
            )
        self.image_hashes = {h.strip().lower() for h in self.image_hashes}
        bad = sorted(h for h in self.image_hashes if not re.fullmatch(r"[0-9a-f]{64}", h))
        if bad:
            raise ValueError(f"exclude_image_hashes: expected 64-character sha256 hex digests, got {bad[:5]}")

    def episodes_of(self, source: str) -> set[int]:
        prefix = f"{source}:"
        return {int(e[len(prefix) :]) for e in self.episodes if e.startswith(prefix)}


@dataclass
class FrameRows:
    """What a source yields: the image(s) of one frame and the conversations about it."""

    images: list[Any]
    """HxWx3 uint8 arrays (or PIL images)."""
    conversations: list[Conversation]
    episode_uid: str | None = None
    frame_index: int | None = None
    record: dict[str, Any] | None = None
    """The annotation record the answers were derived from (None for rows without one: nothing to validate)."""
    settings: ValidationSettings | None = None


@dataclass
class BuildReport:
    """Everything the build did, written to `build_report.json` and summarized in the card."""

    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    engine: EngineReport = field(default_factory=EngineReport)
    rows: Counter = field(default_factory=Counter)
    """Rows (conversations) by config."""
    items: Counter = field(default_factory=Counter)
    """QA pairs by config."""
    images: int = 0
    excluded_episodes: list[str] = field(default_factory=list)
    """Episode ids that were in the exclusion list and in a source (and were left out)."""
    excluded_frames_by_hash: list[dict[str, Any]] = field(default_factory=list)
    rows_removed_by_hash: int = 0
    validation_checked: int = 0
    validation_rejected: Counter = field(default_factory=Counter)
    validation_examples: list[str] = field(default_factory=list)
    conversations_emptied_by_validation: int = 0
    model_qa: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self, exclusions: Exclusions | None = None) -> dict[str, Any]:
        unmatched_episodes = sorted((exclusions.episodes if exclusions else set()) - set(self.excluded_episodes))
        matched_hashes = {entry["image_sha256"] for entry in self.excluded_frames_by_hash}
        unmatched_hashes = sorted((exclusions.image_hashes if exclusions else set()) - matched_hashes)
        return {
            "sources": self.sources,
            "rows_by_config": dict(sorted(self.rows.items())),
            "qa_items_by_config": dict(sorted(self.items.items())),
            "images": self.images,
            "engine": self.engine.to_dict(),
            "decontamination": {
                "episodes_removed": sorted(self.excluded_episodes),
                "frames_removed_by_image_hash": self.excluded_frames_by_hash,
                "rows_removed_by_image_hash": self.rows_removed_by_hash,
                "excluded_episodes_not_found": unmatched_episodes,
                "excluded_hashes_not_found": len(unmatched_hashes),
            },
            "validation": {
                "checked_qa_pairs": self.validation_checked,
                "rejected_qa_pairs_by_kind": dict(sorted(self.validation_rejected.items())),
                "rejected_examples": self.validation_examples,
                "conversations_left_empty": self.conversations_emptied_by_validation,
            },
            "model_qa": self.model_qa,
            "seconds": round(self.seconds, 2),
        }


@runtime_checkable
class RowSource(Protocol):
    """A source of conversation rows (in-domain engine, an out-of-domain converter, ...)."""

    name: str
    domain: str

    def frames(self, exclusions: Exclusions, report: BuildReport, progress: bool = True) -> Iterator[FrameRows]: ...

    def describe(self) -> dict[str, Any]: ...


class InDomainSource:
    """In-domain QA from one recorded LeRobot dataset (local folder or Hub repo id) with annotation records.

    Args:
        path: the dataset folder or repo id.
        name: the source name used in row ids and episode exclusions (default: the folder / repo name).
        domain: the robot/environment (default: `robot_type` of `meta/info.json`), the second half of config names.
        config: engine settings (seed, keyframe budget, families, thresholds).
        model_qa: optional `hub_datasets.model_qa.ModelQA`: extra VLM-written QA per keyframe, judged and filtered.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        domain: str | None = None,
        config: EngineConfig | None = None,
        model_qa: Any = None,
        revision: str | None = None,
    ) -> None:
        self.path = str(path)
        self.episodes = LeRobotEpisodes(path, revision=revision)
        self.name = name or Path(self.path.rstrip("/")).name
        robot = self.episodes.info.get("robot_type") or "sim"
        self.domain = _NAME.sub("_", domain or str(robot)).strip("_").lower()
        self.config = config or EngineConfig()
        self.engine = InDomainEngine(self.config)
        self.model_qa = model_qa

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "in_domain",
            "path": self.path,
            "domain": self.domain,
            "episodes": self.episodes.num_episodes,
            "frames": self.episodes.num_frames,
            "robot_type": self.episodes.info.get("robot_type"),
            "engine": self.config.to_dict(),
            "model_qa": self.model_qa.describe() if self.model_qa is not None else None,
        }

    def frames(self, exclusions: Exclusions, report: BuildReport, progress: bool = True) -> Iterator[FrameRows]:
        excluded = exclusions.episodes_of(self.name) & set(self.episodes.episode_indices)
        report.excluded_episodes += [f"{self.name}:{e}" for e in sorted(excluded)]
        settings = ValidationSettings(self.config.min_visible_fraction, self.config.thresholds, self.config.camera)
        for frame in self.engine.run(
            self.episodes,
            source=self.name,
            domain=self.domain,
            report=report.engine,
            exclude_episodes=excluded,
            progress=progress,
        ):
            loaded = self.episodes.frame(frame.global_index)
            image = loaded[frame.camera_key]
            conversations = list(frame.conversations)
            if self.model_qa is not None:
                conversations += self.model_qa.conversations(
                    image,
                    loaded["task"],
                    id_prefix=f"{self.name}:{frame.episode_index}:{frame.frame_index}",
                    domain=self.domain,
                    source=self.name,
                )
            yield FrameRows(
                images=[image],
                conversations=conversations,
                episode_uid=frame.episode_uid,
                frame_index=frame.frame_index,
                record=frame.record,
                settings=settings,
            )
        if self.model_qa is not None:
            report.model_qa[self.name] = self.model_qa.report.to_dict()


# ------------------------------------------------------------------------------------------------------ writing
def _encode(image: Any, image_format: str) -> bytes:
    if not isinstance(image, PILImage.Image):
        image = PILImage.fromarray(np.asarray(image, dtype=np.uint8))
    buffer = io.BytesIO()
    if image_format == "png":
        image.save(buffer, format="PNG")
    else:
        image.convert("RGB").save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


class _ConfigWriter:
    """Sharded parquet for one config (rows and their provenance), flushed every `shard_rows` rows."""

    def __init__(self, root: Path, config: str, shard_rows: int) -> None:
        self.root, self.config, self.shard_rows = root, config, shard_rows
        self.rows: list[dict[str, Any]] = []
        self.provenance: list[dict[str, Any]] = []
        self.shards: list[tuple[Path, Path]] = []

    def add(self, row: dict[str, Any], provenance: dict[str, Any]) -> None:
        self.rows.append(row)
        self.provenance.append(provenance)
        if len(self.rows) >= self.shard_rows:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        index = len(self.shards)
        data = self.root / "data" / self.config / f"train-{index:05d}.parquet"
        origin = self.root / "provenance" / self.config / f"train-{index:05d}.parquet"
        for path in (data, origin):
            path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(self.rows, schema=CONVERSATION_FEATURES.arrow_schema)
        pq.write_table(table, data, row_group_size=100)
        pq.write_table(pa.Table.from_pylist(self.provenance, schema=PROVENANCE_SCHEMA), origin)
        self.shards.append((data, origin))
        self.rows, self.provenance = [], []

    def finish(self) -> None:
        """Name the shards `train-XXXXX-of-YYYYY.parquet`, as the Hub does, once their number is known."""
        self.flush()
        total = len(self.shards)
        for index, paths in enumerate(self.shards):
            for path in paths:
                path.rename(path.with_name(f"train-{index:05d}-of-{total:05d}.parquet"))


def build_dataset(
    sources: Sequence[RowSource],
    out_dir: str | os.PathLike[str],
    *,
    exclusions: Exclusions | None = None,
    validate: bool = True,
    image_format: str = "png",
    shard_rows: int = 1000,
    license: str = "apache-2.0",
    pretty_name: str = "VLASER-6M (in-domain embodied reasoning)",
    overwrite: bool = False,
    progress: bool = True,
    command: str | None = None,
) -> BuildReport:
    """Build the dataset folder `out_dir` from `sources` (see the module docstring); returns the report.

    Raises:
        FileExistsError: `out_dir` exists and is not empty, and `overwrite` is False.
        ValueError: bad arguments (naming the argument and what was expected).
    """
    from .stats import write_stats

    if not sources:
        raise ValueError("sources: expected at least one source (e.g. InDomainSource('path/to/episodes'))")
    if image_format not in ("png", "jpeg"):
        raise ValueError(f"image_format: expected 'png' or 'jpeg', got {image_format!r}")
    if int(shard_rows) < 1:
        raise ValueError(f"shard_rows: expected >= 1, got {shard_rows}")
    names = [source.name for source in sources]
    if len(set(names)) != len(names):
        raise ValueError(
            f"sources: names must be unique (they prefix row ids), got {names}; pass name=... to tell them apart"
        )
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out}: folder exists and is not empty; choose a new folder or pass overwrite=True")
    exclusions = exclusions or Exclusions()
    started = time.perf_counter()
    staging = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    report = BuildReport()
    writers: dict[str, _ConfigWriter] = {}
    try:
        for source in sources:
            report.sources[source.name] = source.describe()
            for frame in source.frames(exclusions, report, progress=progress):
                _add_frame(frame, staging, writers, report, exclusions, validate, image_format, int(shard_rows))
        for writer in writers.values():
            writer.finish()
        report.seconds = time.perf_counter() - started
        report_dict = report.to_dict(exclusions)
        (staging / "build_report.json").write_text(json.dumps(report_dict, indent=2) + "\n")
        stats = write_stats(staging)
        (staging / "README.md").write_text(
            dataset_card(sorted(writers), report_dict, stats, license=license, pretty_name=pretty_name, command=command)
        )
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _add_frame(
    frame: FrameRows,
    root: Path,
    writers: dict[str, _ConfigWriter],
    report: BuildReport,
    exclusions: Exclusions,
    validate: bool,
    image_format: str,
    shard_rows: int,
) -> None:
    if frame.episode_uid is not None and frame.episode_uid in exclusions.episodes:
        # Sources that cannot skip episodes themselves (converters) are filtered here.
        if frame.episode_uid not in report.excluded_episodes:
            report.excluded_episodes.append(frame.episode_uid)
        return
    hashes = [image_hash(image) for image in frame.images]
    hit = next((h for h in hashes if h in exclusions.image_hashes), None)
    if hit is not None:
        report.excluded_frames_by_hash.append(
            {"image_sha256": hit, "episode_uid": frame.episode_uid, "frame_index": frame.frame_index}
        )
        report.rows_removed_by_hash += len(frame.conversations)
        return
    scene = None
    if frame.record is not None and validate:
        from .in_domain.annotations import parse_scene

        scene = parse_scene(frame.record, frame.settings.camera if frame.settings else None)
    encoded = None
    for conversation in frame.conversations:
        pairs = conversation.pairs
        if scene is not None:
            report.validation_checked += len(pairs)
            pairs, rejected = validate_pairs(scene, pairs, frame.settings)
            for index, reason in rejected:
                kind = conversation.pairs[index].kind
                report.validation_rejected[f"{conversation.category}.{kind}"] += 1
                if len(report.validation_examples) < 20:
                    report.validation_examples.append(f"{conversation.id} turn {index} ({kind}): {reason}")
            if not pairs:
                report.conversations_emptied_by_validation += 1
                continue
            conversation = Conversation(
                conversation.id, conversation.category, conversation.domain, conversation.source, pairs
            )
        if conversation.category not in FAMILIES:
            raise ValueError(
                f"{conversation.id}: category must be one of {list(FAMILIES)}, got {conversation.category!r}"
            )
        if encoded is None:
            encoded = [{"bytes": _encode(image, image_format), "path": None} for image in frame.images]
            report.images += len(encoded)
        config = config_name(conversation.category, conversation.domain)
        writer = writers.get(config)
        if writer is None:
            writer = writers[config] = _ConfigWriter(root, config, shard_rows)
        writer.add(
            {
                "id": conversation.id,
                "images": encoded,
                "messages": conversation.messages(),
                "category": conversation.category,
                "domain": conversation.domain,
                "source": conversation.source,
            },
            {
                "id": conversation.id,
                "source": conversation.source,
                "episode_uid": frame.episode_uid,
                "frame_index": frame.frame_index,
                "image_sha256": hashes,
                "record": json.dumps(frame.record) if frame.record is not None else None,
                "claims": json.dumps(conversation.claims()),
                "settings": json.dumps(frame.settings.to_dict()) if frame.settings is not None else None,
            },
        )
        report.rows[config] += 1
        report.items[config] += len(conversation.pairs)


# ------------------------------------------------------------------------------------------------------ the card
def _yaml_configs(configs: Iterable[str]) -> list[dict[str, Any]]:
    return [
        {"config_name": config, "data_files": [{"split": "train", "path": f"data/{config}/train-*.parquet"}]}
        for config in configs
    ]


def _size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return name
    return "1M<n<10M"


def dataset_card(
    configs: Sequence[str],
    report: dict[str, Any],
    stats: dict[str, Any],
    *,
    license: str,
    pretty_name: str,
    command: str | None = None,
) -> str:
    """README.md: YAML front matter (`configs:` per category x domain, license, tags) and a card with counts,
    recipe, schema, decontamination and validation results."""
    import yaml

    total_rows = sum(report["rows_by_config"].values())
    front = {
        "license": license,
        "pretty_name": pretty_name,
        "language": ["en"],
        "task_categories": ["visual-question-answering", "image-text-to-text", "robotics"],
        "tags": ["vlaser", "embodied-reasoning", "grounding", "spatial-reasoning", "planning", "robotics", "synthetic"],
        "size_categories": [_size_category(total_rows)],
        "configs": _yaml_configs(configs),
    }
    lines = ["---", yaml.safe_dump(front, sort_keys=False).rstrip(), "---", "", f"# {pretty_name}", ""]
    lines += [
        "Embodied-reasoning conversations about robot camera frames, in the VLASER-6M row schema. In-domain rows are",
        "computed exactly from the simulator's per-frame annotation record (object boxes, points, 3-D positions,",
        "gripper state, expert phase, success) instead of being written by a VLM and filtered by a judge, and every",
        "grounding and spatial answer was re-derived from the record by the validator before it was written.",
        "",
        "## Configs",
        "",
        "| config | category | domain | conversations | QA pairs |",
        "|---|---|---|---|---|",
    ]
    for config in configs:
        rows = report["rows_by_config"].get(config, 0)
        items = report["qa_items_by_config"].get(config, 0)
        category = next((f for f in FAMILIES if config.startswith(f + "_")), "?")
        lines.append(f"| `{config}` | {category} | {config[len(category) + 1 :]} | {rows} | {items} |")
    lines.append(f"| **total** | | | {total_rows} | {sum(report['qa_items_by_config'].values())} |")
    lines += [
        "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("<this repo or folder>", "{configs[0] if configs else "CONFIG"}", split="train")',
        "```",
        "",
        "## Schema",
        "",
        "- `id` (string): `source:episode_index:frame_index:category` for in-domain rows.",
        "- `images` (list of Image): the frame the conversation is about (stored once per row).",
        "- `messages` (list of {role, content}): alternating user / assistant turns; the first user turn starts with",
        "  `<image>`. Grounding answers use `<ref>name</ref><box>[[x1, y1, x2, y2]]</box>` and",
        "  `<point>[[x, y]]</point>` with integers in 0-1000 normalized to the image width and height.",
        "- `category`: grounding | spatial_reasoning | planning | general_qa; `domain`: robot/environment; `source`.",
        "",
        "`provenance/<config>/` holds, per row, the annotation record, the claim of every QA pair (what was asked) and",
        "the image hashes, so `vlaser data validate` can re-check a copy of this dataset.",
        "",
        "## Recipe",
        "",
    ]
    if command:
        lines += ["```bash", command, "```", ""]
    for name, source in report["sources"].items():
        lines.append(f"- source `{name}`: `{json.dumps(source, sort_keys=True)}`")
    engine = report["engine"]
    lines += [
        "",
        "Keyframes are chosen per expert phase (plus each episode's last frame) within the per-episode budget;",
        "several QA pairs about one keyframe form one multi-turn conversation; questions are drawn from paraphrase",
        "templates under a seed derived from (seed, source, episode, frame, family), so the same seed gives the same",
        "dataset. Spatial relations are from the robot's point of view in its base frame (x forward, y left, z up);",
        "relations too close to call under the thresholds above are not asked. Distances are between object",
        "centres, in whole centimetres.",
        "",
        "## What was skipped, removed and rejected",
        "",
        f"- episodes: {engine['episodes']}, frames: {engine['frames']}, keyframes: {engine['keyframes']}",
        f"- frames skipped for bad or missing annotation records: {engine['frames_skipped_bad_annotations']}"
        + (f" (by field: {json.dumps(engine['frames_bad_by_field'])})" if engine["frames_bad_by_field"] else ""),
        f"- objects not asked about because not visible (keyframes, by object): {json.dumps(engine['objects_not_visible'])}",
        f"- decontamination: episodes removed {report['decontamination']['episodes_removed']}, frames removed by image"
        f" hash {len(report['decontamination']['frames_removed_by_image_hash'])}"
        f" ({report['decontamination']['rows_removed_by_image_hash']} rows)",
        f"- validation: {report['validation']['checked_qa_pairs']} QA pairs checked, rejected:"
        f" {json.dumps(report['validation']['rejected_qa_pairs_by_kind'])}",
        "",
        "Full details: `build_report.json`.",
        "",
        "## Statistics",
        "",
        "![statistics](stats/stats.png)",
        "",
        "| family | QA pairs | answer words (mean) |",
        "|---|---|---|",
    ]
    for family, count in stats.get("qa_items_by_family", {}).items():
        lines.append(f"| {family} | {count} | {stats['answer_words'][family]['mean']:.1f} |")
    lines += [
        "",
        "## License",
        "",
        f"`{license}`. The frames are renders of simulated scenes; no real-world images or personal data.",
        "",
    ]
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------------------- Hub
def push_to_hub(
    folder: str | os.PathLike[str],
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
) -> str:
    """Upload a built dataset folder as a Hub dataset repo (created if needed); returns the commit URL.

    The folder already is a repo (README `configs:`, parquet with HF features), so it is uploaded as it is, rather
    than re-encoded through `Dataset.push_to_hub` config by config (which would also rewrite the card).
    """
    from huggingface_hub import HfApi

    folder = Path(folder)
    if not (folder / "README.md").is_file() or not (folder / "data").is_dir():
        raise FileNotFoundError(f"{folder}: expected a folder written by build_dataset (README.md and data/)")
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    commit = api.upload_folder(
        repo_id=repo_id,
        folder_path=folder,
        repo_type="dataset",
        revision=revision,
        commit_message=commit_message or f"Upload VLASER-6M build ({folder.name})",
        ignore_patterns=[".*", "**/.*"],
    )
    return str(commit.commit_url)
