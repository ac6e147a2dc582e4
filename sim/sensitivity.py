"""One figure of a sensitivity experiment's indices over all its outcomes, readable at a glance.

``sim.plots`` draws one figure per outcome with the factors in design order. To see which
assumptions drive which outcome, this figure puts every outcome in its own panel, side by side,
with the factors sorted by importance (most important on top) and horizontal bars, so long config
keys stay legible:

* Sobol' designs: total index ST (the share of output variance a factor accounts for, its
  interactions included) and first-order S1 as a pair of bars per factor, both with their
  95% bootstrap intervals (``sim.designs.analyze``); sorted by ST. The axis shows the possible
  range [0, 1] (a little more if estimates fall outside it); intervals reaching beyond
  ``[-CLIP, 1 + CLIP]`` run off the panel's edge.
* Morris designs: mu* (mean absolute elementary effect per full factor range, Campolongo et al.
  2007) with its 95% bootstrap interval, and sigma (spread of the effects: interactions or
  non-linearity) as a marker; sorted by mu*. mu* is in the outcome's units, so the panels have
  their own scales; compare rankings across panels, not bar lengths.

The indices are those of ``sim.plots.sensitivity_table`` (per-point means over replicates), so
this figure and the per-outcome figures agree.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .plots import SweepData

CLIP = 0.25
"""Sobol' panels span at most [-CLIP, 1 + CLIP]; longer error bars run off the edge."""

STEM = "sensitivity_overview"
"""File stem of the figure (``figures/sensitivity_overview.png``)."""


def tables(data: SweepData) -> dict[str, pd.DataFrame]:
    """Per outcome with computable indices, the index table (``sim.designs.analyze``)."""
    from .plots import sensitivity_table

    out = {}
    for outcome in data.outcomes:
        t = sensitivity_table(data, outcome)
        if t is not None and np.isfinite(t.drop(columns="factor").to_numpy()).any():
            out[outcome] = t
    return out


def overview_figure(data: SweepData, indices: dict[str, pd.DataFrame]) -> Figure:
    """Panels of sorted horizontal bars, one per outcome (module docstring)."""
    import matplotlib.pyplot as plt

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
