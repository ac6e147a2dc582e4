"""Agent-based simulator of influence-operation reach: vanity metrics against real audience."""

from .config import Config, ConfigError, load_config
from .model import InfluenceModel
from .runner import RunResult, run

__all__ = ["Config", "ConfigError", "InfluenceModel", "RunResult", "load_config", "run"]
