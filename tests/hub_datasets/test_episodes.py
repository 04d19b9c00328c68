"""The LeRobot v3 reader/writer against lerobot's own fixtures, itself, `datasets`, a killed recorder and bad input.

Expected fixture values come from the formulas in ``../shared/fixtures/lerobot_v3/README.md``; expected values for
our own datasets come from the frames the test generates, never from the module's output.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hub_datasets.episodes as episodes_module
from hub_datasets.episodes import (
    LeRobotEpisodes,
    LeRobotEpisodeWriter,
    LeRobotFormatError,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CAMERA = "observation.images.image_0"
FIXTURE_LENGTHS = [6, 7, 8]
FIXTURE_TASKS = ["put carrot on plate", "put the spoon on the towel", "stack the green block on the yellow block"]


# ------------------------------------------------------------------------------------------------ lerobot fixtures
@pytest.fixture(params=["images", "video"])
def fixture_variant(request: pytest.FixtureRequest, shared_dir: Path) -> tuple[str, Path]:
    path = shared_dir / "fixtures" / "lerobot_v3" / request.param
    if not (path / "meta" / "info.json").is_file():
        pytest.skip(f"the LeRobot v3 fixture is not at {path}")
    return request.param, path


def fixture_action(episode: int, frame: int) -> np.ndarray:
    return (np.arange(7) + 10 * episode + 0.1 * frame).astype(np.float32)


def fixture_image(episode: int, frame: int) -> np.ndarray:
    image = np.zeros((96, 128, 3), dtype=np.uint8)
    image[..., episode] = (40 * frame) % 256
    row = (10 * frame) % 96
    image[row : row + 8, 20:40] = 255
    return image


def test_fixture_reads_documented_values(fixture_variant: tuple[str, Path]) -> None:
    _, path = fixture_variant
    dataset = LeRobotEpisodes(path)
    assert dataset.info["robot_type"] == "widowx"
    assert dataset.fps == 5
    assert dataset.num_episodes == 3 and dataset.num_frames == 21 and len(dataset) == 21
    assert dataset.episode_lengths == FIXTURE_LENGTHS
    assert dataset.tasks == dict(enumerate(FIXTURE_TASKS))
    assert dataset.camera_keys == [CAMERA]
    assert dataset.features["observation.state"]["names"] == ["x", "y", "z", "roll", "pitch", "yaw", "gripper"]

    frame = dataset.frame(7)
    assert frame["task"] == "put the spoon on the towel"
    assert (frame["episode_index"], frame["frame_index"]) == (1, 1)
    np.testing.assert_allclose(frame["action"], [10.1, 11.1, 12.1, 13.1, 14.1, 15.1, 16.1], rtol=0, atol=1e-5)

    global_index = 0
    for episode, length in enumerate(FIXTURE_LENGTHS):
        assert list(dataset.episode_range(episode)) == list(range(global_index, global_index + length))
        for frame_index in range(length):
            row = dataset.frame(global_index) if frame_index == 0 else None
            if row is not None:
                assert row["task"] == FIXTURE_TASKS[episode]
            np.testing.assert_array_equal(dataset.column("action")[global_index], fixture_action(episode, frame_index))
            assert dataset.column("frame_index")[global_index] == frame_index
            assert dataset.column("episode_index")[global_index] == episode
            assert dataset.column("timestamp")[global_index] == np.float32(frame_index / 5)
            global_index += 1
    assert dataset.column("action").dtype == np.float32
    assert dataset.frame(3)["observation.state"].dtype == np.float32

    # The states are random, but lerobot computed stats.json from them: our reading must reproduce its min/max/mean.
    states = dataset.column("observation.state").astype(np.float64)
    np.testing.assert_allclose(states.min(0), dataset.stats["observation.state"]["min"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(states.max(0), dataset.stats["observation.state"]["max"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(states.mean(0), dataset.stats["observation.state"]["mean"], rtol=0, atol=1e-6)
    for name in ("mean", "std", "min", "max", "q01", "q99"):
        assert dataset.stats["action"][name].shape == (7,)
    np.testing.assert_allclose(dataset.episode_stats(1)["action"]["min"], fixture_action(1, 0), atol=1e-6)


def test_fixture_images_match_the_documented_pattern(fixture_variant: tuple[str, Path]) -> None:
    variant, path = fixture_variant
    dataset = LeRobotEpisodes(path)
    for episode, length in enumerate(FIXTURE_LENGTHS):
        frames = dataset.episode(episode)
        assert len(frames) == length
        for frame_index, frame in enumerate(frames):
            image, expected = frame[CAMERA], fixture_image(episode, frame_index)
            assert image.dtype == np.uint8 and image.shape == (96, 128, 3)
            if variant == "images":
                np.testing.assert_array_equal(image, expected)
                continue
            # Low-bitrate AV1 rings around the rectangle, so compare robustly: the average error, the background
            # level (a neighbouring frame would be 40 levels off) and the rectangle's interior.
            error = np.abs(image.astype(int) - expected.astype(int))
            assert error.mean() < 3, (episode, frame_index, error.mean())
            row = (10 * frame_index) % 96
            background = np.ones((96, 128), dtype=bool)
            background[max(row - 4, 0) : row + 12, 16:44] = False
            levels = np.median(image[background], axis=0)
            assert abs(levels[episode] - (40 * frame_index) % 256) <= 8, (episode, frame_index, levels)
            assert np.delete(levels, episode).max() <= 3, (episode, frame_index, levels)
            assert image[row + 2 : row + 6, 22:38].mean() >= 230, (episode, frame_index)


def test_video_segments_are_decoded_once_per_episode(shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = shared_dir / "fixtures" / "lerobot_v3" / "video"
    if not path.is_dir():
        pytest.skip(f"the LeRobot v3 fixture is not at {path}")
    calls: list[int] = []
    decode = episodes_module._decode_video_frames

    def counting_decode(video_path: Path, targets: np.ndarray, tolerance: float) -> np.ndarray:
        calls.append(len(targets))
        return decode(video_path, targets, tolerance)

    monkeypatch.setattr(episodes_module, "_decode_video_frames", counting_decode)
    dataset = LeRobotEpisodes(path)
    for index in range(dataset.num_frames):
        dataset.frame(index)
    dataset.frame(3)  # still cached
    assert calls == FIXTURE_LENGTHS


# ------------------------------------------------------------------------------------------------ our own datasets
STATE_NAMES = ["x", "y", "z", "roll", "pitch", "yaw", "gripper"]
ACTION_NAMES = ["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper"]
SIZE = (24, 32)


def make_episode(episode: int, length: int) -> list[dict]:
    """Deterministic frames whose values encode (episode, frame); the crash test's child process uses it too."""
    rng = np.random.default_rng(episode)
    frames = []
    for i in range(length):
        image = rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8)
        frames.append(
            {
                "observation.state": rng.normal(size=7).astype(np.float32),
                "action": (np.arange(7) + 100 * episode + i).astype(np.float32),
                CAMERA: image,
                "annotations": {
                    "camera": {"image_0": {"K": np.eye(3) * (i + 1), "size": [SIZE[1], SIZE[0]]}},
                    "objects": [{"name": "carrot", "bbox_visible": [1, 2, 3, 4] if i % 2 else None}],
                    "phase": f"phase-{i}",
                    "phase_index": i,
                    "success": i == length - 1,
                },
                "next.success": i == length - 1,
            }
        )
    return frames


