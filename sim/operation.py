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

from .config import TACTICS, Config
from .ledger import account_followers, kidding_ratio
from .population import categorical
from .posts import KIND_OP_POST, KIND_OP_REPLY, KIND_OP_SHARE

ORIGIN_NAMES = ("initial", "bought", "hijacked", "fresh")
"""How an account came to the operation: at the start, or as a replacement of each kind."""


@dataclass
class TrollAccounts:
    platform: np.ndarray  # int8
    operator: np.ndarray  # int32
    community: np.ndarray  # int8 persona community
    language: np.ndarray  # int8
    fluency: np.ndarray  # float32, quality of its content
    created: np.ndarray  # int32 tick the operation started running it
    hijacked: np.ndarray  # bool: arrived with an old audience
    origin: np.ndarray  # int8 index into ORIGIN_NAMES
    born: np.ndarray = field(init=False)  # int32 tick the account was registered (<= created)
    alive: np.ndarray = field(init=False)
    fake_followers: np.ndarray = field(init=False)  # int64 bought followers
    removed_tick: np.ndarray = field(init=False)  # int32, -1 while alive
    first_post: np.ndarray = field(init=False)  # int32 tick of its first post, -1 if none

    def __post_init__(self) -> None:
        n = self.platform.size
        self.born = self.created.copy()
        self.alive = np.ones(n, bool)
        self.fake_followers = np.zeros(n, np.int64)
        self.removed_tick = np.full(n, -1, np.int32)
        self.first_post = np.full(n, -1, np.int32)

    @property
    def n(self) -> int:
        return int(self.platform.size)

    def extend(self, new: TrollAccounts) -> np.ndarray:
        """Append ``new`` accounts (replacements); returns their ids."""
        ids = np.arange(self.n, self.n + new.n)
        for name in self.__dataclass_fields__:
            setattr(self, name, np.concatenate((getattr(self, name), getattr(new, name))))
        return ids


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
    accounts = new_accounts(cfg, rng, categorical(rng, w, n).astype(np.int8),
                            np.repeat(np.arange(n_ops, dtype=np.int32), oc.accounts_per_operator),
                            hijacked=None, tick=0)
    accounts.fake_followers[:] = vanity_rng.poisson(oc.fake_followers_mean, n)
    return accounts


def new_accounts(cfg: Config, rng: np.random.Generator, platform: np.ndarray,
                 operator: np.ndarray, hijacked: np.ndarray | None, tick: int,
                 origin: np.ndarray | None = None) -> TrollAccounts:
    """Accounts with personas drawn from the operation's config (``hijacked=None``: drawn with
    ``hijacked_share``, as at the start)."""
    oc = cfg.operation
    n = platform.size
    comm_names = [c.name for c in cfg.population.communities]
    cw = np.array([oc.persona_communities.get(c, 0.0) for c in comm_names])
    a = oc.fluency_mean * oc.fluency_concentration
    b = (1 - oc.fluency_mean) * oc.fluency_concentration
    community = categorical(rng, cw, n).astype(np.int8)
    language = categorical(rng, oc.persona_languages, n).astype(np.int8)
    fluency = rng.beta(a, b, n).astype(np.float32)
    if hijacked is None:
        hijacked = rng.random(n) < oc.hijacked_share
    return TrollAccounts(platform=platform, operator=operator, community=community,
                         language=language, fluency=fluency,
                         created=np.full(n, tick, np.int32), hijacked=hijacked,
                         origin=np.zeros(n, np.int8) if origin is None else origin)


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
    content_lag_hours: float  # mean lag between event and post
    quality_bonus: float = 0.0  # added to the accounts' fluency (fluent persona writers)


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
        self.post_rate = oc.posts_per_account_day * (1 / 24 if oc.schedule_posts else per_hour)
        self.follow_rate = oc.follows_per_account_day * per_hour
        # replacing removed accounts: the platform mix to restore, a budget and a purchase rate
        n_platforms = len(model.cfg.platforms)
        self.target = np.bincount(model.accounts.platform[accounts], minlength=n_platforms)
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

    def plan_hour(self, tick: int) -> HourPlan | None:
        """Decide this hour's work: buy the day's followers at midnight UTC; if on shift,
        replace removed accounts (within budget and purchase rate), then post, plant replies,
        amplify and build audience at the configured rates (posting round the clock if a
        scheduler is used)."""
        t = self.tactics
        working = self.on_shift(tick)
        if working and self.budget > 0:
            self.replace_removed()
        acc = self.accounts[self.model.accounts.alive[self.accounts]]
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
        per_hour = 1.0 / max(int(self.work_hours.sum()), 1)
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
        m = self.model
        acc = m.accounts
        rate = self.tactics.replacements_per_day
        self.tokens = min(self.tokens + rate / 24.0, max(rate, 1.0))
        live = self.accounts[acc.alive[self.accounts]]
        missing = np.maximum(self.target - np.bincount(acc.platform[live],
                                                       minlength=self.target.size), 0)
        k = min(int(self.tokens), self.budget, int(missing.sum()))
        if k <= 0:
            return
        platform = np.repeat(np.arange(self.target.size), missing)[:k].astype(np.int8)
        self.accounts = np.concatenate((self.accounts, acquire_accounts(m, self.index,
                                                                        platform)))
        self.tokens -= k
        self.budget -= k


