"""General embodied QA: what the task is, what each gripper holds and whether it is open, which objects are in the
scene, and, on an episode's last frame, whether the attempt succeeded and what went wrong when it did not.

"What went wrong" is derived from the whole episode's annotations: whether the manipulated object was ever grasped,
whether it is still held at the end, and where it ended relative to the target.
"""

from __future__ import annotations

import random

from .annotations import centimetres, horizontal_distance
from .planning import step_text
from .qa import Candidate, FrameContext, QAPair, article, join, pick, task_text, the

__all__ = ["candidates", "failure_reason"]

TASK_QUESTIONS = (
    "What task is the robot doing?",
    "What is the robot's instruction?",
    "What is the robot trying to do here?",
)
TASK_ANSWERS = ("The robot is asked to {task}.", "Its task is to {task}.", "To {task}.")
HOLD_QUESTIONS = (
    "What is {g} holding?",
    "Is {g} holding anything? If so, what?",
    "What object is in {g}?",
)
OPEN_QUESTIONS = ("Is {g} open or closed?", "What state is {g} in, open or closed?")
SCENE_QUESTIONS = (
    "Which objects can you see on the table?",
    "List the objects in the scene, not counting the robot.",
    "What objects are in front of the robot?",
)
OUTCOME_QUESTIONS = ("Did the robot manage to {task}?", "Was the attempt to {task} successful?")
FAILURE_QUESTIONS = (
    "What went wrong in this attempt?",
    "The robot did not manage to {task}. Why?",
    "Why did this attempt fail?",
)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def failure_reason(ctx: FrameContext) -> str:
    """Why a failed episode failed, from its annotations (see the module docstring)."""
    episode = ctx.episode
    final = episode.final_scene or ctx.scene
    moved, target = episode.moved, episode.target
    target_obj = final.by_name.get(target) if target else None
    container = bool(target_obj and target_obj.is_container)
    if episode.last_phase is None:
        doing = "the attempt was still under way"
    else:
        doing = f"the robot was still trying to {step_text(episode.last_phase, moved, target, container)}"
    if moved is None or moved not in final.by_name:
        return f"The episode ended before the task was complete; {doing}."
    if moved not in episode.ever_grasped:
        return f"The robot never grasped {the(moved)}; {doing} when the episode ended."
    if any(g.grasped == moved for g in final.grippers):
        where = f" {'in' if container else 'on'} {the(target)}" if target else ""
        return f"The robot was still holding {the(moved)} when the episode ended and never put it down{where}."
    if target_obj is not None:
        d = centimetres(horizontal_distance(final.by_name[moved], target_obj))
        return f"{_cap(the(moved))} was grasped but released away from {the(target)}: it ended about {d} cm from it."
    return f"{_cap(the(moved))} was grasped but released before the task was complete."


def _render_task(ctx: FrameContext, rng: random.Random) -> QAPair:
    answer = pick(rng, TASK_ANSWERS, task=task_text(ctx.episode.task))
    return QAPair(rng.choice(TASK_QUESTIONS), answer, {"kind": "task"})


def _render_hold(ctx: FrameContext, rng: random.Random, gripper: str) -> QAPair:
    state = ctx.scene.gripper(gripper)
    question = _cap(pick(rng, HOLD_QUESTIONS, g=the(gripper)))
    if state.grasped:
        answer = rng.choice((f"{_cap(the(state.grasped))}.", f"It is holding {the(state.grasped)}."))
    else:
        answer = rng.choice(("Nothing.", f"Nothing; {the(gripper)} is empty."))
    return QAPair(question, answer, {"kind": "grasped", "gripper": gripper})


def _render_open(ctx: FrameContext, rng: random.Random, gripper: str) -> QAPair:
    state = ctx.scene.gripper(gripper)
    question = _cap(pick(rng, OPEN_QUESTIONS, g=the(gripper)))
    word = "open" if state.open else "closed"
    answer = rng.choice((f"{_cap(word)}.", f"It is {word}."))
    return QAPair(question, answer, {"kind": "gripper_open", "gripper": gripper})


def _render_scene(ctx: FrameContext, rng: random.Random) -> QAPair:
    objects = sorted(ctx.items, key=lambda o: (o.bbox_visible[0], o.name))
    listed = join([article(o.name) for o in objects])
    answer = rng.choice((f"{_cap(listed)}.", f"I can see {listed}."))
    return QAPair(rng.choice(SCENE_QUESTIONS), answer, {"kind": "objects_in_scene"})


def _render_outcome(ctx: FrameContext, rng: random.Random) -> QAPair:
    question = pick(rng, OUTCOME_QUESTIONS, task=task_text(ctx.episode.task))
    if ctx.scene.success:
        answer = rng.choice(("Yes.", "Yes, the task is complete."))
    else:
        answer = "No. " + failure_reason(ctx)
    return QAPair(question, answer, {"kind": "outcome"})


def _render_failure(ctx: FrameContext, rng: random.Random) -> QAPair:
    question = pick(rng, FAILURE_QUESTIONS, task=task_text(ctx.episode.task))
    return QAPair(question, failure_reason(ctx), {"kind": "failure"})


def candidates(ctx: FrameContext, rng: random.Random) -> list[Candidate]:
    out = [Candidate("task", _render_task)]
    for gripper in ctx.scene.grippers:
        out.append(Candidate("grasped", _render_hold, (gripper.name,)))
        out.append(Candidate("gripper_open", _render_open, (gripper.name,)))
    if ctx.items:
        out.append(Candidate("objects_in_scene", _render_scene))
    if ctx.is_last:
        out.append(Candidate("outcome", _render_outcome))
        if not ctx.scene.success:
            out.append(Candidate("failure", _render_failure))
    return out
