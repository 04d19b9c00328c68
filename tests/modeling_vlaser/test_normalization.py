"""q01/q99 state and action normalization."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from modeling_vlaser.normalization import ActionNormalizer

SHARED = Path(os.environ.get("VLASER_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))
OFFICIAL_STATS = SHARED / "fixtures" / "vlaser_official_stats"


def official_stats_file(name: str) -> Path:
    path = OFFICIAL_STATS / name
    if not path.is_file():
        reason = f"{path} not found (set VLASER_SHARED to the shared folder)"
        print(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def normalizer() -> ActionNormalizer:
    # state: 2 dims in [0, 2] and [-1, 1]; actions: 3 dims, the last (gripper) raw.
    return ActionNormalizer(
        state_q01=[0.0, -1.0],
        state_q99=[2.0, 1.0],
        action_q01=[0.0, 10.0, 0.0],
        action_q99=[2.0, 20.0, 1.0],
        raw_action_dims=[2],
    )


def test_normalize_maps_q01_q99_to_minus_one_one_and_clips(normalizer):
    # 2 * (x - q01) / (q99 - q01 + 1e-8) - 1: x = 1 in [0, 2] -> 0; x = 15 in [10, 20] -> 0.
    state = normalizer.normalize_state(np.array([1.0, 0.5]))
    np.testing.assert_allclose(state, [0.0, 0.5], atol=1e-6)
    actions = normalizer.normalize_actions(np.array([[0.0, 20.0, 1.0], [3.0, 5.0, 0.25], [1.0, 15.0, 7.0]]))
    np.testing.assert_allclose(actions[:, :2], [[-1.0, 1.0], [1.0, -1.0], [0.0, 0.0]], atol=1e-6)
    # beyond the bounds: clipped; raw gripper values pass through even outside [-1, 1].
    np.testing.assert_array_equal(actions[:, 2], np.array([1.0, 0.25, 7.0], dtype=np.float32))


def test_unnormalize_inverts_without_clipping(normalizer):
    np.testing.assert_allclose(normalizer.unnormalize_actions(np.array([0.0, 0.0, 0.3])), [1.0, 15.0, 0.3], atol=1e-5)
    # 2.0 in normalized units is beyond q99: (2 + 1) / 2 * 2 + 0 = 3, not clipped back to 2.
    np.testing.assert_allclose(normalizer.unnormalize_actions(np.array([2.0, -3.0, 5.0])), [3.0, 0.0, 5.0], atol=1e-5)
    raw = np.random.default_rng(0).uniform([0, 10, 0], [2, 20, 1], size=(4, 5, 3))
    np.testing.assert_allclose(normalizer.unnormalize_actions(normalizer.normalize_actions(raw)), raw, atol=1e-5)


def test_any_leading_shape_and_torch_tensors(normalizer):
    raw = np.random.default_rng(1).uniform(-3, 25, size=(2, 4, 3))
    expected = normalizer.normalize_actions(raw)
    assert expected.shape == (2, 4, 3)
    tensor_result = normalizer.normalize_actions(torch.tensor(raw, dtype=torch.float32))
    assert isinstance(tensor_result, torch.Tensor) and tensor_result.dtype == torch.float32
    np.testing.assert_allclose(tensor_result.numpy(), expected, atol=1e-6)
    assert torch.equal(
        normalizer.unnormalize_actions(tensor_result),
        torch.from_numpy(normalizer.unnormalize_actions(tensor_result.numpy())),
    )


def test_dtypes_follow_the_input(normalizer):
    assert normalizer.normalize_state(np.array([1, 0])).dtype == np.float32  # integers -> float32
    assert normalizer.normalize_state(np.array([1.0, 0.0])).dtype == np.float64
    half = normalizer.normalize_state(torch.tensor([[1.0, 0.5]], dtype=torch.float16))
    assert half.dtype == torch.float16
    torch.testing.assert_close(half.float(), torch.tensor([[0.0, 0.5]]), atol=1e-3, rtol=0)


def test_from_data_takes_the_1_and_99_percent_quantiles():
    # 101 evenly spaced samples 0..100: the 1% quantile is 1 and the 99% quantile 99 (linear interpolation).
    column = np.arange(101, dtype=np.float64)
    states = np.stack([column, 2 * column], axis=-1)
    actions = np.stack([column, -column, column % 2], axis=-1).reshape(101, 1, 3)  # (frames, chunk, dim)
    normalizer = ActionNormalizer.from_data(states, actions, raw_action_dims=[2])
    np.testing.assert_array_equal(normalizer.state_q01, [1.0, 2.0])
    np.testing.assert_array_equal(normalizer.state_q99, [99.0, 198.0])
    np.testing.assert_array_equal(normalizer.action_q01, [1.0, -99.0, 0.0])
    np.testing.assert_array_equal(normalizer.action_q99, [99.0, -1.0, 1.0])
    assert normalizer.raw_action_dims == (2,)


def test_official_statistics_read_p01_p99_and_leave_the_gripper_raw():
    bridge = ActionNormalizer.from_official_statistics(official_stats_file("bridge_statistics.json"))
    # Values looked up in bridge_statistics.json.
    assert bridge.action_dim == 7 and bridge.state_dim == 7
    assert bridge.action_q01[0] == np.float32(-0.028539552688598632)
    assert bridge.action_q99[5] == np.float32(0.20214049845933896)
    assert bridge.state_q01[6] == np.float32(0.052190229296684265)
    assert bridge.state_q99[0] == np.float32(0.4527312242984769)
    assert bridge.raw_action_dims == (6,) and bridge.raw_state_dims == ()
    # The official code leaves the gripper action as is: 0 stays 0 (a normalized gripper would give -1).
    action = np.array([0.028122276067733765, 0, 0, 0, 0, 0, 0.0])
    normalized = bridge.normalize_actions(action)
    assert normalized[6] == 0.0
    assert normalized[0] == pytest.approx(1.0, abs=1e-5)

    fractal = ActionNormalizer.from_official_statistics(official_stats_file("fractal_statistics.json"))
    assert fractal.state_dim == 8 and fractal.action_dim == 7  # POS_QUAT proprio
    assert fractal.state_q99[2] == np.float32(1.0727112340927123)


def test_official_statistics_accept_a_dict_and_report_missing_keys():
    with pytest.raises(ValueError, match="'proprio' object"):
        ActionNormalizer.from_official_statistics({"action": {"p01": [0.0], "p99": [1.0]}})
    with pytest.raises(ValueError, match="miss 'action.p99'"):
        ActionNormalizer.from_official_statistics({"action": {"p01": [0.0]}, "proprio": {"p01": [0], "p99": [1]}})


def test_dict_round_trip_is_bit_exact_through_json():
    values = np.random.default_rng(2).normal(size=(4, 6)).astype(np.float32)
    original = ActionNormalizer(
        state_q01=np.minimum(values[0], values[1]),
        state_q99=np.maximum(values[0], values[1]),
        action_q01=np.minimum(values[2], values[3]),
        action_q99=np.maximum(values[2], values[3]),
        raw_state_dims=[1],
        raw_action_dims=[5, 0],
    )
    restored = ActionNormalizer.from_dict(json.loads(json.dumps(original.to_dict())))
    assert restored == original
    for name in ("state_q01", "state_q99", "action_q01", "action_q99"):
        assert getattr(restored, name).tobytes() == getattr(original, name).tobytes()
    assert restored.raw_action_dims == (0, 5)


def test_equality_sees_a_one_ulp_change(normalizer):
    changed = normalizer.to_dict()
    changed["action"]["q99"][0] = float(np.nextafter(np.float32(2.0), np.float32(3.0)))
    assert ActionNormalizer.from_dict(changed) != normalizer


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"state_q01": [0.0, 0.0]}, ValueError, r"state_q01 has shape \(2,\) but state_q99 has shape \(1,\)"),
        ({"action_q99": [float("nan")]}, ValueError, r"action_q99 contains NaN/inf at dims \[0\]"),
        ({"action_q01": [2.0]}, ValueError, r"action_q99 is smaller than action_q01 at dims \[0\]"),
        ({"raw_action_dims": [1]}, ValueError, r"raw_action_dims contains 1, but there are 1 dims"),
        ({"state_q01": [[0.0]]}, ValueError, r"state_q01 must be a non-empty 1-D sequence"),
    ],
)
def test_invalid_statistics_are_rejected(kwargs, error, message):
    arguments = {"state_q01": [0.0], "state_q99": [1.0], "action_q01": [0.0], "action_q99": [1.0], **kwargs}
    with pytest.raises(error, match=message):
        ActionNormalizer(**arguments)


def test_invalid_inputs_are_rejected(normalizer):
    with pytest.raises(ValueError, match=r"state contains NaN/inf at index \(1, 0\)"):
        normalizer.normalize_state(np.array([[0.0, 0.0], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match=r"actions contains NaN/inf at index \(0, 2\)"):
        normalizer.unnormalize_actions(torch.tensor([[0.0, 0.0, float("inf")]]))
    with pytest.raises(ValueError, match=r"actions must have shape \(\.\.\., 3\).*got shape \(4, 2\)"):
        normalizer.normalize_actions(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"state must have shape \(\.\.\., 2\)"):
        normalizer.normalize_state(torch.zeros(3))
    with pytest.raises(ValueError, match=r"states contains NaN/inf at index \(0, 1\)"):
        ActionNormalizer.from_data(np.array([[0.0, np.inf]]), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="miss 'state.q99'"):
        ActionNormalizer.from_dict({"state": {"q01": [0.0]}, "action": {"q01": [0.0], "q99": [1.0]}})
