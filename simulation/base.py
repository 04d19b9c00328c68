"""The interface every simulated task implements, so that the recorder, the in-domain data engine and the
closed-loop evaluator never depend on a particular simulator.

Conventions (see DESIGN.md, "Episodes and annotations"):

* `reset(seed)` fixes everything random about an episode: the same seed gives the same initial scene.
* Observations are dicts of numpy arrays: `images` maps camera name -> (H, W, 3) uint8 (224 x 224 for what
  policies and data use), `state` is the robot's proprioception (float32, `state_dim`).
* Actions are float32 vectors of `action_dim` in the suite's own units (the recorder stores them raw; policies see
  them normalized by their processor).
* `annotations()` returns the DESIGN.md record for the current frame: cameras (K, T_world_cam, size), objects
  (name, category, bbox_visible, bbox_amodal, point, visible_fraction, xyz_base, xyz_cam), gripper (open, grasped),
  phase, phase_index, success. Rendering it may cost a segmentation pass, so callers ask only for recorded frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class TaskSpec:
    """What a task is: its name, its instruction template, its robot and its array sizes."""

    suite: str  # "widowx" | "aloha"
    name: str
    instruction: str
    robot_type: str
    state_names: tuple[str, ...]
    action_names: tuple[str, ...]
    cameras: dict[str, tuple[int, int]]  # name -> (height, width) of the recorded/queried images
    fps: int
    max_steps: int

    @property
    def state_dim(self) -> int:
        return len(self.state_names)

    @property
    def action_dim(self) -> int:
        return len(self.action_names)


@runtime_checkable
class SimEnv(Protocol):
    """One task of one suite. Implementations render only what is asked for (recorded or queried frames)."""

    spec: TaskSpec

    def reset(self, seed: int) -> dict[str, Any]:
        """Start an episode; returns the first observation {"images": {...}, "state": array}."""

    def step(self, action: np.ndarray, render: bool = True) -> tuple[dict[str, Any] | None, bool]:
        """Apply one action; returns (observation or None when `render` is False, success so far)."""

    def annotations(self) -> dict[str, Any]:
        """The DESIGN.md annotation record of the current frame (includes the expert phase when known)."""

    def success(self) -> bool:
        """Whether the task is accomplished now."""

    def close(self) -> None:
        """Release simulator and renderer resources."""


@runtime_checkable
class ScriptedExpert(Protocol):
    """A privileged controller for one task: reads the simulator state, not the images."""

    def reset(self, env: SimEnv) -> None:
        """Plan for the episode that `env` just started."""

    def act(self, env: SimEnv) -> tuple[np.ndarray, str]:
        """The next action and the current phase label (approach, grasp, lift, move, place, release, ...)."""
