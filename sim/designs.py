"""Sampling designs, run seeds and global sensitivity analysis for experiments at scale.

Pure functions, independent of the model, so that the statistics can be checked on functions
with known answers before any simulation time is spent on them.

**Factors.** A factor specification maps a dotted config key (``"operation.fluency_mean"``,
``"platforms.0.homophily"``) to

* a list of values, for the ``"grid"`` design (the full factorial over all lists);
* ``[low, high]``, for the continuous designs ``"lhs"``, ``"random"``, ``"sobol"`` and
  ``"morris"``;
* a dict, to say more: ``{"values": [...]}`` (grid), or ``{"range": [low, high],
  "integer": bool, "log": bool}`` (continuous). ``integer`` draws whole numbers in
  ``low..high`` (both ends included, equally likely under uniform sampling); ``log`` samples
  uniformly in ``log(x)`` (for rates and sizes spanning orders of magnitude; needs ``low > 0``).

A plain two-element list therefore means two grid levels for ``"grid"`` and a range for the other
kinds; the design kind decides, so one spec file reads naturally for either use.

**Unit cube.** Every continuous design is drawn in ``[0, 1]^k`` and mapped to the factor ranges by
:func:`scale`. The samplers and the analyses (SALib) thus never see integer or log transforms:
the Sobol' and Morris estimators stay exactly those of the unit-cube design, and Morris
elementary effects are per unit fraction of each factor's range, comparable across factors.

**Scenarios.** The ``"scenarios"`` kind is not over factors: each design point is a named bundle
of config overrides (``{"baseline": {}, "no_lag": {"operation.content_lag_hours": 0}}``), for
"switch off one mechanism at a time" experiments. :func:`scenario_design` checks the names and
keys and gives the design table, one column :data:`SCENARIO` holding the names in spec order;
which config each name stands for is the experiment's business (``sim.experiment``). Sensitivity
analysis does not apply: named bundles have no ranges to attribute variance to.

**Reproducibility.** A design is a deterministic function of ``(kind, factors, n, seed)``; the
seed of each model run is a deterministic function of ``(root seed, run index)`` only
(:func:`run_seed`), so any single run of a sweep can be re-run alone.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import portable

KINDS: tuple[str, ...] = ("grid", "lhs", "random", "sobol", "morris")
"""The supported design kinds."""

CONTINUOUS: tuple[str, ...] = ("lhs", "random", "sobol", "morris")
"""Design kinds that sample ``[low, high]`` ranges."""

SCENARIOS = "scenarios"
"""The design kind whose points are named bundles of overrides (not in ``KINDS``: it has no
factors, so nothing that takes a factor specification applies to it)."""

SCENARIO = "scenario"
"""The one column of a scenarios design table, holding the scenario names."""

_SCENARIO_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

MORRIS_LEVELS = 4
"""Levels of the Morris grid (SALib default). Sampling and analysis must use the same value."""

_SEGMENT = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|\d+)$")
_SPEC_KEYS = {"values", "range", "integer", "log"}


@dataclass(frozen=True)
class Factor:
    """One validated factor: either grid ``values`` or a continuous ``[low, high]`` range."""

    key: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False

    @property
    def is_range(self) -> bool:
        return self.values is None


# --------------------------------------------------------------------------- factor specs


def check_overrides(overrides: Mapping[str, Any], what: str) -> None:
    """Refuse a bare config table among dotted overrides: unquoted ``operation.x = 1`` in TOML
    parses as a table ``operation = {x = 1}``, which would replace the whole section."""
    for key, value in overrides.items():
        if isinstance(value, Mapping) and "." not in str(key):
            raise ValueError(f"{what} {key!r}: a whole table; quote dotted keys, e.g. "
                             f'"{key}.{next(iter(value), "field")}" = ...')


def check_key(key: Any, what: str = "factor") -> str:
    """A dotted config key, checked for shape only (the schema checks that it exists);
    ``what`` names the key's owner in the error (``"factor"``, ``"scenario 'x': key"``)."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"{what} {key!r}: key must be a non-empty dotted string")
    for seg in key.split("."):
        if not _SEGMENT.match(seg):
            raise ValueError(
                f"{what} {key!r}: bad key segment {seg!r} (expected an identifier or an index, "
                "e.g. 'operation.fluency_mean' or 'platforms.0.homophily')")
    return key


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(
        x, bool | np.bool_)


