"""A thin `SimEnv` over the real SimplerEnv Bridge tasks of ManiSkill3 3.0.1 (SAPIEN 3 rendering on the CPU).

What the wrapper adds to ManiSkill's own environment, and why:

* Rendering on demand. ManiSkill renders the 640 x 480 camera (plus greenscreen) on every `step`, about three
  quarters of a step's time. `step(action, render=False)` runs the controller, physics and the (stateful) success check and
  skips the camera, so experts and evaluators pay for pixels only on recorded or queried frames.
* Seeds that mean something. `reset(seed)` plays ManiSkill's episode `seed % num_configs` (its fixed grid of object
  layouts, the SimplerEnv evaluation protocol), so seeds 0..N-1 cover the grid evenly. Optional `xy_jitter` /
  `yaw_jitter` perturb the layout by amounts drawn from `seed`, for data with more than the grid's 8-24 layouts.
* A resized copy of the SimplerEnv camera (224 x 224 by default) for policies and data, and the DESIGN.md
  annotation record for that copy (`annotations()`).
* Per-instance state where ManiSkill 3.0.1 keeps class-level mutable state (`BaseDigitalTwinEnv._rgb_overlay_images`
  and `_objects_to_remove_from_greenscreen`), so that two tasks alive in one process do not swap greenscreen photos.
* Stand-in assets for files the offline asset folder lacks (`assets.py`).

ManiSkill is imported when an environment is made, never at `import simulation.widowx`.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from simulation.base import TaskSpec
from simulation.widowx import annotate
from simulation.widowx.assets import ASSET_ENV_VAR, asset_root, bridge_asset_path
from simulation.widowx.tasks import WIDOWX_TASKS, WidowXTask

CAMERA = "3rd_view_camera"
ROBOT_TYPE = "widowx250s"
CONTROL_FREQ = 5  # Hz, ManiSkill's Bridge sim config
STATE_NAMES = ("x", "y", "z", "roll", "pitch", "yaw", "gripper")
ACTION_NAMES = ("dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper")
# Finger joint positions of the open and closed gripper (ManiSkill's gripper controller limits, without clearance).
GRIPPER_CLOSED_QPOS, GRIPPER_OPEN_QPOS = 0.015, 0.037
GRIPPER_LINKS = (
    "gripper_link",
    "ee_arm_link",
    "gripper_prop_link",
    "gripper_bar_link",
    "fingers_link",
    "left_finger_link",
    "right_finger_link",
    "ee_gripper_link",
)
# The end-effector orientation "pointing straight down, fingers closing along the base y axis" (a +90 deg turn about
# y: the link's x axis points down). State angles are measured from it, in base-frame axes, because the raw
# orientation of a downward gripper sits at pitch = 90 deg, where roll and yaw are ill-defined.
GRIPPER_DOWN = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
# The yellow dish rack of the sink photo, in the frame of ManiSkill's invisible target plane (which settles on the
# rack's floor): a frustum from the plane's own rectangle up to the rack's rim, fitted by eye to `bridge_sink.png`.
BASKET_FLOOR = ((-0.065, -0.04, 0.0), (0.065, 0.04, 0.0))  # (min corner, max corner)
BASKET_RIM = ((-0.07, -0.045, 0.04), (0.10, 0.09, 0.04))
SETUP_HINT = (
    "SAPIEN needs a Vulkan driver with descriptorBindingPartiallyBound; on CPU that is Mesa >= 25 lavapipe. "
    "Run `sudo scripts/install_sim_deps_widowx.sh` (what `make sim-deps-widowx` runs) to install it from the "
    "Debian backports suite."
)


class VulkanUnavailableError(RuntimeError):
    """SAPIEN found no usable Vulkan device: the system set-up step has not been run."""


def _import_maniskill() -> Any:
    """Import ManiSkill (registering its environments) with errors that say how to fix the environment."""
    try:
        import mani_skill
        import mani_skill.envs  # noqa: F401  (registers the environments)
    except ImportError as error:
        raise ImportError(
            f"simulation.widowx needs ManiSkill3 ({error}); install the `sim` extra: "
            "pip install -c requirements/constraints.txt -e '.[sim]'"
        ) from error
    mani_skill.logger.setLevel("ERROR")  # its per-make warnings (mimic joints, default poses) are noise here
    if mani_skill.ASSET_DIR.resolve() != asset_root().resolve():
        raise RuntimeError(
            f"ManiSkill was imported with assets at {mani_skill.ASSET_DIR}, but ${ASSET_ENV_VAR} now points to "
            f"{asset_root()}; set {ASSET_ENV_VAR} before the first simulator is made"
        )
    return mani_skill


_renderer_checked = False


def check_renderer() -> None:
    """Raise `VulkanUnavailableError`, naming the set-up step, if SAPIEN cannot create its Vulkan renderer.

    Without this ManiSkill fails later with a bare "failed to find a rendering device"; Debian 12's own lavapipe
    (Mesa 22) is listed by `vulkaninfo` but lacks a feature SAPIEN requires, which is easy to misread.
    """
    global _renderer_checked
    if _renderer_checked:
        return
    try:
        import sapien
    except ImportError as error:
        raise ImportError(
            f"simulation.widowx needs SAPIEN ({error}); install the `sim` extra: "
            "pip install -c requirements/constraints.txt -e '.[sim]'"
        ) from error
    try:
        sapien.render.RenderSystem()
    except RuntimeError as error:
        raise VulkanUnavailableError(f"SAPIEN cannot render ({error}). {SETUP_HINT}") from error
    _renderer_checked = True


@contextlib.contextmanager
def _bridge_assets(path: Any) -> Iterator[None]:
    """Point ManiSkill's Bridge asset folder at `path` (our overlay with stand-ins) while a scene loads."""
    from mani_skill.envs.tasks.digital_twins.bridge_dataset_eval import base_env as bridge_base

    saved = bridge_base.BRIDGE_DATASET_ASSET_PATH
    bridge_base.BRIDGE_DATASET_ASSET_PATH = path
    try:
        yield
    finally:
        bridge_base.BRIDGE_DATASET_ASSET_PATH = saved


