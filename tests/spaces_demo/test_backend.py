"""The demo's computations without a server: input checks, answer parsing, drawing, model loading and requests."""

from __future__ import annotations

import json

import numpy as np
import PIL.Image
import pytest

from modeling_vlaser.grounding import GroundedObject, format_boxes, format_points, parse_grounding
from spaces_demo.app import load_examples
from spaces_demo.backend import (
    DEFAULT_MODEL,
    GROUNDING_PROMPTS,
    PLANNING_PROMPT,
    DemoBackend,
    DemoInputError,
    DemoSettings,
    ModelUnavailableError,
    RequestTimeoutError,
    grounding_annotations,
    parse_state,
    plot_chunk,
    prepare_image,
    split_plan,
)
from spaces_demo.make_examples import EXAMPLES_DIR, EXAMPLES_FILE
from tests.spaces_demo.conftest import ALOHA_DIM, save_tiny_aloha_policy


# ---------------------------------------------------------------------------------------------------- inputs
def test_large_images_are_scaled_down_to_the_limit_keeping_their_aspect():
    image = prepare_image(PIL.Image.new("RGBA", (3000, 1500), (10, 20, 30, 255)), max_side=1024)
    assert image.size == (1024, 512) and image.mode == "RGB"
    small = PIL.Image.new("RGB", (100, 60))
    assert prepare_image(small, max_side=1024).size == (100, 60)


def test_image_files_and_arrays_are_accepted_and_other_files_refused(tmp_path):
    PIL.Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "frame.png")
    assert prepare_image(str(tmp_path / "frame.png"), 1024).getpixel((0, 0)) == (255, 0, 0)
    assert prepare_image(np.zeros((30, 40, 3), np.uint8), 1024).size == (40, 30)
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(DemoInputError, match=r"image: expected an image file .* 'notes.txt'"):
        prepare_image(str(tmp_path / "notes.txt"), 1024)
    with pytest.raises(DemoInputError, match="upload an image"):
        prepare_image(None, 1024)
    with pytest.raises(DemoInputError, match="uint8"):
        prepare_image(np.zeros((30, 40, 3), np.float32), 1024)


@pytest.mark.parametrize("text", ["1, 2, 3", "[1 2 3]", "1;2;3", (1, 2, 3)])
def test_state_text_in_common_layouts(text):
    np.testing.assert_array_equal(parse_state(text, 3), np.array([1, 2, 3], np.float32))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "enter the robot state"),
        ("1, 2", "expects 3 numbers .* got 2"),
        ("1, x, 3", "'x' is not a number"),
        ("1, nan, 3", "finite"),
    ],
)
def test_bad_states_are_refused_with_the_reason(text, message):
    with pytest.raises(DemoInputError, match=f"state: .*{message}"):
        parse_state(text, 3)


# ---------------------------------------------------------------------------------------------------- answers
@pytest.mark.parametrize(
    ("answer", "steps"),
    [
        ("1. Grasp the cube.\n2. Lift it.\n3. Place it.", ["Grasp the cube.", "Lift it.", "Place it."]),
        ("1. Move above the square. 2. Grasp it. 3) Place it.", ["Move above the square.", "Grasp it.", "Place it."]),
        ("Step 1: reach. Step 2: grasp.", ["reach.", "grasp."]),
        ("- reach\n- grasp", ["reach", "grasp"]),
        ("just do it", ["just do it"]),
        ("", []),
    ],
)
def test_plan_answers_split_into_steps(answer, steps):
    assert split_plan(answer) == steps


def test_prompts_are_worded_as_the_in_domain_training_questions():
    """The tiny models answer in the trained format only when asked in the trained wording."""
    from hub_datasets.in_domain.grounding import BOX_HINTS, BOX_ONE, POINT_HINTS, POINT_ONE
    from hub_datasets.in_domain.planning import PLAN_QUESTIONS

    as_engine = {key: prompt.replace("{phrase}", "{obj}") for key, prompt in GROUNDING_PROMPTS.items()}
    assert as_engine["box"] in {question + hint for question in BOX_ONE for hint in BOX_HINTS}
    assert as_engine["point"] in {question + hint for question in POINT_ONE for hint in POINT_HINTS}
    assert PLANNING_PROMPT.replace("{instruction}", "{task}") in PLAN_QUESTIONS


def test_boxes_and_points_become_pixel_annotations():
    answer = format_boxes([(100, 200, 300, 600)], ref="cube") + format_points([(500, 250)], ref="plate")
    annotations = grounding_annotations(parse_grounding(answer), width=200, height=100, default_label="asked")
    (box, box_label), (mask, point_label) = annotations
    assert (box, box_label) == ((20, 20, 60, 60), "cube")
    assert point_label == "plate" and mask.shape == (100, 200)
    ys, xs = np.nonzero(mask)
    assert (round(xs.mean()), round(ys.mean())) == (100, 25)


def test_swapped_or_unlabelled_boxes_are_ordered_clamped_and_named_after_the_query():
    objects = [GroundedObject(ref=None, boxes=[(900, 900, 100, 100)]), GroundedObject(boxes=[(0, 0, 1000, 1000)])]
    boxes = grounding_annotations(objects, width=50, height=50, default_label="the cube")
    assert boxes == [((5, 5, 45, 45), "the cube"), ((0, 0, 49, 49), "the cube")]


def test_chunk_plot_has_one_panel_per_dimension():
    pixels = plot_chunk(np.random.default_rng(0).normal(size=(4, 14)), names=[f"j{i}" for i in range(14)])
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    assert pixels.shape[0] > plot_chunk(np.zeros((4, 4))).shape[0]  # 4 rows of panels are taller than 1


