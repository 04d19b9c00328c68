"""`vlaser quickstart` runs end to end (with few steps) and leaves a loadable policy behind."""

from __future__ import annotations

import numpy as np
import pytest

from modeling_vlaser import VlaserPolicy
from vlaser_cli import main
from vlaser_cli.quickstart import QuickstartArguments, run_quickstart


def test_quickstart_pipeline_writes_a_working_policy(tmp_path):
    lines = []
    result = run_quickstart(
        QuickstartArguments(output_dir=str(tmp_path), stage1_steps=3, stage2_steps=3), echo=lines.append
    )
    policy = VlaserPolicy.from_pretrained(result["policy"])
    assert policy.processor.normalizer is not None
    assert result["chunk"].shape == (1, policy.config.chunk_size, policy.config.action_dim)
    assert np.isfinite(result["chunk"]).all()
    assert (tmp_path / "stage1" / "loss_curve.png").exists() and (tmp_path / "stage2" / "loss_curve.png").exists()
    assert any(line.startswith("| stage 2 (flow matching) |") for line in lines)


def test_cli_reports_unknown_config_keys(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("stage1_steps: 3\nnot_a_field: 1\n")
    with pytest.raises(SystemExit) as exit_:
        main(["quickstart", "--config", str(tmp_path / "bad.yaml")])
    assert exit_.value.code == 2
    assert "not_a_field" in capsys.readouterr().err
