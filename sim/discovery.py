"""Scenario discovery: in which region of the sampled space does an outcome cross a threshold?

A sweep samples uncertain parameters and tactic levers; scenario discovery asks which simple
region of that space holds most of the runs of interest (here: the operation breaks out, or its
numbers are roughly honest). The standard method is PRIM, the Patient Rule Induction Method
(Friedman & Fisher 1999), as used for scenario discovery by Bryant & Lempert (2010,
doi:10.1016/j.techfore.2009.08.002) and implemented in the EMA Workbench (Kwakkel 2017,
doi:10.1016/j.envsoft.2017.06.054), whose implementation this module wraps rather than rewrites.

**Cases of interest.** A run is of interest when its outcome is ``>= threshold`` (``below =
False``) or ``< threshold`` (``below = True``). A missing outcome never counts as of interest:
a null ``kidding_ratio`` means the operation won no organic engagement at all, which is not an
honest record of reach. Failed runs are left out (and counted).

**PRIM.** PRIM peels a box from the whole sampled space, each step removing a thin slice
(``peel_alpha`` of the remaining runs) along the one factor where that most raises the share of
runs of interest inside, until the box holds less than ``mass_min`` of the runs; then it pastes
back slices that do not lower that share. Every step is one box on the *peeling trajectory*,
described by

* coverage: runs of interest inside the box / all runs of interest;
* density: runs of interest inside the box / all runs inside the box;
* mass: runs inside / all runs; res_dim: number of restricted factors.

Early boxes cover much and are impure, late boxes are pure and cover little. Each restricted
limit has a *quasi-p-value* (Bryant & Lempert 2010): the one-sided binomial probability of a
density at least as high if that limit were dropped, a check that the limit is not noise.

**Choosing a box.** Unless a trajectory index is given, the chosen box is the step with the
highest harmonic mean of coverage and density (the F1 score of the box as a classifier of runs
of interest). Peeling often nibbles a sliver off a factor that does not matter; as Bryant &
Lempert recommend, such limits are then dropped, one at a time, the least significant first
(quasi-p-value of ``0.05`` or more), each drop adding a step to the trajectory (marked
``dropped``), until every remaining limit is significant. With ``n_boxes > 1`` PRIM searches
again among the runs outside the chosen boxes (the EMA Workbench's default covering scheme),
keeping a further box only if it is significant and denser than the overall share of runs of
interest.

**What would it take.** :func:`what_would_it_take` moves a base point (the preset's or the
experiment's base values) into a box by the smallest change: fewest factors moved first, then
the smallest *normalised distance*, the Euclidean distance in units of each factor's sampled
range (``(x - low) / (high - low)``, in ``log x`` for factors sampled on a log scale; a
categorical factor that must change counts 1). A box is axis-aligned, so moving each factor that
lies outside the box's limits to the nearest limit (and no other) is optimal for both criteria.
Unrestricted factors keep their sampled range as limits: a base value outside the sampled range
is moved into it, since the box says nothing about the space beyond the sample.

The analysis itself is model-independent (tested on a synthetic function with a known box); only
:func:`base_point` and :func:`ranges_of` read an experiment.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .experiment import LoadedExperiment

SIGNIFICANCE = 0.05
"""Quasi-p-value below which a box limit counts as significant (in the default box choice)."""

_FACTOR = "factor:"


# --------------------------------------------------------------------------- targets and scales


@dataclass(frozen=True)
class Target:
    """Which runs are of interest: ``outcome >= threshold``, or ``< threshold`` if ``below``."""

    outcome: str
    threshold: float
    below: bool = False

    def __str__(self) -> str:
        return f"{self.outcome} {'<' if self.below else '>='} {self.threshold:g}"

    def of_interest(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """Boolean per run; a missing (None/NaN) value is never of interest."""
        x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
        with np.errstate(invalid="ignore"):
            hit = x < self.threshold if self.below else x >= self.threshold
        return hit & np.isfinite(x)


@dataclass(frozen=True)
class Scale:
    """A factor's sampled range, to express values as a fraction of it (log-scaled if sampled
    on a log scale, as the design's unit cube is)."""

    low: float
    high: float
    log: bool = False

    def unit(self, x: float | np.ndarray) -> float | np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.log and self.low > 0:
            return (np.log(np.maximum(x, 1e-300)) - math.log(self.low)) / (
                math.log(self.high) - math.log(self.low))
        return (x - self.low) / (self.high - self.low) if self.high > self.low else x * 0.0


