# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""VSI-Bench: visual-spatial questions about egocentric indoor videos (ScanNet, ScanNet++, ARKitScenes); 5,130
questions of 10 types, 6 multiple-choice and 4 numeric.

Layout (`nyu-visionx/VSI-Bench`): `test-00000-of-00001.parquet` (`id`, `dataset`, `scene_name`, `question_type`,
`question`, `options`, `ground_truth`) and the videos `<dataset>/<scene_name>.mp4`, either unzipped or inside the
published `arkitscenes.zip`, `scannet.zip`, `scannetpp.zip` (read in place).

Frames: `video.VSI_BENCH_FRAMES` (32, `--video-frames`) frames uniformly over the whole video
(`np.linspace(0, n - 1, N, dtype=int)`, lmms-eval's image-model sampling), one tile each, as InternVL's
`Frame1: <image>` lines. Prompt: lmms-eval's: "These are frames of a video.", the question, the options and "Answer
with the option's letter from the given choices directly." (multiple choice) or "Please answer the question using a
single word or phrase." (numeric). Parsing: the first token of the answer (the reference `fuzzy_matching`), with a
tolerant fallback (an option letter anywhere / the first number or number word). Metric: `vsi_bench_score`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import (
    LoadContext,
    LoadResult,
    ParquetBenchmark,
    Sample,
    image_placeholders,
    load_parquet_rows,
    require_fields,
)

# The question types are defined once, in the metric module (which `evaluate` loads as a standalone file).
from .metrics.vsi_bench_score.vsi_bench_score import MCA_TYPES, NA_TYPES
from .parsing import extract_choice, first_token, parse_number
from .video import VSI_BENCH_FRAMES, count_frames, read_frames, uniform_indices

PRE_PROMPT = "These are frames of a video."
MCA_POST_PROMPT = "Answer with the option's letter from the given choices directly."
NA_POST_PROMPT = "Please answer the question using a single word or phrase."


def parse_vsi_answer(text: Any, question_type: str) -> dict[str, Any]:
    """`{"text": option letter or first token, "number": float | None}`. Never raises."""
    if question_type in NA_TYPES:
        return {"text": first_token(text), "number": parse_number(text)}
    token = first_token(text)
    if len(token) == 1 and token.isalpha():
        return {"text": token.upper(), "number": None}
    return {"text": extract_choice(text, "ABCDEFGH") or token, "number": None}


class _VideoSource:
    """Reads `<dataset>/<scene>.mp4` from a folder or from `<dataset>.zip` in place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._zip_members: dict[str, dict[str, str]] = {}

    def _members(self, dataset: str) -> dict[str, str]:
        if dataset not in self._zip_members:
            archive, members = self.root / f"{dataset}.zip", {}
            if archive.is_file():
                try:
                    with zipfile.ZipFile(archive) as handle:
                        members = {name.rsplit("/", 1)[-1]: name for name in handle.namelist() if name.endswith(".mp4")}
                except zipfile.BadZipFile:
                    members = {}
            self._zip_members[dataset] = members
        return self._zip_members[dataset]

    def exists(self, dataset: str, scene: str) -> bool:
        return (self.root / dataset / f"{scene}.mp4").is_file() or f"{scene}.mp4" in self._members(dataset)

    def frames_loader(self, dataset: str, scene: str, count: int):
        path = self.root / dataset / f"{scene}.mp4"
        archive, member = self.root / f"{dataset}.zip", self._members(dataset).get(f"{scene}.mp4")

        def load() -> list:
            if path.is_file():
                return read_frames(path, uniform_indices(count_frames(path), count))
            with zipfile.ZipFile(archive) as handle:
                with handle.open(member) as stream:
                    total = count_frames(stream)
                with handle.open(member) as stream:
                    return read_frames(stream, uniform_indices(total, count))

        return load


class VSIBench(ParquetBenchmark):
    name = "vsi_bench"
    display_name = "VSI-Bench"
    paper_column = "VSI"
    hub_id = "nyu-visionx/VSI-Bench"
    local_dirnames = ("VSI-Bench", "vsi_bench", "vsibench")
    how_to_obtain = (
        "the Hub dataset nyu-visionx/VSI-Bench (test parquet + arkitscenes.zip, scannet.zip, scannetpp.zip)."
    )
    metric_name = "vsi_bench_score"
    max_new_tokens = 16

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        files = self.parquet_files(root)
        frames = context.video_frames or VSI_BENCH_FRAMES
        videos = _VideoSource(root)
        result = LoadResult([], source=", ".join(str(path) for path in files))
        dataset = load_parquet_rows(files, context)
        for index in range(len(dataset)):
            row = dataset[index]
            row_id = str(row.get("id", index))
            problem = require_fields(row, ("dataset", "scene_name", "question_type", "question", "ground_truth"))
            if problem:
                result.skip(row_id, problem)
                continue
            question_type = str(row["question_type"])
            if question_type in MCA_TYPES:
                options = row.get("options") or []
                if not options:
                    result.skip(row_id, "multiple-choice question without options")
                    continue
                text = "\n".join(
                    [PRE_PROMPT, str(row["question"]), "Options:\n" + "\n".join(map(str, options)), MCA_POST_PROMPT]
                )
            elif question_type in NA_TYPES:
                try:
                    float(row["ground_truth"])
                except (TypeError, ValueError):
                    result.skip(row_id, "numeric question with a non-numeric ground_truth")
                    continue
                text = f"{PRE_PROMPT}\n{row['question']}\n{NA_POST_PROMPT}"
            else:
                result.skip(row_id, f"unknown question_type {question_type}")
                continue
            if not videos.exists(str(row["dataset"]), str(row["scene_name"])):
                result.skip(row_id, "video not found")
                continue
            result.samples.append(
                Sample(
                    id=row_id,
                    prompt=image_placeholders(frames, "Frame") + text,
                    images=videos.frames_loader(str(row["dataset"]), str(row["scene_name"]), frames),
                    reference={"question_type": question_type, "ground_truth": str(row["ground_truth"])},
                    category=question_type,
                    image_tiles=1,
                )
            )
        return result

    def parse(self, answer: str, sample: Sample) -> dict[str, Any]:
        return parse_vsi_answer(answer, sample.reference["question_type"])

    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        return {
            "predictions": list(predictions),
            "references": [
                {"question_type": s.reference["question_type"], "ground_truth": s.reference["ground_truth"]}
                for s in samples
            ],
        }
