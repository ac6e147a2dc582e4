"""What a calibration leaves behind, and how other commands use it.

From the posterior sample (``posterior.parquet``: the particles of every generation, the last
one being the posterior) this module derives point estimates and intervals, the figures
(marginals, pairs, posterior-predictive check), the ``calibrated.toml`` scenario, and the draws
that a ``[design] kind = "posterior"`` sweep runs over (and the ranges that a continuous
design takes from the posterior's intervals).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

POSTERIOR_FILE = "posterior.parquet"
SUMMARY_FILE = "calibration.json"
PREDICTIVE_FILE = "predictive.parquet"
META_COLUMNS = ("weight", "generation", "model")


def final(post: pd.DataFrame) -> pd.DataFrame:
    """The last generation: the posterior sample."""
    return post[post["generation"] == post["generation"].max()].reset_index(drop=True)


def parameter_columns(post: pd.DataFrame) -> list[str]:
    return [c for c in post.columns if c not in META_COLUMNS]


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Quantile of a weighted sample (inverse of the weighted empirical distribution, midpoint
    convention), so that equal weights give numpy's 'linear'-like answers for large samples."""
    order = np.argsort(x, kind="stable")
    x, w = np.asarray(x, float)[order], np.asarray(w, float)[order]
    cw = (np.cumsum(w) - 0.5 * w) / np.sum(w)
    return float(np.interp(q, cw, x))


def intervals(post: pd.DataFrame, level: float = 0.9) -> dict[str, dict[str, float]]:
    """Weighted mean, median and central ``level`` interval of each parameter (posterior)."""
    p = final(post)
    w = p["weight"].to_numpy()
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    return {k: {"mean": float(np.average(p[k], weights=w)),
                "median": weighted_quantile(p[k].to_numpy(), w, 0.5),
                f"q{lo:.3g}": weighted_quantile(p[k].to_numpy(), w, lo),
                f"q{hi:.3g}": weighted_quantile(p[k].to_numpy(), w, hi)}
            for k in parameter_columns(p)}


def point_estimate(post: pd.DataFrame, kind: str, factors: list[Any]) -> dict[str, Any]:
    """``median``: each parameter's weighted posterior median (integer parameters rounded);
    ``map``: the particle with the highest weighted Gaussian-kernel density of the posterior,
    estimated on the unit cube of the priors (log scale for log-uniform ones)."""
    p = final(post)
    keys = parameter_columns(p)
    w = p["weight"].to_numpy()
    if kind == "median":
        est = {k: weighted_quantile(p[k].to_numpy(), w, 0.5) for k in keys}
    else:
        from scipy.stats import gaussian_kde

        unit = np.column_stack([_to_unit(f, p[f.key].to_numpy()) for f in factors])
        if len(p) > len(keys) + 1 and np.all(unit.std(axis=0) > 0):
            dens = gaussian_kde(unit.T, weights=w)(unit.T)
            best = int(np.argmax(dens))
        else:  # too few distinct particles for a density: the heaviest one
            best = int(np.argmax(w))
        est = {k: p[k].iloc[best] for k in keys}
    ints = {f.key for f in factors if f.integer}
    return {k: int(round(v)) if k in ints else float(v) for k, v in est.items()}


