"""The covert operation: troll accounts (arrays), the operators who run them and their paymaster.

Operators and the paymaster are Mesa agents with readable per-agent logic; there are few of them.
Troll accounts are rows of :class:`TrollAccounts`. Each hour every operator makes an
:class:`HourPlan` for its live accounts, and :func:`act` carries out all plans in one vectorised
pass (so hundreds of operators cost no more Python calls than one).

An operator works office hours in its own time zone with meal breaks [Meta 2023]; on shift, its
accounts build audience (follow organic users, hoping for follow-backs), post (some posts are
replies planted under popular organic threads of any topic), and like/comment/share each other's
posts (self-amplification). Fake followers are
bought at creation and daily; they never read or engage, they only inflate counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mesa
import numpy as np

from .config import Config
from .population import categorical
from .posts import KIND_OP_POST, KIND_OP_REPLY, KIND_OP_SHARE


@dataclass
class TrollAccounts:
    platform: np.ndarray  # int8
    operator: np.ndarray  # int32
    community: np.ndarray  # int8 persona community
    language: np.ndarray  # int8
    fluency: np.ndarray  # float32, quality of its content
    created: np.ndarray  # int32 tick
    hijacked: np.ndarray  # bool: arrived with an old audience
    alive: np.ndarray = field(init=False)
    fake_followers: np.ndarray = field(init=False)  # int64 bought followers

    def __post_init__(self) -> None:
        self.alive = np.ones(self.platform.size, bool)
        self.fake_followers = np.zeros(self.platform.size, np.int64)

    @property
    def n(self) -> int:
        return int(self.platform.size)


def n_operators(cfg: Config) -> int:
    oc = cfg.operation
    if not oc.enabled:
        return 0
    if oc.scale_with_users:
        return max(1, round(oc.n_operators * cfg.population.n_users / oc.reference_users)) \
            if oc.n_operators else 0
    return oc.n_operators


def make_accounts(cfg: Config, rng: np.random.Generator,
                  vanity_rng: np.random.Generator) -> TrollAccounts:
    oc = cfg.operation
    n_ops = n_operators(cfg)
    n = n_ops * oc.accounts_per_operator
    names = [p.name for p in cfg.platforms]
    w = np.array([oc.platform_weights.get(nm, 0.0 if oc.platform_weights else 1.0)
                  for nm in names])
    comm_names = [c.name for c in cfg.population.communities]
    cw = np.array([oc.persona_communities.get(c, 0.0) for c in comm_names])

    a = oc.fluency_mean * oc.fluency_concentration
    b = (1 - oc.fluency_mean) * oc.fluency_concentration
    accounts = TrollAccounts(
        platform=categorical(rng, w, n).astype(np.int8),
        operator=np.repeat(np.arange(n_ops, dtype=np.int32), oc.accounts_per_operator),
        community=categorical(rng, cw, n).astype(np.int8),
        language=categorical(rng, oc.persona_languages, n).astype(np.int8),
        fluency=rng.beta(a, b, n).astype(np.float32),
        created=np.zeros(n, np.int32),
        hijacked=rng.random(n) < oc.hijacked_share,
    )
    accounts.fake_followers[:] = vanity_rng.poisson(oc.fake_followers_mean, n)
    return accounts


@dataclass
class HourPlan:
    """What one operator does this hour; executed for all operators at once by ``act``."""

    accounts: np.ndarray  # live troll accounts it works this hour
    post_rate: float  # expected posts per account this hour
    follow_rate: float  # expected audience-building follows per account this hour
    hijack_fraction: float  # share of posts planted as replies under popular threads
    self_amp_per_post: float  # mean sibling engagements per post
    self_amp_share_fraction: float  # share of sibling engagements that are reshares
    buy_followers: float  # fake followers bought per account now (daily purchase)


class Operator(mesa.Agent):
    """Runs a set of troll accounts on an office-hours schedule, with tactics from config."""

    def __init__(self, model: mesa.Model, index: int, accounts: np.ndarray) -> None:
        super().__init__(model)
        self.index = index
        self.accounts = accounts  # ids of the troll accounts it runs
        oc = model.cfg.operation
        self.tactics = oc
        hours = np.zeros(24, bool)
        for a, b in oc.work_blocks:
            hours[a:b] = True
        self.work_hours = hours
        per_hour = 1.0 / max(int(hours.sum()), 1)
        self.post_rate = oc.posts_per_account_day * per_hour
        self.follow_rate = oc.follows_per_account_day * per_hour

    def on_shift(self, tick: int) -> bool:
        local = tick + self.tactics.utc_offset
        day_of_week = (local // 24) % 7
        if self.tactics.weekends_off and day_of_week >= 5:
            return False
        return bool(self.work_hours[local % 24])

    def plan_hour(self, tick: int) -> HourPlan | None:
        """Decide this hour's work: buy the day's followers at midnight UTC; if on shift, post,
        plant replies, amplify and build audience at the configured rates."""
        acc = self.accounts[self.model.accounts.alive[self.accounts]]
        buy = self.tactics.fake_followers_per_day if tick % 24 == 0 else 0.0
        working = self.on_shift(tick)
        if acc.size == 0 or not (working or buy):
            return None
        t = self.tactics
        return HourPlan(acc, self.post_rate if working else 0.0,
                        self.follow_rate if working else 0.0, t.hijack_fraction,
                        t.self_amp_per_post, t.self_amp_share_fraction, buy)


def act(m, plans: list[HourPlan]) -> None:
    """Carry out every operator's plan for this hour in one vectorised pass."""
    if not plans:
        return
    rng = m.rng
    acc = np.concatenate([p.accounts for p in plans])

    def per_account(name: str) -> np.ndarray:
        return np.repeat([getattr(p, name) for p in plans], [p.accounts.size for p in plans])

    buy = per_account("buy_followers")
    if buy.any():
        m.accounts.fake_followers[acc] += m.vanity_rng.poisson(buy)
    m.build_audience(acc, rng.poisson(per_account("follow_rate")))
    n_posts = rng.poisson(per_account("post_rate"))
    authors = np.repeat(acc, n_posts)
    if authors.size == 0:
        return
    is_reply = rng.random(authors.size) < np.repeat(per_account("hijack_fraction"), n_posts)
    ids = publish(m, authors, is_reply)
    amplify(m, ids, authors, np.repeat(per_account("self_amp_per_post"), n_posts),
            np.repeat(per_account("self_amp_share_fraction"), n_posts))


