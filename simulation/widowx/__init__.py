"""The real SimplerEnv Bridge (WidowX) tasks in ManiSkill3, with scripted experts and annotations.

`TASKS` maps short task names to environment factories and `EXPERTS` to expert factories. Importing this package
does not import ManiSkill (machines without the `sim` extra can still use the other suites); making a task does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from simulation.widowx.tasks import WIDOWX_TASKS


def make_env(task: str, **kwargs: Any) -> Any:
    """A `WidowXEnv` for `task` (see `simulation.widowx.env.WidowXEnv` for the keyword arguments)."""
    from simulation.widowx.env import WidowXEnv

    return WidowXEnv(task, **kwargs)


def make_expert(task: str) -> Any:
    """The scripted expert for `task`."""
    from simulation.widowx.expert import WidowXExpert

    return WidowXExpert(task)


TASKS: dict[str, Callable[..., Any]] = {name: partial(make_env, name) for name in WIDOWX_TASKS}
EXPERTS: dict[str, Callable[[], Any]] = {name: partial(make_expert, name) for name in WIDOWX_TASKS}

__all__ = ["EXPERTS", "TASKS", "WIDOWX_TASKS", "make_env", "make_expert"]
