"""Sweeps: resumable after a hard kill, identical across executors, failures recorded."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim.runner
from sim.config import ConfigError
from sim.sweep import report, run_sweep

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "experiments" / "spamouflage.toml"


def _experiment(tmp: Path, replicates: int = 2, users: int = 600, extra: str = "") -> Path:
    p = tmp / "exp.toml"
    p.write_text(f'''name = "t"
base = "{BASE.as_posix()}"
users = {users}
days = 0.5
replicates = {replicates}
root_seed = 3
outcomes = ["posts_published", "organic_impressions", "organic_engagements"]
{extra}
[design]
kind = "grid"
[design.factors]
"operation.fluency_mean" = [0.3, 0.8]
''')
    return p


def _outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """Result rows without the columns that record time, machine and call."""
    return df.drop(columns=["runtime_seconds", "provenance"]).sort_values("run") \
        .reset_index(drop=True)


def test_executors_agree_and_rerun_is_a_no_op(tmp_path):
    exp = _experiment(tmp_path)
    a = run_sweep(exp, tmp_path / "a", executor="inprocess")
    b = run_sweep(exp, tmp_path / "b", executor="local", workers=2)
    assert len(a) == 4 and (a["status"] == "ok").all()
    pd.testing.assert_frame_equal(_outcomes(a), _outcomes(b))
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "a" / "runs").iterdir()}
    again = run_sweep(exp, tmp_path / "a", executor="inprocess")
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "a" / "runs").iterdir()} == before
    pd.testing.assert_frame_equal(_outcomes(again), _outcomes(a))
    table = report(tmp_path / "a")
    assert list(table["n"]) == [2, 2] and "organic_engagements_ci95" in table


def test_dask_executor_gives_the_same_rows(tmp_path):
    from distributed import LocalCluster

    exp = _experiment(tmp_path)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        d = run_sweep(exp, tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address)
    a = run_sweep(exp, tmp_path / "a", executor="inprocess")
    pd.testing.assert_frame_equal(_outcomes(d), _outcomes(a))


def test_killed_sweep_resumes_without_loss_or_duplicates(tmp_path):
    exp = _experiment(tmp_path, replicates=8, users=3000)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim.cli", "sweep", str(exp), "--out", str(out),
           "--workers", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # its own process group, workers included
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "runs").glob("run-*.parquet"))
                                         if (out / "runs").exists() else []) < 3:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)  # the coordinator dies mid-write
    proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):  # then its orphaned workers, as a job kill would
        os.killpg(proc.pid, signal.SIGKILL)
    partial = len(list((out / "runs").glob("run-*.parquet")))
    assert 3 <= partial < 16, "the kill should land part-way"
    resumed = run_sweep(exp, out, executor="local", workers=2)
    full = run_sweep(exp, tmp_path / "full", executor="inprocess")
    assert sorted(resumed["run"]) == list(range(16))
    assert not list((out / "runs").glob(".*.tmp"))
    pd.testing.assert_frame_equal(_outcomes(resumed), _outcomes(full))


def test_a_failing_run_is_recorded_and_the_rest_complete(tmp_path, monkeypatch):
    exp = _experiment(tmp_path)
    real = sim.runner.run

    def flaky(cfg, *a, **kw):  # the fluent design point's two runs fail
        if cfg.operation.fluency_mean > 0.5:
            raise RuntimeError("boom")
        return real(cfg, *a, **kw)

    monkeypatch.setattr(sim.runner, "run", flaky)
    df = run_sweep(exp, tmp_path / "out", executor="inprocess")
    failed = df[df["status"] == "failed"]
    assert len(df) == 4 and len(failed) == 2
    assert failed["error"].str.contains("RuntimeError: boom").all()
    assert failed["organic_engagements"].isna().all()
    monkeypatch.setattr(sim.runner, "run", real)
    again = run_sweep(exp, tmp_path / "out", executor="inprocess")
    assert (again["status"] == "failed").sum() == 2  # failures are kept until asked
    retried = run_sweep(exp, tmp_path / "out", executor="inprocess", retry_failed=True)
    assert (retried["status"] == "ok").all()


def test_per_tick_series_are_kept_when_asked(tmp_path):
    from sim.sweep import ResultStore

    exp = _experiment(tmp_path, extra="timeseries = true")
    df = run_sweep(exp, tmp_path / "out", executor="local", workers=2)
    ts = ResultStore(tmp_path / "out").timeseries()
    assert sorted(ts["run"].unique()) == sorted(df["run"]) and len(ts) == 4 * 12
    last = ts.sort_values("tick").groupby("run").last()
    assert (last["organic_impressions"] == df.set_index("run")["organic_impressions"]).all()


def test_changed_experiment_is_refused(tmp_path):
    exp = _experiment(tmp_path)
    run_sweep(exp, tmp_path / "out", executor="inprocess")
    _experiment(tmp_path, replicates=3)
    with pytest.raises(ConfigError, match="different experiment"):
        run_sweep(exp, tmp_path / "out", executor="inprocess")


def test_adding_a_figure_recipe_keeps_the_results(tmp_path):
    """Figure recipes do not change the runs, so a finished sweep accepts new ones."""
    exp = _experiment(tmp_path)
    first = run_sweep(exp, tmp_path / "out", executor="inprocess")
    text = exp.read_text() + ('\n[[figures]]\nname = "f"\nkind = "lines"\n'
                              'x = "operation.fluency_mean"\ny = ["posts_published"]\n')
    exp.write_text(text)
    again = run_sweep(exp, tmp_path / "out", executor="inprocess")  # nothing to do, no refusal
    cols = ["run", "seed", "status", "posts_published"]
    assert again[cols].equals(first[cols])


def test_replicates_only_experiment(tmp_path):
    p = tmp_path / "reps.toml"
    p.write_text(f'name = "reps"\nbase = "{BASE.as_posix()}"\nusers = 300\ndays = 0.25\n'
                 'replicates = 3\n')
    df = run_sweep(p, tmp_path / "out", executor="inprocess")
    assert list(df["point"]) == [0, 0, 0] and df["seed"].nunique() == 3


def test_run_seeds_depend_only_on_root_seed_and_index(tmp_path):
    from sim.experiment import load_experiment

    a = load_experiment(_experiment(tmp_path, replicates=2)).runs()
    b = load_experiment(_experiment(tmp_path, replicates=3)).runs()
    assert [r.seed for r in a[:2]] == [r.seed for r in b[:2]]
    assert len({r.seed for r in b}) == len(b)
