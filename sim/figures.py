"""Figures drawn from a run's tables."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

VANITY_LINES = [("posts_published", "posts published"),
                ("reported_followers", "followers (incl. bought)"),
                ("reported_engagements", "engagements (incl. own accounts)"),
                ("reported_impressions", "impressions (incl. own & fake)")]
REAL_LINES = [("organic_reshares", "reshares by real users"),
              ("organic_followers_gained", "real followers gained"),
              ("organic_engagements", "engagements by real users"),
              ("organic_impressions", "impressions on real users"),
              ("organic_exposed_users", "distinct real users exposed")]


def headline_figure(ts: pd.DataFrame, summary: dict, path: Path) -> None:
    """Vanity against real over time, on one log axis: the gap is the story."""
    fig, ax = plt.subplots(figsize=(9, 6.5), dpi=120)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (col, label) in enumerate(VANITY_LINES):
        ax.plot(ts["day"], ts[col], color=colors[i], lw=2,
                label=f"reported: {label}")
    for i, (col, label) in enumerate(REAL_LINES):
        ax.plot(ts["day"], ts[col], color=colors[i], lw=2, ls="--",
                label=f"real: {label}")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_xlabel("simulated time (days)")
    ax.set_ylabel("cumulative count (log scale above 1)")
    ax.set_title(
        f"What the operation can report (solid) vs. what it reached (dashed)\n"
        f"{summary['n_users']:,} organic users, {summary['n_accounts']:,} troll accounts, "
        f"seed {summary['seed']}\nBreakout category {summary['breakout_category']}; "
        f"in-network share of engagement {summary['in_network_engagement_share']:.1%}",
        fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2,
              frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
