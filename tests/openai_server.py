"""A tiny OpenAI-compatible chat server for the model-QA tests (stdlib `http.server`, 127.0.0.1 only).

Why a server and not a mock: the model-QA client must work against what vLLM/TGI actually expose (`POST
/v1/chat/completions`, the OpenAI request and reply schema, images as data URLs), so the test drives the real HTTP
client against a real socket. Answers are deterministic functions of the prompt:

* a judge prompt (it contains "single integer score") gets "1" when the judged text contains "BAD", else "3";
* a generation prompt gets a fixed `Question: ... / Answer: ...` per family: grounding answers a point as fractions
  "(0.25, 0.5)", spatial answers contain "BAD" (so the judge drops them), general answers are plain.

Every request body is kept in `requests` so tests can check prompts, images, models and temperatures.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["OpenAICompatibleServer"]

GROUNDING_REPLY = "Question: Where is the carrot?\nAnswer: The carrot is at (0.25, 0.5)."
SPATIAL_REPLY = "Question: BAD question about distances?\nAnswer: BAD answer."
GENERAL_REPLY = "Question: What is the robot about to do?\nAnswer: It is reaching for the carrot."


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content or [] if part.get("type") == "text")


def reply_for(body: dict[str, Any]) -> str:
    prompt = _text_of(body["messages"][-1])
    if "single integer score" in prompt:
        return "1" if "BAD" in prompt else "3"
    if "grounding question-answer pair" in prompt:
        return GROUNDING_REPLY
    if "spatial intelligence" in prompt:
        return SPATIAL_REPLY
    return GENERAL_REPLY


class OpenAICompatibleServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self.send_error(404, "unknown endpoint")
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                server.requests.append(body)
                payload = json.dumps(
                    {
                        "id": f"chatcmpl-{len(server.requests)}",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply_for(body)},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> OpenAICompatibleServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
