# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Benchmarks by name.

`--benchmarks` takes names from three places, so other packages can add benchmarks without editing this one:

1. `register_benchmark(name, factory)` calls (the 12 paper benchmarks register themselves on import of
   `eval.reasoning`; a module such as an in-domain benchmark can do the same);
2. the `vlaser.reasoning_benchmarks` entry-point group (`name = "package.module:factory"`), for installed plugins;
3. a `package.module:factory` reference given directly on the command line.

`all` means the benchmarks registered with `in_all=True`: the paper's 12.

A benchmark module elsewhere in the project (e.g. the in-domain reasoning benchmark built from simulation episodes)
can also be listed in `LAZY_BENCHMARKS` (`name -> "package.module:factory"`): it is imported only when selected, so
`eval.reasoning` never imports the simulators.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points

from .base import Benchmark, UnknownBenchmarkError

ENTRY_POINT_GROUP = "vlaser.reasoning_benchmarks"


@dataclass
class _Entry:
    factory: Callable[[], Benchmark]
    in_all: bool


_REGISTRY: dict[str, _Entry] = {}
_ALIASES: dict[str, str] = {}

LAZY_BENCHMARKS: dict[str, str] = {n: f"eval.reasoning.in_domain:{n}" for n in ("in_domain_aloha", "in_domain_widowx")}
"""Benchmarks imported on first use: `{name: "package.module:factory"}` (not part of `all`)."""


def _normalize(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def register_benchmark(
    name: str, factory: Callable[[], Benchmark], *, aliases: tuple[str, ...] = (), in_all: bool = False
) -> None:
    """Make `factory()` available as `--benchmarks name`.

    Args:
        name: The registry name (case and `-`/`_` insensitive).
        factory: A zero-argument callable returning a `Benchmark` (usually the class).
        aliases: Other accepted names (e.g. the paper's column names).
        in_all: Whether `--benchmarks all` includes it (the paper's 12 do; in-domain benchmarks need no external data
            and are selected by name).
    """
    if not callable(factory):
        raise TypeError(f"factory for benchmark {name!r} must be callable, got {type(factory).__name__}")
    key = _normalize(name)
    if not key:
        raise ValueError("benchmark name must not be empty")
    _REGISTRY[key] = _Entry(factory, in_all)
    for alias in aliases:
        _ALIASES[_normalize(alias)] = key


def _from_reference(reference: str) -> Benchmark:
    module_name, _, attribute = reference.partition(":")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise UnknownBenchmarkError(f"benchmark reference {reference!r} does not resolve: {error}") from None
    benchmark = target() if callable(target) and not isinstance(target, Benchmark) else target
    if not isinstance(benchmark, Benchmark):
        raise UnknownBenchmarkError(f"{reference!r} gives a {type(benchmark).__name__}, expected a Benchmark")
    return benchmark


def _entry_point_factories() -> dict[str, Callable[[], Benchmark]]:
    factories = {_normalize(name): (lambda ref=ref: _from_reference(ref)) for name, ref in LAZY_BENCHMARKS.items()}
    factories.update({_normalize(point.name): point.load for point in entry_points(group=ENTRY_POINT_GROUP)})
    return factories


def available_benchmarks() -> list[str]:
    """Every name `get_benchmark` accepts (without aliases and `module:attr` references), sorted."""
    return sorted(set(_REGISTRY) | set(_entry_point_factories()))


def paper_benchmarks() -> list[str]:
    """The names `--benchmarks all` selects, in registration order (the paper's Table 1 order)."""
    return [name for name, entry in _REGISTRY.items() if entry.in_all]


def canonical_name(name: str) -> str:
    """The registry name of `name` or of its alias (`"vsi"` -> `"vsi_bench"`); other names normalized."""
    key = _normalize(name)
    return _ALIASES.get(key, key)


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called `name`; `UnknownBenchmarkError` lists the known names and the closest matches."""
    if ":" in name:
        return _from_reference(name)
    key = _normalize(name)
    key = _ALIASES.get(key, key)
    if key in _REGISTRY:
        return _REGISTRY[key].factory()
    plugins = _entry_point_factories()
    if key in plugins:
        factory = plugins[key]()
        return factory() if callable(factory) and not isinstance(factory, Benchmark) else factory
    known = available_benchmarks()
    close = difflib.get_close_matches(key, known + list(_ALIASES), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UnknownBenchmarkError(
        f"unknown benchmark {name!r}.{hint} Known: {', '.join(known)}; or `all`; or a `package.module:factory` "
        "reference."
    )


def resolve_benchmark_names(spec: str | list[str]) -> list[str]:
    """Expand `--benchmarks` ("all", or comma-separated names, possibly mixed with "all") into a de-duplicated list
    in the order given; unknown names raise `UnknownBenchmarkError` before anything runs."""
    items = spec if isinstance(spec, list) else spec.split(",")
    names: list[str] = []
    for item in (raw.strip() for raw in items):
        if not item:
            continue
        if _normalize(item) == "all":
            names.extend(paper_benchmarks())
            continue
        if ":" in item:
            _from_reference(item)  # fail early
            names.append(item)
            continue
        key = _ALIASES.get(_normalize(item), _normalize(item))
        get_benchmark(key)  # raises for unknown names
        names.append(key)
    if not names:
        raise UnknownBenchmarkError("no benchmark selected: pass `all` or comma-separated names")
    return list(dict.fromkeys(names))