def _parse_values(key: str, values: Any) -> Factor:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise ValueError(f"factor {key!r}: grid values must be a list, got {values!r}")
    vals = list(values)
    if not vals:
        raise ValueError(f"factor {key!r}: grid values must not be empty")
    for v in vals:
        if not (v is None or isinstance(v, str | bool | np.bool_) or _is_number(v)):
            raise ValueError(f"factor {key!r}: grid value {v!r} is not a scalar")
        if _is_number(v) and not math.isfinite(float(v)):
            raise ValueError(f"factor {key!r}: grid value {v!r} is not finite")
    # Compare with types so that 1 and True (equal in Python) count as distinct levels.
    seen = [(type(v).__name__, v) for v in vals]
    if len(set(seen)) != len(seen):
        raise ValueError(f"factor {key!r}: grid values contain duplicates: {vals!r}")
    return Factor(key=key, values=tuple(vals))


def parse_range(key: str, rng: Any, integer: Any = False, log: Any = False) -> Factor:
    if not isinstance(integer, bool) or not isinstance(log, bool):
        raise ValueError(f"factor {key!r}: 'integer' and 'log' must be true or false")
    if (isinstance(rng, str | bytes) or not isinstance(rng, Sequence | np.ndarray)
            or len(rng) != 2):
        raise ValueError(f"factor {key!r}: range must be [low, high], got {rng!r}")
    low, high = rng
    if not (_is_number(low) and _is_number(high)):
        raise ValueError(f"factor {key!r}: range bounds must be numbers, got {rng!r}")
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"factor {key!r}: range bounds must be finite, got {rng!r}")
    if not low < high:
        raise ValueError(f"factor {key!r}: range needs low < high, got {rng!r}")
    if log and low <= 0:
        raise ValueError(f"factor {key!r}: a log-scale range needs low > 0, got {rng!r}")
    if integer and not (low.is_integer() and high.is_integer()):
        raise ValueError(f"factor {key!r}: an integer range needs whole bounds, got {rng!r}")
    return Factor(key=key, low=low, high=high, integer=integer, log=log)


def parse_factors(factors: Mapping[str, Any], kind: str) -> list[Factor]:
    """Validate a factor specification for a design ``kind``; return factors in spec order.

    Raises ``ValueError`` naming the offending factor. Order matters: it fixes the column order of
    the design and the dimension order of the samplers, hence the sample itself.
    """
    _check_kind(kind)
    if not isinstance(factors, Mapping) or not factors:
        raise ValueError("factors must be a non-empty mapping from config key to specification")
    out: list[Factor] = []
    for key, spec in factors.items():
        key = check_key(key)
        if isinstance(spec, Mapping):
            unknown = set(spec) - _SPEC_KEYS
            if unknown:
                raise ValueError(f"factor {key!r}: unknown specification keys {sorted(unknown)}")
            if ("values" in spec) == ("range" in spec):
                raise ValueError(f"factor {key!r}: give exactly one of 'values' or 'range'")
            if "values" in spec:
                if "integer" in spec or "log" in spec:
                    raise ValueError(
                        f"factor {key!r}: 'integer'/'log' apply to a range, not to values")
                f = _parse_values(key, spec["values"])
            else:
                f = parse_range(key, spec["range"], spec.get("integer", False),
                                 spec.get("log", False))
        elif kind == "grid":
            f = _parse_values(key, spec)
        else:
            f = parse_range(key, spec)
        if kind == "grid" and f.is_range:
            raise ValueError(f"factor {key!r}: a grid design needs a list of values, not a range")
        if kind != "grid" and not f.is_range:
            raise ValueError(
                f"factor {key!r}: design {kind!r} needs a [low, high] range, not a value list")
        out.append(f)
    keys = sorted(f.key for f in out)
    for a, b in itertools.pairwise(keys):
        if b.startswith(a + "."):
            raise ValueError(f"factor {b!r}: lies inside factor {a!r}; vary one or the other")
    return out


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown design kind {kind!r}; expected one of {', '.join(KINDS)}")


