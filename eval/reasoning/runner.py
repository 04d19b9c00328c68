# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Run reasoning benchmarks on a model: find the data, generate (batched, greedy), cache every answer, parse, score,
report.

Resuming: each answer is appended to `<output_dir>/cache/<benchmark>.jsonl` as soon as its batch is generated, keyed
by the sample id and a hash of (model fingerprint, prompt, generation settings). A rerun with the same settings reads
the cache and generates only what is missing, so an interrupted run loses at most one batch; when everything is
cached the model is not even loaded. The closed-loop benchmarks cache each planner answer by prompt and image, so a
deterministic environment replays from the cache (and a prompt asked again within a run, as EmbodiedBench does after
an undecodable plan, gets the answer greedy decoding would repeat).
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .base import (
    Benchmark,
    BenchmarkDataNotFoundError,
    LoadContext,
    LoadResult,
    Sample,
    UnknownBenchmarkError,
    download_dataset,
    resolve_source,
)
from .embodiedbench import EmbodiedBenchmark, EnvironmentFactory, PlannerRequest
from .registry import canonical_name, get_benchmark, resolve_benchmark_names
from .report import BenchmarkEntry, write_report


@dataclass
class ReasoningEvalConfig:
    """Settings of `vlaser eval reasoning` (every field is a command-line flag and a YAML key)."""

    model: str = field(metadata={"help": "checkpoint folder or Hub repo id (VLASER, InternVL3-hf or original layout)"})
    benchmarks: str = field(default="all", metadata={"help": "`all` (the paper's 12) or comma-separated names"})
    data_dir: str | None = field(
        default="data/reasoning", metadata={"help": "folder holding one sub-folder per benchmark (e.g. ERQA/)"}
    )
    output_dir: str = field(default="outputs/eval_reasoning", metadata={"help": "report, predictions and cache"})
    limit: int | None = field(default=None, metadata={"help": "evaluate only the first N samples (episodes) of each"})
    batch_size: int = field(default=8, metadata={"help": "samples per generate call"})
    max_new_tokens: int | None = field(default=None, metadata={"help": "override every benchmark's answer budget"})
    processor: str | None = field(default=None, metadata={"help": "processor folder/repo when the model has none"})
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda, cuda:1, ..."})
    dtype: str = field(default="auto", metadata={"help": "auto (bfloat16 on GPU, float32 on CPU), bfloat16, float32"})
    image_tiles: int | None = field(default=None, metadata={"help": "max InternVL tiles per image (VLASER's evals: 6)"})
    video_frames: int = field(default=32, metadata={"help": "frames sampled per VSI-Bench video"})
    download: bool = field(default=False, metadata={"help": "fetch missing benchmarks from their Hub dataset ids"})
    sources: list[str] = field(
        default_factory=list, metadata={"help": "NAME=FOLDER_OR_HUB_ID overrides, e.g. erqa=FlagEval/ERQA"}
    )
    environments: list[str] = field(
        default_factory=list, metadata={"help": "NAME=package.module:factory for eb_alfred / eb_habitat"}
    )
    benchmark_options: list[str] = field(
        default_factory=list, metadata={"help": "NAME.OPTION=VALUE, e.g. refspatial_bench.splits=location,placement"}
    )
    resume: bool = field(default=True, metadata={"help": "reuse cached answers (set false to regenerate)"})

    def __post_init__(self) -> None:
        for name in ("batch_size", "video_frames"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("limit", "max_new_tokens", "image_tiles"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be an integer >= 1 or None, got {value!r}")


# ----------------------------------------------------------------------------------------------------------------------
# Generation
# ----------------------------------------------------------------------------------------------------------------------


@dataclass
class GenerationRequest:
    """One answer to generate: the user turn (with `<image>` placeholders), its images and budget."""

    prompt: str
    images: list[Any]
    max_new_tokens: int
    image_tiles: int | None = None


class VlaserGenerator:
    """Batched greedy generation with a VLASER (InternVL3) model and its processor.

    Requests are grouped by (budget, tiles) and run `batch_size` at a time, left-padded; the answer is the decoded
    continuation without special tokens. `calls` counts `generate` calls (the resume tests read it).
    """

    def __init__(self, model: Any, processor: Any, batch_size: int = 8, image_tiles: int | None = None) -> None:
        self.model, self.processor, self.batch_size, self.image_tiles = model, processor, batch_size, image_tiles
        self.calls = 0

    def _prompt(self, text: str) -> str:
        return self.processor.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
        )

    def __call__(self, requests: Sequence[GenerationRequest]) -> list[str]:
        import torch

        answers: list[str | None] = [None] * len(requests)
        groups: dict[tuple, list[int]] = {}
        for index, request in enumerate(requests):
            tiles = request.image_tiles if request.image_tiles is not None else self.image_tiles
            groups.setdefault((request.max_new_tokens, tiles), []).append(index)
        tokenizer = self.processor.tokenizer
        padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"
        try:
            for (max_new_tokens, tiles), indices in groups.items():
                for start in range(0, len(indices), self.batch_size):
                    chunk = indices[start : start + self.batch_size]
                    texts = [self._prompt(requests[i].prompt) for i in chunk]
                    images = [image for i in chunk for image in requests[i].images]
                    kwargs = {"max_patches": tiles} if tiles is not None and images else {}
                    inputs = self.processor(
                        images=images or None, text=texts, return_tensors="pt", padding=True, **kwargs
                    ).to(self.model.device)
                    if "pixel_values" in inputs:
                        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
                    with torch.inference_mode():
                        output = self.model.generate(
                            **inputs,
                            max_new_tokens=max_new_tokens,
                            do_sample=False,
                            num_beams=1,
                            pad_token_id=tokenizer.pad_token_id,
                        )
                    self.calls += 1
                    new_tokens = output[:, inputs["input_ids"].shape[1] :]
                    for index, text in zip(chunk, self.processor.decode_answers(new_tokens), strict=True):
                        answers[index] = text.strip()
        finally:
            tokenizer.padding_side = padding_side
        return [answer or "" for answer in answers]


def _torch_dtype(name: str, device: str):
    import torch

    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]
    except KeyError:
        raise ValueError(f"dtype must be auto, bfloat16, float16 or float32, got {name!r}") from None


