"""Paymasters, KPIs, adaptive operators and the kidding ratio.

What is checked: the learning rule raises its own reward on a fixed environment; per-operator
reports add up to the run's ledgers; the kidding ratio is at least 1 whenever it is defined; and
operators rewarded on a real-ledger KPI reach at least as much real audience as operators
rewarded on the tender's vanity KPI, with the same seeds and budget.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_mechanisms import PairedRuns, assert_greater

import sim
from sim.config import TACTICS
from sim.incentives import Learner, candidate_splits

ADAPTIVE = {"adaptation.enabled": True, "paymaster.report_period_days": 1,
            "operation.scale_with_users": False, "operation.n_operators": 2,
            "operation.accounts_per_operator": 20}


@pytest.mark.parametrize("seed", range(5))
def test_learning_improves_its_reward_on_a_fixed_environment(seed) -> None:
    """A fixed environment: each candidate split pays a fixed mean plus noise. After the
    round of first tries, the learner's reward rises and it settles on the best split."""
    rng = np.random.default_rng(seed)
    arms = candidate_splits("focused")
    true = rng.permutation(np.linspace(0.0, 1.0, len(arms)))
    learner = Learner(arms, epsilon=0.1, rng=np.random.default_rng(seed + 100))
    rewards = []
    for _ in range(300):
        r = true[learner.arm] + rng.normal(0.0, 0.3)
        rewards.append(true[learner.arm])
        learner.update(r)
    first_round = np.mean(rewards[: len(arms)])  # each split once: the average split
    assert np.mean(rewards[-100:]) > first_round + 0.5 * (true.max() - first_round)
    played = np.bincount([a for a, _ in learner.history], minlength=len(arms))
    assert np.argmax(played) == np.argmax(true)
    np.testing.assert_array_equal(learner.best(), arms[np.argmax(true)])


def test_candidate_splits_are_budget_splits() -> None:
    for kind, n in (("focused", 7), ("pairs", 22)):
        arms = candidate_splits(kind)
        assert arms.shape == (n, len(TACTICS))
        np.testing.assert_allclose(arms.sum(axis=1), 1.0)
        assert (arms >= 0).all()


@pytest.fixture(scope="module")
def adaptive_run(preset):
    return sim.run(preset, seed=3, users=3000, days=6,
                   overrides={**ADAPTIVE, "moderation.enabled": False})


def test_operator_reports_add_up_to_the_ledgers(adaptive_run) -> None:
    """Each period's per-operator figures sum to the operation's period figures, and over the
    run to its totals: the paymaster rewards exactly what the ledgers count."""
    ops, reports, s = adaptive_run.operators, adaptive_run.reports, adaptive_run.summary
    assert len(ops) == 2 * len(reports)
    by_period = ops.groupby("period").sum(numeric_only=True)
    for k in ("posts_published", "reported_engagements", "reported_impressions",
              "organic_engagements", "organic_impressions"):
        assert by_period[k].sum() == s[k], k
    np.testing.assert_array_equal(by_period["posts_published"], reports["posts_published"])
    np.testing.assert_array_equal(by_period["organic_engagements"],
                                  reports["organic_engagements"])
    # the learner played every split once before repeating one (7 splits, 6 periods)
    shares = ops.loc[ops["operator"] == 0, [f"share_{t}" for t in TACTICS]].to_numpy()
    assert len({tuple(r) for r in shares}) == len(shares)
    assert {f"allocation_{t}" for t in TACTICS} <= set(s)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), fluency=st.floats(0.05, 0.95),
       amp=st.floats(0.0, 6.0), fakes=st.floats(0.0, 0.3))
def test_kidding_ratio_is_at_least_one_whenever_defined(seed, fluency, amp, fakes) -> None:
    """Summary, every report and every tick: the kidding ratio is reported over real, at least
    1, and undefined exactly when nothing real happened."""
    r = sim.run({"run": {"days": 0.5}, "population": {"n_users": 400},
                 "paymaster": {"report_period_days": 1},
                 "operation": {"scale_with_users": False, "n_operators": 2,
                               "fluency_mean": fluency, "self_amp_per_post": amp,
                               "fake_view_prob": fakes}}, seed=seed)
    rows = [r.summary, *r.summary["reports"]]
    for row in rows:
        for ratio, rep, real in (("kidding_ratio", "reported_engagements",
                                  "organic_engagements"),
                                 ("kidding_ratio_impressions", "reported_impressions",
                                  "organic_impressions")):
            if row[real] == 0:
                assert row[ratio] is None
            else:
                assert row[ratio] == row[rep] / row[real] >= 1.0
    ts = r.timeseries
    defined = ts["organic_engagements"] > 0
    assert ts["kidding_ratio"][~defined].isna().all()
    assert (ts["kidding_ratio"][defined] >= 1.0).all()
    assert all(math.isfinite(x) for x in ts["kidding_ratio_impressions"][
        ts["organic_impressions"] > 0])


@pytest.fixture(scope="module")
def pool():
    workers = min(2, os.cpu_count() or 1)
    if workers < 2:
        yield None
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as ex:
        yield ex


@pytest.mark.slow
def test_real_kpi_reaches_no_less_than_the_tender_kpi(preset, pool) -> None:
    """Same seeds, same budget, platforms not moderating (a fixed environment to learn in):
    operators paid on organic engagement end with more organic engagement than operators paid
    on the tender's posts, surviving accounts and follower growth."""
    runs = PairedRuns(preset, pool)
    seeds = tuple(range(1, 9))
    real = runs.arm({**ADAPTIVE, "paymaster.kpi": "organic_engagement"}, seeds, 10_000, 30)
    vanity = runs.arm({**ADAPTIVE, "paymaster.kpi": "tender"}, seeds, 10_000, 30)
    assert_greater(real["organic_engagements"], vanity["organic_engagements"],
                   "organic engagements, real KPI vs tender KPI")
    assert real["organic_impressions"].mean() >= vanity["organic_impressions"].mean()
