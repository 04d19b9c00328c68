"""Each benchmark end to end on its published layout: loader (with malformed rows skipped and counted), prompt,
parser and metric, with hand-written answers whose scores are worked out in the comments."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eval.reasoning import get_benchmark
from eval.reasoning.prompts import VLASER_POINT_PROMPT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _score(name, root, context, answers, **options):
    benchmark = get_benchmark(name) if not options else type(get_benchmark(name))(**options)
    loaded = benchmark.load_local(root, context)
    assert sorted(sample.id for sample in loaded.samples) == sorted(answers)
    for sample in loaded.samples:
        assert sample.prompt.count("<image>") == len(sample.load_images())
    predictions = [benchmark.parse(answers[sample.id], sample) for sample in loaded.samples]
    return benchmark.score(loaded.samples, predictions), loaded


def test_erqa_tfrecord(data_dir, load_context):
    # erqa-0: B, answered "B" -> right; erqa-1: A, answered C -> wrong: 50 %
    result, loaded = _score("erqa", data_dir / "ERQA", load_context, {"erqa-0": "B", "erqa-1": "The answer is C."})
    assert result.score == pytest.approx(50.0)
    assert result.categories == {"Multi-view Reasoning": 0.0, "Trajectory Reasoning": 100.0}
    assert loaded.skipped_reasons() == {
        "answer is not an option letter A-D": 1,
        "undecodable Example record (TFRecordError)": 1,
    }
    interleaved = next(sample for sample in loaded.samples if sample.id == "erqa-1")
    assert interleaved.prompt.startswith("<image>Compare: <image>and then.")


def test_erqa_hub_copies(extra_layouts, load_context):
    # parquet: q0 C answered "(C)" -> right, q1 D answered B -> wrong; the TSV's broken base64 row is skipped
    result, _ = _score("erqa", extra_layouts / "ERQA-parquet", load_context, {"q0": "(C)", "q1": "I think it is B"})
    assert result.score == pytest.approx(50.0)
    result, loaded = _score("erqa", extra_layouts / "ERQA-tsv", load_context, {"0": "A"})
    assert result.score == pytest.approx(100.0)
    assert loaded.skipped_reasons() == {"undecodable base64 image": 1}


def test_egoplan_frames_prompt_and_official_parser(data_dir, load_context):
    # vid1_0 gold A answered "A. boil water" -> right; vid2_0 gold C answered "Based on ..." -> official regex B: 50 %
    answers = {"vid1_0": "A. boil water", "vid2_0": "Based on the video I would pour tea."}
    result, loaded = _score("egoplan_bench2", data_dir / "EgoPlan-Bench2", load_context, answers)
    assert result.score == pytest.approx(50.0)
    assert loaded.skipped_reasons() == {"missing field(s) choice_c": 1, "video not found": 1}
    video_sample = next(sample for sample in loaded.samples if sample.id == "vid1_0")
    assert (
        video_sample.prompt.startswith("Image-1: <image>\nImage-2: <image>\n")
        and "order to make tea?" in video_sample.prompt
    )
    # 8 frames at linspace(2, 16, 8) = 2, 4, ..., 16 of a video whose frame i is gray level 12 i (MPEG-4 is lossy)
    levels = [float(np.asarray(frame).mean()) for frame in video_sample.load_images()]
    assert levels == pytest.approx([12 * index for index in range(2, 17, 2)], abs=6)


def test_where2place_original_layout(data_dir, load_context):
    # 0: left half is free space; (250, 500) -> pixel (16, 24) inside, (750, 500) -> (48, 24) outside: 0.5
    # 1: free space is x 24..39, y 16..31; RoboPoint floats (0.5, 0.5) -> (32, 24) inside, (0.9, 0.1) -> (57, 4): 0.5
    answers = {"0": "<point>[[250, 500], [750, 500]]</point>", "1": "[(0.5, 0.5), (0.9, 0.1)]"}
    result, loaded = _score("where2place", data_dir / "where2place", load_context, answers)
    assert result.score == pytest.approx(50.0)
    assert loaded.skipped_reasons() == {"missing field(s) text": 1}
    prompt = loaded.samples[0].prompt
    assert prompt.startswith("<image>\n" + VLASER_POINT_PROMPT) and "list of tuples" not in prompt


def test_where2place_parquet_keeps_soft_mask_values(extra_layouts, load_context):
    # the mask holds 128 where the point lands: RoboPoint's mask / 255 without rounding -> 128 / 255
    result, _ = _score(
        "where2place", extra_layouts / "where2place-parquet", load_context, {"w0": "<point>[[500, 500]]</point>"}
    )
    assert result.score == pytest.approx(100 * 128 / 255)


def test_point_bench(data_dir, load_context):
    # masks: left half. affordable: first point (6, 24) inside -> ok; counting (2): (6, 4) and (12, 43) inside -> ok;
    # spatial: first point (57, 24) outside -> fail: 2 / 3
    answers = {
        "0:a.png": "<point>[[100, 500], [900, 500]]</point>",
        "1:b.png": "<point>[[100, 100], [200, 900]]</point>",
        "2:c.png": "<point>[[900, 500], [100, 500]]</point>",
    }
    result, loaded = _score("point_bench", data_dir / "PointArena", load_context, answers)
    assert result.score == pytest.approx(200 / 3)
    assert loaded.skipped_reasons() == {"image or mask file not found": 1}


def test_paco_lavis_internvl_jsonl(data_dir, load_context):
    # the square x 16..48, y 12..36: (500, 500) -> (32, 24) inside, (100, 100) -> (6, 4) outside; no point: +1 -> 1 / 3
    ids = ["paco_lvis_v1_pointing_test_single_conv:1:0", "paco_lvis_v1_pointing_test_single_conv:2:0"]
    answers = {ids[0]: "<point>[[500, 500], [100, 100]]</point>", ids[1]: "I don't know"}
    result, loaded = _score("paco_lavis", data_dir / "paco-lavis", load_context, answers)
    assert result.score == pytest.approx(100 / 3)
    assert loaded.skipped_reasons() == {"segmentation is not a list of polygon lists": 1}
    assert loaded.samples[0].prompt.endswith("Please provide the referring points of the mug handle.")


def test_paco_lavis_raw_annotations(extra_layouts, load_context):
    # "mug:handle" = two squares (0..10, 0..10) and (50..60, 0..10): (78, 104) -> (4, 4), (859, 104) -> (54, 4): 2/2;
    # "mug" covers the image: (500, 500) inside: 1/1 -> 100 %; the RLE annotation is skipped
    answers = {"2:7": "<point>[[78, 104], [859, 104]]</point>", "2:1": "<point>[[500, 500]]</point>"}
    result, loaded = _score("paco_lavis", extra_layouts / "paco-raw", load_context, answers)
    assert result.score == pytest.approx(100.0)
    assert next(s for s in loaded.samples if s.id == "2:7").prompt.endswith("points of handle of the mug.")
    assert loaded.skipped_reasons() == {"segmentation is not a list of polygons": 1}


def test_pixmo_points_eval(data_dir, load_context):
    # ground truth in percent -> grid: (500, 500); (100, 200), (900, 800). Answers: (510, 505) 11.2 away -> right;
    # (100, 224) 24 away -> right, (500, 500) wrong, (900, 790) 10 away -> right: 3 / 4
    answers = {"0:aaa": "<point>[[510, 505]]</point>", "1:bbb": "<point>[[100, 224], [500, 500], [900, 790]]</point>"}
    result, loaded = _score("pixmo_points", data_dir / "pixmo-points-eval", load_context, answers)
    assert result.score == pytest.approx(75.0)
    assert loaded.skipped_reasons() == {
        "no ground-truth points (VLASER's script skips these)": 1,
        "image not downloaded (images/<image_sha256>.*)": 1,
    }


def test_vsi_bench(data_dir, load_context):
    # rel_direction_easy B: "B." right; route_planning A: "C" wrong; counting 4: "4" MRA 1;
    # room size 20: 13.4 -> error 0.33, thresholds 0.50..0.65 pass: 0.4. Mean of the 4 tasks: (1 + 0 + 1 + 0.4) / 4
    answers = {"0": "B.", "1": "C", "2": "4", "3": "13.4 square meters"}
    result, loaded = _score("vsi_bench", data_dir / "VSI-Bench", load_context, answers)
    assert result.score == pytest.approx(60.0)
    assert loaded.skipped_reasons() == {"unknown question_type object_weight": 1, "video not found": 1}
    zipped = next(sample for sample in loaded.samples if sample.id == "2")  # read inside arkitscenes.zip
    assert len(zipped.load_images()) == 4 and zipped.prompt.startswith("Frame1: <image>\n")


def test_refspatial_bench_splits(data_dir, load_context):
    # masks: value 200 (binarized to 1) on x < 16. location:1 (6, 24) -> 1; location:2 box (0, 0, 32, 48) -> 16 of 32
    # columns inside: 0.5; placement:3 no point: 0 -> (1 + 0.5 + 0) / 3
    answers = {
        "location:1": "<point>[[100, 500]]</point>",
        "location:2": "<box>[[0, 0, 500, 1000]]</box>",
        "placement:3": "no idea",
    }
    result, loaded = _score("refspatial_bench", data_dir / "RefSpatial-Bench", load_context, answers)
    assert result.score == pytest.approx(50.0)
    assert result.categories == {"location": 75.0, "placement": 0.0}
    assert loaded.skipped_reasons() == {"missing field(s) mask": 1}
    assert "list of tuples" not in loaded.samples[0].prompt
    only_location, _ = _score(
        "refspatial_bench",
        data_dir / "RefSpatial-Bench",
        load_context,
        {k: v for k, v in answers.items() if k.startswith("loc")},
        splits="location",
    )
    assert only_location.score == pytest.approx(75.0)


def test_mmsi_bench(data_dir, load_context):
    # B: "``B``" right; A: "A dog ..." no letter -> wrong; D: "{C}" wrong -> 1 / 3
    answers = {"0": "The answer is ``B``", "1": "A dog is on the left.", "2": "{C}"}
    result, loaded = _score("mmsi_bench", data_dir / "MMSI-Bench", load_context, answers)
    assert result.score == pytest.approx(100 / 3)
    assert loaded.skipped_reasons() == {"answer is not an option letter A-D": 1}
    assert loaded.samples[0].prompt.endswith("Enclose the option's letter within ``.")


def test_vlabench(data_dir, load_context):
    def skills(*pairs):
        return json.dumps(
            [
                {"name": n, "params": {("target_entity_name" if n == "pick" else "target_container_name"): v}}
                for n, v in pairs
            ]
        )

    swapped = "```json\n" + skills(("pick", 3), ("place", 4), ("pick", 1), ("place", 2)) + "\n```"
    answers = {
        "CommenSence/cook_dishes/example0": swapped,  # order-free task: every part 100
        "M&T/select_fruit/example0": skills(("pick", "1"), ("place", 5)),  # 40 + 0.4 * 50 + 0.1 * 50 + 0 = 65
        "M&T/select_fruit/example1": swapped,  # sequential: exact match 0 -> 90
    }
    result, loaded = _score("vlabench", data_dir / "VLABench", load_context, answers)
    assert result.score == pytest.approx((100 + 65 + 90) / 3)
    assert result.categories == pytest.approx({"CommenSence": 100.0, "M&T": 77.5})
    assert loaded.skipped_reasons() == {"malformed operation_sequence.json (KeyError)": 1}
