"""Approximate Bayesian computation (ABC-SMC) with pyabc: the inference behind ``sim calibrate``.

Why pyabc: a simulator whose likelihood is intractable is calibrated by comparing simulated and
observed summary statistics; pyabc (Schälte et al. 2022, JOSS 7:4304) implements the sequential
Monte Carlo form of it (Toni et al. 2009; Beaumont et al. 2009) with adaptive distances (Prangle
2017), adaptive acceptance thresholds, a SQLite history of every finished generation, and
samplers for local processes and Dask clusters. This module adds only what the simulator needs:
priors on the unit cube, statistics that may be undefined, and seeds.

**Seeds.** A simulation's seed is a function of the calibration's root seed and the parameter
values it is run at (:func:`simulation_seed`), not of the order in which workers pick up
particles: the same parameters give the same run on any worker, process or machine. The
sampler's own draws (proposals from the prior and the perturbation kernel) use numpy's global
generator; before each ``run`` it is seeded from ``(root seed, first generation to run)``, so a
calibration on one worker process (``workers = 1``) is reproducible draw for draw, a resumed one
included. With several processes or a Dask cluster, pyabc reseeds each worker from the operating
system and the order in which particles finish depends on timing: the posterior is then a
different (equally valid) sample on each run, while every single simulation stays reproducible
from its parameters.

**Model choice.** With several competing models (:class:`Candidate`) the same sampler runs
ABC-SMC model selection (Toni et al. 2009, Section 2.3; pyabc's list of models): a particle is a
model index and that model's parameters, the model index is perturbed by pyabc's model kernel
(stay with probability 0.7), and each generation's weights summed per model estimate the
posterior model probabilities. A model may have no free parameters, so here a simulation's seed
cannot be a function of its parameters alone: it also hashes the model's name and a draw from
numpy's global generator (the sampler's generator, seeded as above), and the draw is stored with
the particle's statistics (:data:`DRAW_KEY`) so that every simulation can still be rerun.

**Proposals.** ``prior_share`` > 0 replaces pyabc's perturbation kernel by the same kernel
mixed with the prior (:mod:`sim.calibration.proposal`): with fourteen parameters the plain
kernel leaves a handful of particles with all the weight. Either kernel is fitted on equal
weights when the weights have collapsed onto a single particle (pyabc's own would fail).

**Resuming.** pyabc stores each generation in the database when it is complete. A killed
calibration is resumed by ``ABCSMC.load`` from the last finished generation; the simulations of
the generation in progress when it was killed are lost (at most one generation's work).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..designs import Factor

Simulator = Callable[[dict[str, Any], int], dict[str, float]]
"""(parameter values in config units, seed) -> {statistic: value}."""

_SIM_STREAM, _SAMPLER_STREAM, _DRAW_STREAM = 0, 1, 2

DRAW_KEY = "_draw"
"""Model choice: the statistic under which a simulation's seed draw is stored (not a target;
the distance only compares the observed statistics)."""


def simulation_seed(root_seed: int, values: dict[str, Any]) -> int:
    """The seed of the simulation at ``values``: SHA-256 of the values (exact float reprs, keys
    sorted) and the root seed, through numpy's SeedSequence; ``0 <= seed < 2**63``."""
    text = json.dumps({k: repr(v) for k, v in sorted(values.items())})
    h = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return stream_seed(root_seed, _SIM_STREAM, h)


def stream_seed(root_seed: int, *key: int) -> int:
    """A seed for a named stream of the calibration (SeedSequence spawn key), < 2**63."""
    state = np.random.SeedSequence(int(root_seed), spawn_key=tuple(int(k) for k in key))
    return int(state.generate_state(1, np.uint64)[0]) >> 1


def draw_seed(root_seed: int, purpose: int) -> int:
    """Seeds for draws made after the inference (predictive check, sweep designs)."""
    return stream_seed(root_seed, _DRAW_STREAM, purpose)


def _pname(i: int) -> str:
    return f"p{i}"


