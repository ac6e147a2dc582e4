"""Scenario discovery: PRIM finds a known box, the smallest change into it, and the sweep hooks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.config import ConfigError
from sim.discovery.boxes import Scale, Target
from sim.discovery.prim import discover, discover_results
from sim.discovery.what_if import what_would_it_take
from sim.experiment import load_experiment
from sim.ledger import log_kidding_ratio
from sim.plots import build_figures, plot_experiment
from sim.sweep import ResultStore, run_sweep

BASE = Path(__file__).resolve().parents[1] / "experiments" / "spamouflage.toml"
FACTORS = [f"x{i}" for i in range(5)]


def _synthetic(seed: int, n: int = 1000, noise: float = 0.05) -> tuple[pd.DataFrame, np.ndarray]:
    """Uniform points in [0, 1]^5; of interest inside x0 in [0.2, 0.6] and x1 > 0.7, each label
    flipped with probability ``noise``."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.random((n, 5)), columns=FACTORS)
    inside = ((x.x0 >= 0.2) & (x.x0 <= 0.6) & (x.x1 > 0.7)).to_numpy()
    return x, inside ^ (rng.random(n) < noise)


@pytest.fixture(scope="module")
def synthetic():
    x, y = _synthetic(3, n=2000)
    return discover(x, y, Target("y", 1.0))


def test_prim_recovers_a_known_box(synthetic):
    box = synthetic.chosen[0]
    lim = box.restricted
    assert list(lim.index) == ["x0", "x1"]  # the irrelevant dimensions are left alone
    assert lim.loc["x0", "low"] == pytest.approx(0.2, abs=0.03)
    assert lim.loc["x0", "high"] == pytest.approx(0.6, abs=0.03)
    assert lim.loc["x1", "low"] == pytest.approx(0.7, abs=0.03)
    assert math.isnan(lim.loc["x1", "qp_high"])  # x1 is open at the top
    assert box.significant and lim[["qp_low"]].max().item() < 1e-6
    assert box.density > 0.8 and box.coverage > 0.6
    # a pure box inside the trajectory's reach, and the table says which step was chosen
    traj = synthetic.trajectory_table()
    assert traj["chosen"].sum() == 1
    assert traj.loc[traj["chosen"], "trajectory_index"].item() == box.index


@pytest.mark.parametrize("seed", [11, 12])
def test_prim_box_is_stable_over_samples(seed):
    """Smaller samples: the limits stay within an eighth of the box's width of the truth."""
    x, y = _synthetic(seed)
    lim = discover(x, y).chosen[0].restricted
    assert set(lim.index) == {"x0", "x1"}
    assert np.allclose(lim.loc["x0", ["low", "high"]].to_numpy(float), [0.2, 0.6], atol=0.05)


def test_nothing_of_interest_gives_no_box_and_says_so():
    x, _ = _synthetic(1, n=200)
    d = discover(x, np.zeros(200, bool), Target("breakout_category", 3))
    assert d.chosen == [] and "no run has breakout_category >= 3" in d.notes[0]


def test_chosen_step_can_be_asked_for():
    x, y = _synthetic(3, n=400)
    d = discover(x, y, box=5)
    assert d.chosen[0].index == 5
    with pytest.raises(ValueError, match="trajectory index 999 out of range"):
        discover(x, y, box=999)


def test_target_counts_missing_values_as_not_of_interest():
    t = Target("kidding_ratio", 10, below=True)
    got = t.of_interest(pd.Series([5.0, 10.0, None, 500.0, np.nan], dtype=object))
    assert got.tolist() == [True, False, False, False, False]
    assert Target("b", 3).of_interest([2, 3, 4]).tolist() == [False, True, True]


def test_what_would_it_take_moves_fewest_factors_by_least_distance(synthetic):
    box = synthetic.chosen[0]
    scales = {f: Scale(0.0, 1.0) for f in FACTORS}
    x0_high, x1_low = box.limits.loc["x0", "high"], box.limits.loc["x1", "low"]
    inside = {"x0": 0.4, "x1": 0.9, "x2": 0.1, "x3": 0.5, "x4": 0.9}
    w = what_would_it_take(inside, [box], scales)
    assert w.loc[0, "n_moved"] == 0 and w.loc[0, "distance"] == 0
    # x0 too high and x1 too low: both move to the nearest limit, nothing else moves
    w = what_would_it_take({**inside, "x0": 0.9, "x1": 0.5}, [box], scales)
    assert w.loc[0, "n_moved"] == 2
    assert w.loc[0, "moves"] == {"x0": (0.9, pytest.approx(x0_high)),
                                 "x1": (0.5, pytest.approx(x1_low))}
    assert w.loc[0, "distance"] == pytest.approx(math.hypot(0.9 - x0_high, 0.5 - x1_low))
    # distances are in units of the sampled range: doubling x1's range halves its share
    wide = {**scales, "x1": Scale(0.0, 2.0)}
    w2 = what_would_it_take({**inside, "x1": 0.5}, [box], wide)
    assert w2.loc[0, "distance"] == pytest.approx((x1_low - 0.5) / 2)
    # fewer moves beat a shorter distance: a box needing one long move ranks first
    far = box.limits.copy()
    far.loc["x1", ["low", "high"]] = [0.0, 1.0]
    far.loc["x0", ["low", "high"]] = [0.0, 0.1]
    one_move = type(box)(**{**box.__dict__, "number": 1, "limits": far})
    w3 = what_would_it_take({**inside, "x0": 0.75, "x1": 0.65}, [box, one_move], scales)
    assert w3["n_moved"].tolist() == [1, 2] and w3.loc[0, "box"] == 1
    assert w3.loc[0, "distance"] > w3.loc[1, "distance"]


