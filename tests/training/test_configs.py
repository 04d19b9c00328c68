"""The shipped YAML configs parse into the training dataclasses (a typo in a key fails here, not in a long run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from accelerate.commands.config.config_args import load_config_from_file
from trl import SFTConfig

from tests.conftest import REPO_ROOT
from training.stage1_sft import Stage1Arguments
from training.stage2_vla import Stage2Arguments, Stage2TrainingArguments
from vlaser_cli import parse_arguments

CONFIGS = REPO_ROOT / "training" / "configs"
CPU = ["--bf16", "false", "--use_cpu", "true"]  # the 2B recipes ask for bf16, which a CPU-only machine refuses


@pytest.mark.parametrize("name", ["tiny_cpu_stage1.yaml", "vlaser_2b_stage1.yaml"])
def test_stage1_configs_parse(name, tmp_path):
    args, sft = parse_arguments(
        (Stage1Arguments, SFTConfig), ["--config", str(CONFIGS / name), *CPU, "--output_dir", str(tmp_path)], "t"
    )
    raw = yaml.safe_load((CONFIGS / name).read_text())
    assert [source.name for source in args.datasets] == [d["name"] for d in raw["datasets"]]
    assert sft.assistant_only_loss and sft.max_length is None and sft.learning_rate == raw["learning_rate"]


@pytest.mark.parametrize("name", ["tiny_cpu_stage2.yaml", "vlaser_2b_stage2.yaml"])
def test_stage2_configs_parse(name, tmp_path):
    args, training = parse_arguments(
        (Stage2Arguments, Stage2TrainingArguments),
        ["--config", str(CONFIGS / name), *CPU, "--output_dir", str(tmp_path), "--max_steps", "7"],
        "t",
    )
    raw = yaml.safe_load((CONFIGS / name).read_text())
    assert args.raw_action_dims == raw["raw_action_dims"] and args.chunk_size == 4 and training.max_steps == 7
    assert training.remove_unused_columns is False


@pytest.mark.parametrize("path", sorted((CONFIGS / "accelerate").glob("*.yaml")), ids=lambda p: Path(p).name)
def test_accelerate_configs_load(path):
    config = load_config_from_file(str(path))
    assert config.num_processes == 8 and config.mixed_precision == "bf16"
