"""The per-frame annotation record (DESIGN.md) as a checked `Scene`, and the spatial facts derived from it.

Why a parser of its own: the record comes from simulators written by other people and from hand-made scenes, and a
single wrong field (a box with three numbers, a grasped object that does not exist) would otherwise become a wrong
training answer. `parse_scene` checks every field the engine reads and raises `AnnotationError`, which names the
field and what was expected; the engine skips that frame and counts the error.

Conventions the facts rely on (written here once, used by the QA families and the validator alike):

* `xyz_base` is in metres in the robot base frame: x forward (away from the robot), y to the robot's left, z up
  (ROS REP-103, ManiSkill and MuJoCo robots alike). Left/right/front/behind are therefore *from the robot's point of
  view*, independent of where the camera is; the questions say so.
* "A in front of B" means A is closer to the robot than B (smaller x), as a viewer standing at the robot would say.
* `bbox_visible`, `bbox_amodal` and `point` are pixels in the image of one camera: the record's first camera unless
  the engine is told another one. Distances are between object centres (`xyz_base`), rounded to whole centimetres.
* Every binary relation has a clearly-true region, a clearly-false region and a gap between them (see
  `SpatialThresholds`); in the gap the relation is `None` and no question is asked, so answers are never a coin flip
  of a few millimetres.
* With one arm, `gripper` is `{"open": bool, "grasped": name | null}`. With several arms it maps each gripper
  object's name to such a dict, e.g. `{"left gripper": {...}, "right gripper": {...}}`; a separate `grippers`
  dict keyed by gripper name or side (`"left"` -> object `"left gripper"`) is read too, and wins. Gripper objects
  have the category `gripper`.
* Object records that carry a `camera` field belong to that camera's view; only the chosen camera's are read.
* `phase_index` -1 means "no phase label" (the frame is kept; planning questions about it are not asked).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "GRIPPER_CATEGORY",
    "RELATIONS",
    "AnnotationError",
    "GripperState",
    "Scene",
    "SceneObject",
    "SpatialThresholds",
    "centimetres",
    "parse_scene",
    "relation",
]

GRIPPER_CATEGORY = "gripper"
CONTAINER_CATEGORIES = frozenset({"container", "basket", "bowl", "box", "bin", "pot", "cup", "drawer", "mug", "sink"})
RELATIONS = ("left_of", "right_of", "in_front_of", "behind", "above", "on", "inside", "near")


class AnnotationError(ValueError):
    """A record field is missing or malformed. `field` is the path (e.g. `objects[2].bbox_visible`)."""

    def __init__(self, field: str, expected: str, got: Any = None, *, missing: bool = False) -> None:
        self.field = field
        shown = "nothing (missing)" if missing else repr(got)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        super().__init__(f"annotations.{field}: expected {expected}, got {shown}")

    @property
    def field_pattern(self) -> str:
        """The field with list indices replaced by `*`, so errors can be counted by kind."""
        return re.sub(r"\[\d+\]", "[*]", self.field)


@dataclass(frozen=True)
class SpatialThresholds:
    """Where each spatial relation is clearly true or clearly false (metres); the gap in between is not asked.

    The defaults suit tabletop objects of 2–20 cm. They are part of the dataset recipe (the card lists them).
    """

    side_margin: float = 0.03
    """left/right/front/behind hold when the centres differ by at least this much along that axis."""
    above_min_dz: float = 0.03
    """`above`: A's centre at least this much higher than B's ..."""
    above_max_horizontal: float = 0.10
    """... and horizontally within this distance. Clearly not above: A lower than B by `above_min_dz`."""
    on_max_horizontal: float = 0.05
    """`on` (and `inside` a container): horizontally within this distance ..."""
    on_dz: tuple[float, float] = (0.003, 0.08)
    """... with A's centre this much higher than B's (for containers: `inside_dz`)."""
    inside_dz: tuple[float, float] = (-0.05, 0.08)
    not_on_horizontal: float = 0.10
    """Clearly not on/inside: horizontally farther than this, or vertically outside `not_on_dz`."""
    not_on_dz: tuple[float, float] = (-0.06, 0.15)
    near_max: float = 0.10
    """`near`: centres closer than this; clearly not near: farther than `far_min`."""
    far_min: float = 0.20
    closer_min_gap: float = 0.02
    """"Which is closer" is asked only when the two distances differ by at least this much."""
    size_ratio: float = 1.3
    """"Which looks bigger" is asked only when one amodal box area is at least this many times the other."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SceneObject:
    name: str
    category: str
    bbox_visible: tuple[float, float, float, float] | None
    bbox_amodal: tuple[float, float, float, float] | None
    point: tuple[float, float] | None
    visible_fraction: float
    xyz_base: tuple[float, float, float]

    @property
    def is_gripper(self) -> bool:
        return self.category == GRIPPER_CATEGORY

    @property
    def is_container(self) -> bool:
        return self.category in CONTAINER_CATEGORIES

    def visible(self, min_fraction: float) -> bool:
        """Whether questions about the object's place in the image can be asked: it has a visible box and at least
        `min_fraction` of it shows (a sliver behind another object is not a fair grounding target)."""
        return self.bbox_visible is not None and self.visible_fraction >= min_fraction


