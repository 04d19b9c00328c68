"""The `vlaser` command: a thin layer over the packages.

Every subcommand takes `--config FILE.yaml`, whose keys are the fields of its argument dataclasses, and command-line
flags that override them (TRL's `TrlParser`, so training configs read like TRL's and transformers' own).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


def parse_arguments(dataclass_types: tuple[type, ...], argv: list[str], prog: str) -> tuple[Any, ...]:
    """Fill the dataclasses from an optional `--config FILE.yaml`, then from command-line flags (which win)."""
    from trl import TrlParser

    parser = TrlParser(dataclass_types, prog=prog)
    try:
        return parser.parse_args_and_config(argv)
    except (FileNotFoundError, ValueError) as error:  # unknown YAML keys, unreadable file: a message, not a trace
        parser.error(str(error))


# name -> (help, module holding `main(argv)`); a command's module is imported only when it runs, so a machine
# without a simulator can still train, and `vlaser --help` stays fast.
COMMANDS: dict[str, tuple[str, str]] = {
    "quickstart": (
        "the pipeline on the tiny model: ALOHA episodes, in-domain QA, stage 1, stage 2, a policy",
        "vlaser_cli.quickstart",
    ),
    "train": ("train stage1 (reasoning SFT) or stage2 (flow-matching action expert)", "vlaser_cli.train"),
    "data": ("in-domain QA, VLASER-6M build/stats/validate", "vlaser_cli.data"),
    "sim": ("record expert episodes, annotation contact sheets", "vlaser_cli.sim"),
    "eval": ("reasoning benchmarks and closed-loop control (eval reasoning|closed-loop)", "vlaser_cli.evaluate"),
    "demo": ("the Gradio demo (grounding, planning, QA, actions); demo export DIR: a Space", "vlaser_cli.demo"),
}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        lines = "\n".join(f"  {name:<12} {text}" for name, (text, _) in COMMANDS.items())
        print(f"usage: vlaser COMMAND [--config FILE.yaml] [--flag value ...]\n\ncommands:\n{lines}", file=sys.stderr)
        raise SystemExit(0 if argv[:1] in (["-h"], ["--help"]) else 2)
    importlib.import_module(COMMANDS[argv[0]][1]).main(argv[1:])