class PyabcModel:
    """The callable pyabc simulates: unit-cube parameters -> statistics. Picklable (for Dask)
    as long as the simulator is."""

    def __init__(self, factors: list[Factor], simulate: Simulator, root_seed: int,
                 statistics: list[str]) -> None:
        self.factors = factors
        self.simulate = simulate
        self.root_seed = root_seed
        self.statistics = statistics

    def values(self, pars: dict[str, float]) -> dict[str, Any]:
        from .spec import values_of

        unit = np.array([[pars[_pname(i)] for i in range(len(self.factors))]])
        return values_of(self.factors, unit)[0]

    def __call__(self, pars: dict[str, float]) -> dict[str, float]:
        values = self.values(pars)
        stats = self.simulate(values, simulation_seed(self.root_seed, values))
        return {k: float(stats[k]) for k in self.statistics}


class ChoiceModel(PyabcModel):
    """One competing model of a model choice: as :class:`PyabcModel`, but each simulation's
    seed also hashes the model's name and a fresh draw (see the module docstring), which is
    returned with the statistics."""

    def __init__(self, name: str, factors: list[Factor], simulate: Simulator, root_seed: int,
                 statistics: list[str]) -> None:
        super().__init__(factors, simulate, root_seed, statistics)
        self.name = name

    def __call__(self, pars: dict[str, float]) -> dict[str, float]:
        values = self.values(pars) if self.factors else {}
        draw = int(np.random.randint(0, 2**53, dtype=np.int64))  # noqa: NPY002 - pyabc's stream
        stats = self.simulate(values, choice_seed(self.root_seed, self.name, values, draw))
        return {**{k: float(stats[k]) for k in self.statistics}, DRAW_KEY: float(draw)}


def choice_seed(root_seed: int, model: str, values: dict[str, Any], draw: int) -> int:
    """The seed of a model-choice simulation: :func:`simulation_seed` of the parameter values,
    the model's name and the draw stored with it (``DRAW_KEY``)."""
    return simulation_seed(root_seed, {**values, "\0model": model, "\0draw": int(draw)})


def nan_mad(*, samples: np.ndarray, **kwargs: Any) -> np.ndarray:  # noqa: ARG001 - pyabc API
    """Median absolute deviation ignoring undefined statistics (NaN), the scale of an adaptive
    distance; pyabc's own uses ``np.median``, which one NaN would poison."""
    med = np.nanmedian(samples, axis=0)
    return np.nanmedian(np.abs(samples - med), axis=0)


def nan_cmad(*, samples: np.ndarray, s0: np.ndarray, **kwargs: Any) -> np.ndarray:  # noqa: ARG001
    """The scale of a robust adaptive distance: the median absolute deviation plus the median
    absolute deviation from the observed value (Schälte et al. 2022, "Robust adaptive distance
    functions for approximate Bayesian inference on outlier-corrupted data"; pyabc's ``cmad``),
    ignoring NaN. A target the simulations all miss by far gets a large scale and so a small
    weight, instead of a near-zero spread making its noise dominate the distance."""
    return nan_mad(samples=samples) + np.nanmedian(np.abs(samples - s0), axis=0)


@dataclass
class Candidate:
    """A competing model: its free parameters (unit-cube factors; possibly none), simulator and
    prior probability."""

    name: str
    factors: list[Factor]
    simulate: Simulator
    probability: float


@dataclass
class Problem:
    """What to infer: priors (as unit-cube factors), observed statistics and their scales."""

    factors: list[Factor]
    observed: dict[str, float]
    scales: dict[str, float]
    simulate: Simulator
    root_seed: int = 1
    population_size: int = 100
    generations: int = 8
    minimum_epsilon: float = 0.0
    max_simulations: int | None = None
    distance: str = "adaptive"
    prior_share: float = 0.0
    """Share of proposals drawn from the prior (0: pyabc's kernel alone)."""
    meta: dict[str, Any] = field(default_factory=dict)
    models: list[Candidate] = field(default_factory=list)
    """Model choice when not empty (``factors`` and ``simulate`` are then unused)."""


@dataclass
class AbcRun:
    history: Any           # pyabc.History
    resumed_from: int      # first generation run by this call (0: a fresh calibration)
    generations_run: int   # generations completed by this call


def _distance(problem: Problem) -> Any:
    import pyabc

    weights = {k: 1.0 / s for k, s in problem.scales.items()}
    if problem.distance in ("adaptive", "robust"):
        scale = nan_cmad if problem.distance == "robust" else nan_mad
        return pyabc.AdaptivePNormDistance(p=2, scale_function=scale,
                                           initial_scale_weights=weights)
    return pyabc.PNormDistance(p=2, fixed_weights=weights)


