# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Multiple-choice accuracy: the official metric of ERQA, EgoPlan-Bench2 and MMSI-Bench.

All three score a question as correct when the option letter extracted from the answer equals the ground-truth
letter (ERQA `eval_harness.py`: exact match; EgoPlan-Bench2 `eval.py`: `extraction == golden_choice_idx`; MMSI-Bench:
`answer == predict[0]`, lower-cased). Letter extraction is benchmark-specific and happens before this metric (see
each benchmark module); an answer with no extractable letter is passed as "" and is wrong.
"""

from collections import defaultdict

import datasets
import evaluate

_DESCRIPTION = "Accuracy of extracted option letters against ground-truth letters (case-insensitive), in percent."
_INPUTS = """
Args:
    predictions (`list[str]`): extracted option letters ("" when none could be extracted).
    references (`list[str]`): ground-truth option letters.
    categories (`list[str]`, *optional*): a category per question, for a per-category breakdown.
Returns:
    score (`float`): accuracy in percent; accuracy (`float`): in [0, 1]; correct, total (`int`);
    categories (`dict[str, float]`): accuracy in percent per category.
"""


class MultipleChoiceAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references, categories=None):
        if categories is not None and len(categories) != len(references):
            raise ValueError(f"categories must have one entry per reference ({len(references)}), got {len(categories)}")
        hits = [
            bool(prediction) and prediction.strip().upper() == (reference or "").strip().upper()
            for prediction, reference in zip(predictions, references, strict=True)
        ]
        per_category = defaultdict(list)
        for index, hit in enumerate(hits):
            if categories is not None:
                per_category[str(categories[index])].append(hit)
        accuracy = sum(hits) / len(hits) if hits else 0.0
        return {
            "score": 100.0 * accuracy,
            "accuracy": accuracy,
            "correct": int(sum(hits)),
            "total": len(hits),
            "categories": {name: 100.0 * sum(values) / len(values) for name, values in sorted(per_category.items())},
        }
