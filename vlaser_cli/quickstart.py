"""`vlaser quickstart`: the pipeline that exists so far, on the embedded tiny preset, on CPU.

1. writes small synthetic data with exact answers: grounding/planning conversations and a toy reaching task in the
   LeRobot v3 layout (the simulators and the in-domain data engine will replace both);
2. stage 1: embodied-reasoning SFT of the tiny VLM with TRL's SFTTrainer;
3. stage 2: the flow-matching action expert on the episodes, starting from the stage-1 checkpoint;
4. loads the policy the way a user would, answers a grounding prompt, predicts an action chunk, saves and reloads
   it, and prints what it did with timings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch


@dataclass
class QuickstartArguments:
    output_dir: str = field(default="outputs/quickstart", metadata={"help": "where data, checkpoints and plots go"})
    stage1_steps: int = field(default=300, metadata={"help": "SFT steps of stage 1"})
    stage2_steps: int = field(default=400, metadata={"help": "flow-matching steps of stage 2"})
    seed: int = field(default=0, metadata={"help": "seed of the data, the weights and the noise"})


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - start


def _common_training_settings(output_dir: Path, steps: int, seed: int) -> dict:
    return dict(
        output_dir=str(output_dir),
        use_cpu=True,
        max_steps=steps,
        learning_rate=2e-3,
        lr_scheduler_type="cosine",
        warmup_steps=max(1, steps // 10),
        logging_steps=max(1, steps // 10),
        save_steps=steps,
        report_to="none",
        seed=seed,
        disable_tqdm=False,
    )


def run_quickstart(args: QuickstartArguments, echo: Callable[[str], None] = print) -> dict:
    from trl import SFTConfig

    from hub_datasets.episodes import LeRobotEpisodes
    from hub_datasets.synthetic import (
        grounding_rows,
        planning_rows,
        square_image,
        write_conversation_repo,
        write_episodes,
    )
    from modeling_vlaser import VlaserPolicy
    from modeling_vlaser.grounding import parse_grounding
    from training.stage1_sft import Stage1Arguments, run_stage1
    from training.stage2_vla import Stage2Arguments, Stage2TrainingArguments, run_stage2

    output_dir = Path(args.output_dir)
    timings: dict[str, float] = {}

    with _timed(timings, "write synthetic data"):
        conversations = write_conversation_repo(
            output_dir / "data" / "conversations",
            {"grounding_synthetic": grounding_rows(96, seed=args.seed), "planning_synthetic": planning_rows(32)},
        )
        episodes_dir = output_dir / "data" / "episodes"
        if not (episodes_dir / "meta" / "info.json").exists():
            write_episodes(episodes_dir, n_episodes=12, length=12, seed=args.seed)
    echo(
        f"data: 128 conversations in {conversations}, {LeRobotEpisodes(episodes_dir).num_frames} frames in {episodes_dir}"
    )

    with _timed(timings, "stage 1 (SFT)"):
        stage1 = run_stage1(
            Stage1Arguments(
                model_name_or_path="tiny",
                datasets=[
                    {"path": str(conversations), "name": "grounding_synthetic", "weight": 3.0},
                    {"path": str(conversations), "name": "planning_synthetic"},
                ],
            ),
            SFTConfig(
                **_common_training_settings(output_dir / "stage1", args.stage1_steps, args.seed),
                bf16=False,
                activation_checkpointing=False,
                assistant_only_loss=True,
                max_length=None,
                per_device_train_batch_size=8,
            ),
        )
    with _timed(timings, "stage 2 (flow matching)"):
        stage2 = run_stage2(
            Stage2Arguments(model_name_or_path=str(stage1), episodes=[str(episodes_dir)], raw_action_dims=[6]),
            Stage2TrainingArguments(
                **_common_training_settings(output_dir / "stage2", args.stage2_steps, args.seed),
                per_device_train_batch_size=16,
            ),
        )

    with _timed(timings, "load policy"):
        policy = VlaserPolicy.from_pretrained(stage2)
    processor, model = policy.processor, policy.model
    x, y = 30, 12
    image = square_image(x, y)
    image.save(output_dir / "query.png")
    messages = [{"role": "user", "content": "<image>\nPoint to the red square."}]
    with _timed(timings, "grounding answer"):
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = processor(images=[image], text=[prompt], return_tensors="pt")
        with torch.no_grad():
            generated = model.generate(**inputs, max_new_tokens=20, do_sample=False)
        answer = processor.decode(generated[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    truth = (round((x + 6) / 64 * 1000), round((y + 6) / 64 * 1000))
    echo(f"grounding: 'Point to the red square.' -> {answer!r}; parsed {parse_grounding(answer)}; truth {truth}")

    episodes = LeRobotEpisodes(episodes_dir)
    frame = episodes.frame(0)
    noise = torch.randn(1, model.config.chunk_size, model.config.action_dim, generator=torch.Generator().manual_seed(0))
    observation = (frame["observation.images.image_0"], frame["task"], frame["observation.state"])
    with _timed(timings, "action chunk"):
        chunk = policy.predict_action(*observation, noise=noise)
    expert = episodes.column("action")[: model.config.chunk_size]
    echo(f"action chunk for {frame['task']!r} (raw units; the expert's first two dims in brackets):")
    for predicted, reference in zip(chunk[0], expert, strict=True):
        echo(
            f"  {np.array2string(predicted, precision=3, suppress_small=True)}  [{reference[0]:+.3f} {reference[1]:+.3f}]"
        )

    checkpoint = output_dir / "policy"
    with _timed(timings, "save + reload"):
        policy.save_pretrained(checkpoint, model_description="Tiny VLASER trained by `vlaser quickstart`.")
        reloaded = VlaserPolicy.from_pretrained(checkpoint)
    # Same weights bit for bit; the chunk may differ in the last float bit (summation order of other kernels).
    difference = float(np.abs(reloaded.predict_action(*observation, noise=noise) - chunk).max())
    if difference > 1e-6:
        raise SystemExit(
            f"the reloaded policy predicts a different chunk (max difference {difference}): save/load broke"
        )
    echo(f"saved to {checkpoint} and reloaded: same chunk (max difference {difference:.1e})")
    echo(f"loss curves: {stage1 / 'loss_curve.png'}, {stage2 / 'loss_curve.png'}")

    echo("\n| step | seconds |\n|---|---|")
    for name, seconds in timings.items():
        echo(f"| {name} | {seconds:.1f} |")
    return {"answer": answer, "chunk": chunk, "policy": checkpoint, "timings": timings}


def main(argv: list[str]) -> None:
    from . import parse_arguments

    (args,) = parse_arguments((QuickstartArguments,), argv, prog="vlaser quickstart")
    run_quickstart(args)
