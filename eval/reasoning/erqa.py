# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""ERQA (Gemini Robotics' Embodied Reasoning QA): 400 multiple-choice questions over one or more images.

Layouts read (the first found wins):

* the original `erqa.tfrecord` (github.com/embodiedreasoning/ERQA `data/`): features `question`, `image/encoded`
  (1..n), `answer`, `question_type`, `visual_indices` (character offsets where each image goes in the question; all
  zeros means "images first");
* the Hub parquet copy `FlagEval/ERQA` (`question_id`, `question`, `images`, `answer`, `question_type`);
* the VLMEvalKit TSV copy `RunsenXu/ERQA` (`index`, `category`, `image` = base64 or a JSON list of base64,
  `question`, `answer`).

Prompt: the question as published (it already lists the options and asks for the letter), with the images interleaved
at `visual_indices` or, otherwise, as InternVL's `Image-k: <image>` lines before it. Answer: the option letter
(`parsing.extract_choice`); the official harness compares the stripped answer with the letter, which the first rule
of `extract_choice` reproduces for well-formed answers. Metric: accuracy (`multiple_choice_accuracy`).
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import (
    Benchmark,
    LoadContext,
    LoadResult,
    Sample,
    find_files,
    image_from_bytes,
    image_placeholders,
    load_parquet_rows,
)
from .parsing import extract_choice
from .tfrecord import TFRecordError, parse_example, read_records

CHOICES = "ABCD"


def interleave(question: str, count: int, visual_indices: Sequence[int] | None) -> str:
    """The question with `count` `<image>` placeholders: at the character offsets `visual_indices` (sorted, as the
    reference harnesses pair images and offsets), or as `Image-k:` lines in front when the offsets are missing or all
    zero."""
    if visual_indices and len(visual_indices) == count and any(index > 0 for index in visual_indices):
        pieces, last = [], 0
        for index in sorted(max(0, min(int(index), len(question))) for index in visual_indices):
            pieces.append(question[last:index])
            pieces.append("<image>")
            last = index
        pieces.append(question[last:])
        return "".join(pieces)
    return image_placeholders(count) + question


def _with_placeholders(question: str, count: int) -> str:
    """Keep a question's own `<image>` placeholders when they match the image count; otherwise put the images first."""
    if question.count("<image>") == count:
        return question
    return image_placeholders(count) + question.replace("<image>", "").strip()


class ERQA(Benchmark):
    name = "erqa"
    display_name = "ERQA"
    paper_column = "ERQA"
    hub_id = "FlagEval/ERQA"
    local_dirnames = ("ERQA", "erqa")
    how_to_obtain = (
        "download `data/erqa.tfrecord` from github.com/embodiedreasoning/ERQA into the folder, or the Hub copies "
        "FlagEval/ERQA (parquet) or RunsenXu/ERQA (TSV)."
    )
    metric_name = "multiple_choice_accuracy"
    max_new_tokens = 32

    def is_data_dir(self, path: Path) -> bool:
        return bool(find_files(path, "*.tfrecord", "*.parquet", "*.tsv")) if path.is_dir() else False

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        for pattern, reader in (("*.tfrecord", self._tfrecord), ("*.parquet", self._parquet), ("*.tsv", self._tsv)):
            files = find_files(root, pattern)
            if files:
                result = LoadResult([], source=", ".join(str(path) for path in files))
                reader(files, context, result)
                return result
        raise FileNotFoundError(f"{root}: no erqa.tfrecord, parquet or TSV file")

    def _add(
        self, result: LoadResult, row_id: str, question: Any, answer: Any, images: list, category: Any, prompt: str
    ):
        letter = answer.strip().upper() if isinstance(answer, str) else ""
        if len(letter) != 1 or letter not in CHOICES:
            result.skip(row_id, "answer is not an option letter A-D")
            return
        if not isinstance(question, str) or not question.strip():
            result.skip(row_id, "missing question")
            return
        if not images:
            result.skip(row_id, "no image")
            return
        result.samples.append(
            Sample(id=row_id, prompt=prompt, images=images, reference={"answer": letter}, category=str(category or ""))
        )

    def _tfrecord(self, files: list[Path], context: LoadContext, result: LoadResult) -> None:
        for path in files:
            try:
                for index, record in enumerate(read_records(path)):
                    row_id = f"{path.stem}-{index}"
                    try:
                        example = parse_example(record)
                        question = example.get("question", [b""])[0].decode("utf-8")
                        answer = example.get("answer", [b""])[0].decode("utf-8")
                        categories = example.get("question_type") or [b""]
                        category = categories[0].decode("utf-8") if isinstance(categories[0], bytes) else ""
                    except (TFRecordError, UnicodeDecodeError, IndexError, AttributeError) as error:
                        result.skip(row_id, f"undecodable Example record ({type(error).__name__})")
                        continue
                    encoded = [value for value in example.get("image/encoded", []) if isinstance(value, bytes)]
                    images = [
                        image_from_bytes(data, description=f"{row_id} image {k}") for k, data in enumerate(encoded)
                    ]
                    prompt = interleave(question, len(images), example.get("visual_indices"))
                    self._add(result, row_id, question, answer, images, category, prompt)
            except TFRecordError as error:
                result.skip(str(path), f"truncated TFRecord file ({error})")

    def _parquet(self, files: list[Path], context: LoadContext, result: LoadResult) -> None:
        dataset = load_parquet_rows(files, context)
        for index in range(len(dataset)):
            row = dataset[index]
            row_id = str(row.get("question_id", index))
            images = [image for image in (row.get("images") or []) if image is not None]
            question = row.get("question")
            prompt = _with_placeholders(question, len(images)) if isinstance(question, str) else ""
            self._add(result, row_id, question, row.get("answer"), images, row.get("question_type"), prompt)

    def _tsv(self, files: list[Path], context: LoadContext, result: LoadResult) -> None:
        csv.field_size_limit(sys.maxsize)  # base64 images are far longer than csv's default field limit
        for path in files:
            with open(path, encoding="utf-8", newline="") as handle:
                for number, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
                    row_id = str(row.get("index") or f"{path.stem}-{number}")
                    images = []
                    try:
                        field = (row.get("image") or "").strip()
                        encoded = json.loads(field) if field.startswith("[") else [field] if field else []
                        images = [
                            image_from_bytes(base64.b64decode(item), description=f"{row_id} image {k}")
                            for k, item in enumerate(encoded)
                        ]
                    except (json.JSONDecodeError, binascii.Error, TypeError):
                        result.skip(row_id, "undecodable base64 image")
                        continue
                    question = row.get("question")
                    prompt = _with_placeholders(question, len(images)) if isinstance(question, str) else ""
                    self._add(result, row_id, question, row.get("answer"), images, row.get("category"), prompt)

    def parse(self, answer: str, sample: Sample) -> str:
        return extract_choice(answer, CHOICES) or ""

    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        return {
            "predictions": list(predictions),
            "references": [sample.reference["answer"] for sample in samples],
            "categories": [sample.category or "" for sample in samples],
        }
