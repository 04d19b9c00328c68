# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""What every reasoning benchmark module provides, and the plumbing they share.

A benchmark module turns its *published* data layout into `Sample`s (prompt text with `<image>` placeholders, lazily
loaded images, a JSON-able reference), parses model answers tolerantly into JSON-able predictions, and scores them
with an `evaluate` metric module that lives in this package (`eval/reasoning/metrics/<name>/<name>.py`), because
`evaluate.load("name")` fetches canonical metrics from the Hub at run time and this project runs offline.

Scores are percentages (0-100), as in the paper's Table 1.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image

METRICS_DIR = Path(__file__).resolve().parent / "metrics"


# ----------------------------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------------------------


class BenchmarkDataNotFoundError(FileNotFoundError):
    """A benchmark's data is not where the run looked. The message lists the paths tried and how to get the data."""


class UnknownBenchmarkError(KeyError):
    """A benchmark name that no registry entry, entry point or `module:attribute` reference resolves."""

    def __str__(self) -> str:  # KeyError quotes its argument; a sentence reads better
        return str(self.args[0]) if self.args else ""


# ----------------------------------------------------------------------------------------------------------------------
# Samples
# ----------------------------------------------------------------------------------------------------------------------


class LazyImage:
    """An image decoded only when needed: benchmarks with thousands of images or videos would otherwise hold them
    all in memory before the first answer is generated."""

    def __init__(self, load: Callable[[], Image.Image], description: str = "", path: Path | None = None) -> None:
        self._load = load
        self.description = description
        self.path = path

    def __call__(self) -> Image.Image:
        return self._load()

    def __repr__(self) -> str:
        return f"LazyImage({self.description!r})"


def open_image(path: str | os.PathLike, mode: str = "RGB") -> LazyImage:
    """A `LazyImage` reading `path` and converting it to `mode` ("RGB" for model inputs, "L" for masks)."""
    path = Path(path)

    def load() -> Image.Image:
        with Image.open(path) as image:
            return image.convert(mode)

    return LazyImage(load, str(path), path=path)


def image_from_bytes(data: bytes, mode: str = "RGB", description: str = "") -> LazyImage:
    """A `LazyImage` decoding encoded image bytes (parquet/TFRecord/TSV columns)."""
    import io

    def load() -> Image.Image:
        with Image.open(io.BytesIO(data)) as image:
            return image.convert(mode)

    return LazyImage(load, description)


def resolve_image(image: Any, mode: str = "RGB") -> Image.Image:
    """Turn a sample's image entry (PIL image, `LazyImage`, path or `datasets` image dict) into a PIL image."""
    if isinstance(image, LazyImage):
        image = image()
    elif isinstance(image, (str, os.PathLike)):
        image = open_image(image, mode)()
    elif isinstance(image, dict) and ("bytes" in image or "path" in image):
        if image.get("bytes") is not None:
            image = image_from_bytes(image["bytes"], mode)()
        else:
            image = open_image(image["path"], mode)()
    if not isinstance(image, Image.Image):
        raise TypeError(f"image must be a PIL image, a LazyImage, a path or a datasets image dict, got {type(image)}")
    return image if image.mode == mode else image.convert(mode)


def metric_image(image: Any) -> Any:
    """An image entry for an `evaluate` metric's `datasets.Image()` feature without decoding it here: file-backed
    images go as `{"path": ...}` (read by the metric), `datasets` byte dicts as they are."""
    if isinstance(image, LazyImage) and image.path is not None:
        return {"path": str(image.path), "bytes": None}
    if isinstance(image, (str, os.PathLike)):
        return {"path": str(image), "bytes": None}
    if isinstance(image, dict) and (image.get("bytes") is not None or image.get("path")):
        return {"path": image.get("path"), "bytes": image.get("bytes")}
    return resolve_image(image, "L") if isinstance(image, LazyImage) else image


