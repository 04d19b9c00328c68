# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""PointArena's Point-Bench ("Pointarena" in VLASER's Table 1): ~1,000 pointing tasks in five categories
(affordable, counting, spatial, reasoning, steerable).

Layout (`PointArena/pointarena-data`): `data.json`, a list of `{image_filename, mask_filename, user_input, category,
count}`; images as `images/<category>/<image_filename>` (the official evaluator's layout) or anywhere under the folder
or inside `selected_images.zip`; masks as `masks/<mask_filename>` or inside `selected_masks.zip` (found by file name).

Prompt: VLASER's point instruction + `user_input`. Metric: the official binary success (`point_bench_success`): the
first point in the mask, or, for counting, exactly `count` points all in the mask. The official evaluator also adds
the original Pixmo points to steerable prompts from a `pixmo_metadata.csv` that the dataset does not ship; that hint
is not added here.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from .base import Benchmark, LazyImage, LoadContext, LoadResult, Sample, metric_image, open_image, require_fields
from .parsing import parse_geometry
from .prompts import point_prompt
from .where2place import answer_frame_size

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def _zip_member_image(archive: Path, member: str, mode: str) -> LazyImage:
    def load() -> Image.Image:
        with zipfile.ZipFile(archive) as handle, handle.open(member) as stream:
            with Image.open(io.BytesIO(stream.read())) as image:
                return image.convert(mode)

    return LazyImage(load, f"{archive}:{member}")


class _FileIndex:
    """Finds files by name under a folder and inside zip archives (the Hub ships images and masks zipped)."""

    def __init__(self, root: Path, folder: str, archive: str) -> None:
        self.by_relative: dict[str, Path] = {}
        self.by_name: dict[str, Path] = {}
        self.zipped: dict[str, tuple[Path, str]] = {}
        base = root / folder
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            if path.is_file() and path.suffix.lower() in _IMAGE_SUFFIXES:
                self.by_relative[path.relative_to(base).as_posix()] = path
                self.by_name.setdefault(path.name, path)
        if (root / archive).is_file():
            try:
                with zipfile.ZipFile(root / archive) as handle:
                    for member in handle.namelist():
                        parts = member.split("/")
                        if Path(parts[-1]).suffix.lower() in _IMAGE_SUFFIXES:
                            self.zipped.setdefault(parts[-1], (root / archive, member))
                            if len(parts) >= 2:  # images/<category>/<name>: names may repeat across categories
                                self.zipped.setdefault("/".join(parts[-2:]), (root / archive, member))
            except zipfile.BadZipFile:
                pass

    def find(self, name: str, category: str = "", mode: str = "RGB") -> LazyImage | None:
        path = (
            self.by_relative.get(f"{category}/{name}")
            or self.by_relative.get(name)
            or self.by_name.get(Path(name).name)
        )
        if path is not None:
            return open_image(path, mode)
        for key in (f"{category}/{Path(name).name}", Path(name).name):
            if key in self.zipped:
                archive, member = self.zipped[key]
                return _zip_member_image(archive, member, mode)
        return None


class PointBench(Benchmark):
    name = "point_bench"
    display_name = "PointArena (Point-Bench)"
    paper_column = "PArena"
    hub_id = "PointArena/pointarena-data"
    local_dirnames = ("PointArena", "pointarena", "pointarena-data", "Point-Bench", "point_bench")
    how_to_obtain = "the Hub dataset PointArena/pointarena-data (data.json, selected_images.zip, selected_masks.zip)."
    metric_name = "point_bench_success"
    max_new_tokens = 128

    def __init__(self, absolute_pixels: bool = False) -> None:
        self.absolute_pixels = absolute_pixels

    def is_data_dir(self, path: Path) -> bool:
        return (path / "data.json").is_file()

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        annotation = root / "data.json"
        if not annotation.is_file():
            raise FileNotFoundError(f"{root}: no data.json")
        try:
            rows = json.loads(annotation.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{annotation}: not valid JSON ({error.msg} at line {error.lineno})") from None
        if not isinstance(rows, list):
            raise ValueError(f"{annotation}: expected a JSON list of tasks, got {type(rows).__name__}")
        images = _FileIndex(root, "images", "selected_images.zip")
        masks = _FileIndex(root, "masks", "selected_masks.zip")
        result = LoadResult([], source=str(annotation))
        for index, row in enumerate(rows):
            row_id = f"{index}:{row.get('image_filename')}" if isinstance(row, dict) else str(index)
            problem = require_fields(row, ("image_filename", "mask_filename", "user_input"))
            if problem:
                result.skip(row_id, problem)
                continue
            category = str(row.get("category") or "")
            image = images.find(str(row["image_filename"]), category)
            mask = masks.find(str(row["mask_filename"]), mode="L")
            if image is None or mask is None:
                result.skip(row_id, "image or mask file not found")
                continue
            try:
                count = int(row.get("count", 1) or 1)
            except (TypeError, ValueError):
                result.skip(row_id, "count is not an integer")
                continue
            result.samples.append(
                Sample(
                    id=row_id,
                    prompt=point_prompt(str(row["user_input"])),
                    images=[image],
                    reference={"mask": mask, "count": count, "category": category},
                    category=category,
                )
            )
        return result

    def parse(self, answer: str, sample: Sample) -> list[list[float]]:
        try:
            width, height = answer_frame_size(sample)
        except Exception:  # noqa: BLE001
            width, height = 1, 1
        return parse_geometry(answer, absolute_pixels=self.absolute_pixels).pixel_points(width, height)

    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        return {
            "predictions": list(predictions),
            "references": [
                {
                    "mask": metric_image(sample.reference["mask"]),
                    "count": sample.reference["count"],
                    "category": sample.reference["category"],
                }
                for sample in samples
            ],
        }
