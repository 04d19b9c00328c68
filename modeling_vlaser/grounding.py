# Copyright 2025 The VLASER project. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Grounding text in the InternVL / VLASER answer format.

Answers name objects with `<ref>name</ref>` and locate them with `<box>[[x1, y1, x2, y2], ...]</box>` or
`<point>[[x, y], ...]</point>`. Coordinates are integers in 0–1000, normalized to the image width (x) and height (y):
0 is the left/top edge and 1000 the right/bottom edge.

The formatters are strict (bad input raises `ValueError`/`TypeError`), because they write training data. The
parsers read model outputs and are tolerant: extra spaces, float coordinates, a single bracket pair (`[x, y]`),
parentheses, a missing closing tag or an upper-case tag are all accepted, and they never raise: garbage gives an
empty result. This module is pure Python (no torch, no numpy) so that data tools and the demo can use it cheaply.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "COORDINATE_MAX",
    "Box",
    "GroundedObject",
    "Point",
    "format_boxes",
    "format_points",
    "format_ref",
    "from_pixels",
    "parse_boxes",
    "parse_grounding",
    "parse_points",
    "parse_refs",
    "to_pixels",
]

COORDINATE_MAX = 1000
"""Normalized coordinates run from 0 to this value (inclusive) across the image width and height."""

Box = tuple[int, int, int, int]
Point = tuple[int, int]


@dataclass
class GroundedObject:
    """One referred object of a grounding answer.

    Attributes:
        ref (`str` or `None`):
            The text inside `<ref>...</ref>`, stripped of surrounding spaces; `None` for boxes or points that come
            before any `<ref>` tag or after an empty `<ref></ref>`.
        boxes (`list[tuple[int, int, int, int]]`):
            The `(x1, y1, x2, y2)` boxes that follow the reference (until the next `<ref>`), in 0–1000 coordinates.
        points (`list[tuple[int, int]]`):
            The `(x, y)` points that follow the reference (until the next `<ref>`), in 0–1000 coordinates.
    """

    ref: str | None = None
    boxes: list[Box] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------------------------------
# Formatting (strict)
# ----------------------------------------------------------------------------------------------------------------------


def _as_coordinate(value: object, what: str) -> int:
    # `operator.index` accepts int and numpy integers but refuses floats and bools-as-text: a float here is almost
    # always a pixel value or an un-rounded fraction that the caller forgot to convert.
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer in 0..{COORDINATE_MAX}, got the bool {value!r}")
    try:
        integer = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{what} must be an integer in 0..{COORDINATE_MAX}, got {type(value).__name__} {value!r} "
            "(convert pixel coordinates with `from_pixels` first)"
        ) from None
    if not 0 <= integer <= COORDINATE_MAX:
        raise ValueError(f"{what} must be in 0..{COORDINATE_MAX}, got {integer}")
    return integer


def _as_tuples(items: Iterable[Sequence[object]], arity: int, name: str, layout: str) -> list[tuple[int, ...]]:
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of {layout} tuples, got a string")
    tuples = []
    for index, item in enumerate(items):
        if isinstance(item, (str, bytes)) or not isinstance(item, (Sequence, Iterable)):
            raise TypeError(f"{name}[{index}] must be a {layout} sequence of {arity} integers, got {item!r}")
        values = list(item)
        if len(values) != arity:
            raise ValueError(f"{name}[{index}] must have {arity} values {layout}, got {len(values)}: {values!r}")
        tuples.append(tuple(_as_coordinate(value, f"{name}[{index}][{axis}]") for axis, value in enumerate(values)))
    return tuples


def format_ref(ref: str) -> str:
    """Return `<ref>ref</ref>`.

    Args:
        ref (`str`): The object name. Surrounding spaces are stripped; it must not be empty or contain `<` or `>`
            (they would make the answer ambiguous to parse).
    """
    if not isinstance(ref, str):
        raise TypeError(f"ref must be a string, got {type(ref).__name__}")
    name = ref.strip()
    if not name:
        raise ValueError("ref must not be empty")
    if "<" in name or ">" in name:
        raise ValueError(f"ref must not contain '<' or '>', got {ref!r}")
    return f"<ref>{name}</ref>"


def _format_list(tuples: list[tuple[int, ...]]) -> str:
    return "[" + ", ".join("[" + ", ".join(str(value) for value in values) + "]" for values in tuples) + "]"


def format_boxes(boxes: Iterable[Sequence[int]], ref: str | None = None) -> str:
    """Format boxes as `<ref>ref</ref><box>[[x1, y1, x2, y2], ...]</box>`.

    Args:
        boxes (`Iterable[Sequence[int]]`):
            `(x1, y1, x2, y2)` boxes with integer coordinates in 0..1000 (see `from_pixels`).
        ref (`str`, *optional*):
            The object the boxes locate; omitted from the text when `None`.

    Returns:
        `str`: e.g. `"<ref>carrot</ref><box>[[120, 305, 410, 620]]</box>"`.
    """
    body = f"<box>{_format_list(_as_tuples(boxes, 4, 'boxes', '(x1, y1, x2, y2)'))}</box>"
    return body if ref is None else format_ref(ref) + body