def test_what_would_it_take_skips_boxes_below_the_density_floor(synthetic):
    first = synthetic.trajectories[0][0]  # the whole space: density = base rate
    w = what_would_it_take(dict.fromkeys(FACTORS, 0.5), [first], {}, min_density=0.5)
    assert w.empty


def test_results_rows_drop_failed_runs_and_constant_factors():
    x, y = _synthetic(5, n=400)
    rows = pd.DataFrame({f"factor:{k}": x[k] for k in FACTORS})
    rows["factor:fixed"] = 7
    rows["factor:ranking"] = np.where(x.x2 > 0.5, "engagement", "chronological")
    rows["breakout_category"] = np.where(y, 3, 1)
    rows["status"] = "ok"
    rows.loc[:9, "status"] = "failed"
    rows.loc[:9, "breakout_category"] = None
    d = discover_results(rows, Target("breakout_category", 3))
    assert d.n_failed == 10 and len(d.y) == 390
    assert "fixed" not in d.x and not pd.api.types.is_numeric_dtype(d.x["ranking"])
    assert set(d.chosen[0].restricted.index) == {"x0", "x1"}
    with pytest.raises(ValueError, match="outcome 'nope' is not in the results"):
        discover_results(rows, Target("nope", 1))


def test_log_kidding_ratio_is_defined_for_every_run():
    assert log_kidding_ratio(1000, 10) == 2
    assert log_kidding_ratio(1000, 0) == 3
    assert log_kidding_ratio(0, 0) == 0


# --------------------------------------------------------------------------- on a sweep

LHS = f'''name = "lhs-small"
base = "{BASE.as_posix()}"
users = 400
days = 0.25
root_seed = 3
outcomes = ["posts_published", "log_kidding_ratio", "kidding_ratio"]
[overrides]
"moderation.counterfactual" = false
[design]
kind = "lhs"
n = 40
[design.factors]
"operation.posts_per_account_day" = {{ range = [1.0, 40.0], log = true }}
"operation.fluency_mean" = [0.2, 0.8]
"operation.accounts_per_operator" = {{ range = [3, 12], integer = true }}
[[analysis]]
kind = "prim"
name = "busy"
outcome = "posts_published"
threshold = 50
'''


