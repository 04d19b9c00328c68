"""Fixtures of the reasoning-evaluation tests: every benchmark's hand-made data and a saved tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from eval.reasoning.base import LoadContext
from tests.eval import fixtures


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `--data-dir` holding all 12 benchmarks' fixtures (EB-Habitat excepted: it never runs here)."""
    return fixtures.build_all(tmp_path_factory.mktemp("reasoning_data"))


@pytest.fixture(scope="session")
def extra_layouts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The alternative published layouts (parquet/TSV copies, raw PACO)."""
    root = tmp_path_factory.mktemp("reasoning_layouts")
    for builder in (
        fixtures.build_erqa_parquet,
        fixtures.build_erqa_tsv,
        fixtures.build_where2place_parquet,
        fixtures.build_paco_raw,
    ):
        builder(root)
    return root


@pytest.fixture(scope="session")
def load_context(tmp_path_factory: pytest.TempPathFactory) -> LoadContext:
    return LoadContext(cache_dir=tmp_path_factory.mktemp("datasets_cache"), video_frames=4)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny preset VLM (random weights, seeded) saved with its processor, as a user's checkpoint folder."""
    from modeling_vlaser import VlaserForConditionalGeneration, get_preset_config, load_tiny_processor

    folder = tmp_path_factory.mktemp("tiny_vlm")
    torch.manual_seed(0)
    VlaserForConditionalGeneration(get_preset_config("tiny")).save_pretrained(folder)
    load_tiny_processor().save_pretrained(folder)
    return folder
