"""Closed-loop evaluation of policies in the simulated suites (`vlaser eval closed-loop`); see `runner`."""

from .policies import ExpertPolicy, RandomPolicy
from .runner import DEFAULT_START_SEED, ClosedLoopConfig, rollout, run_closed_loop_eval
from .stats import wilson_interval

__all__ = [
    "DEFAULT_START_SEED",
    "ClosedLoopConfig",
    "ExpertPolicy",
    "RandomPolicy",
    "rollout",
    "run_closed_loop_eval",
    "wilson_interval",
]
