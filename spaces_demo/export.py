"""Write a folder that is a complete Hugging Face Space: this demo plus the project packages it imports.

    vlaser demo export build/space --model you/vlaser-aloha
    hf upload you/vlaser-demo build/space . --repo-type space

`app.py` imports `modeling_vlaser`, `simulation` and `eval.closed_loop`, which a Space cannot pip-install from this
repository, so they are copied beside it (a script run puts its own folder first on `sys.path`). `--model` becomes
the card's `models:` entry; set the Space variable `VLASER_MODEL` to the same repo id so the app loads it.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from huggingface_hub import SpaceCard

DEMO_DIR = Path(__file__).resolve().parent
REPO_ROOT = DEMO_DIR.parent
DEMO_FILES = ("app.py", "backend.py", "gradio_fixes.py", "README.md", "requirements.txt", "packages.txt")
# (source folder relative to the repository, copied whole)
PACKAGES = ("modeling_vlaser", "simulation", "eval/closed_loop")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "measure_experts.py")


def export_space(out: Path, model: str | None = None) -> Path:
    """Copy the demo, its examples and the packages into `out` (which must not exist or be empty)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"out: {out} exists and is not empty; choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in DEMO_FILES:
        shutil.copy2(DEMO_DIR / name, out / name)
    shutil.copytree(DEMO_DIR / "examples", out / "examples", ignore=_IGNORE)
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, out / package, ignore=_IGNORE)
    # `eval` itself is only a namespace here: its reasoning benchmarks are not part of the Space.
    (out / "eval" / "__init__.py").write_text('"""The closed-loop runner, copied for the demo\'s rollouts."""\n')
    if model:
        card = SpaceCard.load(out / "README.md")
        card.data.models = [model]
        card.save(out / "README.md")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vlaser demo export", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="new folder to write the Space into")
    parser.add_argument("--model", help="Hub repo id of the checkpoint the Space shows (the card's models: entry)")
    args = parser.parse_args(argv)
    try:
        out = export_space(args.out, args.model)
    except FileExistsError as error:
        parser.error(str(error))
    print(f"Space written to {out}. Push it with: hf upload YOUR/SPACE {out} . --repo-type space")
    if args.model:
        print(f"then set the Space variable VLASER_MODEL={args.model}")


if __name__ == "__main__":
    main()
