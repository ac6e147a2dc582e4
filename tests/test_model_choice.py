"""Model choice (sim calibrate with [models.NAME]): the posterior model probabilities match the
analytic ones where they are known, the method recovers the paymaster's KPI that generated
synthetic data, and bad files are refused before anything runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import sim
from sim.calibration.abc import (
    Candidate,
    Problem,
    choice_seed,
    generations_table,
    model_table,
    run_abc,
)
from sim.calibration.command import calibrate
from sim.calibration.spec import load_calibration, statistic
from sim.config import ConfigError
from sim.designs import Factor
from sim.experiment import load_experiment

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "experiments" / "spamouflage.toml"

# --------------------------------------------------------------------------- analytic case

HALF_WIDTH = 5.0  # model "shifted": mu ~ U(-5, 5)


def at_zero(values: dict, seed: int) -> dict:
    """Model "zero": x ~ N(0, 1), no free parameter."""
    return {"x": float(np.random.default_rng(seed).normal(0.0, 1.0))}


def shifted(values: dict, seed: int) -> dict:
    """Model "shifted": x ~ N(mu, 1) with mu ~ U(-5, 5)."""
    return {"x": float(np.random.default_rng(seed).normal(values["mu"], 1.0))}


def p_zero(x_obs: float, prior_zero: float, eps: float = 0.0) -> float:
    """P(zero | |x - x_obs| <= eps), or P(zero | x = x_obs) when eps = 0. x is sufficient for
    the choice between the two models (both are N(mu, 1) families), so this is also the
    full-data posterior probability."""
    a = HALF_WIDTH
    if eps == 0:
        lz = stats.norm.pdf(x_obs)
        ls = (stats.norm.cdf(x_obs + a) - stats.norm.cdf(x_obs - a)) / (2 * a)
    else:
        lz = stats.norm.cdf(x_obs + eps) - stats.norm.cdf(x_obs - eps)
        ls = integrate.quad(lambda mu: stats.norm.cdf(x_obs + eps - mu)
                            - stats.norm.cdf(x_obs - eps - mu), -a, a)[0] / (2 * a)
    return prior_zero * lz / (prior_zero * lz + (1 - prior_zero) * ls)


def test_model_probabilities_match_the_analytic_ones(tmp_path):
    """Two models of one observation x_obs = 1: "zero" (x ~ N(0, 1), no free parameter,
    prior probability 0.3) and "shifted" (x ~ N(mu, 1), mu ~ U(-5, 5), prior 0.7). The exact
    posterior P(zero | x_obs) is 0.509; a sampler that ignored the model prior would give 0.708,
    one that did not learn from the data 0.3.

    ABC at threshold eps targets P(zero | |x - x_obs| <= eps) (computed exactly at the final
    threshold; within 0.01 of the exact value here). The estimate must match that target to
    within 3 of its Monte Carlo standard errors (about 0.04, from the generation's effective
    sample size) plus 0.02: with root seeds 11 to 14 the estimates were 0.490, 0.486, 0.493 and
    0.522, within 0.6 s.e. of it."""
    x_obs, prior_zero = 1.0, 0.3
    problem = Problem([], {"x": x_obs}, {"x": 1.0}, None, root_seed=11, population_size=200,
                      generations=3, distance="scaled",
                      models=[Candidate("zero", [], at_zero, prior_zero),
                              Candidate("shifted", [Factor("mu", low=-HALF_WIDTH,
                                                           high=HALF_WIDTH)], shifted,
                                        1 - prior_zero)])
    res = run_abc(problem, tmp_path / "abc.db")
    table = model_table(res.history, ["zero", "shifted"], [prior_zero, 1 - prior_zero])
    last = table[table["generation"] == res.history.max_t].set_index("model")
    np.testing.assert_allclose(last["probability"].sum(), 1.0)
    p_hat, se = float(last.loc["zero", "probability"]), float(last.loc["zero", "se"])
    eps = float(generations_table(res.history)["epsilon"].iloc[-1])  # |x - x_obs| units
    exact, target = p_zero(x_obs, prior_zero), p_zero(x_obs, prior_zero, eps)
    assert abs(exact - 0.509) < 0.001
    assert abs(target - exact) < 0.01
    assert 0 < se < 0.06
    assert abs(p_hat - target) < 3 * se + 0.02, (p_hat, target, se, eps)
    # the prior row of the table is the model prior
    prior = table[table["generation"] == -1].set_index("model")["probability"]
    assert prior.to_dict() == {"zero": 0.3, "shifted": pytest.approx(0.7)}


def test_model_choice_seeds_differ_for_a_model_without_parameters():
    """A model with no free parameters still gets a fresh simulation per particle: its seed
    hashes the model's name and the stored draw, not the (empty) parameters alone."""
    a = choice_seed(1, "zero", {}, 5)
    assert a == choice_seed(1, "zero", {}, 5)
    assert len({a, choice_seed(1, "zero", {}, 6), choice_seed(1, "other", {}, 5),
                choice_seed(2, "zero", {}, 5)}) == 4


