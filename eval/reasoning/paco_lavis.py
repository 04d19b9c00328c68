# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Paco-Lavis: point at a referred object or object part of PACO-LVIS test images (COCO-2017 images).

VLASER built this set itself from the PACO-LVIS test split and did not release it. Layouts read:

* VLASER's InternVL-format JSONL (`paco_lvis_v1_pointing_test_single_conv.jsonl`, or any `*.jsonl`), one line per
  question: `{image, width, height, segmentation, conversations: [{from: "human", value: "...<ref>expr</ref>..."},
  ...]}`, images under the folder (or `images/`) at the `image` path; `segmentation` is a list of instances, each a
  list of COCO polygons;
* the raw PACO annotations (`paco_lvis_v1_test.json`, COCO style with "object" and "object:part" categories) and the
  COCO images (`val2017/` or `images/`): one question per (image, category), expression = the category name
  ("mug" or "handle of the mug" for "mug:handle"), ground truth = the union of that category's polygons in the
  image. This conversion is ours; VLASER's exact selection is unpublished.

Prompt and metric: VLASER's `evaluate_point_paco.py`: its point instruction + "Please provide the referring points of
{expr}."; micro-averaged precision of de-normalized points inside the union mask (`paco_point_precision`).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import Benchmark, LoadContext, LoadResult, Sample, find_files, open_image, read_jsonl, require_fields
from .parsing import parse_geometry
from .prompts import referring_point_prompt

_REF_RE = re.compile(r"<ref>(.*?)</ref>", re.DOTALL)


def per_mille_prediction(answer: str, width: int, height: int) -> list[list[float]]:
    """Points on the 0-1000 grid, the unit VLASER's Paco-Lavis and Pixmo-Points scripts score in."""
    return parse_geometry(answer).per_mille_points(width, height)


def _valid_segmentation(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(instance, list)
            and all(
                isinstance(polygon, list) and all(isinstance(v, (int, float)) for v in polygon) for polygon in instance
            )
            for instance in value
        )
    )


def paco_expression(category_name: str) -> str:
    """ "mug" -> "mug"; "mug:handle" -> "handle of the mug" (PACO names parts as "object:part")."""
    obj, _, part = category_name.partition(":")
    obj, part = obj.replace("_", " ").strip(), part.replace("_", " ").strip()
    return f"{part} of the {obj}" if part else obj


class PacoLavis(Benchmark):
    name = "paco_lavis"
    display_name = "Paco-Lavis"
    paper_column = "Paco"
    hub_id = None
    local_dirnames = ("paco-lavis", "paco_lavis", "Paco-Lavis", "paco")
    how_to_obtain = (
        "VLASER's test JSONL is unreleased; use the raw PACO annotations (paco_lvis_v1_test.json from "
        "dl.fbaipublicfiles.com/paco/annotations/paco_lvis_v1.zip, github.com/facebookresearch/paco) with the COCO-2017 "
        "images in <folder>/val2017/ (or <folder>/images/)."
    )
    metric_name = "paco_point_precision"
    max_new_tokens = 100

    def is_data_dir(self, path: Path) -> bool:
        return path.is_dir() and bool(find_files(path, "*.jsonl") or find_files(path, "paco_lvis_v1_test*.json"))

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        jsonl = find_files(root, "*.jsonl")
        if jsonl:
            return self._internvl(root, jsonl)
        raw = find_files(root, "paco_lvis_v1_test*.json")
        if raw:
            return self._raw_paco(root, raw[0])
        raise FileNotFoundError(f"{root}: no VLASER JSONL or paco_lvis_v1_test.json")

    @staticmethod
    def _image_path(root: Path, relative: str) -> Path | None:
        for base in (root, root / "images", root / "val2017", root / "images" / "val2017"):
            for candidate in (base / relative, base / Path(relative).name):
                if candidate.is_file():
                    return candidate
        return None

    def _internvl(self, root: Path, files: list[Path]) -> LoadResult:
        result = LoadResult([], source=", ".join(str(path) for path in files))
        for path in files:
            for line, row in read_jsonl(path, result):
                row_id = f"{path.stem}:{line}"
                problem = require_fields(row, ("image", "width", "height", "segmentation", "conversations"))
                if problem:
                    result.skip(row_id, problem)
                    continue
                if not _valid_segmentation(row["segmentation"]):
                    result.skip(row_id, "segmentation is not a list of polygon lists")
                    continue
                image = self._image_path(root, str(row["image"]))
                if image is None:
                    result.skip(row_id, "image file not found")
                    continue
                turns = [
                    turn for turn in row["conversations"] if isinstance(turn, dict) and turn.get("from") == "human"
                ]
                expressions = [
                    match.group(1) for turn in turns if (match := _REF_RE.search(str(turn.get("value", ""))))
                ]
                if not expressions:
                    result.skip(row_id, "no <ref> expression in the human turns")
                    continue
                for number, expression in enumerate(expressions):
                    self._append(result, f"{row_id}:{number}", image, expression, row)
        return result

    def _append(self, result: LoadResult, sample_id: str, image: Path, expression: str, row: dict) -> None:
        try:
            width, height = int(row["width"]), int(row["height"])
        except (TypeError, ValueError):
            result.skip(sample_id, "width/height are not integers")
            return
        result.samples.append(
            Sample(
                id=sample_id,
                prompt=referring_point_prompt(expression),
                images=[open_image(image)],
                reference={"segmentation": row["segmentation"], "width": width, "height": height},
            )
        )

    def _raw_paco(self, root: Path, annotation: Path) -> LoadResult:
        result = LoadResult([], source=str(annotation))
        try:
            data = json.loads(annotation.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{annotation}: not valid JSON ({error.msg})") from None
        images = {item.get("id"): item for item in data.get("images", []) if isinstance(item, dict)}
        categories = {item.get("id"): item.get("name") for item in data.get("categories", []) if isinstance(item, dict)}
        groups: dict[tuple, list] = defaultdict(list)
        for number, annotation_row in enumerate(data.get("annotations", [])):
            problem = require_fields(annotation_row, ("image_id", "category_id", "segmentation"))
            if problem or not _valid_segmentation([annotation_row["segmentation"]]):
                result.skip(f"annotation {number}", problem or "segmentation is not a list of polygons")
                continue
            groups[(annotation_row["image_id"], annotation_row["category_id"])].append(annotation_row["segmentation"])
        for (image_id, category_id), segmentation in sorted(
            groups.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))
        ):
            sample_id = f"{image_id}:{category_id}"
            info, name = images.get(image_id), categories.get(category_id)
            if info is None or not name or "file_name" not in info:
                result.skip(sample_id, "image or category not in the annotation file")
                continue
            image = self._image_path(root, str(info["file_name"]))
            if image is None:
                result.skip(sample_id, "image file not found")
                continue
            row = {"segmentation": segmentation, "width": info.get("width"), "height": info.get("height")}
            self._append(result, sample_id, image, paco_expression(str(name)), row)
        return result

    def parse(self, answer: str, sample: Sample) -> list[list[float]]:
        return per_mille_prediction(answer, sample.reference["width"], sample.reference["height"])

    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        return {
            "predictions": list(predictions),
            "references": [
                {
                    "segmentation": sample.reference["segmentation"],
                    "width": sample.reference["width"],
                    "height": sample.reference["height"],
                }
                for sample in samples
            ],
        }
