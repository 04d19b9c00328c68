"""The folder is a Hugging Face Space: its card, and an exported copy that runs on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import gradio
import pytest
from gradio_client import Client, handle_file
from huggingface_hub import SpaceCard

from spaces_demo.export import DEMO_DIR, export_space
from spaces_demo.make_examples import EXAMPLES_FILE
from tests.conftest import free_port
from vlaser_cli import main as vlaser


def test_space_card_header_names_the_sdk_app_model_and_data():
    data = SpaceCard.load(DEMO_DIR / "README.md").data
    assert (data.sdk, data.sdk_version, data.app_file) == ("gradio", gradio.__version__, "app.py")
    assert (DEMO_DIR / data.app_file).is_file()
    assert data.models and data.datasets and data.license == "apache-2.0"


def test_export_refuses_a_folder_that_already_holds_files(tmp_path, capsys):
    (tmp_path / "space").mkdir()
    (tmp_path / "space" / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit):
        vlaser(["demo", "export", str(tmp_path / "space")])
    assert "exists and is not empty" in capsys.readouterr().err
    assert (tmp_path / "space" / "keep.txt").read_text() == "mine"


def test_exported_space_runs_from_its_own_folder(tmp_path, aloha_checkpoint):
    space = export_space(tmp_path / "space", model="someone/vlaser-aloha")
    assert SpaceCard.load(space / "README.md").data.models == ["someone/vlaser-aloha"]
    assert (space / "examples" / EXAMPLES_FILE.name).is_file()
    # The copies beside app.py are what a script run imports, not this checkout.
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import modeling_vlaser, simulation.registry, eval.closed_loop; print(modeling_vlaser.__file__)",
        ],
        cwd=space,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(space))

    port = free_port()
    environment = dict(os.environ, VLASER_MODEL=str(aloha_checkpoint), GRADIO_SERVER_PORT=str(port))
    server = subprocess.Popen([sys.executable, "app.py"], cwd=space, env=environment, stderr=subprocess.PIPE, text=True)
    try:
        client = None
        for _ in range(120):
            if server.poll() is not None:
                pytest.fail(f"the exported app exited: {server.stderr.read()[-2000:]}")
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:  # not listening yet
                time.sleep(0.5)
        assert client is not None, "the exported app did not start within 60 s"
        frame = str(space / "examples" / "aloha_transfer_cube_seed7.png")
        assert isinstance(client.predict(handle_file(frame), "What is on the table?", api_name="/ask"), str)
    finally:
        server.terminate()
        server.wait(timeout=30)
