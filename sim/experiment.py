"""An experiment: a base scenario, a design over config keys, replicates and outcomes, in TOML.

    name = "fluency"
    base = "spamouflage.toml"          # scenario file, relative to this file
    users = 5000                       # optional quick-run overrides of the base
    days = 4
    replicates = 5
    root_seed = 1
    outcomes = ["organic_engagements", "reported_engagements"]
    timeseries = false                 # true: also keep each run's per-tick ledgers
    [overrides]                        # fixed changes to the base, dotted keys
    "operation.hijack_fraction" = 0.0
    [design]
    kind = "grid"                      # grid | lhs | random | sobol | morris
    n = 8                              # points (lhs, random), base size (sobol), trajectories
    [design.factors]
    "operation.fluency_mean" = [0.3, 0.8]

A run's seed depends only on the root seed and the run's index (``designs.run_seed``), so any
run can be recomputed alone, on any executor.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, ValidationError

from .config import Config, ConfigError, Strict, _format_error, build_config
from .designs import design, run_seed

DEFAULT_OUTCOMES = ["posts_published", "reported_followers", "reported_engagements",
                    "organic_exposed_users", "organic_engagements", "organic_reshares",
                    "organic_followers_gained", "in_network_engagement_share",
                    "exposure_top1pct_share", "breakout_category"]


class Design(Strict):
    kind: Literal["grid", "lhs", "random", "sobol", "morris"] = "grid"
    n: int = Field(8, ge=1, le=1_000_000, description="Design size (see module docstring).")
    factors: dict[str, list[Any]] = Field(default_factory=dict,
                                          description="Config key -> values (grid) or [lo, hi].")


class Experiment(Strict):
    name: str = Field(min_length=1)
    base: str = Field(description="Scenario TOML, relative to the experiment file.")
    users: int | None = Field(None, ge=10, le=50_000_000)
    days: float | None = Field(None, gt=0, le=3650)
    replicates: int = Field(1, ge=1, le=100_000)
    root_seed: int = Field(1, ge=0, le=2**63 - 1)
    outcomes: list[str] = Field(default_factory=lambda: list(DEFAULT_OUTCOMES), min_length=1)
    timeseries: bool = Field(False, description="Also keep each run's per-tick ledger series.")
    overrides: dict[str, Any] = Field(default_factory=dict)
    design: Design = Field(default_factory=Design)


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
                out.append(RunSpec(i, j, r, run_seed(self.spec.root_seed, i), row))
        return out

    def config(self, run: RunSpec) -> Config:
        """The validated scenario of one run."""
        s = self.spec
        overrides = dict(s.overrides)
        overrides.update({k: _plain(v) for k, v in run.factors.items()})
        if s.users is not None:
            overrides["population.n_users"] = s.users
        if s.days is not None:
            overrides["run.days"] = s.days
        overrides["run.seed"] = run.seed
        return build_config(self.base_data, overrides, origin=f"{self.path} run {run.index}")


def _plain(v: Any) -> Any:
    """numpy scalars from a design table -> plain Python values for validation."""
    return v.item() if hasattr(v, "item") else v


def load_experiment(path: str | Path) -> LoadedExperiment:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment file not found: {path}")
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        spec = Experiment.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_error(e, str(path)).replace("invalid configuration",
                                                              "invalid experiment")) from None
    base_path = (path.parent / spec.base).resolve()
    if not base_path.is_file():
        raise ConfigError(f"{path}: base scenario not found: {base_path}")
    base_data = tomllib.loads(base_path.read_text())
    try:
        points = (design(spec.design.kind, spec.design.factors, spec.design.n, spec.root_seed)
                  if spec.design.factors else pd.DataFrame(index=[0]))  # replicates only
    except ValueError as exc:
        raise ConfigError(f"{path}: design: {exc}") from None
    digest = hashlib.sha256(raw + b"\0" + base_path.read_bytes()).hexdigest()
    exp = LoadedExperiment(spec, path, digest, base_data, points)
    for run in exp.runs()[:: spec.replicates]:  # fail now, not in a worker, on a bad point
        exp.config(run)
    return exp
