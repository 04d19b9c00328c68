"""A thin MuJoCo environment for the bimanual ViperX (ALOHA) tasks.

Why not gym-aloha's env: its task renders three 640×480 cameras with 4096² shadow maps on every step (~170 ms on
CPU). Here physics runs on its own (0.4 ms per 20 ms control tick) and pixels are produced only when an observation or
an annotation is asked for, at 224×224, without shadows. One `step` is one policy step at `fps` (10 Hz by default):
the joint targets ramp linearly from the previous action to the new one over the 20 ms control ticks inside it, so a
10 Hz policy moves the arms as smoothly as ALOHA's 50 Hz teleoperation.

Action and state follow gym-aloha/ACT (14 values): for the left then the right arm, six absolute joint angles
(waist, shoulder, elbow, forearm_roll, wrist_angle, wrist_rotate) and the normalized gripper (0 closed, 1 open).

Frames (annotations): `world` is gym-aloha's (z up, table top at z = 0, arms at x = ±0.469 m facing each other);
`base` is the bimanual base frame, world axes with its origin midway between the two arm bases on the table
(0, 0.5, 0). Cameras are OpenCV-style (x right, y down, z forward): `xyz_cam = inv(T_world_cam) @ xyz_world` and
`[u, v, 1] ~ K @ xyz_cam`. Pixel coordinates are continuous, (0, 0) at the top-left corner of the top-left pixel;
boxes are [x1, y1, x2, y2] pixel edges.
"""

from __future__ import annotations

import atexit
import weakref
from typing import Any

import mujoco
import numpy as np

from simulation.base import TaskSpec

from .annotate import Annotator
from .assets import asset_files, build_scene_xml
from .kinematics import (
    SIDES,
    Arm,
    InverseKinematics,
    gripper_normalized,
    gripper_position,
)
from .tasks import TASK_CLASSES, AlohaTask

SUITE = "aloha"
ROBOT_TYPE = "aloha"
CONTROL_HZ = 50  # gym-aloha's control rate: one tick = 10 physics substeps of 2 ms
PHYSICS_SUBSTEPS = 10
DEFAULT_CAMERAS = ("top", "left_wrist", "right_wrist")
ALL_CAMERAS = ("top", "angle", "front_close", "left_pillar", "right_pillar", "left_wrist", "right_wrist")
START_ARM_JOINTS = np.array([0.0, -0.96, 1.16, 0.0, -0.3, 0.0])
START_GRIPPER = 0.024  # finger position of gym-aloha's start pose (nearly closed)
BASE_ORIGIN = np.array([0.0, 0.5, 0.0])
JOINT_NAMES = tuple(
    f"{side}_{name}"
    for side in SIDES
    for name in ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate", "gripper")
)
# Geom groups (set at load time) so that segmentation passes can show objects or grippers alone.
GROUP_ARM, GROUP_TABLE, GROUP_OBJECT, GROUP_GRIPPER = 0, 1, 2, 3


_LIVE_ENVS: weakref.WeakSet[AlohaEnv] = weakref.WeakSet()
_EXIT_HOOK = []


def _close_live_envs() -> None:
    for env in list(_LIVE_ENVS):
        env.close()


def _register_exit_hook() -> None:
    """Close renderers at exit before MuJoCo terminates EGL (it registers that on its first context; atexit runs
    last-registered first), so freeing a context never meets a terminated display."""
    if not _EXIT_HOOK:
        atexit.register(_close_live_envs)
        _EXIT_HOOK.append(True)