def load_processor(source: str) -> Any:
    """The checkpoint's `VlaserProcessor` when it saved one; otherwise one built around its InternVL3 tokenizer with
    InternVL3's image settings (448-pixel tiles, 256 tokens each, up to 12 tiles), which is what original InternVL /
    VLASER releases need: their `preprocessor_config.json` describes another processor class."""
    from transformers.utils import cached_file

    from modeling_vlaser import VlaserProcessor

    try:
        config_file = cached_file(source, "processor_config.json", _raise_exceptions_for_missing_entries=False)
        if config_file is not None:
            with open(config_file, encoding="utf-8") as handle:
                if json.load(handle).get("processor_class") == "VlaserProcessor":
                    return VlaserProcessor.from_pretrained(source)
        return VlaserProcessor.from_tokenizer(source)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"no VLASER processor or InternVL3 tokenizer at {source!r} ({error}); pass --processor"
        ) from None


def load_model_and_processor(config: ReasoningEvalConfig) -> tuple[Any, Any]:
    """The VLM (any layout `load_pretrained_backbone` reads; a stage-2 policy loads as its VLM) and its processor."""
    import torch

    from modeling_vlaser import VlaserForConditionalGeneration
    from modeling_vlaser.conversion_vlaser import load_pretrained_backbone

    device = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    model = load_pretrained_backbone(
        config.model, VlaserForConditionalGeneration, dtype=_torch_dtype(config.dtype, device)
    )
    model.to(device).eval()
    processor = load_processor(config.processor or config.model)
    return model, processor


# ----------------------------------------------------------------------------------------------------------------------
# Cache
# ----------------------------------------------------------------------------------------------------------------------


