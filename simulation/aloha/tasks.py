"""The ALOHA tasks: objects, seeded initial placements, instructions and success checks.

`transfer_cube` and `insertion` are gym-aloha's (its objects, placement ranges and contact-based success, made a
little stricter where gym-aloha's reward accepts a half-done state). `handover_block`, `stack_blocks` and `lift_bar`
are RoboTwin-like tasks built from primitives (RoboTwin 2.0's handover_block, stack_blocks_two and lift_pot).
Every task randomizes object positions (and for our own tasks yaw) from the episode seed only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mujoco
import numpy as np

from .assets import gym_aloha_bodies

if TYPE_CHECKING:
    from .env import AlohaEnv


@dataclass(frozen=True)
class ObjectSpec:
    """One annotated object: display name, category and the body that carries it."""

    name: str
    category: str
    body: str


def _block_xml(body: str, half: tuple[float, float, float], rgba: str, mass: float = 0.05) -> str:
    """A free-floating box with gym-aloha's contact parameters (soft, high-friction, as its red cube)."""
    sx, sy, sz = half
    inertia = mass * (sy**2 + sz**2) / 3, mass * (sx**2 + sz**2) / 3, mass * (sx**2 + sy**2) / 3
    return f"""
        <body name="{body}" pos="0 0 {sz}">
            <joint name="{body}_joint" type="free" frictionloss="0.01"/>
            <inertial pos="0 0 0" mass="{mass}" diaginertia="{inertia[0]:.3e} {inertia[1]:.3e} {inertia[2]:.3e}"/>
            <geom name="{body}" type="box" size="{sx} {sy} {sz}" rgba="{rgba}" condim="4" solimp="2 1 0.01"
                  solref="0.01 1" friction="1 0.005 0.0001"/>
        </body>"""


def _pad_xml(body: str, half: tuple[float, float], rgba: str) -> str:
    """A flat target mat on the table: visible, never collides."""
    return f"""
        <body name="{body}" pos="0 0 0.0005">
            <geom name="{body}" type="box" size="{half[0]} {half[1]} 0.0005" rgba="{rgba}" contype="0"
                  conaffinity="0"/>
        </body>"""


class AlohaTask:
    """Base class: subclasses set the class attributes and implement `objects_xml`, `reset` and `success`."""

    name: str = ""
    instruction: str = ""
    max_seconds: float = 10.0
    objects: tuple[ObjectSpec, ...] = ()

    def objects_xml(self) -> str:
        raise NotImplementedError

    def bind(self, model: mujoco.MjModel) -> None:
        """Cache geom ids once the model is compiled."""
        self.model = model
        self.geoms: dict[str, list[int]] = {}
        for spec in self.objects:
            body = model.body(spec.body).id
            self.geoms[spec.body] = [g for g in range(model.ngeom) if int(model.geom_bodyid[g]) == body]
        self.table_geoms = [model.geom("table").id]

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def on_reset(self, env: AlohaEnv) -> None:
        """Hook after the scene settled (e.g. remember initial heights)."""

    def on_step(self, env: AlohaEnv) -> None:
        """Hook after every policy step."""

    def success(self, env: AlohaEnv) -> bool:
        raise NotImplementedError

    # -- helpers for subclasses
    def place(self, data: mujoco.MjData, body: str, position: np.ndarray, yaw: float = 0.0) -> None:
        joint = self.model.body(body).jntadr[0]
        address = self.model.jnt_qposadr[joint]
        data.qpos[address : address + 3] = position
        data.qpos[address + 3 : address + 7] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]

    def touches_fingers(self, env: AlohaEnv, body: str, side: str | None = None) -> bool:
        sides = ("left", "right") if side is None else (side,)
        fingers = [g for s in sides for g in env.arms[s].finger_geoms]
        return env.touching(self.geoms[body], fingers)


class TransferCube(AlohaTask):
    """gym-aloha's AlohaTransferCube: the right arm picks the cube and hands it to the left arm."""

    name = "transfer_cube"
    instruction = "pick up the red cube with the right arm and hand it over to the left arm"
    max_seconds = 10.0
    objects = (ObjectSpec("red cube", "cube", "box"),)

    def objects_xml(self) -> str:
        return gym_aloha_bodies("bimanual_viperx_transfer_cube.xml", ("box",))

    def reset(self, model, data, rng) -> None:
        self.place(data, "box", np.array([rng.uniform(0.0, 0.2), rng.uniform(0.4, 0.6), 0.02]))

    def success(self, env) -> bool:
        # gym-aloha's reward 4 (left fingers on the cube, cube off the table), and the right hand has let go.
        return (
            self.touches_fingers(env, "box", "left")
            and not env.touching(self.geoms["box"], self.table_geoms)
            and not self.touches_fingers(env, "box", "right")
        )


