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
    kind = "grid"                      # grid | lhs | random | sobol | morris | scenarios
    n = 8                              # points (lhs, random), base size (sobol), trajectories
    [design.factors]
    "operation.fluency_mean" = [0.3, 0.8]
    # kind = "scenarios" instead takes named bundles of overrides, one design point each:
    # [design.scenarios.baseline]      # (no overrides: the base as is)
    # [design.scenarios.no_lag]
    # "operation.content_lag_hours" = 0
    [[figures]]                        # optional figure recipes, drawn by ``sim plot``
    name = "impressions_vs_fluency"
    kind = "lines"                     # lines | tradeoff | bars (see docs/experiments.md)
    x = "operation.fluency_mean"
    y = ["organic_impressions"]
    [[analysis]]                       # optional scenario discovery (PRIM), drawn by ``sim plot``
    kind = "prim"
    name = "engaging"
    outcome = "organic_engagements"
    threshold = 100                    # direction = "above" (>=) or "below" (<)

A run's seed depends only on the root seed and the run's index (``designs.run_seed``), so any
run can be recomputed alone, on any executor. With ``paired_seeds`` it is the replicate's index
instead, so the design points are compared on the same random worlds (common random numbers).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

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
)
from .designs import SCENARIO, SCENARIOS, check_overrides, design, run_seed, scenario_design
from .ledger import SERIES

DEFAULT_OUTCOMES = ["posts_published", "reported_followers", "reported_engagements",
                    "organic_exposed_users", "organic_engagements", "organic_reshares",
                    "organic_followers_gained", "in_network_engagement_share",
                    "exposure_top1pct_share", "breakout_category"]


POSTERIOR = "posterior"
"""The design kind whose points are parameter sets drawn from a calibration's posterior."""


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
        None, description="kind posterior: a `sim calibrate` output directory (relative to the "
                          "experiment file, else to the working directory); n parameter sets "
                          "are drawn from its posterior by weight.")

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
        elif self.scenarios:
            raise ValueError(f"scenarios: only allowed with kind = 'scenarios' (kind is "
                             f"{self.kind!r})")
        if self.kind == POSTERIOR:
            if self.factors:
                raise ValueError("kind 'posterior' draws its factors from the calibration; "
                                 "remove design.factors")
            if not self.calibration:
                raise ValueError("kind 'posterior' needs design.calibration (a `sim calibrate` "
                                 "output directory)")
        elif self.calibration is not None:
            raise ValueError(f"calibration: only allowed with kind = 'posterior' (kind is "
                             f"{self.kind!r})")
        return self

    def factor_names(self) -> list[str]:
        """The columns of the design table, i.e. what figure recipes may name."""
        return [SCENARIO] if self.kind == SCENARIOS else list(self.factors)


