"""What organic users do in an hour, platform after platform, in order: come online, read their
ranked feeds (and planted replies under the threads they read), engage, reshare, and post.

State lives in arrays (:class:`~sim.population.Population`, the platform's feeds, the post
store); :class:`OrganicUsers` steps it for every online member at once. Each decision is one
method (``online``, ``read``, ``reply_views``, ``impressions``, ``action_probs``, ``draw``,
``followable``, ``first_reshares``, ``tally``, ``cross_posts``, ``compose``) so that the
per-agent reference (``sim.reference``) can restate it one agent at a time and the two can be
compared. Where a platform's readers do not need several threads, going online, opening
sessions, reading and seeing replies run as one compiled pass (``reading``), and what a batch of
readers does as another (``engagement``), with the same draws and results; the reference takes
the decisions one by one (``reading_step_by_step``, ``engagement_step_by_step``), as runs on
several threads do.
Data flows one way: this module writes into the post store, the ledger, the outbox and (what
the platform observes) moderation, and never calls back into the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

import numpy as np

from .. import feeds, streams
from ..config import Config
from ..feeds import Outbox, Ranking
from ..ledger import Ledger
from ..population import Population, beta_params
from ..posts import KIND_ORGANIC, KIND_RESHARE, PostStore, Renumbering, renumber, resized
from ..threads import get_threads, parallel_worth
from . import kernels
from .engagement import Coefficients, action_probs, freshness_by_age

if TYPE_CHECKING:
    from ..moderation import Moderation
    from ..operation.accounts import TrollAccounts
    from ..platform import Platform


class ReshareMemory:
    """The roots each user reshared most recently (a ring buffer of ``size`` per user): a user
    never reshares an item still in memory.

    A user gets a row at their first reshare: few users reshare at all (one in eight over 30
    days in the headline preset at 10^5 users), so rows for all would cost 32 bytes a user for
    nothing."""

    def __init__(self, n_users: int, size: int) -> None:
        self.row_of = np.full(n_users, -1, np.int32)  # -1: has reshared nothing yet
        self.n = 0  # rows given
        self.items = np.full((16, size), -1, np.int32)
        self.ptr = np.zeros(16, np.int32)

    def row(self, user: int) -> np.ndarray:
        """The roots ``user`` remembers (``-1``: an empty slot)."""
        r = self.row_of[user]
        return self.items[r] if r >= 0 else np.full(self.items.shape[1], -1, np.int32)

    def remember(self, users: np.ndarray, roots: np.ndarray) -> None:
        """Each ``users[i]`` remembers ``roots[i]`` over its oldest entry, pairs in order (a
        user's first reshare gives it the next row: ``kernels.remember``)."""
        # room for a row for each user without one (one listed twice counts twice: no harm)
        need = self.n + int(np.count_nonzero(self.row_of[users] < 0))
        if need > self.ptr.size:
            cap = min(max(need, 2 * self.ptr.size), self.row_of.size)
            items = np.full((cap, self.items.shape[1]), -1, np.int32)
            items[: self.n] = self.items[: self.n]
            self.items, self.ptr = items, resized(self.ptr, cap, self.n, 0)
        self.n = kernels.remember(self.items, self.ptr, self.row_of, self.n, users, roots)

    def remap(self, renumbered: Renumbering) -> None:
        """Rewrite post indices after a compaction of the post store (dropped: -1)."""
        renumber(self.items[: self.n].reshape(-1), *renumbered)


class OrganicUsers:
    """The organic population's behaviour (see the module docstring and docs/model.md 7.5-7.9).

    ``accounts`` (the operation's) is read only to know which troll accounts a reader could
    follow; ``moderation`` (or None) hides removed users and content and observes engagement."""

    holds_stream = True
    """Whether the hour holds its streams (:meth:`streams_held`): every draw goes through
    compiled passes; a subclass drawing with numpy's own methods says False."""

    def __init__(self, cfg: Config, pop: Population, posts: PostStore, ledger: Ledger,
                 outbox: Outbox, accounts: TrollAccounts, rng: np.random.Generator,
                 moderation: Moderation | None) -> None:
        self.cfg = cfg
        self.pop = pop
        self.posts = posts
        self.ledger = ledger
        self.outbox = outbox
        self.accounts = accounts
        self.rng = rng
        self.moderation = moderation
        self.coef = Coefficients.from_config(cfg)
        self.memory = ReshareMemory(pop.n, cfg.engagement.reshare_memory)
        diurnal = np.asarray(cfg.population.diurnal, np.float64)
        self.diurnal = (diurnal / diurnal.mean()).astype(np.float32)
        # the weight of local hour (h + utc) % 24 by UTC offset, for each UTC hour h
        self.weight_by_hour = np.stack([np.roll(self.diurnal, -h) for h in range(24)])
        self.now = 0  # the hour being simulated
        self._fresh = freshness_by_age(self.coef, cfg.ticks)  # by age in hours (see ``freshness``)

    # ==== the hour, top to bottom ===============================================================
    def hour(self, platforms: list[Platform], now: int) -> None:
        """Each platform's online members, one platform after the other, read their feeds,
        engage, reshare and post."""
        self.now = now
        with self.streams_held():
            for pf in platforms:
                self.platform_hour(pf)

    def platform_hour(self, pf: Platform) -> None:
        """Online members of ``pf`` read their feeds, engage, reshare and post."""
        users, readers, items, reply_readers, replies = self.reading(pf)
        if users.size == 0:
            return
        self.engage(pf, np.concatenate((readers, reply_readers)),
                    np.concatenate((items, replies)), n_from_feed=items.size)
        self.write_posts(pf, users)

    @contextmanager
    def streams_held(self) -> Iterator[None]:
        """The hour's draws come from the model's stream and (fan groups' posts) moderation's,
        each held through the hour (``streams.held``: handing a stream to a compiled pass and
        back cost about 8 us a draw in a run, a few draws a platform-hour)."""
        if not self.holds_stream:
            yield
            return
        mod = self.moderation
        with streams.held(self.rng), streams.held(mod.rng) if mod is not None else nullcontext():
            yield

    def reading(self, pf: Platform) -> tuple[np.ndarray, ...]:
        """Who comes online and what they read: members go online (``online``), open a session,
        read their feeds (``read``) and planted replies (``reply_views``). Returns the users
        online, and (reader, item) and (reader, reply) pairs. Where the platform is too small
        for its reading to be worth other threads and fits one read block, the steps are one
        compiled pass (``kernels.reading``, the same draws: between the steps, Python cost more
        than their kernels in small runs); otherwise one after the other
        (:meth:`reading_step_by_step`), each on every thread where it pays."""
        if pf.members.size > feeds.READ_BLOCK or parallel_worth(pf.members.size, "platform"):
            return self.reading_step_by_step(pf)
        pc = self.cfg.population
        return streams.draw(self.rng, kernels.reading, pf.session_rate, pf.utc_hour,
                            self.weight_by_hour[self.now % 24], pf.removed, pc.always_active,
                            pf.members, pf.last_session, self.pop.attention, self.now,
                            self.session_reads(pf), pf.feeds.arrays, self.ranking(pf),
                            self.posts.columns(), pf.index, self.cfg.engagement.reply_view_prob,
                            self.moderation is not None)

    def reading_step_by_step(self, pf: Platform) -> tuple[np.ndarray, ...]:
        """:meth:`reading`, one decision after the other (the per-agent reference restates
        each)."""
        rows = self.online(pf)
        args = (rows, pf.members, pf.last_session, self.pop.attention, self.now,
                self.session_reads(pf))
        users, n_read, gap = kernels.sessions_parallel(*args, get_threads()) \
            if parallel_worth(rows.size) else kernels.sessions(*args)
        ri, items = self.read(pf, rows, n_read, gap)
        readers = users[ri]
        return users, readers, items, *self.reply_views(pf, readers, items)

    def session_reads(self, pf: Platform) -> int:
        """Items each session reads: -1 for each user's own attention, else the feed's size."""
        return -1 if self.cfg.population.attention_limited else pf.feeds.k

    def ranking(self, pf: Platform) -> Ranking:
        """The platform's ranking rule, with moderation's demotion penalty."""
        if self.moderation is None:
            return pf.ranking
        return pf.ranking._replace(penalty=self.moderation.demotion_penalty(pf.index))

    def engage(self, pf: Platform, users: np.ndarray, items: np.ndarray,
               n_from_feed: int) -> None:
        """Impressions, then likes/reshares/replies/follows/reports for (user, item) reads.

        The first ``n_from_feed`` pairs were read in the feed: an original post there came from
        an account the reader follows, so only the other pairs need a follower lookup."""
        if users.size == 0:
            return
        roots, is_op, authors, acts, totals = self.engagement(pf, users, items, n_from_feed)
        n_op = int(is_op.sum())
        like, reshare, reply, follow, report = acts.T
        n_like, n_resh, n_rep, n_report, n_media, n_hp = totals
        if self.moderation is not None:  # what the platform sees
            eng = like | reshare | reply
            self.moderation.engagements(pf.index, users[eng], authors[eng])
            self.moderation.reports(pf.index, authors[report])
        self.ledger.add(organic_impressions=n_op, reported_impressions=n_op,
                        organic_likes=n_like, organic_reshares=n_resh, organic_replies=n_rep,
                        organic_engagements=n_like + n_resh + n_rep,
                        reported_engagements=n_like + n_resh + n_rep,
                        organic_reports=n_report, media_amplifications=n_media,
                        high_profile_amplifications=n_hp)
        if follow.any():
            new = pf.add_op_followers(authors[follow] - self.pop.n, users[follow])
            self.ledger.add(organic_followers_gained=self.accounts.won(new))
        if reshare.any():
            self.reshare(pf, users[reshare], roots[reshare], items[reshare])

    def engagement(self, pf: Platform, users: np.ndarray, items: np.ndarray,
                   n_from_feed: int) -> tuple[np.ndarray, ...]:
        """What the readers of a batch do: impressions (``impressions``), probabilities
        (``action_probs``), draws (``draw``), the follows and reshares that stand
        (``followable``, ``first_reshares``) and the counts (``tally``). Returns (roots, whether
        operation content, authors, actions, the operation's totals). Where the batch would not
        be worth other threads, the steps are one compiled pass (``kernels.engagement``, the
        same draws and results); otherwise one after the other
        (:meth:`engagement_step_by_step`), on every thread."""
        if parallel_worth(users.size, "reads"):
            return self.engagement_step_by_step(pf, users, items, n_from_feed)
        g, pop, acc, memory = pf.graph, self.pop, self.accounts, self.memory
        fixed = self.coef.fixed_reshare
        out = streams.draw(
            self.rng, kernels.engagement, users, items, n_from_feed, self.posts.columns(),
            self.ledger.op_exposure, self.ledger.exposed, g.indptr, g.ids, pf.op_keys, pop.n,
            pop.community, pop.language, pop.propensity, self.now, self.coef.terms,
            self.freshness(), -1.0 if fixed is None else float(fixed),
            acc.alive, acc.platform, pf.index, memory.row_of, memory.items,
            self.posts.sparse["reports"], self.ledger.engaged[pf.index], pop.is_media,
            pop.is_high_profile)
        reshare = out[3][:, 1]
        memory.remember(users[reshare], out[0][reshare])
        return out

    def freshness(self) -> np.ndarray:
        """The freshness factor of an item 0, 1, ..., ``now`` hours old (``freshness_by_age``:
        the same values whatever the hour, so a table made once, 10 us a platform-hour at
        2·10^4 users; remade longer if the run goes on past the configured hours)."""
        if self._fresh.size <= self.now:
            self._fresh = freshness_by_age(self.coef, 2 * self.now)
        return self._fresh[: self.now + 1]

    def engagement_step_by_step(self, pf: Platform, users: np.ndarray, items: np.ndarray,
                                n_from_feed: int) -> tuple[np.ndarray, ...]:
        """:meth:`engagement`, one decision after the other (the per-agent reference restates
        each)."""
        roots, is_op, authors, followed = self.impressions(pf, users, items, n_from_feed)
        acts = self.draw(self.action_probs(users, roots, followed))
        follow = acts[:, 3]
        drawn = np.flatnonzero(follow)
        follow[drawn] = self.followable(pf, users[drawn], authors[drawn], followed[drawn])
        acts[:, 1] = self.first_reshares(users, roots, acts[:, 1])
        return roots, is_op, authors, acts, self.tally(pf, acts, users, roots, is_op)

    def reshare(self, pf: Platform, users: np.ndarray, roots: np.ndarray,
                parents: np.ndarray) -> None:
        """Reshares go to the resharer's followers; some are carried to another platform."""
        posts = self.posts
        ids = posts.add_copies(roots, parents, author=users, platform=pf.index,
                               kind=KIND_RESHARE, created=self.now)
        self.outbox.add(ids, users, pf.index)
        carried, to = self.cross_posts(pf, users)
        if carried.size:
            u, r = users[carried], roots[carried]
            ids = posts.add_copies(r, parents[carried], author=u, platform=to,
                                   kind=KIND_RESHARE, created=self.now)
            self.outbox.add(ids, u, to)
            self.ledger.add(organic_cross_posts=int(posts.cols["is_op"][r].sum()))

    def write_posts(self, pf: Platform, users: np.ndarray) -> None:
        """Online ``users`` may write an original post (``compose``), delivered with the hour's
        other posts."""
        authors, topic, quality = self.compose(users)
        if authors.size == 0:
            return
        ids = self.posts.add_originals(authors, pf.index, topic, self.pop.language[authors],
                                       quality, self.now)
        self.outbox.add(ids, authors, pf.index)
        self.ledger.add(organic_posts=int(ids.size))
        self.ledger.posts_by_user[pf.index, authors] += 1  # (each author once an hour)
        if self.moderation is not None:
            self.moderation.organic_posts(pf.index, ids, authors)

    def inject_post(self, author: int, platform: int, now: int, *, topic: int | None = None,
                    quality: float = 1.0, is_op: bool = False) -> int:
        """Post one organic item now (delivered with this hour's posts); the author counts as
        having shared it. Seeds cascades in validation experiments."""
        topic = int(self.pop.community[author]) if topic is None else topic
        ids = self.posts.add(author=author, platform=platform, kind=KIND_ORGANIC, topic=topic,
                             language=self.pop.language[author], is_op=is_op, quality=quality,
                             created=now)
        self.memory.remember(np.array([author], np.int32), ids)
        self.outbox.add(ids, np.array([author]), platform)
        return int(ids[0])

    # ==== decisions (vectorised; sim.reference restates each one agent at a time) ===============
    def online(self, pf: Platform) -> np.ndarray:
        """Members who open this platform this hour: one Bernoulli each, with probability
        sessions-per-hour x the diurnal weight of their local hour; members the platform
        removed stay away (their draws are taken all the same)."""
        if self.cfg.population.always_active:
            return np.flatnonzero(~pf.removed)
        args = (pf.session_rate, pf.utc_hour, self.weight_by_hour[self.now % 24], pf.removed)
        if parallel_worth(pf.members.size, "members"):
            return streams.draw(self.rng, kernels.online_parallel, *args, get_threads())
        return streams.draw(self.rng, kernels.online, *args)

    def read(self, pf: Platform, rows: np.ndarray, n_read: np.ndarray, gap: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """Each online row reads its best unread items against the outside items that arrived
        over the ``gap`` hours since its last session (``feeds.read``)."""
        return feeds.read(pf.feeds, self.ranking(pf), rows, n_read, gap, self.rng, self.posts,
                          self.now)

    def reply_views(self, pf: Platform, readers: np.ndarray, items: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """A reader of a hijacked thread (on the thread's own platform) also sees its newest
        planted operation reply with probability ``reply_view_prob``; with moderation, replies
        of removed or demoted accounts are hidden. Returns (reader, reply) pairs."""
        who, reply = streams.draw(self.rng, kernels.reply_views, items, self.posts.columns(),
                                  pf.index, self.cfg.engagement.reply_view_prob)
        if self.moderation is not None:
            shown = self.moderation.visible_status(reply) == 0
            who, reply = who[shown], reply[shown]
        return readers[who], reply

    def impressions(self, pf: Platform, users: np.ndarray, items: np.ndarray, n_from_feed: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Count each read as an impression of its root (and, for operation content, on the
        reader); per read, the root, whether it is operation content, its author and whether
        the reader follows that author (``kernels.impressions``, on every thread for many
        reads)."""
        g = pf.graph
        ledger = self.ledger
        args = (users, items, n_from_feed, self.posts.columns(), ledger.op_exposure,
                ledger.exposed, g.indptr, g.ids, pf.op_keys, self.pop.n)
        if parallel_worth(users.size):
            return kernels.impressions_parallel(*args, get_threads())
        return kernels.impressions(*args)

    def action_probs(self, users: np.ndarray, roots: np.ndarray, followed: np.ndarray
                     ) -> np.ndarray:
        """Engagement probabilities (like, reshare, reply, follow, report) of each read
        (``engagement.action_probs``)."""
        pop = self.pop
        return action_probs(self.coef, users, roots, followed, pop.community, pop.language,
                            pop.propensity, self.posts.columns(), self.now)

    def draw(self, probs: np.ndarray) -> np.ndarray:
        """One independent coin flip per probability (``kernels.draw_actions``)."""
        return streams.draw(self.rng, kernels.draw_actions, probs)

    def followable(self, pf: Platform, users: np.ndarray, authors: np.ndarray,
                   followed: np.ndarray) -> np.ndarray:
        """Which of these authors their reader could start following here: a live troll
        account on this platform that the reader does not follow yet (the organic graph is
        fixed; ``kernels.followable``)."""
        acc = self.accounts
        return kernels.followable(authors, followed, acc.alive, acc.platform, pf.index,
                                  self.pop.n)

    def first_reshares(self, users: np.ndarray, roots: np.ndarray,
                       reshare: np.ndarray) -> np.ndarray:
        """A user reshares an item at most once: not if the root is in their reshare memory
        (as it stood at the start of the batch), nor twice within the batch; the reshares kept
        enter the memory in batch order."""
        if not reshare.any():
            return reshare
        out = kernels.first_reshares(users, roots, reshare, self.memory, self.posts.n)
        self.memory.remember(users[out], roots[out])
        return out

    def tally(self, pf: Platform, acts: np.ndarray, users: np.ndarray, roots: np.ndarray,
              is_op: np.ndarray) -> np.ndarray:
        """Count each read's actions on its root (reports only on operation posts and replies,
        the one place they are kept per post); for operation content, mark engaged readers and
        return the totals (likes, reshares, replies, reports, media reshares, high-profile
        reshares) (``kernels.tally``)."""
        pop = self.pop
        cols = self.posts.columns()
        kernels.count_reports(acts[:, 4], roots, cols, self.posts.sparse["reports"])
        return kernels.tally(acts, users, roots, is_op, cols, self.ledger.engaged[pf.index],
                             pop.is_media, pop.is_high_profile)

    def cross_posts(self, pf: Platform, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each resharer also carries the item to one other platform they use, with probability
        ``cross_post_prob``, chosen uniformly among them (``kernels.cross_posts``). Returns
        (index into ``users``, platform) pairs."""
        p_cross = self.cfg.engagement.cross_post_prob
        if p_cross <= 0 or len(self.cfg.platforms) < 2:
            return np.zeros(0, np.int64), np.zeros(0, np.int8)
        return streams.draw(self.rng, kernels.cross_posts, users, self.pop.member, pf.index,
                            p_cross)

    def compose(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each online user writes an original post with probability ``post_prob`` x their
        posting propensity (``kernels.posters``): on their own community's topic with
        probability ``own_topic_prob``, else on a uniformly random one, with quality ~ Beta(mean
        ``quality_mean``, concentration ``quality_concentration``). Returns (authors, topics,
        qualities)."""
        pc = self.cfg.population
        return streams.draw(self.rng, kernels.compose, users, self.pop.post_propensity,
                            pc.post_prob, self.pop.community, pc.own_topic_prob,
                            len(pc.communities),
                            *beta_params(pc.quality_mean, pc.quality_concentration))
