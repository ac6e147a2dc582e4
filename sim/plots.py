"""Figures of a sweep's results (``sim.sweep``), drawn into ``<results dir>/figures/``.

Which figures depend on the design kind and on how many factors vary (take more than one value):

* one varied factor (grid, lhs, random, scenarios): per outcome, the mean over replicates with
  its 95% confidence band (t interval, as in ``sim.sweep.report``) against the factor,
  ``figures/<outcome>.png``; error bars at each level instead when the factor is categorical,
  as the ``scenario`` (names) of a scenarios design;
* two varied factors on a grid: per outcome, a heat map of the mean, ``figures/<outcome>.png``;
* otherwise (lhs/random with two or more factors, grids with three or more): per outcome, every
  run's value against each factor, one panel per factor, ``figures/<outcome>.png``;
* sobol: per outcome, first-order (S1) and total (ST) indices with confidence intervals per
  factor, ``figures/sobol_<outcome>.png``; morris: ``mu_star`` with its confidence interval and
  ``sigma`` per factor, ``figures/morris_<outcome>.png``. Indices are computed with
  ``sim.designs.analyze`` on the per-point mean over replicates, in design order.

Besides these, each *figure recipe* of the experiment (``[[figures]]`` in its TOML, validated by
``sim.recipes``) is drawn into ``figures/<recipe name>.png``:

* ``lines``: per outcome in ``y`` (and per level of ``group``), the mean over replicates with its
  95% confidence band against the factor ``x``; colour per group level, line style per outcome;
* ``tradeoff``: the mean of outcome ``y`` against the mean of outcome ``x``, with 95% confidence
  error bars in both, one point per level of the factor ``along`` (connected in level order and
  labelled with the level), one curve per level of ``group``;
* ``bars``: one cluster per level of the factor ``x``, one bar per outcome in ``y`` (and per
  level of ``group``): the mean with its 95% confidence error bar, optionally divided by the
  outcome's mean at the first level of ``x`` (``normalize = "first"``).

A recipe shows every factor the design varies (checked when the experiment is loaded), so its
means are over replicates only; the runs of design points with the same levels of the recipe's
factors (morris trajectories revisit levels) are pooled.

Failed runs are left out of the means, but not out of sight: a design point (or a heat-map
cell) without a successful run is marked "no run" (failed or missing), and one that lost some of
its replicates is labelled with how many failed. Confidence bands and error bars of counts and
other non-negative outcomes stop at zero. Heat maps use a linear colour scale from zero for
non-negative outcomes (log only when values span more than two orders of magnitude), so that a
3% difference looks like one, and carry a companion panel with each cell's 95% CI half-width;
cells whose half-width exceeds ``UNCERTAIN_REL`` of the mean are hatched. An outcome with no
finite value is skipped (a recipe's other outcomes
are still drawn), and so is a sensitivity analysis that cannot be computed (a design point
without a successful run, or a constant output). The figures only show data from the results
directory and the experiment file it names.
"""

from __future__ import annotations

import json
import re
import textwrap
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LogNorm, Normalize, SymLogNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from .experiment import LoadedExperiment, load_experiment, varied_factors  # noqa: E402
from .recipes import BarsFigure, LinesFigure, SeriesFigure, TradeoffFigure  # noqa: E402
from .sweep import ResultStore, mean_ci95  # noqa: E402

SPAN = 100.0
"""Values spanning more than this ratio (two orders of magnitude) get a log axis."""

UNCERTAIN_REL = 0.10
"""Heat-map cells whose 95% CI half-width exceeds this share of the mean are hatched: the
replicates disagree enough that the cell's colour should not be read closely."""

ANNOTATE_MAX_CELLS = 64
"""Heat maps with at most this many cells have their values written in the cells."""

_COUNTS = {
    "posts_published", "accounts_alive", "reported_followers", "reported_impressions",
    "reported_engagements", "organic_exposed_users", "organic_impressions", "organic_engagements",
    "organic_reshares", "organic_followers_gained", "in_network_engagements", "hijack_replies",
    "organic_likes", "organic_replies", "organic_reports", "organic_cross_posts",
    "media_amplifications", "high_profile_amplifications", "platforms_reached",
    "communities_reached", "organic_posts", "deliveries", "ticks", "n_users", "n_accounts",
    "n_operators"}
