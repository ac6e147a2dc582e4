"""Operators: the staff who run the troll accounts, as Mesa agents, and their hour in arrays.

An operator works office hours in its own time zone with meal breaks [Meta 2023]. Each hour the
staff (:class:`Staff`) decides one :class:`HourPlan` for every live account: buy the day's
followers at midnight UTC; on shift, replace removed accounts (each operator within its budget
and purchase rate), build audience, post, plant replies under popular threads and amplify its
own posts. The plan is carried out in one pass (:meth:`sim.operation.tactics.Operation.
carry_out`), and the staff's state (budgets, purchase tokens) lives in arrays, one entry per
operator, so thousands of operators cost no more array passes than one. Adaptive operators
choose their plan's intensities from a split of a fixed budget that they learn
(:class:`sim.incentives.Learner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from ..config import TACTICS
from ..incentives import Learner, candidate_splits
from ..posts import filled

if TYPE_CHECKING:
    from ..model import InfluenceModel


@dataclass
class HourPlan:
    """What the operators do this hour, one entry per live account: operators in index order,
    each one's accounts in the order it got them."""

    accounts: np.ndarray  # live troll accounts worked this hour
    post_rate: np.ndarray  # expected posts per account this hour
    follow_rate: np.ndarray  # expected audience-building follows per account this hour
    hijack_fraction: np.ndarray  # share of posts planted as replies under popular threads
    self_amp_per_post: np.ndarray  # mean sibling engagements per post
    self_amp_share_fraction: np.ndarray  # share of sibling engagements that are reshares
    buy_followers: np.ndarray  # fake followers bought per account now (daily purchase)
    content_lag_hours: np.ndarray  # mean lag between event and post
    quality_bonus: np.ndarray  # added to the accounts' fluency (fluent persona writers)


class Operator(mesa.Agent):
    """One member of staff: the ``i``-th operator made runs the troll accounts whose
    ``operator`` (:class:`~sim.operation.accounts.TrollAccounts`) is ``i``; if adaptive, it
    learns a split of its budget among tactics. Its schedule and rates are the staff's (one
    ``[operation]`` for all), its budget and tokens entries of the staff's arrays."""

    model: InfluenceModel

    def __init__(self, model: InfluenceModel) -> None:
        super().__init__(model)
        ad = model.cfg.adaptation
        self.learner = Learner(candidate_splits(ad.arms), ad.epsilon, model.rng,
                               ad.fixed_split) if ad.enabled else None


