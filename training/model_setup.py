"""Where a training run's model and processor come from: a preset, an InternVL3 checkpoint or a VLASER checkpoint."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers.utils import logging

from modeling_vlaser import (
    VlaserForActionPrediction,
    VlaserForConditionalGeneration,
    VlaserProcessor,
    get_preset_config,
    load_tiny_processor,
)
from modeling_vlaser.conversion_vlaser import load_pretrained_backbone
from modeling_vlaser.presets import PRESETS

logger = logging.get_logger(__name__)


@dataclass
class ModelArguments:
    """The starting point of a training run."""

    model_name_or_path: str = field(
        default="tiny",
        metadata={
            "help": "a preset (tiny, vlaser-2b, vlaser-8b: random weights), or a folder / Hub repo id holding an "
            "InternVL3 (-hf or original layout) or VLASER checkpoint"
        },
    )
    tokenizer_name_or_path: str | None = field(
        default=None,
        metadata={"help": "InternVL3 tokenizer for the 2b/8b presets or checkpoints saved without a processor"},
    )
    attn_implementation: str = field(default="sdpa", metadata={"help": "sdpa, eager or flash_attention_2"})


def load_processor(args: ModelArguments) -> VlaserProcessor:
    """The processor saved with the checkpoint, else one built around the given (or the checkpoint's) tokenizer."""
    source = args.model_name_or_path
    if source == "tiny":
        return load_tiny_processor()
    if source not in PRESETS:
        has_processor = (Path(source) / "processor_config.json").is_file() if Path(source).is_dir() else True
        if has_processor:
            try:
                return VlaserProcessor.from_pretrained(source)
            except (OSError, ValueError, KeyError):
                pass  # a repo without a VLASER processor: build one below
    tokenizer = args.tokenizer_name_or_path or (None if source in PRESETS else source)
    if tokenizer is None:
        raise ValueError(
            f"preset {source!r} needs the real InternVL3 tokenizer: set tokenizer_name_or_path "
            "(a folder or Hub repo such as OpenGVLab/InternVL3-2B)"
        )
    return VlaserProcessor.from_tokenizer(tokenizer)


def _load_model(model_class: type, args: ModelArguments, **config_overrides: Any):
    if args.model_name_or_path in PRESETS:
        config = get_preset_config(args.model_name_or_path, **config_overrides)
        config.text_config._attn_implementation = args.attn_implementation
        return model_class(config)
    return load_pretrained_backbone(
        args.model_name_or_path, model_class, config_overrides, attn_implementation=args.attn_implementation
    )


def load_vlm_and_processor(args: ModelArguments) -> tuple[VlaserForConditionalGeneration, VlaserProcessor]:
    return _load_model(VlaserForConditionalGeneration, args), load_processor(args)


def load_policy_and_processor(
    args: ModelArguments, **config_overrides: Any
) -> tuple[VlaserForActionPrediction, VlaserProcessor]:
    """A policy initialized from `args` (the expert is new unless the checkpoint has one); `config_overrides` set
    the robot's state/action dims and chunking, which a stage-1 checkpoint does not know."""
    return _load_model(VlaserForActionPrediction, args, **config_overrides), load_processor(args)


def last_complete_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """The newest `checkpoint-N` folder whose save finished.

    The Trainer writes `trainer_state.json` last, after weights, optimizer, scheduler and RNG states, and without a
    temporary name; a run killed while saving leaves a newer folder without a readable state. Skipping such folders
    is what makes a kill -9 during a save cost one checkpoint interval and nothing more.
    """
    import json
    import re

    folders = []
    for path in Path(output_dir).glob("checkpoint-*"):
        match = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if match and path.is_dir():
            folders.append((int(match.group(1)), path))
    for _, path in sorted(folders, reverse=True):
        try:
            json.loads((path / "trainer_state.json").read_text())
        except (OSError, ValueError):
            logger.warning(f"skipping {path}: its save did not finish (no readable trainer_state.json)")
            continue
        return str(path)
    return None


def resume_point(training_args) -> str | bool | None:
    """`resume_from_checkpoint: true` resumes from the newest complete checkpoint in output_dir if there is one and
    starts fresh otherwise, so one command both starts a run and continues it after a kill."""
    resume = training_args.resume_from_checkpoint
    if resume in (True, "true", "True", "latest"):
        return last_complete_checkpoint(training_args.output_dir) if os.path.isdir(training_args.output_dir) else None
    return resume
