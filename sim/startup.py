"""Importing Mesa cheaply: without its stack inspection, and its spaces on first use.

While Mesa 3.5 is imported, its logging helpers (``mesa.mesa_logging``) ask :mod:`inspect` for
the whole call stack, only to learn the calling module's and function's names:
``inspect.stack()`` and ``inspect.getouterframes`` look up each frame's source lines, and
``inspect.getmodule`` resolves the real path of every module loaded so far (about 1,200:
numpy's, pandas' and SciPy's, which Mesa imports first), then scans them all again for each frame
of Python's frozen import machinery: about 70 ms of a 1.05 s ``import sim`` (docs/performance.md,
"Importing Mesa without its stack walks"). While :func:`import_mesa` imports Mesa, the three
functions take the same frames, names and modules from the frames themselves, without source
lines; they are restored as soon as Mesa is in.

Mesa's spaces (``mesa.discrete_space``, ``mesa.experimental.continuous_space`` and the
deprecated ``mesa.space``), which this package does not use, are imported as they are first
used rather than with Mesa (:func:`spaces_deferred`): they bring in SciPy's spatial module and
networkx, about a quarter of ``import sim``.
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from importlib.abc import Loader
from importlib.machinery import ModuleSpec, PathFinder
from types import FrameType, ModuleType


def import_mesa() -> None:
    """Import Mesa (:mod:`inspect` answering from the frames alone meanwhile), its spaces
    deferred to their first use (:func:`spaces_deferred`)."""
    if "mesa" in sys.modules:
        return
    with frames_without_source(), spaces_deferred():
        import mesa  # noqa: F401


DEFERRED = frozenset({"mesa.discrete_space", "mesa.experimental.continuous_space", "mesa.space"})
"""Mesa's spaces: Mesa imports them with itself, and they import ``scipy.spatial`` (KD-trees)
and networkx; this package's worlds are follower graphs of its own (:mod:`sim.network`)."""


@contextmanager
def spaces_deferred() -> Iterator[None]:
    """While the block runs, importing one of Mesa's spaces (:data:`DEFERRED`) makes its module
    without running its code, which runs when the module is first used (:class:`_Deferring`):
    ``import mesa`` then costs neither SciPy's spatial module nor networkx, and
    ``mesa.discrete_space.OrthogonalMooreGrid``, say, loads them as it is looked up."""
    finder = _Deferring()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        finder.deferring = False
        finder.leave_if_done()


class _Deferring:
    """The finder of :func:`spaces_deferred`. While ``deferring``, a :data:`DEFERRED` module is
    made with its name, spec and (for a package) path, and its code waits. It runs, once and
    under a lock, the first time the module is asked for an attribute it lacks (a module
    ``__getattr__``, PEP 562), or before one of its submodules is imported, as a plain import
    runs a package's code before its submodules'. The finder leaves ``sys.meta_path`` once
    nothing waits.

    :class:`importlib.util.LazyLoader` runs a package when its path is looked up, and CPython
    looks the path up after it has checked whether the submodule is imported: importing a
    submodule first would run it twice, once from the package (two copies of its classes)."""

    def __init__(self) -> None:
        self.deferring = True
        self.waiting: dict[str, Loader] = {}  # module name -> its loader, code not yet run
        self.lock = threading.RLock()

    def find_spec(self, name: str, path: list[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        package = name.rpartition(".")[0]
        if package in self.waiting:  # a submodule first: its package's code runs first
            self.run(sys.modules[package])
            module = sys.modules.get(name)
            if module is not None:  # the package imported it: CPython then takes its spec,
                module.__spec__.loader = _Imported(module.__spec__.loader)  # whose loader
            return None  # gives back the module (a spec from here would not be taken)
        if not self.deferring or name not in DEFERRED:
            return None
        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            self.waiting[name] = spec.loader
            spec.loader = self
        return spec

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.waiting[spec.name].create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        """Not yet: the module's code waits for its first use."""
        module.__getattr__ = partial(self.first_use, module)

    def first_use(self, module: ModuleType, attr: str) -> object:
        hook = vars(module).get("__getattr__")
        self.run(module)
        if vars(module).get("__getattr__") is hook:  # looked up by its own code as it runs
            raise AttributeError(f"module {module.__name__!r} has no attribute {attr!r}")
        return getattr(module, attr)

    def run(self, module: ModuleType) -> None:
        """Run a waiting module's code, unless another thread has (the others wait for it)."""
        name = module.__name__
        with self.lock:
            loader = self.waiting.pop(name, None)
            if loader is None:
                return
            hook = vars(module)["__getattr__"]
            module.__loader__ = module.__spec__.loader = loader
            try:
                loader.exec_module(module)
            except BaseException:  # it waits again, as a failed import is tried again
                self.waiting[name] = loader
                module.__loader__ = module.__spec__.loader = self
                raise
            if vars(module).get("__getattr__") is hook:  # (not the module's own)
                del module.__getattr__
            self.leave_if_done()

    def leave_if_done(self) -> None:
        if not self.deferring and not self.waiting and self in sys.meta_path:
            sys.meta_path.remove(self)


class _Imported:
    """The loader of a module that its package's code imported while the import system was
    already finding it (:meth:`_Deferring.find_spec`): the same module, its code not run
    again; its own loader then goes back on its spec."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return sys.modules[spec.name]

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__.loader = self.loader


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
