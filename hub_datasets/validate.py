"""Re-derive grounding and spatial answers from the annotation record and reject the ones that disagree.

Why a second look: the answers are training targets, and a bug in a template, a shifted box, a tampered file or an
image paired with the wrong record would teach the model wrong facts silently. The validator does not trust the
answer text or the claim: it reads *what was asked* from the claim (`{"kind": "distance", "a": ..., "b": ...}`),
computes the fact again from the record, parses the answer text the way an evaluator would (`parse_grounding`,
yes/no, numbers before "cm", object names) and compares.

Checked kinds: grounding `box` and `point`; spatial `relation`, `relative_position`, `distance`, `count`, `larger`,
`closer`, `under`, `inside`; and the per-frame general facts `grasped`, `gripper_open`, `objects_in_scene`, `done`.
Plans and failure explanations depend on the whole episode and are not re-derived here (they are counted as
unchecked).

`validate_pairs` runs inside the builder on every conversation; `validate_repo` re-checks a built dataset folder
from its `provenance/` tables (the record and the claims of every row), e.g. after editing or downloading it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeling_vlaser.grounding import from_pixels, parse_grounding

from .in_domain.annotations import (
    AnnotationError,
    Scene,
    SpatialThresholds,
    box_area,
    centimetres,
    distance,
    parse_scene,
    relation,
    support,
)
from .in_domain.qa import QAPair, mentioned
from .in_domain.spatial_reasoning import POSITION_PHRASES, relative_position_phrases

__all__ = [
    "CHECKED_KINDS",
    "Mismatch",
    "ValidationReport",
    "ValidationSettings",
    "check_answer",
    "validate_pairs",
    "validate_repo",
]

CHECKED_KINDS = frozenset(
    {
        "box",
        "point",
        "relation",
        "relative_position",
        "distance",
        "count",
        "larger",
        "closer",
        "under",
        "inside",
        "grasped",
        "gripper_open",
        "objects_in_scene",
        "done",
    }
)
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)
_CM = re.compile(r"(\d+(?:\.\d+)?)\s*(?:cm\b|centimet)", re.IGNORECASE)
_INTEGER = re.compile(r"\b(\d+)\b")
_OPEN = re.compile(r"\bopen\b", re.IGNORECASE)
_CLOSED = re.compile(r"\bclosed\b", re.IGNORECASE)
_NOTHING = re.compile(r"^\W*nothing\b", re.IGNORECASE)


@dataclass(frozen=True)
class ValidationSettings:
    """The engine settings an answer depends on (which objects count as visible; relation thresholds)."""

    min_visible_fraction: float = 0.1
    thresholds: SpatialThresholds = field(default_factory=SpatialThresholds)
    camera: str | None = None
    """The camera the record's boxes refer to (None: the record's first camera)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_visible_fraction": self.min_visible_fraction,
            "thresholds": self.thresholds.to_dict(),
            "camera": self.camera,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> ValidationSettings:
        values = dict(values or {})
        thresholds = values.get("thresholds") or {}
        thresholds = {k: tuple(v) if isinstance(v, list) else v for k, v in thresholds.items()}
        return cls(
            float(values.get("min_visible_fraction", 0.1)), SpatialThresholds(**thresholds), values.get("camera")
        )


@dataclass
class Mismatch:
    id: str
    turn: int
    """0-based index of the QA pair in the conversation."""
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"{self.id} turn {self.turn} ({self.kind}): {self.reason}"


@dataclass
class ValidationReport:
    rows: int = 0
    checked: int = 0
    unchecked: Counter = field(default_factory=Counter)
    """QA pairs of kinds the validator does not re-derive, by kind."""
    rows_without_provenance: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_dict(self, max_examples: int = 50) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "checked_qa_pairs": self.checked,
            "unchecked_qa_pairs_by_kind": dict(sorted(self.unchecked.items())),
            "rows_without_provenance": self.rows_without_provenance,
            "mismatches": len(self.mismatches),
            "mismatch_examples": [str(m) for m in self.mismatches[:max_examples]],
        }


# ------------------------------------------------------------------------------------------------------ checks
def _yes_no(answer: str) -> bool | None:
    match = _YES_NO.match(answer)
    return None if match is None else match.group(1).lower() == "yes"


def _object(scene: Scene, name: Any) -> Any:
    if not isinstance(name, str) or name not in scene.by_name:
        raise KeyError(f"claim names {name!r}, which is not an object of the record")
    return scene.by_name[name]