@pytest.fixture(scope="module")
def lhs_sweep(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("discovery")
    exp = tmp / "lhs.toml"
    exp.write_text(LHS)
    out = tmp / "lhs-results"
    run_sweep(exp, out, executor="inprocess")
    return out


def test_sweep_records_the_derived_outcome(lhs_sweep):
    df = ResultStore(lhs_sweep).results()
    assert (df["status"] == "ok").all()
    assert np.isfinite(df["log_kidding_ratio"].astype(float)).all()


def test_plot_draws_the_analysis_and_writes_its_tables(lhs_sweep):
    paths = plot_experiment(lhs_sweep)
    assert lhs_sweep / "figures" / "busy.png" in paths
    summary = json.loads((lhs_sweep / "analysis" / "busy.json").read_text())
    assert summary["target_text"] == "posts_published >= 50"
    box = summary["boxes"][0]
    # posts published is driven by the posting rate, so the box limits it from below
    lims = {lim["factor"]: lim for lim in box["limits"]}
    assert "operation.posts_per_account_day" in lims
    assert lims["operation.posts_per_account_day"]["low"] > 3.0
    assert summary["sampled_ranges"]["operation.posts_per_account_day"]["log"] is True
    # the base posts 8 a day, and the answer says what to move to land in the box
    what = summary["what_would_it_take"][0]
    assert what["n_moved"] == len(what["moves"])
    for f, (_, to) in what["moves"].items():
        assert lims[f]["low"] <= to <= lims[f]["high"]
    assert (lhs_sweep / "analysis" / "busy_trajectory.csv").is_file()


def test_discover_command(lhs_sweep, tmp_path):
    res = CliRunner().invoke(app, ["discover", str(lhs_sweep), "--outcome", "kidding_ratio",
                                   "--threshold", "10", "--below", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "with kidding_ratio < 10" in res.output
    assert (tmp_path / "prim_kidding_ratio.png").is_file()
    assert (tmp_path / "prim_kidding_ratio_boxes.csv").is_file()
    bad = CliRunner().invoke(app, ["discover", str(lhs_sweep), "--outcome", "nope",
                                   "--threshold", "1"])
    assert bad.exit_code == 2 and "outcome 'nope' is not in the results" in bad.output


def test_analysis_section_is_checked_when_loaded(tmp_path):
    exp = tmp_path / "bad.toml"
    exp.write_text(LHS.replace('outcome = "posts_published"', 'outcome = "breakout_category"'))
    with pytest.raises(ConfigError, match="analysis.0.*outcome.*not one of the experiment"):
        load_experiment(exp)
    exp.write_text(LHS.replace('threshold = 50', 'threshold = 50\ndirection = "up"'))
    with pytest.raises(ConfigError, match="direction"):
        load_experiment(exp)


def test_analysis_can_be_added_to_a_finished_sweep(lhs_sweep):
    manifest = json.loads((lhs_sweep / "manifest.json").read_text())
    plain = Path(manifest["experiment"]).with_name("lhs-no-analysis.toml")
    plain.write_text(LHS.split("[[analysis]]")[0])
    assert load_experiment(plain).sha256 == manifest["experiment_sha256"]


def test_morris_overview_has_one_sorted_panel_per_outcome(tmp_path):
    exp = tmp_path / "morris.toml"
    exp.write_text(f'''name = "morris-small"
base = "{BASE.as_posix()}"
users = 400
days = 0.25
outcomes = ["posts_published", "log_kidding_ratio"]
[overrides]
"moderation.counterfactual" = false
[design]
kind = "morris"
n = 2
[design.factors]
"operation.posts_per_account_day" = [2.0, 30.0]
"operation.fluency_mean" = [0.2, 0.8]
"operation.self_amp_per_post" = [0.0, 10.0]
''')
    out = tmp_path / "morris-results"
    run_sweep(exp, out, executor="inprocess")
    figs = dict(build_figures(out))
    try:
        fig = figs["sensitivity_overview"]
        panels = [ax for ax in fig.axes if ax.get_visible()]
        assert [ax.get_title() for ax in panels] == ["posts_published", "log_kidding_ratio"]
        ax = panels[0]
        bars = [p.get_width() for p in ax.patches]
        assert bars == sorted(bars)  # most important on top (last)
        assert ax.get_yticklabels()[-1].get_text() == "operation.posts_per_account_day"
    finally:
        import matplotlib.pyplot as plt

        for f in figs.values():
            plt.close(f)


# --------------------------------------------------------------------------- the experiments

EXPERIMENTS = BASE.parent
MISSION = {"log_kidding_ratio", "organic_engagements", "organic_exposed_users",
           "organic_followers_gained", "breakout_category"}


def test_sensitivity_and_discovery_experiments_share_one_space():
    import tomllib

    from sim.experiment import Experiment

    morris = load_experiment(EXPERIMENTS / "sensitivity_morris.toml")  # every point validated
    found = load_experiment(EXPERIMENTS / "discovery.toml")
    sobol = Experiment.model_validate(
        tomllib.loads((EXPERIMENTS / "sensitivity_sobol.toml").read_text()))
    space = morris.spec.design.factors
    assert 12 <= len(space) <= 20
    # Sobol' on the factors the screening does not rule out, over the same ranges
    assert sobol.design.kind == "sobol" and len(sobol.design.factors) >= 12
    assert all(space[k] == v for k, v in sobol.design.factors.items())
    assert MISSION <= set(morris.spec.outcomes) and MISSION <= set(sobol.outcomes)
    assert set(space) < set(found.spec.design.factors)  # plus the tactic levers
    assert found.spec.design.kind == "lhs" and len(found.runs()) >= 2000
    assert {(a.outcome, a.threshold, a.direction) for a in found.spec.analysis} == {
        ("breakout_category", 3, "above"), ("kidding_ratio", 10, "below")}
    assert (morris.spec.users, morris.spec.days) == (10_000, 7)  # a screening: cheap to rerun
    # Sobol' and discovery at the screening's size, so that the three read one world
    assert (found.spec.users, found.spec.days) == (morris.spec.users, morris.spec.days)
    assert (sobol.users, sobol.days) == (morris.spec.users, morris.spec.days)
    # over the fitted world: the same factors, ranges, size and analyses, except that every
    # factor the calibration fitted ranges over its posterior
    fit = tomllib.loads((EXPERIMENTS / "calibration" / "spamouflage.toml").read_text())
    for name, assumed in (("sensitivity_sobol", sobol), ("discovery", found.spec)):
        fitted = Experiment.model_validate(
            tomllib.loads((EXPERIMENTS / f"{name}_calibrated.toml").read_text()))
        from_posterior = {k for k, v in fitted.design.factors.items()
                          if isinstance(v, dict) and "posterior" in v}
        assert list(fitted.design.factors) == list(assumed.design.factors)
        assert set(fit["parameters"]) & set(assumed.design.factors) == from_posterior
        assert all(v == assumed.design.factors[k] for k, v in fitted.design.factors.items()
                   if k not in from_posterior)
        assert (fitted.users, fitted.days, fitted.design.n, fitted.root_seed,
                fitted.analysis) == (assumed.users, assumed.days, assumed.design.n,
                                     assumed.root_seed, assumed.analysis)
