# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""The in-domain reasoning benchmark: hand-checked scoring, and end-to-end runs on freshly recorded ALOHA episodes."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from eval.reasoning.base import LoadContext
from eval.reasoning.in_domain import (
    HELD_OUT_START_SEED,
    InDomainAloha,
    box_accuracy,
    box_iou,
    distance_relative_error,
    next_step_correct,
    normalize_step,
    parse_answer,
    point_accuracy,
    score_predictions,
)
from eval.reasoning.registry import available_benchmarks, get_benchmark
from eval.reasoning.runner import ReasoningEvalConfig, run_reasoning_eval

# ----------------------------------------------------------------------------------------------------------- scoring


def test_iou_threshold_edge() -> None:
    truth = [[0, 0, 10, 10]]
    # [0, 0, 10, 5] covers half of the truth box and lies inside it: IoU = 50 / 100 = 0.5 exactly -> a hit
    assert box_iou([0, 0, 10, 5], truth[0]) == pytest.approx(0.5)
    assert box_accuracy(truth, [[0, 0, 10, 5]]) == 1.0
    # [0, 0, 10, 4.9]: IoU 0.49 -> a miss
    assert box_accuracy(truth, [[0, 0, 10, 4.9]]) == 0.0
    # two predictions for one object: one hit / max(1, 2) = 0.5; nothing predicted: 0
    assert box_accuracy(truth, [[0, 0, 10, 10], [50, 50, 60, 60]]) == 0.5
    assert box_accuracy(truth, []) == 0.0
    # two objects, predictions in swapped order are matched one-to-one
    assert box_accuracy([[0, 0, 10, 10], [20, 20, 30, 30]], [[20, 20, 30, 30], [0, 0, 10, 10]]) == 1.0


def test_point_inside_outside_box() -> None:
    boxes = [[10, 10, 20, 20], [30, 30, 40, 40]]
    assert point_accuracy(boxes, [[15, 15], [35, 35]]) == 1.0
    assert point_accuracy(boxes, [[20, 20], [50, 50]]) == 0.5  # an edge counts as inside; (50, 50) is in neither
    assert point_accuracy(boxes[:1], [[9.9, 15]]) == 0.0
    assert point_accuracy(boxes, [[15, 15], [16, 16]]) == 0.5  # both points in the first box: it matches once


def test_distance_relative_error_and_parsing() -> None:
    assert distance_relative_error(20, 25) == pytest.approx(0.25)
    assert distance_relative_error(20, None) == 1.0
    assert distance_relative_error(0, 2) == pytest.approx(2.0)  # denominator floored at 1 cm
    reference = {"size": [640, 480]}
    assert parse_answer("distance", "About 12 cm.", reference) == 12
    assert parse_answer("distance", "0.3 m", reference) == pytest.approx(30)
    assert parse_answer("distance", "45 mm apart", reference) == pytest.approx(4.5)
    # distance score = max(0, 1 - error): 1 - 0.25 = 0.75 and 0 for an error of 3
    out = score_predictions(["distance", "distance"], [{"truth": 20}, {"truth": 10}], [25, 40])
    assert out["spatial_distance_score"] == pytest.approx(0.375)
    assert out["spatial_distance_rel_error"] == pytest.approx((0.25 + 3.0) / 2)


def test_next_step_and_done_accuracy() -> None:
    truth = normalize_step("Grasp the red block.")
    assert truth == "grasp red block"
    assert next_step_correct(truth, normalize_step("grasp the red block"))
    assert next_step_correct(truth, normalize_step("Next: grasp the red block."))
    assert not next_step_correct(truth, normalize_step("lift the red block"))
    long = normalize_step("Move the gripper to the red block, grasp the red block, lift it, carry it to the plate")
    assert not next_step_correct(truth, long)  # contains the step but lists the plan: more than twice as long
    assert parse_answer("done", "Yes, the task is complete.", {}) is True
    assert parse_answer("done", "No. The robot is on step 2 of 4.", {}) is False
    out = score_predictions(
        ["next_step", "next_step", "done", "done", "done", "done"],
        [{"truth": truth}, {"truth": truth}, {"truth": True}, {"truth": False}, {"truth": True}, {"truth": False}],
        [truth, "lift red block", True, False, False, None],
    )
    assert out["planning_next_step_acc"] == 0.5
    assert out["planning_done_acc"] == 0.5
    assert out["planning"] == pytest.approx(3 / 6)
    assert out["score"] == pytest.approx(50.0)  # one family: its mean, in percent
    assert out["per_sample"] == [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]


