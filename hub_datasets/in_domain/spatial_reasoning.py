"""Spatial-reasoning QA from the objects' 3-D positions (`xyz_base`) and amodal boxes.

Relations (left/right/front/behind from the robot's point of view, above, on, inside, near), distances in whole
centimetres between objects and to the gripper, counting, relative size in the image, which object is closer to the
gripper, and what is under / inside something. The facts and their thresholds live in `annotations.py` (one
definition for the engine and the validator); relations too close to call are not asked.
"""

from __future__ import annotations

import random
from collections import Counter

from .annotations import (
    SceneObject,
    SpatialThresholds,
    box_area,
    centimetres,
    distance,
    relation,
    support,
)
from .qa import Candidate, FrameContext, QAPair, join, pick, plural, the

__all__ = ["POSITION_PHRASES", "RELATION_PHRASES", "candidates", "relative_position_phrases"]

RELATION_PHRASES = {
    "left_of": "to the left of",
    "right_of": "to the right of",
    "in_front_of": "in front of",
    "behind": "behind",
    "above": "above",
    "on": "on",
    "inside": "inside",
    "near": "near",
}
POSITION_PHRASES = (
    "to the left of",
    "to the right of",
    "in front of",
    "behind",
    "on top of",
    "inside",
    "above",
    "below",
)
ROBOT_VIEW = ("From the robot's point of view, ", "Seen from the robot, ", "From the robot's perspective, ")

RELATION_QUESTIONS = {
    "left_of": ("{view}is {a} to the left of {b}?", "Is {a} on the robot's left side of {b}?"),
    "right_of": ("{view}is {a} to the right of {b}?", "Is {a} on the robot's right side of {b}?"),
    "in_front_of": (
        "{view}is {a} in front of {b}?",
        "Is {a} in front of {b}, that is, nearer to the robot along its forward direction?",
    ),
    "behind": ("{view}is {a} behind {b}?", "Is {a} behind {b}, farther from the robot along its forward direction?"),
    "above": ("Is {a} above {b}?", "Is {a} held over {b}?", "Is {a} higher than {b} and over it?"),
    "on": ("Is {a} on {b}?", "Is {a} resting on {b}?", "Has {a} been placed on {b}?"),
    "inside": ("Is {a} inside {b}?", "Is {a} in {b}?", "Has {a} been put into {b}?"),
    "near": ("Is {a} near {b}?", "Is {a} close to {b}?", "Are {a} and {b} next to each other?"),
}
YES = ("Yes.", "Yes, it is.", "Yes, {a} is {phrase} {b}.")
NO = ("No.", "No, it is not.", "No, {a} is not {phrase} {b}.")
POSITION_QUESTIONS = (
    "Where is {a} relative to {b}, from the robot's point of view?",
    "Describe where {a} is with respect to {b}, as the robot sees it.",
    "Seen from the robot, how is {a} positioned relative to {b}?",
)
DISTANCE_QUESTIONS = (
    "How far is {a} from {b}?",
    "What is the distance between {a} and {b} in centimetres?",
    "Estimate the distance from {a} to {b}.",
    "About how many centimetres separate {a} and {b}?",
)
DISTANCE_ANSWERS = ("About {n} cm.", "{A} is about {n} cm from {b}.", "Roughly {n} cm.")
COUNT_QUESTIONS = (
    "How many objects are in the scene, not counting the robot?",
    "How many objects can you see on the table?",
    "Count the objects in front of the robot.",
)
COUNT_CATEGORY_QUESTIONS = ("How many {kinds} are there?", "How many {kinds} can you see?", "Count the {kinds}.")
LARGER_QUESTIONS = (
    "Which looks bigger in the image, {a} or {b}?",
    "Which of {a} and {b} takes up more of the image?",
    "In this image, is {a} or {b} larger?",
)
LARGER_ANSWERS = ("{X}.", "{X} looks bigger.", "{X} appears larger in the image.")
CLOSER_QUESTIONS = (
    "Which is closer to {g}, {a} or {b}?",
    "Which object is nearer to {g}: {a} or {b}?",
    "Is {a} or {b} closer to {g}?",
)
CLOSER_ANSWERS = ("{X}.", "{X} is closer.", "{X}, about {n} cm away.")
UNDER_QUESTIONS = ("What is under {a}?", "What is {a} resting on?", "What object is beneath {a}?")
INSIDE_QUESTIONS = ("What is inside {c}?", "What is in {c}?", "Which objects have been put into {c}?")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def relative_position_phrases(a: SceneObject, b: SceneObject, t: SpatialThresholds) -> list[str] | None:
    """The canonical phrases (subset of `POSITION_PHRASES`) that describe A relative to B, or None when any part of
    the description would be too close to call."""
    rest = support(a, b, t)
    if rest is None:
        return None
    if rest:
        return ["inside" if b.is_container else "on top of"]
    phrases = []
    for left, right, first, second in (
        ("left_of", "right_of", "to the left of", "to the right of"),
        ("in_front_of", "behind", "in front of", "behind"),
    ):
        if relation(a, b, left, t):
            phrases.append(first)
        elif relation(a, b, right, t):
            phrases.append(second)
    if relation(a, b, "above", t):
        phrases.append("above")
    elif relation(b, a, "above", t):
        phrases.append("below")
    return phrases or None


