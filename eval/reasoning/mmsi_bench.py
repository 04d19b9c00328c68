# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""MMSI-Bench: 1,000 human-written multiple-choice questions about two or more images (multi-image spatial reasoning).

Layout: `RunsenXu/MMSI-Bench` (`MMSI_Bench.parquet`, or any parquet files): `id`, `images` (list of encoded images),
`question_type`, `question` (with its options), `answer` (the letter).

Prompt: `Image-k: <image>` lines, the question, then the official post-prompt asking for the letter in double
backticks. Answer parsing: the official regex chain (`parse_mmsi_answer`): the content of double backticks, then of
single backticks, then of braces, then the first standalone A-D not followed by a space and a word. Metric: accuracy
(`multiple_choice_accuracy`), per question type.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import (
    LoadContext,
    LoadResult,
    ParquetBenchmark,
    Sample,
    image_from_bytes,
    image_placeholders,
    load_parquet_rows,
    require_fields,
)

POST_PROMPT = (
    "\nAnswer with the option's letter from the given choices directly. Enclose the option's letter within ``."
)


def parse_mmsi_answer(text: Any) -> str:
    """The official MMSI-Bench extraction (`extract_single_choice_with_word_boundary`): each step narrows the text it
    matched; the last step must find a standalone A-D not followed by " word". Returns the letter or "". Never
    raises."""
    if not isinstance(text, str):
        return ""
    prediction = text
    for pattern in (r"``([^`]*)``", r"`([^`]*)`", r"\{([^}]*)\}"):
        match = re.search(pattern, prediction)
        if match:
            prediction = match.group(1)
    match = re.search(r"\b[A-D]\b(?!\s[a-zA-Z])", prediction)
    return match.group().upper() if match else ""


class MMSIBench(ParquetBenchmark):
    name = "mmsi_bench"
    display_name = "MMSI-Bench"
    paper_column = "MMSI"
    hub_id = "RunsenXu/MMSI-Bench"
    local_dirnames = ("MMSI-Bench", "mmsi_bench", "MMSI_Bench")
    how_to_obtain = "the Hub dataset RunsenXu/MMSI-Bench (MMSI_Bench.parquet; CC BY-NC 4.0)."
    metric_name = "multiple_choice_accuracy"
    max_new_tokens = 32

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        files = self.parquet_files(root)
        result = LoadResult([], source=", ".join(str(path) for path in files))
        dataset = load_parquet_rows(files, context)
        for index in range(len(dataset)):
            row = dataset[index]
            row_id = str(row.get("id", index))
            problem = require_fields(row, ("question", "answer", "images"))
            if problem:
                result.skip(row_id, problem)
                continue
            letter = str(row["answer"]).strip().upper()
            if letter not in ("A", "B", "C", "D"):
                result.skip(row_id, "answer is not an option letter A-D")
                continue
            images = [
                image_from_bytes(image, description=f"{row_id} image {k}") if isinstance(image, bytes) else image
                for k, image in enumerate(row["images"])
                if image is not None
            ]
            if not images:
                result.skip(row_id, "no image")
                continue
            result.samples.append(
                Sample(
                    id=row_id,
                    prompt=image_placeholders(len(images)) + str(row["question"]).strip() + POST_PROMPT,
                    images=images,
                    reference={"answer": letter},
                    category=str(row.get("question_type") or ""),
                )
            )
        return result

    def parse(self, answer: str, sample: Sample) -> str:
        return parse_mmsi_answer(answer)

    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        return {
            "predictions": list(predictions),
            "references": [sample.reference["answer"] for sample in samples],
            "categories": [sample.category or "" for sample in samples],
        }