_META = {"run", "point", "replicate", "seed", "status", "error", "runtime_seconds"}


def outcome_label(name: str) -> str:
    """Axis label of an outcome with its unit (``docs/outputs.md``), where known."""
    if name in _COUNTS:
        return f"{name} (count)"
    if name.endswith("_share"):
        return f"{name} (fraction, 0-1)"
    if name == "breakout_category":
        return f"{name} (Breakout Scale, 1-5)"
    if name == "runtime_seconds":
        return f"{name} (s)"
    return name


_NONNEGATIVE = _COUNTS | {
    "accounts_run", "operation_accounts_removed", "operation_accounts_acquired",
    "organic_accounts_removed", "organic_followers_lost", "moderation_actions",
    "moderation_precision", "moderation_recall", "median_removal_delay_hours",
    "accounts_removed_per_action", "exposure_top1pct_share", "breakout_category",
    "kidding_ratio", "kidding_ratio_impressions", "runtime_seconds"}


def nonnegative(name: str) -> bool:
    """Outcomes that cannot be negative (counts, shares, ratios of counts, categories), whose
    confidence bands must stop at zero. A difference (e.g. exposures prevented) is not one."""
    return name in _NONNEGATIVE or name.endswith("_share")


def lower_error(m: np.ndarray, c: np.ndarray, floor: bool) -> np.ndarray:
    """Length of the lower error bar: the CI half-width, cut so the bar stops at zero when the
    outcome cannot be negative."""
    return np.minimum(c, np.maximum(m, 0)) if floor else c


def _schema_unit(key: str) -> str:
    """The unit the configuration schema declares for a factor's field, if any."""
    from .config import field_owner

    owner = field_owner(tuple(key.split(".")))
    if owner is None:
        return ""
    extra = owner[0].model_fields[owner[1]].json_schema_extra
    return extra.get("unit", "") if isinstance(extra, dict) else ""


def factor_label(key: str) -> str:
    """Axis label of a factor (a dotted config key), with a unit guessed from its name."""
    last = key.rsplit(".", 1)[-1]
    for suffix, unit in (("_prob", "probability, 0-1"), ("_share", "fraction, 0-1"),
                         ("_fraction", "fraction, 0-1"), ("_hours", "hours"), ("_days", "days")):
        if last.endswith(suffix):
            return f"{key} ({unit})"
    unit = _schema_unit(key)
    if unit:
        return f"{key} ({unit})"
    if key == "population.n_users":
        return f"{key} (users)"
    if key == "run.days":
        return f"{key} (days)"
    return key


@dataclass
class SweepData:
    """What the figures are drawn from: the experiment, its factors and the successful runs."""

    name: str
    kind: str
    exp: LoadedExperiment
    runs: pd.DataFrame  # successful runs only; factor columns renamed to their keys
    failed: pd.DataFrame  # runs recorded with status != "ok" (columns run, point, status)
    factors: list[str]  # all factor keys, in design order
    varied: list[str]  # factors taking more than one value
    outcomes: list[str]  # outcomes with at least one finite value
    out_dir: Path  # the results directory


