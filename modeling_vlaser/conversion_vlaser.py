# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Load checkpoints written in other layouts into VLASER models.

Three layouts exist in the wild:

* InternVL3 `-hf` checkpoints (`model_type: internvl`): transformers' native layout. Loaded with the same key
  mapping transformers applies to `InternVLForConditionalGeneration`.
* The original OpenGVLab InternVL layout (`model_type: internvl_chat`, remote code `InternVLChatModel`, fused
  `attn.qkv`): converted at load time by transformers' weight-conversion machinery, so sharding, `dtype` and
  `device_map` work as for any checkpoint.
* The official VLASER VLA layout (open-pi-zero `PiZero`, a `torch.save({"model": state_dict})` `.pt` file):
  converted into [`VlaserForActionPrediction`], with the compatibility fields of the config set to the official
  conventions (per-block positions, t = 1 - sigma, velocity towards data, [time, action] concatenation, clip to 1).

Every path refuses to return a half-loaded model: missing or unexpected keys raise with the key list.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from transformers.conversion_mapping import get_checkpoint_conversion_mapping, register_checkpoint_conversion_mapping
from transformers.core_model_loading import Chunk, WeightConverter, WeightRenaming
from transformers.utils import logging as transformers_logging

from .configuration_vlaser import VlaserConfig
from .modeling_vlaser import VlaserForActionPrediction, VlaserForConditionalGeneration

logger = transformers_logging.get_logger(__name__)

# Regex fragments (searched inside a key, one capture group at most) from the original InternVL layout to
# transformers' native one, applied in order. The fused qkv projection is split separately.
INTERNVL_CHAT_RENAMES: list[tuple[str, str]] = [
    (r"^vision_model\.", "model.vision_tower."),
    (r"vision_tower\.encoder\.layers\.", "vision_tower.encoder.layer."),
    (r"embeddings\.class_embedding", "embeddings.cls_token"),
    (r"embeddings\.position_embedding$", "embeddings.position_embeddings"),
    (r"embeddings\.patch_embedding\.", "embeddings.patch_embeddings.projection."),
    (r"\.ls(\d)$", r".lambda_\1"),
    (r"attn\.proj\.", "attention.projection_layer."),
    (r"\.norm1\.", ".layernorm_before."),
    (r"\.norm2\.", ".layernorm_after."),
    (r"^mlp1\.0\.", "model.multi_modal_projector.layer_norm."),
    (r"^mlp1\.1\.", "model.multi_modal_projector.linear_1."),
    (r"^mlp1\.3\.", "model.multi_modal_projector.linear_2."),
    (r"^language_model\.model\.", "model.language_model."),
    (r"^language_model\.lm_head\.", "lm_head."),
]
_FUSED_QKV = r"attn\.qkv\."
_SPLIT_QKV = ["attention.q_proj.", "attention.k_proj.", "attention.v_proj."]

# Keys a VLM checkpoint cannot have when it initializes a policy: the expert is trained in stage 2.
_EXPERT_PREFIX = "action_expert."


class CheckpointConversionError(ValueError):
    """A checkpoint did not map exactly onto the model: the message lists the offending keys."""


def _raise_on_key_mismatch(missing: list[str], unexpected: list[str], source: str) -> None:
    if missing or unexpected:
        raise CheckpointConversionError(
            f"checkpoint {source} does not match the model.\n"
            f"  missing keys ({len(missing)}): {sorted(missing)}\n"
            f"  unexpected keys ({len(unexpected)}): {sorted(unexpected)}"
        )


def _read_config_json(path_or_repo_id: str | os.PathLike, **hub_kwargs: Any) -> dict:
    path = Path(path_or_repo_id)
    if path.is_dir():
        config_file = path / "config.json"
        if not config_file.is_file():
            raise FileNotFoundError(f"no config.json in {path}")
    else:
        from huggingface_hub import hf_hub_download

        config_file = hf_hub_download(str(path_or_repo_id), "config.json", **hub_kwargs)
    return json.loads(Path(config_file).read_text())


@contextmanager
def _conversion_mapping(class_name: str, mapping: list) -> Iterator[None]:
    """Register a load-time key mapping for one call only.

    Left registered, transformers would also apply it in reverse on every `save_pretrained`, writing VLASER
    checkpoints in the foreign layout; an empty mapping afterwards restores the native behaviour.
    """
    register_checkpoint_conversion_mapping(class_name, mapping, overwrite=True)
    try:
        yield
    finally:
        register_checkpoint_conversion_mapping(class_name, [], overwrite=True)


