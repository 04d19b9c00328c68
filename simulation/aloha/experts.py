"""Scripted experts for the ALOHA tasks: phase scripts in end-effector space, turned into joint targets by IK.

Why this shape: ACT's scripted policies (the source of gym-aloha's demonstrations) move the grippers through
waypoints with a mocap weld and record the joints; the weld is too soft against the ViperX joint friction on current
MuJoCo (research notes §3). Here each phase names where each gripper should be at its end, the expert interpolates
the tool-centre pose along a minimum-jerk profile and solves IK every policy step, so the actions are exactly the
joint targets a policy must learn. Targets are computed when a phase starts, from the simulator's state at that
moment (privileged, closed loop between phases), and phases marked `track` re-aim at every step (insertion).

Every phase has a label from a small vocabulary (approach, descend, grasp, lift, move, align, insert, place, release,
retreat, hold) and a sentence (`phase_text`) for planning data. After the last phase the expert keeps the
arms still and reports the phase ``done``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .kinematics import FINGER_TIP_X, SIDES, TCP_OFFSET, gripper_rotation, rotation_error

if TYPE_CHECKING:
    from .env import AlohaEnv

DONE = "done"
OPEN, CLOSED = 1.0, 0.0


@dataclass
class Pose:
    """Where a gripper should be: TCP position, gripper_link orientation, normalized gripper opening."""

    position: np.ndarray
    rotation: np.ndarray
    gripper: float

    def moved(self, position: np.ndarray | None = None, rotation=None, gripper: float | None = None) -> Pose:
        return Pose(
            self.position.copy() if position is None else np.asarray(position, dtype=float),
            self.rotation.copy() if rotation is None else np.asarray(rotation, dtype=float),
            self.gripper if gripper is None else float(gripper),
        )


# A phase's target for one arm: a function of (env, the arm's commanded pose at the phase start) -> Pose, or None to
# hold the arm where it is commanded.
Target = Callable[["AlohaEnv", Pose], Pose] | None


@dataclass
class Phase:
    label: str
    text: str
    seconds: float
    left: Target = None
    right: Target = None
    track: bool = False  # re-evaluate the targets at every step (slow, precise motions such as insertion)
    targets: dict[str, Pose] = field(default_factory=dict)


def min_jerk(s: float) -> float:
    s = min(max(s, 0.0), 1.0)
    return s**3 * (10 - 15 * s + 6 * s**2)


def interpolate_rotation(start: np.ndarray, end: np.ndarray, s: float) -> np.ndarray:
    """Rotation a fraction `s` of the way from `start` to `end` (geodesic)."""
    vector = rotation_error(end, start) * s
    angle = float(np.linalg.norm(vector))
    if angle < 1e-9:
        return start.copy()
    axis = vector / angle
    skew = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    turn = np.eye(3) + np.sin(angle) * skew + (1 - np.cos(angle)) * skew @ skew
    return turn @ start


class ScriptedAlohaExpert:
    """Runs a task's phase script (`plan`) on an `AlohaEnv`; implements `simulation.base.ScriptedExpert`."""

    def __init__(self) -> None:
        self.phases: list[Phase] = []
        self.index = -1

    def plan(self, env: AlohaEnv) -> list[Phase]:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------------ protocol
    def reset(self, env: AlohaEnv) -> None:
        self.env = env
        self.phases = self.plan(env)
        self.index = -1
        self._step = 0
        self._steps = 0
        self.joints = {side: env.arm_joints(side) for side in SIDES}
        state = env.state()
        self.command: dict[str, Pose] = {}
        for i, side in enumerate(SIDES):
            position, rotation = env.ik.forward(side, self.joints[side])
            self.command[side] = Pose(position, rotation, float(state[7 * i + 6]))
        self._start: dict[str, Pose] = {}
        self.max_ik_error = 0.0

    @property
    def phase(self) -> str:
        return self.phases[self.index].label if 0 <= self.index < len(self.phases) else DONE

    @property
    def phase_text(self) -> str:
        return self.phases[self.index].text if 0 <= self.index < len(self.phases) else "the task is finished"

    @property
    def done(self) -> bool:
        return self.index >= len(self.phases)

    def act(self, env: AlohaEnv) -> tuple[np.ndarray, str]:
        """The next action (14 joint targets) and the label of the phase it belongs to."""
        while self.index < 0 or (self.index < len(self.phases) and self._step >= self._steps):
            self.index += 1
            if self.index < len(self.phases):
                self._enter(env, self.phases[self.index])
        if self.done:
            return self._action(), DONE
        phase = self.phases[self.index]
        if phase.track and self._step > 0:
            self._aim(env, phase)
        self._step += 1
        s = min_jerk(self._step / self._steps)
        for side in SIDES:
            start, goal = self._start[side], phase.targets[side]
            pose = Pose(
                start.position + s * (goal.position - start.position),
                interpolate_rotation(start.rotation, goal.rotation, s),
                start.gripper + s * (goal.gripper - start.gripper),
            )
            joints, error = env.ik.solve(side, pose.position, pose.rotation, self.joints[side])
            self.max_ik_error = max(self.max_ik_error, error)
            self.joints[side] = joints
            self.command[side] = pose
        return self._action(), phase.label

    # ------------------------------------------------------------------------------------------------ internals
    def _enter(self, env: AlohaEnv, phase: Phase) -> None:
        self._start = {side: self.command[side].moved() for side in SIDES}
        self._step = 0
        self._steps = max(1, int(round(phase.seconds * env.fps)))
        self._aim(env, phase)

    def _aim(self, env: AlohaEnv, phase: Phase) -> None:
        for side in SIDES:
            target = getattr(phase, side)
            phase.targets[side] = self._start[side].moved() if target is None else target(env, self._start[side])

    def _action(self) -> np.ndarray:
        values = []
        for side in SIDES:
            values.extend(self.joints[side])
            values.append(self.command[side].gripper)
        return np.asarray(values, dtype=np.float32)


