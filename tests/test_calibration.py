"""Calibration (sim calibrate): the inference is right where the answer is known, the model's
own parameters are recovered, bad files are refused before anything runs, and a killed
calibration resumes without redoing finished generations."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import sim
from sim.calibration.abc import (
    Problem,
    generations_table,
    nan_cmad,
    nan_mad,
    posterior_frame,
    run_abc,
    simulation_seed,
)
from sim.calibration.command import calibrate
from sim.calibration.posterior import POSTERIOR_FILE, final, fit_agreement, posterior_shift
from sim.calibration.spec import load_calibration
from sim.cli import app
from sim.config import ConfigError, load_config
from sim.designs import Factor
from sim.experiment import load_experiment
from sim.sweep import report_by, run_sweep

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "experiments" / "spamouflage.toml"


class NormalMean:
    """y ~ N(mu, 1): with a flat prior on mu the posterior given y_obs is N(y_obs, 1)."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls = 0
        self.fail_after = fail_after

    def __call__(self, values: dict, seed: int) -> dict:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt("killed")
        return {"y": float(np.random.default_rng(seed).normal(values["mu"], 1.0))}


def normal_problem(simulate, generations: int, population: int = 200,
                   seed: int = 5, prior_share: float = 0.0) -> Problem:
    return Problem([Factor("mu", low=-10.0, high=10.0)], {"y": 1.3}, {"y": 1.0}, simulate,
                   root_seed=seed, population_size=population, generations=generations,
                   prior_share=prior_share)


@pytest.mark.parametrize("prior_share", [0.0, 0.25])
def test_abc_matches_the_analytic_posterior(tmp_path, prior_share):
    """Flat prior on [-10, 10], one observation y = 1.3 with unit noise: the posterior is
    N(1.3, 1) (truncation negligible). The ABC posterior's mean, sd and whole distribution
    (largest gap between its weighted CDF and the normal one) must match it. Tolerances allow
    for the SMC sample's own error (effective size ~250, correlated through the generations)
    and the small blur of the final threshold; the prior alone (sd 5.8) or a sampler that
    ignored the importance weights would fail them. With a share of proposals from the prior,
    a proposal density that left the prior out would give its far-off draws huge weights."""
    res = run_abc(normal_problem(NormalMean(), generations=4, population=300,
                                 prior_share=prior_share), tmp_path / "abc.db")
    post = final(posterior_frame(res.history, [Factor("mu", low=-10.0, high=10.0)]))
    x, w = post["mu"].to_numpy(), post["weight"].to_numpy()
    mean = np.average(x, weights=w)
    sd = np.sqrt(np.average((x - mean) ** 2, weights=w))
    assert abs(mean - 1.3) < 0.3
    assert 0.8 < sd < 1.2
    order = np.argsort(x)
    cdf = np.cumsum(w[order])
    normal = stats.norm(1.3, 1.0).cdf(x[order])
    gap = max(np.abs(cdf - normal).max(), np.abs(cdf - w[order] - normal).max())
    assert gap < 0.15
    assert res.history.max_t == 3


def test_defensive_proposal_draws_what_its_density_says_and_bounds_weights():
    """The mixture's draws follow its own density (the weights' denominator), and the prior
    over that density, the importance weight, never exceeds 1 / share."""
    from sim.calibration.proposal import DefensiveTransition

    np.random.seed(1)  # noqa: NPY002 - pyabc's stream
    t = DefensiveTransition(0.2)
    t.fit(pd.DataFrame({"a": [0.3, 0.35, 0.4, 0.8]}), np.array([0.4, 0.3, 0.2, 0.1]))
    draws = t.rvs(20_000)["a"].to_numpy()
    inside = draws[(draws >= 0) & (draws <= 1)]  # pyabc rejects proposals outside the prior
    grid = np.linspace(0.0, 1.0, 2001)
    dens = t.pdf(pd.DataFrame({"a": grid}))
    cdf = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(grid))])
    cdf /= cdf[-1]
    assert stats.kstest(inside, lambda x: np.interp(x, grid, cdf)).pvalue > 0.01
    assert (1.0 / dens).max() <= 1.0 / 0.2 + 1e-9
    assert stats.kstest(inside, "uniform").pvalue < 1e-6  # and it is not just the prior