@dataclass(frozen=True, slots=True)
class GripperState:
    name: str
    """The gripper object's name ("gripper" when the record has no gripper object)."""
    open: bool
    grasped: str | None
    has_object: bool
    """Whether an object of category `gripper` with this name is in the record (grounding needs it)."""


@dataclass(slots=True)
class Scene:
    """One frame's annotation record, checked. `objects` keeps the record's order."""

    objects: tuple[SceneObject, ...]
    by_name: dict[str, SceneObject]
    grippers: tuple[GripperState, ...]
    phase: str
    phase_index: int
    success: bool
    camera: str
    width: int
    height: int

    def object(self, name: str) -> SceneObject:
        try:
            return self.by_name[name]
        except KeyError:
            raise KeyError(f"no object named {name!r} in the scene; objects: {list(self.by_name)}") from None

    def gripper(self, name: str) -> GripperState:
        for state in self.grippers:
            if state.name == name:
                return state
        raise KeyError(f"no gripper named {name!r}; grippers: {[g.name for g in self.grippers]}")

    def items(self, min_fraction: float) -> list[SceneObject]:
        """Visible objects that are not grippers (what "the objects in the scene" means in questions)."""
        return [o for o in self.objects if not o.is_gripper and o.visible(min_fraction)]


# ------------------------------------------------------------------------------------------------------- parsing
def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _numbers(value: Any, count: int, field: str, expected: str, *, nullable: bool) -> tuple[float, ...] | None:
    if value is None and nullable:
        return None
    if isinstance(value, (list, tuple)) and len(value) == count:
        # Fast path for what JSON gives (plain int/float; `type(...) is` also refuses bools), the general check
        # (numpy scalars from an in-memory record) otherwise.
        try:
            if all(type(v) is float or type(v) is int for v in value):
                if math.isfinite(sum(value)):
                    return tuple(map(float, value))
            elif all(_number(v) for v in value):
                return tuple(float(v) for v in value)
        except OverflowError:  # an integer beyond float range
            pass
    raise AnnotationError(field, ("null or " if nullable else "") + expected, value)


def _box(value: Any, field: str, *, nullable: bool) -> tuple[float, float, float, float] | None:
    expected = "[x1, y1, x2, y2] (4 finite pixel numbers, x1 <= x2, y1 <= y2)"
    box = _numbers(value, 4, field, expected, nullable=nullable)
    if box is not None and (box[2] < box[0] or box[3] < box[1]):
        raise AnnotationError(field, expected, value)
    return box  # type: ignore[return-value]


def _required(record: Mapping[str, Any], key: str, field: str, expected: str) -> Any:
    if key not in record:
        raise AnnotationError(field, expected, missing=True)
    return record[key]


def _parse_object(raw: Any, index: int) -> SceneObject:
    where = f"objects[{index}]"
    if not isinstance(raw, Mapping):
        raise AnnotationError(where, "an object record (a dict)", raw)
    name = _required(raw, "name", f"{where}.name", "a non-empty string")
    if not isinstance(name, str) or not name.strip() or "<" in name or ">" in name:
        raise AnnotationError(f"{where}.name", "a non-empty string without '<' or '>'", name)
    category = _required(raw, "category", f"{where}.category", "a non-empty string")
    if not isinstance(category, str) or not category.strip():
        raise AnnotationError(f"{where}.category", "a non-empty string", category)
    bbox_visible = _box(
        _required(raw, "bbox_visible", f"{where}.bbox_visible", "null or a box"), f"{where}.bbox_visible", nullable=True
    )
    bbox_amodal = _box(raw.get("bbox_amodal"), f"{where}.bbox_amodal", nullable=True)
    point = _numbers(raw.get("point"), 2, f"{where}.point", "[u, v] (2 finite pixel numbers)", nullable=True)
    fraction = raw.get("visible_fraction", 1.0 if bbox_visible is not None else 0.0)
    if not _number(fraction) or not -1e-6 <= fraction <= 1 + 1e-6:
        raise AnnotationError(f"{where}.visible_fraction", "a number in [0, 1]", fraction)
    xyz = _numbers(
        _required(raw, "xyz_base", f"{where}.xyz_base", "[x, y, z] metres"),
        3,
        f"{where}.xyz_base",
        "[x, y, z] (3 finite numbers, metres in the robot base frame)",
        nullable=False,
    )
    return SceneObject(
        name=name.strip(),
        category=category.strip(),
        bbox_visible=bbox_visible,
        bbox_amodal=bbox_amodal,
        point=point,  # type: ignore[arg-type]
        visible_fraction=float(fraction),
        xyz_base=xyz,  # type: ignore[arg-type]
    )


