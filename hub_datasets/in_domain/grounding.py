"""Grounding QA: boxes and points of named objects, of every object of a category, of the gripper, and of where the
manipulated object should go, in VLASER's `<ref>`/`<box>`/`<point>` format with 0–1000 coordinates.

Boxes come from `bbox_visible`, points from `point` (the record's pixel values, converted with
`modeling_vlaser.grounding.from_pixels`). Objects without a visible box (or with less than the minimum visible
fraction) are never asked about; the engine counts them per name.
"""

from __future__ import annotations

import random
from collections import defaultdict

from modeling_vlaser.grounding import format_boxes, format_points, from_pixels

from .annotations import SceneObject
from .qa import Candidate, FrameContext, QAPair, join, pick, plural, task_text, the

__all__ = ["candidates"]

BOX_HINTS = (
    ' Your answer should be formatted as "<ref>name</ref><box>[[x1, y1, x2, y2]]</box>". The box coordinates are '
    "normalized to integers between 0 and 1000.",
    " Answer with <box>[[x1, y1, x2, y2]]</box>, coordinates normalized to 0-1000.",
    " Give the box as [[x1, y1, x2, y2]] in 0-1000 image coordinates.",
)
POINT_HINTS = (
    ' Your answer should be formatted as "<point>[[x, y]]</point>". The point coordinates are normalized to '
    "integers between 0 and 1000.",
    " Answer with <point>[[x, y]]</point>, coordinates normalized to 0-1000.",
    " Give the point as [[x, y]] in 0-1000 image coordinates.",
)

BOX_ONE = (
    "Where is {obj} in the image?",
    "Give the bounding box of {obj}.",
    "Locate {obj}.",
    "Detect {obj} and output its bounding box.",
    "Find {obj} in this robot camera image.",
)
POINT_ONE = (
    "Point to {obj}.",
    "Where is {obj}? Answer with a point.",
    "Mark a point on {obj}.",
    "Which point in the image should the robot aim for to reach {obj}?",
)
BOX_MANY = (
    "Detect {objs}.",
    "Give the bounding boxes of {objs}.",
    "Locate {objs} in the image.",
)
POINT_MANY = (
    "Point to {objs}.",
    "Mark one point on each of {objs}.",
    "Where are {objs}? Answer with points.",
)
BOX_ALL = (
    "Detect every object on the table.",
    "List all the objects you can see with their bounding boxes.",
    "Find all the objects in the scene, excluding the robot.",
)
POINT_CATEGORY = (
    "Point to all the {kinds}.",
    "Mark every {kind} in the image.",
    "Where are the {kinds}? Give one point per {kind}.",
)
BOX_TARGET = (
    "Where should {moved} go? Answer with a bounding box.",
    "The task is to {task}. Which region should {moved} be moved to?",
    "Give the box of the place where {moved} should end up.",
)
POINT_TARGET = (
    "Point to where {moved} should be placed.",
    "The task is to {task}. Where should {moved} go? Answer with a point.",
    "Mark the spot the robot should bring {moved} to.",
)
BOX_GRIPPER = (
    "Where is {gripper}?",
    "Locate the robot's {name}.",
    "Give the bounding box of {gripper}.",
)
POINT_GRIPPER = (
    "Point to {gripper}.",
    "Mark a point on the robot's {name}.",
)


def _box(ctx: FrameContext, obj: SceneObject) -> tuple[int, ...]:
    return from_pixels(obj.bbox_visible, ctx.scene.width, ctx.scene.height)


def _point(ctx: FrameContext, obj: SceneObject) -> tuple[int, ...]:
    return from_pixels(obj.point, ctx.scene.width, ctx.scene.height)


def _boxes_answer(ctx: FrameContext, objects: list[SceneObject]) -> str:
    return "".join(format_boxes([_box(ctx, o)], ref=o.name) for o in objects)


def _points_answer(ctx: FrameContext, objects: list[SceneObject]) -> str:
    return "".join(format_points([_point(ctx, o)], ref=o.name) for o in objects)


def _render_box(ctx: FrameContext, rng: random.Random, names: tuple[str, ...]) -> QAPair:
    objects = [ctx.scene.by_name[n] for n in names]
    if len(objects) == 1:
        question = pick(rng, BOX_ONE, obj=the(names[0]))
    else:
        question = pick(rng, BOX_MANY, objs=join([the(n) for n in names]))
    claim = {"kind": "box", "objects": list(names), "role": "object" if len(names) == 1 else "objects"}
    return QAPair(question + rng.choice(BOX_HINTS), _boxes_answer(ctx, objects), claim)


