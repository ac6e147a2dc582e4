"""Command line: ``sim run CONFIG [--out DIR] [--seed N] [--users N] [--days D] [--set k=v]``.

Exit codes: 0 success; 1 a sweep finished with failed or missing runs, or a report found none;
2 bad input or an output location that may not or cannot be written (checked before any
simulation; the message names the field or path). Nothing is ever replaced unless it is an
earlier output of the same command and ``--force`` is given (``sim/output.py``)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import provenance
from .config import ConfigError, parse_override

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Simulate an influence operation's reported and real reach.")


def _terminate(signum, frame):  # noqa: ARG001 - signal handler signature
    raise SystemExit(128 + signum)


def _fail(exc: Exception) -> typer.Exit:
    """Print an input error (never a traceback) and give the exit code for bad input."""
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


def _start() -> None:
    signal.signal(signal.SIGTERM, _terminate)


@app.callback()
def _record_command(ctx: typer.Context) -> None:
    """Record the command line for provenance, for the duration of the command only."""
    token = provenance.command.set(provenance.cli_command())
    ctx.call_on_close(lambda: provenance.command.reset(token))


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
    force: Annotated[bool, typer.Option(
        help="Replace OUT if it holds an earlier run's output (nothing else is replaced).")
    ] = False,
    threads: Annotated[int | None, typer.Option(
        help="Threads for the compiled loops [SIM_THREADS, else every available core]; "
             "results are the same for any number.")] = None,
) -> None:
    """Run one scenario and write summary.json, tables and figures into OUT."""
    from .output import claim_output
    from .runner import run as run_model
    from .threads import set_threads

    _start()
    out = out or Path("results") / config.stem
    try:
        if threads is not None:
            set_threads(threads)
        overrides = dict(parse_override(s) for s in (set_ or []))
        if seed is not None:
            overrides["run.seed"] = seed
        # users/days go through resolve_config so that a SimSoM scenario can refuse them
        from .runner import resolve_config
        resolve_config(config, overrides, users, days)
        claim_output(out, "run", force, inputs=[config])  # before simulating
        result = run_model(config, overrides=overrides, users=users, days=days,
                           progress=progress)
        result.save(out, figures=figures, force=force)
    except ConfigError as exc:
        raise _fail(exc) from None
    typer.echo(f"wrote {out}  ({result.summary['runtime_seconds']:.1f} s)\n"
               + result.describe(result.summary))


@app.command()
def check(config: Annotated[Path, typer.Argument(help="Scenario TOML file.")]) -> None:
    """Validate a scenario file without running it."""
    from .runner import resolve_config

    try:
        resolve_config(config)
    except ConfigError as exc:
        raise _fail(exc) from None
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
    """Run every missing run of an experiment (resumable: rerun the same command).

    Exits 1 if any run failed or is missing, naming how many and where the errors are."""
    from tqdm import tqdm

    from .experiment import load_experiment
    from .sweep import ResultStore, run_sweep

    _start()
    try:
        exp = load_experiment(experiment)
    except ConfigError as exc:
        raise _fail(exc) from None
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
        raise _fail(exc) from None
    finally:
        bar.close()
    n_failed = int((df["status"] != "ok").sum()) if len(df) else 0
    n_missing = total - len(df)
    typer.echo(f"{out}: {len(df)} of {total} runs recorded, {n_failed} failed"
               + (f", {n_missing} missing" if n_missing else ""))
    if n_failed or n_missing:
        if n_failed:
            bad = ResultStore(out).failures()
            typer.echo(f"error: {n_failed} of {total} runs failed; the errors are in the 'error' "
                       f"column of their rows ({out}/runs/run-NNNNNN.parquet; `sim report {out}` "
                       "lists the points). First ones:", err=True)
            for r in bad.head(5).itertuples():
                typer.echo(f"  run {r.run} (point {r.point}, seed {r.seed}): {r.error}",
                           err=True)
            typer.echo("Rerun them with --retry-failed.", err=True)
        if n_missing:
            typer.echo(f"error: {n_missing} of {total} runs missing; rerun the same command to "
                       "compute them", err=True)
        raise typer.Exit(1)


@app.command()
def calibrate(
    calibration: Annotated[Path, typer.Argument(help="Calibration TOML file.")],
    out: Annotated[Path | None, typer.Option(help="Output directory [results/calibration-"
                                             "<name>].")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (1: reproducible draw for "
                                         "draw).", min=1)] = 1,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (a cluster "
                                                  "instead of local processes).")] = None,
    restart: Annotated[bool, typer.Option(help="Discard a stored calibration in OUT and start "
                                          "over (default: resume it).")] = False,
    seed: Annotated[int | None, typer.Option(
        help="Root seed in place of the file's: a replicate fit, to compare with the first "
             "(OUT defaults to results/calibration-<name>-seed<SEED>).", min=0)] = None,
) -> None:
    """Fit a scenario's uncertain parameters to observed figures (ABC-SMC; resumable: rerun
    the same command). A file with [models.NAME] tables chooses between competing models."""
    from .calibration.command import calibrate as run_calibration
    from .calibration.spec import load_calibration

    signal.signal(signal.SIGTERM, _terminate)
    try:
        name = load_calibration(calibration, dry_run=False, seed=seed).spec.name
        out = out or Path("results") / (f"calibration-{name}" if seed is None
                                        else f"calibration-{name}-seed{seed}")
        s = run_calibration(calibration, out, workers=workers, scheduler=scheduler,
                            restart=restart, seed=seed, echo=typer.echo)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    last = s["generations"][-1]
    typer.echo(f"wrote {out}  ({s['wall_time_seconds']:.1f} s; {s['simulations_abc']:,} "
               f"simulations, {len([g for g in s['generations'] if g['generation'] >= 0])} "
               f"generations, final threshold {last['epsilon']:.3g}, acceptance "
               f"{last['acceptance_rate']:.1%}, effective sample size "
               f"{last['effective_sample_size']:.1f} of {last['accepted']:.0f})")
    if "models" in s:  # model choice
        for name, m in s["models"].items():
            typer.echo(f"  model {name}: posterior probability {m['posterior_probability']:.3f}"
                       f" (+- {m['posterior_probability_se']:.3f} s.e.; prior "
                       f"{m['prior_probability']:.3g}), {m['particles_last_generation']} "
                       "particles")
        typer.echo("  (probabilities given the target statistics only: see "
                   "docs/calibration.md, Model choice)")
        return
    for k, p in s["parameters"].items():
        typer.echo(f"  {k}: median {p['median']:.4g}, 90% interval "
                   f"[{p['q0.05']:.4g}, {p['q0.95']:.4g}]")
    for t in s["targets"]:
        pr = t.get("predictive")
        fit = (f"; posterior predictive median {pr['median']:.4g}, 90% "
               f"[{pr['q0.05']:.4g}, {pr['q0.95']:.4g}]" if pr else "")
        typer.echo(f"  target {t['statistic']}: observed {t['observed']:.4g}{fit}")


@app.command("report")
def report_cmd(
    results: Annotated[Path, typer.Argument(help="Results directory of a sweep.")],
    csv: Annotated[Path | None, typer.Option(help="Also write the table as CSV here.")] = None,
    force: Annotated[bool, typer.Option(help="Let --csv replace an existing file.")] = False,
    by: Annotated[list[str] | None, typer.Option(
        help="Pool the runs with the same levels of this factor (repeatable), over replicates "
             "and every other factor (e.g. posterior draws): mean, 95% CI, median, 5% and 95% "
             "quantiles.")] = None,
    pool: Annotated[bool, typer.Option(
        help="As --by, with every run pooled (e.g. a posterior sweep's draws).")] = False,
    outcome: Annotated[list[str] | None, typer.Option(
        help="Report only this outcome (repeatable).")] = None,
) -> None:
    """Mean and 95% confidence interval of each outcome per design point, with how many of
    its runs finished (n), failed and are missing; failed and missing points are listed too.
    With --by (or --pool), each outcome's spread per level of the named factors (or over all
    runs) instead."""
    from .output import atomic_file, claim_output, output_kind
    from .sweep import report, report_by

    _start()
    if output_kind(results) != "sweep":
        raise _fail(ConfigError(f"{results} is not a sweep's results directory (no manifest)"))
    try:
        if csv is not None:
            claim_output(csv, "file", force, inputs=[results / "manifest.json"])
    except ConfigError as exc:
        raise _fail(exc) from None
    try:
        spread = bool(by) or pool
        table = report_by(results, by or [], outcome) if spread else report(results, outcome)
    except ConfigError as exc:
        raise _fail(exc) from None
    if table.empty:
        typer.echo(f"{results}: no results", err=True)
        raise typer.Exit(1)
    if spread:
        typer.echo(table.T.to_string(header=False, float_format=lambda x: f"{x:.4g}"))
    else:
        typer.echo(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    bad = table[table["status"] != "ok"] if "status" in table else table.iloc[:0]
    if len(bad):
        typer.echo(f"warning: {len(bad)} of {len(table)} design points are incomplete "
                   f"({int(table['n_failed'].sum())} runs failed, "
                   f"{int(table['n_missing'].sum())} missing): points "
                   f"{', '.join(str(p) for p in bad['point'])}", err=True)
    if csv is not None:
        atomic_file(csv, table.to_csv(index=False))


@app.command()
def plot(
    results: Annotated[Path, typer.Argument(help="Results directory of a sweep.")],
    pdf: Annotated[bool, typer.Option(help="Also write PDF files.")] = False,
) -> None:
    """Draw an experiment's figures into RESULTS/figures."""
    from .output import output_kind
    from .plots import plot_experiment

    _start()
    figs = results / "figures"
    if output_kind(results) != "sweep":
        raise _fail(ConfigError(f"{results} is not a sweep's results directory (no manifest)"))
    if figs.exists() and not figs.is_dir():
        raise _fail(ConfigError(f"cannot draw into {figs}: it is a file, not a directory"))
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

    from .dashboard import ENV_CONFIG, ENV_USERS
    from .dashboard.controls import load_scenario

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


@app.command()
def discover(
    results: Annotated[Path, typer.Argument(help="Results directory of a sweep.")],
    outcome: Annotated[str, typer.Option(help="Outcome that defines the runs of interest.")],
    threshold: Annotated[float, typer.Option(help="Runs with outcome >= this are of interest "
                                             "(< this with --below).")],
    below: Annotated[bool, typer.Option(help="Runs below the threshold are of interest.")
                     ] = False,
    box: Annotated[int | None, typer.Option(help="Step of the peeling trajectory to choose "
                                            "[the rule in sim/discovery/prim.py].")] = None,
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

    from .discovery.boxes import Target
    from .discovery.outputs import write
    from .discovery.prim import discover_results
    from .discovery.what_if import base_point, ranges_of, what_would_it_take
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