# --------------------------------------------------------------------------- results


@dataclass
class Box:
    """One box of a peeling trajectory: its statistics and its limits per factor.

    ``limits`` has one row per factor (index: factor key) with ``low``, ``high`` (numeric
    factors) or ``values`` (the allowed levels of a categorical factor), ``restricted`` and the
    quasi-p-values ``qp_low``, ``qp_high`` (NaN where that side is not restricted)."""

    number: int  # which PRIM box (0 = first found)
    index: int  # position on that box's peeling trajectory
    coverage: float
    density: float
    mass: float
    res_dim: int
    n: int  # runs inside
    k: int  # runs of interest inside
    limits: pd.DataFrame
    dropped: bool = False  # made by dropping an insignificant limit of an earlier step

    @property
    def restricted(self) -> pd.DataFrame:
        return self.limits[self.limits["restricted"]]

    @property
    def significant(self) -> bool:
        qp = self.restricted[["qp_low", "qp_high"]].to_numpy(float)
        return bool(np.all(np.isnan(qp) | (qp < SIGNIFICANCE)))

    def contains(self, point: Mapping[str, Any]) -> bool:
        for f, row in self.limits.iterrows():
            v = point[f]
            if isinstance(row["values"], frozenset):
                if str(v) not in row["values"]:
                    return False
            elif not row["low"] <= float(v) <= row["high"]:
                return False
        return True

    def to_dict(self, scales: Mapping[str, Scale] | None = None) -> dict[str, Any]:
        lims = []
        for f, row in self.restricted.iterrows():
            d: dict[str, Any] = {"factor": f}
            if isinstance(row["values"], frozenset):
                d["values"] = sorted(row["values"])
            else:
                d.update(low=_num(row["low"]), high=_num(row["high"]))
                if scales and f in scales:
                    d.update(unit_low=_num(scales[f].unit(row["low"])),
                             unit_high=_num(scales[f].unit(row["high"])))
            d.update(qp_low=_num(row["qp_low"]), qp_high=_num(row["qp_high"]))
            lims.append(d)
        return {"box": self.number, "trajectory_index": self.index, "coverage": self.coverage,
                "density": self.density, "mass": self.mass, "res_dim": self.res_dim,
                "n": self.n, "k": self.k, "significant": self.significant, "limits": lims}