def create_writer(root: Path) -> LeRobotEpisodeWriter:
    return LeRobotEpisodeWriter.create(
        root,
        fps=10,
        robot_type="widowx",
        state_names=STATE_NAMES,
        action_names=ACTION_NAMES,
        cameras={"image_0": SIZE},
        with_annotations=True,
        extra_features={"next.success": {"dtype": "bool", "shape": [1], "names": None}},
    )


def assert_frame_equals(read: dict, written: dict, episode: int, frame_index: int, task: str) -> None:
    np.testing.assert_array_equal(read["observation.state"], written["observation.state"])
    np.testing.assert_array_equal(read["action"], written["action"])
    np.testing.assert_array_equal(read[CAMERA], written[CAMERA])
    assert read["annotations"] == json.loads(json.dumps(written["annotations"], default=np.ndarray.tolist))
    assert read["next.success"] == written["next.success"]
    assert (read["episode_index"], read["frame_index"], read["task"]) == (episode, frame_index, task)
    assert read["timestamp"] == pytest.approx(frame_index / 10)


def test_writer_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    writer = create_writer(root)
    plan = [(5, "pick the carrot"), (3, "open the drawer"), (6, "pick the carrot")]
    written = []
    for episode, (length, task) in enumerate(plan):
        frames = make_episode(episode, length)
        assert writer.add_episode(frames, task) == episode
        written.append(frames)

    dataset = LeRobotEpisodes(root)
    assert dataset.num_episodes == 3 and dataset.num_frames == 14
    assert dataset.episode_lengths == [5, 3, 6]
    assert dataset.tasks == {0: "pick the carrot", 1: "open the drawer"}
    index = 0
    for episode, frames in enumerate(written):
        for frame_index, (read, frame) in enumerate(zip(dataset.episode(episode), frames, strict=True)):
            assert_frame_equals(read, frame, episode, frame_index, plan[episode][1])
            assert read["index"] == index
            index += 1

    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0"
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, 14, 2)
    assert info["splits"] == {"train": "0:3"}
    assert info["features"][CAMERA] == {"dtype": "image", "shape": [24, 32, 3], "names": ["height", "width", "channel"]}
    assert info["features"]["action"]["names"] == ACTION_NAMES

    # stats.json: exact over all frames, quantiles included (numpy's linear interpolation).
    all_frames = [frame for frames in written for frame in frames]
    for key in ("observation.state", "action"):
        values = np.stack([frame[key] for frame in all_frames]).astype(np.float64)
        stats = dataset.stats[key]
        np.testing.assert_allclose(stats["q01"], np.quantile(values, 0.01, axis=0), rtol=1e-12)
        np.testing.assert_allclose(stats["q99"], np.quantile(values, 0.99, axis=0), rtol=1e-12)
        np.testing.assert_allclose(stats["mean"], values.mean(0), rtol=1e-12)
        np.testing.assert_allclose(stats["std"], values.std(0), rtol=1e-12)
        np.testing.assert_array_equal(stats["min"], values.min(0))
        np.testing.assert_array_equal(stats["max"], values.max(0))
        assert stats["count"].tolist() == [14]
    pixels = np.stack([frame[CAMERA] for frame in all_frames]).reshape(-1, 3) / 255.0
    np.testing.assert_allclose(dataset.stats[CAMERA]["mean"].reshape(3), pixels.mean(0), rtol=1e-10)
    np.testing.assert_allclose(dataset.stats[CAMERA]["std"].reshape(3), pixels.std(0), rtol=1e-10)
    # per-episode stats, as lerobot stores them in the episodes metadata
    episode_actions = np.stack([frame["action"] for frame in written[1]]).astype(np.float64)
    np.testing.assert_allclose(dataset.episode_stats(1)["action"]["q99"], np.quantile(episode_actions, 0.99, axis=0))
    assert dataset.episode_stats(1)["frame_index"]["max"].tolist() == [2]


