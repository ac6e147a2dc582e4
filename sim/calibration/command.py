"""``sim calibrate CALIB.toml``: fit a scenario's uncertain parameters to observed figures.

(A file with ``[models.NAME]`` tables chooses between competing models instead:
:mod:`sim.calibration.choice`, same output directory layout.)

Runs (or resumes) the ABC-SMC inference of :mod:`sim.calibration.abc` on the model and writes
into the output directory:

- ``abc.db``: pyabc's SQLite history (every finished generation; what makes a rerun resume);
- ``posterior.parquet``: the particles of every generation (parameters in config units,
  ``weight``, ``generation``); the last generation is the posterior;
- ``predictive.parquet``: the target statistics simulated at posterior draws (fresh seeds);
- ``figures/marginals.png``, ``figures/pairs.png``, ``figures/predictive.png``;
- ``calibrated.toml``: the base scenario with the posterior point estimate (median or MAP, as
  its header says);
- ``calibration.json``: targets, priors, posterior intervals, acceptance and threshold per
  generation, simulations run and wall time.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import ConfigError, build_config
from ..output import write_json, write_table
from ..provenance import library_versions
from ..threads import set_threads
from .abc import (
    Problem,
    generations_table,
    kish,
    make_sampler,
    posterior_frame,
    run_abc,
    stream_seed,
)
from .posterior import (
    POSTERIOR_FILE,
    PREDICTIVE_FILE,
    SUMMARY_FILE,
    calibrated_scenario,
    final,
    intervals,
    point_estimate,
    posterior_draws,
    posterior_shift,
    predictive_interval,
)
from .spec import LoadedCalibration, load_calibration, statistic

STATE_FILE = "state.json"
DB_FILE = "abc.db"
_PREDICTIVE_STREAM = 3

REPRODUCIBILITY = (
    "Every simulation's seed is a function of the root seed and its parameter values "
    "(sim.calibration.abc.simulation_seed), so each simulation is reproducible alone. With one "
    "worker process the sampler's draws are seeded from the root seed (per resumed start) and "
    "the whole calibration is reproducible draw for draw; with several processes or a Dask "
    "cluster the order in which particles finish depends on timing, so the posterior sample "
    "differs between runs (a different, equally valid sample). Predictive draws and their seeds "
    "derive from the root seed alone and are reproducible given the posterior sample.")


class ModelSimulator:
    """The simulator the inference calls: parameter values and a seed -> target statistics.
    Holds only plain data, so it pickles to worker processes and Dask workers."""

    def __init__(self, base_data: dict, fixed: dict[str, Any], origin: str,
                 statistics: list[str]) -> None:
        self.base_data = base_data
        self.fixed = fixed
        self.origin = origin
        self.statistics = statistics

    def __call__(self, values: dict[str, Any], seed: int) -> dict[str, float]:
        from ..runner import run as run_model

        cfg = build_config(self.base_data, {**self.fixed, **values, "run.seed": int(seed)},
                           origin=self.origin)
        summary = run_model(cfg).summary
        return {k: statistic(summary, k) for k in self.statistics}


def simulator_of(loaded: LoadedCalibration) -> ModelSimulator:
    return ModelSimulator(loaded.base_data, loaded.fixed_overrides(), str(loaded.path),
                          [t.statistic for t in loaded.spec.targets])


def problem_of(loaded: LoadedCalibration, simulate: Callable | None = None) -> Problem:
    inf = loaded.spec.inference
    return Problem(loaded.factors, loaded.observed(), loaded.scales(),
                   simulate or simulator_of(loaded), root_seed=inf.root_seed,
                   population_size=inf.population_size, generations=inf.generations,
                   minimum_epsilon=inf.minimum_epsilon, max_simulations=inf.max_simulations,
                   distance=inf.distance, prior_share=inf.prior_share,
                   meta={"calibration": loaded.spec.name, "sha256": loaded.sha256})


def _prepare_out(out: Path, loaded: LoadedCalibration, restart: bool) -> None:
    """Refuse to resume a different calibration into the same directory."""
    state = out / STATE_FILE
    if restart and out.exists():
        for name in (DB_FILE, STATE_FILE):
            (out / name).unlink(missing_ok=True)
    if state.is_file():
        old = json.loads(state.read_text())
        if old.get("sha256") != loaded.sha256:
            raise ConfigError(
                f"{out}: holds a calibration of another file (or of an earlier version of "
                f"{loaded.path}); resume needs the same file. Use --restart to start over, or "
                "another --out")
    elif (out / DB_FILE).exists():
        raise ConfigError(f"{out}: has {DB_FILE} but no {STATE_FILE}; use --restart or "
                          "another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_json(state, {"sha256": loaded.sha256, "calibration": str(loaded.path)})


def _run_predictive(simulate: ModelSimulator, draws: pd.DataFrame, seeds: list[int],
                    workers: int, scheduler: str | None) -> list[dict[str, float]]:
    points = draws.to_dict("records")
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        try:
            return client.gather(client.map(simulate, points, seeds, pure=False))
        finally:
            client.close()
    if workers > 1 and len(points) > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"),
                                 initializer=set_threads, initargs=(1,)) as ex:
            return list(ex.map(simulate, points, seeds))
    return [simulate(p, s) for p, s in zip(points, seeds, strict=True)]


def _replace(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def calibrate(path: str | Path, out: str | Path, *, workers: int = 1,
              scheduler: str | None = None, restart: bool = False, seed: int | None = None,
              echo: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Run or resume the calibration in ``path`` (with root seed ``seed`` in place of the
    file's, if given), write every output into ``out``, and return the summary (also written
    as calibration.json)."""
    t_start = time.perf_counter()
    loaded = load_calibration(path, seed=seed)  # refuses a bad file before anything runs
    out = Path(out)
    _prepare_out(out, loaded, restart)
    if loaded.spec.models:
        from .choice import choose

        return choose(loaded, out, workers=workers, scheduler=scheduler, echo=echo,
                      t_start=t_start)
    inf = loaded.spec.inference
    problem = problem_of(loaded)
    sampler = make_sampler(workers, scheduler)
    sampler.show_progress = False
    where = f"Dask scheduler {scheduler}" if scheduler else \
        f"{workers} worker process{'es' if workers > 1 else ''}"
    echo(f"{loaded.spec.name}: {len(loaded.factors)} parameters, {len(loaded.spec.targets)} "
         f"targets, population {inf.population_size}, up to {inf.generations} generations "
         f"({where})")
    abc_run = run_abc(problem, out / DB_FILE, sampler)
    history = abc_run.history
    if history.max_t < 0:
        raise ConfigError(f"{out}: no generation finished (max_simulations too small?)")
    if abc_run.resumed_from:
        echo(f"resumed after generation {abc_run.resumed_from - 1}; ran "
             f"{abc_run.generations_run} more")
    t_abc = time.perf_counter() - t_start

    post = posterior_frame(history, loaded.factors)
    _replace(out / POSTERIOR_FILE, lambda p: write_table(p, post))
    gens = generations_table(history).merge(posterior_shift(post, loaded.factors),
                                            on="generation", how="left")

    # posterior-predictive check: fresh seeds, draws by weight
    n_pred = inf.predictive_draws
    draws = posterior_draws(post, n_pred, stream_seed(inf.root_seed, _PREDICTIVE_STREAM, 0))
    seeds = [stream_seed(inf.root_seed, _PREDICTIVE_STREAM, 1, i) for i in range(n_pred)]
    t0 = time.perf_counter()
    checked = ModelSimulator(loaded.base_data, loaded.fixed_overrides(), str(loaded.path),
                             [t.statistic for t in loaded.spec.targets + loaded.spec.holdouts])
    stats = _run_predictive(checked, draws, seeds, workers, scheduler) \
        if n_pred else []
    t_pred = time.perf_counter() - t0
    pred = pd.concat([draws, pd.DataFrame({"seed": seeds}), pd.DataFrame(stats)], axis=1) \
        if n_pred else pd.DataFrame()
    _replace(out / PREDICTIVE_FILE, lambda p: write_table(p, pred))

    estimate = point_estimate(post, inf.estimate, loaded.factors)
    what = ("the weighted posterior median of each parameter" if inf.estimate == "median"
            else "the posterior's maximum a posteriori particle (kernel density estimate)")
    header = (f"Calibrated scenario written by `sim calibrate {loaded.path.name}`.\n"
              f"Base: {loaded.spec.base}, with the calibration's fixed overrides and world size,"
              f"\nand the uncertain parameters set to {what}:\n"
              + "".join(f"  {k} = {v}\n" for k, v in estimate.items())
              + "Targets: " + ", ".join(t.statistic for t in loaded.spec.targets) + ".\n"
              "The posterior sample (posterior.parquet) carries the uncertainty this single "
              "point hides;\nrerun experiments over it with a [design] kind = \"posterior\" "
              "sweep.")
    text = calibrated_scenario(loaded.base_data, loaded.fixed_overrides(), estimate, header)
    _replace(out / "calibrated.toml", lambda p: p.write_text(text))

    from .figures import marginals_figure, pairs_figure, predictive_figure

    figs = out / "figures"
    figs.mkdir(exist_ok=True)
    marginals_figure(post, loaded.factors, figs / "marginals.png")
    pairs_figure(post, loaded.factors, figs / "pairs.png")
    if n_pred:
        predictive_figure(pred, loaded.spec.targets, figs / "predictive.png",
                          holdouts=loaded.spec.holdouts)

    summary = _summary(loaded, post, gens, pred, estimate, history, abc_run, where,
                       wall=time.perf_counter() - t_start, t_abc=t_abc, t_pred=t_pred)
    _replace(out / SUMMARY_FILE, lambda p: write_json(p, summary))
    return summary