@dataclass
class Sample:
    """One question of a benchmark.

    Attributes:
        id (`str`): Unique within the benchmark; keys the answer cache, so it must be stable across runs.
        prompt (`str`): The user turn, with one `<image>` placeholder per image, in image order.
        images (`list` or callable): PIL images or `LazyImage`s, in placeholder order; or a zero-argument callable
            returning them (video frames, decoded together in one pass).
        reference (`dict`): Ground truth and whatever the parser and the metric need (image size, masks as
            `LazyImage`s, categories). Not cached; rebuilt from the data on every run.
        category (`str`, *optional*): Sub-task for per-category breakdowns.
        max_new_tokens (`int`, *optional*): Overrides the benchmark's generation budget for this sample.
        image_tiles (`int`, *optional*): Maximum InternVL tiles per image (1 for video frames, as InternVL does for
            video); `None` keeps the processor's setting.
    """

    id: str
    prompt: str
    images: list[Any] | Callable[[], list[Any]] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)
    category: str | None = None
    max_new_tokens: int | None = None
    image_tiles: int | None = None

    def load_images(self) -> list[Image.Image]:
        images = self.images() if callable(self.images) else self.images
        return [resolve_image(image) for image in images]


@dataclass
class SkippedRow:
    """A row the loader could not turn into a sample, and why (reported as "skipped" with the reason)."""

    row: str
    reason: str


@dataclass
class LoadResult:
    """The samples of a benchmark plus the rows skipped on the way (malformed, missing files, ...)."""

    samples: list[Sample]
    skipped: list[SkippedRow] = field(default_factory=list)
    source: str = ""

    def skip(self, row: Any, reason: str) -> None:
        self.skipped.append(SkippedRow(str(row), reason))

    def skipped_reasons(self) -> dict[str, int]:
        """How many rows were skipped per reason (reasons are short fixed phrases, details go in `row`)."""
        return dict(Counter(skipped.reason for skipped in self.skipped))


@dataclass
class LoadContext:
    """Run settings a loader may need: where `datasets` may cache, how many frames to sample from videos."""

    cache_dir: Path | None = None
    video_frames: int | None = None


@dataclass
class BenchmarkScore:
    """A benchmark's result: the headline score (0-100), the metric's full output and per-category scores."""

    score: float
    metric: dict[str, Any] = field(default_factory=dict)
    categories: dict[str, float] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------------------------------
# Metric modules
# ----------------------------------------------------------------------------------------------------------------------


@cache
def load_metric(name: str):
    """Load the `evaluate` metric module `eval/reasoning/metrics/<name>/<name>.py` (from this package, never the Hub).

    `evaluate.load` copies the script into its modules cache and imports it from there; a module object is cached
    here so that repeated scoring does not re-import it. Inputs are kept in memory (no Arrow files or locks under
    `~/.cache/huggingface/metrics`, so concurrent runs do not interfere).
    """
    import evaluate

    path = METRICS_DIR / name
    if not (path / f"{name}.py").is_file():
        raise FileNotFoundError(f"metric module {name!r} not found: expected {path / f'{name}.py'}")
    return evaluate.load(str(path), keep_in_memory=True)


# ----------------------------------------------------------------------------------------------------------------------
# Benchmarks
# ----------------------------------------------------------------------------------------------------------------------


