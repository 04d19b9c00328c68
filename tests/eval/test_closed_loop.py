"""The closed-loop evaluator on the ALOHA suite: expert, random, a saved tiny VLASER policy, Wilson intervals and
worker sharding. Kept short (a few episodes, capped step limits) so it runs in `make test`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("simulation.aloha")  # sets the offscreen GL backend before MuJoCo loads

from eval.closed_loop import ClosedLoopConfig, run_closed_loop_eval, wilson_interval  # noqa: E402
from eval.closed_loop.report import FIGURE, REPORT_JSON, REPORT_MD  # noqa: E402

TASK = "transfer_cube"


def _config(out: Path, policy: str, **overrides: Any) -> ClosedLoopConfig:
    options = dict(suite="aloha", tasks=[TASK], episodes=3, workers=0, videos=0, out=str(out), progress=False)
    return ClosedLoopConfig(policy=policy, **{**options, **overrides})


def _per_seed(report: dict[str, Any]) -> list[tuple]:
    return [(e["task"], e["seed"], e["success"], e["steps"], e["queries"]) for e in report["episodes"]]


@pytest.fixture(scope="module")
def expert_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("closed_loop_expert")
    return run_closed_loop_eval(_config(out, "expert", videos=1))


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (1, 1, 0.2065, 1.0)],
)
def test_wilson_interval_matches_hand_computed_values(successes: int, trials: int, low: float, high: float) -> None:
    # By hand: center = (p + z²/2n) / (1 + z²/n), half = z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n), z = 1.96.
    assert wilson_interval(successes, trials) == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_edge_cases() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_expert_succeeds_and_the_report_is_complete(expert_report: dict[str, Any]) -> None:
    task = expert_report["tasks"][TASK]
    assert task["episodes"] == 3 and task["successes"] >= 2
    assert task["seeds"] == [100000, 100001, 100002]  # evaluation seeds, disjoint from the recorder's 0…
    assert 0.0 <= task["ci95_low"] <= task["success_rate"] <= task["ci95_high"] <= 1.0
    files = expert_report["files"]
    data = json.loads(Path(files["json"]).read_text())
    for key in ("policy", "suite", "tasks", "settings", "episodes", "videos", "seconds", "episodes_per_minute"):
        assert key in data
    assert data["settings"]["seeds"] == [100000, 100001, 100002]
    assert data["settings"]["cameras"] == ["top", "left_wrist", "right_wrist"]
    assert {"seed", "success", "steps", "queries", "video", "error"} <= set(data["episodes"][0])
    # The expert is queried once per executed action (P = H = 1) and stops at success.
    assert all(e["queries"] == e["steps"] for e in data["episodes"])
    markdown = Path(files["markdown"]).read_text()
    assert "| transfer_cube | " in markdown and "Wilson" in markdown and FIGURE in markdown
    assert Path(files["figure"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (video,) = data["videos"]
    assert video.endswith(".mp4") and Path(video).stat().st_size > 1000
    assert Path(files["json"]).name == REPORT_JSON and Path(files["markdown"]).name == REPORT_MD


def test_random_policy_fails(tmp_path: Path) -> None:
    report = run_closed_loop_eval(_config(tmp_path, "random", episodes=2, max_steps=40))
    task = report["tasks"][TASK]
    assert task["successes"] == 0 and task["errors"] == 0
    assert all(e["steps"] == 40 for e in report["episodes"])


def test_two_workers_give_the_same_per_seed_results(expert_report: dict[str, Any], tmp_path: Path) -> None:
    report = run_closed_loop_eval(_config(tmp_path, "expert", workers=2))
    assert _per_seed(report) == _per_seed(expert_report)


def test_tiny_vlaser_policy_runs_from_its_folder(tmp_path: Path) -> None:
    from modeling_vlaser import ActionNormalizer, VlaserForActionPrediction, get_preset_config, load_tiny_processor
    from modeling_vlaser.policy import VlaserPolicy

    rng = np.random.default_rng(0)
    states, actions = rng.normal(size=(64, 14)), rng.normal(size=(64, 14))
    config = get_preset_config("tiny", state_dim=14, action_dim=14, chunk_size=4, n_action_steps=3)
    policy = VlaserPolicy(
        VlaserForActionPrediction(config), load_tiny_processor(ActionNormalizer.from_data(states, actions))
    )
    policy.save_pretrained(tmp_path / "policy")

    report = run_closed_loop_eval(
        _config(tmp_path / "eval", str(tmp_path / "policy"), episodes=1, max_steps=4, videos=1)
    )
    (episode,) = report["episodes"]
    assert episode["error"] is None
    assert episode["steps"] == 4 and not episode["success"]
    assert episode["queries"] == math.ceil(4 / 3)
    assert report["settings"]["chunk_size"] == 4 and report["settings"]["n_action_steps"] == 3
    assert Path(episode["video"]).exists()


def test_cli_reports_bad_task_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vlaser_cli.evaluate import main

    argv = ["closed-loop", "--policy", "expert", "--suite", "aloha", "--tasks", "nope", "--episodes", "1"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "unknown aloha task 'nope'" in capsys.readouterr().err
