# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Tolerant answer parsers shared by the benchmark modules. None of them raises: garbage gives an empty result.

Points and boxes keep the unit they were written in, so that each benchmark converts them exactly once, with the same
arithmetic as its official script (`x / 1000 * W` for VLASER's 0-1000 integers, `x * W` for RoboPoint's 0-1
floats, ...). Recognized formats, in priority order (the first that yields anything wins):

1. VLASER/InternVL tags: `<point>[[x, y], ...]</point>`, `<box>[[x1, y1, x2, y2]]</box>` (0-1000; 0-1 floats
   inside tags are read as 0-1);
2. Molmo XML: `<point x="61.5" y="40.4">`, `<points x1=".." y1=".." ...>` (percent of width/height);
3. Qwen-style JSON: `{"point_2d": [x, y]}`, `{"point": [x, y]}`, `{"bbox_2d": [x1, y1, x2, y2]}`;
4. bare tuples anywhere: `(x, y)`, `[x, y]`, 4-tuples as boxes (RoboPoint/RoboRefer style).

Units of untagged numbers: a tuple whose values are all <= 1 and written with a decimal point is 0-1 (RoboPoint's
rule); a tuple with a value above 1000 is in pixels; otherwise 0-1000 (VLASER's convention, which its evaluation
scripts apply to any bracketed pair). `absolute_pixels=True` reads integers as pixels instead (Qwen2.5-VL-based
models such as RoboBrain 2.0 and Embodied-R1 answer in pixels).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

# ----------------------------------------------------------------------------------------------------------------------
# Reasoning blocks
# ----------------------------------------------------------------------------------------------------------------------

_THINK_RE = re.compile(r"<think>.*?(?:</think>|$)", re.IGNORECASE | re.DOTALL)
_ANSWER_RE = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.IGNORECASE | re.DOTALL)


def answer_scope(text: Any) -> str:
    """The part of an answer to parse: `<think>...</think>` blocks removed, and the content of the last
    `<answer>...</answer>` when there is one (reasoning models such as Embodied-R1 answer that way)."""
    if not isinstance(text, str):
        return ""
    answers = _ANSWER_RE.findall(text)
    if answers:
        return answers[-1]
    return _THINK_RE.sub("", text)


# ----------------------------------------------------------------------------------------------------------------------
# Points and boxes
# ----------------------------------------------------------------------------------------------------------------------

