"""Behaviour of VlaserForActionPrediction: joint attention, flow matching, sampling and input checks."""

from __future__ import annotations

import pytest
import torch

from modeling_vlaser.modeling_vlaser import (
    build_joint_attention_mask,
    build_position_ids,
    sinusoidal_time_embedding,
)
from tests.conftest import policy_batch, tiny_policy


def chunk_noise(config, batch: int, seed: int = 7) -> torch.Tensor:
    return torch.randn(batch, config.chunk_size, config.action_dim, generator=torch.Generator().manual_seed(seed))


# ---- masks and positions ---------------------------------------------------------------------------------------------


def test_joint_mask_truth_table():
    # prefix of 3 slots (the last one padded), state, 2 actions.
    mask = build_joint_attention_mask(torch.tensor([[1, 1, 0]]), suffix_len=3)[0, 0].int()
    expected = torch.tensor(
        [
            # p0 p1 pad st a0 a1
            [1, 1, 0, 0, 0, 0],  # p0: bidirectional prefix, never the suffix
            [1, 1, 0, 0, 0, 0],  # p1
            [1, 1, 0, 0, 0, 0],  # pad row: sees what a real row sees (finite softmax), nobody sees it
            [1, 1, 0, 1, 0, 0],  # state: prefix + itself
            [1, 1, 0, 1, 1, 1],  # a0: prefix + state + all actions
            [1, 1, 0, 1, 1, 1],  # a1
        ]
    )
    assert torch.equal(mask, expected)


def test_causal_ablation_flags_change_the_mask():
    mask = build_joint_attention_mask(torch.tensor([[1, 1]]), 3, causal_prefix=True, causal_actions=True)[0, 0].int()
    assert mask[0].tolist() == [1, 0, 0, 0, 0]  # first prefix token no longer sees the second
    assert mask[3].tolist() == [1, 1, 1, 1, 0]  # first action token no longer sees the second
    assert mask[4].tolist() == [1, 1, 1, 1, 1]


def test_mask_and_positions_match_the_official_vlaser_code(shared_dir):
    from safetensors.torch import load_file

    io = load_file(shared_dir / "fixtures/vlaser_official_tiny/expected_io.safetensors")
    official_visible = io["causal_mask"] == 0  # additive mask, 0 = visible
    prefix_mask = io["attention_mask"].bool()
    ours = build_joint_attention_mask(prefix_mask, 1 + 4)
    real_rows = torch.cat([prefix_mask, torch.ones(2, 5, dtype=torch.bool)], 1)
    # Official pad rows are fully masked; ours copy a real row. Every real row must agree exactly.
    assert torch.equal(ours[:, 0][real_rows], official_visible[:, 0][real_rows])
    prefix_pos, state_pos, action_pos = build_position_ids(prefix_mask, 4, "per_block")
    assert torch.equal(prefix_pos, io["vlm_position_ids"])
    assert torch.equal(state_pos, io["proprio_position_ids"])
    assert torch.equal(action_pos, io["action_position_ids"])


def test_sequential_positions_skip_padding():
    prefix_pos, state_pos, action_pos = build_position_ids(torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]]), 2, "sequential")
    assert prefix_pos.tolist() == [[0, 1, 2, 2], [0, 1, 1, 1]]
    assert state_pos.tolist() == [[3], [2]]
    assert action_pos.tolist() == [[4, 5], [3, 4]]


def test_time_embedding_is_pi0_sine_cosine():
    emb = sinusoidal_time_embedding(torch.tensor([0.0, 0.5]), 4, min_period=1.0, max_period=4.0)
    # periods 1 and 4, angles 2*pi*t/period: t = 0.5 gives pi and pi/4; layout [sin..., cos...]
    half_sqrt2 = 2**-0.5
    assert torch.allclose(emb[0], torch.tensor([0.0, 0.0, 1.0, 1.0]))
    assert torch.allclose(emb[1], torch.tensor([0.0, half_sqrt2, -1.0, half_sqrt2]), atol=1e-6)


# ---- joint attention ---------------------------------------------------------------------------------------------------


