"""Running an experiment's runs, resumably, and keeping one result row per run.

Results live under the output directory:
- ``manifest.json``: experiment file hash, its design points and replicates, package version,
  git revision, start time, machine; reusing a directory with a changed experiment is refused;
- ``.sim-sweep``: the marker that makes the directory recognisable as a sweep's (so ``sim run``
  will not replace it, and a later ``sim sweep`` resumes it);
- ``.sim-sweep.lock``: held while a sweep writes, so two sweeps started into the same directory
  cannot both compute the same runs (the second is refused at once);
- ``runs/ts-NNNNNN.parquet``: the run's per-tick ledgers, when the experiment asks for them;
- ``runs/run-NNNNNN.parquet``: one row per finished run (its factor values, seed, outcomes,
  runtime, status, error, provenance), each written atomically by the coordinating process, so a
  killed sweep loses at most the runs in flight and a rerun does exactly the missing ones.
Failed runs are recorded with their error and do not stop the sweep; ``retry_failed`` reruns
them; the command line exits non-zero while any run is failed or missing. Executors:
``inprocess`` (for debugging), ``local`` (worker processes) and ``dask`` (a Dask distributed
cluster, connected before anything is written); each run's result depends only on its config,
never on the executor.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from . import provenance
from .config import Config, ConfigError
from .experiment import LoadedExperiment, RunSpec, load_experiment
from .output import atomic_file, claim_output, dumps, output_kind, write_marker
from .threads import set_threads

META_COLUMNS = frozenset({"run", "point", "replicate", "seed", "status", "error",
                          "runtime_seconds", "provenance"})
"""Columns of a result row that describe the run rather than its outcomes (besides its
``factor:KEY`` columns)."""


def execute(config: Config, run: RunSpec, outcomes: list[str], timeseries: bool = False,
            command: str | None = None) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Simulate one run; returns its result row and, if asked, its per-tick series (never
    raises: a failure becomes a row with its error).

    It takes the run's whole validated config, so a worker needs no access to the experiment's
    files (as on a cluster). ``command`` (the sweep's command line) goes into the row's
    provenance, which is otherwise taken where the run is computed (its machine, libraries)."""
    from .runner import run as run_model

    started = provenance.now()
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
            v = summary[k]
            row[k] = len(v) if isinstance(v, list) else v
        row.update(status="ok", error="")
    except Exception as exc:  # noqa: BLE001 - a failed run is data, not a crash
        for k in outcomes:
            row[k] = None
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}\n"
                   + traceback.format_exc(limit=3))
    row["runtime_seconds"] = round(time.perf_counter() - t0, 3)
    prov = provenance.record(config.model_dump(mode="json"),
                             f"sweep run {run.index} (seed {run.seed})", started)
    if command:
        prov["command"] = command
    row["provenance"] = json.dumps(prov, sort_keys=True)
    return row, series


