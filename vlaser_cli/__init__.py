"""The `vlaser` command: a thin layer over the packages.

Every subcommand takes `--config FILE.yaml`, whose keys are the fields of its argument dataclasses, and command-line
flags that override them (TRL's `TrlParser`, so training configs read like TRL's and transformers' own).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def parse_arguments(dataclass_types: tuple[type, ...], argv: list[str], prog: str) -> tuple[Any, ...]:
    """Fill the dataclasses from an optional `--config FILE.yaml`, then from command-line flags (which win)."""
    from trl import TrlParser

    parser = TrlParser(dataclass_types, prog=prog)
    try:
        return parser.parse_args_and_config(argv)
    except (FileNotFoundError, ValueError) as error:  # unknown YAML keys, unreadable file: a message, not a trace
        parser.error(str(error))


def _commands() -> dict[str, tuple[str, Callable[[list[str]], None]]]:
    from .quickstart import main as quickstart
    from .train import main as train

    return {
        "quickstart": ("build the tiny model, ground, act, save and reload it", quickstart),
        "train": ("train stage1 (reasoning SFT) or stage2 (flow-matching action expert)", train),
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    commands = _commands()
    if not argv or argv[0] not in commands:
        lines = "\n".join(f"  {name:<12} {text}" for name, (text, _) in commands.items())
        print(f"usage: vlaser COMMAND [--config FILE.yaml] [--flag value ...]\n\ncommands:\n{lines}", file=sys.stderr)
        raise SystemExit(0 if argv[:1] in (["-h"], ["--help"]) else 2)
    commands[argv[0]][1](argv[1:])
