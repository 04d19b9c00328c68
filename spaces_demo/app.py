"""VLASER demo: grounding, planning, spatial QA and action preview on frames from the project's simulators.

    python spaces_demo/app.py                      # the checkpoint `make quickstart` wrote, on http://127.0.0.1:7860
    VLASER_MODEL=you/vlaser-aloha python spaces_demo/app.py --port 7861
    vlaser demo --model outputs/quickstart/policy  # the same through the CLI (`make demo`)

The model comes from `--model` or `VLASER_MODEL` (a folder or a Hub repo id), else `outputs/quickstart/policy`.
Without one the page still opens and says how to get one. The server binds 127.0.0.1 unless `--host` or
`GRADIO_SERVER_NAME` (which Hugging Face Spaces set to 0.0.0.0) says otherwise.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script (`python spaces_demo/app.py`, or a Space's `app.py`), the project's packages sit one folder up in
# a checkout and beside this file in an exported Space; a module run needs neither.
_HERE = Path(__file__).resolve().parent
for _root in (_HERE, _HERE.parent):
    if (_root / "modeling_vlaser").is_dir() and str(_root) not in sys.path:
        sys.path.insert(0, str(_root))

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import PIL.Image  # noqa: E402

if __package__:  # imported as a package: `vlaser demo`, the tests
    from . import backend as demo_backend
    from . import gradio_fixes
else:  # run as a script: `python spaces_demo/app.py`, or a Space's app.py
    import backend as demo_backend
    import gradio_fixes

DemoBackend, DemoInputError, DemoSettings = (
    demo_backend.DemoBackend,
    demo_backend.DemoInputError,
    demo_backend.DemoSettings,
)
ModelUnavailableError, SimScene = demo_backend.ModelUnavailableError, demo_backend.SimScene
draw_answer, format_state = demo_backend.draw_answer, demo_backend.format_state

gradio_fixes.apply()

EXAMPLES_FILE = _HERE / "examples" / "examples.json"
NO_SCENE = "none (my own image)"


def image_input(label: str, elem_id: str) -> gr.Image:
    """A PIL `gr.Image` whose unreadable uploads reach the user as a message naming the field.

    Plain `gr.Image` fails inside Gradio's preprocessing, which clients only see as "the app raised an exception".
    The check wraps this instance's `preprocess` rather than subclassing: Gradio writes a `.pyi` stub next to the
    module of every Component subclass.
    """
    component = gr.Image(type="pil", label=label, elem_id=elem_id)
    preprocess = component.preprocess

    def checked_preprocess(payload: Any) -> Any:
        try:
            return preprocess(payload)
        except (PIL.UnidentifiedImageError, PIL.Image.DecompressionBombError, OSError, ValueError) as error:
            name = getattr(payload, "orig_name", None) or Path(str(getattr(payload, "path", "upload"))).name
            raise gr.Error(
                f"{label}: expected an image file (PNG, JPEG, WebP, ...), but {name!r} could not be read as one "
                f"({type(error).__name__})"
            ) from None

    component.preprocess = checked_preprocess
    return component


def load_examples(path: Path = EXAMPLES_FILE) -> list[SimScene]:
    """The gallery: simulator start frames written by `python -m spaces_demo.make_examples`."""
    if not path.exists():
        return []
    scenes = []
    for entry in json.loads(path.read_text()):
        entry = dict(entry, image=str(path.parent / entry["image"]))
        for name in ("state", "objects", "action_names"):
            entry[name] = tuple(entry.get(name, ()))
        scenes.append(SimScene(**entry))
    return scenes


def _user_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input and unavailable models become `gr.Error`: a message in the page and `AppError` in API clients."""

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except DemoInputError as error:
            raise gr.Error(str(error)) from None

    return wrapped


