"""Figures of a calibration: posterior marginals, pairs, and the posterior-predictive check.

The predictive check is the one a reader should look at first: for every target, the observed
value against the distribution of the statistic simulated at posterior draws (with fresh seeds).
A target the posterior cannot reproduce shows up as an observed line outside that distribution,
whatever the parameter plots suggest.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..designs import Factor  # noqa: E402
from .posterior import final, parameter_columns  # noqa: E402


def _short(key: str) -> str:
    return key.split(".", 1)[-1] if key.count(".") else key


def _bins(f: Factor) -> np.ndarray:
    """Histogram bins over the prior range: log-spaced for a log-uniform prior, one per whole
    number for a short integer range."""
    assert f.low is not None and f.high is not None
    if f.log:
        return np.geomspace(f.low, f.high, 25)
    if f.integer and f.high - f.low < 40:
        return np.arange(f.low, f.high + 2) - 0.5
    return np.linspace(f.low, f.high, 25)


def _grid(n: int, width: float, height: float, cols: int = 4):
    """A figure with ``n`` panels in rows of at most ``cols`` (unused panels hidden)."""
    cols = max(1, min(n, cols))
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), dpi=120,
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes


def marginals_figure(post: pd.DataFrame, factors: list[Factor], path: Path) -> None:
    """Weighted histogram of each parameter over its prior range (posterior = last generation;
    the first generation in grey for comparison)."""
    fig, axes = _grid(len(parameter_columns(post)), width=3.6, height=2.8)
    first = post[post["generation"] == post["generation"].min()]
    last = final(post)
    for ax, f in zip(axes.flat, factors, strict=False):
        bins = _bins(f)
        dens = not f.log  # equal-width bins in log x: weight per bin is the density in log x
        ax.hist(first[f.key], bins=bins, weights=first["weight"], density=dens, color="0.8",
                label=f"generation {int(first['generation'].iloc[0])}")
        ax.hist(last[f.key], bins=bins, weights=last["weight"], density=dens, alpha=0.8,
                label=f"posterior (generation {int(last['generation'].iloc[0])})")
        if f.log:
            ax.set_xscale("log")
        ax.set_xlabel(_short(f.key))
        ax.set_yticks([])
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Posterior marginals over the prior ranges", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def pairs_figure(post: pd.DataFrame, factors: list[Factor], path: Path) -> None:
    """Scatter of every pair of parameters in the posterior, point size by weight (a single
    parameter gets its marginal alone)."""
    p = final(post)
    k = len(factors)
    fig, axes = plt.subplots(k, k, figsize=(2.6 * k + 0.6, 2.6 * k + 0.6), dpi=120,
                             squeeze=False)
    size = 4 + 60 * p["weight"] / p["weight"].max()
    for i, fy in enumerate(factors):
        for j, fx in enumerate(factors):
            ax = axes[i][j]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(p[fx.key], bins=_bins(fx), weights=p["weight"], color="C0")
                ax.set_yticks([])
            else:
                ax.scatter(p[fx.key], p[fy.key], s=size, alpha=0.5, lw=0)
                ax.set_ylim(fy.low, fy.high)
                if fy.log:
                    ax.set_yscale("log")
            ax.set_xlim(fx.low, fx.high)
            if fx.log:
                ax.set_xscale("log")
            if i == k - 1:
                ax.set_xlabel(_short(fx.key), fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(_short(fy.key), fontsize=8)
    fig.suptitle("Posterior: pairs (point size: weight)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def predictive_figure(sims: pd.DataFrame, targets: list, path: Path,
                      holdouts: list = ()) -> None:
    """For each target, and each held-out figure (marked), the statistic simulated at posterior
    draws (histogram), the observed value (line) and observed +- scale (band)."""
    checks = [(t, False) for t in targets] + [(t, True) for t in holdouts]
    fig, axes = _grid(len(checks), width=3.6, height=3.0, cols=5)
    for ax, (t, held) in zip(axes.flat, checks, strict=False):
        x = sims[t.statistic].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        if len(x):
            ax.hist(x, bins=min(20, max(5, len(x) // 2)), color="C7" if held else "C0",
                    alpha=0.8, label=f"simulated ({len(x)} draws)")
        ax.axvspan(t.observed - t.scale, t.observed + t.scale, color="C3", alpha=0.15,
                   label="observed +- scale")
        ax.axvline(t.observed, color="C3", lw=2, label="observed")
        ax.set_title(("held out: " if held else "") + t.statistic, fontsize=8)
        ax.set_yticks([])
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Posterior-predictive check: fitted targets (blue) and held-out figures (grey)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def model_probabilities_figure(table: pd.DataFrame, gens: pd.DataFrame, path: Path) -> None:
    """Model choice: each model's posterior probability by generation (the prior at the left),
    with +- 2 rough Monte Carlo standard errors, and the acceptance threshold below: the
    probabilities are those at each generation's threshold, so read them as it falls."""
    names = list(dict.fromkeys(table["model"]))
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(6.4, 5.2), dpi=120, sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1]})
    for i, n in enumerate(names):
        d = table[table["model"] == n].sort_values("generation")
        p, e = d["probability"].to_numpy(), 2 * d["se"].fillna(0).to_numpy()
        err = np.vstack([np.minimum(e, p), np.minimum(e, 1 - p)])  # clipped to [0, 1]
        dodge = 0.05 * (i - (len(names) - 1) / 2)  # models with equal values stay visible
        ax.errorbar(d["generation"] + dodge, p, yerr=err, marker="o", ms=4, capsize=2,
                    color=f"C{i}", label=n)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("posterior model probability")
    ax.axvline(-0.5, color="0.7", lw=0.8)
    ax.legend(fontsize=7, title="model", title_fontsize=7)
    g = gens[gens["generation"] >= 0]
    ax2.plot(g["generation"], g["epsilon"], marker="o", ms=3, color="0.3")
    ax2.set_ylabel("threshold", fontsize=8)
    gs = sorted(table["generation"].unique())
    ax2.set_xticks(gs, ["prior" if t < 0 else str(t) for t in gs])
    ax2.set_xlabel("generation")
    fig.suptitle("Model choice: posterior probability of each model by generation "
                 "(error bars: +- 2 s.e.)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
