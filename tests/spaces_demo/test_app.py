"""The demo served on 127.0.0.1 and used through `gradio_client`, as a Space's API users would."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from spaces_demo.app import create_demo, launch, load_examples, parse_arguments
from spaces_demo.backend import DemoSettings
from tests.conftest import free_port
from tests.spaces_demo.conftest import ALOHA_DIM

ENDPOINTS = {"/ground", "/draw", "/plan", "/ask", "/preview_actions"}


@pytest.fixture(scope="module")
def client(served, tmp_path_factory) -> Client:
    return Client(served[0], verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


@pytest.fixture(scope="module")
def aloha_scene():
    return next(scene for scene in load_examples() if scene.task == "transfer_cube")


def test_server_binds_loopback_and_exposes_one_endpoint_per_tab(served, client):
    assert served[0].startswith("http://127.0.0.1:")
    # 2 requests at once share the cores instead of each spinning up a thread per core.
    assert torch.get_num_threads() == max(1, (os.cpu_count() or 1) // 2)
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ENDPOINTS


def test_grounding_returns_the_annotated_image_and_the_raw_answer(client, aloha_scene):
    annotated, raw = client.predict(handle_file(aloha_scene.image), "the red cube", "point", api_name="/ground")
    assert isinstance(raw, str)
    assert set(annotated) >= {"image", "annotations"} and isinstance(annotated["annotations"], list)
    with PIL.Image.open(annotated["image"]) as image:
        assert image.size == (224, 224)


def test_a_typed_answer_is_drawn_as_box_and_point_annotations(client, aloha_scene):
    answer = "<ref>red cube</ref><box>[[570, 460, 640, 560]]</box><point>[[200, 500]]</point>"
    annotated = client.predict(handle_file(aloha_scene.image), answer, "ignored label", api_name="/draw")
    assert [entry["label"] for entry in annotated["annotations"]] == ["red cube", "red cube"]
    with pytest.raises(AppError, match="answer: no <box>"):
        client.predict(handle_file(aloha_scene.image), "the cube is on the left", "", api_name="/draw")


def test_large_uploads_are_scaled_down_before_the_model_sees_them(client, tmp_path):
    PIL.Image.new("RGB", (3000, 2000), (90, 90, 90)).save(tmp_path / "big.png")
    annotated, _ = client.predict(handle_file(str(tmp_path / "big.png")), "the cube", "box", api_name="/ground")
    with PIL.Image.open(annotated["image"]) as image:
        assert image.size == (1024, 683)


def test_planning_returns_numbered_steps_and_the_raw_answer(client, aloha_scene):
    steps, raw = client.predict(handle_file(aloha_scene.image), aloha_scene.instruction, api_name="/plan")
    assert isinstance(steps, str) and isinstance(raw, str)
    assert steps.startswith("1. ") or steps == "_(the model gave no steps)_"


def test_spatial_qa_returns_text(client, aloha_scene, served):
    question = "Is the red cube left of the right gripper?"
    answer = client.predict(handle_file(aloha_scene.image), question, api_name="/ask")
    assert answer == served[1].ask(aloha_scene.image, question)


def test_action_preview_returns_plot_table_and_rollout_video(client, aloha_scene, served):
    state = ", ".join(str(value) for value in aloha_scene.state)
    plot, table, video, summary = client.predict(
        aloha_scene.label,
        handle_file(aloha_scene.image),
        aloha_scene.instruction,
        state,
        3,
        api_name="/preview_actions",
    )
    chunk_size = served[1].policy.config.chunk_size
    assert table["headers"] == ["step", *aloha_scene.action_names]
    values = np.asarray([row[1:] for row in table["data"]], dtype=np.float64)
    assert values.shape == (chunk_size, ALOHA_DIM) and np.isfinite(values).all()
    with PIL.Image.open(plot) as image:
        assert image.width > 600
    assert Path(video["video"] if isinstance(video, dict) else video).stat().st_size > 1000
    assert summary.startswith("3 steps")


@pytest.mark.parametrize(
    ("endpoint", "arguments", "message"),
    [
        ("/ground", ("IMAGE", "   ", "box"), "object: type something first"),
        ("/ground", ("TEXT_FILE", "the cube", "box"), r"Image: expected an image file .*'notes.txt'"),
        ("/ground", (None, "the cube", "box"), "image: upload an image"),
        ("/plan", ("IMAGE", ""), "instruction: type something first"),
        ("/ask", ("IMAGE", "x" * 600), "question: at most 500 characters"),
        ("/preview_actions", (None, "IMAGE", "go", "1, 2, 3", 0), f"expects {ALOHA_DIM} numbers"),
        ("/preview_actions", (None, "IMAGE", "go", ",".join(["0"] * ALOHA_DIM), 5), "pick a simulator scene"),
    ],
)
def test_bad_input_reaches_the_client_as_a_message(client, aloha_scene, tmp_path, endpoint, arguments, message):
    (tmp_path / "notes.txt").write_text("not an image")
    files = {"IMAGE": handle_file(aloha_scene.image), "TEXT_FILE": handle_file(str(tmp_path / "notes.txt"))}
    arguments = [files.get(value, value) if isinstance(value, str) else value for value in arguments]
    if endpoint == "/preview_actions":
        arguments[0] = aloha_scene.label if arguments[4] == 0 else None
    with pytest.raises(AppError, match=message):
        client.predict(*arguments, api_name=endpoint)


def test_twenty_concurrent_clients_all_get_their_own_answers(served, tmp_path):
    """Each client uploads its own image (size and colour) and must get that image back with the model's answer
    for it: nothing is lost, and no answer goes to the wrong client."""
    url, backend = served
    uploads = []
    for index in range(20):
        path = tmp_path / f"frame{index}.png"
        PIL.Image.new("RGB", (200 + index, 150), (12 * index, 100, 200 - 5 * index)).save(path)
        uploads.append(path)
    expected = [backend.ground(str(path), "the cube").answer for path in uploads]

    def ground(path: Path) -> tuple[tuple[int, int], tuple[int, int, int], str]:
        client = Client(url, verbose=False, download_files=str(tmp_path / path.stem))
        annotated, raw = client.predict(handle_file(str(path)), "the cube", "box", api_name="/ground")
        with PIL.Image.open(annotated["image"]) as image:
            return image.size, image.convert("RGB").getpixel((5, 5)), raw

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(ground, uploads))
    assert len(results) == 20
    for index, (size, colour, raw) in enumerate(results):
        assert size == (200 + index, 150)
        assert np.abs(np.subtract(colour, (12 * index, 100, 200 - 5 * index))).max() <= 3  # lossy WebP
        assert raw == expected[index]


def test_without_a_model_the_page_opens_and_requests_say_how_to_get_one(tmp_path):
    demo = create_demo(DemoSettings(model=str(tmp_path / "no_checkpoint_here")))
    url = launch(demo, port=free_port(), block=False)
    try:
        with pytest.raises(AppError, match="could not load a VLASER checkpoint .* run `make quickstart`"):
            Client(url, verbose=False).predict(handle_file(load_examples()[0].image), "hi", api_name="/ask")
    finally:
        demo.close()


def test_command_line_defaults_bind_loopback_and_refuse_nonsense(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.setenv("VLASER_MODEL", "someone/vlaser-aloha")
    args = parse_arguments([])
    assert (args.host, args.model, args.concurrency) == ("127.0.0.1", "someone/vlaser-aloha", 2)
    with pytest.raises(SystemExit):
        parse_arguments(["--concurrency", "0"])
