"""How figures name things: axis labels of outcomes and factors with their units, readable
numbers and level names, and titles that say which experiment and design a figure shows."""

from __future__ import annotations

import numpy as np

from ..config import field_owner
from .data import SweepData

_COUNTS = {
    "posts_published", "accounts_alive", "reported_followers", "reported_impressions",
    "reported_engagements", "organic_exposed_users", "organic_impressions", "organic_engagements",
    "organic_reshares", "organic_followers_gained", "in_network_engagements", "hijack_replies",
    "organic_likes", "organic_replies", "organic_reports", "organic_cross_posts",
    "media_amplifications", "high_profile_amplifications", "platforms_reached",
    "communities_reached", "organic_posts", "deliveries", "ticks", "n_users", "n_accounts",
    "n_operators"}


def outcome_label(name: str) -> str:
    """Axis label of an outcome with its unit (``docs/outputs.md``), where known."""
    if name in _COUNTS:
        return f"{name} (count)"
    if name.endswith("_share"):
        return f"{name} (fraction, 0-1)"
    if name == "breakout_category":
        return f"{name} (Breakout Scale, 1-5)"
    if name == "runtime_seconds":
        return f"{name} (s)"
    return name


_NONNEGATIVE = _COUNTS | {
    "accounts_run", "operation_accounts_removed", "operation_accounts_acquired",
    "organic_accounts_removed", "organic_followers_lost", "moderation_actions",
    "moderation_precision", "moderation_recall", "median_removal_delay_hours",
    "accounts_removed_per_action", "exposure_top1pct_share", "breakout_category",
    "kidding_ratio", "kidding_ratio_impressions", "runtime_seconds"}


def nonnegative(name: str) -> bool:
    """Outcomes that cannot be negative (counts, shares, ratios of counts, categories), whose
    confidence bands must stop at zero. A difference (e.g. exposures prevented) is not one."""
    return name in _NONNEGATIVE or name.endswith("_share")


def _schema_unit(key: str) -> str:
    """The unit the configuration schema declares for a factor's field, if any."""
    owner = field_owner(tuple(key.split(".")))
    if owner is None:
        return ""
    extra = owner[0].model_fields[owner[1]].json_schema_extra
    return extra.get("unit", "") if isinstance(extra, dict) else ""


def factor_label(key: str) -> str:
    """Axis label of a factor (a dotted config key), with a unit guessed from its name."""
    last = key.rsplit(".", 1)[-1]
    for suffix, unit in (("_prob", "probability, 0-1"), ("_share", "fraction, 0-1"),
                         ("_fraction", "fraction, 0-1"), ("_hours", "hours"), ("_days", "days")):
        if last.endswith(suffix):
            return f"{key} ({unit})"
    unit = _schema_unit(key)
    if unit:
        return f"{key} ({unit})"
    if key == "population.n_users":
        return f"{key} (users)"
    if key == "run.days":
        return f"{key} (days)"
    return key


def outcomes_label(outcomes: list[str]) -> str:
    """One axis label for several outcomes: the shared unit once, else each outcome's label."""
    units = {outcome_label(o)[len(o):] for o in outcomes}
    if len(units) == 1:
        return ", ".join(outcomes) + units.pop()
    return ", ".join(outcome_label(o) for o in outcomes)


def sweep_title(data: SweepData, text: str) -> str:
    reps = data.exp.spec.replicates
    return (f"Experiment '{data.name}': {text}\n{data.kind} design, "
            f"{len(data.exp.points)} points x {reps} replicate{'s' * (reps > 1)}")


def fmt_number(v: float) -> str:
    """Readable numbers: 3 significant digits, thousands separated, no exponent below 10^9."""
    if not np.isfinite(v):
        return ""
    if abs(v) >= 1e9:
        return f"{v:.2e}"
    if abs(v) >= 1000:
        return f"{float(f'{v:.3g}'):,.0f}"
    return f"{v:.3g}"


def level_label(v: object) -> str:
    """Tick or point label of a factor level: floats shortened, anything else as written."""
    return fmt_number(v) if isinstance(v, float) else str(v)
