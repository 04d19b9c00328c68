"""The EmbodiedBench planner protocol against the test's text environment: plans, re-planning on failed actions,
invalid and empty plans, the step budget, and the success rate."""

from __future__ import annotations

import json
import re

import pytest

from eval.reasoning import EBAlfred, EBHabitat, EmbodiedPlanner, PlanningEnvironment, run_episode
from eval.reasoning.base import LoadResult
from tests.eval.text_env import SOLUTION, TextKitchen, factory

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def plan(*actions: int) -> str:
    return json.dumps(
        {
            "visual_state_description": "a kitchen",
            "reasoning_and_reflection": "...",
            "language_plan": "...",
            "executable_plan": [{"action_id": action, "action_name": ""} for action in actions],
        }
    )


class Scripted:
    """A `generate` replacement answering from a script keyed by (instruction, planning round), recording prompts."""

    def __init__(self, script):
        self.script, self.prompts, self.rounds = script, [], {}

    def __call__(self, requests):
        answers = []
        for request in requests:
            self.prompts.append(request.prompt)
            instruction = re.search(r"the human instruction is: (.*?)\.", request.prompt).group(1)
            step = self.rounds.get(instruction, 0)
            self.rounds[instruction] = step + 1
            answers.append(self.script[instruction][min(step, len(self.script[instruction]) - 1)])
        return answers


def test_text_environment_implements_the_interface():
    assert isinstance(TextKitchen([{"instruction": "x"}]), PlanningEnvironment)


def test_successful_plan_ends_the_episode():
    generate = Scripted({"Put the apple in the fridge": [plan(*SOLUTION)]})
    result = run_episode(TextKitchen([{"instruction": "Put the apple in the fridge."}]), EmbodiedPlanner(generate))
    assert (result.task_success, result.env_steps, result.planner_steps) == (1.0, 5, 1)
    assert "action id 0: find a apple" in generate.prompts[0] and "executable_plan" in generate.prompts[0]


def test_failed_action_triggers_replanning_with_feedback():
    # [0, 2, 1]: find apple ok, find fridge ok, pick up the apple fails (not at the apple) -> re-plan; then the solution
    generate = Scripted({"Chill an apple": [plan(0, 2, 1), plan(*SOLUTION)]})
    result = run_episode(TextKitchen([{"instruction": "Chill an apple"}]), EmbodiedPlanner(generate))
    assert (result.task_success, result.env_steps, result.planner_steps, result.failed_actions) == (1.0, 8, 2, 1)
    history = generate.prompts[1]
    assert "Step 2, action id 1, pick up the apple, env feedback: Last action is invalid. The apple is not" in history


def test_invalid_answers_end_the_episode_after_max_invalid_actions():
    generate = Scripted({"Chill an apple": ["I would open the fridge"]})
    env = TextKitchen([{"instruction": "Chill an apple"}])
    result = run_episode(env, EmbodiedPlanner(generate))
    assert (result.task_success, result.env_steps, result.invalid_plans) == (0.0, 0, env.max_invalid_actions)
    assert len(generate.prompts) == env.max_invalid_actions


def test_empty_plan_stops_and_the_step_budget_cuts_plans():
    generate = Scripted({"Chill an apple": [plan(0), plan()]})
    result = run_episode(TextKitchen([{"instruction": "Chill an apple"}]), EmbodiedPlanner(generate))
    assert (result.env_steps, result.planner_steps) == (1, 2)
    env = TextKitchen([{"instruction": "Chill an apple"}])
    env.max_episode_steps = 3
    long = Scripted({"Chill an apple": [plan(0, 2, 0, 2, 0, 2)]})
    result = run_episode(env, EmbodiedPlanner(long))
    assert (result.env_steps, result.task_success) == (3, 0.0)


def test_eb_alfred_success_rate_by_hand(data_dir):
    benchmark = EBAlfred()
    skipped = LoadResult([])
    subsets = benchmark.load_subsets(data_dir / "EB-ALFRED", skipped)
    assert {name: len(episodes) for name, episodes in subsets.items() if episodes} == {"base": 2, "spatial": 1}
    assert skipped.skipped_reasons() == {"split entry without task or instruction": 1}
    generate = Scripted(
        {
            "Put the apple in the fridge": [plan(*SOLUTION)],  # success
            "Chill an apple": [plan(0, 2, 1), plan()],  # fails, then gives up: failure
            "Store the apple in the cold box": ["{broken", "no plan", plan(*SOLUTION)],  # 2 invalid, then success
        }
    )
    episodes, score = benchmark.evaluate(subsets, factory, generate)
    assert [episode.task_success for episode in episodes] == [1.0, 0.0, 1.0]
    assert score.score == pytest.approx(200 / 3)
    assert score.categories == pytest.approx({"base": 50.0, "spatial": 100.0})
    assert episodes[2].invalid_plans == 2


def test_habitat_loader_lists_dataset_files(tmp_path):
    (tmp_path / "datasets").mkdir()
    for name in ("base", "spatial_relationship", "unrelated"):
        (tmp_path / "datasets" / f"{name}.pickle").write_bytes(b"")
    subsets = EBHabitat().load_subsets(tmp_path)
    assert sorted(subsets) == ["base", "spatial_relationship"]
    with pytest.raises(ValueError, match="eval sets must be among"):
        EBHabitat(eval_sets="kitchen")
