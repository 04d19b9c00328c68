# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""VLABench VLM-track score (OpenMOSS/VLABench `VLABench/evaluation/utils.py`, `get_final_score`).

Per example, comparing the model's skill sequence with the expert one (each skill `{"name", "params"}`):

* skill_match: multiset overlap of skill names / number of expert skills;
* entity_match: multiset overlap of `(role, value)` pairs, role `target_entity` or `target_container` / number of
  expert pairs;
* skill_with_entity_match: multiset overlap of `(name, target_entity, target_container)` / number of expert skills;
* exact_match: both sequences are cut into sub-tasks by the fixed patterns (`pick-place`, `pick-pour-place`, ...,
  first matching pattern at each position), sub-tasks become graph nodes (START -> nodes in sequence for
  "Sequential" tasks, START -> every node for "Seq-independent" tasks), and an expert node matches a model node of
  the same layer with the same sub-task, entity, container and matching predecessors;
* total = 0.4 skill + 0.4 entity + 0.1 skill_with_entity + 0.1 exact (all in percent).

An answer that is not a JSON skill list (format error) or that breaks the scoring scores 0 on every part, as in the
reference `get_final_score_dict`. Entity numbers are compared as strings, so `3` and `"3"` are the same mark (the
reference compares raw JSON values; models and annotation files disagree on the type). Some releases only summed
the first two weighted terms (maximum 80); `total_variant="skill_entity_only"` reproduces that.
"""

import json
from collections import Counter, defaultdict

import datasets
import evaluate
import numpy as np

SUBTASK_PATTERNS = (
    ("pick", "place"),
    ("pick", "insert"),
    ("pick", "pour", "place"),
    ("pick", "pour"),
    ("pick", "pull"),
    ("pick", "lift"),
    ("pick", "push", "pull"),
    ("pick", "push", "place"),
    ("pick", "push"),
    ("pick", "open_door"),
    ("press",),
)
WEIGHTS = {
    "skill_match_score": 0.4,
    "entity_match_score": 0.4,
    "skill_with_entity_match_score": 0.1,
    "exact_match_score": 0.1,
}
PARTS = tuple(WEIGHTS)

_DESCRIPTION = "VLABench VLM track: skill, entity, skill+entity and dependency-graph exact match, weighted total."
_INPUTS = """
Args:
    predictions (`list[str]`): per example the model's skill sequence as a JSON list, or "" for a format error.
    references (`list[dict]`): per example `{"skill_sequence": JSON list, "dependency": "Sequential" |
        "Seq-independent", "dimension": str}`.
    total_variant (`str`): "all_four" (default) or "skill_entity_only".
Returns:
    score (`float`): mean total over examples (0-100); the mean of each part; categories (`dict`): mean total per
    dimension; per_sample (`list[dict]`).