# --------------------------------------------------------------------------- the file format


def _file(tmp_path: Path, models: str, extra: str = "") -> Path:
    p = tmp_path / "choice.toml"
    p.write_text(f'name = "c"\nbase = "{BASE.as_posix()}"\nusers = 1000\ndays = 2\n'
                 '[overrides]\n"adaptation.enabled" = true\n'
                 '"paymaster.report_period_days" = 1\n'
                 '[parameters."operation.fluency_mean"]\nrange = [0.1, 0.5]\n'
                 '[[targets]]\nstatistic = "op_posts_mean_engagements_public"\nobserved = 1.0\n'
                 'scale = 0.2\nsource = "s"\n' + extra + models)
    return p


TWO = ('[models.tender]\noverrides = { "paymaster.kpi" = "tender" }\n'
       '[models.engagement]\noverrides = { "paymaster.kpi" = "reported_engagement" }\n')


def test_models_share_priors_and_split_the_prior_probability(tmp_path):
    spec = load_calibration(_file(tmp_path, TWO.replace(
        "[models.tender]\n", "[models.tender]\nprobability = 0.7\n") + (
        '[models.fixed]\noverrides = { "paymaster.kpi" = "organic_reach", '
        '"operation.fluency_mean" = 0.3 }\n')), dry_run=False)
    probs = spec.spec.model_probabilities()
    assert probs == {"tender": 0.7, "engagement": pytest.approx(0.15),
                     "fixed": pytest.approx(0.15)}
    assert [f.key for f in spec.model_factors("tender")] == ["operation.fluency_mean"]
    assert spec.model_factors("fixed") == []  # a model may fix the shared parameter
    assert spec.fixed_overrides("fixed")["paymaster.kpi"] == "organic_reach"
    assert spec.config({}, 1, "fixed").operation.fluency_mean == 0.3