def _render_relation(ctx: FrameContext, rng: random.Random, a: str, b: str, name: str) -> QAPair | None:
    scene = ctx.scene
    value = relation(scene.by_name[a], scene.by_name[b], name, ctx.thresholds)
    if value is None:
        ctx.skipped(f"spatial_reasoning.relation: {name} too close to call")
        return None
    values = {"a": the(a), "b": the(b), "view": rng.choice(ROBOT_VIEW), "phrase": RELATION_PHRASES[name]}
    question = _cap(pick(rng, RELATION_QUESTIONS[name], **values))
    answer = pick(rng, YES if value else NO, **values)
    return QAPair(question, answer, {"kind": "relation", "a": a, "b": b, "relation": name})


def _render_position(ctx: FrameContext, rng: random.Random, a: str, b: str) -> QAPair | None:
    phrases = relative_position_phrases(ctx.scene.by_name[a], ctx.scene.by_name[b], ctx.thresholds)
    if phrases is None:
        ctx.skipped("spatial_reasoning.relative_position: too close to call")
        return None
    question = pick(rng, POSITION_QUESTIONS, a=the(a), b=the(b))
    answer = f"{_cap(the(a))} is {' and '.join(phrases)} {the(b)}."
    return QAPair(question, answer, {"kind": "relative_position", "a": a, "b": b})


def _render_distance(ctx: FrameContext, rng: random.Random, a: str, b: str) -> QAPair:
    n = centimetres(distance(ctx.scene.by_name[a], ctx.scene.by_name[b]))
    question = _cap(pick(rng, DISTANCE_QUESTIONS, a=the(a), b=the(b)))
    answer = pick(rng, DISTANCE_ANSWERS, n=str(n), A=_cap(the(a)), b=the(b))
    return QAPair(question, answer, {"kind": "distance", "a": a, "b": b})


def _render_count(ctx: FrameContext, rng: random.Random, category: str | None) -> QAPair:
    if category is None:
        n = len(ctx.items)
        question = rng.choice(COUNT_QUESTIONS)
        answer = rng.choice((f"{n}.", f"There are {n} objects." if n != 1 else "There is 1 object.", f"I count {n}."))
    else:
        n = sum(1 for o in ctx.items if o.category == category)
        question = pick(rng, COUNT_CATEGORY_QUESTIONS, kinds=plural(category))
        answer = rng.choice((f"{n}.", f"There are {n} {plural(category)}." if n != 1 else f"There is 1 {category}."))
    return QAPair(question, answer, {"kind": "count", "category": category})


def _render_larger(ctx: FrameContext, rng: random.Random, a: str, b: str) -> QAPair | None:
    area_a = box_area(ctx.scene.by_name[a].bbox_amodal)
    area_b = box_area(ctx.scene.by_name[b].bbox_amodal)
    ratio = ctx.thresholds.size_ratio
    if area_a >= ratio * area_b:
        winner = a
    elif area_b >= ratio * area_a:
        winner = b
    else:
        ctx.skipped("spatial_reasoning.larger: sizes too similar")
        return None
    question = pick(rng, LARGER_QUESTIONS, a=the(a), b=the(b))
    return QAPair(question, pick(rng, LARGER_ANSWERS, X=_cap(the(winner))), {"kind": "larger", "a": a, "b": b})


