# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Pixmo-Points pointing precision, as VLASER's `internvl_chat/eval/evaluate_point_pixmo.py` computes it.

A predicted point is correct when its Euclidean distance to any ground-truth point is at most `radius` (25), both in
the 0-1000 units of the answer (the script compares raw answer numbers with its 0-1000 ground truth, without
de-normalizing). Precision is micro-averaged over the whole set: sum of correct points / sum of predicted points,
where an answer with no point adds 1 to the denominator.
"""

from math import sqrt

import datasets
import evaluate

_DESCRIPTION = (
    "Micro-averaged precision of points within `radius` of a ground-truth point, on the 0-1000 grid (percent)."
)
_INPUTS = """
Args:
    predictions (`list[list[list[float]]]`): per sample, predicted points `[[x, y], ...]` on the 0-1000 grid.
    references (`list[list[list[float]]]`): per sample, ground-truth points on the 0-1000 grid.
    radius (`float`): tolerance in 0-1000 units (default 25, VLASER's).
Returns:
    score (`float`): precision in percent; correct, total (`int`).
"""


class PixmoPointPrecision(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Sequence(datasets.Value("float64"))),
                    "references": datasets.Sequence(datasets.Sequence(datasets.Value("float64"))),
                }
            ),
            reference_urls=["https://github.com/OpenGVLab/Vlaser"],
        )

    def _compute(self, predictions, references, radius=25.0):
        correct = total = 0
        for points, targets in zip(predictions, references, strict=True):
            points = [point for point in points or [] if len(point) == 2]
            targets = [target for target in targets or [] if len(target) == 2]
            for x, y in points:
                if any(sqrt((x - tx) ** 2 + (y - ty) ** 2) <= radius for tx, ty in targets):
                    correct += 1
            total += max(len(points), 1)
        return {"score": 100.0 * correct / total if total else 0.0, "correct": correct, "total": total}