# ---------------------------------------------------------------------------------------------------- gallery
def test_gallery_scenes_are_simulator_frames_with_instructions_and_states():
    raw = json.loads(EXAMPLES_FILE.read_text())
    scenes = load_examples()
    assert {scene.suite for scene in scenes} == {"aloha", "widowx"} and len(scenes) == len(raw)
    for scene in scenes:
        with PIL.Image.open(scene.image) as image:
            assert image.size == (224, 224)
        assert scene.instruction and scene.objects and len(scene.action_names) > 0
        assert len(scene.state) == ALOHA_DIM if scene.suite == "aloha" else len(scene.state) > 0
    assert sorted(path.name for path in EXAMPLES_DIR.glob("*.png")) == sorted(entry["image"] for entry in raw)


# ---------------------------------------------------------------------------------------------------- the model
def test_missing_default_checkpoint_says_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelUnavailableError, match="make quickstart"):
        DemoBackend.load(DemoSettings(model=DEFAULT_MODEL))
    with pytest.raises(ModelUnavailableError, match=r"could not load a VLASER checkpoint from '.*nowhere'"):
        DemoBackend.load(DemoSettings(model=str(tmp_path / "nowhere")))


def test_a_checkpoint_on_the_hub_loads_by_repo_id(local_hub, aloha_checkpoint):
    from modeling_vlaser import VlaserPolicy

    repo_id = local_hub.repo_id("vlaser-aloha-demo")
    VlaserPolicy.from_pretrained(aloha_checkpoint).push_to_hub(repo_id)
    backend = DemoBackend.load(DemoSettings(model=repo_id, max_new_tokens=4))
    assert backend.source == repo_id and backend.policy.config.state_dim == ALOHA_DIM
    assert isinstance(backend.ask(load_examples()[0].image, "What is on the table?"), str)


@pytest.fixture(scope="module")
def backend(aloha_checkpoint) -> DemoBackend:
    return DemoBackend.load(DemoSettings(model=str(aloha_checkpoint), max_new_tokens=12))


def test_grounding_answer_and_its_annotations_agree(backend):
    scene = load_examples()[0]
    result = backend.ground(scene.image, scene.objects[0])
    assert result.prompt == GROUNDING_PROMPTS["box"].format(phrase=scene.objects[0])
    assert isinstance(result.answer, str) and result.image.size == (224, 224)
    expected = grounding_annotations(parse_grounding(result.answer), 224, 224, scene.objects[0])
    assert [label for _, label in result.annotations] == [label for _, label in expected]


def test_action_preview_is_a_raw_chunk_of_the_policys_size_and_is_reproducible(backend):
    scene = next(scene for scene in load_examples() if scene.suite == "aloha")
    first = backend.preview_actions(scene.image, scene.instruction, list(scene.state), scene)
    again = backend.preview_actions(scene.image, scene.instruction, list(scene.state), scene)
    config = backend.policy.config
    assert first.chunk.shape == (config.chunk_size, ALOHA_DIM) and np.isfinite(first.chunk).all()
    np.testing.assert_array_equal(first.chunk, again.chunk)
    assert first.names == list(scene.action_names) and first.video is None


def test_rollout_films_the_scene_from_its_start_state(backend):
    scene = next(scene for scene in load_examples() if scene.task == "transfer_cube")
    preview = backend.preview_actions(scene.image, scene.instruction, list(scene.state), scene, rollout_steps=3)
    assert preview.video.endswith(".mp4")
    import imageio.v3 as iio

    frames = iio.imread(preview.video, plugin="pyav")
    assert frames.shape[0] == 4 and frames.shape[1:] == (224, 224, 3)  # the start frame and 3 steps
    # The first filmed frame is the gallery frame: the rollout starts where the user looked.
    reference = np.asarray(PIL.Image.open(scene.image).convert("RGB"), dtype=np.float32)
    assert np.abs(frames[0].astype(np.float32) - reference).mean() < 4  # H.264 loss only
    assert preview.rollout_summary.startswith("3 steps")


def test_requests_the_checkpoint_cannot_serve_are_refused(backend, tmp_path):
    scene = next(scene for scene in load_examples() if scene.suite == "widowx")
    with pytest.raises(DemoInputError, match="pick a simulator scene"):
        backend.preview_actions(scene.image, "go", [0.0] * ALOHA_DIM, None, rollout_steps=2)
    with pytest.raises(DemoInputError, match="rollout steps: expected 0..120"):
        backend.preview_actions(scene.image, "go", [0.0] * ALOHA_DIM, scene, rollout_steps=500)
    with pytest.raises(DemoInputError, match=f"expects {ALOHA_DIM} numbers"):
        backend.preview_actions(scene.image, scene.instruction, list(scene.state), scene)  # a WidowX state
    reasoning_only = DemoBackend.load(DemoSettings(model=str(save_tiny_aloha_policy(tmp_path, with_statistics=False))))
    assert reasoning_only.policy is None
    assert isinstance(reasoning_only.ask(scene.image, "What is on the table?"), str)
    with pytest.raises(DemoInputError, match="no action normalization statistics"):
        reasoning_only.preview_actions(scene.image, "go", [0.0] * ALOHA_DIM)


def test_a_request_past_its_time_limit_is_stopped(aloha_checkpoint):
    slow = DemoBackend.load(DemoSettings(model=str(aloha_checkpoint), timeout_s=1e-4, max_new_tokens=400))
    with pytest.raises(RequestTimeoutError, match="took longer than the 0.0001 s limit"):
        slow.ask(load_examples()[0].image, "What is on the table?")
