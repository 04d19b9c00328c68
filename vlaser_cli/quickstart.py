"""`vlaser quickstart`: the whole model path on the embedded tiny preset, on CPU, in seconds.

Builds the tiny preset, answers a grounding prompt about a generated tabletop image, predicts an action chunk,
saves the policy (weights, code, processor, normalization statistics, model card), reloads it the way a user would
and checks that the reloaded policy acts identically. The weights are random until the training stages run, so the
answer is not yet meaningful; the point is that every piece is wired end to end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw


@dataclass
class QuickstartArguments:
    output_dir: str = field(default="outputs/quickstart", metadata={"help": "where the checkpoint and image go"})
    preset: str = field(default="tiny", metadata={"help": "model geometry (random weights)"})
    instruction: str = field(default="put the carrot on the plate", metadata={"help": "task for the action chunk"})
    seed: int = field(default=0, metadata={"help": "seed of the weights, the statistics and the noise"})


def make_tabletop_image(width: int = 320, height: int = 240) -> tuple[Image.Image, dict[str, tuple[int, ...]]]:
    """A drawn tabletop with a plate and a carrot, and their pixel boxes."""
    image = Image.new("RGB", (width, height), (96, 72, 52))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, int(height * 0.35), width, height), fill=(168, 150, 120))  # table
    plate = (int(width * 0.55), int(height * 0.55), int(width * 0.85), int(height * 0.85))
    draw.ellipse(plate, fill=(236, 236, 232), outline=(190, 190, 186), width=3)
    carrot = (int(width * 0.15), int(height * 0.6), int(width * 0.4), int(height * 0.7))
    draw.polygon(
        [(carrot[0], carrot[1]), (carrot[2], (carrot[1] + carrot[3]) // 2), (carrot[0], carrot[3])], (237, 120, 30)
    )
    return image, {"plate": plate, "carrot": carrot}


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - start


def run_quickstart(args: QuickstartArguments, echo: Callable[[str], None] = print) -> dict:
    from modeling_vlaser import (
        ActionNormalizer,
        VlaserForActionPrediction,
        VlaserPolicy,
        get_preset_config,
        load_tiny_processor,
    )
    from modeling_vlaser.grounding import from_pixels, parse_grounding

    if args.preset != "tiny":
        raise SystemExit("quickstart runs the embedded `tiny` preset (the others need their real tokenizer)")
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    torch.manual_seed(args.seed)

    with _timed(timings, "build tiny model"):
        config = get_preset_config(args.preset)
        model = VlaserForActionPrediction(config).eval()
        # Statistics normally come from the stage-2 dataset; here from a synthetic trajectory of the right shape.
        rng = np.random.default_rng(args.seed)
        states = rng.uniform(-0.5, 0.5, (256, config.state_dim))
        actions = rng.uniform(-0.05, 0.05, (256, config.action_dim))
        actions[:, -1] = rng.integers(0, 2, 256)  # gripper open/close stays raw
        normalizer = ActionNormalizer.from_data(states, actions, raw_action_dims=[config.action_dim - 1])
        policy = VlaserPolicy(model, load_tiny_processor(normalizer))
    n_params = sum(p.numel() for p in model.parameters())
    echo(
        f"built preset '{args.preset}': {n_params / 1e6:.2f} M parameters, {config.text_config.num_hidden_layers} layers"
    )

    image, boxes = make_tabletop_image()
    image.save(output_dir / "tabletop.png")
    processor = policy.processor
    question = "Where is the carrot? Answer with <ref>carrot</ref><box>[[x1, y1, x2, y2]]</box> in 0-1000."
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    with _timed(timings, "grounding answer"):
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = processor(images=[image], text=[prompt], return_tensors="pt")
        with torch.no_grad():
            generated = model.generate(**inputs, max_new_tokens=24, do_sample=False)
        answer = processor.decode(generated[0, inputs["input_ids"].shape[1] :], skip_special_tokens=False)
    echo(f"grounding prompt: {question}")
    echo(f"  answer (random weights until stage 1 trains them): {answer!r}")
    echo(f"  parsed: {parse_grounding(answer)}; the true carrot box is {from_pixels(boxes['carrot'], *image.size)}")

    state = np.zeros(config.state_dim, dtype=np.float32)
    noise = torch.randn(1, config.chunk_size, config.action_dim)
    with _timed(timings, "action chunk"):
        chunk = policy.predict_action(image, args.instruction, state, noise=noise)
    echo(f"action chunk for {args.instruction!r}: shape {chunk.shape} (un-normalized)")
    echo(np.array2string(chunk[0], precision=3, suppress_small=True))

    checkpoint = output_dir / "checkpoint"
    with _timed(timings, "save"):
        policy.save_pretrained(
            checkpoint, model_description="Random-weight tiny VLASER written by `vlaser quickstart`."
        )
    with _timed(timings, "reload"):
        reloaded = VlaserPolicy.from_pretrained(checkpoint)
    # Same weights bit for bit; the chunk may differ in the last float bit (summation order of other kernels).
    difference = float(np.abs(reloaded.predict_action(image, args.instruction, state, noise=noise) - chunk).max())
    same = difference <= 1e-6
    echo(f"saved to {checkpoint} and reloaded: same chunk = {same} (max difference {difference:.1e})")
    if not same:
        raise SystemExit("the reloaded policy predicts a different chunk: save/load is broken")

    echo("\n| step | seconds |\n|---|---|")
    for name, seconds in timings.items():
        echo(f"| {name} | {seconds:.3f} |")
    return {"answer": answer, "chunk": chunk, "checkpoint": checkpoint, "timings": timings}


def main(argv: list[str]) -> None:
    from . import parse_arguments

    (args,) = parse_arguments((QuickstartArguments,), argv, prog="vlaser quickstart")
    run_quickstart(args)
