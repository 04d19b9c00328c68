# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""EmbodiedBench (EB-ALFRED, EB-Habitat) task success rate.

Each episode ends with the environment's `task_success` (1 when every goal condition holds, else 0; EmbodiedBench
`EBAlfEnv.step`). The benchmark's headline number is the mean over episodes, in percent; `task_progress` (fraction
of goal conditions met) is averaged alongside, as EmbodiedBench's `summary.json` does.
"""

from collections import defaultdict

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "Mean task success over episodes (percent), with mean task progress and per-subset success."
_INPUTS = """
Args:
    predictions (`list[dict]`): per episode `{"task_success": float, "task_progress": float}`.
    references (`list[dict]`): per episode `{"eval_set": str}` (the EmbodiedBench subset, e.g. "base").
Returns:
    score (`float`): success rate in percent; task_progress (`float`) in percent; categories (`dict`): success rate
    per subset in percent; episodes (`int`).
"""


class EmbodiedbenchSuccessRate(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {
                    "predictions": {
                        "task_success": datasets.Value("float64"),
                        "task_progress": datasets.Value("float64"),
                    },
                    "references": {"eval_set": datasets.Value("string")},
                }
            ),
            reference_urls=["https://github.com/EmbodiedBench/EmbodiedBench"],
        )

    def _compute(self, predictions, references):
        success = [float(bool(prediction["task_success"])) for prediction in predictions]
        progress = [float(prediction["task_progress"] or 0.0) for prediction in predictions]
        per_set = defaultdict(list)
        for value, reference in zip(success, references, strict=True):
            per_set[reference["eval_set"] or ""].append(value)
        return {
            "score": 100.0 * float(np.mean(success)) if success else 0.0,
            "task_progress": 100.0 * float(np.mean(progress)) if progress else 0.0,
            "episodes": len(success),
            "categories": {name: 100.0 * float(np.mean(values)) for name, values in sorted(per_set.items())},
        }
