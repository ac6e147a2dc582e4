"""The outcomes a run can report, so that an experiment's outcomes are checked before its first
run (a misspelt outcome would otherwise fail every run, one by one).

``tests/test_strict_input.py`` compares these lists with the keys real runs produce.
"""

from __future__ import annotations

from pathlib import Path

from .config import Config, ConfigError

DEFAULT_OUTCOMES = ["posts_published", "reported_followers", "reported_engagements",
                    "organic_exposed_users", "organic_engagements", "organic_reshares",
                    "organic_followers_gained", "in_network_engagement_share",
                    "exposure_top1pct_share", "breakout_category"]
"""An experiment's outcomes when it names none."""

OPERATION_OUTCOMES = frozenset({
    "accounts_alive", "accounts_removed_per_action", "accounts_run", "breakout_category",
    "communities_reached", "deliveries", "exposed_users_share", "exposure_top10pct_share",
    "exposure_top1pct_share", "follower_edges", "high_profile_amplifications", "hijack_replies",
    "in_network_engagement_share", "in_network_engagements", "kidding_ratio",
    "kidding_ratio_impressions", "log_kidding_ratio", "media_amplifications",
    "median_removal_delay_hours", "moderation", "moderation_actions", "moderation_precision",
    "moderation_recall", "n_accounts", "n_operators", "n_users",
    "op_accounts_lt100_followers_public", "op_accounts_lt100_followers_real",
    "op_accounts_lt10_followers_public", "op_accounts_lt10_followers_real",
    "op_accounts_mean_engagements_public", "op_accounts_mean_engagements_real",
    "op_accounts_mean_followers_public", "op_accounts_mean_followers_real",
    "op_accounts_median_followers_public", "op_accounts_median_followers_real",
    "op_accounts_zero_followers_public", "op_accounts_zero_followers_real",
    "op_posts_gt1000_views_public", "op_posts_gt1000_views_real", "op_posts_lt100_views_public",
    "op_posts_lt100_views_real", "op_posts_mean_engagements_public",
    "op_posts_mean_engagements_real", "op_posts_zero_engagements_public",
    "op_posts_zero_engagements_real", "op_posts_zero_views_public", "op_posts_zero_views_real",
    "operation_accounts_removed", "organic_accounts_removed", "organic_cross_posts",
    "organic_engagements", "organic_exposed_users", "organic_followers_gained",
    "organic_followers_lost", "organic_impressions", "organic_likes", "organic_median_followers",
    "organic_median_followers_bottom90pct", "organic_median_followers_top10pct",
    "organic_median_posts_per_month_bottom90pct", "organic_platform", "organic_posts",
    "organic_posts_gt1000_views", "organic_posts_lt100_views", "organic_posts_mean_engagements",
    "organic_posts_median_views", "organic_posts_no_reply_or_reshare",
    "organic_posts_zero_comments", "organic_posts_zero_views", "organic_replies",
    "organic_reports", "organic_reshares", "organic_top10pct_posts_share", "platforms_reached",
    "posts_published", "reported_engagements", "reported_followers", "reported_impressions",
    "reports", "runtime_seconds", "seed", "ticks"})
"""Summary keys of every influence-operation run."""
CONDITIONAL_OUTCOMES: dict[str, tuple[str, frozenset[str]]] = {
    "adaptation": ("adaptation.enabled = true", frozenset(
        f"allocation_{t}" for t in ("amplification", "audience", "buying", "hijacking",
                                    "timeliness", "volume"))),
    "moderation": ("moderation.enabled = true", frozenset({
        "accounts_flagged", "moderation_by_platform", "operation_accounts_acquired"})),
    "counterfactual": ("moderation.enabled = true and moderation.counterfactual = true",
                       frozenset({"counterfactual_organic_engagements",
                                  "counterfactual_organic_exposed_users",
                                  "counterfactual_organic_impressions",
                                  "operation_exposed_users_prevented",
                                  "operation_exposures_prevented"})),
}
"""Summary keys present only when a condition holds: name -> (condition, keys)."""
SIMSOM_OUTCOMES = frozenset({
    "average_quality", "bad_actor_share_of_human_feeds", "baseline_average_quality",
    "baseline_converged", "baseline_final_quality", "baseline_simulation_seconds",
    "baseline_steps", "converged", "edges_bad_actor", "edges_human", "edges_infiltration",
    "final_quality", "mean_followees", "messages_created", "model", "n_bad_actors", "n_humans",
    "relative_quality", "runtime_seconds", "seed", "simulation_seconds", "steps", "ticks"})
"""Summary keys of a SimSoM run."""


def _conditions(cfg: Config) -> dict[str, bool]:
    mod = cfg.moderation.enabled
    return {"adaptation": cfg.adaptation.enabled, "moderation": mod,
            "counterfactual": mod and cfg.moderation.counterfactual}


def check_outcomes(outcomes: list[str], configs: list[Config], path: Path) -> None:
    """Refuse outcome names no run of the experiment would report, before the first run (a
    misspelt outcome would otherwise fail every run, one by one)."""
    if len(set(outcomes)) < len(outcomes):
        raise ConfigError(f"{path}: outcomes: a name is listed twice")
    for cfg in configs:
        if cfg.simsom.enabled:
            allowed = set(SIMSOM_OUTCOMES)
        else:
            allowed = set(OPERATION_OUTCOMES)
            for name, on in _conditions(cfg).items():
                if on:
                    allowed |= CONDITIONAL_OUTCOMES[name][1]
        for o in outcomes:
            if o in allowed:
                continue
            needs = [cond for name, (cond, keys) in CONDITIONAL_OUTCOMES.items() if o in keys]
            if needs and not cfg.simsom.enabled:
                raise ConfigError(f"{path}: outcomes: {o!r} is reported only when {needs[0]}, "
                                  "which does not hold at every design point")
            raise ConfigError(f"{path}: outcomes: {o!r} is not an outcome a run reports; "
                              f"allowed: {', '.join(sorted(allowed))}")