def test_prefix_cache_equals_full_recomputation(policy):
    batch = policy_batch(policy.config)
    noise = chunk_noise(policy.config, 2)
    cached = policy.sample_actions(**batch, noise=noise, use_prefix_cache=True)
    full = policy.sample_actions(**batch, noise=noise, use_prefix_cache=False)
    assert cached.shape == (2, policy.config.chunk_size, policy.config.action_dim)
    assert (cached - full).abs().max() <= 1e-5


def test_prefix_cache_is_never_mutated(policy):
    batch = policy_batch(policy.config)
    cache = policy.compute_prefix_cache(
        batch["input_ids"], batch["pixel_values"], batch["attention_mask"], batch["state"]
    )
    snapshot = [(k.clone(), v.clone()) for k, v in cache.key_values]
    x = torch.randn(2, policy.config.chunk_size, policy.config.max_action_dim)
    for sigma in (1.0, 0.5, 0.1):
        policy.denoise_step(x, torch.full((2,), sigma), cache)
    pairs = zip(cache.key_values, snapshot, strict=True)
    assert all(torch.equal(k, k0) and torch.equal(v, v0) for (k, v), (k0, v0) in pairs)


def test_prefix_is_unaffected_by_state_and_action_tokens(policy):
    config = policy.config
    batch = policy_batch(config)
    prefix_len = batch["input_ids"].shape[1]
    prefix_embeds = policy.embed_prefix(batch["input_ids"], batch["pixel_values"])
    prefix_mask = batch["attention_mask"].bool()
    positions = build_position_ids(prefix_mask, config.chunk_size, config.position_scheme)
    mask = build_joint_attention_mask(prefix_mask, 1 + config.chunk_size)

    def prefix_keys(seed):
        suffix = torch.randn(
            2, 1 + config.chunk_size, config.expert_hidden_size, generator=torch.Generator().manual_seed(seed)
        )
        _, key_values = policy.joint_forward(prefix_embeds, suffix, mask, positions[0], torch.cat(positions[1:], 1))
        return [(k[:, :, :prefix_len], v[:, :, :prefix_len]) for k, v in key_values]

    with torch.no_grad():
        first, second = prefix_keys(1), prefix_keys(2)
    for (k1, v1), (k2, v2) in zip(first, second, strict=True):
        assert torch.equal(k1, k2) and torch.equal(v1, v2)


def test_every_action_output_depends_on_every_action_token(policy):
    config = policy.config
    batch = policy_batch(config, lengths=(40,))
    cache = policy.compute_prefix_cache(
        batch["input_ids"], batch["pixel_values"], batch["attention_mask"], batch["state"]
    )
    x = torch.randn(1, config.chunk_size, config.max_action_dim, generator=torch.Generator().manual_seed(3))
    sigma = torch.tensor([0.6])
    with torch.no_grad():
        base = policy.denoise_step(x, sigma, cache)
        for token in range(config.chunk_size):
            changed = x.clone()
            changed[:, token] += 1.0
            moved = (policy.denoise_step(changed, sigma, cache) - base).abs().amax(-1)
            assert (moved > 1e-6).all(), f"changing action token {token} left outputs {moved.tolist()} unchanged"


def test_causal_actions_flag_makes_earlier_outputs_blind_to_later_tokens():
    policy = tiny_policy(causal_actions=True)
    config = policy.config
    batch = policy_batch(config, lengths=(40,))
    cache = policy.compute_prefix_cache(
        batch["input_ids"], batch["pixel_values"], batch["attention_mask"], batch["state"]
    )
    x = torch.randn(1, config.chunk_size, config.max_action_dim)
    changed = x.clone()
    changed[:, -1] += 1.0
    with torch.no_grad():
        delta = (
            (
                policy.denoise_step(changed, torch.tensor([0.5]), cache)
                - policy.denoise_step(x, torch.tensor([0.5]), cache)
            )
            .abs()
            .amax(-1)
        )
    assert torch.all(delta[0, :-1] == 0) and delta[0, -1] > 0


