# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""VLASER: an InternVL3 reasoning VLM and a flow-matching action expert that shares its attention layer by layer."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from transformers import InternVLForConditionalGeneration, InternVLModel, PreTrainedModel
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.models.qwen2.modeling_qwen2 import (
    Qwen2DecoderLayer,
    Qwen2RMSNorm,
    eager_attention_forward,
    rotate_half,
)
from transformers.utils import ModelOutput

from .configuration_vlaser import VlaserConfig

# One (keys, values) pair per layer, post-RoPE, shaped (batch, kv_heads, prefix_len + 1, head_dim). A tuple, so the
# denoising loop can only read it: the cache of one chunk is never mutated by its N expert-only steps.
PrefixKeyValues = tuple[tuple[torch.Tensor, torch.Tensor], ...]


@dataclass(frozen=True)
class PrefixCache:
    """Everything a chunk's denoising steps share: the `[prefix | state]` keys/values of every layer, the action
    tokens' attention rows (additive, `(B, 1, P, Lp + 1 + P)`) and their rotary cos/sin. None depends on the noise
    level, so computing them once per chunk leaves each step with only the expert's work on P tokens."""

    key_values: PrefixKeyValues
    action_attention_mask: torch.Tensor
    action_rope: tuple[torch.Tensor, torch.Tensor]


@dataclass
class VlaserActionOutput(ModelOutput):
    """Output of [`VlaserForActionPrediction.forward`] in action mode.

    Args:
        loss (`torch.FloatTensor` of shape `()`):
            Flow-matching MSE between predicted and target velocity, averaged over real chunk steps and real action
            dimensions only (padded steps at an episode end and padded dimensions up to `max_action_dim` are masked).
        per_dim_loss (`torch.FloatTensor` of shape `(action_dim,)`):
            The same error per action dimension, for logging (which joint or the gripper is hard to fit).
        velocity (`torch.FloatTensor` of shape `(batch, chunk_size, action_dim)`):
            Predicted velocity `noise - actions` in normalized action space.
    """

    loss: torch.FloatTensor | None = None
    per_dim_loss: torch.FloatTensor | None = None
    velocity: torch.FloatTensor | None = None


class VlaserForConditionalGeneration(InternVLForConditionalGeneration):
    """The embodied-reasoning VLM (stage 1): InternVL3 unchanged, so `generate`, TRL and InternVL3-hf weights work."""

    config: VlaserConfig
    config_class = VlaserConfig
    _no_split_modules = ["InternVLVisionLayer", "Qwen2DecoderLayer"]

    def save_pretrained(self, save_directory, *args, save_original_format: bool = False, **kwargs):
        """Save in the native layout by default.

        transformers would otherwise revert InternVL's legacy key renaming on save and write keys (e.g.
        `model.language_model.model.*`) that only `from_pretrained` maps back, so a Trainer resuming with
        `load_state_dict` would not find them.
        """
        return super().save_pretrained(save_directory, *args, save_original_format=save_original_format, **kwargs)


# --------------------------------------------------------------------------------------------------------------------
# Attention masks and positions: the one place that decides who sees whom.
# --------------------------------------------------------------------------------------------------------------------


def build_joint_attention_mask(
    prefix_mask: torch.Tensor, suffix_len: int, causal_prefix: bool = False, causal_actions: bool = False
) -> torch.Tensor:
    """Boolean mask `(batch, 1, L, L)` over `[prefix | state | actions]`, True = may attend.

    `prefix_mask` is `(batch, prefix_len)`, True for real tokens. `suffix_len` is 1 (state) + P (actions), or 1 when
    only the state token is present. The prefix never sees the suffix; the state token sees the prefix and itself;
    action tokens see the prefix, the state and all actions (or earlier ones when `causal_actions`). Padded keys are
    never visible; padded query rows see what a real row would, so no row is empty and softmax stays finite.
    """
    batch, prefix_len = prefix_mask.shape
    device = prefix_mask.device
    total = prefix_len + suffix_len
    keys_valid = torch.cat([prefix_mask.bool(), torch.ones(batch, suffix_len, dtype=torch.bool, device=device)], 1)

    block = torch.zeros(total, total, dtype=torch.bool, device=device)
    block[:prefix_len, :prefix_len] = True
    if causal_prefix:
        block[:prefix_len, :prefix_len] = torch.ones(prefix_len, prefix_len, dtype=torch.bool, device=device).tril()
    block[prefix_len:, :prefix_len] = True
    block[prefix_len, prefix_len] = True  # state token sees itself
    n_actions = suffix_len - 1
    if n_actions > 0:
        actions_see = torch.ones(n_actions, suffix_len, dtype=torch.bool, device=device)
        if causal_actions:
            actions_see[:, 1:] = torch.ones(n_actions, n_actions, dtype=torch.bool, device=device).tril()
        block[prefix_len + 1 :, prefix_len:] = actions_see
    return (block[None] & keys_valid[:, None, :])[:, None]


