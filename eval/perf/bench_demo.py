"""Latency of the demo's endpoints and its throughput under concurrent clients, through `gradio_client` over HTTP.

    python eval/perf/bench_demo.py                                   # the quickstart checkpoint
    python eval/perf/bench_demo.py --model PATH --clients 20 --concurrency 1 2 4 --json outputs/bench_demo.json
    python eval/perf/bench_demo.py --concurrency 2 --torch-threads 2       # what the server's thread sizing avoids

What it measures, on a server it starts on 127.0.0.1:

* latency: median and max of `--repeats` sequential calls of every endpoint (grounding, planning, spatial QA,
  action preview without and with a `--rollout-steps` rollout), including HTTP, queueing and image upload;
* throughput: `--clients` clients that each send the same grounding request at once, per queue concurrency limit;
  answered requests per second, the slowest client's wait, and the requests that failed (with their errors). A PNG
  plot of both goes next to `--json` when given.

Other processes on the machine inflate every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def bench_latency(client, scene, repeats: int, rollout_steps: int) -> dict[str, dict[str, float]]:
    from gradio_client import handle_file

    state = ", ".join(str(value) for value in scene.state)
    calls = {
        "grounding": lambda: client.predict(handle_file(scene.image), scene.objects[0], "box", api_name="/ground"),
        "planning": lambda: client.predict(handle_file(scene.image), scene.instruction, api_name="/plan"),
        "spatial QA": lambda: client.predict(handle_file(scene.image), "What is left of the cube?", api_name="/ask"),
        "action chunk": lambda: client.predict(
            scene.label, handle_file(scene.image), scene.instruction, state, 0, api_name="/preview_actions"
        ),
        f"chunk + {rollout_steps}-step rollout": lambda: client.predict(
            scene.label, handle_file(scene.image), scene.instruction, state, rollout_steps, api_name="/preview_actions"
        ),
    }
    results = {}
    for name, call in calls.items():
        call()  # warm-up: first-call allocations, the simulator's start
        seconds = [_timed(call) for _ in range(repeats)]
        results[name] = {"median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3)}
        print(f"{name}: median {results[name]['median_s']} s, max {results[name]['max_s']} s", flush=True)
    return results


def bench_throughput(url: str, scene, clients: int) -> dict[str, float]:
    from gradio_client import Client, handle_file

    connected = [Client(url, verbose=False) for _ in range(clients)]

    def ground(client) -> float | str:
        try:
            return _timed(lambda: client.predict(handle_file(scene.image), scene.objects[0], "box", api_name="/ground"))
        except Exception as error:  # noqa: BLE001 - a lost request is a result here, not a crash
            return f"{type(error).__name__}: {error}"

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(ground, connected))
    total = time.perf_counter() - start
    waits = [outcome for outcome in outcomes if isinstance(outcome, float)]
    errors = sorted({outcome for outcome in outcomes if isinstance(outcome, str)})
    return {
        "answered": len(waits),
        "failed": clients - len(waits),
        "errors": errors,
        "requests_per_s": round(len(waits) / total, 2),
        "slowest_s": round(max(waits), 2) if waits else None,
        "median_s": round(statistics.median(waits), 2) if waits else None,
    }


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    names = list(results["latency"])
    left.barh(names, [results["latency"][name]["median_s"] for name in names], color="#3b5bdb")
    left.set_xlabel("median seconds per request")
    left.invert_yaxis()
    levels = sorted(results["throughput"], key=int)
    right.bar(levels, [results["throughput"][level]["requests_per_s"] for level in levels], color="#2b8a3e")
    right.set_xlabel("queue concurrency limit")
    right.set_ylabel(f"requests/s, {results['clients']} clients at once")
    figure.suptitle(f"VLASER demo on {results['model']}")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="outputs/quickstart/policy")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rollout-steps", type=int, default=20)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--torch-threads", type=int, help="override the server's torch threads (default: cores // concurrency)"
    )
    parser.add_argument("--json", type=Path, help="write the results here (and a PNG beside it)")
    args = parser.parse_args(argv)

    import torch
    from gradio_client import Client

    from spaces_demo.app import DemoApp, build_demo, launch, load_examples
    from spaces_demo.backend import DemoBackend, DemoSettings

    backend = DemoBackend.load(DemoSettings(model=args.model))
    scene = next(scene for scene in load_examples() if scene.task == "transfer_cube")
    results = {"model": args.model, "clients": args.clients, "latency": {}, "throughput": {}}
    for level in args.concurrency:
        demo = build_demo(DemoApp(backend, load_examples()))
        url = launch(demo, port=None, concurrency=level, max_queue=max(64, args.clients), block=False)
        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        results["torch_threads"] = torch.get_num_threads()
        try:
            if not results["latency"]:
                results["latency"] = bench_latency(Client(url, verbose=False), scene, args.repeats, args.rollout_steps)
            results["throughput"][str(level)] = bench_throughput(url, scene, args.clients)
            print(f"concurrency {level}: {results['throughput'][str(level)]}", flush=True)
        finally:
            demo.close()
    backend.close()
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        plot(results, args.json.with_suffix(".png"))


if __name__ == "__main__":
    main()
