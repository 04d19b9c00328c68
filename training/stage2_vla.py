"""Stage 2: train the flow-matching action expert (and, by default, the VLM under it) on robot episodes.

    vlaser train stage2 --config training/configs/tiny_cpu_stage2.yaml [--max_steps 50 ...]

A `transformers.Trainer` subclass computes the flow-matching loss of [`VlaserForActionPrediction`]. The run starts
from a stage-1 checkpoint (the reasoning VLM; only the expert is new) or from a preset/InternVL3 checkpoint.
Normalization statistics are computed once from the episodes, cached in the output folder and saved with the
processor, so the trained policy un-normalizes its own outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import Trainer, TrainingArguments, set_seed

from hub_datasets.episodes import LeRobotEpisodes

from .action_data import ACTION_KEY, ActionChunkCollator, ActionChunkDataset, AugmentationConfig, compute_normalizer
from .conversations import ConversationMixtureArguments, ConversationSource, as_sources, build_mixture
from .model_setup import ModelArguments, load_policy_and_processor, resume_point
from .reporting import LossCurveCallback, finalize_output

STATS_CACHE_NAME = "dataset_statistics.json"


@dataclass
class Stage2Arguments(ModelArguments):
    """Data, robot and freezing options of stage 2 (trainer settings are `Stage2TrainingArguments`)."""

    episodes: list[str] = field(
        default_factory=list, metadata={"help": "LeRobot v3 datasets: local folders or Hub dataset repo ids"}
    )
    camera_keys: list[str] | None = field(default=None, metadata={"help": "cameras to use (default: all)"})
    raw_action_dims: list[int] = field(
        default_factory=list, metadata={"help": "action dims left un-normalized, e.g. the gripper: [6]"}
    )
    chunk_size: int = field(default=4, metadata={"help": "P, actions predicted per chunk"})
    n_action_steps: int = field(default=4, metadata={"help": "H, actions executed per chunk"})
    num_inference_steps: int = field(default=10, metadata={"help": "N, flow-matching Euler steps"})
    freeze_vision_tower: bool = field(default=False, metadata={"help": "keep InternViT and its projector frozen"})
    freeze_language_model: bool = field(default=False, metadata={"help": "train only the expert (and vision)"})
    augment_images: bool = field(default=False, metadata={"help": "random resized crop + colour jitter"})
    cotrain_datasets: list[ConversationSource] = field(
        default_factory=list, metadata={"help": "stage-1 conversation datasets to keep training on (co-training)"}
    )
    cotrain_ratio: float = field(default=0.0, metadata={"help": "fraction of samples that are conversations"})

    def __post_init__(self) -> None:
        self.cotrain_datasets = as_sources(self.cotrain_datasets)
        if not 0.0 <= self.cotrain_ratio <= 0.5:
            raise ValueError(f"cotrain_ratio must be in [0, 0.5], got {self.cotrain_ratio}")
        if self.cotrain_ratio > 0 and not self.cotrain_datasets:
            raise ValueError("cotrain_ratio > 0 needs cotrain_datasets")


@dataclass
class Stage2TrainingArguments(TrainingArguments):
    """`TrainingArguments` with the stage-2 defaults: lr 5e-5 (paper), raw columns kept for the collator."""

    learning_rate: float = field(default=5e-5, metadata={"help": "paper: 5e-5 for both VLM and expert"})
    remove_unused_columns: bool = field(default=False, metadata={"help": "the collator reads the raw samples"})


class VlaserActionTrainer(Trainer):
    """Trainer whose loss is the policy's flow-matching loss (plus the LM loss of co-training batches).

    The loss is a mean over the batch's real action steps and dimensions, not a sum over tokens, so the Trainer must
    divide it by the gradient-accumulation steps like any per-batch mean: `loss_is_scaled_for_ga = False`.
    """

    loss_is_scaled_for_ga = False

    def __init__(self, *args, action_names: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.action_names = action_names
        self._per_dim_sums: torch.Tensor | None = None
        self._per_dim_count = 0

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        conversation = inputs.pop("conversation", None)
        loss, outputs = 0.0, None
        if "state" in inputs:  # a co-training batch may hold conversations only
            outputs = model(**inputs)
            loss = outputs.loss
            per_dim = outputs.per_dim_loss.detach().float()
            self._per_dim_sums = per_dim if self._per_dim_sums is None else self._per_dim_sums + per_dim
            self._per_dim_count += 1
        if conversation is not None:
            loss = loss + model(**conversation).loss
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if self._per_dim_count and "loss" in logs:
            means = (self._per_dim_sums / self._per_dim_count).tolist()
            names = self.action_names or [str(i) for i in range(len(means))]
            logs.update({f"action_loss/{name}": value for name, value in zip(names, means, strict=True)})
            self._per_dim_sums, self._per_dim_count = None, 0
        super().log(logs, *args, **kwargs)


class _CotrainingDataset(torch.utils.data.Dataset):
    """Action samples and conversations in the proportion `ratio` of conversations (the Trainer shuffles them)."""

    def __init__(self, actions: ActionChunkDataset, conversations, ratio: float):
        self.actions, self.conversations, self.ratio = actions, conversations, ratio
        self.length = len(actions) + int(len(actions) * ratio / (1 - ratio))

    def __len__(self) -> int:
        return self.length

    def _conversations_up_to(self, index: int) -> int:
        return int((index + 1) * self.ratio)  # how many of items 0..index are conversations

    def __getitem__(self, index: int):
        seen = self._conversations_up_to(index)
        if seen > self._conversations_up_to(index - 1):
            return {"conversation": self.conversations[(seen - 1) % len(self.conversations)]}
        return self.actions[(index - seen) % len(self.actions)]


class _CotrainingCollator:
    def __init__(self, processor, action_collator: ActionChunkCollator):
        from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

        self.action_collator = action_collator
        self.conversation_collator = DataCollatorForVisionLanguageModeling(
            processor=processor, assistant_only_loss=True
        )

    def __call__(self, samples: list[dict]) -> dict:
        conversations = [sample["conversation"] for sample in samples if "conversation" in sample]
        actions = [sample for sample in samples if "conversation" not in sample]
        batch = self.action_collator(actions) if actions else {}
        if conversations:
            batch["conversation"] = dict(self.conversation_collator(conversations))
        return batch


def freeze_for_stage2(model, args: Stage2Arguments) -> list[str]:
    """Freeze what the options ask for, and what the action loss never reaches unless co-training uses it."""
    frozen = []
    if args.cotrain_ratio == 0:
        frozen += model.parameters_without_action_gradient()
    if args.freeze_vision_tower:
        frozen += [
            n for n, _ in model.named_parameters() if n.startswith(("model.vision_tower.", "model.multi_modal_"))
        ]
    if args.freeze_language_model:
        frozen += [n for n, _ in model.named_parameters() if n.startswith(("model.language_model.", "lm_head."))]
    parameters = dict(model.named_parameters())
    for name in frozen:
        parameters[name].requires_grad_(False)
    return sorted(set(frozen))


def run_stage2(args: Stage2Arguments, training_args: Stage2TrainingArguments) -> Path:
    """Train and save the policy (model, processor with statistics, model card) to `output_dir`; returns it."""
    if not args.episodes:
        raise ValueError("no episode datasets given: set `episodes:` in the config")
    sources = [LeRobotEpisodes(path) for path in args.episodes]
    augmentation = AugmentationConfig(seed=training_args.seed) if args.augment_images else None
    dataset = ActionChunkDataset(sources, args.chunk_size, args.camera_keys, augmentation)
    normalizer = compute_normalizer(
        sources, args.raw_action_dims, cache_file=Path(training_args.output_dir) / STATS_CACHE_NAME
    )
    set_seed(training_args.seed)  # the expert's (and a preset's) initial weights are part of the run
    try:
        model, processor = load_policy_and_processor(
            args,
            state_dim=dataset.state_dim,
            action_dim=dataset.action_dim,
            chunk_size=args.chunk_size,
            n_action_steps=args.n_action_steps,
            num_inference_steps=args.num_inference_steps,
        )
    except ValueError as error:  # e.g. more action dims than the model's max_action_dim
        raise ValueError(
            f"the episodes have state/action dims {(dataset.state_dim, dataset.action_dim)}, which "
            f"{args.model_name_or_path} cannot take: {error}"
        ) from error
    processor.normalizer = normalizer
    freeze_for_stage2(model, args)
    collator = ActionChunkCollator(processor)
    train_dataset = dataset
    if args.cotrain_ratio > 0:
        conversations = build_mixture(ConversationMixtureArguments(datasets=args.cotrain_datasets))
        train_dataset = _CotrainingDataset(dataset, conversations, args.cotrain_ratio)
        collator = _CotrainingCollator(processor, collator)
        training_args.ddp_find_unused_parameters = True  # a batch may hold no conversation, or no action sample
    action_names = sources[0].features[ACTION_KEY].get("names")
    trainer = VlaserActionTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        data_collator=collator,
        processing_class=processor,
        callbacks=[LossCurveCallback()],
        action_names=list(action_names) if isinstance(action_names, list) else None,
    )
    trainer.train(resume_from_checkpoint=resume_point(training_args))
    return finalize_output(
        trainer,
        processor,
        datasets=list(args.episodes) + [s.path for s in args.cotrain_datasets],
        base_model=args.model_name_or_path,
        recipe=(
            f"Stage 2 (flow-matching action expert, chunk {args.chunk_size}, {args.num_inference_steps} steps): "
            f"lr {training_args.learning_rate}, {training_args.max_steps} steps"
        ),
    )
