"""The figures of an experiment's recipes (``[[figures]]``, described in ``sim.recipes``):
``lines``, ``tradeoff``, ``bars`` and ``series`` (see ``sim.plots``)."""

from __future__ import annotations

import textwrap
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..recipes import BarsFigure, LinesFigure, SeriesFigure, TradeoffFigure
from ..sweep import ResultStore, mean_ci95
from .axes import level_ticks, lower_error, mark_missing, mean_curve, set_scales
from .data import Cells, SweepData, as_numeric, cell_stats, factor_levels
from .labels import (
    factor_label,
    level_label,
    nonnegative,
    outcome_label,
    outcomes_label,
    sweep_title,
)

_LINESTYLES = ("-", "--", ":", "-.")
_HATCHES = ("", "//", "..", "xx", "\\\\", "++")


def _recipe_title(data: SweepData, text: str) -> str:
    """``sweep_title``, wrapped: recipe titles name several outcomes and factors."""
    return "\n".join(textwrap.fill(line, 72) for line in sweep_title(data, text).splitlines())


def _series_label(outcome: str | None, group: str | None, level: object) -> str:
    parts = ([outcome] if outcome else []) + ([f"{group} = {level_label(level)}"] if group
                                              else [])
    return ", ".join(parts)


def _group_levels(data: SweepData, group: str | None) -> list:
    return factor_levels(data.exp.points[group]) if group else [None]


def _keys(cells: Cells, group: str | None, gi: int) -> list[tuple[int, ...]]:
    return cells.keys(gi if group else None)


def lines_figure(data: SweepData, recipe: LinesFigure, outcomes: list[str]) -> Figure:
    """A ``lines`` recipe: mean and 95% CI band of each outcome against a factor, one curve per
    outcome and group level (colour per group level, line style per outcome)."""
    r, group = recipe, recipe.group
    factors = [r.x] + ([group] if group else [])
    glevels = _group_levels(data, group)
    xlevels = factor_levels(data.exp.points[r.x])
    x = as_numeric(pd.Series(xlevels, dtype=object))
    fig, ax = plt.subplots(figsize=(7, 4.8), dpi=120)
    n_series = len(outcomes) * len(glevels)
    single = n_series == 1
    drawn = []
    for oi, o in enumerate(outcomes):
        cells = cell_stats(data, o, factors)
        for gi, g in enumerate(glevels):
            keys = _keys(cells, group, gi)
            m, c = cells.by_level(keys, len(xlevels))
            if x is not None:  # numeric: connect the levels this group has
                have = [k[0] for k in keys]
                xs, m, c = x[have], m[have], c[have]
            else:
                xs = None
            si = oi * len(glevels) + gi
            mean_curve(ax, xs, m, c,
                        label="mean over replicates" if single else _series_label(
                            o if len(outcomes) > 1 else None, group, g),
                        band_label="95% CI of the mean" if single else None,
                        color=f"C{gi if group else oi}",
                        ls=_LINESTYLES[oi % len(_LINESTYLES)] if group else "-",
                        dodge=0.0 if single else 0.08 * (si - (n_series - 1) / 2),
                        alpha=0.25 if single else 0.12, floor=nonnegative(o))
            drawn.append(np.concatenate([m, m + c]))
            pos = np.arange(len(xlevels), dtype=float) if x is None else x
            mark_missing(ax, pos[[k[0] for k in keys]], cells.column(keys, "n"),
                         np.zeros(len(keys), int))
    if x is None:
        level_ticks(ax, xlevels)
    set_scales(ax, r.logx, r.logy, x, np.concatenate(drawn))
    ax.set_xlabel(factor_label(r.x))
    ax.set_ylabel(r.ylabel or outcomes_label(outcomes))
    default = f"{', '.join(outcomes)} vs. {r.x}" + (f" by {group}" if group else "")
    ax.set_title(_recipe_title(data, r.title or default), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, title=None if single else "mean, 95% CI", title_fontsize=8)
    fig.tight_layout()
    return fig


