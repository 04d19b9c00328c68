"""Stage 2: the flow-matching Trainer on LeRobot episodes, from a stage-1 checkpoint to a policy that acts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import yaml
from PIL import Image
from transformers import set_seed

from hub_datasets.episodes import LeRobotEpisodes, LeRobotEpisodeWriter
from hub_datasets.synthetic import grounding_rows, planning_rows, write_conversation_repo, write_episodes
from modeling_vlaser import VlaserPolicy
from tests.conftest import REPO_ROOT
from tests.training.test_stage1 import sft_config, stage1_args
from training.action_data import ActionChunkCollator, ActionChunkDataset, AugmentationConfig, compute_normalizer
from training.model_setup import load_policy_and_processor
from training.stage1_sft import run_stage1
from training.stage2_vla import Stage2Arguments, Stage2TrainingArguments, run_stage2


@pytest.fixture(scope="module")
def episodes(tmp_path_factory) -> Path:
    return write_episodes(tmp_path_factory.mktemp("episodes") / "toy", n_episodes=4, length=10)


def training_args(output_dir: Path, **overrides) -> Stage2TrainingArguments:
    values = dict(
        output_dir=str(output_dir),
        use_cpu=True,
        per_device_train_batch_size=8,
        learning_rate=1e-3,
        max_steps=40,
        logging_steps=5,
        save_steps=20,
        report_to="none",
        seed=0,
        dataloader_num_workers=0,
    )
    return Stage2TrainingArguments(**{**values, **overrides})


def fixed_batch_loss(model, processor, source: Path) -> float:
    """Flow-matching loss on a fixed batch with fixed noise and noise levels: comparable across models."""
    dataset = ActionChunkDataset([LeRobotEpisodes(source)], model.config.chunk_size)
    batch = ActionChunkCollator(processor)([dataset[i] for i in range(0, len(dataset), 3)])
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(batch["actions"].shape, generator=generator)
    sigma = torch.rand(batch["actions"].shape[0], generator=generator) * 0.9 + 0.05
    with torch.no_grad():
        return model.eval()(**batch, noise=noise, sigma=sigma).loss.item()


def test_stage1_then_stage2_gives_a_policy_that_acts_in_raw_units(episodes, tmp_path):
    conversations = write_conversation_repo(
        tmp_path / "conversations", {"grounding_test": grounding_rows(16), "planning_test": planning_rows(4)}
    )
    stage1 = run_stage1(stage1_args(conversations), sft_config(tmp_path / "stage1", max_steps=4, save_steps=4))

    args = Stage2Arguments(model_name_or_path=str(stage1), episodes=[str(episodes)], raw_action_dims=[6])
    set_seed(0)  # as run_stage2 does: the same initial policy the run starts from
    initial, processor = load_policy_and_processor(args, state_dim=7, action_dim=7)
    processor.normalizer = compute_normalizer([LeRobotEpisodes(episodes)], [6])
    before = fixed_batch_loss(initial, processor, episodes)

    output = run_stage2(args, training_args(tmp_path / "stage2"))
    policy = VlaserPolicy.from_pretrained(output)
    after = fixed_batch_loss(policy.model, policy.processor, episodes)
    assert after < 0.8 * before, (before, after)

    state = json.loads((output / "checkpoint-40" / "trainer_state.json").read_text())
    assert any("action_loss/dx" in entry for entry in state["log_history"])  # per-dim losses are logged
    assert (output / "loss_curve.png").stat().st_size > 1000
    assert "pipeline_tag: robotics" in (output / "README.md").read_text()

    frame = LeRobotEpisodes(episodes).frame(0)
    image = Image.fromarray(frame["observation.images.image_0"])
    noise = torch.randn(1, 4, 7)
    chunk = policy.predict_action(image, frame["task"], frame["observation.state"], noise=noise)
    assert chunk.shape == (1, 4, 7)
    inputs = policy.processor.prepare_policy_inputs(image, frame["task"], states=frame["observation.state"][None])
    normalized = policy.model.sample_actions(**inputs, noise=noise).numpy()
    assert np.allclose(chunk, policy.processor.unnormalize_actions(normalized), atol=1e-6)
    assert np.abs(chunk[..., :2]).max() < 1.0  # toy actions are steps of at most 0.3: raw units, not [-1, 1]


def test_gradient_accumulation_matches_the_full_batch(episodes, tmp_path):
    """Batch 4 in one step and 2 x 2 accumulated give the same update (the loss is a per-batch mean)."""
    sources = [LeRobotEpisodes(episodes)]
    dataset = ActionChunkDataset(sources, 4)
    full_chunks = [i for i in range(len(dataset)) if dataset[i]["action_mask"].all()][:4]

    class Indexed(torch.utils.data.Dataset):
        def __len__(self):
            return len(full_chunks)

        def __getitem__(self, i):
            return {**dataset[full_chunks[i]], "index": full_chunks[i]}

    results = []
    for batch_size, accumulation in ((4, 1), (2, 2)):
        set_seed(0)
        args = Stage2Arguments(model_name_or_path="tiny", episodes=[str(episodes)])
        model, processor = load_policy_and_processor(args, state_dim=7, action_dim=7)
        processor.normalizer = compute_normalizer(sources)
        collate = ActionChunkCollator(processor)

        def collator(samples, collate=collate):
            batch = collate(samples)
            generators = [torch.Generator().manual_seed(s["index"]) for s in samples]  # noise follows the sample
            batch["noise"] = torch.stack([torch.randn(4, 7, generator=g) for g in generators])
            batch["sigma"] = torch.stack([torch.rand((), generator=g) for g in generators])
            return batch

        from training.stage2_vla import VlaserActionTrainer

        trainer = VlaserActionTrainer(
            model=model,
            args=training_args(
                tmp_path / f"ga{accumulation}", per_device_train_batch_size=batch_size,
                gradient_accumulation_steps=accumulation, max_steps=1, optim="sgd", learning_rate=0.1,
                max_grad_norm=1e9, logging_steps=1, save_strategy="no",
            ),
            train_dataset=Indexed(),
            data_collator=collator,
        )  # fmt: skip
        trainer.train()
        results.append((trainer.state.log_history[0]["grad_norm"], model.action_expert.action_out_proj.weight.detach()))
    (norm_full, weight_full), (norm_accumulated, weight_accumulated) = results
    assert norm_full == pytest.approx(norm_accumulated, rel=1e-4)
    assert torch.allclose(weight_full, weight_accumulated, atol=1e-6)


def test_statistics_are_computed_once_and_cached(episodes, tmp_path):
    sources = [LeRobotEpisodes(episodes)]
    cache = tmp_path / "stats.json"
    first = compute_normalizer(sources, [6], cache_file=cache)
    actions = sources[0].column("action")
    assert np.allclose(first.action_q99[:2], np.quantile(actions[:, :2], 0.99, axis=0), atol=1e-6)
    payload = json.loads(cache.read_text())
    payload["statistics"]["action"]["q99"][0] = 42.0  # the cache, not the data, is what a second call reads
    cache.write_text(json.dumps(payload))
    assert compute_normalizer(sources, [6], cache_file=cache).action_q99[0] == 42.0
    assert compute_normalizer(sources, [], cache_file=cache).action_q99[0] != 42.0  # other options: recomputed


def test_augmentation_is_deterministic_under_a_seed():
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    augmentation = AugmentationConfig(seed=3)
    first = np.asarray(augmentation.apply(image, index=5, epoch=1))
    assert np.array_equal(first, np.asarray(augmentation.apply(image, index=5, epoch=1)))
    assert not np.array_equal(first, np.asarray(augmentation.apply(image, index=6, epoch=1)))
    assert not np.array_equal(first, np.asarray(AugmentationConfig(seed=4).apply(image, index=5, epoch=1)))
    assert first.shape == (64, 64, 3)


def test_chunks_are_padded_and_masked_at_the_episode_end(episodes):
    dataset = ActionChunkDataset([LeRobotEpisodes(episodes)], 4)
    last = dataset[9]  # the last frame of episode 0 (10 frames)
    assert last["action_mask"].tolist() == [True, False, False, False]
    assert np.array_equal(last["actions"][1], last["actions"][0])
    assert dataset[6]["action_mask"].all()


def test_cotraining_mixes_conversations_into_stage2(episodes, tmp_path):
    conversations = write_conversation_repo(tmp_path / "conversations", {"grounding_test": grounding_rows(8)})
    args = Stage2Arguments(
        model_name_or_path="tiny",
        episodes=[str(episodes)],
        cotrain_datasets=[{"path": str(conversations), "name": "grounding_test"}],
        cotrain_ratio=0.25,
    )
    output = run_stage2(
        args, training_args(tmp_path / "run", max_steps=4, per_device_train_batch_size=4, logging_steps=1)
    )
    state = json.loads((output / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4 and all(np.isfinite(e["loss"]) for e in state["log_history"] if "loss" in e)
    # The last LLM layer's MLP only learns from conversations (the action loss never reaches it): it moved.
    set_seed(0)
    initial, _ = load_policy_and_processor(args, state_dim=7, action_dim=7)
    trained = VlaserPolicy.from_pretrained(output).model
    name = "model.language_model.layers.3.mlp.down_proj.weight"
    assert not torch.equal(initial.get_parameter(name), trained.get_parameter(name))


def _write_bad(root: Path, **create_overrides) -> LeRobotEpisodeWriter:
    options = dict(
        fps=5,
        robot_type="toy",
        state_names=[f"s{i}" for i in range(7)],
        action_names=[f"a{i}" for i in range(7)],
        cameras={"image_0": (8, 8)},
    )
    return LeRobotEpisodeWriter.create(root, **{**options, **create_overrides})


def test_bad_episode_data_gets_clear_errors(episodes, tmp_path):
    with pytest.raises(ValueError, match="has no frames"):
        _write_bad(tmp_path / "empty")
        ActionChunkDataset([LeRobotEpisodes(tmp_path / "empty")], 4)
    no_camera = _write_bad(tmp_path / "no_camera", cameras=None)
    no_camera.add_episode([{"observation.state": np.zeros(7, np.float32), "action": np.zeros(7, np.float32)}], "t")
    with pytest.raises(ValueError, match="no camera"):
        ActionChunkDataset([LeRobotEpisodes(tmp_path / "no_camera")], 4)

    wide = _write_bad(tmp_path / "wide", action_names=[f"a{i}" for i in range(20)])
    frame = {"observation.state": np.zeros(7, np.float32), "action": np.zeros(20, np.float32)}
    wide.add_episode([{**frame, "observation.images.image_0": np.zeros((8, 8, 3), np.uint8)}] * 2, "t")
    with pytest.raises(ValueError, match=r"episodes have state/action dims \(7, 20\).*max_action_dim \(16\)"):
        run_stage2(Stage2Arguments(episodes=[str(tmp_path / "wide")]), training_args(tmp_path / "out"))
    with pytest.raises(ValueError, match="must share them"):
        ActionChunkDataset([LeRobotEpisodes(episodes), LeRobotEpisodes(tmp_path / "wide")], 4)

    # NaN written into a real data file behind the writer's back (the writer itself refuses NaN).
    broken = tmp_path / "nan"
    shutil.copytree(episodes, broken)
    data_file = sorted((broken / "data").rglob("*.parquet"))[0]  # episode 0: global frames 0-9
    table = pq.read_table(data_file)
    actions = table.column("action").to_pylist()
    actions[3][1] = float("nan")
    import pyarrow as pa

    table = table.set_column(
        table.column_names.index("action"), "action", pa.array(actions, table.schema.field("action").type)
    )
    pq.write_table(table, data_file)
    with pytest.raises(ValueError, match="action contains NaN/inf at frame 3"):
        compute_normalizer([LeRobotEpisodes(broken)])


def test_two_process_torchrun_data_parallel_smoke(episodes, tmp_path):
    config = {
        "model_name_or_path": "tiny",
        "episodes": [str(episodes)],
        "output_dir": str(tmp_path / "ddp"),
        "use_cpu": True,
        "per_device_train_batch_size": 2,
        "max_steps": 3,
        "save_steps": 3,
        "logging_steps": 1,
        "report_to": "none",
        "ddp_find_unused_parameters": False,  # passes only if every trainable parameter gets a gradient
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "vlaser_cli", "train",
         "stage2", "--config", str(tmp_path / "config.yaml")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads((tmp_path / "ddp" / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    assert (tmp_path / "ddp" / "checkpoint-3" / "rng_state_1.pth").exists()  # the second rank took part


def test_freezing_options_leave_the_chosen_parts_unchanged(episodes, tmp_path):
    args = Stage2Arguments(model_name_or_path="tiny", episodes=[str(episodes)], freeze_language_model=True)
    set_seed(0)
    initial, _ = load_policy_and_processor(args, state_dim=7, action_dim=7)
    output = run_stage2(args, training_args(tmp_path, max_steps=2, save_strategy="no"))
    trained = VlaserPolicy.from_pretrained(output).model
    for name in ("model.language_model.layers.0.mlp.up_proj.weight", "model.language_model.embed_tokens.weight"):
        assert torch.equal(initial.get_parameter(name), trained.get_parameter(name)), name
    name = "action_expert.layers.0.mlp.up_proj.weight"
    assert not torch.equal(initial.get_parameter(name), trained.get_parameter(name))
