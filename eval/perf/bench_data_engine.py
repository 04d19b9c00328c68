"""Throughput of the in-domain QA engine: QA items/s per core from recorded episodes, text only, with image work
(decode, PNG encode, hash) timed separately, plus an end-to-end `build_dataset` run.

    python eval/perf/bench_data_engine.py                         # 40 WidowX + 26 ALOHA episodes, 224x224
    python eval/perf/bench_data_engine.py --workers 2             # the text benchmark in 2 processes at once

"Text" is everything the engine does per source: parse and check every frame's annotation record, find plans,
pick keyframes, render the conversations, and re-derive every checkable answer with the validator. Episodes are
the hand-made annotated scenes (`hub_datasets.in_domain.scenes`), written once to a temporary folder (not timed).
One process uses one core, so items/s of one worker is items/s per core; with `--workers N` every process does
the whole job and the aggregate is the sum. Target (issue 5): >= 1,000 QA items/s per core for the text.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def _text_pass(paths: dict[str, str], turns: int, max_per_episode: int) -> dict[str, float]:
    from hub_datasets.episodes import LeRobotEpisodes
    from hub_datasets.in_domain import EngineConfig, EngineReport, InDomainEngine, parse_scene
    from hub_datasets.validate import ValidationSettings, validate_pairs

    sources = {name: LeRobotEpisodes(path) for name, path in paths.items()}
    config = EngineConfig(turns=turns or None, max_per_episode=max_per_episode)
    engine = InDomainEngine(config)
    settings = ValidationSettings(config.min_visible_fraction, config.thresholds)
    report = EngineReport()
    items = rejected = conversations = 0
    start, cpu = time.perf_counter(), time.process_time()
    for name, episodes in sources.items():
        for frame in engine.run(episodes, source=name, domain=name, report=report, progress=False):
            scene = parse_scene(frame.record)
            for conversation in frame.conversations:
                kept, bad = validate_pairs(scene, conversation.pairs, settings)
                items += len(kept)
                rejected += len(bad)
                conversations += 1
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "items": items,
        "rejected": rejected,
        "conversations": conversations,
        "keyframes": report.keyframes,
        "frames": report.frames,
        "items_per_s": items / seconds,
        "items_per_cpu_s": items / cpu_seconds,
    }


def _image_pass(paths: dict[str, str], max_per_episode: int) -> dict[str, float]:
    from hub_datasets.build import _encode, image_hash
    from hub_datasets.episodes import LeRobotEpisodes
    from hub_datasets.in_domain import EngineConfig, InDomainEngine

    engine = InDomainEngine(EngineConfig(max_per_episode=max_per_episode))
    work = []
    for name, path in paths.items():
        episodes = LeRobotEpisodes(path)
        work += [
            (episodes, f.global_index, f.camera_key)
            for f in engine.run(episodes, source=name, domain=name, progress=False)
        ]
    timings = {"decode": 0.0, "encode_png": 0.0, "hash": 0.0}
    for episodes, index, key in work:
        t0 = time.perf_counter()
        image = episodes.frame(index)[key]
        t1 = time.perf_counter()
        _encode(image, "png")
        t2 = time.perf_counter()
        image_hash(image)
        t3 = time.perf_counter()
        timings["decode"] += t1 - t0
        timings["encode_png"] += t2 - t1
        timings["hash"] += t3 - t2
    return {"images": len(work), **{f"{k}_images_per_s": len(work) / v for k, v in timings.items()}}


def _build_pass(paths: dict[str, str], turns: int, max_per_episode: int, out: Path) -> dict[str, float]:
    from hub_datasets.build import InDomainSource, build_dataset
    from hub_datasets.in_domain import EngineConfig

    config = EngineConfig(turns=turns or None, max_per_episode=max_per_episode)
    start = time.perf_counter()
    sources = [InDomainSource(path, name=name, config=config) for name, path in paths.items()]
    report = build_dataset(sources, out, progress=False, overwrite=True)
    seconds = time.perf_counter() - start
    items = sum(report.items.values())
    return {"seconds": seconds, "rows": sum(report.rows.values()), "items": items, "items_per_s": items / seconds}


def _worker(arguments: tuple[dict[str, str], int, int, int]) -> float:
    """Median items/s of `repeat` text passes in this process."""
    paths, turns, max_per_episode, repeat = arguments
    return statistics.median(_text_pass(paths, turns, max_per_episode)["items_per_s"] for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=40, help="WidowX episodes (ALOHA gets two thirds as many)")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--turns", type=int, default=3, help="QA pairs per conversation (0: every question)")
    parser.add_argument("--max-per-episode", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="text passes per worker (median reported)")
    parser.add_argument("--workers", type=int, default=1, help="processes running the text benchmark at once")
    parser.add_argument("--skip-build", action="store_true", help="skip the end-to-end build_dataset run")
    args = parser.parse_args()

    from hub_datasets.in_domain import write_demo_scenes

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        written = write_demo_scenes(Path(tmp) / "scenes", episodes=args.episodes, image_size=(args.image_size,) * 2)
        paths = {name: str(path) for name, path in written.items()}
        print(f"wrote scenes in {time.perf_counter() - start:.1f} s (not timed below): {paths}")

        passes = [_text_pass(paths, args.turns, args.max_per_episode) for _ in range(args.repeat)]
        first = passes[0]
        median_rate = statistics.median(p["items_per_s"] for p in passes)
        median_cpu_rate = statistics.median(p["items_per_cpu_s"] for p in passes)
        result = {
            "episodes": {name: None for name in paths},
            "frames": first["frames"],
            "keyframes": first["keyframes"],
            "conversations": first["conversations"],
            "qa_items": first["items"],
            "rejected_by_validator": first["rejected"],
            "text_items_per_s_one_process": [round(p["items_per_s"]) for p in passes],
            "text_items_per_s_median": round(median_rate),
            "text_items_per_cpu_s_median": round(median_cpu_rate),
        }
        print(
            f"text, 1 process: {first['items']} QA items ({first['conversations']} conversations, "
            f"{first['keyframes']} keyframes of {first['frames']} frames) per pass; items/s per pass "
            f"{result['text_items_per_s_one_process']}, median {result['text_items_per_s_median']} "
            f"({result['text_items_per_cpu_s_median']} per CPU-second)"
        )
        if args.workers > 1:
            with multiprocessing.get_context("fork").Pool(args.workers) as pool:
                rates = pool.map(_worker, [(paths, args.turns, args.max_per_episode, args.repeat)] * args.workers)
            result["text_workers"] = args.workers
            result["text_items_per_s_per_worker"] = [round(r) for r in rates]
            result["text_items_per_s_aggregate"] = round(sum(rates))
            print(
                f"text, {args.workers} processes at once: median items/s per worker "
                f"{result['text_items_per_s_per_worker']}, aggregate {result['text_items_per_s_aggregate']}"
            )
        images = _image_pass(paths, args.max_per_episode)
        result["images"] = {k: round(v) if isinstance(v, float) else v for k, v in images.items()}
        print(
            f"images ({images['images']} keyframes, {args.image_size}x{args.image_size}): decode "
            f"{images['decode_images_per_s']:.0f}/s, PNG encode {images['encode_png_images_per_s']:.0f}/s, "
            f"hash {images['hash_images_per_s']:.0f}/s"
        )
        if not args.skip_build:
            build = _build_pass(paths, args.turns, args.max_per_episode, Path(tmp) / "out")
            result["build_end_to_end"] = {k: round(v, 2) for k, v in build.items()}
            print(
                f"build_dataset end to end (images, parquet, stats, card): {build['rows']} rows, {build['items']} "
                f"QA items in {build['seconds']:.1f} s = {build['items_per_s']:.0f} items/s"
            )
        print(json.dumps(result))


if __name__ == "__main__":
    main()
