# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""In-domain reasoning benchmark: questions about held-out simulator episodes, scored against the annotation record.

Why it exists: the paper's 12 benchmarks are out-of-domain; this one measures what the in-domain QA data teaches,
on the same simulators the policy is trained in, and it needs no external data, so it runs anywhere the suite runs.

Pipeline (`load_local`):

1. record held-out episodes with the suite's scripted experts (`simulation.record.record`) into
   `<data-dir>/<benchmark>/episodes_<cameras>_<size>/`. Seeds start at `HELD_OUT_START_SEED` (100000): training data
   is recorded from seed 0 upwards and uses far fewer than 100000 seeds per task, so the two never overlap. The
   recorder resumes (recorded `(task, seed)` pairs are skipped), so an interrupted run only records what is missing;
2. run the in-domain QA engine (`hub_datasets.in_domain.InDomainEngine`) on them (grounding, spatial reasoning and
   planning families; a fixed engine seed), and turn every QA pair of a scored kind into one single-turn sample:
   `<image>\\n<question>` with the keyframe's camera image.

Ground truth: for grounding, the record's visible boxes (`bbox_visible`, pixels) of the objects named in the claim;
for the other kinds, the engine's own answer parsed with the same parser as the model's answer (the engine derives
it exactly from the record, and `hub_datasets.validate` re-checks it), so a model that repeats the engine's answers
scores 1.0.

Scores (per sample, in [0, 1]):

