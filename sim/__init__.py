"""Agent-based simulator of influence-operation reach: vanity metrics against real audience."""

import atexit
import gc
import os
from pathlib import Path
from typing import Any

# numba would vectorise math with Intel's SVML where installed, and so depend on the CPU (see
# sim.portable); read when numba is first imported, so set before anything imports it
os.environ.setdefault("NUMBA_DISABLE_INTEL_SVML", "1")

# The imports below (numba, pandas, Mesa) make a few hundred thousand objects that live as long as
# the program: the garbage collector would walk them all again and again while they are made
# (0.2 s of a 1.3 s import), so it waits until they are in; they then go straight to its oldest
# generation (freeze, unfreeze: nothing stays frozen, not even what was frozen before), where only
# a full collection walks them, not the young collections that would otherwise walk them all
# twice more (0.2 s of a small run).
_collecting = gc.isenabled()
gc.disable()
try:
    # glibc's heaps are set before any library starts threads; Mesa's import inspects the call
    # stack, and its spaces wait for their first use (sim.startup)
    from . import memory  # noqa: F401, I001
    from .startup import import_mesa

    import_mesa()
    from .kernel_cache import defining_kernels

    with defining_kernels():  # (every module with kernels is imported here)
        from .config import Config, ConfigError, load_config
        from .model import InfluenceModel
        from .runner import RunResult, run
        from .threads import get_threads, set_threads
finally:
    if _collecting:
        gc.freeze()
        gc.unfreeze()
        gc.enable()
    del _collecting


def load(path: str | Path, table: str = "results") -> Any:
    """Results of ``sim sweep`` or ``sim run`` as pandas: ``sim.load("results/volume")`` gives
    one row per run; ``table="timeseries"`` the per-tick series (see ``sim.sweep.load``)."""
    from .sweep import load as _load

    return _load(path, table)


def _threads_from_environment() -> None:
    """Apply ``SIM_THREADS`` now; a bad value warns here and is refused by ``set_threads``."""
    import warnings

    try:
        set_threads()
    except ConfigError as exc:
        warnings.warn(f"{exc}; using every available core", stacklevel=2)


_threads_from_environment()

# At exit Python's last garbage collections walk every object the imports made (numba's and
# pandas' registries among them): 0.2-0.3 s of a small run's 2.9 s. Frozen first, they are left
# to the operating system. Nothing is frozen while the program runs; objects held only by
# reference cycles are then not finalized at exit, which Python does not promise anyway
# (``atexit.unregister(gc.freeze)`` undoes it; docs/performance.md, "Leaving the imports at exit").
atexit.register(gc.freeze)

__all__ = ["Config", "ConfigError", "InfluenceModel", "RunResult", "get_threads", "load",
           "load_config", "run", "set_threads"]
