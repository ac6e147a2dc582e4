"""What the figures are drawn from: a sweep's results directory and its experiment, read once,
with the statistics every figure uses (per design point, and per combination of a recipe's
factor levels).

Failed runs are left out of the means but kept in ``SweepData.failed`` so that figures can mark
them. Means come with their 95% confidence interval from ``sim.sweep.mean_ci95`` (t interval),
as in ``sim.sweep.report``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..experiment import LoadedExperiment, load_experiment, shown_factors
from ..sweep import META_COLUMNS, ResultStore, mean_ci95


@dataclass
class SweepData:
    """What the figures are drawn from: the experiment, its factors and the successful runs."""

    name: str
    kind: str
    exp: LoadedExperiment
    runs: pd.DataFrame  # successful runs only; factor columns renamed to their keys
    failed: pd.DataFrame  # runs recorded with status != "ok" (columns run, point, status)
    factors: list[str]  # all factor keys, in design order
    varied: list[str]  # factors taking more than one value (posterior draws crossed with
    # other points excepted: pooled like replicates)
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
        if k in ok.columns and k not in META_COLUMNS:
            ok[k] = pd.to_numeric(ok[k], errors="coerce").astype(float)
            if np.isfinite(ok[k]).any():
                outcomes.append(k)
    varied = shown_factors(exp.spec.design, exp.points)
    return SweepData(exp.spec.name, exp.spec.design.kind, exp, ok.reset_index(drop=True),
                     failed.reset_index(drop=True), factors, varied, outcomes, out_dir)


def per_point(data: SweepData, outcome: str) -> dict[int, np.ndarray]:
    return {p: g[outcome].to_numpy(float) for p, g in data.runs.groupby("point")}


def point_stats(data: SweepData, outcome: str) -> pd.DataFrame:
    """Per design point (in design order, every point): n, mean and 95% CI half-width (t)."""
    grouped = per_point(data, outcome)
    n_failed = data.failed["point"].astype(int).value_counts()
    out = pd.DataFrame([{"point": p, **mean_ci95(grouped.get(p, np.array([]))),
                         "failed": int(n_failed.get(p, 0))}
                        for p in range(len(data.exp.points))])
    return pd.concat([data.exp.points.reset_index(drop=True), out], axis=1)


@dataclass
class Cells:
    """An outcome's statistics per combination of levels of some factors (a recipe's)."""

    levels: dict[str, list]  # per factor, its levels in plotting order (``factor_levels``)
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
    levels = {f: factor_levels(points[f]) for f in factors}
    members: dict[tuple[int, ...], list[int]] = {}
    for p, row in enumerate(points[factors].itertuples(index=False)):
        key = tuple(levels[f].index(v) for f, v in zip(factors, row, strict=True))
        members.setdefault(key, []).append(p)
    grouped = per_point(data, outcome)
    stats_ = {k: mean_ci95(np.concatenate([grouped.get(p, np.array([])) for p in ps]))
              for k, ps in members.items()}
    return Cells(levels, stats_)


def as_numeric(values: pd.Series) -> np.ndarray | None:
    """Values as floats if all are real numbers (not bools, None or strings), else None."""
    if any(v is None or isinstance(v, bool | np.bool_ | str) for v in values):
        return None
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return None
    return x if np.all(np.isfinite(x)) else None


def factor_levels(values: pd.Series) -> list:
    """Distinct values: sorted when numeric, else in design order."""
    uniq = list(dict.fromkeys(values.tolist()))
    if as_numeric(pd.Series(uniq, dtype=object)) is not None:
        return sorted(uniq)
    return uniq
