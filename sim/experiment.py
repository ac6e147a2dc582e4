"""An experiment: a base scenario, a design over config keys, replicates and outcomes, in TOML.

    name = "fluency"
    base = "spamouflage.toml"          # scenario file, relative to this file
    users = 5000                       # optional quick-run overrides of the base
    days = 4
    replicates = 5
    root_seed = 1
    paired_seeds = false               # true: replicate r has the same seed at every point
    outcomes = ["organic_engagements", "reported_engagements"]
    timeseries = false                 # true: also keep each run's per-tick ledgers
    [overrides]                        # fixed changes to the base, dotted keys
    "operation.hijack_fraction" = 0.0
    [design]
    kind = "grid"                      # grid|lhs|random|sobol|morris|scenarios|posterior
    n = 8                              # points (lhs, random), base size (sobol), trajectories
    [design.factors]
    "operation.fluency_mean" = [0.3, 0.8]
    # kind = "scenarios" instead takes named bundles of overrides, one design point each:
    # [design.scenarios.baseline]      # (no overrides: the base as is)
    # [design.scenarios.no_lag]
    # "operation.content_lag_hours" = 0
    [[figures]]                        # optional figure recipes, drawn by ``sim plot``
    name = "impressions_vs_fluency"
    kind = "lines"                     # lines | tradeoff | bars | series (docs/experiments.md)
    x = "operation.fluency_mean"
    y = ["organic_impressions"]
    [[analysis]]                       # optional scenario discovery (PRIM), drawn by ``sim plot``
    kind = "prim"
    name = "engaging"
    outcome = "organic_engagements"
    threshold = 100                    # direction = "above" (>=) or "below" (<)

The figure recipes and analyses are described in ``sim.recipes``, the outcomes a run can report
in ``sim.outcomes``.

A run's seed depends only on the root seed and the run's index (``designs.run_seed``), so any
run can be recomputed alone, on any executor. With ``paired_seeds`` it is the replicate's index
instead, so the design points are compared on the same random worlds (common random numbers).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from .config import (
    Config,
    ConfigError,
    Strict,
    build_config,
    check_finite,
    format_error,
    read_toml,
    refuse_other_kind,
)
from .designs import (
    CONTINUOUS,
    SCENARIO,
    SCENARIOS,
    check_overrides,
    design,
    run_seed,
    scenario_design,
)
from .outcomes import DEFAULT_OUTCOMES, check_outcomes
from .recipes import FigureRecipe, PrimAnalysis, check_analysis, check_figures, check_shown

POSTERIOR = "posterior"
"""The design kind whose points are parameter sets drawn from a calibration's posterior
(alone, or crossed with a grid or with named scenarios)."""
DRAW = "draw"
"""Design column numbering the posterior draws when they are crossed with other points."""


class Design(Strict):
    kind: Literal["grid", "lhs", "random", "sobol", "morris", "scenarios", "posterior"] = "grid"
    n: int = Field(8, ge=1, le=1_000_000, description="Design size (see module docstring).")
    factors: dict[str, list[Any] | dict[str, Any]] = Field(
        default_factory=dict, description="Config key -> values (grid) or [lo, hi], or a table "
                                          "{ range = [lo, hi], log = true, integer = true } "
                                          "(sim.designs).")
    scenarios: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="kind scenarios: name -> {config key: value}, one design point each, "
                    "in file order.")
    calibration: str | None = Field(
        None, description="A `sim calibrate` output directory (relative to the experiment file, "
                          "else to the working directory). Kind posterior: n parameter sets are "
                          "drawn from its posterior by weight. Continuous kinds: a factor "
                          "{ posterior = 0.95 } ranges over that central interval of the "
                          "parameter's posterior.")

    @model_validator(mode="after")
    def _scenarios_xor_factors(self) -> Design:
        """Scenarios and factors are two different ways of naming design points; mixing them
        would leave it unclear which points the sweep has, so each kind takes only its own."""
        if self.kind == SCENARIOS:
            if self.factors:
                raise ValueError("kind 'scenarios' takes [design.scenarios.NAME] tables, not "
                                 "design.factors")
            if not self.scenarios:
                raise ValueError("kind 'scenarios' needs at least one [design.scenarios.NAME] "
                                 "table")
        elif self.scenarios and self.kind != POSTERIOR:
            raise ValueError(f"scenarios: only allowed with kind = 'scenarios' or 'posterior' "
                             f"(kind is {self.kind!r})")
        if self.kind == POSTERIOR:
            if self.factors and self.scenarios:
                raise ValueError("kind 'posterior' crosses its draws with design.factors (a "
                                 "grid) or with design.scenarios, not both")
            for key, values in self.factors.items():
                if not isinstance(values, list) or not values:
                    raise ValueError(f"factors.{key}: kind 'posterior' crosses its draws with "
                                     "a grid: give a list of values")
            if not self.calibration:
                raise ValueError("kind 'posterior' needs design.calibration (a `sim calibrate` "
                                 "output directory)")
            return self
        from_posterior = [k for k, v in self.factors.items()
                          if isinstance(v, dict) and "posterior" in v]
        if from_posterior and self.kind not in CONTINUOUS:
            raise ValueError(f"factors.{from_posterior[0]}: a range from the posterior needs a "
                             f"continuous design ({', '.join(CONTINUOUS)}); kind is {self.kind!r}")
        if from_posterior and not self.calibration:
            raise ValueError(f"factors.{from_posterior[0]}: a range from the posterior needs "
                             "design.calibration (a `sim calibrate` output directory)")
        for key in from_posterior:
            if {"range", "values"} & set(self.factors[key]):
                raise ValueError(f"factors.{key}: give either posterior or range, not both")
        if self.calibration is not None and not from_posterior:
            raise ValueError(f"calibration: only allowed with kind = 'posterior' or with a "
                             f"factor ranging over the posterior (kind is {self.kind!r})")
        return self

    def factor_names(self) -> list[str]:
        """The columns of the design table, i.e. what figure recipes may name."""
        return [SCENARIO] if self.scenarios else list(self.factors)


class Experiment(Strict):
    name: str = Field(min_length=1)
    base: str = Field(description="Scenario TOML, relative to the experiment file.")
    users: int | None = Field(None, ge=10, le=50_000_000)
    days: float | None = Field(None, gt=0, le=3650)
    replicates: int = Field(1, ge=1, le=100_000)
    root_seed: int = Field(1, ge=0, le=2**63 - 1)
    paired_seeds: bool = Field(
        False, description="Give replicate r the same seed at every design point "
                           "(run_seed(root_seed, r)), for paired comparisons (with posterior "
                           "draws crossed with other points: the same seed at every point of "
                           "one draw, each draw its own); false: each run its own seed "
                           "(run_seed(root_seed, run index)).")
    outcomes: list[str] = Field(default_factory=lambda: list(DEFAULT_OUTCOMES), min_length=1)
    timeseries: bool = Field(False, description="Also keep each run's per-tick ledger series.")
    overrides: dict[str, Any] = Field(default_factory=dict)
    design: Design = Field(default_factory=Design)
    figures: list[FigureRecipe] = Field(default_factory=list,
                                        description="Figure recipes drawn by `sim plot`.")
    analysis: list[PrimAnalysis] = Field(default_factory=list,
                                         description="Analyses drawn by `sim plot`.")

    @field_validator("overrides")
    @classmethod
    def _check_overrides(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_overrides(v, "overrides: key")
        return v

    @field_validator("figures")
    @classmethod
    def _check_figures(cls, figures: list, info: ValidationInfo) -> list:
        """``sim.recipes.check_figures``, once outcomes and design are valid."""
        outcomes = info.data.get("outcomes")
        design_ = info.data.get("design")
        if outcomes is None or design_ is None:  # already reported as invalid
            return figures
        factors = None if design_.kind == POSTERIOR else design_.factor_names()
        check_figures(figures, outcomes, factors, bool(info.data.get("timeseries")))
        return figures

    @field_validator("analysis")
    @classmethod
    def _check_analysis(cls, analysis: list[PrimAnalysis], info: ValidationInfo
                        ) -> list[PrimAnalysis]:
        """``sim.recipes.check_analysis``, once the outcomes are valid."""
        outcomes = info.data.get("outcomes")
        if outcomes is None:  # already reported as invalid
            return analysis
        check_analysis(analysis, outcomes, info.data.get("figures") or [])
        return analysis


@dataclass(frozen=True)
class RunSpec:
    """One simulation of an experiment: design point, replicate, seed and full overrides."""

    index: int
    point: int
    replicate: int
    seed: int
    factors: dict[str, Any]


@dataclass
class LoadedExperiment:
    spec: Experiment
    path: Path
    sha256: str
    base_data: dict
    points: pd.DataFrame

    def runs(self) -> list[RunSpec]:
        reps = self.spec.replicates
        out = []
        for j, row in enumerate(self.points.to_dict("records")):
            for r in range(reps):
                i = j * reps + r
                # paired: replicate r of every point on one seed (and of every point at the
                # same posterior draw, when draws are crossed with other points)
                paired = int(row.get(DRAW, 0)) * reps + r
                seed = run_seed(self.spec.root_seed, paired if self.spec.paired_seeds else i)
                out.append(RunSpec(i, j, r, seed, row))
        return out

    def point_overrides(self, factors: dict[str, Any]) -> dict[str, Any]:
        """The config overrides a design point stands for: its factor values, or for a
        scenarios design the named scenario's bundle (the design table holds only the name, so
        that result rows and figures label points by it)."""
        out = {k: _plain(v) for k, v in factors.items() if k not in (SCENARIO, DRAW)}
        if SCENARIO in factors:
            out.update(self.spec.design.scenarios[factors[SCENARIO]])
        return out

    def size_overrides(self) -> dict[str, Any]:
        """The quick-run sizes (``users``, ``days``) as overrides of the base, where given."""
        s = self.spec
        out: dict[str, Any] = {}
        if s.users is not None:
            out["population.n_users"] = s.users
        if s.days is not None:
            out["run.days"] = s.days
        return out

    def config(self, run: RunSpec) -> Config:
        """The validated scenario of one run; a ConfigError names the run (and scenario)."""
        s = self.spec
        overrides = dict(s.overrides)
        overrides.update(self.point_overrides(run.factors))  # the point wins on conflicts
        overrides.update(self.size_overrides())
        overrides["run.seed"] = run.seed
        origin = f"{self.path} run {run.index}"
        if SCENARIO in run.factors:
            origin += f", scenario {run.factors[SCENARIO]!r}"
        try:
            return build_config(self.base_data, overrides, origin=origin)
        except ConfigError as exc:  # errors applying a key do not say where it came from
            if origin in str(exc):
                raise
            raise ConfigError(f"{origin}: {exc}") from None


def varied_factors(points: pd.DataFrame) -> list[str]:
    """Factors taking more than one value in a design table, in design order."""
    return [k for k in points.columns if points[k].astype(str).nunique() > 1]


def _plain(v: Any) -> Any:
    """numpy scalars from a design table -> plain Python values for validation."""
    return v.item() if hasattr(v, "item") else v


def _points(d: Design, root_seed: int, where: Path | None = None) -> pd.DataFrame:
    """The design table: scenario names, the factor design, posterior draws, or one empty point
    (replicates of the base) when there are no factors."""
    if d.kind == POSTERIOR:
        from .calibration.posterior import posterior_design, resolve_calibration_dir

        assert d.calibration is not None and where is not None
        draws = posterior_design(resolve_calibration_dir(d.calibration, where), d.n, root_seed)
        if d.scenarios:
            return cross_draws(scenario_design(d.scenarios), draws, d.scenarios)
        if d.factors:
            return cross_draws(design("grid", d.factors, 1, root_seed), draws)
        return draws
    if d.kind == SCENARIOS:
        return scenario_design(d.scenarios)
    if d.factors:
        return design(d.kind, d.factors, d.n, root_seed)
    return pd.DataFrame(index=[0])


def _with_posterior_ranges(spec: Experiment, where: Path) -> Experiment:
    """The experiment with its ``{ posterior = LEVEL }`` factors given their ranges from the
    calibration's posterior, so that every later reader (sampler, analysis, figures) sees
    plain ranges."""
    d = spec.design
    if d.kind == POSTERIOR or not d.calibration:
        return spec
    from .calibration.posterior import posterior_ranges, resolve_calibration_dir

    factors = posterior_ranges(resolve_calibration_dir(d.calibration, where), d.factors)
    return spec.model_copy(update={"design": d.model_copy(update={"factors": factors})})


def shown_factors(d: Design, points: pd.DataFrame) -> list[str]:
    """The varied factors a figure must show. Posterior draws crossed with a grid or with
    scenarios are pooled like replicates (figures show the mean over the posterior), so only
    the grid's or the scenarios' own factors count."""
    if d.kind == POSTERIOR and (d.scenarios or d.factors):
        return [k for k in varied_factors(points) if k in d.factor_names()]
    return varied_factors(points)


def cross_draws(points: pd.DataFrame, draws: pd.DataFrame,
                scenarios: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """Every design point at every posterior draw (point-major), with a :data:`DRAW` column
    numbering the draws. Where a point sets a calibrated parameter itself (a grid factor, or a
    key of its scenario), its value wins, and the table shows it."""
    draws = draws.drop(columns=[c for c in points.columns if c in draws.columns])
    draws.insert(0, DRAW, np.arange(len(draws)))
    out = points.merge(draws, how="cross")
    for name, bundle in (scenarios or {}).items():
        rows = out[SCENARIO] == name
        for key, value in bundle.items():
            if key in out.columns:
                if not (pd.api.types.is_float_dtype(out[key]) and isinstance(value, int | float)):
                    out[key] = out[key].astype(object)
                out.loc[rows, key] = value
    return out


def load_experiment(path: str | Path) -> LoadedExperiment:
    path = Path(path)
    data = read_toml(path, "experiment")
    refuse_other_kind(path, data, "experiment")
    check_finite(data, str(path))
    try:
        spec = Experiment.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_error(e, str(path)).replace("invalid configuration",
                                                              "invalid experiment")) from None
    try:
        base_path = (path.parent / spec.base).resolve()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: base: not a usable path ({exc})") from None
    if not base_path.is_file():
        raise ConfigError(f"{path}: base scenario not found: {base_path}")
    base_data = read_toml(base_path, "base scenario")
    if "base" in base_data:
        raise ConfigError(f"{path}: base: {base_path} is an experiment file; base must name a "
                          "scenario")
    try:
        spec = _with_posterior_ranges(spec, path.parent)
        points = _points(spec.design, spec.root_seed, path.parent)
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigError(f"{path}: design: {exc}") from None
    check_shown(spec.figures, list(points.columns), shown_factors(spec.design, points),
                spec.design.kind == POSTERIOR, path)
    # what the runs depend on: the parsed experiment without its figure recipes and analyses
    # (so they can be added to a finished sweep), and the base scenario file
    runs_part = json.dumps({k: v for k, v in data.items() if k not in ("figures", "analysis")},
                           sort_keys=True, default=str).encode()
    if spec.design.scenarios:  # sort_keys hides their order, which numbers the points
        runs_part += json.dumps(list(spec.design.scenarios)).encode()
    if spec.design.calibration:  # the runs depend on the posterior sample drawn from
        from .calibration.posterior import posterior_digest, resolve_calibration_dir

        runs_part += posterior_digest(resolve_calibration_dir(spec.design.calibration,
                                                              path.parent))
    digest = hashlib.sha256(runs_part + b"\0" + base_path.read_bytes()).hexdigest()
    exp = LoadedExperiment(spec, path, digest, base_data, points)
    # fail now, not in a worker, on a bad point or outcome
    configs = [exp.config(run) for run in exp.runs()[:: spec.replicates]]
    if configs[0].simsom.enabled and (spec.users is not None or spec.days is not None):
        raise ConfigError(f"{path}: users/days: the base is a SimSoM scenario, which ignores "
                          "them; vary simsom.n_humans or simsom.max_steps instead")
    check_outcomes(spec.outcomes, configs, path)
    return exp
