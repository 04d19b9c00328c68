"""`vlaser quickstart`: the whole pipeline on the embedded tiny preset, on CPU, on the project's own simulator data.

1. records scripted-expert episodes of the ALOHA task `transfer_cube` (MuJoCo, top camera, 224×224) with
   `simulation.record` into a LeRobot v3 dataset with the per-frame annotation record; a re-run resumes and keeps
   the episodes already there (the episode's seed is its id, and the simulation is deterministic under a seed);
2. turns those episodes into in-domain embodied-reasoning conversations with the in-domain QA engine and the
   VLASER-6M builder (grounding, spatial reasoning, planning and general QA, every answer computed from the
   annotation record and validated against it), one config per family;
3. stage 1: embodied-reasoning SFT of the tiny VLM on those conversations with TRL's SFTTrainer;
4. stage 2: the flow-matching action expert on the recorded episodes (ALOHA's 14-dim state and action, the two
   grippers left un-normalized), starting from the stage-1 checkpoint; the VLM under it stays frozen unless
   `--stage2_train_vlm` (on this budget the action loss alone would erase what stage 1 taught it);
5. loads the policy the way a user would, answers an in-domain grounding question about a recorded frame, predicts
   an action chunk for that frame beside the expert's actions, saves and reloads it, and prints timings.

Recording needs the ALOHA simulator (`make install-sim`: MuJoCo, gym-aloha's assets, EGL on Mesa's llvmpipe).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

SUITE = "aloha"
TASK = "transfer_cube"
CAMERA = "top"
# ALOHA's action: per arm six joint angles and the gripper opening, already normalized by the simulator to 0 (closed)
# .. 1 (open); the two gripper dims stay in those units, the joints are mapped to [-1, 1] with q01/q99.
ALOHA_GRIPPER_DIMS = [6, 13]
_ROW_ID = re.compile(r"^(?P<source>.+):(?P<episode>\d+):(?P<frame>\d+):(?P<category>[a-z_]+)$")


@dataclass
class QuickstartArguments:
    output_dir: str = field(default="outputs/quickstart", metadata={"help": "where data, checkpoints and plots go"})
    episodes: int = field(
        default=8,
        metadata={"help": f"{SUITE} {TASK} expert episodes to record (seeds 0..N-1; kept and reused on a re-run)"},
    )
    record_workers: int = field(default=2, metadata={"help": "simulator worker processes while recording"})
    stage1_steps: int = field(default=150, metadata={"help": "SFT steps of stage 1"})
    stage2_steps: int = field(default=400, metadata={"help": "flow-matching steps of stage 2"})
    stage2_train_vlm: bool = field(
        default=False,
        metadata={
            "help": "stage 2 also trains the VLM under the expert (the paper's recipe); off, stage 2 trains the expert "
            "alone, so the policy still answers reasoning questions as stage 1 taught it (on this tiny budget the "
            "action loss alone erases that)"
        },
    )
    seed: int = field(default=0, metadata={"help": "seed of the QA engine, the weights and the noise"})


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


def _record_episodes(args: QuickstartArguments, episodes_dir: Path, echo: Callable[[str], None]) -> None:
    from simulation.record import RecordConfig, RecordError, record

    config = RecordConfig(
        suite=SUITE,
        tasks=[TASK],
        episodes=args.episodes,
        out=episodes_dir,
        workers=args.record_workers,
        cameras=[CAMERA],
    )
    try:
        report = record(config)
    except (RecordError, ImportError, OSError, RuntimeError) as err:  # no MuJoCo / gym-aloha / EGL, or a bad folder
        raise SystemExit(
            f"vlaser quickstart: cannot record {SUITE} episodes into {episodes_dir}: {err}\n"
            "The quickstart needs the ALOHA simulator: `make install-sim` (or `pip install -e '.[sim]'` and, as "
            "root, `bash scripts/install_sim_deps.sh`)."
        ) from err
    run, entry = report["runs"][-1], report["tasks"][TASK]
    if not report["dataset"]["episodes"]:
        raise SystemExit(f"vlaser quickstart: the {TASK} expert succeeded in no episode; see {episodes_dir}")
    echo(
        f"episodes: {SUITE} {TASK}, recorded {run['recorded']} now, reused {run['skipped_done']} "
        f"(expert failures left out: {len(entry['failed'])}); {report['dataset']['episodes']} episodes, "
        f"{report['dataset']['frames']} frames in {episodes_dir} ({run['seconds']:.0f} s)"
    )


def _build_conversations(episodes_dir: Path, out: Path, seed: int, echo: Callable[[str], None]) -> dict[str, int]:
    """The in-domain QA engine on the recorded episodes -> one VLASER-6M config per family; returns rows by config."""
    from hub_datasets.build import InDomainSource, build_dataset
    from hub_datasets.in_domain import EngineConfig

    source = InDomainSource(episodes_dir, name=SUITE, config=EngineConfig(seed=seed, camera=CAMERA))
    # Rebuilt on every run (seconds), so the conversations always match the episodes folder and the seed.
    report = build_dataset(
        [source], out, overwrite=True, command=f"vlaser quickstart (in-domain QA of {episodes_dir}, seed {seed})"
    ).to_dict()
    rows = report["rows_by_config"]
    validation = report["validation"]
    echo(
        f"in-domain QA: {sum(rows.values())} conversations, {sum(report['qa_items_by_config'].values())} QA pairs "
        f"from {report['engine']['keyframes']} keyframes in {out} "
        f"({', '.join(f'{name} {count}' for name, count in rows.items())}; validator: "
        f"{validation['checked_qa_pairs']} checked, {sum(validation['rejected_qa_pairs_by_kind'].values())} rejected)"
    )
    if not rows:
        raise SystemExit(f"vlaser quickstart: the in-domain engine wrote no conversations from {episodes_dir}")
    return rows


def _grounding_example(
    conversations: Path, config: str, expected_rows: int, episodes, chunk_size: int
) -> tuple[dict, int, str]:
    """A grounding conversation (about the cube where there is one) on a frame with a full chunk of expert actions
    after it: the row, the frame's global index in `episodes` and where it is ("episode E frame F")."""
    from datasets import load_dataset

    from training.conversations import local_cache_dir

    rows = load_dataset(str(conversations), config, split="train", cache_dir=local_cache_dir(str(conversations)))
    if len(rows) != expected_rows:
        raise SystemExit(
            f"vlaser quickstart: {conversations} ({config}) loads {len(rows)} rows, the build wrote {expected_rows}"
        )
    fallback = None
    for row in rows:
        match = _ROW_ID.match(row["id"])
        if match is None:
            continue
        episode, frame = int(match["episode"]), int(match["frame"])
        span = episodes.episode_range(episode)
        if frame + chunk_size > len(span):
            continue
        example = (row, span[frame], f"episode {episode} frame {frame}")
        if "cube" in row["messages"][0]["content"]:
            return example
        fallback = fallback or example
    if fallback is None:
        raise SystemExit(f"vlaser quickstart: no grounding row of {conversations} ({config}) names a usable frame")
    return fallback