def _gripper_state(raw: Any, field: str, name: str, by_name: Mapping[str, SceneObject]) -> GripperState:
    if not isinstance(raw, Mapping):
        raise AnnotationError(field, '{"open": bool, "grasped": object name | null}', raw)
    is_open = _required(raw, "open", f"{field}.open", "a bool")
    if not isinstance(is_open, bool):
        raise AnnotationError(f"{field}.open", "a bool", is_open)
    grasped = raw.get("grasped")
    if grasped is not None and (not isinstance(grasped, str) or grasped not in by_name):
        raise AnnotationError(f"{field}.grasped", f"null or the name of an object in objects {list(by_name)}", grasped)
    has_object = name in by_name and by_name[name].is_gripper
    return GripperState(name=name, open=is_open, grasped=grasped, has_object=has_object)


def _gripper_name(key: Any, by_name: Mapping[str, SceneObject]) -> str | None:
    """The gripper object a per-arm key refers to: its own name, or `"<key> gripper"` (keys such as "left")."""
    for name in (key, f"{key} gripper"):
        if isinstance(name, str) and name in by_name and by_name[name].is_gripper:
            return name
    return None


def _parse_grippers(record: Mapping[str, Any], by_name: Mapping[str, SceneObject]) -> tuple[GripperState, ...]:
    # Per-arm states may come as `gripper: {name: state}` or, beside a combined `gripper: {open, grasped}`, as
    # `grippers: {side: state}` (the ALOHA recorder's form); the per-arm form wins because it says which arm holds.
    field_name = "grippers" if isinstance(record.get("grippers"), Mapping) else "gripper"
    raw = record.get(field_name)
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise AnnotationError(field_name, '{"open", "grasped"} or {gripper name: {"open", "grasped"}}', raw)
    if field_name == "gripper" and "open" in raw:  # one arm
        names = [o.name for o in by_name.values() if o.is_gripper]
        name = names[0] if len(names) == 1 else "gripper"
        return (_gripper_state(raw, "gripper", name, by_name),)
    states = []
    for key, state in raw.items():
        name = _gripper_name(key, by_name)
        if name is None:
            raise AnnotationError(
                f"{field_name}[{key!r}]",
                f"a key naming an object of category 'gripper' (or '<key> gripper'); objects: {list(by_name)}",
                key,
            )
        states.append(_gripper_state(state, f"{field_name}[{key!r}]", name, by_name))
    return tuple(states)


def _parse_camera(raw: Any, camera: str | None) -> tuple[str, int, int]:
    if not isinstance(raw, Mapping) or not raw:
        raise AnnotationError(
            "camera", '{name: {"K": 3x3, "T_world_cam": 4x4, "size": [w, h]}} with one camera or more', raw
        )
    name = camera if camera is not None else next(iter(raw))
    if name not in raw:
        raise AnnotationError("camera", f"a camera named {name!r} (the one the boxes refer to)", list(raw))
    spec = raw[name]
    if not isinstance(spec, Mapping):
        raise AnnotationError(f"camera.{name}", '{"K", "T_world_cam", "size"}', spec)
    size = _required(spec, "size", f"camera.{name}.size", "[width, height] in pixels")
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        raise AnnotationError(f"camera.{name}.size", "[width, height] (2 positive integers)", size)
    for key, rows in (("K", 3), ("T_world_cam", 4)):
        matrix = spec.get(key)
        if matrix is not None and (
            not isinstance(matrix, (list, tuple))
            or len(matrix) != rows
            or not all(isinstance(r, (list, tuple)) and len(r) == rows and all(_number(v) for v in r) for r in matrix)
        ):
            raise AnnotationError(f"camera.{name}.{key}", f"a {rows}x{rows} matrix of finite numbers", matrix)
    return name, int(size[0]), int(size[1])


