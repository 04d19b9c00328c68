"""The recorder: LeRobot v3 dataset with annotations, worker processes, resume after kill -9, failure accounting and
bad input. Small images and one camera keep it quick; the episodes are real expert episodes."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("mujoco") is None or importlib.util.find_spec("gym_aloha") is None:
    pytest.skip("recording the aloha suite needs mujoco and gym-aloha (the `sim` extra)", allow_module_level=True)

from hub_datasets.episodes import LeRobotEpisodes, LeRobotEpisodeWriter  # noqa: E402
from simulation.record import REPORT_JSON, SEED_KEY, RecordConfig, RecordError, record  # noqa: E402
from simulation.registry import UnknownTaskError  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
SMALL = {"cameras": ["top"], "image_size": 64, "progress": False}


def config(out: Path, **overrides) -> RecordConfig:
    values = {"suite": "aloha", "tasks": ["lift_bar"], "episodes": 2, "out": out, "workers": 2, **SMALL}
    values.update(overrides)
    return RecordConfig(**values)


def seeds_by_episode(root: Path) -> list[int]:
    reader = LeRobotEpisodes(root)
    seeds = reader.column(SEED_KEY)
    return sorted(int(seeds[reader.episode_range(e).start]) for e in reader.episode_indices)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("aloha") / "lift"
    report = record(config(out))
    return out, report


def test_recording_writes_a_lerobot_dataset_with_annotations(recorded):
    out, report = recorded
    reader = LeRobotEpisodes(out)
    assert reader.num_episodes == 2 and reader.info["robot_type"] == "aloha" and reader.fps == 10
    assert {"annotations", SEED_KEY, "observation.images.top", "observation.state", "action"} <= set(reader.features)
    assert seeds_by_episode(out) == [0, 1]
    frames = reader.episode(reader.episode_indices[0])
    assert frames[0]["observation.images.top"].shape == (64, 64, 3)
    assert frames[0]["task"] == "lift the wooden bar with both arms and hold it level"
    phases = [frame["annotations"]["phase"] for frame in frames]
    indices = [frame["annotations"]["phase_index"] for frame in frames]
    assert phases[0] == "approach" and "lift" in phases and indices[0] == 0
    assert indices == sorted(indices) and indices[-1] == len({(p, i) for p, i in zip(phases, indices, strict=True)}) - 1
    assert frames[-1]["annotations"]["success"] and not frames[0]["annotations"]["success"]
    assert frames[0]["annotations"]["phase_text"].startswith("move each gripper")
    bar = [o for o in frames[0]["annotations"]["objects"] if o["name"] == "wooden bar"]
    assert bar and bar[0]["bbox_visible"] is not None and bar[0]["camera"] == "top"
    # the state of frame t+1 follows the action of frame t (joint targets are tracked)
    states, actions = reader.column("observation.state"), reader.column("action")
    assert np.abs(states[1:20, :6] - actions[:19, :6]).mean() < 0.1
    entry = report["tasks"]["lift_bar"]
    assert entry["recorded"] == 2 and entry["failed"] == {} and entry["success_rate"] == 1.0
    pids = report["runs"][-1]["worker_pids"]
    assert pids and os.getpid() not in pids, "episodes must run in worker processes"
    assert (out / "record_report.md").read_text().count("lift_bar") >= 1


def test_recorded_dataset_reads_through_datasets(recorded, tmp_path):
    import datasets

    out, _ = recorded
    table = datasets.load_dataset(
        "parquet", data_files=str(out / "data" / "*" / "*.parquet"), split="train", cache_dir=str(tmp_path)
    )
    assert len(table) == LeRobotEpisodes(out).num_frames
    record_json = json.loads(table[0]["annotations"])
    assert record_json["phase"] == "approach" and "objects" in record_json


def test_resume_after_kill_keeps_finished_episodes_and_adds_no_duplicates(tmp_path):
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "vlaser_cli", "sim", "record", "--suite", "aloha", "--task", "lift_bar"]
    command += ["--episodes", "4", "--out", str(out), "--cameras", "top", "--image_size", "64", "--fps", "5"]
    command += ["--no_progress"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    committed = out / "meta" / "episodes"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if list(committed.glob("chunk-*/file-*.parquet")):
                break
            time.sleep(0.05)
        assert process.poll() is None, f"the recording ended before it could be killed: {process.stderr.read()[-2000:]}"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    before = seeds_by_episode(out)
    assert 1 <= len(before) < 4 and len(set(before)) == len(before)

    report = record(config(out, episodes=4, workers=0, fps=5))
    after = seeds_by_episode(out)
    assert after == [0, 1, 2, 3], "every seed once: nothing lost, nothing twice"
    assert set(before) <= set(after)
    assert report["runs"][-1]["skipped_done"] == len(before) and report["runs"][-1]["recorded"] == 4 - len(before)
    assert report["runs"][0]["finished"] is False  # the killed run is reported as interrupted
    assert not [p for p in out.rglob(".*") if p.is_file()], "no temporary files are left behind"


def test_failed_episodes_are_counted_not_recorded_and_not_retried(tmp_path):
    out = tmp_path / "failing"
    report = record(config(out, max_steps=3, workers=0))  # the expert cannot finish in 3 steps
    assert LeRobotEpisodes(out).num_episodes == 0
    assert sorted(report["tasks"]["lift_bar"]["failed"]) == ["0", "1"]
    assert report["tasks"]["lift_bar"]["success_rate"] == 0.0
    again = record(config(out, max_steps=3, workers=0))
    assert again["runs"][-1]["skipped_failed"] == 2 and again["runs"][-1]["failed"] == 0
    saved = json.loads((out / REPORT_JSON).read_text())
    assert (
        len(saved["runs"]) == 2 and "| lift_bar | 0 | 2 (0, 1) | 0.0 % | 0 |" in (out / "record_report.md").read_text()
    )


def test_bad_input_is_refused_with_a_message(tmp_path):
    with pytest.raises(UnknownTaskError, match="expected one of"):
        record(config(tmp_path / "a", suite="bullet"))
    with pytest.raises(UnknownTaskError, match="unknown aloha task 'fold'"):
        record(config(tmp_path / "b", tasks=["fold"]))
    with pytest.raises(RecordError, match="episodes must be an integer >= 1"):
        record(config(tmp_path / "c", episodes=0))
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(RecordError, match="cannot write to the output folder"):
        record(config(blocker / "out"))
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("hello")
    with pytest.raises(RecordError, match="not empty and holds no LeRobot dataset"):
        record(config(stranger))
    other_suite = tmp_path / "widowx_episodes"
    LeRobotEpisodeWriter.create(
        other_suite,
        fps=5,
        robot_type="widowx",
        state_names=[f"joint_{i}" for i in range(8)],
        action_names=[f"delta_{i}" for i in range(7)],
        cameras={"3rd_view_camera": (224, 224)},
        with_annotations=True,
    )
    with pytest.raises(RecordError, match="robot_type 'widowx'.*another --out"):
        record(config(other_suite))
    assert LeRobotEpisodes(other_suite).info["robot_type"] == "widowx"  # nothing was written into it


def test_cli_reports_bad_input_without_a_traceback(tmp_path):
    from vlaser_cli import main

    with pytest.raises(SystemExit, match="vlaser sim record: unknown suite 'bullet'"):
        main(["sim", "record", "--suite", "bullet", "--task", "x", "--out", str(tmp_path / "x")])
