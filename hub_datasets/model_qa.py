"""Optional model-written QA, as the official VLASER pipeline makes it: a VLM behind an OpenAI-compatible endpoint
(vLLM, TGI, ... serving Qwen2.5-VL) writes a free-form question/answer pair about a frame and its instruction, and an
LLM judge scores it 1-3 with a per-family rubric; pairs scoring below `min_score` (default 2: drop the 1s) are
discarded. Off by default: the engine's exact answers need no model. Use it for open-ended questions the templates
cannot ask (safety, obstacles, ...), and know that its answers are only as right as the model.

The prompts follow the official `data-pipeline` (paper Figs. 3-5, `filter.py`): system prompt, per-family prompt,
`Question: ... / Answer: ...` output; grounding coordinates in the answer are read as the official parser does
(`(x, y)` points, `[x1, y1, x2, y2]` boxes; values <= 1 are fractions, larger ones pixels) and rewritten in VLASER's
`<point>`/`<box>` format with 0-1000 integers.
"""

from __future__ import annotations

import base64
import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modeling_vlaser.grounding import COORDINATE_MAX, format_boxes, format_points

from .in_domain.engine import Conversation
from .in_domain.qa import QAPair

__all__ = ["ModelQA", "ModelQAConfig", "ModelQAError", "OpenAIChatClient", "parse_coordinates", "parse_question_answer"]

SYSTEM_PROMPT = "You are a helpful AI assistant specialized in analyzing robot arm camera images and task instructions."
_FORMAT = "Format your response exactly as:\nQuestion: <your question>\nAnswer: <your answer>"
GENERATION_PROMPTS = {
    "general_qa": (
        "Task instruction: {instruction}\n"
        "Based on this robot arm camera image and the task instruction, generate a natural question-answer pair about "
        "this image and task. The question should be open-ended and could ask about: objects visible in the scene; "
        "the robot arm's current state or position; how to accomplish the task; obstacles or challenges; safety "
        "considerations; any other relevant aspect.\n" + _FORMAT
    ),
    "spatial_reasoning": (
        "Task instruction: {instruction}\n"
        "Based on this robot arm camera image, generate a question-answer pair focused on spatial intelligence: "
        "object counting; spatial relationships; distance estimation; spatial orientation; depth perception; "
        "geometric properties; spatial arrangement; accessibility analysis; collision avoidance; 3D spatial "
        "understanding.\n" + _FORMAT
    ),
    "grounding": (
        "Task instruction: {instruction}\n"
        "Based on this robot arm camera image, generate a grounding question-answer pair: object pointing; multiple "
        "object pointing; object detection; multiple object detection; spatial localization; region identification; "
        "precise positioning. The answer must give either a set of 2D points written as (x, y) or a set of 2D "
        "bounding boxes written as [x1, y1, x2, y2], with coordinates as fractions of the image width and height "
        "(0 to 1) or in pixels.\n" + _FORMAT
    ),
}
JUDGE_RUBRICS = {
    "general_qa": "relevance to the image and task, informativeness, and clarity",
    "spatial_reasoning": "accuracy of the spatial facts, level of detail, and relevance to the image",
    "grounding": (
        "accuracy of the located objects, coordinate validity (integers from 0 to 1000, x2 >= x1 and y2 >= y1 for "
        "boxes), and precision"
    ),
}
JUDGE_PROMPT = (
    "You are judging a question-answer pair written about this robot camera image (task instruction: {instruction}).\n"
    "Question: {question}\nAnswer: {answer}\n"
    "Score it for {rubric}: 3 = good, 2 = acceptable with minor problems, 1 = wrong, irrelevant or unclear.\n"
    "You must return only a single integer score from 1 to 3."
)
GROUNDING_SUFFIX = {
    "box": ' Your answer should be formatted as "<box>[[x1, y1, x2, y2], ...]</box>". The box coordinates are '
    "normalized to integers between 0 and 1000. Return the answer in the box format directly.",
    "point": ' Your answer should be formatted as "<point>[[x1, y1], [x2, y2], ...]</point>". The point coordinates '
    "are normalized to integers between 0 and 1000. Return the answer in the point format directly.",
}