def parse_scene(record: Any, camera: str | None = None) -> Scene:
    """Check one frame's annotation record and return it as a `Scene`.

    Args:
        record: The parsed JSON record (DESIGN.md "Episodes and annotations").
        camera: The camera the boxes and points refer to; default the record's first camera.

    Raises:
        AnnotationError: naming the first field that is missing or malformed.
    """
    if record is None:
        raise AnnotationError("<record>", "an annotation record (a dict)", None, missing=True)
    if not isinstance(record, Mapping):
        raise AnnotationError("<record>", "an annotation record (a dict)", record)
    camera_name, width, height = _parse_camera(_required(record, "camera", "camera", "a camera dict"), camera)
    raw_objects = _required(record, "objects", "objects", "a list of object records")
    if not isinstance(raw_objects, (list, tuple)):
        raise AnnotationError("objects", "a list of object records", raw_objects)
    # Records of several cameras may list every object once per camera, tagged with `camera`; keep this camera's.
    kept = [
        (i, raw)
        for i, raw in enumerate(raw_objects)
        if not (isinstance(raw, Mapping) and "camera" in raw and raw["camera"] != camera_name)
    ]
    objects = tuple(_parse_object(raw, i) for i, raw in kept)
    by_name: dict[str, SceneObject] = {}
    for (i, _), obj in zip(kept, objects, strict=True):
        if obj.name in by_name:
            raise AnnotationError(f"objects[{i}].name", f"a name unique within camera {camera_name!r}", obj.name)
        by_name[obj.name] = obj
    grippers = _parse_grippers(record, by_name)
    phase = _required(record, "phase", "phase", "a non-empty string")
    if not isinstance(phase, str) or not phase.strip():
        raise AnnotationError("phase", "a non-empty string", phase)
    phase_index = _required(record, "phase_index", "phase_index", "an integer >= 0 (or -1: no phase label)")
    if not isinstance(phase_index, int) or isinstance(phase_index, bool) or phase_index < -1:
        raise AnnotationError("phase_index", "an integer >= 0 (or -1: no phase label)", phase_index)
    success = _required(record, "success", "success", "a bool")
    if not isinstance(success, bool):
        raise AnnotationError("success", "a bool", success)
    return Scene(
        objects=objects,
        by_name=by_name,
        grippers=grippers,
        phase=phase.strip(),
        phase_index=phase_index,
        success=success,
        camera=camera_name,
        width=width,
        height=height,
    )


# ------------------------------------------------------------------------------------------------------- geometry
def centimetres(metres: float) -> int:
    """Round to whole centimetres, halves up (never banker's rounding: 2.5 cm reads as 3 cm)."""
    return int(math.floor(metres * 100.0 + 0.5))


def distance(a: SceneObject, b: SceneObject) -> float:
    return math.dist(a.xyz_base, b.xyz_base)


def horizontal_distance(a: SceneObject, b: SceneObject) -> float:
    return math.hypot(a.xyz_base[0] - b.xyz_base[0], a.xyz_base[1] - b.xyz_base[1])


def _side(delta: float, margin: float) -> bool | None:
    if delta >= margin:
        return True
    if delta <= -margin:
        return False
    return None


def relation(a: SceneObject, b: SceneObject, name: str, thresholds: SpatialThresholds) -> bool | None:
    """Whether relation `name` (one of `RELATIONS`) holds for A relative to B: True, False, or None when too close
    to call. `inside` is only defined for containers B; `on` only for non-containers (use `support`)."""
    t = thresholds
    dx = a.xyz_base[0] - b.xyz_base[0]
    dy = a.xyz_base[1] - b.xyz_base[1]
    dz = a.xyz_base[2] - b.xyz_base[2]
    if name == "left_of":
        return _side(dy, t.side_margin)
    if name == "right_of":
        return _side(-dy, t.side_margin)
    if name == "in_front_of":
        return _side(-dx, t.side_margin)
    if name == "behind":
        return _side(dx, t.side_margin)
    if name == "above":
        if dz >= t.above_min_dz and math.hypot(dx, dy) <= t.above_max_horizontal:
            return True
        if dz <= -t.above_min_dz:
            return False
        return None
    if name in ("on", "inside"):
        if (name == "inside") != b.is_container:
            return None
        horizontal = math.hypot(dx, dy)
        low, high = t.inside_dz if name == "inside" else t.on_dz
        if horizontal <= t.on_max_horizontal and low <= dz <= high:
            return True
        if horizontal >= t.not_on_horizontal or dz <= t.not_on_dz[0] or dz >= t.not_on_dz[1]:
            return False
        return None
    if name == "near":
        d = math.sqrt(dx * dx + dy * dy + dz * dz)
        if d <= t.near_max:
            return True
        if d >= t.far_min:
            return False
        return None
    raise ValueError(f"unknown relation {name!r}; expected one of {RELATIONS}")


def support(a: SceneObject, b: SceneObject, thresholds: SpatialThresholds) -> bool | None:
    """A rests on B (B a surface) or is inside B (B a container)."""
    return relation(a, b, "inside" if b.is_container else "on", thresholds)


def box_area(box: Sequence[float] | None) -> float:
    if box is None:
        return 0.0
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])