def _render_point(ctx: FrameContext, rng: random.Random, names: tuple[str, ...]) -> QAPair:
    objects = [ctx.scene.by_name[n] for n in names]
    if len(objects) == 1:
        question = pick(rng, POINT_ONE, obj=the(names[0]))
    else:
        question = pick(rng, POINT_MANY, objs=join([the(n) for n in names]))
    claim = {"kind": "point", "objects": list(names), "role": "object" if len(names) == 1 else "objects"}
    return QAPair(question + rng.choice(POINT_HINTS), _points_answer(ctx, objects), claim)


def _render_all_boxes(ctx: FrameContext, rng: random.Random) -> QAPair:
    objects = sorted(ctx.items, key=lambda o: (o.bbox_visible[0], o.name))
    claim = {"kind": "box", "objects": [o.name for o in objects], "role": "all"}
    return QAPair(rng.choice(BOX_ALL) + rng.choice(BOX_HINTS), _boxes_answer(ctx, objects), claim)


def _render_category_points(ctx: FrameContext, rng: random.Random, category: str, names: tuple[str, ...]) -> QAPair:
    objects = [ctx.scene.by_name[n] for n in names]
    question = pick(rng, POINT_CATEGORY, kind=category, kinds=plural(category))
    answer = format_points([_point(ctx, o) for o in objects], ref=category)
    claim = {"kind": "point", "objects": list(names), "ref": category, "role": "category"}
    return QAPair(question + rng.choice(POINT_HINTS), answer, claim)


def _render_target(ctx: FrameContext, rng: random.Random, as_box: bool) -> QAPair:
    episode = ctx.episode
    target = ctx.scene.by_name[episode.target]
    values = {"moved": the(episode.moved), "task": task_text(episode.task)}
    claim = {"kind": "box" if as_box else "point", "objects": [target.name], "role": "target", "moved": episode.moved}
    if as_box:
        question = pick(rng, BOX_TARGET, **values) + rng.choice(BOX_HINTS)
        return QAPair(question, _boxes_answer(ctx, [target]), claim)
    question = pick(rng, POINT_TARGET, **values) + rng.choice(POINT_HINTS)
    return QAPair(question, _points_answer(ctx, [target]), claim)


def _render_gripper(ctx: FrameContext, rng: random.Random, name: str, as_box: bool) -> QAPair:
    gripper = ctx.scene.by_name[name]
    values = {"gripper": the(name), "name": name}
    claim = {"kind": "box" if as_box else "point", "objects": [name], "role": "gripper"}
    if as_box:
        return QAPair(pick(rng, BOX_GRIPPER, **values) + rng.choice(BOX_HINTS), _boxes_answer(ctx, [gripper]), claim)
    return QAPair(pick(rng, POINT_GRIPPER, **values) + rng.choice(POINT_HINTS), _points_answer(ctx, [gripper]), claim)


def candidates(ctx: FrameContext, rng: random.Random) -> list[Candidate]:
    """Every grounding question the frame supports (rendered lazily by the engine)."""
    items = ctx.items
    with_point = [o for o in items if o.point is not None]
    out = [Candidate("box", _render_box, ((o.name,),)) for o in items]
    out += [Candidate("point", _render_point, ((o.name,),)) for o in with_point]
    if len(items) >= 2:
        for _ in range(2):
            chosen = rng.sample(items, min(len(items), rng.randint(2, 3)))
            out.append(Candidate("boxes_multi", _render_box, (tuple(o.name for o in chosen),)))
        out.append(Candidate("boxes_all", _render_all_boxes))
    if len(with_point) >= 2:
        chosen = rng.sample(with_point, min(len(with_point), rng.randint(2, 3)))
        out.append(Candidate("points_multi", _render_point, (tuple(o.name for o in chosen),)))
    by_category: dict[str, list[str]] = defaultdict(list)
    for o in with_point:
        by_category[o.category].append(o.name)
    for category, names in by_category.items():
        if len(names) >= 2:
            ordered = sorted(names, key=lambda n: (ctx.scene.by_name[n].point[0], n))
            out.append(Candidate("points_category", _render_category_points, (category, tuple(ordered))))
    episode = ctx.episode
    if episode.moved is not None and episode.target is not None:
        target = ctx.scene.by_name.get(episode.target)
        if target is None or not target.visible(ctx.min_visible_fraction):
            ctx.skipped("grounding.target: target not visible")
        else:
            out.append(Candidate("target_box", _render_target, (True,)))
            if target.point is not None:
                out.append(Candidate("target_point", _render_target, (False,)))
    for gripper in ctx.scene.grippers:
        obj = ctx.scene.by_name.get(gripper.name)
        if not gripper.has_object or obj is None:
            continue
        if not obj.visible(ctx.min_visible_fraction):
            ctx.skipped("grounding.gripper: gripper not visible")
            continue
        out.append(Candidate("gripper_box", _render_gripper, (gripper.name, True)))
        if obj.point is not None:
            out.append(Candidate("gripper_point", _render_gripper, (gripper.name, False)))
    return out