"""


def _value(value):
    return None if value is None else str(value)


def _params(skill):
    params = skill.get("params") if isinstance(skill, dict) else None
    return params if isinstance(params, dict) else {}


def _find_subtasks(sequence):
    names = [skill["name"] for skill in sequence]
    subtasks, index = [], 0
    while index < len(names):
        for pattern in SUBTASK_PATTERNS:
            if tuple(names[index : index + len(pattern)]) == pattern:
                subtasks.append(sequence[index : index + len(pattern)])
                index += len(pattern)
                break
        else:
            index += 1
    return subtasks


def _graph(sequence, dependency):
    """Nodes as (subtask, entity, container); predecessors per node; START is node 0."""
    nodes = [("START", None, None)]
    for subtask in _find_subtasks(sequence):
        entities = [_params(skill).get("target_entity_name") for skill in subtask]
        containers = [_params(skill).get("target_container_name") for skill in subtask]
        entities = [value for value in entities if value is not None]
        containers = [value for value in containers if value is not None]
        nodes.append(
            (
                "-".join(skill["name"] for skill in subtask),
                _value(entities[-1]) if entities else None,
                _value(containers[-1]) if containers else None,
            )
        )
    predecessors = {0: set()}
    for node in range(1, len(nodes)):
        predecessors[node] = {node - 1} if dependency == "Sequential" else {0}
    return nodes, predecessors


def _layers(predecessors):
    layers = {0: 0}
    for node in sorted(predecessors):
        if node:
            layers[node] = max(layers[parent] for parent in predecessors[node]) + 1
    return layers


def exact_match_score(expert, model, dependency):
    nodes1, preds1 = _graph(expert, dependency)
    nodes2, preds2 = _graph(model, dependency)
    total = len(nodes1) - 1
    if total == 0:
        return 0.0
    layers1, layers2 = _layers(preds1), _layers(preds2)
    matched = 0
    for layer in range(1, max(layers1.values()) + 1):
        candidates = [node for node, level in layers2.items() if level == layer]
        for node1 in (node for node, level in layers1.items() if level == layer):
            for node2 in candidates:
                if nodes1[node1] != nodes2[node2] or len(preds1[node1]) != len(preds2[node2]):
                    continue
                if all(any(nodes2[p2] == nodes1[p1] for p2 in preds2[node2]) for p1 in preds1[node1]):
                    matched += 1
                    candidates.remove(node2)
                    break
    return 100.0 * matched / total


def example_scores(expert, model, dependency, total_variant="all_four"):
    skills1 = Counter(skill["name"] for skill in expert)
    skills2 = Counter(skill["name"] for skill in model)

    def roles(sequence):
        pairs = []
        for skill in sequence:
            params = _params(skill)
            if params.get("target_entity_name") is not None:
                pairs.append(("target_entity", _value(params["target_entity_name"])))
            if params.get("target_container_name") is not None:
                pairs.append(("target_container", _value(params["target_container_name"])))
        return Counter(pairs)

    def triples(sequence):
        return Counter(
            (
                skill["name"],
                _value(_params(skill).get("target_entity_name")),
                _value(_params(skill).get("target_container_name")),
            )
            for skill in sequence
        )

    entities1, entities2 = roles(expert), roles(model)
    n_skills, n_entities = sum(skills1.values()), sum(entities1.values())
    scores = {
        "skill_match_score": 100.0 * sum((skills1 & skills2).values()) / n_skills if n_skills else 0.0,
        "entity_match_score": 100.0 * sum((entities1 & entities2).values()) / n_entities if n_entities else 0.0,
        "skill_with_entity_match_score": (
            100.0 * sum((triples(expert) & triples(model)).values()) / n_skills if n_skills else 0.0
        ),
        "exact_match_score": exact_match_score(expert, model, dependency),
    }
    parts = PARTS if total_variant == "all_four" else PARTS[:2]
    scores["total_score"] = sum(WEIGHTS[part] * scores[part] for part in parts)
    return scores


def _zero():
    return {**dict.fromkeys(PARTS, 0.0), "total_score": 0.0}


def _sequence(value):
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else None
    if not isinstance(value, list) or not all(isinstance(skill, dict) and "name" in skill for skill in value):
        raise ValueError("not a skill sequence")
    return value


class VlabenchSkillScore(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string"),
                    "references": {
                        "skill_sequence": datasets.Value("string"),
                        "dependency": datasets.Value("string"),
                        "dimension": datasets.Value("string"),
                    },
                }
            ),
            reference_urls=["https://github.com/OpenMOSS/VLABench"],
        )

    def _compute(self, predictions, references, total_variant="all_four"):
        if total_variant not in ("all_four", "skill_entity_only"):
            raise ValueError(f"total_variant must be 'all_four' or 'skill_entity_only', got {total_variant!r}")
        per_sample = []
        per_dimension = defaultdict(list)
        for prediction, reference in zip(predictions, references, strict=True):
            expert = _sequence(reference["skill_sequence"])
            try:
                scores = example_scores(expert, _sequence(prediction), reference["dependency"], total_variant)
            except Exception:  # noqa: BLE001 - the reference scores any failure as 0
                scores = _zero()
            per_sample.append(scores)
            per_dimension[reference["dimension"] or ""].append(scores["total_score"])
        means = {
            part: float(np.mean([scores[part] for scores in per_sample])) if per_sample else 0.0
            for part in (*PARTS, "total_score")
        }
        return {
            "score": means["total_score"],
            **means,
            "categories": {name: float(np.mean(values)) for name, values in sorted(per_dimension.items())},
            "per_sample": per_sample,
        }
