"""Checkpoints written by other code load into VLASER models and reproduce that code's outputs."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import InternVLConfig, InternVLForConditionalGeneration

from modeling_vlaser import VlaserForActionPrediction, VlaserForConditionalGeneration
from modeling_vlaser.conversion_vlaser import (
    CheckpointConversionError,
    convert_official_state_dict,
    load_official_vlaser_checkpoint,
    load_pretrained_backbone,
)


@pytest.fixture(scope="module")
def official(shared_dir):
    folder = shared_dir / "fixtures/vlaser_official_tiny"
    model = load_official_vlaser_checkpoint(
        folder / "step0.pt", folder / "pizero_config.json", folder / "internvl_base/config.json"
    )
    return model, load_file(folder / "expected_io.safetensors")


def test_original_internvl_layout_reproduces_reference_logits(shared_dir):
    folder = shared_dir / "fixtures/internvl_original_layout_tiny"
    io = load_file(folder / "expected_io.safetensors")
    model = load_pretrained_backbone(folder, VlaserForConditionalGeneration, image_token_id=1999).eval()
    with torch.no_grad():
        logits = model(input_ids=io["input_ids"], pixel_values=io["pixel_values"], attention_mask=io["attention_mask"])
    assert (logits.logits - io["logits"]).abs().max() < 1e-5


def test_original_layout_with_a_missing_tensor_raises_with_the_key(shared_dir, tmp_path):
    folder = shared_dir / "fixtures/internvl_original_layout_tiny"
    shutil.copy(folder / "config.json", tmp_path / "config.json")
    weights = load_file(folder / "model.safetensors")
    dropped = next(k for k in weights if k.endswith("attn.qkv.weight"))
    del weights[dropped]
    weights["some.extra.tensor"] = torch.zeros(1)
    save_file(weights, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointConversionError) as error:
        load_pretrained_backbone(tmp_path, VlaserForConditionalGeneration, image_token_id=1999)
    assert "some.extra.tensor" in str(error.value)
    assert "q_proj.weight" in str(error.value)  # the split target of the dropped fused tensor is reported missing


def test_saving_a_converted_model_writes_the_native_layout(shared_dir, tmp_path):
    folder = shared_dir / "fixtures/internvl_original_layout_tiny"
    model = load_pretrained_backbone(folder, VlaserForConditionalGeneration, image_token_id=1999)
    model.save_pretrained(tmp_path)
    keys = set(load_file(tmp_path / "model.safetensors"))
    assert any(k.startswith("model.vision_tower.encoder.layer.0.attention.q_proj") for k in keys)
    assert not any("attn.qkv" in k or k.startswith("vision_model.") for k in keys)
    reloaded = VlaserForConditionalGeneration.from_pretrained(tmp_path)
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), reloaded.state_dict().values(), strict=True)
    )


def test_internvl_hf_checkpoint_initializes_a_policy(tmp_path):
    torch.manual_seed(0)
    config = InternVLConfig(
        vision_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, image_size=224),
        text_config=dict(model_type="qwen2", vocab_size=300, hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2),
        image_token_id=299,
        image_seq_length=64,
    )  # fmt: skip
    reference = InternVLForConditionalGeneration(config).eval()
    reference.save_pretrained(tmp_path)
    policy = load_pretrained_backbone(tmp_path, VlaserForActionPrediction).eval()
    input_ids = torch.randint(0, 200, (1, 70))
    input_ids[0, 2:66] = 299
    pixel_values = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected = reference(input_ids=input_ids, pixel_values=pixel_values).logits
        assert torch.equal(policy(input_ids=input_ids, pixel_values=pixel_values).logits, expected)
    assert policy.config.expert_config.num_hidden_layers == 2  # the expert follows the loaded LLM's depth


def test_official_vla_reproduces_per_step_velocities_and_actions(official):
    model, io = official
    actions, velocities = model.sample_actions(
        io["input_ids"], io["pixel_values"], io["attention_mask"], io["proprios"][:, 0],
        noise=io["noise"], return_velocities=True,
    )  # fmt: skip
    assert velocities.shape == io["velocities"].shape
    assert (velocities - io["velocities"]).abs().max() < 1e-4
    assert (actions - io["actions"]).abs().max() < 1e-4


def test_official_conventions_are_set_in_the_config(official):
    config = official[0].config
    assert config.position_scheme == "per_block"
    assert config.time_input == "one_minus_sigma"
    assert config.velocity_direction == "noise_to_data"
    assert config.time_action_concat_order == "time_action"
    assert config.final_action_clip == 1.0
    assert config.chunk_size == 4 and config.action_dim == 7 and config.num_inference_steps == 10


def test_official_checkpoint_round_trips_through_save_pretrained(official, tmp_path):
    model, io = official
    model.save_pretrained(tmp_path)
    reloaded = VlaserForActionPrediction.from_pretrained(tmp_path).eval()
    assert json.loads((tmp_path / "config.json").read_text())["position_scheme"] == "per_block"
    args = (io["input_ids"], io["pixel_values"], io["attention_mask"], io["proprios"][:, 0])
    assert torch.allclose(
        reloaded.sample_actions(*args, noise=io["noise"]), model.sample_actions(*args, noise=io["noise"]), atol=1e-6
    )


def test_official_conversion_rejects_unknown_keys_and_untied_experts(shared_dir):
    state = torch.load(shared_dir / "fixtures/vlaser_official_tiny/step0.pt", weights_only=True)["model"]
    with pytest.raises(CheckpointConversionError, match="mystery.weight"):
        convert_official_state_dict({**state, "mystery.weight": torch.zeros(1)})
    key = next(k for k in state if k.startswith("joint_model.mixtures.proprio."))
    with pytest.raises(CheckpointConversionError, match="shared expert"):
        convert_official_state_dict({**state, key: state[key] + 1})


def test_a_policy_checkpoint_loads_as_the_reasoning_vlm(tmp_path):
    from tests.conftest import policy_batch, tiny_policy

    policy = tiny_policy()
    policy.save_pretrained(tmp_path)
    vlm = load_pretrained_backbone(tmp_path, VlaserForConditionalGeneration).eval()
    batch = policy_batch(policy.config, lengths=(20,))
    inputs = {k: batch[k] for k in ("input_ids", "pixel_values", "attention_mask")}
    with torch.no_grad():
        assert torch.allclose(vlm(**inputs).logits, policy(**inputs).logits, atol=1e-6)