def _num(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass
class Discovery:
    """The result of :func:`discover`: the target, the trajectories, the chosen boxes."""

    target: Target
    x: pd.DataFrame  # factors of the runs analysed (varied factors only)
    y: np.ndarray  # of interest, per run
    trajectories: list[list[Box]]  # per PRIM box, every step of its peeling trajectory
    chosen: list[Box]  # per PRIM box, the chosen step
    scales: dict[str, Scale]
    n_failed: int = 0
    n_missing: int = 0  # successful runs without a value of the outcome (never of interest)
    notes: list[str] = field(default_factory=list)

    @property
    def n_interest(self) -> int:
        return int(self.y.sum())

    def trajectory_table(self) -> pd.DataFrame:
        rows = [{"box": b.number, "trajectory_index": b.index, "coverage": b.coverage,
                 "density": b.density, "mass": b.mass, "res_dim": b.res_dim, "n": b.n, "k": b.k,
                 "significant": b.significant, "dropped": b.dropped,
                 "chosen": any(b is c for c in self.chosen)}
                for t in self.trajectories for b in t]
        return pd.DataFrame(rows)

    def limits_table(self) -> pd.DataFrame:
        rows = []
        for b in self.chosen:
            for lim in b.to_dict(self.scales)["limits"]:
                rows.append({"box": b.number, "trajectory_index": b.index, **lim})
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        return {"target": asdict(self.target), "target_text": str(self.target),
                "runs": len(self.y), "failed_runs_left_out": self.n_failed,
                "missing_outcome_runs": self.n_missing, "runs_of_interest": self.n_interest,
                "base_rate": self.n_interest / len(self.y) if len(self.y) else None,
                "factors": list(self.x.columns),
                "sampled_ranges": {k: asdict(s) for k, s in self.scales.items()},
                "boxes": [b.to_dict(self.scales) for b in self.chosen], "notes": self.notes}


# --------------------------------------------------------------------------- PRIM


def _prim_module():
    """The EMA Workbench's PRIM module. Imported lazily (it is slow to import) and quietly (it
    warns about optional extras, ipyparallel and altair, that this use does not need)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    return prim


def factor_frame(results: pd.DataFrame) -> pd.DataFrame:
    """The ``factor:KEY`` columns of sweep result rows, renamed to the keys, keeping only the
    factors that vary; numbers become floats, anything else a category label (``str``), as PRIM
    peels categorical factors by level."""
    cols = {c: c[len(_FACTOR):] for c in results.columns if c.startswith(_FACTOR)}
    x = results[list(cols)].rename(columns=cols).reset_index(drop=True)
    out = {}
    for k in x.columns:
        col = x[k]
        if col.astype(str).nunique() < 2:
            continue
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            out[k] = col.astype(str)
        else:  # integers too: the library's discrete pasting fails under pandas 3 (it writes a
            # fractional limit into an integer column); as numbers their limits are the same
            out[k] = col.astype(np.float64)
    return pd.DataFrame(out)


def discover(x: pd.DataFrame, y: np.ndarray, target: Target | None = None, *,
             scales: Mapping[str, Scale] | None = None, n_boxes: int = 1,
             box: int | None = None, mass_min: float = 0.05, peel_alpha: float = 0.05,
             paste_alpha: float = 0.05) -> Discovery:
    """Run PRIM on factor values ``x`` (one row per run) and a boolean ``y`` (of interest).

    ``box`` picks a step of the first box's peeling trajectory (negative counts from the end);
    otherwise the module's default rule chooses. ``scales`` are the sampled ranges (default: the
    observed range of each numeric factor)."""
    y = np.asarray(y, dtype=bool)
    if len(y) != len(x):
        raise ValueError(f"{len(y)} outcomes for {len(x)} runs")
    if not 0 < mass_min < 1 or not 0 < peel_alpha < 1 or not 0 < paste_alpha < 1:
        raise ValueError("mass_min, peel_alpha and paste_alpha must lie in (0, 1)")
    if n_boxes < 1:
        raise ValueError(f"n_boxes must be at least 1, got {n_boxes}")
    x = x.reset_index(drop=True)
    target = target or Target("y", 1.0)
    scales = dict(scales or {})
    for k in x.columns:
        if k not in scales and pd.api.types.is_numeric_dtype(x[k]):
            scales[k] = Scale(float(x[k].min()), float(x[k].max()))
    d = Discovery(target, x, y, [], [], scales)
    if x.shape[1] == 0:
        d.notes.append("no factor varies over the runs: nothing to discover")
        return d
    if not y.any():
        d.notes.append(f"no run has {target}: there is no region to find")
        return d
    if y.all():
        d.notes.append(f"every run has {target}: the region is the whole sampled space")
        return d
    prim = _prim_module()
    with warnings.catch_warnings():  # the library's own deprecation warnings (pandas)
        warnings.simplefilter("ignore")
        p = prim.Prim(x, y.copy(), mass_min=mass_min, peel_alpha=peel_alpha,
                      paste_alpha=paste_alpha)
    for number in range(n_boxes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = p.find_box()
        if found is None:
            d.notes.append(f"PRIM stopped after {number} box(es): no runs left")
            break
        traj = [_box(found, number, i, p.box_init) for i in range(len(found.peeling_trajectory))]
        if number == 0 and box is not None:
            if not -len(traj) <= box < len(traj):
                raise ValueError(f"box: trajectory index {box} out of range; the peeling "
                                 f"trajectory has {len(traj)} boxes (0..{len(traj) - 1})")
            pick = traj[box]
        else:
            pick = choose(traj)
            while not pick.significant:  # drop the least significant limit, as a new step
                worst = pick.restricted[["qp_low", "qp_high"]].max(axis=1).idxmax()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    found.drop_restriction(worst, pick.index)
                pick = _box(found, number, len(found.peeling_trajectory) - 1, p.box_init)
                pick.dropped = True
                traj.append(pick)
        if number > 0 and not (pick.significant and pick.density > d.n_interest / len(y)):
            d.notes.append(f"PRIM found no further significant box denser than the base rate "
                           f"after {number} box(es)")
            break
        found.select(pick.index)
        d.trajectories.append(traj)
        d.chosen.append(pick)
        if pick.k == 0 or p.yi_remaining.size == 0:
            break
    return d


def _box(found: Any, number: int, i: int, box_init: pd.DataFrame) -> Box:
    """Our view of step ``i`` of an EMA Workbench PrimBox (the one place that reads its
    attributes: ``peeling_trajectory``, ``box_lims``, ``p_values``)."""
    stats = found.peeling_trajectory.iloc[i]
    lims = found.box_lims[i]
    qps = found.p_values[i]
    rows = {}
    for f in box_init.columns:
        lo, hi = lims[f].iloc[0], lims[f].iloc[1]
        restricted = bool(np.any(box_init[f].to_numpy() != lims[f].to_numpy()))
        qp = [np.nan if q is None or q < 0 else float(q) for q in qps.get(f, [-1, -1])]
        if isinstance(lo, set):
            rows[f] = {"low": np.nan, "high": np.nan, "values": frozenset(map(str, lo)),
                       "restricted": restricted, "qp_low": qp[0], "qp_high": np.nan}
        else:
            rows[f] = {"low": float(lo), "high": float(hi), "values": None,
                       "restricted": restricted, "qp_low": qp[0], "qp_high": qp[1]}
    limits = pd.DataFrame.from_dict(rows, orient="index")
    return Box(number, i, float(stats["coverage"]), float(stats["density"]),
               float(stats["mass"]), int(stats["res_dim"]), int(stats["n"]), int(stats["k"]),
               limits)


def choose(trajectory: Sequence[Box]) -> Box:
    """The step with the highest harmonic mean of coverage and density (fewer restricted
    factors breaking ties); :func:`discover` then drops its insignificant limits."""

    def f1(b: Box) -> float:
        s = b.coverage + b.density
        return 2 * b.coverage * b.density / s if s > 0 else 0.0

    return max(trajectory, key=lambda b: (f1(b), -b.res_dim))


def discover_results(results: pd.DataFrame, target: Target, *,
                     scales: Mapping[str, Scale] | None = None, **kwargs: Any) -> Discovery:
    """:func:`discover` on sweep result rows (``sim.sweep.ResultStore(out).results()``)."""
    if target.outcome not in results.columns:
        outcomes = [c for c in results.columns if not c.startswith(_FACTOR)
                    and c not in ("run", "point", "replicate", "seed", "status", "error",
                                  "runtime_seconds")]
        raise ValueError(f"outcome {target.outcome!r} is not in the results; recorded "
                         f"outcomes: {outcomes}")
    ok = results[results["status"] == "ok"].reset_index(drop=True)
    x = factor_frame(ok)
    y = target.of_interest(ok[target.outcome])
    missing = int(pd.to_numeric(ok[target.outcome], errors="coerce").isna().sum())
    d = discover(x, y, target, scales={k: v for k, v in (scales or {}).items() if k in x},
                 **kwargs)
    d.n_failed = len(results) - len(ok)
    d.n_missing = missing
    return d


# --------------------------------------------------------------------------- what would it take


def what_would_it_take(base: Mapping[str, Any], boxes: Sequence[Box],
                       scales: Mapping[str, Scale], *, min_density: float = 0.5,
                       margin: float = 0.0) -> pd.DataFrame:
    """The smallest change of ``base`` that lands in one of ``boxes``, ranked.

    For each box with density at least ``min_density``: move every factor outside the box's
    limits to the nearest limit (``margin``: that fraction of the box's width further inside),
    leave the others. Rows are sorted by factors moved, then normalised distance (module
    docstring); the first row is the answer. Columns: ``box``, ``trajectory_index``,
    ``density``, ``coverage``, ``n_moved``, ``distance``, ``moves`` (factor -> (from, to)) and
    ``moves_text``."""
    if not 0 <= margin < 0.5:
        raise ValueError(f"margin must lie in [0, 0.5), got {margin}")
    rows = []
    for b in boxes:
        if b.density < min_density:
            continue
        moves: dict[str, tuple[Any, Any]] = {}
        dist2 = 0.0
        for f, lim in b.limits.iterrows():
            if f not in base:
                raise ValueError(f"base point has no value for factor {f!r}")
            v = base[f]
            if isinstance(lim["values"], frozenset):
                if str(v) not in lim["values"]:
                    moves[f] = (v, sorted(lim["values"])[0])
                    dist2 += 1.0
                continue
            lo, hi = float(lim["low"]), float(lim["high"])
            if f in scales and not lim["restricted"]:  # unrestricted: the sampled range
                lo, hi = scales[f].low, scales[f].high
            inset = margin * (hi - lo)
            new = min(max(float(v), lo + inset), hi - inset)
            if new != float(v):
                moves[f] = (v, new)
                s = scales.get(f, Scale(lo, hi))
                dist2 += float(s.unit(new) - s.unit(float(v))) ** 2
        rows.append({"box": b.number, "trajectory_index": b.index, "density": b.density,
                     "coverage": b.coverage, "n_moved": len(moves),
                     "distance": math.sqrt(dist2), "moves": moves,
                     "moves_text": "; ".join(f"{f}: {_g(a)} -> {_g(c)}"
                                             for f, (a, c) in moves.items()) or "(none)"})
    cols = ["box", "trajectory_index", "density", "coverage", "n_moved", "distance", "moves",
            "moves_text"]
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["n_moved", "distance", "density"], ascending=[True, True, False],
                          kind="stable").reset_index(drop=True)


def _g(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float | np.floating) else str(v)


# --------------------------------------------------------------------------- experiments


def ranges_of(exp: LoadedExperiment) -> dict[str, Scale]:
    """Sampled ranges of an experiment's numeric factors: the design's ``[low, high]`` (and log
    flag) for continuous designs, the smallest and largest level for a grid."""
    from .designs import CONTINUOUS, parse_factors

    d = exp.spec.design
    if d.kind in CONTINUOUS and d.factors:
        return {f.key: Scale(float(f.low), float(f.high), f.log)  # type: ignore[arg-type]
                for f in parse_factors(d.factors, d.kind)}
    out = {}
    for k in exp.points.columns:
        col = pd.to_numeric(exp.points[k], errors="coerce")
        if col.notna().all() and not pd.api.types.is_bool_dtype(exp.points[k]):
            out[k] = Scale(float(col.min()), float(col.max()))
    return out


def base_point(exp: LoadedExperiment, scenario: str | Path | None = None) -> dict[str, Any]:
    """The value of each design factor in the experiment's base scenario with its fixed
    overrides (or in another ``scenario`` file, e.g. a calibrated preset): where a "what would
    it take" question starts."""
    import tomllib

    from .config import build_config

    data = tomllib.loads(Path(scenario).read_text()) if scenario else exp.base_data
    overrides = dict(exp.spec.overrides)
    if exp.spec.users is not None:
        overrides["population.n_users"] = exp.spec.users
    if exp.spec.days is not None:
        overrides["run.days"] = exp.spec.days
    cfg = build_config(data, overrides).model_dump()
    return {k: _get_path(cfg, k) for k in exp.points.columns}


def _get_path(data: Any, dotted: str) -> Any:
    node = data
    for seg in dotted.split("."):
        if isinstance(node, list):
            if seg.isdigit():
                node = node[int(seg)]
            else:  # platforms.NAME
                node = next(p for p in node if isinstance(p, dict) and p.get("name") == seg)
        else:
            node = node[seg]
    return node


# --------------------------------------------------------------------------- outputs


def figure(d: Discovery, title: str | None = None) -> Figure:
    """Left: the peeling trajectory (coverage against density, colour = restricted factors,
    chosen boxes ringed). Right: the chosen boxes' limits as a fraction of each factor's sampled
    range, with the actual limits and quasi-p-values written beside."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    lims = d.limits_table()
    n_rows = max(len(lims), 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, max(4.2, 1.6 + 0.45 * n_rows)), dpi=120,
                                   gridspec_kw={"width_ratios": [1, 1.25]})
    fig.suptitle(title or f"Scenario discovery (PRIM): runs with {d.target}", fontsize=11)
    base_rate = d.n_interest / len(d.y) if len(d.y) else float("nan")
    if not d.trajectories:
        for ax in (ax1, ax2):
            ax.axis("off")
        ax1.text(0.02, 0.5, "\n".join(d.notes) or "no box", fontsize=10, va="center")
        fig.tight_layout()
        return fig
    markers = "osD^v"
    vmax = max(b.res_dim for t in d.trajectories for b in t) or 1
    cmap = plt.get_cmap("viridis", vmax + 1)  # one colour per count of restricted factors
    sc = None
    for t in d.trajectories:
        cov = [b.coverage for b in t]
        den = [b.density for b in t]
        sc = ax1.scatter(cov, den, c=[b.res_dim for b in t], cmap=cmap, vmin=-0.5,
                         vmax=vmax + 0.5,
                         marker=markers[t[0].number % len(markers)], s=22,
                         label=f"box {t[0].number + 1}" if len(d.trajectories) > 1 else None)
    for c in d.chosen:
        ax1.scatter([c.coverage], [c.density], s=160, facecolors="none", edgecolors="red",
                    linewidths=1.5)
        ax1.annotate(f"box {c.number + 1} (step {c.index})\ncoverage {c.coverage:.2f}, "
                     f"density {c.density:.2f}", (c.coverage, c.density),
                     textcoords="offset points", xytext=(-10, -26), ha="right", fontsize=8,
                     color="red", bbox={"fc": "white", "ec": "none", "alpha": 0.8})
    ax1.axhline(base_rate, color="grey", ls=":", lw=1)
    ax1.text(0.01, base_rate, f" base rate {base_rate:.2f}", fontsize=7, color="grey",
             va="bottom")
    bar = fig.colorbar(sc, ax=ax1, label="restricted factors (res_dim)")
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    ax1.set_xlabel("coverage (share of runs of interest inside the box)")
    ax1.set_ylabel("density (share of runs inside that are of interest)")
    ax1.set_xlim(-0.02, 1.02)
    ax1.set_ylim(-0.02, 1.02)
    ax1.grid(True, alpha=0.3)
    ax1.set_title(f"peeling trajectory ({d.n_interest} of {len(d.y)} runs of interest)",
                  fontsize=9)
    if len(d.trajectories) > 1:
        ax1.legend(fontsize=7, loc="lower left")
    _limits_panel(ax2, lims)
    fig.tight_layout()
    return fig


def _limits_panel(ax: Any, lims: pd.DataFrame) -> None:
    if lims.empty:
        ax.axis("off")
        ax.text(0.02, 0.5, "the chosen box restricts no factor", fontsize=10)
        return
    rows = lims.iloc[::-1].reset_index(drop=True)
    for i, r in rows.iterrows():
        ax.barh(i, 1.0, left=0.0, color="0.9", height=0.6)
        if "unit_low" in r and pd.notna(r.get("unit_low")):
            lo, hi = float(r["unit_low"]), float(r["unit_high"])
            ax.barh(i, hi - lo, left=lo, color=f"C{int(r['box'])}", height=0.6, alpha=0.8)
            text = f"[{_g(r['low'])}, {_g(r['high'])}]"
        else:
            text = "{" + ", ".join(r["values"]) + "}" if isinstance(r.get("values"), list) \
                else ""
        qps = [f"{q:.1g}" for q in (r.get("qp_low"), r.get("qp_high"))
               if q is not None and pd.notna(q)]
        ax.text(1.02, i, f"{text}  qp {' / '.join(qps)}", va="center", fontsize=7,
                transform=ax.get_yaxis_transform())
    labels = [f"box {int(r['box']) + 1}: {r['factor']}" if lims["box"].nunique() > 1
              else str(r["factor"]) for _, r in rows.iterrows()]
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("limits as a fraction of the sampled range (grey: sampled range)")
    ax.set_title("chosen box limits [low, high] and quasi-p-values (low / high)", fontsize=9)


def write(d: Discovery, out_dir: str | Path, stem: str,
          what_if: pd.DataFrame | None = None, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write ``<stem>_trajectory.csv``, ``<stem>_boxes.csv``, ``<stem>.json`` (summary, boxes,
    and the "what would it take" answer if given), ``<stem>_what_if.csv`` and the figure
    ``<stem>.png``; returns the paths."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}_trajectory.csv", out / f"{stem}_boxes.csv", out / f"{stem}.json"]
    d.trajectory_table().to_csv(paths[0], index=False)
    d.limits_table().to_csv(paths[1], index=False)
    summary = d.summary()
    if what_if is not None:
        summary["what_would_it_take"] = [
            {**{k: (v.item() if isinstance(v, np.generic) else v)
                for k, v in r.items() if k != "moves"},
             "moves": {f: [_plain(a), _plain(b)] for f, (a, b) in r["moves"].items()}}
            for r in what_if.to_dict("records")]
        if what_if.empty:
            summary["what_would_it_take_note"] = (
                "no chosen box has at least half its runs of interest (min_density 0.5)")
        p = out / f"{stem}_what_if.csv"
        what_if.drop(columns="moves").to_csv(p, index=False)
        paths.append(p)
    paths[2].write_text(json.dumps(summary, indent=2, default=_plain) + "\n")
    if not formats:
        return paths
    fig = figure(d)
    try:
        for ext in formats:
            p = out / f"{stem}.{ext}"
            fig.savefig(p, metadata={"CreationDate": None} if ext == "pdf" else {})
            paths.append(p)
    finally:
        plt.close(fig)
    return paths


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, frozenset | set):
        return sorted(v)
    return v


# --------------------------------------------------------------------------- sim plot


def analysis_figures(data: Any) -> list[tuple[str, Figure]]:
    """The figures ``sim plot`` adds to a sweep's own (``data`` is a ``sim.plots.SweepData``):
    the indices of all outcomes in one figure for a Sobol' or Morris design
    (``sim.sensitivity``), and each ``[[analysis]]`` section's PRIM figure, whose tables and
    "what would it take" answer (from the experiment's base values, over the chosen boxes) are
    written to ``<results>/analysis/<name>*`` on the way."""
    from . import sensitivity

    figs: list[tuple[str, Figure]] = []
    if data.kind in ("sobol", "morris") and not data.runs.empty:
        indices = sensitivity.tables(data)
        if indices:
            figs.append((sensitivity.STEM, sensitivity.overview_figure(data, indices)))
    spec = data.exp.spec
    if not getattr(spec, "analysis", None):
        return figs
    from .sweep import ResultStore

    results = ResultStore(data.out_dir).results()
    if results.empty:
        return figs
    scales = ranges_of(data.exp)
    base = base_point(data.exp)
    for a in spec.analysis:
        target = Target(a.outcome, float(a.threshold), below=a.direction == "below")
        d = discover_results(results, target, scales=scales, n_boxes=a.boxes, box=a.box,
                             mass_min=a.mass_min, peel_alpha=a.peel_alpha)
        what_if = what_would_it_take({k: base[k] for k in d.x.columns}, d.chosen, d.scales)
        write(d, Path(data.out_dir) / "analysis", a.name, what_if, formats=())
        figs.append((a.name, figure(d, f"{data.name}: {a.name} - runs with {target} (PRIM)")))
    return figs
