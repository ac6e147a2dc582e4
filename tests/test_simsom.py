"""SimSoM (Truong, Lou, Flammini & Menczer, PNAS Nexus 3:pgae258, 2024) on a small network.

Fast checks of the SimSoM rules: exact invariance without bad actors, the paper's main
qualitative finding (infiltration hurts more than flooding), determinism, and the quality
distribution. docs/simsom.md explains the model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import sim
from sim.config import build_config
from sim.simsom.model import SimSoMModel, quality_from_uniform, run_pair

SMALL = {"simsom.enabled": True, "simsom.n_humans": 600, "simsom.followees_mean": 20.0,
         "simsom.max_steps": 60}


def small(**kw: float) -> object:
    return build_config({}, SMALL | {f"simsom.{k}": v for k, v in kw.items()})


def rel(seed: int, **kw: float) -> float:
    cfg = build_config(small(**kw).model_dump(), {"run.seed": seed})
    res, base = run_pair(cfg)
    assert base is not None
    return res.average_quality / base.average_quality


@pytest.mark.parametrize("kw", [{"beta": 0.0}, {"gamma": 0.0}, {"gamma": 0.0, "theta": 64.0}])
def test_no_bad_actor_edges_gives_relative_quality_exactly_one(kw: dict) -> None:
    # Bad actors nobody follows (gamma = 0) draw from their own streams, so the human dynamics
    # are bit-for-bit those of the baseline run: equality, not approximate equality.
    r = sim.run(small(**kw), seed=11)
    assert r.summary["relative_quality"] == 1.0
    assert r.summary["average_quality"] == r.summary["baseline_average_quality"]
    assert r.summary["steps"] == r.summary["baseline_steps"]


def test_infiltration_hurts_more_than_flooding() -> None:
    """Truong et al. 2024: raising infiltration (gamma) tenfold lowers quality more than raising
    flooding (theta) tenfold. Decision rule: on 6 paired seeds (same world for both arms), the
    tenfold-gamma arm must have the lower relative quality on every seed (one-sided sign test,
    P = 2^-6 = 0.016 under no difference) and a mean paired gap above 0.05."""
    seeds = range(101, 107)
    more_infiltration = np.array([rel(s, gamma=0.1, theta=1.0) for s in seeds])
    more_flooding = np.array([rel(s, gamma=0.01, theta=10.0) for s in seeds])
    gap = more_flooding - more_infiltration
    assert (gap > 0).all(), gap
    assert gap.mean() > 0.05, gap
    assert stats.binomtest(int((gap > 0).sum()), gap.size, alternative="greater").pvalue < 0.05


def test_bad_actors_lower_quality() -> None:
    qs = [rel(s, gamma=0.05) for s in (5, 6, 7)]
    assert max(qs) < 0.95


def test_same_seed_same_result() -> None:
    a = sim.run(small(gamma=0.05, theta=4.0), seed=3)
    b = sim.run(small(gamma=0.05, theta=4.0), seed=3)
    c = sim.run(small(gamma=0.05, theta=4.0), seed=4)
    keys = ["relative_quality", "average_quality", "baseline_average_quality", "steps",
            "edges_human", "edges_infiltration", "messages_created"]
    assert {k: a.summary[k] for k in keys} == {k: b.summary[k] for k in keys}
    assert a.timeseries.equals(b.timeseries)
    assert a.summary["average_quality"] != c.summary["average_quality"]


@pytest.mark.parametrize("lam", [10.0, 2.0, -3.0])
def test_human_quality_density_is_exp_lambda_q(lam: float) -> None:
    """Human messages created in a run follow density ~ exp(lambda q) on [0, 1] (KS test)."""
    cfg = small(lambda_quality=lam, beta=0.0, max_steps=10, min_steps=10)
    m = SimSoMModel(build_config(cfg.model_dump(), {"run.seed": 9}))
    m.run()
    q = m.m_quality[: m.n_msgs][~m.m_bot[: m.n_msgs]]
    assert q.size > 2000 and q.min() >= 0 and q.max() <= 1

    def cdf(x: np.ndarray) -> np.ndarray:
        return np.expm1(lam * np.clip(x, 0, 1)) / np.expm1(lam)

    assert stats.kstest(q, cdf).pvalue > 0.001
    # and the mean matches 1 - 1/lambda + 1/(e^lambda - 1)
    assert abs(q.mean() - (1 - 1 / lam + 1 / np.expm1(lam))) < 0.01


def test_quality_inverse_cdf_limits() -> None:
    u = np.array([0.0, 0.5, 1.0 - 1e-12])
    assert np.allclose(quality_from_uniform(u, 1e-15), u)
    q = quality_from_uniform(u, 10.0)
    assert q[0] == 0.0 and 0.9 < q[1] < 1.0 and q[2] <= 1.0


def test_flooding_weights_bad_actor_items() -> None:
    """Bad actors' items arrive with share count theta (their selection weight)."""
    m = SimSoMModel(small(gamma=0.2, theta=8.0))
    for _ in range(3):
        m.step()
    hf, sh = m.feed[: m.n_h], m.shares[: m.n_h]
    bot_items = (hf >= 0) & m.m_bot[np.maximum(hf, 0)]
    assert bot_items.any()
    assert (sh[bot_items] >= 1).all() and (sh[bot_items] >= 8).mean() > 0.5


def test_simsom_result_saves(tmp_path) -> None:
    r = sim.run(small(), seed=1)
    out = r.save(tmp_path / "run")
    assert (out / "summary.json").exists() and (out / "figures" / "quality.png").exists()


def test_feed_invariants_with_partial_activation() -> None:
    """Feeds stay packed from the left, youngest first, without repeats; shares >= 1; bad
    actors' feeds hold only bad-actor messages (they follow no humans)."""
    m = SimSoMModel(build_config({}, {"simsom.enabled": True, "simsom.n_humans": 300,
                                      "simsom.followees_mean": 8.0, "simsom.gamma": 0.1,
                                      "simsom.theta": 3.0, "simsom.activation_fraction": 0.3}))
    for _ in range(25):
        m.step()
        f = m.feed
        filled = f >= 0
        assert (filled[:, :-1] | ~filled[:, 1:]).all()
        s = np.sort(np.where(filled, f, -np.arange(1, f.shape[1] + 1)), axis=1)
        assert (s[:, 1:] != s[:, :-1]).all()
        assert (np.diff(np.where(filled, m.age, 10**9), axis=1) >= 0).all()
        assert (m.shares[filled] >= 1).all()
        assert m.m_bot[f[m.n_h:][filled[m.n_h:]]].all()
    assert m.age.max() > 1  # partial activation: items survive several steps