_QA = re.compile(r"Question:\s*(?P<q>.+?)\s*Answer:\s*(?P<a>.+)", re.IGNORECASE | re.DOTALL)
_NUMBER = r"[-+]?\d*\.?\d+"
_BOX = re.compile(rf"\[\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\]")
_POINT = re.compile(rf"\(\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\)")
_SCORE = re.compile(r"\b([1-3])\b")


class ModelQAError(RuntimeError):
    """The endpoint failed too often (unreachable, HTTP errors, malformed replies)."""


@dataclass
class ModelQAConfig:
    """Where the VLM is and how to use it. `base_url=None` keeps model QA off."""

    base_url: str | None = None
    """OpenAI-compatible API root, e.g. `http://127.0.0.1:8000/v1` (vLLM)."""
    model: str = "Qwen/Qwen2.5-VL-7B-Instruct"
    judge_model: str | None = None
    """Default: `model` (the official code judges with the same 7B model; the paper used a 32B judge)."""
    api_key: str | None = None
    """Default: the `OPENAI_API_KEY` environment variable, if set."""
    families: tuple[str, ...] = ("general_qa", "spatial_reasoning", "grounding")
    min_score: int = 2
    temperature: float = 0.1
    judge_temperature: float = 0.0
    max_tokens: int = 512
    timeout: float = 60.0
    max_failures: int = 10
    """Consecutive failed requests before giving up with `ModelQAError`."""

    def __post_init__(self) -> None:
        unknown = [f for f in self.families if f not in GENERATION_PROMPTS]
        if unknown:
            raise ValueError(f"model QA families: unknown {unknown}; expected a subset of {list(GENERATION_PROMPTS)}")
        if not 1 <= int(self.min_score) <= 3:
            raise ValueError(f"min_score must be 1, 2 or 3 (the judge's scale), got {self.min_score}")


class OpenAIChatClient:
    """A minimal client of `POST {base_url}/chat/completions` (OpenAI schema), with `requests`."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 60.0) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False if self.base_url.startswith(("http://127.0.0.1", "http://localhost")) else True
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def chat(self, model: str, messages: list[dict[str, Any]], *, temperature: float, max_tokens: int) -> str:
        """The assistant message's text. Raises `requests` errors and `ValueError` for replies without one."""
        response = self.session.post(
            f"{self.base_url}/chat/completions",
            json={"model": model, "messages": messages, "temperature": temperature, "max_tokens": max_tokens},
            timeout=self.timeout,
        )
        response.raise_for_status()
        body = response.json()
        try:
            content = body["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"reply has no choices[0].message.content: {str(body)[:200]}") from None
        if not isinstance(content, str):
            raise ValueError(f"choices[0].message.content must be text, got {type(content).__name__}")
        return content


def parse_question_answer(text: str) -> tuple[str, str] | None:
    """`Question: ... Answer: ...` -> (question, answer), or None."""
    match = _QA.search(text or "")
    if match is None:
        return None
    question, answer = match.group("q").strip(), match.group("a").strip()
    return (question, answer) if question and answer else None


def _normalize(value: float, size: int) -> int:
    scaled = value * COORDINATE_MAX if value <= 1.0 else value / size * COORDINATE_MAX
    return int(min(max(round(scaled), 0), COORDINATE_MAX))


def parse_coordinates(text: str, width: int, height: int) -> tuple[str, list[tuple[int, ...]]] | None:
    """("box", boxes) or ("point", points) in 0-1000 from a free-form answer (the official parser's rules: boxes win
    over points; values <= 1 are fractions of the image, larger values pixels); None when there are none."""
    boxes = []
    for match in _BOX.finditer(text):
        x1, y1, x2, y2 = (float(v) for v in match.groups())
        box = (_normalize(x1, width), _normalize(y1, height), _normalize(x2, width), _normalize(y2, height))
        if box[2] >= box[0] and box[3] >= box[1]:
            boxes.append(box)
    if boxes:
        return "box", boxes
    points = [
        (_normalize(float(x), width), _normalize(float(y), height))
        for x, y in (m.groups() for m in _POINT.finditer(text))
    ]
    return ("point", points) if points else None


def _data_url(image: Any) -> str:
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image, dtype=np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@dataclass
class ModelQAReport:
    requests: int = 0
    failures: int = 0
    unparseable: int = 0
    """Generations without `Question:/Answer:` (or grounding answers without coordinates)."""
    scores: Counter = field(default_factory=Counter)
    kept: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failed_requests": self.failures,
            "unparseable": self.unparseable,
            "judge_scores": {str(k): v for k, v in sorted(self.scores.items())},
            "kept_by_family": dict(self.kept),
            "dropped_by_family": dict(self.dropped),
        }


