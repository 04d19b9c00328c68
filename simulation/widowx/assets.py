"""Where the WidowX tasks find their ManiSkill assets, and the stand-ins built for files an asset folder lacks.

ManiSkill reads assets from `$MS_ASSET_DIR/data` (default `~/.maniskill/data`) and, when they are missing, prompts
on stdin and downloads them. We check first, so that a missing asset is a clear error instead of an `EOFError` from
the prompt or a `URLError` offline.

The project's offline folder (`../shared/assets/maniskill`) lacks the sink-scene stage `bridge_table_1_v2.glb` and
the eggplant's `textured.dae`. Rather than copy ManiSkill's scene-loading code, we build an *overlay* asset tree in a
writable cache: symbolic links to every real file plus generated stand-ins for the missing ones, and point ManiSkill's
`BRIDGE_DATASET_ASSET_PATH` at it while a scene loads (see `env.py`). With a complete download (ManiSkill's own
path) nothing is generated and the real files are used. The stand-ins:

* a missing stage becomes a box table (1.4 m x 1.4 m, grey) in the stage's y-up frame; for the sink scene its top is
  at z = 0.845 m (the robot base sits at 0.85 m there, 5 mm above the table as in the flat-table scene). The real
  stage is greenscreened by the photo overlay anyway, so only collisions outside the sink differ; the sink itself is a
  separate, complete model (82 convex parts) that ManiSkill places kinematically.
* a missing object visual is the object's collision mesh (which carries UVs) textured with the model folder's
  texture image when one is named in `VISUAL_TEXTURES`, else a flat colour. For the eggplant that is its collision
  mesh with `eggplanttexture.png` (purple with green calyx): coarser than the original scan (672 triangles).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from simulation.widowx.tasks import WidowXTask

ASSET_ENV_VAR = "MS_ASSET_DIR"
BRIDGE_SUBDIR = Path("tasks/bridge_v2_real2sim_dataset")
ROBOT_URDF = Path("robots/widowx/wx250s.urdf")
STAGES = {"flat_table": "bridge_table_1_v1.glb", "sink": "bridge_table_1_v2.glb"}
OVERLAYS = {"flat_table": "bridge_real_eval_1.png", "sink": "bridge_sink.png"}
MODEL_JSON = {
    "StackGreenCubeOnYellowCubeBakedTexInScene-v1": "info_bridge_custom_baked_tex_v0.json",
}
DEFAULT_MODEL_JSON = "info_bridge_custom_v0.json"
VISUAL_NAMES = ("textured.obj", "textured.dae", "textured.glb")
# Texture images (in the model's own folder) that match the UVs of its collision mesh.
VISUAL_TEXTURES = {"eggplant": "eggplanttexture.png"}
STANDIN_COLOR = (0.55, 0.55, 0.55)
# Table stand-in geometry, in the stage's y-up frame (ManiSkill rotates it +90 deg about x and shifts it by
# (2.0634, 2.8313, 0)): this footprint covers world x in [-0.9, 0.5] and y in [-0.7, 0.7].
STAGE_X = (-2.9634, -1.5634)
STAGE_Z = (2.1313, 3.5313)
STAGE_TOP = {"flat_table": 0.865, "sink": 0.845}
OVERLAY_VERSION = "1"  # bump when the stand-ins change, so old caches are not reused


class MissingAssetsError(FileNotFoundError):
    """Raised before ManiSkill starts, naming the missing files and how to get them."""


def asset_root() -> Path:
    """ManiSkill's data folder, resolved exactly as `mani_skill/__init__.py` does."""
    base = os.environ.get(ASSET_ENV_VAR, os.path.join(os.path.expanduser("~"), ".maniskill"))
    return Path(base) / "data"


def cache_root() -> Path:
    """Where generated stand-ins live: `$VLASER_CACHE` or `~/.cache/vlaser`."""
    return Path(os.environ.get("VLASER_CACHE", Path.home() / ".cache" / "vlaser"))


def _model_json(task: WidowXTask) -> str:
    return MODEL_JSON.get(task.env_id, DEFAULT_MODEL_JSON)


def _models(task: WidowXTask) -> list[str]:
    models = [task.source.model_id, task.target.model_id]
    if task.scene == "sink":
        models.append("sink")
    return models


def check_assets(task: WidowXTask, root: Path | None = None) -> None:
    """Raise `MissingAssetsError` if a file the task cannot do without is absent (stand-in-able files are not)."""
    root = asset_root() if root is None else root
    bridge = root / BRIDGE_SUBDIR
    required = [
        root / ROBOT_URDF,
        bridge / "custom" / _model_json(task),
        bridge / "real_inpainting" / OVERLAYS[task.scene],
    ]
    required += [bridge / "custom" / "models" / model / "collision.obj" for model in _models(task)]
    missing = [str(path) for path in required if not path.is_file()]
    if missing:
        raise MissingAssetsError(
            f"ManiSkill assets for {task.env_id} ({task.name}) are missing: {', '.join(missing)}. "
            f"Assets are looked for under ${ASSET_ENV_VAR}/data (now {root}; default ~/.maniskill/data). "
            "Get them with `python -m mani_skill.utils.download_asset bridge_v2_real2sim widowx250s` (needs network), "
            f"or set {ASSET_ENV_VAR} to an offline copy such as ../shared/assets/maniskill."
        )


