# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Named model geometries.

* `tiny`: a few million parameters, trains on a laptop CPU in minutes; uses the tokenizer the project trains itself
  (`modeling_vlaser/tiny_tokenizer`), 224-pixel single-tile images and 64 image tokens.
* `vlaser-2b` / `vlaser-8b`: the geometry of InternVL3-2B / InternVL3-8B (InternViT-300M + Qwen2.5-1.5B / 7B) with
  the official action-expert sizes (width 768; MLP 8960 / 5600). They use the real InternVL3 tokenizer (151,674
  tokens, `<IMG_CONTEXT>` = 151667), which the user supplies; weights come from a checkpoint, not from here.
"""

from __future__ import annotations

from typing import Any

from .configuration_vlaser import VlaserConfig
from .processing_vlaser import TINY_IMAGE_SEQ_LENGTH, TINY_IMAGE_SIZE, TINY_SPECIAL_TOKEN_IDS, TINY_VOCAB_SIZE

TINY_IMAGE_TOKEN_ID = TINY_SPECIAL_TOKEN_IDS["<IMG_CONTEXT>"]

_INTERNVIT_300M = dict(
    hidden_size=1024,
    num_hidden_layers=24,
    num_attention_heads=16,
    intermediate_size=4096,
    image_size=448,
    patch_size=14,
    layer_norm_eps=1e-6,
    attention_bias=True,
    layer_scale_init_value=0.1,
)
_INTERNVL3_VOCAB_SIZE = 151674
_INTERNVL3_IMAGE_TOKEN_ID = 151667
_QWEN25 = dict(
    model_type="qwen2",
    vocab_size=_INTERNVL3_VOCAB_SIZE,
    num_hidden_layers=28,
    rope_theta=1_000_000.0,
    max_position_embeddings=32768,
    rms_norm_eps=1e-6,
    eos_token_id=151645,  # <|im_end|> ends an assistant turn
    pad_token_id=151643,  # <|endoftext|>
)

PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(
        vision_config=dict(
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=256,
            image_size=TINY_IMAGE_SIZE,
            patch_size=14,
            attention_bias=True,
        ),
        text_config=dict(
            model_type="qwen2",
            vocab_size=TINY_VOCAB_SIZE,
            hidden_size=128,
            intermediate_size=384,
            num_hidden_layers=4,
            num_attention_heads=4,
            num_key_value_heads=2,
            rope_theta=1_000_000.0,
            max_position_embeddings=2048,
            tie_word_embeddings=True,
            eos_token_id=TINY_SPECIAL_TOKEN_IDS["<|im_end|>"],
            pad_token_id=TINY_SPECIAL_TOKEN_IDS["<|endoftext|>"],
        ),
        image_token_id=TINY_IMAGE_TOKEN_ID,
        image_seq_length=TINY_IMAGE_SEQ_LENGTH,
        tie_word_embeddings=True,
        expert_hidden_size=64,
        expert_intermediate_size=192,
        max_state_dim=16,
        max_action_dim=16,
    ),
    "vlaser-2b": dict(
        vision_config=_INTERNVIT_300M,
        text_config=dict(
            _QWEN25, hidden_size=1536, intermediate_size=8960, num_attention_heads=12, num_key_value_heads=2
        ),
        image_token_id=_INTERNVL3_IMAGE_TOKEN_ID,
        image_seq_length=256,
        tie_word_embeddings=False,
        expert_hidden_size=768,
        expert_intermediate_size=8960,
    ),
    "vlaser-8b": dict(
        vision_config=_INTERNVIT_300M,
        text_config=dict(
            _QWEN25, hidden_size=3584, intermediate_size=18944, num_attention_heads=28, num_key_value_heads=4
        ),
        image_token_id=_INTERNVL3_IMAGE_TOKEN_ID,
        image_seq_length=256,
        tie_word_embeddings=False,
        expert_hidden_size=768,
        expert_intermediate_size=5600,
    ),
}


def get_preset_config(name: str, **overrides: Any) -> VlaserConfig:
    """The [`VlaserConfig`] of a named preset; keyword arguments override top-level fields (e.g. `action_dim`)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return VlaserConfig(**{**PRESETS[name], **overrides})


__all__ = ["PRESETS", "TINY_IMAGE_TOKEN_ID", "get_preset_config"]
