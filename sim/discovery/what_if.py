"""What would it take: the smallest change of a base point that lands in a box.

:func:`what_would_it_take` moves a base point (the preset's or the experiment's base values) into
a box by the smallest change: fewest factors moved first, then the smallest *normalised
distance*, the Euclidean distance in units of each factor's sampled range (``(x - low) / (high -
low)``, in ``log x`` for factors sampled on a log scale; a categorical factor that must change
counts 1). A box is axis-aligned, so moving each factor that lies outside the box's limits to the
nearest limit (and no other) is optimal for both criteria. Unrestricted factors keep their
sampled range as limits: a base value outside the sampled range is moved into it, since the box
says nothing about the space beyond the sample.

:func:`base_point` and :func:`ranges_of` read the experiment: where the question starts and what
the sampled ranges were.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..config import build_config, get_path, read_toml
from .boxes import Box, Scale, fmt_value

if TYPE_CHECKING:
    from ..experiment import LoadedExperiment


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
                     "moves_text": "; ".join(f"{f}: {fmt_value(a)} -> {fmt_value(c)}"
                                             for f, (a, c) in moves.items()) or "(none)"})
    cols = ["box", "trajectory_index", "density", "coverage", "n_moved", "distance", "moves",
            "moves_text"]
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["n_moved", "distance", "density"], ascending=[True, True, False],
                          kind="stable").reset_index(drop=True)


def ranges_of(exp: LoadedExperiment) -> dict[str, Scale]:
    """Sampled ranges of an experiment's numeric factors: the design's ``[low, high]`` (and log
    flag) for continuous designs, the smallest and largest level for a grid."""
    from ..designs import CONTINUOUS, parse_factors

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
    data = read_toml(scenario, "scenario") if scenario else exp.base_data
    overrides = {**exp.spec.overrides, **exp.size_overrides()}
    cfg = build_config(data, overrides).model_dump()
    return {k: get_path(cfg, k) for k in exp.points.columns}
