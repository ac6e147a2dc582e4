"""Carrying out the operators' plans: acquiring accounts, audience building, posting, planting
replies under popular threads, and self-amplification.

:class:`Operation` holds the operation's troll accounts and carries out every operator's
:class:`~sim.operation.operators.HourPlan` of the hour in one vectorised pass. It writes posts
into the post store and the outbox (delivered at the hour's end), counts into the ledgers, and
tells moderation what the platform would observe (new posts, which sibling engaged). Fake
followers and fake views come from the vanity stream: they only inflate counts.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import portable, streams
from ..config import Config
from ..feeds import Outbox
from ..ledger import Ledger
from ..network import sorted_unique
from ..organic.engagement import Coefficients, match_factor
from ..population import Population, beta_params, category_of, category_range
from ..posts import KIND_OP_POST, KIND_OP_REPLY, KIND_OP_SHARE, PostStore
from .accounts import (
    ORIGIN_NAMES,
    PersonaDraws,
    draw_vanity_traits,
    make_accounts,
    new_accounts,
)
from .kernels import acquisition_draws
from .operators import HourPlan

if TYPE_CHECKING:
    from ..moderation import Moderation
    from ..platform import Platform


class Operation:
    """The operation's accounts and the execution of its operators' plans."""

    def __init__(self, cfg: Config, pop: Population, platforms: list[Platform],
                 posts: PostStore, ledger: Ledger, outbox: Outbox, rng: np.random.Generator,
                 vanity_rng: np.random.Generator) -> None:
        self.cfg = cfg
        self.pop = pop
        self.platforms = platforms
        self.posts = posts
        self.ledger = ledger
        self.outbox = outbox
        self.rng = rng
        self.vanity_rng = vanity_rng
        self.coef = Coefficients.from_config(cfg)
        self.moderation: Moderation | None = None  # set once moderation exists
        self.accounts = make_accounts(cfg, rng, vanity_rng)
        self.members_by_comm = [self._group_by_community(pf.members) for pf in platforms]
        self._pool: dict[tuple[int, int], np.ndarray] = {}  # this hour's reply targets
        self._recent: dict[tuple[int, int], np.ndarray] | None = None  # every pool, while a
        # batch's reply targets are drawn
        self.seed_hijacked_audiences(np.arange(self.accounts.n))

    def _group_by_community(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        comm = self.pop.community[members]
        order = np.argsort(comm, kind="stable")
        bounds = np.searchsorted(comm[order], np.arange(len(self.pop.community_names) + 1))
        return members[order], bounds

    # ==== accounts ==============================================================================
    def acquire(self, operator: np.ndarray, platform: np.ndarray, now: int) -> np.ndarray:
        """New accounts, one for ``operator[i]`` on ``platform[i]`` (operators ascending), of
        kinds drawn from ``replacement_mix``: bought (aged, from account sellers), hijacked (old,
        with an old audience) or fresh. All arrive with bought followers, like the first
        accounts; moderation learns their registration dates. Returns their ids.

        Each operator's draws are made in turn, exactly as if it acquired alone (its kinds, its
        personas, its old audiences; from the vanity stream, its bought followers): the
        operation stream's in one compiled pass (``kernels.acquisition_draws``; thousands of
        turns an acquisition at 10^7 users), the vanity stream's in one call where bought
        followers are its only draws (numpy draws an array one number after another, so the
        numbers are the same). What they stand for is then worked out for all of them at once,
        and their accounts join together (one append, one merge of follower keys per
        platform), which is what makes many operators' replacements cheap."""
        oc = self.cfg.operation
        mix = [oc.replacement_mix.get(k, 0.0) for k in ORIGIN_NAMES[1:]]
        hijacked_kind = ORIGIN_NAMES.index("hijacked")
        starts = np.flatnonzero(np.diff(operator, prepend=-1))
        ends = np.append(starts[1:], operator.size)
        lo_u, hi_u = category_range(mix, hijacked_kind - 1)
        kinds, community, language, fluency, audiences = streams.draw(
            self.rng, acquisition_draws, starts, ends,
            *beta_params(oc.fluency_mean, oc.fluency_concentration), float(lo_u), float(hi_u),
            self.audience_p() if lo_u < hi_u else 0.0, platform.astype(np.int64),
            np.array([pf.members.size for pf in self.platforms], np.int64))
        buys, follows, fake = self.draw_vanity(ends - starts)
        origin = (1 + category_of(mix, kinds)).astype(np.int8)
        new = new_accounts(self.cfg, PersonaDraws(community, language, fluency, np.zeros(0),
                                                  buys, follows),
                           platform, operator, hijacked=origin == hijacked_kind, tick=now,
                           origin=origin)
        new.fake_followers[:] = new.bought(np.arange(operator.size), fake)
        ids = self.accounts.extend(new)
        account, on, member = audiences.T
        self.add_old_audiences([(pf, ids[account[here]], pf.members[member[here]])
                                for pf in self.platforms if (here := on == pf.index).any()])
        if self.moderation is not None:
            self.moderation.set_ages(ids, groups=ends - starts)
        return ids

    def draw_vanity(self, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The vanity stream's draws for new accounts, operator after operator (``sizes[t]``
        accounts in turn ``t``): its personas' vanity traits (``draw_vanity_traits``), then its
        bought followers (Poisson). One call for all where the traits are not drawn."""
        oc = self.cfg.operation
        vanity = self.vanity_rng
        if oc.follower_buying_share >= 1 and oc.team_follow_share >= 1:
            none = np.zeros(0)
            return none, none, vanity.poisson(oc.fake_followers_mean, int(sizes.sum()))
        drawn = [(*draw_vanity_traits(self.cfg, vanity, n),
                  vanity.poisson(oc.fake_followers_mean, n)) for n in sizes.tolist()]
        buys, follows, fake = (np.concatenate(x) for x in zip(*drawn, strict=True))
        return buys, follows, fake

    def audience_p(self) -> float:
        """The success probability of a hijacked account's old-audience size (a geometric count
        less one, of mean ``hijacked_audience_mean``); 0 where there are no old audiences."""
        mean = self.cfg.operation.hijacked_audience_mean
        return 1.0 / (1.0 + mean) if mean > 0 else 0.0

    def seed_hijacked_audiences(self, ids: np.ndarray) -> None:
        """Hijacked accounts among ``ids`` arrive with an old audience of random members (not
        in the real ledger's 'followers gained': the operation did not win them)."""
        self.add_old_audiences(self.draw_old_audiences(ids))

    def draw_old_audiences(self, ids: np.ndarray) -> list[tuple[Platform, np.ndarray, np.ndarray]]:
        """The old audiences of the hijacked accounts among ``ids``: per platform, (account,
        member) pairs (the rule :func:`~sim.operation.kernels.acquisition_draws` restates for
        acquisitions)."""
        hijacked = self.accounts.hijacked[ids]
        hij, p = ids[hijacked], self.audience_p()
        if hij.size == 0 or p == 0:
            return []
        size = self.rng.geometric(p, hij.size) - 1
        platform = self.accounts.platform[hij]
        drawn = []
        for pf in self.platforms:
            sel = platform == pf.index
            a = np.repeat(hij[sel], size[sel])
            if a.size and pf.members.size:
                drawn.append((pf, a, pf.members[self.rng.integers(0, pf.members.size, a.size)]))
        return drawn

    def add_old_audiences(self, drawn: list[tuple[Platform, np.ndarray, np.ndarray]]) -> None:
        """Make the drawn old audiences follow their accounts, one merge per platform."""
        for pf in self.platforms:
            mine = [(a, u) for p, a, u in drawn if p is pf]
            if mine:
                new = pf.add_op_followers(*(np.concatenate(x) for x in zip(*mine, strict=True)))
                np.add.at(self.accounts.followers_inherited, new, 1)

    # ==== the hour's plans ======================================================================
    def carry_out(self, plan: HourPlan | None, now: int) -> None:
        """Carry out the operators' plan for this hour in one vectorised pass."""
        self._pool.clear()
        if plan is None:
            return
        rng = self.rng
        acc = plan.accounts
        if plan.buy_followers.any():
            self.accounts.fake_followers[acc] += self.accounts.buy_followers(
                acc, plan.buy_followers, self.vanity_rng)
        self.build_audience(acc, rng.poisson(plan.follow_rate), plan.quality_bonus)
        n_posts = rng.poisson(plan.post_rate)
        authors = np.repeat(acc, n_posts)
        if authors.size == 0:
            return
        is_reply = rng.random(authors.size) < np.repeat(plan.hijack_fraction, n_posts)
        ids = self.publish(authors, is_reply, np.repeat(plan.content_lag_hours, n_posts),
                           np.repeat(plan.quality_bonus, n_posts), now)
        self.amplify(ids, authors, np.repeat(plan.self_amp_per_post, n_posts),
                     np.repeat(plan.self_amp_share_fraction, n_posts), now)

    def build_audience(self, accounts: np.ndarray, n_follows: np.ndarray,
                       quality_bonus: np.ndarray) -> None:
        """Accounts follow organic users (a ``targeting`` share within the persona community);
        each target follows back with a probability scaled like an engagement of the persona's
        writing (fluency plus any bonus for fluent writers)."""
        acc_ids = np.repeat(accounts, n_follows)
        bonus = np.repeat(quality_bonus, n_follows)
        if acc_ids.size == 0:
            return
        acc = self.accounts
        rng = self.rng
        targeted = rng.random(acc_ids.size) < self.cfg.operation.targeting
        u01 = rng.random(acc_ids.size)
        targets = np.full(acc_ids.size, -1, np.int32)
        for pf in self.platforms:
            sel = acc.platform[acc_ids] == pf.index
            if not sel.any():
                continue
            by_comm, bounds = self.members_by_comm[pf.index]
            if by_comm.size == 0:  # nobody to follow here
                continue
            c = acc.community[acc_ids[sel]]
            lo = np.where(targeted[sel], bounds[c], 0)
            hi = np.where(targeted[sel], bounds[c + 1], by_comm.size)
            empty = hi <= lo
            lo, hi = np.where(empty, 0, lo), np.where(empty, by_comm.size, hi)
            targets[sel] = by_comm[np.minimum(lo + (u01[sel] * (hi - lo)).astype(np.int64),
                                              by_comm.size - 1)]
        pop = self.pop
        t = np.maximum(targets, 0)
        m = match_factor(self.coef, pop.community[t], pop.language[t],
                         acc.community[acc_ids], acc.language[acc_ids],
                         np.minimum(acc.fluency[acc_ids] + bonus, 1.0), 1.0, 0.0, 0.0, False)
        p = np.clip(self.cfg.population.follow_back_prob * pop.propensity[t] * m, 0, 1)
        back = (rng.random(acc_ids.size) < p) & (targets >= 0)
        for pf in self.platforms:
            sel = back & (acc.platform[acc_ids] == pf.index)
            if sel.any():
                new = pf.add_op_followers(acc_ids[sel], targets[sel])
                self.ledger.add(organic_followers_gained=acc.won(new))

    def reply_targets(self, p: int, topic: int, now: int) -> np.ndarray:
        """Threads to plant replies under: the most-engaged organic originals of the last 24
        hours on platform ``p`` (on ``topic`` only, if >= 0)."""
        if (p, topic) not in self._pool:
            if self._recent is None:  # every pool in one pass, once a batch (no post is
                # added in between)
                oc = self.cfg.operation
                self._recent = self.posts.most_engaged(
                    now - 24, oc.hijack_pool, len(self.platforms),
                    len(self.pop.community_names) if oc.hijack_on_topic else 0)
            self._pool[p, topic] = self._recent[p, topic]
        return self._pool[p, topic]

    def publish(self, authors: np.ndarray, is_reply: np.ndarray, lag_mean: np.ndarray,
                quality_bonus: np.ndarray, now: int) -> np.ndarray:
        """Create posts and planted replies; returns their ids."""
        acc = self.accounts
        oc = self.cfg.operation
        rng = self.rng
        posts = self.posts
        n = authors.size
        n_users = self.pop.n
        lag = rng.exponential(lag_mean) if lag_mean.any() else np.zeros(n)
        timeliness = portable.exp2(-lag / self.cfg.engagement.news_halflife_hours)
        quality = np.clip(acc.fluency[authors] + quality_bonus + rng.normal(0.0, 0.05, n), 0.01,
                          1.0)
        platform = acc.platform[authors]
        targets = np.full(n, -1, np.int64)
        # threads are drawn per platform (and per persona topic if replies stay on topic)
        topic = acc.community[authors].astype(np.int64) if oc.hijack_on_topic \
            else np.full(n, -1, np.int64)
        key = platform.astype(np.int64) * 1000 + topic + 1
        for k in sorted_unique(key[is_reply]):
            sel = np.flatnonzero(is_reply & (key == k))
            pool = self.reply_targets(int(k // 1000), int(k % 1000) - 1, now)
            if pool.size:
                targets[sel] = pool[rng.integers(0, pool.size, sel.size)]
        self._recent = None
        reply = targets >= 0
        ids = posts.add(author=n_users + authors, platform=platform,
                        kind=np.where(reply, KIND_OP_REPLY, KIND_OP_POST),
                        topic=acc.community[authors], language=acc.language[authors],
                        is_op=True, quality=quality, timeliness=timeliness, created=now,
                        parent=np.where(targets >= 0, posts.cols["gid"][targets], -1))
        posts.hijack(targets[reply], ids[reply])
        acc.first_post[authors] = np.where(acc.first_post[authors] < 0, now,
                                           acc.first_post[authors])
        if self.moderation is not None:
            self.moderation.op_posts(ids)
        self.outbox.add(ids[~reply], n_users + authors[~reply], platform[~reply])
        fake_views = self.vanity_rng.binomial(acc.fake_followers[authors], oc.fake_view_prob)
        if oc.bought_views_share > 0:  # (no draw when off: the vanity stream stays aligned)
            fake_views += self._bought_views(~reply)
        posts.count("imp_fake", ids, fake_views.astype(np.int32))
        self.ledger.add(posts_published=n, hijack_replies=int(reply.sum()),
                        reported_impressions=int(fake_views.sum()))
        return ids

    def _bought_views(self, eligible: np.ndarray) -> np.ndarray:
        """Views bought for a share of the eligible new posts, log-normal per post (vanity
        stream: they change nothing but public view counters and reported impressions)."""
        oc = self.cfg.operation
        rng = self.vanity_rng
        buys = eligible & (rng.random(eligible.size) < oc.bought_views_share)
        views = rng.lognormal(math.log(oc.bought_views_median), oc.bought_views_sigma,
                              eligible.size)
        return np.where(buys, np.rint(np.minimum(views, 1e8)), 0).astype(np.int64)

    def amplify(self, ids: np.ndarray, authors: np.ndarray, mean: np.ndarray,
                share_fraction: np.ndarray, now: int) -> None:
        """Sibling accounts (same team: operator and platform, alive) engage with each new
        post; some of those engagements are reshares delivered to the sharer's followers."""
        acc = self.accounts
        c = self.posts.cols
        n_users = self.pop.n
        alive = np.flatnonzero(acc.alive)
        n_acc = np.int64(acc.n)
        team = acc.team(len(self.platforms))
        comp = np.sort(team[alive] * n_acc + alive)  # live accounts ordered by (team, id)
        g = team[authors]
        lo = np.searchsorted(comp, g * n_acc)
        size = np.searchsorted(comp, (g + 1) * n_acc) - lo
        k = np.where(size >= 2, self.rng.poisson(mean), 0).astype(np.int32)
        if not k.any():
            return
        self.posts.count("eng_op", ids, k)
        self.posts.count("imp_op", ids, k)
        c["eng_visible"][ids] += k
        total = int(k.sum())
        self.ledger.add(reported_engagements=total, reported_impressions=total,
                        in_network_engagements=total)
        if self.moderation is not None:  # the platform sees which siblings engaged
            src = np.repeat(np.arange(ids.size), k)
            who = _siblings(comp, n_acc, lo, size, g, authors, src, self.moderation.rng)
            self.moderation.engagements(acc.platform[authors[src]], n_users + who,
                                        n_users + authors[src])
        shares = self.rng.binomial(k, share_fraction)
        src = np.repeat(np.arange(ids.size), shares)
        if src.size == 0:
            return
        who = _siblings(comp, n_acc, lo, size, g, authors, src, self.rng)
        roots = ids[src]
        new = self.posts.add_copies(roots, roots, author=n_users + who,
                                    platform=acc.platform[who], kind=KIND_OP_SHARE,
                                    created=now)
        if self.moderation is not None:
            self.moderation.op_posts(new)
        self.outbox.add(new, n_users + who, acc.platform[who])
        self.ledger.add(posts_published=int(new.size))


def _siblings(comp: np.ndarray, n_acc: np.int64, lo: np.ndarray, size: np.ndarray,
              g: np.ndarray, authors: np.ndarray, src: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """A random live sibling, other than the author, for each post index in ``src``
    (``comp``: live accounts keyed team * n_acc + id, sorted; ``lo``/``size``: each post's
    team slice of ``comp``)."""
    author_pos = np.searchsorted(comp, g[src] * n_acc + authors[src])
    pick = lo[src] + rng.integers(0, size[src] - 1)
    return (comp[pick + (pick >= author_pos)] % n_acc).astype(np.int64)
