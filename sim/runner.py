"""Running one scenario: ``sim.run(config_or_path, seed=...)`` and the files it writes.

Output schema (the names are part of the public interface; docs/outputs.md explains each):
- ``summary.json``: run metadata (config, seed, package version, runtime) and every ledger total;
- ``timeseries.parquet``: one row per tick, cumulative vanity and real figures;
- ``posts.parquet``: one row per operation post or planted reply, both ledgers per post;
- ``reports.parquet``: what the paymaster was told each reporting period;
- ``removals.parquet``: one row per account removed by moderation (ground truth included);
- ``accounts.parquet``: one row per operation account (origin, platform, fate);
- ``operators.parquet``: one row per operator and reporting period (its figures, KPI, split);
- ``figures/headline.png``: vanity against real over time;
- ``.sim-run``: the marker that lets a later ``sim run --force`` recognise and replace this
  directory (nothing else is ever replaced, see ``sim/output.py``).
``summary.json`` has a ``provenance`` block (``sim/provenance.py``): with ``runtime_seconds`` it
is the only part that differs between two runs of the same config and seed.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from . import analyst, provenance
from .config import Config, ConfigError, build_config, load_config
from .model import InfluenceModel
from .output import atomic_dir, claim_output, write_json, write_marker, write_table
from .threads import Alongside


def describe(s: dict) -> str:
    """The two ledgers (and moderation's record) in a few lines, as ``sim run`` prints them."""
    lines = [
        f"  reported: {s['posts_published']:,} posts, {s['reported_followers']:,} followers, "
        f"{s['reported_engagements']:,} engagements, {s['reported_impressions']:,} impressions",
        f"  real:     {s['organic_exposed_users']:,} users exposed, "
        f"{s['organic_engagements']:,} engagements, {s['organic_reshares']:,} reshares, "
        f"{s['organic_followers_gained']:,} followers gained",
        f"  in-network share of engagement {s['in_network_engagement_share']:.1%}, "
        f"Breakout category {s['breakout_category']}, kidding ratio "
        f"{_ratio(s['kidding_ratio'])} (engagements), "
        f"{_ratio(s['kidding_ratio_impressions'])} (impressions)"]
    if s["moderation"]:
        prevented = (f"; {s['operation_exposures_prevented']:,} organic reads of its content "
                     "prevented" if "operation_exposures_prevented" in s else "")
        lines.append(
            f"  moderation: {s['operation_accounts_removed']:,} operation accounts removed "
            f"({s['operation_accounts_acquired']:,} acquired to replace them), "
            f"{s['organic_accounts_removed']:,} organic accounts wrongly removed; precision "
            f"{_ratio(s['moderation_precision'], '.2f')}, recall "
            f"{_ratio(s['moderation_recall'], '.2f')}, median removal delay "
            f"{_ratio(s['median_removal_delay_hours'], '.0f')} h{prevented}")
    return "\n".join(lines)


def _ratio(x: float | None, fmt: str | None = None) -> str:
    if x is None:
        return "undefined"
    return format(x, fmt or (".2f" if x < 10 else ",.0f"))


def _headline(result: RunResult, path: Path) -> None:
    """The headline figure: vanity against real over time."""
    from .figures import headline_figure
    headline_figure(result.timeseries, result.summary, path)


@dataclass
class RunResult:
    config: Config
    summary: dict[str, Any]
    timeseries: pd.DataFrame
    posts: pd.DataFrame
    reports: pd.DataFrame
    removals: pd.DataFrame
    accounts: pd.DataFrame
    operators: pd.DataFrame
    describe: Callable[[dict], str] = field(default=describe, repr=False)
    """A few lines on the result (``sim run`` prints them); the scenario kind's own."""
    figures: dict[str, Callable[[RunResult, Path], None]] = field(
        default_factory=lambda: {"headline.png": _headline}, repr=False)
    """Figures ``save`` draws into ``figures/``: file name -> drawing function."""

    def save(self, out_dir: str | Path, figures: bool = True, force: bool = False) -> Path:
        """Write every output into ``out_dir`` atomically: all files appear at once or none.

        ``out_dir`` must be new, an empty directory, or (with ``force``) an earlier run's output
        directory; anything else raises OutputError (a ConfigError) before writing."""
        claim_output(out_dir, "run", force)
        with atomic_dir(out_dir) as tmp:
            write_json(tmp / "summary.json", self.summary)
            write_table(tmp / "timeseries.parquet", self.timeseries)
            write_table(tmp / "posts.parquet", self.posts)
            write_table(tmp / "reports.parquet", self.reports)
            write_table(tmp / "removals.parquet", self.removals)
            write_table(tmp / "accounts.parquet", self.accounts)
            write_table(tmp / "operators.parquet", self.operators)
            write_marker(tmp, "run", seed=self.summary.get("seed"),
                         config_sha256=self.summary.get("provenance", {}).get("config_sha256"))
            if figures:
                (tmp / "figures").mkdir()
                for name, draw in self.figures.items():
                    draw(self, tmp / "figures" / name)
        return Path(out_dir)


def resolve_config(config: Config | str | Path | dict, overrides: dict[str, Any] | None = None,
                   users: int | None = None, days: float | None = None) -> Config:
    """The validated config of a run: a Config, raw data or a TOML file, plus overrides.

    A SimSoM scenario (``simsom.enabled``) ignores every section but ``run.seed`` and
    ``simsom``; asking it for a population size or a horizon is refused rather than silently
    running at SimSoM's own size."""
    overrides = dict(overrides or {})
    if users is not None:
        overrides["population.n_users"] = users
    if days is not None:
        overrides["run.days"] = days
    if isinstance(config, Config):
        cfg = build_config(config.model_dump(), overrides) if overrides else config
    elif isinstance(config, dict):
        cfg = build_config(config, overrides)
    elif isinstance(config, str | Path):
        cfg = load_config(config, overrides)
    else:
        raise ConfigError(f"a run takes a Config, a dict or a TOML file path, not "
                          f"{type(config).__name__}")
    if cfg.simsom.enabled:
        ignored = [k for k in overrides if k != "run.seed" and not k.startswith("simsom.")]
        if ignored:
            flags = {"population.n_users": "--users", "run.days": "--days"}
            named = ", ".join(f"{k} ({flags[k]})" if k in flags else k for k in ignored)
            raise ConfigError(f"simsom.enabled = true: SimSoM ignores {named}; size it with "
                              "simsom.n_humans and simsom.max_steps instead")
    return cfg


def _call(config: Any, seed: int | None, overrides: dict | None, users: int | None,
          days: float | None) -> str:
    """The API call, as text, for provenance."""
    what = repr(str(config)) if isinstance(config, str | Path) else f"<{type(config).__name__}>"
    args = [what] + [f"{k}={v!r}" for k, v in (("seed", seed), ("users", users), ("days", days),
                                                ("overrides", overrides)) if v is not None]
    return f"sim.run({', '.join(args)})"


def run(config: Config | str | Path | dict, seed: int | None = None, *,
        overrides: dict[str, Any] | None = None, users: int | None = None,
        days: float | None = None, progress: bool = False,
        model_cls: type[InfluenceModel] = InfluenceModel) -> RunResult:
    """Run one scenario and return its tables. ``seed`` overrides ``run.seed``.

    Bad input (config, overrides, sizes) raises ConfigError before anything is simulated."""
    started = provenance.now()
    call = _call(config, seed, overrides, users, days)
    if seed is not None:
        if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
            seed = int(seed)  # numpy integers are integers; anything else is refused below
        overrides = {**(overrides or {}), "run.seed": seed}
    cfg = resolve_config(config, overrides, users, days)
    if cfg.simsom.enabled:  # a sibling model (sim.simsom), not a configuration of this one
        from .simsom.run import run as run_simsom
        result = run_simsom(cfg)
    else:
        result = _run_operation(cfg, progress, model_cls)
    result.summary["provenance"] = provenance.record(result.summary["config"], call, started)
    return result


def _run_operation(cfg: Config, progress: bool, model_cls: type[InfluenceModel]) -> RunResult:
    if progress:
        from .warmup import warm_up
        warm_up(verbose=False)  # compile kernels now, not under the bar (sim/warmup.py)
    t0 = time.perf_counter()
    # the counterfactual runs alongside this run where there are threads to share (sim/threads.py)
    other = Alongside(partial(counterfactual_totals, cfg, model_cls)) \
        if cfg.moderation.enabled and cfg.moderation.counterfactual else None
    bar = None
    try:
        model = model_cls(cfg)
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=cfg.ticks, unit="h", desc="simulating", mininterval=0.5)
        model.run(progress=bar)
        result = collect(model, time.perf_counter() - t0)
        if other is not None:
            result.summary.update(prevented(other.result(), result.summary))
    finally:
        if bar is not None:
            bar.close()
        if other is not None:
            other.close()
    return result