def load(out_dir: str | Path) -> SweepData:
    """Read a results directory and the experiment named in its manifest."""
    out_dir = Path(out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    exp = load_experiment(manifest["experiment"])
    if manifest.get("experiment_sha256") not in (None, exp.sha256):
        warnings.warn(f"{manifest['experiment']} changed since the sweep in {out_dir} started; "
                      "figures may not match the results", stacklevel=2)
    df = ResultStore(out_dir).results()
    factors = list(exp.points.columns)
    ok = df[df["status"] == "ok"].copy() if not df.empty else pd.DataFrame(
        columns=["run", "point", "replicate", "status"])
    failed = df[df["status"] != "ok"][["run", "point", "status"]].copy() if not df.empty \
        else pd.DataFrame(columns=["run", "point", "status"])
    ok = ok.rename(columns={f"factor:{k}": k for k in factors}).sort_values("run")
    outcomes = []
    for k in exp.spec.outcomes:
        if k in ok.columns and k not in _META:
            ok[k] = pd.to_numeric(ok[k], errors="coerce").astype(float)
            if np.isfinite(ok[k]).any():
                outcomes.append(k)
    varied = varied_factors(exp.points)
    return SweepData(exp.spec.name, exp.spec.design.kind, exp, ok.reset_index(drop=True),
                     failed.reset_index(drop=True), factors, varied, outcomes, out_dir)


def _per_point(data: SweepData, outcome: str) -> dict[int, np.ndarray]:
    return {p: g[outcome].to_numpy(float) for p, g in data.runs.groupby("point")}


def point_stats(data: SweepData, outcome: str) -> pd.DataFrame:
    """Per design point (in design order, every point): n, mean and 95% CI half-width (t)."""
    grouped = _per_point(data, outcome)
    n_failed = data.failed["point"].astype(int).value_counts()
    out = pd.DataFrame([{"point": p, **mean_ci95(grouped.get(p, np.array([]))),
                         "failed": int(n_failed.get(p, 0))}
                        for p in range(len(data.exp.points))])
    return pd.concat([data.exp.points.reset_index(drop=True), out], axis=1)


@dataclass
class Cells:
    """An outcome's statistics per combination of levels of some factors (a recipe's)."""

    levels: dict[str, list]  # per factor, its levels in plotting order (``_levels``)
    stats: dict[tuple[int, ...], dict[str, float]]  # level indices -> n, mean, ci95

    def keys(self, group: int | None = None) -> list[tuple[int, ...]]:
        """The combinations in the design, sorted; only those whose second factor (a recipe's
        group) is at level index ``group``, if given."""
        return [k for k in sorted(self.stats) if group is None or k[1] == group]

    def column(self, keys: list[tuple[int, ...]], col: str) -> np.ndarray:
        return np.array([self.stats[k][col] for k in keys], dtype=float)

    def by_level(self, keys: list[tuple[int, ...]], n: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and CI half-width (0 where undefined) at each of the ``n`` levels of the first
        factor, NaN mean at levels without a combination in ``keys``."""
        m, c = np.full(n, np.nan), np.zeros(n)
        at = [k[0] for k in keys]
        m[at], c[at] = self.column(keys, "mean"), np.nan_to_num(self.column(keys, "ci95"))
        return m, c


def cell_stats(data: SweepData, outcome: str, factors: list[str]) -> Cells:
    """n, mean and 95% CI half-width of an outcome per combination of levels of ``factors``.

    The runs of all design points with the same levels are pooled. A recipe's factors include
    every varied factor (``sim.recipes.check_shown``), so pooling only ever joins replicates of
    identical points (as morris trajectories that revisit a level)."""
    points = data.exp.points.reset_index(drop=True)
    levels = {f: _levels(points[f]) for f in factors}
    members: dict[tuple[int, ...], list[int]] = {}
    for p, row in enumerate(points[factors].itertuples(index=False)):
        key = tuple(levels[f].index(v) for f, v in zip(factors, row, strict=True))
        members.setdefault(key, []).append(p)
    grouped = _per_point(data, outcome)
    stats_ = {k: mean_ci95(np.concatenate([grouped.get(p, np.array([])) for p in ps]))
              for k, ps in members.items()}
    return Cells(levels, stats_)


# --------------------------------------------------------------------------- helpers


def _numeric(values: pd.Series) -> np.ndarray | None:
    """Values as floats if all are real numbers (not bools, None or strings), else None."""
    if any(v is None or isinstance(v, bool | np.bool_ | str) for v in values):
        return None
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return None
    return x if np.all(np.isfinite(x)) else None


def _wide(x: np.ndarray) -> bool:
    """Finite values spanning more than two orders of magnitude."""
    x = x[np.isfinite(x)]
    pos = x[x > 0]
    return len(pos) > 0 and pos.max() / pos.min() > SPAN


def _scale_x(ax, x: np.ndarray | None) -> None:
    if x is not None and np.all(x > 0) and _wide(x):
        ax.set_xscale("log")


def _scale_y(ax, y: np.ndarray) -> None:
    y = y[np.isfinite(y)]
    if not _wide(y) or np.any(y < 0):
        return
    if np.all(y > 0):
        ax.set_yscale("log")
    else:
        ax.set_yscale("symlog", linthresh=float(y[y > 0].min()), linscale=0.5)


def _title(data: SweepData, text: str) -> str:
    reps = data.exp.spec.replicates
    return (f"Experiment '{data.name}': {text}\n{data.kind} design, "
            f"{len(data.exp.points)} points x {reps} replicate{'s' * (reps > 1)}")


def _levels(values: pd.Series) -> list:
    """Distinct values: sorted when numeric, else in design order."""
    uniq = list(dict.fromkeys(values.tolist()))
    if _numeric(pd.Series(uniq, dtype=object)) is not None:
        return sorted(uniq)
    return uniq


def _fmt(v: float) -> str:
    """Readable numbers: 3 significant digits, thousands separated, no exponent below 10^9."""
    if not np.isfinite(v):
        return ""
    if abs(v) >= 1e9:
        return f"{v:.2e}"
    if abs(v) >= 1000:
        return f"{float(f'{v:.3g}'):,.0f}"
    return f"{v:.3g}"


def _level_label(v: object) -> str:
    """Tick or point label of a factor level: floats shortened, anything else as written."""
    return _fmt(v) if isinstance(v, float) else str(v)


def _level_ticks(ax, levels: list) -> None:
    """Ticks at 0, 1, ... labelled with categorical levels, slanted when the labels would run
    into each other (scenario names are often long)."""
    labels = [_level_label(v) for v in levels]
    # ~9 characters of tick text fit per inch of figure width
    crowded = max(map(len, labels), default=0) * len(labels) > 9 * ax.figure.get_figwidth()
    ax.set_xticks(np.arange(len(labels)), labels, rotation=25 if crowded else 0,
                  ha="right" if crowded else "center", rotation_mode="anchor")


def _mean_curve(ax, x: np.ndarray | None, m: np.ndarray, c: np.ndarray, *, label: str,
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


def _set_scales(ax, logx: bool | None, logy: bool | None, x: np.ndarray | None,
                y: np.ndarray) -> None:
    """A recipe's explicit log/linear choice, else the automatic one (``_scale_x/_scale_y``)."""
    if logx is None:
        _scale_x(ax, None if x is None else x[np.isfinite(x)])
    elif logx:
        ax.set_xscale("log")
    if logy is None:
        _scale_y(ax, y)
    elif logy:
        ax.set_yscale("log")


def _outcomes_label(outcomes: list[str]) -> str:
    """One axis label for several outcomes: the shared unit once, else each outcome's label."""
    units = {outcome_label(o)[len(o):] for o in outcomes}
    if len(units) == 1:
        return ", ".join(outcomes) + units.pop()
    return ", ".join(outcome_label(o) for o in outcomes)


# --------------------------------------------------------------------------- figures


def line_figure(data: SweepData, outcome: str, factor: str) -> Figure:
    """Mean over replicates and its 95% confidence band against one factor."""
    ps = point_stats(data, outcome)
    fig, ax = plt.subplots(figsize=(7, 4.8), dpi=120)
    x = _numeric(ps[factor])
    m, c = ps["mean"].to_numpy(), ps["ci95"].fillna(0.0).to_numpy()
    floor = nonnegative(outcome)
    if x is not None:
        _mean_curve(ax, x, m, c, label="mean over replicates", band_label="95% CI of the mean",
                    floor=floor)
        _scale_x(ax, x)
    else:  # categorical levels (strings, booleans, None)
        _mean_curve(ax, None, m, c, label="mean over replicates, 95% CI", floor=floor)
        _level_ticks(ax, list(ps[factor]))
    mark_missing(ax, x if x is not None else np.arange(len(m)), ps["n"].to_numpy(),
                 ps["failed"].to_numpy())
    _scale_y(ax, np.concatenate([m, m + c]))
    ax.set_xlabel(factor_label(factor))
    ax.set_ylabel(outcome_label(outcome))
    ax.set_title(_title(data, f"{outcome} vs. {factor}"), fontsize=10)
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
    xs, ys = _levels(data.exp.points[fx]), _levels(data.exp.points[fy])
    grid = np.full((len(ys), len(xs)), np.nan)
    half = np.full_like(grid, np.nan)
    failed = np.zeros(grid.shape, int)
    for _, r in ps.iterrows():
        i, j = ys.index(r[fy]), xs.index(r[fx])
        grid[i, j], half[i, j], failed[i, j] = r["mean"], r["ci95"], r["failed"]
    finite = grid[np.isfinite(grid)]
    norm = None
    if finite.size and _wide(finite) and np.all(finite >= 0):
        norm = (LogNorm() if np.all(finite > 0)
                else SymLogNorm(linthresh=float(finite[finite > 0].min())))
    elif finite.size and nonnegative(outcome) and np.all(finite >= 0):
        norm = Normalize(vmin=0, vmax=max(float(finite.max()), 1e-12))
    w = max(5.0, 1.0 * len(xs) + 2.5)
    fig, (ax, cx) = plt.subplots(1, 2, figsize=(2 * w, max(4.4, 0.6 * len(ys) + 2.7)),
                                 dpi=120)
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("white")
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
        a.set_xticks(range(len(xs)), [_level_label(v) for v in xs])
        a.set_yticks(range(len(ys)), [_level_label(v) for v in ys])
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
                ax.text(j, i, _fmt(v) + extra, ha="center", va="center", fontsize=8,
                        color="white" if light else "black")
                h = half[i, j]
                cx.text(j, i, f"±{_fmt(h)}" if np.isfinite(h) else "n/a", ha="center",
                        va="center", fontsize=8,
                        color="white" if np.isfinite(h) and cim.norm(h) > 0.5 else "black")
    ax.set_title(f"mean over replicates{'; hatched: CI > ' if uncertain.any() else ''}"
                 f"{f'{UNCERTAIN_REL:.0%} of mean' if uncertain.any() else ''}", fontsize=9)
    cx.set_title("uncertainty: 95% CI half-width of the mean", fontsize=9)
    fig.suptitle(_title(data, f"mean {outcome}"), fontsize=10)
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
        x = _numeric(data.runs[f])
        if x is None:
            levels = _levels(data.exp.points[f])
            x = np.array([levels.index(v) for v in data.runs[f]], dtype=float)
            ax.set_xticks(range(len(levels)), [str(v) for v in levels])
        else:
            _scale_x(ax, x)
        ax.scatter(x, y, s=12, alpha=0.6)
        ax.set_xlabel(factor_label(f), fontsize=8)
        ax.grid(True, alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel(outcome_label(outcome))
        _scale_y(ax, y)
    for ax in list(axes.flat)[k:]:
        ax.set_visible(False)
    fig.suptitle(_title(data, f"{outcome} of each run vs. each factor"), fontsize=10)
    fig.tight_layout()
    return fig


def sensitivity_table(data: SweepData, outcome: str) -> pd.DataFrame | None:
    """``sim.designs.analyze`` of the per-point mean of an outcome, or None if not computable."""
    from .designs import analyze

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
    ax.set_title(_title(data, title), fontsize=10)
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


# --------------------------------------------------------------------------- recipes

_LINESTYLES = ("-", "--", ":", "-.")
_HATCHES = ("", "//", "..", "xx", "\\\\", "++")


def _recipe_title(data: SweepData, text: str) -> str:
    """``_title``, wrapped: recipe titles name several outcomes and factors."""
    return "\n".join(textwrap.fill(line, 72) for line in _title(data, text).splitlines())


def _series_label(outcome: str | None, group: str | None, level: object) -> str:
    parts = ([outcome] if outcome else []) + ([f"{group} = {_level_label(level)}"] if group
                                              else [])
    return ", ".join(parts)


def _group_levels(data: SweepData, group: str | None) -> list:
    return _levels(data.exp.points[group]) if group else [None]


def _keys(cells: Cells, group: str | None, gi: int) -> list[tuple[int, ...]]:
    return cells.keys(gi if group else None)


def lines_figure(data: SweepData, recipe: LinesFigure, outcomes: list[str]) -> Figure:
    """A ``lines`` recipe: mean and 95% CI band of each outcome against a factor, one curve per
    outcome and group level (colour per group level, line style per outcome)."""
    r, group = recipe, recipe.group
    factors = [r.x] + ([group] if group else [])
    glevels = _group_levels(data, group)
    xlevels = _levels(data.exp.points[r.x])
    x = _numeric(pd.Series(xlevels, dtype=object))
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
            _mean_curve(ax, xs, m, c,
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
        _level_ticks(ax, xlevels)
    _set_scales(ax, r.logx, r.logy, x, np.concatenate(drawn))
    ax.set_xlabel(factor_label(r.x))
    ax.set_ylabel(r.ylabel or _outcomes_label(outcomes))
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
                ax.annotate(_level_label(cx.levels[r.along][k[0]]), (xv, yv), fontsize=7,
                            textcoords="offset points", xytext=(5, 5), color=f"C{gi}")
        xs_all.append(np.concatenate([xm, xm + xc]))
        ys_all.append(np.concatenate([ym, ym + yc]))
    _set_scales(ax, r.logx, r.logy, np.concatenate(xs_all), np.concatenate(ys_all))
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
    xlevels = _levels(data.exp.points[r.x])
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
                              f"at {r.x} = {_level_label(xlevels[0])}; its bars are left out",
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
    _level_ticks(ax, xlevels)
    if r.logy:  # linear unless asked: a bar's length means nothing on a log axis
        ax.set_yscale("log")
    ax.set_xlabel(factor_label(r.x))
    if r.normalize == "first":
        ylabel = f"mean / mean at {r.x} = {_level_label(xlevels[0])}"
    else:
        ylabel = f"mean {_outcomes_label(outcomes)}"
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
            ax.set_title(f"{panel} = {_level_label(pv)}", fontsize=9)
    if not drawn:
        plt.close(fig)
        return None
    for ax in axes[0]:
        _set_scales(ax, False, r.logy, None, np.concatenate(drawn))
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


def _stem(prefix: str, outcome: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_.-]+", "_", outcome)


def build_figures(out_dir: str | Path) -> list[tuple[str, Figure]]:
    """The experiment's figures as ``(file stem, Figure)`` pairs, not yet saved (close them)."""
    return _figures(load(out_dir))


def _figures(data: SweepData) -> list[tuple[str, Figure]]:
    figs: list[tuple[str, Figure]] = []
    if data.runs.empty:
        return figs
    for outcome in data.outcomes:
        if data.kind in ("sobol", "morris"):
            table = sensitivity_table(data, outcome)
            if table is None or not np.isfinite(table.drop(columns="factor").to_numpy()).any():
                continue
            draw = sobol_figure if data.kind == "sobol" else morris_figure
            figs.append((_stem(f"{data.kind}_", outcome), draw(data, outcome, table)))
        elif len(data.varied) <= 1:
            factor = data.varied[0] if data.varied else data.factors[0]
            figs.append((_stem("", outcome), line_figure(data, outcome, factor)))
        elif len(data.varied) == 2 and data.kind == "grid":
            fx, fy = data.varied
            figs.append((_stem("", outcome), heatmap_figure(data, outcome, fx, fy)))
        else:
            figs.append((_stem("", outcome), scatter_figure(data, outcome, data.varied)))
    for recipe in data.exp.spec.figures:
        fig = recipe_figure(data, recipe)
        if fig is not None:
            figs.append((recipe.name, fig))
    from .discovery import analysis_figures  # overview of indices; [[analysis]] sections

    figs.extend(analysis_figures(data))
    return figs


def plot_experiment(out_dir: str | Path, formats: Iterable[str] = ("png",)) -> list[Path]:
    """Draw the figures of the sweep in ``out_dir`` into ``out_dir/figures/``.

    PNG is always written, PDF too when ``"pdf"`` is in ``formats``. Returns the written paths,
    sorted. Figures of this experiment's outcomes and recipes left from an earlier call and not
    written now (an outcome that has become empty, a format not asked for) are removed, so the
    directory never mixes current and stale figures; other files there are left alone (among
    them the figure of a recipe since removed from the experiment file)."""
    formats = set(formats)
    unknown = formats - {"png", "pdf"}
    if unknown:
        raise ValueError(f"unknown figure formats {sorted(unknown)}; allowed: png, pdf")
    exts = ["png"] + (["pdf"] if "pdf" in formats else [])
    data = load(out_dir)
    fig_dir = Path(out_dir) / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, fig in _figures(data):
        try:
            for ext in exts:
                path = fig_dir / f"{stem}.{ext}"
                # No creation date in PDFs, so that the same results give the same files.
                meta = {"CreationDate": None} if ext == "pdf" else {}
                fig.savefig(path, metadata=meta)
                written.append(path)
        finally:
            plt.close(fig)
    stems = [_stem(prefix, outcome) for outcome in data.exp.spec.outcomes
             for prefix in ("", "sobol_", "morris_")]
    for stem in stems + [r.name for r in data.exp.spec.figures]:
        for ext in ("png", "pdf"):
            stale = fig_dir / f"{stem}.{ext}"
            if stale not in written and stale.is_file():
                stale.unlink()
    return sorted(written)
