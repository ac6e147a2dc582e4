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
def discover(
    results: Annotated[Path, typer.Argument(help="Results directory of a sweep.")],
    outcome: Annotated[str, typer.Option(help="Outcome that defines the runs of interest.")],
    threshold: Annotated[float, typer.Option(help="Runs with outcome >= this are of interest "
                                             "(< this with --below).")],
    below: Annotated[bool, typer.Option(help="Runs below the threshold are of interest.")
                     ] = False,
    box: Annotated[int | None, typer.Option(help="Step of the peeling trajectory to choose "
                                            "[the rule in sim/discovery.py].")] = None,
    boxes: Annotated[int, typer.Option(help="Boxes to find, one after another.", min=1,
                                       max=10)] = 1,
    mass_min: Annotated[float, typer.Option(help="Least share of runs in a box.", min=0.001,
                                            max=0.999)] = 0.05,
    base: Annotated[Path | None, typer.Option(help="Scenario TOML to start 'what would it "
                                              "take' from [the experiment's base].")] = None,
    out: Annotated[Path | None, typer.Option(help="Output directory [RESULTS/discovery].")
                   ] = None,
    pdf: Annotated[bool, typer.Option(help="Also write a PDF figure.")] = False,
) -> None:
    """Scenario discovery (PRIM): where in the sampled space do runs reach the threshold?"""
    import json

    from .discovery import (
        Target,
        base_point,
        discover_results,
        ranges_of,
        what_would_it_take,
        write,
    )
    from .experiment import load_experiment
    from .sweep import ResultStore

    df = ResultStore(results).results()
    if df.empty:
        typer.echo(f"error: {results}: no results", err=True)
        raise typer.Exit(2)
    exp = None
    try:
        manifest = json.loads((results / "manifest.json").read_text())
        exp = load_experiment(manifest["experiment"])
    except (OSError, KeyError, ValueError, ConfigError) as exc:
        typer.echo(f"note: experiment file not readable ({exc}); sampled ranges taken from the "
                   "runs and no 'what would it take'", err=True)
    target = Target(outcome, threshold, below=below)
    try:
        d = discover_results(df, target, scales=ranges_of(exp) if exp else None,
                             n_boxes=boxes, box=box, mass_min=mass_min)
        what_if = None
        if exp is not None:
            start = base_point(exp, base)
            what_if = what_would_it_take({k: start[k] for k in d.x.columns}, d.chosen,
                                         d.scales)
    except (ValueError, ConfigError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    out = out or results / "discovery"
    stem = "prim_" + "".join(c if c.isalnum() or c in "_-" else "_" for c in outcome)
    paths = write(d, out, stem, what_if, formats=("png", "pdf") if pdf else ("png",))
    typer.echo(f"{len(d.y)} runs, {d.n_interest} with {target} ({d.n_failed} failed runs left "
               f"out, {d.n_missing} without a value)")
    for note in d.notes:
        typer.echo(f"  {note}")
    for b in d.chosen:
        typer.echo(f"box {b.number + 1} (step {b.index} of the peeling trajectory): coverage "
                   f"{b.coverage:.2f}, density {b.density:.2f}, mass {b.mass:.2f}"
                   + ("" if b.significant else "  [a limit is not significant]"))
        for f, r in b.restricted.iterrows():
            lim = ("{" + ", ".join(sorted(r["values"])) + "}" if isinstance(r["values"], frozenset)
                   else f"[{r['low']:.4g}, {r['high']:.4g}]")
            qps = " / ".join(f"{q:.2g}" for q in (r["qp_low"], r["qp_high"]) if q == q)
            typer.echo(f"  {f} in {lim}  (quasi-p {qps})")
    if what_if is not None and len(what_if):
        w = what_if.iloc[0]
        typer.echo(f"what would it take (from {'the base' if base is None else base}): move "
                   f"{w['n_moved']} factor(s), normalised distance {w['distance']:.3f}: "
                   f"{w['moves_text']}")
    elif what_if is not None and d.chosen:
        typer.echo("what would it take: no chosen box is dense enough (at least half its runs "
                   "of interest) to aim for")
    for p in paths:
        typer.echo(str(p))


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
