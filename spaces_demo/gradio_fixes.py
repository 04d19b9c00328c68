"""A workaround for a race in gradio 6.31's output cache, applied when the app is imported.

`gradio.processing_utils.save_pil_to_cache` names a cached image after the hash of its bytes and writes it in place
(`Path.write_bytes`: truncate, then write). Two requests that produce the same image at the same moment (two
visitors grounding the same gallery frame; every annotation mask of an identical answer) rewrite one file while it is
being served, and a client receives it truncated: `RemoteProtocolError: peer closed connection without sending
complete message body`, seen for 1 of 60 identical requests in `eval/perf/bench_demo.py`. Writing to a temporary
file and renaming it over the cached one (atomic on POSIX) means a reader sees either the old complete file or the
new complete one, which have the same bytes.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import PIL.Image
from gradio import processing_utils
from gradio.utils import abspath

gradio_save_pil_to_cache = processing_utils.save_pil_to_cache


def save_pil_to_cache_atomically(
    img: PIL.Image.Image, cache_dir: str, name: str = "image", format: str = "webp"
) -> str:
    """Same contract as gradio's `save_pil_to_cache`, with an atomic write."""
    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    target = (folder / f"{name}.{format}").resolve()
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=f".{format}")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return str(abspath(target))


def apply() -> None:
    """Install the atomic writer (idempotent). Components look it up on the module at call time."""
    processing_utils.save_pil_to_cache = save_pil_to_cache_atomically
