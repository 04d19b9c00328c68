"""Confidence intervals for success rates.

Why Wilson and not the normal approximation: closed-loop evaluations run tens of episodes per task and success rates
near 0 or 1 are common; the Wald interval collapses to zero width there (0/10 would claim certainty), while the
Wilson score interval stays inside [0, 1] and keeps a sensible width.
"""

from __future__ import annotations

import math

Z_95 = 1.959963984540054  # the two-sided 95 % quantile of the standard normal


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval (low, high) of a binomial proportion; (0, 1) when there are no trials."""
    if trials < 0 or not 0 <= successes <= max(trials, 0):
        raise ValueError(f"need 0 <= successes <= trials, got {successes}/{trials}")
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    z2 = z * z
    denominator = 1.0 + z2 / trials
    center = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # Clamp the rounding noise at the ends (k = 0 or k = n give exactly 0 or 1 analytically).
    return max(0.0, center - half), min(1.0, center + half)
