"""Organic users as arrays: community, language, time zone, activity, attention, propensities.

One row per user; nothing here is a Python object per user. Heavy-tailed activity comes from a
lognormal number of sessions per day; heavy-tailed popularity (and so in-degree) from a Pareto
fitness. High-profile and media accounts are organic users marked by role, used by the Breakout
Scale (categories 4 and 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import portable
from .config import Config


@dataclass
class Population:
    n: int
    community: np.ndarray  # int8, index into config communities
    language: np.ndarray  # int8, index into LANGUAGES
    utc_offset: np.ndarray  # int8, hours
    sessions_per_day: np.ndarray  # float32
    attention: np.ndarray  # int16, items read per session
    propensity: np.ndarray  # float32, multiplies engagement probabilities (mean 1)
    post_propensity: np.ndarray  # float64, multiplies post_prob (mean 1; all 1 by default)
    is_media: np.ndarray  # bool
    is_high_profile: np.ndarray  # bool
    member: np.ndarray  # bool (n, n_platforms)
    community_names: tuple[str, ...]


def categorical(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    """``size`` draws of category indices with the given (unnormalised) weights."""
    return category_of(weights, rng.random(size))


def category_of(weights, u: np.ndarray) -> np.ndarray:
    """The category indices that uniforms ``u`` stand for under the (unnormalised) weights:
    :func:`categorical`'s rule, for uniforms drawn beforehand."""
    cum = _cumulative(weights)
    # (rounding can leave the last cumulative weight just under a draw: its index is len(w))
    return np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1)


def category_range(weights, k: int) -> tuple[float, float]:
    """The uniforms ``lo <= u < hi`` that :func:`category_of` maps to category ``k``."""
    cum = _cumulative(weights)
    lo = float(cum[k - 1]) if k > 0 else -np.inf
    hi = float(cum[k]) if k < cum.size - 1 else np.inf  # (category_of's clamp to the last)
    return lo, hi


def _cumulative(weights) -> np.ndarray:
    """The cumulative shares of the (unnormalised) weights."""
    w = np.asarray(weights, dtype=float)
    return np.cumsum(w / w.sum())


def beta_params(mean: float, concentration: float) -> tuple[float, float]:
    """Beta(a, b) shape parameters from a mean and a concentration ``a + b``."""
    return mean * concentration, (1 - mean) * concentration


def pareto_fitness(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """``n`` Pareto draws with density exponent ``exponent`` (> 1): used as popularity in
    follower attachment, they give in-degree ~ k^-exponent (Chung-Lu)."""
    return portable.power(1.0 - rng.random(n), -1.0 / (exponent - 1.0))


def largest(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest ``values``, ties to the earlier position (the first ``k``
    of a stable descending sort, as a set), without sorting them all: at 10^7 users a full sort
    of each community's fitness took 1.5 s of building the world."""
    if k >= values.size:
        return np.arange(values.size)
    if k <= 0:
        return np.zeros(0, np.intp)
    kth = np.partition(values, values.size - k)[values.size - k]  # the k-th largest
    above = np.flatnonzero(values > kth)
    return np.concatenate((above, np.flatnonzero(values == kth)[: k - above.size]))


def make_population(cfg: Config, rng: np.random.Generator) -> tuple[Population, np.ndarray]:
    """Draw every organic user's attributes, and their fitness (float64 popularity, which
    follower attachment uses once, so it is not kept: 8 bytes a user). The draw order is fixed,
    so a seed fixes all."""
    pc = cfg.population
    n = pc.n_users
    comms = pc.communities
    community = categorical(rng, [c.share for c in comms], n).astype(np.int8)
    language = np.empty(n, np.int8)
    utc = np.empty(n, np.int8)
    for ci, c in enumerate(comms):
        idx = np.flatnonzero(community == ci)
        language[idx] = categorical(rng, c.languages, idx.size)
        utc[idx] = np.asarray(c.utc_offsets)[categorical(rng, c.utc_weights, idx.size)]
    sessions = pc.sessions_per_day_median * portable.exp(
        pc.sessions_per_day_sigma * rng.standard_normal(n))
    attention = 1 + rng.poisson(max(pc.attention_mean - 1.0, 0.0), n)
    s = pc.propensity_sigma
    propensity = portable.exp(s * rng.standard_normal(n) - 0.5 * s * s)  # mean 1
    fitness = pareto_fitness(rng, n, pc.popularity_exponent)
    is_media = np.zeros(n, bool)
    is_hp = np.zeros(n, bool)
    for ci in range(len(comms)):
        idx = np.flatnonzero(community == ci)
        if idx.size == 0:
            continue
        nm = min(pc.n_media_per_community, idx.size)
        media = rng.choice(idx, nm, replace=False) if nm else idx[:0]
        is_media[media] = True
        fitness[media] *= pc.media_fitness_boost
        rest = idx[~is_media[idx]]
        is_hp[rest[largest(fitness[rest], pc.n_high_profile_per_community)]] = True
    member = np.column_stack([rng.random(n) < p.membership for p in cfg.platforms])
    none = ~member.any(axis=1)
    if none.any():  # everyone is somewhere: give stragglers their likeliest platform
        member[none, int(np.argmax([p.membership for p in cfg.platforms]))] = True
    s = pc.post_propensity_sigma  # drawn last, and only when used: the default world unchanged
    post_propensity = portable.exp(s * rng.standard_normal(n) - 0.5 * s * s) if s > 0 \
        else np.broadcast_to(1.0, n)  # all 1: one shared (read-only) value, not 8 bytes a user
    return Population(
        n=n, community=community, language=language, utc_offset=utc,
        sessions_per_day=sessions.astype(np.float32),
        attention=np.minimum(attention, 32_000).astype(np.int16),
        propensity=propensity.astype(np.float32), post_propensity=post_propensity,
        is_media=is_media, is_high_profile=is_hp, member=member,
        community_names=tuple(c.name for c in comms)), fitness