def missing_standins(task: WidowXTask, root: Path | None = None) -> list[str]:
    """Asset files (relative to the bridge folder) that the task needs and that will be replaced by stand-ins."""
    bridge = (asset_root() if root is None else root) / BRIDGE_SUBDIR
    missing = []
    stage = Path("stages") / STAGES[task.scene]
    if not (bridge / stage).is_file():
        missing.append(str(stage))
    for model in _models(task):
        folder = Path("custom") / "models" / model
        if not any((bridge / folder / name).is_file() for name in VISUAL_NAMES):
            missing.append(str(folder / "textured.obj"))
    return missing


def bridge_asset_path(task: WidowXTask, root: Path | None = None) -> tuple[Path, list[str]]:
    """The bridge asset folder ManiSkill should read for `task`, and the stand-ins it contains (empty if none).

    When nothing is missing this is the real folder. Otherwise an overlay is built once per asset root and reused;
    it is built in a temporary folder and renamed into place, so concurrent worker processes never see half of it.
    """
    root = asset_root() if root is None else root
    check_assets(task, root)
    standins = missing_standins(task, root)
    real = root / BRIDGE_SUBDIR
    if not standins:
        return real, []
    digest = hashlib.sha1(f"{real.resolve()}|{OVERLAY_VERSION}".encode()).hexdigest()[:12]
    overlay = cache_root() / f"widowx-standins-{digest}"
    if not overlay.is_dir():
        overlay.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=overlay.name + ".", dir=overlay.parent))
        try:
            _build_overlay(real, staging)
            staging.rename(overlay)
        except OSError:
            if not overlay.is_dir():  # a concurrent process may have won the rename; anything else is a real error
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return overlay, standins


def _link_children(source: Path, dest: Path, skip: set[str]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        for child in source.iterdir():
            if child.name not in skip:
                (dest / child.name).symlink_to(child.resolve())


def _build_overlay(real: Path, overlay: Path) -> None:
    """Mirror `real` with symbolic links, generating every stage and object visual it lacks (for all tasks)."""
    _link_children(real, overlay, skip={"custom", "stages"})
    _link_children(real / "stages", overlay / "stages", skip=set())
    for scene, stage in STAGES.items():
        if not (overlay / "stages" / stage).exists():
            _write_table_stage(overlay / "stages" / stage, STAGE_TOP[scene])
    _link_children(real / "custom", overlay / "custom", skip={"models"})
    models = real / "custom" / "models"
    (overlay / "custom" / "models").mkdir()
    for model in sorted(models.iterdir()) if models.is_dir() else []:
        has_visual = any((model / name).is_file() for name in VISUAL_NAMES)
        if has_visual or not (model / "collision.obj").is_file():
            (overlay / "custom" / "models" / model.name).symlink_to(model.resolve())
            continue
        dest = overlay / "custom" / "models" / model.name
        _link_children(model, dest, skip=set())
        _write_visual_from_collision(model, dest, VISUAL_TEXTURES.get(model.name))


def _write_table_stage(path: Path, top: float) -> None:
    """A grey box table as a GLB, in the stage's y-up frame (see the module docstring)."""
    import trimesh  # a mani-skill dependency; imported here so that listing tasks needs nothing beyond numpy

    extents = (STAGE_X[1] - STAGE_X[0], top, STAGE_Z[1] - STAGE_Z[0])
    center = ((STAGE_X[0] + STAGE_X[1]) / 2, top / 2, (STAGE_Z[0] + STAGE_Z[1]) / 2)
    box = trimesh.creation.box(extents=extents)
    box.apply_translation(center)
    box.visual = trimesh.visual.ColorVisuals(box, face_colors=[int(255 * c) for c in STANDIN_COLOR] + [255])
    box.export(path)


def _write_visual_from_collision(model: Path, dest: Path, texture: str | None) -> None:
    """`textured.obj` + `.mtl`: the collision mesh, textured with `texture` (UV-mapped) or a flat colour."""
    lines = [line for line in (model / "collision.obj").read_text().splitlines() if not line.startswith("mtllib")]
    material = f"newmtl standin\nKd {' '.join(str(c) for c in STANDIN_COLOR)}\n"
    if texture is not None and (model / texture).is_file():
        material = f"newmtl standin\nKd 1 1 1\nmap_Kd {texture}\n"
    (dest / "textured.mtl").write_text(material)
    body = ["mtllib textured.mtl"]
    for line in lines:
        if line.startswith("usemtl"):
            continue
        if line.startswith("f ") and "usemtl standin" not in body:
            body.append("usemtl standin")  # right before the faces: some loaders reset the material at `o`
        body.append(line)
    (dest / "textured.obj").write_text("\n".join(body) + "\n")
