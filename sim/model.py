"""The model: one tick is one hour, and ``InfluenceModel.step`` is the whole tick, in order.

State lives in arrays (population, follower graphs, feeds, posts, troll accounts); the Mesa agents
are the few decision-makers: operators, the paymaster and platforms. What organic users do is
written as kernel methods (the ``_``-prefixed methods at the end: who is online, what each reads,
reply views, impressions, engagement probabilities and coin flips, follows, first reshares,
counting actions, cross-posts, composing posts, feed delivery), so that the per-agent reference
implementation (``sim.reference``) can swap in plain loops over agents and be compared with the
vectorised ones.
"""

from __future__ import annotations

import mesa
import numpy as np

from . import kernels
from .behaviour import Coefficients, action_probs, match_factor
from .config import LANGUAGES, Config
from .feeds import Feeds, read
from .ledger import Ledger
from .moderation import Moderation
from .network import make_follower_graph
from .operation import Operator, Paymaster, act, make_accounts
from .platform import Platform
from .population import make_population
from .posts import KIND_ORGANIC, KIND_RESHARE, PostStore


class InfluenceModel(mesa.Model):
    COMPACT_EVERY_HOURS = 24  # how often old posts leave memory (no effect on results)

    def __init__(self, cfg: Config, seed: int | None = None) -> None:
        seed = cfg.run.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        # Draws that only feed the vanity ledger (bought followers, fake views) use their own
        # stream, derived from the same seed: buying followers cannot perturb the real world.
        self.vanity_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
        self.cfg = cfg
        self.seed = seed
        self.tick = 0
        self.coef = Coefficients.from_config(cfg)
        rng = self.rng
        # --- the world: users, graphs, platforms, posts, troll accounts ----------------------
        self.pop = pop = make_population(cfg, rng)
        diurnal = np.asarray(cfg.population.diurnal, np.float64)
        self.diurnal = (diurnal / diurnal.mean()).astype(np.float32)
        usage = pop.member * np.array([p.usage_share for p in cfg.platforms])
        usage_frac = usage / usage.sum(axis=1, keepdims=True)
        self.platforms: list[Platform] = []
        for j, pcfg in enumerate(cfg.platforms):
            members = np.flatnonzero(pop.member[:, j]).astype(np.int32)
            graph = make_follower_graph(pcfg, members, pop.community, pop.fitness, pop.n, rng)
            rate = pop.sessions_per_day[members] * usage_frac[members, j] / 24.0
            self.platforms.append(Platform(self, j, pcfg, members, graph, rate))
        self._members_by_comm = [self._group_by_community(pf.members) for pf in self.platforms]
        self.posts = PostStore(capacity=1 << 16)
        self.reshare_memory = Feeds(pop.n, cfg.engagement.reshare_memory)
        self.accounts = make_accounts(cfg, rng, self.vanity_rng)
        self.ledger = Ledger(pop.n, len(self.platforms))
        self.operators = [Operator(self, i, np.flatnonzero(self.accounts.operator == i))
                          for i in range(int(self.accounts.operator.max(initial=-1)) + 1)]
        self.paymaster = Paymaster(self)
        self._queue: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._tick_first_post: list[int] = []  # gid of each tick's first post
        self._pool_cache: dict[tuple[int, int], np.ndarray] = {}
        self._seed_hijacked_audiences(np.arange(self.accounts.n))
        # moderation draws from its own stream: with it off, nothing above or below changes
        self.moderation = Moderation(self) if any(
            cfg.moderation_of(j) for j in range(len(cfg.platforms))) else None

    def user(self, index: int) -> OrganicUser:
        """A Mesa agent view of organic user ``index`` (for inspection)."""
        return OrganicUser(self, index)

    # ==== one tick ==============================================================================
    def step(self) -> None:
        """One hour of the world."""
        self._tick_first_post.append(self.posts.made)
        self._pool_cache.clear()
        # 1. Operators decide their hour (buy followers; if on shift: build audience, post,
        #    plant replies, amplify); their plans are carried out together.
        act(self, [p for op in self.operators if (p := op.plan_hour(self.tick)) is not None])
        # 2. Organic users online on each platform read their ranked feeds, engage and post.
        for pf in self.platforms:
            self.organic_hour(pf)
        # 3. Everything posted this hour reaches followers' feeds (readable from next hour on).
        self.deliver_queued()
        # 4. Platforms moderate: scan for suspicious accounts, act on reviews that are due.
        if self.moderation is not None:
            self.moderation.step()
        # 5. The paymaster receives the period's report; the ledgers record the hour.
        self.paymaster.step()
        self.ledger.record(self)
        # 6. Once a day, posts too old for any feed leave memory (the ledgers keep their totals).
        if (self.tick + 1) % self.COMPACT_EVERY_HOURS == 0:
            self.age_out(self.tick + 1 - self.cfg.engagement.feed_max_age_hours)
        self.tick += 1

    def run(self, ticks: int | None = None, progress=None) -> None:
        for _ in range(self.cfg.ticks if ticks is None else ticks):
            self.step()
            if progress is not None:
                progress.update(1)

    # ==== organic users ========================================================================
    def organic_hour(self, pf: Platform) -> None:
        pc = self.cfg.population
        rows = self._active_rows(pf)
        if self.moderation is not None:  # members removed from this platform stay away
            rows = self.moderation.present(pf.index, rows)
        if rows.size == 0:
            return
        users = pf.members[rows]
        n_read = (self.pop.attention[users].astype(np.int32) if pc.attention_limited
                  else np.full(rows.size, pf.feeds.k, np.int32))
        ri, posts = self._read(pf, rows, n_read, pf.open_sessions(rows, self.tick))
        readers = users[ri]
        reply_readers, replies = self._reply_views(pf, readers, posts)
        self.engage(pf, np.concatenate((readers, reply_readers)),
                    np.concatenate((posts, replies)), n_from_feed=posts.size)
        self.organic_posts(pf, users)

    def engage(self, pf: Platform, users: np.ndarray, posts: np.ndarray,
               n_from_feed: int = 0) -> None:
        """Impressions, then likes/reshares/replies/follows/reports for (user, post) reads.

        The first ``n_from_feed`` pairs were read in the feed: an original post there came from
        an account the reader follows, so only the other pairs need a follower lookup."""
        if users.size == 0:
            return
        n = self.pop.n
        roots, is_op, authors, followed = self._impressions(pf, users, posts, n_from_feed)
        n_op = int(is_op.sum())
        self.ledger.add(organic_impressions=n_op, reported_impressions=n_op)
        acts = self._draw(self._action_probs(users, roots, followed))
        like, reshare, reply, follow, report = acts.T
        drawn = np.flatnonzero(follow)
        follow[drawn] = self._followable(pf, users[drawn], authors[drawn], followed[drawn])
        acts[:, 1] = reshare = self._first_reshares(users, roots, reshare)
        n_like, n_resh, n_rep, n_report, n_media, n_hp = self._tally(pf, acts, users, roots,
                                                                     is_op)
        if self.moderation is not None:  # what the platform sees
            eng = like | reshare | reply
            self.moderation.engagements(pf.index, users[eng], authors[eng])
            self.moderation.reports(pf.index, authors[report])
        self.ledger.add(organic_likes=n_like, organic_reshares=n_resh, organic_replies=n_rep,
                        organic_engagements=n_like + n_resh + n_rep,
                        reported_engagements=n_like + n_resh + n_rep,
                        organic_reports=n_report, media_amplifications=n_media,
                        high_profile_amplifications=n_hp)
        if follow.any():
            new = pf.add_op_followers(authors[follow] - n, users[follow])
            self.ledger.add(organic_followers_gained=new)
        if reshare.any():
            self._reshare(pf, users[reshare], roots[reshare], posts[reshare])

    def _first_reshares(self, users: np.ndarray, roots: np.ndarray,
                        reshare: np.ndarray) -> np.ndarray:
        """A user reshares an item at most once: not if the root is in their reshare memory
        (as it stood at the start of the batch), nor twice within the batch; the reshares kept
        enter the memory in batch order."""
        if not reshare.any():
            return reshare
        out = kernels.first_reshares(users, roots, reshare, self.reshare_memory.items,
                                     self.posts.n)
        self.reshare_memory.deliver(users[out], roots[out])
        return out

    def _reshare(self, pf: Platform, users: np.ndarray, roots: np.ndarray,
                 parents: np.ndarray) -> None:
        """Reshares go to the resharer's followers; some are carried to another platform."""
        ids = self._copy_posts(users, roots, parents, pf.index)
        self.queue(ids, users, np.full(ids.size, pf.index, np.int8))
        carried, to = self._cross_posts(pf, users)
        if carried.size:
            u, r = users[carried], roots[carried]
            ids = self._copy_posts(u, r, parents[carried], to)
            self.queue(ids, u, to)
            self.ledger.add(organic_cross_posts=int(self.posts.cols["is_op"][r].sum()))

    def _copy_posts(self, users, roots, parents, platform) -> np.ndarray:
        c = self.posts.cols
        return self.posts.add(author=users, root=roots, parent=c["gid"][parents],
                              platform=platform,
                              kind=KIND_RESHARE,
                              topic=c["topic"][roots], language=c["language"][roots],
                              is_op=c["is_op"][roots], quality=c["quality"][roots],
                              timeliness=c["timeliness"][roots], created=self.tick)

    def organic_posts(self, pf: Platform, users: np.ndarray) -> None:
        """Online ``users`` may write an original post (``_compose``), delivered with the
        hour's other posts."""
        authors, topic, quality = self._compose(users)
        if authors.size == 0:
            return
        ids = self.posts.add(author=authors, platform=pf.index, kind=KIND_ORGANIC, topic=topic,
                             language=self.pop.language[authors], is_op=False,
                             quality=quality, created=self.tick)
        self.queue(ids, authors, np.full(ids.size, pf.index, np.int8))
        self.ledger.add(organic_posts=int(ids.size))
        if self.moderation is not None:
            self.moderation.organic_posts(pf.index, ids, authors)

    def inject_post(self, author: int, platform: int = 0, *, topic: int | None = None,
                    quality: float = 1.0, is_op: bool = False) -> int:
        """Post one organic item now (delivered with this hour's posts); the author counts as
        having shared it. Used to seed cascades in validation experiments."""
        topic = int(self.pop.community[author]) if topic is None else topic
        ids = self.posts.add(author=author, platform=platform, kind=KIND_ORGANIC, topic=topic,
                             language=self.pop.language[author], is_op=is_op, quality=quality,
                             created=self.tick)
        self.reshare_memory.deliver(np.array([author]), ids)
        self.queue(ids, np.array([author]), np.array([platform], np.int8))
        return int(ids[0])

    # ==== delivery =============================================================================
    def queue(self, ids: np.ndarray, authors: np.ndarray, platforms: np.ndarray) -> None:
        if ids.size:
            self._queue.append((ids, np.asarray(authors, np.int32), np.asarray(platforms)))

    def deliver_queued(self) -> None:
        if not self._queue:
            return
        ids, authors, plat = (np.concatenate(x) for x in zip(*self._queue, strict=True))
        self._queue.clear()
        order = np.argsort(ids, kind="stable")
        ids, authors, plat = ids[order], authors[order], plat[order]
        for pf in self.platforms:
            sel = plat == pf.index
            if sel.any():
                self.ledger.add(deliveries=self._deliver(pf, ids[sel], authors[sel]))

    # ==== operation support ====================================================================
    def first_post_since(self, tick: int) -> int:
        """Index of the first post created at or after ``tick`` (posts are held in creation
        order, and every post of the last ``feed_max_age_hours`` is held)."""
        if tick >= len(self._tick_first_post):
            return self.posts.n
        return self.posts.index_of(self._tick_first_post[max(tick, 0)])

    def age_out(self, cutoff: int) -> None:
        """Drop from memory the posts created before ``cutoff`` (invisible in feeds from now on,
        see ``feeds.read``), except operation content (for the posts table) and the roots of
        posts kept; every array holding post indices is remapped. Changes no result: a run
        compacting every hour equals one never compacting (``tests/test_posts.py``)."""
        first = self.first_post_since(cutoff)
        if first == 0:
            return
        c = self.posts.cols
        n = self.posts.n
        keep = np.ones(n, bool)
        keep[:first] = c["is_op"][:first]
        keep[c["root"][:n][keep]] = True
        new = self.posts.compact(keep)
        for pf in self.platforms:
            pf.feeds.remap(new)
        self.reshare_memory.remap(new)
        if self.moderation is not None:
            self.moderation.compact(keep, new)

    def accounts_acquired(self, ids: np.ndarray) -> None:
        """Replacement accounts join: hijacked ones bring an old audience; moderation learns
        their registration dates."""
        self._seed_hijacked_audiences(ids)
        if self.moderation is not None:
            self.moderation.set_ages(ids)

    def hijack_pool(self, p: int, topic: int = -1) -> np.ndarray:
        """The most-engaged organic originals of the last 24 hours on platform ``p`` (on
        ``topic`` only, if given)."""
        if (p, topic) not in self._pool_cache:
            first = self.first_post_since(self.tick - 24)
            ids = np.arange(first, self.posts.n)
            c = self.posts.cols
            ids = ids[(c["platform"][ids] == p) & (c["kind"][ids] == KIND_ORGANIC)]
            if topic >= 0:
                ids = ids[c["topic"][ids] == topic]
            k = self.cfg.operation.hijack_pool
            if ids.size > k:
                e = self.posts.engagements(ids)
                ids = np.sort(ids[np.argsort(-e, kind="stable")[:k]])
            self._pool_cache[p, topic] = ids
        return self._pool_cache[p, topic]

    def _group_by_community(self, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        comm = self.pop.community[members]
        order = np.argsort(comm, kind="stable")
        bounds = np.searchsorted(comm[order], np.arange(len(self.pop.community_names) + 1))
        return members[order], bounds

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
            by_comm, bounds = self._members_by_comm[pf.index]
            if by_comm.size == 0:  # nobody to follow here
                targeted[sel] = False
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
                self.ledger.add(organic_followers_gained=new)

    def _seed_hijacked_audiences(self, ids: np.ndarray) -> None:
        """Hijacked accounts among ``ids`` arrive with an old audience of random members (not
        in the real ledger's 'followers gained': the operation did not win them)."""
        acc = self.accounts
        mean = self.cfg.operation.hijacked_audience_mean
        hij = ids[acc.hijacked[ids]]
        if hij.size == 0 or mean <= 0:
            return
        size = self.rng.geometric(1.0 / (1.0 + mean), hij.size) - 1
        for pf in self.platforms:
            sel = acc.platform[hij] == pf.index
            a = np.repeat(hij[sel], size[sel])
            if a.size and pf.members.size:
                pf.add_op_followers(a, pf.members[self.rng.integers(0, pf.members.size,
                                                                    a.size)])

    # ==== kernels (vectorised; sim.reference overrides them with per-agent loops) ===============
    def _active_rows(self, pf: Platform) -> np.ndarray:
        """Members who open this platform this hour: one Bernoulli each, with probability
        sessions-per-hour x the diurnal weight of their local hour."""
        if self.cfg.population.always_active:
            return np.arange(pf.members.size)
        # weight of local hour (tick + utc) % 24 by UTC offset: a 24-entry table
        return kernels.online(self.rng, pf.session_rate, pf.utc_hour,
                              np.roll(self.diurnal, -(self.tick % 24)))

    def _read(self, pf: Platform, rows: np.ndarray, n_read: np.ndarray, gap: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """Each active row reads its best unread items against the outside items that arrived
        over the ``gap`` hours since its last session (``feeds.read``)."""
        status, penalty = (None, 0.0) if self.moderation is None else \
            self.moderation.feed_status(pf.index)
        return read(pf.feeds, pf.cfg, rows, n_read, gap, self.rng, self.posts, self.tick,
                    self.cfg.engagement.feed_max_age_hours, status, penalty)

    def _action_probs(self, users: np.ndarray, roots: np.ndarray, followed: np.ndarray
                      ) -> np.ndarray:
        """Engagement probabilities (like, reshare, reply, follow, report) of each read."""
        c = self.posts.cols
        pop = self.pop
        comm, lang, prop, topic, item_lang, quality, timeliness, age, eng, is_op = \
            kernels.read_fields(users, roots, pop.community, pop.language, pop.propensity,
                                c["topic"], c["language"], c["quality"], c["timeliness"],
                                c["created"], c["eng_visible"], c["is_op"], self.tick)
        match = match_factor(self.coef, comm, lang, topic, item_lang, quality, timeliness, age,
                             eng, followed)
        return action_probs(self.coef, prop, match, self.coef.comprehension[lang, item_lang],
                            quality, is_op)

    def _draw(self, probs: np.ndarray) -> np.ndarray:
        """One independent coin flip per probability (``kernels.draw_actions``)."""
        return kernels.draw_actions(self.rng, probs)

    def _reply_views(self, pf: Platform, readers: np.ndarray, posts: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        """A reader of a hijacked thread (on the thread's own platform) also sees its newest
        planted operation reply with probability ``reply_view_prob``; with moderation, replies
        of removed or demoted accounts are hidden. Returns (reader, reply) pairs."""
        c = self.posts.cols
        who, reply = kernels.reply_views(self.rng, posts, c["root"], c["platform"],
                                         c["hijack_reply"], pf.index,
                                         self.cfg.engagement.reply_view_prob)
        if self.moderation is not None:
            shown = self.moderation.visible_status(reply) == 0
            who, reply = who[shown], reply[shown]
        return readers[who], reply

    def _impressions(self, pf: Platform, users: np.ndarray, posts: np.ndarray,
                     n_from_feed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Count each read as an impression of its root (and, for operation content, on the
        reader); per read, the root, whether it is operation content, its author and whether
        the reader follows that author (``kernels.impressions``)."""
        c = self.posts.cols
        g = pf.graph
        return kernels.impressions(
            users, posts, n_from_feed, c["root"], c["is_op"], c["author"], c["imp_organic"],
            self.ledger.op_exposure, g.indptr, g.followers, pf.op_keys, self.pop.n)

    def _followable(self, pf: Platform, users: np.ndarray, authors: np.ndarray,
                    followed: np.ndarray) -> np.ndarray:
        """Which of these authors their reader could start following here: a live troll
        account on this platform that the reader does not follow yet (the organic graph is
        fixed)."""
        n = self.pop.n
        ok = (authors >= n) & ~followed
        acc = authors[ok] - n
        ok[ok] = self.accounts.alive[acc] & (self.accounts.platform[acc] == pf.index)
        return ok

    def _tally(self, pf: Platform, acts: np.ndarray, users: np.ndarray, roots: np.ndarray,
               is_op: np.ndarray) -> np.ndarray:
        """Count each read's actions on its root; for operation content, mark engaged readers
        and return the totals (likes, reshares, replies, reports, media reshares,
        high-profile reshares) (``kernels.tally``)."""
        c = self.posts.cols
        pop = self.pop
        return kernels.tally(
            acts, users, roots, is_op, c["likes_organic"], c["reshares_organic"],
            c["replies_organic"], c["eng_visible"], c["reports"], self.ledger.engaged[pf.index],
            pop.is_media, pop.is_high_profile)

    def _cross_posts(self, pf: Platform, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each resharer also carries the item to one other platform they use, with probability
        ``cross_post_prob``, chosen uniformly among them. Returns (index into ``users``,
        platform) pairs."""
        p_cross = self.cfg.engagement.cross_post_prob
        if p_cross <= 0 or len(self.platforms) < 2:
            return np.zeros(0, np.int64), np.zeros(0, np.int8)
        carry = np.flatnonzero(self.rng.random(users.size) < p_cross)
        options = self.pop.member[users[carry]].copy()
        options[:, pf.index] = False
        score = np.where(options, self.rng.random(options.shape), -1.0)
        has = options.any(axis=1)
        return carry[has], np.argmax(score[has], axis=1).astype(np.int8)

    def _compose(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each online user writes an original post with probability ``post_prob``: on their
        own community's topic with probability ``own_topic_prob``, else on a uniformly random
        one, with quality ~ Beta(mean ``quality_mean``, concentration
        ``quality_concentration``). Returns (authors, topics, qualities)."""
        pc = self.cfg.population
        rng = self.rng
        authors = users[rng.random(users.size) < pc.post_prob]
        if authors.size == 0:
            return authors, authors, np.zeros(0)
        own = rng.random(authors.size) < pc.own_topic_prob
        topic = np.where(own, self.pop.community[authors],
                         rng.integers(0, len(pc.communities), authors.size))
        a = pc.quality_mean * pc.quality_concentration
        b = (1 - pc.quality_mean) * pc.quality_concentration
        return authors, topic, rng.beta(a, b, authors.size)

    def _deliver(self, pf: Platform, ids: np.ndarray, authors: np.ndarray) -> int:
        return pf.deliver(ids, authors)


class OrganicUser(mesa.Agent):
    """A Mesa-agent view of one organic user, made on demand by :meth:`InfluenceModel.user`.

    The population's state lives in arrays; this view reads them (and registers with the model
    like any agent until ``remove()`` is called). Useful for inspection and teaching, never used
    in the tick."""

    def __init__(self, model: InfluenceModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    def __repr__(self) -> str:
        d = self.describe()
        return f"OrganicUser({', '.join(f'{k}={v}' for k, v in d.items())})"

    def describe(self) -> dict:
        m, i = self.model, self.index
        pop = m.pop
        return {
            "index": i,
            "community": pop.community_names[pop.community[i]],
            "language": LANGUAGES[pop.language[i]],
            "utc_offset": int(pop.utc_offset[i]),
            "sessions_per_day": float(pop.sessions_per_day[i]),
            "attention": int(pop.attention[i]),
            "propensity": float(pop.propensity[i]),
            "media": bool(pop.is_media[i]),
            "high_profile": bool(pop.is_high_profile[i]),
            "platforms": [pf.name for pf in m.platforms if pop.member[i, pf.index]],
            "operation_items_read": int(m.ledger.op_exposure[i]),
        }
