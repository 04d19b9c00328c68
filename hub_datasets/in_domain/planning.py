"""Planning QA from the expert's phase labels (`phase`, `phase_index`, `success`) and the instruction.

A task's plan is the sequence of phases of a successful episode of the same task (ordered by `phase_index`, terminal
phases such as "done" left out); each phase name becomes a step sentence about the manipulated object and the target
named in the instruction ("grasp" -> "grasp the carrot"). Phase names outside the known vocabulary are used as they
are (underscores become spaces), so new simulator tasks still produce plans, just plainer ones.
"""

from __future__ import annotations

import random

from .qa import Candidate, FrameContext, QAPair, pick, sentence, task_text, the

__all__ = ["PHASE_STEPS", "TERMINAL_PHASES", "candidates", "step_text"]

PHASE_STEPS = {
    "approach": "move the gripper to {moved}",
    "reach": "move the gripper to {moved}",
    "pregrasp": "position the gripper above {moved}",
    "pre_grasp": "position the gripper above {moved}",
    "grasp": "grasp {moved}",
    "pick": "pick up {moved}",
    "lift": "lift {moved}",
    "move": "carry {moved} to {target}",
    "transport": "carry {moved} to {target}",
    "carry": "carry {moved} to {target}",
    "handover": "hand {moved} over to the other gripper",
    "place": "lower {moved} {onto} {target}",
    "lower": "lower {moved} {onto} {target}",
    "insert": "insert {moved} into {target}",
    "release": "open the gripper to release {moved}",
    "retreat": "move the gripper away",
    "return": "move the gripper back to its start",
}
TERMINAL_PHASES = frozenset({"done", "finished", "success", "idle", "end"})

PLAN_QUESTIONS = (
    "What steps should the robot take to {task}?",
    "Give a step-by-step plan to {task}.",
    "The instruction is: {task}. How should the robot do it? List the steps.",
    "Break the task '{task}' into steps.",
)
NEXT_QUESTIONS = (
    "What should the robot do next?",
    "The task is to {task}. What is the next step?",
    "The robot is currently trying to {current}. What comes next?",
)
PROGRESS_QUESTIONS = (
    "How far along is the robot with the task '{task}'?",
    "Which step of the plan is the robot on?",
    "What is the robot doing right now, and how much of the task is left?",
)
DONE_QUESTIONS = (
    "Is the task '{task}' complete?",
    "Has the robot finished the task: {task}?",
    "Is the robot done?",
)
ORDER_QUESTIONS = (
    "Put these steps in the right order to {task}: {steps}.",
    "In what order should these be done to {task}? {steps}.",
)
FIRST_QUESTIONS = ("To {task}, which comes first: {x} or {y}?", "Which should the robot do earlier, {x} or {y}?")


def step_text(phase: str, moved: str | None, target: str | None, target_is_container: bool = False) -> str:
    """One plan step as a lower-case clause, e.g. `"grasp the carrot"`."""
    template = PHASE_STEPS.get(phase.lower())
    if template is None:
        return phase.replace("_", " ").strip()
    return template.format(
        moved=the(moved) if moved else "the object",
        target=the(target) if target else "the target",
        onto="into" if target_is_container else "onto",
    )


def _steps(ctx: FrameContext) -> list[str]:
    episode = ctx.episode
    target = ctx.scene.by_name.get(episode.target) if episode.target else None
    container = bool(target and target.is_container)
    return [step_text(phase, episode.moved, episode.target, container) for phase in episode.plan]


def _position(ctx: FrameContext) -> int | None:
    """Index of the frame's phase in the plan; len(plan) for a terminal phase; None when they disagree."""
    plan = ctx.episode.plan
    phase, index = ctx.scene.phase, ctx.scene.phase_index
    if index < 0:
        return None
    if phase.lower() in TERMINAL_PHASES:
        return len(plan)
    if index < len(plan) and plan[index] == phase:
        return index
    return None