def acquire_accounts(m, operator: int, platform: np.ndarray) -> np.ndarray:
    """New accounts for ``operator`` on the given platforms, of kinds drawn from
    ``replacement_mix``: bought (aged, from account sellers), hijacked (old, with an old
    audience) or fresh. All arrive with bought followers, like the first accounts."""
    oc = m.cfg.operation
    n = platform.size
    mix = [oc.replacement_mix.get(k, 0.0) for k in ORIGIN_NAMES[1:]]
    origin = (1 + categorical(m.rng, mix, n)).astype(np.int8)
    new = new_accounts(m.cfg, m.rng, platform, np.full(n, operator, np.int32),
                       hijacked=origin == ORIGIN_NAMES.index("hijacked"), tick=m.tick,
                       origin=origin)
    new.fake_followers[:] = m.vanity_rng.poisson(oc.fake_followers_mean, n)
    ids = m.accounts.extend(new)
    m.accounts_acquired(ids)
    return ids


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
    bonus = per_account("quality_bonus")
    m.build_audience(acc, rng.poisson(per_account("follow_rate")), bonus)
    n_posts = rng.poisson(per_account("post_rate"))
    authors = np.repeat(acc, n_posts)
    if authors.size == 0:
        return
    is_reply = rng.random(authors.size) < np.repeat(per_account("hijack_fraction"), n_posts)
    ids = publish(m, authors, is_reply, np.repeat(per_account("content_lag_hours"), n_posts),
                  np.repeat(bonus, n_posts))
    amplify(m, ids, authors, np.repeat(per_account("self_amp_per_post"), n_posts),
            np.repeat(per_account("self_amp_share_fraction"), n_posts))


