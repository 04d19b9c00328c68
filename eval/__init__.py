"""Evaluation: performance benchmarks (`eval/perf`) now; reasoning benchmarks and closed-loop control to come."""
