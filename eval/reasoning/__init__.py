# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Embodied-reasoning evaluation: the 12 benchmarks of VLASER's Table 1, scored the way each benchmark defines it.

```python
from eval.reasoning import run_reasoning_eval, ReasoningEvalConfig

report = run_reasoning_eval(ReasoningEvalConfig(model="OpenGVLab/Vlaser-2B", benchmarks="all", data_dir="data/reasoning"))
```

or `vlaser eval reasoning --model PATH --benchmarks all --data-dir DIR`. One module per benchmark (loader for the
published layout, prompt, tolerant parser), one `evaluate` metric module per metric under `metrics/`, a runner with a
resumable per-sample cache, and a Markdown/JSON/PNG report compared with the paper's Table 1. Other packages add
benchmarks by name with `register_benchmark` (see `registry`).
"""

from .base import (
    Benchmark,
    BenchmarkDataNotFoundError,
    BenchmarkScore,
    LazyImage,
    LoadContext,
    LoadResult,
    Sample,
    SkippedRow,
    UnknownBenchmarkError,
    load_metric,
)
from .egoplan_bench2 import EgoPlanBench2
from .embodiedbench import (
    EBAlfred,
    EBHabitat,
    EmbodiedBenchmark,
    EmbodiedPlanner,
    PlanningEnvironment,
    PlanningObservation,
    PlanningStep,
    run_episode,
)
from .erqa import ERQA
from .mmsi_bench import MMSIBench
from .paco_lavis import PacoLavis
from .pixmo_points import PixmoPoints
from .point_bench import PointBench
from .refspatial_bench import RefSpatialBench
from .registry import (
    available_benchmarks,
    get_benchmark,
    paper_benchmarks,
    register_benchmark,
    resolve_benchmark_names,
)
from .vlabench import VLABench
from .vsi_bench import VSIBench
from .where2place import Where2Place

# Table 1 order; the aliases are the paper's column names.
register_benchmark("erqa", ERQA, in_all=True)
register_benchmark("egoplan_bench2", EgoPlanBench2, aliases=("ego2", "egoplan2", "ego-plan2"), in_all=True)
register_benchmark("where2place", Where2Place, aliases=("w2p",), in_all=True)
register_benchmark("point_bench", PointBench, aliases=("pointarena", "parena", "point-bench"), in_all=True)
register_benchmark("paco_lavis", PacoLavis, aliases=("paco", "paco-lavis"), in_all=True)
register_benchmark("pixmo_points", PixmoPoints, aliases=("pixmo", "pixmo-points"), in_all=True)
register_benchmark("vsi_bench", VSIBench, aliases=("vsi", "vsibench"), in_all=True)
register_benchmark("refspatial_bench", RefSpatialBench, aliases=("refspatial", "refsp"), in_all=True)
register_benchmark("mmsi_bench", MMSIBench, aliases=("mmsi",), in_all=True)
register_benchmark("vlabench", VLABench, aliases=("vlab",), in_all=True)
register_benchmark("eb_alfred", EBAlfred, aliases=("eb-alfred", "eb-a"), in_all=True)
register_benchmark("eb_habitat", EBHabitat, aliases=("eb-habitat", "eb-h"), in_all=True)

from .runner import ReasoningEvalConfig, run_reasoning_eval  # noqa: E402  (the runner imports the registry above)

__all__ = [
    "ERQA",
    "Benchmark",
    "BenchmarkDataNotFoundError",
    "BenchmarkScore",
    "EBAlfred",
    "EBHabitat",
    "EgoPlanBench2",
    "EmbodiedBenchmark",
    "EmbodiedPlanner",
    "LazyImage",
    "LoadContext",
    "LoadResult",
    "MMSIBench",
    "PacoLavis",
    "PixmoPoints",
    "PlanningEnvironment",
    "PlanningObservation",
    "PlanningStep",
    "PointBench",
    "ReasoningEvalConfig",
    "RefSpatialBench",
    "Sample",
    "SkippedRow",
    "UnknownBenchmarkError",
    "VLABench",
    "VSIBench",
    "Where2Place",
    "available_benchmarks",
    "get_benchmark",
    "load_metric",
    "paper_benchmarks",
    "register_benchmark",
    "resolve_benchmark_names",
    "run_episode",
    "run_reasoning_eval",
]
