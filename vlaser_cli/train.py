"""`vlaser train stage1|stage2 --config FILE.yaml [--flag value ...]`."""

from __future__ import annotations

from . import parse_arguments

USAGE = "usage: vlaser train {stage1,stage2} --config FILE.yaml [--flag value ...]"


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("stage1", "stage2"):
        raise SystemExit(USAGE)
    stage, rest = argv[0], argv[1:]
    if stage == "stage1":
        from trl import SFTConfig

        from training.stage1_sft import Stage1Arguments, run_stage1

        args, sft_config = parse_arguments((Stage1Arguments, SFTConfig), rest, prog="vlaser train stage1")
        print(f"stage 1 finished: {run_stage1(args, sft_config)}")
    else:
        from training.stage2_vla import Stage2Arguments, Stage2TrainingArguments, run_stage2

        args, training_args = parse_arguments(
            (Stage2Arguments, Stage2TrainingArguments), rest, prog="vlaser train stage2"
        )
        print(f"stage 2 finished: {run_stage2(args, training_args)}")
