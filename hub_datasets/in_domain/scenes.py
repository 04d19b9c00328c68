"""Hand-made annotated scenes in the LeRobot v3 layout, until the simulators record real ones.

Why: the engine, the builder and their tests need episodes with the DESIGN.md annotation record, and the
simulators of issue 4 do not exist yet. These scenes are scripted pick-and-place episodes of box-shaped objects,
rendered with a pinhole camera and a painter's algorithm, so every box, point and visibility fraction in the record
is consistent with the image (a visible box is the bounding box of the object's visible pixels):

* `write_widowx_scene`: a WidowX-like tabletop (carrot, plate, spoon, towel, gripper, and a sponge outside the
  camera's view), tasks "put the carrot on the plate" and "put the spoon on the towel";
* `write_aloha_scene`: a bimanual scene (left and right grippers, red and blue blocks, a bowl); the left arm picks
  the red block, hands it over to the right arm, which puts it in the bowl.

Phases are approach, grasp, lift, (handover,) move, place, release. Some episodes fail on purpose ("miss": the
gripper closes beside the object; "drop": the object falls while carried) so failure questions have material, and
`bad_annotations=True` damages a few records the way a buggy recorder would (the engine must skip and count them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ..episodes import LeRobotEpisodeWriter

__all__ = ["Body", "PinholeCamera", "render", "write_aloha_scene", "write_demo_scenes", "write_widowx_scene"]


@dataclass
class Body:
    """An axis-aligned box in the robot base frame (metres)."""

    name: str
    category: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    color: tuple[int, int, int]

    def corners(self) -> np.ndarray:
        c, h = np.asarray(self.center), np.asarray(self.size) / 2
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
        return c + signs * h

    @property
    def bottom(self) -> float:
        return self.center[2] - self.size[2] / 2

    @property
    def top(self) -> float:
        return self.center[2] + self.size[2] / 2


@dataclass
class PinholeCamera:
    """An OpenCV-convention camera (x right, y down, z forward) at `position`, looking at `look_at`."""

    name: str
    width: int
    height: int
    position: tuple[float, float, float]
    look_at: tuple[float, float, float]
    focal_scale: float = 0.9
    rotation: np.ndarray = field(init=False)
    K: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        forward = np.subtract(self.look_at, self.position).astype(float)
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        self.rotation = np.stack([right, down, forward], axis=1)  # world-from-camera
        f = self.focal_scale * self.width
        self.K = np.array([[f, 0, self.width / 2], [0, f, self.height / 2], [0, 0, 1]])

    @property
    def T_world_cam(self) -> np.ndarray:
        transform = np.eye(4)
        transform[:3, :3] = self.rotation
        transform[:3, 3] = self.position
        return transform

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, dtype=float) - np.asarray(self.position)) @ self.rotation

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cam = self.to_camera(points)
        depth = cam[..., 2]
        uv = (cam[..., :2] / np.maximum(depth[..., None], 1e-6)) * self.K[0, 0] + self.K[:2, 2]
        return uv, depth

    def record(self) -> dict[str, Any]:
        return {"K": self.K.tolist(), "T_world_cam": self.T_world_cam.tolist(), "size": [self.width, self.height]}


def _hull(points: np.ndarray) -> list[tuple[float, float]]:
    """Convex hull (Andrew's monotone chain) of 2-D points."""
    pts = sorted(map(tuple, points.tolist()))
    if len(pts) <= 2:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _mask(polygon: Sequence[tuple[float, float]], width: int, height: int) -> np.ndarray:
    canvas = Image.new("L", (width, height), 0)
    if len(polygon) >= 3:
        ImageDraw.Draw(canvas).polygon(polygon, fill=1)
    return np.asarray(canvas, dtype=bool)


def _background(width: int, height: int) -> np.ndarray:
    rows = np.linspace(0, 1, height)[:, None, None]
    wall, table = np.array([150, 160, 170]), np.array([176, 140, 100])
    image = np.where(rows < 0.18, wall, table - 30 * rows)
    return np.broadcast_to(image, (height, width, 3)).astype(np.uint8).copy()


def render(bodies: Sequence[Body], camera: PinholeCamera) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Draw the bodies (lower ones first, then far before near) and return the image and each body's object record
    (`name`, `category`, `bbox_visible`, `bbox_amodal`, `point`, `visible_fraction`, `xyz_base`, `xyz_cam`)."""
    width, height = camera.width, camera.height
    image = _background(width, height)
    labels = np.full((height, width), -1, dtype=np.int16)
    polygons, amodal, areas = [], [], []
    for body in bodies:
        uv, depth = camera.project(body.corners())
        if (depth <= 0.01).any():
            polygons.append([])
            amodal.append(None)
            areas.append(0)
            continue
        polygon = _hull(uv)
        polygons.append(polygon)
        amodal.append([float(uv[:, 0].min()), float(uv[:, 1].min()), float(uv[:, 0].max()), float(uv[:, 1].max())])
        areas.append(int(_mask(polygon, width, height).sum()))
    depths = [float(camera.to_camera(np.asarray(b.center))[2]) for b in bodies]
    order = sorted(range(len(bodies)), key=lambda i: (round(bodies[i].bottom, 4), -depths[i]))
    for i in order:
        if not polygons[i]:
            continue
        mask = _mask(polygons[i], width, height)
        labels[mask] = i
        image[mask] = bodies[i].color
        top = bodies[i].corners()[1::2]  # the four +z corners
        top_uv, _ = camera.project(top)
        top_mask = _mask(_hull(top_uv), width, height) & mask
        image[top_mask] = np.minimum(255, np.asarray(bodies[i].color) * 1.15 + 12).astype(np.uint8)
    records = []
    for i, body in enumerate(bodies):
        ys, xs = np.nonzero(labels == i)
        visible = len(xs)
        if visible:
            bbox = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
            cx, cy = xs.mean(), ys.mean()
            nearest = int(np.argmin((xs - cx) ** 2 + (ys - cy) ** 2))
            point = [float(xs[nearest]) + 0.5, float(ys[nearest]) + 0.5]
        else:
            bbox = point = None
        records.append(
            {
                "name": body.name,
                "category": body.category,
                "bbox_visible": bbox,
                "bbox_amodal": amodal[i],
                "point": point,
                "visible_fraction": round(visible / areas[i], 4) if areas[i] else 0.0,
                "xyz_base": [round(v, 5) for v in body.center],
                "xyz_cam": [round(float(v), 5) for v in camera.to_camera(np.asarray(body.center))],
            }
        )
    return image, records


# ------------------------------------------------------------------------------------------------------ scripts
@dataclass
class _Keyframe:
    phase: str
    bodies: dict[str, Body]
    grippers: dict[str, dict[str, Any]]
    success: bool


def _lerp(a: Sequence[float], b: Sequence[float], t: float) -> tuple[float, float, float]:
    return tuple(float(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _place_items(rng: np.random.Generator, sizes: dict[str, tuple[float, float, float]], x_range, y_range, gap: float):
    """Random table positions at least `gap` apart (sequential rejection sampling, deterministic under `rng`)."""
    for _ in range(200):
        centers: dict[str, tuple[float, float, float]] = {}
        for name, size in sizes.items():
            for _ in range(200):
                candidate = (float(rng.uniform(*x_range)), float(rng.uniform(*y_range)), size[2] / 2)
                if all(math.dist(candidate[:2], other[:2]) >= gap for other in centers.values()):
                    centers[name] = candidate
                    break
            else:
                break
        if len(centers) == len(sizes):
            return centers
    raise RuntimeError("could not place the scene's objects without overlap")


class _Script:
    """Moves grippers and a carried object through phases and records one keyframe per step."""

    def __init__(self, bodies: dict[str, Body], grippers: dict[str, dict[str, Any]]) -> None:
        self.bodies = bodies
        self.grippers = grippers  # gripper name -> {"open": bool, "grasped": name | None}
        self.frames: list[_Keyframe] = []

    def snapshot(self, phase: str, success: bool = False) -> None:
        self.frames.append(
            _Keyframe(
                phase,
                {name: replace(body) for name, body in self.bodies.items()},
                {name: dict(state) for name, state in self.grippers.items()},
                success,
            )
        )

    def _carry(self, gripper: str) -> None:
        held = self.grippers[gripper]["grasped"]
        if held:
            g, obj = self.bodies[gripper], self.bodies[held]
            offset = obj.size[2] / 2 + g.size[2] / 2
            obj.center = (g.center[0], g.center[1], g.center[2] - offset)

    def move(self, gripper: str, goal: Sequence[float], steps: int, phase: str, success: bool = False) -> None:
        start = self.bodies[gripper].center
        for step in range(1, steps + 1):
            self.bodies[gripper].center = _lerp(start, goal, step / steps)
            self._carry(gripper)
            self.snapshot(phase, success)

    def above(self, name: str, height: float, gripper: str) -> tuple[float, float, float]:
        body = self.bodies[name]
        return (body.center[0], body.center[1], body.top + self.bodies[gripper].size[2] / 2 + height)

    def drop(self, gripper: str) -> None:
        held = self.grippers[gripper]["grasped"]
        self.grippers[gripper].update(grasped=None, open=True)
        obj = self.bodies[held]
        obj.center = (obj.center[0], obj.center[1], obj.size[2] / 2)


def _record(frame: _Keyframe, camera: PinholeCamera, phases: Sequence[str]) -> tuple[np.ndarray, dict[str, Any]]:
    image, objects = render(list(frame.bodies.values()), camera)
    grippers = frame.grippers
    # One arm: {"open", "grasped"}; several: gripper object name -> {"open", "grasped"} (annotations.py).
    if len(grippers) == 1:
        gripper_record: dict[str, Any] = dict(next(iter(grippers.values())))
    else:
        gripper_record = {name: dict(state) for name, state in grippers.items()}
    record = {
        "camera": {camera.name: camera.record()},
        "objects": objects,
        "gripper": gripper_record,
        "phase": frame.phase,
        "phase_index": list(phases).index(frame.phase),
        "success": frame.success,
    }
    return image, record


def _damage(records: list[dict[str, Any] | None]) -> None:
    """The faults a buggy recorder makes: a missing record, a missing field, a box with three numbers."""
    if len(records) > 4:
        records[0] = None
        records[2] = {k: v for k, v in records[2].items() if k != "phase"}
        broken = dict(records[4])
        broken["objects"] = [dict(o) for o in broken["objects"]]
        broken["objects"][0]["bbox_visible"] = [1.0, 2.0, 3.0]
        records[4] = broken


WIDOWX_PHASES = ("approach", "grasp", "lift", "move", "place", "release")
WIDOWX_TASKS = (("put the carrot on the plate", "carrot", "plate"), ("put the spoon on the towel", "spoon", "towel"))


def _widowx_episode(rng: np.random.Generator, task: int, failure: str | None) -> tuple[str, list[_Keyframe]]:
    text, moved, target = WIDOWX_TASKS[task]
    sizes = {
        "carrot": (0.09, 0.03, 0.03),
        "plate": (0.15, 0.15, 0.015),
        "spoon": (0.11, 0.025, 0.012),
        "towel": (0.14, 0.12, 0.006),
    }
    colors = {"carrot": (235, 120, 30), "plate": (235, 235, 225), "spoon": (190, 190, 200), "towel": (60, 90, 190)}
    categories = {"carrot": "vegetable", "plate": "plate", "spoon": "utensil", "towel": "cloth"}
    centers = _place_items(rng, sizes, (0.22, 0.44), (-0.17, 0.17), gap=0.14)
    bodies = {n: Body(n, categories[n], centers[n], sizes[n], colors[n]) for n in sizes}
    bodies["sponge"] = Body("sponge", "sponge", (0.30, 0.60, 0.015), (0.06, 0.04, 0.03), (240, 220, 60))
    bodies["gripper"] = Body("gripper", "gripper", (0.22, 0.0, 0.22), (0.04, 0.06, 0.05), (50, 50, 55))
    script = _Script(bodies, {"gripper": {"open": True, "grasped": None}})
    g = "gripper"
    script.move(g, script.above(moved, 0.08, g), 3, "approach")
    grasp_goal = script.above(moved, -0.005, g)
    if failure == "miss":
        grasp_goal = (grasp_goal[0] + 0.02, grasp_goal[1] + 0.07, grasp_goal[2])
    script.move(g, grasp_goal, 1, "grasp")
    script.grippers[g].update(open=False, grasped=None if failure == "miss" else moved)
    script.snapshot("grasp")
    lift = bodies[g].center
    script.move(g, (lift[0], lift[1], lift[2] + 0.10), 2, "lift")
    if failure == "miss":
        return text, script.frames
    goal = script.above(target, bodies[moved].size[2] + 0.08, g)
    if failure == "drop":
        script.move(g, _lerp(bodies[g].center, goal, 0.5), 1, "move")
        script.drop(g)
        script.snapshot("move")
        script.move(g, goal, 1, "move")
    else:
        script.move(g, goal, 3, "move")
    place = script.above(target, bodies[moved].size[2] - 0.005, g)
    script.move(g, place, 2, "place")
    done = failure is None
    script.grippers[g].update(open=True, grasped=None)
    script.snapshot("release", success=done)
    script.move(g, (place[0], place[1], place[2] + 0.08), 1, "release", success=done)
    return text, script.frames


ALOHA_PHASES = ("approach", "grasp", "lift", "handover", "move", "place", "release")


def _aloha_episode(rng: np.random.Generator, failure: str | None) -> tuple[str, list[_Keyframe]]:
    sizes = {"red block": (0.04, 0.04, 0.04), "blue block": (0.04, 0.04, 0.04), "bowl": (0.13, 0.13, 0.05)}
    left = _place_items(rng, {"red block": sizes["red block"]}, (0.25, 0.38), (0.10, 0.22), gap=0.0)
    right = _place_items(
        rng, {"bowl": sizes["bowl"], "blue block": sizes["blue block"]}, (0.25, 0.40), (-0.24, -0.04), 0.14
    )
    centers = {**left, **right}
    colors = {"red block": (200, 40, 40), "blue block": (40, 70, 200), "bowl": (215, 215, 205)}
    categories = {"red block": "block", "blue block": "block", "bowl": "bowl"}
    bodies = {n: Body(n, categories[n], centers[n], sizes[n], colors[n]) for n in sizes}
    bodies["left gripper"] = Body("left gripper", "gripper", (0.18, 0.25, 0.22), (0.04, 0.05, 0.05), (40, 40, 45))
    bodies["right gripper"] = Body("right gripper", "gripper", (0.18, -0.25, 0.22), (0.04, 0.05, 0.05), (70, 70, 75))
    grippers = {"left gripper": {"open": True, "grasped": None}, "right gripper": {"open": True, "grasped": None}}
    script = _Script(bodies, grippers)
    lg, rg, block = "left gripper", "right gripper", "red block"
    script.move(lg, script.above(block, 0.06, lg), 2, "approach")
    script.move(lg, script.above(block, -0.005, lg), 1, "grasp")
    grippers[lg].update(open=False, grasped=block)
    script.snapshot("grasp")
    up = bodies[lg].center
    script.move(lg, (up[0], up[1], up[2] + 0.10), 2, "lift")
    meet = (0.32, 0.03, 0.24)
    script.move(lg, meet, 1, "handover")
    script.move(rg, (meet[0], meet[1] - 0.07, meet[2] - 0.03), 1, "handover")
    if failure == "drop":
        script.drop(lg)
        script.snapshot("handover")
        script.move(rg, script.above("bowl", 0.10, rg), 2, "move")
        script.move(rg, script.above("bowl", -0.01, rg), 1, "place")
        grippers[rg].update(open=True)
        script.snapshot("release")
        return "put the red block in the bowl", script.frames
    grippers[lg].update(open=True, grasped=None)
    grippers[rg].update(open=False, grasped=block)
    script._carry(rg)
    script.snapshot("handover")
    script.move(rg, script.above("bowl", 0.10, rg), 2, "move")
    bowl = bodies["bowl"]
    bottom = (bowl.center[0], bowl.center[1], bowl.bottom + 0.005 + sizes[block][2] + bodies[rg].size[2] / 2)
    script.move(rg, bottom, 2, "place")
    grippers[rg].update(open=True, grasped=None)
    script.snapshot("release", success=True)
    script.move(rg, (bottom[0], bottom[1], bottom[2] + 0.08), 1, "release", success=True)
    return "put the red block in the bowl", script.frames


def _write(
    root: Path,
    episodes: list[tuple[str, list[_Keyframe]]],
    camera: PinholeCamera,
    phases: Sequence[str],
    robot_type: str,
    bad_annotations: bool,
) -> Path:
    grippers = sorted({g for _, frames in episodes for g in frames[0].grippers})
    state_names = [f"{g.replace(' ', '_')}_{axis}" for g in grippers for axis in ("x", "y", "z", "open")]
    writer = LeRobotEpisodeWriter.create(
        root,
        fps=5,
        robot_type=robot_type,
        state_names=state_names,
        action_names=[f"d_{name}" for name in state_names],
        cameras={camera.name: (camera.height, camera.width)},
        with_annotations=True,
    )
    for number, (task, keyframes) in enumerate(episodes):
        states = [
            np.array(
                [v for g in grippers for v in (*f.bodies[g].center, float(f.grippers[g]["open"]))], dtype=np.float32
            )
            for f in keyframes
        ]
        rendered = [_record(f, camera, phases) for f in keyframes]
        records: list[dict[str, Any] | None] = [record for _, record in rendered]
        if bad_annotations and number == 1:
            _damage(records)
        frames = []
        for i, (image, _) in enumerate(rendered):
            action = (states[min(i + 1, len(states) - 1)] - states[i]).astype(np.float32)
            frames.append(
                {
                    "observation.state": states[i],
                    "action": action,
                    f"observation.images.{camera.name}": image,
                    "annotations": records[i],
                }
            )
        writer.add_episode(frames, task)
    return root


def write_widowx_scene(
    root: str | Path,
    *,
    episodes: int = 6,
    seed: int = 0,
    image_size: tuple[int, int] = (224, 224),
    failures: Sequence[str] = ("miss", "drop"),
    bad_annotations: bool = False,
) -> Path:
    """A WidowX-like tabletop dataset. Episode i alternates the two tasks; every third episode (i % 3 == 2) fails
    with the next mode of `failures`. `image_size` is (width, height)."""
    rng = np.random.default_rng(seed)
    width, height = image_size
    camera = PinholeCamera("image_0", width, height, position=(-0.05, 0.0, 0.42), look_at=(0.32, 0.0, 0.0))
    scripted = []
    for i in range(episodes):
        failure = failures[(i // 3) % len(failures)] if failures and i % 3 == 2 else None
        scripted.append(_widowx_episode(rng, i % 2, failure))
    return _write(Path(root), scripted, camera, WIDOWX_PHASES, "widowx", bad_annotations)


def write_aloha_scene(
    root: str | Path,
    *,
    episodes: int = 4,
    seed: int = 1,
    image_size: tuple[int, int] = (224, 224),
    failures: Sequence[str] = ("drop",),
    bad_annotations: bool = False,
) -> Path:
    """A bimanual dataset (handover, then into the bowl). Every third episode (i % 3 == 2) drops the block at the
    handover when `failures` is not empty. `image_size` is (width, height)."""
    rng = np.random.default_rng(seed)
    width, height = image_size
    camera = PinholeCamera("cam_high", width, height, position=(-0.08, 0.0, 0.55), look_at=(0.30, 0.0, 0.0))
    scripted = [_aloha_episode(rng, "drop" if failures and i % 3 == 2 else None) for i in range(episodes)]
    return _write(Path(root), scripted, camera, ALOHA_PHASES, "aloha", bad_annotations)


def write_demo_scenes(root: str | Path, *, episodes: int = 6, seed: int = 0, image_size=(224, 224)) -> dict[str, Path]:
    """Both scenes under `root` (`widowx/`, `aloha/`); returns domain -> folder."""
    root = Path(root)
    return {
        "widowx": write_widowx_scene(root / "widowx", episodes=episodes, seed=seed, image_size=image_size),
        "aloha": write_aloha_scene(
            root / "aloha", episodes=max(1, episodes * 2 // 3), seed=seed + 1, image_size=image_size
        ),
    }
