"""`vlaser eval closed-loop`: kept here, beside the evaluator, so `vlaser_cli/evaluate.py` only registers it."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    from simulation.registry import UnknownTaskError
    from vlaser_cli import parse_arguments

    from .runner import ClosedLoopConfig, run_closed_loop_eval

    (config,) = parse_arguments((ClosedLoopConfig,), argv, prog="vlaser eval closed-loop")
    try:
        report = run_closed_loop_eval(config)
    except (UnknownTaskError, ImportError, ValueError, OSError) as error:
        # Bad names, missing suites or checkpoints and unwritable folders are user errors: a message, not a trace.
        print(f"vlaser eval closed-loop: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    for name, task in report["tasks"].items():
        print(
            f"{name:<24} {task['successes']:>4}/{task['episodes']:<4} {100 * task['success_rate']:5.1f} % "
            f"95 % CI [{100 * task['ci95_low']:.1f}, {100 * task['ci95_high']:.1f}]"
        )
    print(f"{report['episodes_per_minute']:.1f} episodes/min")
    print(f"report: {report['files']['markdown']} · {report['files']['json']} · {report['files']['figure']}")
