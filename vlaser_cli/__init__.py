"""The `vlaser` command: a thin layer over the packages. Each subcommand takes a YAML config (`--config`) whose keys
are the fields of its arguments dataclass, and command-line flags that override them."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TypeVar

import yaml
from transformers import HfArgumentParser

T = TypeVar("T")


def parse_arguments(dataclass_type: type[T], argv: list[str], prog: str) -> T:
    """Fill `dataclass_type` from an optional `--config FILE.yaml`, then from command-line flags (which win)."""
    parser = HfArgumentParser(dataclass_type, prog=prog)
    parser.add_argument("--config", type=Path, help="YAML file with default values for the flags below")
    known, _ = parser.parse_known_args(argv)
    if known.config is not None:
        if not known.config.is_file():
            raise SystemExit(f"{prog}: --config {known.config} does not exist")
        values = yaml.safe_load(known.config.read_text()) or {}
        if not isinstance(values, dict):
            raise SystemExit(f"{prog}: {known.config} must hold a mapping of field: value")
        fields = {field.name for field in dataclasses.fields(dataclass_type)}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise SystemExit(f"{prog}: {known.config} has unknown keys {unknown}; valid keys: {sorted(fields)}")
        parser.set_defaults(**values)
    namespace = parser.parse_args(argv)
    del namespace.config
    return dataclass_type(**vars(namespace))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    from .quickstart import QuickstartArguments, run_quickstart

    commands = {"quickstart": (QuickstartArguments, run_quickstart, "build the tiny model, ground, act, save, reload")}
    top = argparse.ArgumentParser(prog="vlaser", description=__doc__)
    top.add_argument(
        "command",
        choices=sorted(commands),
        help="; ".join(f"{name}: {help_}" for name, (_, _, help_) in sorted(commands.items())),
    )
    known, rest = top.parse_known_args(argv[:1])
    arguments_type, run, _ = commands[known.command]
    run(parse_arguments(arguments_type, rest + argv[1:], prog=f"vlaser {known.command}"))