def to_additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Bool mask -> additive mask with a finite fill, accepted by both eager and sdpa attention."""
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, torch.finfo(dtype).min)


def build_position_ids(
    prefix_mask: torch.Tensor, chunk_size: int, scheme: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rotary positions `(prefix (B, Lp), state (B, 1), actions (B, P))` for the configured scheme."""
    batch, prefix_len = prefix_mask.shape
    device = prefix_mask.device
    steps = torch.arange(chunk_size, device=device)
    if scheme == "per_block":  # official VLASER: fixed 1..L prefix, state 1, actions 2..P+1
        prefix = torch.arange(1, prefix_len + 1, device=device).expand(batch, -1)
        state = torch.ones(batch, 1, dtype=torch.long, device=device)
        return prefix, state, (steps + 2).expand(batch, -1)
    n_real = prefix_mask.long().sum(-1, keepdim=True)  # (B, 1)
    prefix = (prefix_mask.long().cumsum(-1) - 1).clamp(min=0)
    return prefix, n_real, n_real + 1 + steps


def sinusoidal_time_embedding(time: torch.Tensor, dim: int, min_period: float, max_period: float) -> torch.Tensor:
    """pi0's sine-cosine embedding of a scalar time per sample: `(B,)` -> `(B, dim)`, computed in fp32."""
    if dim % 2:
        raise ValueError(f"the time embedding width must be even, got {dim}")
    fraction = torch.linspace(0.0, 1.0, dim // 2, dtype=torch.float64, device=time.device)
    period = min_period * (max_period / min_period) ** fraction
    angular_frequency = (2 * math.pi / period).float()
    angles = time.float()[:, None] * angular_frequency[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


# --------------------------------------------------------------------------------------------------------------------
# The action expert
# --------------------------------------------------------------------------------------------------------------------


class VlaserActionExpert(nn.Module):
    """Qwen2-shaped decoder layers of their own width (same depth and head geometry as the LLM) plus the small
    projections that turn robot state, noisy actions and time into tokens and tokens back into velocities."""

    def __init__(self, config: VlaserConfig):
        super().__init__()
        expert_config = config.expert_config
        width = config.expert_hidden_size
        self.layers = nn.ModuleList(Qwen2DecoderLayer(expert_config, i) for i in range(expert_config.num_hidden_layers))
        self.norm = Qwen2RMSNorm(width, eps=expert_config.rms_norm_eps)
        self.state_proj = nn.Linear(config.max_state_dim, width)
        self.action_in_proj = nn.Linear(config.max_action_dim, width)
        self.action_time_mlp_in = nn.Linear(2 * width, width)
        self.action_time_mlp_out = nn.Linear(width, width)
        self.action_out_proj = nn.Linear(width, config.max_action_dim)
        # Set by `activation_checkpointing_enable` (transformers flags every module carrying this attribute).
        self.gradient_checkpointing = False


class VlaserForActionPrediction(VlaserForConditionalGeneration):
    """VLASER policy: the reasoning VLM plus a flow-matching action expert.

    Called with `state` (and `actions` for training), `forward` computes the flow-matching loss; called without
    `state` it is the reasoning VLM, so one checkpoint both answers questions (`generate`) and acts
    (`sample_actions`). Module names match [`VlaserForConditionalGeneration`], so a stage-1 checkpoint loads into it
    with only the expert left to initialize.
    """

    def __init__(self, config: VlaserConfig):
        # The parent's __init__ would run post_init before the expert exists; build the same modules here instead.
        PreTrainedModel.__init__(self, config)
        self.model = InternVLModel(config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.action_expert = VlaserActionExpert(config)
        self.post_init()

    # ---- embeddings ------------------------------------------------------------------------------------------------

    def embed_prefix(self, input_ids: torch.LongTensor, pixel_values: torch.FloatTensor) -> torch.Tensor:
        """Token embeddings with image features written over the `<IMG_CONTEXT>` placeholders: `(B, Lp, D)`."""
        embeds = self.model.get_input_embeddings()(input_ids)
        image_features = self.model.get_image_features(pixel_values=pixel_values).pooler_output  # (tiles, T, D)
        image_mask = self.model.get_placeholder_mask(input_ids, embeds, image_features)
        return embeds.masked_scatter(image_mask, image_features.to(embeds.dtype))

    def embed_state(self, state: torch.Tensor) -> torch.Tensor:
        """`(B, state_dim)` normalized state -> one token `(B, 1, W)`."""
        padded = _pad_last_dim(state.float(), self.config.max_state_dim)
        proj = self.action_expert.state_proj
        return proj(padded.to(proj.weight.dtype))[:, None]

    def embed_noisy_actions(self, noisy_actions: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """`(B, P, max_action_dim)` noisy actions at noise level `sigma (B,)` -> action tokens `(B, P, W)`."""
        expert = self.action_expert
        config = self.config
        time = sigma if config.time_input == "sigma" else 1.0 - sigma
        time_emb = sinusoidal_time_embedding(
            time, config.expert_hidden_size, config.time_embedding_min_period, config.time_embedding_max_period
        )
        dtype = expert.action_in_proj.weight.dtype
        action_emb = expert.action_in_proj(noisy_actions.to(dtype))
        time_emb = time_emb.to(dtype)[:, None].expand_as(action_emb)
        pair = (action_emb, time_emb) if config.time_action_concat_order == "action_time" else (time_emb, action_emb)
        hidden = expert.action_time_mlp_in(torch.cat(pair, dim=-1))
        return expert.action_time_mlp_out(nn.functional.silu(hidden))

    def velocity_from_hidden(self, action_hidden: torch.Tensor) -> torch.Tensor:
        """Final expert hidden states of the action tokens -> velocity `noise - actions`, fp32 `(B, P, max_A)`."""
        velocity = self.action_expert.action_out_proj(self.action_expert.norm(action_hidden)).float()
        return -velocity if self.config.velocity_direction == "noise_to_data" else velocity

    # ---- joint attention -------------------------------------------------------------------------------------------

    def _attention_function(self):
        implementation = self.config.text_config._attn_implementation or "sdpa"
        return ALL_ATTENTION_FUNCTIONS.get_interface(implementation, eager_attention_forward)

    def _joint_layer(
        self,
        layer_idx: int,
        prefix: torch.Tensor | None,
        suffix: torch.Tensor,
        prefix_rope: tuple[torch.Tensor, torch.Tensor] | None,
        suffix_rope: tuple[torch.Tensor, torch.Tensor],
        attention_mask: torch.Tensor,
        past_key_values: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> tuple[torch.Tensor | None, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One layer with one softmax over `[past | prefix | suffix]`; each stream uses its own weights.

        In the last layer only the suffix is read afterwards, so the prefix contributes keys and values but no
        queries, attention output or MLP (see `parameters_without_action_gradient`).
        """
        vlm_layer = self.model.language_model.layers[layer_idx]
        expert_layer = self.action_expert.layers[layer_idx]
        streams = [(prefix, vlm_layer, prefix_rope), (suffix, expert_layer, suffix_rope)]
        streams = [s for s in streams if s[0] is not None]
        is_last_layer = layer_idx == len(self.action_expert.layers) - 1
        query_streams = streams[-1:] if is_last_layer else streams

        queries, keys, values = [], [], []
        for hidden, layer, (cos, sin) in streams:
            attn = layer.self_attn
            shape = (*hidden.shape[:-1], -1, attn.head_dim)
            normed = layer.input_layernorm(hidden)
            k = attn.k_proj(normed).view(shape).transpose(1, 2)  # (B, kv_heads, T, head_dim)
            v = attn.v_proj(normed).view(shape).transpose(1, 2)
            keys.append(_apply_rope(k, cos, sin)), values.append(v)
            if any(layer is query_layer for _, query_layer, _ in query_streams):
                q = attn.q_proj(normed).view(shape).transpose(1, 2)  # (B, heads, T, head_dim)
                queries.append(_apply_rope(q, cos, sin))
        if past_key_values is not None:
            keys, values = [past_key_values[0], *keys], [past_key_values[1], *values]
        key_states, value_states = _cat(keys), _cat(values)
        query_states = _cat(queries)
        attn_module = vlm_layer.self_attn  # same scaling and key/value grouping as the expert's by construction
        attn_output, _ = self._attention_function()(
            attn_module,
            query_states,
            key_states,
            value_states,
            attention_mask[:, :, -query_states.shape[2] :],
            scaling=attn_module.scaling,
            dropout=0.0,
            is_causal=False,
        )  # (B, T_query, heads, head_dim)

        outputs, start = [], 0
        for hidden, layer, _ in query_streams:
            length = hidden.shape[1]
            stream_out = attn_output[:, start : start + length].reshape(*hidden.shape[:-1], -1)
            start += length
            hidden = hidden + layer.self_attn.o_proj(stream_out)
            outputs.append(hidden + layer.mlp(layer.post_attention_layernorm(hidden)))
        prefix_out = outputs[0] if prefix is not None and not is_last_layer else None
        return prefix_out, outputs[-1], (key_states, value_states)

    def parameters_without_action_gradient(self) -> list[str]:
        """Names of the parameters the flow-matching loss never reaches.

        The prefix's last-layer queries, attention output and MLP, the LLM's final norm and (when untied) the LM head
        only serve text generation. Freeze them when training on actions alone, so that DDP with
        `find_unused_parameters=False` works; keep them trainable when co-training on conversations.
        """
        last = f"model.language_model.layers.{len(self.action_expert.layers) - 1}."
        unused_prefixes = (
            last + "self_attn.q_proj.",
            last + "self_attn.o_proj.",
            last + "post_attention_layernorm.",
            last + "mlp.",
            "model.language_model.norm.",
            "lm_head.",
        )
        tied = {name for name, _ in self.named_parameters(remove_duplicate=True)}
        return [name for name in tied if name.startswith(unused_prefixes)]

    def joint_forward(
        self,
        prefix_embeds: torch.Tensor | None,
        suffix_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        prefix_position_ids: torch.Tensor | None,
        suffix_position_ids: torch.Tensor,
        past_key_values: PrefixKeyValues | None = None,
        suffix_rope: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, PrefixKeyValues]:
        """Run all layers jointly. Returns the suffix hidden states `(B, S, W)` (before the expert's final norm) and
        the per-layer keys/values of everything attended to (past + prefix + suffix).

        `attention_mask` is boolean (True = attend) or already additive; `suffix_rope` may be precomputed."""
        rotary = self.model.language_model.rotary_emb
        if suffix_rope is None:
            suffix_rope = rotary(suffix_embeds, suffix_position_ids)
        prefix_rope = rotary(prefix_embeds, prefix_position_ids) if prefix_embeds is not None else None
        if attention_mask.dtype == torch.bool:
            attention_mask = to_additive_mask(attention_mask, suffix_embeds.dtype)
        checkpointing = self.action_expert.gradient_checkpointing and self.training

        prefix, suffix, all_key_values = prefix_embeds, suffix_embeds, []
        for layer_idx in range(len(self.action_expert.layers)):
            args = (
                layer_idx,
                prefix,
                suffix,
                prefix_rope,
                suffix_rope,
                attention_mask,
                past_key_values[layer_idx] if past_key_values is not None else None,
            )
            if checkpointing:  # one joint layer at a time: both streams' activations are recomputed together
                prefix, suffix, key_values = self.action_expert._gradient_checkpointing_func(self._joint_layer, *args)
            else:
                prefix, suffix, key_values = self._joint_layer(*args)
            all_key_values.append(key_values)
        return suffix, tuple(all_key_values)

    # ---- flow matching ---------------------------------------------------------------------------------------------

    def sample_noise_level(self, batch_size: int, device: torch.device | str) -> torch.Tensor:
        """Training sigma ~ scale * Beta(alpha, beta) + offset (pi0): more weight near sigma = 1 (pure noise)."""
        config = self.config
        beta = torch.distributions.Beta(
            torch.tensor(config.time_sampling_beta_alpha, device=device),
            torch.tensor(config.time_sampling_beta_beta, device=device),
        )
        return beta.sample((batch_size,)) * config.time_sampling_scale + config.time_sampling_offset

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values: torch.FloatTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        state: torch.FloatTensor | None = None,
        actions: torch.FloatTensor | None = None,
        action_mask: torch.Tensor | None = None,
        noise: torch.FloatTensor | None = None,
        sigma: torch.FloatTensor | None = None,
        **kwargs,
    ):
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch, prefix_len)`): prompt tokens with image placeholders.
            pixel_values (`torch.FloatTensor` of shape `(tiles, 3, H, W)`): camera images from the processor.
            attention_mask (`torch.Tensor` of shape `(batch, prefix_len)`): 1 for real prompt tokens, 0 for padding.
            state (`torch.FloatTensor` of shape `(batch, state_dim)`): normalized robot state. Without it, this is
                the reasoning VLM's forward (language-model logits).
            actions (`torch.FloatTensor` of shape `(batch, chunk_size, action_dim)`): normalized target chunk.
            action_mask (`torch.Tensor` of shape `(batch, chunk_size)`): True for real steps, False for steps padded
                past an episode's end. Defaults to all real.
            noise (`torch.FloatTensor` of shape `(batch, chunk_size, action_dim)`): the flow's noise sample.
            sigma (`torch.FloatTensor` of shape `(batch,)`): noise levels in (0, 1]; sampled when not given.
        """
        if state is None:
            if actions is not None:
                raise ValueError("`actions` were given without `state`: the action expert needs both")
            return super().forward(
                input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask, **kwargs
            )
        if actions is None:
            raise ValueError("`actions` is required to compute the flow-matching loss; use `sample_actions` to act")
        config = self.config
        state, attention_mask = self._check_policy_inputs(input_ids, pixel_values, attention_mask, state)
        batch = state.shape[0]
        _check_shape("actions", actions, (batch, config.chunk_size, config.action_dim))
        if action_mask is None:
            action_mask = torch.ones(batch, config.chunk_size, dtype=torch.bool, device=actions.device)
        _check_shape("action_mask", action_mask, (batch, config.chunk_size))

        actions = _pad_last_dim(actions.float(), config.max_action_dim)
        noise = torch.randn_like(actions) if noise is None else _pad_last_dim(noise.float(), config.max_action_dim)
        if sigma is None:
            sigma = self.sample_noise_level(batch, actions.device)
        sigma = sigma.float()
        noisy_actions = sigma[:, None, None] * noise + (1.0 - sigma[:, None, None]) * actions
        target_velocity = noise - actions

        velocity = self.full_velocity(noisy_actions, sigma, input_ids, pixel_values, attention_mask, state)

        squared_error = (velocity - target_velocity).pow(2)
        step_weight = action_mask.float()[:, :, None]  # (B, P, 1)
        dim_weight = torch.zeros(config.max_action_dim, device=velocity.device)
        dim_weight[: config.action_dim] = 1.0
        weight = step_weight * dim_weight  # (B, P, max_A)
        loss = (squared_error * weight).sum() / weight.sum().clamp(min=1.0)
        per_dim_loss = (squared_error * step_weight).sum((0, 1)) / step_weight.sum().clamp(min=1.0)
        return VlaserActionOutput(
            loss=loss, per_dim_loss=per_dim_loss[: config.action_dim], velocity=velocity[..., : config.action_dim]
        )

    # ---- inference -------------------------------------------------------------------------------------------------

    def compute_prefix_cache(
        self,
        input_ids: torch.LongTensor,
        pixel_values: torch.FloatTensor,
        attention_mask: torch.Tensor,
        state: torch.FloatTensor,
    ) -> PrefixCache:
        """The [`PrefixCache`] of one chunk: `[prefix | state]` keys/values of every layer, action-token masks and
        positions. They do not depend on the noise level, so the N denoising steps only run the action tokens."""
        config = self.config
        prefix_mask = attention_mask.bool()
        prefix_pos, state_pos, action_pos = build_position_ids(prefix_mask, config.chunk_size, config.position_scheme)
        mask = build_joint_attention_mask(prefix_mask, 1, config.causal_prefix, config.causal_actions)
        state_embeds = self.embed_state(state)
        _, key_values = self.joint_forward(
            self.embed_prefix(input_ids, pixel_values), state_embeds, mask, prefix_pos, state_pos
        )
        full_mask = build_joint_attention_mask(
            prefix_mask, 1 + config.chunk_size, config.causal_prefix, config.causal_actions
        )
        action_rows = full_mask[:, :, -config.chunk_size :]  # (B, 1, P, Lp + 1 + P)
        return PrefixCache(
            key_values=key_values,
            action_attention_mask=to_additive_mask(action_rows, state_embeds.dtype),
            action_rope=self.model.language_model.rotary_emb(state_embeds, action_pos),
        )

    def denoise_step(self, noisy_actions: torch.Tensor, sigma: torch.Tensor, prefix_cache: PrefixCache) -> torch.Tensor:
        """Velocity `(B, P, max_A)` (fp32) of `noisy_actions` at `sigma (B,)`, attending to the cached prefix/state."""
        hidden, _ = self.joint_forward(
            None,
            self.embed_noisy_actions(noisy_actions, sigma),
            prefix_cache.action_attention_mask,
            None,
            None,
            prefix_cache.key_values,
            suffix_rope=prefix_cache.action_rope,
        )
        return self.velocity_from_hidden(hidden)

    def full_velocity(
        self,
        noisy_actions: torch.Tensor,
        sigma: torch.Tensor,
        input_ids: torch.LongTensor,
        pixel_values: torch.FloatTensor,
        attention_mask: torch.Tensor,
        state: torch.FloatTensor,
    ) -> torch.Tensor:
        """Velocity `(B, P, max_A)` (fp32) from one joint pass over `[prefix | state | actions]`: what training
        computes, and the reference the cached `denoise_step` must equal."""
        config = self.config
        prefix_mask = attention_mask.bool()
        prefix_pos, state_pos, action_pos = build_position_ids(prefix_mask, config.chunk_size, config.position_scheme)
        suffix = torch.cat([self.embed_state(state), self.embed_noisy_actions(noisy_actions, sigma)], dim=1)
        mask = build_joint_attention_mask(
            prefix_mask, 1 + config.chunk_size, config.causal_prefix, config.causal_actions
        )
        hidden, _ = self.joint_forward(
            self.embed_prefix(input_ids, pixel_values), suffix, mask, prefix_pos, torch.cat([state_pos, action_pos], 1)
        )
        return self.velocity_from_hidden(hidden[:, 1:])

    def make_scheduler(self, num_inference_steps: int | None = None):
        """diffusers' flow-matching Euler scheduler on the uniform grid sigma = 1, 1 - 1/N, ..., 1/N, then 0.

        That grid makes it exactly plain Euler with dt = -1/N (the default grid is not uniform). `shift` stays 1.
        """
        from diffusers import FlowMatchEulerDiscreteScheduler

        steps = num_inference_steps or self.config.num_inference_steps
        scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
        scheduler.set_timesteps(sigmas=np.linspace(1.0, 0.0, steps, endpoint=False).tolist(), device=self.device)
        scheduler.set_begin_index(0)  # skips the timestep lookup, which would sync with the host every step
        return scheduler

    @torch.inference_mode()
    def sample_actions(
        self,
        input_ids: torch.LongTensor,
        pixel_values: torch.FloatTensor,
        attention_mask: torch.Tensor | None,
        state: torch.FloatTensor,
        noise: torch.FloatTensor | None = None,
        num_inference_steps: int | None = None,
        use_prefix_cache: bool = True,
        return_velocities: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Sample a normalized action chunk `(B, chunk_size, action_dim)` (fp32) by integrating the flow from noise.

        `noise` `(B, chunk_size, action_dim)` fixes the starting sample. With `return_velocities`, also returns the
        velocities of every step `(N, B, chunk_size, action_dim)` in the network's raw direction convention.
        """
        config = self.config
        state, attention_mask = self._check_policy_inputs(input_ids, pixel_values, attention_mask, state)
        batch = state.shape[0]
        shape = (batch, config.chunk_size, config.max_action_dim)
        if noise is None:
            noise = torch.randn(shape, device=state.device)
        else:
            _check_shape("noise", noise, (batch, config.chunk_size, config.action_dim))
            noise = _pad_last_dim(noise.float(), config.max_action_dim)

        if use_prefix_cache:
            prefix_cache = self.compute_prefix_cache(input_ids, pixel_values, attention_mask, state)

            def velocity_fn(x, sigma):
                return self.denoise_step(x, sigma, prefix_cache)
        else:

            def velocity_fn(x, sigma):
                return self.full_velocity(x, sigma, input_ids, pixel_values, attention_mask, state)

        scheduler = self.make_scheduler(num_inference_steps)
        sample = noise  # the integration state stays fp32 whatever the weights' dtype
        velocities = []
        for step, timestep in enumerate(scheduler.timesteps):
            sigma = scheduler.sigmas[step].to(sample.device, torch.float32).expand(batch)
            velocity = velocity_fn(sample, sigma)
            velocities.append(velocity)
            sample = scheduler.step(velocity, timestep, sample).prev_sample
        if config.final_action_clip is not None:
            sample = sample.clamp(-config.final_action_clip, config.final_action_clip)
        actions = sample[..., : config.action_dim]
        if not return_velocities:
            return actions
        raw = torch.stack(velocities)[..., : config.action_dim]
        return actions, (-raw if config.velocity_direction == "noise_to_data" else raw)

    # ---- validation ------------------------------------------------------------------------------------------------

    def _check_policy_inputs(self, input_ids, pixel_values, attention_mask, state) -> tuple[torch.Tensor, torch.Tensor]:
        config = self.config
        if input_ids is None:
            raise ValueError("`input_ids` is required: the prompt with the instruction and image placeholders")
        if pixel_values is None:
            raise ValueError(
                "`pixel_values` is missing: VLASER conditions actions on camera images; pass the processor's output"
            )
        if not torch.is_floating_point(pixel_values):
            raise TypeError(
                f"`pixel_values` must be a floating-point tensor from the processor, got {pixel_values.dtype}"
            )
        size = tuple(config.vision_config.image_size)
        if pixel_values.dim() != 4 or pixel_values.shape[1] != 3 or tuple(pixel_values.shape[2:]) != size:
            raise ValueError(
                f"`pixel_values` must have shape (tiles, 3, {size[0]}, {size[1]}), got {tuple(pixel_values.shape)}"
            )
        batch = input_ids.shape[0]
        if state.dim() != 2 or state.shape != (batch, config.state_dim):
            raise ValueError(
                f"`state` must have shape (batch={batch}, state_dim={config.state_dim}), got {tuple(state.shape)}"
            )
        if not torch.isfinite(state).all():
            bad = (~torch.isfinite(state)).nonzero()[0].tolist()
            raise ValueError(f"`state` contains NaN or inf (first at index {bad}); normalize real sensor values")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids, dtype=torch.bool)
        _check_shape("attention_mask", attention_mask, tuple(input_ids.shape))
        return state, attention_mask


def _cat(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate along the sequence; a lone tensor is returned as is (the denoising loop is dispatch-bound)."""
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors, dim=2)


def _apply_rope(states: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Qwen2's rotary embedding of `(B, heads, T, head_dim)` states with `(B, T, head_dim)` cos/sin."""
    return states * cos.unsqueeze(1) + rotate_half(states) * sin.unsqueeze(1)


def _pad_last_dim(tensor: torch.Tensor, size: int) -> torch.Tensor:
    return nn.functional.pad(tensor, (0, size - tensor.shape[-1]))


def _check_shape(name: str, tensor: torch.Tensor, expected: tuple[int, ...]) -> None:
    if tuple(tensor.shape) != tuple(expected):
        raise ValueError(f"`{name}` must have shape {tuple(expected)}, got {tuple(tensor.shape)}")


__all__ = [
    "PrefixCache",
    "VlaserActionOutput",
    "VlaserForConditionalGeneration",
    "VlaserForActionPrediction",
    "build_joint_attention_mask",
    "build_position_ids",
    "sinusoidal_time_embedding",
]
