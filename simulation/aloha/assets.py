"""The bimanual ViperX 300s model, read from the installed `gym-aloha` wheel (Apache-2.0), plus our task objects.

Why read, not vendor: the wheel already ships the MJCF and STL meshes (1.7 MB) and pins nothing we need besides
MuJoCo, so the repository stays free of binary assets. We load them through MuJoCo's in-memory asset dictionary and
compose one MJCF per task: gym-aloha's scene, arms and actuators, then the task's objects.
"""

from __future__ import annotations

import importlib.util
import os
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

GYM_ALOHA_VERSION = "0.1.5"
ASSETS_ENV = "VLASER_ALOHA_ASSETS"
_REQUIRED = (
    "scene.xml",
    "vx300s_dependencies.xml",
    "vx300s_left.xml",
    "vx300s_right.xml",
    "bimanual_viperx_transfer_cube.xml",
    "bimanual_viperx_insertion.xml",
)


class AlohaAssetsError(FileNotFoundError):
    """The ViperX assets are not where we look for them."""


def assets_dir() -> Path:
    """The folder holding gym-aloha's MJCF and STL files: ``$VLASER_ALOHA_ASSETS`` or the installed wheel's."""
    override = os.environ.get(ASSETS_ENV)
    if override:
        folder = Path(override).expanduser()
        where = f"${ASSETS_ENV}={override}"
    else:
        spec = importlib.util.find_spec("gym_aloha")  # find, never import: gym_aloha's __init__ pulls in dm_control
        if spec is None or not spec.submodule_search_locations:
            raise AlohaAssetsError(
                "the ALOHA assets come from the gym-aloha wheel, which is not installed: "
                f"`pip install -c requirements/constraints.txt gym-aloha=={GYM_ALOHA_VERSION}` (or `pip install -e "
                f"'.[sim]'`), or point ${ASSETS_ENV} at a copy of its gym_aloha/assets folder"
            )
        folder = Path(next(iter(spec.submodule_search_locations))) / "assets"
        where = f"the gym-aloha wheel ({folder})"
    missing = [name for name in _REQUIRED if not (folder / name).is_file()]
    if missing:
        raise AlohaAssetsError(
            f"ALOHA assets looked for in {where}: missing {missing}; reinstall "
            f"`gym-aloha=={GYM_ALOHA_VERSION}` or set ${ASSETS_ENV} to a folder holding gym_aloha/assets"
        )
    return folder


@lru_cache(maxsize=4)
def _asset_bytes(folder: str) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in Path(folder).iterdir() if path.is_file()}


def asset_files() -> dict[str, bytes]:
    """All files of the assets folder by name, for `mujoco.MjModel.from_xml_string(xml, assets)`."""
    return dict(_asset_bytes(str(assets_dir())))


def gym_aloha_bodies(xml_name: str, body_names: tuple[str, ...]) -> str:
    """The MJCF of some top-level world bodies of one of gym-aloha's task files (e.g. the insertion socket)."""
    root = ET.fromstring(asset_files()[xml_name].decode("utf-8"))
    found = {body.get("name"): body for body in root.find("worldbody").findall("body")}
    missing = [name for name in body_names if name not in found]
    if missing:
        raise AlohaAssetsError(
            f"{xml_name} in {assets_dir()} has no body {missing}; expected gym-aloha {GYM_ALOHA_VERSION}"
        )
    return "\n".join(ET.tostring(found[name], encoding="unicode") for name in body_names)


def build_scene_xml(objects_xml: str, extra_xml: str = "", model_name: str = "vlaser_aloha") -> str:
    """gym-aloha's scene, both arms and their position actuators, with `objects_xml` added to the world body."""
    cube = ET.fromstring(asset_files()["bimanual_viperx_transfer_cube.xml"].decode("utf-8"))
    actuators = ET.tostring(cube.find("actuator"), encoding="unicode")
    return f"""<mujoco model="{model_name}">
    <include file="scene.xml"/>
    <include file="vx300s_dependencies.xml"/>
    {extra_xml}
    <worldbody>
        <include file="vx300s_left.xml"/>
        <include file="vx300s_right.xml"/>
        {objects_xml}
    </worldbody>
    {actuators}
</mujoco>
"""