# ---------------------------------------------------------------------------------------------------- helpers
def to(position: np.ndarray | Callable[[AlohaEnv], np.ndarray], rotation=None, gripper: float | None = None) -> Target:
    """A target at a fixed or state-dependent position, optionally with a new orientation and gripper opening."""

    def target(env: AlohaEnv, start: Pose) -> Pose:
        where = position(env) if callable(position) else position
        turn = rotation(env) if callable(rotation) else rotation
        return start.moved(position=where, rotation=turn, gripper=gripper)

    return target


def grip(gripper: float) -> Target:
    """Stay in place, open or close the gripper."""

    def target(env: AlohaEnv, start: Pose) -> Pose:
        return start.moved(gripper=gripper)

    return target


def shift(offset: np.ndarray, rotation=None, gripper: float | None = None) -> Target:
    """Move by `offset` from where the phase starts."""

    def target(env: AlohaEnv, start: Pose) -> Pose:
        return start.moved(position=start.position + np.asarray(offset), rotation=rotation, gripper=gripper)

    return target


def body_position(body: str, offset=(0.0, 0.0, 0.0)) -> Callable[[AlohaEnv], np.ndarray]:
    def where(env: AlohaEnv) -> np.ndarray:
        return env.body_pose(body)[0] + np.asarray(offset)

    return where


def body_yaw(env: AlohaEnv, body: str) -> float:
    rotation = env.body_pose(body)[1]
    return float(np.arctan2(rotation[1, 0], rotation[0, 0]))


def top_grasp_rotation(env: AlohaEnv, side: str, body: str, pitch: float, symmetry: float = np.pi / 2):
    """Gripper orientation for a pinch across two faces of a box lying on the table: the closing direction (gripper
    y) is aligned with a face normal (`symmetry`: π/2 for a square block, π for a bar) and the approach leans
    towards the object the way the arm already faces."""
    yaw_object = body_yaw(env, body)
    base = env.model.body(f"vx300s_{side}").id
    to_object = env.body_pose(body)[0] - env.data.xpos[base]
    facing = 0.0 if side == "left" else np.pi
    bearing = float(np.arctan2(to_object[1], to_object[0])) - facing
    # gripper y points along facing + yaw + pi/2; choose yaw = yaw_object + k * symmetry closest to the bearing
    candidates = yaw_object - facing + np.arange(-4, 5) * symmetry
    candidates = (candidates + np.pi) % (2 * np.pi) - np.pi
    yaw = float(candidates[np.argmin(np.abs(_wrap(candidates - bearing)))])
    return gripper_rotation(side, yaw=yaw, pitch=pitch)


