# Copyright 2025 The VLASER project. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Processor class for VLASER: InternVL image tiling + Qwen2.5 ChatML + action/state normalization."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoTokenizer, GotOcr2ImageProcessorPil, InternVLProcessor, PreTrainedTokenizerBase
from transformers.feature_extraction_utils import BatchFeature
from transformers.processing_utils import ProcessorMixin
from transformers.utils import cached_file, logging

from .grounding import format_boxes, format_points, parse_grounding
from .normalization import NORMALIZATION_STATS_NAME, ActionNormalizer

logger = logging.get_logger(__name__)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "INTERNVL_EXTRA_SPECIAL_TOKENS",
    "TINY_IMAGE_SEQ_LENGTH",
    "TINY_IMAGE_SIZE",
    "TINY_SPECIAL_TOKENS",
    "TINY_SPECIAL_TOKEN_IDS",
    "TINY_TOKENIZER_DIR",
    "TINY_VOCAB_SIZE",
    "VLASER_CHAT_TEMPLATE",
    "VlaserProcessor",
    "load_tiny_processor",
    "make_image_processor",
]

# InternViT was trained with ImageNet statistics (not the CLIP ones GotOcr2ImageProcessorPil defaults to).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Named multimodal tokens that `InternVLProcessor` reads from the tokenizer (`tokenizer.context_image_token_id`...).
# No video token: VLASER does not process videos, and adding `<video>` to the real InternVL3 tokenizer would create
# id 151674, one past the embedding matrix of the released checkpoints.
INTERNVL_EXTRA_SPECIAL_TOKENS = {
    "start_image_token": "<img>",
    "end_image_token": "</img>",
    "context_image_token": "<IMG_CONTEXT>",
}

# The tiny tokenizer (trained by `tiny_tokenizer/build.py`): 2048 ids, special tokens at the end, in the order of the
# real InternVL3 tokenizer (151643-151645, 151665-151673) plus `<video>` (as transformers' InternVL-hf tokenizers).
# `<point>` is plain text in both, like in the real tokenizer, so grounding answers tokenize the same way.
TINY_TOKENIZER_DIR = Path(__file__).resolve().parent / "tiny_tokenizer"
TINY_VOCAB_SIZE = 2048
TINY_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<img>",
    "</img>",
    "<IMG_CONTEXT>",
    "<quad>",
    "</quad>",
    "<ref>",
    "</ref>",
    "<box>",
    "</box>",
    "<video>",
)
TINY_SPECIAL_TOKEN_IDS = {
    token: TINY_VOCAB_SIZE - len(TINY_SPECIAL_TOKENS) + index for index, token in enumerate(TINY_SPECIAL_TOKENS)
}
TINY_IMAGE_SIZE = 224
# 224 / 14 = 16 patches per side; pixel shuffle 0.5 -> 8 x 8 tokens per tile.
TINY_IMAGE_SEQ_LENGTH = 64

# InternVL3 / Qwen2.5 ChatML. No default system turn (as transformers' InternVL-hf template). Image content items
# render as `<IMG_CONTEXT>\n` (the processor expands each one to `<img>` + n x `<IMG_CONTEXT>` + `</img>`); a user
# text may instead place its images with `<image>` placeholders (InternVL's data format), in which case the image
# items of that turn only count images and are not rendered again (TRL prepends image items to string content).
# `{% generation %}` marks what an assistant-only loss trains on: the answer and its `<|im_end|>`.
VLASER_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['content'] is string %}"
    "{%- if message['role'] == 'user' %}"
    "{%- set rendered = message['content'] | replace('<image>', '<IMG_CONTEXT>') %}"
    "{%- else %}"
    "{%- set rendered = message['content'] %}"
    "{%- endif %}"
    "{%- else %}"
    "{%- set state = namespace(placeholders=false, rendered='') %}"
    "{%- for item in message['content'] %}"
    "{%- if message['role'] == 'user' and item['type'] == 'text' and '<image>' in item['text'] %}"
    "{%- set state.placeholders = true %}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- for item in message['content'] %}"
    "{%- if item['type'] == 'image' and not state.placeholders %}"
    "{%- set state.rendered = state.rendered + '<IMG_CONTEXT>\\n' %}"
    "{%- elif item['type'] == 'text' and message['role'] == 'user' %}"
    "{%- set state.rendered = state.rendered + (item['text'] | replace('<image>', '<IMG_CONTEXT>')) %}"
    "{%- elif item['type'] == 'text' %}"
    "{%- set state.rendered = state.rendered + item['text'] %}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- set rendered = state.rendered %}"
    "{%- endif %}"
    "{%- if message['role'] == 'assistant' %}"
    "{%- generation %}{{- rendered + '<|im_end|>' }}{%- endgeneration %}{{- '\\n' }}"
    "{%- else %}"
    "{{- rendered + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)


