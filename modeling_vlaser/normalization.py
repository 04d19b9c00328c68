# Copyright 2025 The VLASER project. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Robot state / action normalization with per-dimension 1% and 99% quantiles.

`x' = clip(2 * (x - q01) / (q99 - q01 + 1e-8) - 1, -1, 1)`, the official Vlaser (and Octo "bounds") convention.
Dimensions listed as raw (e.g. the gripper action, which the official code leaves as is) pass through unchanged.
Statistics come from the action-training dataset and are saved beside the processor (`normalization_stats.json`),
never inside the model weights.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

try:  # torch is optional here so that data tools can normalize numpy arrays without it
    import torch
except ImportError:  # pragma: no cover - torch is installed wherever the model runs
    torch = None


__all__ = ["NORMALIZATION_STATS_NAME", "ActionNormalizer"]

NORMALIZATION_STATS_NAME = "normalization_stats.json"
"""File name of the statistics saved beside the processor files."""

_EPSILON = 1e-8  # keeps a constant dimension (q99 == q01) finite, as in the official code
_FORMAT = "q01_q99_bounds"


def _first_bad_index(finite_mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(~finite_mask)[0])


def _as_stat_vector(values: Any, field: str) -> np.ndarray:
    try:
        vector = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{field} must be a 1-D sequence of numbers, got {type(values).__name__}") from None
    if vector.ndim != 1 or vector.size == 0:
        raise ValueError(
            f"{field} must be a non-empty 1-D sequence of numbers (shape (dim,)), got shape {vector.shape}"
        )
    if not np.isfinite(vector).all():
        bad = [int(i) for i in np.flatnonzero(~np.isfinite(vector))]
        raise ValueError(f"{field} contains NaN/inf at dims {bad}")
    return vector.astype(np.float32)


def _as_raw_dims(dims: Iterable[int] | None, dim: int, field: str) -> tuple[int, ...]:
    if dims is None:
        return ()
    checked = []
    for value in dims:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{field} must contain integer dimension indices, got {value!r}")
        if not 0 <= int(value) < dim:
            raise ValueError(f"{field} contains {int(value)}, but there are {dim} dims (valid indices 0..{dim - 1})")
        checked.append(int(value))
    if len(set(checked)) != len(checked):
        raise ValueError(f"{field} contains duplicates: {checked}")
    return tuple(sorted(checked))


def _data_matrix(values: Any, name: str) -> np.ndarray:
    if torch is not None and isinstance(values, torch.Tensor):
        values = values.detach().to("cpu", torch.float64).numpy()
    array = np.asarray(values, dtype=np.float64)
    if array.ndim < 1 or array.shape[-1] == 0 or array.size == 0:
        raise ValueError(f"{name} must have shape (..., dim) with at least one sample, got shape {array.shape}")
    finite = np.isfinite(array)
    if not finite.all():
        raise ValueError(f"{name} contains NaN/inf at index {_first_bad_index(finite)}")
    return array.reshape(-1, array.shape[-1])