def grasp_point(
    env: AlohaEnv, body: str, along: float = 0.0, clearance: float = 0.006, height: float = 0.0
) -> np.ndarray:
    """Where the TCP goes to pinch an object on the table with a vertical gripper: over its centre (or `along` metres
    from it on its long x axis), at its centre height unless that puts the finger tips closer than `clearance` to
    the table; `height` raises the point (pre-grasp)."""
    position, rotation = env.body_pose(body)
    axis = rotation[:, 0] * np.array([1.0, 1.0, 0.0])
    position = position + along * axis / max(np.linalg.norm(axis), 1e-9)
    tips_below_tcp = FINGER_TIP_X - TCP_OFFSET[0]
    return np.array([position[0], position[1], max(position[2], tips_below_tcp + clearance) + height])


def level_yaw(env: AlohaEnv, body: str, yaw: float = 0.0, symmetry: float = np.pi) -> np.ndarray:
    """The upright orientation with the object's x axis at `yaw`, choosing among its symmetric equivalents the one
    closest to how it lies now (so a held object is not spun half a turn)."""
    current = body_yaw(env, body)
    candidates = yaw + np.arange(-4, 5) * symmetry
    best = float(candidates[np.argmin(np.abs(_wrap(candidates - current)))])
    from .kinematics import rot_z

    return rot_z(best)


def hold_object(side: str, body: str, pose: Callable[[AlohaEnv], tuple[np.ndarray, np.ndarray]]) -> Target:
    """A gripper target that puts the object it holds at `pose(env)` = (position, rotation), using the object's pose
    in the gripper as measured now (so a grasp that ended off-centre or tilted is compensated)."""

    def target(env: AlohaEnv, start: Pose) -> Pose:
        tcp, rotation = env.tcp(side)
        position, orientation = env.body_pose(body)
        local_rotation = rotation.T @ orientation  # object in TCP frame
        local_position = rotation.T @ (position - tcp)
        goal_position, goal_rotation = pose(env)
        tcp_rotation = goal_rotation @ local_rotation.T
        return start.moved(position=goal_position - tcp_rotation @ local_position, rotation=tcp_rotation)

    return target


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


# ---------------------------------------------------------------------------------------------------- experts
class TransferCubeExpert(ScriptedAlohaExpert):
    """ACT's PickAndTransferPolicy waypoints, phase by phase: the right arm picks the cube from above at 60° and holds
    it in the middle; the left gripper, rolled 90°, closes on it; the right lets go and both pull apart."""

    meet = np.array([0.0, 0.5, 0.25])

    def plan(self, env: AlohaEnv) -> list[Phase]:
        pick = gripper_rotation("right", pitch=np.radians(60))
        receive = gripper_rotation("left", roll=np.pi / 2)
        meet = self.meet
        cube = body_position("box")
        return [
            Phase(
                "approach",
                "move the right gripper above the red cube and the left gripper near the middle",
                1.8,
                left=to(meet + [-0.1, 0, -0.02], receive, OPEN),
                right=to(body_position("box", (0, 0, 0.08)), pick, OPEN),
            ),
            Phase(
                "descend",
                "lower the right gripper around the red cube",
                0.8,
                right=to(lambda e: cube(e) + [0, 0, -0.015]),
            ),
            Phase("grasp", "close the right gripper on the red cube", 0.8, right=grip(CLOSED)),
            Phase("lift", "lift the red cube", 0.6, right=to(meet + [0.05, 0, 0])),
            Phase("move", "bring the red cube to the middle", 0.4, right=to(meet)),
            Phase("approach", "move the left gripper to the red cube", 1.2, left=to(meet + [0.02, 0, -0.02])),
            Phase("grasp", "close the left gripper on the red cube", 1.0, left=grip(CLOSED)),
            Phase("release", "open the right gripper", 0.8, right=grip(OPEN)),
            Phase(
                "retreat",
                "pull the arms apart, the left one holding the red cube",
                1.0,
                left=to(meet + [-0.1, 0, -0.02]),
                right=to(meet + [0.1, 0, 0]),
            ),
            Phase("hold", "hold the red cube with the left arm", 0.4),
        ]