def _checked_from_pretrained(model_class, path_or_repo_id, **kwargs):
    """`from_pretrained` that raises on any key mismatch except the one a stage change implies: a VLM checkpoint
    has no action expert for a policy (it is initialized), a policy checkpoint has one a VLM does not use."""
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # our own check below replaces transformers' loading report
    try:
        model, info = model_class.from_pretrained(path_or_repo_id, output_loading_info=True, **kwargs)
    finally:
        transformers_logging.set_verbosity(verbosity)
    missing, unexpected = list(info["missing_keys"]), list(info["unexpected_keys"])
    if model_class is VlaserForActionPrediction:
        new_expert = [key for key in missing if key.startswith(_EXPERT_PREFIX)]
        missing = [key for key in missing if not key.startswith(_EXPERT_PREFIX)]
        if new_expert:
            logger.warning(f"{path_or_repo_id} has no action expert: initialized {len(new_expert)} new tensors")
    else:
        unexpected = [key for key in unexpected if not key.startswith(_EXPERT_PREFIX)]
    unexpected += [str(mismatch) for mismatch in info.get("mismatched_keys", [])]
    _raise_on_key_mismatch(missing, unexpected, str(path_or_repo_id))
    return model


def _load_with_mapping(model_class, path_or_repo_id, config: VlaserConfig, mapping: list, **kwargs):
    with _conversion_mapping(model_class.__name__, mapping):
        return _checked_from_pretrained(model_class, path_or_repo_id, config=config, **kwargs)


# --------------------------------------------------------------------------------------------------------------------
# InternVL3 (-hf and original layouts)
# --------------------------------------------------------------------------------------------------------------------


