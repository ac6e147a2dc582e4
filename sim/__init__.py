"""Agent-based simulator of influence-operation reach: vanity metrics against real audience."""

from pathlib import Path
from typing import Any

from .config import Config, ConfigError, load_config
from .model import InfluenceModel
from .runner import RunResult, run


def load(path: str | Path, table: str = "results") -> Any:
    """Results of ``sim sweep`` or ``sim run`` as pandas: ``sim.load("results/volume")`` gives
    one row per run; ``table="timeseries"`` the per-tick series (see ``sim.sweep.load``)."""
    from .sweep import load as _load

    return _load(path, table)


__all__ = ["Config", "ConfigError", "InfluenceModel", "RunResult", "load", "load_config", "run"]
