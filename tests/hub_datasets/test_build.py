"""The VLASER-6M builder end to end: hand-made WidowX and ALOHA scenes -> Hub dataset folder -> `load_dataset`,
determinism, decontamination, validation (in the build and of a tampered copy), stats, the card, the CLI and
`push_to_hub` through the tests' local Hub server."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from datasets import get_dataset_config_names, load_dataset
from PIL import Image

import hub_datasets.in_domain.spatial_reasoning as spatial_module
from hub_datasets.build import Exclusions, InDomainSource, build_dataset, image_hash, push_to_hub
from hub_datasets.episodes import LeRobotEpisodes
from hub_datasets.in_domain import EngineConfig, write_aloha_scene, write_widowx_scene
from hub_datasets.synthetic import CONVERSATION_FEATURES
from hub_datasets.validate import validate_repo
from vlaser_cli.data import main as data_main

CONFIGS = [
    f"{family}_{domain}"
    for family in ("general_qa", "grounding", "planning", "spatial_reasoning")
    for domain in ("aloha", "widowx")
]


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("scenes")
    return {
        "widowx": write_widowx_scene(root / "widowx", episodes=4, image_size=(96, 72), bad_annotations=True),
        "aloha": write_aloha_scene(root / "aloha", episodes=3, image_size=(96, 72)),
    }


def sources(scenes: dict[str, Path], seed: int = 0, **config) -> list[InDomainSource]:
    engine = EngineConfig(seed=seed, max_per_episode=4, **config)
    return [InDomainSource(scenes["widowx"], config=engine), InDomainSource(scenes["aloha"], config=engine)]


@pytest.fixture(scope="module")
def built(scenes: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("built") / "vlaser6m"
    report = build_dataset(sources(scenes), out, progress=False)
    return out, report


def read_rows(folder: Path, config: str, columns=("id", "messages")) -> list[dict]:
    files = sorted((folder / "data" / config).glob("*.parquet"))
    return [row for file in files for row in pq.read_table(file, columns=list(columns)).to_pylist()]


# ------------------------------------------------------------------------------------------------------ round trip
def test_round_trip_through_parquet_and_load_dataset(built, scenes) -> None:
    out, report = built
    assert sorted(get_dataset_config_names(str(out))) == CONFIGS
    assert sorted(report.rows) == CONFIGS
    dataset = load_dataset(str(out), "grounding_aloha", split="train")
    assert dataset.features == CONVERSATION_FEATURES
    assert len(dataset) == report.rows["grounding_aloha"]
    episodes = LeRobotEpisodes(scenes["aloha"])
    for row in dataset.select(range(3)):
        source, episode, frame, category = row["id"].split(":")
        assert (source, category, row["domain"], row["source"]) == ("aloha", "grounding", "aloha", "aloha")
        # the embedded PNG holds exactly the recorded frame
        recorded = episodes.frame(episodes.episode_range(int(episode))[int(frame)])["observation.images.cam_high"]
        np.testing.assert_array_equal(np.asarray(row["images"][0].convert("RGB")), recorded)
        assert row["messages"][0]["role"] == "user" and row["messages"][0]["content"].startswith("<image>\n")
    # every row made it through: the build's counts are what is on disk
    for config in CONFIGS:
        assert len(read_rows(out, config)) == report.rows[config]


def test_card_lists_configs_counts_license_and_what_was_skipped(built) -> None:
    out, report = built
    text = (out / "README.md").read_text()
    front = yaml.safe_load(text.split("---")[1])
    assert front["license"] == "apache-2.0"
    assert [c["config_name"] for c in front["configs"]] == CONFIGS
    assert front["configs"][0]["data_files"] == [{"split": "train", "path": "data/general_qa_aloha/train-*.parquet"}]
    for config in CONFIGS:
        assert f"| `{config}` |" in text and f"| {report.rows[config]} |" in text
    assert "## Recipe" in text and "## Schema" in text and "stats/stats.png" in text
    assert '"objects[*].bbox_visible": 1' in text  # the damaged WidowX episode


def test_bad_annotations_are_counted_not_dropped_silently(built) -> None:
    out, report = built
    # episode 1 of the WidowX scene: a null record, a record without "phase", a box of three numbers
    assert dict(report.engine.frames_bad) == {"<record>": 1, "phase": 1, "objects[*].bbox_visible": 1}
    saved = json.loads((out / "build_report.json").read_text())
    assert saved["engine"]["frames_skipped_bad_annotations"] == 3
    # the sponge lies outside the WidowX camera's view: skipped (and counted) at every WidowX keyframe, and every
    # WidowX keyframe has a general-QA conversation (the task question always applies)
    assert report.engine.not_visible["sponge"] == report.rows["general_qa_widowx"]
    assert not any("sponge" in row["messages"][1]["content"] for row in read_rows(out, "grounding_widowx"))


def test_same_seed_same_dataset(built, scenes, tmp_path: Path) -> None:
    out, _ = built
    again = tmp_path / "again"
    build_dataset(sources(scenes), again, progress=False)
    other = tmp_path / "other"
    build_dataset(sources(scenes, seed=1), other, progress=False)
    for config in CONFIGS:
        first = pq.read_table(sorted((out / "data" / config).glob("*.parquet"))[0])
        assert first.equals(pq.read_table(sorted((again / "data" / config).glob("*.parquet"))[0]))
    assert read_rows(out, "spatial_reasoning_widowx") != read_rows(other, "spatial_reasoning_widowx")


# --------------------------------------------------------------------------------------------------- decontamination
def test_decontamination_by_episode_and_image_hash(built, scenes, tmp_path: Path) -> None:
    out, _ = built
    image_row = pq.read_table(sorted((out / "data" / "planning_aloha").glob("*.parquet"))[0]).to_pylist()[0]
    banned = image_hash(np.asarray(Image.open(io.BytesIO(image_row["images"][0]["bytes"])).convert("RGB")))
    exclusions = Exclusions(episodes={"widowx:0", "widowx:99"}, image_hashes={banned})
    clean = tmp_path / "clean"
    report = build_dataset(sources(scenes), clean, exclusions=exclusions, progress=False)
    ids = [row["id"] for config in CONFIGS for row in read_rows(clean, config)]
    assert ids and not any(i.startswith("widowx:0:") for i in ids)
    assert any(i.startswith("widowx:2:") for i in ids)
    hashes = {
        image_hash(np.asarray(Image.open(io.BytesIO(row["images"][0]["bytes"])).convert("RGB")))
        for config in CONFIGS
        for row in read_rows(clean, config, columns=("images",))
    }
    assert banned not in hashes
    saved = json.loads((clean / "build_report.json").read_text())["decontamination"]
    assert saved["episodes_removed"] == ["widowx:0"]
    assert saved["excluded_episodes_not_found"] == ["widowx:99"]
    assert [entry["image_sha256"] for entry in saved["frames_removed_by_image_hash"]] == [banned]
    assert saved["rows_removed_by_image_hash"] == 4  # one conversation per family about that frame
    assert report.rows_removed_by_hash == 4
    with pytest.raises(ValueError, match="exclude_episodes"):
        Exclusions(episodes={"widowx-0"})


# -------------------------------------------------------------------------------------------------------- validation
def _rewrite_answer(file: Path, row_index: int, turn: int, edit) -> str:
    table = pq.read_table(file)
    rows = table.to_pylist()
    assistant = [m for m in rows[row_index]["messages"] if m["role"] == "assistant"]
    assistant[turn]["content"] = edit(assistant[turn]["content"])
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), file)
    return rows[row_index]["id"]


def test_validator_catches_a_tampered_answer(built, tmp_path: Path) -> None:
    out, _ = built
    assert validate_repo(out).ok
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    grounding = sorted((copy / "data" / "grounding_widowx").glob("*.parquet"))[0]
    tampered = _rewrite_answer(grounding, 0, 0, lambda text: text.replace("[[", "[[1", 1))
    report = validate_repo(copy)
    assert [(m.id, m.turn) for m in report.mismatches] == [(tampered, 0)]
    assert report.checked > 100 and report.unchecked["plan"] > 0
    # the CLI says so too, with a failing exit status
    with pytest.raises(SystemExit) as status:
        data_main(["validate", str(copy)])
    assert status.value.code == 1


def test_build_rejects_answers_that_disagree_with_the_record(scenes, tmp_path: Path, monkeypatch) -> None:
    # a template bug: every rendered distance is off by 5 cm (the validator computes its own)
    real = spatial_module.centimetres
    monkeypatch.setattr(spatial_module, "centimetres", lambda metres: real(metres) + 5)
    out = tmp_path / "buggy"
    report = build_dataset(sources(scenes, turns=None), out, progress=False)
    assert report.validation_rejected["spatial_reasoning.distance"] > 0
    assert validate_repo(out).ok  # nothing wrong was written
    for config in ("spatial_reasoning_widowx", "spatial_reasoning_aloha"):
        for row in read_rows(out, config):  # every answer with a distance in it was wrong, so none is left
            assert not any(" cm" in m["content"] for m in row["messages"] if m["role"] == "assistant")


# ----------------------------------------------------------------------------------------------------- stats, CLI
def test_stats_report_and_plot(built) -> None:
    out, report = built
    stats = json.loads((out / "stats" / "stats.json").read_text())
    assert stats["rows_by_config"] == dict(report.rows)
    assert sum(stats["qa_items_by_family"].values()) == sum(report.items.values())
    assert set(stats["qa_items_by_family"]) == {"grounding", "spatial_reasoning", "planning", "general_qa"}
    assert stats["answer_words"]["planning"]["mean"] > stats["answer_words"]["grounding"]["mean"]
    assert {"carrot", "plate", "red block", "bowl"} <= set(stats["object_mentions"])
    with Image.open(out / "stats" / "stats.png") as image:
        assert image.format == "PNG" and image.size[0] > 500


def test_cli_build_and_errors(scenes, tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    data_main(
        [
            "build",
            "--episodes",
            str(scenes["aloha"]),
            "--out",
            str(out),
            "--max-per-episode",
            "2",
            "--families",
            "planning",
            "grounding",
            "--progress",
            "false",
        ]
    )
    printed = capsys.readouterr().out
    assert "planning_aloha" in printed and "grounding_aloha" in printed
    assert sorted(get_dataset_config_names(str(out))) == ["grounding_aloha", "planning_aloha"]
    with pytest.raises(FileExistsError, match="not empty"):
        build_dataset(sources(scenes), out, progress=False)
    with pytest.raises(SystemExit, match="--out is required"):
        data_main(["build", "--episodes", str(scenes["aloha"])])
    with pytest.raises(ValueError, match="names must be unique"):
        build_dataset(
            [InDomainSource(scenes["aloha"]), InDomainSource(scenes["aloha"])], tmp_path / "x", progress=False
        )


# ------------------------------------------------------------------------------------------------------------- Hub
def test_push_to_hub_and_load_dataset(built, local_hub) -> None:
    out, report = built
    repo_id = local_hub.repo_id("vlaser6m-indomain")
    url = push_to_hub(out, repo_id)
    assert repo_id in url
    files = local_hub.server.list_files(repo_id, repo_type="dataset")  # what the server really holds
    assert "README.md" in files and any(f.startswith("data/planning_widowx/") for f in files)
    dataset = load_dataset(repo_id, "planning_widowx", split="train")
    assert len(dataset) == report.rows["planning_widowx"]
    assert dataset[0]["messages"] == read_rows(out, "planning_widowx")[0]["messages"]