class ResultStore:
    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.runs_dir = self.out / "runs"

    def manifest(self) -> dict[str, Any]:
        """The manifest, or {} when there is none (not a sweep directory, or not started)."""
        try:
            return json.loads((self.out / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def open(self, exp: LoadedExperiment) -> None:
        manifest = self.out / "manifest.json"
        if manifest.exists():
            old = self.manifest()
            if old.get("experiment_sha256") != exp.sha256:
                raise ConfigError(
                    f"{self.out} holds results of a different experiment (the experiment or its "
                    f"base scenario changed since); use a new --out directory")
            return
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        rev, dirty = provenance.git_state()
        info = {"experiment": str(exp.path), "experiment_name": exp.spec.name,
                "experiment_sha256": exp.sha256, "package_version": provenance.package_version(),
                "git_revision": rev, "git_dirty": dirty, "command": provenance.command.get(),
                "started": provenance.now(), "machine": provenance.machine(),
                "libraries": provenance.library_versions(),
                "runs": len(exp.runs()), "replicates": exp.spec.replicates,
                "points": exp.points.to_dict("records")}
        write_marker(self.out, "sweep", experiment=str(exp.path))
        atomic_file(manifest, dumps(info))

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

    def failures(self) -> pd.DataFrame:
        """Failed runs: run, point, seed and the first line of the error."""
        df = self.results()
        if df.empty:
            return df
        bad = df[df["status"] != "ok"][["run", "point", "seed", "error"]].copy()
        bad["error"] = bad["error"].astype(str).str.split("\n").str[0]
        bad["file"] = [str(self.path(int(i))) for i in bad["run"]]
        return bad.reset_index(drop=True)

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
              progress: Callable[[int, int, int], None] | None = None,
              connect_timeout: float = 10.0) -> pd.DataFrame:
    """Run every missing run of the experiment into ``out``; returns all result rows.

    ``executor``: ``inprocess``, ``local`` (``workers`` processes) or ``dask`` (one task per run
    on the Dask scheduler at ``scheduler``, started the usual way: ``dask scheduler`` and
    ``dask worker``, or dask-jobqueue). Results do not depend on the executor.

    Everything that can be checked is checked before anything is written: the experiment, the
    output location (``claim_output``: new, empty, or this experiment's earlier sweep), the
    executor and the Dask scheduler's reachability. Then the directory is locked for the whole
    sweep; a second sweep into it raises ConfigError at once."""
    exp = load_experiment(exp_path)
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; allowed: {', '.join(EXECUTORS)}")
    base = (exp.path.parent / exp.spec.base).resolve()
    claim_output(out, "sweep", inputs=[exp.path, base])
    with contextlib.ExitStack() as stack:
        client = None
        if executor == "dask":
            client = stack.enter_context(_dask_client(scheduler, connect_timeout))
        out = Path(out)
        created = not out.exists()
        out.mkdir(parents=True, exist_ok=True)
        try:
            stack.enter_context(_lock(out))
        except ConfigError:
            if created:
                shutil.rmtree(out, ignore_errors=True)
            raise
        store = ResultStore(out)
        store.open(exp)
        _compute(exp, store, executor, workers, client, retry_failed, progress)
    return store.results()


EXECUTORS = ("inprocess", "local", "dask")
LOCK_NAME = ".sim-sweep.lock"


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    """Hold the sweep directory's lock (an OS file lock via ``filelock``: released by the OS if
    the process dies, so a killed sweep never leaves a stale lock)."""
    from filelock import FileLock, Timeout

    lock = FileLock(out / LOCK_NAME)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConfigError(f"another sweep is writing into {out} (its lock "
                          f"{out / LOCK_NAME} is held); wait for it to finish or use another "
                          "--out") from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def _dask_client(scheduler: str | None, timeout: float) -> Iterator[Any]:
    """A connected Dask client, or ConfigError (before anything is written)."""
    if not scheduler:
        raise ConfigError("the dask executor needs a scheduler address (--scheduler)")
    from distributed import Client

    try:
        client = Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {scheduler!r} "
                          f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    try:
        yield client
    finally:
        client.close()


def _compute(exp: LoadedExperiment, store: ResultStore, executor: str, workers: int | None,
             client: Any, retry_failed: bool,
             progress: Callable[[int, int, int], None] | None) -> None:
    status = store.status()
    todo = [r for r in exp.runs()
            if r.index not in status or (retry_failed and status[r.index] != "ok")]
    done = sum(1 for s in status.values() if s == "ok")
    failed = 0 if retry_failed else sum(1 for s in status.values() if s == "failed")
    command = provenance.command.get()

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
            record(execute(exp.config(r), r, outcomes, keep, command))
    elif executor == "local":
        workers = workers or os.cpu_count() or 1
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                                 initializer=set_threads, initargs=(1,)) as pool:
            pending = {pool.submit(execute, exp.config(r), r, outcomes, keep, command)
                       for r in todo}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    record(f.result())
    else:
        from distributed import as_completed

        futures = [client.submit(execute, exp.config(r), r, outcomes, keep, command,
                                 pure=False) for r in todo]
        for f in as_completed(futures):
            record(f.result())


STATUS_COLUMNS = ("n", "n_failed", "n_missing", "status")
"""Columns of :func:`report` that count a point's runs: ``n`` finished, ``n_failed`` failed,
``n_missing`` not recorded (never run, or in flight when the sweep stopped); ``status`` is
``ok``, ``partial``, ``failed`` or ``missing``."""