def tradeoff_figure(data: SweepData, recipe: TradeoffFigure) -> Figure:
    """A ``tradeoff`` recipe: mean of one outcome against the mean of another, with 95% CI
    error bars in both, one point per level of ``along`` (in level order, labelled with the
    level), one curve per group level."""
    r, group = recipe, recipe.group
    factors = [r.along] + ([group] if group else [])
    cx, cy = cell_stats(data, r.x, factors), cell_stats(data, r.y, factors)
    fig, ax = plt.subplots(figsize=(7, 5.2), dpi=120)
    xs_all, ys_all = [], []
    for gi, g in enumerate(_group_levels(data, group)):
        keys = _keys(cx, group, gi)
        xm, xc = cx.column(keys, "mean"), np.nan_to_num(cx.column(keys, "ci95"))
        ym, yc = cy.column(keys, "mean"), np.nan_to_num(cy.column(keys, "ci95"))
        ax.errorbar(xm, ym, xerr=[lower_error(xm, xc, nonnegative(r.x)), xc],
                    yerr=[lower_error(ym, yc, nonnegative(r.y)), yc], fmt="o-", capsize=3,
                    lw=1.5, color=f"C{gi}",
                    label=_series_label(None, group, g) or "mean over replicates, 95% CI")
        for k, xv, yv in zip(keys, xm, ym, strict=True):
            if np.isfinite(xv) and np.isfinite(yv):
                ax.annotate(level_label(cx.levels[r.along][k[0]]), (xv, yv), fontsize=7,
                            textcoords="offset points", xytext=(5, 5), color=f"C{gi}")
        xs_all.append(np.concatenate([xm, xm + xc]))
        ys_all.append(np.concatenate([ym, ym + yc]))
    set_scales(ax, r.logx, r.logy, np.concatenate(xs_all), np.concatenate(ys_all))
    ax.set_xlabel(outcome_label(r.x))
    ax.set_ylabel(r.ylabel or outcome_label(r.y))
    default = f"{r.y} vs. {r.x} along {r.along}" + (f" by {group}" if group else "")
    ax.set_title(_recipe_title(data, r.title or default), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, title=f"point labels: {r.along}", title_fontsize=8)
    fig.tight_layout()
    return fig


def bars_figure(data: SweepData, recipe: BarsFigure, outcomes: list[str]) -> Figure:
    """A ``bars`` recipe: one cluster per level of a factor, one bar per outcome and group level
    (mean, 95% CI error bar), optionally relative to the first level of the factor."""
    r, group = recipe, recipe.group
    factors = [r.x] + ([group] if group else [])
    glevels = _group_levels(data, group)
    xlevels = factor_levels(data.exp.points[r.x])
    series = [(oi, o, gi, g) for oi, o in enumerate(outcomes) for gi, g in enumerate(glevels)]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 2.5 + len(xlevels) * (0.6 + 0.3 * len(series))),
                                    4.8), dpi=120)
    cells = {o: cell_stats(data, o, factors) for o in outcomes}
    for si, (oi, o, gi, g) in enumerate(series):
        m, c = cells[o].by_level(_keys(cells[o], group, gi), len(xlevels))
        if r.normalize == "first":
            ref = m[0]
            if not np.isfinite(ref) or ref == 0:
                warnings.warn(f"figure {r.name!r}: {_series_label(o, group, g)} has mean {ref} "
                              f"at {r.x} = {level_label(xlevels[0])}; its bars are left out",
                              stacklevel=2)
                ref = np.nan
            m, c = m / ref, c / abs(ref)  # the reference mean is taken as exact
        hatch = _HATCHES[oi % len(_HATCHES)] if group and len(outcomes) > 1 else None
        ax.bar(np.arange(len(xlevels)) + (si - (len(series) - 1) / 2) * width, m, width,
               yerr=[lower_error(m, c, nonnegative(o)), c], capsize=3,
               color=f"C{gi if group else oi}", hatch=hatch,
               edgecolor="black" if hatch else None, linewidth=0.5 if hatch else 0,
               label=_series_label(o if len(outcomes) > 1 or not group else None, group, g))
    if r.normalize == "first":
        ax.axhline(1, color="black", lw=0.8, ls=":")
    else:
        ax.axhline(0, color="black", lw=0.8)
    level_ticks(ax, xlevels)
    if r.logy:  # linear unless asked: a bar's length means nothing on a log axis
        ax.set_yscale("log")
    ax.set_xlabel(factor_label(r.x))
    if r.normalize == "first":
        ylabel = f"mean / mean at {r.x} = {level_label(xlevels[0])}"
    else:
        ylabel = f"mean {outcomes_label(outcomes)}"
    ax.set_ylabel(r.ylabel or ylabel)
    default = f"{', '.join(outcomes)} by {r.x}" + (f" and {group}" if group else "")
    ax.set_title(_recipe_title(data, r.title or default), fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, title="mean, 95% CI", title_fontsize=8)
    fig.tight_layout()
    return fig


