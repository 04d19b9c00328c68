# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""VLASER model configuration."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import InternVLConfig, Qwen2Config

_POSITION_SCHEMES = ("sequential", "per_block")
_TIME_INPUTS = ("sigma", "one_minus_sigma")
_VELOCITY_DIRECTIONS = ("data_to_noise", "noise_to_data")
_TIME_CONCAT_ORDERS = ("action_time", "time_action")


@strict
class VlaserConfig(InternVLConfig):
    r"""
    Configuration of a VLASER model: an InternVL3 vision-language backbone (InternViT + Qwen2.5) and a flow-matching
    action expert that shares self-attention with the language model layer by layer.

    The backbone fields are those of [`InternVLConfig`] (`vision_config`, `text_config`, `image_token_id`,
    `image_seq_length`, `downsample_ratio`, `projector_hidden_act`, `vision_feature_layer`,
    `vision_feature_select_strategy`, `tie_word_embeddings`), so a VLASER checkpoint is also a valid InternVL3
    checkpoint for [`VlaserForConditionalGeneration`].

    The expert has the depth, attention heads, key/value heads and head_dim of the language model (so that each
    layer can run one joint softmax over `[prefix | state | actions]`) and a width of its own.

    Args:
        expert_hidden_size (`int`, *optional*, defaults to 768):
            Width of the action expert's residual stream (official VLASER-2B/8B: 768).
        expert_intermediate_size (`int`, *optional*, defaults to 8960):
            Width of the action expert's SwiGLU MLP (official VLASER-2B: 8960, 8B: 5600).
        state_dim (`int`, *optional*, defaults to 7):
            Number of robot-state (proprioception) dimensions this checkpoint is used with.
        action_dim (`int`, *optional*, defaults to 7):
            Number of action dimensions this checkpoint predicts.
        max_state_dim (`int`, *optional*, defaults to 32):
            Width of the state projection; states are zero-padded from `state_dim` to it, so a checkpoint can be
            fine-tuned on a robot with another state size without changing weight shapes.
        max_action_dim (`int`, *optional*, defaults to 32):
            Width of the action projections; padded action dimensions are masked out of the loss.
        chunk_size (`int`, *optional*, defaults to 4):
            P, the number of future actions predicted per chunk (paper: 4).
        n_action_steps (`int`, *optional*, defaults to 4):
            H, the number of actions of each chunk that are executed before predicting again (paper: 4 on WidowX).
        num_inference_steps (`int`, *optional*, defaults to 10):
            N, the number of Euler steps from noise to actions (paper: 10).
        time_sampling_beta_alpha (`float`, *optional*, defaults to 1.5):
            Alpha of the Beta distribution that training noise levels are drawn from (pi0: 1.5).
        time_sampling_beta_beta (`float`, *optional*, defaults to 1.0):
            Beta of that distribution (pi0: 1.0).
        time_sampling_scale (`float`, *optional*, defaults to 0.999):
            Training noise levels are `scale * Beta(alpha, beta) + offset`, so that sigma never reaches 0 or 1.
        time_sampling_offset (`float`, *optional*, defaults to 0.001):
            See `time_sampling_scale`.
        time_embedding_min_period (`float`, *optional*, defaults to 0.004):
            Shortest period of the sinusoidal time embedding (pi0: 4e-3; official VLASER: 2*pi).
        time_embedding_max_period (`float`, *optional*, defaults to 4.0):
            Longest period of the sinusoidal time embedding (pi0: 4.0; official VLASER: 2*pi*time_max_period).
        time_action_concat_order (`str`, *optional*, defaults to `"action_time"`):
            Order in which the action and time embeddings are concatenated before the action-time MLP:
            `"action_time"` (pi0) or `"time_action"` (official VLASER).
        causal_prefix (`bool`, *optional*, defaults to `False`):
            Causal attention inside the image+text prefix (pi0/SmolVLA ablation). Default: bidirectional among real
            tokens, as the official VLASER code.
        causal_actions (`bool`, *optional*, defaults to `False`):
            Causal attention among action tokens (ablation). Default: every action token sees all action tokens.
        position_scheme (`str`, *optional*, defaults to `"sequential"`):
            Rotary positions. `"sequential"`: real prefix tokens 0..n-1, the state token n, action tokens n+1..n+P
            (pi0). `"per_block"`: prefix 1..L whatever the padding, state 1, actions 2..P+1 (official VLASER).
        time_input (`str`, *optional*, defaults to `"sigma"`):
            What the time embedding is fed: `"sigma"` (1 = noise, 0 = data) or `"one_minus_sigma"` (official
            VLASER's t, 0 = noise).
        velocity_direction (`str`, *optional*, defaults to `"data_to_noise"`):
            Direction of the network's raw output. `"data_to_noise"` is `noise - actions` (pi0, diffusers);
            `"noise_to_data"` (official VLASER) is negated so the sampler always integrates the same field.
        final_action_clip (`float`, *optional*):
            When set, sampled (normalized) actions are clipped to `[-final_action_clip, final_action_clip]`
            (official VLASER: 1.0).
    """

    model_type = "vlaser"

    expert_hidden_size: int = 768
    expert_intermediate_size: int = 8960
    state_dim: int = 7
    action_dim: int = 7
    max_state_dim: int = 32
    max_action_dim: int = 32
    chunk_size: int = 4
    n_action_steps: int = 4
    num_inference_steps: int = 10
    time_sampling_beta_alpha: float = 1.5
    time_sampling_beta_beta: float = 1.0
    time_sampling_scale: float = 0.999
    time_sampling_offset: float = 0.001
    time_embedding_min_period: float = 4e-3
    time_embedding_max_period: float = 4.0
    time_action_concat_order: str = "action_time"
    causal_prefix: bool = False
    causal_actions: bool = False
    position_scheme: str = "sequential"
    time_input: str = "sigma"
    velocity_direction: str = "data_to_noise"
    final_action_clip: float | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        self._check_choice("position_scheme", _POSITION_SCHEMES)
        self._check_choice("time_input", _TIME_INPUTS)
        self._check_choice("velocity_direction", _VELOCITY_DIRECTIONS)
        self._check_choice("time_action_concat_order", _TIME_CONCAT_ORDERS)
        for name in ("state_dim", "action_dim"):
            limit = getattr(self, f"max_{name}")
            if not 0 < getattr(self, name) <= limit:
                raise ValueError(f"VlaserConfig.{name} must be in 1..max_{name} ({limit}), got {getattr(self, name)}")
        if not 0 < self.n_action_steps <= self.chunk_size:
            raise ValueError(
                f"VlaserConfig.n_action_steps must be in 1..chunk_size ({self.chunk_size}), got {self.n_action_steps}"
            )
        if self.num_inference_steps < 1:
            raise ValueError(f"VlaserConfig.num_inference_steps must be >= 1, got {self.num_inference_steps}")

    def _check_choice(self, name: str, choices: tuple[str, ...]) -> None:
        if getattr(self, name) not in choices:
            raise ValueError(f"VlaserConfig.{name} must be one of {choices}, got {getattr(self, name)!r}")

    @property
    def expert_config(self) -> Qwen2Config:
        """The Qwen2 configuration of the expert's decoder layers.

        Derived from `text_config` rather than stored, so that depth, heads, key/value heads, head_dim, RoPE and norm
        epsilon can never drift from the language model's: joint attention needs them equal.
        """
        text = self.text_config
        expert = Qwen2Config(
            vocab_size=1,  # the expert embeds continuous actions, never tokens
            hidden_size=self.expert_hidden_size,
            intermediate_size=self.expert_intermediate_size,
            num_hidden_layers=text.num_hidden_layers,
            num_attention_heads=text.num_attention_heads,
            num_key_value_heads=text.num_key_value_heads,
            head_dim=getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads,
            hidden_act=text.hidden_act,
            rms_norm_eps=text.rms_norm_eps,
            rope_parameters=dict(text.rope_parameters),
            max_position_embeddings=text.max_position_embeddings,
            attention_dropout=text.attention_dropout,
            initializer_range=text.initializer_range,
        )
        expert._attn_implementation = text._attn_implementation
        return expert


__all__ = ["VlaserConfig"]
