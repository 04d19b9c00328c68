"""`vlaser eval reasoning --model PATH|repo --benchmarks all|names --data-dir DIR [--limit N] ...`.

`eval` has subcommands so that other evaluations (closed-loop control in simulation) can sit beside `reasoning`:
add an entry to `SUBCOMMANDS`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from . import parse_arguments


def _reasoning(argv: list[str]) -> None:
    from eval.reasoning import BenchmarkDataNotFoundError, UnknownBenchmarkError
    from eval.reasoning.runner import ReasoningEvalConfig, run_reasoning_eval

    (config,) = parse_arguments((ReasoningEvalConfig,), argv, prog="vlaser eval reasoning")
    try:
        report = run_reasoning_eval(config)
    except (UnknownBenchmarkError, BenchmarkDataNotFoundError, ValueError, OSError) as error:
        # Bad names, missing data or checkpoints and malformed flags are user errors: a message, not a trace.
        print(f"vlaser eval reasoning: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    lines = [
        f"{entry.display_name:<28} {entry.status:<8} {'' if entry.score is None else f'{entry.score:6.1f}'}"
        for entry in report.entries
    ]
    mean = "–" if report.mean is None else f"{report.mean:.1f}"
    print("\n".join(lines) + f"\nmean over the benchmarks run: {mean}")
    print(f"report: {report.files['markdown']} · {report.files['json']} · {report.files['figure'] or '(no figure)'}")


SUBCOMMANDS: dict[str, tuple[str, Callable[[list[str]], None]]] = {
    "reasoning": ("embodied-reasoning benchmarks (the paper's Table 1) with a Markdown/JSON/PNG report", _reasoning),
    "closed-loop": (
        "policy rollouts in simulation: per-task success with Wilson intervals, videos, a report",
        lambda argv: __import__("eval.closed_loop.cli", fromlist=["main"]).main(argv),
    ),
}

USAGE = "usage: vlaser eval {" + ",".join(SUBCOMMANDS) + "} [--config FILE.yaml] [--flag value ...]"


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in SUBCOMMANDS:
        lines = "\n".join(f"  {name:<12} {text}" for name, (text, _) in SUBCOMMANDS.items())
        print(f"{USAGE}\n\nsubcommands:\n{lines}", file=sys.stderr)
        raise SystemExit(0 if argv[:1] in (["-h"], ["--help"]) else 2)
    SUBCOMMANDS[argv[0]][1](argv[1:])
