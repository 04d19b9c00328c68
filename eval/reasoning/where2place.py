# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Where2Place (RoboPoint): 100 real images (640x480) with a free-space referring question; answer = points.

Layouts:

* `wentao-yuan/where2place` (the original): `point_questions.jsonl` (`question_id`, `image`, `text`, `category`),
  `images/<image>`, `masks/<NN>.jpg` where NN is the question's 0-based line index (as `summarize_vqa.py` reads it);
* `FlagEval/Where2Place` (parquet): `question_id`, `question`, `question_type`, `image`, `mask`.

Prompt: VLASER's point instruction + the question without RoboPoint's tuple-format suffix. Answer: points in any
format `parsing.parse_geometry` reads, converted to pixels once. Metric: the mean over samples of the fraction of
points inside the mask, soft JPEG mask values included (RoboPoint's `/ 255.` without rounding), boxes expanded to
their pixels (`mask_point_accuracy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import (
    Benchmark,
    LoadContext,
    LoadResult,
    Sample,
    find_files,
    image_size,
    load_parquet_rows,
    metric_image,
    open_image,
    read_jsonl,
    require_fields,
)
from .parsing import parse_geometry
from .prompts import point_prompt


def geometry_prediction(answer: str, width: int, height: int, absolute_pixels: bool = False) -> dict[str, list]:
    """`{"points": [[x, y], ...], "boxes": [[x0, y0, x1, y1], ...]}` in pixels, for the mask metrics."""
    geometry = parse_geometry(answer, absolute_pixels=absolute_pixels)
    return {"points": geometry.pixel_points(width, height), "boxes": geometry.pixel_boxes(width, height)}


class Where2Place(Benchmark):
    name = "where2place"
    display_name = "Where2Place"
    paper_column = "W2P"
    hub_id = "wentao-yuan/where2place"
    local_dirnames = ("where2place", "Where2Place")
    how_to_obtain = "the Hub dataset wentao-yuan/where2place (or its parquet copy FlagEval/Where2Place)."
    metric_name = "mask_point_accuracy"
    max_new_tokens = 128
    mask_mode = "soft"

    def __init__(self, absolute_pixels: bool = False) -> None:
        self.absolute_pixels = absolute_pixels

    def is_data_dir(self, path: Path) -> bool:
        return path.is_dir() and ((path / "point_questions.jsonl").is_file() or bool(find_files(path, "*.parquet")))

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        if (root / "point_questions.jsonl").is_file():
            return self._original(root)
        files = find_files(root, "*.parquet")
        if not files:
            raise FileNotFoundError(f"{root}: neither point_questions.jsonl nor parquet files")
        return self._parquet(files, context)

    def _original(self, root: Path) -> LoadResult:
        result = LoadResult([], source=str(root / "point_questions.jsonl"))
        rows = read_jsonl(root / "point_questions.jsonl", result)
        # summarize_vqa.py pairs question i with masks/{i:02d}.jpg, i counting every question line
        for index, (line, row) in enumerate(rows):
            row_id = str(row.get("question_id", line)) if isinstance(row, dict) else str(line)
            problem = require_fields(row, ("image", "text"))
            if problem:
                result.skip(row_id, problem)
                continue
            image_path, mask_path = root / "images" / str(row["image"]), root / "masks" / f"{index:02d}.jpg"
            if not image_path.is_file() or not mask_path.is_file():
                result.skip(row_id, "image or mask file not found")
                continue
            result.samples.append(
                Sample(
                    id=row_id,
                    prompt=point_prompt(str(row["text"])),
                    images=[open_image(image_path)],
                    reference={"mask": open_image(mask_path, "L"), "image": open_image(image_path)},
                    category=str(row.get("category") or ""),
                )
            )
        return result

    def _parquet(self, files: list[Path], context: LoadContext) -> LoadResult:
        result = LoadResult([], source=", ".join(str(path) for path in files))
        dataset = load_parquet_rows(files, context)
        for index in range(len(dataset)):
            row = dataset[index]
            row_id = str(row.get("question_id", index))
            problem = require_fields(row, ("question", "image", "mask"))
            if problem:
                result.skip(row_id, problem)
                continue
            result.samples.append(
                Sample(
                    id=row_id,
                    prompt=point_prompt(str(row["question"])),
                    images=[row["image"]],
                    reference={"mask": row["mask"], "image": row["image"]},
                    category=str(row.get("question_type") or ""),
                )
            )
        return result

    def parse(self, answer: str, sample: Sample) -> dict[str, list]:
        try:
            width, height = answer_frame_size(sample)
        except Exception:  # noqa: BLE001 - an unreadable mask fails at scoring time, with its own message
            width, height = 1, 1
        return geometry_prediction(answer, width, height, self.absolute_pixels)

    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        return {
            "predictions": list(predictions),
            "references": [{"mask": metric_image(sample.reference["mask"])} for sample in samples],
            "mask_mode": self.mask_mode,
            "categories": [sample.category or "" for sample in samples],
        }


def answer_frame_size(sample: Sample) -> tuple[int, int]:
    """The pixel frame answers are converted into: the mask's (the image's, for the benchmarks that ship both)."""
    if "size" in sample.reference:
        return tuple(sample.reference["size"])
    size = image_size(sample.reference["mask"]) if "mask" in sample.reference else image_size(sample.reference["image"])
    sample.reference["size"] = size
    return size