def _summary(loaded: LoadedCalibration, post: pd.DataFrame, gens: pd.DataFrame,
             pred: pd.DataFrame, estimate: dict[str, Any], history: Any, abc_run: Any,
             where: str, *, wall: float, t_abc: float, t_pred: float) -> dict[str, Any]:
    inf = loaded.spec.inference
    ints = intervals(post)
    checks: dict[str, list] = {"targets": [], "holdouts": []}
    for t, kind in [(t, "targets") for t in loaded.spec.targets] + [
            (t, "holdouts") for t in loaded.spec.holdouts]:
        row: dict[str, Any] = t.model_dump()
        if (check := predictive_interval(pred, t.statistic, t.observed)) is not None:
            row["predictive"] = check
        checks[kind].append(row)
    p = final(post)
    n_eff = kish(p["weight"])
    return {
        "name": loaded.spec.name,
        "calibration_file": str(loaded.path),
        "sha256": loaded.sha256,
        "base": loaded.spec.base,
        "fixed_overrides": loaded.fixed_overrides(),
        "method": "ABC-SMC (pyabc), distance " + inf.distance,
        "pyabc_version": version("pyabc"),
        "libraries": library_versions(),  # the draws can change with them
        "package_version": version("sim"),
        "sampler": where,
        "inference": inf.model_dump(),
        "parameters": {k: {"prior": pr.prior, "range": list(pr.range), **ints[k]}
                       for k, pr in loaded.spec.parameters.items()},
        "estimate_kind": inf.estimate,
        "estimate": estimate,
        "targets": checks["targets"],
        "holdouts": checks["holdouts"],
        "generations": json.loads(gens.to_json(orient="records")),
        "posterior_generation": int(p["generation"].iloc[0]),
        "posterior_particles": int(len(p)),
        "posterior_effective_sample_size": round(n_eff, 1),
        "simulations_abc": int(history.total_nr_simulations),
        "simulations_predictive": int(len(pred)),
        "resumed_from_generation": abc_run.resumed_from,
        "generations_run_now": abc_run.generations_run,
        "wall_time_seconds": round(wall, 2),
        "wall_time_abc_seconds": round(t_abc, 2),
        "wall_time_predictive_seconds": round(t_pred, 2),
        "abc_wall_time_all_sessions_seconds": round(float(gens["wall_time_seconds"].sum()), 2),
        "reproducibility": REPRODUCIBILITY,
    }