def _check_grounding(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    kind = claim["kind"]
    objects = [_object(scene, n) for n in claim.get("objects") or []]
    if not objects:
        return "claim names no objects"
    for obj in objects:
        if not obj.visible(settings.min_visible_fraction):
            return f"{obj.name!r} is not visible in the record; it must not be asked about"
        if kind == "point" and obj.point is None:
            return f"{obj.name!r} has no point in the record"
    size = (scene.width, scene.height)
    if kind == "box":
        coords = [tuple(from_pixels(o.bbox_visible, *size)) for o in objects]
    else:
        coords = [tuple(from_pixels(o.point, *size)) for o in objects]
    parsed = parse_grounding(answer)
    if claim.get("ref"):
        expected = [(claim["ref"], coords)]
    else:
        expected = [(o.name, [c]) for o, c in zip(objects, coords, strict=True)]
    found = [(g.ref, list(g.boxes if kind == "box" else g.points)) for g in parsed]
    other = [g for g in parsed if (g.points if kind == "box" else g.boxes)]
    if found != expected or other:
        return f"{kind}es in the answer {found} differ from the record's {expected}"
    return None


def _check_relation(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    name = claim.get("relation")
    value = relation(_object(scene, claim.get("a")), _object(scene, claim.get("b")), name, settings.thresholds)
    if value is None:
        return f"{name} is too close to call in the record; it must not be asked"
    said = _yes_no(answer)
    if said is None:
        return f"the answer does not start with yes or no: {answer!r}"
    if said != value:
        return f"the answer says {'yes' if said else 'no'}, the record gives {'yes' if value else 'no'} for {name}"
    return None


def _phrases_in(answer: str) -> set[str]:
    text = answer.lower()
    found = set()
    for phrase in sorted(POSITION_PHRASES, key=len, reverse=True):
        pattern = re.compile(r"\b" + re.escape(phrase) + r"\b")
        if pattern.search(text):
            found.add(phrase)
            text = pattern.sub(" ", text)
    return found


def _check_position(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    expected = relative_position_phrases(
        _object(scene, claim.get("a")), _object(scene, claim.get("b")), settings.thresholds
    )
    if expected is None:
        return "the relative position is too close to call in the record; it must not be asked"
    found = _phrases_in(answer)
    if found != set(expected):
        return f"the answer says {sorted(found)}, the record gives {sorted(expected)}"
    return None


def _check_distance(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    expected = centimetres(distance(_object(scene, claim.get("a")), _object(scene, claim.get("b"))))
    match = _CM.search(answer)
    if match is None:
        return f"no distance in centimetres in the answer {answer!r}"
    if float(match.group(1)) != expected:
        return f"the answer says {match.group(1)} cm, the record gives {expected} cm"
    return None


def _check_count(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    category = claim.get("category")
    items = scene.items(settings.min_visible_fraction)
    expected = sum(1 for o in items if category is None or o.category == category)
    match = _INTEGER.search(answer)
    if match is None or int(match.group(1)) != expected:
        return f"the answer {answer!r} does not give the record's count {expected}"
    return None


def _winner_check(answer: str, winner: str, loser: str) -> str | None:
    names = mentioned(answer, [winner, loser])
    if names != [winner]:
        return f"the answer names {names}, the record gives {winner!r}"
    return None


def _check_larger(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    a, b = _object(scene, claim.get("a")), _object(scene, claim.get("b"))
    area_a, area_b = box_area(a.bbox_amodal), box_area(b.bbox_amodal)
    ratio = settings.thresholds.size_ratio
    if area_a >= ratio * area_b:
        return _winner_check(answer, a.name, b.name)
    if area_b >= ratio * area_a:
        return _winner_check(answer, b.name, a.name)
    return "the amodal boxes are too similar in size; it must not be asked"


def _check_closer(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    a, b = _object(scene, claim.get("a")), _object(scene, claim.get("b"))
    reference = _object(scene, claim.get("reference"))
    d_a, d_b = distance(a, reference), distance(b, reference)
    if abs(d_a - d_b) < settings.thresholds.closer_min_gap:
        return "the distances are too similar; it must not be asked"
    (winner, d), loser = ((a, d_a), b) if d_a < d_b else ((b, d_b), a)
    problem = _winner_check(answer, winner.name, loser.name)
    if problem is None:
        match = _CM.search(answer)
        if match is not None and float(match.group(1)) != centimetres(d):
            return f"the answer says {match.group(1)} cm, the record gives {centimetres(d)} cm"
    return problem


def _check_listing(answer: str, expected: Iterable[str], candidates: Sequence[str]) -> str | None:
    expected = sorted(expected)
    if not expected:
        return None if _NOTHING.match(answer) else f"the record gives nothing, the answer is {answer!r}"
    found = sorted(mentioned(answer, candidates))
    if found != expected:
        return f"the answer names {found}, the record gives {expected}"
    return None


def _check_under(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    obj = _object(scene, claim.get("a"))
    others = [o for o in scene.items(settings.min_visible_fraction) if o.name != obj.name]
    values = {o.name: support(obj, o, settings.thresholds) for o in others}
    if None in values.values():
        return "support is too close to call for some object; it must not be asked"
    return _check_listing(answer, [n for n, v in values.items() if v], [o.name for o in others])


def _check_inside(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    container = _object(scene, claim.get("container"))
    others = [o for o in scene.items(settings.min_visible_fraction) if o.name != container.name]
    values = {o.name: relation(o, container, "inside", settings.thresholds) for o in others}
    if None in values.values():
        return "inside is too close to call for some object; it must not be asked"
    return _check_listing(answer, [n for n, v in values.items() if v], [o.name for o in others])


def _check_grasped(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    state = scene.gripper(claim.get("gripper"))
    candidates = [o.name for o in scene.objects if not o.is_gripper]
    return _check_listing(answer, [state.grasped] if state.grasped else [], candidates)


def _check_open(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    state = scene.gripper(claim.get("gripper"))
    said_open, said_closed = bool(_OPEN.search(answer)), bool(_CLOSED.search(answer))
    if said_open == said_closed or said_open != state.open:
        return f"the answer {answer!r} disagrees with the record (open={state.open})"
    return None


def _check_scene(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    expected = [o.name for o in scene.items(settings.min_visible_fraction)]
    return _check_listing(answer, expected, [o.name for o in scene.objects if not o.is_gripper])


def _check_done(scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings) -> str | None:
    said = _yes_no(answer)
    if said != scene.success:
        return f"the answer {answer!r} disagrees with the record (success={scene.success})"
    return None


_CHECKS = {
    "box": _check_grounding,
    "point": _check_grounding,
    "relation": _check_relation,
    "relative_position": _check_position,
    "distance": _check_distance,
    "count": _check_count,
    "larger": _check_larger,
    "closer": _check_closer,
    "under": _check_under,
    "inside": _check_inside,
    "grasped": _check_grasped,
    "gripper_open": _check_open,
    "objects_in_scene": _check_scene,
    "done": _check_done,
}
assert set(_CHECKS) == CHECKED_KINDS


def check_answer(
    scene: Scene, claim: Mapping[str, Any], answer: str, settings: ValidationSettings | None = None
) -> str | None:
    """None when `answer` agrees with the fact re-derived from `scene` for what `claim` asks; otherwise the reason.
    Kinds outside `CHECKED_KINDS` return None (see `is_checked`)."""
    settings = settings or ValidationSettings()
    check = _CHECKS.get(claim.get("kind"))
    if check is None:
        return None
    try:
        return check(scene, claim, answer, settings)
    except (KeyError, TypeError, ValueError) as error:
        return f"the claim cannot be checked against the record: {error}"


def validate_pairs(
    scene: Scene, pairs: Sequence[QAPair], settings: ValidationSettings | None = None
) -> tuple[list[QAPair], list[tuple[int, str]]]:
    """Split QA pairs into those that agree with the record and (index, reason) for those that do not."""
    kept, rejected = [], []
    for index, pair in enumerate(pairs):
        reason = check_answer(scene, pair.claim, pair.answer, settings)
        if reason is None:
            kept.append(pair)
        else:
            rejected.append((index, reason))
    return kept, rejected


# ------------------------------------------------------------------------------------------------ built datasets
def _assistant_turns(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    return [m["content"] for m in messages if m.get("role") == "assistant"]


def validate_repo(path: str | Path, *, max_mismatches: int | None = None) -> ValidationReport:
    """Re-check every row of a dataset folder written by `hub_datasets.build` against its provenance records.

    Rows whose provenance has no annotation record (model-written or out-of-domain rows) are counted, not checked.
    """
    import pyarrow.parquet as pq

    root = Path(path)
    data_files = sorted((root / "data").glob("*/*.parquet"))
    if not data_files:
        raise FileNotFoundError(
            f"{root}: no data/<config>/*.parquet files; is this a folder written by `vlaser data build`?"
        )
    provenance: dict[str, dict[str, Any]] = {}
    for file in sorted((root / "provenance").glob("*/*.parquet")):
        table = pq.read_table(file, columns=["id", "record", "claims", "settings"])
        for row in table.to_pylist():
            provenance[row["id"]] = row
    report = ValidationReport()
    for file in data_files:
        for row in pq.read_table(file, columns=["id", "messages"]).to_pylist():
            report.rows += 1
            origin = provenance.get(row["id"])
            if origin is None or origin["record"] is None:
                report.rows_without_provenance += 1
                continue
            settings = ValidationSettings.from_dict(json.loads(origin["settings"] or "{}"))
            try:
                scene = parse_scene(json.loads(origin["record"]), settings.camera)
            except AnnotationError as error:
                report.mismatches.append(Mismatch(row["id"], -1, "record", str(error)))
                continue
            claims = json.loads(origin["claims"])
            answers = _assistant_turns(row["messages"])
            if len(claims) != len(answers):
                report.mismatches.append(
                    Mismatch(row["id"], -1, "row", f"{len(answers)} answers but {len(claims)} claims in provenance")
                )
                continue
            for turn, (claim, answer) in enumerate(zip(claims, answers, strict=True)):
                if claim.get("kind") not in CHECKED_KINDS:
                    report.unchecked[claim.get("kind")] += 1
                    continue
                report.checked += 1
                reason = check_answer(scene, claim, answer, settings)
                if reason is not None:
                    report.mismatches.append(Mismatch(row["id"], turn, claim["kind"], reason))
                    if max_mismatches is not None and len(report.mismatches) >= max_mismatches:
                        return report
    return report
