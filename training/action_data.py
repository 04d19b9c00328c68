"""Stage-2 samples from robot episodes in the LeRobot v3 layout.

One sample is the camera image(s) and instruction at frame t, the state at t and the actions t … t+P−1. Near an
episode's end the chunk is padded by repeating the last action and those steps are masked out of the loss.
"""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageEnhance

from hub_datasets.episodes import LeRobotEpisodes
from modeling_vlaser import ActionNormalizer, VlaserProcessor

STATE_KEY, ACTION_KEY = "observation.state", "action"


@dataclass
class AugmentationConfig:
    """Image augmentation of the official recipe (random resized crop, colour jitter), off by default.

    Deterministic: sample `index` in epoch `epoch` always gets the same crop and jitter under the same `seed`.
    """

    crop_scale: tuple[float, float] = (0.8, 1.0)
    crop_ratio: tuple[float, float] = (0.9, 1.1)
    brightness: float = 0.1
    contrast: tuple[float, float] = (0.9, 1.1)
    saturation: tuple[float, float] = (0.9, 1.1)
    seed: int = 0

    def apply(self, image: Image.Image, index: int, epoch: int = 0) -> Image.Image:
        rng = np.random.default_rng([self.seed, epoch, index])
        width, height = image.size
        area = width * height * rng.uniform(*self.crop_scale)
        ratio = np.exp(rng.uniform(np.log(self.crop_ratio[0]), np.log(self.crop_ratio[1])))
        crop_w = int(round(min(width, np.sqrt(area * ratio))))
        crop_h = int(round(min(height, np.sqrt(area / ratio))))
        left = int(rng.integers(0, width - crop_w + 1))
        top = int(rng.integers(0, height - crop_h + 1))
        image = image.crop((left, top, left + crop_w, top + crop_h)).resize((width, height), Image.BICUBIC)
        image = ImageEnhance.Brightness(image).enhance(1 + rng.uniform(-self.brightness, self.brightness))
        image = ImageEnhance.Contrast(image).enhance(rng.uniform(*self.contrast))
        return ImageEnhance.Color(image).enhance(rng.uniform(*self.saturation))


class ActionChunkDataset(torch.utils.data.Dataset):
    """Every frame of every episode of one or more LeRobot datasets, as a (observation, action chunk) sample."""

    def __init__(
        self,
        sources: Sequence[LeRobotEpisodes],
        chunk_size: int,
        camera_keys: Sequence[str] | None = None,
        augmentation: AugmentationConfig | None = None,
    ):
        if not sources:
            raise ValueError("no episode datasets given: set `episodes:` in the config")
        self.sources = list(sources)
        self.chunk_size = chunk_size
        self.augmentation = augmentation
        self.epoch = 0
        first = self.sources[0]
        self.camera_keys = list(camera_keys or first.camera_keys)
        if not self.camera_keys:
            raise ValueError(f"{first.root}: the dataset has no camera (observation.images.*) column")
        for source in self.sources:
            missing = [key for key in (*self.camera_keys, STATE_KEY, ACTION_KEY) if key not in source.features]
            if missing:
                raise ValueError(f"{source.root} has no {missing} feature(s); it has {sorted(source.features)}")
            if source.num_frames == 0:
                raise ValueError(f"{source.root} has no frames: nothing to train on")
        self.state_dim = _feature_dim(first, STATE_KEY)
        self.action_dim = _feature_dim(first, ACTION_KEY)
        for source in self.sources[1:]:
            dims = (_feature_dim(source, STATE_KEY), _feature_dim(source, ACTION_KEY))
            if dims != (self.state_dim, self.action_dim):
                raise ValueError(
                    f"{source.root} has state/action dims {dims}, but {first.root} has "
                    f"{(self.state_dim, self.action_dim)}: datasets of one run must share them"
                )
        self._offsets = np.cumsum([0] + [source.num_frames for source in self.sources]).tolist()
        self._actions = [source.column(ACTION_KEY) for source in self.sources]  # (frames, action_dim), no images

    def __len__(self) -> int:
        return self._offsets[-1]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict:
        source_index = bisect.bisect_right(self._offsets, index) - 1
        source, frame_index = self.sources[source_index], index - self._offsets[source_index]
        frame = source.frame(frame_index)
        episode_end = source.episode_range(frame["episode_index"]).stop
        chunk = list(self._actions[source_index][frame_index : min(episode_end, frame_index + self.chunk_size)])
        valid = len(chunk)
        chunk += [chunk[-1]] * (self.chunk_size - valid)  # repeat the last action; masked out of the loss
        images = [Image.fromarray(frame[key]) for key in self.camera_keys]
        if self.augmentation is not None:
            images = [self.augmentation.apply(image, index, self.epoch) for image in images]
        actions = np.stack(chunk).astype(np.float32)
        for name, values in ((STATE_KEY, frame[STATE_KEY]), (ACTION_KEY, actions)):
            if not np.isfinite(values).all():
                raise ValueError(f"{source.root}: {name} contains NaN/inf at frame {frame_index}")
        return {
            "images": images,
            "instruction": frame["task"],
            "state": np.asarray(frame[STATE_KEY], dtype=np.float32),
            "actions": actions,
            "action_mask": np.arange(self.chunk_size) < valid,
        }