def test_writer_output_loads_with_datasets(tmp_path: Path) -> None:
    import datasets

    root = tmp_path / "ds"
    writer = create_writer(root)
    written = make_episode(0, 4) + make_episode(1, 3)
    writer.add_episode(written[:4], "a")
    writer.add_episode(written[4:], "b")
    (root / "data" / "chunk-000" / ".file-002.parquet.tmp-1").write_bytes(b"partial")  # hidden: must be ignored

    frames = datasets.load_dataset("parquet", data_files=str(root / "data" / "*" / "*.parquet"), split="train")
    assert len(frames) == 7
    assert isinstance(frames.features[CAMERA], datasets.Image)
    assert frames.features["action"] == datasets.List(datasets.Value("float32"), length=7)
    np.testing.assert_array_equal(np.asarray(frames[5]["action"], dtype=np.float32), written[5]["action"])
    np.testing.assert_array_equal(np.asarray(frames[5][CAMERA]), written[5][CAMERA])
    assert frames["task_index"] == [0] * 4 + [1] * 3
    episodes = datasets.load_dataset(
        "parquet", data_files=str(root / "meta" / "episodes" / "*" / "*.parquet"), split="train"
    )
    assert episodes["length"] == [4, 3] and episodes["dataset_from_index"] == [0, 4]