def format_points(points: Iterable[Sequence[int]], ref: str | None = None) -> str:
    """Format points as `<ref>ref</ref><point>[[x, y], ...]</point>`.

    Args:
        points (`Iterable[Sequence[int]]`):
            `(x, y)` points with integer coordinates in 0..1000 (see `from_pixels`).
        ref (`str`, *optional*):
            The object the points locate; omitted from the text when `None`.

    Returns:
        `str`: e.g. `"<point>[[512, 384], [250, 900]]</point>"`.
    """
    body = f"<point>{_format_list(_as_tuples(points, 2, 'points', '(x, y)'))}</point>"
    return body if ref is None else format_ref(ref) + body


# ----------------------------------------------------------------------------------------------------------------------
# Parsing (tolerant, never raises)
# ----------------------------------------------------------------------------------------------------------------------

# Tags are matched case-insensitively and with optional inner spaces (`< /box >`), as small models produce both.
_TAG_RE = re.compile(r"<\s*(/?)\s*(ref|box|point|quad)\s*>", re.IGNORECASE)
# An innermost bracket group: the content has no other bracket, so nested lists yield their leaf tuples and a single
# `[x, y]` is read as well as `[[x, y]]`.
_GROUP_RE = re.compile(r"[\[(]([^\[\]()]*)[\])]")
_NUMBER_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_SEPARATOR_RE = re.compile(r"[\s,;]+")


def _clamp_round(value: float) -> int:
    # Clamp before rounding: a run of digits can overflow to inf, and `round(inf)` raises. Halves round up (not to
    # even) so that 0.5 pixels of slack never depend on parity.
    if math.isnan(value):
        return 0
    value = min(max(value, 0.0), float(COORDINATE_MAX))
    return int(math.floor(value + 0.5))


def _tuples_in(text: str, arity: int) -> list[tuple[int, ...]]:
    """Every innermost bracket group of `text` made of exactly `arity` numbers, clamped to 0..1000 and rounded."""
    found = []
    for match in _GROUP_RE.finditer(text):
        content = match.group(1).strip(" \t\r\n,;")
        if not content:
            continue
        tokens = _SEPARATOR_RE.split(content)
        if len(tokens) != arity or not all(_NUMBER_RE.fullmatch(token) for token in tokens):
            continue
        found.append(tuple(_clamp_round(float(token)) for token in tokens))
    return found


@dataclass
class _Segment:
    kind: str  # "ref", "box", "point", "quad" or "text" (outside any tag)
    text: str


def _segments(text: str) -> list[_Segment]:
    """Split `text` at grounding tags. An opening tag's segment ends at its closing tag or, when that is missing, at
    the next grounding tag or the end of the text."""
    segments: list[_Segment] = []
    open_kind: str | None = None
    position = 0
    for match in _TAG_RE.finditer(text):
        is_closing, kind = match.group(1) == "/", match.group(2).lower()
        segments.append(_Segment(open_kind or "text", text[position : match.start()]))
        position = match.end()
        # A stray closing tag (no matching opening tag) just ends whatever was open.
        open_kind = None if is_closing else kind
    segments.append(_Segment(open_kind or "text", text[position:]))
    return segments


def _parse(text: str) -> list[GroundedObject]:
    segments = _segments(text)
    # Per kind: once a text uses `<box>` tags, only tagged boxes count; without any, bare `[[x1, y1, x2, y2]]` lists
    # anywhere are read (Vlaser's own evaluation scripts read bare bracketed pairs too).
    boxes_tagged = any(segment.kind == "box" for segment in segments)
    points_tagged = any(segment.kind == "point" for segment in segments)

    objects: list[GroundedObject] = []
    current: GroundedObject | None = None

    def target() -> GroundedObject:
        nonlocal current
        if current is None:
            current = GroundedObject()
            objects.append(current)
        return current

    for segment in segments:
        if segment.kind == "ref":
            # An empty `<ref></ref>` names nothing: its boxes/points are kept with `ref=None`.
            current = GroundedObject(ref=segment.text.strip() or None)
            objects.append(current)
            continue
        if segment.kind == "quad":
            continue
        if segment.kind == "box" or (segment.kind == "text" and not boxes_tagged):
            boxes = _tuples_in(segment.text, 4)
            if boxes:
                target().boxes.extend(boxes)
        if segment.kind == "point" or (segment.kind == "text" and not points_tagged):
            points = _tuples_in(segment.text, 2)
            if points:
                target().points.extend(points)
    # A reference without a name, boxes or points carries no information (e.g. a stray `<ref>` in garbage).
    return [grounded for grounded in objects if grounded.ref or grounded.boxes or grounded.points]


