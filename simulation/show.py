"""A contact sheet of recorded frames with their annotations drawn, so a person can check them by eye.

`vlaser sim show --dataset DIR --out sheet.png` picks evenly spaced frames of one episode and one camera and draws,
per object annotated for that camera: the visible box (solid), the amodal box (dashed), the point (a ring) and the
name; above every frame: frame index, expert phase, what each gripper holds, and success. Works on any dataset the
recorder wrote (any suite); frames without annotations are shown bare.

Geometry: each frame is scaled by an integer `scale`; an annotation box [x1, y1, x2, y2] (pixel edges) is drawn on
the scaled pixels x1·s … x2·s − 1, so its outline covers the object's outermost pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PALETTE = (
    (255, 64, 64),
    (64, 160, 255),
    (80, 220, 80),
    (255, 200, 40),
    (220, 90, 255),
    (40, 230, 230),
    (255, 140, 40),
    (255, 255, 255),
)
HEADER = 30  # pixels of text above each frame
MARGIN = 6


@dataclass(frozen=True)
class Tile:
    """Where a frame landed on the sheet: top-left of the image (below its header) and the scale."""

    frame_index: int
    left: int
    top: int
    scale: int

    def to_sheet(self, x: float, y: float) -> tuple[int, int]:
        """Sheet pixel of image coordinate (x, y) (continuous, pixel edges)."""
        return self.left + int(round(x * self.scale)), self.top + int(round(y * self.scale))


def pick_frames(length: int, count: int) -> list[int]:
    """`count` frame positions spread evenly over an episode of `length` frames, first and last included."""
    if length <= 0:
        return []
    return sorted({int(round(i)) for i in np.linspace(0, length - 1, min(count, length))})


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizing
        return ImageFont.load_default()


def _dashed_rectangle(draw: Any, box: tuple[int, int, int, int], color: tuple[int, int, int], dash: int = 4) -> None:
    x1, y1, x2, y2 = box
    for start in range(x1, x2 + 1, 2 * dash):
        end = min(start + dash - 1, x2)
        draw.line([(start, y1), (end, y1)], fill=color)
        draw.line([(start, y2), (end, y2)], fill=color)
    for start in range(y1, y2 + 1, 2 * dash):
        end = min(start + dash - 1, y2)
        draw.line([(x1, start), (x1, end)], fill=color)
        draw.line([(x2, start), (x2, end)], fill=color)


def _scaled_box(box: Any, scale: int) -> tuple[int, int, int, int] | None:
    """Pixel-edge box [x1, y1, x2, y2] (ints or floats) -> inclusive scaled pixel rectangle, or None if unusable."""
    if box is None or len(box) != 4:
        return None
    x1, y1, x2, y2 = (int(round(float(v) * scale)) for v in box)
    if x2 <= x1 or y2 <= y1:
        return None
    return x1, y1, x2 - 1, y2 - 1


def _header(record: dict[str, Any] | None, frame_index: int) -> tuple[str, str]:
    if not record:
        return f"frame {frame_index}", ""
    phase = f"{record.get('phase', '?')} #{record.get('phase_index', '?')}"
    grippers = record.get("grippers")
    if isinstance(grippers, dict):
        held = ", ".join(
            f"{side[0].upper()}:{(g.get('grasped') or ('open' if g.get('open') else 'closed'))}"
            for side, g in grippers.items()
        )
    else:
        gripper = record.get("gripper") or {}
        held = gripper.get("grasped") or ("open" if gripper.get("open") else "closed")
    return f"{frame_index}: {phase}", f"{held}{'  SUCCESS' if record.get('success') else ''}"


def draw_frame(
    image: np.ndarray, record: dict[str, Any] | None, camera: str, scale: int, colors: dict[str, tuple[int, int, int]]
) -> Any:
    """The scaled frame with the annotations of `camera` drawn on it (a PIL image)."""
    from PIL import Image, ImageDraw

    height, width = image.shape[:2]
    picture = Image.fromarray(image).resize((width * scale, height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(picture)
    font = _font(11)
    for item in (record or {}).get("objects", []):
        if item.get("camera", camera) != camera:
            continue
        color = colors.setdefault(item["name"], PALETTE[len(colors) % len(PALETTE)])
        amodal, visible = _scaled_box(item.get("bbox_amodal"), scale), _scaled_box(item.get("bbox_visible"), scale)
        point = item.get("point")
        if amodal:
            _dashed_rectangle(draw, amodal, color)
        if visible:
            draw.rectangle(visible, outline=color, width=1)
            label = f"{item.get('name', '?')} {100 * float(item.get('visible_fraction') or 0):.0f}%"
            draw.text((visible[0] + 2, max(0, visible[1] - 12)), label, fill=color, font=font)
        if point is not None and len(point) == 2:
            u, v = float(point[0]) * scale, float(point[1]) * scale
            draw.ellipse((u - 3, v - 3, u + 3, v + 3), outline=color, width=1)
    return picture


def contact_sheet(
    frames: list[tuple[int, np.ndarray, dict[str, Any] | None]],
    camera: str,
    columns: int = 4,
    scale: int = 2,
    title: str = "",
) -> tuple[Any, list[Tile]]:
    """Lay out (frame_index, image, record) triples; returns the sheet (PIL image) and where each frame went."""
    from PIL import Image, ImageDraw

    if not frames:
        raise ValueError("no frames to show")
    if scale < 1 or columns < 1:
        raise ValueError(f"scale and columns must be >= 1, got scale={scale}, columns={columns}")
    height, width = frames[0][1].shape[:2]
    tile_w, tile_h = width * scale, height * scale + HEADER
    rows = (len(frames) + columns - 1) // columns
    top_band = 22 if title else 0
    sheet = Image.new(
        "RGB",
        (MARGIN + columns * (tile_w + MARGIN), top_band + MARGIN + rows * (tile_h + MARGIN)),
        (24, 24, 24),
    )
    draw = ImageDraw.Draw(sheet)
    font = _font(12)
    if title:
        draw.text((MARGIN, 4), title, fill=(235, 235, 235), font=_font(14))
    colors: dict[str, tuple[int, int, int]] = {}
    tiles = []
    for position, (frame_index, image, record) in enumerate(frames):
        row, column = divmod(position, columns)
        left = MARGIN + column * (tile_w + MARGIN)
        top = top_band + MARGIN + row * (tile_h + MARGIN)
        line1, line2 = _header(record, frame_index)
        draw.text((left + 2, top + 1), line1, fill=(235, 235, 235), font=font)
        draw.text((left + 2, top + 15), line2, fill=(170, 220, 170), font=font)
        sheet.paste(draw_frame(image, record, camera, scale, colors), (left, top + HEADER))
        tiles.append(Tile(frame_index, left, top + HEADER, scale))
    return sheet, tiles


def show(
    dataset: str | Path,
    out: str | Path,
    episode: int | None = None,
    camera: str | None = None,
    frames: int = 12,
    columns: int = 4,
    scale: int = 2,
) -> tuple[Path, list[Tile]]:
    """Write the contact sheet of one episode of a recorded dataset to `out` (PNG); returns the path and tiles."""
    from hub_datasets.episodes import IMAGE_KEY_PREFIX, LeRobotEpisodes

    reader = LeRobotEpisodes(dataset)
    if not reader.num_episodes:
        raise ValueError(f"{reader.root}: the dataset has no episodes")
    cameras = [key[len(IMAGE_KEY_PREFIX) :] for key in reader.camera_keys]
    if not cameras:
        raise ValueError(f"{reader.root}: the dataset has no camera features")
    camera = camera or cameras[0]
    if camera not in cameras:
        raise ValueError(f"camera {camera!r} is not in the dataset: expected one of {cameras}")
    episode = reader.episode_indices[0] if episode is None else int(episode)
    if episode not in reader.episode_indices:
        raise ValueError(f"episode {episode} is not in the dataset: it has episodes {reader.episode_indices[:10]}…")
    indices = reader.episode_range(episode)
    picked = []
    for position in pick_frames(len(indices), frames):
        frame = reader.frame(indices[position])
        picked.append((position, frame[IMAGE_KEY_PREFIX + camera], frame.get("annotations")))
    task = reader.tasks.get(int(reader.column("task_index")[indices.start]), "")
    title = f"{reader.root.name} · episode {episode} · {camera} · {task}"
    if "episode_seed" in reader.features:
        title += f" · seed {int(reader.column('episode_seed')[indices.start])}"
    sheet, tiles = contact_sheet(picked, camera, columns=columns, scale=scale, title=title)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, format="PNG")
    return out, tiles
