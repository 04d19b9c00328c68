"""The `evaluate` metric modules, loaded from the project's own path, on inputs whose scores are worked out by hand in
the comments."""

from __future__ import annotations

import json

import pytest

from eval.reasoning.base import METRICS_DIR, load_metric
from tests.eval.fixtures import mask_image

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_every_metric_module_loads_from_this_package():
    names = sorted(path.name for path in METRICS_DIR.iterdir() if (path / f"{path.name}.py").is_file())
    assert names == [
        "embodiedbench_success_rate",
        "mask_point_accuracy",
        "multiple_choice_accuracy",
        "paco_point_precision",
        "pixmo_point_precision",
        "point_bench_success",
        "vlabench_skill_score",
        "vsi_bench_score",
    ]
    for name in names:
        assert type(load_metric(name)).__module__.endswith(name)


def test_multiple_choice_accuracy():
    # correct: q1 (B == b), q3 (D); wrong: q2 (C vs A), q4 (no letter) -> 2 / 4 = 50 %; "x": q1, q2 -> 50 %; "y": 50 %
    result = load_metric("multiple_choice_accuracy").compute(
        predictions=["B", "C", "D", ""], references=["b", "A", "D", "A"], categories=["x", "x", "y", "y"]
    )
    assert result["score"] == pytest.approx(50.0)
    assert (result["correct"], result["total"]) == (2, 4)
    assert result["categories"] == {"x": 50.0, "y": 50.0}


def test_mask_point_accuracy_soft_values_boxes_and_out_of_image_points():
    mask = mask_image([(0, 0, 32, 48, 255), (32, 0, 40, 48, 128)])  # left half 255, columns 32..39 at 128
    predictions = [
        # (16.9, 5) -> pixel (16, 5): 1.0; (35, 5): 128/255; (70, 5): outside the 64-wide image: 0 -> mean / 3
        {"points": [[16.9, 5.0], [35.0, 5.0], [70.0, 5.0]], "boxes": []},
        # box (30, 0, 34, 1): pixels x = 30..33 at y = 0 -> 1, 1, 128/255, 128/255 -> mean (2 + 256/255) / 4
        {"points": [], "boxes": [[30.0, 0.0, 34.0, 1.0]]},
        {"points": [], "boxes": []},  # no point: 0
    ]
    references = [{"mask": mask}] * 3
    soft = load_metric("mask_point_accuracy").compute(predictions=predictions, references=references, mask_mode="soft")
    expected = [(1 + 128 / 255) / 3, (2 + 256 / 255) / 4, 0.0]
    assert soft["per_sample"] == pytest.approx(expected)
    assert soft["score"] == pytest.approx(100 * sum(expected) / 3)
    binary = load_metric("mask_point_accuracy").compute(
        predictions=predictions, references=references, mask_mode="binary"
    )
    assert binary["per_sample"] == pytest.approx([2 / 3, 1.0, 0.0])  # any value > 0 counts fully


def test_point_bench_success_first_point_and_exact_count():
    mask = mask_image([(0, 0, 32, 48, 255)])
    references = [
        {"mask": mask, "count": 1, "category": "affordable"},
        {"mask": mask, "count": 1, "category": "spatial"},
        {"mask": mask, "count": 2, "category": "counting"},
        {"mask": mask, "count": 2, "category": "counting"},
        {"mask": mask, "count": 1, "category": "steerable"},
    ]
    predictions = [
        [[10, 10], [50, 10]],  # only the first point counts: inside -> success
        [[50, 10], [10, 10]],  # first point outside -> failure
        [[10, 10], [20, 20]],  # two points, both inside -> success
        [[10, 10]],  # one point, count 2 -> failure
        [],  # no point -> failure
    ]
    result = load_metric("point_bench_success").compute(predictions=predictions, references=references)
    assert (result["successes"], result["total"]) == (2, 5)
    assert result["score"] == pytest.approx(40.0)
    assert result["categories"] == {"affordable": 100.0, "counting": 50.0, "spatial": 0.0, "steerable": 0.0}


def test_paco_precision_micro_average_and_empty_answers():
    square = {"segmentation": [[[16.0, 12.0, 48.0, 12.0, 48.0, 36.0, 16.0, 36.0]]], "width": 64, "height": 48}
    predictions = [
        [[500, 500], [100, 100]],  # (32, 24) inside; (6, 4) outside -> 1 of 2
        [],  # no point: adds 1 to the denominator
        [[250, 250], [750, 750], [-10, 500]],  # (16, 12) on the polygon edge (filled): inside; (48, 36) edge: inside
    ]
    result = load_metric("paco_point_precision").compute(predictions=predictions, references=[square] * 3)
    assert (result["correct"], result["total"]) == (3, 6)
    assert result["score"] == pytest.approx(50.0)


def test_pixmo_precision_radius_25_on_the_grid():
    predictions = [[[510, 505]], [[100, 225], [500, 500], [900, 825.1]], []]
    references = [[[500, 500]], [[100, 200], [900, 800]], [[1, 1]]]
    # (510, 505): 11.2 away -> correct; (100, 225): exactly 25 -> correct (<=); (500, 500): wrong;
    # (900, 825.1): 25.1 -> wrong; empty answer: +1 -> 2 / 5
    result = load_metric("pixmo_point_precision").compute(predictions=predictions, references=references)
    assert (result["correct"], result["total"]) == (2, 5)
    assert result["score"] == pytest.approx(40.0)