def publish(m, authors: np.ndarray, is_reply: np.ndarray) -> np.ndarray:
    """Create posts and planted replies; returns their ids."""
    acc = m.accounts
    oc = m.cfg.operation
    rng = m.rng
    n = authors.size
    lag = rng.exponential(oc.content_lag_hours, n) if oc.content_lag_hours > 0 else np.zeros(n)
    timeliness = np.exp2(-lag / m.cfg.engagement.news_halflife_hours)
    quality = np.clip(acc.fluency[authors] + rng.normal(0.0, 0.05, n), 0.01, 1.0)
    platform = acc.platform[authors]
    targets = np.full(n, -1, np.int64)
    for p in np.flatnonzero(np.bincount(platform[is_reply], minlength=len(m.platforms))):
        sel = np.flatnonzero(is_reply & (platform == p))
        pool = m.hijack_pool(int(p))
        if pool.size:
            targets[sel] = pool[rng.integers(0, pool.size, sel.size)]
    reply = targets >= 0
    ids = m.posts.add(author=m.pop.n + authors, platform=platform,
                      kind=np.where(reply, KIND_OP_REPLY, KIND_OP_POST),
                      topic=acc.community[authors], language=acc.language[authors],
                      is_op=True, quality=quality, timeliness=timeliness, created=m.tick,
                      parent=targets)
    np.maximum.at(m.posts.cols["hijack_reply"], targets[reply], ids[reply])
    m.queue(ids[~reply], m.pop.n + authors[~reply], platform[~reply])
    fake_views = m.vanity_rng.binomial(acc.fake_followers[authors], oc.fake_view_prob)
    m.posts.cols["imp_fake"][ids] += fake_views.astype(np.int32)
    m.ledger.add(posts_published=n, hijack_replies=int(reply.sum()),
                 reported_impressions=int(fake_views.sum()))
    return ids


