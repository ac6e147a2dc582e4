"""Operators: the staff who run the troll accounts, as Mesa agents.

An operator works office hours in its own time zone with meal breaks [Meta 2023]. Each hour it
decides an :class:`HourPlan` for its live accounts: buy the day's followers at midnight UTC; on
shift, replace removed accounts (within a budget and a purchase rate), build audience, post,
plant replies under popular threads and amplify its own posts. The plans of every operator are
carried out together (:meth:`sim.operation.tactics.Operation.carry_out`), so hundreds of
operators cost no more array passes than one. Adaptive operators choose the plan's intensities
from a split of a fixed budget that they learn (:class:`sim.incentives.Learner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from ..config import TACTICS
from ..incentives import Learner, candidate_splits

if TYPE_CHECKING:
    from ..model import InfluenceModel


@dataclass
class HourPlan:
    """What one operator does this hour."""

    accounts: np.ndarray  # live troll accounts it works this hour
    post_rate: float  # expected posts per account this hour
    follow_rate: float  # expected audience-building follows per account this hour
    hijack_fraction: float  # share of posts planted as replies under popular threads
    self_amp_per_post: float  # mean sibling engagements per post
    self_amp_share_fraction: float  # share of sibling engagements that are reshares
    buy_followers: float  # fake followers bought per account now (daily purchase)
    content_lag_hours: float  # mean lag between event and post
    quality_bonus: float = 0.0  # added to the accounts' fluency (fluent persona writers)


class Operator(mesa.Agent):
    """Runs a set of troll accounts on an office-hours schedule, with tactics from config."""

    model: InfluenceModel

    def __init__(self, model: InfluenceModel, index: int, accounts: np.ndarray) -> None:
        super().__init__(model)
        self.index = index
        self.accounts = accounts  # ids of the troll accounts it runs
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
        n_platforms = len(model.cfg.platforms)
        self.target = np.bincount(model.operation.accounts.platform[accounts],
                                  minlength=n_platforms)
        self.budget = oc.replacement_budget
        self.tokens = 0.0
        ad = model.cfg.adaptation
        self.learner = Learner(candidate_splits(ad.arms), ad.epsilon, model.rng,
                               ad.fixed_split) if ad.enabled else None

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
        scheduler is used)."""
        t = self.tactics
        tick = self.model.tick
        working = self.on_shift(tick)
        if working and self.budget > 0:
            self.replace_removed()
        acc = self.accounts[self.model.operation.accounts.alive[self.accounts]]
        buy = t.fake_followers_per_day if tick % 24 == 0 else 0.0
        posting = working or t.schedule_posts
        if acc.size == 0 or not (posting or buy):
            return None
        if self.learner is not None:
            return self.adapted_plan(acc, working, tick % 24 == 0)
        return HourPlan(acc, self.post_rate if posting else 0.0,
                        self.follow_rate if working else 0.0, t.hijack_fraction,
                        t.self_amp_per_post, t.self_amp_share_fraction, buy,
                        t.content_lag_hours)

    def adapted_plan(self, acc: np.ndarray, working: bool, buying_hour: bool) -> HourPlan:
        """This hour's plan from the current split of the budget (``Adaptation``)."""
        ad = self.model.cfg.adaptation
        t = self.tactics
        a = dict(zip(TACTICS, self.learner.allocation, strict=True))
        per_hour = self.per_shift_hour
        posts = a["volume"] * ad.full_volume
        replies = a["hijacking"] * ad.full_hijacking
        rate = (posts + replies) * (1 / 24 if t.schedule_posts else per_hour)
        return HourPlan(acc, rate if working or t.schedule_posts else 0.0,
                        a["audience"] * ad.full_audience * per_hour if working else 0.0,
                        replies / (posts + replies) if posts + replies > 0 else 0.0,
                        a["amplification"] * ad.full_amplification, t.self_amp_share_fraction,
                        a["buying"] * ad.full_buying if buying_hour else 0.0,
                        t.content_lag_hours * (1.0 - a["timeliness"]),
                        a["audience"] * ad.full_fluency_bonus)

    def replace_removed(self) -> None:
        """Acquire accounts for removed ones, platform by platform, as the purchase rate
        (a token bucket refilled each working hour) and the remaining budget allow."""
        op = self.model.operation
        acc = op.accounts
        rate = self.tactics.replacements_per_day
        self.tokens = min(self.tokens + rate / 24.0, max(rate, 1.0))
        live = self.accounts[acc.alive[self.accounts]]
        missing = np.maximum(self.target - np.bincount(acc.platform[live],
                                                       minlength=self.target.size), 0)
        k = min(int(self.tokens), self.budget, int(missing.sum()))
        if k <= 0:
            return
        platform = np.repeat(np.arange(self.target.size), missing)[:k].astype(np.int8)
        self.accounts = np.concatenate((self.accounts, op.acquire(self.index, platform,
                                                                  self.model.tick)))
        self.tokens -= k
        self.budget -= k