class InsertionExpert(ScriptedAlohaExpert):
    """The left arm picks the socket and the right arm the peg, each straight from above; the socket is held level in
    the middle and the peg is aimed along the socket's measured axis (closed loop on both objects' poses) and pushed
    in until it meets the pin. ACT's open-loop waypoints (pick at 60°, meet in the middle) succeed rarely here: the
    grasp leaves the object a few centimetres off the gripper axis and the ±8 mm clearance does not forgive that."""

    socket_at = np.array([-0.08, 0.5, 0.17])
    pre_insert = 0.135  # peg centre ahead of the socket centre along its axis: 1.5 cm short of the socket mouth
    inserted = 0.092  # 0.8 cm past touching the pin (peg half-length 0.06 + pin half-length 0.04)

    def plan(self, env: AlohaEnv) -> list[Phase]:
        down = np.radians(90)
        left_pick = lambda e: top_grasp_rotation(e, "left", "socket", down, symmetry=np.pi)  # noqa: E731
        right_pick = lambda e: top_grasp_rotation(e, "right", "peg", down, symmetry=np.pi)  # noqa: E731
        level = np.eye(3)

        def peg_along_socket(distance: float, planned: bool = False) -> Target:
            def where(env: AlohaEnv) -> tuple[np.ndarray, np.ndarray]:
                position, rotation = (self.socket_at, level) if planned else env.body_pose("socket")
                return position + rotation[:, 0] * distance, rotation

            return hold_object("right", "peg", where)

        return [
            Phase(
                "approach",
                "move the left gripper above the blue socket and the right gripper above the red peg",
                1.8,
                left=to(body_position("socket", (0, 0, 0.08)), left_pick, OPEN),
                right=to(body_position("peg", (0, 0, 0.08)), right_pick, OPEN),
            ),
            Phase(
                "descend",
                "lower the grippers around the socket and the peg",
                1.0,
                left=to(lambda e: grasp_point(e, "socket")),
                right=to(lambda e: grasp_point(e, "peg")),
            ),
            Phase("grasp", "close both grippers", 0.8, left=grip(CLOSED), right=grip(CLOSED)),
            Phase("lift", "lift the socket and the peg", 0.6, left=shift((0, 0, 0.08)), right=shift((0, 0, 0.08))),
            Phase(
                "move",
                "bring the socket and the peg face to face in the middle",
                1.4,
                left=hold_object("left", "socket", lambda e: (self.socket_at, level)),
                right=peg_along_socket(self.pre_insert + 0.02, planned=True),
            ),
            Phase("align", "line the peg up with the socket", 0.8, right=peg_along_socket(self.pre_insert), track=True),
            Phase(
                "insert",
                "push the red peg into the blue socket",
                1.2,
                right=peg_along_socket(self.inserted),
                track=True,
            ),
            Phase("hold", "hold the peg inside the socket", 0.4, right=peg_along_socket(self.inserted), track=True),
        ]


