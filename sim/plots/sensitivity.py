"""Figures of a sensitivity experiment's indices (Sobol' or Morris designs).

The indices are computed by ``sensitivity_table`` with ``sim.designs.analyze`` on the per-point
mean of an outcome over replicates, in design order, once per outcome; both kinds of figure
below draw the same tables, so they agree.

Per outcome, ``sobol_<outcome>.png`` (first-order S1 and total ST indices with their confidence
intervals) or ``morris_<outcome>.png`` (``mu_star`` with its confidence interval, and
``sigma``), one pair of bars per factor in design order.

To see which assumptions drive which outcome, the overview (``sensitivity_overview.png``) puts
every outcome in its own panel, side by side, with the factors sorted by importance (most
important on top) and horizontal bars, so long config keys stay legible:

* Sobol' designs: total index ST (the share of output variance a factor accounts for, its
  interactions included) and first-order S1 as a pair of bars per factor, both with their
  95% bootstrap intervals (``sim.designs.analyze``); sorted by ST. The axis shows the possible
  range [0, 1] (a little more if estimates fall outside it); intervals reaching beyond
  ``[-CLIP, 1 + CLIP]`` run off the panel's edge.
* Morris designs: mu* (mean absolute elementary effect per full factor range, Campolongo et al.
  2007) with its 95% bootstrap interval, and sigma (spread of the effects: interactions or
  non-linearity) as a marker; sorted by mu*. mu* is in the outcome's units, so the panels have
  their own scales; compare rankings across panels, not bar lengths.
"""

from __future__ import annotations

import math
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..designs import analyze
from .data import SweepData, point_stats
from .labels import outcome_label, sweep_title


def sensitivity_table(data: SweepData, outcome: str) -> pd.DataFrame | None:
    """``sim.designs.analyze`` of the per-point mean of an outcome, or None if not computable."""
    ps = point_stats(data, outcome)
    if not np.all(np.isfinite(ps["mean"])):
        missing = int((~np.isfinite(ps["mean"])).sum())
        warnings.warn(f"{outcome}: {missing} design point(s) without a successful run; "
                      f"no {data.kind} analysis", stacklevel=2)
        return None
    y = ps["mean"].to_numpy(float)
    if np.ptp(y) == 0:
        warnings.warn(f"{outcome}: constant over the design; no {data.kind} analysis",
                      stacklevel=2)
        return None
    spec = data.exp.spec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return analyze(data.kind, spec.design.factors, data.exp.points, y, spec.root_seed)


def _factor_bars(data: SweepData, table: pd.DataFrame, left: tuple, right: tuple,
                 ylabel: str, title: str) -> Figure:
    """Two bars per factor: ``left``/``right`` are (column, error column or None, label)."""
    k = len(table)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * k + 3), 4.8), dpi=120)
    pos = np.arange(k)
    w = 0.38
    for shift, (col, err, label) in ((-w / 2, left), (w / 2, right)):
        ax.bar(pos + shift, table[col], w, yerr=table[err] if err else None,
               capsize=4 if err else 0, label=label)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(pos, table["factor"], rotation=20 if k > 3 else 0, ha="right" if k > 3
                  else "center", fontsize=8)
    ax.set_xlabel("factor")
    ax.set_ylabel(ylabel)
    ax.set_title(sweep_title(data, title), fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def sobol_figure(data: SweepData, outcome: str, table: pd.DataFrame) -> Figure:
    """First-order and total Sobol' indices per factor, with their confidence intervals."""
    return _factor_bars(data, table, ("S1", "S1_conf", "S1 (first order), 95% bootstrap CI"),
                        ("ST", "ST_conf", "ST (total), 95% bootstrap CI"),
                        "Sobol' index (share of output variance)",
                        f"Sobol' indices of mean {outcome}")


def morris_figure(data: SweepData, outcome: str, table: pd.DataFrame) -> Figure:
    """Morris mu_star (with its confidence interval) and sigma per factor."""
    unit = outcome_label(outcome)[len(outcome):].strip(" ()")
    per = f"{unit} " if unit else ""
    return _factor_bars(data, table,
                        ("mu_star", "mu_star_conf", "mu* (mean |elementary effect|, 95% CI)"),
                        ("sigma", None, "sigma (std. of elementary effects)"),
                        f"effect on mean {outcome}\n({per}per full factor range)",
                        f"Morris screening of mean {outcome}")


CLIP = 0.25
"""Sobol' panels span at most [-CLIP, 1 + CLIP]; longer error bars run off the edge."""

STEM = "sensitivity_overview"
"""File stem of the figure (``figures/sensitivity_overview.png``)."""


def tables(data: SweepData) -> dict[str, pd.DataFrame]:
    """Per outcome with computable indices, the index table (``sim.designs.analyze``)."""
    out = {}
    for outcome in data.outcomes:
        t = sensitivity_table(data, outcome)
        if t is not None and np.isfinite(t.drop(columns="factor").to_numpy()).any():
            out[outcome] = t
    return out


def overview_figure(data: SweepData, indices: dict[str, pd.DataFrame]) -> Figure:
    """Panels of sorted horizontal bars, one per outcome (module docstring)."""
    k = max(len(t) for t in indices.values())
    cols = min(len(indices), 3)
    rows = math.ceil(len(indices) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 0.8 + rows * (0.9 + 0.26 * k)),
                             dpi=120, squeeze=False)
    sobol = data.kind == "sobol"
    for ax, (outcome, t) in zip(axes.flat, indices.items(), strict=False):
        key = "ST" if sobol else "mu_star"
        t = t.sort_values(key, ascending=True, na_position="first").reset_index(drop=True)
        pos = np.arange(len(t))
        if sobol:
            ax.barh(pos + 0.18, t["ST"], 0.36, xerr=t["ST_conf"], color="C0",
                    error_kw={"lw": 0.8, "capsize": 2}, label="ST (total)")
            ax.barh(pos - 0.18, t["S1"], 0.36, xerr=t["S1_conf"], color="C9",
                    error_kw={"lw": 0.8, "capsize": 2}, label="S1 (first order)")
            ax.set_xlabel("Sobol' index (share of variance), 95% CI")
            # indices are shares of variance, in [0, 1]: wider intervals (small samples) are
            # clipped at the panel's edge rather than squeezing every bar into a corner
            lo = float(np.nanmin((t["S1"] - t["S1_conf"]).to_numpy(float)))
            hi = float(np.nanmax((t["ST"] + t["ST_conf"]).to_numpy(float)))
            ax.set_xlim(max(min(0.0, lo), -CLIP), min(max(1.0, hi), 1.0 + CLIP))
        else:
            ax.barh(pos, t["mu_star"], 0.7, xerr=t["mu_star_conf"], color="C1", alpha=0.75,
                    error_kw={"lw": 0.8, "capsize": 2}, label="mu* (95% CI)")
            ax.plot(t["sigma"], pos, "kD", ms=3.5, label="sigma")
            ax.set_xlabel("effect per full factor range\n(outcome units)")
        ax.axvline(0, color="black", lw=0.6)
        ax.set_yticks(pos, t["factor"], fontsize=7)
        ax.set_title(outcome, fontsize=9)
        ax.grid(True, axis="x", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[len(indices):]:
        ax.set_visible(False)
    what = "Sobol' indices" if sobol else "Morris screening"
    fig.suptitle(f"{data.name}: {what}, factors sorted by importance per outcome "
                 f"({len(data.runs)} runs)", fontsize=10)
    fig.tight_layout()
    return fig
