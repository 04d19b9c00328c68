"""Hub round trips with the real huggingface_hub client against the tests' local Hub server."""

from __future__ import annotations

import numpy as np
import torch
from huggingface_hub import ModelCard
from transformers import AutoModel, AutoProcessor

from modeling_vlaser import VlaserPolicy
from tests.modeling_vlaser.test_save_load import frame, make_policy

EVAL_RESULT = {
    "task_type": "robotics",
    "dataset_type": "simpler-widowx",
    "dataset_name": "SimplerEnv WidowX",
    "metric_type": "success_rate",
    "metric_value": 0.65,
}


def test_push_then_load_by_repo_id_online_and_offline(local_hub):
    policy = make_policy()
    repo_id = local_hub.repo_id("vlaser-tiny-policy")
    policy.push_to_hub(
        repo_id,
        base_model="OpenGVLab/InternVL3-2B",
        datasets=["vlaser/vlaser-6m"],
        eval_results=[EVAL_RESULT],
        training_recipe="stage 1 SFT, then stage 2 flow matching",
    )
    files = set(local_hub.server.list_files(repo_id))
    assert {"model.safetensors", "modeling_vlaser.py", "processing_vlaser.py", "normalization_stats.json"} <= files

    card = ModelCard.load(repo_id)
    assert card.data.pipeline_tag == "robotics"
    assert card.data.base_model == "OpenGVLab/InternVL3-2B"
    assert card.data.datasets == ["vlaser/vlaser-6m"]
    assert card.data.eval_results[0].metric_value == 0.65
    assert "stage 1 SFT" in card.text

    noise = torch.randn(1, 4, 7)
    observation = (frame(), "stack the green cube on the yellow cube", np.linspace(-0.2, 0.2, 7))
    expected = policy.predict_action(*observation, noise=noise)
    assert np.allclose(
        VlaserPolicy.from_pretrained(repo_id).predict_action(*observation, noise=noise), expected, atol=1e-6
    )

    local_hub.stop()
    with local_hub.offline():  # HF_HUB_OFFLINE=1: everything from the Hugging Face cache
        reloaded = VlaserPolicy.from_pretrained(repo_id).predict_action(*observation, noise=noise)
        assert np.allclose(reloaded, expected, atol=1e-6)
        model = AutoModel.from_pretrained(repo_id, trust_remote_code=True)
        processor = AutoProcessor.from_pretrained(repo_id, trust_remote_code=True)
        assert type(model).__name__ == "VlaserForActionPrediction"
        assert processor.normalizer == policy.processor.normalizer
