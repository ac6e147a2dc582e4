"""PRIM on a sweep's runs, through the EMA Workbench's implementation.

PRIM peels a box from the whole sampled space, each step removing a thin slice (``peel_alpha``
of the remaining runs) along the one factor where that most raises the share of runs of interest
inside, until the box holds less than ``mass_min`` of the runs; then it pastes back slices that
do not lower that share. Every step is one box on the *peeling trajectory*
(``sim.discovery.boxes``).

**Choosing a box.** Unless a trajectory index is given, the chosen box is the step with the
highest harmonic mean of coverage and density (the F1 score of the box as a classifier of runs
of interest). Peeling often nibbles a sliver off a factor that does not matter; as Bryant &
Lempert recommend, such limits are then dropped, one at a time, the least significant first
(quasi-p-value of ``0.05`` or more), each drop adding a step to the trajectory (marked
``dropped``), until every remaining limit is significant. With ``n_boxes > 1`` PRIM searches
again among the runs outside the chosen boxes (the EMA Workbench's default covering scheme),
keeping a further box only if it is significant and denser than the overall share of runs of
interest.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..sweep import META_COLUMNS
from .boxes import Box, Discovery, Scale, Target

_FACTOR = "factor:"


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
    otherwise the module's rule chooses (:func:`choose`, then dropping insignificant limits).
    ``scales`` are the sampled ranges (default: the observed range of each numeric factor)."""
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
                    and c not in META_COLUMNS]
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
