"""Privileged per-frame annotations for the ALOHA suite: the DESIGN.md record, from the simulator's own state.

Per camera, one segmentation pass of the full scene gives the visible pixels; where anything else shows inside an
object's box, a second pass draws that object's group alone (task objects, or grippers) for the unoccluded
silhouette, so `visible_fraction` = visible / unoccluded pixels within the image measures occlusion by the arms,
the grippers and other objects (truncation at the image border does not count). The amodal box is the projection of the corners of the object's geom bounding boxes (clipped at
the near plane, then to the image), widened to contain the visible pixels. The point is the most interior visible
pixel (distance-transform maximum), so it lies on the object even when a gripper covers its centre; an object that
is not visible gets its projected centre when that is inside the image, else null.

Additions to the DESIGN.md record, needed because ALOHA has two arms and several cameras (consumers that do not know
them can ignore them): every object entry names its `camera` (entries repeat per camera; `xyz_base` is the same in
all), `grippers` holds the state of each arm (`gripper` summarises both: open when both are open, the object held by
the left arm else the right), and `T_world_base` gives the base frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .env import AlohaEnv

NEAR_PLANE = 0.01  # metres in front of the camera; geometry closer than this is clipped before projection
_DIGITS = 5


def camera_intrinsics(fovy_degrees: float, width: int, height: int) -> np.ndarray:
    """MuJoCo's pinhole camera: square pixels, vertical field of view `fovy`, principal point at the centre."""
    focal = 0.5 * height / np.tan(np.radians(fovy_degrees) / 2)
    return np.array([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]])


def opencv_camera_pose(position: np.ndarray, mujoco_rotation: np.ndarray) -> np.ndarray:
    """4×4 T_world_cam of an OpenCV camera (z forward, y down) at a MuJoCo camera (looks along -z, y up)."""
    transform = np.eye(4)
    transform[:3, :3] = mujoco_rotation @ np.diag([1.0, -1.0, -1.0])
    transform[:3, 3] = position
    return transform