class DemoApp:
    """The event handlers, bound to one backend (or to the reason there is none) and one gallery."""

    def __init__(self, backend: DemoBackend | None, scenes: list[SimScene], unavailable: str | None = None) -> None:
        self.backend, self.scenes, self.unavailable = backend, scenes, unavailable
        self.by_label = {scene.label: scene for scene in scenes}

    def _backend(self) -> DemoBackend:
        if self.backend is None:
            raise gr.Error(self.unavailable or "no model is loaded")
        return self.backend

    @_user_errors
    def ground(self, image: PIL.Image.Image | None, phrase: str, kind: str) -> tuple[Any, str]:
        result = self._backend().ground(image, phrase, kind)
        return (result.image, result.annotations), result.answer

    @_user_errors
    def draw(self, image: PIL.Image.Image | None, answer: str, phrase: str) -> Any:
        """Draw the answer in the raw-answer box (edited, or pasted from another model) on the image."""
        settings = self.backend.settings if self.backend else DemoSettings()  # drawing needs no model
        result = draw_answer(image, answer, phrase, settings.max_image_side)
        return result.image, result.annotations

    @_user_errors
    def plan(self, image: PIL.Image.Image | None, instruction: str) -> tuple[str, str]:
        answer, steps = self._backend().plan(image, instruction)
        numbered = "\n".join(f"{index}. {step}" for index, step in enumerate(steps, 1))
        return numbered or "_(the model gave no steps)_", answer

    @_user_errors
    def ask(self, image: PIL.Image.Image | None, question: str) -> str:
        return self._backend().ask(image, question)

    @_user_errors
    def preview_actions(
        self, scene_label: str, image: PIL.Image.Image | None, instruction: str, state: str, rollout_steps: float
    ) -> tuple[np.ndarray, pd.DataFrame, str | None, str]:
        scene = self.by_label.get(scene_label)
        if scene_label not in (None, "", NO_SCENE) and scene is None:
            raise gr.Error(f"scene: unknown simulator scene {scene_label!r}; pick one from the list")
        preview = self._backend().preview_actions(image, instruction, state, scene, int(rollout_steps or 0))
        table = pd.DataFrame(np.round(preview.chunk.astype(np.float64), 4), columns=preview.names)
        table.insert(0, "step", range(len(table)))
        summary = preview.rollout_summary or "No rollout (set the number of steps and pick a simulator scene)."
        return preview.plot, table, preview.video, summary

    def select_example(self, event: gr.SelectData) -> tuple[Any, ...]:
        """A gallery click fills every tab with the frame, its instruction and one of its objects."""
        scene = self.scenes[event.index]
        name = next(
            (name for name in scene.objects if "gripper" not in name), scene.objects[0] if scene.objects else ""
        )
        phrase = f"the {name}" if name else ""  # the wording of the in-domain questions
        question = f"Where is {phrase} relative to the robot?" if phrase else "What is on the table?"
        image = scene.image
        return image, phrase, image, scene.instruction, image, question, scene.label

    def select_scene(self, label: str) -> tuple[Any, Any, Any]:
        scene = self.by_label.get(label)
        if scene is None:
            return gr.update(), gr.update(), gr.update()
        return scene.image, scene.instruction, format_state(scene.state)


