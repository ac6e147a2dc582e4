"""Running an experiment's runs, resumably, and keeping one result row per run.

Results live under the output directory:
- ``manifest.json``: experiment file hash, package version, git revision, start time, machine;
  reusing a directory with a changed experiment is refused;
- ``runs/ts-NNNNNN.parquet``: the run's per-tick ledgers, when the experiment asks for them;
- ``runs/run-NNNNNN.parquet``: one row per finished run (its factor values, seed, outcomes,
  runtime, status, error), each written atomically by the coordinating process, so a killed sweep
  loses at most the runs in flight and a rerun does exactly the missing ones.
Failed runs are recorded with their error and do not stop the sweep; ``retry_failed`` reruns
them. Executors: ``inprocess`` (for debugging), ``local`` (worker processes) and ``dask`` (a
Dask distributed cluster); each run's result depends only on its config, never on the executor.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from datetime import UTC, datetime
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd

from .config import Config, ConfigError
from .experiment import LoadedExperiment, RunSpec, load_experiment


def log_kidding_ratio(summary: dict[str, Any]) -> float:
    """``log10(max(reported_engagements, 1) / max(organic_engagements, 1))``: the order of
    magnitude of the kidding ratio, defined for every run so that sensitivity analyses (which
    need a finite number per run) can use it. Equal to ``log10(kidding_ratio)`` whenever both
    counts are at least 1; with no organic engagement the denominator counts as 1, a lower bound
    of the (unbounded) ratio; 0 when neither ledger has an engagement."""
    return math.log10(max(summary["reported_engagements"], 1)
                      / max(summary["organic_engagements"], 1))


DERIVED_OUTCOMES: dict[str, Callable[[dict[str, Any]], float]] = {
    "log_kidding_ratio": log_kidding_ratio}
"""Outcomes computed from a run's summary when its result row is made (not summary keys)."""


