"""Which runs are of interest, and what PRIM's boxes say about them.

**Cases of interest.** A run is of interest when its outcome is ``>= threshold`` (``below =
False``) or ``< threshold`` (``below = True``). A missing outcome never counts as of interest:
a null ``kidding_ratio`` means the operation won no organic engagement at all, which is not an
honest record of reach. Failed runs are left out (and counted).

**Boxes.** Every step of a peeling trajectory (``sim.discovery.prim``) is one box, described by

* coverage: runs of interest inside the box / all runs of interest;
* density: runs of interest inside the box / all runs inside the box;
* mass: runs inside / all runs; res_dim: number of restricted factors.

Early boxes cover much and are impure, late boxes are pure and cover little. Each restricted
limit has a *quasi-p-value* (Bryant & Lempert 2010): the one-sided binomial probability of a
density at least as high if that limit were dropped, a check that the limit is not noise; a box
is significant when every limit's quasi-p-value is below ``SIGNIFICANCE``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SIGNIFICANCE = 0.05
"""Quasi-p-value below which a box limit counts as significant (in the default box choice)."""


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


def fmt_value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float | np.floating) else str(v)
