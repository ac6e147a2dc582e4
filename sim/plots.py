"""Figures of a sweep's results (``sim.sweep``), drawn into ``<results dir>/figures/``.

Which figures depend on the design kind and on how many factors vary (take more than one value):

* one varied factor (grid, lhs, random): per outcome, the mean over replicates with its 95%
  confidence band (t interval, as in ``sim.sweep.report``) against the factor,
  ``figures/<outcome>.png``;
* two varied factors on a grid: per outcome, a heat map of the mean, ``figures/<outcome>.png``;
* otherwise (lhs/random with two or more factors, grids with three or more): per outcome, every
  run's value against each factor, one panel per factor, ``figures/<outcome>.png``;
* sobol: per outcome, first-order (S1) and total (ST) indices with confidence intervals per
  factor, ``figures/sobol_<outcome>.png``; morris: ``mu_star`` with its confidence interval and
  ``sigma`` per factor, ``figures/morris_<outcome>.png``. Indices are computed with
  ``sim.designs.analyze`` on the per-point mean over replicates, in design order.

Failed runs are left out; an outcome with no finite value is skipped, and so is a sensitivity
analysis that cannot be computed (a design point without a successful run, or a constant output).
The figures only show data from the results directory and the experiment file it names.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LogNorm, SymLogNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import stats  # noqa: E402

from .experiment import LoadedExperiment, load_experiment  # noqa: E402
from .sweep import ResultStore  # noqa: E402

SPAN = 100.0
"""Values spanning more than this ratio (two orders of magnitude) get a log axis."""

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


def factor_label(key: str) -> str:
    """Axis label of a factor (a dotted config key), with a unit guessed from its name."""
    last = key.rsplit(".", 1)[-1]
    for suffix, unit in (("_prob", "probability, 0-1"), ("_share", "fraction, 0-1"),
                         ("_fraction", "fraction, 0-1"), ("_hours", "hours"), ("_days", "days")):
        if last.endswith(suffix):
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
    factors: list[str]  # all factor keys, in design order
    varied: list[str]  # factors taking more than one value
    outcomes: list[str]  # outcomes with at least one finite value


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
    ok = ok.rename(columns={f"factor:{k}": k for k in factors}).sort_values("run")
    outcomes = []
    for k in exp.spec.outcomes:
        if k in ok.columns and k not in _META:
            ok[k] = pd.to_numeric(ok[k], errors="coerce").astype(float)
            if np.isfinite(ok[k]).any():
                outcomes.append(k)
    varied = [k for k in factors if exp.points[k].astype(str).nunique() > 1]
    return SweepData(exp.spec.name, exp.spec.design.kind, exp, ok.reset_index(drop=True),
                     factors, varied, outcomes)


def point_stats(data: SweepData, outcome: str) -> pd.DataFrame:
    """Per design point (in design order, every point): n, mean and 95% CI half-width (t)."""
    rows = []
    grouped = {p: g[outcome].to_numpy(float) for p, g in data.runs.groupby("point")}
    for p in range(len(data.exp.points)):
        x = grouped.get(p, np.array([]))
        x = x[np.isfinite(x)]
        n = len(x)
        mean = float(x.mean()) if n else np.nan
        half = (float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n)) if n > 1
                else np.nan)
        rows.append({"point": p, "n": n, "mean": mean, "ci95": half})
    out = pd.DataFrame(rows)
    return pd.concat([data.exp.points.reset_index(drop=True), out], axis=1)


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
    if not np.isfinite(v):
        return ""
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.2e}"


# --------------------------------------------------------------------------- figures


def line_figure(data: SweepData, outcome: str, factor: str) -> Figure:
    """Mean over replicates and its 95% confidence band against one factor."""
    ps = point_stats(data, outcome)
    fig, ax = plt.subplots(figsize=(7, 4.8), dpi=120)
    x = _numeric(ps[factor])
    ci = ps["ci95"].fillna(0.0).to_numpy()
    if x is not None:
        order = np.argsort(x, kind="stable")
        xs, m, c = x[order], ps["mean"].to_numpy()[order], ci[order]
        ax.fill_between(xs, m - c, m + c, alpha=0.25, label="95% CI of the mean")
        ax.plot(xs, m, "o-", lw=2, label="mean over replicates")
        _scale_x(ax, xs)
    else:  # categorical levels (strings, booleans, None)
        pos = np.arange(len(ps))
        m, c = ps["mean"].to_numpy(), ci
        ax.errorbar(pos, m, yerr=c, fmt="o", capsize=4, label="mean over replicates, 95% CI")
        ax.set_xticks(pos, [str(v) for v in ps[factor]])
    _scale_y(ax, np.concatenate([m, m + c]))
    ax.set_xlabel(factor_label(factor))
    ax.set_ylabel(outcome_label(outcome))
    ax.set_title(_title(data, f"{outcome} vs. {factor}"), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def heatmap_figure(data: SweepData, outcome: str, fx: str, fy: str) -> Figure:
    """Heat map of the mean over replicates on a two-factor grid."""
    ps = point_stats(data, outcome)
    xs, ys = _levels(data.exp.points[fx]), _levels(data.exp.points[fy])
    grid = np.full((len(ys), len(xs)), np.nan)
    for _, r in ps.iterrows():
        grid[ys.index(r[fy]), xs.index(r[fx])] = r["mean"]
    finite = grid[np.isfinite(grid)]
    norm = None
    if _wide(finite) and np.all(finite >= 0):
        norm = (LogNorm() if np.all(finite > 0)
                else SymLogNorm(linthresh=float(finite[finite > 0].min())))
    fig, ax = plt.subplots(figsize=(max(5.5, 1.0 * len(xs) + 3), max(4.2, 0.6 * len(ys) + 2.5)),
                           dpi=120)
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", norm=norm)
    fig.colorbar(im, ax=ax, label=f"mean {outcome_label(outcome)}")
    ax.set_xticks(range(len(xs)), [_fmt(v) if isinstance(v, float) else str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [_fmt(v) if isinstance(v, float) else str(v) for v in ys])
    if grid.size <= ANNOTATE_MAX_CELLS:
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = grid[i, j]
                light = bool(np.isfinite(v) and im.norm(v) < 0.5)  # dark end of viridis
                ax.text(j, i, _fmt(v) if np.isfinite(v) else "n/a", ha="center", va="center",
                        fontsize=8, color="white" if light else "black")
    ax.set_xlabel(factor_label(fx))
    ax.set_ylabel(factor_label(fy))
    ax.set_title(_title(data, f"mean {outcome}"), fontsize=10)
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
    return figs


def plot_experiment(out_dir: str | Path, formats: Iterable[str] = ("png",)) -> list[Path]:
    """Draw the figures of the sweep in ``out_dir`` into ``out_dir/figures/``.

    PNG is always written, PDF too when ``"pdf"`` is in ``formats``. Returns the written paths,
    sorted. Figures of this experiment's outcomes left from an earlier call and not written now
    (an outcome that has become empty, a format not asked for) are removed, so the directory
    never mixes current and stale figures; other files there are left alone."""
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
    for outcome in data.exp.spec.outcomes:
        for prefix in ("", "sobol_", "morris_"):
            for ext in ("png", "pdf"):
                stale = fig_dir / f"{_stem(prefix, outcome)}.{ext}"
                if stale not in written and stale.is_file():
                    stale.unlink()
    return sorted(written)
