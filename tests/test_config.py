"""Bad input gets one clear message naming the field and its allowed range; nothing is written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sim
from sim.config import ConfigError, build_config, load_config, parse_override
from sim.output import atomic_dir

ROOT = Path(__file__).resolve().parents[1]
PRESET = ROOT / "experiments" / "spamouflage.toml"


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"operation.fluency_mean": 2.0},
     ["operation.fluency_mean", "less than or equal to 0.99", "allowed range: 0 < value <= 0.99"]),
    ({"population.n_users": 5}, ["population.n_users", "10 <= value <= 50000000"]),
    ({"population.bogus": 1}, ["population.bogus", "unknown field"]),
    ({"platforms.0.ranking": "random"}, ["platforms.0.ranking", "'chronological' or "]),
    ({"run.days": "soon"}, ["run.days", "valid number"]),
    ({"population.diurnal": [1.0, 2.0]}, ["population.diurnal", "24 entries"]),
    ({"operation.persona_communities": {"martians": 1.0}}, ["unknown community 'martians'"]),
    ({"operation.work_blocks": [[12, 9]]}, ["work block (12, 9)"]),
    ({"engagement.feed_max_age_hours": 12}, ["engagement.feed_max_age_hours", "24 <= value"]),
    ({"moderation.window_hours": 200}, ["moderation.window_hours (200",
                                        "engagement.feed_max_age_hours (168)"]),
])
def test_bad_values_name_the_field(overrides, expected):
    with pytest.raises(ConfigError) as err:
        load_config(PRESET, overrides)
    for text in expected:
        assert text in str(err.value)


def test_every_error_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        build_config({"population": {"like_prob": -1, "post_prob": 3}})
    msg = str(err.value)
    assert "population.like_prob" in msg and "population.post_prob" in msg


def test_file_problems(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[population\nn_users = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_overrides_parse_as_toml_and_address_platforms_by_name():
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override("a.b=true") == ("a.b", True)
    assert parse_override("a.b=[1, 2]") == ("a.b", [1, 2])
    assert parse_override("a.b=engagement") == ("a.b", "engagement")
    cfg = load_config(PRESET, {"platforms.video.feed_capacity": 7})
    assert cfg.platforms[2].feed_capacity == 7
    with pytest.raises(ConfigError, match="unknown platform 'tiktok'"):
        load_config(PRESET, {"platforms.tiktok.feed_capacity": 7})
    with pytest.raises(ConfigError, match="--set"):
        parse_override("no-equals-sign")


def test_preset_is_valid_and_matches_its_sources():
    cfg = load_config(PRESET)
    assert cfg.population.n_users >= 100_000 and len(cfg.platforms) >= 3
    assert cfg.operation.n_operators == 34  # DOJ 2023
    assert cfg.operation.utc_offset == 8  # Meta 2023


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_cli_rejects_bad_config_without_writing(tmp_path):
    out = tmp_path / "out"
    r = _cli("run", str(PRESET), "--out", str(out), "--users", "300", "--days", "0.1",
             "--set", "engagement.reply_view_prob=1.5", cwd=tmp_path)
    assert r.returncode == 2
    assert "engagement.reply_view_prob" in r.stderr and "allowed range" in r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_run_writes_every_output(tmp_path):
    out = tmp_path / "out"
    r = _cli("run", str(PRESET), "--out", str(out), "--users", "400", "--days", "0.5",
             "--seed", "3", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [".sim-run", "accounts.parquet", "figures/headline.png", "operators.parquet",
                     "posts.parquet", "removals.parquet", "reports.parquet", "summary.json",
                     "timeseries.parquet"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary leftovers


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_run_leaves_no_results(tmp_path, sig):
    """Killed while it simulates (a year of 20,000 users takes far longer than the wait; a
    month's run, about 4 s on a fast machine, was sometimes already writing its results)."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "run", str(PRESET), "--out", str(out), "--users",
         "20000", "--days", "365", "--no-progress"], cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4)
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert leftovers == []  # nothing had been written yet: results appear only when complete


def test_the_next_write_removes_what_a_run_killed_while_writing_left(tmp_path):
    stale = tmp_path / ".out.partial-x1"  # (SIGKILL while writing: no chance to clean up)
    stale.mkdir()
    (stale / "posts.parquet").write_text("half written")
    with atomic_dir(tmp_path / "out") as d:
        (d / "summary.json").write_text("{}")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["summary.json"]


def test_python_api_accepts_path_config_and_dict():
    a = sim.run(PRESET, users=300, days=0.25, seed=5)
    b = sim.run(load_config(PRESET), users=300, days=0.25, seed=5)
    assert a.summary["posts_published"] == b.summary["posts_published"]
    assert a.summary["seed"] == 5 and len(a.timeseries) == 6