def test_append_to_a_lerobot_written_dataset(tmp_path: Path, shared_dir: Path) -> None:
    source = shared_dir / "fixtures" / "lerobot_v3" / "images"
    if not source.is_dir():
        pytest.skip(f"the LeRobot v3 fixture is not at {source}")
    root = tmp_path / "ds"
    shutil.copytree(source, root)
    writer = LeRobotEpisodeWriter.open(root)
    frames = [
        {
            "observation.state": np.full(7, i, dtype=np.float32),
            "action": np.full(7, 30 + i, dtype=np.float32),
            CAMERA: fixture_image(0, i),
        }
        for i in range(4)
    ]
    assert writer.add_episode(frames, "put the spoon on the towel") == 3
    dataset = LeRobotEpisodes(root)
    assert dataset.episode_lengths == [6, 7, 8, 4] and len(dataset.tasks) == 3
    np.testing.assert_array_equal(dataset.frame(7)["action"], fixture_action(1, 1))
    np.testing.assert_array_equal(dataset.frame(21 + 2)["action"], np.full(7, 32, dtype=np.float32))
    assert dataset.frame(21 + 2)["task"] == "put the spoon on the towel"
    assert (root / "data" / "chunk-000" / "file-001.parquet").is_file()


CHILD = """
import sys
from pathlib import Path
from tests.hub_datasets.test_episodes import create_writer, make_episode
writer = create_writer(Path(sys.argv[1]))
for episode in range(100000):
    writer.add_episode(make_episode(episode, 3 + episode % 4), f"task {episode % 2}")
    print(episode, flush=True)
"""


def test_killed_recording_resumes(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root)], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        reported = [child.stdout.readline() for _ in range(4)]
        assert all(line.strip() for line in reported), "the recorder died before its fourth episode"
        time.sleep(0.05)  # let it get into the middle of a later episode
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    printed = 4 + len(child.stdout.read().split())
    # A stale temporary file from the killed run (whether or not the kill left one itself).
    (root / "data" / "chunk-000" / ".file-999.parquet.tmp-12345").write_bytes(b"half an episode")

    writer = LeRobotEpisodeWriter.open(root)
    committed = writer.num_episodes
    assert printed <= committed <= printed + 1  # at most the episode in flight is lost
    assert not list(root.rglob(".*.tmp-*"))
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["total_episodes"] == committed
    assert len(list((root / "data").glob("chunk-*/file-*.parquet"))) == committed  # orphan data file removed

    assert writer.add_episode(make_episode(committed, 2), "task resumed") == committed
    dataset = LeRobotEpisodes(root)
    assert dataset.num_episodes == committed + 1
    lengths = [3 + e % 4 for e in range(committed)] + [2]
    assert dataset.episode_lengths == lengths
    assert dataset.column("index").tolist() == list(range(sum(lengths)))
    for episode in (0, committed - 1, committed):
        expected = make_episode(episode, lengths[episode])
        task = "task resumed" if episode == committed else f"task {episode % 2}"
        for frame_index, read in enumerate(dataset.episode(episode)):
            assert_frame_equals(read, expected[frame_index], episode, frame_index, task)


def test_episode_killed_before_its_commit_is_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "ds"
    writer = create_writer(root)
    writer.add_episode(make_episode(0, 3), "a")
    atomic_write = episodes_module._atomic_write

    def die_at_the_commit(path: Path, write) -> None:
        if "episodes" in path.parts:
            raise KeyboardInterrupt  # killed after the data file was renamed, before the episodes file was
        atomic_write(path, write)

    monkeypatch.setattr(episodes_module, "_atomic_write", die_at_the_commit)
    with pytest.raises(KeyboardInterrupt):
        writer.add_episode(make_episode(1, 4), "b")
    monkeypatch.undo()
    orphan = root / "data" / "chunk-000" / "file-001.parquet"
    assert orphan.is_file()
    assert LeRobotEpisodes(root).num_frames == 3  # readers ignore frames of uncommitted episodes

    writer = LeRobotEpisodeWriter.open(root)
    assert not orphan.exists() and writer.num_episodes == 1
    assert writer.add_episode(make_episode(1, 2), "b") == 1
    dataset = LeRobotEpisodes(root)
    assert dataset.episode_lengths == [3, 2]
    assert_frame_equals(dataset.frame(4), make_episode(1, 2)[1], 1, 1, "b")


