"""What the four QA families share: question/answer pairs with a checkable claim, candidates, the frame context.

A family module turns a `FrameContext` into cheap `Candidate`s (a kind, a render function and its arguments); the
engine shuffles them under the frame's seed and renders only as many as a conversation needs. A rendered `QAPair`
carries a `claim`: what was asked, in machine-readable form (`{"kind": "distance", "a": "carrot", "b": "plate"}`), so
the validator can re-derive the answer from the annotation record and the stats can count objects and kinds. The
claim never stores the answer itself: the validator must compute it again.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .annotations import Scene, SceneObject, SpatialThresholds

__all__ = ["FAMILIES", "Candidate", "EpisodeInfo", "FrameContext", "QAPair"]

FAMILIES = ("grounding", "spatial_reasoning", "planning", "general_qa")


@dataclass(slots=True)
class QAPair:
    question: str
    answer: str
    claim: dict[str, Any]

    @property
    def kind(self) -> str:
        """What the validator checks (`box`, `distance`, ...)."""
        return self.claim["kind"]

    @property
    def label(self) -> str:
        """The kind plus the question's role where it has one (`box/target`, `point/gripper`), for counting."""
        role = self.claim.get("role")
        return f"{self.claim['kind']}/{role}" if role else self.claim["kind"]


@dataclass(slots=True)
class EpisodeInfo:
    """What the engine knows about a whole episode before it asks about one of its frames."""

    source: str
    domain: str
    episode_index: int
    task: str
    moved: str | None
    """The object the instruction asks to move (first object named in it), if any."""
    target: str | None
    """Where it should go (the object named after "on", "in", "into", ...), if any."""
    plan: list[str] | None
    """Phase names of the task's plan in order (from a successful episode of the same task), if known."""
    final_success: bool
    last_phase: str | None
    """The last labelled phase of the episode (None when no frame has a phase label)."""
    ever_grasped: frozenset[str]
    final_scene: Scene | None


@dataclass(slots=True)
class FrameContext:
    scene: Scene
    episode: EpisodeInfo
    frame_index: int
    is_last: bool
    thresholds: SpatialThresholds
    min_visible_fraction: float
    items: list[SceneObject] = field(default_factory=list)
    """Visible objects that are not grippers."""
    skipped: Callable[[str], None] = lambda reason: None
    """Count a question that could not be asked (the engine's report)."""


@dataclass(slots=True)
class Candidate:
    kind: str
    render: Callable[..., QAPair | None]
    args: tuple = ()

    def __call__(self, ctx: FrameContext, rng: random.Random) -> QAPair | None:
        return self.render(ctx, rng, *self.args)


# --------------------------------------------------------------------------------------------------- text helpers
def the(name: str) -> str:
    return f"the {name}"


def article(name: str) -> str:
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def join(words: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def plural(noun: str) -> str:
    if re.search(r"(s|x|z|ch|sh)$", noun):
        return noun + "es"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    return noun + "s"


def sentence(text: str) -> str:
    """Capitalize the first letter and end with a period (step texts are stored lower-case)."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def task_text(task: str) -> str:
    """The instruction as a clause: no trailing period, first letter lower-case (it follows "to ...")."""
    task = task.strip().rstrip(".")
    return task[:1].lower() + task[1:]


def pick(rng: random.Random, templates: Sequence[str], **values: str) -> str:
    return rng.choice(templates).format(**values)


_WORD_CACHE: dict[str, re.Pattern[str]] = {}


def mentioned(text: str, names: Sequence[str]) -> list[str]:
    """The names that occur in `text` as whole words, longest first so "red block" does not also count "block"."""
    lowered = text.lower()
    found = []
    for name in sorted(set(names), key=len, reverse=True):
        pattern = _WORD_CACHE.get(name)
        if pattern is None:
            pattern = _WORD_CACHE[name] = re.compile(r"(?<![\w-])" + re.escape(name.lower()) + r"(?![\w-])")
        match = pattern.search(lowered)
        if match:
            found.append(name)
            lowered = pattern.sub(" " * len(name), lowered)
    return found