def test_family_means_and_headline() -> None:
    out = score_predictions(
        ["box", "relation", "count"],
        [{"truth": [[0, 0, 10, 10]]}, {"truth": True}, {"truth": 3}],
        [[[0, 0, 10, 10]], False, 3],
    )
    assert out["grounding"] == 1.0 and out["spatial"] == 0.5
    assert out["score"] == pytest.approx(75.0)  # mean of the family means (1.0, 0.5)
    assert out["categories"] == {"grounding": 100.0, "spatial": 50.0}


def test_registered_and_held_out_seeds() -> None:
    assert {"in_domain_aloha", "in_domain_widowx"} <= set(available_benchmarks())
    benchmark = get_benchmark("in_domain_aloha")
    assert isinstance(benchmark, InDomainAloha) and not benchmark.needs_data
    assert set(benchmark.seeds).isdisjoint(range(1000)) and benchmark.seeds.start == HELD_OUT_START_SEED
    with pytest.raises(ValueError, match="start_seed"):
        InDomainAloha(start_seed=5)


# ------------------------------------------------------------------------------------------------------- end to end

needs_aloha = pytest.mark.skipif(
    importlib.util.find_spec("mujoco") is None or importlib.util.find_spec("gym_aloha") is None,
    reason="recording the aloha suite needs mujoco and gym-aloha (the `sim` extra)",
)
OPTIONS = {"tasks": "lift_bar", "episodes": "1", "image_size": "64", "cameras": "top", "workers": "0"}


def _config(data_dir: Path, output_dir: Path, model: str, **extra) -> ReasoningEvalConfig:
    return ReasoningEvalConfig(
        model=model,
        benchmarks="in_domain_aloha",
        data_dir=str(data_dir),
        output_dir=str(output_dir),
        benchmark_options=[f"in_domain_aloha.{key}={value}" for key, value in OPTIONS.items()],
        device="cpu",
        **extra,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("in_domain_data")


def _digest(image) -> str:
    return hashlib.md5(np.asarray(image.convert("RGB")).tobytes()).hexdigest()


@needs_aloha
def test_oracle_scores_one(data_dir: Path, tmp_path: Path) -> None:
    benchmark = InDomainAloha(tasks="lift_bar", episodes=1, image_size=64, cameras="top", workers=0)
    loaded = benchmark.load_local(data_dir / "in_domain_aloha", LoadContext())
    assert loaded.samples, loaded.skipped_reasons()
    kinds = {sample.reference["kind"] for sample in loaded.samples}
    assert {"box", "done"} <= kinds
    truth = {(s.prompt, _digest(s.load_images()[0])): s.reference["answer"] for s in loaded.samples}

    def oracle(requests):
        return [truth[(request.prompt, _digest(request.images[0]))] for request in requests]

    report = run_reasoning_eval(_config(data_dir, tmp_path / "out", "oracle"), generator=oracle)
    entry = report.entry("in_domain_aloha")
    assert entry.status == "ok", entry.reason
    assert entry.metric["grounding"] == 1.0
    assert entry.metric["planning"] == 1.0
    assert entry.metric.get("spatial", 1.0) == 1.0
    assert entry.score == pytest.approx(100.0)


@needs_aloha
def test_tiny_model_end_to_end(data_dir: Path, tmp_path: Path, tiny_model_dir: Path) -> None:
    config = _config(data_dir, tmp_path / "out", str(tiny_model_dir), limit=4, max_new_tokens=8, batch_size=4)
    report = run_reasoning_eval(config)
    entry = report.entry("in_domain_aloha")
    assert entry.status == "ok", entry.reason
    assert entry.samples == 4 and entry.generated == 4
    assert 0.0 <= entry.score <= 100.0
    for key in ("grounding", "spatial", "planning"):
        if key in entry.metric:
            assert 0.0 <= entry.metric[key] <= 1.0
    recorded = json.loads((data_dir / "in_domain_aloha" / "episodes_top_64" / "meta" / "info.json").read_text())
    assert recorded["total_episodes"] == 1  # recorded once, reused by the second run
    predictions = (tmp_path / "out" / "predictions" / "in_domain_aloha.jsonl").read_text().splitlines()
    assert len(predictions) == 4 and all(math.isfinite(json.loads(line)["score"]) for line in predictions)
    # the answers are cached: a rerun generates nothing
    again = run_reasoning_eval(config).entry("in_domain_aloha")
    assert again.cached == 4 and again.generated == 0
