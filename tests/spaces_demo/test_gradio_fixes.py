"""The atomic replacement for gradio's image cache writer: readers never see a half-written file."""

from __future__ import annotations

import threading

import numpy as np
import PIL.Image
from gradio import processing_utils

from spaces_demo import gradio_fixes


def _read_while_writing(save, tmp_path) -> list[int]:
    """Sizes seen by a reader while 4 threads keep writing the same image through `save`."""
    image = PIL.Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8))
    path = save(image, str(tmp_path), format="png")
    sizes, stop = [], threading.Event()

    def write() -> None:
        for _ in range(40):
            save(image, str(tmp_path), format="png")

    def read() -> None:
        while not stop.is_set():
            with open(path, "rb") as handle:
                sizes.append(len(handle.read()))

    writers = [threading.Thread(target=write) for _ in range(4)]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()
    return sizes


def test_readers_always_see_the_complete_image(tmp_path):
    sizes = _read_while_writing(gradio_fixes.save_pil_to_cache_atomically, tmp_path)
    assert len(sizes) > 10 and len(set(sizes)) == 1  # one size: the whole file, every time
    assert not [entry for entry in tmp_path.rglob(".image-*")]  # no temporary files left behind


def test_the_app_installs_it():
    import spaces_demo.app  # noqa: F401  (applies the fix on import)

    assert processing_utils.save_pil_to_cache is gradio_fixes.save_pil_to_cache_atomically


def test_gradios_own_writer_still_needs_the_workaround(tmp_path):
    """Fails once gradio writes its cache atomically itself: then `gradio_fixes` can go."""
    sizes = _read_while_writing(gradio_fixes.gradio_save_pil_to_cache, tmp_path)
    assert len(set(sizes)) > 1  # some reads caught the file truncated or half-written