PER_MILLE, UNIT, PERCENT, PIXEL = "per_mille", "unit", "percent", "pixel"
_SCALE = {PER_MILLE: 1000.0, UNIT: 1.0, PERCENT: 100.0}

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_NUMBER_RE = re.compile(_NUMBER)
# Innermost bracket or parenthesis group: nested lists yield their leaf tuples.
_GROUP_RE = re.compile(r"[\[(]([^\[\]()]*)[\])]")
_TAG_RE = re.compile(r"<\s*(/?)\s*(point|box|ref|quad)\s*>", re.IGNORECASE)
_MOLMO_RE = re.compile(r"<points?\b([^<>]*)>", re.IGNORECASE)
_MOLMO_ATTR_RE = re.compile(r"\b([xy])(\d*)\s*=\s*[\"']\s*(" + _NUMBER + r")\s*[\"']", re.IGNORECASE)
_JSON_KEY_RE = re.compile(
    r"[\"'](point_2d|point|bbox_2d|bbox)[\"']\s*:\s*(\[[^\[\]]*\]|\[\s*\[[^\]]*\](?:\s*,\s*\[[^\]]*\])*\s*\])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ParsedPoint:
    """A point as written in an answer: coordinates plus their unit (`per_mille`, `unit`, `percent` or `pixel`)."""

    x: float
    y: float
    unit: str

    def to_pixels(self, width: float, height: float) -> tuple[float, float]:
        """Pixel coordinates, with the arithmetic of the official scripts (`x / 1000 * W`, `x * W`, `x * W / 100`)."""
        if self.unit == PIXEL:
            return self.x, self.y
        if self.unit == UNIT:
            return self.x * width, self.y * height
        if self.unit == PERCENT:
            return self.x * width / 100, self.y * height / 100
        return self.x / 1000 * width, self.y / 1000 * height

    def to_per_mille(self, width: float, height: float) -> tuple[float, float]:
        """Coordinates on VLASER's 0-1000 grid (unchanged for answers already in it)."""
        if self.unit == PER_MILLE:
            return self.x, self.y
        if self.unit == PIXEL:
            return self.x / width * 1000, self.y / height * 1000
        scale = 1000.0 / _SCALE[self.unit]
        return self.x * scale, self.y * scale


@dataclass(frozen=True)
class ParsedBox:
    """A box `(x1, y1, x2, y2)` as written in an answer, with its unit."""

    x1: float
    y1: float
    x2: float
    y2: float
    unit: str

    def to_pixels(self, width: float, height: float) -> tuple[float, float, float, float]:
        first = ParsedPoint(self.x1, self.y1, self.unit).to_pixels(width, height)
        second = ParsedPoint(self.x2, self.y2, self.unit).to_pixels(width, height)
        return (*first, *second)


@dataclass
class ParsedGeometry:
    """Points and boxes found in an answer, in text order, and the format they were read from."""

    points: list[ParsedPoint] = field(default_factory=list)
    boxes: list[ParsedBox] = field(default_factory=list)
    source: str = "none"

    def pixel_points(self, width: float, height: float) -> list[list[float]]:
        return [list(point.to_pixels(width, height)) for point in self.points]

    def per_mille_points(self, width: float, height: float) -> list[list[float]]:
        return [list(point.to_per_mille(width, height)) for point in self.points]

    def pixel_boxes(self, width: float, height: float) -> list[list[float]]:
        return [list(box.to_pixels(width, height)) for box in self.boxes]


def _finite_numbers(tokens: list[str]) -> list[float] | None:
    try:
        values = [float(token) for token in tokens]
    except ValueError:
        return None
    return values if all(math.isfinite(value) for value in values) else None


def _untagged_unit(tokens: list[str], values: list[float], absolute_pixels: bool) -> str:
    if all(abs(value) <= 1.0 for value in values) and any("." in token for token in tokens):
        return UNIT
    if absolute_pixels or any(abs(value) > 1000 for value in values):
        return PIXEL
    return PER_MILLE


def _tuples(text: str, unit_rule) -> tuple[list[ParsedPoint], list[ParsedBox]]:
    points, boxes = [], []
    for match in _GROUP_RE.finditer(text):
        tokens = [token for token in re.split(r"[\s,;]+", match.group(1).strip(" \t\r\n,;")) if token]
        if len(tokens) not in (2, 4) or not all(_NUMBER_RE.fullmatch(token) for token in tokens):
            continue
        values = _finite_numbers(tokens)
        if values is None:
            continue
        unit = unit_rule(tokens, values)
        if len(values) == 2:
            points.append(ParsedPoint(values[0], values[1], unit))
        else:
            boxes.append(ParsedBox(*values, unit))
    return points, boxes


def _tagged(text: str) -> tuple[list[ParsedPoint], list[ParsedBox]]:
    """Tuples inside `<point>`/`<box>` tags; a tag without its closing tag runs to the next tag or the end."""
    points, boxes = [], []
    matches = list(_TAG_RE.finditer(text))
    for index, match in enumerate(matches):
        closing, kind = match.group(1) == "/", match.group(2).lower()
        if closing or kind not in ("point", "box"):
            continue
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)

        def rule(tokens: list[str], values: list[float]) -> str:
            if all(abs(value) <= 1.0 for value in values) and any("." in token for token in tokens):
                return UNIT
            return PER_MILLE

        found_points, found_boxes = _tuples(text[match.end() : end], rule)
        if kind == "point":
            points.extend(found_points)
        else:
            boxes.extend(found_boxes)
    return points, boxes


def _molmo(text: str) -> list[ParsedPoint]:
    points = []
    for match in _MOLMO_RE.finditer(text):
        coordinates: dict[str, dict[str, float]] = {}
        for axis, index, value in _MOLMO_ATTR_RE.findall(match.group(1)):
            number = float(value)
            if math.isfinite(number):
                coordinates.setdefault(index, {})[axis.lower()] = number
        for index in sorted(coordinates, key=lambda key: int(key) if key else 0):
            pair = coordinates[index]
            if "x" in pair and "y" in pair:
                points.append(ParsedPoint(pair["x"], pair["y"], PERCENT))
    return points


def _json_keys(text: str, absolute_pixels: bool) -> tuple[list[ParsedPoint], list[ParsedBox]]:
    points, boxes = [], []

    def rule(tokens: list[str], values: list[float]) -> str:
        return _untagged_unit(tokens, values, absolute_pixels)

    for match in _JSON_KEY_RE.finditer(text):
        key, body = match.group(1).lower(), match.group(2)
        found_points, found_boxes = _tuples(body, rule)
        if key.startswith("point"):
            points.extend(found_points)
        else:
            boxes.extend(found_boxes)
    return points, boxes


def parse_geometry(text: Any, absolute_pixels: bool = False) -> ParsedGeometry:
    """Points and boxes of an answer (see the module docstring for formats and units). Never raises."""
    try:
        scope = answer_scope(text)
        points, boxes = _tagged(scope)
        if points or boxes:
            return ParsedGeometry(points, boxes, "tags")
        points = _molmo(scope)
        if points:
            return ParsedGeometry(points, [], "molmo")
        points, boxes = _json_keys(scope, absolute_pixels)
        if points or boxes:
            return ParsedGeometry(points, boxes, "json")
        points, boxes = _tuples(scope, lambda tokens, values: _untagged_unit(tokens, values, absolute_pixels))
        if points or boxes:
            return ParsedGeometry(points, boxes, "tuples")
    except Exception:  # noqa: BLE001 - "never raises" is the contract; a parser bug must not end an evaluation
        pass
    return ParsedGeometry()


# ----------------------------------------------------------------------------------------------------------------------
# Multiple choice
# ----------------------------------------------------------------------------------------------------------------------

_WRAPPERS = " \t\r\n*`'\"()[]{}.:;,!"


