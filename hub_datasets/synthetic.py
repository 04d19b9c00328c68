"""Small synthetic datasets with exactly known answers, for smoke runs, `vlaser quickstart` and the tests.

* conversations in the VLASER-6M row schema about a red square on a gray frame (grounding: where is it; planning:
  how to move it), written as a Hub-style dataset folder with one config per category;
* a toy reaching task in the LeRobot v3 layout: the action moves the state towards the square's position, so a
  policy must read the image to act well.

They are not a benchmark; the real in-domain data comes from the simulators.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from datasets import Dataset, Features, Image, List, Value
from PIL import Image as PILImage

CONVERSATION_FEATURES = Features(
    {
        "id": Value("string"),
        "images": List(Image()),
        "messages": List({"role": Value("string"), "content": Value("string")}),
        "category": Value("string"),
        "domain": Value("string"),
        "source": Value("string"),
    }
)


def square_image(x: int, y: int, size: int = 64) -> PILImage.Image:
    """A gray frame with a red square whose top-left corner is at (x, y)."""
    pixels = np.full((size, size, 3), 90, dtype=np.uint8)
    pixels[y : y + 12, x : x + 12] = (220, 30, 30)
    return PILImage.fromarray(pixels)


def grounding_rows(n: int, seed: int = 0) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    rows = {name: [] for name in CONVERSATION_FEATURES}
    for i in range(n):
        x, y = (int(v) for v in rng.integers(0, 52, 2))
        point = (round((x + 6) / 64 * 1000), round((y + 6) / 64 * 1000))
        rows["id"].append(f"grounding-{seed}-{i}")
        rows["images"].append([square_image(x, y)])
        rows["messages"].append(
            [
                {"role": "user", "content": "<image>\nPoint to the red square."},
                {"role": "assistant", "content": f"<point>[[{point[0]}, {point[1]}]]</point>"},
            ]
        )
        rows["category"].append("grounding")
        rows["domain"].append("test")
        rows["source"].append("tests")
    return rows


def planning_rows(n: int, seed: int = 1) -> dict[str, list]:
    rows = grounding_rows(n, seed)
    for messages in rows["messages"]:
        messages[0]["content"] = "<image>\nHow do you put the red square on the plate?"
        messages[1]["content"] = "1. Move above the square. 2. Grasp it. 3. Place it on the plate."
    rows["category"] = ["planning"] * n
    return rows


def write_conversation_repo(root: Path, configs: dict[str, dict[str, list]]) -> Path:
    """A dataset repo folder: one parquet per config and a README with the YAML `configs:` block."""
    lines = ["---", "configs:"]
    for name, rows in configs.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        Dataset.from_dict(rows, features=CONVERSATION_FEATURES).to_parquet(root / name / "train.parquet")
        lines += [f"- config_name: {name}", "  data_files:", "  - split: train", f"    path: {name}/train.parquet"]
    (root / "README.md").write_text("\n".join([*lines, "---", ""]))
    return root


def write_episodes(root: Path, n_episodes: int = 4, length: int = 10, seed: int = 0, state_dim: int = 7) -> Path:
    """A LeRobot v3 dataset of a learnable toy task: the action is a function of the state and the square's place.

    The red square's position in the image encodes the target; actions move towards it, the gripper (last dim)
    closes in the second half of an episode.
    """
    from .episodes import LeRobotEpisodeWriter

    rng = np.random.default_rng(seed)
    writer = LeRobotEpisodeWriter.create(
        root,
        fps=5,
        robot_type="widowx",
        state_names=[f"s{i}" for i in range(state_dim)],
        action_names=["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper"],
        cameras={"image_0": (64, 64)},
    )
    for _ in range(n_episodes):
        x, y = (int(v) for v in rng.integers(0, 52, 2))
        target = np.array([x / 52 - 0.5, y / 52 - 0.5])
        position = rng.uniform(-0.5, 0.5, 2)
        frames = []
        for t in range(length):
            state = np.zeros(state_dim, dtype=np.float32)
            state[:2] = position
            action = np.zeros(7, dtype=np.float32)
            action[:2] = 0.3 * (target - position)
            action[6] = float(t >= length // 2)
            frames.append(
                {
                    "observation.state": state,
                    "action": action,
                    "observation.images.image_0": np.asarray(square_image(x, y)),
                }
            )
            position = position + action[:2]
        writer.add_episode(frames, task="move to the red square")
    return root
