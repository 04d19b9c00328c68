# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Paco-Lavis pointing precision, as VLASER's `internvl_chat/eval/evaluate_point_paco.py` computes it.

The ground truth is the union of every polygon of the referred object or part, rasterized with PIL
(`ImageDraw.polygon(..., outline=1, fill=1)`). Each predicted 0-1000 point is de-normalized as
`int(x / 1000 * W)`, `int(y / 1000 * H)` and is correct when inside the image and the mask. Precision is
micro-averaged over the whole set: sum of correct points / sum of predicted points, where an answer with no point
adds 1 to the denominator. Negative coordinates (which VLASER's unsigned regex cannot produce) count as misses.
"""

import datasets
import evaluate
import numpy as np
from PIL import Image, ImageDraw

_DESCRIPTION = "Micro-averaged precision of 0-1000 points against the union of the referred polygons (percent)."
_INPUTS = """
Args:
    predictions (`list[list[list[float]]]`): per sample, predicted points `[[x, y], ...]` on the 0-1000 grid.
    references (`list[dict]`): per sample `{"segmentation": [[polygon, ...], ...], "width": int, "height": int}` with
        polygons as flat pixel lists `[x1, y1, x2, y2, ...]` (COCO style), one list of polygons per instance.
Returns:
    score (`float`): precision in percent; correct, total (`int`).
"""


def _union_mask(segmentation, width, height):
    total = np.zeros((height, width), dtype=bool)
    for instance in segmentation or []:
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        for polygon in instance or []:
            xy = list(zip(polygon[::2], polygon[1::2], strict=False))
            if len(xy) >= 2:
                draw.polygon(xy, outline=1, fill=1)
        total |= np.asarray(canvas, dtype=np.uint8).astype(bool)
    return total


class PacoPointPrecision(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Sequence(datasets.Value("float64"))),
                    "references": {
                        "segmentation": datasets.Sequence(
                            datasets.Sequence(datasets.Sequence(datasets.Value("float64")))
                        ),
                        "width": datasets.Value("int64"),
                        "height": datasets.Value("int64"),
                    },
                }
            ),
            reference_urls=["https://github.com/OpenGVLab/Vlaser"],
        )

    def _compute(self, predictions, references):
        correct = total = 0
        for points, reference in zip(predictions, references, strict=True):
            width, height = int(reference["width"]), int(reference["height"])
            mask = _union_mask(reference["segmentation"], width, height)
            points = [point for point in points or [] if len(point) == 2]
            for x, y in points:
                column, row = int(x / 1000 * width), int(y / 1000 * height)
                if 0 <= column < width and 0 <= row < height and mask[row, column]:
                    correct += 1
            total += max(len(points), 1)
        return {"score": 100.0 * correct / total if total else 0.0, "correct": correct, "total": total}
