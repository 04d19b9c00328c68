"""The harness end to end: the tiny model on every fixture, the report, the resumable cache, bad input, the Hub path
and the `vlaser eval reasoning` command."""

from __future__ import annotations

import json
import shutil

import pytest

from eval.reasoning import (
    Benchmark,
    BenchmarkDataNotFoundError,
    LoadResult,
    Sample,
    UnknownBenchmarkError,
    get_benchmark,
    paper_benchmarks,
    register_benchmark,
    registry,
    resolve_benchmark_names,
)
from eval.reasoning import runner as runner_module
from eval.reasoning.parsing import extract_choice
from eval.reasoning.report import PAPER_TABLE1
from eval.reasoning.runner import ReasoningEvalConfig, run_reasoning_eval
from modeling_vlaser import VlaserForConditionalGeneration
from tests.eval import fixtures
from tests.eval.text_env import factory

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

EXPECTED = {  # benchmark: (samples, skipped rows) of the fixtures
    "erqa": (2, 2),
    "egoplan_bench2": (2, 2),
    "where2place": (2, 1),
    "point_bench": (3, 1),
    "paco_lavis": (2, 1),
    "pixmo_points": (2, 2),
    "vsi_bench": (4, 2),
    "refspatial_bench": (3, 1),
    "mmsi_bench": (3, 1),
    "vlabench": (3, 1),
    "eb_alfred": (3, 1),
}


