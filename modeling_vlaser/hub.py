# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""Model cards for VLASER checkpoints pushed to the Hub."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .configuration_vlaser import VlaserConfig

_CARD_TEMPLATE = """---
{{ card_data }}
---

# {{ model_id | default("VLASER policy", true) }}

{{ model_description | default("A VLASER vision-language-action model: an InternVL3 reasoning VLM with a flow-matching action expert.", true) }}

## Model

| field | value |
|---|---|
| backbone | InternViT ({{ vision_layers }} layers, width {{ vision_width }}) + Qwen2 ({{ text_layers }} layers, width {{ text_width }}) |
| action expert | {{ text_layers }} layers, width {{ expert_width }}, MLP {{ expert_mlp }} |
| state / action dims | {{ state_dim }} / {{ action_dim }} (padded to {{ max_state_dim }} / {{ max_action_dim }}) |
| chunk | predict {{ chunk_size }}, execute {{ n_action_steps }}, {{ num_inference_steps }} flow steps |
{% if datasets %}
## Training data

{% for dataset in datasets %}- [{{ dataset }}](https://huggingface.co/datasets/{{ dataset }})
{% endfor %}{% endif %}{% if training_recipe %}
## Training recipe

{{ training_recipe }}
{% endif %}
## Use
{% if pipeline_tag == "robotics" %}
```python
from modeling_vlaser.policy import VlaserPolicy          # or AutoModel.from_pretrained(repo, trust_remote_code=True)

policy = VlaserPolicy.from_pretrained("{{ model_id | default("path/to/checkpoint", true) }}")
chunk = policy.predict_action(image, "put the carrot on the plate", state)   # (1, {{ chunk_size }}, {{ action_dim }}) raw actions
```
{% else %}
```python
from transformers import AutoModelForImageTextToText, AutoProcessor

repo = "{{ model_id | default("path/to/checkpoint", true) }}"
model = AutoModelForImageTextToText.from_pretrained(repo, trust_remote_code=True)
processor = AutoProcessor.from_pretrained(repo, trust_remote_code=True)
messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Point to the carrot."}]}]
prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
inputs = processor(images=[image], text=[prompt], return_tensors="pt")
print(processor.decode(model.generate(**inputs, max_new_tokens=64)[0, inputs["input_ids"].shape[1]:]))
```
{% endif %}"""


def build_model_card(
    config: VlaserConfig,
    model_id: str | None = None,
    base_model: str | None = None,
    datasets: Sequence[str] | None = None,
    eval_results: Sequence[dict[str, Any] | EvalResult] | None = None,
    training_recipe: str | None = None,
    model_description: str | None = None,
    license: str = "apache-2.0",
    tags: Sequence[str] = (),
    pipeline_tag: str = "robotics",
) -> ModelCard:
    """A model card with Hub metadata (base model, datasets, pipeline tag, `model-index` results).

    `pipeline_tag` is `robotics` for a policy and `image-text-to-text` for a stage-1 reasoning VLM.

    `eval_results` entries are [`EvalResult`]s or dicts of its fields, e.g. `{"task_type": "robotics",
    "dataset_type": "simpler-widowx", "dataset_name": "SimplerEnv WidowX", "metric_type": "success_rate",
    "metric_value": 0.65}`; a card with results needs `model_id` (the Hub requires a model name for them).
    """
    results = [r if isinstance(r, EvalResult) else EvalResult(**r) for r in eval_results or ()]
    card_data = ModelCardData(
        library_name="transformers",
        license=license,
        pipeline_tag=pipeline_tag,
        tags=["vlaser", "vision-language-action", "flow-matching", "robotics", *tags],
        base_model=base_model,
        datasets=list(datasets) if datasets else None,
        eval_results=results or None,
        model_name=model_id if results else None,
    )
    return ModelCard.from_template(
        card_data,
        template_str=_CARD_TEMPLATE,
        model_id=model_id,
        pipeline_tag=pipeline_tag,
        model_description=model_description,
        datasets=list(datasets or ()),
        training_recipe=training_recipe,
        vision_layers=config.vision_config.num_hidden_layers,
        vision_width=config.vision_config.hidden_size,
        text_layers=config.text_config.num_hidden_layers,
        text_width=config.text_config.hidden_size,
        expert_width=config.expert_hidden_size,
        expert_mlp=config.expert_intermediate_size,
        state_dim=config.state_dim,
        action_dim=config.action_dim,
        max_state_dim=config.max_state_dim,
        max_action_dim=config.max_action_dim,
        chunk_size=config.chunk_size,
        n_action_steps=config.n_action_steps,
        num_inference_steps=config.num_inference_steps,
    )


def upload_folder_in_one_commit(
    folder: str,
    repo_id: str,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str = "Upload",
    ignore_patterns: list[str] | None = None,
):
    """Create the repo if needed and upload `folder` as one commit, so a repo never holds a half-updated model."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    return api.upload_folder(
        repo_id=repo_id, folder_path=folder, commit_message=commit_message, ignore_patterns=ignore_patterns
    )


__all__ = ["build_model_card", "upload_folder_in_one_commit"]
