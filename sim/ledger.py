"""The two ledgers: what the operation can report (vanity) and what it really achieved (real).

Counters are updated where events happen (``Ledger.add``); per-user arrays hold what needs
distinct counting (exposure, engagement by community and platform). Definitions, in short
(docs/model.md has them in full):

vanity
  posts_published        posts, hijacking replies and self-shares by troll accounts
  accounts_alive         troll accounts not removed (accounts_run: all it ever ran)
  reported_followers     followers of live troll accounts: organic + bought (fake) + sibling
  reported_impressions   views of operation content by organic users, troll accounts and fake
                         followers
  reported_engagements   likes, reshares and replies on operation content, in-network included
real
  organic_exposed_users  distinct organic users who read operation content
  organic_impressions    reads of operation content by organic users
  organic_engagements    organic likes + reshares + replies on operation content
  organic_reshares       organic reshares of operation content
  organic_followers_gained  follows of troll accounts by organic users during the run
  in_network_engagement_share  in-network engagements / all engagements on operation content
  exposure_top1pct_share share of organic impressions of operation content that fell on the 1%
                         most-exposed organic users
  breakout_category      Nimmo's Breakout Scale, 1-5 (see ``breakout_category``)
kidding ratio
  kidding_ratio          reported_engagements / organic_engagements (>= 1; None if no organic
                         engagement); kidding_ratio_impressions likewise for impressions
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .config import TACTICS

if TYPE_CHECKING:
    from .model import InfluenceModel
    from .operation.accounts import TrollAccounts
    from .platform import Platform
    from .population import Population

SERIES = ("tick", "day", "posts_published", "accounts_alive", "accounts_run",
          "operation_accounts_removed", "reported_followers", "reported_impressions",
          "reported_engagements", "organic_exposed_users", "organic_impressions",
          "organic_engagements", "organic_reshares", "organic_followers_gained",
          "kidding_ratio", "kidding_ratio_impressions")
"""Columns of the per-tick series (``timeseries.parquet``): cumulative figures and levels."""

VANITY = ("posts_published", "accounts_alive", "reported_followers", "reported_impressions",
          "reported_engagements")
REAL = ("organic_exposed_users", "organic_impressions", "organic_engagements",
        "organic_reshares", "organic_followers_gained")

COUNTERS = ("posts_published", "hijack_replies", "reported_impressions", "reported_engagements",
            "in_network_engagements", "organic_impressions", "organic_likes",
            "organic_reshares", "organic_replies", "organic_engagements", "organic_reports",
            "organic_cross_posts", "organic_followers_gained", "organic_posts",
            "media_amplifications", "high_profile_amplifications", "deliveries")
"""Event counters the tick adds to (``Ledger.add``); any other name is an error."""


def breakout_category(reached: np.ndarray, media_amplifications: int,
                      high_profile_amplifications: int) -> int:
    """Nimmo's Breakout Scale from a (platform x community) "reached" matrix.

    1: at most one community on one platform (also: no organic spread at all; the scale's floor);
    2: one community on several platforms, or several communities on one platform;
    3: several communities and several platforms;
    4: a mainstream-media account reshared operation content;
    5: a high-profile account (celebrity, politician) reshared it.
    Category 6 (policy response, real-world action) lies outside the model and is never given.
    """
    platforms = int(reached.any(axis=1).sum())
    communities = int(reached.any(axis=0).sum())
    cat = 1
    if platforms >= 2 or communities >= 2:
        cat = 2
    if platforms >= 2 and communities >= 2:
        cat = 3
    if media_amplifications > 0:
        cat = 4
    if high_profile_amplifications > 0:
        cat = 5
    return cat


def kidding_ratio(reported: float, real: float) -> float | None:
    """What the operation can report over what it really achieved, for one quantity: reported
    engagements (in-network included) over organic engagements, or reported impressions (views
    by its own accounts and bought followers included) over organic impressions. The reported
    figure contains the real one, so the ratio is at least 1; undefined (None) when nothing real
    happened."""
    return reported / real if real > 0 else None


def log_kidding_ratio(reported: float, real: float) -> float:
    """``log10(max(reported, 1) / max(real, 1))``: the order of magnitude of the kidding ratio,
    defined for every run so that sensitivity analyses (which need a finite number per run) can
    use it. Equal to ``log10(kidding_ratio)`` whenever both counts are at least 1; with no real
    engagement the denominator counts as 1, a lower bound of the (unbounded) ratio; 0 when
    neither ledger has an engagement."""
    return math.log10(max(reported, 1) / max(real, 1))


def account_followers(acc: TrollAccounts, platforms: list[Platform]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per troll account: its organic followers, and the followers it can report (organic +
    bought + live siblings, since a team's accounts follow each other); both 0 once removed."""
    organic = np.zeros(acc.n, np.int64)
    for pf in platforms:
        organic += pf.op_follower_counts(acc.n)
    organic = np.where(acc.alive, organic, 0)
    return organic, np.where(acc.alive, organic + acc.fake_followers
                             + acc.team_followers(len(platforms)), 0)


def top_share(counts: np.ndarray, fraction: float = 0.01) -> float:
    """Share of the total held by the top ``fraction`` of entries (0 if the total is 0)."""
    total = counts.sum()
    if total == 0 or counts.size == 0:
        return 0.0
    k = max(1, int(np.ceil(fraction * counts.size)))
    top = np.partition(counts, counts.size - k)[counts.size - k:]
    return float(top.sum() / total)


class Ledger:
    """Counters of events (declared in :data:`COUNTERS`), per-user exposure and engagement, and
    one row per hour of cumulative figures (the ``timeseries`` table)."""

    def __init__(self, n_users: int, n_platforms: int) -> None:
        self.totals: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.op_exposure = np.zeros(n_users, np.int32)  # reads of op content per organic user
        self.exposed = np.zeros(1, np.int64)  # users with one such read or more (counted as
        # each first read happens: a count over every user each hour cost 0.5 ms at 10^6 users)
        self.engaged = np.zeros((n_platforms, n_users), bool)  # engaged with op content there
        # organic originals: at most one an hour per platform, so 16 bits until hour 2^16 - 1
        # (seven years; widened in ``record``)
        self.posts_by_user = np.zeros((n_platforms, n_users), np.uint16)
        self.rows: list[dict] = []

    def add(self, **counts: int) -> None:
        """Add to declared counters; an unknown name raises instead of counting into a new
        key."""
        for k, v in counts.items():
            if k not in self.totals:
                raise KeyError(f"ledger: unknown counter {k!r}; declared: {COUNTERS}")
            self.totals[k] += int(v)

    def snapshot(self, acc: TrollAccounts, platforms: list[Platform]) -> dict[str, float]:
        """Cumulative vanity and real figures at this moment."""
        alive = acc.alive
        followers = account_followers(acc, platforms)[1].sum()
        t = self.totals
        return {
            "posts_published": t["posts_published"],
            "accounts_alive": int(alive.sum()),
            "accounts_run": acc.n,
            "operation_accounts_removed": int((acc.removed_tick >= 0).sum()),
            "reported_followers": int(followers),
            "reported_impressions": t["reported_impressions"],
            "reported_engagements": t["reported_engagements"],
            "organic_exposed_users": int(self.exposed[0]),
            "organic_impressions": t["organic_impressions"],
            "organic_engagements": t["organic_engagements"],
            "organic_reshares": t["organic_reshares"],
            "organic_followers_gained": t["organic_followers_gained"],
        }

    def record(self, hours: int, acc: TrollAccounts, platforms: list[Platform]) -> None:
        """Append the row of cumulative figures after ``hours`` simulated hours."""
        if hours >= 2**16 - 1 and self.posts_by_user.dtype == np.uint16:  # before it could wrap
            self.posts_by_user = self.posts_by_user.astype(np.int32)
        row = {"tick": hours, "day": hours / 24}
        row.update(self.snapshot(acc, platforms))
        t = self.totals
        ratio = kidding_ratio(t["reported_engagements"], t["organic_engagements"])
        row["kidding_ratio"] = np.nan if ratio is None else ratio
        ratio = kidding_ratio(t["reported_impressions"], t["organic_impressions"])
        row["kidding_ratio_impressions"] = np.nan if ratio is None else ratio
        self.rows.append(row)

    def reached(self, pop: Population, platforms: list[Platform], b) -> np.ndarray:
        """(platform x community) matrix: did enough organic users of the community engage with
        operation content on the platform? Enough = the larger of ``b.min_engaged_users`` and
        ``b.min_engaged_share`` of the community's members there."""
        comm = pop.community
        n_comm = len(pop.community_names)
        counts = np.stack([np.bincount(comm[e], minlength=n_comm) for e in self.engaged])
        members = np.stack([np.bincount(comm[pf.members], minlength=n_comm)
                            for pf in platforms])
        return counts >= np.maximum(b.min_engaged_users, b.min_engaged_share * members)

    def summary(self, model: InfluenceModel) -> dict:
        """Every ledger total at the end of a run, with the Breakout category, adaptive
        operators' best splits and moderation's scores."""
        s: dict = self.snapshot(model.operation.accounts, model.platforms)
        t = self.totals
        all_eng = t["reported_engagements"]
        s["in_network_engagements"] = t["in_network_engagements"]
        s["in_network_engagement_share"] = t["in_network_engagements"] / all_eng if all_eng \
            else 0.0
        s["exposure_top1pct_share"] = top_share(self.op_exposure)
        s["hijack_replies"] = t["hijack_replies"]
        s["organic_likes"] = t["organic_likes"]
        s["organic_replies"] = t["organic_replies"]
        s["organic_reports"] = t["organic_reports"]
        s["organic_cross_posts"] = t["organic_cross_posts"]
        s["media_amplifications"] = t["media_amplifications"]
        s["high_profile_amplifications"] = t["high_profile_amplifications"]
        reached = self.reached(model.pop, model.platforms, model.cfg.breakout)
        s["platforms_reached"] = [pf.name for pf, r in
                                  zip(model.platforms, reached, strict=True) if r.any()]
        s["communities_reached"] = [c for c, r in
                                    zip(model.pop.community_names, reached.T, strict=True)
                                    if r.any()]
        s["breakout_category"] = breakout_category(reached, t["media_amplifications"],
                                                   t["high_profile_amplifications"])
        s["organic_posts"] = t["organic_posts"]
        s["deliveries"] = t["deliveries"]
        s["kidding_ratio"] = kidding_ratio(t["reported_engagements"], t["organic_engagements"])
        s["log_kidding_ratio"] = log_kidding_ratio(t["reported_engagements"],
                                                   t["organic_engagements"])
        s["kidding_ratio_impressions"] = kidding_ratio(t["reported_impressions"],
                                                       t["organic_impressions"])
        learners = [op.learner for op in model.operators if op.learner is not None]
        if learners:  # the split each adaptive operator found best, averaged over operators
            best = np.mean([lr.best() for lr in learners], axis=0)
            s.update({f"allocation_{t}": float(x) for t, x in zip(TACTICS, best, strict=True)})
        s["moderation"] = model.moderation is not None
        if model.moderation is not None:
            s.update(model.moderation.summary())
        else:
            s.update(organic_accounts_removed=0, organic_followers_lost=0,
                     moderation_precision=None, moderation_recall=None,
                     median_removal_delay_hours=None, moderation_actions=0,
                     accounts_removed_per_action=0.0)
        return s