def _numbered(steps: list[str]) -> str:
    return "\n".join(f"{i}. {sentence(step)}" for i, step in enumerate(steps, 1))


def _render_plan(ctx: FrameContext, rng: random.Random) -> QAPair:
    question = pick(rng, PLAN_QUESTIONS, task=task_text(ctx.episode.task))
    return QAPair(question, _numbered(_steps(ctx)), {"kind": "plan"})


def _render_next(ctx: FrameContext, rng: random.Random, position: int) -> QAPair | None:
    steps = _steps(ctx)
    current = steps[position] if position < len(steps) else "finish the task"
    if position + 1 < len(steps):
        answer = sentence(steps[position + 1])
    elif ctx.scene.success:
        answer = "Nothing; the task is complete."
    else:
        ctx.skipped("planning.next_step: last step reached without success")
        return None
    question = pick(rng, NEXT_QUESTIONS, task=task_text(ctx.episode.task), current=current)
    return QAPair(question, answer, {"kind": "next_step"})


def _render_progress(ctx: FrameContext, rng: random.Random, position: int) -> QAPair:
    steps = _steps(ctx)
    question = pick(rng, PROGRESS_QUESTIONS, task=task_text(ctx.episode.task))
    if position >= len(steps):
        answer = f"All {len(steps)} steps are done."
    else:
        answer = f"Step {position + 1} of {len(steps)}: {steps[position]}."
    return QAPair(question, answer, {"kind": "progress"})


def _render_done(ctx: FrameContext, rng: random.Random, position: int | None) -> QAPair:
    question = pick(rng, DONE_QUESTIONS, task=task_text(ctx.episode.task))
    if ctx.scene.success:
        answer = rng.choice(("Yes.", "Yes, the task is complete."))
    elif position is not None and position < len(ctx.episode.plan):
        steps = _steps(ctx)
        answer = f"No. The robot is on step {position + 1} of {len(steps)}: {steps[position]}."
    else:
        answer = "No."
    return QAPair(question, answer, {"kind": "done"})


def _render_order(ctx: FrameContext, rng: random.Random) -> QAPair:
    steps = _steps(ctx)
    shuffled = list(steps)
    rng.shuffle(shuffled)
    if shuffled == steps:
        shuffled = shuffled[1:] + shuffled[:1]
    question = pick(rng, ORDER_QUESTIONS, task=task_text(ctx.episode.task), steps="; ".join(shuffled))
    return QAPair(question, _numbered(steps), {"kind": "order"})


def _render_first(ctx: FrameContext, rng: random.Random) -> QAPair | None:
    steps = _steps(ctx)
    i, j = sorted(rng.sample(range(len(steps)), 2))
    if steps[i] == steps[j]:
        return None
    x, y = (steps[i], steps[j]) if rng.random() < 0.5 else (steps[j], steps[i])
    question = pick(rng, FIRST_QUESTIONS, task=task_text(ctx.episode.task), x=x, y=y)
    return QAPair(question, sentence(steps[i]), {"kind": "order_pair"})


def candidates(ctx: FrameContext, rng: random.Random) -> list[Candidate]:
    """Plan, next step, progress, done and step-order questions; only `done` is asked when the plan is unknown."""
    plan = ctx.episode.plan
    if not plan:
        ctx.skipped("planning: no plan for the task (no successful episode of it)")
        return [Candidate("done", _render_done, (None,))]
    position = _position(ctx)
    out = [Candidate("plan", _render_plan), Candidate("done", _render_done, (position,))]
    if position is None:
        if ctx.scene.phase_index < 0:
            ctx.skipped("planning: frame has no phase label (phase_index -1)")
        else:
            ctx.skipped("planning: phase/phase_index do not match the task plan")
        return out
    out += [Candidate("next_step", _render_next, (position,)), Candidate("progress", _render_progress, (position,))]
    if len(plan) >= 3:
        out.append(Candidate("order", _render_order))
    if len(plan) >= 2:
        out.append(Candidate("order_pair", _render_first))
    return out