@pytest.fixture
def count_generate(monkeypatch):
    """Counts `VlaserForConditionalGeneration.generate` calls; `fail_after` makes the next call past it raise, like a
    run killed mid-way."""
    state = {"calls": 0, "fail_after": None}
    original = VlaserForConditionalGeneration.generate

    def counting(self, *args, **kwargs):
        if state["fail_after"] is not None and state["calls"] >= state["fail_after"]:
            raise KeyboardInterrupt("simulated interruption")
        state["calls"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(VlaserForConditionalGeneration, "generate", counting)
    return state


def _config(model, data_dir, output_dir, **overrides):
    settings = dict(model=str(model), data_dir=data_dir and str(data_dir), output_dir=str(output_dir), max_new_tokens=4)
    settings.update(batch_size=4, video_frames=2)
    settings.update(overrides)
    return ReasoningEvalConfig(**settings)


@pytest.fixture(scope="module")
def full_run(tiny_model_dir, data_dir, tmp_path_factory):
    """All 12 benchmarks on the tiny model; EB-ALFRED against the text environment, EB-Habitat without one."""
    output = tmp_path_factory.mktemp("full_run")
    calls = {"n": 0}
    original = VlaserForConditionalGeneration.generate

    def counting(self, *args, **kwargs):
        calls["n"] += 1
        return original(self, *args, **kwargs)

    VlaserForConditionalGeneration.generate = counting
    try:
        report = run_reasoning_eval(_config(tiny_model_dir, data_dir, output), environments={"eb_alfred": factory})
    finally:
        VlaserForConditionalGeneration.generate = original
    return report, output, calls["n"]


def test_tiny_model_runs_every_benchmark(full_run):
    report, output, calls = full_run
    assert [entry.name for entry in report.entries] == paper_benchmarks()
    for entry in report.entries:
        if entry.name == "eb_habitat":
            assert entry.status == "not run" and "Habitat 2.0" in entry.reason
            continue
        assert entry.status == "ok", (entry.name, entry.reason)
        assert (entry.samples, entry.skipped) == EXPECTED[entry.name], entry.name
        assert 0.0 <= entry.score <= 100.0
        # EmbodiedBench re-asks the same prompt after an undecodable plan; greedy decoding would repeat the answer, so
        # the cache answers those repeats within the run
        assert entry.generated > 0 and (entry.cached == 0 or entry.name == "eb_alfred")
        predictions = (output / "predictions" / f"{entry.name}.jsonl").read_text().splitlines()
        assert len(predictions) == entry.samples
    assert calls == report.generate_calls > 0


def test_report_files_and_plain_mean(full_run):
    report, output, _ = full_run
    scored = [entry.score for entry in report.entries if entry.status == "ok"]
    assert report.mean == pytest.approx(sum(scored) / 11)
    data = json.loads((output / "report.json").read_text())
    assert data["mean"] == pytest.approx(report.mean) and "eb_habitat" not in data["mean_over"]
    # the paper rows are averaged over the same 11 columns: Vlaser-2B's 12 columns sum to 543.2, minus EB-H 30.7
    assert data["comparison"]["rows"]["Vlaser-2B"]["Mean"] == pytest.approx((543.2 - 30.7) / 11)
    assert data["paper_table1"]["Vlaser-8B"]["Avg"] == 51.3
    markdown = (output / "report.md").read_text()
    assert "| **Mean over the 11 run** |" in markdown and "EB-Habitat** (not run)" in markdown
    assert "| Vlaser-2B | 35.8 | 38.3 | 74.0 |" in markdown
    assert (output / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_paper_table_means_match_the_reported_avg():
    # "Avg" is the plain mean of the 12 columns: within rounding for every row (the two Embodied-R1 rows are 0.058
    # above it, as if truncated)
    for row, values in PAPER_TABLE1.items():
        columns = [value for key, value in values.items() if key != "Avg"]
        assert sum(columns) / 12 == pytest.approx(values["Avg"], abs=0.06), row


def test_rerun_reads_the_cache_without_loading_the_model(
    full_run, tiny_model_dir, data_dir, monkeypatch, count_generate
):
    report, output, _ = full_run

    def no_model(config):
        raise AssertionError("a fully cached run must not load the model")

    monkeypatch.setattr(runner_module, "load_model_and_processor", no_model)
    again = run_reasoning_eval(_config(tiny_model_dir, data_dir, output), environments={"eb_alfred": factory})
    assert count_generate["calls"] == 0
    for first, second in zip(report.entries, again.entries, strict=True):
        assert (second.status, second.score, second.generated) == (first.status, first.score, 0)
        assert second.cached == first.generated + first.cached


def test_interrupted_run_resumes_without_recomputing(tiny_model_dir, data_dir, tmp_path, count_generate):
    config = _config(tiny_model_dir, data_dir, tmp_path, benchmarks="erqa,mmsi_bench", batch_size=1)
    count_generate["fail_after"] = 3  # ERQA's 2 answers and MMSI's first are cached, then the run dies
    with pytest.raises(KeyboardInterrupt):
        run_reasoning_eval(config)
    cached = [
        json.loads(line) for path in (tmp_path / "cache").glob("*.jsonl") for line in path.read_text().splitlines()
    ]
    assert len(cached) == 3
    count_generate.update(calls=0, fail_after=None)
    report = run_reasoning_eval(config)
    assert count_generate["calls"] == 2  # only MMSI's two missing answers
    assert report.entry("mmsi_bench").cached == 1 and report.entry("mmsi_bench").generated == 2
    assert report.entry("erqa").cached == 2


def test_changed_prompt_settings_invalidate_the_cache(tiny_model_dir, data_dir, tmp_path, count_generate):
    run_reasoning_eval(_config(tiny_model_dir, data_dir, tmp_path, benchmarks="mmsi"))
    count_generate["calls"] = 0
    report = run_reasoning_eval(_config(tiny_model_dir, data_dir, tmp_path, benchmarks="mmsi", max_new_tokens=5))
    assert report.entry("mmsi_bench").generated == 3 and count_generate["calls"] == 1


# ----------------------------------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------------------------------


def test_missing_folder_names_the_places_tried_and_how_to_get_the_data(tmp_path):
    config = _config("unused", tmp_path / "empty", tmp_path / "out", benchmarks="mmsi_bench")
    with pytest.raises(BenchmarkDataNotFoundError) as error:
        run_reasoning_eval(config)
    message = str(error.value)
    assert str(tmp_path / "empty" / "MMSI-Bench") in message and str(tmp_path / "empty" / "mmsi_bench") in message
    assert "RunsenXu/MMSI-Bench" in message and "hf download" in message and "--download" in message


def test_missing_data_under_all_is_reported_not_raised(tmp_path):
    report = run_reasoning_eval(_config("unused", tmp_path / "empty", tmp_path / "out", benchmarks="all"))
    statuses = {entry.name: entry.status for entry in report.entries}
    assert statuses == {name: "no data" for name in paper_benchmarks() if not name.startswith("eb_")} | {
        "eb_alfred": "not run",
        "eb_habitat": "not run",
    }
    assert report.mean is None
    assert "Looked in" in report.entry("erqa").reason


def test_missing_explicit_source_is_an_error(tmp_path):
    config = _config("unused", None, tmp_path / "out", benchmarks="vsi", sources=[f"vsi={tmp_path / 'nowhere'}"])
    with pytest.raises(BenchmarkDataNotFoundError, match="nowhere") as error:
        run_reasoning_eval(config)
    assert "nyu-visionx/VSI-Bench" in str(error.value)


def test_folder_in_the_wrong_layout_is_not_taken_for_data(tmp_path):
    (tmp_path / "data" / "MMSI-Bench").mkdir(parents=True)
    (tmp_path / "data" / "MMSI-Bench" / "notes.txt").write_text("nothing here")
    with pytest.raises(BenchmarkDataNotFoundError, match="MMSI-Bench"):
        run_reasoning_eval(_config("unused", tmp_path / "data", tmp_path / "out", benchmarks="mmsi"))


def test_unknown_benchmark_lists_known_names_and_suggestions(tmp_path):
    with pytest.raises(UnknownBenchmarkError) as error:
        run_reasoning_eval(_config("unused", tmp_path, tmp_path / "out", benchmarks="erqa,mmsi_bnech"))
    message = str(error.value)
    assert "mmsi_bnech" in message and "Did you mean mmsi_bench" in message and "vsi_bench" in message
    assert not (tmp_path / "out").exists()  # nothing ran


def test_unreadable_images_are_skipped_and_counted(tmp_path):
    folder = fixtures.build_mmsi(tmp_path / "data")
    import datasets

    table = datasets.Dataset.from_parquet(str(folder / "MMSI_Bench.parquet"), cache_dir=str(tmp_path / "cache"))
    rows = table.to_dict()
    rows["images"][1] = [b"not an image"]
    fixtures.write_parquet(folder / "MMSI_Bench.parquet", rows, table.features)

    def answer_b(requests):
        return ["``B``" for _ in requests]

    report = run_reasoning_eval(
        _config("unused", tmp_path / "data", tmp_path / "out", benchmarks="mmsi"), generator=answer_b
    )
    entry = report.entry("mmsi_bench")
    assert (entry.samples, entry.skipped) == (2, 2)
    assert entry.skipped_reasons["unreadable image or video (UnidentifiedImageError)"] == 1
    assert entry.score == pytest.approx(50.0)  # answers B to questions B and D


def test_original_internvl_checkpoints_get_a_processor_from_their_tokenizer(shared_dir):
    processor = runner_module.load_processor(str(shared_dir / "fixtures" / "internvl3_1b_original" / "tokenizer"))
    assert (processor.image_seq_length, processor.image_processor.max_patches) == (256, 12)  # InternVL3's settings
    with pytest.raises(ValueError, match="pass --processor"):
        runner_module.load_processor(str(shared_dir / "no-such-checkpoint"))


def test_bad_flags_are_rejected_with_the_field_name():
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        ReasoningEvalConfig(model="m", batch_size=0)
    with pytest.raises(ValueError, match="--sources entries must look like NAME=VALUE"):
        run_reasoning_eval(ReasoningEvalConfig(model="m", benchmarks="erqa", sources=["FlagEval/ERQA"]))
    with pytest.raises(ValueError, match="--benchmark_options for refspatial_bench"):
        run_reasoning_eval(
            ReasoningEvalConfig(model="m", benchmarks="refspatial", benchmark_options=["refspatial_bench.colour=red"])
        )


# ----------------------------------------------------------------------------------------------------------------------
# Sources: explicit folders, Hub dataset ids, plugins
# ----------------------------------------------------------------------------------------------------------------------


def _answers_by_question(requests):
    return ["``B``" for _ in requests]


def test_hub_dataset_id_is_downloaded_with_huggingface_hub(local_hub, tmp_path):
    folder = fixtures.build_mmsi(tmp_path / "upload")
    repo_id = local_hub.repo_id("MMSI-Bench")
    local_hub.api.create_repo(repo_id, repo_type="dataset")
    local_hub.api.upload_folder(folder_path=folder, repo_id=repo_id, repo_type="dataset")
    config = _config(
        "unused", tmp_path / "none", tmp_path / "out", benchmarks="mmsi", sources=[f"mmsi_bench={repo_id}"]
    )
    report = run_reasoning_eval(config, generator=_answers_by_question)
    entry = report.entry("mmsi_bench")
    assert entry.status == "ok" and entry.samples == 3 and entry.score == pytest.approx(100 / 3)
    assert str(local_hub.cache_dir) in entry.source
    assert len(get_benchmark("mmsi").load(repo_id).samples) == 3  # the loader API takes Hub ids too


def test_explicit_folder_source_and_benchmark_options(data_dir, tmp_path):
    shutil.copytree(data_dir / "RefSpatial-Bench", tmp_path / "somewhere")
    config = _config(
        "unused",
        None,
        tmp_path / "out",
        benchmarks="refsp",
        sources=[f"refspatial_bench={tmp_path / 'somewhere'}"],
        benchmark_options=["refspatial_bench.splits=placement"],
    )
    report = run_reasoning_eval(config, generator=lambda requests: ["<point>[[100, 500]]</point>"] * len(requests))
    assert report.entry("refspatial_bench").samples == 1 and report.entry("refspatial_bench").score == 100.0


class DummyInDomain(Benchmark):
    """Stands in for a benchmark another package adds by name, such as the in-domain one: it builds its samples
    itself (no data folder) and reuses a metric module."""

    name = "in_domain_dummy"
    display_name = "In-domain (dummy)"
    metric_name = "multiple_choice_accuracy"
    needs_data = False

    def load_local(self, root, context):
        red, blue = fixtures.solid((255, 0, 0)), fixtures.solid((0, 0, 255))
        return LoadResult(
            [
                Sample("red", "<image>\nIs it A. red or B. blue?", [red], {"answer": "A"}),
                Sample("blue", "<image>\nIs it A. red or B. blue?", [blue], {"answer": "B"}),
            ],
            source=str(root),
        )

    def parse(self, answer, sample):
        return extract_choice(answer, "AB") or ""

    def metric_inputs(self, samples, predictions):
        return {"predictions": list(predictions), "references": [s.reference["answer"] for s in samples]}


def test_other_packages_add_benchmarks_by_name(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setitem(registry.LAZY_BENCHMARKS, "lazy_dummy", "tests.eval.test_runner:DummyInDomain")
    register_benchmark("in_domain_dummy", DummyInDomain)
    assert "in_domain_dummy" not in paper_benchmarks()  # `all` stays the paper's 12
    assert resolve_benchmark_names("in_domain_dummy,erqa") == ["in_domain_dummy", "erqa"]
    assert isinstance(get_benchmark("tests.eval.test_runner:DummyInDomain"), DummyInDomain)
    assert isinstance(get_benchmark("lazy_dummy"), DummyInDomain)  # imported on first use
    config = _config("unused", tmp_path / "no-data-needed", tmp_path / "out", benchmarks="in_domain_dummy")
    report = run_reasoning_eval(config, generator=lambda requests: ["A"] * len(requests))
    entry = report.entry("in_domain_dummy")
    assert entry.status == "ok" and entry.score == pytest.approx(50.0)
    assert json.loads((tmp_path / "out" / "report.json").read_text())["comparison"]["columns"] == []  # not in Table 1


# ----------------------------------------------------------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------------------------------------------------------


def test_vlaser_eval_reasoning_command(tiny_model_dir, data_dir, tmp_path, capsys):
    from vlaser_cli import main

    main(
        [
            "eval",
            "reasoning",
            "--model",
            str(tiny_model_dir),
            "--benchmarks",
            "erqa,eb_habitat",
            "--data-dir",
            str(data_dir),
            "--output-dir",
            str(tmp_path),
            "--limit",
            "1",
            "--max-new-tokens",
            "3",
        ]
    )
    out = capsys.readouterr().out
    assert "ERQA" in out and "not run" in out and str(tmp_path / "report.md") in out
    assert json.loads((tmp_path / "report.json").read_text())["benchmarks"]["erqa"]["samples"] == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "reasoning", "--model", "m", "--benchmarks", "nope", "--output-dir", str(tmp_path / "x")])
    assert exit_info.value.code == 2 and "unknown benchmark 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["eval"])
    assert exit_info.value.code == 2 and "reasoning" in capsys.readouterr().err
