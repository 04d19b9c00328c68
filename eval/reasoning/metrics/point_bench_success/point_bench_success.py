# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""PointArena Point-Bench binary success (`pointarena/pointarena`, `model_evaluator.py`).

A task succeeds when the model returned points and: for the "counting" category, the number of points equals the
ground-truth `count` and every point lies in the mask; for every other category, the *first* point lies in the mask
(the official parsers keep only the first point outside counting). Points are `int()`-truncated pixels; a point
outside the image fails. The mask is binarized as in `load_mask`: a pixel counts when any channel exceeds 127.
Score = successes / tasks, in percent.
"""

from collections import defaultdict

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "Point-Bench success rate: first point (or exactly `count` points for counting) inside the mask."
_INPUTS = """
Args:
    predictions (`list[list[list[float]]]`): per task, the predicted points `[[x, y], ...]` in pixels.
    references (`list[dict]`): per task `{"mask": image, "count": int, "category": str}`.
Returns:
    score (`float`): success rate in percent; successes, total (`int`); categories (`dict`): percent per category.
"""


def _binary_mask(mask):
    array = np.asarray(mask)
    return np.any(array > 127, axis=2) if array.ndim == 3 else array > 127


def _inside(point, mask):
    x, y = int(point[0]), int(point[1])
    height, width = mask.shape
    return 0 <= x < width and 0 <= y < height and bool(mask[y, x])


class PointBenchSuccess(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Sequence(datasets.Value("float64"))),
                    "references": {
                        "mask": datasets.Image(),
                        "count": datasets.Value("int64"),
                        "category": datasets.Value("string"),
                    },
                }
            ),
            reference_urls=["https://github.com/pointarena/pointarena"],
        )

    def _compute(self, predictions, references):
        outcomes = []
        per_category = defaultdict(list)
        for points, reference in zip(predictions, references, strict=True):
            points = [point for point in points or [] if len(point) == 2]
            category = reference["category"] or ""
            mask = _binary_mask(reference["mask"])
            if not points:
                success = False
            elif category == "counting":
                count = reference["count"] if reference["count"] is not None else 1
                success = len(points) == count and all(_inside(point, mask) for point in points)
            else:
                success = _inside(points[0], mask)
            outcomes.append(success)
            per_category[category].append(success)
        return {
            "score": 100.0 * sum(outcomes) / len(outcomes) if outcomes else 0.0,
            "successes": int(sum(outcomes)),
            "total": len(outcomes),
            "categories": {name: 100.0 * sum(values) / len(values) for name, values in sorted(per_category.items())},
        }
