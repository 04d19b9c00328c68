"""Pick MuJoCo's offscreen OpenGL backend before `mujoco` is imported.

Why here: `mujoco` reads ``MUJOCO_GL`` and PyOpenGL reads ``PYOPENGL_PLATFORM`` once, at import time. The
package's `__init__` imports this module before any submodule that imports mujoco, so `import simulation.aloha` on a
head-less CPU machine renders through EGL (Mesa llvmpipe), or through OSMesa where no EGL library is installed. A
value the user already set always wins.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
import warnings

_BACKENDS = ("egl", "osmesa")


def _library_present(name: str) -> bool:
    return ctypes.util.find_library(name) is not None


def choose_gl_backend() -> str:
    """Set ``MUJOCO_GL``/``PYOPENGL_PLATFORM`` (unless set) and return the backend MuJoCo will use."""
    chosen = os.environ.get("MUJOCO_GL")
    if not chosen:
        if _library_present("EGL"):
            chosen = "egl"
        elif _library_present("OSMesa"):
            chosen = "osmesa"
        else:  # nothing found: keep EGL so that the renderer's error names the missing library
            chosen = "egl"
        os.environ["MUJOCO_GL"] = chosen
        if "mujoco" in sys.modules:
            warnings.warn(
                f"mujoco was imported before simulation.aloha chose MUJOCO_GL={chosen!r}, so it may not take effect; "
                "import simulation.aloha first or set MUJOCO_GL in the environment",
                RuntimeWarning,
                stacklevel=3,
            )
    if chosen in _BACKENDS:
        os.environ.setdefault("PYOPENGL_PLATFORM", chosen)
    return chosen


GL_BACKEND = choose_gl_backend()

GL_HELP = (
    "MuJoCo offscreen rendering needs EGL or OSMesa (Debian packages libegl1 libegl-mesa0 libgl1-mesa-dri "
    "libosmesa6; run `scripts/install_sim_deps.sh` as root). Choose one with MUJOCO_GL=egl or MUJOCO_GL=osmesa."
)
