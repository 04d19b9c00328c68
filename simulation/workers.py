"""Set-up shared by the simulator worker processes of the recorder and the closed-loop evaluator."""

from __future__ import annotations

import os
import threading
import time


def _exit_when_orphaned(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def init_worker_process(parent: int | None) -> None:
    """Start-up of one pool worker that renders with Mesa on the CPU.

    * One llvmpipe thread per process: with one worker per core, that renders the most frames per core.
    * The worker exits when `parent` (the process that started the pool) is gone, e.g. killed: a pool worker would
      otherwise wait for jobs forever. `None` skips the watch (the pool's parent is this process).
    """
    os.environ.setdefault("LP_NUM_THREADS", "1")
    if parent is not None:
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
