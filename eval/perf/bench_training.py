"""Training throughput of both stages on synthetic batches: samples/s, peak memory and (on GPU) MFU.

    python eval/perf/bench_training.py --preset tiny                    # CPU, fp32
    python eval/perf/bench_training.py --preset vlaser-2b --device cuda --dtype bfloat16 --batch-size 32

Random weights of the preset's geometry. One step = forward + backward + AdamW update on one batch of one image
(`image_seq_length` tokens) plus `--text-tokens` prompt tokens; stage 1 supervises `--answer-tokens` answer tokens,
stage 2 a chunk of actions. Each stage runs in its own process so its peak memory is its own. MFU counts
6 x (parameters touched per token) x tokens per second against the device's dense bf16 peak (`--peak-tflops`).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

STAGES = ("stage1", "stage2")


def _batch(config, batch_size: int, text_tokens: int, device, dtype):
    import torch

    image_tokens = config.image_seq_length
    length = image_tokens + text_tokens
    input_ids = torch.randint(0, 1000, (batch_size, length), device=device)
    input_ids[:, 1 : 1 + image_tokens] = config.image_token_id
    size = config.vision_config.image_size
    return {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "pixel_values": torch.randn(batch_size, 3, size[0], size[1], device=device, dtype=dtype),
    }


def _measure(args: argparse.Namespace) -> dict:
    import torch

    from modeling_vlaser import VlaserForActionPrediction, VlaserForConditionalGeneration, get_preset_config

    torch.manual_seed(0)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    config = get_preset_config(args.preset)
    config.text_config._attn_implementation = "sdpa"
    model_class = VlaserForConditionalGeneration if args.stage == "stage1" else VlaserForActionPrediction
    with device:
        model = model_class(config).to(dtype).train()
    if args.stage == "stage2":
        for name in model.parameters_without_action_gradient():
            model.get_parameter(name).requires_grad_(False)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-5, fused=device.type == "cuda"
    )
    batch = _batch(config, args.batch_size, args.text_tokens, device, dtype)
    if args.stage == "stage1":
        labels = torch.full_like(batch["input_ids"], -100)
        labels[:, -args.answer_tokens :] = batch["input_ids"][:, -args.answer_tokens :]
        batch["labels"] = labels
    else:
        batch["state"] = torch.randn(args.batch_size, config.state_dim, device=device)
        batch["actions"] = torch.randn(args.batch_size, config.chunk_size, config.action_dim, device=device)

    def step() -> None:
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    timings = []
    for _ in range(args.iters):
        start = time.perf_counter()
        step()
        timings.append(time.perf_counter() - start)
    seconds = statistics.median(timings)
    tokens = batch["input_ids"].numel() + (args.batch_size * (1 + config.chunk_size) if args.stage == "stage2" else 0)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    result = {
        "preset": args.preset,
        "stage": args.stage,
        "device": str(device),
        "dtype": args.dtype,
        "batch_size": args.batch_size,
        "tokens_per_sample": tokens // args.batch_size,
        "step_ms": seconds * 1000,
        "samples_per_s": args.batch_size / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "trainable_params_m": trainable / 1e6,
    }
    if device.type == "cuda":
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        # Rough: every token passes through the LLM (or the expert for suffix tokens); 6 FLOPs per parameter.
        result["mfu"] = 6 * trainable * tokens / seconds / (args.peak_tflops * 1e12)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--text-tokens", type=int, default=48)
    parser.add_argument("--answer-tokens", type=int, default=24)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak (H100 SXM: 989)")
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)  # internal: one stage per process
    args = parser.parse_args(argv)
    if args.stage:
        print(json.dumps(_measure(args)))
        return
    rows = []
    forwarded = [a for a in (argv if argv is not None else sys.argv[1:])]
    for stage in args.stages:
        child = subprocess.run(
            [sys.executable, __file__, *forwarded, "--stage", stage], capture_output=True, text=True, check=True
        )
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    columns = [c for c in rows[0] if c != "device"]
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(f"{row[c]:.2f}" if isinstance(row[c], float) else str(row[c]) for c in columns) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
