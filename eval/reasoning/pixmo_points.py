# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Pixmo-Points: point at everything a referring expression names, on web images.

Layouts read:

* `allenai/pixmo-points-eval` (436 rows, parquet): `image_url`, `image_sha256`, `label`, `points` (`[{x, y}]`),
  `masks`. Images are URLs, not shipped: download them (checking the sha256) to `<folder>/images/<image_sha256>.<ext>`;
  rows whose image is missing are skipped and counted. The card says the points are "in pixels", but every value is
  below 100 and Molmo writes points in percent of width/height, so they are read as percent and mapped to the 0-1000
  grid as `10 * value` (`point_units="percent"`; pass `"pixels"` to divide by the image size instead);
* VLASER's InternVL-format JSONL (`pixmo_points_json/data_0.jsonl` in their scripts, or any `*.jsonl`): `{image,
  width, height, conversations}` with `<ref>expr</ref>` in the human turn and the 0-1000 ground truth
  `<point>[[x, y], ...]</point>` in the gpt turn; images under the folder (or `images/`).

Rows without ground-truth points are left out, as VLASER's script skips them (`if key not in gt_points: continue`).
Prompt and metric: VLASER's `evaluate_point_pixmo.py`: its point instruction + "Please provide the referring points of
{label}."; micro-averaged precision of points within 25 units of a ground-truth point on the 0-1000 grid
(`pixmo_point_precision`).
"""

from __future__ import annotations

import re
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
    open_image,
    read_jsonl,
    require_fields,
)
from .paco_lavis import per_mille_prediction
from .prompts import referring_point_prompt

_REF_RE = re.compile(r"<ref>(.*?)</ref>", re.DOTALL)
_GT_POINT_RE = re.compile(r"\[\s*(\d+)\s*,\s*(\d+)\s*\]")
_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", "")


class PixmoPoints(Benchmark):
    name = "pixmo_points"
    display_name = "Pixmo-Points"
    paper_column = "Pixmo"
    hub_id = "allenai/pixmo-points-eval"
    local_dirnames = ("pixmo-points-eval", "pixmo_points", "Pixmo-Points", "pixmo-points")
    how_to_obtain = (
        "the Hub dataset allenai/pixmo-points-eval (ODC-BY); its images are URLs: download each `image_url`, check it "
        "against `image_sha256`, and save it as <folder>/images/<image_sha256>.jpg."
    )
    metric_name = "pixmo_point_precision"
    max_new_tokens = 100
    radius = 25.0

    def __init__(self, point_units: str = "percent") -> None:
        if point_units not in ("percent", "pixels"):
            raise ValueError(f"point_units must be 'percent' or 'pixels', got {point_units!r}")
        self.point_units = point_units

    def is_data_dir(self, path: Path) -> bool:
        return path.is_dir() and bool(find_files(path, "*.parquet", "*.jsonl"))

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        parquet = find_files(root, "*.parquet")
        if parquet:
            return self._pixmo_eval(root, parquet, context)
        jsonl = find_files(root, "*.jsonl")
        if jsonl:
            return self._internvl(root, jsonl)
        raise FileNotFoundError(f"{root}: no parquet or JSONL file")

    @staticmethod
    def _find_image(root: Path, stem: str) -> Path | None:
        for base in (root / "images", root):
            for suffix in _SUFFIXES:
                candidate = base / f"{stem}{suffix}"
                if candidate.is_file():
                    return candidate
        return None

    def _pixmo_eval(self, root: Path, files: list[Path], context: LoadContext) -> LoadResult:
        result = LoadResult([], source=", ".join(str(path) for path in files))
        dataset = load_parquet_rows(files, context)
        for index in range(len(dataset)):
            row = dataset[index]
            row_id = f"{index}:{row.get('image_sha256')}"
            problem = require_fields(row, ("image_sha256", "label", "points"))
            if problem:
                result.skip(row_id, problem)
                continue
            points = [point for point in row["points"] if isinstance(point, dict) and {"x", "y"} <= set(point)]
            if len(points) != len(row["points"]):
                result.skip(row_id, "points are not {x, y} objects")
                continue
            if not points:
                result.skip(row_id, "no ground-truth points (VLASER's script skips these)")
                continue
            image = self._find_image(root, str(row["image_sha256"]))
            if image is None:
                result.skip(row_id, "image not downloaded (images/<image_sha256>.*)")
                continue
            result.samples.append(
                Sample(
                    id=row_id,
                    prompt=referring_point_prompt(str(row["label"])),
                    images=[open_image(image)],
                    reference={
                        "raw_points": [[float(p["x"]), float(p["y"])] for p in points],
                        "image": open_image(image),
                    },
                )
            )
        return result

    def _internvl(self, root: Path, files: list[Path]) -> LoadResult:
        result = LoadResult([], source=", ".join(str(path) for path in files))
        for path in files:
            for line, row in read_jsonl(path, result):
                row_id = f"{path.stem}:{line}"
                problem = require_fields(row, ("image", "width", "height", "conversations"))
                if problem:
                    result.skip(row_id, problem)
                    continue
                turns = [turn for turn in row["conversations"] if isinstance(turn, dict)]
                question = next((str(t.get("value", "")) for t in turns if t.get("from") == "human"), "")
                answer = next((str(t.get("value", "")) for t in turns if t.get("from") == "gpt"), "")
                expression = _REF_RE.search(question)
                points = [[float(x), float(y)] for x, y in _GT_POINT_RE.findall(answer)]
                if expression is None:
                    result.skip(row_id, "no <ref> expression in the human turn")
                    continue
                if not points:
                    result.skip(row_id, "no ground-truth points (VLASER's script skips these)")
                    continue
                image = next(
                    (c for c in (root / str(row["image"]), root / "images" / str(row["image"])) if c.is_file()), None
                )
                if image is None:
                    result.skip(row_id, "image file not found")
                    continue
                result.samples.append(
                    Sample(
                        id=row_id,
                        prompt=referring_point_prompt(expression.group(1)),
                        images=[open_image(image)],
                        reference={"points": points, "width": int(row["width"]), "height": int(row["height"])},
                    )
                )
        return result

    def _size(self, sample: Sample) -> tuple[int, int]:
        if "width" not in sample.reference:
            sample.reference["width"], sample.reference["height"] = image_size(sample.reference["image"])
        return sample.reference["width"], sample.reference["height"]

    def ground_truth(self, sample: Sample) -> list[list[float]]:
        """Ground-truth points on the 0-1000 grid."""
        if "points" in sample.reference:
            return sample.reference["points"]
        if self.point_units == "percent":
            return [[10.0 * x, 10.0 * y] for x, y in sample.reference["raw_points"]]
        width, height = self._size(sample)
        return [[x / width * 1000, y / height * 1000] for x, y in sample.reference["raw_points"]]

    def parse(self, answer: str, sample: Sample) -> list[list[float]]:
        try:
            width, height = self._size(sample)
        except Exception:  # noqa: BLE001
            width, height = 1, 1
        return per_mille_prediction(answer, width, height)

    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        return {
            "predictions": list(predictions),
            "references": [self.ground_truth(sample) for sample in samples],
            "radius": self.radius,
        }
