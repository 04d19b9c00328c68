"""simulation.widowx: the real SimplerEnv Bridge tasks (ManiSkill3 + SAPIEN on CPU), experts and annotations.

These tests run the real simulator. They need the `sim` extra and Mesa >= 25 lavapipe (scripts/
install_sim_deps_widowx.sh, run by the Makefile); without them they fail with the set-up step named, never skip.
Assets come from the project's offline folder (`MS_ASSET_DIR`, set below before ManiSkill is imported).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulation.base import SimEnv
from tests.conftest import REPO_ROOT, SHARED_DIR

ASSETS = SHARED_DIR / "assets" / "maniskill"
TASK_NAMES = ("carrot_on_plate", "spoon_on_towel", "stack_cube", "eggplant_in_basket")
EXPERT_SEEDS = {"carrot_on_plate": 3, "spoon_on_towel": 14, "stack_cube": 9, "eggplant_in_basket": 21}
ANNOTATION_KEYS = {"camera", "objects", "gripper", "phase", "phase_index", "success"}
OBJECT_KEYS = {"name", "category", "bbox_visible", "bbox_amodal", "point", "visible_fraction", "xyz_base", "xyz_cam"}


@pytest.fixture(scope="module")
def widowx_setup(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point ManiSkill at the offline assets and check the renderer; fail (not skip) with the missing step."""
    if not ASSETS.is_dir():
        pytest.fail(
            f"offline ManiSkill assets not found at {ASSETS} (set VLASER_SHARED to the project's shared folder)"
        )
    os.environ["MS_ASSET_DIR"] = str(ASSETS)
    os.environ["VLASER_CACHE"] = str(tmp_path_factory.mktemp("vlaser_cache"))
    from simulation.widowx.env import VulkanUnavailableError, check_renderer

    try:
        check_renderer()
    except (ImportError, VulkanUnavailableError) as error:
        pytest.fail(f"WidowX simulation is not set up on this machine: {error}")


@pytest.fixture(scope="module")
def envs(widowx_setup: None):
    """One environment per task, made on first use and shared by the module's tests (making one costs seconds)."""
    from simulation.widowx import TASKS

    made: dict = {}

    def get(name: str):
        if name not in made:
            made[name] = TASKS[name]()
        return made[name]

    yield get
    for env in made.values():
        env.close()


def object_poses(env) -> np.ndarray:
    return np.stack([env.object_pose(info.model_id) for info in (env.task.source, env.task.target)])