class Staff:
    """The operators together: their shift schedule and hourly rates (shared tactics of
    ``[operation]``), and per operator, in arrays, the platform mix it restores, its remaining
    replacement budget and its purchase tokens."""

    def __init__(self, model: InfluenceModel) -> None:
        self.model = model
        self.n = len(model.operators)
        oc = model.cfg.operation
        self.tactics = oc
        hours = np.zeros(24, bool)
        for a, b in oc.work_blocks:
            hours[a:b] = True
        self.work_hours = hours
        self.per_shift_hour = 1.0 / max(int(hours.sum()), 1)
        self.post_rate = oc.posts_per_account_day * (1 / 24 if oc.schedule_posts
                                                     else self.per_shift_hour)
        self.follow_rate = oc.follows_per_account_day * self.per_shift_hour
        # replacing removed accounts: the platform mix to restore, a budget and a purchase rate
        acc = model.operation.accounts
        self.target = self.accounts_by_platform(np.ones(acc.n, bool))
        self.budget = np.full(self.n, oc.replacement_budget, np.int64)
        self.tokens = np.zeros(self.n)

    def accounts_by_platform(self, which: np.ndarray) -> np.ndarray:
        """Accounts selected by the mask ``which``, counted per (operator, platform)."""
        acc = self.model.operation.accounts
        n_platforms = len(self.model.cfg.platforms)
        key = acc.operator[which].astype(np.int64) * n_platforms + acc.platform[which]
        return np.bincount(key, minlength=self.n * n_platforms).reshape(self.n, n_platforms)

    def on_shift(self, tick: int) -> bool:
        local = tick + self.tactics.utc_offset
        day_of_week = (local // 24) % 7
        if self.tactics.weekends_off and day_of_week >= 5:
            return False
        return bool(self.work_hours[local % 24])

    def plan_hour(self) -> HourPlan | None:
        """Decide this hour's work: buy the day's followers at midnight UTC; if on shift,
        replace removed accounts (within budget and purchase rate), then post, plant replies,
        amplify and build audience at the configured rates (posting round the clock if a
        scheduler is used). None if there is nothing to do."""
        t = self.tactics
        tick = self.model.tick
        working = self.on_shift(tick)
        if working:
            self.replace_removed(np.flatnonzero(self.budget > 0))
        buying = tick % 24 == 0
        posting = working or t.schedule_posts
        if not (posting or (buying and t.fake_followers_per_day)):
            return None
        acc = self.model.operation.accounts
        live = np.flatnonzero(acc.alive)
        live = live[np.argsort(acc.operator[live], kind="stable")]  # ids rise within operators
        if live.size == 0:
            return None
        of = acc.operator[live]
        return HourPlan(live, **{k: v[of] for k, v in self.rates(working, buying).items()})

    def rates(self, working: bool, buying: bool) -> dict[str, np.ndarray]:
        """Each operator's rates this hour (:class:`HourPlan`'s fields but ``accounts``), one
        entry per operator: the configured ones, or for adaptive operators those of their
        current split of the budget (``Adaptation``)."""
        t = self.tactics
        posting = working or t.schedule_posts
        if self.model.cfg.adaptation.enabled:
            r = self.adapted_rates(working, buying)
        else:
            r = dict(post_rate=self.post_rate if posting else 0.0,
                     follow_rate=self.follow_rate if working else 0.0,
                     hijack_fraction=t.hijack_fraction, self_amp_per_post=t.self_amp_per_post,
                     self_amp_share_fraction=t.self_amp_share_fraction,
                     buy_followers=t.fake_followers_per_day if buying else 0.0,
                     content_lag_hours=t.content_lag_hours, quality_bonus=0.0)
        return {k: filled(v, self.n, np.float64) for k, v in r.items()}

    def adapted_rates(self, working: bool, buying: bool) -> dict:
        """Adaptive operators' rates from their current splits (per operator, or one for all)."""
        ad = self.model.cfg.adaptation
        t = self.tactics
        a = dict(zip(TACTICS, np.array([op.learner.allocation for op in self.model.operators]).T,
                     strict=True))
        per_hour = self.per_shift_hour
        posts = a["volume"] * ad.full_volume
        replies = a["hijacking"] * ad.full_hijacking
        total = posts + replies
        some = total > 0
        hijack = np.zeros(total.size)
        hijack[some] = replies[some] / total[some]
        return dict(
            post_rate=total * (1 / 24 if t.schedule_posts else per_hour)
            if working or t.schedule_posts else 0.0,
            follow_rate=a["audience"] * ad.full_audience * per_hour if working else 0.0,
            hijack_fraction=hijack, self_amp_per_post=a["amplification"] * ad.full_amplification,
            self_amp_share_fraction=t.self_amp_share_fraction,
            buy_followers=a["buying"] * ad.full_buying if buying else 0.0,
            content_lag_hours=t.content_lag_hours * (1.0 - a["timeliness"]),
            quality_bonus=a["audience"] * ad.full_fluency_bonus)

    def replace_removed(self, ops: np.ndarray) -> None:
        """Operators ``ops`` (ascending) acquire accounts for removed ones, platform by platform
        (in platform order), as their purchase rate (a token bucket refilled each working hour)
        and remaining budget allow."""
        if ops.size == 0:
            return
        rate = self.tactics.replacements_per_day
        self.tokens[ops] = np.minimum(self.tokens[ops] + rate / 24.0, max(rate, 1.0))
        have = self.accounts_by_platform(self.model.operation.accounts.alive)
        missing = np.maximum(self.target[ops] - have[ops], 0)
        k = np.minimum(np.minimum(self.tokens[ops].astype(np.int64), self.budget[ops]),
                       missing.sum(axis=1))
        go = k > 0
        if not go.any():
            return
        ops, k, missing = ops[go], k[go], missing[go]
        platform = np.concatenate([np.repeat(np.arange(m.size), m)[:n]
                                   for m, n in zip(missing, k, strict=True)]).astype(np.int8)
        self.model.operation.acquire(np.repeat(ops, k).astype(np.int32), platform,
                                     self.model.tick)
        self.tokens[ops] -= k
        self.budget[ops] -= k
