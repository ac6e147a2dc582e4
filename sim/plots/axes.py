"""Drawing on an axes, the same way in every figure: automatic log scales for values spanning
orders of magnitude, ticks for categorical levels, means with their confidence band or error
bars (stopping at zero for outcomes that cannot be negative), and marks for design points
without a successful run."""

from __future__ import annotations

import numpy as np

from .labels import level_label

SPAN = 100.0
"""Values spanning more than this ratio (two orders of magnitude) get a log axis."""


def lower_error(m: np.ndarray, c: np.ndarray, floor: bool) -> np.ndarray:
    """Length of the lower error bar: the CI half-width, cut so the bar stops at zero when the
    outcome cannot be negative."""
    return np.minimum(c, np.maximum(m, 0)) if floor else c


def is_wide(x: np.ndarray) -> bool:
    """Finite values spanning more than two orders of magnitude."""
    x = x[np.isfinite(x)]
    pos = x[x > 0]
    return len(pos) > 0 and pos.max() / pos.min() > SPAN


def scale_x(ax, x: np.ndarray | None) -> None:
    if x is not None and np.all(x > 0) and is_wide(x):
        ax.set_xscale("log")


def scale_y(ax, y: np.ndarray) -> None:
    y = y[np.isfinite(y)]
    if not is_wide(y) or np.any(y < 0):
        return
    if np.all(y > 0):
        ax.set_yscale("log")
    else:
        ax.set_yscale("symlog", linthresh=float(y[y > 0].min()), linscale=0.5)


def set_scales(ax, logx: bool | None, logy: bool | None, x: np.ndarray | None,
                y: np.ndarray) -> None:
    """A recipe's explicit log/linear choice, else the automatic one (``scale_x/scale_y``)."""
    if logx is None:
        scale_x(ax, None if x is None else x[np.isfinite(x)])
    elif logx:
        ax.set_xscale("log")
    if logy is None:
        scale_y(ax, y)
    elif logy:
        ax.set_yscale("log")


def level_ticks(ax, levels: list) -> None:
    """Ticks at 0, 1, ... labelled with categorical levels, slanted when the labels would run
    into each other (scenario names are often long)."""
    labels = [level_label(v) for v in levels]
    # ~9 characters of tick text fit per inch of figure width
    crowded = max(map(len, labels), default=0) * len(labels) > 9 * ax.figure.get_figwidth()
    ax.set_xticks(np.arange(len(labels)), labels, rotation=25 if crowded else 0,
                  ha="right" if crowded else "center", rotation_mode="anchor")


def mean_curve(ax, x: np.ndarray | None, m: np.ndarray, c: np.ndarray, *, label: str,
                band_label: str | None = None, color: str | None = None, ls: str = "-",
                dodge: float = 0.0, alpha: float = 0.25, floor: bool = False) -> None:
    """Means with their 95% CI: a band against numeric ``x``; error bars at positions 0, 1, ...
    (shifted by ``dodge``, so that several series stay apart) when ``x`` is None. With
    ``floor`` the band or bar stops at zero (a count cannot be negative)."""
    kw = {} if color is None else {"color": color}
    if x is not None:
        order = np.argsort(x, kind="stable")
        xs, m, c = x[order], m[order], c[order]
        ax.fill_between(xs, m - lower_error(m, c, floor), m + c, alpha=alpha, label=band_label,
                        **kw)
        ax.plot(xs, m, marker="o", ls=ls, lw=2, label=label, **kw)
    else:
        ax.errorbar(np.arange(len(m)) + dodge, m, yerr=[lower_error(m, c, floor), c], fmt="o",
                    capsize=4, label=label, **kw)


def mark_missing(ax, x: np.ndarray, n_ok: np.ndarray, n_failed: np.ndarray,
                 color: str = "C3") -> int:
    """Mark design points without a successful run (an x at the foot of the axes, labelled "no
    run") and label those that lost replicates ("k failed"). Returns how many were marked."""
    trans = ax.get_xaxis_transform()
    marked = 0
    for xi, n, f in zip(x, n_ok, n_failed, strict=True):
        if n == 0:
            ax.plot([xi], [0.03], marker="X", ms=10, color=color, transform=trans, ls="none",
                    clip_on=False, label="no successful run (failed or missing)"
                    if marked == 0 else None, gid="missing-point")
            ax.annotate("no run" + (f" ({f} failed)" if f else ""), (xi, 0.03),
                        xycoords=trans, xytext=(0, 8), textcoords="offset points",
                        ha="center", fontsize=7, color=color)
            marked += 1
        elif f:
            ax.annotate(f"{f} failed", (xi, 0.03), xycoords=trans, xytext=(0, 8),
                        textcoords="offset points", ha="center", fontsize=7, color=color,
                        gid="failed-runs")
    return marked
