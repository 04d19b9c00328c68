# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""EgoPlan-Bench2: egocentric planning, 1,321 four-way questions "what should I do next" over Ego4D videos.

Layout (qiulu66/EgoPlan-Bench2 annotations + Ego4D videos, as the official `eval.py` expects):

    <folder>/EgoPlan-Bench2.json            list of {sample_id, task_goal, choice_a..choice_d, golden_choice_idx,
                                             task_start_frame, current_observation_frame, domain, scenario, ...}
    <folder>/videos/<video_uid>.mp4         (or v1_288p/, Ego4D/v1_288p/); video_uid = sample_id before its first "_"
    <folder>/keyframes/<sample_id>/frame-<i>_frameID-<id>.png   optional: the official harness's keyframe cache

Frames: the official image-model protocol, 8 frames at `np.linspace(task_start_frame, current_observation_frame, 8,
dtype=int)` (`video.linspace_indices`), shown as `Image-1: <image>` ... `Image-8: <image>` lines (the official
InternVL2 wrapper) before the official question template, one tile per frame (InternVL's video convention; the
official wrapper leaves tiling to lmdeploy). Answer parsing: the official `extract_characters_regex`
(`parse_egoplan_answer`). Metric: accuracy (`multiple_choice_accuracy`), per domain.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import Benchmark, LoadContext, LoadResult, Sample, find_files, open_image, require_fields
from .video import EGOPLAN_FRAMES, linspace_indices, read_frames

QUESTION_TEMPLATE = (
    "\nSelect the best answer to the following multiple-choice question based on the video. Respond with only the "
    "letter (A, B, C, or D) of the correct option.\n\nConsidering the progress shown in the video and my current "
    "observation in the last frame, what action should I take next in order to {goal}?\n\nA. {a}\nB. {b}\nC. {c}\n"
    "D. {d}\n"
)
"""The official question template (`eval.py`), filled with the task goal and the four choices."""

# The official prefix list has two missing commas, which Python concatenates; these are the strings it really strips.
_ANSWER_PREFIXES = (
    "The best answer is",
    "The correct answer is",
    "The answer is",
    "The answer",
    "The best option isThe correct option is",
    "Best answer:Best option:",
    "Answer:",
    "Option:",
    "The correct answer",
    "The correct option",
)
_REQUIRED = (
    "sample_id",
    "task_goal",
    "choice_a",
    "choice_b",
    "choice_c",
    "choice_d",
    "golden_choice_idx",
    "task_start_frame",
    "current_observation_frame",
)
_VIDEO_DIRS = ("videos", "v1_288p", "Ego4D/v1_288p", "ego4d/v1_288p", ".")


def parse_egoplan_answer(text: Any) -> str:
    """The official `extract_characters_regex`: strip known answer prefixes, give up on answers of more than 10 words
    without any A-D, else take the first capital A, B, C or D anywhere (upper-cased). "" when none. Never raises."""
    if not isinstance(text, str):
        return ""
    stripped = text.strip()
    for prefix in _ANSWER_PREFIXES:
        stripped = stripped.replace(prefix, "")
    if len(stripped.split()) > 10 and not re.search("[ABCD]", stripped):
        return ""
    match = re.search(r"[ABCD]", stripped)
    return match[0].upper() if match else ""


