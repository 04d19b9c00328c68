"""Render the demo's example gallery from the project's own simulators.

    python -m spaces_demo.make_examples                   # ALOHA (MuJoCo) and WidowX (ManiSkill3 / SAPIEN)
    python -m spaces_demo.make_examples --suites aloha    # ALOHA only

For each task it resets the environment with a fixed seed and stores the first frame (PNG), the instruction, the
robot state and the visible objects in `examples/examples.json`. The start frame, not a mid-episode one, because the
Action preview rolls the policy out from exactly this state (`SimScene`). The files are committed so that the demo
and its Space need no simulator to show the gallery, only to roll out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import PIL.Image
from tqdm.auto import tqdm

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
EXAMPLES_FILE = EXAMPLES_DIR / "examples.json"
SEED = 7
# The camera a policy trained by `vlaser quickstart` (ALOHA, top camera) sees; WidowX has a single camera.
ENV_OPTIONS = {"aloha": {"cameras": ["top"]}, "widowx": {}}


def render_scene(suite: str, task: str, seed: int, out_dir: Path) -> dict:
    from simulation.registry import make_env

    options = ENV_OPTIONS[suite]
    env = make_env(suite, task, **options)
    try:
        observation = env.reset(seed)
        camera = next(iter(env.spec.cameras))
        image_name = f"{suite}_{task}_seed{seed}.png"
        PIL.Image.fromarray(observation["images"][camera]).save(out_dir / image_name, optimize=True)
        objects = [
            entry["name"]
            for entry in env.annotations().get("objects", [])
            if entry.get("visible_fraction", 1.0) > 0.1 and entry.get("name")
        ]
        return {
            "image": image_name,
            "suite": suite,
            "task": task,
            "seed": seed,
            "camera": camera,
            "instruction": env.spec.instruction,
            "state": [round(float(value), 5) for value in np.asarray(observation["state"]).ravel()],
            "objects": sorted(dict.fromkeys(objects)),
            "action_names": list(env.spec.action_names),
            "env_options": options,
        }
    finally:
        env.close()


def main(argv: list[str] | None = None) -> None:
    from simulation.registry import task_names

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suites", nargs="+", default=["aloha", "widowx"], choices=sorted(ENV_OPTIONS))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=EXAMPLES_DIR)
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [(suite, task) for suite in args.suites for task in task_names(suite)]
    examples = [render_scene(suite, task, args.seed, args.out) for suite, task in tqdm(jobs, desc="scenes")]
    (args.out / "examples.json").write_text(json.dumps(examples, indent=1) + "\n")
    print(f"{len(examples)} examples in {args.out}")


if __name__ == "__main__":
    main()
