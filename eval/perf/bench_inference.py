"""Action-chunk latency and peak memory of `VlaserForActionPrediction.sample_actions`.

    python eval/perf/bench_inference.py --preset tiny                 # CPU, fp32, batch 1
    python eval/perf/bench_inference.py --preset vlaser-2b --device cuda --dtype bfloat16

Random weights of the preset's geometry (latency does not depend on the values). The two modes, with and without
the prefix key/value cache, alternate chunk by chunk, so that a busy or throttled machine slows both alike and
their ratio stays meaningful. Latency is the median of `--iters` chunks per mode after `--warmup`; one chunk =
prefix encoding + `num_inference_steps` expert steps. Peak memory: the process's peak RSS (both modes; on CPU no
per-mode reset exists) and, on GPU, the peak allocated per mode.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

MODES = {"cached": True, "recompute": False}


def measure(args: argparse.Namespace) -> list[dict]:
    import torch

    from modeling_vlaser import VlaserForActionPrediction
    from modeling_vlaser.presets import get_preset_config

    torch.manual_seed(0)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    config = get_preset_config(args.preset)
    config.text_config._attn_implementation = args.attn
    config.vision_config._attn_implementation = args.attn
    model = VlaserForActionPrediction(config).to(device=device, dtype=dtype).eval()

    batch, image_tokens = args.batch_size, config.image_seq_length
    prompt_len = image_tokens + args.text_tokens
    input_ids = torch.randint(0, 1000, (batch, prompt_len), device=device)
    input_ids[:, 1 : 1 + image_tokens] = config.image_token_id
    size = config.vision_config.image_size
    inputs = dict(
        input_ids=input_ids,
        pixel_values=torch.randn(batch, 3, size[0], size[1], device=device, dtype=dtype),
        attention_mask=torch.ones(batch, prompt_len, dtype=torch.long, device=device),
        state=torch.zeros(batch, config.state_dim, device=device),
    )

    def run_chunk(mode: str) -> float:
        start = time.perf_counter()
        model.sample_actions(**inputs, use_prefix_cache=MODES[mode])
        if device.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - start) * 1000

    timings: dict[str, list[float]] = {mode: [] for mode in MODES}
    peak_gpu: dict[str, float] = {}
    for mode in MODES:
        for _ in range(args.warmup):
            run_chunk(mode)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            run_chunk(mode)
            peak_gpu[mode] = torch.cuda.max_memory_allocated() / 2**20
    for _ in range(args.iters):
        for mode in MODES:
            timings[mode].append(run_chunk(mode))
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = []
    for mode, values in timings.items():
        row = {
            "preset": args.preset,
            "mode": mode,
            "device": str(device),
            "dtype": args.dtype,
            "batch_size": batch,
            "prompt_tokens": prompt_len,
            "num_inference_steps": config.num_inference_steps,
            "median_ms": statistics.median(values),
            "p90_ms": sorted(values)[int(0.9 * (len(values) - 1))],
            "peak_rss_mb": peak_rss,
            "threads": torch.get_num_threads(),
        }
        if mode in peak_gpu:
            row["peak_gpu_mb"] = peak_gpu[mode]
        rows.append(row)
    return rows


def _format_table(rows: list[dict]) -> str:
    columns = ["preset", "mode", "device", "dtype", "batch_size", "prompt_tokens", "median_ms", "p90_ms", "peak_rss_mb"]
    if any("peak_gpu_mb" in row for row in rows):
        columns.append("peak_gpu_mb")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[c]:.1f}" if isinstance(row.get(c), float) else str(row.get(c, "")) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    cached, full = (next(r for r in rows if r["mode"] == m) for m in MODES)
    lines.append(f"\nprefix cache speed-up: {full['median_ms'] / cached['median_ms']:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    parser.add_argument("--text-tokens", type=int, default=32, help="instruction tokens after the image tokens")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    rows = measure(args)
    print(_format_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