def _check_seed(seed: Any) -> int:
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


# --------------------------------------------------------------------------- designs


def problem(factors: Mapping[str, Any] | Sequence[Factor]) -> dict[str, Any]:
    """The SALib problem dict for continuous factors, on the unit cube.

    Bounds are ``[0, 1]`` for every factor because designs are sampled in the unit cube and mapped
    by :func:`scale`; the names are the config keys, in specification order.
    """
    fs = _as_factors(factors, "sobol")
    return {"num_vars": len(fs), "names": [f.key for f in fs], "bounds": [[0.0, 1.0]] * len(fs)}


def _as_factors(factors: Mapping[str, Any] | Sequence[Factor], kind: str) -> list[Factor]:
    if isinstance(factors, Mapping):
        return parse_factors(factors, kind)
    return list(factors)


def scale(factors: Mapping[str, Any] | Sequence[Factor], unit: np.ndarray) -> pd.DataFrame:
    """Map points of the unit cube (rows of ``unit``) to factor values, one column per factor.

    Linear (or log-linear) in each factor. An integer factor splits ``[0, 1]`` into
    ``high - low + 1`` equal cells, one per whole number, so a uniform draw gives each value the
    same probability and an LHS keeps its stratification as far as the integers allow.
    """
    fs = _as_factors(factors, "lhs")
    unit = np.asarray(unit, dtype=float)
    if unit.ndim != 2 or unit.shape[1] != len(fs):
        raise ValueError(f"unit sample must have shape (n, {len(fs)}), got {unit.shape}")
    cols: dict[str, np.ndarray] = {}
    for j, f in enumerate(fs):
        assert f.low is not None and f.high is not None
        u = np.clip(unit[:, j], 0.0, 1.0)
        top = f.high + 1.0 if f.integer else f.high
        if f.log:
            x = portable.exp(math.log(f.low) + u * (math.log(top) - math.log(f.low)))
        else:
            x = f.low + u * (top - f.low)
        if f.integer:
            cols[f.key] = np.clip(np.floor(x), f.low, f.high).astype(np.int64)
        else:
            cols[f.key] = np.clip(x, f.low, f.high)
    return pd.DataFrame(cols)


def unit_sample(kind: str, factors: Mapping[str, Any] | Sequence[Factor], n: int,
                seed: int) -> np.ndarray:
    """The design of a continuous ``kind`` in the unit cube, rows in sampler order.

    ``n`` is the number of points for "lhs" and "random", the base sample size (a power of two)
    for "sobol" (giving ``n * (k + 2)`` rows) and the number of trajectories for "morris"
    (``n * (k + 1)`` rows).
    """
    if kind not in CONTINUOUS:
        raise ValueError(f"design kind {kind!r} has no unit-cube sample; "
                         f"expected one of {', '.join(CONTINUOUS)}")
    fs = _as_factors(factors, kind)
    seed = _check_seed(seed)
    k = len(fs)
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    n = int(n)
    if kind == "random":
        return np.random.default_rng(seed).random((n, k))
    if kind == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=k, rng=np.random.default_rng(seed)).random(n)
    if kind == "sobol":
        if n & (n - 1):
            raise ValueError(f"a Sobol' design needs n (base sample size) a power of two, got {n}")
        from SALib.sample import sobol as sobol_sample

        return sobol_sample.sample(problem(fs), n, calc_second_order=False, seed=seed)
    # morris
    if n < 2:
        raise ValueError(f"a Morris design needs at least 2 trajectories, got {n}")
    from SALib.sample import morris as morris_sample

    return morris_sample.sample(problem(fs), n, num_levels=MORRIS_LEVELS, seed=seed)


