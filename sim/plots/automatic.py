"""The automatic figure of each outcome, chosen by how many factors the design varies: a line
against one factor, a heat map on a two-factor grid, or every run against each factor (see
``sim.plots``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm, Normalize, SymLogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .axes import is_wide, level_ticks, mark_missing, mean_curve, scale_x, scale_y
from .data import SweepData, as_numeric, factor_levels, point_stats
from .labels import factor_label, fmt_number, level_label, nonnegative, outcome_label, sweep_title

UNCERTAIN_REL = 0.10
"""Heat-map cells whose 95% CI half-width exceeds this share of the mean are hatched: the
replicates disagree enough that the cell's colour should not be read closely."""

ANNOTATE_MAX_CELLS = 64
"""Heat maps with at most this many cells have their values written in the cells."""


def line_figure(data: SweepData, outcome: str, factor: str) -> Figure:
    """Mean over replicates and its 95% confidence band against one factor."""
    ps = point_stats(data, outcome)
    fig, ax = plt.subplots(figsize=(7, 4.8), dpi=120)
    x = as_numeric(ps[factor])
    m, c = ps["mean"].to_numpy(), ps["ci95"].fillna(0.0).to_numpy()
    floor = nonnegative(outcome)
    if x is not None:
        mean_curve(ax, x, m, c, label="mean over replicates", band_label="95% CI of the mean",
                    floor=floor)
        scale_x(ax, x)
    else:  # categorical levels (strings, booleans, None)
        mean_curve(ax, None, m, c, label="mean over replicates, 95% CI", floor=floor)
        level_ticks(ax, list(ps[factor]))
    mark_missing(ax, x if x is not None else np.arange(len(m)), ps["n"].to_numpy(),
                 ps["failed"].to_numpy())
    scale_y(ax, np.concatenate([m, m + c]))
    ax.set_xlabel(factor_label(factor))
    ax.set_ylabel(outcome_label(outcome))
    ax.set_title(sweep_title(data, f"{outcome} vs. {factor}"), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def heatmap_figure(data: SweepData, outcome: str, fx: str, fy: str) -> Figure:
    """Heat map of the mean over replicates on a two-factor grid, beside a companion map of
    each cell's 95% CI half-width.

    The colour scale of a non-negative outcome starts at zero (log only when the values span
    more than two orders of magnitude), so a 3% difference looks like one. Cells whose CI
    half-width exceeds ``UNCERTAIN_REL`` of the mean are hatched; cells without a successful
    run say so ("no run", with the number of failed runs)."""
    ps = point_stats(data, outcome)
    xs, ys = factor_levels(data.exp.points[fx]), factor_levels(data.exp.points[fy])
    grid = np.full((len(ys), len(xs)), np.nan)
    half = np.full_like(grid, np.nan)
    failed = np.zeros(grid.shape, int)
    for _, r in ps.iterrows():
        i, j = ys.index(r[fy]), xs.index(r[fx])
        grid[i, j], half[i, j], failed[i, j] = r["mean"], r["ci95"], r["failed"]
    finite = grid[np.isfinite(grid)]
    norm = None
    if finite.size and is_wide(finite) and np.all(finite >= 0):
        norm = (LogNorm() if np.all(finite > 0)
                else SymLogNorm(linthresh=float(finite[finite > 0].min())))
    elif finite.size and nonnegative(outcome) and np.all(finite >= 0):
        norm = Normalize(vmin=0, vmax=max(float(finite.max()), 1e-12))
    w = max(5.0, 1.0 * len(xs) + 2.5)
    fig, (ax, cx) = plt.subplots(1, 2, figsize=(2 * w, max(4.4, 0.6 * len(ys) + 2.7)),
                                 dpi=120)
    cmap = plt.get_cmap("viridis").with_extremes(bad="white")
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap, norm=norm)
    fig.colorbar(im, ax=ax, label=f"mean {outcome_label(outcome)}")
    hfin = half[np.isfinite(half)]
    cim = cx.imshow(half, origin="lower", aspect="auto", cmap=plt.get_cmap("Greys").copy(),
                    vmin=0, vmax=max(float(hfin.max()) if hfin.size else 1.0, 1e-12))
    fig.colorbar(cim, ax=cx, label="95% CI half-width (same unit)")
    uncertain = np.isfinite(half) & (half > UNCERTAIN_REL * np.abs(grid))
    for i, j in zip(*np.nonzero(uncertain), strict=True):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///",
                               edgecolor="white", lw=0, gid="uncertain-cell"))
    for i, j in zip(*np.nonzero(~np.isfinite(grid)), strict=True):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="xx",
                               edgecolor="C3", lw=0, gid="missing-cell"))
    for a in (ax, cx):
        a.set_xticks(range(len(xs)), [level_label(v) for v in xs])
        a.set_yticks(range(len(ys)), [level_label(v) for v in ys])
        a.set_xlabel(factor_label(fx))
        a.set_ylabel(factor_label(fy))
    if grid.size <= ANNOTATE_MAX_CELLS:
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = grid[i, j]
                if not np.isfinite(v):
                    text = "no run" + (f"\n({failed[i, j]} failed)" if failed[i, j] else "")
                    ax.text(j, i, text, ha="center", va="center", fontsize=8, color="C3")
                    continue
                light = bool(im.norm(v) < 0.5)  # dark end of viridis
                extra = f"\n({failed[i, j]} failed)" if failed[i, j] else ""
                ax.text(j, i, fmt_number(v) + extra, ha="center", va="center", fontsize=8,
                        color="white" if light else "black")
                h = half[i, j]
                cx.text(j, i, f"±{fmt_number(h)}" if np.isfinite(h) else "n/a", ha="center",
                        va="center", fontsize=8,
                        color="white" if np.isfinite(h) and cim.norm(h) > 0.5 else "black")
    ax.set_title(f"mean over replicates{'; hatched: CI > ' if uncertain.any() else ''}"
                 f"{f'{UNCERTAIN_REL:.0%} of mean' if uncertain.any() else ''}", fontsize=9)
    cx.set_title("uncertainty: 95% CI half-width of the mean", fontsize=9)
    fig.suptitle(sweep_title(data, f"mean {outcome}"), fontsize=10)
    fig.tight_layout()
    return fig


def scatter_figure(data: SweepData, outcome: str, factors: list[str]) -> Figure:
    """Every successful run's outcome against each factor, one panel per factor."""
    k = len(factors)
    ncol = min(k, 3)
    nrow = -(-k // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.6 * nrow + 0.8), dpi=120,
                             squeeze=False, sharey=True)
    y = data.runs[outcome].to_numpy(float)
    for ax, f in zip(axes.flat, factors, strict=False):
        x = as_numeric(data.runs[f])
        if x is None:
            levels = factor_levels(data.exp.points[f])
            x = np.array([levels.index(v) for v in data.runs[f]], dtype=float)
            ax.set_xticks(range(len(levels)), [str(v) for v in levels])
        else:
            scale_x(ax, x)
        ax.scatter(x, y, s=12, alpha=0.6)
        ax.set_xlabel(factor_label(f), fontsize=8)
        ax.grid(True, alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel(outcome_label(outcome))
        scale_y(ax, y)
    for ax in list(axes.flat)[k:]:
        ax.set_visible(False)
    fig.suptitle(sweep_title(data, f"{outcome} of each run vs. each factor"), fontsize=10)
    fig.tight_layout()
    return fig
