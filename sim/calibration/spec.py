"""A calibration file: base scenario, uncertain parameters with priors, observed targets.

    name = "tiny"
    base = "../spamouflage.toml"        # scenario file, relative to this file
    users = 2000                        # optional quick-run overrides of the base
    days = 2
    [overrides]                         # fixed changes to the base, dotted keys
    "moderation.counterfactual" = false
    [parameters."operation.posts_per_account_day"]
    prior = "uniform"                   # uniform | log-uniform | integer
    range = [2, 20]
    [[targets]]
    statistic = "in_network_engagement_share"   # a run summary entry
    observed = 0.95
    scale = 0.05                        # how far off counts as "one unit" of misfit
    source = "T7: Google TAG 2024 ..."  # where the observed value comes from (free text)
    [inference]
    population_size = 100
    generations = 8
    root_seed = 1
    distance = "adaptive"

Model choice: with two or more ``[models.NAME]`` tables the file compares competing models
instead of fitting one (ABC-SMC model selection, :mod:`sim.calibration.choice`). Each model is
a bundle of fixed config changes on top of ``[overrides]`` and a prior probability (default:
what the others leave, shared equally); the models share the file's priors over
``[parameters]``, except those a model fixes, so a model may have no free parameters::

    [models.tender]
    probability = 0.5                   # optional
    overrides = { "paymaster.kpi" = "tender" }

Everything is checked before a single simulation of the calibration runs: unknown keys, priors
outside what the config schema allows (its ``ge``/``gt``/``le`` bounds, checked at both ends of
each range), no targets, and target statistics that a run's summary does not have (found by one
tiny dry run of the base scenario). The error names the field, as ``sim check`` does.

Priors are the continuous ranges of :mod:`sim.designs` (``Factor``): the inference works on the
unit cube and :func:`sim.designs.scale` maps a point to config values, so a log-uniform prior is
uniform in ``log(x)`` and an integer prior gives each whole number in ``low..high`` the same
prior mass (the latent value is floored), exactly as in a sweep's continuous designs.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, field_validator, model_validator

from ..config import (
    Config,
    ConfigError,
    Strict,
    allowed_range,
    build_config,
    field_owner,
    format_error,
    read_toml,
    refuse_other_kind,
    resolve_platform_keys,
)
from ..designs import Factor, check_key, check_overrides, parse_range

PRIOR_KINDS = ("uniform", "log-uniform", "integer")
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

CONTINUABLE = ("generations", "minimum_epsilon", "max_simulations", "estimate",
               "predictive_draws")
"""Inference settings that may change between a calibration and its resumption."""

class Prior(Strict):
    """One uncertain parameter: its prior kind and range (in the config's units)."""

    prior: Literal["uniform", "log-uniform", "integer"] = Field(
        "uniform", description="uniform | log-uniform (uniform in log x) | integer (each whole "
                               "number in the range equally likely).")
    range: list[float] = Field(min_length=2, max_length=2,
                               description="[low, high], both inside the allowed range of the "
                                           "config field.")

    def factor(self, key: str) -> Factor:
        return parse_range(key, list(self.range), integer=self.prior == "integer",
                            log=self.prior == "log-uniform")


class Target(Strict):
    """An observed figure the calibrated model should reproduce."""

    statistic: str = Field(min_length=1, description="A run summary entry (summary.json) or a "
                                                     "analyst-view statistic (docs/outputs.md).")
    observed: float = Field(description="The published value, in the statistic's units.")
    scale: float = Field(gt=0, description="Misfit of one unit (a plausible measurement error "
                                           "or spread); weights the target in a fixed distance.")
    source: str = Field(min_length=1, description="Where the observed value comes from.")

    @field_validator("observed")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v


class Inference(Strict):
    """ABC-SMC settings (pyabc)."""

    population_size: int = Field(100, ge=5, le=100_000, description="Accepted particles per "
                                                                    "generation.")
    generations: int = Field(8, ge=1, le=1000, description="Maximum number of generations.")
    minimum_epsilon: float = Field(0.0, ge=0, description="Stop once the acceptance threshold "
                                                          "falls to this.")
    max_simulations: int | None = Field(None, ge=1, description="Stop after a generation once "
                                                                "this many simulations ran.")
    root_seed: int = Field(1, ge=0, le=2**63 - 1, description="Every simulation's seed and the "
                                                              "sampler's draws derive from it.")
    distance: Literal["adaptive", "robust", "scaled"] = Field(
        "adaptive", description="adaptive: Euclidean distance, each target weighted by the "
                                "inverse of its spread in the last generation (Prangle 2017); "
                                "robust: as adaptive, the spread plus the distance of the "
                                "simulations from the observed value (Schälte et al. 2022), so "
                                "a target the model cannot reach does not dominate; "
                                "scaled: each target weighted by 1 / its scale, fixed.")
    prior_share: float = Field(
        0.0, ge=0, lt=1, description="Share of each generation's proposals drawn from the prior "
                                     "instead of pyabc's Gaussian kernel around the last "
                                     "generation (defensive importance sampling, Hesterberg "
                                     "1995): no importance weight can then exceed 1 / share, "
                                     "which keeps the effective sample size from collapsing "
                                     "with many parameters. 0: the kernel alone.")
    estimate: Literal["median", "map"] = Field(
        "median", description="Point estimate written to calibrated.toml: the weighted "
                              "posterior median of each parameter, or the particle of highest "
                              "posterior density (kernel estimate).")
    predictive_draws: int = Field(20, ge=0, le=10_000, description="Posterior draws simulated "
                                                                   "for the predictive check.")


class CandidateModel(Strict):
    """One of several competing models (model choice): fixed config changes and a prior
    probability."""

    probability: float | None = Field(None, gt=0, le=1, description="Prior probability of the "
                                      "model; models without one share what the others leave "
                                      "equally (all equal when none has one).")
    overrides: dict[str, Any] = Field(default_factory=dict, description="Dotted config keys "
                                      "and values that make this model, on top of the file's "
                                      "[overrides]; a key of [parameters] here fixes that "
                                      "parameter in this model.")

    @field_validator("overrides")
    @classmethod
    def _check_overrides(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_overrides(v, "overrides: key")
        for key in v:
            check_key(key, "overrides: key")
        return v


class Calibration(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    base: str = Field(description="Scenario TOML, relative to the calibration file.")
    users: int | None = Field(None, ge=10, le=50_000_000)
    days: float | None = Field(None, gt=0, le=3650)
    overrides: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Prior] = Field(default_factory=dict)
    models: dict[str, CandidateModel] = Field(default_factory=dict, description="Competing "
                                              "models (model choice): two or more.")
    targets: list[Target] = Field(min_length=1)
    holdouts: list[Target] = Field(
        default_factory=list, description="Observed figures left out of the fit: not in the "
        "distance, only compared with the posterior's predictions (their scale sets how far off "
        "counts as a miss in the figure).")
    inference: Inference = Field(default_factory=Inference)

    @field_validator("overrides")
    @classmethod
    def _check_overrides(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_overrides(v, "overrides: key")
        return v

    @field_validator("parameters")
    @classmethod
    def _check_parameters(cls, v: dict[str, Prior]) -> dict[str, Prior]:
        for key, p in v.items():
            check_key(key, "parameters: key")
            p.factor(key)  # low < high, log needs low > 0, integer needs whole bounds
        return v

    @model_validator(mode="after")
    def _distinct(self) -> Calibration:
        stats = [t.statistic for t in self.targets]
        dup = sorted({s for s in stats if stats.count(s) > 1})
        if dup:
            raise ValueError(f"targets: statistic {dup[0]!r} is a target twice")
        both = sorted(set(self.parameters) & set(self.overrides))
        if both:
            raise ValueError(f"parameters: {both[0]!r} is also a fixed override; it can be one "
                             "or the other")
        if not self.models and not self.parameters:
            raise ValueError("parameters: at least one uncertain parameter is needed (or two "
                             "or more [models.NAME] to choose between)")
        if self.models:
            self._check_models()
        return self

    def _check_models(self) -> None:
        if len(self.models) < 2:
            raise ValueError("models: model choice needs two or more models (a single model "
                             "is a calibration: put its changes in [overrides])")
        seen: dict[str, str] = {}
        for name, m in self.models.items():
            if not _NAME.match(name):
                raise ValueError(f"models: name {name!r}: letters, digits, _ and - only")
            both = sorted(set(m.overrides) & set(self.overrides))
            if both:
                raise ValueError(f"models.{name}.overrides: {both[0]!r} is also in the file's "
                                 "[overrides]; set it in one place")
            key = json.dumps(m.overrides, sort_keys=True, default=str)
            if key in seen:
                raise ValueError(f"models.{name}: the same overrides as models.{seen[key]}; "
                                 "identical models cannot be told apart")
            seen[key] = name
        given = [m.probability for m in self.models.values() if m.probability is not None]
        rest = len(self.models) - len(given)
        total = math.fsum(given)
        if (rest == 0 and abs(total - 1.0) > 1e-9) or (rest and total >= 1.0 - 1e-12):
            raise ValueError(f"models: prior probabilities sum to {total:g}; they must sum to "
                             "1 (models without one share what the others leave)")

    def model_probabilities(self) -> dict[str, float]:
        """Prior probability of each model, in file order."""
        given = {k: m.probability for k, m in self.models.items() if m.probability is not None}
        rest = [k for k in self.models if k not in given]
        share = (1.0 - math.fsum(given.values())) / len(rest) if rest else 0.0
        return {k: float(given.get(k, share)) for k in self.models}


@dataclass
class LoadedCalibration:
    spec: Calibration
    path: Path
    sha256: str
    base_data: dict

    @property
    def factors(self) -> list[Factor]:
        return [p.factor(k) for k, p in self.spec.parameters.items()]

    def fixed_overrides(self, model: str | None = None) -> dict[str, Any]:
        """The base's changes common to every simulation (of ``model``, in model choice):
        overrides, world size and the model's own changes."""
        o = dict(self.spec.overrides)
        if self.spec.users is not None:
            o["population.n_users"] = self.spec.users
        if self.spec.days is not None:
            o["run.days"] = self.spec.days
        if model is not None:
            o.update(self.spec.models[model].overrides)
        return o

    def config(self, values: dict[str, Any], seed: int, model: str | None = None) -> Config:
        return build_config(self.base_data, {**self.fixed_overrides(model), **values,
                                             "run.seed": int(seed)}, origin=str(self.path))

    @property
    def model_names(self) -> list[str]:
        return list(self.spec.models)

    def model_factors(self, model: str) -> list[Factor]:
        """The free parameters of a competing model: the file's, less those it fixes."""
        fixed = self.spec.models[model].overrides
        return [p.factor(k) for k, p in self.spec.parameters.items() if k not in fixed]

    def observed(self) -> dict[str, float]:
        return {t.statistic: float(t.observed) for t in self.spec.targets}

    def scales(self) -> dict[str, float]:
        return {t.statistic: float(t.scale) for t in self.spec.targets}


def statistic(summary: dict[str, Any], name: str) -> float:
    """A target statistic of a run summary as a float (NaN when the run leaves it undefined)."""
    v = summary[name]
    if v is None:
        return math.nan
    if isinstance(v, list | tuple):
        return float(len(v))
    return float(v)


def has_statistic(summary: dict[str, Any], name: str) -> bool:
    if name in summary:
        v = summary[name]
        return v is None or isinstance(v, bool | int | float | list | tuple)
    return False


def unit_value(f: Factor, u: float) -> float | int:
    """One point of the unit interval -> the factor's value; the mapping of
    :func:`sim.designs.scale` (linear or log-linear; an integer factor splits [0, 1] into one
    equal cell per whole number), in scalar arithmetic: the inference maps thousands of
    single points, for which a DataFrame per point would cost more than a cheap simulation."""
    assert f.low is not None and f.high is not None
    u = min(max(float(u), 0.0), 1.0)
    top = f.high + 1.0 if f.integer else f.high
    if f.log:
        x = math.exp(math.log(f.low) + u * (math.log(top) - math.log(f.low)))
    else:
        x = f.low + u * (top - f.low)
    if f.integer:
        return int(min(max(math.floor(x), f.low), f.high))
    return min(max(x, f.low), f.high)


def values_of(factors: list[Factor], unit: np.ndarray) -> list[dict[str, Any]]:
    """Points of the unit cube (rows) -> config values, plain Python numbers."""
    rows = np.atleast_2d(np.asarray(unit, dtype=float)).tolist()
    return [{f.key: unit_value(f, u) for f, u in zip(factors, row, strict=True)}
            for row in rows]


# --------------------------------------------------------------------------- validation


def _field_bounds(key: str) -> tuple[Any, Any, Any, str] | None:
    """(ge, gt, le, text) of the schema field a dotted key names, or None if not a plain
    numeric field of a config section (e.g. an entry of a dict-valued field)."""
    owner = field_owner(tuple(p for p in key.split(".") if not p.isdigit()))
    if owner is None:
        return None
    model, name = owner
    ge = gt = le = None
    for m in model.model_fields[name].metadata:
        ge = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else ge
        gt = getattr(m, "gt", None) if getattr(m, "gt", None) is not None else gt
        le = getattr(m, "le", None) if getattr(m, "le", None) is not None else le
    return ge, gt, le, allowed_range(model, name)


def check_models(spec: Calibration, base_data: dict, origin: str) -> None:
    """Each competing model must be a valid scenario (its keys config fields, its values in
    range), and each prior's ends valid settings of each model that leaves it free."""
    for name, m in spec.models.items():
        fixed = {**spec.overrides, **m.overrides}
        where = f"{origin}: models.{name}.overrides"
        try:
            build_config(base_data, fixed, origin=where)
        except ConfigError as exc:
            raise ConfigError(str(exc)) from None
        check_prior_ranges(spec, base_data, f"{origin} (models.{name})", fixed=fixed,
                           skip=set(m.overrides))


def check_prior_ranges(spec: Calibration, base_data: dict, origin: str,
                       fixed: dict[str, Any] | None = None, skip: Collection[str] = ()) -> None:
    """Refuse a prior that reaches outside its config field's allowed range, or a key the
    config does not have. Both ends are also validated as whole configs (with the other
    parameters at the base's values), so cross-field rules and types are checked too."""
    fixed = dict(spec.overrides) if fixed is None else fixed
    for key, p in spec.parameters.items():
        if key in skip:
            continue
        where = f"{origin}: parameters.{key!r}"
        try:
            rkey = resolve_platform_keys(base_data, key)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        lo, hi = p.range
        bounds = _field_bounds(rkey)
        if bounds is not None:
            ge, gt, le, text = bounds
            if (ge is not None and lo < ge) or (gt is not None and lo <= gt) or \
                    (le is not None and hi > le):
                raise ConfigError(f"{where}: prior range {[lo, hi]} leaves the field's allowed "
                                  f"range ({text})")
        for end in (lo, hi):
            value = int(end) if p.prior == "integer" else end
            try:
                build_config(base_data, {**fixed, key: value}, origin=where)
            except ConfigError as exc:
                msg = str(exc)
                if "unknown field" in msg or "no such field" in msg:
                    raise ConfigError(f"{where}: unknown parameter key (not a config field; "
                                      "see docs/config.md)") from None
                raise ConfigError(f"{where}: the prior's end {value} is not a valid "
                                  f"setting:\n{msg}") from None


def dry_run_summary(loaded: LoadedCalibration) -> dict[str, Any]:
    """The summary of one tiny run of the base (parameters at their prior midpoints): which
    statistics a run reports. Also compiles the model's kernels before any worker forks."""
    from ..runner import run as run_model

    model = loaded.model_names[0] if loaded.model_names else None
    factors = loaded.model_factors(model) if model else loaded.factors
    mid = values_of(factors, np.full((1, len(factors)), 0.5))[0] if factors else {}
    over = {**loaded.fixed_overrides(model), **mid, "run.seed": 0}
    cfg = build_config(loaded.base_data, over, origin=str(loaded.path))
    small = {"population.n_users": min(cfg.population.n_users, 300),
             "run.days": min(cfg.run.days, 0.25)}
    return run_model(build_config(cfg.model_dump(), small)).summary


def check_targets(loaded: LoadedCalibration, summary: dict[str, Any]) -> None:
    for field in ("targets", "holdouts"):
        for i, t in enumerate(getattr(loaded.spec, field)):
            if not has_statistic(summary, t.statistic):
                known = sorted(k for k in summary if has_statistic(summary, k))
                raise ConfigError(f"{loaded.path}: {field}.{i}.statistic: {t.statistic!r} is not "
                                  f"a numeric statistic of a run's summary; known: "
                                  f"{', '.join(known)}")


def load_calibration(path: str | Path, *, dry_run: bool = True,
                     seed: int | None = None) -> LoadedCalibration:
    """Read and check a calibration file; ``dry_run`` also checks the target statistics by one
    tiny run (seconds); ``seed``, if given, replaces ``inference.root_seed`` (a replicate fit of
    the same file). Raises ConfigError naming the field."""
    path = Path(path)
    data = read_toml(path, "calibration")
    refuse_other_kind(path, data, "calibration")
    inference = data.get("inference", {})
    if seed is not None and seed != inference.get("root_seed", Inference().root_seed):
        data["inference"] = {**inference, "root_seed": seed}
    try:
        spec = Calibration.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_error(e, str(path)).replace(
            "invalid configuration", "invalid calibration")) from None
    base_path = (path.parent / spec.base).resolve()
    if not base_path.is_file():
        raise ConfigError(f"{path}: base: scenario not found: {base_path}")
    try:
        base_data = tomllib.loads(base_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: base: not valid TOML: {exc}") from None
    # what the stored simulations depend on: not the stopping rules or the outputs' settings,
    # so a finished calibration can be continued for more generations
    inf = {k: v for k, v in data.get("inference", {}).items() if k not in CONTINUABLE}
    digest = hashlib.sha256(json.dumps({**data, "inference": inf}, sort_keys=True,
                                       default=str).encode() + b"\0"
                            + base_path.read_bytes()).hexdigest()
    loaded = LoadedCalibration(spec, path, digest, base_data)
    try:
        build_config(base_data, loaded.fixed_overrides(), origin=f"{path}: overrides")
    except ConfigError as exc:
        raise ConfigError(str(exc)) from None
    check_prior_ranges(spec, base_data, str(path))
    check_models(spec, base_data, str(path))
    if dry_run:
        check_targets(loaded, dry_run_summary(loaded))
    return loaded


def prior_table(loaded: LoadedCalibration) -> pd.DataFrame:
    return pd.DataFrame([{"parameter": k, "prior": p.prior, "low": p.range[0],
                          "high": p.range[1]} for k, p in loaded.spec.parameters.items()])