def design(kind: str, factors: Mapping[str, Any], n: int = 0, seed: int = 0) -> pd.DataFrame:
    """Design points: one row per model configuration, one column per factor key.

    * ``"grid"``: the full factorial over the value lists, first factor varying slowest
      (``n`` and ``seed`` are ignored);
    * ``"lhs"``: ``n`` points of a seeded Latin hypercube (one point per stratum ``1/n`` in each
      dimension), scaled to the ranges;
    * ``"random"``: ``n`` independent uniform points;
    * ``"sobol"``: Saltelli's scheme for first-order and total Sobol' indices, ``n`` a power of
      two, ``n * (k + 2)`` rows;
    * ``"morris"``: ``n`` Morris trajectories of ``k + 1`` points each.

    Deterministic given the arguments. For "sobol" and "morris" the row order is the sampler's
    and must be kept: :func:`analyze` pairs outputs with rows by position.
    """
    _check_kind(kind)
    fs = parse_factors(factors, kind)
    if kind == "grid":
        assert all(f.values is not None for f in fs)
        rows = list(itertools.product(*(f.values for f in fs)))  # type: ignore[misc]
        cols = list(zip(*rows, strict=True))
        # A column holding None or mixed types stays object-typed, so None is not turned into
        # NaN nor True into 1.0 (None is a meaningful setting of optional config fields).
        return pd.DataFrame({
            f.key: pd.Series(col, dtype=object if _mixed(f.values) else None)
            for f, col in zip(fs, cols, strict=True)})
    return scale(fs, unit_sample(kind, fs, n, seed))