def mean_ci95(values: np.ndarray) -> dict[str, float]:
    """n, mean and 95% confidence half-width (scipy's t interval) of the finite values; NaN
    where undefined (no value; one value for the half-width). ``sim report`` and every figure
    use this one interval, so that they agree."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    mean = float(x.mean()) if n else np.nan
    if n < 2:
        return {"n": n, "mean": mean, "ci95": np.nan}
    sem = stats.sem(x)
    if sem == 0:  # every replicate agrees
        return {"n": n, "mean": mean, "ci95": 0.0}
    lo, hi = stats.t.interval(0.95, n - 1, loc=mean, scale=sem)
    return {"n": n, "mean": mean, "ci95": float((hi - lo) / 2)}


def report(out: str | Path, outcomes: list[str] | None = None) -> pd.DataFrame:
    """Mean and 95% confidence interval (t) of each outcome per design point, and how many of
    the point's runs finished, failed or are missing. Every design point in the manifest has a
    row, so failed and missing points show (with empty means) instead of dropping out."""

    store = ResultStore(out)
    df = store.results()
    manifest = store.manifest()
    points = manifest.get("points")
    reps = manifest.get("replicates")
    if df.empty and not points:
        return df
    factors = [c for c in df.columns if c.startswith("factor:")]
    if points:
        factors = sorted(set(factors) | {f"factor:{k}" for p in points for k in p},
                         key=lambda c: (c not in factors, c))
    meta = set(factors) | META_COLUMNS
    outcomes = outcomes or [c for c in df.columns if c not in meta]
    ids = range(len(points)) if points else sorted(df["point"].unique())
    rows = []
    for point in ids:
        g = df[df["point"] == point] if not df.empty else df
        ok = g[g["status"] == "ok"] if not g.empty else g
        if points:
            values = {f[7:]: points[point].get(f[7:]) for f in factors}
        else:
            values = {f[7:]: g[f].iloc[0] for f in factors}
        n_failed = int((g["status"] != "ok").sum()) if not g.empty else 0
        n_missing = max(0, reps - len(g)) if reps else 0
        status = ("missing" if len(g) == 0 else "failed" if len(ok) == 0
                  else "partial" if n_failed or n_missing else "ok")
        row: dict[str, Any] = {"point": point, **values, "n": len(ok), "n_failed": n_failed,
                               "n_missing": n_missing, "status": status}
        for k in outcomes:
            x = pd.to_numeric(ok[k], errors="coerce").to_numpy(float) if k in ok \
                else np.zeros(0)
            ci = mean_ci95(x)
            row[f"{k}_mean"], row[f"{k}_ci95"] = ci["mean"], ci["ci95"]
        rows.append(row)
    return pd.DataFrame(rows)


def report_by(out: str | Path, by: list[str], outcomes: list[str] | None = None
              ) -> pd.DataFrame:
    """Each outcome's spread over all finished runs with the same levels of the factors ``by``
    (pooling replicates and every other factor, e.g. the posterior draws of a posterior sweep;
    no factors: all runs pooled): n, mean with its 95% t-interval, median and the 5% and 95%
    quantiles."""
    df = ResultStore(out).results()
    if df.empty:
        return df
    cols = [f"factor:{k}" for k in by]
    missing = [k for k, c in zip(by, cols, strict=True) if c not in df.columns]
    if missing:
        known = sorted(c[7:] for c in df.columns if c.startswith("factor:"))
        raise ConfigError(f"--by: {missing} not a factor of this sweep; factors: {known}")
    ok = df[df["status"] == "ok"]
    meta = {c for c in df.columns if c.startswith("factor:")} | META_COLUMNS
    outcomes = outcomes or [c for c in df.columns if c not in meta]
    rows = []
    groups = ok.groupby(cols, sort=False, dropna=False) if cols else [((), ok)]
    for levels, g in groups:
        row: dict[str, Any] = dict(zip(by, levels, strict=True)) | {"n": len(g)}
        for k in outcomes:
            x = pd.to_numeric(g[k], errors="coerce").to_numpy(float)
            x = x[np.isfinite(x)]
            ci = mean_ci95(x)
            q = np.quantile(x, [0.05, 0.5, 0.95]) if x.size else [np.nan] * 3
            row |= {f"{k}_mean": ci["mean"], f"{k}_ci95": ci["ci95"], f"{k}_median": q[1],
                    f"{k}_q05": q[0], f"{k}_q95": q[2]}
        rows.append(row)
    return pd.DataFrame(rows)


def load(path: str | Path, table: str = "results") -> Any:
    """Load a sweep's or a run's results into pandas, in one line.

    Sweep directory: ``table="results"`` (one row per run: factors, seed, outcomes, status,
    error, provenance), ``"timeseries"`` (per-tick ledgers of the finished runs, column ``run``;
    needs ``timeseries = true``) or ``"report"`` (:func:`report`).
    Run directory (``sim run --out``): ``"summary"`` (the summary.json dict) or a table name:
    ``timeseries``, ``posts``, ``reports``, ``removals``, ``accounts``, ``operators``
    (``"results"`` means ``timeseries`` there)."""
    path = Path(path)
    kind = output_kind(path)
    if kind == "sweep":
        store = ResultStore(path)
        readers = {"results": store.results, "timeseries": store.timeseries,
                   "report": lambda: report(path)}
        if table not in readers:
            raise ConfigError(f"load: table {table!r}; a sweep has {', '.join(readers)}")
        return readers[table]()
    if kind == "run" or (path / "summary.json").is_file():
        if table == "summary":
            return json.loads((path / "summary.json").read_text(encoding="utf-8"))
        name = "timeseries" if table == "results" else table
        file = path / f"{name}.parquet"
        if not file.is_file():
            raise ConfigError(f"load: {path} has no table {table!r}")
        return pd.read_parquet(file)
    raise ConfigError(f"load: {path} is not the output of `sim run` or `sim sweep`")