class Insertion(AlohaTask):
    """gym-aloha's AlohaInsertion: the left arm holds the socket, the right arm inserts the peg until it meets the
    pin inside."""

    name = "insertion"
    instruction = "insert the red peg into the blue socket"
    max_seconds = 10.0
    objects = (ObjectSpec("red peg", "peg", "peg"), ObjectSpec("blue socket", "socket", "socket"))
    peg_half_length, pin_half_length, pin_gap = 0.06, 0.04, 0.003
    clearance = 0.009  # inner half-width of the socket (0.018) minus the peg's half-width (0.01), plus 1 mm

    def objects_xml(self) -> str:
        return gym_aloha_bodies("bimanual_viperx_insertion.xml", ("peg", "socket"))

    def bind(self, model) -> None:
        super().bind(model)
        self.pin = [model.geom("pin").id]
        self.peg = [model.geom("red_peg").id]

    def reset(self, model, data, rng) -> None:
        self.place(data, "peg", np.array([rng.uniform(0.1, 0.2), rng.uniform(0.4, 0.6), 0.01]))
        self.place(data, "socket", np.array([rng.uniform(-0.2, -0.1), rng.uniform(0.4, 0.6), 0.02]))

    def success(self, env) -> bool:
        # gym-aloha's reward 4 is "the peg touches the pin"; a peg pressed against the pin makes that contact flicker
        # from one step to the next, so a peg resting within 3 mm of the pin, inside the socket, counts as well.
        if env.touching(self.peg, self.pin):
            return True
        socket, socket_rotation = env.body_pose("socket")
        peg, peg_rotation = env.body_pose("peg")
        x, y, z = socket_rotation.T @ (peg - socket)
        aligned = abs(float(socket_rotation[:, 0] @ peg_rotation[:, 0])) > np.cos(np.radians(8))
        reach = self.peg_half_length + self.pin_half_length + self.pin_gap
        return bool(aligned and abs(y) < self.clearance and abs(z) < self.clearance and abs(x) < reach)


class HandoverBlock(AlohaTask):
    """RoboTwin handover_block: the left arm picks a long block, hands it to the right arm, which sets it on the mat.
    The block is long (16 cm) as in RoboTwin, so that both grippers can hold it at once."""

    name = "handover_block"
    instruction = "hand the green block from the left arm to the right arm and place it on the yellow mat"
    max_seconds = 14.0
    block_half = (0.08, 0.014, 0.014)
    pad_half = (0.06, 0.06)
    objects = (ObjectSpec("green block", "block", "block"), ObjectSpec("yellow mat", "mat", "pad"))

    def objects_xml(self) -> str:
        return _block_xml("block", self.block_half, "0.1 0.75 0.2 1", mass=0.08) + _pad_xml(
            "pad", self.pad_half, "0.95 0.85 0.1 1"
        )

    def reset(self, model, data, rng) -> None:
        block = np.array([rng.uniform(-0.16, -0.06), rng.uniform(0.42, 0.58), self.block_half[2]])
        self.place(data, "block", block, yaw=rng.uniform(-0.4, 0.4))
        pad_id = model.body("pad").id
        model.body_pos[pad_id][:2] = [rng.uniform(0.1, 0.18), rng.uniform(0.42, 0.58)]

    def success(self, env) -> bool:
        block, _ = env.body_pose("block")
        pad, _ = env.body_pose("pad")
        on_pad = bool(np.all(np.abs(block[:2] - pad[:2]) < np.asarray(self.pad_half)))
        resting = block[2] < self.block_half[2] + 0.006
        return on_pad and resting and not self.touches_fingers(env, "block")


class StackBlocks(AlohaTask):
    """RoboTwin stack_blocks_two, bimanual: the left arm brings the blue block to the middle, the right arm stacks the
    red block on it."""

    name = "stack_blocks"
    instruction = "stack the red block on top of the blue block"
    max_seconds = 16.0
    block_half = 0.02
    objects = (ObjectSpec("blue block", "block", "blue_block"), ObjectSpec("red block", "block", "red_block"))

    def objects_xml(self) -> str:
        return _block_xml("blue_block", (self.block_half,) * 3, "0.15 0.3 0.9 1") + _block_xml(
            "red_block", (self.block_half,) * 3, "0.9 0.15 0.15 1"
        )

    def reset(self, model, data, rng) -> None:
        blue = np.array([rng.uniform(-0.22, -0.08), rng.uniform(0.42, 0.58), self.block_half])
        red = np.array([rng.uniform(0.08, 0.22), rng.uniform(0.42, 0.58), self.block_half])
        self.place(data, "blue_block", blue, yaw=rng.uniform(-0.5, 0.5))
        self.place(data, "red_block", red, yaw=rng.uniform(-0.5, 0.5))

    def success(self, env) -> bool:
        blue, _ = env.body_pose("blue_block")
        red, _ = env.body_pose("red_block")
        size = 2 * self.block_half
        stacked = np.linalg.norm(red[:2] - blue[:2]) < 0.6 * size and abs(red[2] - blue[2] - size) < 0.008
        released = not self.touches_fingers(env, "red_block") and not self.touches_fingers(env, "blue_block")
        return bool(stacked and released and blue[2] < self.block_half + 0.006)


class LiftBar(AlohaTask):
    """RoboTwin lift_pot, as a bar: both arms grasp one end each and lift the bar level."""

    name = "lift_bar"
    instruction = "lift the wooden bar with both arms and hold it level"
    max_seconds = 10.0
    bar_half = (0.16, 0.016, 0.016)
    lift_height = 0.10
    objects = (ObjectSpec("wooden bar", "bar", "bar"),)

    def objects_xml(self) -> str:
        return _block_xml("bar", self.bar_half, "0.72 0.5 0.28 1", mass=0.1)

    def reset(self, model, data, rng) -> None:
        bar = np.array([rng.uniform(-0.04, 0.04), rng.uniform(0.42, 0.58), self.bar_half[2]])
        self.place(data, "bar", bar, yaw=rng.uniform(-0.3, 0.3))

    def success(self, env) -> bool:
        bar, rotation = env.body_pose("bar")
        lifted = bar[2] > self.bar_half[2] + self.lift_height - 0.02
        level = abs(rotation[2, 0]) < np.sin(np.radians(10))  # the bar's long axis within 10 degrees of horizontal
        held = self.touches_fingers(env, "bar", "left") and self.touches_fingers(env, "bar", "right")
        return bool(lifted and level and held)


TASK_CLASSES: dict[str, type[AlohaTask]] = {
    cls.name: cls for cls in (TransferCube, Insertion, HandoverBlock, StackBlocks, LiftBar)
}
