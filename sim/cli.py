"""Command line: ``sim run CONFIG [--out DIR] [--seed N] [--users N] [--days D] [--set k=v]``."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from .config import ConfigError, parse_override

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Simulate an influence operation's reported and real reach.")


def _terminate(signum, frame):  # noqa: ARG001 - signal handler signature
    raise SystemExit(128 + signum)


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    out: Annotated[Path | None, typer.Option(help="Output directory [results/<config name>].")
                   ] = None,
    seed: Annotated[int | None, typer.Option(help="Override run.seed.", min=0)] = None,
    users: Annotated[int | None, typer.Option(help="Override population.n_users (the "
                                              "operation scales as the preset says).")] = None,
    days: Annotated[float | None, typer.Option(help="Override run.days.")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override any field: key.path=value (value read as TOML). Repeatable.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    figures: Annotated[bool, typer.Option(help="Draw figures/headline.png.")] = True,
) -> None:
    """Run one scenario and write summary.json, tables and figures into OUT."""
    from .runner import resolve_config
    from .runner import run as run_model

    signal.signal(signal.SIGTERM, _terminate)
    try:
        overrides = dict(parse_override(s) for s in (set_ or []))
        if seed is not None:
            overrides["run.seed"] = seed
        cfg = resolve_config(config, overrides, users, days)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    out = out or Path("results") / config.stem
    result = run_model(cfg, progress=progress)
    result.save(out, figures=figures)
    s = result.summary
    if s.get("model") == "simsom":
        typer.echo(f"wrote {out}  ({s['runtime_seconds']:.1f} s)\n"
                   f"  SimSoM: relative quality {s['relative_quality']:.3f} (average quality "
                   f"{s['average_quality']:.3f} against {s['baseline_average_quality']:.3f} "
                   f"without bad actors), {s['steps']} steps")
        return
    typer.echo(
        f"wrote {out}  ({s['runtime_seconds']:.1f} s)\n"
        f"  reported: {s['posts_published']:,} posts, {s['reported_followers']:,} followers, "
        f"{s['reported_engagements']:,} engagements, {s['reported_impressions']:,} impressions\n"
        f"  real:     {s['organic_exposed_users']:,} users exposed, "
        f"{s['organic_engagements']:,} engagements, {s['organic_reshares']:,} reshares, "
        f"{s['organic_followers_gained']:,} followers gained\n"
        f"  in-network share of engagement {s['in_network_engagement_share']:.1%}, "
        f"Breakout category {s['breakout_category']}, kidding ratio "
        f"{_ratio(s['kidding_ratio'])} (engagements), "
        f"{_ratio(s['kidding_ratio_impressions'])} (impressions)")
    if s["moderation"]:
        prevented = (f"; {s['operation_exposures_prevented']:,} organic reads of its content "
                     "prevented" if "operation_exposures_prevented" in s else "")
        typer.echo(
            f"  moderation: {s['operation_accounts_removed']:,} operation accounts removed "
            f"({s['operation_accounts_acquired']:,} acquired to replace them), "
            f"{s['organic_accounts_removed']:,} organic accounts wrongly removed; precision "
            f"{_ratio(s['moderation_precision'], '.2f')}, recall "
            f"{_ratio(s['moderation_recall'], '.2f')}, median removal delay "
            f"{_ratio(s['median_removal_delay_hours'], '.0f')} h{prevented}")


def _ratio(x: float | None, fmt: str | None = None) -> str:
    if x is None:
        return "undefined"
    return format(x, fmt or (".2f" if x < 10 else ",.0f"))


@app.command()
def check(config: Annotated[Path, typer.Argument(help="Scenario TOML file.")]) -> None:
    """Validate a scenario file without running it."""
    from .config import load_config

    try:
        load_config(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{config}: valid")


@app.command()
def sweep(
    experiment: Annotated[Path, typer.Argument(help="Experiment TOML file.")],
    out: Annotated[Path | None, typer.Option(help="Results directory [results/<name>].")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes [cores].", min=1)] = None,
    executor: Annotated[str, typer.Option(help="local | inprocess | dask.")] = "local",
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address (implies --executor dask).")] = None,
    retry_failed: Annotated[bool, typer.Option(help="Rerun runs recorded as failed.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run every missing run of an experiment (resumable: rerun the same command)."""
    from tqdm import tqdm

    from .experiment import load_experiment
    from .sweep import run_sweep

    signal.signal(signal.SIGTERM, _terminate)
    try:
        exp = load_experiment(experiment)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    out = out or Path("results") / exp.spec.name
    total = len(exp.runs())
    bar = tqdm(total=total, unit="run", desc=exp.spec.name, disable=not progress)

    def show(done: int, failed: int, remaining: int) -> None:
        bar.n = done + failed
        bar.set_postfix(done=done, failed=failed, remaining=remaining, refresh=False)
        bar.refresh()

    try:
        df = run_sweep(experiment, out, workers=workers,
                       executor="dask" if scheduler else executor, scheduler=scheduler,
                       retry_failed=retry_failed, progress=show)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        bar.close()
    n_failed = int((df["status"] != "ok").sum()) if len(df) else 0
    typer.echo(f"{out}: {len(df)} of {total} runs recorded, {n_failed} failed")


@app.command("report")
def report_cmd(
    results: Annotated[Path, typer.Argument(help="Results directory of a sweep.")],
    csv: Annotated[Path | None, typer.Option(help="Also write the table as CSV here.")] = None,
) -> None:
    """Mean and 95% confidence interval of each outcome per design point."""
    from .sweep import report

    table = report(results)
    if table.empty:
        typer.echo(f"{results}: no results", err=True)
        raise typer.Exit(1)
    typer.echo(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if csv is not None:
        table.to_csv(csv, index=False)


@app.command()
def plot(
    results: Annotated[Path, typer.Argument(help="Results directory of a sweep.")],
    pdf: Annotated[bool, typer.Option(help="Also write PDF files.")] = False,
) -> None:
    """Draw an experiment's figures into RESULTS/figures."""
    from .plots import plot_experiment

    try:
        paths = plot_experiment(results, formats=("png", "pdf") if pdf else ("png",))
    except (ConfigError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for p in paths:
        typer.echo(str(p))


@app.command()
def dashboard(
    config: Annotated[Path, typer.Argument(help="Scenario TOML file.")] = Path(
        "experiments/spamouflage.toml"),
    users: Annotated[int, typer.Option(help="Organic users (small enough to step smoothly).",
                                       min=100)] = 10_000,
    host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on (0: any free port).", min=0)
                    ] = 8765,
) -> None:
    """Open the scenario in a browser: Mesa's SolaraViz with the mission's levers."""
    import os
    import subprocess

    from .dashboard import ENV_CONFIG, ENV_USERS, load_scenario

    try:
        load_scenario(config)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    env = {**os.environ, ENV_CONFIG: str(config.resolve()), ENV_USERS: str(users),
           "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}
    typer.echo(f"serving {config} at {users:,} users on http://{host}:{port} (Ctrl-C to stop)")
    cmd = [sys.executable, "-m", "solara", "run", "sim.dashboard", "--host", host,
           "--port", str(port), "--production", "--no-open", "--no-check-version"]
    try:
        code = subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


@app.command("config-docs")
def config_docs(
    out: Annotated[Path | None, typer.Option(help="Write here instead of printing.")] = None,
) -> None:
    """Print (or write) the reference of every configuration field as Markdown."""
    from .docs import render_config_docs

    text = render_config_docs()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


def main() -> None:  # pragma: no cover - console entry
    app(prog_name="sim")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