def publish(m, authors: np.ndarray, is_reply: np.ndarray, lag_mean: np.ndarray,
            quality_bonus: np.ndarray) -> np.ndarray:
    """Create posts and planted replies; returns their ids."""
    acc = m.accounts
    oc = m.cfg.operation
    rng = m.rng
    n = authors.size
    lag = rng.exponential(lag_mean) if lag_mean.any() else np.zeros(n)
    timeliness = np.exp2(-lag / m.cfg.engagement.news_halflife_hours)
    quality = np.clip(acc.fluency[authors] + quality_bonus + rng.normal(0.0, 0.05, n), 0.01,
                      1.0)
    platform = acc.platform[authors]
    targets = np.full(n, -1, np.int64)
    # threads are drawn per platform (and per persona topic if replies stay on topic)
    topic = acc.community[authors].astype(np.int64) if oc.hijack_on_topic \
        else np.full(n, -1, np.int64)
    key = platform.astype(np.int64) * 1000 + topic + 1
    for k in np.unique(key[is_reply]):
        sel = np.flatnonzero(is_reply & (key == k))
        pool = m.hijack_pool(int(k // 1000), int(k % 1000) - 1)
        if pool.size:
            targets[sel] = pool[rng.integers(0, pool.size, sel.size)]
    reply = targets >= 0
    ids = m.posts.add(author=m.pop.n + authors, platform=platform,
                      kind=np.where(reply, KIND_OP_REPLY, KIND_OP_POST),
                      topic=acc.community[authors], language=acc.language[authors],
                      is_op=True, quality=quality, timeliness=timeliness, created=m.tick,
                      parent=np.where(targets >= 0, m.posts.cols["gid"][targets], -1))
    np.maximum.at(m.posts.cols["hijack_reply"], targets[reply], ids[reply])
    acc.first_post[authors] = np.where(acc.first_post[authors] < 0, m.tick,
                                       acc.first_post[authors])
    if m.moderation is not None:
        m.moderation.op_posts(ids)
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
    if m.moderation is not None:  # the platform sees which siblings engaged
        src = np.repeat(np.arange(ids.size), k)
        who = _siblings(comp, n_acc, lo, size, g, authors, src, m.moderation.rng)
        m.moderation.engagements(acc.platform[authors[src]], m.pop.n + who,
                                 m.pop.n + authors[src])
    shares = m.rng.binomial(k, share_fraction)
    src = np.repeat(np.arange(ids.size), shares)
    if src.size == 0:
        return
    who = _siblings(comp, n_acc, lo, size, g, authors, src, m.rng)
    roots = ids[src]
    c = m.posts.cols
    new = m.posts.add(author=m.pop.n + who, root=roots, parent=c["gid"][roots],
                      platform=acc.platform[who],
                      kind=KIND_OP_SHARE, topic=c["topic"][roots], language=c["language"][roots],
                      is_op=True, quality=c["quality"][roots], timeliness=c["timeliness"][roots],
                      created=m.tick)
    if m.moderation is not None:
        m.moderation.op_posts(new)
    m.queue(new, m.pop.n + who, acc.platform[who])
    m.ledger.add(posts_published=int(new.size))


def _siblings(comp: np.ndarray, n_acc: np.int64, lo: np.ndarray, size: np.ndarray,
              g: np.ndarray, authors: np.ndarray, src: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """A random live sibling, other than the author, for each post index in ``src``
    (``comp``: live accounts keyed group * n_acc + id, sorted; ``lo``/``size``: each post's
    group slice of ``comp``)."""
    author_pos = np.searchsorted(comp, g[src] * n_acc + authors[src])
    pick = lo[src] + rng.integers(0, size[src] - 1)
    return (comp[pick + (pick >= author_pos)] % n_acc).astype(np.int64)


def operator_figures(m) -> dict[str, np.ndarray]:
    """Per-operator figures now: cumulative counts and current levels, as one operator could
    report them (vanity) and as they really are (real)."""
    acc = m.accounts
    n_ops = len(m.operators)
    c = m.posts.cols
    n = m.posts.n
    ids = np.flatnonzero(c["author"][:n] >= m.pop.n)  # written by operation accounts
    op = acc.operator[c["author"][ids] - m.pop.n]
    roots = ids[c["root"][ids] == ids]
    rop = acc.operator[c["author"][roots] - m.pop.n]

    def per_op(values: np.ndarray, who: np.ndarray = rop) -> np.ndarray:
        return np.bincount(who, weights=values, minlength=n_ops)

    organic_eng = (c["likes_organic"][roots] + c["reshares_organic"][roots]
                   + c["replies_organic"][roots]).astype(np.float64)
    organic_f, followers = account_followers(m)
    return {
        "posts_published": np.bincount(op, minlength=n_ops).astype(np.float64),
        "accounts_alive": per_op(acc.alive.astype(np.float64), acc.operator),
        "followers": per_op(followers.astype(np.float64), acc.operator),
        "reported_engagements": per_op(organic_eng + c["eng_op"][roots]),
        "reported_impressions": per_op((c["imp_organic"][roots] + c["imp_op"][roots]
                                        + c["imp_fake"][roots]).astype(np.float64)),
        "organic_engagements": per_op(organic_eng),
        "organic_impressions": per_op(c["imp_organic"][roots].astype(np.float64)),
        "organic_followers": per_op(organic_f.astype(np.float64), acc.operator),
    }


def candidate_splits(kind: str) -> np.ndarray:
    """Budget splits an adaptive operator chooses among (rows sum to 1, columns = TACTICS)."""
    k = len(TACTICS)
    rows = [np.full(k, 1.0 / k)]
    for i in range(k):
        r = np.full(k, 0.4 / (k - 1))
        r[i] = 0.6
        rows.append(r)
    if kind == "pairs":
        for i in range(k):
            for j in range(i + 1, k):
                r = np.zeros(k)
                r[[i, j]] = 0.5
                rows.append(r)
    return np.array(rows)


class Learner:
    """Epsilon-greedy bandit over candidate budget splits: try each once, in order; then each
    period play the best average reward so far (lowest index on ties), or with probability
    ``epsilon`` a uniformly random split. Rewards are the paymaster's KPI for the period."""

    def __init__(self, arms: np.ndarray, epsilon: float, rng: np.random.Generator,
                 fixed: int | None = None) -> None:
        if fixed is not None and not 0 <= fixed < len(arms):
            raise ValueError(f"adaptation.fixed_split: {fixed} is not an arm index; allowed "
                             f"range: 0 <= value <= {len(arms) - 1}")
        self.arms = arms
        self.epsilon = epsilon
        self.rng = rng
        self.fixed = fixed
        self.counts = np.zeros(len(arms), np.int64)
        self.means = np.zeros(len(arms))
        self.arm = 0 if fixed is None else fixed
        self.history: list[tuple[int, float]] = []

    @property
    def allocation(self) -> np.ndarray:
        return self.arms[self.arm]

    def update(self, reward: float) -> None:
        """Credit the period's reward to the split played, and choose the next one."""
        a = self.arm
        self.history.append((a, reward))
        self.counts[a] += 1
        self.means[a] += (reward - self.means[a]) / self.counts[a]
        if self.fixed is not None:
            return
        untried = np.flatnonzero(self.counts == 0)
        if untried.size:
            self.arm = int(untried[0])
        elif self.rng.random() < self.epsilon:
            self.arm = int(self.rng.integers(len(self.arms)))
        else:
            self.arm = int(np.argmax(self.means))

    def best(self) -> np.ndarray:
        """The split with the best average reward among those tried."""
        tried = self.counts > 0
        return self.arms[int(np.argmax(np.where(tried, self.means, -np.inf)))] if tried.any() \
            else self.allocation


class Paymaster(mesa.Agent):
    """Sees only what the operation reports: vanity figures, once per reporting period, and
    rewards each operator by its KPI (``paymaster.kpi``).

    The 2021 Pudong police tender (NYT, secondary) counted posts and account survival weekly and
    demanded follower growth; those are the quantities in each report. Survival is the share of
    all accounts ever run that are alive: replacements keep it up. Each stored report also
    carries the period's real-ledger figures (``organic_*``) and the kidding ratios for the
    analyst: the paymaster never sees them unless its KPI is a real-ledger one (the
    counterfactual paymaster, which would need a way to measure real reach)."""

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.period_ticks = 24 * model.cfg.paymaster.report_period_days
        self.weights = model.cfg.paymaster.weights()
        self.reports: list[dict] = []
        self.operator_reports: list[dict] = []
        self._last: dict[str, float] = {}
        self._last_op: dict[str, np.ndarray] = {}

    def step(self) -> None:
        m = self.model
        if (m.tick + 1) % self.period_ticks and m.tick + 1 != m.cfg.ticks:
            return
        now = m.ledger.snapshot(m)
        keys = ("posts_published", "reported_followers", "reported_engagements",
                "reported_impressions", "operation_accounts_removed", "accounts_run",
                "organic_engagements", "organic_impressions", "organic_exposed_users",
                "organic_followers_gained")
        report = {"period": len(self.reports), "end_tick": m.tick + 1,
                  "accounts_alive": now["accounts_alive"],
                  "survival_rate": (now["accounts_alive"] / m.accounts.n if m.accounts.n
                                    else None)}
        for k in keys:
            report[k] = now[k] - self._last.get(k, 0)
        self._last = {k: now[k] for k in keys}
        report["kidding_ratio"] = kidding_ratio(report["reported_engagements"],
                                                report["organic_engagements"])
        report["kidding_ratio_impressions"] = kidding_ratio(report["reported_impressions"],
                                                            report["organic_impressions"])
        rewards = self.reward_operators()
        report["paymaster_kpi"] = float(rewards.mean()) if rewards.size else None
        self.reports.append(report)

    def reward_operators(self) -> np.ndarray:
        """Each operator's KPI for the period; adaptive operators learn from it."""
        m = self.model
        if not m.operators:
            return np.zeros(0)
        fig = operator_figures(m)
        last = self._last_op or {k: np.zeros_like(v) for k, v in fig.items()}
        period = {k: fig[k] - last[k] for k in fig}
        self._last_op = fig
        values = {
            "posts_published": period["posts_published"],
            "accounts_alive": fig["accounts_alive"],
            "followers_gained": period["followers"],
            "reported_engagements": period["reported_engagements"],
            "reported_impressions": period["reported_impressions"],
            "organic_engagements": period["organic_engagements"],
            "organic_impressions": period["organic_impressions"],
            "organic_followers_gained": period["organic_followers"],
        }
        reward = sum(w * np.log1p(np.maximum(values[k], 0.0)) for k, w in self.weights.items())
        for i, op in enumerate(m.operators):
            row = {"period": len(self.reports), "end_tick": m.tick + 1, "operator": i,
                   **{k: float(v[i]) for k, v in values.items()}, "kpi": float(reward[i])}
            if op.learner is not None:
                row.update({f"share_{t}": float(x) for t, x in
                            zip(TACTICS, op.learner.allocation, strict=True)})
                op.learner.update(float(reward[i]))
            self.operator_reports.append(row)
        return np.asarray(reward, float)