def _feature_dim(source: LeRobotEpisodes, key: str) -> int:
    return int(np.prod(source.features[key]["shape"]))


class ActionChunkCollator:
    """Batches samples through the processor, which normalizes states and actions with the run's statistics."""

    def __init__(self, processor: VlaserProcessor):
        self.processor = processor

    def __call__(self, samples: list[dict]) -> dict[str, torch.Tensor]:
        batch = self.processor.prepare_policy_inputs(
            [sample["images"] for sample in samples],
            [sample["instruction"] for sample in samples],
            states=np.stack([sample["state"] for sample in samples]),
            actions=np.stack([sample["actions"] for sample in samples]),
        )
        batch = dict(batch)
        batch["action_mask"] = torch.as_tensor(np.stack([sample["action_mask"] for sample in samples]))
        return batch


def compute_normalizer(
    sources: Sequence[LeRobotEpisodes], raw_action_dims: Sequence[int] = (), cache_file: str | os.PathLike | None = None
) -> ActionNormalizer:
    """Per-dimension q01/q99 of states and actions over all frames (quantiles from the data itself, not from
    per-episode summaries). Cached in `cache_file` with the dataset identity, so a resumed run reuses it."""
    identity = [[str(source.root), source.num_frames] for source in sources]
    if cache_file is not None and Path(cache_file).is_file():
        cached = json.loads(Path(cache_file).read_text())
        if cached.get("sources") == identity and cached.get("raw_action_dims") == list(raw_action_dims):
            return ActionNormalizer.from_dict(cached["statistics"])
    for source in sources:
        for name in (STATE_KEY, ACTION_KEY):
            bad = np.argwhere(~np.isfinite(source.column(name)))
            if len(bad):
                raise ValueError(f"{source.root}: {name} contains NaN/inf at frame {int(bad[0][0])}")
    states = np.concatenate([source.column(STATE_KEY) for source in sources]).astype(np.float64)
    actions = np.concatenate([source.column(ACTION_KEY) for source in sources]).astype(np.float64)
    normalizer = ActionNormalizer.from_data(states, actions, raw_action_dims=list(raw_action_dims))
    if cache_file is not None:
        Path(cache_file).parent.mkdir(parents=True, exist_ok=True)
        payload = {"sources": identity, "raw_action_dims": list(raw_action_dims), "statistics": normalizer.to_dict()}
        tmp = Path(f"{cache_file}.{os.getpid()}.tmp")  # every data-parallel rank may write it: no shared temp name
        tmp.write_text(json.dumps(payload))
        tmp.replace(cache_file)
    return normalizer
