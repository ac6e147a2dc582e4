"""Outputs: nothing the user did not ask to replace is destroyed, unwritable places are found
before any work, and a run killed while it writes leaves no half-written results."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sim
import sim.runner
from sim.cli import app
from sim.config import ConfigError
from sim.output import OutputError, claim_output, marker_name

ROOT = Path(__file__).resolve().parents[1]
PRESET = ROOT / "experiments" / "spamouflage.toml"
TINY = {"users": 50, "days": 0.1}


@pytest.fixture(scope="module")
def tiny_run() -> sim.RunResult:
    return sim.run(PRESET, seed=1, **TINY)


@pytest.fixture
def no_simulation(monkeypatch):
    """Make any simulation an error: a refusal must come before the model runs."""
    def boom(*a, **k):
        raise AssertionError("simulated although the output location was refused")
    monkeypatch.setattr(sim.runner, "run", boom)


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file()}


# ---- claim_output: the rules --------------------------------------------------------------

def test_claim_allows_new_and_empty_places(tmp_path):
    assert claim_output(tmp_path / "new" / "deeper", "run") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # claiming creates nothing
    (tmp_path / "empty").mkdir()
    claim_output(tmp_path / "empty", "run")


@pytest.mark.parametrize("kind", ["run", "sweep", "calibration", "figures"])
def test_claim_refuses_unrelated_folder_and_files(tmp_path, kind):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match="mine.*not empty"):
        claim_output(tmp_path / "mine", kind, force=True)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="afile.*existing file"):
        claim_output(tmp_path / "afile", kind, force=True)
    with pytest.raises(OutputError, match="afile is a file"):
        claim_output(tmp_path / "afile" / "sub", kind)


def test_claim_refuses_working_directory_and_input_holders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match="working directory"):
        claim_output(".", "run", force=True)
    with pytest.raises(OutputError, match="working directory"):
        claim_output("..", "sweep", force=True)
    cfg = tmp_path / "cfgs" / "a.toml"
    cfg.parent.mkdir()
    cfg.write_text("")
    with pytest.raises(OutputError, match="input file"):
        claim_output(tmp_path / "cfgs", "run", force=True, inputs=[cfg])


def test_claim_replaces_an_earlier_output_only_of_its_kind_and_with_force(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    (d / marker_name("run")).write_text("{}")
    (d / "summary.json").write_text("{}")
    with pytest.raises(OutputError, match="--force"):
        claim_output(d, "run")
    claim_output(d, "run", force=True)
    with pytest.raises(OutputError, match="run's results"):
        claim_output(d, "sweep", force=True)
    with pytest.raises(OutputError, match="run's results"):
        claim_output(d, "calibration", force=True)


def test_claim_file_kind(tmp_path):
    f = tmp_path / "t.csv"
    claim_output(f, "file")
    f.write_text("keep")
    with pytest.raises(OutputError, match="overwrite"):
        claim_output(f, "file")
    claim_output(f, "file", force=True)


def test_unwritable_places_are_found_before_work(tmp_path):
    # a virtual filesystem: nothing can be created in /proc, whoever we are
    with pytest.raises(OutputError, match="not writable"):
        claim_output("/proc/sim-results", "run")
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(OutputError, match="not writable"):
            claim_output(ro / "out", "run")



def _read_only_mount_works(where: Path) -> bool:
    """A private mount namespace with a read-only tmpfs: root can test a read-only mount."""
    try:
        return subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o ro none {where}"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def test_a_read_only_mount_is_refused_before_work(tmp_path):
    """Root may write anywhere its permissions allow, but not on a read-only filesystem: the
    command refuses it, naming the path, before simulating."""
    ro = tmp_path / "ro"
    ro.mkdir()
    if not _read_only_mount_works(ro):
        pytest.skip("this machine cannot make a private read-only mount (unshare, mount)")
    cli = Path(sys.executable).parent / "sim"
    out = ro / "out"
    r = subprocess.run(["unshare", "-m", "sh", "-c",
                        f'mount -t tmpfs -o ro none {ro} && exec "$0" "$@"', str(cli), "run",
                        str(PRESET), "--out", str(out), "--no-progress"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "not writable" in r.stdout + r.stderr and str(out) in r.stdout + r.stderr
    assert "Read-only file system" in r.stdout + r.stderr
    assert "Traceback" not in r.stderr


# ---- the commands ----------------------------------------------------------------------------

def test_run_refuses_before_simulating(tmp_path, monkeypatch, no_simulation):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    r = _cli("run", str(PRESET), "--out", str(mine), "--force", "--no-progress")
    assert r.exit_code == 2 and str(mine) in r.output and "not empty" in r.output
    assert (mine / "notes.txt").read_text() == "precious"
    (tmp_path / "f").write_text("precious")
    r = _cli("run", str(PRESET), "--out", str(tmp_path / "f"), "--no-progress")
    assert r.exit_code == 2 and (tmp_path / "f").read_text() == "precious"
    # --out . in the folder that holds the config
    cfg = tmp_path / "proj" / "s.toml"
    cfg.parent.mkdir()
    cfg.write_text(PRESET.read_text())
    monkeypatch.chdir(cfg.parent)
    r = _cli("run", "s.toml", "--out", ".", "--force", "--no-progress")
    assert r.exit_code == 2 and "working directory" in r.output
    r = _cli("run", "s.toml", "--out", "..", "--force", "--no-progress")
    assert r.exit_code == 2
    assert cfg.read_text() == PRESET.read_text()
    r = _cli("run", "s.toml", "--out", "/proc/sim-out", "--no-progress")
    assert r.exit_code == 2 and "not writable" in r.output


def test_run_replaces_an_earlier_run_only_with_force(tmp_path):
    out = tmp_path / "out"
    args = ["run", str(PRESET), "--out", str(out), "--users", "50", "--days", "0.1",
            "--no-progress", "--no-figures"]
    assert _cli(*args, "--seed", "1").exit_code == 0
    first = _snapshot(out)
    r = _cli(*args, "--seed", "2")
    assert r.exit_code == 2 and "--force" in r.output
    assert _snapshot(out) == first
    assert _cli(*args, "--seed", "2", "--force").exit_code == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 2
    assert json.loads((out / ".sim-run").read_text())["kind"] == "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing left beside it


def test_save_refuses_a_sweep_directory(tmp_path, tiny_run):
    d = tmp_path / "sweep"
    d.mkdir()
    (d / "manifest.json").write_text('{"experiment_sha256": "x"}')
    (d / "runs").mkdir()
    with pytest.raises(ConfigError, match="sweep's results"):
        tiny_run.save(d, force=True)
    assert (d / "manifest.json").exists()


# ---- killed while writing ----------------------------------------------------------------

KILLER = """
import contextlib, os, pickle, signal, sys
from pathlib import Path
import sim.output, sim.runner

