"""The tolerant answer parsers: hand-made answers in every published format, and >= 1,000 generated texts each that
none of them may raise on."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval.reasoning import get_benchmark, paper_benchmarks
from eval.reasoning.base import Sample
from eval.reasoning.egoplan_bench2 import parse_egoplan_answer
from eval.reasoning.embodiedbench import EMPTY_PLAN, INVALID_PLAN, parse_plan
from eval.reasoning.erqa import interleave
from eval.reasoning.mmsi_bench import parse_mmsi_answer
from eval.reasoning.parsing import (
    PER_MILLE,
    PERCENT,
    PIXEL,
    UNIT,
    extract_choice,
    extract_json,
    parse_geometry,
    parse_number,
)
from eval.reasoning.prompts import strip_native_point_format
from eval.reasoning.vlabench import parse_skill_sequence
from eval.reasoning.vsi_bench import parse_vsi_answer

# ----------------------------------------------------------------------------------------------------------------------
# Points and boxes
# ----------------------------------------------------------------------------------------------------------------------


def test_vlaser_point_tags_are_per_mille_and_convert_with_the_official_arithmetic():
    geometry = parse_geometry("<ref>mug</ref><point>[[250, 500], [999, 1]]</point>")
    assert [(p.x, p.y, p.unit) for p in geometry.points] == [(250, 500, PER_MILLE), (999, 1, PER_MILLE)]
    # x / 1000 * W as VLASER's text2pts: 250 / 1000 * 640 = 160, 500 / 1000 * 480 = 240
    assert geometry.pixel_points(640, 480) == [[160.0, 240.0], [999 / 1000 * 640, 1 / 1000 * 480]]
    assert geometry.per_mille_points(640, 480) == [[250, 500], [999, 1]]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("<POINT>[[10, 20]]", [(10, 20, PER_MILLE)]),  # upper-case tag, no closing tag
        ("<point>[[0.5, 0.25]]</point>", [(0.5, 0.25, UNIT)]),  # 0-1 floats inside tags
        ("<point>[[0, 1]]</point>", [(0, 1, PER_MILLE)]),  # integers stay 0-1000
        ("<point>(12, 34)</point> and <point>[56, 78]</point>", [(12, 34, PER_MILLE), (56, 78, PER_MILLE)]),
        ('<point x="61.5" y="40.4" alt="mug">mug</point>', [(61.5, 40.4, PERCENT)]),  # Molmo, percent
        ('<points x1="10" y1="20" x2="30" y2="40">', [(10, 20, PERCENT), (30, 40, PERCENT)]),
        ('```json\n[{"point_2d": [376, 309], "label": "cup"}]\n```', [(376, 309, PER_MILLE)]),  # Qwen3 0-1000
        ('{"point": [0.3, 0.7]}', [(0.3, 0.7, UNIT)]),
        ("[(0.461, 0.527), (0.48, 0.5)]", [(0.461, 0.527, UNIT), (0.48, 0.5, UNIT)]),  # RoboPoint tuples
        ("Answer: [(1200, 40)]", [(1200, 40, PIXEL)]),  # over 1000: pixels
        ("<think>maybe (1, 2)</think><answer><point>[[3, 4]]</point></answer>", [(3, 4, PER_MILLE)]),
        ("I cannot find it.", []),
        ("[[1, 2, 3]]", []),  # three numbers: neither a point nor a box
    ],
)
def test_point_formats(answer, expected):
    assert [(p.x, p.y, p.unit) for p in parse_geometry(answer).points] == expected


def test_absolute_pixels_reads_qwen25_integers_as_pixels():
    geometry = parse_geometry('[{"point_2d": [376, 309]}]', absolute_pixels=True)
    assert geometry.pixel_points(640, 480) == [[376.0, 309.0]]
    assert parse_geometry("(0.5, 0.5)", absolute_pixels=True).pixel_points(640, 480) == [[320.0, 240.0]]


def test_boxes_are_read_from_tags_json_and_tuples():
    assert parse_geometry("<box>[[0, 0, 500, 1000]]</box>").pixel_boxes(64, 48) == [[0.0, 0.0, 32.0, 48.0]]
    assert parse_geometry('{"bbox_2d": [1, 2, 3, 4]}').boxes[0].unit == PER_MILLE
    assert parse_geometry("(0.1, 0.2, 0.3, 0.4)").boxes[0].to_pixels(100, 10) == pytest.approx((10, 2, 30, 4))


def test_percent_and_pixel_points_convert_to_the_grid():
    assert parse_geometry('<point x="50" y="25">').per_mille_points(64, 48) == [[500.0, 250.0]]
    assert parse_geometry("(1280, 960)").per_mille_points(2560, 1920) == [[500.0, 500.0]]


# ----------------------------------------------------------------------------------------------------------------------
# Multiple choice
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("B", "B"),
        (" (c) ", "C"),  # a lone letter may be lower case
        ("**D.**", "D"),
        ("The answer is C.", "C"),
        ("Answer: (A) the red one", "A"),
        ("I think B is wrong. Final answer: D", "D"),  # the last declaration wins
        ("\\boxed{B}", "B"),
        ("B. Because the cup is left.", "B"),
        ("Reasoning...\nC\n", "C"),
        ("A cup is on the table.", None),  # "A" as an article
        ("It could be (B) or maybe not", "B"),
        ("(A) or (B)", None),  # ambiguous
        ("E", None),  # not an offered choice
        ("", None),
        ("<think>A?</think>D", "D"),
    ],
)
def test_extract_choice(answer, expected):
    assert extract_choice(answer, "ABCD") == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("A. boil water", "A"),
        ("The best answer is D", "D"),
        ("Based on the video, pour tea.", "B"),  # the official regex takes the first capital A-D anywhere ...
        ("Considering the progress, I would go.", "C"),  # ... even inside words
        ("i would just wait here for a while and then do nothing at all ok", ""),  # > 10 words, no A-D
        ("Answer: d", ""),  # lower case is not matched
    ],
)
def test_egoplan_official_regex(answer, expected):
    assert parse_egoplan_answer(answer) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("The answer is ``B``", "B"),
        ("`C` is right", "C"),
        ("{D}", "D"),
        ("A dog is on the left.", ""),  # "A" followed by " word"
        ("So the answer: A", "A"),
        ("``E``", ""),
    ],
)
def test_mmsi_official_chain(answer, expected):
    assert parse_mmsi_answer(answer) == expected


# ----------------------------------------------------------------------------------------------------------------------
# Numbers, VSI-Bench
# ----------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("4", 4.0),
        ("13.4 square meters", 13.4),
        ("3.", 3.0),
        ("About 2,500 mm", 2500.0),  # fallback: first number anywhere
        ("three chairs", 3.0),  # fallback: number word
        ("inf", None),
        ("no idea", None),
    ],
)
def test_parse_number(answer, expected):
    assert parse_number(answer) == expected


def test_vsi_answers_follow_the_first_token_rule_with_fallbacks():
    assert parse_vsi_answer("B.", "route_planning") == {"text": "B", "number": None}
    assert parse_vsi_answer("(C) back", "object_rel_distance")["text"] == "C"
    assert parse_vsi_answer("4 chairs", "object_counting") == {"text": "4", "number": 4.0}


# ----------------------------------------------------------------------------------------------------------------------
# JSON: VLABench skill sequences, EmbodiedBench plans
# ----------------------------------------------------------------------------------------------------------------------


def test_skill_sequences():
    answer = 'Plan:\n```json\n[{"name": "pick", "params": {"target_entity_name": "3"}}, {"name": "lift"},]\n```'
    assert json.loads(parse_skill_sequence(answer)) == [
        {"name": "pick", "params": {"target_entity_name": 3}},
        {"name": "lift", "params": {}},
    ]
    assert parse_skill_sequence('[{"params": {}}]') == ""  # no name: format error
    assert parse_skill_sequence("pick the apple") == ""


def test_plans():
    plan = '{"visual_state_description": "", "executable_plan": [{"action_id": 2, "action_name": "x"}, {"action_id": "3"}]}'
    assert parse_plan(plan, 5) == [2, 3]
    assert parse_plan(plan, 3) == [2]  # cut before the first id outside the action list
    assert parse_plan(plan.replace('"action_id": 2', '"action_id": 9'), 5) == INVALID_PLAN
    assert parse_plan('{"executable_plan": []}', 5) == EMPTY_PLAN
    assert parse_plan("```json\n{'executable_plan': [1]}\n```", 5) == INVALID_PLAN  # not JSON
    assert extract_json('noise {"a": [1, 2,],} tail') == {"a": [1, 2]}


def test_erqa_images_go_at_their_character_offsets():
    assert interleave("Look: then. A or B?", 2, [6, 0]) == "<image>Look: <image>then. A or B?"
    assert interleave("Q?", 2, [0, 0]) == "Image-1: <image>\nImage-2: <image>\nQ?"


def test_native_format_suffix_is_replaced_by_vlaser_format():
    question = (
        "Find space. Your answer should be formatted as a list of tuples, i.e. [(x1, y1)], where each tuple contains "
        "the x and y coordinates of a point satisfying the conditions above. The coordinates should be between 0 and "
        "1, indicating the normalized pixel locations of the points in the image. Avoid the cup."
    )
    assert strip_native_point_format(question) == "Find space. Avoid the cup."


# ----------------------------------------------------------------------------------------------------------------------
# Never raise: >= 1,000 generated answers through every parser and every benchmark's `parse`
# ----------------------------------------------------------------------------------------------------------------------

FRAGMENTS = [
    "<point>",
    "</point>",
    "<box>",
    "</box>",
    "<ref>",
    "</ref>",
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "[[",
    "]]",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    ", ",
    ",",
    ".",
    "-",
    "0",
    "1",
    "0.5",
    "999",
    "1000",
    "1e309",
    "9" * 400,
    "-3.",
    ".7",
    "nan",
    "inf",
    "A",
    "B",
    "(C)",
    "``D``",
    "`",
    "Answer: ",
    "The answer is ",
    "\\boxed{",
    '"point_2d": ',
    '"bbox_2d": ',
    '"point": ',
    '<point x="',
    '" y="',
    '">',
    "```json\n",
    "```",
    '"executable_plan": ',
    '{"action_id": ',
    '"name": "pick"',
    '"params": {"target_entity_name": ',
    "three",
    " ",
    "\n",
]
ANSWERS = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=25).map("".join),
)


def _sample_for(name: str) -> Sample:
    reference = {
        "width": 64,
        "height": 48,
        "size": (64, 48),
        "question_type": "object_counting",
        "number_of_actions": 6,
        "points": [[500.0, 500.0]],
    }
    return Sample(id="x", prompt="<image>\nq", reference=reference)


BENCHMARKS = {name: get_benchmark(name) for name in paper_benchmarks()}
SAMPLES = {name: _sample_for(name) for name in BENCHMARKS}


def _finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return all(_finite(item) for item in value)
    return True


@settings(max_examples=1000, deadline=None)
@given(ANSWERS)
def test_no_parser_raises_on_any_answer(answer):
    geometry = parse_geometry(answer)
    assert all(math.isfinite(v) for p in geometry.points for v in (p.x, p.y))
    assert all(math.isfinite(v) for b in geometry.boxes for v in (b.x1, b.y1, b.x2, b.y2))
    assert _finite(geometry.pixel_points(64, 48)) and _finite(geometry.per_mille_points(64, 48))
    assert extract_choice(answer) in (None, "A", "B", "C", "D")
    number = parse_number(answer)
    assert number is None or math.isfinite(number)
    assert parse_egoplan_answer(answer) in ("", "A", "B", "C", "D")
    assert parse_mmsi_answer(answer) in ("", "A", "B", "C", "D")
    sequence = parse_skill_sequence(answer)
    assert sequence == "" or isinstance(json.loads(sequence), list)
    plan = parse_plan(answer, 6)
    assert plan in (INVALID_PLAN, EMPTY_PLAN) or all(0 <= action < 6 for action in plan)
    extract_json(answer)
    for name, benchmark in BENCHMARKS.items():
        prediction = benchmark.parse(answer, SAMPLES[name])
        json.dumps(prediction)  # JSON-able, for the predictions file
        assert _finite(prediction), name