* grounding `box`: predicted boxes matched one-to-one to the ground-truth boxes (greedy, best IoU first); a match
  counts at IoU >= 0.5; score = matches / max(#ground truth, #predicted), so extra boxes cost as missing ones do;
* grounding `point`: the same with "point inside the object's visible box" (edges included);
* spatial `relation` (yes/no), `count` (exact integer), `larger` / `closer` (which of the two named objects):
  accuracy; `distance`: relative error |pred - gt| / max(gt, 1 cm) reported as `spatial_distance_rel_error`, and
  `max(0, 1 - relative error)` as the sample's score (an unparseable answer scores 0 with relative error 1);
* planning `next_step`: the normalized answer (lower case, no punctuation or articles) equals the normalized
  ground-truth step, or contains it while being at most twice as long (so listing the whole plan does not count);
  `done`: yes/no accuracy.

Family means are the mean sample scores of each family; the headline score is the mean of the family means, as a
percentage like every other benchmark of the report (per-kind metrics stay fractions in [0, 1]).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import Benchmark, LazyImage, LoadContext, LoadResult, Sample
from .parsing import parse_geometry, parse_number

HELD_OUT_START_SEED = 100_000
"""First seed of the held-out evaluation episodes (training recordings use seeds below it)."""
ENGINE_SEED = 20_260_006
"""The QA engine's seed for the benchmark (fixed: it decides keyframes and questions, so it is part of the data)."""
IOU_THRESHOLD = 0.5
SCORED_FAMILIES = ("grounding", "spatial_reasoning", "planning")
FAMILY_OF_KIND = {
    "box": "grounding",
    "point": "grounding",
    "relation": "spatial_reasoning",
    "count": "spatial_reasoning",
    "larger": "spatial_reasoning",
    "closer": "spatial_reasoning",
    "distance": "spatial_reasoning",
    "next_step": "planning",
    "done": "planning",
}
"""The QA kinds this benchmark scores; others (plan listings, step order, ...) have no single checkable answer."""
_FAMILY_SHORT = {"grounding": "grounding", "spatial_reasoning": "spatial", "planning": "planning"}


# ----------------------------------------------------------------------------------------------------------------------
# Parsing (model answers and the engine's reference answers alike)
# ----------------------------------------------------------------------------------------------------------------------

_YES_NO_RE = re.compile(r"\b(yes|no|true|false|correct|incorrect)\b", re.IGNORECASE)
_DISTANCE_RE = re.compile(r"(-?\d+(?:\.\d+)?)\s*(cm|centimet(?:er|re)s?|mm|millimet(?:er|re)s?|m|met(?:er|re)s?)?\b")
_ARTICLES_RE = re.compile(r"\b(the|a|an)\b")


def parse_yes_no(answer: str) -> bool | None:
    """The first yes/no word of the answer (`None` when there is none)."""
    match = _YES_NO_RE.search(answer or "")
    if match is None:
        return None
    return match.group(1).lower() in ("yes", "true", "correct")


def parse_distance_cm(answer: str) -> float | None:
    """The first number of the answer in centimetres (a unit of m or mm converts; no unit means cm)."""
    match = _DISTANCE_RE.search(answer or "")
    if match is None:
        return None
    value, unit = float(match.group(1)), (match.group(2) or "cm").lower()
    if unit.startswith("mm") or unit.startswith("milli"):
        return value / 10
    if unit == "m" or unit.startswith("met"):
        return value * 100
    return value


def parse_choice(answer: str, names: Sequence[str]) -> str | None:
    """Which of `names` the answer mentions first (longest name wins at the same position)."""
    text = (answer or "").lower()
    best: tuple[int, int, str] | None = None
    for name in names:
        match = re.search(r"(?<![\w-])" + re.escape(name.lower()) + r"(?![\w-])", text)
        if match and (best is None or (match.start(), -len(name)) < (best[0], best[1])):
            best = (match.start(), -len(name), name)
    return best[2] if best else None


def normalize_step(text: str) -> str:
    """Lower case, articles and punctuation removed, spaces collapsed: step texts compare by their words."""
    text = re.sub(r"[^\w\s]", " ", (text or "").lower())
    return " ".join(_ARTICLES_RE.sub(" ", text).split())


def parse_answer(kind: str, answer: str, reference: dict[str, Any]) -> Any:
    """The JSON-able prediction of one answer for one QA kind. Never raises."""
    try:
        if kind in ("box", "point"):
            width, height = reference["size"]
            geometry = parse_geometry(answer)
            if kind == "box":
                return geometry.pixel_boxes(width, height)
            return geometry.pixel_points(width, height)
        if kind in ("relation", "done"):
            return parse_yes_no(answer)
        if kind == "count":
            value = parse_number(answer)
            return None if value is None else round(value)
        if kind == "distance":
            return parse_distance_cm(answer)
        if kind in ("larger", "closer"):
            return parse_choice(answer, reference["choices"])
        if kind == "next_step":
            return normalize_step(answer)
    except Exception:  # noqa: BLE001 - a malformed answer scores 0, it never stops the run
        return None
    return None


# ----------------------------------------------------------------------------------------------------------------------
# Scoring
# ----------------------------------------------------------------------------------------------------------------------


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two `[x0, y0, x1, y1]` boxes (0 for degenerate ones)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def point_in_box(point: Sequence[float], box: Sequence[float]) -> bool:
    """Whether the point lies in the box, edges included."""
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def _matched_fraction(truth: Sequence[Any], predicted: Sequence[Any], quality, accept) -> float:
    """Greedy one-to-one matching (best pair first); matches / max(#truth, #predicted)."""
    if not truth:
        return float(not predicted)
    pairs = sorted(
        ((quality(p, t), i, j) for i, t in enumerate(truth) for j, p in enumerate(predicted)), key=lambda x: -x[0]
    )
    used_truth: set[int] = set()
    used_pred: set[int] = set()
    hits = 0
    for value, i, j in pairs:
        if i in used_truth or j in used_pred or not accept(value):
            continue
        used_truth.add(i)
        used_pred.add(j)
        hits += 1
    return hits / max(len(truth), len(predicted))


def box_accuracy(truth: Sequence[Sequence[float]], predicted: Sequence[Sequence[float]] | None) -> float:
    """Acc@IoU >= 0.5 of one question's boxes (see the module docstring)."""
    valid = [p for p in predicted or [] if len(p) == 4]
    return _matched_fraction(truth, valid, lambda p, t: box_iou(p, t), lambda v: v >= IOU_THRESHOLD)


def point_accuracy(boxes: Sequence[Sequence[float]], predicted: Sequence[Sequence[float]] | None) -> float:
    """Point-in-visible-box accuracy of one question's points (see the module docstring)."""
    valid = [p for p in predicted or [] if len(p) == 2]
    return _matched_fraction(boxes, valid, lambda p, t: float(point_in_box(p, t)), lambda v: v > 0)


def distance_relative_error(truth_cm: float, predicted_cm: float | None) -> float:
    """|pred - truth| / max(truth, 1 cm); 1.0 for an unparseable answer."""
    if predicted_cm is None:
        return 1.0
    return abs(predicted_cm - truth_cm) / max(abs(truth_cm), 1.0)


def next_step_correct(truth: str, predicted: str | None) -> bool:
    """Normalized equality, or the prediction contains the truth and is at most twice as long."""
    if not predicted or not truth:
        return False
    if predicted == truth:
        return True
    return f" {truth} " in f" {predicted} " and len(predicted) <= 2 * len(truth)


def sample_score(kind: str, reference: dict[str, Any], prediction: Any) -> tuple[float, float | None]:
    """(score in [0, 1], relative error for distances else None) of one prediction."""
    truth = reference["truth"]
    if kind == "box":
        return box_accuracy(truth, prediction), None
    if kind == "point":
        return point_accuracy(truth, prediction), None
    if kind == "distance":
        error = distance_relative_error(float(truth), prediction)
        return max(0.0, 1.0 - error), error
    if kind == "next_step":
        return float(next_step_correct(truth, prediction)), None
    return float(prediction is not None and prediction == truth), None


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def score_predictions(kinds: Sequence[str], references: Sequence[dict[str, Any]], predictions: Sequence[Any]):
    """The benchmark's metric output: per-kind and per-family values in [0, 1], `score` in percent."""
    per_sample, by_family, errors = [], {family: [] for family in SCORED_FAMILIES}, []
    by_metric: dict[str, list[float]] = {}
    for kind, reference, prediction in zip(kinds, references, predictions, strict=True):
        value, error = sample_score(kind, reference, prediction)
        per_sample.append(value)
        by_family[FAMILY_OF_KIND[kind]].append(value)
        if error is not None:
            errors.append(error)
        metric = {
            "box": "grounding_box_acc",
            "point": "grounding_point_acc",
            "relation": "spatial_relation_acc",
            "count": "spatial_count_acc",
            "larger": "spatial_compare_acc",
            "closer": "spatial_compare_acc",
            "distance": "spatial_distance_score",
            "next_step": "planning_next_step_acc",
            "done": "planning_done_acc",
        }[kind]
        by_metric.setdefault(metric, []).append(value)
    output: dict[str, Any] = {name: _mean(values) for name, values in sorted(by_metric.items())}
    if errors:
        output["spatial_distance_rel_error"] = _mean(errors)
    families = {family: _mean(values) for family, values in by_family.items() if values}
    for family, value in families.items():
        output[_FAMILY_SHORT[family]] = value
        output[f"{_FAMILY_SHORT[family]}_count"] = len(by_family[family])
    output["score"] = 100 * _mean(list(families.values())) if families else float("nan")
    output["categories"] = {_FAMILY_SHORT[family]: 100 * value for family, value in families.items()}
    output["per_sample"] = per_sample
    return output


# ----------------------------------------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------------------------------------


def _names(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None or value == "":
        return None
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else list(value)


class InDomainBenchmark(Benchmark):
    """Held-out simulator episodes of one suite, questioned by the in-domain QA engine (see the module docstring).

    Options (`--benchmark_options in_domain_aloha.OPTION=VALUE`): `tasks` (comma-separated; default every task of
    the suite), `episodes` (per task), `start_seed` (>= `HELD_OUT_START_SEED`), `image_size`, `cameras`
    (comma-separated), `workers` (recording processes; 0 records in this process), `max_per_episode` (keyframes).
    """

    suite = ""
    display_name = ""
    metric_name = ""  # scored here, no `evaluate` module: the scores need the per-kind logic above
    max_new_tokens = 96
    needs_data = False
    how_to_obtain = "nothing to download: the benchmark records its own held-out episodes in simulation."

    def __init__(
        self,
        tasks: str | Sequence[str] | None = None,
        episodes: int = 2,
        start_seed: int = HELD_OUT_START_SEED,
        image_size: int | None = None,
        cameras: str | Sequence[str] | None = None,
        workers: int = 2,
        max_per_episode: int = 8,
    ) -> None:
        if int(start_seed) < HELD_OUT_START_SEED:
            raise ValueError(
                f"start_seed must be >= {HELD_OUT_START_SEED}: lower seeds are used for training recordings"
            )
        if int(episodes) < 1:
            raise ValueError(f"episodes must be >= 1 (per task), got {episodes}")
        self.tasks = _names(tasks)
        self.episodes, self.start_seed = int(episodes), int(start_seed)
        self.image_size = int(image_size) if image_size else None
        self.cameras = _names(cameras)
        self.workers, self.max_per_episode = int(workers), int(max_per_episode)

    @property
    def seeds(self) -> range:
        """The held-out seeds recorded for every task."""
        return range(self.start_seed, self.start_seed + self.episodes)

    def episodes_dir(self, root: Path) -> Path:
        """The recording folder: one per camera set and image size (the recorder refuses to mix them)."""
        cameras = "-".join(self.cameras) if self.cameras else "default"
        return Path(root) / f"episodes_{cameras}_{self.image_size or 'default'}"

    def record_episodes(self, root: Path) -> Path:
        """Record the held-out episodes that are not recorded yet; returns the LeRobot dataset folder."""
        from simulation.record import RecordConfig, all_tasks, record
        from simulation.registry import UnknownTaskError

        try:
            tasks = self.tasks or all_tasks(self.suite)
            out = self.episodes_dir(root)
            out.parent.mkdir(parents=True, exist_ok=True)
            record(
                RecordConfig(
                    suite=self.suite,
                    tasks=tasks,
                    episodes=self.episodes,
                    out=out,
                    start_seed=self.start_seed,
                    workers=self.workers,
                    cameras=self.cameras,
                    image_size=self.image_size,
                    progress=False,
                )
            )
        except (UnknownTaskError, ImportError) as error:
            raise RuntimeError(
                f"{self.display_name} ({self.name}) cannot record its held-out episodes: the {self.suite!r} "
                f"simulation suite is unavailable here ({error})"
            ) from error
        return out

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        from PIL import Image

        from hub_datasets.episodes import LeRobotEpisodes
        from hub_datasets.in_domain import EngineConfig, EngineReport, InDomainEngine

        dataset_dir = self.record_episodes(root)
        result = LoadResult([], source=f"{dataset_dir} (seeds {self.seeds.start}-{self.seeds.stop - 1} per task)")
        if not (dataset_dir / "meta" / "info.json").is_file():
            result.skip(str(dataset_dir), "no successful held-out episode recorded")
            return result
        episodes = LeRobotEpisodes(dataset_dir)
        engine = InDomainEngine(
            EngineConfig(seed=ENGINE_SEED, families=SCORED_FAMILIES, max_per_episode=self.max_per_episode)
        )
        report = EngineReport()
        for frame in engine.run(episodes, source=self.name, domain=self.suite, report=report, progress=False):

            def load(index: int = frame.global_index, key: str = frame.camera_key) -> Image.Image:
                return Image.fromarray(episodes.frame(index)[key]).convert("RGB")

            image = LazyImage(load, f"{dataset_dir.name}[{frame.global_index}] {frame.camera_key}")
            size = (frame.scene.width, frame.scene.height)
            for conversation in frame.conversations:
                for turn, pair in enumerate(conversation.pairs):
                    sample_id = f"{conversation.id}:{turn}"
                    if pair.kind not in FAMILY_OF_KIND:
                        continue  # not a scored kind (plans, step order, ...): not a sample, not an error
                    reference = self._reference(pair.kind, pair.claim, pair.answer, frame.scene, size)
                    if reference is None:
                        result.skip(sample_id, f"{pair.kind}: ground truth not derivable")
                        continue
                    result.samples.append(
                        Sample(
                            id=sample_id,
                            prompt=f"<image>\n{pair.question}",
                            images=[image],
                            reference=reference,
                            category=f"{FAMILY_OF_KIND[pair.kind]}.{pair.kind}",
                        )
                    )
        for field_pattern, count in report.frames_bad.items():  # frames the engine could not read, by field
            result.skip(f"{count} frame(s)", f"bad annotation record ({field_pattern})")
        return result

    @staticmethod
    def _reference(kind: str, claim: dict[str, Any], answer: str, scene: Any, size: tuple[int, int]) -> dict | None:
        reference: dict[str, Any] = {"kind": kind, "size": list(size), "answer": answer}
        if kind in ("box", "point"):
            boxes = [scene.by_name[name].bbox_visible for name in claim.get("objects", []) if name in scene.by_name]
            if not boxes or any(box is None for box in boxes):
                return None
            reference["truth"] = [[float(v) for v in box] for box in boxes]
            return reference
        if kind in ("larger", "closer"):
            reference["choices"] = [claim["a"], claim["b"]]
        truth = parse_answer(kind, answer, reference)
        if truth is None:
            return None
        reference["truth"] = truth
        return reference

    def parse(self, answer: str, sample: Sample) -> Any:
        return parse_answer(sample.reference["kind"], answer, sample.reference)

    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        return {
            "kinds": [sample.reference["kind"] for sample in samples],
            "references": [sample.reference for sample in samples],
            "predictions": list(predictions),
        }

    def compute_metric(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Scored in this module (no `evaluate` metric module): see `score_predictions`."""
        return score_predictions(**inputs)


class InDomainAloha(InDomainBenchmark):
    name = "in_domain_aloha"
    display_name = "In-domain (ALOHA)"
    suite = "aloha"


class InDomainWidowX(InDomainBenchmark):
    """Needs ManiSkill3 (and a Vulkan driver such as lavapipe); fails with a clear error where they are missing."""

    name = "in_domain_widowx"
    display_name = "In-domain (WidowX)"
    suite = "widowx"


in_domain_aloha = InDomainAloha
in_domain_widowx = InDomainWidowX
"""Registry factories (`LAZY_BENCHMARKS` in `registry.py` maps each name to the attribute of the same name)."""
