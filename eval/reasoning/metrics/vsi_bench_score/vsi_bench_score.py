# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""VSI-Bench score (thinking-in-space / lmms-eval `vsibench/utils.py`).

* Multiple-choice types (`object_rel_direction_{easy,medium,hard}`, `object_rel_distance`, `route_planning`,
  `obj_appearance_order`): exact match, case-insensitive, of the answer's first token with the option letter.
* Numeric types (`object_abs_distance`, `object_counting`, `object_size_estimation`, `room_size_estimation`): Mean
  Relative Accuracy, the mean over thresholds theta of 1[|pred - gt| / gt <= 1 - theta], with the thresholds
  `np.linspace(.5, .95, int((.95 - .5) / .05 + 2))` = 0.50, 0.55, ..., 0.95 (the reference formula; it yields 10
  values). A missing or non-numeric prediction scores 0. A ground truth of 0 (division by zero in the reference,
  which crashes) scores 1 for an exact 0 and 0 otherwise.
* Per type: the mean over its questions; the three `object_rel_direction_*` sub-types are averaged into one
  `object_rel_direction` score; overall = the plain mean of the resulting task scores (8 on the full benchmark).
"""

import math
from collections import defaultdict

import datasets
import evaluate
import numpy as np

MCA_TYPES = (
    "object_rel_direction_easy",
    "object_rel_direction_medium",
    "object_rel_direction_hard",
    "object_rel_distance",
    "route_planning",
    "obj_appearance_order",
)
NA_TYPES = ("object_abs_distance", "object_counting", "object_size_estimation", "room_size_estimation")
REL_DIRECTION = ("object_rel_direction_easy", "object_rel_direction_medium", "object_rel_direction_hard")

_DESCRIPTION = "VSI-Bench: accuracy for multiple-choice types, Mean Relative Accuracy for numeric types; mean of tasks."
_INPUTS = """
Args:
    predictions (`list[dict]`): per question `{"text": str, "number": float | None}`: the option letter read from the
        answer (multiple-choice types) and the number read from it (numeric types).
    references (`list[dict]`): per question `{"question_type": str, "ground_truth": str}`.
Returns:
    score (`float`): overall in percent; tasks (`dict`): percent per task; per_sample (`list[float]`) in [0, 1].
"""


def mean_relative_accuracy(prediction, target, start=0.5, end=0.95, interval=0.05):
    """The reference MRA, including its threshold grid arithmetic."""
    if prediction is None or not math.isfinite(prediction):
        return 0.0
    if target == 0:
        return 1.0 if prediction == 0 else 0.0
    thresholds = np.linspace(start, end, int((end - start) / interval + 2))
    return float((abs(prediction - target) / target <= 1 - thresholds).mean())


class VsiBenchScore(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {
                    "predictions": {"text": datasets.Value("string"), "number": datasets.Value("float64")},
                    "references": {"question_type": datasets.Value("string"), "ground_truth": datasets.Value("string")},
                }
            ),
            reference_urls=["https://github.com/vision-x-nyu/thinking-in-space"],
        )

    def _compute(self, predictions, references):
        per_sample = []
        by_type = defaultdict(list)
        for prediction, reference in zip(predictions, references, strict=True):
            question_type = reference["question_type"]
            if question_type in MCA_TYPES:
                text = (prediction.get("text") or "").strip().lower()
                value = 1.0 if text and text == str(reference["ground_truth"]).strip().lower() else 0.0
            elif question_type in NA_TYPES:
                try:
                    target = float(reference["ground_truth"])
                except (TypeError, ValueError):
                    raise ValueError(f"ground_truth of a {question_type} question must be a number") from None
                value = mean_relative_accuracy(prediction.get("number"), target)
            else:
                raise ValueError(f"unknown VSI-Bench question_type {question_type!r}")
            per_sample.append(value)
            by_type[question_type].append(value)
        tasks = {name: float(np.mean(values)) for name, values in by_type.items()}
        directions = [tasks.pop(name) for name in REL_DIRECTION if name in tasks]
        if directions:
            tasks["object_rel_direction"] = float(np.mean(directions))
        overall = float(np.mean(list(tasks.values()))) if tasks else 0.0
        return {
            "score": 100.0 * overall,
            "tasks": {name: 100.0 * value for name, value in sorted(tasks.items())},
            "categories": {name: 100.0 * value for name, value in sorted(tasks.items())},
            "per_sample": per_sample,
        }