def make_sampler(workers: int = 1, scheduler: str | None = None) -> Any:
    """One process (reproducible), several local processes, or a Dask cluster."""
    import pyabc

    _quiet()
    if scheduler:
        from distributed import Client

        return pyabc.sampler.DaskDistributedSampler(dask_client=Client(scheduler))
    if workers <= 1:
        return pyabc.sampler.SingleCoreSampler()
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers)


def _quiet() -> None:
    import logging

    for name in ("ABC", "Sampler", "Epsilon", "Distance", "History", "Acceptor", "Transition",
                 "Population"):
        logging.getLogger(name).setLevel(logging.WARNING)
        logging.getLogger(f"ABC.{name}").setLevel(logging.WARNING)


def stored_run_id(db: Path) -> int | None:
    """The id of the calibration stored in ``db`` (the latest), or None for a new database."""
    if not db.is_file():
        return None
    import pyabc

    h = pyabc.History(f"sqlite:///{db}", create=False)
    runs = h.all_runs()
    return int(runs[-1].id) if runs else None


def run_abc(problem: Problem, db: str | Path, sampler: Any | None = None) -> AbcRun:
    """Run, or resume, the ABC-SMC calibration stored in the SQLite file ``db``.

    A database holding a run continues it from its last finished generation up to
    ``problem.generations`` in all (the stopping rules count the stored generations and
    simulations too); otherwise a new run starts."""
    import pyabc

    _quiet()
    db = Path(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    stats = list(problem.observed)
    if problem.models:
        models: Any = [ChoiceModel(c.name, c.factors, c.simulate, problem.root_seed, stats)
                       for c in problem.models]
        priors: Any = [_unit_prior(len(c.factors)) for c in problem.models]
        probs = np.array([c.probability for c in problem.models], dtype=float)
        extra = {"model_prior": pyabc.RV("rv_discrete", values=(np.arange(len(probs)),
                                                                probs / probs.sum()))}
    else:
        models = PyabcModel(problem.factors, problem.simulate, problem.root_seed, stats)
        priors = _unit_prior(len(problem.factors))
        extra = {}
    from .proposal import CollapseSafeKernel, DefensiveTransition

    share = problem.prior_share

    def kernel() -> Any:
        return DefensiveTransition(share) if share > 0 else CollapseSafeKernel()

    extra["transitions"] = [kernel() for _ in problem.models] if problem.models else kernel()
    abc = pyabc.ABCSMC(models, priors, _distance(problem),
                       population_size=problem.population_size,
                       sampler=sampler or make_sampler(1), **extra)
    url = f"sqlite:///{db}"
    run_id = stored_run_id(db)
    if run_id is None:
        abc.new(url, dict(problem.observed), meta_info=problem.meta)
        t0 = 0
    else:
        history = abc.load(url, run_id)
        t0 = history.max_t + 1
        if _finished(problem, history):
            return AbcRun(history, t0, 0)
    remaining = problem.generations - t0
    if remaining <= 0:
        return AbcRun(abc.history, t0, 0)
    # pyabc draws proposals from numpy's global generator (and reseeds it in its workers)
    np.random.seed(stream_seed(problem.root_seed, _SAMPLER_STREAM, t0) % 2**32)  # noqa: NPY002
    history = abc.run(minimum_epsilon=problem.minimum_epsilon, max_nr_populations=remaining,
                      max_total_nr_simulations=problem.max_simulations or np.inf)
    return AbcRun(history, t0, history.max_t + 1 - t0)


def _unit_prior(n: int) -> Any:
    import pyabc

    return pyabc.Distribution(**{_pname(i): pyabc.RV("uniform", 0.0, 1.0) for i in range(n)})


def _finished(problem: Problem, history: Any) -> bool:
    """Whether a stored run already met a stopping rule (so a resume has nothing to do)."""
    if history.max_t < 0:
        return False
    pops = history.get_all_populations()
    last_eps = float(pops.loc[pops["t"] == history.max_t, "epsilon"].iloc[0])
    if last_eps <= problem.minimum_epsilon:
        return True
    return bool(problem.max_simulations
                and history.total_nr_simulations >= problem.max_simulations)


def posterior_frame(history: Any, factors: list[Factor], m: int = 0) -> pd.DataFrame:
    """Every generation's particles (of model ``m``, in model choice) in config units: one column
    per parameter, ``weight`` (normalised within a generation) and ``generation``; the last
    generation is the posterior. Generations in which the model has no particles are left out."""
    from .spec import values_of

    frames = []
    for t in range(history.max_t + 1):
        df, w = history.get_distribution(m=m, t=t)
        if len(w) == 0:
            continue
        unit = df[[_pname(i) for i in range(len(factors))]].to_numpy()
        vals = pd.DataFrame(values_of(factors, unit))
        vals["weight"] = np.asarray(w, dtype=float) / float(np.sum(w))
        vals["generation"] = t
        frames.append(vals)
    if not frames:
        return pd.DataFrame(columns=[f.key for f in factors] + ["weight", "generation"])
    return pd.concat(frames, ignore_index=True)


def model_table(history: Any, names: list[str], prior: list[float]) -> pd.DataFrame:
    """Model choice, one row per generation and model: the posterior model probability
    (pyabc's: the generation's importance weights summed per model), the particles the model
    has, and ``se``, a rough Monte Carlo standard error ``sqrt(p (1 - p) / ESS)`` with the
    effective sample size of the whole generation's weights (Kish); it ignores the dependence
    between generations and the bias of a non-zero threshold. Generation ``-1`` holds the prior
    probabilities (nothing simulated)."""
    probs = history.get_model_probabilities()
    rows = [{"generation": -1, "model": n, "probability": float(p), "particles": math.nan,
             "se": 0.0} for n, p in zip(names, prior, strict=True)]
    for t in range(history.max_t + 1):
        ps, ws = [], []
        for m in range(len(names)):
            p = float(probs.loc[t, m]) if (t in probs.index and m in probs.columns) else 0.0
            p = 0.0 if not math.isfinite(p) else p
            wm = np.asarray(history.get_weighted_sum_stats_for_model(m=m, t=t)[0]
                            if p > 0 else [], dtype=float)
            ps.append(p)
            ws.append(p * wm / wm.sum() if len(wm) else wm)
        w = np.concatenate(ws)  # stored weights are normalised within each model
        ess = kish(w)
        for n, p, wm in zip(names, ps, ws, strict=True):
            rows.append({"generation": t, "model": n, "probability": p,
                         "particles": float(len(wm)),
                         "se": math.sqrt(p * (1 - p) / ess) if ess > 0 else math.nan})
    return pd.DataFrame(rows)


def kish(w: Any) -> float:
    """Kish's effective sample size of importance weights: (sum w)^2 / sum w^2."""
    w = np.asarray(w, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum()) if len(w) else math.nan


def generations_table(history: Any) -> pd.DataFrame:
    """Per generation: acceptance threshold, simulations, accepted particles, acceptance rate,
    effective sample size of the importance weights (Kish: (sum w)^2 / sum w^2; far below the
    particle count means a few particles carry the posterior) and wall time (pyabc's record).
    Generation -1, when present, is the sample from the prior that an adaptive distance and
    threshold are first fitted to (counted in the simulations, nothing accepted). With an
    adaptive distance the thresholds of different generations are in differently weighted units
    and need not decrease."""
    pops = history.get_all_populations()
    out = pd.DataFrame({
        "generation": pops["t"].astype(int),
        "epsilon": pops["epsilon"].astype(float),
        "simulations": pops["samples"].astype(int),
        "accepted": pops["particles"].fillna(0).astype(int),
        "wall_time_seconds": pops["wall_time"].astype(float),
    })
    out["acceptance_rate"] = [a / s if s else math.nan
                              for a, s in zip(out["accepted"], out["simulations"], strict=True)]
    out["effective_sample_size"] = [kish(history.get_weighted_distances(t)["w"].to_numpy())
                                    if t >= 0 else math.nan for t in out["generation"]]
    prior_sample = out["generation"] < 0  # simulations that fit the first distance, none kept
    out["accepted"] = out["accepted"].astype(float).mask(prior_sample)
    out["acceptance_rate"] = out["acceptance_rate"].mask(prior_sample)
    return out
