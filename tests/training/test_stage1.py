"""Stage 1: TRL SFTTrainer on conversation mixtures, saving, resuming and bad data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import set_seed
from trl import SFTConfig

from hub_datasets.synthetic import grounding_rows, planning_rows, write_conversation_repo
from modeling_vlaser import VlaserForConditionalGeneration, VlaserProcessor
from tests.conftest import REPO_ROOT
from training.conversations import ConversationMixtureArguments, ConversationSource, build_mixture, load_conversations
from training.model_setup import last_complete_checkpoint
from training.stage1_sft import Stage1Arguments, run_stage1


@pytest.fixture(scope="module")
def conversation_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("conversations")
    return write_conversation_repo(root, {"grounding_test": grounding_rows(24), "planning_test": planning_rows(8)})


def sft_config(output_dir: Path, **overrides) -> SFTConfig:
    values = dict(
        output_dir=str(output_dir),
        use_cpu=True,
        bf16=False,
        activation_checkpointing=False,
        assistant_only_loss=True,
        max_length=None,
        per_device_train_batch_size=4,
        learning_rate=2e-3,
        lr_scheduler_type="cosine",
        warmup_steps=2,
        max_steps=16,
        logging_steps=2,
        save_steps=8,
        report_to="none",
        seed=0,
        dataloader_num_workers=0,
    )
    return SFTConfig(**{**values, **overrides})


def stage1_args(repo: Path, **overrides) -> Stage1Arguments:
    sources = [
        {"path": str(repo), "name": "grounding_test", "weight": 3.0},
        {"path": str(repo), "name": "planning_test"},
    ]
    return Stage1Arguments(model_name_or_path="tiny", datasets=sources, **overrides)


def logged_losses(output_dir: Path) -> list[float]:
    state = json.loads((Path(last_complete_checkpoint(output_dir)) / "trainer_state.json").read_text())
    return [entry["loss"] for entry in state["log_history"] if "loss" in entry]


def test_tiny_stage1_learns_saves_and_generates(conversation_repo, tmp_path):
    output = run_stage1(stage1_args(conversation_repo), sft_config(tmp_path / "run"))
    losses = logged_losses(output)
    assert losses[-1] < 0.7 * losses[0], losses
    assert (output / "loss_curve.png").stat().st_size > 1000
    card = (output / "README.md").read_text()
    assert "pipeline_tag: image-text-to-text" in card and "grounding_test" in card and "lr 0.002" in card

    model = VlaserForConditionalGeneration.from_pretrained(output).eval()
    processor = VlaserProcessor.from_pretrained(output)
    messages = [{"role": "user", "content": "<image>\nPoint to the red square."}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    from hub_datasets.synthetic import square_image

    inputs = processor(images=[square_image(10, 20)], text=[prompt], return_tensors="pt")
    generated = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    assert generated.shape[1] > inputs["input_ids"].shape[1]
    assert isinstance(processor.decode(generated[0, inputs["input_ids"].shape[1] :]), str)


def test_freezing_the_vision_tower_keeps_it_unchanged(conversation_repo, tmp_path):
    from modeling_vlaser import get_preset_config

    output = run_stage1(stage1_args(conversation_repo, freeze_vision_tower=True), sft_config(tmp_path, max_steps=2))
    trained = load_file(output / "model.safetensors")
    set_seed(0)  # the run seeds with its `seed` (0) right before building the model
    initial = VlaserForConditionalGeneration(get_preset_config("tiny")).state_dict()
    vision = [k for k in trained if k.startswith("model.vision_tower.")]
    assert vision and all(torch.equal(trained[k], initial[k]) for k in vision)
    assert not torch.equal(
        trained["model.multi_modal_projector.linear_1.weight"], initial["model.multi_modal_projector.linear_1.weight"]
    )


def test_mixture_follows_the_weights(tmp_path):
    repo = write_conversation_repo(tmp_path, {"a": grounding_rows(120, seed=2), "b": planning_rows(120, seed=3)})
    mixture = build_mixture(
        ConversationMixtureArguments(
            datasets=[ConversationSource(str(repo), "a", weight=3.0), ConversationSource(str(repo), "b", weight=1.0)]
        )
    )
    first = [messages[0]["content"].startswith("<image>\nPoint") for messages in mixture[:80]["messages"]]
    assert 0.62 < sum(first) / len(first) < 0.88  # 3:1 -> 75 % from "a" while both last


def test_a_folder_rebuilt_in_place_loads_its_new_rows(tmp_path):
    """datasets 5.2 keys its cache of a local folder by name and config only; a rebuilt folder must not load the
    rows of the earlier build."""
    repo = tmp_path / "conversations"
    write_conversation_repo(repo, {"grounding": grounding_rows(5)})
    assert len(load_conversations(ConversationSource(str(repo), "grounding"))) == 5
    rows = grounding_rows(9, seed=3)
    write_conversation_repo(repo, {"grounding": rows})
    rebuilt = load_conversations(ConversationSource(str(repo), "grounding"))
    assert len(rebuilt) == 9 and rebuilt[0]["messages"] == rows["messages"][0]


def test_bad_conversation_data_gets_clear_errors(conversation_repo, tmp_path):
    with pytest.raises(ValueError, match=r"unknown dataset config 'nope'.*grounding_test"):
        build_mixture(ConversationMixtureArguments(datasets=[{"path": str(conversation_repo), "name": "nope"}]))
    rows = grounding_rows(3)
    del rows["images"]
    from datasets import Dataset

    Dataset.from_dict(rows).to_parquet(tmp_path / "no_images" / "train.parquet")
    with pytest.raises(ValueError, match="no \\['images'\\] column"):
        build_mixture(ConversationMixtureArguments(datasets=[{"path": str(tmp_path / "no_images")}]))
    empty = write_conversation_repo(tmp_path / "empty", {"nothing": grounding_rows(0)})
    with pytest.raises(ValueError, match="is empty"):
        build_mixture(ConversationMixtureArguments(datasets=[{"path": str(empty), "name": "nothing"}]))
    with pytest.raises(ValueError, match="no conversation datasets"):
        build_mixture(ConversationMixtureArguments())


class _StopAt:
    """A callback that stops training after `step` (as a kill would, but cleanly)."""

    def __new__(cls, step: int):
        from transformers import TrainerCallback

        class Stop(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == step:
                    control.should_training_stop = True
                    control.should_save = True

        return Stop()


def test_resumed_run_reaches_the_same_state_as_an_uninterrupted_one(conversation_repo, tmp_path, monkeypatch):
    config = dict(max_steps=6, save_steps=3, logging_steps=1)
    straight = run_stage1(stage1_args(conversation_repo), sft_config(tmp_path / "straight", **config))

    from trl import SFTTrainer

    original_init = SFTTrainer.__init__

    def init_with_stop(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.add_callback(_StopAt(3))

    monkeypatch.setattr(SFTTrainer, "__init__", init_with_stop)
    run_stage1(stage1_args(conversation_repo), sft_config(tmp_path / "resumed", **config))
    monkeypatch.setattr(SFTTrainer, "__init__", original_init)
    assert last_complete_checkpoint(tmp_path / "resumed").endswith("checkpoint-3")
    resumed = run_stage1(
        stage1_args(conversation_repo), sft_config(tmp_path / "resumed", resume_from_checkpoint=True, **config)
    )

    a, b = straight / "checkpoint-6", resumed / "checkpoint-6"
    state_a, state_b = (json.loads((d / "trainer_state.json").read_text()) for d in (a, b))
    assert state_a["global_step"] == state_b["global_step"] == 6
    optimizer_a, optimizer_b = (torch.load(d / "optimizer.pt", weights_only=True) for d in (a, b))
    for key, value in optimizer_a["state"].items():
        assert torch.equal(value["step"], optimizer_b["state"][key]["step"])
        assert torch.allclose(value["exp_avg"], optimizer_b["state"][key]["exp_avg"], atol=1e-6)
    scheduler_a, scheduler_b = (torch.load(d / "scheduler.pt", weights_only=True) for d in (a, b))
    assert scheduler_a["last_epoch"] == scheduler_b["last_epoch"] and scheduler_a["_last_lr"] == scheduler_b["_last_lr"]
    weights_a, weights_b = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert all(torch.allclose(weights_a[k], weights_b[k], atol=1e-5) for k in weights_a)


def test_kill_during_a_checkpoint_save_leaves_the_previous_one_usable(conversation_repo, tmp_path):
    import yaml

    output = tmp_path / "run"
    config = {
        "model_name_or_path": "tiny",
        "datasets": [{"path": str(conversation_repo), "name": "grounding_test"}],
        "output_dir": str(output),
        "use_cpu": True,
        "bf16": False,
        "activation_checkpointing": False,
        "assistant_only_loss": True,
        "max_length": None,
        "per_device_train_batch_size": 2,
        "max_steps": 200,
        "save_steps": 2,
        "report_to": "none",
        "resume_from_checkpoint": True,
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "vlaser_cli", "train", "stage1", "--config", str(tmp_path / "config.yaml")]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        # Wait for checkpoint-2 to be complete, then kill the moment checkpoint-4's folder appears: mid-save.
        while not (output / "checkpoint-2" / "trainer_state.json").exists() or not (output / "checkpoint-4").exists():
            assert process.poll() is None and time.monotonic() < deadline, "training ended before the kill"
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    previous = last_complete_checkpoint(output)
    assert previous is not None and Path(previous).name in ("checkpoint-2", "checkpoint-4")
    VlaserForConditionalGeneration.from_pretrained(previous)  # the weights of the chosen checkpoint load
    # Resuming the same command continues from it.
    config["max_steps"] = int(Path(previous).name.split("-")[1]) + 2
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    state = json.loads((output / f"checkpoint-{config['max_steps']}" / "trainer_state.json").read_text())
    assert state["global_step"] == config["max_steps"]


def test_an_unfinished_checkpoint_is_skipped(tmp_path):
    (tmp_path / "checkpoint-2").mkdir()
    (tmp_path / "checkpoint-2" / "trainer_state.json").write_text('{"global_step": 2}')
    (tmp_path / "checkpoint-4").mkdir()
    (tmp_path / "checkpoint-4" / "model.safetensors").write_bytes(b"partial")
    (tmp_path / "checkpoint-6").mkdir()
    (tmp_path / "checkpoint-6" / "trainer_state.json").write_text('{"global_st')  # killed mid-write
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-2")


def test_push_to_hub_uploads_model_processor_and_card_in_one_commit(conversation_repo, tmp_path, local_hub):
    repo_id = local_hub.repo_id("vlaser-tiny-stage1")
    config = sft_config(tmp_path / "run", max_steps=2, save_strategy="no", push_to_hub=True, hub_model_id=repo_id)
    run_stage1(stage1_args(conversation_repo), config)
    files = set(local_hub.server.list_files(repo_id))
    assert {"model.safetensors", "processor_config.json", "tokenizer.json", "modeling_vlaser.py", "README.md"} <= files
    assert not any(name.startswith("checkpoint-") for name in files)
    card = local_hub.server.read_file(repo_id, "README.md").decode()
    assert "grounding_test" in card and "Stage 1" in card
    model = VlaserForConditionalGeneration.from_pretrained(repo_id)
    assert model.config.model_type == "vlaser"
