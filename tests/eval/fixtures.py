"""Hand-made benchmark data in each benchmark's published layout, small enough to build in a second.

Every builder writes one benchmark folder and documents, next to the rows, what a test can compute by hand (masks,
ground truths, which rows are malformed). The images are tiny (64 x 48) solid colours.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 64, 48


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def solid(color: tuple[int, int, int] = (120, 80, 40), size: tuple[int, int] = (WIDTH, HEIGHT)) -> Image.Image:
    return Image.new("RGB", size, color)


def mask_image(regions: list[tuple[int, int, int, int, int]], size: tuple[int, int] = (WIDTH, HEIGHT)) -> Image.Image:
    """A grayscale mask: each region `(x0, y0, x1, y1, value)` fills `[y0:y1, x0:x1]` with `value`."""
    array = np.zeros((size[1], size[0]), dtype=np.uint8)
    for x0, y0, x1, y1, value in regions:
        array[y0:y1, x0:x1] = value
    return Image.fromarray(array, "L")


def write_parquet(path: Path, rows: dict, features) -> None:
    import datasets

    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(rows, features=datasets.Features(features)).to_parquet(str(path))


def write_video(path: Path, frames: int = 20, step: int = 12) -> None:
    """An MPEG-4 video whose frame i is uniformly gray with value i * step (so sampled frames can be identified)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(frames):
            array = np.full((HEIGHT, WIDTH, 3), index * step, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


# ----------------------------------------------------------------------------------------------------------------------
# TFRecord writer (protobuf wire format written by hand, independent of the reader under test)
# ----------------------------------------------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def tf_example(features: dict) -> bytes:
    """Serialize `{name: list of bytes | list of int | list of float}` as a `tf.train.Example`."""
    entries = b""
    for name, values in features.items():
        if values and isinstance(values[0], bytes):
            feature = _field(1, b"".join(_field(1, value) for value in values))
        elif values and isinstance(values[0], float):
            feature = _field(2, _field(1, struct.pack(f"<{len(values)}f", *values)))
        else:
            feature = _field(3, _field(1, b"".join(_varint(value) for value in values)))
        entries += _field(1, _field(1, name.encode()) + _field(2, feature))
    return _field(1, entries)


def write_tfrecord(path: Path, records: list[bytes]) -> None:
    with open(path, "wb") as handle:
        for record in records:
            handle.write(struct.pack("<Q", len(record)) + b"\0\0\0\0" + record + b"\0\0\0\0")


# ----------------------------------------------------------------------------------------------------------------------
# Builders
# ----------------------------------------------------------------------------------------------------------------------


def build_erqa(root: Path) -> Path:
    """Original TFRecord layout: 2 valid questions (1 image; 2 images interleaved at offsets 0 and 9), 1 row whose
    answer is not a letter, 1 undecodable record. Answers: B, A."""
    folder = root / "ERQA" / "data"
    folder.mkdir(parents=True)
    image = png_bytes(solid())
    records = [
        tf_example(
            {
                "question": [b"Which way? A. left B. right C. up D. down"],
                "answer": [b"B"],
                "image/encoded": [image],
                "question_type": [b"Trajectory Reasoning"],
                "visual_indices": [0],
            }
        ),
        tf_example(
            {
                "question": [b"Compare: and then. Same object? A. yes B. no C. maybe D. unsure"],
                "answer": [b"A"],
                "image/encoded": [image, image],
                "question_type": [b"Multi-view Reasoning"],
                "visual_indices": [9, 0],
            }
        ),
        tf_example({"question": [b"Broken? A. a B. b"], "answer": [b"Z"], "image/encoded": [image]}),
        b"\xff\xff\xff\xff",
    ]
    write_tfrecord(folder / "erqa.tfrecord", records)
    return root / "ERQA"


def build_erqa_parquet(root: Path) -> Path:
    """FlagEval/ERQA parquet layout: 2 rows (answers C, D), the second with its own `<image>` placeholder."""
    import datasets

    image = solid()
    write_parquet(
        root / "ERQA-parquet" / "data" / "test-00000-of-00001.parquet",
        {
            "question_id": ["q0", "q1"],
            "question": ["Pick one. A. a B. b C. c D. d", "Look <image> here. A. a B. b C. c D. d"],
            "images": [[image], [image]],
            "answer": ["C", "D"],
            "question_type": ["State Estimation", "Other"],
        },
        {
            "question_id": datasets.Value("string"),
            "question": datasets.Value("string"),
            "images": datasets.List(datasets.Image()),
            "answer": datasets.Value("string"),
            "question_type": datasets.Value("string"),
        },
    )
    return root / "ERQA-parquet"


def build_erqa_tsv(root: Path) -> Path:
    """VLMEvalKit TSV layout: one valid row (answer A, image as a JSON list of base64), one with broken base64."""
    folder = root / "ERQA-tsv"
    folder.mkdir(parents=True)
    encoded = base64.b64encode(png_bytes(solid())).decode()
    lines = [
        "index\tcategory\timage\tquestion\tanswer",
        f"0\tOther\t{json.dumps([encoded])}\tWhich? A. a B. b C. c D. d\tA",
        '1\tOther\t["%%%not base64"]\tWhich? A. a B. b C. c D. d\tB',
    ]
    (folder / "ERQA.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def build_egoplan(root: Path) -> Path:
    """EgoPlan-Bench2.json with 3 questions: `vid1_0` from a 20-frame video (frames 2..16 sampled), `vid2_0` from the
    official keyframe cache, `vid3_0` missing `choice_c` (malformed), `vid4_0` whose video is absent."""
    folder = root / "EgoPlan-Bench2"
    write_video(folder / "videos" / "vid1.mp4")
    for index in range(8):
        frames = folder / "keyframes" / "vid2_0"
        frames.mkdir(parents=True, exist_ok=True)
        solid((index * 30, 0, 0)).save(frames / f"frame-{index}_frameID-{index * 5}.png")
    base = {"task_goal": "make tea", "choice_a": "boil water", "choice_b": "open fridge", "choice_c": "pour tea"}
    rows = [
        {
            **base,
            "sample_id": "vid1_0",
            "choice_d": "sit",
            "golden_choice_idx": "A",
            "task_start_frame": 2,
            "current_observation_frame": 16,
            "domain": "Daily life",
        },
        {
            **base,
            "sample_id": "vid2_0",
            "choice_d": "sit",
            "golden_choice_idx": "C",
            "task_start_frame": 0,
            "current_observation_frame": 35,
            "domain": "Hobbies",
        },
        {
            "sample_id": "vid3_0",
            "task_goal": "x",
            "choice_a": "a",
            "choice_b": "b",
            "choice_d": "d",
            "golden_choice_idx": "A",
            "task_start_frame": 0,
            "current_observation_frame": 3,
        },
        {
            **base,
            "sample_id": "vid4_0",
            "choice_d": "sit",
            "golden_choice_idx": "B",
            "task_start_frame": 0,
            "current_observation_frame": 3,
        },
    ]
    (folder / "EgoPlan-Bench2.json").write_text(json.dumps(rows), encoding="utf-8")
    return folder


def build_where2place(root: Path) -> Path:
    """Original layout: 2 questions on 64x48 images. Mask 00: left half (x < 32) = 255. Mask 01: rows 16..31, columns
    24..39 = 255. A third line has no `text` (malformed)."""
    folder = root / "where2place"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    suffix = (
        " Your answer should be formatted as a list of tuples, i.e. [(x1, y1), (x2, y2), ...], where each tuple "
        "contains the x and y coordinates of a point satisfying the conditions above. The coordinates should be "
        "between 0 and 1, indicating the normalized pixel locations of the points in the image."
    )
    rows = [
        {"question_id": 0, "image": "00.jpg", "text": "Find free space left of the mug." + suffix, "category": "seen"},
        {"question_id": 1, "image": "01.jpg", "text": "Find free space in the middle." + suffix, "category": "unseen"},
        {"question_id": 2, "image": "02.jpg", "category": "seen"},
    ]
    (folder / "point_questions.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    for index in range(2):
        solid().save(folder / "images" / f"{index:02d}.jpg")
    mask_image([(0, 0, 32, 48, 255)]).save(folder / "masks" / "00.jpg", quality=100)
    mask_image([(24, 16, 40, 32, 255)]).save(folder / "masks" / "01.jpg", quality=100)
    return folder


def build_where2place_parquet(root: Path) -> Path:
    """FlagEval/Where2Place parquet: one question whose mask holds the soft value 128 in columns 24..39, rows 16..31."""
    import datasets

    write_parquet(
        root / "where2place-parquet" / "data" / "test-00000-of-00001.parquet",
        {
            "question_id": ["w0"],
            "question": ["Point at the middle."],
            "question_type": ["seen"],
            "image": [solid()],
            "mask": [mask_image([(24, 16, 40, 32, 128)])],
        },
        {
            "question_id": datasets.Value("string"),
            "question": datasets.Value("string"),
            "question_type": datasets.Value("string"),
            "image": datasets.Image(),
            "mask": datasets.Image(),
        },
    )
    return root / "where2place-parquet"


def build_point_bench(root: Path) -> Path:
    """data.json with 3 valid tasks and 1 whose mask is missing; images under images/<category>/, masks zipped.
    Every mask: left half (x < 32) = 255."""
    folder = root / "PointArena"
    rows = [
        {
            "image_filename": "a.png",
            "mask_filename": "a_mask.png",
            "user_input": "the handle",
            "category": "affordable",
            "count": 1,
        },
        {
            "image_filename": "b.png",
            "mask_filename": "b_mask.png",
            "user_input": "both cups",
            "category": "counting",
            "count": 2,
        },
        {
            "image_filename": "c.png",
            "mask_filename": "c_mask.png",
            "user_input": "left of x",
            "category": "spatial",
            "count": 1,
        },
        {"image_filename": "d.png", "mask_filename": "missing.png", "user_input": "nothing", "category": "reasoning"},
    ]
    for row in rows:
        (folder / "images" / row["category"]).mkdir(parents=True, exist_ok=True)
        solid().save(folder / "images" / row["category"] / row["image_filename"])
    with zipfile.ZipFile(folder / "selected_masks.zip", "w") as archive:
        for row in rows[:3]:
            archive.writestr(f"selected_masks/{row['mask_filename']}", png_bytes(mask_image([(0, 0, 32, 48, 255)])))
    (folder / "data.json").write_text(json.dumps(rows), encoding="utf-8")
    return folder


SQUARE = [[16.0, 12.0, 48.0, 12.0, 48.0, 36.0, 16.0, 36.0]]
"""A COCO polygon: the square x in [16, 48], y in [12, 36] of a 64x48 image."""


def build_paco(root: Path) -> Path:
    """VLASER's InternVL JSONL: 2 questions on the SQUARE polygon, 1 line with a non-list segmentation."""
    folder = root / "paco-lavis"
    (folder / "val2017").mkdir(parents=True)
    solid().save(folder / "val2017" / "000001.jpg")
    line = {"image": "val2017/000001.jpg", "width": WIDTH, "height": HEIGHT, "segmentation": [SQUARE]}
    rows = [
        {**line, "conversations": [{"from": "human", "value": "<image>\nWhere is <ref>the mug handle</ref>?"}]},
        {**line, "conversations": [{"from": "human", "value": "<image>\nWhere is <ref>the lid</ref>?"}]},
        {**line, "segmentation": "bad", "conversations": [{"from": "human", "value": "<ref>x</ref>"}]},
    ]
    (folder / "paco_lvis_v1_pointing_test_single_conv.jsonl").write_text(
        "\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8"
    )
    return folder


def build_paco_raw(root: Path) -> Path:
    """Raw PACO layout: one image with two instances of "mug:handle" (left and right thirds) and one "mug"."""
    folder = root / "paco-raw"
    (folder / "val2017").mkdir(parents=True)
    solid().save(folder / "val2017" / "000002.jpg")
    data = {
        "images": [{"id": 2, "file_name": "000002.jpg", "width": WIDTH, "height": HEIGHT}],
        "categories": [{"id": 1, "name": "mug"}, {"id": 7, "name": "mug:handle"}],
        "annotations": [
            {"image_id": 2, "category_id": 7, "segmentation": [[0, 0, 10, 0, 10, 10, 0, 10]]},
            {"image_id": 2, "category_id": 7, "segmentation": [[50, 0, 60, 0, 60, 10, 50, 10]]},
            {"image_id": 2, "category_id": 1, "segmentation": [[0, 0, 63, 0, 63, 47, 0, 47]]},
            {"image_id": 2, "category_id": 1, "segmentation": {"counts": [1, 2], "size": [48, 64]}},
        ],
    }
    (folder / "paco_lvis_v1_test.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def build_pixmo(root: Path) -> Path:
    """pixmo-points-eval parquet: 2 usable rows (GT percent points (50, 50) and (10, 20), (90, 80)), 1 without points,
    1 whose image is not downloaded."""
    import datasets

    folder = root / "pixmo-points-eval"
    (folder / "images").mkdir(parents=True)
    for sha in ("aaa", "bbb", "ccc"):
        solid().save(folder / "images" / f"{sha}.jpg")
    point = datasets.Features({"x": datasets.Value("float64"), "y": datasets.Value("float64")})
    write_parquet(
        folder / "data" / "test-00000-of-00001.parquet",
        {
            "image_url": ["http://a", "http://b", "http://c", "http://d"],
            "image_sha256": ["aaa", "bbb", "ccc", "ddd"],
            "label": ["red mug", "two birds", "nothing", "lost"],
            "points": [
                [{"x": 50.0, "y": 50.0}],
                [{"x": 10.0, "y": 20.0}, {"x": 90.0, "y": 80.0}],
                [],
                [{"x": 1.0, "y": 1.0}],
            ],
        },
        {
            "image_url": datasets.Value("string"),
            "image_sha256": datasets.Value("string"),
            "label": datasets.Value("string"),
            "points": datasets.List(point),
        },
    )
    return folder


def build_vsi(root: Path) -> Path:
    """VSI-Bench parquet: 4 valid questions (rel_direction_easy "B", route_planning "A", counting "4", room_size "20"),
    1 unknown type, 1 missing video. Videos: scannet/scene0.mp4 unzipped, arkitscenes.zip holding scene1.mp4."""
    import datasets

    folder = root / "VSI-Bench"
    write_video(folder / "scannet" / "scene0.mp4", frames=12)
    write_video(root / "tmp_video" / "scene1.mp4", frames=12)
    with zipfile.ZipFile(folder / "arkitscenes.zip", "w") as archive:
        archive.write(root / "tmp_video" / "scene1.mp4", "arkitscenes/scene1.mp4")
    options = ["A. left", "B. right", "C. back"]
    rows = {
        "id": [0, 1, 2, 3, 4, 5],
        "dataset": ["scannet", "scannet", "arkitscenes", "arkitscenes", "scannet", "scannetpp"],
        "scene_name": ["scene0", "scene0", "scene1", "scene1", "scene0", "nowhere"],
        "question_type": [
            "object_rel_direction_easy",
            "route_planning",
            "object_counting",
            "room_size_estimation",
            "object_weight",
            "object_counting",
        ],
        "question": ["Where is the sofa?", "Which way?", "How many chairs?", "How big is the room?", "?", "?"],
        "options": [options, options, None, None, None, None],
        "ground_truth": ["B", "A", "4", "20", "1", "2"],
    }
    write_parquet(
        folder / "test-00000-of-00001.parquet",
        rows,
        {
            "id": datasets.Value("int64"),
            "dataset": datasets.Value("string"),
            "scene_name": datasets.Value("string"),
            "question_type": datasets.Value("string"),
            "question": datasets.Value("string"),
            "options": datasets.List(datasets.Value("string")),
            "ground_truth": datasets.Value("string"),
        },
    )
    return folder


def build_refspatial(root: Path) -> Path:
    """RefSpatial-Bench parquet: location (2 rows) and placement (1 row + 1 without mask). Masks: value 200 on the left
    quarter (x < 16)."""
    import datasets

    folder = root / "RefSpatial-Bench" / "data"
    suffix = (
        "Your answer should be formatted as a list of tuples, i.e. [(x1, y1)], where each tuple contains the x and y "
        "coordinates of a point satisfying the conditions above. The coordinates should be between 0 and 1, indicating "
        "the normalized pixel locations of the points in the image."
    )
    features = {
        "id": datasets.Value("int64"),
        "image": datasets.Image(),
        "mask": datasets.Image(),
        "object": datasets.Value("string"),
        "prompt": datasets.Value("string"),
        "suffix": datasets.Value("string"),
        "step": datasets.Value("int64"),
    }
    mask = mask_image([(0, 0, 16, 48, 200)])
    write_parquet(
        folder / "location-00000-of-00001.parquet",
        {
            "id": [1, 2],
            "image": [solid(), solid()],
            "mask": [mask, mask],
            "object": ["cup", "box"],
            "prompt": ["The cup left of the box.", "The box."],
            "suffix": [suffix, suffix],
            "step": [2, 1],
        },
        features,
    )
    write_parquet(
        folder / "placement-00000-of-00001.parquet",
        {
            "id": [3, 4],
            "image": [solid(), solid()],
            "mask": [mask, None],
            "object": ["free", "free"],
            "prompt": ["Free space left.", "Broken."],
            "suffix": [suffix, suffix],
            "step": [3, 1],
        },
        features,
    )
    return root / "RefSpatial-Bench"


def build_mmsi(root: Path) -> Path:
    """MMSI_Bench.parquet: 3 valid questions (answers B, A, D) with 2 images each, 1 whose answer is "E"."""
    import datasets

    image = png_bytes(solid())
    write_parquet(
        root / "MMSI-Bench" / "MMSI_Bench.parquet",
        {
            "id": [0, 1, 2, 3],
            "images": [[image, image]] * 4,
            "question_type": ["Positional Relationship (Cam.-Obj.)", "Motion (Cam.)", "MSR", "MSR"],
            "question": ["Where? A. a B. b C. c D. d"] * 4,
            "answer": ["B", "A", "D", "E"],
            "thought": ["..."] * 4,
        },
        {
            "id": datasets.Value("int64"),
            "images": datasets.List(datasets.Value("binary")),
            "question_type": datasets.Value("string"),
            "question": datasets.Value("string"),
            "answer": datasets.Value("string"),
            "thought": datasets.Value("string"),
        },
    )
    return root / "MMSI-Bench"


VLABENCH_EXPERTS = {
    "M&T/select_fruit/example0": [
        {"name": "pick", "params": {"target_entity_name": 1}},
        {"name": "place", "params": {"target_container_name": 2}},
    ],
    "M&T/select_fruit/example1": [
        {"name": "pick", "params": {"target_entity_name": 1}},
        {"name": "place", "params": {"target_container_name": 2}},
        {"name": "pick", "params": {"target_entity_name": 3}},
        {"name": "place", "params": {"target_container_name": 4}},
    ],
    "CommenSence/cook_dishes/example0": [
        {"name": "pick", "params": {"target_entity_name": 1}},
        {"name": "place", "params": {"target_container_name": 2}},
        {"name": "pick", "params": {"target_entity_name": 3}},
        {"name": "place", "params": {"target_container_name": 4}},
    ],
}


def build_vlabench(root: Path) -> Path:
    """vlm_evaluation_v1.0 with dimension folders: the three VLABENCH_EXPERTS examples plus one whose
    operation_sequence.json lacks `skill_sequence` (malformed)."""
    folder = root / "VLABench"
    examples = {**VLABENCH_EXPERTS, "Spatial/select_toy/example0": None}
    for relative, expert in examples.items():
        example = folder / relative
        (example / "input").mkdir(parents=True)
        (example / "output").mkdir()
        solid().save(example / "input" / "input.png")
        solid((10, 200, 10)).save(example / "input" / "input_mask.png")
        (example / "input" / "instruction.txt").write_text("Put the apple on the plate.", encoding="utf-8")
        content = {"skill_sequence": expert} if expert is not None else {"steps": []}
        (example / "output" / "operation_sequence.json").write_text(json.dumps(content), encoding="utf-8")
    return folder


def build_eb_alfred(root: Path) -> Path:
    """EmbodiedBench's splits.json: base (2 episodes, 1 malformed entry) and spatial (1 episode)."""
    folder = root / "EB-ALFRED" / "data" / "splits"
    folder.mkdir(parents=True)
    splits = {
        "base": [
            {
                "task": "pick_and_place_simple-Apple-None-Fridge-1/trial_0",
                "repeat_idx": 0,
                "instruction": "Put the apple in the fridge.",
            },
            {
                "task": "pick_and_place_simple-Apple-None-Fridge-1/trial_0",
                "repeat_idx": 1,
                "instruction": "Chill an apple.",
            },
            {"repeat_idx": 0},
        ],
        "spatial": [
            {
                "task": "pick_and_place_simple-Apple-None-Fridge-2/trial_0",
                "repeat_idx": 0,
                "instruction": "Store the apple in the cold box.",
            },
        ],
    }
    (folder / "splits.json").write_text(json.dumps(splits), encoding="utf-8")
    return root / "EB-ALFRED"


def build_all(root: Path) -> Path:
    """Every benchmark's fixture under `root` (the `--data-dir` layout the runner expects)."""
    for builder in (
        build_erqa,
        build_egoplan,
        build_where2place,
        build_point_bench,
        build_paco,
        build_pixmo,
        build_vsi,
        build_refspatial,
        build_mmsi,
        build_vlabench,
        build_eb_alfred,
    ):
        builder(root)
    return root