def test_vsi_bench_mra_and_task_means():
    references = [
        {"question_type": "object_rel_direction_easy", "ground_truth": "B"},
        {"question_type": "object_rel_direction_hard", "ground_truth": "A"},
        {"question_type": "route_planning", "ground_truth": "C"},
        {"question_type": "object_counting", "ground_truth": "4"},
        {"question_type": "room_size_estimation", "ground_truth": "20"},
        {"question_type": "room_size_estimation", "ground_truth": "20"},
    ]
    predictions = [
        {"text": "b", "number": None},  # case-insensitive exact match: 1
        {"text": "B", "number": None},  # 0 -> rel_direction = mean(easy 1, hard 0) = 0.5
        {"text": "C", "number": None},  # 1
        {"text": "", "number": 4.0},  # exact: 1
        {"text": "", "number": 13.4},  # relative error 0.33 <= 1 - theta for theta in 0.50..0.65: 4 of 10 -> 0.4
        {"text": "", "number": None},  # unparseable: 0 -> room size = 0.2
    ]
    result = load_metric("vsi_bench_score").compute(predictions=predictions, references=references)
    assert result["tasks"] == pytest.approx(
        {"object_rel_direction": 50.0, "route_planning": 100.0, "object_counting": 100.0, "room_size_estimation": 20.0}
    )
    assert result["score"] == pytest.approx((50 + 100 + 100 + 20) / 4)


def test_vsi_bench_thresholds_are_the_reference_grid():
    import importlib.util

    spec = importlib.util.spec_from_file_location("vsi", METRICS_DIR / "vsi_bench_score" / "vsi_bench_score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # 10 thresholds 0.50 ... 0.95: a relative error of 0.04 passes all of them, 0.49 passes only 0.50
    assert module.mean_relative_accuracy(9.6, 10.0) == pytest.approx(1.0)
    assert module.mean_relative_accuracy(5.1, 10.0) == pytest.approx(0.1)
    assert module.mean_relative_accuracy(0.0, 0.0) == 1.0  # the reference divides by zero here


def _skills(*pairs):
    sequence = []
    for name, value in pairs:
        key = "target_entity_name" if name in ("pick", "press") else "target_container_name"
        sequence.append({"name": name, "params": {key: value}})
    return json.dumps(sequence)


def test_vlabench_scores_by_hand():
    expert = _skills(("pick", 1), ("place", 2), ("pick", 3), ("place", 4))
    swapped = _skills(("pick", 3), ("place", 4), ("pick", 1), ("place", 2))
    references = [
        {"skill_sequence": expert, "dependency": "Sequential", "dimension": "M&T"},
        {"skill_sequence": expert, "dependency": "Seq-independent", "dimension": "CommenSence"},
        {"skill_sequence": _skills(("pick", 1), ("place", 2)), "dependency": "Sequential", "dimension": "M&T"},
        {"skill_sequence": expert, "dependency": "Sequential", "dimension": "Spatial"},
    ]
    predictions = [
        swapped,  # skill, entity, skill+entity 100; exact: layer 1 (1,2) vs (3,4) no, layer 2 no -> 0; total 90
        swapped,  # order-free graph: both sub-tasks match at layer 1 -> exact 100; total 100
        _skills(("pick", "1"), ("place", 5)),  # skill 100; entity 1/2 (string "1" == 1); s+e 1/2; exact 0 -> 65
        "",  # format error: 0
    ]
    result = load_metric("vlabench_skill_score").compute(predictions=predictions, references=references)
    totals = [sample["total_score"] for sample in result["per_sample"]]
    assert totals == pytest.approx([90.0, 100.0, 65.0, 0.0])
    assert result["per_sample"][2]["entity_match_score"] == pytest.approx(50.0)
    assert result["score"] == pytest.approx(255 / 4)
    assert result["categories"] == pytest.approx({"CommenSence": 100.0, "M&T": 77.5, "Spatial": 0.0})
    legacy = load_metric("vlabench_skill_score").compute(
        predictions=predictions[:1], references=references[:1], total_variant="skill_entity_only"
    )
    assert legacy["score"] == pytest.approx(80.0)  # 0.4 * 100 + 0.4 * 100


def test_embodiedbench_success_rate():
    result = load_metric("embodiedbench_success_rate").compute(
        predictions=[
            {"task_success": 1.0, "task_progress": 1.0},
            {"task_success": 0.0, "task_progress": 0.5},
            {"task_success": 1.0, "task_progress": 1.0},
        ],
        references=[{"eval_set": "base"}, {"eval_set": "base"}, {"eval_set": "spatial"}],
    )
    assert result["score"] == pytest.approx(200 / 3)
    assert result["task_progress"] == pytest.approx(250 / 3)
    assert result["categories"] == pytest.approx({"base": 50.0, "spatial": 100.0})
