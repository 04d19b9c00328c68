"""The policies the evaluator can run, and how a `--policy` argument becomes one.

A policy is any object with ``predict_action(images, instruction, state) -> (1, P, action_dim)`` raw actions. The
evaluator reads the chunk length P and the number H of actions it executes before asking again from
``policy.config.chunk_size`` / ``policy.config.n_action_steps`` (a VLASER policy), else from ``policy.chunk_size`` /
``policy.n_action_steps``, else it executes the whole chunk. An optional ``reset_episode(env, seed)`` is called after
every ``env.reset(seed)``: the scripted expert needs the simulator, the random policy a seed. A policy whose
``needs_observations`` is False is never given rendered images (the expert reads the simulator state), which lets
the evaluator skip rendering entirely for it.

Which cameras a VLASER policy sees: all the environment's cameras, in the environment's order (for ALOHA: top,
left_wrist, right_wrist) as a batch of one sample, ``[[top, left_wrist, right_wrist]]`` of (H, W, 3) uint8 arrays (the
VLASER processor reads a flat list as a batch of samples); a single camera is passed as one image. This is the order
the recorder writes them in, so it is the order a policy trained on recorded data expects.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from simulation.base import SimEnv
from simulation.registry import make_expert

EXPERT = "expert"
RANDOM = "random"
RANGE_SEEDS = (0, 1)  # recording seeds (disjoint from evaluation seeds) whose expert actions define "the data range"


class ExpertPolicy:
    """The suite's scripted expert behind the policy interface: one action per query, read from the simulator."""

    chunk_size = 1
    n_action_steps = 1
    needs_observations = False

    def __init__(self, suite: str, task: str) -> None:
        self.suite, self.task = suite, task
        self.expert = make_expert(suite, task)
        self.env: SimEnv | None = None

    def reset_episode(self, env: SimEnv, seed: int) -> None:
        self.env = env
        self.expert = make_expert(self.suite, self.task)  # experts keep per-episode plans: a fresh one per episode
        self.expert.reset(env)

    def predict_action(self, images: Any, instruction: str, state: Any) -> np.ndarray:
        if self.env is None:
            raise RuntimeError("ExpertPolicy.reset_episode(env, seed) must be called before predict_action")
        action, _phase = self.expert.act(self.env)  # after "done" the expert holds its pose, which is what we want
        return np.asarray(action, dtype=np.float32)[None, None]


class RandomPolicy:
    """Uniform actions in [low, high]: the floor every learned policy must beat. Seeded per episode, so its
    results do not depend on how episodes are spread over workers."""

    needs_observations = False

    def __init__(self, low: np.ndarray, high: np.ndarray, chunk_size: int = 4, n_action_steps: int = 4) -> None:
        self.low, self.high = np.asarray(low, np.float32), np.asarray(high, np.float32)
        self.chunk_size, self.n_action_steps = chunk_size, n_action_steps
        self.rng = np.random.default_rng(0)

    def reset_episode(self, env: SimEnv, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def predict_action(self, images: Any, instruction: str, state: Any) -> np.ndarray:
        chunk = self.rng.uniform(self.low, self.high, size=(1, self.chunk_size, self.low.shape[0]))
        return chunk.astype(np.float32)


def expert_action_range(env: SimEnv, suite: str, task: str) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of the expert's actions over a few recording seeds: the range of the data a policy for this task
    would be trained on (there is no suite-independent notion of action limits). Leaves `env` mid-episode, so callers
    reset it afterwards."""
    actions = []
    for seed in RANGE_SEEDS:
        env.reset(seed)
        expert = make_expert(suite, task)
        expert.reset(env)
        for _ in range(env.spec.max_steps):
            action, phase = expert.act(env)
            if phase == "done":
                break
            actions.append(np.asarray(action, dtype=np.float32))
            env.step(action, render=False)
    stacked = np.stack(actions)
    return stacked.min(axis=0), stacked.max(axis=0)


def load_checkpoint(path_or_repo_id: str | os.PathLike, device: str | None = None) -> Any:
    """A VLASER checkpoint folder or Hub repo id as a `VlaserPolicy` (imported here: torch only when needed)."""
    from modeling_vlaser.policy import VlaserPolicy

    policy = VlaserPolicy.from_pretrained(path_or_repo_id)
    if device:
        policy.model.to(device)
    return policy


def chunk_lengths(policy: Any, chunk: np.ndarray | None = None) -> tuple[int | None, int | None]:
    """(P, H) declared by the policy, see the module docstring; (None, None) when it declares neither."""
    config = getattr(policy, "config", None)
    for source in (config, policy):
        size = getattr(source, "chunk_size", None)
        steps = getattr(source, "n_action_steps", None)
        if isinstance(size, int) or isinstance(steps, int):
            return size, steps
    return None, None