class AnswerCache:
    """Append-only JSONL of answers: `{"id", "key", "answer"}` per line; later lines win; torn lines are ignored."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = path
        self.entries: dict[str, tuple[str, str]] = {}
        if enabled and path.is_file():
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                        self.entries[str(record["id"])] = (str(record["key"]), str(record["answer"]))
                    except (json.JSONDecodeError, KeyError, TypeError):
                        continue  # an interrupted write leaves at most one torn line
        elif not enabled and path.exists():
            path.unlink()

    def get(self, sample_id: str, key: str) -> str | None:
        entry = self.entries.get(sample_id)
        return entry[1] if entry is not None and entry[0] == key else None

    def put(self, records: Sequence[tuple[str, str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            for sample_id, key, answer in records:
                handle.write(json.dumps({"id": sample_id, "key": key, "answer": answer}, ensure_ascii=False) + "\n")
                self.entries[sample_id] = (key, answer)
            handle.flush()
            os.fsync(handle.fileno())


def model_fingerprint(model: str) -> str:
    """The model reference plus, for a local folder, the names, sizes and times of its weight files (so retraining
    into the same folder invalidates the cache)."""
    path = Path(model)
    parts = [model]
    if path.is_dir():
        for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")) + sorted(path.glob("*.pt")):
            stat = weights.stat()
            parts.append(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


# ----------------------------------------------------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------------------------------------------------


@dataclass
class ReasoningReport:
    """What `run_reasoning_eval` returns: per-benchmark entries, the plain mean over those run, the report files."""

    entries: list[BenchmarkEntry]
    mean: float | None
    files: dict[str, str | None]
    generate_calls: int = 0

    def entry(self, name: str) -> BenchmarkEntry:
        return next(entry for entry in self.entries if entry.name == name)


def _pairs(items: Sequence[str], what: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, separator, value = item.partition("=")
        if not separator or not name.strip() or not value.strip():
            raise ValueError(f"{what} entries must look like NAME=VALUE, got {item!r}")
        pairs[canonical_name(name)] = value.strip()
    return pairs


def _option_value(value: str) -> Any:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        return int(value)
    except ValueError:
        return value


def _benchmark_options(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    options: dict[str, dict[str, Any]] = {}
    for key, value in _pairs(items, "--benchmark_options").items():
        benchmark, dot, option = key.partition(".")
        if not dot or not option:
            raise ValueError(f"--benchmark_options keys must look like NAME.OPTION, got {key!r}")
        options.setdefault(canonical_name(benchmark), {})[option] = _option_value(value)
    return options


def _make_benchmark(name: str, options: dict[str, Any]) -> Benchmark:
    benchmark = get_benchmark(name)
    if options:
        try:
            benchmark = type(benchmark)(**options)
        except TypeError as error:
            raise ValueError(f"--benchmark_options for {name}: {error}") from None
    return benchmark


def _load_factory(reference: str) -> EnvironmentFactory:
    module_name, _, attribute = reference.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"environment factory {reference!r} does not resolve: {error}") from None
    if not callable(factory):
        raise ValueError(f"environment factory {reference!r} is not callable")
    return factory


def find_data(benchmark: Benchmark, config: ReasoningEvalConfig, sources: dict[str, str]) -> Path:
    """Where the benchmark's data is: an explicit `--sources` entry (folder or Hub id), a folder under `--data-dir`,
    or, with `--download`, its default Hub dataset. `BenchmarkDataNotFoundError` lists the places tried."""
    looked: list[str] = []
    explicit = sources.get(benchmark.name)
    if not benchmark.needs_data:
        return Path(explicit) if explicit else Path(config.data_dir or ".") / benchmark.name
    if explicit:
        return resolve_source(benchmark, explicit)
    for candidate in benchmark.candidate_dirs(config.data_dir):
        looked.append(str(candidate))
        if candidate.is_dir() and benchmark.is_data_dir(candidate):
            return candidate
    if config.download and benchmark.hub_id:
        return download_dataset(benchmark.hub_id)
    raise benchmark.missing_data_error(looked)


class _Run:
    def __init__(self, config: ReasoningEvalConfig, model: Any, processor: Any, generator: Callable | None) -> None:
        self.config = config
        self.output_dir = Path(config.output_dir)
        self.fingerprint = model_fingerprint(config.model)
        self._model, self._processor, self._generator = model, processor, generator

    @property
    def generator(self) -> Callable[[Sequence[GenerationRequest]], list[str]]:
        """Loaded on first use, so a fully cached rerun never loads the model."""
        if self._generator is None:
            model, processor = self._model, self._processor
            if model is None or processor is None:
                loaded_model, loaded_processor = load_model_and_processor(self.config)
                model, processor = model or loaded_model, processor or loaded_processor
            self._generator = VlaserGenerator(model, processor, self.config.batch_size, self.config.image_tiles)
        return self._generator

    def budget(self, benchmark: Benchmark, sample: Sample | None = None) -> int:
        if self.config.max_new_tokens is not None:
            return self.config.max_new_tokens
        return (sample.max_new_tokens if sample is not None else None) or benchmark.max_new_tokens

    # -- sample benchmarks ----------------------------------------------------------------------------------------

    def run_samples(self, benchmark: Benchmark, root: Path, entry: BenchmarkEntry) -> None:
        context = LoadContext(cache_dir=self.output_dir / "datasets_cache", video_frames=self.config.video_frames)
        loaded = benchmark.load_local(root, context)
        unique, seen = [], set()
        for sample in loaded.samples:  # answers are cached by id: a repeated id would take another sample's answer
            if sample.id in seen:
                loaded.skip(sample.id, "duplicate sample id")
                continue
            seen.add(sample.id)
            unique.append(sample)
        samples = unique[: self.config.limit] if self.config.limit else unique
        entry.source = loaded.source
        cache = AnswerCache(self.output_dir / "cache" / f"{benchmark.name}.jsonl", enabled=self.config.resume)
        keys = {
            sample.id: _key(
                self.fingerprint,
                sample.prompt,
                self.budget(benchmark, sample),
                sample.image_tiles,
                self.config.image_tiles,
            )
            for sample in samples
        }
        answers: dict[str, str] = {}
        for sample in samples:
            cached = cache.get(sample.id, keys[sample.id])
            if cached is not None:
                answers[sample.id] = cached
        entry.cached = len(answers)
        unreadable: set[str] = set()
        pending = [sample for sample in samples if sample.id not in answers]
        with tqdm(total=len(samples), initial=len(answers), desc=benchmark.display_name, unit="sample") as progress:
            for start in range(0, len(pending), self.config.batch_size):
                batch, requests = [], []
                for sample in pending[start : start + self.config.batch_size]:
                    try:
                        images = sample.load_images()
                    except Exception as error:  # noqa: BLE001 - an unreadable image skips its sample, counted
                        loaded.skip(sample.id, f"unreadable image or video ({type(error).__name__})")
                        unreadable.add(sample.id)
                        progress.update(1)
                        continue
                    batch.append(sample)
                    requests.append(
                        GenerationRequest(sample.prompt, images, self.budget(benchmark, sample), sample.image_tiles)
                    )
                if not batch:
                    continue
                outputs = self.generator(requests)
                if len(outputs) != len(requests):
                    raise ValueError(f"the generator returned {len(outputs)} answers for {len(requests)} requests")
                cache.put([(sample.id, keys[sample.id], text) for sample, text in zip(batch, outputs, strict=True)])
                answers.update({sample.id: text for sample, text in zip(batch, outputs, strict=True)})
                entry.generated += len(batch)
                progress.update(len(batch))
        scored = [sample for sample in samples if sample.id in answers and sample.id not in unreadable]
        predictions = [benchmark.parse(answers[sample.id], sample) for sample in scored]
        entry.samples, entry.skipped = len(scored), len(loaded.skipped)
        entry.skipped_reasons = loaded.skipped_reasons()
        if not scored:
            entry.status, entry.reason = "empty", "no usable sample"
            return
        result = benchmark.score(scored, predictions)
        entry.status, entry.score, entry.categories = "ok", result.score, result.categories
        entry.metric = {key: value for key, value in result.metric.items() if key != "per_sample"}
        per_sample = result.metric.get("per_sample") or [None] * len(scored)
        self._write_predictions(benchmark.name, scored, answers, predictions, per_sample)

    def _write_predictions(self, name: str, samples, answers, predictions, per_sample) -> None:
        path = self.output_dir / "predictions" / f"{name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            for sample, prediction, score in zip(samples, predictions, per_sample, strict=True):
                record = {
                    "id": sample.id,
                    "category": sample.category,
                    "answer": answers[sample.id],
                    "prediction": prediction,
                    "score": score,
                }
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")

    # -- closed loop ----------------------------------------------------------------------------------------------

    def run_closed_loop(self, benchmark: EmbodiedBenchmark, root: Path, factory, entry: BenchmarkEntry) -> None:
        loaded = LoadResult([])
        subsets = benchmark.load_subsets(root, loaded)
        entry.skipped, entry.skipped_reasons = len(loaded.skipped), loaded.skipped_reasons()
        entry.source = f"{root} ({', '.join(f'{name}: {len(items)}' for name, items in subsets.items())})"
        cache = AnswerCache(self.output_dir / "cache" / f"{benchmark.name}.jsonl", enabled=self.config.resume)
        budget = self.budget(benchmark)

        def generate(requests: list[PlannerRequest]) -> list[str]:
            keys = [
                _key(self.fingerprint, request.prompt, budget, [_image_digest(i) for i in request.images])
                for request in requests
            ]
            answers = [cache.get(key, key) for key in keys]
            missing = [index for index, answer in enumerate(answers) if answer is None]
            if missing:
                outputs = self.generator(
                    [GenerationRequest(requests[i].prompt, requests[i].images, budget) for i in missing]
                )
                cache.put([(keys[i], keys[i], text) for i, text in zip(missing, outputs, strict=True)])
                for i, text in zip(missing, outputs, strict=True):
                    answers[i] = text
                entry.generated += len(missing)
            entry.cached += len(requests) - len(missing)
            return [answer or "" for answer in answers]

        total = sum(len(items) for items in subsets.values())
        with tqdm(total=total, desc=benchmark.display_name, unit="episode") as progress:
            episodes, result = benchmark.evaluate(
                subsets, factory, generate, limit=self.config.limit, on_episode=lambda _: progress.update(1)
            )
        path = self.output_dir / "predictions" / f"{benchmark.name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in episodes), encoding="utf-8")
        entry.samples = len(episodes)
        if not episodes:
            entry.status, entry.reason = "empty", "no episode"
            return
        entry.status, entry.score, entry.categories = "ok", result.score, result.categories
        entry.metric = result.metric


def _image_digest(image: Any) -> str:
    from .base import resolve_image

    buffer = io.BytesIO()
    resolve_image(image).save(buffer, format="PNG")
    return hashlib.md5(buffer.getvalue()).hexdigest()


def run_reasoning_eval(
    config: ReasoningEvalConfig,
    *,
    model: Any = None,
    processor: Any = None,
    generator: Callable[[Sequence[GenerationRequest]], list[str]] | None = None,
    environments: dict[str, EnvironmentFactory] | None = None,
) -> ReasoningReport:
    """Evaluate `config.model` on `config.benchmarks` and write the report under `config.output_dir`.

    Args:
        config: The run settings (see `ReasoningEvalConfig`).
        model, processor: An already loaded VLM and processor (otherwise loaded from `config.model` when needed).
        generator: Replaces generation entirely (`generator(requests) -> answers`), e.g. to evaluate another system.
        environments: `{benchmark name: factory}` for the closed-loop benchmarks (added to `--environments`).

    Raises:
        UnknownBenchmarkError: a name in `config.benchmarks` is unknown (before anything runs).
        BenchmarkDataNotFoundError: an explicitly named benchmark has no data (under `all`, such benchmarks are
            reported as "no data" instead).
    """
    names = resolve_benchmark_names(config.benchmarks)
    explicit = "all" not in [item.strip().lower() for item in config.benchmarks.split(",")]
    sources = _pairs(config.sources, "--sources")
    options = _benchmark_options(config.benchmark_options)
    factories: dict[str, EnvironmentFactory] = {
        name: _load_factory(ref) for name, ref in _pairs(config.environments, "--environments").items()
    }
    factories.update({canonical_name(name): factory for name, factory in (environments or {}).items()})
    benchmarks = [_make_benchmark(name, options.get(name, {})) for name in names]
    unknown_options = set(options) - {benchmark.name for benchmark in benchmarks}
    if unknown_options:
        raise UnknownBenchmarkError(
            f"--benchmark_options name benchmarks not selected: {', '.join(sorted(unknown_options))}"
        )

    entries: list[BenchmarkEntry] = []
    roots: dict[str, Path] = {}
    for benchmark in benchmarks:  # resolve every data folder first: a missing one fails before hours of generation
        entry = BenchmarkEntry(benchmark.name, benchmark.display_name, benchmark.paper_column, status="pending")
        entries.append(entry)
        if getattr(benchmark, "closed_loop", False) and benchmark.name not in factories:
            entry.status, entry.reason = "not run", benchmark.not_run_reason()
            continue
        try:
            roots[benchmark.name] = find_data(benchmark, config, sources)
        except BenchmarkDataNotFoundError as error:
            if explicit:
                raise
            entry.status, entry.reason = "no data", str(error)

    run = _Run(config, model, processor, generator)
    for benchmark, entry in zip(benchmarks, entries, strict=True):
        if entry.status != "pending":
            continue
        started = time.perf_counter()
        if benchmark.closed_loop:
            run.run_closed_loop(benchmark, roots[benchmark.name], factories[benchmark.name], entry)
        else:
            run.run_samples(benchmark, roots[benchmark.name], entry)
        entry.seconds = time.perf_counter() - started

    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = write_report(Path(config.output_dir), config.model, entries, asdict(config), created)
    calls = getattr(run._generator, "calls", 0) if run._generator is not None else 0
    mean = report["mean"]
    return ReasoningReport(entries, mean if mean is None or math.isfinite(mean) else None, report["files"], calls)
