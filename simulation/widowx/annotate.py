"""Image-space geometry for the DESIGN.md annotation record: projections, boxes, silhouettes, grounding points.

Pixel convention (every box, point and `K` in a WidowX record): continuous coordinates with the image's top-left
corner at (0, 0); pixel (col, row) covers [col, col + 1) x [row, row + 1), so its centre is (col + 0.5, row + 0.5).
Boxes are [x1, y1, x2, y2] in that convention, so a box around pixel columns 3..7 is [3, ., 8, .]. The reason: in this
convention resizing an image is a pure scale of every coordinate, and the records describe a 224 x 224 copy of a
640 x 480 render. OpenCV intrinsics (pixel centres at integers, ManiSkill's `intrinsic_cv`) get +0.5 on cx and cy.
Camera frame: OpenCV's (x right, y down, z forward).
"""

from __future__ import annotations

import cv2
import numpy as np

SILHOUETTE_PAD = 0.5  # silhouettes are rasterized up to this fraction of the image size beyond each side


def intrinsics_for_size(k_cv: np.ndarray, native: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """`K` of a (width, height) = `size` resize of a `native` render, in the continuous convention above."""
    sx, sy = size[0] / native[0], size[1] / native[1]
    k = np.asarray(k_cv, dtype=np.float64).copy()
    k[0, 2] += 0.5
    k[1, 2] += 0.5
    return np.diag([sx, sy, 1.0]) @ k


def transform_points(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 (or 3x4) rigid transform to (N, 3) points."""
    return points @ transform[:3, :3].T + transform[:3, 3]


def project(k: np.ndarray, points_cam: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame points -> (N, 2) pixels; points behind the camera are pushed to a tiny positive depth."""
    z = np.maximum(points_cam[:, 2:3], 1e-6)
    return (points_cam[:, :2] / z) @ k[:2, :2].T + k[:2, 2]


def mask_box(mask: np.ndarray) -> list[float] | None:
    """[x1, y1, x2, y2] of a boolean mask's pixels (pixel edges), or None when it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return [float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)]


def interior_point(mask: np.ndarray) -> list[float] | None:
    """The centre of the mask pixel farthest from the mask's border, or None when the mask is empty.

    Why not the projected 3-D centre: for a concave or partly occluded object that can fall off the object, and a
    grounding point must lie on it.
    """
    box = mask_box(mask)
    if box is None:
        return None
    x1, y1, x2, y2 = (int(v) for v in box)
    crop = np.pad(mask[y1:y2, x1:x2], 1).astype(np.uint8)  # zero border: the image edge is not the object's edge
    distance = cv2.distanceTransform(crop, cv2.DIST_L2, 3)
    row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return [float(x1 + col - 1) + 0.5, float(y1 + row - 1) + 0.5]


def silhouette(
    pixels: np.ndarray, triangles: np.ndarray, size: tuple[int, int], groups: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[int, int]]:
    """Rasterize projected triangles on a canvas just covering them; returns (mask, (x0, y0) of the canvas).

    The canvas may extend past the (width, height) = `size` image by up to `SILHOUETTE_PAD` of its size per side,
    so that its area is the object's full projected area, parts outside the image included: that is what a
    visible fraction divides by.

    Speed: one `fillPoly` call per group of triangles (`groups`: a label per triangle) instead of one call per
    triangle, as meshes here have up to 10k triangles. `fillPoly` fills by parity, so overlapping triangles of a
    group cancel: a group should be triangles of one mesh that face the same way (see `triangle_groups`), which
    tile the mesh's silhouette without overlapping except at folds.
    """
    width, height = size
    low = np.array([-SILHOUETTE_PAD * width, -SILHOUETTE_PAD * height])
    high = np.array([(1 + SILHOUETTE_PAD) * width, (1 + SILHOUETTE_PAD) * height])
    x0, y0 = np.floor(np.clip(pixels.min(axis=0), low, high)).astype(int) - 1
    x1, y1 = np.ceil(np.clip(pixels.max(axis=0), low, high)).astype(int) + 1
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=bool)
    # fillPoly samples pixel centres at integer coordinates; shift by -0.5 to match the continuous convention.
    shifted = pixels - 0.5 - np.array([x0, y0])
    polygons = np.round(shifted[triangles] * 16).astype(np.int32)  # 4 fractional bits of sub-pixel precision
    labels = np.zeros(len(triangles), dtype=np.int64) if groups is None else groups
    for label in np.unique(labels):
        canvas = np.zeros(mask.shape, dtype=np.uint8)
        cv2.fillPoly(canvas, list(polygons[labels == label]), 1, lineType=cv2.LINE_8, shift=4)
        mask |= canvas.astype(bool)
    return mask, (int(x0), int(y0))


def triangle_groups(points_cam: np.ndarray, triangles: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Label per triangle for `silhouette`: its mesh part (`part`) and whether it faces the camera.

    Both sides are kept (as two groups) rather than culling back faces, so single-sided meshes need no known
    winding convention.
    """
    a, b, c = points_cam[triangles[:, 0]], points_cam[triangles[:, 1]], points_cam[triangles[:, 2]]
    facing = np.einsum("ij,ij->i", np.cross(b - a, c - a), a) > 0
    return 2 * part + facing


def silhouette_area(mask: np.ndarray) -> float:
    """Area of a rasterized silhouette, corrected for the rasterizer's bias.

    fillConvexPoly takes every pixel an edge touches, which dilates a shape by about half a pixel; eroding by one
    pixel shrinks it by about as much, so the mean of the two areas is close to the true area (a fully visible
    object then has a visible fraction within about 2 % of 1 against the renderer's segmentation).
    """
    eroded = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return (float(mask.sum()) + float(eroded.sum())) / 2


def paste(mask: np.ndarray, origin: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """The part of a canvas placed at `origin` that falls inside a (width, height) image, as a full-size mask."""
    width, height = size
    out = np.zeros((height, width), dtype=bool)
    x0, y0 = origin
    xa, ya = max(x0, 0), max(y0, 0)
    xb, yb = min(x0 + mask.shape[1], width), min(y0 + mask.shape[0], height)
    if xb > xa and yb > ya:
        out[ya:yb, xa:xb] = mask[ya - y0 : yb - y0, xa - x0 : xb - x0]
    return out


def clip_box(box: np.ndarray | list[float], size: tuple[int, int]) -> list[float] | None:
    """Clip [x1, y1, x2, y2] to the (width, height) image; None when nothing of it is inside."""
    width, height = size
    x1, x2 = float(np.clip(box[0], 0, width)), float(np.clip(box[2], 0, width))
    y1, y2 = float(np.clip(box[1], 0, height)), float(np.clip(box[3], 0, height))
    if x2 <= x1 or y2 <= y1:
        return None
    return [x1, y1, x2, y2]


def scale_box(box: list[float] | None, sx: float, sy: float) -> list[float] | None:
    if box is None:
        return None
    return [round(box[0] * sx, 2), round(box[1] * sy, 2), round(box[2] * sx, 2), round(box[3] * sy, 2)]


def scale_point(point: list[float] | None, sx: float, sy: float) -> list[float] | None:
    if point is None:
        return None
    return [round(point[0] * sx, 2), round(point[1] * sy, 2)]