class EgoPlanBench2(Benchmark):
    name = "egoplan_bench2"
    display_name = "EgoPlan-Bench2"
    paper_column = "Ego2"
    hub_id = "qiulu66/EgoPlan-Bench2"
    local_dirnames = ("EgoPlan-Bench2", "egoplan_bench2", "EgoPlan2")
    how_to_obtain = (
        "the annotations `EgoPlan-Bench2.json` are on the Hub (qiulu66/EgoPlan-Bench2); the videos are Ego4D's "
        "`v1_288p` clips, obtained under the Ego4D licence agreement (ego4d-data.org) and placed as "
        "<folder>/videos/<video_uid>.mp4 (pre-extracted official keyframes under <folder>/keyframes/ also work)."
    )
    metric_name = "multiple_choice_accuracy"
    max_new_tokens = 32

    def __init__(self, frames: int = EGOPLAN_FRAMES) -> None:
        self.frames = frames

    def is_data_dir(self, path: Path) -> bool:
        return path.is_dir() and bool(self._annotation_files(path))

    @staticmethod
    def _annotation_files(root: Path) -> list[Path]:
        preferred = root / "EgoPlan-Bench2.json"
        return [preferred] if preferred.is_file() else find_files(root, "*.json")

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        files = self._annotation_files(root)
        if not files:
            raise FileNotFoundError(f"{root}: no EgoPlan-Bench2.json")
        result = LoadResult([], source=str(files[0]))
        try:
            rows = json.loads(files[0].read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{files[0]}: not valid JSON ({error.msg} at line {error.lineno})") from None
        if not isinstance(rows, list):
            raise ValueError(f"{files[0]}: expected a JSON list of questions, got {type(rows).__name__}")
        video_dirs = [root / name for name in _VIDEO_DIRS if (root / name).is_dir()]
        keyframe_dir = root / "keyframes"
        for index, row in enumerate(rows):
            row_id = str(row.get("sample_id", index)) if isinstance(row, dict) else str(index)
            problem = require_fields(row, _REQUIRED)
            if problem:
                result.skip(row_id, problem)
                continue
            letter = str(row["golden_choice_idx"]).strip().upper()
            if letter not in ("A", "B", "C", "D"):
                result.skip(row_id, "golden_choice_idx is not A-D")
                continue
            try:
                start, end = int(row["task_start_frame"]), int(row["current_observation_frame"])
            except (TypeError, ValueError):
                result.skip(row_id, "frame numbers are not integers")
                continue
            if end < start or start < 0:
                result.skip(row_id, "current_observation_frame before task_start_frame")
                continue
            images = self._keyframes(keyframe_dir / row_id)
            if images is None:
                video = next(
                    (
                        folder / f"{row_id.split('_')[0]}.mp4"
                        for folder in video_dirs
                        if (folder / f"{row_id.split('_')[0]}.mp4").is_file()
                    ),
                    None,
                )
                if video is None:
                    result.skip(row_id, "video not found")
                    continue
                images = _frames_loader(str(video), tuple(linspace_indices(start, end, self.frames)))
            count = self.frames if callable(images) else len(images)
            prompt = "".join(f"Image-{k}: <image>\n" for k in range(1, count + 1))
            prompt += QUESTION_TEMPLATE.format(
                goal=row["task_goal"], a=row["choice_a"], b=row["choice_b"], c=row["choice_c"], d=row["choice_d"]
            )
            result.samples.append(
                Sample(
                    id=row_id,
                    prompt=prompt,
                    images=images,
                    reference={"answer": letter},
                    category=str(row.get("domain") or ""),
                    image_tiles=1,
                )
            )
        return result

    def _keyframes(self, folder: Path) -> list | None:
        if not folder.is_dir():
            return None
        frames = []
        for index in range(self.frames):
            matches = sorted(folder.glob(f"frame-{index}_frameID-*.png"))
            if not matches:
                return None
            frames.append(open_image(matches[0]))
        return frames

    def parse(self, answer: str, sample: Sample) -> str:
        return parse_egoplan_answer(answer)

    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        return {
            "predictions": list(predictions),
            "references": [sample.reference["answer"] for sample in samples],
            "categories": [sample.category or "" for sample in samples],
        }


def _frames_loader(video: str, indices: tuple[int, ...]):
    """A callable decoding the sampled frames in one pass when the sample is generated (not cached: a benchmark's
    decoded frames would not fit in memory)."""

    def load() -> list:
        return read_frames(video, indices)

    return load