class HandoverBlockExpert(ScriptedAlohaExpert):
    """The left arm picks the long block near its left end and holds it level in the middle, pointing at the right
    arm; the right arm takes its other end, the left lets go, and the right sets the block on the mat."""

    hand_at = np.array([0.0, 0.5, 0.18])
    left_grip, right_grip = -0.04, 0.045  # grasp points along the block from its centre

    def plan(self, env: AlohaEnv) -> list[Phase]:
        down = np.radians(90)
        task = env.task
        place_height = task.block_half[2] + 0.004

        def block_at_hand(env: AlohaEnv) -> tuple[np.ndarray, np.ndarray]:
            return self.hand_at, level_yaw(env, "block")

        def block_on_pad(lift: float) -> Callable[[AlohaEnv], tuple[np.ndarray, np.ndarray]]:
            def where(env: AlohaEnv) -> tuple[np.ndarray, np.ndarray]:
                pad = env.body_pose("pad")[0]
                return np.array([pad[0], pad[1], place_height + lift]), level_yaw(env, "block")

            return where

        left_pick = lambda e: top_grasp_rotation(e, "left", "block", down, symmetry=np.pi)  # noqa: E731
        right_take = lambda e: top_grasp_rotation(e, "right", "block", down, symmetry=np.pi)  # noqa: E731
        return [
            Phase(
                "approach",
                "move the left gripper above the green block",
                1.5,
                left=to(lambda e: grasp_point(e, "block", self.left_grip, height=0.08), left_pick, OPEN),
            ),
            Phase(
                "descend",
                "lower the left gripper around the green block",
                0.8,
                left=to(lambda e: grasp_point(e, "block", self.left_grip)),
            ),
            Phase("grasp", "close the left gripper on the green block", 0.7, left=grip(CLOSED)),
            Phase("lift", "lift the green block", 0.5, left=shift((0, 0, 0.08))),
            Phase(
                "move",
                "hold the green block out to the right arm in the middle",
                1.2,
                left=hold_object("left", "block", block_at_hand),
            ),
            Phase(
                "approach",
                "move the right gripper above the free end of the green block",
                1.0,
                right=to(
                    lambda e: grasp_point(e, "block", self.right_grip, height=0.06, clearance=-1.0), right_take, OPEN
                ),
            ),
            Phase(
                "descend",
                "lower the right gripper around the green block",
                0.8,
                right=to(lambda e: grasp_point(e, "block", self.right_grip, clearance=-1.0)),
            ),
            Phase("grasp", "close the right gripper on the green block", 0.7, right=grip(CLOSED)),
            Phase("release", "open the left gripper", 0.6, left=grip(OPEN)),
            Phase("retreat", "move the left gripper up and away", 0.6, left=shift((-0.05, 0, 0.08))),
            Phase(
                "move",
                "carry the green block above the yellow mat",
                1.3,
                right=hold_object("right", "block", block_on_pad(0.06)),
            ),
            Phase(
                "place",
                "lower the green block onto the yellow mat",
                0.8,
                right=hold_object("right", "block", block_on_pad(0.0)),
            ),
            Phase("release", "open the right gripper", 0.6, right=grip(OPEN)),
            Phase("retreat", "move the right gripper up and away", 0.6, right=shift((0, 0, 0.1))),
        ]


