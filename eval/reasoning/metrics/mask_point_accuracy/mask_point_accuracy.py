# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Point-in-mask accuracy of Where2Place (RoboPoint `summarize_vqa.py`) and RefSpatial-Bench (RoboRefer
`summarize_acc.py`, a copy of RoboPoint's).

Per sample: every predicted point (`int()`-truncated pixel coordinates) scores the mask value at that pixel, a point
outside the image scores 0, and a predicted box `(x0, y0, x1, y1)` contributes every pixel of `mask[y0:y1, x0:x1]` as
points (numpy slicing, as the official code). The sample's accuracy is the mean over its points, 0 when it has none.
The benchmark score is the mean over samples, in percent.

Mask values: RoboPoint divides the JPEG mask by 255 *without rounding* (soft values at JPEG edges count
fractionally): `mask_mode="soft"`. RoboRefer binarizes (`> 0`): `mask_mode="binary"`.
"""

from collections import defaultdict

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "Mean over samples of the fraction of predicted points that fall inside the ground-truth mask (percent)."
_INPUTS = """
Args:
    predictions (`list[dict]`): per sample `{"points": [[x, y], ...], "boxes": [[x0, y0, x1, y1], ...]}` in pixels.
    references (`list[dict]`): per sample `{"mask": image}` (a grayscale or RGB mask image; the first channel is read).
    mask_mode (`str`): "soft" (value / 255, RoboPoint) or "binary" (value > 0, RoboRefer).
    categories (`list[str]`, *optional*): a category per sample, for a per-category breakdown.
Returns:
    score (`float`): mean accuracy in percent; per_sample (`list[float]`) in [0, 1]; categories (`dict`) in percent.
"""


def _mask_array(mask, mode):
    array = np.asarray(mask)
    if array.ndim == 3:
        array = array[:, :, 0]
    array = array.astype(np.float64)
    if mode == "soft":
        return array / 255.0
    if mode == "binary":
        return (array > 0).astype(np.float64)
    raise ValueError(f"mask_mode must be 'soft' or 'binary', got {mode!r}")


def _sample_accuracy(points, boxes, mask):
    height, width = mask.shape
    coordinates = [(int(x), int(y)) for x, y in points]
    for x0, y0, x1, y1 in boxes:
        region = np.zeros((height, width), dtype=bool)
        region[int(y0) : int(y1), int(x0) : int(x1)] = True
        ys, xs = np.where(region)
        coordinates.extend(zip(xs.tolist(), ys.tolist(), strict=True))
    if not coordinates:
        return 0.0
    xy = np.asarray(coordinates, dtype=np.int64)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
    values = np.concatenate([mask[xy[inside, 1], xy[inside, 0]], np.zeros(len(xy) - int(inside.sum()))])
    return float(values.mean())


class MaskPointAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {
                    "predictions": {
                        "points": datasets.Sequence(datasets.Sequence(datasets.Value("float64"))),
                        "boxes": datasets.Sequence(datasets.Sequence(datasets.Value("float64"))),
                    },
                    "references": {"mask": datasets.Image()},
                }
            ),
            reference_urls=["https://github.com/wentaoyuan/RoboPoint", "https://github.com/Zhoues/RoboRefer"],
        )

    def _compute(self, predictions, references, mask_mode="soft", categories=None):
        if categories is not None and len(categories) != len(references):
            raise ValueError(f"categories must have one entry per reference ({len(references)}), got {len(categories)}")
        per_sample = []
        for prediction, reference in zip(predictions, references, strict=True):
            mask = _mask_array(reference["mask"], mask_mode)
            points = [point for point in prediction.get("points") or [] if len(point) == 2]
            boxes = [box for box in prediction.get("boxes") or [] if len(box) == 4]
            per_sample.append(_sample_accuracy(points, boxes, mask))
        per_category = defaultdict(list)
        if categories is not None:
            for category, value in zip(categories, per_sample, strict=True):
                per_category[str(category)].append(value)
        return {
            "score": 100.0 * float(np.mean(per_sample)) if per_sample else 0.0,
            "per_sample": per_sample,
            "categories": {name: 100.0 * float(np.mean(values)) for name, values in sorted(per_category.items())},
        }