def run_quickstart(args: QuickstartArguments, echo: Callable[[str], None] = print) -> dict:
    from trl import SFTConfig

    from hub_datasets.build import config_name
    from hub_datasets.episodes import LeRobotEpisodes
    from modeling_vlaser import VlaserPolicy
    from modeling_vlaser.generation import generate_answer
    from modeling_vlaser.grounding import parse_grounding
    from simulation.record import SEED_KEY
    from training.stage1_sft import Stage1Arguments, run_stage1
    from training.stage2_vla import Stage2Arguments, Stage2TrainingArguments, run_stage2

    output_dir = Path(args.output_dir)
    episodes_dir = output_dir / "data" / SUITE
    conversations = output_dir / "data" / "vlaser6m"
    timings: dict[str, float] = {}

    with _timed(timings, "record ALOHA episodes"):
        _record_episodes(args, episodes_dir, echo)
    with _timed(timings, "in-domain QA (VLASER-6M)"):
        rows = _build_conversations(episodes_dir, conversations, args.seed, echo)
    grounding_config = config_name("grounding", SUITE)

    with _timed(timings, "stage 1 (SFT)"):
        stage1 = run_stage1(
            Stage1Arguments(
                model_name_or_path="tiny",
                # Grounding twice as often as each other family: it is what the policy is asked below.
                datasets=[
                    {"path": str(conversations), "name": name, "weight": 2.0 if name == grounding_config else 1.0}
                    for name in rows
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
            Stage2Arguments(
                model_name_or_path=str(stage1),
                episodes=[str(episodes_dir)],
                raw_action_dims=ALOHA_GRIPPER_DIMS,
                freeze_language_model=not args.stage2_train_vlm,
                freeze_vision_tower=not args.stage2_train_vlm,
            ),
            Stage2TrainingArguments(
                **_common_training_settings(output_dir / "stage2", args.stage2_steps, args.seed),
                per_device_train_batch_size=16,
            ),
        )

    with _timed(timings, "load policy"):
        policy = VlaserPolicy.from_pretrained(stage2)
    model = policy.model
    episodes = LeRobotEpisodes(episodes_dir)
    row, index, where = _grounding_example(
        conversations, grounding_config, rows[grounding_config], episodes, model.config.chunk_size
    )
    frame = episodes.frame(index)
    image = row["images"][0]
    image.save(output_dir / "query.png")
    question, truth = row["messages"][0]["content"], row["messages"][1]["content"]
    with _timed(timings, "grounding answer"):
        answer = generate_answer(policy.model, policy.processor, image, question, max_new_tokens=48)
    echo(
        f"grounding, {where} (seed {int(np.ravel(frame[SEED_KEY])[0])}) of the recorded episodes, a frame "
        f"stage 1 trained on ({output_dir / 'query.png'}):"
    )
    echo(f"  question: {question.removeprefix('<image>').strip()!r}")
    echo(f"  answer:   {answer!r} -> parsed {parse_grounding(answer)}")
    echo(f"  truth:    {truth!r} -> parsed {parse_grounding(truth)}")

    noise = torch.randn(1, model.config.chunk_size, model.config.action_dim, generator=torch.Generator().manual_seed(0))
    observation = (frame[f"observation.images.{CAMERA}"], frame["task"], frame["observation.state"])
    with _timed(timings, "action chunk"):
        chunk = policy.predict_action(*observation, noise=noise)
    expert = episodes.column("action")[index : index + model.config.chunk_size]
    echo(
        f"action chunk for {frame['task']!r} at that frame (raw units: joint angles in rad, grippers 0 closed .. 1 "
        "open; left arm, then right arm), the policy's above the expert's:"
    )
    for step, (predicted, reference) in enumerate(zip(chunk[0], expert, strict=True)):
        echo(f"  t+{step} policy {np.array2string(predicted, precision=2, suppress_small=True, max_line_width=200)}")
        echo(f"      expert {np.array2string(reference, precision=2, suppress_small=True, max_line_width=200)}")
    echo(f"  mean |policy - expert| over the chunk: {float(np.abs(chunk[0] - expert).mean()):.3f}")

    checkpoint = output_dir / "policy"
    with _timed(timings, "save + reload"):
        policy.save_pretrained(
            checkpoint,
            model_description=f"Tiny VLASER trained by `vlaser quickstart` on {SUITE} {TASK} expert episodes.",
        )
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
    return {
        "answer": answer,
        "chunk": chunk,
        "policy": checkpoint,
        "timings": timings,
        "data": {"episodes": episodes_dir, "conversations": conversations, "rows_by_config": rows},
    }


def main(argv: list[str]) -> None:
    from . import parse_arguments

    (args,) = parse_arguments((QuickstartArguments,), argv, prog="vlaser quickstart")
    run_quickstart(args)
