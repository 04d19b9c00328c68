"""The in-domain QA engine: recorded episodes with annotation records -> multi-turn conversations per keyframe.

Per source (one LeRobot dataset):

1. every frame's annotation record is parsed and checked (`parse_scene`); bad or missing records are skipped and
   counted by field in the `EngineReport`, never dropped silently;
2. each task's plan is read from its first successful episode (phase labels in `phase_index` order);
3. per episode, keyframes are chosen by phase (a seeded pick of `frames_per_phase` frames in every run of one
   phase, plus the last frame, which carries the outcome), at most `max_per_episode` of them;
4. per keyframe and family, the family's candidate questions are shuffled under a seed derived from
   (seed, source, episode, frame, family) and rendered until the conversation has `turns` QA pairs, one kind after
   another so a conversation mixes kinds. The result does not depend on processing order, so shards and re-runs
   give the same data.

Only the annotation record and the task text are read here; images are decoded by the caller for the keyframes it
keeps (`FrameQA.global_index`, `FrameQA.camera_key`).
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from ..episodes import ANNOTATIONS_KEY, IMAGE_KEY_PREFIX, LeRobotEpisodes
from . import general_qa, grounding, planning, spatial_reasoning
from .annotations import AnnotationError, Scene, SpatialThresholds, parse_scene
from .planning import TERMINAL_PHASES
from .qa import FAMILIES, Candidate, EpisodeInfo, FrameContext, QAPair

__all__ = [
    "Conversation",
    "EngineConfig",
    "EngineReport",
    "FrameQA",
    "InDomainEngine",
    "parse_instruction",
]

_FAMILY_MODULES = {
    "grounding": grounding,
    "spatial_reasoning": spatial_reasoning,
    "planning": planning,
    "general_qa": general_qa,
}
_MAX_EXAMPLES = 20


@dataclass
class EngineConfig:
    """How the engine picks frames and questions. Everything here is part of the dataset recipe."""

    seed: int = 0
    max_per_episode: int = 8
    """At most this many keyframes per episode; each gives one conversation per family."""
    frames_per_phase: int = 1
    """Keyframes drawn from every run of one phase (before the `max_per_episode` budget)."""
    families: tuple[str, ...] = FAMILIES
    turns: int | None = 3
    """QA pairs per conversation; None asks every applicable question (audits and tests)."""
    min_visible_fraction: float = 0.1
    camera: str | None = None
    """The camera the boxes refer to (default: the record's first camera)."""
    thresholds: SpatialThresholds = field(default_factory=SpatialThresholds)

    def __post_init__(self) -> None:
        if isinstance(self.families, str):
            self.families = (self.families,)
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown:
            raise ValueError(f"families: unknown {unknown}; expected a subset of {list(FAMILIES)}")
        if int(self.max_per_episode) < 1:
            raise ValueError(f"max_per_episode must be >= 1 (keyframes per episode), got {self.max_per_episode}")
        if int(self.frames_per_phase) < 1:
            raise ValueError(f"frames_per_phase must be >= 1, got {self.frames_per_phase}")
        if self.turns is not None and int(self.turns) < 1:
            raise ValueError(f"turns must be >= 1 or None (every question), got {self.turns}")
        if not 0 <= self.min_visible_fraction <= 1:
            raise ValueError(f"min_visible_fraction must be in [0, 1], got {self.min_visible_fraction}")
        if isinstance(self.thresholds, dict):
            self.thresholds = SpatialThresholds(**self.thresholds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "max_per_episode": self.max_per_episode,
            "frames_per_phase": self.frames_per_phase,
            "families": list(self.families),
            "turns": self.turns,
            "min_visible_fraction": self.min_visible_fraction,
            "camera": self.camera,
            "thresholds": self.thresholds.to_dict(),
        }


@dataclass
class EngineReport:
    """What the engine did and what it could not do, by reason. Merged over sources by the builder."""

    episodes: int = 0
    frames: int = 0
    frames_bad: Counter = field(default_factory=Counter)
    """Frames skipped for a bad or missing annotation record, by field (e.g. `objects[*].bbox_visible`)."""
    bad_examples: list[str] = field(default_factory=list)
    keyframes: int = 0
    conversations: Counter = field(default_factory=Counter)
    items: Counter = field(default_factory=Counter)
    """QA pairs by family."""
    kinds: Counter = field(default_factory=Counter)
    """QA pairs by `family.kind`."""
    not_visible: Counter = field(default_factory=Counter)
    """Keyframes where an object was skipped because it was not (enough) visible, by object name."""
    skipped: Counter = field(default_factory=Counter)
    """Questions that could not be asked, by reason."""

    @property
    def frames_skipped(self) -> int:
        return sum(self.frames_bad.values())

    def bad(self, where: str, error: AnnotationError) -> None:
        self.frames_bad[error.field_pattern] += 1
        if len(self.bad_examples) < _MAX_EXAMPLES:
            self.bad_examples.append(f"{where}: {error}")

    def merge(self, other: EngineReport) -> EngineReport:
        self.episodes += other.episodes
        self.frames += other.frames
        self.keyframes += other.keyframes
        for name in ("frames_bad", "conversations", "items", "kinds", "not_visible", "skipped"):
            getattr(self, name).update(getattr(other, name))
        room = _MAX_EXAMPLES - len(self.bad_examples)
        self.bad_examples += other.bad_examples[: max(0, room)]
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "episodes": self.episodes,
            "frames": self.frames,
            "frames_skipped_bad_annotations": self.frames_skipped,
            "frames_bad_by_field": dict(sorted(self.frames_bad.items())),
            "bad_annotation_examples": list(self.bad_examples),
            "keyframes": self.keyframes,
            "conversations_by_family": dict(sorted(self.conversations.items())),
            "qa_items_by_family": dict(sorted(self.items.items())),
            "qa_items_by_kind": dict(sorted(self.kinds.items())),
            "objects_not_visible": dict(sorted(self.not_visible.items())),
            "questions_skipped": dict(sorted(self.skipped.items())),
        }


