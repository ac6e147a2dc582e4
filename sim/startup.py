"""Importing Mesa without paying for its stack inspection.

While Mesa 3.5 is imported, its logging helpers (``mesa.mesa_logging``) ask :mod:`inspect` for
the whole call stack, only to learn the calling module's and function's names:
``inspect.stack()`` and ``inspect.getouterframes`` look up each frame's source lines, and
``inspect.getmodule`` resolves the real path of every module loaded so far (about 1,200:
numpy's, pandas' and SciPy's, which Mesa imports first), then scans them all again for each frame
of Python's frozen import machinery: about 70 ms of a 1.05 s ``import sim`` (docs/performance.md,
"Importing Mesa without its stack walks"). While :func:`import_mesa` imports Mesa, the three
functions take the same frames, names and modules from the frames themselves, without source
lines; they are restored as soon as Mesa is in.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, ModuleType


def import_mesa() -> None:
    """Import Mesa (:mod:`inspect` answering from the frames alone meanwhile)."""
    if "mesa" in sys.modules:
        return
    with frames_without_source():
        import mesa  # noqa: F401


@contextmanager
def frames_without_source() -> Iterator[None]:
    """``inspect.stack``, ``inspect.getouterframes`` and ``inspect.getmodule`` (of a frame)
    without looking at files while the block runs: no source lines (``code_context`` and
    ``index`` are None), and a frame's module is the one its globals name."""
    saved = inspect.stack, inspect.getouterframes, inspect.getmodule
    getmodule = saved[2]

    def outer(frame: FrameType | None, context: int = 1) -> list[inspect.FrameInfo]:
        frames = []
        while frame is not None:
            code = frame.f_code
            frames.append(inspect.FrameInfo(frame, code.co_filename, frame.f_lineno,
                                            code.co_name, None, None))
            frame = frame.f_back
        return frames

    def stack(context: int = 1) -> list[inspect.FrameInfo]:
        return outer(sys._getframe(1), context)

    def module(obj: object, _filename: str | None = None) -> ModuleType | None:
        if inspect.isframe(obj):
            return sys.modules.get(obj.f_globals.get("__name__"))
        return getmodule(obj, _filename)

    inspect.stack, inspect.getouterframes, inspect.getmodule = stack, outer, module
    try:
        yield
    finally:
        inspect.stack, inspect.getouterframes, inspect.getmodule = saved