def counterfactual_totals(cfg: Config, model_cls: type[InfluenceModel]) -> dict:
    """Organic totals of the same seed with moderation off."""
    off_cfg = build_config(cfg.model_dump(), {"moderation.enabled": False})
    off = model_cls(off_cfg)
    off.run()
    s = off.ledger.summary(off)
    return {f"counterfactual_{k}": s[k]
            for k in ("organic_impressions", "organic_exposed_users", "organic_engagements")}


def prevented(off: dict, summary: dict) -> dict:
    """The counterfactual's totals and what moderation prevented: their difference."""
    return {
        **off,
        "operation_exposures_prevented": off["counterfactual_organic_impressions"]
        - summary["organic_impressions"],
        "operation_exposed_users_prevented": off["counterfactual_organic_exposed_users"]
        - summary["organic_exposed_users"],
    }


def collect(model: InfluenceModel, runtime: float) -> RunResult:
    cfg = model.cfg
    summary: dict[str, Any] = {
        "schema_version": 1,
        "package_version": provenance.package_version(),
        "seed": model.seed,
        "ticks": model.steps,
        "n_users": model.pop.n,
        "n_accounts": model.operation.accounts.n,
        "n_operators": len(model.operators),
        "follower_edges": {pf.name: pf.graph.n_edges for pf in model.platforms},
        "runtime_seconds": round(runtime, 3),
    }
    summary.update(model.ledger.summary(model))
    posts = analyst.post_table(model)
    accounts = analyst.account_table(model, posts)
    summary.update(analyst.statistics(model, posts, accounts))  # the analyst's view
    summary["reports"] = model.paymaster.reports
    summary["config"] = cfg.model_dump(mode="json")
    removals = model.moderation.removal_table() if model.moderation is not None \
        else empty_removals()
    return RunResult(cfg, summary, pd.DataFrame(model.ledger.rows), posts,
                     pd.DataFrame(model.paymaster.reports), removals, accounts,
                     pd.DataFrame(model.paymaster.operator_reports))


def empty_removals() -> pd.DataFrame:
    from .moderation import Moderation
    return Moderation.empty_removals()