def amplify(m, ids: np.ndarray, authors: np.ndarray, mean: np.ndarray,
            share_fraction: np.ndarray) -> None:
    """Sibling accounts (same operator, same platform, alive) engage with each new post; some
    of those engagements are reshares delivered to the sharer's followers."""
    acc = m.accounts
    alive = np.flatnonzero(acc.alive)
    n_acc = np.int64(acc.n)
    group = acc.operator.astype(np.int64) * len(m.platforms) + acc.platform
    comp = np.sort(group[alive] * n_acc + alive)  # live accounts ordered by (group, id)
    g = group[authors]
    lo = np.searchsorted(comp, g * n_acc)
    size = np.searchsorted(comp, (g + 1) * n_acc) - lo
    k = np.where(size >= 2, m.rng.poisson(mean), 0).astype(np.int32)
    if not k.any():
        return
    m.posts.cols["eng_op"][ids] += k
    m.posts.cols["imp_op"][ids] += k
    m.posts.cols["eng_visible"][ids] += k
    total = int(k.sum())
    m.ledger.add(reported_engagements=total, reported_impressions=total,
                 in_network_engagements=total)
    shares = m.rng.binomial(k, share_fraction)
    src = np.repeat(np.arange(ids.size), shares)
    if src.size == 0:
        return
    # a random live sibling other than the author shares it
    author_pos = np.searchsorted(comp, g[src] * n_acc + authors[src])
    pick = lo[src] + m.rng.integers(0, size[src] - 1)
    who = (comp[pick + (pick >= author_pos)] % n_acc).astype(np.int64)
    roots = ids[src]
    c = m.posts.cols
    new = m.posts.add(author=m.pop.n + who, root=roots, parent=roots, platform=acc.platform[who],
                      kind=KIND_OP_SHARE, topic=c["topic"][roots], language=c["language"][roots],
                      is_op=True, quality=c["quality"][roots], timeliness=c["timeliness"][roots],
                      created=m.tick)
    m.queue(new, m.pop.n + who, acc.platform[who])
    m.ledger.add(posts_published=int(new.size))


class Paymaster(mesa.Agent):
    """Sees only what the operation reports: vanity figures, once per reporting period.

    The 2021 Pudong police tender (NYT, secondary) counted posts and account survival weekly and
    demanded follower growth; those are the quantities in each report. Each stored report also
    carries the period's real-ledger figures (``organic_*``) for the analyst: the paymaster
    never sees them."""

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.period_ticks = 24 * model.cfg.paymaster.report_period_days
        self.reports: list[dict] = []
        self._last: dict[str, float] = {}

    def step(self) -> None:
        m = self.model
        if (m.tick + 1) % self.period_ticks and m.tick + 1 != m.cfg.ticks:
            return
        now = m.ledger.snapshot(m)
        keys = ("posts_published", "reported_followers", "reported_engagements",
                "organic_engagements", "organic_exposed_users", "organic_followers_gained")
        report = {"period": len(self.reports), "end_tick": m.tick + 1,
                  "accounts_alive": now["accounts_alive"],
                  "survival_rate": (now["accounts_alive"] / m.accounts.n if m.accounts.n
                                    else None)}
        for k in keys:
            report[k] = now[k] - self._last.get(k, 0)
        self._last = {k: now[k] for k in keys}
        self.reports.append(report)