def project(points_cam: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame points (z > 0) -> (N, 2) pixel coordinates."""
    homogeneous = points_cam @ intrinsics.T
    return homogeneous[:, :2] / homogeneous[:, 2:3]


def mask_box(mask: np.ndarray) -> list[int] | None:
    """[x1, y1, x2, y2] pixel edges of a boolean mask, or None when empty."""
    rows, cols = np.any(mask, axis=1), np.any(mask, axis=0)
    if not rows.any():
        return None
    y1, y2 = np.flatnonzero(rows)[[0, -1]]
    x1, x2 = np.flatnonzero(cols)[[0, -1]]
    return [int(x1), int(y1), int(x2) + 1, int(y2) + 1]


def interior_point(mask: np.ndarray, box: list[int]) -> list[float]:
    """Centre of the mask pixel farthest from the mask's border (inside `box`)."""
    from scipy.ndimage import distance_transform_edt

    x1, y1, x2, y2 = box
    crop = np.pad(mask[y1:y2, x1:x2], 1)
    distance = distance_transform_edt(crop)
    row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return [float(x1 + col - 1 + 0.5), float(y1 + row - 1 + 0.5)]


def box_corners(center: np.ndarray, rotation: np.ndarray, half: np.ndarray) -> np.ndarray:
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    return center + (signs * half) @ rotation.T


def clipped_hull_box(points_cam: np.ndarray, intrinsics: np.ndarray) -> np.ndarray | None:
    """Pixel bounds [x1, y1, x2, y2] of the projection of the convex hull of `points_cam`, clipped at the near plane
    (segments crossing it contribute their crossing point), or None when everything is behind the camera."""
    depth = points_cam[:, 2]
    front = points_cam[depth > NEAR_PLANE]
    crossings = []
    behind = np.flatnonzero(depth <= NEAR_PLANE)
    ahead = np.flatnonzero(depth > NEAR_PLANE)
    for i in behind:
        for j in ahead:
            t = (NEAR_PLANE - depth[i]) / (depth[j] - depth[i])
            crossings.append(points_cam[i] + t * (points_cam[j] - points_cam[i]))
    kept = np.vstack([front, *crossings]) if crossings else front
    if not len(kept):
        return None
    pixels = project(kept, intrinsics)
    return np.array([*pixels.min(axis=0), *pixels.max(axis=0)])


class Annotator:
    """Builds the annotation record of an `AlohaEnv`'s current state."""

    def __init__(self, env: AlohaEnv) -> None:
        from .env import BASE_ORIGIN, GROUP_GRIPPER, GROUP_OBJECT

        self.env = env
        model = env.model
        self.objects: list[dict[str, Any]] = []
        for spec in env.task.objects:
            self.objects.append(
                {
                    "name": spec.name,
                    "category": spec.category,
                    "body": model.body(spec.body).id,
                    "geoms": np.array(env.body_geoms(spec.body)),
                    "group": GROUP_OBJECT,
                    "side": None,
                }
            )
        for side in ("left", "right"):
            arm = env.arms[side]
            self.objects.append(
                {
                    "name": f"{side} gripper",
                    "category": "gripper",
                    "body": arm.gripper_body,
                    "geoms": np.array(env.body_geoms(arm.gripper_body, subtree=True)),
                    "group": GROUP_GRIPPER,
                    "side": side,
                }
            )
        self.base_origin = BASE_ORIGIN
        table = [g for g in range(model.ngeom) if model.geom(g).name == "table"]
        self._not_occluders = {e["name"]: np.array([-1, *table, *e["geoms"]]) for e in self.objects}
        self.groups = (GROUP_OBJECT, GROUP_GRIPPER)

    # ------------------------------------------------------------------------------------------------ cameras
    def camera(self, name: str) -> dict[str, np.ndarray]:
        env = self.env
        height, width = env.image_size
        camera_id = env.model.camera(name).id
        return {
            "K": camera_intrinsics(float(env.model.cam_fovy[camera_id]), width, height),
            "T_world_cam": opencv_camera_pose(
                env.data.cam_xpos[camera_id].copy(), env.data.cam_xmat[camera_id].reshape(3, 3).copy()
            ),
            "size": np.array([width, height]),
        }

    def world_position(self, entry: dict[str, Any]) -> np.ndarray:
        if entry["side"] is not None:
            return self.env.tcp(entry["side"])[0]
        return self.env.data.xpos[entry["body"]].copy()

    def corners_world(self, entry: dict[str, Any]) -> np.ndarray:
        model, data = self.env.model, self.env.data
        corners = []
        for geom in entry["geoms"]:
            center_local, half = model.geom_aabb[geom, :3], model.geom_aabb[geom, 3:]
            rotation = data.geom_xmat[geom].reshape(3, 3)
            corners.append(box_corners(data.geom_xpos[geom] + rotation @ center_local, rotation, half))
        return np.vstack(corners)

    # ------------------------------------------------------------------------------------------------ record
    def record(self) -> dict[str, Any]:
        env = self.env
        height, width = env.image_size
        cameras = {name: self.camera(name) for name in env.cameras}
        grasped = {side: None for side in ("left", "right")}
        for entry in self.objects:
            if entry["side"] is None:
                for side in ("left", "right"):
                    if grasped[side] is None and env.grasped_by(side, list(entry["geoms"])):
                        grasped[side] = entry["name"]
        objects = []
        for camera_name, camera in cameras.items():
            full = env.render(camera_name, segmentation=True)
            world_to_cam = np.linalg.inv(camera["T_world_cam"])
            items = [
                self._object(entry, camera_name, camera, world_to_cam, full, width, height) for entry in self.objects
            ]
            # The unoccluded silhouette needs another pass only for a group in which something else shows inside an
            # object's box (a gripper over the cube, the wrist over a gripper); otherwise visible = unoccluded.
            masks = {}
            for entry, (item, _) in zip(self.objects, items, strict=True):
                if entry["group"] not in masks and self._maybe_occluded(entry, item["bbox_amodal"], full):
                    masks[entry["group"]] = env.render(camera_name, segmentation=True, groups=(entry["group"],))
            for entry, (item, visible_count) in zip(self.objects, items, strict=True):
                alone = masks.get(entry["group"])
                unoccluded = visible_count if alone is None else int(np.isin(alone, entry["geoms"]).sum())
                item["visible_fraction"] = round(min(1.0, visible_count / unoccluded), 4) if unoccluded else 0.0
                objects.append(item)
        grippers = {side: {"open": env.gripper_open(side), "grasped": grasped[side]} for side in ("left", "right")}
        base = np.eye(4)
        base[:3, 3] = self.base_origin
        return {
            "camera": {
                name: {
                    "K": _rounded(c["K"]),
                    "T_world_cam": _rounded(c["T_world_cam"]),
                    "size": [int(v) for v in c["size"]],
                }
                for name, c in cameras.items()
            },
            "objects": objects,
            "gripper": {
                "open": grippers["left"]["open"] and grippers["right"]["open"],
                "grasped": grasped["left"] or grasped["right"],
            },
            "grippers": grippers,
            "T_world_base": _rounded(base),
            "phase": "unknown",
            "phase_index": -1,
            "success": env.success(),
        }

    def _object(
        self,
        entry: dict[str, Any],
        camera_name: str,
        camera: dict[str, np.ndarray],
        world_to_cam: np.ndarray,
        full: np.ndarray,
        width: int,
        height: int,
    ) -> tuple[dict[str, Any], int]:
        """The entry's record (without `visible_fraction`) and its visible pixel count."""
        intrinsics = camera["K"]
        xyz_world = self.world_position(entry)
        xyz_cam = world_to_cam[:3, :3] @ xyz_world + world_to_cam[:3, 3]
        visible_mask = np.isin(full, entry["geoms"])
        visible_count = int(visible_mask.sum())
        bbox_visible = mask_box(visible_mask)

        corners_cam = self.corners_world(entry) @ world_to_cam[:3, :3].T + world_to_cam[:3, 3]
        hull = clipped_hull_box(corners_cam, intrinsics)
        bbox_amodal = None
        if hull is not None:
            x1, y1 = max(0.0, float(np.floor(hull[0]))), max(0.0, float(np.floor(hull[1])))
            x2, y2 = min(float(width), float(np.ceil(hull[2]))), min(float(height), float(np.ceil(hull[3])))
            if x2 > x1 and y2 > y1:
                bbox_amodal = [int(x1), int(y1), int(x2), int(y2)]
        if bbox_visible is not None:  # the silhouette is inside the hull; rounding at the image edge must not say no
            bbox_amodal = bbox_visible if bbox_amodal is None else _union(bbox_amodal, bbox_visible)

        if bbox_visible is not None:
            point = interior_point(visible_mask, bbox_visible)
        else:
            point = None
            if xyz_cam[2] > NEAR_PLANE:
                u, v = project(xyz_cam[None], intrinsics)[0]
                if 0 <= u < width and 0 <= v < height:
                    point = [float(u), float(v)]
        item = {
            "name": entry["name"],
            "category": entry["category"],
            "camera": camera_name,
            "bbox_visible": bbox_visible,
            "bbox_amodal": bbox_amodal,
            "point": None if point is None else [round(p, 2) for p in point],
            "visible_fraction": 0.0,
            "xyz_base": _rounded(xyz_world - self.base_origin),
            "xyz_cam": _rounded(xyz_cam),
        }
        return item, visible_count

    def _maybe_occluded(self, entry: dict[str, Any], box: list[int] | None, full: np.ndarray) -> bool:
        """Whether any geom other than the entry's own, the table's or the background shows inside `box`."""
        if box is None:
            return False
        x1, y1, x2, y2 = box
        region = full[y1:y2, x1:x2]
        return bool(np.any(~np.isin(region, self._not_occluders[entry["name"]])))


def _union(a: list[int], b: list[int]) -> list[int]:
    return [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def _rounded(values: np.ndarray) -> list:
    return np.round(np.asarray(values, dtype=float), _DIGITS).tolist()
