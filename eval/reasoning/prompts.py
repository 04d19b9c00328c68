# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""VLASER's prompt conventions for the reasoning benchmarks.

Pointing benchmarks do not use their native answer formats (RoboPoint's 0-1 tuples, PointArena's pixels...): VLASER
replaces them with its own instruction asking for `<point>[[x, y], ...]</point>` with integers in 0-1000, prepended
to every pointing question (VLASER README, "Important Notes"; `evaluate_point_{pixmo,paco}.py`). Multiple-choice
benchmarks keep each benchmark's own answer instruction, because their official parsers expect it.
"""

from __future__ import annotations

import re

VLASER_POINT_PROMPT = (
    "You are InternVL. Your task is to locate several points in the given image according to the task "
    'descriptions. Your answer should be formatted as "<point>[[x1, y1], [x2, y2],...]</point>". The point '
    "coordinates are normalized to integers between 0 and 1000. Return the answer in the point format directly."
)
"""The instruction VLASER prepends to every pointing question."""

REFERRING_POINTS_SUFFIX = "Please provide the referring points of {expression}."
"""What VLASER's Pixmo-Points and Paco-Lavis scripts append, with the referring expression."""

# Native answer-format instructions that VLASER's point prompt replaces (RoboPoint / RoboRefer / PointArena style).
_NATIVE_FORMAT_SUFFIX = re.compile(
    r"\s*Your answer should be formatted as a list of tuples.*?(?:in the image|1000\s*[x×]\s*1000 grid)\.?",
    re.IGNORECASE | re.DOTALL,
)


def strip_native_point_format(question: str) -> str:
    """Remove a RoboPoint-style "Your answer should be formatted as a list of tuples ..." suffix from a question, so
    that the model sees one answer format only (VLASER's)."""
    return _NATIVE_FORMAT_SUFFIX.sub("", question).strip()


def point_prompt(question: str, images: int = 1) -> str:
    """A pointing prompt in VLASER's convention: image placeholder(s), the point instruction, then the question."""
    from .base import image_placeholders

    return f"{image_placeholders(images)}{VLASER_POINT_PROMPT} {strip_native_point_format(question)}"


def referring_point_prompt(expression: str) -> str:
    """VLASER's Pixmo-Points/Paco-Lavis prompt for a referring expression (`<image>` first, as InternVL's `chat`
    puts it; the scripts' leading spaces are kept)."""
    return f"<image>\n {VLASER_POINT_PROMPT} {REFERRING_POINTS_SUFFIX.format(expression=expression.strip())}"
