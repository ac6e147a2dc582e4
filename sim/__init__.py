"""Agent-based simulator of influence-operation reach: vanity metrics against real audience."""

import os
from pathlib import Path
from typing import Any

# numba would vectorise math with Intel's SVML where installed, and so depend on the CPU (see
# sim.portable); read when numba is first imported, so set before anything imports it
os.environ.setdefault("NUMBA_DISABLE_INTEL_SVML", "1")

from . import memory  # noqa: F401  (first: it sets glibc's heaps before threads start)
from .config import Config, ConfigError, load_config
from .model import InfluenceModel
from .runner import RunResult, run
from .threads import get_threads, set_threads


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

__all__ = ["Config", "ConfigError", "InfluenceModel", "RunResult", "get_threads", "load",
           "load_config", "run", "set_threads"]
