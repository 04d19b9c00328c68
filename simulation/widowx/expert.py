"""Scripted experts for the WidowX tasks: privileged object poses -> end-effector delta actions.

The expert steers the controller's *target* pose (ManiSkill's `..._target_delta_pose_align2` controller adds each
delta to the previous target, not to the measured pose), so an action is simply "target waypoint minus current
target", clipped to a per-step bound. Waypoints are computed when a phase starts, from the objects' current poses:

approach (above the source, gripper yawed across the object's long axis) -> descend -> grasp (close) -> lift ->
move (above the target) -> place (lower) -> release (open) -> retreat (up) -> done (hold still).

If the object is not held after the lift, or slips out while moving, the expert goes back to `approach` (at most
`max_retries` times in all).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from simulation.widowx.env import GRIPPER_DOWN, WidowXEnv
from simulation.widowx.tasks import WIDOWX_TASKS

PHASES = ("approach", "descend", "grasp", "lift", "move", "place", "release", "retreat", "done")
OPEN, CLOSE = 1.0, -1.0


def _yaw_of(rotation: np.ndarray) -> float:
    """Yaw of a gripper orientation measured from `GRIPPER_DOWN` about the base z axis."""
    relative = rotation @ GRIPPER_DOWN.T
    return math.atan2(relative[1, 0], relative[0, 0])


def _wrap_half_turn(angle: float) -> float:
    """Map an angle to (-pi/2, pi/2]: a parallel gripper is symmetric under a half turn."""
    return (angle + math.pi / 2) % math.pi - math.pi / 2


class WidowXExpert:
    """A waypoint expert for one WidowX task (see the module docstring)."""

    def __init__(
        self,
        task: str,
        max_translation: float = 0.04,
        max_rotation: float = 0.35,
        hover: float = 0.07,
        lift: float = 0.08,
        max_retries: int = 2,
    ) -> None:
        if task not in WIDOWX_TASKS:
            raise KeyError(f"task: unknown WidowX task {task!r}; expected one of {sorted(WIDOWX_TASKS)}")
        self.task = WIDOWX_TASKS[task]
        self.max_translation, self.max_rotation = max_translation, max_rotation
        self.hover, self.lift, self.max_retries = hover, lift, max_retries
        self.phase = PHASES[0]

    # ------------------------------------------------------------------ ScriptedExpert
    def reset(self, env: WidowXEnv) -> None:
        if getattr(env, "task", None) is None or env.task.name != self.task.name:
            raise ValueError(f"env: expected a WidowXEnv for task {self.task.name!r}, got {env!r}")
        self.retries = 0
        self._enter(env, "approach")

    def act(self, env: WidowXEnv) -> tuple[np.ndarray, str]:
        self._advance(env)
        self.steps_in_phase += 1
        env.set_phase(self.phase, PHASES.index(self.phase))
        if self.phase == "done":
            return np.array([0, 0, 0, 0, 0, 0, self.gripper], dtype=np.float32), self.phase
        return self._action_towards(env), self.phase

    # ------------------------------------------------------------------ planning
    def _enter(self, env: WidowXEnv, phase: str) -> None:
        """Start `phase`: fix its waypoint (base-frame position, yaw) and gripper command from the current state."""
        self.phase, self.steps_in_phase = phase, 0
        target = env.target_pose_base()
        position, yaw = target[:3, 3].copy(), _yaw_of(target[:3, :3])
        gripper = getattr(self, "gripper", OPEN)
        if phase in ("approach", "descend"):
            grasp_position, grasp_yaw = self._grasp_pose(env)
            position = grasp_position + (np.array([0.0, 0.0, self.hover]) if phase == "approach" else 0.0)
            yaw, gripper = grasp_yaw, OPEN
        elif phase == "grasp":
            gripper = CLOSE
        elif phase == "lift":
            position = position + np.array([0.0, 0.0, self.lift])
        elif phase in ("move", "place"):
            place = self._place_position(env)
            position = place + (np.array([0.0, 0.0, self.lift]) if phase == "move" else 0.0)
        elif phase == "release":
            gripper = OPEN
        elif phase == "retreat":
            position = position + np.array([0.0, 0.0, self.hover])
        self.waypoint, self.yaw, self.gripper = position, yaw, gripper

    def _advance(self, env: WidowXEnv) -> None:
        """Move to the next phase when the current one is finished (reached, or out of its step budget)."""
        reached = self._reached(env)
        steps = self.steps_in_phase
        phase = self.phase
        if phase == "approach" and (reached or steps >= 12):
            self._enter(env, "descend")
        elif phase == "descend" and (reached or steps >= 6):
            self._enter(env, "grasp")
        elif phase == "grasp" and steps >= 3:
            self._enter(env, "lift")
        elif phase == "lift" and (reached or steps >= 5):
            if env.is_grasping(self.task.source.model_id) or self.retries >= self.max_retries:
                self._enter(env, "move")
            else:
                self.retries += 1
                self._enter(env, "approach")
        elif phase == "move" and self.retries < self.max_retries and not env.is_grasping(self.task.source.model_id):
            self.retries += 1  # dropped on the way: pick it up again from where it fell
            self._enter(env, "approach")
        elif phase == "move" and (reached or steps >= 12):
            self._enter(env, "place")
        elif phase == "place" and (self._reached(env, tolerance=0.005) or steps >= 6):
            self._enter(env, "release")  # released from a few mm: a 3 cm cube dropped from 1.5 cm can tip off
        elif phase == "release" and steps >= 2:
            self._enter(env, "retreat")
        elif phase == "retreat" and (reached or steps >= 5):
            self._enter(env, "done")

    def _reached(self, env: WidowXEnv, tolerance: float = 0.01) -> bool:
        """The measured gripper is within `tolerance` of the waypoint (and the target is on it)."""
        target = env.target_pose_base()[:3, 3]
        actual = env.tcp_pose_base()[:3, 3]
        return bool(
            np.linalg.norm(target - self.waypoint) < 1e-4 and np.linalg.norm(actual - self.waypoint) < tolerance
        )

    def _grasp_pose(self, env: WidowXEnv) -> tuple[np.ndarray, float]:
        """Where the fingertips go to grasp the source object, and the gripper yaw across its long axis."""
        model = self.task.source.model_id
        base_from_object = np.linalg.inv(env.base_pose()) @ env.object_pose(model)
        center = base_from_object[:3, :3] @ env.object_center_local(model) + base_from_object[:3, 3]
        extents = env.object_extents(model)
        axes = base_from_object[:3, :3]
        # The long axis: the object axis with the largest horizontal extent.
        horizontal = [extents[i] * np.linalg.norm(axes[:2, i]) for i in range(3)]
        long_axis = axes[:, int(np.argmax(horizontal))]
        alpha = math.atan2(long_axis[1], long_axis[0])
        # Closing axis = gripper y; at yaw psi it is (-sin psi, cos psi); across the long axis means psi = alpha.
        current = _yaw_of(env.target_pose_base()[:3, :3])
        yaw = current + _wrap_half_turn(alpha - current)
        position = center.copy()
        position[2] = center[2] + self.task.grasp_height
        return position, yaw

    def _place_position(self, env: WidowXEnv) -> np.ndarray:
        """Fingertip position that puts the held object's centre `place_height` above the target's origin.

        The object's centre is measured relative to the fingertips now, because a grasp rarely holds it exactly
        centred (a 3 cm cube on a 3 cm cube tolerates about 2 cm).
        """
        base_from_world = np.linalg.inv(env.base_pose())
        base_from_target = base_from_world @ env.object_pose(self.task.target.model_id)
        goal = base_from_target[:3, 3] + base_from_target[:3, :3] @ np.asarray(self.task.place_offset)
        goal[2] += self.task.place_height
        source = self.task.source.model_id
        base_from_source = base_from_world @ env.object_pose(source)
        held = base_from_source[:3, :3] @ env.object_center_local(source) + base_from_source[:3, 3]
        return goal - (held - env.tcp_pose_base()[:3, 3])

    # ------------------------------------------------------------------ control
    def _action_towards(self, env: WidowXEnv) -> np.ndarray:
        target = env.target_pose_base()
        delta = self.waypoint - target[:3, 3]
        norm = np.linalg.norm(delta)
        if norm > self.max_translation:
            delta = delta * (self.max_translation / norm)
        desired = Rotation.from_euler("z", self.yaw).as_matrix() @ GRIPPER_DOWN
        rotvec = Rotation.from_matrix(desired @ target[:3, :3].T).as_rotvec()
        angle = np.linalg.norm(rotvec)
        if angle > self.max_rotation:
            rotvec = rotvec * (self.max_rotation / angle)
        # The controller composes deltas as R_x(a) R_y(b) R_z(c) (intrinsic x-y-z Euler angles), applied on the left.
        euler = Rotation.from_rotvec(rotvec).as_euler("XYZ")
        return np.concatenate([delta, euler, [self.gripper]]).astype(np.float32)


def run_episode(env: WidowXEnv, expert: Any, seed: int, render: bool = False) -> dict[str, Any]:
    """Play one expert episode, as the recorder does, without recording.

    The episode ends when the expert reports `done` or after `env.spec.max_steps` actions. `success` is ManiSkill's
    check at the end (what a recorder keeps episodes by); `success_any` whether it held at any step (what SimplerEnv
    evaluations count); `steps` the actions taken.
    """
    env.reset(seed)
    expert.reset(env)
    phases: list[str] = []
    steps, success_any = 0, False
    while steps < env.spec.max_steps:
        action, phase = expert.act(env)
        if phase == "done":
            break
        if not phases or phases[-1] != phase:
            phases.append(phase)
        _, success_any = env.step(action, render=render)
        steps += 1
    return {"seed": seed, "success": env.success(), "success_any": success_any, "steps": steps, "phases": phases}