def test_padding_does_not_leak(policy):
    config = policy.config
    batch = policy_batch(config, lengths=(40, 33))
    noise = chunk_noise(config, 2)
    together = policy.sample_actions(**batch, noise=noise)
    # The second prompt alone, cut to its real length: same actions as inside the padded batch.
    length = int(batch["attention_mask"][1].sum())
    alone = policy.sample_actions(
        input_ids=batch["input_ids"][1:, :length],
        pixel_values=batch["pixel_values"][1:],
        attention_mask=batch["attention_mask"][1:, :length],
        state=batch["state"][1:],
        noise=noise[1:],
    )
    assert (together[1:] - alone).abs().max() <= 1e-5
    # Whatever sits in the padded slots is invisible.
    scrambled = dict(batch, input_ids=batch["input_ids"].clone())
    scrambled["input_ids"][1, length:] = 777
    assert torch.equal(policy.sample_actions(**scrambled, noise=noise), together)


def test_eager_and_sdpa_attention_agree():
    outputs = {}
    for implementation in ("eager", "sdpa"):
        policy = tiny_policy()
        policy.set_attn_implementation(implementation)
        assert policy.config.text_config._attn_implementation == implementation
        batch = policy_batch(policy.config)
        outputs[implementation] = policy.sample_actions(**batch, noise=chunk_noise(policy.config, 2))
    assert (outputs["eager"] - outputs["sdpa"]).abs().max() <= 1e-5


def test_scheduler_sampling_equals_hand_written_euler(policy):
    config = policy.config
    batch = policy_batch(config)
    noise = chunk_noise(config, 2)
    sampled = policy.sample_actions(**batch, noise=noise)

    cache = policy.compute_prefix_cache(
        batch["input_ids"], batch["pixel_values"], batch["attention_mask"], batch["state"]
    )
    x = torch.nn.functional.pad(noise, (0, config.max_action_dim - config.action_dim))
    steps = config.num_inference_steps
    with torch.no_grad():
        for i in range(steps):
            sigma = 1.0 - i / steps
            x = x - (1.0 / steps) * policy.denoise_step(x, torch.full((2,), sigma), cache)
    assert (sampled - x[..., : config.action_dim]).abs().max() <= 1e-5


def test_scheduler_is_uniform_grid_not_diffusers_default(policy):
    scheduler = policy.make_scheduler(10)
    expected = torch.tensor([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    assert torch.allclose(scheduler.sigmas.cpu(), expected, atol=1e-6)


# ---- flow-matching loss --------------------------------------------------------------------------------------------


def test_loss_convention_and_masks(policy):
    config = policy.config
    batch = policy_batch(config)
    actions = torch.rand(2, config.chunk_size, config.action_dim) * 2 - 1
    noise = torch.randn_like(actions)
    sigma = torch.tensor([0.3, 0.8])
    out = policy(**batch, actions=actions, noise=noise, sigma=sigma)
    target = noise - actions  # sigma = 1 is noise, sigma = 0 is data
    assert torch.allclose(out.loss, (out.velocity - target).pow(2).mean(), atol=1e-6)
    assert torch.allclose(out.per_dim_loss, (out.velocity - target).pow(2).mean((0, 1)), atol=1e-6)

    # Steps padded past an episode end do not count, whatever their (garbage) targets.
    step_mask = torch.ones(2, config.chunk_size, dtype=torch.bool)
    step_mask[0, 2:] = False
    garbage = actions.clone()
    garbage[0, 2:] = 100.0
    masked = policy(**batch, actions=garbage, action_mask=step_mask, noise=noise, sigma=sigma)
    err = (masked.velocity - (noise - garbage)).pow(2)
    assert torch.allclose(masked.loss, err[step_mask].mean(), atol=1e-6)
    assert masked.loss < 10  # the 100s would dominate an unmasked loss


def test_tiny_model_overfits_one_batch():
    policy = tiny_policy().train()
    config = policy.config
    batch = policy_batch(config)
    actions = torch.rand(2, config.chunk_size, config.action_dim, generator=torch.Generator().manual_seed(5)) * 2 - 1
    noise = torch.randn(actions.shape, generator=torch.Generator().manual_seed(6))
    sigma = torch.tensor([0.5, 0.9])
    optimizer = torch.optim.AdamW(policy.parameters(), lr=3e-3)
    losses = []  # 200 steps take about 15 s on 2 CPU cores; the bound is on steps, not on the clock
    for _ in range(200):
        loss = policy(**batch, actions=actions, noise=noise, sigma=sigma).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if losses[-1] < losses[0] / 10:
            break
    assert losses[-1] < losses[0] / 10, f"loss went {losses[0]:.3f} -> {losses[-1]:.3f} in {len(losses)} steps"


def test_sampled_noise_levels_follow_the_pi0_beta(policy):
    torch.manual_seed(0)
    sigma = policy.sample_noise_level(20000, "cpu")
    assert sigma.min() >= 0.001 and sigma.max() <= 1.0
    # 0.999 * Beta(1.5, 1) + 0.001 has mean 0.999 * 0.6 + 0.001 = 0.6004
    assert abs(sigma.mean().item() - 0.6004) < 0.01


# ---- reasoning VLM --------------------------------------------------------------------------------------------------


def test_without_state_it_is_the_language_model(policy):
    batch = policy_batch(policy.config, lengths=(20,))
    generated = policy.generate(
        input_ids=batch["input_ids"],
        pixel_values=batch["pixel_values"],
        attention_mask=batch["attention_mask"],
        max_new_tokens=5,
        do_sample=False,
    )
    assert generated.shape == (1, batch["input_ids"].shape[1] + 5)


# ---- bad input -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b, c: b.update(state=torch.zeros(2, c.state_dim + 1)), "`state` must have shape"),
        (lambda b, c: b.update(pixel_values=None), "`pixel_values` is missing"),
        (lambda b, c: b.update(pixel_values=torch.zeros(2, 3, 100, 100)), "`pixel_values` must have shape"),
        (lambda b, c: b.update(pixel_values=torch.zeros(2, 3, 224, 224, dtype=torch.uint8)), "floating-point"),
        (lambda b, c: b["state"].__setitem__((1, 0), float("nan")), "NaN or inf"),
        (lambda b, c: b["state"].__setitem__((0, 2), float("inf")), "NaN or inf"),
    ],
)
def test_bad_policy_inputs_raise_clear_errors(policy, change, message):
    batch = policy_batch(policy.config)
    change(batch, policy.config)
    with pytest.raises((ValueError, TypeError), match=message):
        policy.sample_actions(**batch)


