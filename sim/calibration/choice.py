"""Model choice: which of several competing models do the observed figures favour?

A calibration file with two or more ``[models.NAME]`` tables runs ABC-SMC model selection
(Toni et al. 2009; Toni & Stumpf 2010) with pyabc's list of models, instead of fitting one
model: the particles are (model, parameters) pairs, and each generation's importance weights,
summed per model, estimate the posterior model probabilities at that generation's threshold.
The models share the file's priors over ``[parameters]`` (less those a model fixes) and its
targets, distance and inference settings; everything else (resumable history, seeds, local
processes or Dask) is :mod:`sim.calibration.abc`'s.

Outputs go to the same directory layout as a calibration (``abc.db``, ``state.json``,
``posterior.parquet`` with a ``model`` column, ``calibration.json``, ``figures/``), plus the
table ``model_probabilities.csv`` and figure ``figures/model_probabilities.png``, and per model
that still has particles in the last generation a calibration-style directory
``models/NAME/`` (its posterior, predictive check, figures and ``calibrated.toml``).

What the probabilities mean, and why they are only as good as the summary statistics (Robert
et al. 2011, PNAS 108:15112), is in docs/calibration.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import ConfigError
from ..output import write_json, write_table
from ..provenance import library_versions
from .abc import (
    Candidate,
    Problem,
    generations_table,
    kish,
    make_sampler,
    model_table,
    posterior_frame,
    run_abc,
    stream_seed,
)
from .posterior import (
    POSTERIOR_FILE,
    PREDICTIVE_FILE,
    SUMMARY_FILE,
    calibrated_scenario,
    intervals,
    point_estimate,
    posterior_draws,
    predictive_interval,
)
from .spec import LoadedCalibration

PROBABILITIES_FILE = "model_probabilities.csv"
MODELS_DIR = "models"
_PREDICTIVE_STREAM = 3
_MODEL_STREAM_OFFSET = 10  # predictive streams of model k: (3, 10 + k, ...)

REPRODUCIBILITY = (
    "Model choice: a simulation's seed hashes the root seed, the model's name, its parameter "
    "values and a draw from the sampler's generator stored with its statistics (_draw), so each "
    "simulation is reproducible alone. With one worker process the sampler's generator is "
    "seeded from the root seed and the whole run is reproducible draw for draw; with several "
    "processes or a Dask cluster the sample (and so the probabilities) differs between runs "
    "within its Monte Carlo error. Predictive draws and seeds derive from the root seed alone.")


def problem_of(loaded: LoadedCalibration,
               simulator: Callable[[str], Callable] | None = None) -> Problem:
    """The model-choice problem of a file; ``simulator(model)`` replaces the model's simulator
    (tests)."""
    from .command import problem_of as single

    base = single(loaded, simulate=lambda v, s: {})  # shared settings; simulate is unused
    make = simulator or (lambda m: simulator_of(loaded, m))
    probs = loaded.spec.model_probabilities()
    base.models = [Candidate(m, loaded.model_factors(m), make(m), probs[m])
                   for m in loaded.model_names]
    return base


def simulator_of(loaded: LoadedCalibration, model: str) -> Callable:
    from .command import ModelSimulator

    return ModelSimulator(loaded.base_data, loaded.fixed_overrides(model), str(loaded.path),
                          [t.statistic for t in loaded.spec.targets])


def choose(loaded: LoadedCalibration, out: Path, *, workers: int = 1,
           scheduler: str | None = None, echo: Callable[[str], None] = lambda s: None,
           t_start: float | None = None,
           simulator: Callable[[str], Callable] | None = None) -> dict[str, Any]:
    """Run or resume the model choice of ``loaded`` (its output directory already prepared),
    write every output into ``out`` and return the summary (also ``calibration.json``)."""
    from .command import DB_FILE, _replace, _run_predictive

    t_start = time.perf_counter() if t_start is None else t_start
    inf = loaded.spec.inference
    names = loaded.model_names
    problem = problem_of(loaded, simulator)
    prior = [c.probability for c in problem.models]
    sampler = make_sampler(workers, scheduler)
    sampler.show_progress = False
    where = f"Dask scheduler {scheduler}" if scheduler else \
        f"{workers} worker process{'es' if workers > 1 else ''}"
    echo(f"{loaded.spec.name}: model choice between {len(names)} models ("
         + ", ".join(f"{n}: {len(c.factors)} free parameters" for n, c in
                     zip(names, problem.models, strict=True))
         + f"), {len(loaded.spec.targets)} targets, population {inf.population_size}, up to "
         f"{inf.generations} generations ({where})")
    abc_run = run_abc(problem, out / DB_FILE, sampler)
    history = abc_run.history
    if history.max_t < 0:
        raise ConfigError(f"{out}: no generation finished (max_simulations too small?)")
    if abc_run.resumed_from:
        echo(f"resumed after generation {abc_run.resumed_from - 1}; ran "
             f"{abc_run.generations_run} more")
    t_abc = time.perf_counter() - t_start

    gens = generations_table(history)
    table = model_table(history, names, prior)
    wide = probability_table(table, gens)
    _replace(out / PROBABILITIES_FILE, lambda p: wide.to_csv(p, index=False))
    last = table[table["generation"] == history.max_t].set_index("model")

    frames, per_model = [], {}
    t0 = time.perf_counter()
    n_pred_total = 0
    for k, (name, cand) in enumerate(zip(names, problem.models, strict=True)):
        post = posterior_frame(history, cand.factors, m=k)
        if len(post):
            frames.append(post.assign(model=name))
        alive = float(last.loc[name, "probability"]) > 0
        info: dict[str, Any] = {
            "overrides": loaded.spec.models[name].overrides,
            "prior_probability": prior[k],
            "posterior_probability": float(last.loc[name, "probability"]),
            "posterior_probability_se": float(last.loc[name, "se"]),
            "particles_last_generation": int(last.loc[name, "particles"]),
            "free_parameters": [f.key for f in cand.factors],
        }
        if alive:
            info.update(_model_outputs(loaded, name, k, cand, post, out / MODELS_DIR / name,
                                       workers, scheduler, _run_predictive, _replace))
            n_pred_total += info.get("simulations_predictive", 0)
        else:
            gone = table[(table["model"] == name) & (table["probability"] > 0)
                         & (table["generation"] >= 0)]
            info["note"] = ("no particles in the last generation" + (
                f" (last had some in generation {int(gone['generation'].max())})"
                if len(gone) else " (none accepted in any generation)"))
        per_model[name] = info
    t_pred = time.perf_counter() - t0
    if frames:
        allpost = pd.concat(frames, ignore_index=True)
        _replace(out / POSTERIOR_FILE, lambda p: write_table(p, allpost))

    from .figures import model_probabilities_figure

    figs = out / "figures"
    figs.mkdir(exist_ok=True)
    model_probabilities_figure(table, gens, figs / "model_probabilities.png")

    best = max(per_model, key=lambda n: per_model[n]["posterior_probability"])
    pb = per_model[best]
    for info in per_model.values():
        odds = (info["posterior_probability"] / info["prior_probability"]) / \
            (pb["posterior_probability"] / pb["prior_probability"])
        info["bayes_factor_vs_most_probable"] = odds

    summary = {
        "name": loaded.spec.name,
        "calibration_file": str(loaded.path),
        "sha256": loaded.sha256,
        "base": loaded.spec.base,
        "fixed_overrides": loaded.fixed_overrides(),
        "method": "ABC-SMC model selection (pyabc), distance " + inf.distance,
        "pyabc_version": version("pyabc"),
        "libraries": library_versions(),  # the draws can change with them
        "package_version": version("sim"),
        "sampler": where,
        "inference": inf.model_dump(),
        "parameter_priors": {k: {"prior": p.prior, "range": list(p.range)}
                             for k, p in loaded.spec.parameters.items()},
        "targets": [t.model_dump() for t in loaded.spec.targets],
        "most_probable_model": best,
        "models": per_model,
        "model_probabilities": json.loads(table.to_json(orient="records")),
        "generations": json.loads(gens.to_json(orient="records")),
        "simulations_abc": int(history.total_nr_simulations),
        "simulations_predictive": n_pred_total,
        "resumed_from_generation": abc_run.resumed_from,
        "generations_run_now": abc_run.generations_run,
        "wall_time_seconds": round(time.perf_counter() - t_start, 2),
        "wall_time_abc_seconds": round(t_abc, 2),
        "wall_time_predictive_seconds": round(t_pred, 2),
        "abc_wall_time_all_sessions_seconds": round(float(gens["wall_time_seconds"].sum()), 2),
        "reproducibility": REPRODUCIBILITY,
        "caveat": ("Posterior model probabilities given the summary statistics (targets), not "
                   "given the data: unless the statistics are sufficient for the choice between "
                   "the models they can differ arbitrarily from the full-data ones (Robert et "
                   "al. 2011). At a non-zero threshold they are also biased towards the prior. "
                   "See docs/calibration.md."),
    }
    _replace(out / SUMMARY_FILE, lambda p: write_json(p, summary))
    return summary


def probability_table(table: pd.DataFrame, gens: pd.DataFrame) -> pd.DataFrame:
    """Wide table: one row per generation (``-1``: the prior), its threshold and simulations,
    and one column of posterior probability per model."""
    wide = table.pivot(index="generation", columns="model", values="probability")
    wide = wide[list(dict.fromkeys(table["model"]))]
    g = gens[gens["generation"] >= 0].set_index("generation")[["epsilon", "simulations"]]
    out = wide.join(g, how="left").reset_index()
    out["simulations"] = out["simulations"].astype("Int64")
    return out[["generation", "epsilon", "simulations", *wide.columns]]


def _model_outputs(loaded: LoadedCalibration, name: str, k: int, cand: Candidate,
                   post: pd.DataFrame, mdir: Path, workers: int, scheduler: str | None,
                   run_predictive: Callable, replace: Callable) -> dict[str, Any]:
    """A surviving model's calibration-style outputs in ``mdir``: posterior, predictive check,
    figures and calibrated.toml. Returns its summary entries."""
    from .figures import marginals_figure, pairs_figure, predictive_figure

    inf = loaded.spec.inference
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / "figures").mkdir(exist_ok=True)
    last_t = int(post["generation"].max()) if len(post) else None
    info: dict[str, Any] = {"directory": f"{MODELS_DIR}/{name}"}
    n = inf.predictive_draws
    if cand.factors:
        replace(mdir / POSTERIOR_FILE, lambda p: write_table(p, post))
        draws = posterior_draws(post, n, stream_seed(inf.root_seed, _PREDICTIVE_STREAM,
                                                     _MODEL_STREAM_OFFSET + k, 0))
        estimate = point_estimate(post, inf.estimate, cand.factors)
        info["parameters"] = intervals(post)
        info["estimate"] = estimate
        p_last = post[post["generation"] == last_t]
        info["posterior_effective_sample_size"] = round(kish(p_last["weight"]), 1)
        marginals_figure(post, cand.factors, mdir / "figures" / "marginals.png")
        pairs_figure(post, cand.factors, mdir / "figures" / "pairs.png")
    else:
        draws = pd.DataFrame(index=range(n))
        estimate = {}
    seeds = [stream_seed(inf.root_seed, _PREDICTIVE_STREAM, _MODEL_STREAM_OFFSET + k, 1, i)
             for i in range(n)]
    stats = run_predictive(simulator_of(loaded, name), draws, seeds, workers, scheduler) \
        if n else []
    pred = pd.concat([draws, pd.DataFrame({"seed": seeds}), pd.DataFrame(stats)], axis=1) \
        if n else pd.DataFrame()
    replace(mdir / PREDICTIVE_FILE, lambda p: write_table(p, pred))
    if n:
        predictive_figure(pred, loaded.spec.targets, mdir / "figures" / "predictive.png")
    info["simulations_predictive"] = len(pred)
    info["targets"] = _predictive_rows(loaded, pred)

    what = ("the weighted posterior median of each free parameter" if inf.estimate == "median"
            else "the posterior's maximum a posteriori particle (kernel density estimate)")
    header = (f"Model {name!r} of the model choice `sim calibrate {loaded.path.name}`.\n"
              f"Base: {loaded.spec.base}, with the fixed overrides, the world size and the "
              "model's own changes:\n"
              + "".join(f"  {a} = {b!r}\n" for a, b in loaded.spec.models[name].overrides.items())
              + (f"and its free parameters set to {what}:\n"
                 + "".join(f"  {a} = {b}\n" for a, b in estimate.items()) if estimate else
                 "(no free parameters).\n"))
    text = calibrated_scenario(loaded.base_data, loaded.fixed_overrides(name), estimate, header)
    replace(mdir / "calibrated.toml", lambda p: p.write_text(text))
    write_json(mdir / SUMMARY_FILE, {"name": f"{loaded.spec.name}:{name}", "model": name,
                                     "fixed_overrides": loaded.fixed_overrides(name),
                                     "posterior_generation": last_t, **info})
    return info


def _predictive_rows(loaded: LoadedCalibration, pred: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for t in loaded.spec.targets:
        row: dict[str, Any] = {"statistic": t.statistic, "observed": t.observed}
        if (check := predictive_interval(pred, t.statistic, t.observed)) is not None:
            row["predictive"] = check
        rows.append(row)
    return rows
