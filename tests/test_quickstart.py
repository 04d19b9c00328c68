"""`vlaser quickstart` runs end to end (2 recorded ALOHA episodes, few steps) and leaves a loadable ALOHA policy behind,
trained on in-domain conversations from those episodes; a re-run reuses the recording."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from modeling_vlaser import VlaserPolicy
from vlaser_cli import main
from vlaser_cli.quickstart import QuickstartArguments, run_quickstart

needs_aloha = pytest.mark.skipif(
    importlib.util.find_spec("mujoco") is None or importlib.util.find_spec("gym_aloha") is None,
    reason="the quickstart records the aloha suite: needs mujoco and gym-aloha (the `sim` extra)",
)
FAMILIES = ("grounding", "spatial_reasoning", "planning", "general_qa")
ALOHA_DIMS = 14  # per arm: six joints and the gripper


@needs_aloha
def test_quickstart_records_aloha_trains_on_in_domain_data_and_reuses_the_recording(tmp_path):
    lines = []
    result = run_quickstart(
        QuickstartArguments(output_dir=str(tmp_path), episodes=2, stage1_steps=3, stage2_steps=3), echo=lines.append
    )

    # The policy: ALOHA's state and action, raw actions out, loss curves of both stages.
    policy = VlaserPolicy.from_pretrained(result["policy"])
    assert result["policy"] == tmp_path / "policy"
    assert (policy.config.state_dim, policy.config.action_dim) == (ALOHA_DIMS, ALOHA_DIMS)
    assert policy.processor.normalizer is not None and policy.processor.normalizer.raw_action_dims == (6, 13)
    assert result["chunk"].shape == (1, policy.config.chunk_size, ALOHA_DIMS)
    assert np.isfinite(result["chunk"]).all()
    assert (tmp_path / "stage1" / "loss_curve.png").exists() and (tmp_path / "stage2" / "loss_curve.png").exists()
    assert isinstance(result["answer"], str)
    for name in ("record ALOHA episodes", "in-domain QA (VLASER-6M)", "stage 1 (SFT)", "stage 2 (flow matching)"):
        assert any(line.startswith(f"| {name} |") for line in lines), name

    # Stage 1 trained on the in-domain engine's configs, built from the recorded episodes, and on nothing else.
    conversations = tmp_path / "data" / "vlaser6m"
    configs = {f"{family}_aloha" for family in FAMILIES}
    assert set(result["data"]["rows_by_config"]) == configs
    for config in configs:
        rows = sum(pq.read_metadata(path).num_rows for path in (conversations / "data" / config).glob("*.parquet"))
        assert rows == result["data"]["rows_by_config"][config] > 0, config
    grounding = pq.read_table(next((conversations / "data" / "grounding_aloha").glob("*.parquet"))).to_pylist()
    assert {row["source"] for row in grounding} == {"aloha"} and {row["domain"] for row in grounding} == {"aloha"}
    assert "<box>" in grounding[0]["messages"][1]["content"] or "<point>" in grounding[0]["messages"][1]["content"]
    card = (tmp_path / "stage1" / "README.md").read_text()
    data_line = next(line for line in card.splitlines() if line.startswith("Data: "))
    assert sorted(entry.rsplit(":", 1)[1] for entry in data_line[len("Data: ") :].split(", ")) == sorted(configs)

    # A re-run with the same output_dir keeps the recorded episodes and records nothing.
    episodes = tmp_path / "data" / "aloha"
    files = {path: path.stat().st_mtime_ns for path in (episodes / "data").rglob("*.parquet")}
    again = []
    run_quickstart(
        QuickstartArguments(output_dir=str(tmp_path), episodes=2, stage1_steps=1, stage2_steps=1), echo=again.append
    )
    runs = json.loads((episodes / "record_report.json").read_text())["runs"]
    assert [(run["recorded"], run["skipped_done"]) for run in runs] == [(2, 0), (0, 2)]
    assert {path: path.stat().st_mtime_ns for path in (episodes / "data").rglob("*.parquet")} == files
    assert any("recorded 0 now, reused 2" in line for line in again)


def test_cli_reports_unknown_config_keys(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("stage1_steps: 3\nnot_a_field: 1\n")
    with pytest.raises(SystemExit) as exit_:
        main(["quickstart", "--config", str(tmp_path / "bad.yaml")])
    assert exit_.value.code == 2
    assert "not_a_field" in capsys.readouterr().err
