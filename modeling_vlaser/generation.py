# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""One question about one image, answered by a VLASER model (reasoning VLM or policy) with its processor."""

from __future__ import annotations

from typing import Any

import torch


def generate_answer(model: Any, processor: Any, image: Any, question: str, **generate_kwargs: Any) -> str:
    """The model's answer (greedy unless `generate_kwargs` say otherwise), with grounding tags kept.

    `question` may place the image with `<image>` (InternVL's data format, as VLASER-6M rows do); otherwise the image
    comes first. `generate_kwargs` go to `model.generate` (`max_new_tokens`, `max_time`, ...).
    """
    content = question if "<image>" in question else f"<image>\n{question}"
    prompt = processor.apply_chat_template(
        [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
    )
    inputs = processor(images=[image], text=[prompt], return_tensors="pt").to(model.device)
    inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    with torch.inference_mode():
        generated = model.generate(**inputs, **{"do_sample": False, **generate_kwargs})
    return processor.decode_answers(generated[:, inputs["input_ids"].shape[1] :])[0]