def make_image_processor(image_size: int = 448, max_patches: int = 12) -> GotOcr2ImageProcessorPil:
    """The InternVL image processor (PIL backend, no torchvision).

    Args:
        image_size (`int`): Side of a square tile in pixels (448 for InternVL3, 224 for the tiny preset).
        max_patches (`int`): Maximum number of tiles of InternVL's dynamic crop-to-patches; with more than one tile a
            thumbnail of the whole image is appended. `1` gives a single resized tile.
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size <= 0:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    if isinstance(max_patches, bool) or not isinstance(max_patches, int) or max_patches < 1:
        raise ValueError(f"max_patches must be an integer >= 1, got {max_patches!r}")
    return GotOcr2ImageProcessorPil(
        size={"height": image_size, "width": image_size},
        crop_to_patches=True,
        min_patches=1,
        max_patches=max_patches,
        image_mean=list(IMAGENET_MEAN),
        image_std=list(IMAGENET_STD),
        resample=3,  # bicubic, as InternVL
    )


def _set_extra_special_tokens(tokenizer: PreTrainedTokenizerBase) -> None:
    """Give a tokenizer the named InternVL tokens (`tokenizer.context_image_token_id`, ...) that the processor reads."""
    missing = [token for token in INTERNVL_EXTRA_SPECIAL_TOKENS.values() if token not in tokenizer.get_vocab()]
    if missing:
        raise ValueError(f"the tokenizer lacks the InternVL image tokens {missing}; use an InternVL3 tokenizer")
    names = [name for name in INTERNVL_EXTRA_SPECIAL_TOKENS if getattr(tokenizer, name, None) is None]
    if names:
        # The named-token map is how `extra_special_tokens={...}` at load time ends up; set it the same way so that
        # `save_pretrained` writes the names to tokenizer_config.json.
        tokenizer._set_model_specific_special_tokens({name: INTERNVL_EXTRA_SPECIAL_TOKENS[name] for name in names})


class VlaserProcessor(InternVLProcessor):
    r"""
    Constructs a VLASER processor: an InternVL processor (image tiling, `<IMG_CONTEXT>` expansion, ChatML) without the
    video processor, plus the action/state normalizer of a policy.

    `InternVLProcessor` requires a torchvision-backed video processor; VLASER does not process videos, so this class
    takes only an image processor (use the PIL backend, [`GotOcr2ImageProcessorPil`], e.g. from
    [`make_image_processor`]) and a tokenizer, and works without torchvision.

    Args:
        image_processor ([`GotOcr2ImageProcessorPil`], *optional*):
            The image processor (InternVL dynamic crop-to-patches).
        tokenizer ([`PreTrainedTokenizerBase`], *optional*):
            A Qwen2 tokenizer with the InternVL tokens; its named tokens `start_image_token`, `end_image_token` and
            `context_image_token` are set if missing.
        image_seq_length (`int`, *optional*, defaults to 256):
            Number of `<IMG_CONTEXT>` tokens per tile: `(image_size / patch_size) ** 2 * downsample_ratio ** 2`.
        chat_template (`str`, *optional*):
            Defaults to [`VLASER_CHAT_TEMPLATE`].
        policy_system_prompt (`str`, *optional*):
            System turn of the action prompt built by [`~VlaserProcessor.prepare_policy_inputs`]; `None` (default)
            gives no system turn. Converted official checkpoints use `"None"` (their code formats a missing prompt).
        normalizer ([`ActionNormalizer`], *optional*):
            State/action statistics of a policy. Saved to `normalization_stats.json` by `save_pretrained` and read
            back by `from_pretrained`.
    """

    def __init__(
        self,
        image_processor=None,
        tokenizer=None,
        image_seq_length: int = 256,
        chat_template: str | None = None,
        policy_system_prompt: str | None = None,
        normalizer: ActionNormalizer | None = None,
        **kwargs,
    ):
        if tokenizer is None or image_processor is None:
            raise ValueError("VlaserProcessor needs both an `image_processor` and a `tokenizer`")
        if isinstance(image_seq_length, bool) or not isinstance(image_seq_length, int) or image_seq_length <= 0:
            raise ValueError(f"image_seq_length must be a positive integer, got {image_seq_length!r}")
        if normalizer is not None and not isinstance(normalizer, ActionNormalizer):
            raise TypeError(f"normalizer must be an ActionNormalizer or None, got {type(normalizer).__name__}")
        _set_extra_special_tokens(tokenizer)
        if chat_template is None:
            chat_template = VLASER_CHAT_TEMPLATE
        # Skip InternVLProcessor.__init__, which reads `tokenizer.video_token`: set up the image side only.
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template, **kwargs)
        self.image_seq_length = image_seq_length
        self.policy_system_prompt = policy_system_prompt
        self.normalizer = normalizer
        self.start_image_token = tokenizer.start_image_token
        self.end_image_token = tokenizer.end_image_token
        self.start_image_token_id = tokenizer.start_image_token_id
        self.end_image_token_id = tokenizer.end_image_token_id
        self.image_token = tokenizer.context_image_token
        self.image_token_id = tokenizer.context_image_token_id
        self.video_token = None
        self.multimodal_pattern = re.compile(f"(?P<image>{re.escape(self.image_token)})")

    # Grounding text helpers (see `grounding.py`), reachable from the processor as in other HF processors.
    format_boxes = staticmethod(format_boxes)
    format_points = staticmethod(format_points)
    parse_grounding = staticmethod(parse_grounding)

    def __call__(self, images=None, text=None, videos=None, **kwargs) -> BatchFeature:
        """InternVL processing: expands each `<IMG_CONTEXT>` of `text` to `<img>` + `<IMG_CONTEXT>` x
        `image_seq_length` x tiles + `</img>` and returns `input_ids`, `attention_mask` and `pixel_values`."""
        if videos is not None:
            raise ValueError("VlaserProcessor does not process videos; pass frames as `images`")
        return super().__call__(images=images, text=text, **kwargs)

    def decode_answers(self, generated_ids: Any) -> list[str]:
        """Answer texts of generated token ids `(batch, new_tokens)` (the prompt cut off), each up to its first
        end-of-turn or padding token.

        Why not `batch_decode(..., skip_special_tokens=True)`: `<ref>`, `<box>` and their closing tags are special
        tokens (as in InternVL3), and skipping them turns `<ref>cube</ref><box>[[1, 2, 3, 4]]</box>` into
        `cube[[1, 2, 3, 4]]`, which loses the grounding format.
        """
        tokenizer = self.tokenizer
        stop = {tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")}
        answers = []
        for row in generated_ids.tolist() if hasattr(generated_ids, "tolist") else generated_ids:
            end = next((index for index, token in enumerate(row) if token in stop), len(row))
            answers.append(tokenizer.decode(row[:end], skip_special_tokens=False).strip())
        return answers

    # ------------------------------------------------------------------------------------------------------------------
    # Construction helpers
    # ------------------------------------------------------------------------------------------------------------------

    @classmethod
    def from_tokenizer(
        cls,
        tokenizer: PreTrainedTokenizerBase | str | os.PathLike,
        image_size: int = 448,
        image_seq_length: int = 256,
        max_patches: int = 12,
        normalizer: ActionNormalizer | None = None,
        policy_system_prompt: str | None = None,
    ) -> VlaserProcessor:
        """Build a processor around an InternVL3 tokenizer (an instance, a local folder or a Hub id).

        The defaults are InternVL3's: 448-pixel tiles, 256 tokens per tile, up to 12 tiles plus a thumbnail. The
        tokenizer gets the VLASER chat template.
        """
        if not isinstance(tokenizer, PreTrainedTokenizerBase):
            tokenizer = AutoTokenizer.from_pretrained(
                tokenizer, extra_special_tokens=dict(INTERNVL_EXTRA_SPECIAL_TOKENS)
            )
        tokenizer.chat_template = VLASER_CHAT_TEMPLATE
        return cls(
            image_processor=make_image_processor(image_size, max_patches),
            tokenizer=tokenizer,
            image_seq_length=image_seq_length,
            chat_template=VLASER_CHAT_TEMPLATE,
            policy_system_prompt=policy_system_prompt,
            normalizer=normalizer,
        )

    # ------------------------------------------------------------------------------------------------------------------
    # Saving and loading (the normalization statistics travel beside the processor files)
    # ------------------------------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        output = super().to_dict()
        # The statistics have their own file; processor_config.json keeps only plain settings.
        output.pop("normalizer", None)
        return output

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs) -> list[str]:
        """Save the processor files and, when there are statistics, `normalization_stats.json`.

        A stale `normalization_stats.json` in `save_directory` is removed when this processor has no statistics, so
        that loading the folder never picks up another policy's statistics.
        """
        save_directory = os.fspath(save_directory)
        os.makedirs(save_directory, exist_ok=True)
        if push_to_hub:
            from huggingface_hub import create_repo

            # Same steps as ProcessorMixin.save_pretrained, but the upload happens after the statistics are written.
            commit_message = kwargs.pop("commit_message", None)
            repo_id = kwargs.pop("repo_id", save_directory.split(os.path.sep)[-1])
            token = kwargs.get("token")
            repo_id = create_repo(repo_id, exist_ok=True, **kwargs).repo_id
            files_timestamps = self._get_files_timestamps(save_directory)
        saved_files = super().save_pretrained(save_directory, push_to_hub=False)
        stats_file = os.path.join(save_directory, NORMALIZATION_STATS_NAME)
        if self.normalizer is not None:
            self.normalizer.to_json_file(stats_file)
            saved_files = [*saved_files, stats_file]
        elif os.path.isfile(stats_file):
            logger.warning(f"Removing {stats_file}: the processor being saved has no normalization statistics.")
            os.remove(stats_file)
        if push_to_hub:
            self._upload_modified_files(
                save_directory, repo_id, files_timestamps, commit_message=commit_message, token=token
            )
        return saved_files

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs) -> VlaserProcessor:
        """Load a saved processor; `normalization_stats.json`, when present, becomes `processor.normalizer`."""
        hub_kwargs = {
            key: kwargs[key]
            for key in ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder")
            if key in kwargs
        }
        processor = super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        stats_file = cached_file(
            pretrained_model_name_or_path,
            NORMALIZATION_STATS_NAME,
            _raise_exceptions_for_missing_entries=False,
            **hub_kwargs,
        )
        processor.normalizer = ActionNormalizer.from_json_file(stats_file) if stats_file is not None else None
        return processor

    # ------------------------------------------------------------------------------------------------------------------
    # Normalization
    # ------------------------------------------------------------------------------------------------------------------

    def _require_normalizer(self) -> ActionNormalizer:
        if self.normalizer is None:
            raise ValueError(
                "this processor has no normalization statistics; set `processor.normalizer` (e.g. "
                "`ActionNormalizer.from_data(states, actions)` or `ActionNormalizer.from_official_statistics(path)`) "
                f"or load a processor folder that contains {NORMALIZATION_STATS_NAME}"
            )
        return self.normalizer

    def normalize_state(self, state: Any) -> Any:
        """Normalize raw robot states `(..., state_dim)` to [-1, 1] (see [`ActionNormalizer`])."""
        return self._require_normalizer().normalize_state(state)

    def normalize_actions(self, actions: Any) -> Any:
        """Normalize raw actions `(..., action_dim)` to [-1, 1] (see [`ActionNormalizer`])."""
        return self._require_normalizer().normalize_actions(actions)

    def unnormalize_actions(self, actions: Any) -> Any:
        """Map normalized model actions `(..., action_dim)` back to robot units (see [`ActionNormalizer`])."""
        return self._require_normalizer().unnormalize_actions(actions)

    # ------------------------------------------------------------------------------------------------------------------
    # Policy inputs
    # ------------------------------------------------------------------------------------------------------------------

    def build_policy_prompt(self, instruction: str, num_images: int = 1) -> str:
        """The action prompt: one user turn with `num_images` images and the instruction, then the assistant header.

        With `num_images=1` and no system prompt it renders
        `<|im_start|>user\\n<IMG_CONTEXT>\\n{instruction}<|im_end|>\\n<|im_start|>assistant\\n`.
        """
        messages: list[dict[str, Any]] = []
        if self.policy_system_prompt is not None:
            messages.append({"role": "system", "content": self.policy_system_prompt})
        content = [{"type": "image"} for _ in range(num_images)] + [{"type": "text", "text": instruction}]
        messages.append({"role": "user", "content": content})
        return self.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def prepare_policy_inputs(
        self,
        images: Any,
        instructions: str | Sequence[str],
        states: Any = None,
        actions: Any = None,
        padding: bool | str = True,
        max_length: int | None = None,
    ) -> BatchFeature:
        """Tokenize a batch of observations for the action model.

        Args:
            images:
                One entry per sample: a `PIL.Image.Image` or an `(H, W, 3)` uint8 numpy array, or a list of them (one
                per camera, the same number for every sample). A single image (not in a list) is a batch of one.
            instructions (`str` or `Sequence[str]`):
                One task instruction per sample (a single string for a batch of one).
            states (*optional*):
                Raw robot states, shape `(batch, state_dim)`; normalized with the processor's statistics.
            actions (*optional*):
                Raw action chunks, shape `(batch, chunk, action_dim)`; normalized with the processor's statistics
                (for training collators).
            padding (`bool` or `str`, *optional*, defaults to `True`):
                Tokenizer padding (always on the right, as the official Vlaser code); `"max_length"` needs
                `max_length`. Never truncates: cutting image tokens would break the model.
            max_length (`int`, *optional*):
                Length to pad to with `padding="max_length"`.

        Returns:
            [`BatchFeature`] with `pixel_values` (float32, `(total_tiles, 3, H, W)`), `input_ids` and `attention_mask`
            (`(batch, length)`, right padded), plus `state` (float32 `(batch, state_dim)`) and `actions` (float32
            `(batch, chunk, action_dim)`) when given.
        """
        per_sample_images = self._validate_policy_images(images)
        batch_size = len(per_sample_images)
        if isinstance(instructions, str):
            instructions = [instructions]
        if not isinstance(instructions, Sequence) or not all(isinstance(text, str) for text in instructions):
            raise TypeError("instructions must be a string or a sequence of strings (one per sample)")
        if len(instructions) != batch_size:
            raise ValueError(f"got {batch_size} samples in `images` but {len(instructions)} `instructions`")

        prompts = [
            self.build_policy_prompt(text, num_images=len(views))
            for text, views in zip(instructions, per_sample_images, strict=True)
        ]
        flat_images = [image for views in per_sample_images for image in views]
        if padding == "max_length" and max_length is None:
            raise ValueError('padding="max_length" needs `max_length`')
        text_kwargs: dict[str, Any] = {"padding": padding, "padding_side": "right", "truncation": False}
        if max_length is not None:
            text_kwargs["max_length"] = max_length
        # Untensorized first, so that a prompt longer than `max_length` gets a clear error instead of a ragged batch.
        inputs = self(images=flat_images, text=prompts, **text_kwargs)
        longest = max(len(ids) for ids in inputs["input_ids"])
        if max_length is not None and longest > max_length:
            raise ValueError(
                f"the action prompt needs {longest} tokens but max_length is {max_length}; raise max_length (prompts "
                "are never truncated: the image tokens must stay whole)"
            )
        data: dict[str, Any] = {
            "pixel_values": torch.from_numpy(np.stack(inputs["pixel_values"]).astype(np.float32)),
            "input_ids": torch.tensor(inputs["input_ids"], dtype=torch.long),
            "attention_mask": torch.tensor(inputs["attention_mask"], dtype=torch.long),
        }

        if states is not None:
            state = self._as_float_tensor(states, "states")
            if state.ndim != 2 or state.shape[0] != batch_size:
                raise ValueError(f"states must have shape (batch={batch_size}, state_dim), got {tuple(state.shape)}")
            data["state"] = self.normalize_state(state).to(torch.float32)
        if actions is not None:
            action = self._as_float_tensor(actions, "actions")
            if action.ndim != 3 or action.shape[0] != batch_size:
                raise ValueError(
                    f"actions must have shape (batch={batch_size}, chunk, action_dim), got {tuple(action.shape)}"
                )
            data["actions"] = self.normalize_actions(action).to(torch.float32)
        return BatchFeature(data=data)

    @staticmethod
    def _as_float_tensor(values: Any, name: str) -> torch.Tensor:
        if isinstance(values, torch.Tensor):
            return values.to(torch.float32) if not values.is_floating_point() else values
        try:
            array = np.asarray(values, dtype=np.float32)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a numeric array or tensor, got {type(values).__name__}") from None
        return torch.from_numpy(array)

    @staticmethod
    def _validate_policy_images(images: Any) -> list[list[Any]]:
        """Return one list of camera images per sample, each checked to be PIL or (H, W, 3) uint8."""
        from PIL import Image

        if images is None:
            raise ValueError(
                "images is required: one PIL image or (H, W, 3) uint8 array (or a list, per camera) per sample"
            )
        if isinstance(images, (Image.Image, np.ndarray)):
            images = [images]
        if not isinstance(images, (list, tuple)) or len(images) == 0:
            raise TypeError(
                "images must be a non-empty list with one entry per sample (a PIL image, an (H, W, 3) uint8 array or "
                f"a list of them), got {type(images).__name__}"
            )
        per_sample = []
        for index, sample in enumerate(images):
            views = list(sample) if isinstance(sample, (list, tuple)) else [sample]
            if not views:
                raise ValueError(f"images[{index}] is empty; every sample needs at least one image")
            nested = isinstance(sample, (list, tuple))
            for view_index, view in enumerate(views):
                VlaserProcessor._check_image(view, f"images[{index}][{view_index}]" if nested else f"images[{index}]")
            per_sample.append(views)
        counts = {len(views) for views in per_sample}
        if len(counts) > 1:
            raise ValueError(f"every sample needs the same number of camera images, got {sorted(counts)}")
        return per_sample

    @staticmethod
    def _check_image(image: Any, where: str) -> None:
        from PIL import Image

        expected = "a PIL.Image.Image or a numpy array of shape (H, W, 3) and dtype uint8"
        if image is None:
            raise ValueError(f"{where} is missing: expected {expected}")
        if isinstance(image, Image.Image):
            return
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[-1] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
                raise ValueError(f"{where} has shape {image.shape}: expected {expected}")
            if image.dtype != np.uint8:
                raise ValueError(f"{where} has dtype {image.dtype}: expected {expected}")
            return
        raise TypeError(f"{where} is a {type(image).__module__}.{type(image).__name__}: expected {expected}")


def load_tiny_processor(normalizer: ActionNormalizer | None = None) -> VlaserProcessor:
    """The processor of the `tiny` preset: the project's 2048-token tokenizer, 224 x 224 single tiles (no thumbnail),
    64 image tokens per tile. Loads offline from the package data."""
    tokenizer = AutoTokenizer.from_pretrained(TINY_TOKENIZER_DIR)
    return VlaserProcessor(
        image_processor=make_image_processor(TINY_IMAGE_SIZE, max_patches=1),
        tokenizer=tokenizer,
        image_seq_length=TINY_IMAGE_SEQ_LENGTH,
        normalizer=normalizer,
    )