def execute(config: Config, run: RunSpec, outcomes: list[str], timeseries: bool = False
            ) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Simulate one run; returns its result row and, if asked, its per-tick series (never
    raises: a failure becomes a row with its error).

    It takes the run's whole validated config, so a worker needs no access to the experiment's
    files (as on a cluster)."""
    from .runner import run as run_model

    t0 = time.perf_counter()
    row: dict[str, Any] = {"run": run.index, "point": run.point, "replicate": run.replicate,
                           "seed": run.seed, **{f"factor:{k}": v for k, v in run.factors.items()}}
    series = None
    try:
        result = run_model(config)
        summary = result.summary
        if timeseries:
            series = result.timeseries.assign(run=run.index)
        for k in outcomes:
            v = DERIVED_OUTCOMES[k](summary) if k in DERIVED_OUTCOMES else summary[k]
            row[k] = len(v) if isinstance(v, list) else v
        row.update(status="ok", error="")
    except Exception as exc:  # noqa: BLE001 - a failed run is data, not a crash
        for k in outcomes:
            row[k] = None
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}\n"
                   + traceback.format_exc(limit=3))
    row["runtime_seconds"] = round(time.perf_counter() - t0, 3)
    return row, series


def _git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10).stdout.strip()
    except OSError:
        return ""


class ResultStore:
    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.runs_dir = self.out / "runs"

    def open(self, exp: LoadedExperiment) -> None:
        manifest = self.out / "manifest.json"
        if manifest.exists():
            old = json.loads(manifest.read_text())
            if old.get("experiment_sha256") != exp.sha256:
                raise ConfigError(
                    f"{self.out} holds results of a different experiment (the experiment or its "
                    f"base scenario changed since); use a new --out directory")
            return
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        info = {"experiment": str(exp.path), "experiment_name": exp.spec.name,
                "experiment_sha256": exp.sha256, "package_version": version("sim"),
                "git_revision": _git_revision(),
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpu",
                "runs": len(exp.runs())}
        tmp = manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        os.replace(tmp, manifest)

    def path(self, index: int) -> Path:
        return self.runs_dir / f"run-{index:06d}.parquet"

    def status(self) -> dict[int, str]:
        out = {}
        for p in sorted(self.runs_dir.glob("run-*.parquet")):
            out[int(p.stem[4:])] = pd.read_parquet(p, columns=["status"])["status"].iloc[0]
        return out

    def write(self, row: dict[str, Any], series: pd.DataFrame | None = None) -> None:
        """The series first, the row last: a row file marks a finished run."""
        path = self.path(row["run"])
        for df, p in ((series, self.runs_dir / f"ts-{row['run']:06d}.parquet"),
                      (pd.DataFrame([row]), path)):
            if df is not None:
                tmp = p.with_name(f".{p.name}.tmp")
                df.to_parquet(tmp, index=False)
                os.replace(tmp, p)

    def timeseries(self) -> pd.DataFrame:
        """Per-tick series of the runs that kept them (column ``run`` names the run)."""
        done = {i for i, s in self.status().items() if s == "ok"}
        files = [p for p in sorted(self.runs_dir.glob("ts-*.parquet")) if int(p.stem[3:]) in done]
        return pd.concat([pd.read_parquet(p) for p in files], ignore_index=True) if files \
            else pd.DataFrame()

    def results(self) -> pd.DataFrame:
        files = sorted(self.runs_dir.glob("run-*.parquet"))
        if not files:
            return pd.DataFrame()
        return pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)


def run_sweep(exp_path: str | Path, out: str | Path, *, workers: int | None = None,
              executor: str = "local", scheduler: str | None = None, retry_failed: bool = False,
              progress: Callable[[int, int, int], None] | None = None) -> pd.DataFrame:
    """Run every missing run of the experiment into ``out``; returns all result rows.

    ``executor``: ``inprocess``, ``local`` (``workers`` processes) or ``dask`` (one task per run
    on the Dask scheduler at ``scheduler``, started the usual way: ``dask scheduler`` and
    ``dask worker``, or dask-jobqueue). Results do not depend on the executor."""
    exp = load_experiment(exp_path)
    store = ResultStore(out)
    store.open(exp)
    status = store.status()
    todo = [r for r in exp.runs()
            if r.index not in status or (retry_failed and status[r.index] != "ok")]
    done = sum(1 for s in status.values() if s == "ok")
    failed = 0 if retry_failed else sum(1 for s in status.values() if s == "failed")

    def record(result: tuple[dict[str, Any], pd.DataFrame | None]) -> None:
        nonlocal done, failed
        row, series = result
        store.write(row, series)
        done += row["status"] == "ok"
        failed += row["status"] != "ok"
        if progress:
            progress(done, failed, len(exp.runs()) - done - failed)

    outcomes, keep = exp.spec.outcomes, exp.spec.timeseries
    if executor == "inprocess" or not todo:
        for r in todo:
            record(execute(exp.config(r), r, outcomes, keep))
    elif executor == "local":
        workers = workers or os.cpu_count() or 1
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            pending = {pool.submit(execute, exp.config(r), r, outcomes, keep) for r in todo}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    record(f.result())
    elif executor == "dask":
        if not scheduler:
            raise ConfigError("the dask executor needs a scheduler address (--scheduler)")
        from distributed import Client, as_completed

        with Client(scheduler) as client:
            futures = [client.submit(execute, exp.config(r), r, outcomes, keep, pure=False)
                       for r in todo]
            for f in as_completed(futures):
                record(f.result())
    else:
        raise ConfigError(f"unknown executor {executor!r}; allowed: inprocess, local, dask")
    return store.results()


def report(out: str | Path, outcomes: list[str] | None = None) -> pd.DataFrame:
    """Mean and 95% confidence interval (t) of each outcome per design point."""
    from scipy import stats

    df = ResultStore(out).results()
    if df.empty:
        return df
    ok = df[df["status"] == "ok"]
    factors = [c for c in df.columns if c.startswith("factor:")]
    meta = set(factors) | {"run", "point", "replicate", "seed", "status", "error",
                           "runtime_seconds"}
    outcomes = outcomes or [c for c in df.columns if c not in meta]
    rows = []
    for point, g in ok.groupby("point", sort=True):
        row: dict[str, Any] = {"point": point, **{f[7:]: g[f].iloc[0] for f in factors},
                               "n": len(g)}
        for k in outcomes:
            x = pd.to_numeric(g[k], errors="coerce").dropna()
            m = x.mean()
            half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / len(x) ** 0.5 \
                if len(x) > 1 else float("nan")
            row[f"{k}_mean"], row[f"{k}_ci95"] = m, half
        rows.append(row)
    return pd.DataFrame(rows)
