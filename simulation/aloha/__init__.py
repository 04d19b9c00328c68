"""Bimanual ALOHA (two ViperX 300s) in MuJoCo: the RoboTwin Aloha-AgileX stand-in of VLASER's simulation suites.

`TASKS[name](**options)` builds an `AlohaEnv` (options: cameras, image_size, fps, msaa_samples) and
`EXPERTS[name]()` its scripted expert. Importing this package selects MuJoCo's offscreen GL backend (EGL, or OSMesa
where EGL is missing) before MuJoCo itself is imported; the assets are read from the installed gym-aloha wheel.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

# Sets MUJOCO_GL before anything imports mujoco; every submodule is imported through this package, after it.
from . import _gl  # noqa: F401  # isort: split
from .env import AlohaEnv
from .experts import EXPERT_CLASSES, ScriptedAlohaExpert
from .tasks import TASK_CLASSES

TASKS: dict[str, Callable[..., AlohaEnv]] = {name: partial(AlohaEnv, name) for name in TASK_CLASSES}
EXPERTS: dict[str, Callable[[], ScriptedAlohaExpert]] = dict(EXPERT_CLASSES)

__all__ = ["EXPERTS", "TASKS", "AlohaEnv", "ScriptedAlohaExpert"]