class Benchmark(ABC):
    """A reasoning benchmark: loader + prompt builder + tolerant parser + metric.

    Subclasses set the class attributes and implement `load_local`, `parse` and `metric_inputs`. The runner finds the
    data (a folder under `--data-dir`, an explicit path, or a Hub dataset id downloaded with `huggingface_hub`),
    generates answers, and calls `parse` and `score`.

    Class attributes:
        name: registry name (`--benchmarks`), lower snake case.
        display_name: name in reports.
        paper_column: key of the column in `report.PAPER_TABLE1`, or `None` for benchmarks outside the paper.
        hub_id: default Hub dataset id (used with `--download` or given as a source).
        local_dirnames: folder names tried under `--data-dir`.
        how_to_obtain: what the missing-data error tells the user.
        metric_name: the metric module under `eval/reasoning/metrics/`.
        max_new_tokens: generation budget per answer.
        closed_loop: benchmarks run against an environment instead of answering samples (EmbodiedBench).
        needs_data: `False` for benchmarks that build their own samples (e.g. from simulation): the runner does not
            look for a data folder and hands `load_local` the folder `<data-dir>/<name>` (or the `--sources` path),
            which may not exist yet.
    """

    name: str = ""
    display_name: str = ""
    paper_column: str | None = None
    hub_id: str | None = None
    local_dirnames: tuple[str, ...] = ()
    how_to_obtain: str = ""
    metric_name: str = ""
    max_new_tokens: int = 64
    closed_loop: bool = False
    needs_data: bool = True

    # -- data -------------------------------------------------------------------------------------------------------

    def candidate_dirs(self, data_dir: str | os.PathLike | None) -> list[Path]:
        """The folders `find_local_data` tries, in order."""
        if data_dir is None:
            return []
        names = self.local_dirnames or (self.name,)
        return [Path(data_dir) / name for name in dict.fromkeys(names)]

    def is_data_dir(self, path: Path) -> bool:
        """Whether `path` holds this benchmark in a layout `load_local` reads (a cheap check of marker files)."""
        return path.is_dir()

    def missing_data_error(self, looked_in: Sequence[str]) -> BenchmarkDataNotFoundError:
        where = "\n".join(f"  - {place}" for place in looked_in) or "  (no --data-dir given)"
        hub = (
            f"\nWith the Hub: `hf download {self.hub_id} --repo-type dataset --local-dir <data-dir>/"
            f"{(self.local_dirnames or (self.name,))[0]}`, or pass `--download` (fetches {self.hub_id}), or "
            f"`--sources {self.name}=<folder or Hub dataset id>`."
            if self.hub_id
            else f"\nOr pass `--sources {self.name}=<folder>`."
        )
        return BenchmarkDataNotFoundError(
            f"{self.display_name} ({self.name}): no data found. Looked in:\n{where}\n"
            f"How to obtain it: {self.how_to_obtain}{hub}"
        )

    @abstractmethod
    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        """Read the benchmark from `root` in its published layout. Malformed rows are skipped via `result.skip`."""

    def load(self, source: str | os.PathLike, context: LoadContext | None = None) -> LoadResult:
        """Read the benchmark from a local folder or a Hub dataset id (`owner/name`, downloaded with
        `huggingface_hub.snapshot_download` into the Hub cache), in its published layout."""
        return self.load_local(resolve_source(self, source), context or LoadContext())

    # -- answers ----------------------------------------------------------------------------------------------------

    @abstractmethod
    def parse(self, answer: str, sample: Sample) -> Any:
        """Turn a model answer into a JSON-able prediction for the metric. Must never raise."""

    @abstractmethod
    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        """Keyword arguments for the metric module's `compute` (at least `predictions` and `references`)."""

    def summarize(self, metric_output: dict[str, Any]) -> BenchmarkScore:
        """Pick the headline score (0-100) and per-category scores out of the metric's output."""
        return BenchmarkScore(
            score=float(metric_output["score"]),
            metric=metric_output,
            categories={key: float(value) for key, value in metric_output.get("categories", {}).items()},
        )

    def score(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> BenchmarkScore:
        """Score parsed predictions with this benchmark's `evaluate` metric module."""
        if len(samples) != len(predictions):
            raise ValueError(
                f"samples and predictions must have the same length, got {len(samples)} and {len(predictions)}"
            )
        if not samples:
            return BenchmarkScore(score=float("nan"))
        return self.summarize(self.compute_metric(self.metric_inputs(samples, predictions)))

    def compute_metric(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The metric's output for `metric_inputs`: this benchmark's `evaluate` metric module, loaded locally."""
        return load_metric(self.metric_name).compute(**inputs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class ParquetBenchmark(Benchmark):
    """A benchmark published as parquet files, anywhere under its folder."""

    def is_data_dir(self, path: Path) -> bool:
        return path.is_dir() and bool(find_files(path, "*.parquet"))

    @staticmethod
    def parquet_files(root: Path) -> list[Path]:
        """The parquet files under `root`; `FileNotFoundError` when there are none."""
        files = find_files(root, "*.parquet")
        if not files:
            raise FileNotFoundError(f"{root}: no parquet file")
        return files


def looks_like_repo_id(value: str) -> bool:
    """`owner/name` with nothing that makes it a path (a leading `.`, `/` or `~`, more slashes)."""
    parts = value.split("/")
    return len(parts) == 2 and all(parts) and not value.startswith((".", "/", "~"))


def download_dataset(repo_id: str) -> Path:
    """A Hub dataset repository's snapshot folder (downloaded once, then served from the Hub cache)."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id, repo_type="dataset"))


def resolve_source(benchmark: Benchmark, source: str | os.PathLike) -> Path:
    """The data folder of `source`: an existing folder in the benchmark's layout, or a Hub dataset id to download.
    `BenchmarkDataNotFoundError` otherwise, naming what was tried."""
    path = Path(source).expanduser()
    if path.exists():
        if benchmark.is_data_dir(path):
            return path
        raise benchmark.missing_data_error([f"{path} (exists, but not in the published layout)"])
    if looks_like_repo_id(str(source)):
        return download_dataset(str(source))
    raise benchmark.missing_data_error([str(path)])


# ----------------------------------------------------------------------------------------------------------------------
# Small helpers for loaders
# ----------------------------------------------------------------------------------------------------------------------


def read_jsonl(path: Path, result: LoadResult) -> list[tuple[int, Any]]:
    """(line number, parsed object) for each JSON line of `path`; unparseable lines are skipped into `result`."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append((number, json.loads(line)))
            except json.JSONDecodeError as error:
                result.skip(f"{path.name}:{number}", f"invalid JSON ({error.msg})")
    return rows


def _undecoded(feature: Any) -> Any:
    import dataclasses

    import datasets

    if isinstance(feature, datasets.Image):
        return datasets.Image(decode=False)
    if isinstance(feature, dict):
        return type(feature)({key: _undecoded(value) for key, value in feature.items()})
    if dataclasses.is_dataclass(feature) and hasattr(feature, "feature"):  # List, LargeList
        return dataclasses.replace(feature, feature=_undecoded(feature.feature))
    return feature


def load_parquet_rows(files: Iterable[Path], context: LoadContext, split: str = "train"):
    """A `datasets.Dataset` over parquet files whose image columns are *not* decoded: rows hold `{"bytes", "path"}`
    dicts that `resolve_image` decodes when a sample is generated, so that loading a benchmark never holds all its
    images in memory. (`Dataset.from_parquet` rather than `load_dataset("parquet")`, which pings the Hub on every
    call to count downloads.)"""
    import datasets

    dataset = datasets.Dataset.from_parquet(
        [str(path) for path in files],
        split=split,
        cache_dir=str(context.cache_dir) if context.cache_dir else None,
    )
    features = _undecoded(dataset.features)
    return dataset.cast(features) if features != dataset.features else dataset


def find_files(root: Path, *patterns: str) -> list[Path]:
    """Files under `root` matching any glob pattern, sorted, skipping hidden folders (`hf download --local-dir` keeps
    its bookkeeping in `.cache/`)."""
    found = set()
    for pattern in patterns:
        for path in root.rglob(pattern):
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts[:-1]):
                found.add(path)
    return sorted(found)


def image_size(image: Any) -> tuple[int, int]:
    """(width, height) of a sample image entry; files and encoded bytes are only opened (PIL reads the size from the
    header), other entries are decoded."""
    import io

    if isinstance(image, LazyImage) and image.path is not None:
        image = image.path
    if isinstance(image, dict) and image.get("bytes") is not None:
        image = io.BytesIO(image["bytes"])
    elif isinstance(image, dict) and image.get("path"):
        image = image["path"]
    if isinstance(image, (str, os.PathLike, io.BytesIO)):
        with Image.open(image) as opened:
            return opened.size
    return resolve_image(image).size


def require_fields(row: Any, fields: Iterable[str]) -> str | None:
    """`None` when `row` is a dict with every field present and not `None`, else a reason naming what is missing."""
    if not isinstance(row, dict):
        return f"row is a {type(row).__name__}, expected an object"
    missing = [name for name in fields if row.get(name) is None]
    return f"missing field(s) {', '.join(missing)}" if missing else None


def image_placeholders(count: int, label: str = "Image") -> str:
    """InternVL's multi-image prefix: `Image-1: <image>\\nImage-2: <image>\\n...` (one image: just `<image>\\n`)."""
    if count == 1 and label == "Image":
        return "<image>\n"
    separator = "-" if label == "Image" else ""
    return "".join(f"{label}{separator}{index}: <image>\n" for index in range(1, count + 1))