@dataclass(eq=False)
class ActionNormalizer:
    """Per-dimension q01/q99 normalization of robot states and actions to [-1, 1].

    Works on numpy arrays and torch tensors of any leading shape (the last dimension is the feature dimension); the
    result has the input's floating dtype (float32 for integer input) and, for tensors, its device.

    Args:
        state_q01 (`Sequence[float]`): 1% quantile of each state dimension, shape `(state_dim,)`.
        state_q99 (`Sequence[float]`): 99% quantile of each state dimension, shape `(state_dim,)`.
        action_q01 (`Sequence[float]`): 1% quantile of each action dimension, shape `(action_dim,)`.
        action_q99 (`Sequence[float]`): 99% quantile of each action dimension, shape `(action_dim,)`.
        raw_state_dims (`Iterable[int]`, *optional*): State dimensions passed through unchanged.
        raw_action_dims (`Iterable[int]`, *optional*): Action dimensions passed through unchanged (e.g. a binary
            gripper command, which the official Vlaser code does not normalize).

    Statistics are stored as float32 and must be finite with `q99 >= q01`.
    """

    state_q01: np.ndarray
    state_q99: np.ndarray
    action_q01: np.ndarray
    action_q99: np.ndarray
    raw_state_dims: tuple[int, ...] = ()
    raw_action_dims: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for prefix in ("state", "action"):
            low = _as_stat_vector(getattr(self, f"{prefix}_q01"), f"{prefix}_q01")
            high = _as_stat_vector(getattr(self, f"{prefix}_q99"), f"{prefix}_q99")
            if low.shape != high.shape:
                raise ValueError(
                    f"{prefix}_q01 has shape {low.shape} but {prefix}_q99 has shape {high.shape}; both must be "
                    f"({prefix}_dim,)"
                )
            if (high < low).any():
                bad = [int(i) for i in np.flatnonzero(high < low)]
                raise ValueError(f"{prefix}_q99 is smaller than {prefix}_q01 at dims {bad}")
            # Read-only: the same statistics are shared by every batch, and a silent in-place edit would corrupt them.
            low.flags.writeable = False
            high.flags.writeable = False
            setattr(self, f"{prefix}_q01", low)
            setattr(self, f"{prefix}_q99", high)
        self.raw_state_dims = _as_raw_dims(self.raw_state_dims, self.state_dim, "raw_state_dims")
        self.raw_action_dims = _as_raw_dims(self.raw_action_dims, self.action_dim, "raw_action_dims")

    @property
    def state_dim(self) -> int:
        """Number of state features."""
        return int(self.state_q01.shape[0])

    @property
    def action_dim(self) -> int:
        """Number of action features."""
        return int(self.action_q01.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ActionNormalizer):
            return NotImplemented
        # Bit-exact comparison: a saved and reloaded normalizer must reproduce the very same numbers.
        return (
            all(
                np.array_equal(getattr(self, name), getattr(other, name))
                for name in ("state_q01", "state_q99", "action_q01", "action_q99")
            )
            and self.raw_state_dims == other.raw_state_dims
            and self.raw_action_dims == other.raw_action_dims
        )

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(state_dim={self.state_dim}, action_dim={self.action_dim}, "
            f"raw_state_dims={self.raw_state_dims}, raw_action_dims={self.raw_action_dims})"
        )

    # ------------------------------------------------------------------------------------------------------------------
    # Transforms
    # ------------------------------------------------------------------------------------------------------------------

    def normalize_state(self, state: Any) -> Any:
        """Map raw states `(..., state_dim)` to [-1, 1] (raw dims unchanged)."""
        return self._transform(state, "state", self.state_q01, self.state_q99, self.raw_state_dims, inverse=False)

    def unnormalize_state(self, state: Any) -> Any:
        """Inverse of `normalize_state` (no clipping)."""
        return self._transform(state, "state", self.state_q01, self.state_q99, self.raw_state_dims, inverse=True)

    def normalize_actions(self, actions: Any) -> Any:
        """Map raw actions `(..., action_dim)` to [-1, 1] (raw dims unchanged)."""
        return self._transform(
            actions, "actions", self.action_q01, self.action_q99, self.raw_action_dims, inverse=False
        )

    def unnormalize_actions(self, actions: Any) -> Any:
        """Map normalized actions `(..., action_dim)` back to robot units (raw dims unchanged, no clipping)."""
        return self._transform(actions, "actions", self.action_q01, self.action_q99, self.raw_action_dims, inverse=True)

    def _transform(
        self,
        values: Any,
        name: str,
        q01: np.ndarray,
        q99: np.ndarray,
        raw_dims: tuple[int, ...],
        inverse: bool,
    ) -> Any:
        dim = q01.shape[0]
        if torch is not None and isinstance(values, torch.Tensor):
            self._check_shape(tuple(values.shape), dim, name)
            finite = torch.isfinite(values)
            if not bool(finite.all()):
                index = tuple(int(i) for i in (~finite).nonzero()[0].tolist())
                raise ValueError(f"{name} contains NaN/inf at index {index}")
            output_dtype = values.dtype if values.is_floating_point() else torch.float32
            # Half precision would round the statistics; compute in float32 (or float64 when given float64).
            compute_dtype = torch.float64 if values.dtype == torch.float64 else torch.float32
            x = values.to(compute_dtype)
            # np.array copies: torch warns on (and must not alias) the read-only statistics.
            low = torch.from_numpy(np.array(q01)).to(device=values.device, dtype=compute_dtype)
            high = torch.from_numpy(np.array(q99)).to(device=values.device, dtype=compute_dtype)
            raw_mask = np.zeros(dim, dtype=bool)
            raw_mask[list(raw_dims)] = True
            raw = torch.from_numpy(raw_mask).to(values.device)
            result = self._formula(x, low, high, inverse, clip=lambda t: t.clamp(-1.0, 1.0))
            return torch.where(raw, x, result).to(output_dtype)

        if isinstance(values, (str, bytes)):
            raise TypeError(f"{name} must be a numpy array or torch tensor of shape (..., {dim}), got a string")
        array = np.asarray(values)
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must be a numeric numpy array or torch tensor of shape (..., {dim}), got dtype {array.dtype}"
            )
        self._check_shape(array.shape, dim, name)
        finite = np.isfinite(array)
        if not finite.all():
            raise ValueError(f"{name} contains NaN/inf at index {_first_bad_index(finite)}")
        output_dtype = array.dtype if array.dtype.kind == "f" else np.dtype(np.float32)
        compute_dtype = np.float64 if array.dtype == np.float64 else np.float32
        x = array.astype(compute_dtype)
        raw = np.zeros(dim, dtype=bool)
        raw[list(raw_dims)] = True
        result = self._formula(
            x, q01.astype(compute_dtype), q99.astype(compute_dtype), inverse, clip=lambda a: np.clip(a, -1.0, 1.0)
        )
        return np.where(raw, x, result).astype(output_dtype)

    @staticmethod
    def _formula(x: Any, low: Any, high: Any, inverse: bool, clip) -> Any:
        span = high - low + _EPSILON
        if inverse:
            return (x + 1.0) / 2.0 * span + low
        return clip(2.0 * (x - low) / span - 1.0)

    @staticmethod
    def _check_shape(shape: tuple[int, ...], dim: int, name: str) -> None:
        if len(shape) == 0 or shape[-1] != dim:
            raise ValueError(f"{name} must have shape (..., {dim}) (last dimension = features), got shape {shape}")

    # ------------------------------------------------------------------------------------------------------------------
    # Construction and serialization
    # ------------------------------------------------------------------------------------------------------------------

    @classmethod
    def from_data(
        cls,
        states: Any,
        actions: Any,
        raw_state_dims: Iterable[int] = (),
        raw_action_dims: Iterable[int] = (),
    ) -> ActionNormalizer:
        """Compute the 1% and 99% quantiles (numpy's linear interpolation) of a dataset.

        Args:
            states: Array-like or tensor of shape `(..., state_dim)`; all leading dimensions are samples.
            actions: Array-like or tensor of shape `(..., action_dim)` (e.g. `(frames, chunk, action_dim)`).
            raw_state_dims, raw_action_dims: Dimensions to pass through unchanged.
        """
        state_matrix = _data_matrix(states, "states")
        action_matrix = _data_matrix(actions, "actions")
        return cls(
            state_q01=np.quantile(state_matrix, 0.01, axis=0),
            state_q99=np.quantile(state_matrix, 0.99, axis=0),
            action_q01=np.quantile(action_matrix, 0.01, axis=0),
            action_q99=np.quantile(action_matrix, 0.99, axis=0),
            raw_state_dims=raw_state_dims,
            raw_action_dims=raw_action_dims,
        )

    @classmethod
    def from_official_statistics(
        cls,
        path_or_dict: str | os.PathLike | Mapping[str, Any],
        raw_action_dims: Iterable[int] | None = None,
        raw_state_dims: Iterable[int] = (),
    ) -> ActionNormalizer:
        """Read an official Vlaser statistics file (`config/{bridge,fractal}_statistics.json`).

        It holds `{"action": {"p01": [...], "p99": [...], ...}, "proprio": {"p01": [...], "p99": [...], ...}, ...}`.
        The official code normalizes every proprio dimension and every action dimension except the last (the
        gripper), which is the default here.

        Args:
            path_or_dict: Path to the JSON file, or its parsed content.
            raw_action_dims (`Iterable[int]`, *optional*): Defaults to the last action dimension.
            raw_state_dims (`Iterable[int]`, *optional*): Defaults to none.
        """
        if isinstance(path_or_dict, Mapping):
            statistics = path_or_dict
        else:
            with open(path_or_dict, encoding="utf-8") as handle:
                statistics = json.load(handle)
        values = {}
        for section in ("action", "proprio"):
            if not isinstance(statistics.get(section), Mapping):
                raise ValueError(f"official statistics need a '{section}' object with 'p01' and 'p99' lists")
            for key in ("p01", "p99"):
                if key not in statistics[section]:
                    raise ValueError(f"official statistics miss '{section}.{key}'")
                values[f"{section}.{key}"] = statistics[section][key]
        if raw_action_dims is None:
            raw_action_dims = (len(values["action.p01"]) - 1,)
        return cls(
            state_q01=values["proprio.p01"],
            state_q99=values["proprio.p99"],
            action_q01=values["action.p01"],
            action_q99=values["action.p99"],
            raw_state_dims=raw_state_dims,
            raw_action_dims=raw_action_dims,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; floats are the exact float32 values, so `from_dict(to_dict())` is bit-exact."""
        return {
            "normalization": _FORMAT,
            "state": {
                "q01": [float(v) for v in self.state_q01],
                "q99": [float(v) for v in self.state_q99],
                "raw_dims": list(self.raw_state_dims),
            },
            "action": {
                "q01": [float(v) for v in self.action_q01],
                "q99": [float(v) for v in self.action_q99],
                "raw_dims": list(self.raw_action_dims),
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ActionNormalizer:
        """Inverse of `to_dict`."""
        if not isinstance(data, Mapping):
            raise TypeError(f"normalization statistics must be a JSON object, got {type(data).__name__}")
        if data.get("normalization", _FORMAT) != _FORMAT:
            raise ValueError(f"unsupported normalization {data['normalization']!r}; expected {_FORMAT!r}")
        fields: dict[str, Any] = {}
        for section in ("state", "action"):
            block = data.get(section)
            if not isinstance(block, Mapping):
                raise ValueError(f"normalization statistics need a '{section}' object with 'q01', 'q99', 'raw_dims'")
            for key in ("q01", "q99"):
                if key not in block:
                    raise ValueError(f"normalization statistics miss '{section}.{key}'")
                fields[f"{section}_{key}"] = block[key]
            fields[f"raw_{section}_dims"] = block.get("raw_dims", ())
        return cls(**fields)

    def to_json_file(self, path: str | os.PathLike) -> None:
        """Write `to_dict()` as JSON."""
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=2)
            handle.write("\n")

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> ActionNormalizer:
        """Read a file written by `to_json_file`."""
        with open(path, encoding="utf-8") as handle:
            try:
                data = json.load(handle)
            except json.JSONDecodeError as error:
                raise ValueError(f"{os.fspath(path)} is not valid JSON: {error}") from None
        return cls.from_dict(data)