class _Recipe(Strict):
    """Fields every figure recipe has. A recipe asks for the figure a research question needs,
    so that it is drawn the same way from every rerun rather than by hand."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$",
                      description="File stem: figures/<name>.png; unique in the experiment.")
    title: str | None = Field(None, description="Title text (default: says what is plotted).")
    ylabel: str | None = Field(None, description="Y axis label (default: from the outcomes).")
    logy: bool | None = Field(None, description="Log y axis (default: automatic).")

    def factor_fields(self) -> list[tuple[str, str]]:
        """``(field, design factor)`` pairs of the factors the figure shows."""
        raise NotImplementedError

    def outcome_fields(self) -> list[tuple[str, str]]:
        """``(field, outcome)`` pairs of the outcomes the figure shows."""
        return [("y", o) for o in self.y]  # type: ignore[attr-defined]

    def factors(self) -> list[str]:
        return [k for _, k in self.factor_fields()]

    def outcomes(self) -> list[str]:
        return [o for _, o in self.outcome_fields()]


def _as_list(v: Any) -> Any:
    """A single outcome may be written without the brackets."""
    return [v] if isinstance(v, str) else v


class LinesFigure(_Recipe):
    """Mean (95% CI band) of one or more outcomes against a factor, a colour per group level."""

    kind: Literal["lines"]
    x: str = Field(description="Design factor on the x axis.")
    y: list[str] = Field(min_length=1, description="Outcomes, one curve each.")
    group: str | None = Field(None, description="Design factor: one colour per level.")
    logx: bool | None = Field(None, description="Log x axis (default: automatic).")

    _y_list = field_validator("y", mode="before")(_as_list)

    def factor_fields(self) -> list[tuple[str, str]]:
        return [(f, k) for f, k in (("x", self.x), ("group", self.group)) if k is not None]


class TradeoffFigure(_Recipe):
    """One outcome against another; each curve walks through the levels of ``along``."""

    kind: Literal["tradeoff"]
    x: str = Field(description="Outcome on the x axis.")
    y: str = Field(description="Outcome on the y axis.")
    along: str = Field(description="Design factor whose levels are the points of each curve.")
    group: str | None = Field(None, description="Design factor: one curve per level.")
    logx: bool | None = Field(None, description="Log x axis (default: automatic).")

    def factor_fields(self) -> list[tuple[str, str]]:
        return [(f, k) for f, k in (("along", self.along), ("group", self.group))
                if k is not None]

    def outcome_fields(self) -> list[tuple[str, str]]:
        return [("x", self.x), ("y", self.y)]


class BarsFigure(_Recipe):
    """Clusters of bars, one cluster per level of a factor, one bar per outcome (and group)."""

    kind: Literal["bars"]
    x: str = Field(description="Design factor: one bar cluster per level.")
    y: list[str] = Field(min_length=1, description="Outcomes, one bar each per cluster.")
    group: str | None = Field(None, description="Design factor: one bar colour per level.")
    normalize: Literal["none", "first"] = Field(
        "none", description="first: divide each outcome by its mean at the first level of x.")

    _y_list = field_validator("y", mode="before")(_as_list)

    def factor_fields(self) -> list[tuple[str, str]]:
        return [(f, k) for f, k in (("x", self.x), ("group", self.group)) if k is not None]


class SeriesFigure(_Recipe):
    """A per-tick ledger column over simulated time (needs ``timeseries = true``): mean over
    the runs of each group level, with its 95% CI band."""

    kind: Literal["series"]
    y: list[str] = Field(min_length=1, description="Columns of the per-tick ledger series "
                         "(timeseries.parquet), one curve each.")
    group: str | None = Field(None, description="Design factor: one colour per level.")
    panel: str | None = Field(None, description="Design factor: one panel per level.")

    _y_list = field_validator("y", mode="before")(_as_list)

    def factor_fields(self) -> list[tuple[str, str]]:
        return [(f, k) for f, k in (("group", self.group), ("panel", self.panel))
                if k is not None]

    def outcome_fields(self) -> list[tuple[str, str]]:
        return []  # series columns are checked against the ledger, not the outcomes


FigureRecipe = Annotated[LinesFigure | TradeoffFigure | BarsFigure | SeriesFigure,
                         Field(discriminator="kind")]


class PrimAnalysis(Strict):
    """Scenario discovery (``sim.discovery``): the region of the sampled space where runs reach
    a threshold, found by PRIM; drawn by ``sim plot`` into ``figures/<name>.png``, with tables
    in ``analysis/``. Does not change the runs, so it can be added to a finished sweep."""

    kind: Literal["prim"]
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$",
                      description="File stem; unique among the experiment's figures.")
    outcome: str = Field(description="One of the experiment's outcomes.")
    threshold: float = Field(description="Runs with the outcome at or above (direction above) "
                                         "or below (direction below) this are of interest.")
    direction: Literal["above", "below"] = Field(
        "above", description="above: outcome >= threshold; below: outcome < threshold. A "
                             "missing value (e.g. a null kidding_ratio) is never of interest.")
    box: int | None = Field(None, description="Step of the peeling trajectory to choose "
                                              "(default: sim.discovery's rule).")
    boxes: int = Field(1, ge=1, le=10, description="Boxes to find, one after another.")
    mass_min: float = Field(0.05, gt=0, lt=1, description="Least share of runs in a box.")
    peel_alpha: float = Field(0.05, gt=0, lt=1, description="Share of runs peeled per step.")


class Experiment(Strict):
    name: str = Field(min_length=1)
    base: str = Field(description="Scenario TOML, relative to the experiment file.")
    users: int | None = Field(None, ge=10, le=50_000_000)
    days: float | None = Field(None, gt=0, le=3650)
    replicates: int = Field(1, ge=1, le=100_000)
    root_seed: int = Field(1, ge=0, le=2**63 - 1)
    paired_seeds: bool = Field(
        False, description="Give replicate r the same seed at every design point "
                           "(run_seed(root_seed, r)), for paired comparisons; false: each run "
                           "its own seed (run_seed(root_seed, run index)).")
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
    def _check_figures(cls, figures: list[_Recipe], info: ValidationInfo) -> list[_Recipe]:
        """Refuse a recipe that names something the sweep will not have, before any run."""
        outcomes = info.data.get("outcomes")
        design_ = info.data.get("design")
        if outcomes is None or design_ is None:  # already reported as invalid
            return figures
        automatic = {f"{p}{o}" for o in outcomes for p in ("", "sobol_", "morris_")}
        seen: set[str] = set()
        for i, r in enumerate(figures):
            where = f"figure {r.name!r} (figures.{i})"
            if r.name in seen:
                raise ValueError(f"{where}: name: another figure has the same name")
            if r.name in automatic:
                raise ValueError(f"{where}: name: clashes with the automatic figure of that "
                                 "name; choose another")
            seen.add(r.name)
            for field, o in r.outcome_fields():
                if o not in outcomes:
                    raise ValueError(f"{where}: {field}: {o!r} is not one of the experiment's "
                                     f"outcomes {outcomes}")
            if r.kind != "tradeoff" and len(set(r.outcomes())) < len(r.outcomes()):
                raise ValueError(f"{where}: y: an outcome is listed twice")
            if isinstance(r, SeriesFigure):
                if not info.data.get("timeseries"):
                    raise ValueError(f"{where}: kind: a series figure needs timeseries = true")
                for col in r.y:
                    if col not in SERIES:
                        raise ValueError(f"{where}: y: {col!r} is not a per-tick ledger column "
                                         f"{list(SERIES)}")
            for field, key in r.factor_fields():
                if design_.kind == POSTERIOR:  # its factors are known once it is drawn
                    continue
                if key not in design_.factor_names():
                    raise ValueError(f"{where}: {field}: {key!r} is not a design factor "
                                     f"{sorted(design_.factor_names())}")
            if len(set(r.factors())) < len(r.factors()):
                raise ValueError(f"{where}: group: the same factor as "
                                 f"{r.factor_fields()[0][0]}")
        return figures


    @field_validator("analysis")
    @classmethod
    def _check_analysis(cls, analysis: list[PrimAnalysis], info: ValidationInfo
                        ) -> list[PrimAnalysis]:
        outcomes = info.data.get("outcomes")
        taken = {r.name for r in info.data.get("figures") or []}
        if outcomes is None:  # already reported as invalid
            return analysis
        taken |= {f"{p}{o}" for o in outcomes for p in ("", "sobol_", "morris_")}
        for i, a in enumerate(analysis):
            where = f"analysis {a.name!r} (analysis.{i})"
            if a.outcome not in outcomes:
                raise ValueError(f"{where}: outcome: {a.outcome!r} is not one of the "
                                 f"experiment's outcomes {outcomes}")
            if a.name in taken:
                raise ValueError(f"{where}: name: another figure or analysis has that name")
            taken.add(a.name)
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
                seed = run_seed(self.spec.root_seed, r if self.spec.paired_seeds else i)
                out.append(RunSpec(i, j, r, seed, row))
        return out

    def point_overrides(self, factors: dict[str, Any]) -> dict[str, Any]:
        """The config overrides a design point stands for: its factor values, or for a
        scenarios design the named scenario's bundle (the design table holds only the name, so
        that result rows and figures label points by it)."""
        if self.spec.design.kind == SCENARIOS:
            return dict(self.spec.design.scenarios[factors[SCENARIO]])
        return {k: _plain(v) for k, v in factors.items()}

    def config(self, run: RunSpec) -> Config:
        """The validated scenario of one run; a ConfigError names the run (and scenario)."""
        s = self.spec
        overrides = dict(s.overrides)
        overrides.update(self.point_overrides(run.factors))  # the point wins on conflicts
        if s.users is not None:
            overrides["population.n_users"] = s.users
        if s.days is not None:
            overrides["run.days"] = s.days
        overrides["run.seed"] = run.seed
        origin = f"{self.path} run {run.index}"
        if s.design.kind == SCENARIOS:
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


def _check_recipes(spec: Experiment, points: pd.DataFrame, path: Path) -> None:
    """A recipe must show every varied factor: averaging over a factor the design varies would
    mix its levels into one mean and hide the very effect the sweep was run to measure."""
    varied = varied_factors(points)
    for i, r in enumerate(spec.figures):
        for field, key in r.factor_fields() if spec.design.kind == POSTERIOR else ():
            if key not in points.columns:
                raise ConfigError(f"{path}: figure {r.name!r} (figures.{i}): {field}: {key!r} "
                                  f"is not a design factor {sorted(points.columns)}")
        hidden = [k for k in varied if k not in r.factors()]
        if hidden:
            fields = {"tradeoff": "along or group", "series": "group or panel"}.get(
                r.kind, "x or group")
            raise ConfigError(
                f"{path}: figure {r.name!r} (figures.{i}): the design varies {hidden}, which "
                f"the figure does not show; use them as {fields}, or fix them in the design")


def _plain(v: Any) -> Any:
    """numpy scalars from a design table -> plain Python values for validation."""
    return v.item() if hasattr(v, "item") else v


def _points(d: Design, root_seed: int, where: Path | None = None) -> pd.DataFrame:
    """The design table: scenario names, the factor design, posterior draws, or one empty point
    (replicates of the base) when there are no factors."""
    if d.kind == POSTERIOR:
        from .calibration.posterior import posterior_design, resolve_calibration_dir

        assert d.calibration is not None and where is not None
        return posterior_design(resolve_calibration_dir(d.calibration, where), d.n, root_seed)
    if d.kind == SCENARIOS:
        return scenario_design(d.scenarios)
    if d.factors:
        return design(d.kind, d.factors, d.n, root_seed)
    return pd.DataFrame(index=[0])


# What a run's summary can hold, so that an experiment's outcomes are checked before its first
# run. tests/test_strict_input.py compares these lists with the keys real runs produce.
OPERATION_OUTCOMES = frozenset({
    "accounts_alive", "accounts_removed_per_action", "accounts_run", "breakout_category",
    "communities_reached", "deliveries", "exposed_users_share", "exposure_top10pct_share",
    "exposure_top1pct_share", "follower_edges", "high_profile_amplifications", "hijack_replies",
    "in_network_engagement_share", "in_network_engagements", "kidding_ratio",
    "kidding_ratio_impressions", "log_kidding_ratio", "media_amplifications",
    "median_removal_delay_hours", "moderation", "moderation_actions", "moderation_precision",
    "moderation_recall", "n_accounts", "n_operators", "n_users",
    "op_accounts_lt100_followers_public", "op_accounts_lt100_followers_real",
    "op_accounts_lt10_followers_public", "op_accounts_lt10_followers_real",
    "op_accounts_mean_engagements_public", "op_accounts_mean_engagements_real",
    "op_accounts_mean_followers_public", "op_accounts_mean_followers_real",
    "op_accounts_median_followers_public", "op_accounts_median_followers_real",
    "op_accounts_zero_followers_public", "op_accounts_zero_followers_real",
    "op_posts_gt1000_views_public", "op_posts_gt1000_views_real", "op_posts_lt100_views_public",
    "op_posts_lt100_views_real", "op_posts_mean_engagements_public",
    "op_posts_mean_engagements_real", "op_posts_zero_engagements_public",
    "op_posts_zero_engagements_real", "op_posts_zero_views_public", "op_posts_zero_views_real",
    "operation_accounts_removed", "organic_accounts_removed", "organic_cross_posts",
    "organic_engagements", "organic_exposed_users", "organic_followers_gained",
    "organic_followers_lost", "organic_impressions", "organic_likes", "organic_median_followers",
    "organic_median_followers_bottom90pct", "organic_median_followers_top10pct",
    "organic_median_posts_per_month_bottom90pct", "organic_platform", "organic_posts",
    "organic_posts_gt1000_views", "organic_posts_lt100_views", "organic_posts_mean_engagements",
    "organic_posts_median_views", "organic_posts_no_reply_or_reshare",
    "organic_posts_zero_comments", "organic_posts_zero_views", "organic_replies",
    "organic_reports", "organic_reshares", "organic_top10pct_posts_share", "platforms_reached",
    "posts_published", "reported_engagements", "reported_followers", "reported_impressions",
    "reports", "runtime_seconds", "seed", "ticks"})
"""Summary keys of every influence-operation run."""
CONDITIONAL_OUTCOMES: dict[str, tuple[str, frozenset[str]]] = {
    "adaptation": ("adaptation.enabled = true", frozenset(
        f"allocation_{t}" for t in ("amplification", "audience", "buying", "hijacking",
                                    "timeliness", "volume"))),
    "moderation": ("moderation.enabled = true", frozenset({
        "accounts_flagged", "moderation_by_platform", "operation_accounts_acquired"})),
    "counterfactual": ("moderation.enabled = true and moderation.counterfactual = true",
                       frozenset({"counterfactual_organic_engagements",
                                  "counterfactual_organic_exposed_users",
                                  "counterfactual_organic_impressions",
                                  "operation_exposed_users_prevented",
                                  "operation_exposures_prevented"})),
}
"""Summary keys present only when a condition holds: name -> (condition, keys)."""
SIMSOM_OUTCOMES = frozenset({
    "average_quality", "bad_actor_share_of_human_feeds", "baseline_average_quality",
    "baseline_converged", "baseline_final_quality", "baseline_simulation_seconds",
    "baseline_steps", "converged", "edges_bad_actor", "edges_human", "edges_infiltration",
    "final_quality", "mean_followees", "messages_created", "model", "n_bad_actors", "n_humans",
    "relative_quality", "runtime_seconds", "seed", "simulation_seconds", "steps", "ticks"})
"""Summary keys of a SimSoM run."""


def _conditions(cfg: Config) -> dict[str, bool]:
    mod = cfg.moderation.enabled
    return {"adaptation": cfg.adaptation.enabled, "moderation": mod,
            "counterfactual": mod and cfg.moderation.counterfactual}


def check_outcomes(outcomes: list[str], configs: list[Config], path: Path) -> None:
    """Refuse outcome names no run of the experiment would report, before the first run (a
    misspelt outcome would otherwise fail every run, one by one)."""
    if len(set(outcomes)) < len(outcomes):
        raise ConfigError(f"{path}: outcomes: a name is listed twice")
    for cfg in configs:
        if cfg.simsom.enabled:
            allowed = set(SIMSOM_OUTCOMES)
        else:
            allowed = set(OPERATION_OUTCOMES)
            for name, on in _conditions(cfg).items():
                if on:
                    allowed |= CONDITIONAL_OUTCOMES[name][1]
        for o in outcomes:
            if o in allowed:
                continue
            needs = [cond for name, (cond, keys) in CONDITIONAL_OUTCOMES.items() if o in keys]
            if needs and not cfg.simsom.enabled:
                raise ConfigError(f"{path}: outcomes: {o!r} is reported only when {needs[0]}, "
                                  "which does not hold at every design point")
            raise ConfigError(f"{path}: outcomes: {o!r} is not an outcome a run reports; "
                              f"allowed: {', '.join(sorted(allowed))}")


SCENARIO_SECTIONS = frozenset(Config.model_fields)


def load_experiment(path: str | Path) -> LoadedExperiment:
    path = Path(path)
    data = read_toml(path, "experiment")
    if "base" not in data and SCENARIO_SECTIONS & data.keys():
        raise ConfigError(f"{path} is a scenario file, not an experiment (it has "
                          f"{sorted(SCENARIO_SECTIONS & data.keys())[0]!r} and no base); run it "
                          f"with `sim run {path}`")
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
        points = _points(spec.design, spec.root_seed, path.parent)
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigError(f"{path}: design: {exc}") from None
    _check_recipes(spec, points, path)
    # what the runs depend on: the parsed experiment without its figure recipes and analyses
    # (so they can be added to a finished sweep), and the base scenario file
    runs_part = json.dumps({k: v for k, v in data.items() if k not in ("figures", "analysis")},
                           sort_keys=True, default=str).encode()
    if spec.design.kind == SCENARIOS:  # sort_keys hides their order, which numbers the points
        runs_part += json.dumps(list(spec.design.scenarios)).encode()
    if spec.design.kind == POSTERIOR:  # the runs depend on the posterior sample drawn from
        from .calibration.posterior import posterior_digest, resolve_calibration_dir

        assert spec.design.calibration is not None
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
