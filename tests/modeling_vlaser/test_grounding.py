"""Grounding text: `<ref>`, `<box>`, `<point>` with 0-1000 integer coordinates."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modeling_vlaser.grounding import (
    GroundedObject,
    format_boxes,
    format_points,
    format_ref,
    from_pixels,
    parse_boxes,
    parse_grounding,
    parse_points,
    parse_refs,
    to_pixels,
)

# ----------------------------------------------------------------------------------------------------------------------
# Formatting
# ----------------------------------------------------------------------------------------------------------------------


def test_format_boxes_and_points_use_the_internvl_layout():
    assert format_boxes([(120, 305, 410, 620)], ref="carrot") == "<ref>carrot</ref><box>[[120, 305, 410, 620]]</box>"
    assert format_boxes([(0, 0, 1000, 1000), (1, 2, 3, 4)]) == "<box>[[0, 0, 1000, 1000], [1, 2, 3, 4]]</box>"
    assert format_points([(512, 384), (250, 900)]) == "<point>[[512, 384], [250, 900]]</point>"
    assert format_points([[7, 8]], ref="  plate ") == "<ref>plate</ref><point>[[7, 8]]</point>"


def test_format_rejects_what_would_not_round_trip():
    with pytest.raises(ValueError, match=r"boxes\[0\]\[2\] must be in 0..1000, got 1001"):
        format_boxes([(0, 0, 1001, 5)])
    with pytest.raises(TypeError, match=r"points\[1\]\[0\] must be an integer"):
        format_points([(1, 2), (0.5, 3)])
    with pytest.raises(ValueError, match=r"boxes\[0\] must have 4 values"):
        format_boxes([(1, 2, 3)])
    with pytest.raises(ValueError, match="must not contain '<' or '>'"):
        format_ref("cup</ref>")
    with pytest.raises(ValueError, match="must not be empty"):
        format_points([(1, 2)], ref="   ")


# ----------------------------------------------------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------------------------------------------------


def test_parse_grounding_attaches_boxes_and_points_to_the_preceding_ref():
    text = (
        "<ref>carrot</ref><box>[[1, 2, 3, 4], [10, 20, 30, 40]]</box> is left of "
        "<ref>plate</ref><point>[[5, 6]]</point><box>[[7, 8, 9, 10]]</box>."
    )
    assert parse_grounding(text) == [
        GroundedObject("carrot", boxes=[(1, 2, 3, 4), (10, 20, 30, 40)]),
        GroundedObject("plate", boxes=[(7, 8, 9, 10)], points=[(5, 6)]),
    ]
    assert parse_refs(text) == ["carrot", "plate"]
    assert parse_boxes(text) == [(1, 2, 3, 4), (10, 20, 30, 40), (7, 8, 9, 10)]
    assert parse_points(text) == [(5, 6)]


def test_parse_without_ref_gives_an_unnamed_object():
    assert parse_grounding("<point>[[5, 6]]</point>") == [GroundedObject(None, points=[(5, 6)])]


@pytest.mark.parametrize(
    ("text", "points"),
    [
        ("<point>[[ 512 ,384 ] , [1,2]]</point>", [(512, 384), (1, 2)]),  # odd spacing
        ("<point>[512, 384]</point>", [(512, 384)]),  # single bracket
        ("<point>[[512, 384]]", [(512, 384)]),  # missing closing tag
        ("<POINT>[[512, 384]]</POINT>", [(512, 384)]),  # upper case
        ("<point>[(512, 384), (3, 4)]</point>", [(512, 384), (3, 4)]),  # tuples
        ("<point>[[12.5, 12.49]]</point>", [(13, 12)]),  # floats round half up
        ("<point>[[1200, -3]]</point>", [(1000, 0)]),  # clamped to the 0..1000 grid
        ("<point>[[1 2]]</point>", [(1, 2)]),  # space separated
        ("The points are [[100, 200], [300, 400]].", [(100, 200), (300, 400)]),  # no tag: bare pairs (Vlaser eval)
        ("<point>[[1, 2, 3]]</point> [[4, 5]]", []),  # a tagged answer ignores bare pairs; 3 values are no point
    ],
)
def test_parse_points_is_tolerant(text, points):
    assert parse_points(text) == points


@pytest.mark.parametrize(
    ("text", "boxes"),
    [
        ("<box>[10, 20, 30, 40]</box>", [(10, 20, 30, 40)]),
        ("<ref>cup<box>[[10, 20, 30, 40]]", [(10, 20, 30, 40)]),
        ("<box>[[10.4, 20.6, 30, 4e1]]</box>", []),  # exponents are not numbers of the format
        ("<box>[[0,0,1000,1000]]</box><box>[[1,1,2,2]]</box>", [(0, 0, 1000, 1000), (1, 1, 2, 2)]),
        ("box: [[10, 20, 30, 40]]", [(10, 20, 30, 40)]),
    ],
)
def test_parse_boxes_is_tolerant(text, boxes):
    assert parse_boxes(text) == boxes


def test_unclosed_ref_ends_at_the_next_tag():
    assert parse_refs("<ref> red cup <box>[[1, 2, 3, 4]]</box>") == ["red cup"]


@pytest.mark.parametrize(
    "garbage",
    ["", "no grounding here", "<ref></ref>", "</box></point>", "<box>[[a, b, c, d]]</box>", "[[", "9" * 500, None, 42],
)
def test_garbage_gives_empty_results(garbage):
    assert parse_grounding(garbage) == []
    assert parse_boxes(garbage) == []
    assert parse_points(garbage) == []
    assert parse_refs(garbage) == []


def test_overflowing_numbers_are_clamped_not_raised():
    # float("9" * 400) is inf; rounding inf would raise OverflowError.
    assert parse_points("<point>[[" + "9" * 400 + ", 5]]</point>") == [(1000, 5)]


# ----------------------------------------------------------------------------------------------------------------------
# Pixels
# ----------------------------------------------------------------------------------------------------------------------


def test_pixel_conversion_uses_width_for_x_and_height_for_y():
    # 640 x 480 image: x = 500/1000 * 640 = 320, y = 250/1000 * 480 = 120.
    assert to_pixels((500, 250), width=640, height=480) == (320.0, 120.0)
    assert to_pixels([(0, 0, 1000, 1000)], width=640, height=480) == [(0.0, 0.0, 640.0, 480.0)]
    assert from_pixels((320, 120), width=640, height=480) == (500, 250)
    # 1 px of 2000 = 0.5 -> rounds up to 1; 0.999 px -> 0.4995 -> 0.
    assert from_pixels((1, 0.999), width=2000, height=2000) == (1, 0)
    # Outside the image: clamped to its edges.
    assert from_pixels([(700, -3, 10, 10)], width=640, height=480) == [(1000, 0, 16, 21)]


def test_pixel_conversion_rejects_bad_sizes_and_layouts():
    with pytest.raises(ValueError, match="width must be a positive"):
        to_pixels((1, 2), width=0, height=10)
    with pytest.raises(ValueError, match=r"a point \(x, y\) or a box"):
        from_pixels((1, 2, 3), width=10, height=10)


# ----------------------------------------------------------------------------------------------------------------------
# Properties
# ----------------------------------------------------------------------------------------------------------------------

coordinate = st.integers(min_value=0, max_value=1000)
boxes_strategy = st.lists(st.tuples(coordinate, coordinate, coordinate, coordinate), max_size=3)
points_strategy = st.lists(st.tuples(coordinate, coordinate), max_size=3)
ref_strategy = (
    st.text(st.characters(exclude_characters="<>", exclude_categories=("Cs",)), min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool)
)
filler_strategy = st.sampled_from(["", " ", " and ", ".\n", " is next to "])


@st.composite
def grounded_answers(draw):
    """A text built with the formatters and the objects it must parse back to."""
    objects, parts = [], []
    if draw(st.booleans()):  # an unnamed object may only come first: later ones would join the preceding ref
        boxes, points = draw(boxes_strategy), draw(points_strategy)
        parts.append(format_boxes(boxes) + format_points(points))
        if boxes or points:
            objects.append(GroundedObject(None, boxes, points))
    for _ in range(draw(st.integers(0, 3))):
        ref, boxes, points = draw(ref_strategy), draw(boxes_strategy), draw(points_strategy)
        text = format_ref(ref)
        if boxes or draw(st.booleans()):
            text += format_boxes(boxes)
        if points or draw(st.booleans()):
            text += format_points(points)
        parts.append(draw(filler_strategy) + text)
        objects.append(GroundedObject(ref, boxes, points))
    return "".join(parts), objects


@settings(max_examples=1000, deadline=None)
@given(st.text())
def test_parsers_never_raise_on_arbitrary_text(text):
    for grounded in parse_grounding(text):
        assert grounded.ref is None or isinstance(grounded.ref, str)
        assert all(len(box) == 4 and all(0 <= v <= 1000 for v in box) for box in grounded.boxes)
        assert all(len(point) == 2 and all(0 <= v <= 1000 for v in point) for point in grounded.points)
    parse_boxes(text)
    parse_points(text)
    parse_refs(text)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=8),
            st.sampled_from(["<ref>", "</ref>", "<box>", "</box>", "<point>", "</point>", "[", "]", "(", ",", " "]),
            st.integers(-2000, 2000).map(str),
            st.floats(allow_nan=True, allow_infinity=True).map(str),
        ),
        max_size=30,
    ).map("".join)
)
def test_parsers_never_raise_on_grounding_like_garbage(text):
    for grounded in parse_grounding(text):
        assert all(0 <= v <= 1000 for box in grounded.boxes for v in box)
        assert all(0 <= v <= 1000 for point in grounded.points for v in point)


@settings(max_examples=1000, deadline=None)
@given(grounded_answers())
def test_formatted_answers_round_trip_exactly(answer):
    text, objects = answer
    assert parse_grounding(text) == objects
    assert parse_boxes(text) == [box for grounded in objects for box in grounded.boxes]
    assert parse_points(text) == [point for grounded in objects for point in grounded.points]
    assert parse_refs(text) == [grounded.ref for grounded in objects if grounded.ref is not None]
