"""`vlaser sim show`: the contact sheet draws each annotation where the record says it is."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from hub_datasets.episodes import LeRobotEpisodeWriter
from simulation.show import PALETTE, contact_sheet, pick_frames, show

GRAY = (100, 100, 100)


def record_with(objects, phase="grasp", phase_index=2):
    return {
        "camera": {"top": {"K": np.eye(3).tolist(), "T_world_cam": np.eye(4).tolist(), "size": [60, 40]}},
        "objects": objects,
        "gripper": {"open": False, "grasped": "cube"},
        "phase": phase,
        "phase_index": phase_index,
        "success": False,
    }


CUBE = {
    "name": "cube",
    "category": "cube",
    "camera": "top",
    "bbox_visible": [10, 5, 30, 20],
    "bbox_amodal": [8, 4, 34, 24],
    "point": [20.5, 12.5],
    "visible_fraction": 0.8,
    "xyz_base": [0.0, 0.0, 0.0],
    "xyz_cam": [0.0, 0.0, 1.0],
}
WRIST_ONLY = {
    **CUBE,
    "name": "plate",
    "camera": "wrist",
    "bbox_visible": [40, 25, 55, 35],
    "bbox_amodal": [40, 25, 55, 35],
}


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "episodes"
    writer = LeRobotEpisodeWriter.create(
        root,
        fps=10,
        robot_type="test",
        state_names=["a"],
        action_names=["b"],
        cameras={"top": (40, 60)},
        with_annotations=True,
        extra_features={"episode_seed": {"dtype": "int64", "shape": [1]}},
    )
    image = np.full((40, 60, 3), GRAY, dtype=np.uint8)
    frames = [
        {
            "observation.images.top": image,
            "observation.state": np.zeros(1, np.float32),
            "action": np.zeros(1, np.float32),
            "annotations": record_with([CUBE, WRIST_ONLY], phase_index=i),
            "episode_seed": np.int64(7),
        }
        for i in range(5)
    ]
    writer.add_episode(frames, task="pick up the cube")
    return root


def test_pick_frames_spreads_over_the_episode():
    assert pick_frames(10, 4) == [0, 3, 6, 9]
    assert pick_frames(3, 12) == [0, 1, 2]
    assert pick_frames(0, 5) == []


def test_boxes_and_point_are_drawn_at_the_expected_pixels(dataset, tmp_path):
    path, tiles = show(dataset, tmp_path / "sheet.png", frames=2, columns=2, scale=2)
    sheet = np.asarray(Image.open(path).convert("RGB"))
    assert len(tiles) == 2 and [t.frame_index for t in tiles] == [0, 4]
    tile, color = tiles[0], PALETTE[0]

    def pixel(x, y):
        return tuple(sheet[tile.top + y, tile.left + x])

    # visible box [10, 5, 30, 20] at scale 2: outline on columns 20 and 59, rows 10 and 39
    for x, y in ((20, 25), (59, 25), (40, 10), (40, 39)):
        assert pixel(x, y) == color, (x, y)
    assert pixel(21, 25) == GRAY and pixel(58, 25) == GRAY and pixel(19, 25) == GRAY
    # amodal box [8, 4, 34, 24] (dashed) starts at column 16, row 8; first dash at its corner
    assert pixel(16, 8) == color and pixel(67, 47) == color
    # point (20.5, 12.5) -> (41, 25): a ring of radius 3 around it, empty centre
    assert pixel(41, 25) == GRAY and color in {pixel(44, 25), pixel(38, 25), pixel(41, 22), pixel(41, 28)}
    # the wrist-only object is not drawn on the top camera's sheet
    assert pixel(85, 55) == GRAY and pixel(80, 60) == GRAY
    # the same drawing in the second tile
    second = tiles[1]
    assert tuple(sheet[second.top + 25, second.left + 20]) == color


def test_real_aloha_frame_box_outlines_the_object(tmp_path):
    if importlib.util.find_spec("mujoco") is None or importlib.util.find_spec("gym_aloha") is None:
        pytest.skip("needs the aloha suite")
    from simulation.aloha import TASKS

    env = TASKS["transfer_cube"](cameras=("top",))
    try:
        observation = env.reset(2)
        record = env.annotations()
    finally:
        env.close()
    cube = next(o for o in record["objects"] if o["name"] == "red cube")
    sheet, tiles = contact_sheet([(0, observation["images"]["top"], record)], "top", columns=1, scale=1)
    pixels = np.asarray(sheet)
    x1, y1, x2, y2 = cube["bbox_visible"]
    tile = tiles[0]
    middle = (y1 + y2) // 2
    assert tuple(pixels[tile.top + middle, tile.left + x1]) == PALETTE[0]
    assert tuple(pixels[tile.top + middle, tile.left + x2 - 1]) == PALETTE[0]
    assert tuple(pixels[tile.top + middle, tile.left + x1 - 3]) != PALETTE[0]


def test_cli_writes_the_sheet_and_rejects_a_bad_camera(dataset, tmp_path):
    from vlaser_cli import main

    out = tmp_path / "cli.png"
    main(["sim", "show", "--dataset", str(dataset), "--out", str(out), "--frames", "3"])
    assert Image.open(out).size[0] > 60
    with pytest.raises(SystemExit, match="camera 'wrist' is not in the dataset"):
        main(["sim", "show", "--dataset", str(dataset), "--out", str(out), "--camera", "wrist"])
