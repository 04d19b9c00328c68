"""What the demo computes, without any Gradio: load a checkpoint, answer grounding / planning / spatial questions about
an image, predict an action chunk, and roll the policy out in a simulator.

Kept apart from `app.py` so it can be tested and reused directly, and so every check of user input lives in one
place: `DemoInputError` carries a message meant for the person at the page (the app turns it into `gr.Error`).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import torch

from modeling_vlaser.generation import generate_answer
from modeling_vlaser.grounding import GroundedObject, parse_grounding, to_pixels

DEFAULT_MODEL = "outputs/quickstart/policy"
"""The checkpoint `make quickstart` writes; `VLASER_MODEL` names another folder or a Hub repo id."""

# Worded as questions of the in-domain data engine (hub_datasets/in_domain; a test keeps them among its templates), so
# a model trained on VLASER-6M is asked the way it was trained. Copied rather than imported: the engine's package would
# add seconds of start-up (pyarrow, datasets) and its files to the Space for three strings.
GROUNDING_PROMPTS = {
    "box": "Detect {phrase} and output its bounding box. Answer with <box>[[x1, y1, x2, y2]]</box>, coordinates "
    "normalized to 0-1000.",
    "point": "Mark a point on {phrase}. Answer with <point>[[x, y]]</point>, coordinates normalized to 0-1000.",
}
PLANNING_PROMPT = "Give a step-by-step plan to {instruction}."
MAX_PROMPT_CHARS = 500
VIDEO_MAX_AGE_S = 3600


class DemoInputError(ValueError):
    """Bad input or a request the loaded checkpoint cannot serve; the message is shown to the user as is."""


class ModelUnavailableError(RuntimeError):
    """No checkpoint could be loaded; the message says where it was looked for and how to get one."""


class RequestTimeoutError(DemoInputError):
    """A request ran past its time limit."""


@dataclass(frozen=True)
class DemoSettings:
    """Limits of one demo server.

    Attributes:
        model: checkpoint folder or Hub repo id.
        max_image_side: larger images are scaled down to this many pixels on their longer side before anything else
            (the tiny model sees 224 pixels, InternVL3 at most 12 tiles of 448: more is only memory and upload time).
        max_new_tokens: cap on generated answer tokens.
        timeout_s: per-request time limit, counted from when the request starts running (not its time in the queue).
        max_rollout_steps: cap on simulator steps of one rollout.
        device: "cuda" when available, else "cpu" (`None` picks).
    """

    model: str = DEFAULT_MODEL
    max_image_side: int = 1024
    max_new_tokens: int = 96
    timeout_s: float = 60.0
    max_rollout_steps: int = 120
    device: str | None = None


@dataclass
class Deadline:
    """A point in time by which a request must finish."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.start)

    def check(self, what: str) -> None:
        if self.remaining() <= 0:
            raise RequestTimeoutError(
                f"{what} took longer than the {self.seconds:g} s limit of one request; try fewer rollout steps or a "
                "smaller image"
            )


@dataclass(frozen=True)
class SimScene:
    """A simulator start state the demo can show and roll out: an example of the gallery.

    Attributes:
        image: path of the rendered first frame (PNG).
        suite / task / seed: `simulation.registry.make_env(suite, task, **env_options).reset(seed)` gives this frame.
        camera: the camera the frame is from.
        instruction: the task's instruction.
        state: the robot state at that frame (raw units).
        objects: names of the objects in the scene, for grounding queries.
        action_names: the suite's names of the action dimensions (for the plot).
        env_options: keyword options of the environment (cameras, image size).
    """

    image: str
    suite: str
    task: str
    seed: int
    camera: str
    instruction: str
    state: tuple[float, ...]
    objects: tuple[str, ...] = ()
    action_names: tuple[str, ...] = ()
    env_options: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.suite} / {self.task} / seed {self.seed}"


# ---------------------------------------------------------------------------------------------------- input checks


