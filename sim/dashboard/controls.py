"""The dashboard's scenario and its controls, generated from the pydantic schema
(``sim.config``).

A ``Literal`` field becomes a choice, a ``bool`` a checkbox, a number a slider whose ends are the
field's ``ge``/``gt`` and ``le`` bounds. Where the schema's upper bound is far above the
scenario's value (``le=10000`` hours for a 12-hour delay), the slider stops at ``SLIDER_SPAN``
times the scenario's value (rounded up to a round number) so that it stays usable; ``sim run
--set`` reaches the rest.
"""

from __future__ import annotations

import math
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..config import Config, ConfigError, build_config, get_path, read_toml

DEFAULT_CONFIG = Path("experiments/spamouflage.toml")

DEFAULT_USERS = 10_000
"""Small enough that one simulated hour steps and redraws well under a second (README)."""

SLIDER_SPAN = 20.0
"""A slider whose schema bound is more than this many times the scenario's value stops here."""

LEVERS = (
    "operation.posts_per_account_day",
    "operation.fluency_mean",
    "operation.content_lag_hours",
    "operation.utc_offset",
    "operation.fake_followers_per_day",
    "operation.fake_followers_mean",
    "operation.hijack_fraction",
    "operation.follows_per_account_day",
    "moderation.enabled",
    "moderation.threshold",
    "moderation.review_delay_hours",
    "moderation.action",
    "paymaster.kpi",
)
"""The levers the mission turns on (the operation's volume, fluency, timing, follower buying,
hijacking and audience building; moderation; the paymaster's KPI). Each platform's ranking is
added per platform of the scenario."""


def field_info(key: str, root: type[BaseModel] = Config):
    """The pydantic field at a dotted key (list items by index or name, e.g.
    ``platforms.0.ranking``), or raise ConfigError."""
    model: Any = root
    parts = key.split(".")
    i = 0
    while i < len(parts):
        name = parts[i]
        if not (isinstance(model, type) and issubclass(model, BaseModel)) \
                or name not in model.model_fields:
            raise ConfigError(f"{key}: no such field")
        info = model.model_fields[name]
        if i == len(parts) - 1:
            return info
        ann = info.annotation
        if typing.get_origin(ann) is list:  # skip the list index or name
            ann, i = typing.get_args(ann)[0], i + 1
        model, i = ann, i + 1
    raise ConfigError(f"{key}: no such field")


def _bounds(info) -> tuple[float | None, float | None, bool]:
    lo = hi = None
    strict = False
    for m in info.metadata:
        if getattr(m, "ge", None) is not None:
            lo = m.ge
        if getattr(m, "gt", None) is not None:
            lo, strict = m.gt, True
        if getattr(m, "le", None) is not None:
            hi = m.le
    return lo, hi, strict


def _round_up(x: float) -> float:
    """The next round number (1, 2 or 5 times a power of ten) at or above ``x``."""
    if x <= 0:
        return 1.0
    p = 10 ** math.floor(math.log10(x))
    return next(m * p for m in (1, 2, 5, 10) if m * p >= x)


def _step(span: float, offset: float) -> float:
    """A round slider step (1, 2 or 5 times a power of ten), at most about 1/200 of the span,
    that lands exactly on the scenario's value: a slider snaps to its steps, and a step that
    missed the value would silently change it."""
    top = _round_up(span / 200) if span > 2 else 0.01
    for step in (m * 10.0 ** e for e in range(4, -7, -1) for m in (5, 2, 1)):
        if step <= top * (1 + 1e-9) and abs(offset / step - round(offset / step)) < 1e-6:
            return step
    return top


def control(key: str, value: Any) -> dict:
    """A SolaraViz user parameter for one config field, from its schema."""
    info = field_info(key)
    unit = (info.json_schema_extra or {}).get("unit", "") if isinstance(
        info.json_schema_extra, dict) else ""
    name = key.split(".")[-1] if key.startswith("operation.") else key
    label = f"{name} ({unit})" if unit and len(name) + len(unit) <= 32 else name
    ann = info.annotation
    if typing.get_origin(ann) is typing.Literal:
        return {"type": "Select", "value": value, "values": list(typing.get_args(ann)),
                "label": label}
    if ann is bool:
        return {"type": "Checkbox", "value": bool(value), "label": label}
    lo, hi, strict = _bounds(info)
    if ann is int:
        lo = int(lo) + strict if lo is not None else min(0, int(value))
        hi = int(hi) if hi is not None else max(10, 10 * int(value))
        return {"type": "SliderInt", "value": int(value), "min": lo, "max": hi, "step": 1,
                "label": label}
    lo = float(lo) if lo is not None else min(0.0, float(value))
    if hi is None or hi > SLIDER_SPAN * max(float(value), 1.0):
        hi = _round_up(SLIDER_SPAN * max(float(value), 1.0)) if hi is None else min(
            hi, _round_up(SLIDER_SPAN * max(float(value), 1.0)))
    step = _step(hi - lo, float(value) - lo)
    if strict:
        lo += step
    return {"type": "SliderFloat", "value": float(value), "min": lo, "max": float(hi),
            "step": step, "label": label}


def model_params(scenario: dict, users: int = DEFAULT_USERS) -> dict:
    """SolaraViz ``model_params``: the scenario and size (fixed), the seed (text, so that any
    seed can be typed) and one control per lever, starting at the scenario's values."""
    cfg = build_config(scenario, {"population.n_users": users})
    keys = list(LEVERS) + [f"platforms.{i}.ranking" for i in range(len(cfg.platforms))]
    params: dict[str, Any] = {"scenario_data": scenario, "n_users": users,
                              "seed": {"type": "InputText", "value": str(cfg.run.seed),
                                       "label": "seed (run.seed)"}}
    for key in keys:
        params[key] = control(key, get_path(cfg, key))
        if key.startswith("platforms."):
            params[key]["label"] = f"{key} ({cfg.platforms[int(key.split('.')[1])].name})"
    return params


def load_scenario(path: str | Path) -> dict:
    """The raw TOML data of a scenario file, validated once (ConfigError if invalid)."""
    data = read_toml(path, "config")
    build_config(data, origin=str(path))
    return data
