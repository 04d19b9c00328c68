# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""RefSpatial-Bench (RoboRefer): multi-step spatial referring; answer = point(s) on the referred location or free
space. Splits `location` (100), `placement` (100), `unseen` (77).

Layout (`BAAI/RefSpatial-Bench`): `data/{location,placement,unseen}-*.parquet` with `id`, `image`, `mask`, `object`,
`prompt`, `suffix` (the answer-format instruction), `step`. The split is read from the file name.

Prompt: VLASER's point instruction + `prompt` (+ the `suffix` when it says more than RoboRefer's standard tuple
format, which VLASER's format replaces). Metric: the mean over samples of the fraction of points inside the
binarized (`> 0`) mask, boxes expanded to their pixels (RoboRefer `summarize_acc.py`; `mask_point_accuracy` with
`mask_mode="binary"`), reported per split; the headline is the mean over every loaded sample. The dataset card asks
to leave out `unseen` for models trained on RefSpatial; pass
`--benchmark_options refspatial_bench.splits=location,placement` for that.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .base import LoadContext, LoadResult, Sample, find_files, load_parquet_rows, require_fields
from .prompts import point_prompt, strip_native_point_format
from .where2place import Where2Place

SPLITS = ("location", "placement", "unseen")


class RefSpatialBench(Where2Place):
    name = "refspatial_bench"
    display_name = "RefSpatial-Bench"
    paper_column = "RefSp"
    hub_id = "BAAI/RefSpatial-Bench"
    local_dirnames = ("RefSpatial-Bench", "refspatial_bench", "refspatial")
    how_to_obtain = "the Hub dataset BAAI/RefSpatial-Bench (data/{location,placement,unseen}-*.parquet)."
    metric_name = "mask_point_accuracy"
    max_new_tokens = 128
    mask_mode = "binary"

    def __init__(self, splits: Sequence[str] | str = SPLITS, absolute_pixels: bool = False) -> None:
        super().__init__(absolute_pixels=absolute_pixels)
        if isinstance(splits, str):
            splits = [split.strip() for split in splits.split(",") if split.strip()]
        unknown = [split for split in splits if split not in SPLITS]
        if unknown:
            raise ValueError(f"RefSpatial-Bench splits must be among {', '.join(SPLITS)}, got {', '.join(unknown)}")
        self.splits = tuple(splits)

    def is_data_dir(self, path: Path) -> bool:
        return path.is_dir() and bool(find_files(path, "*.parquet"))

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        files = find_files(root, "*.parquet")
        by_split = {split: [path for path in files if path.name.lower().startswith(split)] for split in self.splits}
        if not any(by_split.values()):
            raise FileNotFoundError(f"{root}: no {{location,placement,unseen}}-*.parquet file")
        result = LoadResult([], source=", ".join(str(path) for paths in by_split.values() for path in paths))
        for split, paths in by_split.items():
            if not paths:
                continue
            dataset = load_parquet_rows(paths, context, split=split)
            for index in range(len(dataset)):
                row = dataset[index]
                row_id = f"{split}:{row.get('id', index)}"
                problem = require_fields(row, ("image", "mask", "prompt"))
                if problem:
                    result.skip(row_id, problem)
                    continue
                extra = strip_native_point_format(str(row.get("suffix") or ""))
                question = f"{row['prompt']} {extra}".strip()
                result.samples.append(
                    Sample(
                        id=row_id,
                        prompt=point_prompt(question),
                        images=[row["image"]],
                        reference={"mask": row["mask"], "image": row["image"]},
                        category=split,
                    )
                )
        return result