def internvl_chat_config_to_vlaser(
    original: dict, image_token_id: int = 151667, text_overrides: dict | None = None, **overrides: Any
) -> VlaserConfig:
    """Translate an original `InternVLChatConfig` dict into a [`VlaserConfig`].

    The original config does not store the `<IMG_CONTEXT>` id (it lives in the tokenizer): 151667 for the real
    InternVL3 tokenizer. `text_overrides` replace fields of the language-model config, `overrides` top-level fields.
    """
    if original.get("ps_version", "v2") != "v2":
        raise ValueError(f"only pixel-shuffle v2 checkpoints are supported, got ps_version={original['ps_version']!r}")
    vision, llm = original["vision_config"], original["llm_config"]
    if llm.get("model_type") != "qwen2":
        raise ValueError(f"llm_config.model_type must be 'qwen2' (InternVL3), got {llm.get('model_type')!r}")
    patch_size, image_size = vision["patch_size"], original.get("force_image_size") or vision["image_size"]
    downsample = original.get("downsample_ratio", 0.5)
    text_keys = (
        "vocab_size hidden_size intermediate_size num_hidden_layers num_attention_heads num_key_value_heads "
        "hidden_act max_position_embeddings rms_norm_eps rope_theta attention_dropout initializer_range "
        "bos_token_id eos_token_id"
    ).split()
    text_config = {key: llm[key] for key in text_keys if llm.get(key) is not None} | (text_overrides or {})
    fields = dict(
        vision_config=dict(
            hidden_size=vision["hidden_size"],
            num_hidden_layers=vision["num_hidden_layers"],
            num_attention_heads=vision["num_attention_heads"],
            intermediate_size=vision["intermediate_size"],
            image_size=image_size,
            patch_size=patch_size,
            hidden_act=vision.get("hidden_act", "gelu"),
            layer_norm_eps=vision.get("layer_norm_eps", 1e-6),
            norm_type=vision.get("norm_type", "layer_norm"),
            use_qk_norm=vision.get("qk_normalization", False),
            attention_bias=vision.get("qkv_bias", True),
        ),
        text_config=dict(model_type="qwen2", **text_config),
        image_token_id=image_token_id,
        image_seq_length=int((image_size // patch_size) ** 2 * downsample**2),
        downsample_ratio=downsample,
        vision_feature_layer=original.get("select_layer", -1),
        tie_word_embeddings=bool(original.get("tie_word_embeddings", llm.get("tie_word_embeddings", False))),
    )
    fields.update(overrides)
    return VlaserConfig(**fields)


def internvl_chat_weight_mapping() -> list:
    """transformers weight transforms from the original InternVL layout to the native one."""
    mapping: list = [WeightRenaming(pattern, replacement) for pattern, replacement in INTERNVL_CHAT_RENAMES]
    mapping.append(WeightConverter(_FUSED_QKV, _SPLIT_QKV, operations=[Chunk(dim=0)]))
    return mapping


def load_internvl_chat_checkpoint(
    path_or_repo_id: str | os.PathLike,
    model_class: type = VlaserForConditionalGeneration,
    image_token_id: int = 151667,
    config_overrides: dict | None = None,
    **kwargs: Any,
):
    """Load an original-layout InternVL3 checkpoint (`InternVLChatModel`) into `model_class`, converting keys."""
    original = _read_config_json(path_or_repo_id)
    config = internvl_chat_config_to_vlaser(original, image_token_id=image_token_id, **(config_overrides or {}))
    return _load_with_mapping(model_class, path_or_repo_id, config, internvl_chat_weight_mapping(), **kwargs)


def load_internvl_hf_checkpoint(
    path_or_repo_id: str | os.PathLike,
    model_class: type = VlaserForConditionalGeneration,
    config_overrides: dict | None = None,
    **kwargs: Any,
):
    """Load an InternVL3 `-hf` checkpoint (`model_type: internvl`) into `model_class`."""
    fields = _read_config_json(path_or_repo_id)
    fields.pop("model_type", None)
    fields.pop("architectures", None)
    fields.update(config_overrides or {})
    config = VlaserConfig(**{key: value for key, value in fields.items() if not key.startswith("_")})
    # The same transforms transformers applies when this checkpoint is loaded into InternVLForConditionalGeneration.
    mapping = get_checkpoint_conversion_mapping("internvl") or []
    return _load_with_mapping(model_class, path_or_repo_id, config, mapping, **kwargs)


def load_pretrained_backbone(
    path_or_repo_id: str | os.PathLike,
    model_class: type = VlaserForConditionalGeneration,
    config_overrides: dict | None = None,
    **kwargs: Any,
):
    """Load any supported checkpoint into `model_class`, dispatching on `config.json`'s `model_type`.

    `vlaser` loads natively; `internvl` (-hf) and `internvl_chat` (original) are converted. A VLM checkpoint loaded
    into [`VlaserForActionPrediction`] leaves only the action expert to initialize. `config_overrides` change config
    fields (e.g. a new robot's `action_dim`); other `kwargs` go to `from_pretrained`.
    """
    model_type = _read_config_json(path_or_repo_id).get("model_type")
    if model_type == "vlaser":
        return _checked_from_pretrained(model_class, path_or_repo_id, **(config_overrides or {}), **kwargs)
    if model_type == "internvl":
        return load_internvl_hf_checkpoint(path_or_repo_id, model_class, config_overrides, **kwargs)
    if model_type == "internvl_chat":
        return load_internvl_chat_checkpoint(path_or_repo_id, model_class, config_overrides=config_overrides, **kwargs)
    raise ValueError(
        f"{path_or_repo_id}: config.json model_type must be 'vlaser', 'internvl' or 'internvl_chat', got {model_type!r}"
    )


# --------------------------------------------------------------------------------------------------------------------
# Official VLASER VLA checkpoints (open-pi-zero `PiZero` layout)
# --------------------------------------------------------------------------------------------------------------------

# Official prefix -> ours; applied once, first match wins.
_OFFICIAL_RENAMES: list[tuple[str, str]] = [
    (r"^embed_tokens\.", "model.language_model.embed_tokens."),
    (r"^joint_model\.mixtures\.vlm\.layers\.", "model.language_model.layers."),
    (r"^internvl_model\.language_model\.model\.norm\.", "model.language_model.norm."),
    (r"^internvl_model\.language_model\.lm_head\.", "lm_head."),
    (r"^joint_model\.mixtures\.action\.layers\.", "action_expert.layers."),
    (r"^joint_model\.mixtures\.action\.norm\.", "action_expert.norm."),
    (r"^action_encoder\.linear_1\.", "action_expert.action_in_proj."),
    (r"^action_encoder\.linear_2\.", "action_expert.action_time_mlp_in."),
    (r"^action_encoder\.linear_3\.", "action_expert.action_time_mlp_out."),
    (r"^proprio_encoder\.", "action_expert.state_proj."),
    (r"^action_decoder\.", "action_expert.action_out_proj."),
]
# Tensors the official checkpoint stores twice (`internvl_model.*` re-registers the same modules) or never uses
# (the VLM mixture's final norm, the expert's LM head). The proprio mixture is the action mixture (tied weights).
_OFFICIAL_IGNORED = (
    r"^internvl_model\.(vision_model|mlp1|language_model\.model\.(layers|embed_tokens))\.",
    r"^internvl_model\.action_expert\.",
    r"^joint_model\.mixtures\.vlm\.norm\.",
    r"^joint_model\.mixtures\.proprio\.",
)


def official_vlaser_config(pizero_config: dict, internvl_config: dict, vocab_size: int) -> VlaserConfig:
    """A [`VlaserConfig`] reproducing an official `PiZero` model: its geometry and its conventions."""
    action_mixture = pizero_config["mixture"]["action"]
    time_max_period = float(pizero_config.get("time_max_period", 10000.0))
    return internvl_chat_config_to_vlaser(
        internvl_config,
        image_token_id=int(pizero_config["image_token_index"]),
        text_overrides={"vocab_size": vocab_size},  # the official code adds 256 unused <aN> action tokens
        tie_word_embeddings=False,
        expert_hidden_size=int(action_mixture["hidden_size"]),
        expert_intermediate_size=int(action_mixture["intermediate_size"]),
        state_dim=int(pizero_config["proprio_dim"]),
        action_dim=int(pizero_config["action_dim"]),
        max_state_dim=int(pizero_config["proprio_dim"]),
        max_action_dim=int(pizero_config["action_dim"]),
        chunk_size=int(pizero_config["horizon_steps"]),
        n_action_steps=int(pizero_config["act_steps"]),
        num_inference_steps=int(pizero_config["num_inference_steps"]),
        # Official SinusoidalPosEmb: angle_i = t * max_period ** (-i / (half - 1)), i.e. periods 2*pi .. 2*pi*max.
        time_embedding_min_period=2 * math.pi,
        time_embedding_max_period=2 * math.pi * time_max_period,
        time_action_concat_order="time_action",
        position_scheme="per_block",
        time_input="one_minus_sigma",
        velocity_direction="noise_to_data",
        final_action_clip=pizero_config.get("final_action_clip_value"),
    )


def _rename_official_key(key: str) -> str | None:
    for pattern, replacement in _OFFICIAL_RENAMES:
        if re.search(pattern, key):
            return re.sub(pattern, replacement, key)
    if key.startswith("vision_tower.vision_model."):
        key = "vision_model." + key.removeprefix("vision_tower.vision_model.")
    elif key.startswith("multi_modal_projector."):
        key = "mlp1." + key.removeprefix("multi_modal_projector.")
    else:
        return None
    for pattern, replacement in INTERNVL_CHAT_RENAMES:
        key = re.sub(pattern, replacement, key)
    return key


def convert_official_state_dict(official: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map an official `PiZero` state dict onto [`VlaserForActionPrediction`]'s keys.

    Raises [`CheckpointConversionError`] listing any key that is neither mapped nor known to be redundant, and
    when the proprio and action experts differ (VLASER has one expert for both).
    """
    converted: dict[str, torch.Tensor] = {}
    unknown = []
    for key, tensor in official.items():
        if any(re.search(pattern, key) for pattern in _OFFICIAL_IGNORED):
            continue
        new_key = _rename_official_key(key)
        if new_key is None:
            unknown.append(key)
        elif re.search(_FUSED_QKV, new_key):
            for target, part in zip(_SPLIT_QKV, tensor.chunk(3, dim=0), strict=True):
                converted[re.sub(_FUSED_QKV, target, new_key)] = part.clone()
        else:
            converted[new_key] = tensor
    _raise_on_key_mismatch([], unknown, "(official VLASER layout)")
    for key, tensor in official.items():
        if key.startswith("joint_model.mixtures.proprio."):
            twin = key.replace(".proprio.", ".action.")
            if twin not in official or not torch.equal(tensor, official[twin]):
                raise CheckpointConversionError(f"{key} differs from {twin}: VLASER expects one shared expert")
    return converted


def load_official_vlaser_checkpoint(
    checkpoint_path: str | os.PathLike,
    pizero_config: dict | str | os.PathLike,
    internvl_config: dict | str | os.PathLike,
) -> VlaserForActionPrediction:
    """Convert an official VLASER VLA checkpoint (`torch.save({"model": state_dict})`) into our model.

    `pizero_config` is the official run configuration (e.g. `bridge_internvl_448.yaml` as a dict or JSON file);
    `internvl_config` is the base InternVL3 `config.json` (original layout) the run started from. The pickle is read
    with `weights_only=True`, which refuses anything but tensors and plain containers.
    """
    pizero_config = _as_dict(pizero_config)
    internvl_config = _as_dict(internvl_config)
    official = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    official = official.get("model", official)
    vocab_size = official["embed_tokens.weight"].shape[0]
    config = official_vlaser_config(pizero_config, internvl_config, vocab_size)
    state_dict = convert_official_state_dict(official)
    model = VlaserForActionPrediction(config)
    result = model.load_state_dict(state_dict, strict=False)
    # lm_head may be tied to the embeddings in our config; it is untied here, so every key must be present.
    _raise_on_key_mismatch(list(result.missing_keys), list(result.unexpected_keys), str(checkpoint_path))
    return model.eval()


def _as_dict(config: dict | str | os.PathLike) -> dict:
    if isinstance(config, dict):
        return config
    path = Path(config)
    if path.is_dir():
        path = path / "config.json"
    return json.loads(path.read_text())


__all__ = [
    "CheckpointConversionError",
    "INTERNVL_CHAT_RENAMES",
    "convert_official_state_dict",
    "internvl_chat_config_to_vlaser",
    "internvl_chat_weight_mapping",
    "load_internvl_chat_checkpoint",
    "load_internvl_hf_checkpoint",
    "load_official_vlaser_checkpoint",
    "load_pretrained_backbone",
    "official_vlaser_config",
]
