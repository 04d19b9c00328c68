"""Shared test fixtures: the tiny preset, batches of policy inputs, and the location of ../shared."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch

from modeling_vlaser import VlaserForActionPrediction
from modeling_vlaser.presets import get_preset_config

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("VLASER_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip(f"the project's shared folder is not at {SHARED_DIR} (set VLASER_SHARED)")
    return SHARED_DIR


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (the kernel's pick; closed again before returning)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_policy(seed: int = 0, **overrides) -> VlaserForActionPrediction:
    """A randomly initialized tiny policy in eval mode, fp32, reproducible under `seed`."""
    torch.manual_seed(seed)
    config = get_preset_config("tiny", **overrides)
    return VlaserForActionPrediction(config).eval()


def policy_batch(config, lengths=(40, 33), seed: int = 1) -> dict[str, torch.Tensor]:
    """Right-padded prompts with one image each (random pixels and token ids), normalized states."""
    generator = torch.Generator().manual_seed(seed)
    batch, max_len = len(lengths), max(lengths) + config.image_seq_length
    input_ids = torch.randint(10, 1000, (batch, max_len), generator=generator)
    attention_mask = torch.zeros(batch, max_len, dtype=torch.long)
    for row, length in enumerate(lengths):
        input_ids[row, 3 : 3 + config.image_seq_length] = config.image_token_id
        attention_mask[row, : length + config.image_seq_length] = 1
        input_ids[row, length + config.image_seq_length :] = 0  # pad id
    size = config.vision_config.image_size
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "pixel_values": torch.randn(batch, 3, size[0], size[1], generator=generator),
        "state": torch.rand(batch, config.state_dim, generator=generator) * 2 - 1,
    }


@pytest.fixture
def policy() -> VlaserForActionPrediction:
    return tiny_policy()


from tests.hub_fixtures import local_hub  # noqa: E402, F401  (the local Hub server fixture)
