"""Figures drawn from a run's tables."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import StrMethodFormatter  # noqa: E402

VANITY_LINES = [("posts_published", "posts published (cumulative)"),
                ("reported_followers", "followers incl. bought (level at each time)"),
                ("reported_engagements", "engagements incl. own accounts (cumulative)"),
                ("reported_impressions", "impressions incl. own & fake (cumulative)")]
REAL_LINES = [("organic_reshares", "reshares by real users (cumulative)"),
              ("organic_followers_gained", "real followers gained (cumulative)"),
              ("organic_engagements", "engagements by real users (cumulative)"),
              ("organic_impressions", "impressions on real users (cumulative)"),
              ("organic_exposed_users", "distinct real users exposed (cumulative)")]
"""Line i of each list is a counterpart pair and shares a colour (the real ledger's last line,
distinct users exposed, has no vanity counterpart and is drawn dotted in the impressions'
colour). Followers reported is a level (it falls when accounts are removed); everything else
only grows."""


def headline_figure(ts: pd.DataFrame, summary: dict, path: Path) -> None:
    """Vanity against real over time, on one log axis: the gap is the story."""
    fig, ax = plt.subplots(figsize=(9, 6.8), dpi=120)
    colors = ["C0", "C1", "C2", "C3", "C3"]
    for i, (col, label) in enumerate(VANITY_LINES):
        ax.plot(ts["day"], ts[col], color=colors[i], lw=2, label=f"reported: {label}")
    for i, (col, label) in enumerate(REAL_LINES):
        ax.plot(ts["day"], ts[col], color=colors[i], lw=2, ls=":" if i == 4 else "--",
                label=f"real: {label}")
    ax.set_yscale("symlog", linthresh=1)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("simulated time (days)")
    ax.set_ylabel("count (log scale above 1): cumulative since the start,\n"
                  "except followers (the level at each time)")
    ax.set_title(
        f"What the operation can report (solid) vs. what it reached (dashed; same colour = "
        f"counterparts)\n"
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
