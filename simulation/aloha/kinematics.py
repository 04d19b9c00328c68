"""Arm bookkeeping and inverse kinematics for the two ViperX 300s arms.

Why our own IK: the scripted experts plan in end-effector space (where the cube is, where the arms meet), but the
action space is ALOHA's absolute joint targets, so each planned pose is turned into joint angles by damped least
squares on a scratch `MjData` (the live simulation is never touched). A few iterations per 10 Hz step, warm-started
from the previous solution, converge to well under a millimetre.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

ARM_JOINTS = ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate")
SIDES = ("left", "right")
# The tool centre point in the gripper_link frame: ACT's control point (the weld `relpose` that gym-aloha's mocap
# model computes from qpos0), between the finger pads 2 cm short of the finger tips (pads span x = 0.064…0.154 m).
TCP_OFFSET = np.array([0.1347, 0.0, -0.002])
FINGER_TIP_X = 0.154
# Finger slide-joint targets behind ALOHA's normalized gripper command (gym_aloha.constants: 0 closed, 1 open).
GRIPPER_POSITION_CLOSE = 0.01844
GRIPPER_POSITION_OPEN = 0.05800
# Inner pad surface at y = q - FINGER_PAD_INSET for finger joint position q (finger mesh geometry).
FINGER_PAD_INSET = 0.0224


def gripper_normalized(finger_position: float | np.ndarray) -> float | np.ndarray:
    return (finger_position - GRIPPER_POSITION_CLOSE) / (GRIPPER_POSITION_OPEN - GRIPPER_POSITION_CLOSE)


def gripper_position(normalized: float | np.ndarray) -> float | np.ndarray:
    return normalized * (GRIPPER_POSITION_OPEN - GRIPPER_POSITION_CLOSE) + GRIPPER_POSITION_CLOSE


def rot_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def gripper_rotation(side: str, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """World orientation of a gripper_link: yaw about z, pitch down (positive tips the fingers towards the table),
    roll about the gripper's own axis, all relative to the arm's straight-ahead pose (facing the other arm)."""
    facing = 0.0 if side == "left" else np.pi
    return rot_z(facing + yaw) @ rot_y(pitch) @ rot_x(roll)


def rotation_error(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Rotation vector (world frame) that turns `current` into `target`."""
    quat_target, quat_current, quat_error = np.empty(4), np.empty(4), np.empty(4)
    mujoco.mju_mat2Quat(quat_target, np.ascontiguousarray(target).reshape(-1))
    mujoco.mju_mat2Quat(quat_current, np.ascontiguousarray(current).reshape(-1))
    conjugate = np.empty(4)
    mujoco.mju_negQuat(conjugate, quat_current)
    mujoco.mju_mulQuat(quat_error, quat_target, conjugate)
    velocity = np.empty(3)
    mujoco.mju_quat2Vel(velocity, quat_error, 1.0)
    return velocity


@dataclass
class Arm:
    """Indices of one arm in the model: joint qpos/dof addresses, actuators, gripper body and finger geoms."""

    side: str
    qpos: np.ndarray  # 6 arm joint qpos addresses
    dofs: np.ndarray  # 6 arm dof addresses
    finger_qpos: np.ndarray  # left/right finger slide joints
    actuators: np.ndarray  # 6 arm + 2 finger actuators
    gripper_body: int
    finger_geoms: tuple[int, int]
    lower: np.ndarray
    upper: np.ndarray

    @classmethod
    def from_model(cls, model: mujoco.MjModel, side: str) -> Arm:
        prefix = f"vx300s_{side}/"
        joints = [model.joint(prefix + name) for name in ARM_JOINTS]
        fingers = [model.joint(prefix + name) for name in ("left_finger", "right_finger")]
        joint_ids = {model.joint(prefix + name).id for name in (*ARM_JOINTS, "left_finger", "right_finger")}
        actuators = np.array([i for i in range(model.nu) if model.actuator_trnid[i, 0] in joint_ids])
        return cls(
            side=side,
            qpos=np.array([int(j.qposadr[0]) for j in joints]),
            dofs=np.array([int(j.dofadr[0]) for j in joints]),
            finger_qpos=np.array([int(j.qposadr[0]) for j in fingers]),
            actuators=actuators,
            gripper_body=model.body(prefix + "gripper_link").id,
            finger_geoms=(
                model.geom(prefix + "10_left_gripper_finger").id,
                model.geom(prefix + "10_right_gripper_finger").id,
            ),
            lower=np.array([j.range[0] for j in joints]),
            upper=np.array([j.range[1] for j in joints]),
        )

    def tcp(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """World position of the tool centre point and orientation of the gripper_link."""
        rotation = data.xmat[self.gripper_body].reshape(3, 3)
        return data.xpos[self.gripper_body] + rotation @ TCP_OFFSET, rotation.copy()


class InverseKinematics:
    """Damped-least-squares IK for both arms on a private `MjData`."""

    def __init__(self, model: mujoco.MjModel, arms: dict[str, Arm]) -> None:
        self.model = model
        self.arms = arms
        self.data = mujoco.MjData(model)
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def solve(
        self,
        side: str,
        position: np.ndarray,
        rotation: np.ndarray,
        initial: np.ndarray,
        iterations: int = 30,
        rotation_weight: float = 0.3,
        damping: float = 0.02,
        tolerance: float = 2e-4,
    ) -> tuple[np.ndarray, float]:
        """Joint angles (6) putting the arm's TCP at `position` with gripper orientation `rotation`; also returns the
        remaining position error in metres (orientation is weighted by `rotation_weight` metres per radian)."""
        arm, data, model = self.arms[side], self.data, self.model
        q = np.clip(np.asarray(initial, dtype=float).copy(), arm.lower, arm.upper)
        error_norm = np.inf
        for _ in range(iterations):
            data.qpos[arm.qpos] = q
            mujoco.mj_kinematics(model, data)
            mujoco.mj_comPos(model, data)
            tcp, current = arm.tcp(data)
            error = np.concatenate([position - tcp, rotation_weight * rotation_error(rotation, current)])
            error_norm = float(np.linalg.norm(error[:3]))
            if error_norm < tolerance and np.linalg.norm(error[3:]) < tolerance:
                break
            mujoco.mj_jac(model, data, self._jacp, self._jacr, tcp, arm.gripper_body)
            jacobian = np.vstack([self._jacp[:, arm.dofs], rotation_weight * self._jacr[:, arm.dofs]])
            step = jacobian.T @ np.linalg.solve(jacobian @ jacobian.T + damping**2 * np.eye(6), error)
            step = np.clip(step, -0.3, 0.3)  # keep Newton steps local: the arm must not flip through a singularity
            q = np.clip(q + step, arm.lower, arm.upper)
        return q, error_norm

    def forward(self, side: str, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """TCP position and gripper orientation for joint angles `joints` (forward kinematics)."""
        arm = self.arms[side]
        self.data.qpos[arm.qpos] = joints
        mujoco.mj_kinematics(self.model, self.data)
        return arm.tcp(self.data)