def check_text(value: Any, field_name: str) -> str:
    """A non-empty prompt of at most `MAX_PROMPT_CHARS` characters, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise DemoInputError(f"{field_name}: type something first (it is empty)")
    text = value.strip()
    if len(text) > MAX_PROMPT_CHARS:
        raise DemoInputError(f"{field_name}: at most {MAX_PROMPT_CHARS} characters, got {len(text)}")
    return text


def prepare_image(image: Any, max_side: int, field_name: str = "image") -> PIL.Image.Image:
    """An RGB PIL image no larger than `max_side` on its longer side; anything else raises `DemoInputError`.

    Accepts a PIL image, an (H, W, 3|4) or (H, W) uint8 array, or a path to an image file.
    """
    if image is None:
        raise DemoInputError(f"{field_name}: upload an image or pick a frame from the gallery")
    if isinstance(image, (str, os.PathLike)):
        try:
            with PIL.Image.open(image) as opened:
                opened.load()
                image = opened.copy()
        except (PIL.UnidentifiedImageError, OSError, PIL.Image.DecompressionBombError) as error:
            raise DemoInputError(
                f"{field_name}: expected an image file (PNG, JPEG, WebP, ...), but {Path(image).name!r} could not be "
                f"read as one ({type(error).__name__})"
            ) from None
    elif isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
            raise DemoInputError(
                f"{field_name}: expected an (H, W, 3) uint8 array, got dtype {image.dtype} and shape {image.shape}"
            )
        image = PIL.Image.fromarray(image)
    elif not isinstance(image, PIL.Image.Image):
        raise DemoInputError(f"{field_name}: expected an image, got {type(image).__name__}")
    if min(image.size) < 1:
        raise DemoInputError(f"{field_name}: the image is empty ({image.size[0]}x{image.size[1]})")
    image = image.convert("RGB")
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
        image = image.resize(size, PIL.Image.Resampling.LANCZOS)
    return image


def parse_state(text: Any, state_dim: int) -> np.ndarray:
    """Robot state from text such as `"0.1, -0.2, 0.3"` or `"[0.1 -0.2 0.3]"`: exactly `state_dim` finite numbers."""
    if isinstance(text, (list, tuple, np.ndarray)):
        values = list(np.asarray(text, dtype=np.float64).ravel())
    else:
        if not isinstance(text, str) or not text.strip():
            raise DemoInputError(f"state: enter the robot state as {state_dim} numbers separated by commas")
        values = []
        for token in (token for token in re.split(r"[\s,;\[\]()]+", text.strip()) if token):
            try:
                values.append(float(token))
            except ValueError:
                raise DemoInputError(f"state: {token!r} is not a number; expected {state_dim} numbers") from None
    if len(values) != state_dim:
        raise DemoInputError(f"state: this checkpoint expects {state_dim} numbers (its state_dim), got {len(values)}")
    if not all(math.isfinite(value) for value in values):
        raise DemoInputError("state: every number must be finite (no nan or inf)")
    return np.asarray(values, dtype=np.float32)


def format_state(state: Any) -> str:
    return ", ".join(f"{value:.4g}" for value in np.asarray(state, dtype=np.float64).ravel())


# ---------------------------------------------------------------------------------------------------- answers


_STEP_NUMBER = re.compile(r"(?:^|(?<=\s))(?:step\s*)?\d{1,2}\s*[.):]\s+", re.IGNORECASE)


def split_plan(answer: str) -> list[str]:
    """The steps of a plan answer: numbered items ("1. ...", "2) ...", "Step 3: ..."), else one step per line."""
    pieces = [piece.strip(" \n;") for piece in _STEP_NUMBER.split(answer)]
    steps = [piece for piece in pieces if piece]
    if len(steps) <= 1:
        steps = [line.strip(" -*•") for line in answer.splitlines() if line.strip(" -*•")]
    return steps


def grounding_annotations(
    objects: list[GroundedObject], width: int, height: int, default_label: str
) -> list[tuple[tuple[int, int, int, int] | np.ndarray, str]]:
    """`gr.AnnotatedImage` annotations in pixels: a box per `<box>`, a small disc mask per `<point>`.

    Boxes with their corners swapped are put in order; coordinates are clamped to the image.
    """
    annotations: list[tuple[tuple[int, int, int, int] | np.ndarray, str]] = []
    radius = max(3, round(min(width, height) / 40))
    ys, xs = np.ogrid[:height, :width]
    for grounded in objects:
        label = grounded.ref or default_label
        for box in grounded.boxes:
            x1, y1, x2, y2 = to_pixels(box, width, height)
            left, right = (_clamp(x, width) for x in sorted((x1, x2)))
            top, bottom = (_clamp(y, height) for y in sorted((y1, y2)))
            annotations.append(((left, top, right, bottom), label))
        for point in grounded.points:
            x, y = to_pixels(point, width, height)
            mask = ((xs - x) ** 2 + (ys - y) ** 2 <= radius**2).astype(np.float32)
            annotations.append((mask, label))
    return annotations


def _clamp(value: float, size: int) -> int:
    return int(min(max(round(value), 0), size - 1))


def plot_chunk(chunk: np.ndarray, names: list[str] | None = None, title: str = "") -> np.ndarray:
    """One small line plot per action dimension over the chunk's steps, as an RGB array.

    Matplotlib's object API rather than pyplot: requests run in several server threads, and pyplot's figure registry
    is global state.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps, dims = chunk.shape
    names = names if names and len(names) == dims else [f"a{index}" for index in range(dims)]
    columns = min(4, dims)
    rows = math.ceil(dims / columns)
    figure = Figure(figsize=(3.2 * columns, 1.9 * rows))
    canvas = FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True)
    for index, axis in enumerate(axes.flat):
        if index >= dims:
            axis.axis("off")
            continue
        axis.plot(range(steps), chunk[:, index], marker="o", markersize=3, linewidth=1.4, color="#3b5bdb")
        axis.set_title(names[index], fontsize=9)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    for axis in axes[-1]:
        axis.set_xlabel("step of the chunk", fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


# ---------------------------------------------------------------------------------------------------- the model


@dataclass
class GroundingAnswer:
    answer: str
    prompt: str
    image: PIL.Image.Image
    annotations: list[tuple[tuple[int, int, int, int] | np.ndarray, str]]


@dataclass
class ActionPreview:
    chunk: np.ndarray  # (chunk_size, action_dim), raw units
    names: list[str]
    plot: np.ndarray  # (H, W, 3) uint8
    video: str | None = None
    rollout_summary: str = ""


def draw_answer(image: Any, answer: Any, label: Any = "", max_image_side: int = 1024) -> GroundingAnswer:
    """Annotations for a grounding answer typed or pasted by the user (another model's, or a corrected one)."""
    answer = check_text(answer, "answer")
    image = prepare_image(image, max_image_side)
    objects = parse_grounding(answer)
    if not any(grounded.boxes or grounded.points for grounded in objects):
        raise DemoInputError("answer: no <box>[[x1, y1, x2, y2]]</box> or <point>[[x, y]]</point> to draw")
    default = label.strip() if isinstance(label, str) and label.strip() else "answer"
    return GroundingAnswer(answer, "", image, grounding_annotations(objects, image.width, image.height, default))


class _RequestPolicy:
    """The policy as one request drives it in a rollout: with the user's instruction (the evaluator passes the task's
    own), and refusing to start another query once the request's time is up."""

    def __init__(self, policy: Any, instruction: str, deadline: Deadline) -> None:
        self.policy, self.instruction, self.deadline = policy, instruction, deadline
        self.config = policy.config

    def predict_action(self, images: Any, task_instruction: str, state: Any) -> np.ndarray:
        self.deadline.check("the rollout")
        return self.policy.predict_action(images, self.instruction, state)


class DemoBackend:
    """A loaded checkpoint and the requests the demo makes of it.

    Text generation runs concurrently from the server's worker threads (inference only, no shared mutable state);
    simulator rollouts take a lock because an environment is one mutable physics state.
    """

    def __init__(self, model: Any, processor: Any, settings: DemoSettings, source: str) -> None:
        from modeling_vlaser import VlaserPolicy

        self.model, self.processor, self.settings, self.source = model.eval(), processor, settings, source
        # A stage-1 (reasoning only) checkpoint has no action statistics: it still answers questions.
        self.policy = VlaserPolicy(model, processor) if processor.normalizer is not None else None
        self._rollout_lock = threading.Lock()
        self._video_dir = Path(tempfile.mkdtemp(prefix="vlaser_demo_videos_"))
        self._envs: dict[tuple[str, str, str], Any] = {}

    @classmethod
    def load(cls, settings: DemoSettings) -> DemoBackend:
        """Load `settings.model` (folder or Hub repo id); `ModelUnavailableError` says why when there is none."""
        from modeling_vlaser import VlaserForActionPrediction, VlaserProcessor

        source = settings.model
        if source == DEFAULT_MODEL and not Path(source).is_dir():
            raise ModelUnavailableError(
                f"no checkpoint at {source}: run `make quickstart` to train the tiny one, or set VLASER_MODEL to a "
                "VLASER checkpoint folder or Hub repo id"
            )
        device = settings.device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            processor = VlaserProcessor.from_pretrained(source)
            model = VlaserForActionPrediction.from_pretrained(
                source, dtype=torch.bfloat16 if device == "cuda" else torch.float32
            )
        except (OSError, ValueError) as error:
            raise ModelUnavailableError(
                f"could not load a VLASER checkpoint from {source!r} ({type(error).__name__}: {error}). Set "
                "VLASER_MODEL to a checkpoint folder or Hub repo id, or run `make quickstart`"
            ) from error
        return cls(model.to(device), processor, settings, source)

    # ------------------------------------------------------------------------------------------------ text
    def generate(self, image: PIL.Image.Image, question: str, deadline: Deadline) -> str:
        """Greedy answer of the model to one question about one image, stopped at the request's deadline."""
        answer = generate_answer(
            self.model,
            self.processor,
            image,
            question,
            max_new_tokens=self.settings.max_new_tokens,
            max_time=max(deadline.remaining(), 0.01),
        )
        deadline.check("the answer")
        return answer

    def ground(self, image: Any, phrase: Any, kind: str = "box") -> GroundingAnswer:
        """Boxes (or points) for an object phrase, ready for `gr.AnnotatedImage`."""
        deadline = Deadline(self.settings.timeout_s)
        if kind not in GROUNDING_PROMPTS:
            raise DemoInputError(f"answer kind: expected one of {sorted(GROUNDING_PROMPTS)}, got {kind!r}")
        phrase = check_text(phrase, "object")
        image = prepare_image(image, self.settings.max_image_side)
        prompt = GROUNDING_PROMPTS[kind].format(phrase=phrase)
        answer = self.generate(image, prompt, deadline)
        annotations = grounding_annotations(parse_grounding(answer), image.width, image.height, phrase)
        return GroundingAnswer(answer, prompt, image, annotations)

    def plan(self, image: Any, instruction: Any) -> tuple[str, list[str]]:
        """The raw plan answer and its steps."""
        deadline = Deadline(self.settings.timeout_s)
        instruction = check_text(instruction, "instruction").rstrip(".!?")
        image = prepare_image(image, self.settings.max_image_side)
        answer = self.generate(image, PLANNING_PROMPT.format(instruction=instruction), deadline)
        return answer, split_plan(answer)

    def ask(self, image: Any, question: Any) -> str:
        deadline = Deadline(self.settings.timeout_s)
        question = check_text(question, "question")
        return self.generate(prepare_image(image, self.settings.max_image_side), question, deadline)

    # ------------------------------------------------------------------------------------------------ actions
    def _require_policy(self) -> Any:
        if self.policy is None:
            raise DemoInputError(
                f"{self.source} has no action normalization statistics (normalization_stats.json): it is a reasoning "
                "checkpoint, not a policy, so it cannot predict actions"
            )
        return self.policy

    def preview_actions(
        self,
        image: Any,
        instruction: Any,
        state: Any,
        scene: SimScene | None = None,
        rollout_steps: int = 0,
        seed: int = 0,
    ) -> ActionPreview:
        """The predicted chunk (raw units) for one observation, plotted; with `scene` and `rollout_steps > 0`, also a
        closed-loop rollout from the scene's start state filmed to an MP4."""
        deadline = Deadline(self.settings.timeout_s)
        policy = self._require_policy()
        instruction = check_text(instruction, "instruction")
        image = prepare_image(image, self.settings.max_image_side)
        state = parse_state(state, policy.config.state_dim)
        rollout_steps = int(rollout_steps or 0)
        if not 0 <= rollout_steps <= self.settings.max_rollout_steps:
            raise DemoInputError(f"rollout steps: expected 0..{self.settings.max_rollout_steps}, got {rollout_steps}")
        if rollout_steps and scene is None:
            raise DemoInputError("rollout: pick a simulator scene from the gallery first (an upload has no simulator)")
        noise = torch.randn(
            1, policy.config.chunk_size, policy.config.action_dim, generator=torch.Generator().manual_seed(seed)
        )
        chunk = policy.predict_action(np.asarray(image), instruction, state, noise=noise)[0]
        deadline.check("the action chunk")
        action_dim = chunk.shape[1]
        names = list(scene.action_names) if scene and len(scene.action_names) == action_dim else None
        names = names or [f"a{index}" for index in range(action_dim)]
        preview = ActionPreview(chunk, names, plot_chunk(chunk, names, title=instruction))
        if rollout_steps:
            preview.video, preview.rollout_summary = self.rollout(scene, instruction, rollout_steps, deadline)
        return preview

    def rollout(self, scene: SimScene, instruction: str, steps: int, deadline: Deadline) -> tuple[str, str]:
        """Run the policy closed-loop for `steps` simulator steps from the scene's start; returns (MP4 path, summary)."""
        from eval.closed_loop.runner import rollout, write_video
        from simulation.registry import make_env

        policy = self._require_policy()
        with self._rollout_lock:
            key = (scene.suite, scene.task, repr(sorted(scene.env_options.items())))
            if key not in self._envs:
                try:
                    self._envs[key] = make_env(scene.suite, scene.task, **scene.env_options)
                except (ImportError, KeyError) as error:  # a suite whose simulator is not installed here
                    raise DemoInputError(
                        f"rollout: {scene.suite}/{scene.task} is not available here: {error}"
                    ) from None
            env = self._envs[key]
            if env.spec.action_dim != policy.config.action_dim:
                raise DemoInputError(
                    f"rollout: {scene.suite}/{scene.task} takes {env.spec.action_dim}-dim actions but this checkpoint "
                    f"predicts {policy.config.action_dim}: it was trained for another robot"
                )
            success, taken, queries, frames = rollout(
                env, _RequestPolicy(policy, instruction, deadline), scene.seed, steps, film=True
            )
            video = self._video_path(f"{scene.task}_seed{scene.seed}")
            write_video(video, frames, env.spec.fps)
        outcome = "succeeded" if success else "not done"
        summary = f"{taken} steps ({queries} policy queries) of {scene.label}: {outcome}"
        return str(video), summary

    def _video_path(self, stem: str) -> Path:
        """A new MP4 path in this server's video folder; videos older than an hour go (Gradio has its copy)."""
        for old in self._video_dir.glob("*.mp4"):
            if time.time() - old.stat().st_mtime > VIDEO_MAX_AGE_S:
                old.unlink(missing_ok=True)
        return self._video_dir / f"{stem}_{uuid.uuid4().hex[:8]}.mp4"

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()
        shutil.rmtree(self._video_dir, ignore_errors=True)