@dataclass
class Conversation:
    """One multi-turn conversation about one image, in one family (= one dataset row)."""

    id: str
    category: str
    domain: str
    source: str
    pairs: list[QAPair]

    def messages(self) -> list[dict[str, str]]:
        """Alternating user/assistant turns; the first user turn starts with the `<image>` placeholder."""
        out = []
        for i, pair in enumerate(self.pairs):
            out.append({"role": "user", "content": ("<image>\n" if i == 0 else "") + pair.question})
            out.append({"role": "assistant", "content": pair.answer})
        return out

    def claims(self) -> list[dict[str, Any]]:
        return [pair.claim for pair in self.pairs]


@dataclass
class FrameQA:
    """The conversations about one keyframe, and where its image and record are."""

    source: str
    domain: str
    episode_index: int
    frame_index: int
    global_index: int
    camera_key: str
    record: dict[str, Any]
    scene: Scene
    conversations: list[Conversation]

    @property
    def episode_uid(self) -> str:
        return f"{self.source}:{self.episode_index}"


@dataclass
class _Episode:
    episode_index: int
    task: str
    rows: list[int] = field(default_factory=list)
    """Global indices of the frames with a valid record, in order."""
    frame_indices: list[int] = field(default_factory=list)
    phases: list[tuple[int, str]] = field(default_factory=list)
    success: list[bool] = field(default_factory=list)
    grasped: set[str] = field(default_factory=set)
    aliases: dict[str, str] = field(default_factory=dict)


# -------------------------------------------------------------------------------------------------- instructions
_PLACE_WORDS = re.compile(r"\b(on|onto|in|into|inside|to|towards|over|under|beside|near)\b")


def parse_instruction(task: str, aliases: dict[str, str]) -> tuple[str | None, str | None]:
    """The object the instruction moves and where it goes, by matching object names (or a category that only one
    object has) in the text: the first mention is moved, the first later mention after a placement word ("on",
    "into", ...) is the target. `aliases` maps words to object names."""
    text = task.lower()
    taken = [False] * len(text)
    mentions: list[tuple[int, int, str]] = []
    for alias in sorted(aliases, key=len, reverse=True):
        for match in re.finditer(r"(?<![\w-])" + re.escape(alias.lower()) + r"(?![\w-])", text):
            if any(taken[match.start() : match.end()]):
                continue
            taken[match.start() : match.end()] = [True] * (match.end() - match.start())
            mentions.append((match.start(), match.end(), aliases[alias]))
    mentions.sort()
    if not mentions:
        return None, None
    moved = mentions[0][2]
    previous_end = mentions[0][1]
    for start, end, name in mentions[1:]:
        if name != moved and _PLACE_WORDS.search(text[previous_end:start]):
            return moved, name
        previous_end = end
    return moved, None


def _aliases(scene: Scene) -> dict[str, str]:
    names = [o for o in scene.objects if not o.is_gripper]
    aliases = {o.name: o.name for o in names}
    categories = Counter(o.category for o in names)
    for o in names:
        if categories[o.category] == 1:
            aliases.setdefault(o.category, o.name)
    return aliases


