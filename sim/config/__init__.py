"""Typed, validated configuration: every parameter of the model in one place.

A run is fully described by one :class:`Config` (loaded from TOML) and one integer seed. Each
field carries its unit, allowed range and, where a default comes from a public source, that source
(see ``../shared/reference`` summaries cited as [Meta 2023], [DOJ 2023], ...). Defaults without a
source are calibration assumptions and say so. ``sim config-docs`` renders this package as
``docs/config.md``.

The schema is split by what it configures: ``world`` (communities, population, platforms,
engagement), ``operation`` (the operation, its paymaster, adaptive operators), ``moderation``,
``scenario`` (the whole scenario, run settings, the Breakout Scale's definition); ``loading``
reads TOML and applies ``--set`` overrides; ``errors`` words every failure. Section classes end
in ``Config`` (``PlatformConfig``), so they are never confused with the runtime objects they
configure (``sim.platform.Platform``).
"""

from .base import LANGUAGES, ConfigError, Strict
from .errors import allowed_range, check_finite, field_owner, format_error, short_repr
from .loading import (
    build_config,
    get_path,
    load_config,
    parse_override,
    read_toml,
    refuse_other_kind,
    resolve_platform_keys,
    set_path,
)
from .moderation import ModerationConfig
from .operation import (
    KPI_PRESETS,
    REPORT_QUANTITIES,
    TACTICS,
    AdaptationConfig,
    OperationConfig,
    PaymasterConfig,
)
from .scenario import BreakoutConfig, Config, RunConfig
from .world import CommunityConfig, EngagementConfig, PlatformConfig, PopulationConfig

__all__ = [
    "KPI_PRESETS", "LANGUAGES", "REPORT_QUANTITIES", "TACTICS", "AdaptationConfig",
    "BreakoutConfig", "CommunityConfig", "Config", "ConfigError", "EngagementConfig",
    "ModerationConfig", "OperationConfig", "PaymasterConfig", "PlatformConfig",
    "PopulationConfig", "RunConfig", "Strict", "allowed_range", "build_config", "check_finite",
    "field_owner", "format_error", "get_path", "load_config", "parse_override", "read_toml",
    "refuse_other_kind", "resolve_platform_keys", "set_path", "short_repr",
]
