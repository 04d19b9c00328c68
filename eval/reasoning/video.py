# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Frame sampling for the video benchmarks (EgoPlan-Bench2, VSI-Bench), decoded with PyAV.

The sampling rules follow each benchmark's reference harness, because the frames chosen change the score:

* EgoPlan-Bench2 (`eval.py`, image models): `np.linspace(task_start_frame, current_observation_frame, 8,
  endpoint=True, dtype=int)`: 8 frames from the task start to the "current observation" frame, both included.
* VSI-Bench (lmms-eval/thinking-in-space, image models): `np.linspace(0, total_frames - 1, N, dtype=int)` over the
  whole video. VLASER's frame count is not published; the default here is 32 (`--video-frames`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

EGOPLAN_FRAMES = 8
VSI_BENCH_FRAMES = 32


def linspace_indices(start: int, end: int, count: int) -> list[int]:
    """`np.linspace(start, end, count, endpoint=True, dtype=int)` as a list (the reference harnesses' sampling)."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    return [int(index) for index in np.linspace(start, end, count, endpoint=True, dtype=int)]


def uniform_indices(total_frames: int, count: int) -> list[int]:
    """`count` indices spread over a whole video of `total_frames` frames, first and last included."""
    if total_frames < 1:
        raise ValueError(f"total_frames must be >= 1, got {total_frames}")
    return linspace_indices(0, total_frames - 1, count)


def _open(source: str | os.PathLike | Any):
    import av

    return av.open(source if not isinstance(source, Path) else str(source))


def count_frames(source: str | os.PathLike | Any) -> int:
    """Number of frames of a video (decoding it when the container does not store the count)."""
    with _open(source) as container:
        stream = container.streams.video[0]
        if stream.frames:
            return int(stream.frames)
        return sum(1 for _ in container.decode(stream))


def read_frames(source: str | os.PathLike | Any, indices: Sequence[int]) -> list[Image.Image]:
    """The frames at `indices` (0-based decode order; indices past the end give the last frame, as clamping
    reference readers do), as RGB PIL images, in the order of `indices` (repeats allowed).

    `source` is a path or a seekable binary file object (e.g. a member of a zip archive opened with `zipfile`).
    """
    if not indices:
        return []
    wanted = sorted(set(int(index) for index in indices))
    found: dict[int, Image.Image] = {}
    last: Image.Image | None = None
    last_index = -1
    with _open(source) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            last, last_index = frame.to_image().convert("RGB"), index
            if index in wanted:
                found[index] = last
            if index >= wanted[-1]:
                break
    if last is None:
        raise ValueError(f"{source}: the video has no decodable frame")
    return [found.get(int(index), last) if int(index) <= last_index else last for index in indices]