def test_import_does_not_load_maniskill() -> None:
    code = (
        "import sys, simulation.widowx as w; "
        "assert 'mani_skill' not in sys.modules and 'sapien' not in sys.modules, 'imported the simulator'; "
        "print(sorted(w.TASKS), sorted(w.EXPERTS))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"{sorted(TASK_NAMES)} {sorted(TASK_NAMES)}"


def test_missing_vulkan_names_the_setup_step(widowx_setup: None) -> None:
    code = "from simulation.widowx.env import check_renderer; check_renderer()"
    env = dict(os.environ, VK_ICD_FILENAMES="/nonexistent/icd.json", VK_DRIVER_FILES="/nonexistent/icd.json")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    assert out.returncode != 0
    assert "VulkanUnavailableError" in out.stderr and "scripts/install_sim_deps_widowx.sh" in out.stderr


def test_missing_assets_say_where_and_how(tmp_path: Path) -> None:
    from simulation.widowx.assets import MissingAssetsError, check_assets
    from simulation.widowx.tasks import WIDOWX_TASKS

    with pytest.raises(MissingAssetsError) as raised:
        check_assets(WIDOWX_TASKS["carrot_on_plate"], root=tmp_path)
    message = str(raised.value)
    assert str(tmp_path / "robots/widowx/wx250s.urdf") in message
    assert "MS_ASSET_DIR" in message and "download_asset bridge_v2_real2sim widowx250s" in message


def test_unknown_task_and_bad_actions(envs) -> None:
    from simulation.widowx import TASKS, make_env

    with pytest.raises(KeyError, match="task: unknown WidowX task 'carrot'"):
        make_env("carrot")
    with pytest.raises(ValueError, match="cameras: the WidowX tasks have one camera"):
        make_env("carrot_on_plate", cameras=("top",))
    with pytest.raises(ValueError, match="fps: the WidowX tasks run at ManiSkill's Bridge control rate of 5 Hz"):
        make_env("carrot_on_plate", fps=10)
    assert set(TASKS) == set(TASK_NAMES)
    env = envs("carrot_on_plate")
    env.reset(0)
    with pytest.raises(ValueError, match=r"action: expected shape \(7,\)"):
        env.step(np.zeros(6))
    with pytest.raises(ValueError, match="action: expected finite"):
        env.step(np.full(7, np.nan))
    with pytest.raises(ValueError, match="seed: expected a non-negative int"):
        env.reset(-1)


@pytest.mark.parametrize("task", TASK_NAMES)
def test_reset_is_deterministic_and_observations_have_the_spec(envs, task: str) -> None:
    env = envs(task)
    assert isinstance(env, SimEnv)
    first = env.reset(7)
    poses = object_poses(env)
    env.reset(2)
    env.step(np.array([0.03, 0.03, -0.03, 0, 0, 0.3, -1], dtype=np.float32), render=False)
    again = env.reset(7)
    # Bit-identical on the flat table; the eggplant settling in the sink differs by ~20 um after another episode.
    np.testing.assert_allclose(object_poses(env), poses, atol=1e-4)
    image_change = np.abs(again["images"]["3rd_view_camera"].astype(int) - first["images"]["3rd_view_camera"])
    assert image_change.mean() < 0.05
    np.testing.assert_array_equal(again["state"], first["state"])
    env.reset(8)
    assert np.abs(object_poses(env) - poses).max() > 1e-3, "neighbouring seeds should play different layouts"

    height, width = env.spec.cameras["3rd_view_camera"]
    assert (height, width) == (224, 224)
    assert first["images"]["3rd_view_camera"].shape == (224, 224, 3)
    assert first["images"]["3rd_view_camera"].dtype == np.uint8
    assert first["state"].shape == (env.spec.state_dim,) and first["state"].dtype == np.float32
    assert first["state"][-1] == pytest.approx(1.0, abs=0.02)  # the gripper starts open
    assert not env.success()
    observation, success = env.step(np.zeros(env.spec.action_dim, dtype=np.float32), render=False)
    assert observation is None and success is False


def test_render_matches_maniskill_observation(envs) -> None:
    """Our numpy render path gives ManiSkill's own greenscreened observation, pixel for pixel."""
    env = envs("spoon_on_towel")
    env.reset(4)
    env.step(np.array([0.02, 0.02, -0.02, 0, 0, 0.2, -1], dtype=np.float32), render=True)
    raw = env._u.get_obs(env._info, unflattened=True)["sensor_data"]["3rd_view_camera"]
    np.testing.assert_array_equal(env._frame["rgb"], raw["rgb"][0].numpy())
    np.testing.assert_array_equal(env._frame["segmentation"], raw["segmentation"][0, ..., 0].numpy())


def test_xy_jitter_moves_objects_reproducibly(envs) -> None:
    env = envs("stack_cube")
    env.reset(5)
    plain = object_poses(env)
    env.xy_jitter = 0.02
    try:
        env.reset(5)
        jittered = object_poses(env)
        env.reset(5)
        np.testing.assert_array_equal(object_poses(env), jittered)
    finally:
        env.xy_jitter = 0.0
    shift = np.linalg.norm(jittered[:, :2, 3] - plain[:, :2, 3], axis=1)
    assert np.all(shift > 1e-4) and np.all(shift < 0.02 * np.sqrt(2) + 0.005)


@pytest.mark.parametrize("task", TASK_NAMES)
def test_expert_succeeds_on_a_fixed_seed(envs, task: str) -> None:
    from simulation.widowx import EXPERTS
    from simulation.widowx.expert import run_episode

    env = envs(task)
    result = run_episode(env, EXPERTS[task](), EXPERT_SEEDS[task])
    assert result["success"] and result["success_any"], result  # succeeded, and still so after release and retreat
    assert result["phases"][:5] == ["approach", "descend", "grasp", "lift", "move"]


def check_record(env, record: dict) -> None:
    """Schema and geometric sanity of one annotation record."""
    assert set(record) == ANNOTATION_KEYS
    camera = record["camera"]["3rd_view_camera"]
    width, height = camera["size"]
    assert (height, width) == env.spec.cameras["3rd_view_camera"]
    k, t_world_cam = np.asarray(camera["K"]), np.asarray(camera["T_world_cam"])
    assert k.shape == (3, 3) and t_world_cam.shape == (4, 4)
    np.testing.assert_allclose(t_world_cam[:3, :3] @ t_world_cam[:3, :3].T, np.eye(3), atol=1e-5)
    base_from_world = np.linalg.inv(env.base_pose())
    names = [o["name"] for o in record["objects"]]
    assert names == [env.task.source.name, env.task.target.name, "gripper"]
    for obj in record["objects"]:
        assert set(obj) == OBJECT_KEYS, obj["name"]
        assert 0.0 <= obj["visible_fraction"] <= 1.0
        box = obj["bbox_visible"]
        assert box is not None, f"{obj['name']} should be visible"
        assert 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height, (obj["name"], box)
        u, v = obj["point"]
        assert box[0] <= u <= box[2] and box[1] <= v <= box[3], (obj["name"], obj["point"], box)
        amodal = obj["bbox_amodal"]
        # visible pixels lie inside the amodal box (up to a pixel of rasterization difference)
        assert (
            amodal[0] - 1 <= box[0] and box[2] <= amodal[2] + 1 and amodal[1] - 1 <= box[1] and box[3] <= amodal[3] + 1
        )
        # xyz_cam projects through K into the amodal box, and maps back to xyz_base through T_world_cam
        xyz_cam = np.asarray(obj["xyz_cam"])
        assert xyz_cam[2] > 0.1
        pu, pv = (k @ xyz_cam)[:2] / xyz_cam[2]
        assert amodal[0] - 1 <= pu <= amodal[2] + 1 and amodal[1] - 1 <= pv <= amodal[3] + 1, (obj["name"], pu, pv)
        xyz_world = t_world_cam[:3, :3] @ xyz_cam + t_world_cam[:3, 3]
        xyz_base = base_from_world[:3, :3] @ xyz_world + base_from_world[:3, 3]
        np.testing.assert_allclose(xyz_base, obj["xyz_base"], atol=2e-4, err_msg=obj["name"])


@pytest.mark.parametrize("task", TASK_NAMES)
def test_annotations_schema_and_geometry(envs, task: str) -> None:
    from simulation.widowx import EXPERTS

    env = envs(task)
    env.reset(EXPERT_SEEDS[task])
    record = env.annotations()
    check_record(env, record)
    assert record["gripper"] == {"open": True, "grasped": None}
    assert record["phase"] == "unknown" and record["success"] is False
    source = record["objects"][0]
    # The projected centre of the source object falls inside its visible box at the start (nothing covers it).
    k = np.asarray(record["camera"]["3rd_view_camera"]["K"])
    pu, pv = (k @ np.asarray(source["xyz_cam"]))[:2] / source["xyz_cam"][2]
    box = source["bbox_visible"]
    assert box[0] <= pu <= box[2] and box[1] <= pv <= box[3]
    # Its 3-D centre is the object's (privileged) position, up to the mesh-centre offset.
    world = np.linalg.inv(env.base_pose())
    origin_base = (world @ env.object_pose(env.task.source.model_id))[:3, 3]
    assert np.linalg.norm(origin_base - np.asarray(source["xyz_base"])) < 0.03
    # The gripper's top leaves the image at the home pose: its visible fraction accounts for that.
    assert record["objects"][2]["visible_fraction"] < 0.95

    expert = EXPERTS[task]()
    expert.reset(env)
    for _ in range(env.spec.max_steps):
        action, phase = expert.act(env)
        env.step(action, render=False)
        if phase == "lift" and expert.steps_in_phase >= 2:
            break
    record = env.annotations()
    check_record(env, record)
    assert record["phase"] == "lift" and record["phase_index"] == 3
    assert record["gripper"] == {"open": False, "grasped": env.task.source.name}


def test_eggplant_uses_documented_standins(envs) -> None:
    env = envs("eggplant_in_basket")
    assert sorted(env.standins) == ["custom/models/eggplant/textured.obj", "stages/bridge_table_1_v2.glb"]
    assert (env.bridge_path / "stages" / "bridge_table_1_v2.glb").is_file()
    assert (env.bridge_path / "custom" / "models" / "eggplant" / "textured.obj").is_file()
    assert not (ASSETS / "data/tasks/bridge_v2_real2sim_dataset/stages/bridge_table_1_v2.glb").exists()
    assert envs("carrot_on_plate").standins == []  # complete tasks read the asset folder itself


def test_silhouette_area_and_interior_point_on_a_square() -> None:
    from simulation.widowx import annotate

    corners = np.array([[10.0, 20.0], [40.0, 20.0], [40.0, 50.0], [10.0, 50.0]])
    mask, origin = annotate.silhouette(corners, np.array([[0, 1, 2], [0, 2, 3]]), (64, 64))
    full = annotate.paste(mask, origin, (64, 64))
    np.testing.assert_allclose(annotate.mask_box(full), [10.0, 20.0, 40.0, 50.0], atol=1.0)  # rasterizer: +-1 px
    square = np.zeros((64, 64), dtype=bool)
    square[20:50, 10:40] = True
    assert annotate.mask_box(square) == [10.0, 20.0, 40.0, 50.0]
    assert annotate.interior_point(square) == pytest.approx([25.0, 35.0], abs=1.0)
    assert annotate.silhouette_area(mask) == pytest.approx(900, rel=0.03)
    assert annotate.interior_point(full) == pytest.approx([25.0, 35.0], abs=1.0)
    k = annotate.intrinsics_for_size(
        np.array([[600.0, 0, 319.5], [0, 600.0, 239.5], [0, 0, 1]]), (640, 480), (224, 224)
    )
    np.testing.assert_allclose(annotate.project(k, np.array([[0.0, 0.0, 1.0]])), [[112.0, 112.0]])