def build_demo(app: DemoApp) -> gr.Blocks:
    """The page. Endpoints: /ground, /draw, /plan, /ask and /preview_actions."""
    backend = app.backend
    max_steps = backend.settings.max_rollout_steps if backend else DemoSettings().max_rollout_steps
    # Gradio keeps every upload and output in its cache; a long-running Space would fill its disk otherwise.
    with gr.Blocks(title="VLASER demo", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(
            "# VLASER: embodied reasoning and action preview\n"
            "A vision-language model fine-tuned on in-domain embodied reasoning data, with a flow-matching action "
            "expert. Pick a frame from the project's simulators below or upload your own."
        )
        if backend is None:
            gr.Markdown(f"**No model loaded.** {app.unavailable}", elem_id="model-status")
        else:
            config = backend.model.config
            gr.Markdown(
                f"Model: `{backend.source}` · state {config.state_dim} · actions {config.action_dim} × "
                f"{config.chunk_size} per chunk · {'policy' if backend.policy else 'reasoning only'}",
                elem_id="model-status",
            )
        gallery = gr.Gallery(
            value=[(scene.image, f"{scene.suite}: {scene.instruction}") for scene in app.scenes],
            label="Frames from the project's simulators (click one)",
            columns=min(max(len(app.scenes), 1), 9),
            height=200,
            allow_preview=False,
            interactive=False,
            elem_id="example-gallery",
        )
        with gr.Tabs():
            with gr.Tab("Grounding", id="grounding"):
                with gr.Row():
                    with gr.Column():
                        ground_image = image_input("Image", "grounding-image")
                        phrase = gr.Textbox(label="Object", placeholder="the red cube", elem_id="grounding-phrase")
                        kind = gr.Radio(["box", "point"], value="box", label="Answer with")
                        ground_button = gr.Button("Locate", variant="primary", elem_id="grounding-submit")
                    with gr.Column():
                        annotated = gr.AnnotatedImage(label="Answer on the image", elem_id="grounding-output")
                        ground_raw = gr.Textbox(
                            label="Raw answer (edit it, or paste another model's, and draw it)",
                            interactive=True,
                            elem_id="grounding-raw",
                        )
                        draw_button = gr.Button("Draw this answer", elem_id="grounding-draw")
            with gr.Tab("Planning", id="planning"):
                with gr.Row():
                    with gr.Column():
                        plan_image = image_input("Image", "planning-image")
                        plan_instruction = gr.Textbox(label="Instruction", placeholder="put the cube in the box")
                        plan_button = gr.Button("Plan", variant="primary")
                    with gr.Column():
                        plan_steps = gr.Markdown(label="Plan", elem_id="planning-steps")
                        plan_raw = gr.Textbox(label="Raw answer")
            with gr.Tab("Spatial QA", id="spatial-qa"):
                with gr.Row():
                    with gr.Column():
                        qa_image = image_input("Image", "qa-image")
                        question = gr.Textbox(label="Question", placeholder="Is the cube left of the gripper?")
                        ask_button = gr.Button("Ask", variant="primary")
                    answer = gr.Textbox(label="Answer", elem_id="qa-answer")
            with gr.Tab("Action preview", id="action-preview"):
                with gr.Row():
                    with gr.Column():
                        scene = gr.Dropdown(
                            [NO_SCENE, *app.by_label], value=NO_SCENE, label="Simulator scene (needed for a rollout)"
                        )
                        action_image = image_input("Camera frame", "action-image")
                        action_instruction = gr.Textbox(label="Instruction")
                        state = gr.Textbox(label="Robot state (numbers separated by commas)")
                        rollout_steps = gr.Slider(0, max_steps, value=0, step=1, label="Rollout steps (0: none)")
                        action_button = gr.Button("Predict actions", variant="primary")
                    with gr.Column():
                        chunk_plot = gr.Image(type="numpy", label="Predicted chunk per dimension", interactive=False)
                        chunk_table = gr.Dataframe(label="Predicted chunk (raw units)", interactive=False)
                        video = gr.Video(label="Rollout", format="mp4", interactive=False)
                        rollout_summary = gr.Markdown()

        ground_button.click(app.ground, [ground_image, phrase, kind], [annotated, ground_raw], api_name="ground")
        draw_button.click(app.draw, [ground_image, ground_raw, phrase], annotated, api_name="draw")
        plan_button.click(app.plan, [plan_image, plan_instruction], [plan_steps, plan_raw], api_name="plan")
        ask_button.click(app.ask, [qa_image, question], answer, api_name="ask")
        action_button.click(
            app.preview_actions,
            [scene, action_image, action_instruction, state, rollout_steps],
            [chunk_plot, chunk_table, video, rollout_summary],
            api_name="preview_actions",
        )
        gallery.select(
            app.select_example,
            None,
            [ground_image, phrase, plan_image, plan_instruction, qa_image, question, scene],
            api_visibility="private",
            queue=False,
        )
        scene.change(
            app.select_scene, scene, [action_image, action_instruction, state], api_visibility="private", queue=False
        )
    return demo


def create_demo(settings: DemoSettings, examples: Path = EXAMPLES_FILE) -> gr.Blocks:
    """Load the model (or remember why not) and build the page."""
    try:
        backend, unavailable = DemoBackend.load(settings), None
    except ModelUnavailableError as error:
        backend, unavailable = None, str(error)
        print(f"[vlaser demo] {unavailable}", file=sys.stderr)
    return build_demo(DemoApp(backend, load_examples(examples), unavailable))


def launch(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int | None = None,
    concurrency: int = 2,
    max_queue: int = 64,
    block: bool = True,
) -> str:
    """Queue requests (at most `concurrency` at once, `max_queue` waiting) and serve; returns the local URL.

    On a CPU, each request's torch operators get `cores // concurrency` threads: with more threads than free cores,
    OpenMP's spinning workers slow small models down by 10-100x (measured: 30 ms vs 4.7 s per action chunk on 2
    cores with another process busy).
    """
    import torch

    if not torch.cuda.is_available():
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // concurrency))
    demo.queue(default_concurrency_limit=concurrency, max_size=max_queue)
    _, url, _ = demo.launch(
        server_name=host, server_port=port, prevent_thread_lock=not block, quiet=not block, ssr_mode=False
    )
    return url


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = DemoSettings()
    parser = argparse.ArgumentParser(
        prog="vlaser demo",
        description=__doc__.split("\n\n")[0],
        epilog="`vlaser demo export DIR` writes the demo as a Hugging Face Space folder instead.",
    )
    parser.add_argument("--model", default=os.environ.get("VLASER_MODEL", defaults.model), help="folder or repo id")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), help="address to bind")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--concurrency", type=int, default=2, help="requests computed at once")
    parser.add_argument("--max-queue", type=int, default=64, help="requests waiting before new ones are refused")
    parser.add_argument("--timeout", type=float, default=defaults.timeout_s, help="seconds per request")
    parser.add_argument("--max-rollout-steps", type=int, default=defaults.max_rollout_steps)
    parser.add_argument("--max-image-side", type=int, default=defaults.max_image_side, help="larger images shrink")
    args = parser.parse_args(argv)
    for name in ("concurrency", "max_queue", "timeout", "max_rollout_steps", "max_image_side"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    settings = DemoSettings(
        model=args.model,
        timeout_s=args.timeout,
        max_rollout_steps=args.max_rollout_steps,
        max_image_side=args.max_image_side,
    )
    launch(create_demo(settings), args.host, args.port, args.concurrency, args.max_queue)


if __name__ == "__main__":
    main()