def test_wrong_action_dim_raises(policy):
    config = policy.config
    batch = policy_batch(config)
    with pytest.raises(ValueError, match="`actions` must have shape"):
        policy(**batch, actions=torch.zeros(2, config.chunk_size, config.action_dim + 2))
    with pytest.raises(ValueError, match="`noise` must have shape"):
        policy.sample_actions(**batch, noise=torch.zeros(2, config.chunk_size, 3))


def test_bfloat16_weights_keep_the_integration_state_in_float32(policy):
    batch = policy_batch(policy.config)
    noise = chunk_noise(policy.config, 2)
    reference = policy.sample_actions(**batch, noise=noise)
    half = tiny_policy().to(torch.bfloat16)
    actions, velocities = half.sample_actions(**batch, noise=noise, return_velocities=True)
    assert actions.dtype == torch.float32 and velocities.dtype == torch.float32
    assert (actions - reference).abs().max() < 0.1  # bf16 weights, same function


def test_gradient_checkpointing_gives_the_same_gradients():
    grads = []
    for checkpointing in (False, True):
        policy = tiny_policy().train()
        if checkpointing:
            policy.activation_checkpointing_enable()
            assert policy.action_expert.gradient_checkpointing
        config = policy.config
        batch = policy_batch(config)
        actions = torch.zeros(2, config.chunk_size, config.action_dim)
        loss = policy(**batch, actions=actions, noise=torch.ones_like(actions), sigma=torch.tensor([0.5, 0.5])).loss
        loss.backward()
        grads.append(policy.action_expert.layers[0].self_attn.q_proj.weight.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


@pytest.mark.parametrize("tie", [True, False])
def test_parameters_without_action_gradient_are_exactly_those_left_without_grad(tie):
    policy = tiny_policy(tie_word_embeddings=tie).train()
    config = policy.config
    batch = policy_batch(config)
    actions = torch.zeros(2, config.chunk_size, config.action_dim)
    policy(**batch, actions=actions).loss.backward()
    no_grad = {name for name, p in policy.named_parameters() if p.grad is None}
    assert no_grad == set(policy.parameters_without_action_gradient())
    assert ("lm_head.weight" in no_grad) == (not tie)  # a tied head is the embedding, which does get gradients
