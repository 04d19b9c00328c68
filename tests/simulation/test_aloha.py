"""The ALOHA suite: deterministic resets, experts that succeed, and annotation records that are geometrically sane."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

if importlib.util.find_spec("mujoco") is None or importlib.util.find_spec("gym_aloha") is None:
    pytest.skip("the aloha suite needs mujoco and gym-aloha (the `sim` extra)", allow_module_level=True)

from simulation.aloha import EXPERTS, TASKS  # noqa: E402
from simulation.aloha.assets import ASSETS_ENV, AlohaAssetsError  # noqa: E402
from simulation.registry import UnknownTaskError, make_env, make_expert, task_names  # noqa: E402

ALL_TASKS = sorted(TASKS)
RECORD_KEYS = {"camera", "objects", "gripper", "phase", "phase_index", "success"}
OBJECT_KEYS = {"name", "category", "bbox_visible", "bbox_amodal", "point", "visible_fraction", "xyz_base", "xyz_cam"}


@pytest.fixture(scope="module")
def envs():
    made = {task: TASKS[task](cameras=("top",), image_size=(96, 96)) for task in ALL_TASKS}
    yield made
    for env in made.values():
        env.close()


def rollout(env, expert, seed: int, stop_after: int | None = None):
    """Run the expert (no rendering) until it is done or `stop_after` steps; returns the phases seen."""
    env.reset(seed)
    expert.reset(env)
    phases = []
    for step in range(env.spec.max_steps):
        if stop_after is not None and step >= stop_after:
            break
        action, phase = expert.act(env)
        if phase == "done":
            break
        phases.append(phase)
        observation, _ = env.step(action, render=False)
        assert observation is None
    return phases


def test_registry_lists_at_least_four_aloha_tasks_including_gym_alohas_two():
    names = task_names("aloha")
    assert {"transfer_cube", "insertion"} <= set(names) and len(names) >= 4
    assert set(EXPERTS) == set(TASKS)


@pytest.mark.parametrize("task", ALL_TASKS)
def test_reset_is_deterministic_under_a_seed(envs, task):
    env = envs[task]
    first = env.reset(7)
    qpos = env.data.qpos.copy()
    again = env.reset(7)
    np.testing.assert_array_equal(env.data.qpos, qpos)
    np.testing.assert_array_equal(first["images"]["top"], again["images"]["top"])
    np.testing.assert_array_equal(first["state"], again["state"])
    other = env.reset(8)
    assert not np.allclose(env.data.qpos, qpos), "another seed must place the objects elsewhere"
    assert other["images"]["top"].shape == (96, 96, 3) and other["images"]["top"].dtype == np.uint8
    assert other["state"].shape == (14,) and other["state"].dtype == np.float32


@pytest.mark.parametrize("task", ALL_TASKS)
def test_expert_succeeds_on_fixed_seeds(envs, task):
    env = envs[task]
    for seed in (0, 1):
        phases = rollout(env, EXPERTS[task](), seed)
        assert env.success(), f"{task} seed {seed}: expert failed after phases {phases}"
        assert phases[0] == "approach" and len(set(phases)) >= 4


def test_not_success_at_reset_and_random_actions_do_not_succeed(envs):
    env = envs["transfer_cube"]
    env.reset(3)
    assert not env.success()
    rng = np.random.default_rng(0)
    low, high = env.model.jnt_range[env.arms["left"].qpos].T
    for _ in range(10):
        action = np.concatenate([rng.uniform(low, high), [rng.uniform()], rng.uniform(low, high), [rng.uniform()]])
        env.step(action, render=False)
    assert not env.success()


def test_step_rejects_a_malformed_action(envs):
    env = envs["lift_bar"]
    env.reset(0)
    with pytest.raises(ValueError, match="14 finite values"):
        env.step(np.zeros(7))
    with pytest.raises(ValueError, match="14 finite values"):
        env.step(np.full(14, np.nan))


def test_unknown_suite_and_task_name_the_valid_ones():
    with pytest.raises(UnknownTaskError, match="aloha.*widowx"):
        make_env("pybullet", "x")
    with pytest.raises(UnknownTaskError, match="transfer_cube"):
        make_env("aloha", "fold_towel")
    with pytest.raises(UnknownTaskError, match="insertion"):
        make_expert("aloha", "fold_towel")


def test_missing_assets_say_where_they_were_looked_for(monkeypatch, tmp_path):
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path))
    with pytest.raises(AlohaAssetsError, match=f"{ASSETS_ENV}.*missing.*gym-aloha==0.1.5"):
        TASKS["transfer_cube"]()


# ---------------------------------------------------------------------------------------------- annotations
@pytest.fixture(scope="module")
def annotated():
    """Records of transfer_cube at reset, while the right gripper closes over the cube, while it carries the cube and
    after the handover, from the top and the right wrist camera."""
    env = TASKS["transfer_cube"](cameras=("top", "right_wrist"))
    expert = EXPERTS["transfer_cube"]()
    env.reset(4)
    expert.reset(env)
    records = [env.annotations()]
    for step in range(81):
        action, _ = expert.act(env)
        env.step(action, render=False)
        if step in (22, 40, 80):
            records.append(env.annotations())
    yield env, records
    env.close()


def test_annotation_record_has_the_design_schema(annotated):
    env, records = annotated
    for record in records:
        assert RECORD_KEYS <= set(record)
        assert set(record["camera"]) == {"top", "right_wrist"}
        for camera in record["camera"].values():
            assert np.asarray(camera["K"]).shape == (3, 3) and np.asarray(camera["T_world_cam"]).shape == (4, 4)
            assert camera["size"] == [224, 224]
        assert set(record["gripper"]) == {"open", "grasped"} and isinstance(record["gripper"]["open"], bool)
        assert isinstance(record["success"], bool) and isinstance(record["phase"], str)
        names = {(o["camera"], o["name"]) for o in record["objects"]}
        assert names == {(c, n) for c in ("top", "right_wrist") for n in ("red cube", "left gripper", "right gripper")}
        for item in record["objects"]:
            assert OBJECT_KEYS <= set(item)
            assert 0.0 <= item["visible_fraction"] <= 1.0
            assert len(item["xyz_base"]) == 3 and len(item["xyz_cam"]) == 3
    assert records[0]["gripper"]["grasped"] is None
    assert records[2]["grippers"] == {
        "left": {"open": True, "grasped": None},
        "right": {"open": False, "grasped": "red cube"},
    }
    assert records[3]["grippers"]["left"]["grasped"] == "red cube" and records[3]["success"]


def test_annotation_geometry_is_consistent(annotated):
    env, records = annotated
    for record in records:
        base = np.asarray(record["T_world_base"])
        for item in record["objects"]:
            camera = record["camera"][item["camera"]]
            K, pose = np.asarray(camera["K"]), np.asarray(camera["T_world_cam"])
            width, height = camera["size"]
            world = base @ np.array([*item["xyz_base"], 1.0])
            np.testing.assert_allclose(np.linalg.inv(pose) @ world, [*item["xyz_cam"], 1.0], atol=1e-4)
            visible, amodal, point = item["bbox_visible"], item["bbox_amodal"], item["point"]
            if visible is None:
                assert item["visible_fraction"] == 0.0
                continue
            x1, y1, x2, y2 = visible
            assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height, "visible box inside the image"
            ax1, ay1, ax2, ay2 = amodal
            assert ax1 <= x1 and ay1 <= y1 and x2 <= ax2 and y2 <= ay2, "visible box inside the amodal box"
            assert x1 <= point[0] <= x2 and y1 <= point[1] <= y2, "point inside the visible box"
            if item["visible_fraction"] > 0.95 and item["category"] != "gripper":
                u, v, w = K @ np.asarray(item["xyz_cam"])
                assert w > 0 and x1 <= u / w <= x2 and y1 <= v / w <= y2, "projected centre inside the visible box"


def test_visible_box_and_point_come_from_the_rendered_pixels(annotated):
    env, records = annotated
    env.reset(4)
    record = env.annotations()
    cube = next(o for o in record["objects"] if o["camera"] == "top" and o["name"] == "red cube")
    ids = env.render("top", segmentation=True)
    cube_geoms = env.body_geoms("box")
    mask = np.isin(ids, cube_geoms)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    assert cube["bbox_visible"] == [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]
    u, v = cube["point"]
    assert mask[int(v), int(u)]
    rgb = env.render("top")
    assert rgb[int(v), int(u), 0] > 150 and rgb[int(v), int(u), 1] < 80  # the red cube's pixel is red
    assert cube["visible_fraction"] == 1.0  # nothing covers the cube on the table at reset


def test_a_gripper_over_the_cube_lowers_its_visible_fraction(annotated):
    _, records = annotated
    carried = next(o for o in records[2]["objects"] if o["camera"] == "top" and o["name"] == "red cube")
    assert 0.0 < carried["visible_fraction"] < 0.9  # the right gripper's fingers hide part of it from above