result = pickle.load(open(sys.argv[1], "rb"))
out = Path(sys.argv[2])
if sys.argv[3] == "inplace":
    @contextlib.contextmanager
    def in_place(target):  # the writer this test must catch: results written where they live
        Path(target).mkdir(parents=True, exist_ok=True)
        yield Path(target)
    sim.runner.atomic_dir = in_place
real = sim.runner.write_json
def die_after_writing(path, data):  # the first file is written, then the process is killed
    real(path, data)
    os.kill(os.getpid(), signal.SIGKILL)
sim.runner.write_json = die_after_writing
result.save(out, figures=False, force=True)
"""


def _damage_after_kill(tmp: Path, first: sim.RunResult, second: sim.RunResult,
                       writer: str) -> list[str]:
    """Save ``first`` normally, then ``second`` in a process killed while writing; return what
    is wrong afterwards (nothing, for a safe writer)."""
    out = tmp / "out"
    first.save(out, figures=False)
    before = _snapshot(out)
    pkl = tmp / "second.pkl"
    pkl.write_bytes(pickle.dumps(second))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT),
                                                        os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", KILLER, str(pkl), str(out), writer], env=env,
                          capture_output=True, text=True, timeout=120)
    problems = []
    if proc.returncode != -9:
        problems.append(f"writer was not killed mid-write (exit {proc.returncode}): "
                        f"{proc.stderr[-500:]}")
    if _snapshot(out) != before:
        problems.append("the earlier run's files changed")
    fresh = tmp / "fresh"
    subprocess.run([sys.executable, "-c", KILLER, str(pkl), str(fresh), writer], env=env,
                   capture_output=True, timeout=120)
    if fresh.exists():
        problems.append("a half-written run directory is visible")
    return problems


def test_run_killed_while_writing_leaves_nothing_half_written(tmp_path, tiny_run):
    second = sim.run(PRESET, seed=2, **TINY)
    assert _damage_after_kill(tmp_path, tiny_run, second, "atomic") == []
    # the next save cleans the hidden leftovers of the killed one
    second.save(tmp_path / "out", figures=False, force=True)
    assert not list(tmp_path.glob(".out.*"))
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["seed"] == 2


def test_the_kill_test_catches_an_in_place_writer(tmp_path, tiny_run):
    """The check above must be able to fail: against a writer that writes in place it does."""
    second = sim.run(PRESET, seed=2, **TINY)
    problems = _damage_after_kill(tmp_path, tiny_run, second, "inplace")
    assert "the earlier run's files changed" in problems
    assert "a half-written run directory is visible" in problems


# ---- sweeps, reports, plots --------------------------------------------------------------

def _experiment(tmp: Path, outcomes: str = '["posts_published", "organic_impressions"]',
                timeseries: bool = False) -> Path:
    p = tmp / "exp.toml"
    p.write_text(f'''name = "t"
base = "{PRESET.as_posix()}"
users = 50
days = 0.1
replicates = 2
root_seed = 3
timeseries = {str(timeseries).lower()}
outcomes = {outcomes}
[design]
kind = "grid"
[design.factors]
"operation.fluency_mean" = [0.3, 0.8]
''')
    return p


def test_sweep_refuses_unrelated_and_run_directories(tmp_path, tiny_run):
    from sim.sweep import run_sweep

    exp = _experiment(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "a.txt").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        run_sweep(exp, mine, executor="inprocess")
    tiny_run.save(tmp_path / "run", figures=False)
    with pytest.raises(ConfigError, match="run's results"):
        run_sweep(exp, tmp_path / "run", executor="inprocess")
    with pytest.raises(ConfigError, match="input file"):
        run_sweep(exp, tmp_path, executor="inprocess")


def test_unreachable_dask_scheduler_leaves_nothing(tmp_path):
    exp = _experiment(tmp_path)
    out = tmp_path / "res"
    r = _cli("sweep", str(exp), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9",
             "--no-progress")
    assert r.exit_code == 2 and "cannot reach the Dask scheduler" in r.output
    assert not out.exists()


def test_a_second_sweep_into_a_locked_directory_is_refused(tmp_path):
    from filelock import FileLock

    from sim.sweep import LOCK_NAME, run_sweep

    exp = _experiment(tmp_path)
    out = tmp_path / "res"
    out.mkdir()
    with FileLock(out / LOCK_NAME):  # as another sweep, just starting, holds it
        with pytest.raises(ConfigError, match="another sweep is writing"):
            run_sweep(exp, out, executor="inprocess")
    assert not (out / "runs").exists()  # it computed nothing
    assert len(run_sweep(exp, out, executor="inprocess")) == 4
    (out / "runs" / "run-000001.parquet").unlink()
    with FileLock(out / LOCK_NAME):  # another sweep resuming it
        with pytest.raises(ConfigError, match="another sweep is writing"):
            run_sweep(exp, out, executor="inprocess")
    assert not (out / "runs" / "run-000001.parquet").exists()


def test_failed_and_missing_runs_exit_non_zero_and_show_in_the_report(tmp_path, monkeypatch):
    exp = _experiment(tmp_path)
    out = tmp_path / "res"
    real = sim.runner.run

    def flaky(config, *a, **k):  # the runs at fluency 0.8 fail
        if config.operation.fluency_mean == 0.8:
            raise RuntimeError("boom at 0.8")
        return real(config, *a, **k)
    monkeypatch.setattr(sim.runner, "run", flaky)
    r = _cli("sweep", str(exp), "--out", str(out), "--executor", "inprocess", "--no-progress")
    assert r.exit_code == 1
    assert "2 of 4 runs failed" in r.output and "boom at 0.8" in r.output
    assert "run-NNNNNN.parquet" in r.output
    (out / "runs" / "run-000000.parquet").unlink()  # as if lost in flight
    r = _cli("report", str(out))
    assert r.exit_code == 0
    table = sim.load(out, "report")
    assert list(table["status"]) == ["partial", "failed"]
    assert list(table["n"]) == [1, 0] and list(table["n_failed"]) == [0, 2]
    assert list(table["n_missing"]) == [1, 0]
    assert "2 design points are incomplete" in r.output
    # a point with no rows at all still has its row
    for p in (out / "runs").glob("run-00000[23].parquet"):
        p.unlink()
    assert list(sim.load(out, "report")["status"]) == ["partial", "missing"]


def test_report_csv_does_not_overwrite_an_unrelated_file(tmp_path):
    from sim.sweep import run_sweep

    out = tmp_path / "res"
    run_sweep(_experiment(tmp_path), out, executor="inprocess")
    csv = tmp_path / "paper.csv"
    csv.write_text("mine")
    r = _cli("report", str(out), "--csv", str(csv))
    assert r.exit_code == 2 and "overwrite" in r.output and csv.read_text() == "mine"
    assert _cli("report", str(out), "--csv", str(csv), "--force").exit_code == 0
    assert csv.read_text().startswith("point,")
    r = _cli("report", str(tmp_path))
    assert r.exit_code == 2 and "not a sweep" in r.output
    r = _cli("plot", str(tmp_path))
    assert r.exit_code == 2 and "not a sweep" in r.output
