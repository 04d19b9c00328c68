# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""A robot policy: a [`VlaserForActionPrediction`] and the [`VlaserProcessor`] holding its normalization statistics.

This is the object simulators and robots talk to: raw camera images, an instruction and the raw robot state in,
raw (un-normalized) action chunks out.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .hub import build_model_card, upload_folder_in_one_commit
from .modeling_vlaser import VlaserForActionPrediction
from .processing_vlaser import VlaserProcessor


class VlaserPolicy:
    """Model + processor. `predict_action(images, instruction, state)` returns raw action chunks.

    Raises at construction when the processor has no normalization statistics or when their dimensions disagree
    with the model: an identity normalization would silently send normalized actions to a robot.
    """

    def __init__(self, model: VlaserForActionPrediction, processor: VlaserProcessor):
        normalizer = processor.normalizer
        if normalizer is None:
            raise ValueError(
                "this policy's processor has no normalization statistics (normalization_stats.json): a policy cannot "
                "un-normalize its actions without them. Compute them from the training data "
                "(ActionNormalizer.from_data) and save them with the processor."
            )
        config = model.config
        if (normalizer.state_dim, normalizer.action_dim) != (config.state_dim, config.action_dim):
            raise ValueError(
                f"normalization statistics are for state_dim={normalizer.state_dim}, action_dim={normalizer.action_dim}"
                f" but the model has state_dim={config.state_dim}, action_dim={config.action_dim}"
            )
        self.model = model.eval()
        self.processor = processor

    @classmethod
    def from_pretrained(cls, path_or_repo_id: str | os.PathLike, **kwargs: Any) -> VlaserPolicy:
        """Load model and processor from one folder or Hub repo (`kwargs` go to the model's `from_pretrained`)."""
        hub_kwargs = {k: kwargs[k] for k in ("revision", "token", "cache_dir", "local_files_only") if k in kwargs}
        processor = VlaserProcessor.from_pretrained(path_or_repo_id, **hub_kwargs)
        model = VlaserForActionPrediction.from_pretrained(path_or_repo_id, **kwargs)
        return cls(model, processor)

    @property
    def config(self):
        return self.model.config

    @torch.no_grad()
    def predict_action(
        self,
        images: Any,
        instruction: str | Sequence[str],
        state: Any,
        noise: torch.Tensor | None = None,
        num_inference_steps: int | None = None,
    ) -> np.ndarray:
        """Raw action chunks `(batch, chunk_size, action_dim)` (float32) for raw states `(batch, state_dim)`.

        A single image, one instruction string and a 1-D state are a batch of one. Execute the first
        `config.n_action_steps` actions of each chunk, then ask again.
        """
        state = np.asarray(state, dtype=np.float32)
        if state.ndim == 1:
            state = state[None]
        inputs = self.processor.prepare_policy_inputs(images, instruction, states=state)
        device = self.model.device
        inputs = {k: v.to(device) for k, v in inputs.items()}
        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        actions = self.model.sample_actions(**inputs, noise=noise, num_inference_steps=num_inference_steps)
        return np.asarray(self.processor.unnormalize_actions(actions.float().cpu().numpy()), dtype=np.float32)

    def save_pretrained(self, save_directory: str | os.PathLike, **card_fields: Any) -> None:
        """Write weights, code, config, processor, statistics and a model card (README.md) into one folder."""
        self.model.save_pretrained(save_directory)
        self.processor.save_pretrained(save_directory)
        build_model_card(self.model.config, **card_fields).save(os.path.join(save_directory, "README.md"))

    def push_to_hub(
        self, repo_id: str, private: bool = False, commit_message: str = "Upload VLASER policy", **card_fields
    ):
        """Upload everything `save_pretrained` writes as one commit, so a repo never holds a half-updated policy."""
        with tempfile.TemporaryDirectory() as folder:
            self.save_pretrained(folder, model_id=repo_id, **card_fields)
            return upload_folder_in_one_commit(folder, repo_id, private=private, commit_message=commit_message)


__all__ = ["VlaserPolicy"]