def parse_grounding(text: str) -> list[GroundedObject]:
    """Parse a grounding answer into its referred objects.

    Each `<ref>` starts a new object; the boxes and points after it (until the next `<ref>`) belong to it. Boxes or
    points before any `<ref>` go to an object whose `ref` is `None`. Coordinates are clamped to 0..1000 and rounded
    (halves up). Never raises: anything that is not a string, or text without grounding, gives `[]`.

    Args:
        text (`str`): A model answer, e.g. `"<ref>carrot</ref><box>[[120, 305, 410, 620]]</box>"`.

    Returns:
        `list[GroundedObject]`: in text order.
    """
    if not isinstance(text, str):
        return []
    try:
        return _parse(text)
    except Exception:  # noqa: BLE001 - the contract is "never raise": a parser bug must not crash an evaluation
        return []


def parse_boxes(text: str) -> list[Box]:
    """All boxes of a grounding answer, in text order, as `(x1, y1, x2, y2)` integers in 0..1000.

    Reads `<box>[[x1, y1, x2, y2], ...]</box>` (tolerantly, see `parse_grounding`); a text without any `<box>` tag
    falls back to bare bracketed 4-tuples. Never raises; garbage gives `[]`.
    """
    return [box for grounded in parse_grounding(text) for box in grounded.boxes]


def parse_points(text: str) -> list[Point]:
    """All points of a grounding answer, in text order, as `(x, y)` integers in 0..1000.

    Reads `<point>[[x, y], ...]</point>` (tolerantly, see `parse_grounding`); a text without any `<point>` tag falls
    back to bare bracketed pairs, as Vlaser's evaluation scripts do. Never raises; garbage gives `[]`.
    """
    return [point for grounded in parse_grounding(text) for point in grounded.points]


def parse_refs(text: str) -> list[str]:
    """The names inside `<ref>...</ref>` tags, stripped, in text order. Never raises; garbage gives `[]`."""
    return [grounded.ref for grounded in parse_grounding(text) if grounded.ref is not None]


# ----------------------------------------------------------------------------------------------------------------------
# Pixel conversion
# ----------------------------------------------------------------------------------------------------------------------


def _check_size(width: float, height: float) -> None:
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive finite number of pixels, got {value!r}")


def _convert(coordinates: Sequence, scale_x: float, scale_y: float, convert) -> tuple | list[tuple]:
    if isinstance(coordinates, (str, bytes)):
        raise TypeError("coordinates must be a point (x, y), a box (x1, y1, x2, y2) or a list of them, got a string")
    values = list(coordinates)
    if values and not isinstance(values[0], (int, float)) and isinstance(values[0], Iterable):
        return [_convert(item, scale_x, scale_y, convert) for item in values]
    if len(values) not in (2, 4):
        raise ValueError(
            f"coordinates must be a point (x, y) or a box (x1, y1, x2, y2), got {len(values)} values: {values!r}"
        )
    return tuple(convert(value, scale_x if axis % 2 == 0 else scale_y) for axis, value in enumerate(values))


def to_pixels(coordinates: Sequence, width: float, height: float) -> tuple[float, ...] | list[tuple[float, ...]]:
    """Map 0..1000 coordinates to pixels: `x * width / 1000`, `y * height / 1000`.

    Args:
        coordinates: A point `(x, y)`, a box `(x1, y1, x2, y2)`, or a list of points/boxes.
        width (`float`), height (`float`): The image size in pixels.

    Returns:
        Float pixel coordinates with the same layout (tuples, or a list of tuples). 1000 maps to the right/bottom
        edge (`width`/`height`).
    """
    _check_size(width, height)
    return _convert(coordinates, width / COORDINATE_MAX, height / COORDINATE_MAX, lambda v, s: float(v) * s)


def from_pixels(coordinates: Sequence, width: float, height: float) -> tuple[int, ...] | list[tuple[int, ...]]:
    """Map pixel coordinates to the 0..1000 integer grid: `round(1000 * x / width)`, clamped to 0..1000.

    Args:
        coordinates: A point `(x, y)`, a box `(x1, y1, x2, y2)`, or a list of points/boxes, in pixels.
        width (`float`), height (`float`): The image size in pixels.

    Returns:
        Integer coordinates with the same layout, ready for `format_boxes`/`format_points`. Halves round up;
        coordinates outside the image are clamped to its edges.
    """
    _check_size(width, height)

    def convert(value: float, scale: float) -> int:
        value = float(value)
        if math.isnan(value):
            raise ValueError("pixel coordinates must not be NaN")
        return _clamp_round(value / scale)

    return _convert(coordinates, width / COORDINATE_MAX, height / COORDINATE_MAX, convert)
