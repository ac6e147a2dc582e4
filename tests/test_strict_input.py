"""Input is refused, not coerced, and every refusal is a short ConfigError naming the field.

The property-based tests feed random bytes, random TOML and random values to config and
experiment loading and to ``sim.run`` at tiny sizes: any exception other than ConfigError is a
bug (a traceback a user would see, or a constraint discovered mid-run)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import sim
from sim.calibration.spec import load_calibration
from sim.cli import app
from sim.config import Config, ConfigError, build_config, load_config
from sim.experiment import load_experiment
from sim.outcomes import CONDITIONAL_OUTCOMES, OPERATION_OUTCOMES, SIMSOM_OUTCOMES

ROOT = Path(__file__).resolve().parents[1]
PRESET = ROOT / "experiments" / "spamouflage.toml"
SIMSOM = ROOT / "experiments" / "simsom.toml"


@pytest.mark.parametrize(("key", "value", "field"), [
    ("run.days", True, "run.days"),
    ("population.like_prob", "0.5", "population.like_prob"),
    ("population.n_users", 100.5, "population.n_users"),
    ("population.n_users", 100.0, "population.n_users"),
    ("run.seed", False, "run.seed"),
    ("operation.work_blocks", [[9, 12.0]], "operation.work_blocks"),
    ("population.diurnal", [1.0] * 23 + [math.nan], "population.diurnal.23"),
    ("operation.platform_weights", {"x": math.inf}, "operation.platform_weights.x"),
    ("population.communities.0.share", -math.inf, "population.communities.0.share"),
    ("run.days", math.nan, "run.days"),
])
def test_wrong_types_and_non_finite_numbers_are_refused(key, value, field):
    with pytest.raises(ConfigError) as e:
        load_config(PRESET, overrides={key: value})
    assert field in str(e.value) and "Traceback" not in str(e.value)


def test_integers_are_fine_where_real_numbers_are_meant():
    cfg = build_config({}, {"run.days": 2, "population.like_prob": 0, "operation.work_blocks":
                            [[9, 12]]})
    assert cfg.run.days == 2.0 and cfg.operation.work_blocks == [(9, 12)]
    # and a config survives a round trip through JSON (tuples come back as arrays)
    assert build_config(json.loads(json.dumps(cfg.model_dump(mode="json")))) == cfg


def test_nan_in_free_form_experiment_tables_is_refused(tmp_path):
    p = tmp_path / "e.toml"
    p.write_text(f'name = "x"\nbase = "{PRESET.as_posix()}"\n[overrides]\n'
                 '"operation.fluency_mean" = nan\n')
    with pytest.raises(ConfigError, match=r"overrides\.operation\.fluency_mean: NaN"):
        load_experiment(p)


def test_files_that_are_not_scenarios_say_what_they_are(tmp_path):
    with pytest.raises(ConfigError, match="experiment file.*sim sweep"):
        load_config(ROOT / "experiments" / "volume.toml")
    with pytest.raises(ConfigError, match="scenario file.*sim run"):
        load_experiment(PRESET)
    calibration = ROOT / "experiments" / "calibration" / "tiny.toml"
    with pytest.raises(ConfigError, match="calibration file.*sim calibrate"):
        load_config(calibration)
    with pytest.raises(ConfigError, match="calibration file.*sim calibrate"):
        load_experiment(calibration)
    for other, says in ((PRESET, "scenario file.*sim run"),
                        (ROOT / "experiments" / "volume.toml", "experiment file.*sim sweep")):
        with pytest.raises(ConfigError, match=says):
            load_calibration(other, dry_run=False)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('[run]\n# caf\xe9\n'.encode("latin-1"))
    for load in (load_config, load_experiment, load_calibration):
        with pytest.raises(ConfigError, match="not UTF-8"):
            load(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path)


def test_huge_values_are_quoted_cut_short(tmp_path):
    p = tmp_path / "huge.toml"
    p.write_text(f"[run]\nseed = {'9' * 4000}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "run.seed" in str(e.value) and len(str(e.value)) < 250 + len(str(p))
    p.write_text(f"[run]\nseed = {'9' * 5000}\n")  # too long for Python to read as a number
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)
    with pytest.raises(ConfigError) as e:
        build_config({}, {"operation.name": "x" * 10_000})
    assert len(str(e.value)) < 300


def test_cli_input_errors_are_one_message_without_traceback(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["run", str(PRESET), "--set", "platforms.nosuch.ranking=1",
                            "--out", str(tmp_path / "o"), "--no-progress"])
    assert r.exit_code == 2 and "unknown platform 'nosuch'" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "o").exists()
    r = runner.invoke(app, ["run", str(ROOT / "experiments" / "volume.toml"), "--out",
                            str(tmp_path / "o")])
    assert r.exit_code == 2 and "experiment file" in r.output
    r = runner.invoke(app, ["sweep", str(PRESET), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "scenario file" in r.output


def test_simsom_refuses_general_sizes_it_would_ignore(tmp_path):
    with pytest.raises(ConfigError, match="SimSoM ignores population.n_users"):
        sim.run(SIMSOM, users=50)
    with pytest.raises(ConfigError, match="run.days"):
        sim.run(SIMSOM, days=1)
    p = tmp_path / "e.toml"
    p.write_text(f'name = "x"\nbase = "{SIMSOM.as_posix()}"\nusers = 100\n'
                 'outcomes = ["relative_quality"]\n')
    with pytest.raises(ConfigError, match="SimSoM"):
        load_experiment(p)


def _experiment(tmp: Path, outcomes: str, extra: str = "") -> Path:
    p = tmp / "e.toml"
    p.write_text(f'name = "x"\nbase = "{PRESET.as_posix()}"\nusers = 50\ndays = 0.1\n'
                 f'outcomes = {outcomes}\n{extra}')
    return p


def test_outcome_names_are_checked_before_any_run(tmp_path):
    with pytest.raises(ConfigError, match="'organic_engagement' is not an outcome"):
        load_experiment(_experiment(tmp_path, '["organic_engagement"]'))
    with pytest.raises(ConfigError, match="only when adaptation.enabled"):
        load_experiment(_experiment(tmp_path, '["allocation_volume"]'))
    load_experiment(_experiment(tmp_path, '["allocation_volume"]',
                                '[overrides]\n"adaptation.enabled" = true\n'))


def test_known_outcomes_match_what_runs_report():
    """The lists the outcome check uses are the keys real runs produce (so they cannot drift)."""
    structural = {"schema_version", "package_version", "config", "provenance"}
    plain = sim.run(PRESET, users=50, days=0.1, overrides={"moderation.enabled": False})
    assert set(plain.summary) - structural == OPERATION_OUTCOMES
    full = sim.run(PRESET, users=50, days=0.1, overrides={
        "moderation.enabled": True, "moderation.counterfactual": True,
        "adaptation.enabled": True})
    extra = set().union(*(keys for _, keys in CONDITIONAL_OUTCOMES.values()))
    assert set(full.summary) - structural == OPERATION_OUTCOMES | extra
    soc = sim.run(SIMSOM, overrides={"simsom.n_humans": 30, "simsom.max_steps": 3,
                                     "simsom.followees_mean": 5.0})
    assert set(soc.summary) - structural == SIMSOM_OUTCOMES


def test_summary_json_has_provenance_and_no_bare_nan(tmp_path):
    r = sim.run(PRESET, users=50, days=0.1, overrides={"moderation.enabled": False})
    out = r.save(tmp_path / "o", figures=False)

    def no_constants(name):
        raise AssertionError(f"bare {name} in summary.json")
    s = json.loads((out / "summary.json").read_text(), parse_constant=no_constants)
    p = s["provenance"]
    for k in ("package_version", "git_revision", "git_dirty", "config_sha256", "command",
              "libraries", "machine", "started"):
        assert k in p, k
    assert {"numpy", "numba", "mesa", "pandas", "pydantic"} <= set(p["libraries"])
    from importlib.metadata import PackageNotFoundError, version

    def installed(name):  # (imported libraries give their own version: the same)
        try:
            return version(name)
        except PackageNotFoundError:
            return ""
    assert {k: installed(k) for k in p["libraries"] if k != "python"} == \
        {k: v for k, v in p["libraries"].items() if k != "python"}
    assert p["command"].startswith("sim.run(")
    from sim.provenance import config_sha256
    assert p["config_sha256"] == config_sha256(s["config"])
    other = sim.run(PRESET, users=60, days=0.1, overrides={"moderation.enabled": False})
    assert other.summary["provenance"]["config_sha256"] != p["config_sha256"]


# ---- property-based -------------------------------------------------------------------------

FIELDS = sorted(
    f"{section}.{name}" for section, info in Config.model_fields.items()
    if isinstance(info.annotation, type) and hasattr(info.annotation, "model_fields")
    for name in info.annotation.model_fields) + ["platforms.0.ranking", "platforms.1.name",
                                                 "population.communities.0.share", "nosuch.x"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-10, 100),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1), st.text(max_size=20),
    st.sampled_from([10**400, -(10**30), "chung_lu", "remove", "network", "hours"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                         HealthCheck.too_slow])


@settings(SETTINGS, max_examples=150)
@given(st.binary(max_size=400))
def test_random_bytes_give_config_errors_only(tmp_path, data):
    p = tmp_path / "x.toml"
    p.write_bytes(data)
    for load in (load_config, load_experiment):
        try:
            load(p)
        except ConfigError:
            pass


toml_docs = st.dictionaries(
    st.sampled_from(["run", "population", "operation", "simsom", "name", "base", "design",
                     "outcomes", "replicates", "overrides", "x"]),
    st.one_of(values, st.dictionaries(st.sampled_from(
        ["days", "seed", "n_users", "kind", "factors", "enabled", "like_prob", "n", "x"]),
        values, max_size=3)), max_size=4)


def _toml(doc: dict) -> str | None:
    def clean(x):  # TOML has no null
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items() if v is not None}
        if isinstance(x, list):
            return [clean(v) for v in x if v is not None]
        return x
    try:
        return tomli_w.dumps(clean(doc))
    except (TypeError, ValueError):
        return None


@settings(SETTINGS, max_examples=150)
@given(toml_docs)
def test_random_toml_gives_config_errors_only(tmp_path, doc):
    text = _toml(doc)
    if text is None:
        return
    p = tmp_path / "x.toml"
    p.write_text(text, encoding="utf-8")
    for load in (load_config, load_experiment):
        try:
            load(p)
        except ConfigError:
            pass


@settings(SETTINGS, max_examples=300)
@given(st.dictionaries(st.sampled_from(FIELDS), values, max_size=3))
def test_random_overrides_give_config_errors_only(overrides):
    try:
        build_config({}, overrides)
    except ConfigError:
        pass


small = st.one_of(st.booleans(), st.integers(-2, 30), st.floats(-1, 3),
                  st.sampled_from([math.nan, math.inf, "0.5", "x", [], [1, 2], {}]))


@settings(SETTINGS, max_examples=40)
@given(st.dictionaries(st.sampled_from(FIELDS), small, max_size=3), st.integers(10, 50),
       st.floats(0.02, 0.3), st.integers(0, 2**31))
def test_random_values_run_or_give_config_errors(overrides, users, days, seed):
    """Everything that passes validation runs to the end at a tiny size: constraints between
    fields are found when the config is loaded, never mid-run."""
    overrides = {"simsom.n_humans": 30, "simsom.max_steps": 3, "simsom.followees_mean": 5.0,
                 "moderation.counterfactual": False, **overrides}
    try:
        cfg = build_config(load_config(PRESET).model_dump(), overrides)
    except ConfigError:
        return
    try:
        if cfg.simsom.enabled:
            sim.run(cfg, seed=seed)
        else:
            sim.run(cfg, seed=seed, users=users, days=days)
    except ConfigError:
        pass
