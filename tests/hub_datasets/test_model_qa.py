"""Optional model-written QA against a real OpenAI-compatible HTTP server started here (`tests/openai_server.py`):
prompts and images on the wire, coordinate conversion, the 1-3 judge dropping 1s, the builder integration, and a
dead endpoint."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from hub_datasets.build import InDomainSource, build_dataset
from hub_datasets.episodes import LeRobotEpisodes
from hub_datasets.in_domain import EngineConfig, write_widowx_scene
from hub_datasets.model_qa import (
    SYSTEM_PROMPT,
    ModelQA,
    ModelQAConfig,
    ModelQAError,
    parse_coordinates,
    parse_question_answer,
)
from hub_datasets.validate import validate_repo
from tests.conftest import free_port
from tests.openai_server import OpenAICompatibleServer


@pytest.fixture
def server():
    with OpenAICompatibleServer() as running:
        yield running


def test_generate_judge_and_filter(server: OpenAICompatibleServer) -> None:
    qa = ModelQA(ModelQAConfig(base_url=server.url, model="vlm-7b", judge_model="judge-32b"))
    image = np.zeros((40, 80, 3), np.uint8)
    image[10:20, 5:30] = (255, 0, 0)
    grounding = qa.generate(image, "put the carrot on the plate", "grounding")
    # "(0.25, 0.5)" are fractions of the image: 0.25 * 1000, 0.5 * 1000
    assert grounding.answer == "<point>[[250, 500]]</point>"
    assert grounding.question.startswith("Where is the carrot?") and "<point>" in grounding.question
    assert grounding.claim == {"kind": "model", "family": "grounding", "judge_score": 3, "model": "vlm-7b"}
    assert qa.generate(image, "put the carrot on the plate", "spatial_reasoning") is None  # judged 1: dropped
    general = qa.generate(image, "put the carrot on the plate", "general_qa")
    assert general.answer == "It is reaching for the carrot."
    assert qa.report.to_dict()["judge_scores"] == {"1": 1, "3": 2}
    assert qa.report.dropped["spatial_reasoning"] == 1 and qa.report.kept["general_qa"] == 1

    generation, judge = server.requests[0], server.requests[1]
    assert (generation["model"], generation["temperature"]) == ("vlm-7b", 0.1)
    assert (judge["model"], judge["temperature"]) == ("judge-32b", 0.0)
    assert generation["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    parts = generation["messages"][1]["content"]
    url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
    sent = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))
    np.testing.assert_array_equal(sent, image)  # the frame itself, losslessly
    judged = next(p["text"] for p in judge["messages"][1]["content"] if p["type"] == "text")
    assert "<point>[[250, 500]]</point>" in judged and judged.endswith("single integer score from 1 to 3.")


def test_parsers() -> None:
    assert parse_question_answer("Question: Why?\nAnswer: Because.") == ("Why?", "Because.")
    assert parse_question_answer("no structure here") is None
    # pixels are divided by the image size; fractions multiplied by 1000; boxes win over points
    assert parse_coordinates("box [20, 10, 40, 30] and point (0.5, 0.5)", 200, 100) == ("box", [(100, 100, 200, 300)])
    assert parse_coordinates("at (0.1, 0.9) and (150, 50)", 200, 100) == ("point", [(100, 900), (750, 500)])
    assert parse_coordinates("nothing to see", 200, 100) is None


def test_builder_adds_judged_model_rows(server: OpenAICompatibleServer, tmp_path: Path) -> None:
    scene = write_widowx_scene(tmp_path / "w", episodes=1, image_size=(64, 48))
    qa = ModelQA(ModelQAConfig(base_url=server.url))
    source = InDomainSource(scene, config=EngineConfig(max_per_episode=1), model_qa=qa)
    report = build_dataset([source], tmp_path / "out", progress=False)
    ids = {
        config: [
            row["id"] for row in pq.read_table(next((tmp_path / "out" / "data" / config).glob("*.parquet"))).to_pylist()
        ]
        for config in report.rows
    }
    last = LeRobotEpisodes(scene).episode_lengths[0] - 1  # a budget of one keyframe keeps the last frame
    assert ids["grounding_widowx"] == [f"w:0:{last}:grounding", f"w:0:{last}:grounding:model"]
    assert ids["general_qa_widowx"] == [f"w:0:{last}:general_qa", f"w:0:{last}:general_qa:model"]
    assert ids["spatial_reasoning_widowx"] == [f"w:0:{last}:spatial_reasoning"]  # the judge dropped the model's
    assert report.model_qa["w"]["dropped_by_family"] == {"spatial_reasoning": 1}
    checked = validate_repo(tmp_path / "out")
    assert checked.ok and checked.unchecked["model"] == 2


def test_dead_endpoint_fails_after_max_failures() -> None:
    qa = ModelQA(ModelQAConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", max_failures=2, timeout=2))
    image = np.zeros((8, 8, 3), np.uint8)
    assert qa.generate(image, "task", "general_qa") is None
    with pytest.raises(ModelQAError, match="2 model-QA requests in a row failed"):
        qa.generate(image, "task", "general_qa")
    with pytest.raises(ValueError, match="base_url"):
        ModelQA(ModelQAConfig())
