# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""EmbodiedBench's high-level planning protocol (EB-ALFRED, EB-Habitat), against a documented environment interface.

EB-ALFRED runs in AI2-THOR and EB-Habitat in Habitat 2.0; neither runs here, so this module implements the planner
side of EmbodiedBench (`embodiedbench/planner/vlm_planner.py`, `evaluator/eb_alfred_evaluator.py`) and talks to any
environment that implements `PlanningEnvironment`. Without an environment the runner reports both as "not run".

One episode (as EmbodiedBench's evaluator):

1. `env.reset()` gives the instruction, the episode's action list (EB-ALFRED adds actions per scene) and an image;
2. the planner prompts the model with the numbered action list, the instruction, the action history with the
   environment's feedback, and the current image, and asks for a JSON object with `visual_state_description`,
   `reasoning_and_reflection`, `language_plan` and `executable_plan` = `[{"action_id": int, "action_name": str}, ...]`;
3. the plan is executed action by action until the episode ends or an action fails (then the planner re-plans from the
   feedback); the plan is cut to the steps left in the budget (`max_episode_steps`, 30 in EB-ALFRED);
4. an answer without a decodable plan is an invalid action (nothing executed; the episode ends after
   `max_invalid_actions`, 10); an empty plan ends the episode; ids outside the action list truncate the plan there
   (an invalid first id makes the whole answer invalid);
5. the episode's `task_success` (and `task_progress`) is the one of the last step.

The metric is the success rate over episodes (`embodiedbench_success_rate`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from PIL import Image

from .base import Benchmark, BenchmarkScore, LoadContext, LoadResult, Sample, find_files, load_metric
from .parsing import extract_json

INVALID_PLAN = -1
EMPTY_PLAN = -2

ALFRED_EVAL_SETS = ("base", "common_sense", "complex_instruction", "spatial", "visual_appearance", "long_horizon")
HABITAT_EVAL_SETS = (
    "base",
    "common_sense",
    "complex_instruction",
    "spatial_relationship",
    "visual_appearance",
    "long_horizon",
)


# ----------------------------------------------------------------------------------------------------------------------
# Environment interface
# ----------------------------------------------------------------------------------------------------------------------


@dataclass
class PlanningObservation:
    """What an environment shows at the start of an episode.

    Attributes:
        instruction (`str`): The human instruction of the episode.
        actions (`list[str]`): The executable actions, by id (the planner lists them as "action id i: ...").
        image (`PIL.Image.Image`, *optional*): The agent's current view; `None` for text-only environments.
    """

    instruction: str
    actions: list[str]
    image: Image.Image | None = None


@dataclass
class PlanningStep:
    """The outcome of one action.

    Attributes:
        image: The new view (`None` for text-only environments).
        done (`bool`): The episode is over (goal reached, step budget spent or too many invalid actions).
        task_success (`float`): 1.0 when every goal condition holds.
        task_progress (`float`): Fraction of goal conditions met.
        last_action_success (`bool`): Whether the action could be executed.
        feedback (`str`): EmbodiedBench's `env_feedback` sentence ("Last action executed successfully." / "Last action
            is invalid. ...").
        reward (`float`): The environment's reward (logged, not scored).
    """

    image: Image.Image | None
    done: bool
    task_success: float
    task_progress: float
    last_action_success: bool
    feedback: str
    reward: float = 0.0


@runtime_checkable
class PlanningEnvironment(Protocol):
    """The environment contract the planner loop uses: a subset of EmbodiedBench's `EBAlfEnv`/`EBHabEnv`.

    Attributes:
        number_of_episodes (`int`): Episodes in this environment (one EmbodiedBench subset).
        max_episode_steps (`int`): Executed actions per episode (EB-ALFRED: 30).
        max_invalid_actions (`int`): Undecodable plans tolerated per episode (EB-ALFRED: 10).
    """

    number_of_episodes: int
    max_episode_steps: int
    max_invalid_actions: int

    def reset(self) -> PlanningObservation:
        """Start the next episode."""

    def step(self, action_id: int) -> PlanningStep:
        """Execute the action with this id in the current episode."""


EnvironmentFactory = Callable[[str, Sequence[Any]], PlanningEnvironment]
"""`factory(eval_set, episodes)` -> a `PlanningEnvironment` over that subset's episodes (as read by the benchmark's
loader: EB-ALFRED split entries, EB-Habitat dataset file paths)."""


# ----------------------------------------------------------------------------------------------------------------------
# Planner
# ----------------------------------------------------------------------------------------------------------------------

SYSTEM_PROMPT = """## You are a robot operating in a home. Given a human instruction, you plan a sequence of actions, chosen from the available actions, that achieves the goal.

## Available actions (id: action):{actions}

## Rules
- Use only the action ids listed above (0 ~ {last_id}).
- Find an object before you interact with it; hold at most one object at a time.
- When an action fails, read the environment feedback and plan again from the current state.
{examples}"""

OUTPUT_FORMAT = """

Answer with one JSON object and nothing else:
{"visual_state_description": "what you see now", "reasoning_and_reflection": "your reasoning, and why earlier actions failed if any", "language_plan": "the plan in words", "executable_plan": [{"action_id": <int>, "action_name": "<action text>"}, ...]}"""


def parse_plan(text: Any, number_of_actions: int) -> int | list[int]:
    """EmbodiedBench's `json_to_action`, tolerant of code fences and trailing commas: the ids of
    `executable_plan`, cut before the first id outside `0..number_of_actions-1`; `INVALID_PLAN` when nothing decodes
    or the first id is invalid; `EMPTY_PLAN` for an empty plan. Never raises."""
    value = extract_json(text, expect=dict)
    if not isinstance(value, dict) or not isinstance(value.get("executable_plan"), list):
        return INVALID_PLAN
    plan = value["executable_plan"]
    if not plan:
        return EMPTY_PLAN
    ids: list[int] = []
    for item in plan:
        raw = item.get("action_id") if isinstance(item, dict) else item
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            action = None
        elif isinstance(raw, str):
            try:
                action = int(raw.strip())
            except ValueError:  # not a number, or past int()'s digit limit
                action = None
        else:
            action = raw
        if action is None or not 0 <= action < number_of_actions:
            return ids if ids else INVALID_PLAN
        ids.append(action)
    return ids


@dataclass
class PlannerRequest:
    """One planning query for the model: prompt text (with `<image>` when there is an image) and images."""

    prompt: str
    images: list[Image.Image] = field(default_factory=list)
    max_new_tokens: int = 1024


class EmbodiedPlanner:
    """The VLM planner of EmbodiedBench (no chat history, environment feedback on, `n_shot` examples).

    Args:
        generate: `generate(requests) -> answers`, one answer per `PlannerRequest` (the runner's batched generator).
        examples: In-context examples (EmbodiedBench ships its own; none by default).
        max_new_tokens: Generation budget per plan.
    """

    def __init__(
        self,
        generate: Callable[[list[PlannerRequest]], list[str]],
        examples: Sequence[str] = (),
        max_new_tokens: int = 1024,
    ) -> None:
        self.generate = generate
        self.examples = list(examples)
        self.max_new_tokens = max_new_tokens
        self.reset([])

    def reset(self, actions: Sequence[str]) -> None:
        self.actions = list(actions)
        self.history: list[tuple[int, str]] = []
        self.planner_steps = 0
        self.json_errors = 0

    def prompt(self, instruction: str, with_image: bool) -> str:
        listing = "".join(f"\naction id {index}: {action}," for index, action in enumerate(self.actions)).rstrip(",")
        examples = "".join(f"\n## Example {index}:\n{example}\n" for index, example in enumerate(self.examples))
        text = SYSTEM_PROMPT.format(actions=listing, last_id=len(self.actions) - 1, examples=examples)
        text += f"\n## Now the human instruction is: {instruction.rstrip('.')}."
        if self.history:
            text += "\n\nThe action history:"
            for step, (action, feedback) in enumerate(self.history):
                text += f"\nStep {step}, action id {action}, {self.actions[action]}, env feedback: {feedback}"
            text += (
                "\n\nConsidering the action history"
                + (" and the current image" if with_image else "")
                + ", explain why the last plan did not finish the task and plan again from the current state."
            )
        else:
            text += " Describe the current state" + (" from the image" if with_image else "") + ", reason, and plan."
        text += OUTPUT_FORMAT
        return ("<image>\n" + text) if with_image else text

    def act(self, image: Image.Image | None, instruction: str) -> tuple[int | list[int], str]:
        request = PlannerRequest(
            self.prompt(instruction, image is not None), [image] if image is not None else [], self.max_new_tokens
        )
        answer = self.generate([request])[0]
        self.planner_steps += 1
        plan = parse_plan(answer, len(self.actions))
        if plan == INVALID_PLAN:
            self.json_errors += 1
        return plan, answer

    def update(self, action: int, feedback: str) -> None:
        self.history.append((action, feedback))


@dataclass
class EpisodeResult:
    """What one episode produced (EmbodiedBench's per-episode result record, reduced)."""

    eval_set: str
    instruction: str
    task_success: float
    task_progress: float
    env_steps: int
    planner_steps: int
    invalid_plans: int
    failed_actions: int
    answers: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_episode(env: PlanningEnvironment, planner: EmbodiedPlanner, eval_set: str = "") -> EpisodeResult:
    """Run one episode of `env` with `planner` (the loop of EmbodiedBench's `EB_AlfredEvaluator.evaluate`)."""
    observation = env.reset()
    planner.reset(observation.actions)
    image, steps, invalid, failed = observation.image, 0, 0, 0
    success = progress = 0.0
    answers: list[str] = []
    done = False
    while not done:
        plan, answer = planner.act(image, observation.instruction)
        answers.append(answer)
        if plan == EMPTY_PLAN:
            break
        if plan == INVALID_PLAN:
            invalid += 1
            if invalid >= env.max_invalid_actions:
                break
            continue
        budget = env.max_episode_steps - steps
        if budget <= 0:
            break
        for action in plan[:budget]:
            outcome = env.step(action)
            steps += 1
            planner.update(action, outcome.feedback)
            image = outcome.image if outcome.image is not None else image
            success, progress = float(outcome.task_success), float(outcome.task_progress)
            failed += not outcome.last_action_success
            done = bool(outcome.done) or steps >= env.max_episode_steps
            if done or not outcome.last_action_success:
                break
    return EpisodeResult(
        eval_set, observation.instruction, success, progress, steps, planner.planner_steps, invalid, failed, answers
    )


# ----------------------------------------------------------------------------------------------------------------------
# Benchmarks
# ----------------------------------------------------------------------------------------------------------------------


class EmbodiedBenchmark(Benchmark):
    """A closed-loop EmbodiedBench environment family: the loader reads the published episode lists; `evaluate`
    runs them through environments made by an `EnvironmentFactory`."""

    closed_loop = True
    metric_name = "embodiedbench_success_rate"
    max_new_tokens = 1024
    eval_sets: tuple[str, ...] = ()
    simulator = ""

    def __init__(self, eval_sets: Sequence[str] | str | None = None, examples: Sequence[str] = ()) -> None:
        if isinstance(eval_sets, str):
            eval_sets = [name.strip() for name in eval_sets.split(",") if name.strip()]
        selected = tuple(eval_sets) if eval_sets else self.eval_sets
        unknown = [name for name in selected if name not in self.eval_sets]
        if unknown:
            raise ValueError(f"{self.display_name} eval sets must be among {', '.join(self.eval_sets)}, got {unknown}")
        self.selected_eval_sets = selected
        self.examples = list(examples)

    def not_run_reason(self) -> str:
        return (
            f"closed-loop in {self.simulator}, which this run has no environment for; pass an environment factory "
            f"(`--environments {self.name}=package.module:factory`) implementing "
            "`eval.reasoning.embodiedbench.PlanningEnvironment`"
        )

    def load_subsets(self, root: Path, result: LoadResult | None = None) -> dict[str, list[Any]]:
        """`{eval_set: episodes}` from the published layout; malformed entries are skipped into `result`."""
        raise NotImplementedError

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        result = LoadResult([])
        subsets = self.load_subsets(root, result)
        result.source = f"{root} ({', '.join(f'{k}: {len(v)}' for k, v in subsets.items())})"
        return result

    def parse(self, answer: str, sample: Sample) -> Any:
        return parse_plan(answer, int(sample.reference.get("number_of_actions", 0)))

    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        raise NotImplementedError("EmbodiedBench is scored per episode: use `evaluate`")

    def evaluate(
        self,
        subsets: dict[str, list[Any]],
        factory: EnvironmentFactory,
        generate: Callable[[list[PlannerRequest]], list[str]],
        limit: int | None = None,
        on_episode: Callable[[EpisodeResult], None] | None = None,
    ) -> tuple[list[EpisodeResult], BenchmarkScore]:
        """Run every episode of the selected subsets (at most `limit` per subset) and score the success rate."""
        results: list[EpisodeResult] = []
        planner = EmbodiedPlanner(generate, self.examples, self.max_new_tokens)
        for eval_set in self.selected_eval_sets:
            if eval_set not in subsets:
                continue
            env = factory(eval_set, subsets[eval_set])
            if not isinstance(env, PlanningEnvironment):
                raise TypeError(f"the environment factory returned a {type(env).__name__}, not a PlanningEnvironment")
            try:
                episodes = env.number_of_episodes if limit is None else min(limit, env.number_of_episodes)
                for _ in range(episodes):
                    result = run_episode(env, planner, eval_set)
                    results.append(result)
                    if on_episode is not None:
                        on_episode(result)
            finally:
                close = getattr(env, "close", None)
                if callable(close):
                    close()
        return results, self.score_episodes(results)

    def score_episodes(self, results: Sequence[EpisodeResult]) -> BenchmarkScore:
        if not results:
            return BenchmarkScore(score=float("nan"))
        output = load_metric(self.metric_name).compute(
            predictions=[{"task_success": r.task_success, "task_progress": r.task_progress} for r in results],
            references=[{"eval_set": r.eval_set} for r in results],
        )
        return self.summarize(output)


class EBAlfred(EmbodiedBenchmark):
    name = "eb_alfred"
    display_name = "EB-ALFRED"
    paper_column = "EB-A"
    hub_id = "EmbodiedBench/EB-ALFRED"
    local_dirnames = ("EB-ALFRED", "eb_alfred", "EmbodiedBench/EB-ALFRED")
    how_to_obtain = (
        "EmbodiedBench (github.com/EmbodiedBench/EmbodiedBench): `envs/eb_alfred/data/splits/splits.json` plus the "
        "ALFRED trajectories of the Hub dataset EmbodiedBench/EB-ALFRED; running it needs AI2-THOR."
    )
    eval_sets = ALFRED_EVAL_SETS
    simulator = "AI2-THOR (ALFRED)"

    def is_data_dir(self, path: Path) -> bool:
        return path.is_dir() and bool(find_files(path, "splits.json"))

    def load_subsets(self, root: Path, result: LoadResult | None = None) -> dict[str, list[Any]]:
        files = find_files(root, "splits.json")
        if not files:
            raise FileNotFoundError(f"{root}: no splits.json")
        try:
            splits = json.loads(files[0].read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{files[0]}: not valid JSON ({error.msg})") from None
        if not isinstance(splits, dict):
            raise ValueError(f"{files[0]}: expected an object {{eval_set: [episodes]}}, got {type(splits).__name__}")
        subsets = {}
        for eval_set in self.selected_eval_sets:
            subsets[eval_set] = []
            for index, episode in enumerate(splits.get(eval_set) or []):
                if isinstance(episode, dict) and isinstance(episode.get("instruction"), str) and episode.get("task"):
                    subsets[eval_set].append(episode)
                elif result is not None:
                    result.skip(f"{eval_set}:{index}", "split entry without task or instruction")
        return subsets


class EBHabitat(EmbodiedBenchmark):
    name = "eb_habitat"
    display_name = "EB-Habitat"
    paper_column = "EB-H"
    hub_id = None
    local_dirnames = ("EB-Habitat", "eb_habitat", "EmbodiedBench/EB-Habitat")
    how_to_obtain = (
        "EmbodiedBench (github.com/EmbodiedBench/EmbodiedBench): `envs/eb_habitat/datasets/<eval_set>.pickle`; running "
        "it needs Habitat 2.0 and its rearrange_task_assets."
    )
    eval_sets = HABITAT_EVAL_SETS
    simulator = "Habitat 2.0"

    def is_data_dir(self, path: Path) -> bool:
        return path.is_dir() and bool(find_files(path, "*.pickle"))

    def load_subsets(self, root: Path, result: LoadResult | None = None) -> dict[str, list[Any]]:
        """The episode files per subset (Habitat episode pickles need Habitat's classes to be read, so they are
        handed to the environment factory as paths)."""
        files = {path.stem: path for path in find_files(root, "*.pickle")}
        return {eval_set: [files[eval_set]] for eval_set in self.selected_eval_sets if eval_set in files}