def series_figure(data: SweepData, recipe: SeriesFigure) -> Figure | None:
    """A ``series`` recipe: each per-tick ledger column against simulated days, the mean over
    the successful runs of each group level with its 95% CI band (t interval per tick), one
    panel per level of ``panel``."""
    r, group, panel = recipe, recipe.group, recipe.panel
    ts = ResultStore(data.out_dir).timeseries()
    if ts.empty:
        warnings.warn(f"figure {r.name!r}: no per-tick series stored", stacklevel=2)
        return None
    keep = ["run"] + [f for f in (group, panel) if f]
    ts = ts.merge(data.runs[keep], on="run")  # successful runs only, with their levels
    panels = _group_levels(data, panel)
    fig, axes = plt.subplots(1, len(panels), figsize=(7 if len(panels) == 1 else 5.2 * len(panels),
                                                      4.8), dpi=120, squeeze=False,
                             sharey=True)
    drawn = []
    for ax, pv in zip(axes[0], panels, strict=True):
        in_panel = ts if panel is None else ts[ts[panel] == pv]
        for oi, col in enumerate(r.y):
            for gi, g in enumerate(_group_levels(data, group)):
                sub = in_panel if group is None else in_panel[in_panel[group] == g]
                per_day = [(d, mean_ci95(v[col].to_numpy(float))) for d, v in sub.groupby("day")]
                if not per_day:
                    continue
                day = np.array([d for d, _ in per_day])
                m = np.array([x["mean"] for _, x in per_day])
                c = np.nan_to_num(np.array([x["ci95"] for _, x in per_day]))
                color = f"C{gi if group else oi}"
                lo = m - lower_error(m, c, nonnegative(col))
                if r.logy:  # a band reaching zero or below has no lower edge on a log axis
                    lo = np.where(lo > 0, lo, np.nan)
                ax.fill_between(day, lo, m + c, alpha=0.2, color=color, lw=0)
                ax.plot(day, m, lw=2, color=color, ls=_LINESTYLES[oi % len(_LINESTYLES)],
                        label=_series_label(col if len(r.y) > 1 or not group else None, group,
                                            g))
                drawn.append(np.concatenate([m, m + c]))
        ax.set_xlabel("simulated day")
        ax.grid(True, alpha=0.3)
        if panel is not None:
            ax.set_title(f"{panel} = {level_label(pv)}", fontsize=9)
    if not drawn:
        plt.close(fig)
        return None
    for ax in axes[0]:
        set_scales(ax, False, r.logy, None, np.concatenate(drawn))
    axes[0, 0].set_ylabel(r.ylabel or ", ".join(r.y))
    for ax in axes[0]:  # every panel has its own legend (the panels' lines are the same)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, title="mean, 95% CI band", title_fontsize=8)
    default = f"{', '.join(r.y)} over time" + (f" by {group}" if group else "")
    fig.suptitle(_recipe_title(data, r.title or default), fontsize=10)
    fig.tight_layout()
    return fig


def recipe_figure(data: SweepData, recipe: LinesFigure | TradeoffFigure | BarsFigure
                  | SeriesFigure) -> Figure | None:
    """The figure one recipe of the experiment asks for, or None if none of its outcomes (for a
    tradeoff: not both) has a finite value; the recipe's outcomes without one are left out,
    with a warning, since the experiment asked for them by name."""
    if isinstance(recipe, SeriesFigure):
        return series_figure(data, recipe)
    missing = [o for o in recipe.outcomes() if o not in data.outcomes]
    usable = [o for o in recipe.outcomes() if o in data.outcomes]
    if missing:
        warnings.warn(f"figure {recipe.name!r}: no finite value of {missing}", stacklevel=2)
    if isinstance(recipe, TradeoffFigure):
        return None if missing else tradeoff_figure(data, recipe)
    if not usable:
        return None
    if isinstance(recipe, LinesFigure):
        return lines_figure(data, recipe, usable)
    return bars_figure(data, recipe, usable)