def _render_closer(ctx: FrameContext, rng: random.Random, a: str, b: str, reference: str) -> QAPair | None:
    scene = ctx.scene
    ref = scene.by_name[reference]
    d_a, d_b = distance(scene.by_name[a], ref), distance(scene.by_name[b], ref)
    if abs(d_a - d_b) < ctx.thresholds.closer_min_gap:
        ctx.skipped("spatial_reasoning.closer: distances too similar")
        return None
    winner, d = (a, d_a) if d_a < d_b else (b, d_b)
    question = pick(rng, CLOSER_QUESTIONS, a=the(a), b=the(b), g=the(reference))
    answer = pick(rng, CLOSER_ANSWERS, X=_cap(the(winner)), n=str(centimetres(d)))
    return QAPair(question, answer, {"kind": "closer", "a": a, "b": b, "reference": reference})


def _render_under(ctx: FrameContext, rng: random.Random, a: str) -> QAPair | None:
    obj = ctx.scene.by_name[a]
    below = []
    for other in ctx.items:
        if other.name == a:
            continue
        value = support(obj, other, ctx.thresholds)
        if value is None:
            ctx.skipped("spatial_reasoning.under: too close to call")
            return None
        if value:
            below.append(other.name)
    question = pick(rng, UNDER_QUESTIONS, a=the(a))
    if below:
        answer = _cap(join([the(n) for n in below])) + "."
    else:
        answer = rng.choice(("Nothing.", f"Nothing; {the(a)} is not resting on any object."))
    return QAPair(question, answer, {"kind": "under", "a": a})


def _render_inside(ctx: FrameContext, rng: random.Random, container: str) -> QAPair | None:
    box = ctx.scene.by_name[container]
    contents = []
    for other in ctx.items:
        if other.name == container:
            continue
        value = relation(other, box, "inside", ctx.thresholds)
        if value is None:
            ctx.skipped("spatial_reasoning.inside: too close to call")
            return None
        if value:
            contents.append(other.name)
    question = pick(rng, INSIDE_QUESTIONS, c=the(container))
    if contents:
        answer = _cap(join([the(n) for n in contents])) + "."
    else:
        answer = rng.choice(("Nothing.", f"Nothing; {the(container)} is empty."))
    return QAPair(question, answer, {"kind": "inside", "container": container})


def candidates(ctx: FrameContext, rng: random.Random) -> list[Candidate]:
    """Every spatial question the frame supports (relations on ordered pairs of visible objects, etc.)."""
    items = ctx.items
    out: list[Candidate] = []
    names = [o.name for o in items]
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j:
                continue
            b_obj = items[j]
            rel = rng.choice(("left_of", "right_of", "in_front_of", "behind"))
            out.append(Candidate("relation", _render_relation, (a, b, rel)))
            out.append(Candidate("relation", _render_relation, (a, b, "inside" if b_obj.is_container else "on")))
            out.append(Candidate("relation", _render_relation, (a, b, rng.choice(("above", "near")))))
            out.append(Candidate("relative_position", _render_position, (a, b)))
            if i < j:
                out.append(Candidate("distance", _render_distance, (a, b)))
                if items[i].bbox_amodal is not None and b_obj.bbox_amodal is not None:
                    out.append(Candidate("larger", _render_larger, (a, b)))
    grippers = [
        g for g in ctx.scene.grippers if g.has_object and ctx.scene.by_name[g.name].visible(ctx.min_visible_fraction)
    ]
    for gripper in grippers:
        for a in names:
            out.append(Candidate("gripper_distance", _render_distance, (gripper.name, a)))
            out.append(Candidate("relation", _render_relation, (gripper.name, a, "above")))
        if len(names) >= 2:
            a, b = rng.sample(names, 2)
            out.append(Candidate("closer", _render_closer, (a, b, gripper.name)))
    if items:
        out.append(Candidate("count", _render_count, (None,)))
        categories = Counter(o.category for o in items)
        for category in categories:
            out.append(Candidate("count_category", _render_count, (category,)))
    for obj in items:
        if not obj.is_container:
            out.append(Candidate("under", _render_under, (obj.name,)))
        else:
            out.append(Candidate("inside", _render_inside, (obj.name,)))
    return out
