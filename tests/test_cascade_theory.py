"""Validity: in validation mode the engine is the independent cascade model, and on Erdos-Renyi
follower graphs its outbreak sizes agree with bond-percolation theory.

The reduction
-------------
``experiments/validation/independent_cascade.toml`` switches off everything but resharing: every
member is online every hour and reads every unread item, each read reshares the item with the
fixed probability T and nothing else happens, and a user reshares a given item at most once.
A reshare reaches all of the resharer's followers, so every follower edge u -> v is tried
exactly once, independently, when u shares the item. That is the independent cascade (IC) model,
and IC from one seed reaches exactly the seed's out-component in the *live-edge* graph in which
each edge is kept with probability T (Kempe, Kleinberg & Tardos 2003): bond percolation.
One tick is one generation; a run stops at the first tick with no new reshare (all feeds are
then read and nothing is in flight), so every outbreak is complete. Every run also checks the
reduction directly: the only posts are the seed and reshares of it, each sharer appears once,
and each reshare's author follows the author of the post it reshared.

The theory (Newman 2002, PRE 66:016128)
---------------------------------------
The ``erdos_renyi`` generator draws Poisson(c N) uniformly random ordered (author, follower)
pairs, so in- and out-degrees are Poisson with mean c. In the live-edge graph they are Poisson
with mean c T, and the cascade from a random seed is, for large N, a Galton-Watson branching
process with Poisson(c T) offspring. Hence:

* above threshold (c T > 1), with S the root of S = 1 - exp(-c T S) in (0, 1]:
  - the probability that one seed starts a large outbreak is the survival probability of the
    branching process, which is S (its extinction probability q = 1 - S solves
    q = exp(-c T (1 - q))); for a directed graph this is the giant in-component fraction, equal
    to the giant out-component fraction S because in- and out-degrees have the same law;
  - a large outbreak reaches the giant out-component of the live-edge graph: S N members;
  - an outbreak that dies out is the branching process conditioned on extinction, which is again
    Poisson branching, with mean mu = c T (1 - S) < 1 (duality); its mean size is 1 / (1 - mu);
* below threshold (c T < 1) every outbreak is small and its size is Borel distributed,
  P(n) = exp(-mu n) (mu n)^(n - 1) / n! with mu = c T, mean 1 / (1 - mu) and variance
  mu / (1 - mu)^3.

Small or large
--------------
An outbreak is *large* if it reaches more than N / 10 members. Outbreak sizes are sharply
bimodal: a small one has the Borel tail ~ n^(-3/2) (mu e^(1 - mu))^n, which for the dying-out
process above threshold (mu = 0.63, ratio 0.91) puts the chance of exceeding N / 10 = 300 near
1e-13, while large ones sit at S N = 1,748 with a standard deviation of about 65. Any cut in the
empty middle gives the same split; N / 10 is far from both modes. The split itself is tested:
no outbreak may fall in (N / 30, N / 4].

Tolerances
----------
Every comparison allows 4 standard errors (a two-sided 4-sigma band has a false-alarm rate of
6e-5; the seeds are fixed, so the test is deterministic anyway). Standard errors come from the
theory under test where it gives the variance (binomial for the fraction of large outbreaks,
the Borel variance for small ones) and from the sample for the size of large outbreaks. Means
of sizes also get a finite-size allowance for O(1/N) effects that the large-N theory ignores:
the generator drops self-loops and duplicate pairs (the mean degree falls by a factor of about
1 - (1 + c / 2) / N, moving S by 1e-3 at N = 3,000), a finite graph has short cycles, and the
giant component has O(1) corrections. These are ~1e-3 of S and ~0.2% of small means; the
allowances (0.005 on S, 1% on a small mean) are several times larger, and still smaller than
what a wrong transmissibility would produce (dS/dT = 1.95 here, so T off by 0.01 moves S by
0.02, beyond the whole tolerance).

Cost
----
The time per tick grows with the feed width, so runs use ``feed_capacity = 16`` rather than the
file's 64. That is exact, not an approximation: a member's feed receives at most one copy of the
item from each followee over the whole cascade (a sharer shares once), so nothing is ever dropped
while the feed is at least as wide as the largest followee count, which every run asserts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import gammaln
from scipy.stats import chisquare

from sim import InfluenceModel, load_config
from sim.config import Config
from sim.network import csr_contains

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "validation" / \
    "independent_cascade.toml"
FEED_CAPACITY = 16
MAX_TICKS = 400  # a safety cap only; runs stop once the cascade is over (about 45 ticks at most)
Z = 4.0  # standard errors allowed in every comparison
S_ALLOWANCE = 0.005  # finite-size allowance on (large outbreak size) / N (see docstring)
MEAN_ALLOWANCE = 0.01  # finite-size allowance on small-outbreak means, relative


@dataclass(frozen=True)
class Regime:
    n: int  # members (all on the one platform)
    c: float  # mean followees (= mean followers)
    t: float  # transmissibility: reshare probability per read
    runs: int  # independent outbreaks, a new graph each
    first_seed: int

    @property
    def ct(self) -> float:
        return self.c * self.t


# c T = 1.5: S = 0.583, so large and small outbreaks are both common. N = 3,000 keeps a large
# outbreak (25-45 ticks) under 0.1 s; 240 runs give about 140 large ones.
ABOVE = Regime(n=3000, c=3.0, t=0.5, runs=240, first_seed=1)
# c T = 0.5: mean size 2. Outbreaks last a few ticks, so many runs are cheap; 2,000 runs put the
# standard error of the mean at 2.2% of it.
BELOW = Regime(n=2000, c=2.0, t=0.25, runs=2000, first_seed=100_001)


def final_size(ct: float) -> float:
    """Root S in (0, 1] of S = 1 - exp(-c T S); 0 at or below the threshold c T = 1."""
    if ct <= 1.0:
        return 0.0
    return float(brentq(lambda s: s - 1.0 + np.exp(-ct * s), 1e-12, 1.0, xtol=1e-14))


def borel_pmf(mu: float, n: np.ndarray) -> np.ndarray:
    """P(total progeny = n) of a Poisson(mu) branching process started by one individual."""
    n = np.asarray(n, np.float64)
    return np.exp(-mu * n + (n - 1.0) * np.log(mu * n) - gammaln(n + 1.0))


def is_large(sizes: np.ndarray, n: int) -> np.ndarray:
    return sizes > n / 10


def config_for(reg: Regime) -> Config:
    cfg = load_config(CONFIG, {
        "population.n_users": reg.n,
        "platforms.0.followees_mean": reg.c,
        "platforms.0.feed_capacity": FEED_CAPACITY,
        "engagement.fixed_reshare_prob": reg.t,
    })
    return cfg


def one_outbreak(cfg: Config, seed: int) -> tuple[int, int]:
    """Seed one item at a random member of a fresh graph; return (outbreak size, ticks)."""
    n = cfg.population.n_users
    m = InfluenceModel(cfg, seed=seed)
    followees = np.bincount(m.platforms[0].graph.followers, minlength=n)
    assert followees.max() <= FEED_CAPACITY, "a feed could overflow: widen FEED_CAPACITY"
    author = int(np.random.default_rng([seed, 17]).integers(n))
    root = m.organic.inject_post(author, 0, m.steps)
    m.outbox.flush(m.platforms)
    before = -1
    while m.posts.n != before:  # stop after an hour with no reshare: all read, nothing in flight
        assert m.steps < MAX_TICKS, f"cascade still running after {MAX_TICKS} ticks (seed {seed})"
        before = m.posts.n
        m.run(1)
    size = int(m.posts.cols["reshares_organic"][root]) + 1
    # The reduction itself: the only posts are the seed and reshares of it, one per sharer,
    # and every reshare travelled along a follower edge from the post it reshared.
    posts = m.posts
    assert posts.n == size
    assert (posts.root == root).all()
    assert np.unique(posts.author).size == size
    parent = posts.get("parent", np.arange(1, size))
    assert ((parent >= 0) & (parent < np.arange(1, size))).all()
    graph = m.platforms[0].graph
    assert csr_contains(graph.indptr, graph.ids, posts.author[parent],
                        posts.author[1:]).all()
    return size, m.steps


@functools.cache
def outbreaks(reg: Regime) -> np.ndarray:
    """Sizes of ``reg.runs`` independent outbreaks (cached: several tests share them)."""
    cfg = config_for(reg)
    out = [one_outbreak(cfg, reg.first_seed + i) for i in range(reg.runs)]
    return np.array([size for size, _ in out])


# ==== the configuration ======================================================================

def test_config_is_independent_cascade_mode() -> None:
    cfg = load_config(CONFIG)
    pc, ec = cfg.population, cfg.engagement
    assert pc.always_active and not pc.attention_limited and pc.post_prob == 0.0
    assert ec.fixed_reshare_prob is not None and ec.cross_post_prob == 0.0
    assert not cfg.operation.enabled
    assert len(cfg.platforms) == 1
    p = cfg.platforms[0]
    assert p.graph == "erdos_renyi" and p.membership == 1.0
    assert p.feed_capacity >= FEED_CAPACITY


def test_final_size_equation() -> None:
    s = final_size(ABOVE.ct)
    assert s == pytest.approx(1.0 - np.exp(-ABOVE.ct * s), abs=1e-12)
    assert s == pytest.approx(0.5828, abs=1e-4)
    assert final_size(2.0) == pytest.approx(0.7968, abs=1e-4)
    assert final_size(BELOW.ct) == 0.0
    assert borel_pmf(0.5, np.arange(1, 400)).sum() == pytest.approx(1.0, abs=1e-12)


# ==== above threshold ========================================================================

def test_outbreak_sizes_are_bimodal_above_threshold() -> None:
    reg = ABOVE
    sizes = outbreaks(reg)
    middle = (sizes > reg.n / 30) & (sizes <= reg.n / 4)
    assert not middle.any(), f"outbreaks of intermediate size: {np.sort(sizes[middle])}"


def test_probability_of_large_outbreak_is_final_size() -> None:
    reg = ABOVE
    s = final_size(reg.ct)
    frac = is_large(outbreaks(reg), reg.n).mean()
    se = np.sqrt(s * (1.0 - s) / reg.runs)
    assert abs(frac - s) <= Z * se, f"P(large) = {frac:.4f}, theory S = {s:.4f} +- {se:.4f}"


def test_large_outbreak_size_is_final_size() -> None:
    reg = ABOVE
    s = final_size(reg.ct)
    sizes = outbreaks(reg)
    big = sizes[is_large(sizes, reg.n)] / reg.n
    assert big.size >= 50
    se = big.std(ddof=1) / np.sqrt(big.size)
    tol = Z * se + S_ALLOWANCE
    assert abs(big.mean() - s) <= tol, (
        f"large outbreaks reach {big.mean():.4f} N (+- {se:.4f}), theory S = {s:.4f}")


def test_small_outbreaks_above_threshold_are_dual_branching() -> None:
    reg = ABOVE
    s = final_size(reg.ct)
    mu = reg.ct * (1.0 - s)  # offspring mean of the process conditioned on dying out
    sizes = outbreaks(reg)
    small = sizes[~is_large(sizes, reg.n)]
    assert small.size >= 50
    mean = 1.0 / (1.0 - mu)
    se = np.sqrt(mu / (1.0 - mu) ** 3 / small.size)
    assert abs(small.mean() - mean) <= Z * se + MEAN_ALLOWANCE * mean, (
        f"small outbreaks average {small.mean():.3f}, theory {mean:.3f} +- {se:.3f}")


# ==== below threshold ========================================================================

def test_no_large_outbreak_below_threshold() -> None:
    reg = BELOW
    sizes = outbreaks(reg)
    assert not is_large(sizes, reg.n).any()
    assert sizes.max() <= reg.n / 30


def test_mean_outbreak_below_threshold() -> None:
    reg = BELOW
    mu = reg.ct
    sizes = outbreaks(reg)
    mean = 1.0 / (1.0 - mu)
    se = np.sqrt(mu / (1.0 - mu) ** 3 / reg.runs)
    assert abs(sizes.mean() - mean) <= Z * se + MEAN_ALLOWANCE * mean, (
        f"mean outbreak {sizes.mean():.3f}, theory 1 / (1 - cT) = {mean:.3f} +- {se:.3f}")


def test_outbreak_size_distribution_below_threshold_is_borel() -> None:
    """Chi-square goodness of fit to the Borel law, on bins with at least 50 expected runs
    (sizes 1, 2, 3, 4, 5, 6-7, 8 and more). The first bin alone checks the per-edge
    trial: a seed with k followers stays alone with probability (1 - T)^k, exp(-c T) on
    average."""
    reg = BELOW
    sizes = outbreaks(reg)
    edges = np.array([1, 2, 3, 4, 5, 6, 8])
    pmf = borel_pmf(reg.ct, np.arange(1, edges[-1]))
    p = np.add.reduceat(pmf, edges[:-1] - 1)
    p = np.append(p, 1.0 - p.sum())
    observed = np.bincount(np.searchsorted(edges, sizes, side="right") - 1,
                           minlength=edges.size)
    expected = p * reg.runs
    assert expected.min() >= 50
    pvalue = chisquare(observed, expected).pvalue
    assert pvalue > 1e-3, f"observed {observed.tolist()}, expected {np.round(expected, 1)}"