@pytest.mark.parametrize(("models", "message"), [
    ('[models.only]\noverrides = { "paymaster.kpi" = "tender" }\n', "two or more models"),
    (TWO.replace("[models.tender]\n", "[models.tender]\nprobability = 0.6\n").replace(
        "[models.engagement]\n", "[models.engagement]\nprobability = 0.6\n"), "sum to 1.2"),
    (TWO.replace("reported_engagement", "tender"), "identical models"),
    (TWO.replace('"paymaster.kpi" = "tender"', '"adaptation.enabled" = true'),
     "also in the file's [overrides]"),
    (TWO.replace('"paymaster.kpi" = "tender"', '"paymaster.kpi" = "likes"'),
     "models.tender.overrides"),
    (TWO.replace('"paymaster.kpi" = "tender"', '"paymaster.nonsense" = 1'),
     "models.tender.overrides"),
    (TWO.replace("[models.tender]", "[models.tender]\nprobability = 1.5"), "probability"),
])
def test_bad_models_are_refused_naming_the_field(tmp_path, models, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_calibration(_file(tmp_path, models), dry_run=False)


@pytest.mark.parametrize("name", ["kpi_choice", "kpi_choice_calibrated"])
def test_kpi_choice_experiment_file_validates(name):
    """The shipped Spamouflage KPI comparisons (over the assumed and over the calibrated
    preset) load, with their dry run (target statistics exist), and compare the four KPIs with
    adaptive operators."""
    loaded = load_calibration(ROOT / "experiments" / "calibration" / f"{name}.toml")
    assert {loaded.spec.models[m].overrides["paymaster.kpi"] for m in loaded.model_names} == {
        "tender", "reported_engagement", "organic_engagement", "organic_reach"}
    cfg = loaded.config({f.key: f.low for f in loaded.factors}, 1, loaded.model_names[0])
    assert cfg.adaptation.enabled and cfg.paymaster.report_period_days <= 2


# --------------------------------------------------------------------------- on the model

SYNTHETIC = {"adaptation.enabled": True, "paymaster.report_period_days": 1,
             "moderation.enabled": False, "moderation.counterfactual": False,
             "operation.scale_with_users": False, "operation.n_operators": 2,
             "operation.accounts_per_operator": 10}
"""Two operators of 10 accounts on 1,000 users over 10 days: ten daily reports, enough for the
bandit to try its 7 budget splits and then play the best one. (At 3 days an operator has played
only splits 0, 1 and 2, in index order whatever its KPI, so no KPI can be told from another.)
Tender-paid operators end on the even split, reported-engagement-paid ones on
self-amplification, so reported engagements per post and per account differ."""


@pytest.fixture(scope="module")
def kpi_choice(tmp_path_factory):
    """Synthetic data from the tender KPI (a seed the inference never uses), then a model
    choice between tender and reported_engagement on it; run twice (the second resumes a
    finished run)."""
    d = tmp_path_factory.mktemp("kpi")
    s = sim.run(BASE, seed=987_654, users=1000, days=10,
                overrides={**SYNTHETIC, "paymaster.kpi": "tender",
                           "operation.fluency_mean": 0.3}).summary
    obs = {k: statistic(s, k) for k in ("op_posts_mean_engagements_public",
                                        "op_accounts_mean_engagements_public")}
    over = "".join(f'"{k}" = {json.dumps(v)}\n' for k, v in SYNTHETIC.items())
    f = d / "kpi.toml"
    f.write_text(f'name = "kpi"\nbase = "{BASE.as_posix()}"\nusers = 1000\ndays = 10\n'
                 f"[overrides]\n{over}"
                 '[parameters."operation.fluency_mean"]\nrange = [0.2, 0.4]\n'
                 '[models.tender]\noverrides = { "paymaster.kpi" = "tender" }\n'
                 '[models.reported_engagement]\n'
                 'overrides = { "paymaster.kpi" = "reported_engagement" }\n'
                 '[[targets]]\nstatistic = "op_posts_mean_engagements_public"\n'
                 f'observed = {obs["op_posts_mean_engagements_public"]}\nscale = 0.1\n'
                 'source = "synthetic: tender"\n'
                 '[[targets]]\nstatistic = "op_accounts_mean_engagements_public"\n'
                 f'observed = {obs["op_accounts_mean_engagements_public"]}\nscale = 10.0\n'
                 'source = "synthetic: tender"\n'
                 "[inference]\npopulation_size = 12\ngenerations = 1\nroot_seed = 3\n"
                 "predictive_draws = 2\n")
    out = d / "out"
    first = calibrate(f, out, workers=1)  # one process: the same particles on every run
    again = calibrate(f, out, workers=1)
    return out, first, again


def test_model_choice_recovers_the_generating_kpi(kpi_choice):
    """Data from operators paid on the tender's KPI: the tender model gets the larger posterior
    probability. Measured with other root seeds and with reported_engagement generating: see
    docs/calibration.md (Model choice: validation)."""
    out, s, _ = kpi_choice
    p = {k: m["posterior_probability"] for k, m in s["models"].items()}
    assert p["tender"] > p["reported_engagement"], p
    assert math.isclose(sum(p.values()), 1.0)
    assert s["most_probable_model"] == "tender"


def test_model_choice_writes_the_calibration_layout(kpi_choice):
    out, s, again = kpi_choice
    table = pd.read_csv(out / "model_probabilities.csv")
    assert list(table.columns) == ["generation", "epsilon", "simulations", "tender",
                                   "reported_engagement"]
    assert table["generation"].tolist() == [-1, 0]
    np.testing.assert_allclose(table[["tender", "reported_engagement"]].sum(axis=1), 1.0)
    assert (out / "figures" / "model_probabilities.png").stat().st_size > 0
    assert json.loads((out / "calibration.json").read_text())["models"].keys() == {
        "tender", "reported_engagement"}
    post = pd.read_parquet(out / "posterior.parquet")
    assert set(post["model"]) <= {"tender", "reported_engagement"}
    for name, m in s["models"].items():
        mdir = out / "models" / name
        if m["particles_last_generation"] == 0:
            assert not mdir.exists()
            continue
        mp = pd.read_parquet(mdir / "posterior.parquet")
        assert mp["operation.fluency_mean"].between(0.2, 0.4).all()
        assert len(pd.read_parquet(mdir / "predictive.parquet")) == 2
        assert f'kpi = "{name}"' in (mdir / "calibrated.toml").read_text()
        for fig in ("marginals", "pairs", "predictive"):
            assert (mdir / "figures" / f"{fig}.png").is_file()
    # a rerun of a finished model choice resumes it: nothing more is simulated
    assert again["generations_run_now"] == 0
    assert again["simulations_abc"] == s["simulations_abc"]
    assert again["models"]["tender"]["posterior_probability"] == \
        s["models"]["tender"]["posterior_probability"]


def test_posterior_sweep_refuses_a_model_choice_result(kpi_choice, tmp_path):
    out, s, _ = kpi_choice
    exp = tmp_path / "e.toml"
    exp.write_text(f'name = "e"\nbase = "{BASE.as_posix()}"\nusers = 500\ndays = 1\n'
                   f'[design]\nkind = "posterior"\ncalibration = "{out.as_posix()}"\nn = 3\n')
    with pytest.raises(ConfigError, match="models/NAME"):
        load_experiment(exp)
    best = s["most_probable_model"]
    exp.write_text(exp.read_text().replace(out.as_posix(), (out / "models" / best).as_posix()))
    assert len(load_experiment(exp).points) == 3