class AlohaEnv:
    """One ALOHA task (see `simulation.aloha.TASKS`), implementing `simulation.base.SimEnv`."""

    def __init__(
        self,
        task: str | AlohaTask,
        cameras: tuple[str, ...] | list[str] = DEFAULT_CAMERAS,
        image_size: tuple[int, int] = (224, 224),
        fps: int = 10,
        msaa_samples: int = 4,
    ) -> None:
        if isinstance(task, str):
            if task not in TASK_CLASSES:
                raise KeyError(f"unknown aloha task {task!r}: expected one of {sorted(TASK_CLASSES)}")
            task = TASK_CLASSES[task]()
        if fps <= 0 or CONTROL_HZ % fps:
            raise ValueError(f"fps must divide the {CONTROL_HZ} Hz control rate (1, 2, 5, 10, 25 or 50), got {fps}")
        cameras = tuple(cameras)
        unknown = [name for name in cameras if name not in ALL_CAMERAS]
        if unknown or not cameras:
            raise ValueError(f"cameras must be a non-empty subset of {ALL_CAMERAS}, got {cameras}")
        height, width = (int(v) for v in image_size)
        if height <= 0 or width <= 0:
            raise ValueError(f"image_size must be (height, width) > 0, got {image_size}")
        self.task = task
        self.cameras = cameras
        self.image_size = (height, width)
        self.fps = fps
        self.ticks_per_step = CONTROL_HZ // fps

        xml = build_scene_xml(task.objects_xml(), model_name=f"vlaser_aloha_{task.name}")
        self.model = mujoco.MjModel.from_xml_string(xml, asset_files())
        self.model.light_castshadow[:] = 0  # shadows cost 2-4x per frame on llvmpipe and are barely visible here
        self.model.vis.quality.offsamples = int(msaa_samples)
        self.data = mujoco.MjData(self.model)
        self.arms = {side: Arm.from_model(self.model, side) for side in SIDES}
        self.ik = InverseKinematics(self.model, self.arms)
        self._regroup_geoms()
        task.bind(self.model)

        self.spec = TaskSpec(
            suite=SUITE,
            name=task.name,
            instruction=task.instruction,
            robot_type=ROBOT_TYPE,
            state_names=JOINT_NAMES,
            action_names=JOINT_NAMES,
            cameras={name: self.image_size for name in cameras},
            fps=fps,
            max_steps=int(round(task.max_seconds * fps)),
        )
        self._renderer: mujoco.Renderer | None = None
        self.annotator = Annotator(self)
        self._previous_ctrl = np.zeros(self.model.nu)
        self.seed: int | None = None
        self.steps = 0
        _LIVE_ENVS.add(self)

    # ------------------------------------------------------------------------------------------------ set-up
    def _regroup_geoms(self) -> None:
        model = self.model
        gripper_bodies = set()
        for side in SIDES:
            root = self.arms[side].gripper_body
            gripper_bodies |= {b for b in range(model.nbody) if _is_descendant(model, b, root)}
        for geom in range(model.ngeom):
            body = int(model.geom_bodyid[geom])
            if body in gripper_bodies:
                model.geom_group[geom] = GROUP_GRIPPER
            elif model.geom(geom).name == "table":
                model.geom_group[geom] = GROUP_TABLE
            elif model.body(body).name.startswith("vx300s_"):
                model.geom_group[geom] = GROUP_ARM
            else:
                model.geom_group[geom] = GROUP_OBJECT

    @property
    def renderer(self) -> mujoco.Renderer:
        if self._renderer is None:
            height, width = self.image_size
            try:
                self._renderer = mujoco.Renderer(self.model, height, width)
            except Exception as err:  # the GL backend raises many types (EGLError, RuntimeError, ImportError)
                from ._gl import GL_HELP

                raise RuntimeError(f"cannot create a MuJoCo renderer ({type(err).__name__}: {err}). {GL_HELP}") from err
            _register_exit_hook()
        return self._renderer

    # ------------------------------------------------------------------------------------------------ episode
    def reset(self, seed: int) -> dict[str, Any]:
        """Start an episode: arms at gym-aloha's start pose, objects placed by the task from `seed`."""
        model, data = self.model, self.data
        self.seed = int(seed)
        rng = np.random.default_rng(self.seed)
        mujoco.mj_resetData(model, data)
        for arm in self.arms.values():
            data.qpos[arm.qpos] = START_ARM_JOINTS
            data.qpos[arm.finger_qpos] = (START_GRIPPER, -START_GRIPPER)
        self.task.reset(model, data, rng)
        data.ctrl[:] = self._ctrl_from_action(self.state())
        mujoco.mj_forward(model, data)
        mujoco.mj_step(model, data, PHYSICS_SUBSTEPS * 5)  # let objects settle on the table (0.1 s)
        mujoco.mj_forward(model, data)
        self._previous_ctrl = data.ctrl.copy()
        self.steps = 0
        self.task.on_reset(self)
        return self.observation()

    def step(self, action: np.ndarray, render: bool = True) -> tuple[dict[str, Any] | None, bool]:
        """Apply one policy action (14 joint targets) for 1/fps seconds; returns (observation or None, success)."""
        action = np.asarray(action, dtype=float).reshape(-1)
        if action.shape != (len(JOINT_NAMES),) or not np.all(np.isfinite(action)):
            raise ValueError(
                f"action must be {len(JOINT_NAMES)} finite values ({', '.join(JOINT_NAMES)}), got shape "
                f"{np.asarray(action).shape}"
            )
        target = self._ctrl_from_action(action)
        start = self._previous_ctrl
        for tick in range(1, self.ticks_per_step + 1):
            self.data.ctrl[:] = start + (target - start) * (tick / self.ticks_per_step)
            mujoco.mj_step(self.model, self.data, PHYSICS_SUBSTEPS)
        mujoco.mj_forward(self.model, self.data)  # positions, cameras and contacts of the new state
        self._previous_ctrl = target
        self.steps += 1
        self.task.on_step(self)
        return (self.observation() if render else None), self.success()

    def observation(self) -> dict[str, Any]:
        return {"images": {name: self.render(name) for name in self.cameras}, "state": self.state()}

    def state(self) -> np.ndarray:
        """The 14 joint readings: per arm six angles and the normalized gripper opening."""
        values = []
        for side in SIDES:
            arm = self.arms[side]
            values.extend(self.data.qpos[arm.qpos])
            values.append(gripper_normalized(self.data.qpos[arm.finger_qpos[0]]))
        return np.asarray(values, dtype=np.float32)

    def success(self) -> bool:
        return bool(self.task.success(self))

    def annotations(self) -> dict[str, Any]:
        """The DESIGN.md annotation record of the current frame (phase unknown: the recorder fills it in)."""
        return self.annotator.record()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> AlohaEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # an explicit close avoids PyOpenGL errors at interpreter exit
        try:
            self.close()
        except Exception:
            pass

    # ------------------------------------------------------------------------------------------------ helpers
    def _ctrl_from_action(self, action: np.ndarray) -> np.ndarray:
        ctrl = np.array(self.data.ctrl, dtype=float)
        for index, side in enumerate(SIDES):
            arm, values = self.arms[side], action[7 * index : 7 * index + 7]
            finger = float(gripper_position(values[6]))
            ctrl[arm.actuators] = [*values[:6], finger, -finger]
        low, high = self.model.actuator_ctrlrange.T
        return np.clip(ctrl, low, high)

    def render(self, camera: str, segmentation: bool = False, groups: tuple[int, ...] | None = None) -> np.ndarray:
        """One camera image: RGB (H, W, 3) uint8, or with `segmentation` the geom id per pixel (H, W) int32 (-1:
        nothing). `groups` limits the geom groups drawn (e.g. objects alone, to measure occlusion)."""
        renderer = self.renderer
        option = mujoco.MjvOption()
        if groups is not None:
            option.geomgroup[:] = 0
            for group in groups:
                option.geomgroup[group] = 1
        else:
            option.geomgroup[: GROUP_GRIPPER + 1] = 1
        renderer.update_scene(self.data, camera=camera, scene_option=option)
        if not segmentation:
            return renderer.render().copy()
        renderer.enable_segmentation_rendering()
        try:
            pixels = renderer.render()
        finally:
            renderer.disable_segmentation_rendering()
        ids = pixels[..., 0].astype(np.int32)
        ids[pixels[..., 1] != int(mujoco.mjtObj.mjOBJ_GEOM)] = -1
        return ids

    def contacts(self) -> set[tuple[int, int]]:
        """Geom pairs in contact now, each pair sorted."""
        count = self.data.ncon
        if not count:
            return set()
        pairs = np.sort(np.asarray(self.data.contact.geom[:count]), axis=1)
        return {(int(a), int(b)) for a, b in pairs}

    def body_geoms(self, body: int | str, subtree: bool = False) -> list[int]:
        root = self.model.body(body).id
        bodies = {b for b in range(self.model.nbody) if _is_descendant(self.model, b, root)} if subtree else {root}
        return [g for g in range(self.model.ngeom) if int(self.model.geom_bodyid[g]) in bodies]

    def grasped_by(self, side: str, geoms: list[int]) -> bool:
        """Whether both fingers of the arm on `side` touch one of `geoms` (a pinch grasp)."""
        contacts = self.contacts()
        touched = []
        for finger in self.arms[side].finger_geoms:
            touched.append(any(tuple(sorted((finger, g))) in contacts for g in geoms))
        return all(touched)

    def touching(self, geoms_a: list[int], geoms_b: list[int]) -> bool:
        contacts = self.contacts()
        return any(tuple(sorted((a, b))) in contacts for a in geoms_a for b in geoms_b)

    def gripper_open(self, side: str) -> bool:
        """Commanded state of the gripper: open when its target is past the middle of the finger range."""
        finger_actuator = self.arms[side].actuators[6]
        return bool(self.data.ctrl[finger_actuator] > (0.021 + 0.057) / 2)

    def body_pose(self, body: str) -> tuple[np.ndarray, np.ndarray]:
        index = self.model.body(body).id
        return self.data.xpos[index].copy(), self.data.xmat[index].reshape(3, 3).copy()

    def tcp(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        return self.arms[side].tcp(self.data)

    def arm_joints(self, side: str) -> np.ndarray:
        return self.data.qpos[self.arms[side].qpos].copy()


def _is_descendant(model: mujoco.MjModel, body: int, root: int) -> bool:
    while body > 0:
        if body == root:
            return True
        body = int(model.body_parentid[body])
    return root == 0
