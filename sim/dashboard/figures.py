"""The dashboard's figures, drawn from what ``sim.dashboard.access`` reads: the two ledgers
and the kidding ratio over time; who was exposed, by community and platform, and moderation's
removals; a sample of the follower network. Small and cheap to redraw on every step."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator, StrMethodFormatter

VANITY = [("posts_published", "posts published"),
          ("reported_engagements", "engagements (incl. own accounts)"),
          ("reported_impressions", "impressions (incl. own and bought)")]
REAL = [("organic_reshares", "reshares by real users"),
        ("organic_engagements", "engagements by real users"),
        ("organic_impressions", "reads by real users")]


def _plain_log(ax, axis: str = "y") -> None:
    """Round numbers as tick labels, no minor ticks: readable, and cheap to redraw (mathtext
    labels and minor ticks take most of a redraw's time)."""
    a = ax.yaxis if axis == "y" else ax.xaxis
    a.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    a.set_minor_locator(NullLocator())


def ledgers_figure(df: pd.DataFrame) -> Figure:
    """Cumulative reported (solid) against real (dashed) counts, paired by colour, and the
    kidding ratio."""
    fig = Figure(figsize=(9, 4.2), dpi=80)
    ax, kx = fig.subplots(1, 2, width_ratios=[1.6, 1])
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.92, wspace=0.3)
    if df.empty:
        ax.text(0.5, 0.5, "press Step or Play", ha="center", transform=ax.transAxes)
    else:
        for i, ((v, vl), (r, rl)) in enumerate(zip(VANITY, REAL, strict=True)):
            ax.plot(df["day"], df[v], color=f"C{i}", lw=2, label=f"reported: {vl}")
            ax.plot(df["day"], df[r], color=f"C{i}", lw=2, ls="--", label=f"real: {rl}")
        kx.plot(df["day"], df["kidding_ratio"], color="C3", lw=2, label="engagements")
        kx.plot(df["day"], df["kidding_ratio_impressions"], color="C4", lw=2,
                label="impressions")
        kx.set_yscale("log")
        _plain_log(kx)
        kx.legend(fontsize=7, title="reported / real", title_fontsize=7)
        ax.legend(fontsize=7, loc="upper left")
    ax.set_yscale("symlog", linthresh=1)
    _plain_log(ax)
    ax.set_xlabel("simulated time (days)")
    ax.set_ylabel("cumulative count (log above 1)")
    ax.set_title("The two ledgers (solid: reported, dashed: real)", fontsize=9)
    ax.grid(True, alpha=0.3)
    kx.set_xlabel("simulated time (days)")
    kx.set_ylabel("kidding ratio (reported / real, log)")
    kx.set_title("Kidding ratio (gap = nothing real yet)", fontsize=9)
    kx.grid(True, alpha=0.3)
    return fig


def exposure_figure(tables: dict, df: pd.DataFrame) -> Figure:
    """Exposure by community, reads by platform, engaged users (community x platform), and
    moderation's removals per hour."""
    fig = Figure(figsize=(10, 6.2), dpi=90)
    (a, b), (c, d) = fig.subplots(2, 2)
    tables["exposed"].plot.barh(ax=a, color="C0")
    a.set_xlabel("distinct real users exposed (users)")
    a.set_title("Who saw operation content, by community", fontsize=9)
    tables["reads"].plot.bar(ax=b, color="C1", rot=0)
    b.set_ylabel("reads by real users (count)")
    b.set_title("Organic reads of operation content, by platform", fontsize=9)
    eng = tables["engaged"]
    im = c.imshow(eng.to_numpy(), cmap="Greys", aspect="auto", vmin=0,
                  vmax=max(1, int(eng.to_numpy().max())))
    c.set_yticks(range(len(eng.index)), eng.index, fontsize=7)
    c.set_xticks(range(len(eng.columns)), eng.columns, rotation=25, ha="right", fontsize=7)
    for (i, j), v in np.ndenumerate(eng.to_numpy()):
        c.text(j, i, f"{v:,}", ha="center", va="center", fontsize=7,
               color="white" if v > 0.6 * eng.to_numpy().max() else "black")
    fig.colorbar(im, ax=c, label="users")
    c.set_title("Real users who engaged, platform x community", fontsize=9)
    if not df.empty:
        removed = df["operation_accounts_removed"].diff().fillna(df["operation_accounts_removed"])
        d.bar(df["day"], removed, width=1 / 24, color="C3", label="removed in the hour")
        d2 = d.twinx()
        d2.plot(df["day"], df["accounts_alive"], color="black", lw=1.5, label="alive (level)")
        d2.set_ylabel("operation accounts alive")
        d2.legend(fontsize=7, loc="upper right")
        d.legend(fontsize=7, loc="upper left")
    d.set_xlabel("simulated time (days)")
    d.set_ylabel("operation accounts removed per hour")
    d.set_title("Moderation's removals", fontsize=9)
    fig.tight_layout()
    return fig


def network_figure(sample: dict) -> Figure:
    """The sampled follower network: operation accounts as red triangles, real users as dots
    coloured by community."""
    import networkx as nx

    fig = Figure(figsize=(7.5, 6), dpi=90)
    ax = fig.subplots()
    g = nx.DiGraph(sample["edges"])
    g.add_nodes_from(sample["operation"])
    ax.set_title(f"Follower network sample on {sample['platform']}: live operation accounts "
                 "with the most real followers", fontsize=9)
    ax.axis("off")
    if g.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "no live operation account", ha="center", transform=ax.transAxes)
        return fig
    pos = nx.spring_layout(g, seed=1, k=0.35)
    nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.35, arrowsize=6, width=0.7)
    names = sample["communities"]
    for ci, name in enumerate(names):
        nodes = [u for u, c in sample["organic"].items() if c == ci and u in pos]
        if nodes:
            nx.draw_networkx_nodes(g, pos, nodelist=nodes, ax=ax, node_size=28,
                                   node_color=f"C{ci % 10}", label=f"real user: {name}")
    nx.draw_networkx_nodes(g, pos, nodelist=sample["operation"], ax=ax, node_shape="^",
                           node_size=110, node_color="red", edgecolors="black",
                           label="operation account")
    ax.legend(fontsize=7, loc="lower left", frameon=True)
    return fig
