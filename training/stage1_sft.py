"""Stage 1: embodied-reasoning supervised fine-tuning of the VLM with TRL's `SFTTrainer`.

    vlaser train stage1 --config training/configs/tiny_cpu_stage1.yaml [--max_steps 20 ...]

The loss is next-token cross-entropy on assistant tokens only (the chat template marks them with
`{% generation %}`); image tokens are never truncated (`max_length: null`). The model starts from a preset, an
InternVL3 checkpoint (`-hf` or original layout) or a VLASER checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .conversations import ConversationMixtureArguments, build_mixture
from .model_setup import ModelArguments, load_vlm_and_processor, resume_point
from .reporting import LossCurveCallback, finalize_output


@dataclass
class Stage1Arguments(ModelArguments, ConversationMixtureArguments):
    """Model source and conversation datasets of stage 1 (trainer settings are `SFTConfig`'s)."""

    freeze_vision_tower: bool = field(default=False, metadata={"help": "keep InternViT frozen (the paper trains it)"})


def run_stage1(args: Stage1Arguments, sft_config) -> Path:
    """Train, save model + processor + model card to `sft_config.output_dir` (and push when asked); returns it."""
    from transformers import set_seed
    from trl import SFTTrainer

    set_seed(sft_config.seed)  # the new weights (all of them for a preset) are part of the run's reproducibility
    model, processor = load_vlm_and_processor(args)
    if args.freeze_vision_tower:
        model.model.vision_tower.requires_grad_(False)
    train_dataset = build_mixture(args)
    trainer = SFTTrainer(
        model=model,
        args=sft_config,
        train_dataset=train_dataset,
        processing_class=processor,
        callbacks=[LossCurveCallback()],
    )
    trainer.train(resume_from_checkpoint=resume_point(sft_config))
    return finalize_output(
        trainer,
        processor,
        datasets=[source.path + (f":{source.name}" if source.name else "") for source in args.datasets],
        base_model=args.model_name_or_path,
        recipe=f"Stage 1 (embodied-reasoning SFT with TRL SFTTrainer): {_recipe(sft_config)}",
    )


def _recipe(config) -> str:
    world = max(config.world_size, 1)
    batch = config.per_device_train_batch_size * config.gradient_accumulation_steps * world
    steps = config.max_steps if config.max_steps > 0 else f"{config.num_train_epochs} epochs"
    return f"lr {config.learning_rate} ({config.lr_scheduler_type}), {steps} steps, global batch {batch}"