def scenario_design(scenarios: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The design table of a scenarios design: one row per scenario, in spec order, one column
    :data:`SCENARIO` holding its name.

    Checks what can be checked without the config schema, so that a malformed scenario is
    refused before any config is built: at least one scenario, names of letters, digits, ``_``
    and ``-`` (they label result rows, figures and files), and each override a dotted key.
    Raises ``ValueError`` naming the scenario."""
    if not isinstance(scenarios, Mapping) or not scenarios:
        raise ValueError("a scenarios design needs at least one scenario")
    for name, bundle in scenarios.items():
        if not isinstance(name, str) or not _SCENARIO_NAME.match(name):
            raise ValueError(f"scenario {name!r}: name must be letters, digits, _ and - only")
        if not isinstance(bundle, Mapping):
            raise ValueError(f"scenario {name!r}: must be a table of config overrides, "
                             f"got {bundle!r}")
        check_overrides(bundle, f"scenario {name!r}: key")
        for key in bundle:
            check_key(key, f"scenario {name!r}: key")
    return pd.DataFrame({SCENARIO: pd.Series(list(scenarios), dtype=object)})


def _mixed(values: tuple[Any, ...] | None) -> bool:
    kinds = {"none" if v is None else "bool" if isinstance(v, bool | np.bool_)
             else "number" if _is_number(v) else "str" for v in values or ()}
    return len(kinds) > 1


def n_rows(kind: str, factors: Mapping[str, Any], n: int = 0) -> int:
    """The number of design points (model configurations) a design will have, before drawing."""
    fs = parse_factors(factors, kind)
    k = len(fs)
    if kind == "grid":
        return math.prod(len(f.values or ()) for f in fs)
    return {"lhs": n, "random": n, "sobol": n * (k + 2), "morris": n * (k + 1)}[kind]


def overrides(design_df: pd.DataFrame) -> list[dict[str, Any]]:
    """Design rows as ``{dotted key: value}`` dicts of plain Python values (no numpy scalars),
    ready to apply to a config and to serialise to JSON or TOML."""
    out = []
    for rec in design_df.to_dict(orient="records"):
        out.append({str(k): (v.item() if isinstance(v, np.generic) else v)
                    for k, v in rec.items()})
    return out


# --------------------------------------------------------------------------- run seeds


def run_seed(root_seed: int, run_index: int) -> int:
    """The seed of run ``run_index`` of an experiment with root seed ``root_seed``.

    Derived only from the pair, with numpy's ``SeedSequence`` (the state of the child
    ``SeedSequence(root_seed).spawn(run_index + 1)[run_index]``): independent of the number of
    runs, of the design and of the order or machine the runs execute on, so a run can be repeated
    alone, and streams of different runs are statistically independent. Reduced to
    ``0 <= seed < 2**63`` (the top bit dropped) so it fits a signed 64-bit integer in any output
    format.
    """
    root_seed = _check_seed(root_seed)
    if (not isinstance(run_index, int | np.integer) or isinstance(run_index, bool)
            or run_index < 0):
        raise ValueError(f"run_index must be a non-negative integer, got {run_index!r}")
    state = np.random.SeedSequence(root_seed, spawn_key=(int(run_index),)).generate_state(
        1, np.uint64)[0]
    return int(state) >> 1


# --------------------------------------------------------------------------- analysis


def analyze(kind: str, factors: Mapping[str, Any], design_df: pd.DataFrame, outputs: np.ndarray,
            seed: int, *, num_resamples: int = 1000, conf_level: float = 0.95) -> pd.DataFrame:
    """Global sensitivity indices of one scalar output, one row per factor.

    ``design_df`` must be the unmodified result of ``design(kind, factors, n, seed)`` with the
    same ``seed``, and ``outputs[i]`` the model output at row ``i``. The unit-cube sample is
    redrawn from the seed and checked against ``design_df`` (a reordered, filtered or foreign
    design raises ``ValueError`` instead of silently giving wrong indices); ``seed`` also seeds
    the bootstrap of the confidence intervals.

    * ``"sobol"``: columns ``S1, S1_conf, ST, ST_conf`` (first-order and total Sobol' indices,
      Saltelli/Jansen estimators, ``*_conf`` the bootstrap half-width at ``conf_level``);
    * ``"morris"``: columns ``mu, mu_star, mu_star_conf, sigma`` of the elementary effects per
      unit fraction of each factor's range (Campolongo's ``mu_star`` ranks importance).
    """
    if kind not in ("sobol", "morris"):
        raise ValueError(f"analysis is defined for 'sobol' and 'morris' designs, not {kind!r}")
    fs = parse_factors(factors, kind)
    k = len(fs)
    y = np.asarray(outputs, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"outputs must be one-dimensional (one value per row), got {y.shape}")
    if len(y) != len(design_df):
        raise ValueError(f"outputs has {len(y)} values but the design has {len(design_df)} rows")
    if not np.all(np.isfinite(y)):
        raise ValueError("outputs contain NaN or infinite values")
    block = k + 2 if kind == "sobol" else k + 1
    if len(design_df) == 0 or len(design_df) % block:
        raise ValueError(f"a {kind!r} design with {k} factors has a multiple of {block} rows, "
                         f"got {len(design_df)}")
    n = len(design_df) // block
    unit = unit_sample(kind, fs, n, seed)
    _check_same_design(fs, design_df, scale(fs, unit))
    seed = _check_seed(seed)
    prob = problem(fs)
    names = [f.key for f in fs]
    if kind == "sobol":
        from SALib.analyze import sobol as sobol_analyze

        res = sobol_analyze.analyze(prob, y, calc_second_order=False, num_resamples=num_resamples,
                                    conf_level=conf_level, seed=seed)
        cols = ("S1", "S1_conf", "ST", "ST_conf")
    else:
        from SALib.analyze import morris as morris_analyze

        res = morris_analyze.analyze(prob, unit, y, num_resamples=num_resamples,
                                     conf_level=conf_level, num_levels=MORRIS_LEVELS, seed=seed)
        cols = ("mu", "mu_star", "mu_star_conf", "sigma")
    df = pd.DataFrame({"factor": names})
    for c in cols:
        df[c] = np.asarray(res[c], dtype=float)
    return df


def _check_same_design(fs: list[Factor], got: pd.DataFrame, expected: pd.DataFrame) -> None:
    keys = [f.key for f in fs]
    if list(got.columns) != keys:
        raise ValueError(f"design columns {list(got.columns)} do not match the factors {keys}")
    for key in keys:
        a = np.asarray(got[key], dtype=float)
        b = np.asarray(expected[key], dtype=float)
        if not np.allclose(a, b, rtol=1e-9, atol=1e-12):
            raise ValueError(f"factor {key!r}: design column differs from the design drawn with "
                             "this seed (rows reordered or filtered, or another seed/spec?)")
