"""Conversation datasets in the VLASER-6M row schema, and weighted mixtures of them.

A row is `{"id", "images": [Image], "messages": [{"role", "content"}], "category", "domain", "source"}` (see
DESIGN.md). Sources are local folders, parquet files or Hub repo ids, each with a config name, as `load_dataset`
takes them; a mixture interleaves them with the given weights.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import datasets
from datasets import Dataset, get_dataset_config_names, interleave_datasets, load_dataset

REQUIRED_COLUMNS = ("messages", "images")


@dataclass
class ConversationSource:
    """One dataset of a mixture.

    Args:
        path: local folder, data file or Hub dataset repo id (what `load_dataset` takes).
        name: the dataset config, e.g. `grounding_widowx`.
        split: which split to read.
        weight: relative sampling weight in the mixture (normalized over all sources).
        max_samples: keep only the first rows (quick experiments).
    """

    path: str
    name: str | None = None
    split: str = "train"
    weight: float = 1.0
    max_samples: int | None = None

    def __post_init__(self) -> None:
        if self.weight <= 0:
            raise ValueError(f"dataset {self.path!r}: weight must be > 0, got {self.weight}")


def as_sources(entries: list) -> list[ConversationSource]:
    """YAML gives sources as dicts; the dataclasses hold `ConversationSource`s."""
    return [ConversationSource(**entry) if isinstance(entry, dict) else entry for entry in entries]


@dataclass
class ConversationMixtureArguments:
    """Which conversation datasets to train on, and how to mix them."""

    datasets: list[ConversationSource] = field(
        default_factory=list,
        metadata={"help": "list of {path, name, split, weight, max_samples} entries (set it in the YAML config)"},
    )
    mixture_seed: int = field(default=0, metadata={"help": "seed of the interleaving order"})

    def __post_init__(self) -> None:
        self.datasets = as_sources(self.datasets)


def local_cache_dir(path: str) -> str | None:
    """A `datasets` cache folder of its own for a local source, keyed by its files (names, sizes, mtimes); `None`
    for a Hub repo (whose cache is keyed by revision).

    Why: datasets 5.2 keys the cache of a local folder by its name and config only, so a folder rebuilt in place (a
    new `vlaser data build`, a re-run quickstart) would silently load the rows of the earlier build.
    """
    root = Path(path)
    if not root.exists():
        return None
    files = [root] if root.is_file() else sorted(file for file in root.rglob("*") if file.is_file())
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(
            f"{file.relative_to(root) if file != root else file.name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode()
        )
    return str(Path(datasets.config.HF_DATASETS_CACHE) / "vlaser_local" / digest.hexdigest()[:16])


def load_conversations(source: ConversationSource) -> Dataset:
    """Load one source and check it has the conversation schema; errors name the source and what was expected."""
    where = f"{source.path}" + (f" (config {source.name!r})" if source.name else "")
    try:
        dataset = load_dataset(source.path, source.name, split=source.split, cache_dir=local_cache_dir(source.path))
    except ValueError as error:
        if "corresponds to no data" in str(error):
            raise ValueError(f"{where} split {source.split!r} is empty: nothing to train on") from error
        if source.name and "config" in str(error).lower():
            try:
                available = get_dataset_config_names(source.path)
            except Exception:  # noqa: BLE001 - the original error is the informative one then
                available = []
            raise ValueError(
                f"unknown dataset config {source.name!r} in {source.path}; available: {available}"
            ) from error
        raise
    missing = [column for column in REQUIRED_COLUMNS if column not in dataset.column_names]
    if missing:
        raise ValueError(
            f"{where} has no {missing} column(s): conversation rows need 'messages' (list of role/content turns) and "
            f"'images' (list of images); found columns {dataset.column_names}"
        )
    if not isinstance(dataset.features["images"], datasets.List | datasets.Sequence):
        raise ValueError(f"{where}: column 'images' must be a list of images, got {dataset.features['images']}")
    if source.max_samples is not None:
        dataset = dataset.select(range(min(source.max_samples, len(dataset))))
    if len(dataset) == 0:
        raise ValueError(f"{where} split {source.split!r} is empty: nothing to train on")
    return dataset.select_columns(list(REQUIRED_COLUMNS))


def build_mixture(arguments: ConversationMixtureArguments) -> Dataset:
    """Interleave the sources with probabilities proportional to their weights until every source is used up."""
    if not arguments.datasets:
        raise ValueError("no conversation datasets given: set `datasets:` in the config")
    parts = [load_conversations(source) for source in arguments.datasets]
    if len(parts) == 1:
        return parts[0]
    total = sum(source.weight for source in arguments.datasets)
    return interleave_datasets(
        parts,
        probabilities=[source.weight / total for source in arguments.datasets],
        seed=arguments.mixture_seed,
        stopping_strategy="all_exhausted",
    )
