"""A small text-only household environment implementing `eval.reasoning.embodiedbench.PlanningEnvironment`.

It stands in for AI2-THOR/Habitat in tests of the EmbodiedBench planner protocol: an apple starts on the counter and
the goal is to put it in the fridge. Actions follow EB-ALFRED's wording; preconditions produce EmbodiedBench-style
feedback ("Last action is invalid. ...").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eval.reasoning.embodiedbench import PlanningObservation, PlanningStep

ACTIONS = [
    "find a apple",
    "pick up the apple",
    "find a fridge",
    "open the fridge",
    "put down the object in hand",
    "close the fridge",
]
SOLUTION = [0, 1, 2, 3, 4]


class TextKitchen:
    """One episode per entry of `episodes` (dicts with an `instruction`, as EB-ALFRED's split entries)."""

    max_episode_steps = 30
    max_invalid_actions = 10

    def __init__(self, episodes: Sequence[dict[str, Any]]) -> None:
        self.episodes = list(episodes)
        self.number_of_episodes = len(self.episodes)
        self.current = -1
        self.closed = False

    def reset(self) -> PlanningObservation:
        self.current += 1
        self.state = {"at": None, "holding": None, "fridge_open": False, "apple_in_fridge": False}
        self.steps = 0
        return PlanningObservation(self.episodes[self.current]["instruction"], list(ACTIONS), None)

    def _apply(self, action: str) -> str | None:
        state = self.state
        if action.startswith("find a "):
            state["at"] = action.removeprefix("find a ")
        elif action == "pick up the apple":
            if state["at"] != "apple" or state["holding"]:
                return "The apple is not within reach."
            state["holding"] = "apple"
        elif action == "open the fridge":
            if state["at"] != "fridge":
                return "The fridge is not within reach."
            state["fridge_open"] = True
        elif action == "close the fridge":
            state["fridge_open"] = False
        elif action == "put down the object in hand":
            if not state["holding"]:
                return "Nothing in hand."
            if state["at"] == "fridge" and not state["fridge_open"]:
                return "The fridge is closed."
            state["apple_in_fridge"] = state["at"] == "fridge"
            state["holding"] = None
        return None

    def step(self, action_id: int) -> PlanningStep:
        self.steps += 1
        error = self._apply(ACTIONS[action_id])
        success = float(self.state["apple_in_fridge"])
        progress = (self.state["holding"] == "apple" or success) * 0.5 + success * 0.5
        feedback = "Last action executed successfully." if error is None else f"Last action is invalid. {error}"
        done = bool(success) or self.steps >= self.max_episode_steps
        return PlanningStep(None, done, success, progress, error is None, feedback)

    def close(self) -> None:
        self.closed = True


def factory(eval_set: str, episodes: Sequence[dict[str, Any]]) -> TextKitchen:
    """The `EnvironmentFactory` the runner calls per EmbodiedBench subset."""
    return TextKitchen(episodes)