def extract_choice(text: Any, choices: str = "ABCD") -> str | None:
    """The chosen option letter of a multiple-choice answer, or `None` when there is no unambiguous one.

    Rules, first hit wins: the whole answer is one letter (with wrappers such as `(B)`, `**B.**`); an explicit
    declaration ("the answer is C", "Answer: (C)", "Option C", `\\boxed{C}`, the last one wins); a leading label
    ("B. the cup", "(C) left"; not "(A) or (B)"); a line holding only a letter (the last one); exactly one distinct
    parenthesized letter. Prose mentioning "A" as an article never counts. Never raises.
    """
    try:
        scope = answer_scope(text).strip()
        if not scope:
            return None
        letters = "".join(dict.fromkeys(choice.upper() for choice in choices if choice.isalpha()))
        if not letters:
            return None
        core = scope.strip(_WRAPPERS)
        if len(core) == 1 and core.upper() in letters:
            return core.upper()
        klass = f"[{re.escape(letters)}]"
        declarations = re.findall(
            rf"(?i:answer|option|choice)\s*(?i:is)?\s*[:：=]?\s*[*`'\"(\[]*\s*({klass})(?![A-Za-z])"
            rf"|\\boxed\{{\s*({klass})\s*\}}",
            scope,
        )
        if declarations:
            first, second = declarations[-1]
            return first or second
        leading = re.match(rf"[\s*`'\"(\[]*({klass})(?:[)\].:：,*`'\"]|\s*$|\s*\n)", scope)
        if leading:
            # "A or B", "(A)/(B)": two choices side by side are no answer
            alternative = re.match(rf"\s*(?:or|and|/|,)\s*[(\[]?\s*{klass}(?![A-Za-z])", scope[leading.end() :], re.I)
            return None if alternative else leading.group(1)
        lines = [line.strip(_WRAPPERS) for line in scope.splitlines()]
        alone = [line for line in lines if len(line) == 1 and line in letters]
        if alone:
            return alone[-1]
        parenthesized = set(re.findall(rf"\(\s*({klass})\s*\)", scope))
        if len(parenthesized) == 1:
            return parenthesized.pop()
    except Exception:  # noqa: BLE001
        pass
    return None


# ----------------------------------------------------------------------------------------------------------------------
# Numbers
# ----------------------------------------------------------------------------------------------------------------------

_NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
_NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90})
_NUMBER_WORD_RE = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_PLAIN_NUMBER_RE = re.compile(r"[-+]?\d+(?:,\d{3})*(?:\.\d+)?|[-+]?\.\d+")


def first_token(text: Any) -> str:
    """lmms-eval's VSI-Bench `fuzzy_matching`: the first space-separated token, trailing dots removed."""
    if not isinstance(text, str):
        return ""
    return text.split(" ")[0].rstrip(".").strip()


def parse_number(text: Any) -> float | None:
    """A numeric answer: the first token as a float (the official VSI-Bench rule); failing that, the first number in
    the answer, then the first English number word ("three"). `None` when there is none or it is not finite."""
    try:
        scope = answer_scope(text)
        try:
            value = float(first_token(scope))
            return value if math.isfinite(value) else None
        except ValueError:
            pass
        match = _PLAIN_NUMBER_RE.search(scope)
        if match:
            value = float(match.group().replace(",", ""))
            return value if math.isfinite(value) else None
        word = _NUMBER_WORD_RE.search(scope)
        if word:
            return float(_NUMBER_WORDS[word.group(1).lower()])
    except Exception:  # noqa: BLE001
        pass
    return None


# ----------------------------------------------------------------------------------------------------------------------
# JSON
# ----------------------------------------------------------------------------------------------------------------------

_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.DOTALL)
_TRAILING_COMMA_RE = re.compile(r",\s*([\]}])")


def _loads(candidate: str) -> Any:
    try:
        return json.loads(candidate)
    except (json.JSONDecodeError, RecursionError):
        pass
    try:
        return json.loads(_TRAILING_COMMA_RE.sub(r"\1", candidate))
    except (json.JSONDecodeError, RecursionError):
        return None


def extract_json(text: Any, expect: type | tuple[type, ...] = (list, dict)) -> Any:
    """The first JSON value of type `expect` in an answer: inside ```json fences first (VLABench's rule), then the whole
    answer, then the first decodable `[`/`{` value anywhere. Trailing commas are forgiven. `None` when there is none.
    Never raises."""
    try:
        scope = answer_scope(text)
        candidates = [block.strip() for block in _FENCE_RE.findall(scope)] + [scope.strip()]
        for candidate in candidates:
            value = _loads(candidate)
            if isinstance(value, expect):
                return value
        decoder = json.JSONDecoder()
        for text in dict.fromkeys((scope, _TRAILING_COMMA_RE.sub(r"\1", scope))):
            for start, character in enumerate(text):
                if character not in "[{":
                    continue
                try:
                    value, _ = decoder.raw_decode(text, start)
                except (json.JSONDecodeError, RecursionError):
                    continue
                if isinstance(value, expect):
                    return value
    except Exception:  # noqa: BLE001
        pass
    return None