# ------------------------------------------------------------------------------------------------------ engine
class InDomainEngine:
    """Generate in-domain QA conversations from annotated episodes (see the module docstring)."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()

    # -- reading
    def _camera_key(self, episodes: LeRobotEpisodes, scene: Scene) -> str:
        key = IMAGE_KEY_PREFIX + scene.camera
        if key not in episodes.camera_keys:
            if len(episodes.camera_keys) != 1:
                raise AnnotationError(
                    "camera",
                    f"a camera of the dataset {[k[len(IMAGE_KEY_PREFIX) :] for k in episodes.camera_keys]}",
                    scene.camera,
                )
            key = episodes.camera_keys[0]
        shape = episodes.features[key].get("shape") or []
        if len(shape) >= 2 and (scene.width, scene.height) != (shape[1], shape[0]):
            raise AnnotationError(
                f"camera.{scene.camera}.size",
                f"[{shape[1]}, {shape[0]}] (the size of {key})",
                [scene.width, scene.height],
            )
        return key

    def _parse(self, episodes: LeRobotEpisodes, raw: Any) -> tuple[dict[str, Any], Scene, str]:
        if raw is None:
            raise AnnotationError("<record>", "an annotation record (a dict)", None, missing=True)
        try:
            record = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
        except json.JSONDecodeError as error:
            raise AnnotationError("<record>", f"valid JSON ({error.msg})", raw) from None
        scene = parse_scene(record, self.config.camera)
        return record, scene, self._camera_key(episodes, scene)

    def _scan(
        self, episodes: LeRobotEpisodes, source: str, report: EngineReport, exclude: Collection[int], progress: bool
    ) -> list[_Episode]:
        raw = episodes.column(ANNOTATIONS_KEY)
        episode_column = episodes.column("episode_index")
        frame_column = episodes.column("frame_index")
        task_column = episodes.column("task_index")
        summaries = []
        for episode_index in tqdm(episodes.episode_indices, desc=f"{source}: annotations", disable=not progress):
            if episode_index in exclude:
                continue
            rows = episodes.episode_range(episode_index)
            summary = _Episode(episode_index, episodes.tasks[int(task_column[rows.start])] if len(rows) else "")
            for row in rows:
                report.frames += 1
                try:
                    _, scene, _ = self._parse(episodes, raw[row])
                except AnnotationError as error:
                    where = f"{source} episode {int(episode_column[row])} frame {int(frame_column[row])}"
                    report.bad(where, error)
                    continue
                if not summary.rows:
                    summary.aliases = _aliases(scene)
                summary.rows.append(row)
                summary.frame_indices.append(int(frame_column[row]))
                summary.phases.append((scene.phase_index, scene.phase))
                summary.success.append(scene.success)
                summary.grasped.update(g.grasped for g in scene.grippers if g.grasped)
            report.episodes += 1
            summaries.append(summary)
        return summaries

    @staticmethod
    def _plans(summaries: Sequence[_Episode], report: EngineReport) -> dict[str, list[str]]:
        plans: dict[str, list[str]] = {}
        for summary in summaries:
            if summary.task in plans or not summary.success or not summary.success[-1]:
                continue
            by_index: dict[int, str] = {}
            consistent = True
            for index, phase in summary.phases:
                if index < 0 or phase.lower() in TERMINAL_PHASES:
                    continue
                if by_index.setdefault(index, phase) != phase:
                    consistent = False
            if not consistent or sorted(by_index) != list(range(len(by_index))):
                report.skipped["planning: a successful episode's phase_index is not 0..n-1, one phase each"] += 1
                continue
            plans[summary.task] = [by_index[i] for i in range(len(by_index))]
        return plans

    def _keyframes(self, summary: _Episode, rng: random.Random) -> list[int]:
        """Positions (into `summary.rows`) of the keyframes, in order."""
        count = len(summary.rows)
        if not count:
            return []
        chosen: set[int] = set()
        start = 0
        for position in range(1, count + 1):
            if position == count or summary.phases[position] != summary.phases[start]:
                segment = list(range(start, position))
                chosen.update(rng.sample(segment, min(self.config.frames_per_phase, len(segment))))
                start = position
        last = count - 1
        chosen.add(last)
        budget = int(self.config.max_per_episode)
        if len(chosen) > budget:
            others = sorted(chosen - {last})
            keep = budget - 1
            chosen = {others[int((i + 0.5) * len(others) / keep)] for i in range(keep)} | {last}
        return sorted(chosen)

    # -- generation
    def _pick(self, candidates: list[Candidate], ctx: FrameContext, rng: random.Random) -> list[QAPair]:
        if self.config.turns is None:
            return [pair for pair in (candidate(ctx, rng) for candidate in candidates) if pair is not None]
        by_kind: dict[str, list[Candidate]] = {}
        for candidate in candidates:
            by_kind.setdefault(candidate.kind, []).append(candidate)
        kinds = sorted(by_kind)
        rng.shuffle(kinds)
        for kind in kinds:
            rng.shuffle(by_kind[kind])
        pairs: list[QAPair] = []
        turns = int(self.config.turns)
        while kinds and len(pairs) < turns:
            for kind in list(kinds):
                queue = by_kind[kind]
                while queue:
                    pair = queue.pop()(ctx, rng)
                    if pair is not None:
                        pairs.append(pair)
                        break
                if not queue:
                    kinds.remove(kind)
                if len(pairs) >= turns:
                    break
        return pairs

    def frame_conversations(
        self, ctx: FrameContext, source: str, report: EngineReport | None = None
    ) -> list[Conversation]:
        """One conversation per configured family about the frame in `ctx` (families with nothing to ask are left
        out and counted)."""
        report = report if report is not None else EngineReport()
        seed = self.config.seed
        episode = ctx.episode
        conversations = []
        for family in self.config.families:
            rng = random.Random(f"{seed}:{source}:{episode.episode_index}:{ctx.frame_index}:{family}")
            pairs = self._pick(_FAMILY_MODULES[family].candidates(ctx, rng), ctx, rng)
            if not pairs:
                report.skipped[f"{family}: nothing to ask about the frame"] += 1
                continue
            conversation_id = f"{source}:{episode.episode_index}:{ctx.frame_index}:{family}"
            conversations.append(Conversation(conversation_id, family, episode.domain, source, pairs))
            report.conversations[family] += 1
            report.items[family] += len(pairs)
            for pair in pairs:
                report.kinds[f"{family}.{pair.label}"] += 1
        return conversations

    def run(
        self,
        episodes: LeRobotEpisodes,
        *,
        source: str,
        domain: str,
        report: EngineReport | None = None,
        exclude_episodes: Collection[int] = (),
        progress: bool = True,
    ) -> Iterator[FrameQA]:
        """Yield the conversations of every keyframe of every episode (except `exclude_episodes`), in order."""
        if ANNOTATIONS_KEY not in episodes.features:
            raise ValueError(
                f"{episodes.root}: the dataset has no {ANNOTATIONS_KEY!r} feature; in-domain QA needs the per-frame "
                f"annotation record of DESIGN.md (record with LeRobotEpisodeWriter.create(..., with_annotations=True))"
            )
        report = report if report is not None else EngineReport()
        exclude = {int(e) for e in exclude_episodes}
        summaries = self._scan(episodes, source, report, exclude, progress)
        plans = self._plans(summaries, report)
        raw = episodes.column(ANNOTATIONS_KEY)
        config = self.config
        for summary in tqdm(summaries, desc=f"{source}: QA", disable=not progress):
            if not summary.rows:
                report.skipped["episode: no frame with a valid annotation record"] += 1
                continue
            _, final_scene, _ = self._parse(episodes, raw[summary.rows[-1]])
            moved, target = parse_instruction(summary.task, summary.aliases)
            info = EpisodeInfo(
                source=source,
                domain=domain,
                episode_index=summary.episode_index,
                task=summary.task,
                moved=moved,
                target=target,
                plan=plans.get(summary.task),
                final_success=summary.success[-1],
                last_phase=next((phase for index, phase in reversed(summary.phases) if index >= 0), None),
                ever_grasped=frozenset(summary.grasped),
                final_scene=final_scene,
            )
            rng = random.Random(f"{config.seed}:{source}:{summary.episode_index}:keyframes")
            positions = self._keyframes(summary, rng)
            for position in positions:
                row = summary.rows[position]
                record, scene, camera_key = self._parse(episodes, raw[row])
                for obj in scene.objects:
                    if not obj.visible(config.min_visible_fraction):
                        report.not_visible[obj.name] += 1
                ctx = FrameContext(
                    scene=scene,
                    episode=info,
                    frame_index=summary.frame_indices[position],
                    is_last=position == len(summary.rows) - 1,
                    thresholds=config.thresholds,
                    min_visible_fraction=config.min_visible_fraction,
                    items=scene.items(config.min_visible_fraction),
                    skipped=lambda reason: report.skipped.update((reason,)),
                )
                report.keyframes += 1
                conversations = self.frame_conversations(ctx, source, report)
                if conversations:
                    yield FrameQA(
                        source=source,
                        domain=domain,
                        episode_index=summary.episode_index,
                        frame_index=ctx.frame_index,
                        global_index=row,
                        camera_key=camera_key,
                        record=record,
                        scene=scene,
                        conversations=conversations,
                    )
