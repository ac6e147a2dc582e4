"""What an organic user does with an item they read: the engagement probabilities.

The match factor is written on arrays (:func:`match_factor`, also used for follow-backs of audience
building); the probabilities of a batch of reads are computed in one compiled pass that gives the
same bits (:func:`action_probs`). The per-agent reference, ``sim.reference``, restates the formula
on scalars, so a change here that is not made there shows up as a disagreement between the two.
Every action's probability is the user's base probability times the user's propensity times a
*match* factor:

    match = topic * comprehension[reader language, item language] * quality ** q
            * timeliness * freshness(age) * social_proof * followed_author

- topic: 1 if the item's topic is the reader's community, else ``cross_topic_factor``;
- timeliness: ``2 ** (-lag / news_halflife)`` for content about old events (stale timing);
- freshness: ``2 ** (-age / freshness_halflife)``, the item's age when read (time-zone mismatch
  makes operation posts older by the time their audience wakes up);
- social proof: ``1 + w * log(1 + visible engagements)``, in-network ones included;
- followed author: ``followed_author_factor`` if the reader follows the root's author.

Reports use ``report_prob * (1 - quality) * comprehension`` (readers report content they can read
and judge poor), independent of the match. Probabilities are clipped to [0, 1]. In validation mode
(``fixed_reshare_prob``) the reshare probability is that constant and nothing else happens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import portable
from ..config import Config
from ..threads import get_threads, parallel_worth
from . import kernels

ACTIONS = ("like", "reshare", "reply", "follow", "report")


@dataclass(frozen=True)
class Coefficients:
    """Config values the formula needs, unpacked once."""

    base: np.ndarray  # base probability per action, in ACTIONS order
    cross_topic: float
    comprehension: np.ndarray
    quality_exponent: float
    fresh_rate: float  # ln2 / halflife, per hour
    social_proof: float
    followed_factor: float
    fixed_reshare: float | None

    @property
    def terms(self) -> kernels.FormulaTerms:
        """What the compiled formula needs (:func:`sim.organic.kernels.engagement_probs`)."""
        return kernels.FormulaTerms(self.base, self.comprehension,
                                    np.float32(self.quality_exponent), float(self.cross_topic),
                                    float(self.social_proof), float(self.followed_factor))

    @classmethod
    def from_config(cls, cfg: Config) -> Coefficients:
        pc, ec = cfg.population, cfg.engagement
        return cls(
            base=np.array([pc.like_prob, pc.reshare_prob, pc.reply_prob, pc.follow_prob,
                           pc.report_prob], np.float32),
            cross_topic=ec.cross_topic_factor,
            comprehension=np.asarray(ec.comprehension, np.float32),
            quality_exponent=ec.quality_exponent,
            fresh_rate=math.log(2.0) / ec.freshness_halflife_hours,
            social_proof=ec.social_proof_weight,
            followed_factor=ec.followed_author_factor,
            fixed_reshare=ec.fixed_reshare_prob,
        )


def match_factor(c: Coefficients, reader_comm, reader_lang, topic, lang, quality, timeliness,
                 age, visible_eng, followed):
    """Content-reader match (see module docstring); works on arrays or scalars."""
    topic_f = np.where(reader_comm == topic, 1.0, c.cross_topic)
    comp = c.comprehension[reader_lang, lang]
    fresh = freshness(c, age)
    proof = 1.0 + c.social_proof * portable.log1p(visible_eng)
    foll = np.where(followed, c.followed_factor, 1.0)
    return topic_f * comp * portable.power(quality, c.quality_exponent) * timeliness * fresh \
        * proof * foll


def freshness(c: Coefficients, age):
    """``2 ** (-age / freshness_halflife)``, as ``exp(-ln2 / halflife x age)`` in the age's
    precision (single in the engine)."""
    return np.exp(-c.fresh_rate * age)  # float32: numpy's own, see sim.portable


def freshness_by_age(c: Coefficients, now: int) -> np.ndarray:
    """:func:`freshness` of an item 0, 1, ..., ``now`` hours old (single precision)."""
    return freshness(c, np.arange(now + 1, dtype=np.float32))


def action_probs(c: Coefficients, users, roots, followed, community, language, propensity,
                 posts, now: int) -> np.ndarray:
    """Probabilities of (like, reshare, reply, follow, report) of each read (``users[i]`` read
    root ``roots[i]``; ``followed[i]``: the reader follows its author), shape (reads, 5): each
    base probability times the reader's propensity times :func:`match_factor`, except
    ``follow``, which applies only to operation authors (the organic graph is static), and
    ``report``, ``report_prob * propensity * (1 - quality) * comprehension`` (counted for every
    item, but only operation content is ever in the ledgers); clipped to [0, 1]. In validation
    mode only the fixed reshare probability. Computed in one compiled pass over the reads
    (:func:`sim.organic.kernels.engagement_probs`, the same bits as the array formula; on
    several threads for a large batch)."""
    if c.fixed_reshare is not None:
        out = np.zeros((users.size, 5), np.float32)
        out[:, 1] = c.fixed_reshare
        return out
    args = (users, roots, followed, community, language, propensity, posts, now, c.terms,
            freshness_by_age(c, now))
    if parallel_worth(users.size):
        return kernels.engagement_probs_parallel(*args, get_threads())
    return kernels.engagement_probs(*args)
