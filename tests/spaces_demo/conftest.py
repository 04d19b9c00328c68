"""A tiny, untrained VLASER policy shaped for the ALOHA gallery scenes (14-dim state and actions), saved once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from modeling_vlaser import ActionNormalizer, VlaserPolicy, load_tiny_processor
from spaces_demo.app import DemoApp, build_demo, launch, load_examples
from spaces_demo.backend import DemoBackend, DemoSettings
from spaces_demo.make_examples import EXAMPLES_FILE
from tests.conftest import free_port, tiny_policy

ALOHA_DIM = 14


def save_tiny_aloha_policy(folder: Path, with_statistics: bool = True) -> Path:
    """Random weights, but statistics from the committed ALOHA gallery states, like a policy trained on them."""
    model = tiny_policy(seed=0, state_dim=ALOHA_DIM, action_dim=ALOHA_DIM)
    states = np.asarray(
        [scene["state"] for scene in json.loads(EXAMPLES_FILE.read_text()) if scene["suite"] == "aloha"]
    )
    rng = np.random.default_rng(0)
    states = states + rng.normal(0, 0.05, states.shape)
    normalizer = ActionNormalizer.from_data(states, states[:, None, :] + 0.01) if with_statistics else None
    processor = load_tiny_processor(normalizer)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def aloha_checkpoint(tmp_path_factory) -> Path:
    folder = save_tiny_aloha_policy(tmp_path_factory.mktemp("aloha_policy"))
    VlaserPolicy.from_pretrained(folder)  # loads as a policy: statistics and dims agree
    return folder


@pytest.fixture(scope="session")
def served(aloha_checkpoint):
    """The app on 127.0.0.1 with the tiny ALOHA checkpoint; yields (url, backend)."""
    threads = torch.get_num_threads()  # `launch` sizes torch's thread pool for the server; later tests get it back
    backend = DemoBackend.load(DemoSettings(model=str(aloha_checkpoint), max_new_tokens=12))
    demo = build_demo(DemoApp(backend, load_examples()))
    url = launch(demo, port=free_port(), concurrency=2, max_queue=64, block=False)
    yield url, backend
    demo.close()
    backend.close()
    torch.set_num_threads(threads)