class StackBlocksExpert(ScriptedAlohaExpert):
    """The left arm carries the blue block to the middle; the right arm picks the red block and puts it on top."""

    blue_at = np.array([-0.03, 0.5])

    def plan(self, env: AlohaEnv) -> list[Phase]:
        down = np.radians(90)
        half = env.task.block_half

        def blue_in_middle(lift: float) -> Callable[[AlohaEnv], tuple[np.ndarray, np.ndarray]]:
            def where(env: AlohaEnv) -> tuple[np.ndarray, np.ndarray]:
                return np.array([*self.blue_at, half + 0.004 + lift]), level_yaw(env, "blue_block", symmetry=np.pi / 2)

            return where

        def red_on_blue(lift: float) -> Callable[[AlohaEnv], tuple[np.ndarray, np.ndarray]]:
            def where(env: AlohaEnv) -> tuple[np.ndarray, np.ndarray]:
                blue = env.body_pose("blue_block")[0]
                yaw = body_yaw(env, "blue_block")
                return blue + [0, 0, 2 * half + 0.004 + lift], level_yaw(env, "red_block", yaw, symmetry=np.pi / 2)

            return where

        left_pick = lambda e: top_grasp_rotation(e, "left", "blue_block", down)  # noqa: E731
        right_pick = lambda e: top_grasp_rotation(e, "right", "red_block", down)  # noqa: E731
        return [
            Phase(
                "approach",
                "move the left gripper above the blue block and the right gripper above the red block",
                1.5,
                left=to(lambda e: grasp_point(e, "blue_block", height=0.08), left_pick, OPEN),
                right=to(lambda e: grasp_point(e, "red_block", height=0.08), right_pick, OPEN),
            ),
            Phase(
                "descend",
                "lower the grippers around both blocks",
                0.8,
                left=to(lambda e: grasp_point(e, "blue_block")),
                right=to(lambda e: grasp_point(e, "red_block")),
            ),
            Phase("grasp", "close both grippers on the blocks", 0.7, left=grip(CLOSED), right=grip(CLOSED)),
            Phase("lift", "lift both blocks", 0.5, left=shift((0, 0, 0.06)), right=shift((0, 0, 0.12))),
            Phase(
                "move",
                "carry the blue block to the middle",
                1.0,
                left=hold_object("left", "blue_block", blue_in_middle(0.04)),
            ),
            Phase(
                "place",
                "set the blue block down in the middle",
                0.6,
                left=hold_object("left", "blue_block", blue_in_middle(0.0)),
            ),
            Phase("release", "open the left gripper", 0.5, left=grip(OPEN)),
            Phase("retreat", "move the left gripper up and away", 0.6, left=shift((-0.1, 0, 0.1))),
            Phase(
                "move",
                "carry the red block above the blue block",
                1.2,
                right=hold_object("right", "red_block", red_on_blue(0.04)),
            ),
            Phase(
                "place",
                "lower the red block onto the blue block",
                0.8,
                track=True,
                right=hold_object("right", "red_block", red_on_blue(0.0)),
            ),
            Phase("release", "open the right gripper", 0.5, right=grip(OPEN)),
            Phase("retreat", "move the right gripper up and away", 0.6, right=shift((0, 0, 0.1))),
        ]


class LiftBarExpert(ScriptedAlohaExpert):
    """Each arm pinches one end of the bar from above; both lift together so the bar stays level."""

    grip_at = 0.11  # grasp points at ±11 cm from the bar's centre

    def plan(self, env: AlohaEnv) -> list[Phase]:
        down = np.radians(90)
        lift = env.task.lift_height + 0.02
        left_pick = lambda e: top_grasp_rotation(e, "left", "bar", down, symmetry=np.pi)  # noqa: E731
        right_pick = lambda e: top_grasp_rotation(e, "right", "bar", down, symmetry=np.pi)  # noqa: E731

        def end(side: str, height: float = 0.0) -> Callable[[AlohaEnv], np.ndarray]:
            along = -self.grip_at if side == "left" else self.grip_at

            def where(env: AlohaEnv) -> np.ndarray:
                # the end of the bar nearer to this arm, whichever way the bar's x axis points
                axis_x = env.body_pose("bar")[1][0, 0]
                return grasp_point(env, "bar", along if axis_x >= 0 else -along, height=height)

            return where

        return [
            Phase(
                "approach",
                "move each gripper above one end of the wooden bar",
                1.6,
                left=to(end("left", 0.08), left_pick, OPEN),
                right=to(end("right", 0.08), right_pick, OPEN),
            ),
            Phase("descend", "lower both grippers around the bar", 0.8, left=to(end("left")), right=to(end("right"))),
            Phase("grasp", "close both grippers on the bar", 0.7, left=grip(CLOSED), right=grip(CLOSED)),
            Phase(
                "lift", "lift the bar with both arms together", 1.5, left=shift((0, 0, lift)), right=shift((0, 0, lift))
            ),
            Phase("hold", "hold the bar up, level", 1.0),
        ]


EXPERT_CLASSES: dict[str, type[ScriptedAlohaExpert]] = {
    "transfer_cube": TransferCubeExpert,
    "insertion": InsertionExpert,
    "handover_block": HandoverBlockExpert,
    "stack_blocks": StackBlocksExpert,
    "lift_bar": LiftBarExpert,
}