@pytest.mark.filterwarnings("ignore:Degrees of freedom:RuntimeWarning",
                            "ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_kernel_survives_weights_collapsed_onto_one_particle():
    """A generation whose weights sit on one particle (the Spamouflage fit's eighth) still
    gives a proposal: the kernel of equal weights, drawing what its density says. Weights
    that have not collapsed give pyabc's kernel exactly (fits are unchanged)."""
    import pyabc

    from sim.calibration.proposal import CollapseSafeKernel, DefensiveTransition

    X = pd.DataFrame(np.random.default_rng(0).random((30, 3)), columns=list("abc"))
    one = np.zeros(30)
    one[4] = 1.0
    with pytest.raises(ValueError):  # what the calibration met
        pyabc.MultivariateNormalTransition().fit(X, one)
    safe, equal = CollapseSafeKernel(), CollapseSafeKernel()
    safe.fit(X, one)
    equal.fit(X, np.full(30, 1 / 30))
    np.testing.assert_array_equal(safe.cov, equal.cov)
    assert np.all(np.linalg.eigvalsh(safe.cov) > 0)
    np.testing.assert_allclose(safe.pdf(X), equal.pdf(X))
    DefensiveTransition(0.1).fit(X, one)
    w = np.random.default_rng(1).random(30)
    ref = pyabc.MultivariateNormalTransition()
    safe.fit(X, w)
    ref.fit(X, w)
    np.testing.assert_array_equal(safe.cov, ref.cov)
    np.testing.assert_array_equal(safe.pdf(X), ref.pdf(X))


def test_single_process_calibration_is_reproducible(tmp_path):
    a = run_abc(normal_problem(NormalMean(), 2, population=40), tmp_path / "a.db")
    b = run_abc(normal_problem(NormalMean(), 2, population=40), tmp_path / "b.db")
    c = run_abc(normal_problem(NormalMean(), 2, population=40, seed=6), tmp_path / "c.db")
    f = [Factor("mu", low=-10.0, high=10.0)]
    pa, pb, pc = (posterior_frame(r.history, f) for r in (a, b, c))
    pd.testing.assert_frame_equal(pa, pb)
    assert not pa["mu"].equals(pc["mu"])


def test_simulation_seed_depends_on_root_seed_and_values_only():
    s = simulation_seed(1, {"a": 0.5, "b": 2})
    assert s == simulation_seed(1, {"b": 2, "a": 0.5})
    assert s != simulation_seed(2, {"a": 0.5, "b": 2})
    assert s != simulation_seed(1, {"a": 0.5000000001, "b": 2})
    assert 0 <= s < 2**63


def test_killed_calibration_resumes_without_redoing_finished_generations(tmp_path):
    db = tmp_path / "abc.db"
    killer = NormalMean(fail_after=250)  # dies inside a later generation
    with pytest.raises(KeyboardInterrupt):
        run_abc(normal_problem(killer, generations=5, population=50), db)
    import pyabc

    h = pyabc.History(f"sqlite:///{db}")
    h.id = 1
    done = h.max_t + 1
    assert 1 <= done < 5  # some generations finished, the calibration did not
    before = generations_table(h)
    sims_before = int(h.total_nr_simulations)

    again = NormalMean()
    res = run_abc(normal_problem(again, generations=5, population=50), db)
    assert res.resumed_from == done
    after = generations_table(res.history)
    # the finished generations are kept as they were ...
    pd.testing.assert_frame_equal(after[after["generation"] < done].reset_index(drop=True),
                                  before.reset_index(drop=True))
    # ... and the resumed run simulated only the new generations
    new = after.loc[after["generation"] >= done, "simulations"].sum()
    assert again.calls == new
    assert int(res.history.total_nr_simulations) == sims_before + new
    assert res.history.max_t == 4
    # a finished calibration has nothing left to do
    idle = NormalMean()
    assert run_abc(normal_problem(idle, generations=5, population=50), db).generations_run == 0
    assert idle.calls == 0


# --------------------------------------------------------------------------- the model


def _calib_file(tmp_path: Path, body: str, name: str = "c.toml") -> Path:
    p = tmp_path / name
    p.write_text(f'name = "t"\nbase = "{BASE.as_posix()}"\nusers = 1000\ndays = 1\n' + body)
    return p


GOOD_PARAMS = """
[overrides]
"moderation.counterfactual" = false
[parameters."operation.self_amp_per_post"]
range = [0.0, 6.0]
"""
GOOD_TARGET = """
[[targets]]
statistic = "op_posts_mean_engagements_public"
observed = 0.8
scale = 0.2
source = "test"
"""


@pytest.mark.parametrize(("body", "field"), [
    (GOOD_PARAMS.replace("self_amp_per_post", "self_amp_per_psot") + GOOD_TARGET,
     "parameters.'operation.self_amp_per_psot': unknown parameter key"),
    (GOOD_PARAMS.replace("[0.0, 6.0]", "[0.0, 1500.0]") + GOOD_TARGET,
     "parameters.'operation.self_amp_per_post': prior range [0.0, 1500.0] leaves the field's "
     "allowed range (0 <= value <= 1000"),
    (GOOD_PARAMS.replace('range = [0.0, 6.0]', 'prior = "log-uniform"\nrange = [0.0, 6.0]')
     + GOOD_TARGET, "parameters: Value error, factor 'operation.self_amp_per_post': a "
     "log-scale range needs low > 0"),
    (GOOD_PARAMS, "targets: Field required"),
    ("targets = []\n" + GOOD_PARAMS, "targets: List should have at least 1 item"),
    (GOOD_PARAMS + GOOD_TARGET.replace("mean_engagements_public", "mean_engagments_public"),
     "targets.0.statistic: 'op_posts_mean_engagments_public' is not a numeric statistic"),
    (GOOD_PARAMS + GOOD_TARGET.replace("scale = 0.2", "scale = 0"), "targets.0.scale"),
    (GOOD_PARAMS + GOOD_TARGET + "[inference]\npopulation_size = 2\n",
     "inference.population_size"),
])
def test_bad_calibration_file_is_refused_naming_the_field(tmp_path, body, field):
    with pytest.raises(ConfigError) as e:
        load_calibration(_calib_file(tmp_path, body))
    assert field in str(e.value)


def test_cli_refuses_a_bad_file_before_running(tmp_path):
    p = _calib_file(tmp_path, GOOD_PARAMS.replace("[0.0, 6.0]", "[-1.0, 6.0]") + GOOD_TARGET)
    res = CliRunner().invoke(app, ["calibrate", str(p), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "parameters.'operation.self_amp_per_post'" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "out").exists()


def test_a_replicate_seed_is_another_calibration(tmp_path):
    """``--seed`` replaces the file's root seed: a replicate fit that cannot be resumed into
    the first one's directory, and a seed out of range is refused naming the field."""
    p = _calib_file(tmp_path, GOOD_PARAMS + GOOD_TARGET)
    first, replicate = load_calibration(p, dry_run=False), load_calibration(p, dry_run=False,
                                                                            seed=7)
    assert (first.spec.inference.root_seed, replicate.spec.inference.root_seed) == (1, 7)
    assert first.sha256 != replicate.sha256
    assert load_calibration(p, dry_run=False, seed=1).sha256 == first.sha256
    with pytest.raises(ConfigError, match="inference.root_seed"):
        load_calibration(p, dry_run=False, seed=2**63)


def test_parameter_recovery_on_the_model(tmp_path):
    """Targets made by the model itself at known parameters (1,000 users, 1 day, its own
    seed) are recovered: each truth lies in the posterior's 90% interval, and the interval is
    well inside the prior (the data were informative). Runs the whole command, outputs
    included."""
    truth = {"operation.self_amp_per_post": 2.0, "operation.posts_per_account_day": 8.0}
    res = sim.run(BASE, seed=424242, users=1000, days=1,
                  overrides={"moderation.counterfactual": False, **truth})
    s = res.summary
    per_post = s["reported_engagements"] / s["posts_published"]
    body = f"""
[overrides]
"moderation.counterfactual" = false
[parameters."operation.self_amp_per_post"]
range = [0.0, 6.0]
[parameters."operation.posts_per_account_day"]
prior = "log-uniform"
range = [1.0, 40.0]
[[targets]]
statistic = "op_posts_mean_engagements_public"
observed = {per_post}
scale = 0.2
source = "the model at known parameters"
[[targets]]
statistic = "posts_published"
observed = {s["posts_published"]}
scale = 10
source = "the model at known parameters"
[inference]
population_size = 30
generations = 4
root_seed = 3
predictive_draws = 4
estimate = "map"
"""
    out = tmp_path / "out"
    summary = calibrate(_calib_file(tmp_path, body), out, workers=1)
    for key, value in truth.items():
        p = summary["parameters"][key]
        lo, hi = p["q0.05"], p["q0.95"]
        assert lo <= value <= hi, (key, value, lo, hi)
        prior = p["range"]
        width = (np.log(hi / lo) / np.log(prior[1] / prior[0]) if "posts" in key
                 else (hi - lo) / (prior[1] - prior[0]))
        assert width < 0.5, (key, width)
    shifts = {g["generation"]: g["posterior_shift"] for g in summary["generations"]}
    assert shifts[0] is None and all(0 <= shifts[t] <= 1 for t in (1, 2, 3)), shifts
    # outputs
    post = pd.read_parquet(out / POSTERIOR_FILE)
    assert set(post.columns) == {*truth, "weight", "generation"}
    assert sorted(post["generation"].unique()) == [0, 1, 2, 3]
    assert np.isclose(final(post)["weight"].sum(), 1.0)
    pred = pd.read_parquet(out / "predictive.parquet")
    assert len(pred) == 4 and {"posts_published", "seed"} <= set(pred.columns)
    cal = tomllib.loads((out / "calibrated.toml").read_text())
    assert (out / "calibrated.toml").read_text().startswith("# Calibrated scenario")
    assert "maximum a posteriori" in (out / "calibrated.toml").read_text()
    assert cal["operation"]["self_amp_per_post"] == pytest.approx(
        summary["estimate"]["operation.self_amp_per_post"])
    assert cal["population"]["n_users"] == 1000
    load_config(out / "calibrated.toml")
    written = json.loads((out / "calibration.json").read_text())
    assert written["libraries"]["numpy"] == np.__version__  # what the draws depended on
    assert written["simulations_abc"] == sum(g["simulations"] for g in written["generations"])
    assert [g["generation"] for g in written["generations"] if g["generation"] >= 0] == [0, 1, 2, 3]
    for f in ("marginals", "pairs", "predictive"):
        assert (out / "figures" / f"{f}.png").stat().st_size > 0

    # rerunning resumes: nothing left to simulate; a changed file is refused, not mixed in
    calib = tmp_path / "c.toml"
    again = calibrate(calib, out, workers=1)
    assert again["generations_run_now"] == 0
    assert again["simulations_abc"] == summary["simulations_abc"]
    calib.write_text(calib.read_text().replace("scale = 10", "scale = 11"))
    with pytest.raises(ConfigError, match="holds a calibration of another file"):
        calibrate(calib, out, workers=1)

    # a sweep over the posterior: n draws of the calibrated parameters, reproducibly
    exp = tmp_path / "e.toml"
    exp.write_text(f'name = "e"\nbase = "{BASE.as_posix()}"\nusers = 500\ndays = 1\n'
                   '[design]\nkind = "posterior"\ncalibration = "out"\nn = 6\n')
    a, b = load_experiment(exp), load_experiment(exp)
    assert list(a.points.columns) == list(truth)
    assert len(a.runs()) == 6
    pd.testing.assert_frame_equal(a.points, b.points)
    last = final(post)
    assert a.points["operation.self_amp_per_post"].isin(last["operation.self_amp_per_post"]).all()
    cfg = a.config(a.runs()[0])
    assert cfg.operation.self_amp_per_post == a.points["operation.self_amp_per_post"].iloc[0]

    # crossed with named scenarios: every scenario at every draw; a scenario's own value wins
    exp.write_text(f'name = "e"\nbase = "{BASE.as_posix()}"\nusers = 300\ndays = 0.5\n'
                   'paired_seeds = true\noutcomes = ["posts_published"]\n'
                   '[design]\nkind = "posterior"\ncalibration = "out"\nn = 3\n'
                   '[design.scenarios.calibrated]\n[design.scenarios.loud]\n'
                   '"operation.posts_per_account_day" = 30\n'
                   '[[figures]]\nname = "f"\nkind = "bars"\nx = "scenario"\n'
                   'y = ["posts_published"]\n')
    c = load_experiment(exp)
    p = c.points
    assert list(p["scenario"]) == ["calibrated"] * 3 + ["loud"] * 3
    assert list(p["draw"]) == [0, 1, 2, 0, 1, 2]
    runs = c.runs()
    assert runs[1].seed == runs[4].seed != runs[0].seed  # paired within a draw, not across
    cal, loud = c.config(runs[1]), c.config(runs[4])
    assert loud.operation.posts_per_account_day == 30
    assert (p.loc[3:, "operation.posts_per_account_day"] == 30).all()
    assert cal.operation.posts_per_account_day == p.loc[1, "operation.posts_per_account_day"]
    assert cal.operation.self_amp_per_post == loud.operation.self_amp_per_post \
        == a.points.loc[1, "operation.self_amp_per_post"]
    run_sweep(exp, tmp_path / "crossed", workers=1)
    by = report_by(tmp_path / "crossed", ["scenario"], ["posts_published"])
    assert list(by["scenario"]) == ["calibrated", "loud"] and list(by["n"]) == [3, 3]
    assert (by["posts_published_q05"] <= by["posts_published_median"]).all()
    assert by.loc[1, "posts_published_mean"] > by.loc[0, "posts_published_mean"]
    pooled = report_by(tmp_path / "crossed", [], ["posts_published"])
    assert list(pooled["n"]) == [6]
    assert pooled.loc[0, "posts_published_mean"] == pytest.approx(by["posts_published_mean"].mean())

    # a continuous design whose fitted factor ranges over its posterior 90% interval
    amp = "operation.self_amp_per_post"
    lo, hi = summary["parameters"][amp]["q0.05"], summary["parameters"][amp]["q0.95"]
    head = f'name = "e"\nbase = "{BASE.as_posix()}"\nusers = 300\ndays = 0.5\n'
    lhs = head + '[design]\nkind = "lhs"\nn = 16\ncalibration = "out"\n[design.factors]\n'
    exp.write_text(lhs + f'"{amp}" = {{ posterior = 0.9, log = true }}\n'
                   '"operation.fluency_mean" = [0.2, 0.6]\n')
    d = load_experiment(exp)
    spec = d.spec.design.factors[amp]
    assert spec["log"] is True and spec["range"] == pytest.approx([lo, hi])
    x = d.points[amp]
    assert x.between(lo, hi).all() and x.min() < lo * (hi / lo) ** 0.1  # LHS fills the range
    exp.write_text(lhs + '"operation.fluency_mean" = { posterior = 0.9 }\n')
    with pytest.raises(ConfigError, match="fluency_mean.*not a parameter of the calibration"):
        load_experiment(exp)
    exp.write_text(lhs + f'"{amp}" = {{ posterior = 1.5 }}\n')
    with pytest.raises(ConfigError, match="between 0 and 1"):
        load_experiment(exp)


def test_posterior_shift_is_the_largest_quantile_move_in_prior_widths():
    """A generation that moves one parameter by a tenth of its uniform prior and another by
    a factor 10 on a log-uniform prior spanning a factor 100 has shifted by half a prior width,
    on the second; an unchanged generation by nothing."""
    factors = [Factor("a", low=0.0, high=10.0), Factor("b", low=1.0, high=100.0, log=True)]
    rng = np.random.default_rng(0)
    a, b = rng.uniform(2, 5, 200), np.exp(rng.uniform(0, 1, 200))
    w = rng.uniform(0.5, 1.5, 200)
    gens = [pd.DataFrame({"a": a, "b": b, "weight": w / w.sum(), "generation": 0}),
            pd.DataFrame({"a": a + 1, "b": b * 10, "weight": w / w.sum(), "generation": 1}),
            pd.DataFrame({"a": a + 1, "b": b * 10, "weight": w / w.sum(), "generation": 2})]
    shift = posterior_shift(pd.concat(gens, ignore_index=True), factors)
    assert shift["generation"].tolist() == [1, 2]
    assert shift["posterior_shift"].tolist() == pytest.approx([0.5, 0.0], abs=1e-12)
    assert shift["posterior_shift_parameter"].iloc[0] == "b"
    # two replicate fits compare by the same measure, parameter by parameter
    agree = fit_agreement(gens[0], gens[1], factors).set_index("parameter")
    assert agree["difference"].tolist() == pytest.approx([0.1, 0.5], abs=1e-12)
    assert agree.loc["b", "median_b"] == pytest.approx(10 * agree.loc["b", "median_a"])
    assert agree.loc["a", "q0.95_a"] + 1 == pytest.approx(agree.loc["a", "q0.95_b"])


def test_robust_scale_downweights_a_target_the_model_misses():
    """The robust distance's scale adds the simulations' distance from the observed value to
    their spread (Schälte et al. 2022): a target every simulation misses by far, with a tiny
    spread, gets a large scale (a small weight) instead of dominating; NaNs are ignored."""
    rng = np.random.default_rng(0)
    sims = np.column_stack([1 + 0.001 * rng.standard_normal(200),  # misses 0.5, tiny spread
                            0.5 + 0.1 * rng.standard_normal(200)])  # reaches 0.5
    sims[0, 1] = np.nan
    s0 = np.array([0.5, 0.5])
    spread = nan_mad(samples=sims)
    robust = nan_cmad(samples=sims, s0=s0)
    assert spread[0] < 0.01 < robust[0] and robust[0] == pytest.approx(0.5, abs=0.01)
    assert robust[1] == pytest.approx(spread[1] + np.nanmedian(np.abs(sims[:, 1] - 0.5)))
    assert robust[1] < 2.5 * spread[1]


def test_posterior_design_is_refused_without_a_calibration(tmp_path):
    exp = tmp_path / "e.toml"
    head = f'name = "e"\nbase = "{BASE.as_posix()}"\n'
    exp.write_text(head + '[design]\nkind = "posterior"\ncalibration = "nowhere"\n')
    with pytest.raises(ConfigError, match="design: no calibration result"):
        load_experiment(exp)
    exp.write_text(head + '[design]\nkind = "posterior"\n')
    with pytest.raises(ConfigError, match="design.calibration"):
        load_experiment(exp)
    exp.write_text(head + '[design]\nkind = "grid"\ncalibration = "x"\n[design.factors]\n'
                   '"operation.fluency_mean" = [0.3]\n')
    with pytest.raises(ConfigError, match="calibration: only allowed"):
        load_experiment(exp)
    post = head + '[design]\nkind = "posterior"\ncalibration = "x"\n'
    exp.write_text(post + '[design.factors]\n"operation.fluency_mean" = [0.3]\n'
                   '[design.scenarios.a]\n')
    with pytest.raises(ConfigError, match="not both"):
        load_experiment(exp)
    exp.write_text(post + '[design.factors]\n"operation.fluency_mean" = {range = [0.1, 0.3]}\n')
    with pytest.raises(ConfigError, match="give a list of values"):
        load_experiment(exp)
    # a factor ranging over a posterior needs a calibration, a continuous design, no range
    sobol = head + '[design]\nkind = "sobol"\n'
    amp = '[design.factors]\n"operation.self_amp_per_post" = { posterior = 0.95 }\n'
    exp.write_text(sobol + amp)
    with pytest.raises(ConfigError, match="self_amp_per_post: a range from the posterior needs "
                                          "design.calibration"):
        load_experiment(exp)
    exp.write_text(head + '[design]\nkind = "grid"\ncalibration = "x"\n' + amp)
    with pytest.raises(ConfigError, match="needs a continuous design"):
        load_experiment(exp)
    exp.write_text(sobol + 'calibration = "x"\n' + amp.replace("}", ", range = [1, 2] }"))
    with pytest.raises(ConfigError, match="posterior or range, not both"):
        load_experiment(exp)


def test_the_shipped_fit_drives_the_experiments_over_the_fitted_world() -> None:
    """The Spamouflage fit ships with the repository (experiments/calibration/fits/spamouflage:
    its posterior sample, predictive check and summary, without the inference database), so
    every experiment over the fitted world resolves from a fresh clone, every run's config is
    valid, and the calibrated preset is that fit's own point estimate, unchanged."""
    from sim.experiment import load_experiment

    root = Path(__file__).resolve().parents[1] / "experiments"
    fit = root / "calibration" / "fits" / "spamouflage"
    assert {p.name for p in fit.iterdir()} >= {POSTERIOR_FILE, "calibration.json",
                                                 "predictive.parquet", "calibrated.toml"}
    assert (fit / "calibrated.toml").read_text() == \
        (root / "calibration" / "spamouflage_calibrated.toml").read_text()
    files = sorted((root / "posterior").glob("*.toml")) + [
        root / "sensitivity_sobol_calibrated.toml", root / "discovery_calibrated.toml"]
    for path in files:
        exp = load_experiment(path)
        runs = exp.runs()
        assert len(runs) >= 20, path
        for run in runs[:: max(1, len(runs) // 5)]:
            exp.config(run)