class ModelQA:
    """Generate and judge model-written QA for keyframes (see the module docstring)."""

    def __init__(self, config: ModelQAConfig, client: OpenAIChatClient | None = None) -> None:
        if not config.base_url and client is None:
            raise ValueError("model QA needs base_url (an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1)")
        self.config = config
        self.client = client or OpenAIChatClient(config.base_url, config.api_key, config.timeout)
        self.report = ModelQAReport()
        self._consecutive_failures = 0

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {
            "model": c.model,
            "judge_model": c.judge_model or c.model,
            "families": list(c.families),
            "min_score": c.min_score,
            "temperature": c.temperature,
        }

    def _ask(self, model: str, image_url: str, prompt: str, temperature: float) -> str | None:
        import requests

        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": image_url}}, {"type": "text", "text": prompt}],
            },
        ]
        self.report.requests += 1
        try:
            text = self.client.chat(model, messages, temperature=temperature, max_tokens=self.config.max_tokens)
        except (requests.RequestException, ValueError) as error:
            self.report.failures += 1
            self._consecutive_failures += 1
            if self._consecutive_failures >= self.config.max_failures:
                raise ModelQAError(
                    f"{self._consecutive_failures} model-QA requests in a row failed at {self.client.base_url} "
                    f"(last error: {error}); check that the endpoint serves {model!r}"
                ) from error
            return None
        self._consecutive_failures = 0
        return text

    def generate(self, image: Any, instruction: str, family: str, *, image_url: str | None = None) -> QAPair | None:
        """One judged QA pair, or None (failed request, unparseable output, or judged below `min_score`)."""
        height, width = np.asarray(image).shape[:2]
        url = image_url or _data_url(image)
        text = self._ask(
            self.config.model, url, GENERATION_PROMPTS[family].format(instruction=instruction), self.config.temperature
        )
        parsed = parse_question_answer(text) if text is not None else None
        if parsed is None:
            if text is not None:
                self.report.unparseable += 1
            return None
        question, answer = parsed
        if family == "grounding":
            coordinates = parse_coordinates(answer, width, height)
            if coordinates is None:
                self.report.unparseable += 1
                return None
            kind, values = coordinates
            answer = format_boxes(values) if kind == "box" else format_points(values)
            question = question + GROUNDING_SUFFIX[kind]
        prompt = JUDGE_PROMPT.format(
            instruction=instruction, question=question, answer=answer, rubric=JUDGE_RUBRICS[family]
        )
        verdict = self._ask(self.config.judge_model or self.config.model, url, prompt, self.config.judge_temperature)
        match = _SCORE.search(verdict or "")
        score = int(match.group(1)) if match else None
        self.report.scores[score if score is not None else "invalid"] += 1
        if score is None or score < self.config.min_score:
            self.report.dropped[family] += 1
            return None
        self.report.kept[family] += 1
        return QAPair(
            question, answer, {"kind": "model", "family": family, "judge_score": score, "model": self.config.model}
        )

    def conversations(
        self, image: Any, instruction: str, *, id_prefix: str, domain: str, source: str
    ) -> list[Conversation]:
        """One single-turn conversation per configured family that survived the judge."""
        url = _data_url(image)
        out = []
        for family in self.config.families:
            pair = self.generate(image, instruction, family, image_url=url)
            if pair is not None:
                out.append(Conversation(f"{id_prefix}:{family}:model", family, domain, source, [pair]))
        return out
