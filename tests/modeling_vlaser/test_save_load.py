"""Checkpoints: bit-exact round trips, remote code in a fresh interpreter, clear errors for broken files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from modeling_vlaser import (
    ActionNormalizer,
    VlaserForActionPrediction,
    VlaserPolicy,
    VlaserProcessor,
    get_preset_config,
    load_tiny_processor,
)
from tests.conftest import REPO_ROOT, tiny_policy


def make_policy(seed: int = 0) -> VlaserPolicy:
    model = tiny_policy(seed)
    rng = np.random.default_rng(seed)
    normalizer = ActionNormalizer.from_data(
        rng.normal(size=(64, model.config.state_dim)),
        rng.normal(size=(64, model.config.action_dim)),
        raw_action_dims=[6],
    )
    return VlaserPolicy(model, load_tiny_processor(normalizer))


def without_load_records(config: dict) -> dict:
    return {
        key: without_load_records(value) if isinstance(value, dict) else value
        for key, value in config.items()
        if key not in ("dtype", "_name_or_path")
    }


def frame(seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def saved_policy(tmp_path_factory):
    policy = make_policy()
    folder = tmp_path_factory.mktemp("policy")
    policy.save_pretrained(folder, base_model="OpenGVLab/InternVL3-2B", datasets=["vlaser/vlaser-6m"])
    return policy, folder


def test_save_load_is_bit_exact(saved_policy, tmp_path):
    policy, folder = saved_policy
    reloaded = VlaserPolicy.from_pretrained(folder)
    original_state, reloaded_state = policy.model.state_dict(), reloaded.model.state_dict()
    assert original_state.keys() == reloaded_state.keys()
    assert all(torch.equal(original_state[k], reloaded_state[k]) for k in original_state)
    # Every field survives; transformers only adds the dtype the weights were loaded in and where they came from.
    assert without_load_records(reloaded.model.config.to_dict()) == without_load_records(policy.model.config.to_dict())
    assert reloaded.processor.normalizer == policy.processor.normalizer
    reloaded.processor.save_pretrained(tmp_path)  # the reloaded processor writes byte-identical files
    for name in ("processor_config.json", "tokenizer.json", "chat_template.jinja", "normalization_stats.json"):
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), name
    noise = torch.randn(1, 4, 7)
    args = (frame(), "put the spoon on the towel", np.zeros(7))
    # Same weights, same function: only float summation order may differ (memory-mapped tensors pick other kernels).
    assert np.allclose(
        reloaded.predict_action(*args, noise=noise), policy.predict_action(*args, noise=noise), atol=1e-6
    )


def test_saved_folder_carries_code_card_and_statistics(saved_policy):
    _, folder = saved_policy
    names = {p.name for p in folder.iterdir()}
    assert {
        "configuration_vlaser.py",
        "modeling_vlaser.py",
        "processing_vlaser.py",
        "normalization_stats.json",
    } <= names
    auto_map = json.loads((folder / "config.json").read_text())["auto_map"]
    assert auto_map == {
        "AutoConfig": "configuration_vlaser.VlaserConfig",
        "AutoModel": "modeling_vlaser.VlaserForActionPrediction",
    }
    card = (folder / "README.md").read_text()
    assert (
        "pipeline_tag: robotics" in card and "base_model: OpenGVLab/InternVL3-2B" in card and "vlaser/vlaser-6m" in card
    )
    # The statistics live beside the weights, never inside them.
    assert not any("norm" in key and "stat" in key for key in load_file(folder / "model.safetensors"))


def test_fresh_interpreter_loads_with_trust_remote_code(saved_policy, tmp_path):
    """A user without this package: only transformers, the saved folder and trust_remote_code=True."""
    policy, folder = saved_policy
    batch = policy.processor.prepare_policy_inputs(frame(), "put the spoon on the towel", states=np.zeros((1, 7)))
    noise = torch.randn(1, 4, 7)
    torch.save({**batch, "noise": noise}, tmp_path / "inputs.pt")
    expected = policy.model.sample_actions(**batch, noise=noise)
    script = textwrap.dedent(
        f"""
        import sys, torch
        from transformers import AutoModel, AutoProcessor
        assert not any(name.startswith("modeling_vlaser") for name in sys.modules)
        model = AutoModel.from_pretrained({str(folder)!r}, trust_remote_code=True)
        processor = AutoProcessor.from_pretrained({str(folder)!r}, trust_remote_code=True)
        assert processor.normalizer is not None
        inputs = torch.load({str(tmp_path / "inputs.pt")!r}, weights_only=True)
        noise = inputs.pop("noise")
        torch.save(model.sample_actions(**inputs, noise=noise), {str(tmp_path / "out.pt")!r})
        print(type(model).__module__)
        """
    )
    # Run from an empty folder with a clean path so that the repository's package cannot be imported.
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "transformers_modules" in result.stdout
    assert torch.allclose(torch.load(tmp_path / "out.pt", weights_only=True), expected, atol=1e-6)


def test_policy_without_statistics_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no normalization statistics"):
        VlaserPolicy(tiny_policy(), load_tiny_processor())
    tiny_policy().save_pretrained(tmp_path)
    load_tiny_processor().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="no normalization statistics"):
        VlaserPolicy.from_pretrained(tmp_path)


def test_statistics_of_another_robot_are_refused():
    normalizer = ActionNormalizer.from_data(np.zeros((8, 5)), np.zeros((8, 7)))
    with pytest.raises(ValueError, match="state_dim=5"):
        VlaserPolicy(tiny_policy(), load_tiny_processor(normalizer))


def test_unknown_preset_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown preset 'vlaser-3b'.*'tiny'"):
        get_preset_config("vlaser-3b")


def test_presets_have_the_documented_geometry():
    tiny = get_preset_config("tiny")
    with torch.device("meta"):
        n_params = sum(p.numel() for p in VlaserForActionPrediction(tiny).parameters())
    assert n_params < 30e6
    two_b, eight_b = get_preset_config("vlaser-2b"), get_preset_config("vlaser-8b")
    assert (two_b.text_config.hidden_size, two_b.text_config.num_hidden_layers, two_b.expert_hidden_size) == (
        1536,
        28,
        768,
    )
    assert (two_b.expert_intermediate_size, eight_b.expert_intermediate_size) == (8960, 5600)
    assert two_b.expert_config.head_dim == two_b.text_config.hidden_size // two_b.text_config.num_attention_heads == 128
    assert eight_b.expert_config.num_key_value_heads == 4 and eight_b.text_config.hidden_size == 3584
    assert tiny.image_token_id == load_tiny_processor().image_token_id


@pytest.mark.parametrize("damage", ["truncate", "corrupt_header"])
def test_damaged_safetensors_raise_clear_errors(saved_policy, tmp_path, damage):
    _, folder = saved_policy
    for path in folder.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    weights = tmp_path / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncate":
        weights.write_bytes(data[: len(data) // 2])
    else:
        weights.write_bytes(b"\xff" * 16 + data[16:])
    with pytest.raises(Exception) as error:
        VlaserForActionPrediction.from_pretrained(tmp_path)
    message = str(error.value).lower()
    assert any(word in message for word in ("safetensor", "header", "incomplete", "invalid", "deserializ")), message


def test_package_data_ships_the_tiny_tokenizer():
    assert (REPO_ROOT / "modeling_vlaser/tiny_tokenizer/tokenizer.json").is_file()
    assert isinstance(load_tiny_processor(), VlaserProcessor)