def _vlaser_env_class(env_id: str, bridge_path: Any) -> type:
    """ManiSkill's task class with per-instance greenscreen state and (if needed) our asset overlay."""
    from mani_skill.utils.registration import REGISTERED_ENVS

    base = REGISTERED_ENVS[env_id].cls

    class VlaserBridgeEnv(base):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            self._rgb_overlay_images = {}
            self._objects_to_remove_from_greenscreen = []
            super().__init__(**kwargs)

        def _load_scene(self, options: dict) -> None:
            self._objects_to_remove_from_greenscreen = []
            with _bridge_assets(bridge_path):
                super()._load_scene(options)

    VlaserBridgeEnv.__name__ = VlaserBridgeEnv.__qualname__ = f"Vlaser{base.__name__}"
    return VlaserBridgeEnv


def _matrix(pose: Any) -> np.ndarray:
    """4x4 float64 transform of a SAPIEN pose or of the first element of a batched ManiSkill pose."""
    matrix = pose.to_transformation_matrix()
    matrix = matrix[0].numpy() if hasattr(matrix, "numpy") else matrix
    return np.asarray(matrix, dtype=np.float64)


class _Geometry:
    """The visual meshes of one annotated thing (an actor, a set of robot links, or a stand-in box)."""

    def __init__(self, parts: list[tuple[Any, np.ndarray, np.ndarray]]) -> None:
        # Each part: (entity with a `.pose`; (N, 3) vertices in the entity's frame; (M, 3) triangles).
        self.parts = parts
        vertices = np.concatenate([local for _, local, _ in parts])
        # Bounds in the entity's frame; meaningful for single-entity geometry (task objects).
        self.local_low, self.local_high = vertices.min(axis=0), vertices.max(axis=0)

    @classmethod
    def from_entities(cls, entities: list[Any]) -> _Geometry:
        import sapien

        parts = []
        for entity in entities:
            body = entity.find_component_by_type(sapien.render.RenderBodyComponent)
            for shape in body.render_shapes if body is not None else []:
                local = _matrix(shape.local_pose)
                scale = np.asarray(shape.scale, dtype=np.float64)
                for mesh in getattr(shape, "parts", []):
                    vertices = annotate.transform_points(local, np.asarray(mesh.vertices, dtype=np.float64) * scale)
                    parts.append((entity, vertices, np.asarray(mesh.triangles, dtype=np.int64)))
        return cls(parts)

    def world(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All vertices in the world frame, the triangles indexing them, and each triangle's part index."""
        vertices, triangles, part, offset = [], [], [], 0
        for index, (entity, local, tris) in enumerate(self.parts):
            vertices.append(annotate.transform_points(_matrix(entity.pose), local))
            triangles.append(tris + offset)
            part.append(np.full(len(tris), index))
            offset += len(local)
        return np.concatenate(vertices), np.concatenate(triangles), np.concatenate(part)


class WidowXEnv:
    """One SimplerEnv Bridge task (see `simulation.widowx.tasks`) behind the `simulation.base.SimEnv` interface.

    Observations: `{"images": {"3rd_view_camera": (H, W, 3) uint8 at `image_size`}, "state": float32[7]}` with
    state = gripper-tip position (m) in the robot base frame, roll/pitch/yaw (rad, base axes) relative to the gripper
    pointing straight down (`GRIPPER_DOWN`), then finger opening in [0, 1] (1 = open). `full_images` holds the native
    640 x 480 render when `keep_native=True`. `cameras` and `fps` exist for the recorder's common options and accept
    only the one camera and 5 Hz.
    Actions: float32[7] in ManiSkill's `arm_pd_ee_target_delta_pose_align2_gripper_pd_joint_pos` controller:
    end-effector target deltas in the base frame (m, and x-y-z Euler rad about base-aligned axes at the gripper;
    clipped to +-1 m and +-pi/2), then the gripper target in [-1, 1] (-1 closed, 1 open).
    """

    def __init__(
        self,
        task: str,
        image_size: tuple[int, int] = (224, 224),
        xy_jitter: float = 0.0,
        yaw_jitter: float = 0.0,
        max_steps: int | None = None,
        keep_native: bool = False,
        cameras: tuple[str, ...] | None = None,
        fps: int | None = None,
    ) -> None:
        if task not in WIDOWX_TASKS:
            raise KeyError(f"task: unknown WidowX task {task!r}; expected one of {sorted(WIDOWX_TASKS)}")
        if cameras is not None and tuple(cameras) != (CAMERA,):
            raise ValueError(f"cameras: the WidowX tasks have one camera, ({CAMERA!r},); got {tuple(cameras)!r}")
        if fps is not None and fps != CONTROL_FREQ:
            raise ValueError(
                f"fps: the WidowX tasks run at ManiSkill's Bridge control rate of {CONTROL_FREQ} Hz; got {fps}"
            )
        if len(image_size) != 2 or min(image_size) <= 0:
            raise ValueError(f"image_size: expected (height, width) of positive ints, got {image_size!r}")
        if xy_jitter < 0 or yaw_jitter < 0:
            raise ValueError(f"xy_jitter / yaw_jitter: expected >= 0, got {xy_jitter}, {yaw_jitter}")
        self.task: WidowXTask = WIDOWX_TASKS[task]
        self.image_size = (int(image_size[0]), int(image_size[1]))  # (height, width)
        self.xy_jitter, self.yaw_jitter, self.keep_native = float(xy_jitter), float(yaw_jitter), keep_native
        self.spec = TaskSpec(
            suite="widowx",
            name=self.task.name,
            instruction=self.task.instruction,
            robot_type=ROBOT_TYPE,
            state_names=STATE_NAMES,
            action_names=ACTION_NAMES,
            cameras={CAMERA: self.image_size},
            fps=CONTROL_FREQ,
            max_steps=int(max_steps or self.task.max_steps),
        )
        self.bridge_path, self.standins = bridge_asset_path(self.task)
        check_renderer()
        _import_maniskill()
        env_class = _vlaser_env_class(self.task.env_id, self.bridge_path)
        with warnings.catch_warnings():  # StackGreenCube's constructor builds a tensor from a list of arrays
            warnings.filterwarnings("ignore", message="Creating a tensor from a list of numpy.ndarrays")
            # The ManiSkill task object, unwrapped: we step its parts ourselves.
            self._u = env_class(obs_mode="rgb+segmentation", num_envs=1, sim_backend="cpu", render_backend="cpu")
        self._base_xyz = self._base_quat = None
        self._geometry: dict[str, _Geometry] = {}
        self._frame: dict[str, Any] | None = None  # the last render: rgb, segmentation, K, extrinsic
        self._keep: np.ndarray | None = None  # greenscreen lookup, built on the first render
        self._overlay: np.ndarray | None = None
        self._info: dict[str, Any] = {}
        self.num_configs = 0
        self.seed: int | None = None
        self.elapsed_steps = 0
        self.succeeded = False  # whether the task was accomplished at any step of this episode
        self.gripper_command = 1.0  # the last gripper action (> 0 open)
        self.phase, self.phase_index = "unknown", -1

    # ------------------------------------------------------------------ SimEnv
    def reset(self, seed: int) -> dict[str, Any]:
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
        u = self._u
        if self._base_xyz is None:  # first reset: ManiSkill builds the scene, then we can read its layout grid
            u.reset(seed=int(seed), options={"episode_id": 0})
            import torch

            self._base_xyz = torch.as_tensor(u.xyz_configs).clone()
            self._base_quat = torch.as_tensor(u.quat_configs).clone()
            self.num_configs = len(self._base_xyz) * len(self._base_quat)
            self._home_qpos = u.agent.robot.get_qpos().clone()
            self._cache_geometry()
        self._send_robot_home()
        self._apply_jitter(int(seed))
        episode_id = int(seed) % self.num_configs
        _, self._info = u.reset(seed=int(seed), options={"episode_id": episode_id})
        self.seed, self.elapsed_steps, self.succeeded = int(seed), 0, False
        self.gripper_command = 1.0  # ManiSkill resets the gripper open
        self.phase, self.phase_index = "unknown", -1
        return self._render()

    def step(self, action: np.ndarray, render: bool = True) -> tuple[dict[str, Any] | None, bool]:
        action = np.asarray(action, dtype=np.float32)
        if action.shape != (len(ACTION_NAMES),):
            raise ValueError(f"action: expected shape ({len(ACTION_NAMES)},) {ACTION_NAMES}, got {action.shape}")
        if not np.all(np.isfinite(action)):
            raise ValueError(f"action: expected finite values, got {action.tolist()}")
        if self.seed is None:
            raise RuntimeError("step() before reset(seed)")
        u = self._u
        u._step_action(action)  # ManiSkill's own step, minus the render it always does
        self.gripper_command = float(action[-1])
        u._elapsed_steps += 1
        self._info = u.get_info()  # exactly once per step: ManiSkill's success bookkeeping is stateful
        self.elapsed_steps += 1
        self.succeeded = self.succeeded or self.success()
        self._frame = None
        return (self._render() if render else None), self.succeeded

    def success(self) -> bool:
        """ManiSkill's success check at the current step (`step` returns whether it held at any step so far)."""
        return bool(self._info["success"].reshape(-1)[0]) if "success" in self._info else False

    def annotations(self) -> dict[str, Any]:
        if self.seed is None:
            raise RuntimeError("annotations() before reset(seed)")
        if self._frame is None:
            self._render()
        return self._annotate(self._frame)

    def close(self) -> None:
        if getattr(self, "_u", None) is not None:
            self._u.close()
            self._u = None

    # ------------------------------------------------------------------ expert and recorder helpers
    def set_phase(self, phase: str, index: int) -> None:
        """Record the expert's current phase so that `annotations()` can report it."""
        self.phase, self.phase_index = str(phase), int(index)

    @property
    def instruction(self) -> str:
        return self.task.instruction

    def object_pose(self, model_id: str) -> np.ndarray:
        """World 4x4 pose of a task object (privileged state for experts)."""
        return _matrix(self._u.objs[model_id]._objs[0].pose)

    def base_pose(self) -> np.ndarray:
        """World 4x4 pose of the robot base (the frame of actions, state and `xyz_base`)."""
        return _matrix(self._u.agent.robot.pose)

    def tcp_pose_base(self) -> np.ndarray:
        """Current end-effector (`ee_gripper_link`) pose in the base frame."""
        return _matrix(self._arm.ee_pose_at_base)

    def target_pose_base(self) -> np.ndarray:
        """The controller's accumulated end-effector target in the base frame (what deltas are added to)."""
        return _matrix(self._arm._target_pose)

    def gripper_opening(self) -> float:
        """Finger opening in [0, 1] (1 = fully open)."""
        qpos = self._u.agent.robot.get_qpos()[0, -2:].numpy().mean()
        return float(np.clip((qpos - GRIPPER_CLOSED_QPOS) / (GRIPPER_OPEN_QPOS - GRIPPER_CLOSED_QPOS), 0.0, 1.0))

    def is_grasping(self, model_id: str) -> bool:
        return bool(self._u.agent.is_grasping(self._u.objs[model_id])[0])

    def object_extents(self, model_id: str) -> np.ndarray:
        """Size (x, y, z) of a task object's visual mesh in its own frame."""
        geometry = self._geometry[model_id]
        return geometry.local_high - geometry.local_low

    def object_center_local(self, model_id: str) -> np.ndarray:
        """Centre of a task object's visual-mesh bounding box in its own frame (its annotated 3-D position)."""
        geometry = self._geometry[model_id]
        return (geometry.local_high + geometry.local_low) / 2

    @property
    def _arm(self) -> Any:
        return self._u.agent.controller.controllers["arm"]

    # ------------------------------------------------------------------ internals
    def _apply_jitter(self, seed: int) -> None:
        """Set the layout grid to the base grid plus seed-drawn offsets (identity when jitter is 0)."""
        import torch
        from mani_skill.utils.geometry.rotation_conversions import quaternion_multiply

        xyz, quat = self._base_xyz.clone(), self._base_quat.clone()
        if self.xy_jitter > 0 or self.yaw_jitter > 0:
            rng = np.random.default_rng(seed)
            movable = [0, 1] if not self.task.target_is_invisible else [0]  # the photo's basket cannot move
            pos_id = (seed % self.num_configs) // len(quat)
            quat_id = seed % len(quat)
            for i in movable:
                xyz[pos_id, i, :2] += torch.as_tensor(rng.uniform(-self.xy_jitter, self.xy_jitter, 2), dtype=xyz.dtype)
                yaw = rng.uniform(-self.yaw_jitter, self.yaw_jitter)
                turn = torch.tensor([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)], dtype=quat.dtype)
                quat[quat_id, i] = quaternion_multiply(turn, quat[quat_id, i])
        self._u.xyz_configs, self._u.quat_configs = xyz, quat

    def _send_robot_home(self) -> None:
        """Put the robot back to its initial joints and drive targets before ManiSkill's reset.

        ManiSkill settles the new objects for 0.5 s *before* it moves the robot home, with the arm still where the
        previous episode left it (possibly low over the new layout, holding its old drive targets). Homing first
        makes an episode independent of the one before it, so a seed replays the same episode.
        """
        robot = self._u.agent.robot
        robot.set_qpos(self._home_qpos)
        robot.set_qvel(self._home_qpos * 0)
        robot.set_joint_drive_targets(self._home_qpos, joints=robot.get_active_joints())

    def _cache_geometry(self) -> None:
        u = self._u
        for model_id, actor in u.objs.items():
            self._geometry[model_id] = _Geometry.from_entities([actor._objs[0]])
        links = [u.agent.robot.links_map[name]._objs[0].entity for name in GRIPPER_LINKS]
        self._geometry["gripper"] = _Geometry.from_entities(links)
        self._gripper_ids = np.array([u.agent.robot.links_map[name].per_scene_id[0].item() for name in GRIPPER_LINKS])
        if self.task.target_is_invisible:
            self._geometry[self.task.target.model_id] = self._basket_geometry()

    def _basket_geometry(self) -> _Geometry:
        """The photo's dish rack as a convex frustum carried by the invisible target plane."""
        import trimesh

        corners = []
        for low, high in (BASKET_FLOOR, BASKET_RIM):
            corners += [(x, y, low[2]) for x in (low[0], high[0]) for y in (low[1], high[1])]
        hull = trimesh.convex.convex_hull(np.asarray(corners, dtype=np.float64))
        entity = self._u.objs[self.task.target.model_id]._objs[0]
        return _Geometry([(entity, np.asarray(hull.vertices), np.asarray(hull.faces, dtype=np.int64))])

    def _render(self) -> dict[str, Any]:
        """Render the camera and apply the greenscreen; returns the observation and caches the frame.

        The same pixels as ManiSkill's `get_obs` (a test compares them), computed with numpy instead of its torch
        post-processing, which costs 5-10 ms more per frame on two cores and far more when other processes compete
        for the cores torch's thread pool expects.
        """
        import cv2

        u = self._u
        for hidden in u._hidden_objects:
            hidden.hide_visual()
        u.scene.update_render(update_sensors=True, update_human_render_cameras=False)
        sensor = u.scene.sensors[CAMERA]
        sensor.capture()
        camera = sensor.camera._render_cameras[0]
        segmentation = camera.get_picture("PositionSegmentation")[..., 3]  # the "minimal" shader pack's layout
        rgb = camera.get_picture("Color")[..., :3]
        if self._keep is None:
            self._keep = np.zeros(2**16, dtype=bool)  # segmentation id -> kept by the greenscreen
            self._keep[u._segmentation_ids_to_keep.numpy()] = True
            self._overlay = u._rgb_overlay_images[CAMERA].numpy()
        rgb = np.where(self._keep[segmentation][..., None], rgb, self._overlay)
        params = sensor.get_params()
        self._frame = {
            "rgb": rgb,
            "segmentation": segmentation,
            "K": params["intrinsic_cv"][0].numpy().astype(np.float64),
            "extrinsic": params["extrinsic_cv"][0].numpy().astype(np.float64),
        }
        height, width = self.image_size
        resized = (
            rgb if rgb.shape[:2] == (height, width) else cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        )
        observation: dict[str, Any] = {"images": {CAMERA: np.ascontiguousarray(resized)}, "state": self._state()}
        if self.keep_native:
            observation["full_images"] = {CAMERA: rgb}
        return observation

    def _state(self) -> np.ndarray:
        tcp = self.tcp_pose_base()
        rotation = tcp[:3, :3] @ GRIPPER_DOWN.T  # relative to pointing straight down: no gimbal lock near home
        rpy = Rotation.from_matrix(rotation).as_euler("xyz")  # extrinsic x-y-z: R = Rz(yaw) Ry(pitch) Rx(roll)
        return np.concatenate([tcp[:3, 3], rpy, [self.gripper_opening()]]).astype(np.float32)

    def _annotate(self, frame: dict[str, Any]) -> dict[str, Any]:
        u, task = self._u, self.task
        seg = frame["segmentation"]
        native = (seg.shape[1], seg.shape[0])  # (width, height)
        height, width = self.image_size
        sx, sy = width / native[0], height / native[1]
        k_native = annotate.intrinsics_for_size(frame["K"], native, native)
        world_to_cam = np.vstack([frame["extrinsic"], [0.0, 0.0, 0.0, 1.0]])
        world_to_base = np.linalg.inv(self.base_pose())

        things = []  # (name, category, geometry key, world centre, visible mask or None = "photo, not segmentable")
        grasped = None
        for info in (task.source, task.target):
            entity = u.objs[info.model_id]._objs[0]
            center = annotate.transform_points(_matrix(entity.pose), self.object_center_local(info.model_id)[None])[0]
            photo_only = info is task.target and task.target_is_invisible
            mask = None if photo_only else seg == u.objs[info.model_id].per_scene_id[0].item()
            things.append((info.name, info.category, info.model_id, center, mask))
            if grasped is None and not photo_only and self.is_grasping(info.model_id):
                grasped = info.name
        tcp_world = self.base_pose() @ self.tcp_pose_base()
        things.append(("gripper", "gripper", "gripper", tcp_world[:3, 3], np.isin(seg, self._gripper_ids)))

        objects = []
        for name, category, key, center, mask in things:
            vertices, triangles, part = self._geometry[key].world()
            points = annotate.transform_points(world_to_cam, vertices)
            pixels = annotate.project(k_native, points)
            groups = annotate.triangle_groups(points, triangles, part)
            shape, origin = annotate.silhouette(pixels, triangles, native, groups)
            if mask is None:  # seen in the photo wherever the greenscreen keeps no simulated foreground (robot, ...)
                foreground = np.isin(seg, u._segmentation_ids_to_keep.numpy())
                mask = annotate.paste(shape, origin, native) & ~foreground
            point = annotate.interior_point(mask)
            if point is None:  # fully hidden: fall back to the projected centre
                point = annotate.project(k_native, annotate.transform_points(world_to_cam, center[None]))[0].tolist()
            area = annotate.silhouette_area(shape)
            objects.append(
                {
                    "name": name,
                    "category": category,
                    "bbox_visible": annotate.scale_box(annotate.mask_box(mask), sx, sy),
                    "bbox_amodal": annotate.scale_box(
                        annotate.clip_box([*pixels.min(axis=0), *pixels.max(axis=0)], native), sx, sy
                    ),
                    "point": annotate.scale_point(point, sx, sy),
                    "visible_fraction": round(min(1.0, float(mask.sum()) / area), 4) if area > 0 else 0.0,
                    "xyz_base": [round(float(v), 5) for v in annotate.transform_points(world_to_base, center[None])[0]],
                    "xyz_cam": [round(float(v), 5) for v in annotate.transform_points(world_to_cam, center[None])[0]],
                }
            )
        return {
            "camera": {
                CAMERA: {
                    "K": annotate.intrinsics_for_size(frame["K"], native, (width, height)).round(4).tolist(),
                    "T_world_cam": np.linalg.inv(world_to_cam).round(6).tolist(),
                    "size": [width, height],
                }
            },
            "objects": objects,
            # "open" is the commanded state: fingers closed on a thick object stay half open.
            "gripper": {"open": self.gripper_command > 0, "grasped": grasped},
            "phase": self.phase,
            "phase_index": self.phase_index,
            "success": self.success(),
        }