def posterior_shift(post: pd.DataFrame, factors: list[Any],
                    quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """How far the sample moved from one generation to the next: for each generation after the
    first, the largest change of any parameter's weighted 5%, 50% or 95% quantile, as a share of
    its prior's width (on the log scale for log-uniform priors), and the parameter that moved
    most. A fit whose posterior still moves by a sizeable share of a prior at its last
    generation has not settled, whatever its effective sample size."""
    gens = sorted(post["generation"].unique())
    rows, prev = [], None
    for t in gens:
        cur = _unit_quantiles(post[post["generation"] == t], factors, quantiles)
        if prev is not None:
            moved = np.abs(cur - prev).max(axis=1)
            i = int(np.argmax(moved))
            rows.append({"generation": int(t), "posterior_shift": float(moved[i]),
                         "posterior_shift_parameter": factors[i].key})
        prev = cur
    return pd.DataFrame(rows, columns=["generation", "posterior_shift",
                                       "posterior_shift_parameter"])


def fit_agreement(a: pd.DataFrame, b: pd.DataFrame, factors: list[Any]) -> pd.DataFrame:
    """Two fits of one calibration file with different root seeds (replicates), compared
    parameter by parameter: each posterior's weighted median and 90% interval (``intervals``),
    and the largest difference between their 5%, 50% and 95% quantiles as a share of the
    prior's width (log scale for log-uniform priors; the measure of :func:`posterior_shift`).
    What replicates agree on is what the data say; what differs is the run's."""
    q = (0.05, 0.5, 0.95)
    moved = np.abs(_unit_quantiles(final(a), factors, q) - _unit_quantiles(final(b), factors, q))
    ia, ib = intervals(a), intervals(b)
    return pd.DataFrame([{"parameter": f.key,
                          **{f"{k}_a": ia[f.key][k] for k in ("q0.05", "median", "q0.95")},
                          **{f"{k}_b": ib[f.key][k] for k in ("q0.05", "median", "q0.95")},
                          "difference": float(d)}
                         for f, d in zip(factors, moved.max(axis=1), strict=True)])


def _unit_quantiles(g: pd.DataFrame, factors: list[Any], quantiles: tuple[float, ...]
                    ) -> np.ndarray:
    """Weighted quantiles of each parameter of sample ``g``, on its prior's unit scale."""
    w = g["weight"].to_numpy()
    return np.array([[weighted_quantile(_to_unit(f, g[f.key].to_numpy()), w, q)
                      for q in quantiles] for f in factors])


def _to_unit(f: Any, x: np.ndarray) -> np.ndarray:
    if f.log:
        return (np.log(x) - np.log(f.low)) / (np.log(f.high) - np.log(f.low))
    return (x - f.low) / (f.high - f.low)


def posterior_draws(post: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` parameter sets resampled from the posterior by weight (with replacement)."""
    p = final(post)
    rng = np.random.default_rng(seed)
    w = p["weight"].to_numpy()
    idx = rng.choice(len(p), size=n, replace=True, p=w / w.sum())
    return p.loc[idx, parameter_columns(p)].reset_index(drop=True)


# --------------------------------------------------------------------------- calibrated.toml


def calibrated_scenario(base_data: dict, fixed: dict[str, Any], estimate: dict[str, Any],
                        header: str) -> str:
    """The base scenario with the fixed overrides and the point estimate applied, as TOML,
    preceded by a comment header."""
    import tomli_w

    from ..config import build_config, set_path

    data = json.loads(json.dumps(base_data))  # a deep copy of plain TOML data
    for k, v in {**fixed, **estimate}.items():
        set_path(data, k, v)
    build_config(data)  # the written scenario must load
    body = tomli_w.dumps(data)
    return "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) \
        + "\n" + body


# --------------------------------------------------------------------------- sweep designs


def resolve_calibration_dir(name: str, relative_to: Path) -> Path:
    """A calibration result directory named in an experiment: relative to the experiment
    file, else to the working directory."""
    for cand in (relative_to / name, Path(name)):
        if (cand / POSTERIOR_FILE).is_file():
            return cand.resolve()
    raise FileNotFoundError(f"no calibration result ({POSTERIOR_FILE}) in {relative_to / name} "
                            f"or {Path(name).resolve()}; run `sim calibrate` first")


def posterior_design(calibration_dir: Path, n: int, root_seed: int) -> pd.DataFrame:
    """Design table of a posterior sweep: ``n`` posterior draws (one design point each), drawn
    with a seed derived from the experiment's root seed."""
    from .abc import draw_seed

    return posterior_draws(_one_model_posterior(calibration_dir), n, draw_seed(root_seed, 2))


def _one_model_posterior(calibration_dir: Path) -> pd.DataFrame:
    """The stored posterior sample of a calibration of one model (not a model choice)."""
    post = pd.read_parquet(calibration_dir / POSTERIOR_FILE)
    if "model" in post.columns:
        raise ValueError(f"{calibration_dir} is a model choice, whose posterior mixes models; "
                         "name one model's directory (models/NAME) and set that model's "
                         "overrides in the experiment")
    return post


def posterior_ranges(calibration_dir: Path, factors: dict[str, Any]) -> dict[str, Any]:
    """Factors of a continuous design with ``{ posterior = LEVEL }`` given the central ``LEVEL``
    interval of the calibration's posterior as their ``range`` (the other keys of the factor,
    ``log`` or ``integer``, kept; an integer range widened to whole numbers). Factors without
    it are returned as given. Why: a sensitivity analysis over a fitted world should vary a
    fitted parameter over what the data left uncertain, not over its prior."""
    post = final(_one_model_posterior(calibration_dir))
    w = post["weight"].to_numpy()
    out: dict[str, Any] = {}
    for key, spec in factors.items():
        if not (isinstance(spec, dict) and "posterior" in spec):
            out[key] = spec
            continue
        level = spec["posterior"]
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
            raise ValueError(f"factor {key!r}: posterior must be an interval level between 0 "
                             f"and 1 (exclusive), e.g. 0.95; got {level!r}")
        if key not in post.columns:
            raise ValueError(f"factor {key!r}: not a parameter of the calibration in "
                             f"{calibration_dir} (its parameters: "
                             f"{', '.join(parameter_columns(post))})")
        x = post[key].to_numpy(dtype=float)
        lo, hi = (weighted_quantile(x, w, q) for q in ((1 - level) / 2, (1 + level) / 2))
        if spec.get("integer"):
            lo, hi = float(np.floor(lo)), float(np.ceil(hi))
        if not lo < hi:
            raise ValueError(f"factor {key!r}: the posterior's {level:g} interval is a single "
                             f"value ({lo:g}); fix the parameter with an override instead")
        out[key] = {**{k: v for k, v in spec.items() if k != "posterior"}, "range": [lo, hi]}
    return out


def posterior_digest(calibration_dir: Path) -> bytes:
    """Bytes that change when the calibration result does (a sweep's runs depend on it)."""
    import hashlib

    return hashlib.sha256((calibration_dir / POSTERIOR_FILE).read_bytes()).hexdigest().encode()


def read_summary(calibration_dir: Path) -> dict[str, Any]:
    return json.loads((calibration_dir / SUMMARY_FILE).read_text())


def predictive_interval(pred: pd.DataFrame, statistic: str, observed: float
                        ) -> dict[str, Any] | None:
    """How the posterior-predictive draws of one statistic compare with its observed value:
    mean, median, 90% interval, whether the observation lies inside, undefined draws (None if
    no draw defines it)."""
    if not len(pred):
        return None
    x = pred[statistic].to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return None
    lo, hi = np.quantile(x, [0.05, 0.95])
    return {"mean": float(x.mean()), "median": float(np.median(x)), "q0.05": float(lo),
            "q0.95": float(hi), "observed_inside_90pct": bool(lo <= observed <= hi),
            "undefined_draws": int(len(pred) - len(x))}

