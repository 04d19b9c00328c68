# Copyright 2026 The VLASER developers. Licensed under the Apache License, Version 2.0.
"""VLABench, VLM track: from a rendered scene and an instruction, write the robot's skill sequence as JSON.

Layout (`vlm_evaluation_v1.0` of OpenMOSS/VLABench, also on the Hub as `VLyb/VLABench`):

    <folder>/[<dimension>/]<task_name>/example<N>/input/input.png         four views of the scene
                                                  /input/input_mask.png    the same views with numbered object marks
                                                  /input/instruction.txt
                                                  /output/operation_sequence.json   {"skill_sequence": [...]}

The dimension folder (`M&T`, `CommenSence`, `Semantic`, `Spatial`, `PhysicsLaw`, `Complex`) is optional; without it
the dimension is "default". Tasks scored as sub-task graphs without order ("Seq-independent") are read from a
`seq_independent_task.json` in the folder if present, else `cook_dishes` and `texas_holdem` (the list a public
reproduction of the reference config uses **[unverified]**).

Prompt: both images (`Image-1`, `Image-2`), the skill library and output format (written for this project after
VLABench's `eval_vlm_en.txt`: same skills, parameters and sub-task patterns), then the instruction. Parsing: the JSON
list in a ```json block (the reference wrapper's rule), else the first JSON list in the answer; anything else is a
format error (0). Metric: `vlabench_skill_score`; the headline is the mean total score over examples.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import Benchmark, LoadContext, LoadResult, Sample, open_image
from .parsing import extract_json

DEFAULT_SEQ_INDEPENDENT_TASKS = ("cook_dishes", "texas_holdem")

SKILL_PROMPT = """You control a robot arm through a library of skills. Each skill call is a JSON object with a "name" and "params":
- pick: grasp and pick up an object. params: {"target_entity_name": <mark number>}
- place: put the held object down at a location. params: {"target_container_name": <mark number>}
- insert: insert the held object into a target. params: {"target_container_name": <mark number>}
- pour: pour the held liquid or granules into a container. params: {"target_container_name": <mark number>}
- push: push an object horizontally. params: {"target_container_name": <mark number>}
- press: press a button or location. params: {"target_entity_name": <mark number>}
- pull: pull the arm back horizontally. params: {}
- lift: lift the arm vertically. params: {}
- open_door: open a door. params: {}

Image-1 shows the scene from four viewpoints; Image-2 shows the same views with a number marked on each object. Refer to objects by these numbers. Directions are relative to the robot arm.

Skills are scored in these sub-sequences, so compose your plan from them: [pick, place], [pick, insert], [pick, pour, place], [pick, pour], [pick, pull], [pick, lift], [pick, push, pull], [pick, push, place], [pick, push], [pick, open_door], [press]. A lone "pick" counts as wrong; to show an object use [pick, lift], to pull one out use [pick, pull].

Answer with the skill sequence as a JSON list in a ```json code block, for example:
```json
[{"name": "pick", "params": {"target_entity_name": 3}}, {"name": "place", "params": {"target_container_name": 5}}]
```"""


def parse_skill_sequence(text: Any) -> str:
    """The answer's skill sequence as a JSON string (`[{"name": ..., "params": {...}}, ...]`), or "" for a format
    error. Items keep only `name` (a string) and `params` (an object; missing params become `{}`); digit strings in
    params become integers, matching the annotation files. Never raises."""
    value = extract_json(text, expect=list)
    if not isinstance(value, list) or not value:
        return ""
    sequence = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return ""
        params = item.get("params") if isinstance(item.get("params"), dict) else {}
        params = {
            key: int(entry) if isinstance(entry, str) and entry.strip().isdigit() else entry
            for key, entry in params.items()
        }
        sequence.append({"name": item["name"].strip(), "params": params})
    try:
        return json.dumps(sequence)
    except (TypeError, ValueError):
        return ""


class VLABench(Benchmark):
    name = "vlabench"
    display_name = "VLABench (VLM)"
    paper_column = "VLAB"
    hub_id = "VLyb/VLABench"
    local_dirnames = ("VLABench", "vlabench", "vlm_evaluation_v1.0")
    how_to_obtain = (
        "the VLM evaluation set `vlm_evaluation_v1.0` (git clone from the Hub dataset VLABench/vlm_evaluation_v1.0 "
        "as the OpenMOSS/VLABench README says), or the copy VLyb/VLABench."
    )
    metric_name = "vlabench_skill_score"
    max_new_tokens = 512

    def __init__(self, total_variant: str = "all_four") -> None:
        self.total_variant = total_variant

    def is_data_dir(self, path: Path) -> bool:
        return path.is_dir() and next(path.rglob("operation_sequence.json"), None) is not None

    def load_local(self, root: Path, context: LoadContext) -> LoadResult:
        seq_independent = set(DEFAULT_SEQ_INDEPENDENT_TASKS)
        config = next(iter(sorted(root.rglob("seq_independent_task.json"))), None)
        if config is not None:
            try:
                seq_independent = set(json.loads(config.read_text(encoding="utf-8")))
            except (json.JSONDecodeError, TypeError) as error:
                raise ValueError(f"{config}: expected a JSON list of task names ({error})") from None
        result = LoadResult([], source=str(root))
        examples = sorted(path for path in root.rglob("example*") if path.is_dir() and path.name[7:].isdigit())
        for example in examples:
            task = example.parent.name
            dimension = example.parent.parent.name if example.parent.parent != root else "default"
            row_id = f"{dimension}/{task}/{example.name}"
            inputs, output = example / "input", example / "output" / "operation_sequence.json"
            files = [inputs / "input.png", inputs / "input_mask.png", inputs / "instruction.txt", output]
            if not all(path.is_file() for path in files):
                result.skip(row_id, "missing input.png, input_mask.png, instruction.txt or operation_sequence.json")
                continue
            try:
                expert = json.loads(output.read_text(encoding="utf-8"))["skill_sequence"]
                if not isinstance(expert, list) or not all(isinstance(s, dict) and "name" in s for s in expert):
                    raise ValueError("skill_sequence is not a list of skills")
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                result.skip(row_id, f"malformed operation_sequence.json ({type(error).__name__})")
                continue
            instruction = (inputs / "instruction.txt").read_text(encoding="utf-8").strip()
            result.samples.append(
                Sample(
                    id=row_id,
                    prompt=f"Image-1: <image>\nImage-2: <image>\n{SKILL_PROMPT}\n\nInstruction: {instruction}",
                    images=[open_image(inputs / "input.png"), open_image(inputs / "input_mask.png")],
                    reference={
                        "skill_sequence": json.dumps(expert),
                        "dependency": "Seq-independent" if task in seq_independent else "Sequential",
                        "dimension": dimension,
                    },
                    category=dimension,
                )
            )
        return result

    def parse(self, answer: str, sample: Sample) -> str:
        return parse_skill_sequence(answer)

    def metric_inputs(self, samples: Sequence[Sample], predictions: Sequence[Any]) -> dict[str, Any]:
        return {
            "predictions": list(predictions),
            "references": [dict(sample.reference) for sample in samples],
            "total_variant": self.total_variant,
        }