def test_meta_files_are_rebuilt_when_a_run_dies_after_the_commit(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "ds"
    writer = create_writer(root)
    writer.add_episode(make_episode(0, 3), "a")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(LeRobotEpisodeWriter, "_write_meta", killed)
    with pytest.raises(KeyboardInterrupt):
        writer.add_episode(make_episode(1, 4), "b")
    monkeypatch.undo()
    assert json.loads((root / "meta" / "info.json").read_text())["total_episodes"] == 1  # stale

    writer = LeRobotEpisodeWriter.open(root)
    info = json.loads((root / "meta" / "info.json").read_text())
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (2, 7, 2)
    assert json.loads((root / "meta" / "stats.json").read_text())["action"]["count"] == [7]
    assert writer.add_episode(make_episode(2, 2), "a") == 2


# ---------------------------------------------------------------------------------------------------- bad input
def _replace(frames: list[dict], index: int, key: str, value) -> list[dict]:
    frames[index] = {**frames[index], key: value}
    return frames


def _without(frames: list[dict], index: int, key: str) -> list[dict]:
    frames[index] = {k: v for k, v in frames[index].items() if k != key}
    return frames


def _nan_at(frames: list[dict], index: int, key: str) -> list[dict]:
    value = np.array(frames[index][key], dtype=np.float32)
    value[2] = np.nan
    return _replace(frames, index, key, value)


BAD_EPISODES = {
    "wrong state dim": (
        lambda f: _replace(f, 1, "observation.state", np.zeros(6)),
        r"frame 1: observation\.state has shape \(6,\), expected shape \(7,\)",
    ),
    "wrong action dim": (lambda f: _replace(f, 0, "action", np.zeros((7, 1))), r"frame 0: action has shape \(7, 1\)"),
    "NaN in action": (lambda f: _nan_at(f, 3, "action"), r"^action contains NaN at frame 3$"),
    "NaN in state": (lambda f: _nan_at(f, 2, "observation.state"), r"^observation\.state contains NaN at frame 2$"),
    "inf in action": (lambda f: _replace(f, 4, "action", np.full(7, np.inf)), r"action contains inf at frame 4"),
    "text action": (lambda f: _replace(f, 0, "action", ["a"] * 7), r"frame 0: action has dtype <U1"),
    "image shape": (
        lambda f: _replace(f, 2, CAMERA, np.zeros((32, 24, 3), np.uint8)),
        r"frame 2: observation\.images\.image_0 must be a uint8 array of shape \(24, 32, 3\), got uint8 of shape \(32, 24, 3\)",
    ),
    "image dtype": (
        lambda f: _replace(f, 0, CAMERA, np.zeros((24, 32, 3), np.float32)),
        r"must be a uint8 array .* got float32",
    ),
    "non-JSON annotations": (
        lambda f: _replace(f, 1, "annotations", {"pose": object()}),
        r"frame 1: annotations are not JSON-serializable",
    ),
    "NaN in annotations": (
        lambda f: _replace(f, 1, "annotations", {"x": float("nan")}),
        r"frame 1: annotations are not JSON-serializable",
    ),
    "missing feature": (lambda f: _without(f, 3, "next.success"), r"frame 3: missing 'next\.success'"),
    "unknown feature": (
        lambda f: _replace(f, 0, "observation.depth", 1.0),
        r"frame 0: unknown feature 'observation\.depth'",
    ),
    "writer-owned field": (lambda f: _replace(f, 0, "timestamp", 0.0), r"frame 0: 'timestamp' is set by the writer"),
    "empty episode": (lambda f: [], r"empty episode"),
}


@pytest.mark.parametrize("case", list(BAD_EPISODES))
def test_bad_episodes_are_rejected_before_anything_is_written(tmp_path: Path, case: str) -> None:
    root = tmp_path / "ds"
    writer = create_writer(root)
    writer.add_episode(make_episode(0, 2), "a")
    files_before = sorted(p.relative_to(root) for p in root.rglob("*"))
    corrupt, message = BAD_EPISODES[case]
    with pytest.raises((ValueError, TypeError), match=message):
        writer.add_episode(corrupt(make_episode(1, 5)), "b")
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == files_before
    assert writer.add_episode(make_episode(1, 2), "b") == 1  # the writer is still usable, numbering intact
    assert LeRobotEpisodes(root).episode_lengths == [2, 2]


def test_create_refuses_existing_datasets(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    create_writer(root)
    with pytest.raises(FileExistsError, match="LeRobotEpisodeWriter.open"):
        create_writer(root)
    with pytest.raises(ValueError, match="names must be a non-empty list"):
        LeRobotEpisodeWriter.create(tmp_path / "other", fps=10, robot_type=None, state_names=[], action_names=["a"])


# ---------------------------------------------------------------------------------------------------- bad datasets
def test_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no LeRobot dataset at .*nowhere: expected meta/info\.json"):
        LeRobotEpisodes(tmp_path / "nowhere")


@pytest.fixture
def copied_fixture(tmp_path: Path, shared_dir: Path) -> Path:
    source = shared_dir / "fixtures" / "lerobot_v3" / "images"
    if not source.is_dir():
        pytest.skip(f"the LeRobot v3 fixture is not at {source}")
    return Path(shutil.copytree(source, tmp_path / "ds"))


def _edit_info(root: Path, edit) -> None:
    path = root / "meta" / "info.json"
    info = json.loads(path.read_text())
    edit(info)
    path.write_text(json.dumps(info))


def test_unsupported_codebase_version(copied_fixture: Path) -> None:
    _edit_info(copied_fixture, lambda info: info.update(codebase_version="v2.1"))
    with pytest.raises(LeRobotFormatError, match=r"codebase_version 'v2\.1' is not supported: expected v3\.x"):
        LeRobotEpisodes(copied_fixture)


def test_feature_missing_from_the_data(copied_fixture: Path) -> None:
    _edit_info(
        copied_fixture,
        lambda info: info["features"].update({"observation.effort": {"dtype": "float32", "shape": [7], "names": None}}),
    )
    with pytest.raises(LeRobotFormatError, match=r"file-000\.parquet.*\['observation\.effort'\].*missing"):
        LeRobotEpisodes(copied_fixture)
    _edit_info(copied_fixture, lambda info: info["features"].pop("observation.effort"))
    with pytest.raises(KeyError, match=r"has no feature\(s\) \['observation\.effort'\]"):
        LeRobotEpisodes(copied_fixture).require_features("action", "observation.effort")


def test_corrupt_parquet_is_named(copied_fixture: Path) -> None:
    data = copied_fixture / "data" / "chunk-000" / "file-000.parquet"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(LeRobotFormatError, match=r"corrupt parquet file .*data/chunk-000/file-000\.parquet"):
        LeRobotEpisodes(copied_fixture)


# ---------------------------------------------------------------------------------------------------------- Hub
def test_push_to_hub_and_read_back_offline(tmp_path: Path, local_hub) -> None:
    root = tmp_path / "ds"
    writer = create_writer(root)
    written = make_episode(0, 3)
    writer.add_episode(written, "a")
    (root / "data" / "chunk-000" / ".file-001.parquet.tmp-7").write_bytes(b"an episode in flight")
    repo_id = local_hub.repo_id("episodes")
    writer.push_to_hub(repo_id)

    files = local_hub.server.list_files(repo_id, repo_type="dataset")
    assert {"meta/info.json", "data/chunk-000/file-000.parquet", "README.md"} <= set(files)
    assert not [name for name in files if ".tmp-" in name]
    refs = local_hub.api.list_repo_refs(repo_id, repo_type="dataset")
    assert [tag.name for tag in refs.tags] == ["v3.0"]

    dataset = LeRobotEpisodes(repo_id)
    assert_frame_equals(dataset.frame(1), written[1], 0, 1, "a")
    local_hub.stop()
    with local_hub.offline():
        dataset = LeRobotEpisodes(repo_id)
        assert dataset.num_frames == 3
        np.testing.assert_array_equal(dataset.frame(2)[CAMERA], written[2][CAMERA])
    with pytest.raises(FileNotFoundError, match="no LeRobot dataset at vlaser-tester/absent"):
        LeRobotEpisodes("vlaser-tester/absent")
