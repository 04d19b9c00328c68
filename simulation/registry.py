"""Find a suite's tasks and experts by name, importing the suite only when it is asked for.

Why lazy: the suites have heavy, independent dependencies (ManiSkill3 + SAPIEN + torch for `widowx`, MuJoCo +
gym-aloha assets for `aloha`); a machine with one of them must be able to record and evaluate that one. Every suite
package exposes ``TASKS: dict[str, Callable[..., SimEnv]]`` (keyword options such as ``cameras`` or
``image_size``) and ``EXPERTS: dict[str, Callable[[], ScriptedExpert]]``; this module is the only place that maps
suite names to packages, so the recorder, the closed-loop evaluator and the data engine agree.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from simulation.base import ScriptedExpert, SimEnv

SUITES: dict[str, str] = {
    "aloha": "simulation.aloha",
    "widowx": "simulation.widowx",
}
_INSTALL_HINT = {
    "aloha": "pip install -c requirements/constraints.txt -e '.[sim]' (mujoco and gym-aloha)",
    "widowx": "pip install -c requirements/constraints.txt -e '.[sim]' (mani-skill and sapien; Mesa 25 lavapipe)",
}


class UnknownTaskError(KeyError):
    """A suite or task name that is not registered; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


def suite_module(suite: str) -> ModuleType:
    """Import and return the package of `suite` (``simulation.aloha`` or ``simulation.widowx``)."""
    if suite not in SUITES:
        raise UnknownTaskError(f"unknown suite {suite!r}: expected one of {sorted(SUITES)}")
    name = SUITES[suite]
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name == name:
            raise UnknownTaskError(f"suite {suite!r} is registered but its package {name} is not present") from err
        raise ImportError(
            f"suite {suite!r} cannot be imported: {err}. Install its dependencies: {_INSTALL_HINT[suite]}"
        ) from err
    for attribute in ("TASKS", "EXPERTS"):
        if not isinstance(getattr(module, attribute, None), dict):
            raise TypeError(f"{name} must define {attribute} as a dict of task name -> factory")
    return module


def task_names(suite: str) -> list[str]:
    return sorted(suite_module(suite).TASKS)


def _check_task(suite: str, task: str, table: dict[str, Any]) -> None:
    if task not in table:
        raise UnknownTaskError(f"unknown {suite} task {task!r}: expected one of {sorted(table)}")


def make_env(suite: str, task: str, **options: Any) -> SimEnv:
    """A new environment for `task` of `suite`; `options` go to the suite's factory (cameras, image_size, ...)."""
    tasks = suite_module(suite).TASKS
    _check_task(suite, task, tasks)
    return tasks[task](**options)


def make_expert(suite: str, task: str) -> ScriptedExpert:
    """A new scripted expert for `task` of `suite`."""
    experts = suite_module(suite).EXPERTS
    _check_task(suite, task, experts)
    return experts[task]()
