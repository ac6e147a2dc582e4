"""Per-agent reference implementation of the model's inner kernels.

Why this exists: :class:`sim.model.InfluenceModel` runs its hot loops as array operations and
compiled loops (masks, insertion sorts, lazily drawn outside items, ring-buffer arithmetic on
whole batches, one uniform deciding five coin flips). That is fast but easy to get subtly wrong,
and a wrong mask looks like a plausible result. :class:`ReferenceModel` restates the same rules
the way one would write them on paper, one agent and one item at a time:

- every organic user is a :class:`User` agent that decides, platform by platform, whether to go
  online this hour (one coin flip with probability sessions-per-hour x the diurnal weight of the
  user's local hour; always, in ``always_active`` mode);
- an online user scores each unread item of its own feed with the platform's ranking rule
  (chronological: newest first, and within one hour the later-created first; engagement:
  ``w * log(1 + E) - ln2 * age / halflife`` with E the root's likes + reshares + replies +
  in-network engagements, ties going to the lower slot), draws how many outside items (from
  accounts beyond the simulated population) arrived since its last session and when, and reads
  its ``n_read`` best of all of them, best first;
- every reader works out its own engagement probabilities for each item it read, with the same
  formula on scalars, and each probability is one coin flip;
- a reader of a hijacked thread flips its own coin for seeing the newest planted reply;
- each read is taken in one at a time: counted as an impression, with the reader looking up
  whether it follows the author; each reader then carries out its own actions (counting likes,
  reshares, replies and reports on the item, following a troll account it may follow,
  resharing an item at most once, carrying a reshare to another platform it uses);
- every online user decides for itself whether to write a post, on what topic, of what
  quality;
- every new post is written into each follower's feed one at a time: the write goes to the
  slot under the row's pointer (the oldest item), and the pointer moves on by one.

The engagement formula is restated here too (:func:`engagement_probs`, on scalars), so that a
change to the engine's formula that is not made here shows up as a disagreement. Everything else
(operators, the paymaster, the post store, ledgers, the order of the tick's phases) is inherited
unchanged, so the two engines differ only in these kernels; run it with
``sim.run(config, model_cls=ReferenceModel)``. Their random draws are made differently (the
vectorised engine draws outside items as a Poisson process, youngest first and only as far as
they matter, decides a read's five coin flips with about one uniform, and draws each kind of
decision for a whole batch at once), so the two agree in distribution, not draw for draw; where
every probability is 0 or 1 and there are no outside items they agree exactly
(``tests/test_reference.py``). ``benchmarks/speedup.py`` measures what the vectorised kernels
buy.
"""

from __future__ import annotations

import bisect
import math

import mesa
import numpy as np

from .config import Config
from .model import InfluenceModel
from .organic import OrganicUsers
from .platform import Platform
from .posts import KIND_ORGANIC


class User(mesa.Agent):
    """One organic user: a local time zone and, per platform joined, a feed row and an hourly
    session rate (the user's sessions per day, shared out over their platforms by usage share)."""

    def __init__(self, model: ReferenceModel, uid: int) -> None:
        super().__init__(model)
        self.uid = uid
        pop = model.pop
        self.utc_offset = int(pop.utc_offset[uid])
        joined = [j for j in range(len(model.platforms)) if pop.member[uid, j]]
        usage = {j: model.cfg.platforms[j].usage_share for j in joined}
        total = sum(usage.values())
        per_hour = float(pop.sessions_per_day[uid]) / 24.0
        self.session_rate = {j: per_hour * usage[j] / total for j in joined}
        self.feed_row = {j: int(model.platforms[j].row_of[uid]) for j in joined}

    def engagement_probs(self, root: int, followed: bool) -> list[float]:
        """My probabilities of (like, reshare, reply, follow, report) for an item I read."""
        m = self.model
        c = m.posts.cols
        pop = m.pop
        return engagement_probs(
            m.cfg, int(pop.community[self.uid]), int(pop.language[self.uid]),
            float(pop.propensity[self.uid]), int(c["topic"][root]), int(c["language"][root]),
            float(c["quality"][root]), float(m.posts.get("timeliness", np.array([root]))[0]),
            float(m.tick - int(c["created"][root])), int(c["eng_visible"][root]), followed,
            bool(c["is_op"][root]))

    def sees_reply(self, pf: Platform, post: int) -> int | None:
        """Having read ``post``: if its root is a thread on this platform under which the
        operation planted replies, do I also see the newest one?"""
        m = self.model
        c = m.posts.cols
        root = int(c["root"][post])
        reply = int(m.posts.get("hijack_reply", np.array([root]))[0])
        if int(c["platform"][root]) != pf.index or reply < 0:
            return None
        return reply if m.rng.random() < m.cfg.engagement.reply_view_prob else None

    def take_in(self, pf: Platform, post: int, from_feed: bool) -> tuple[int, bool, int, bool]:
        """Reading ``post`` is an impression of its root (counted on the root and, for
        operation content, on me). Returns the root, whether it is operation content, its
        author and whether I follow that author (an original in my feed is from someone I
        follow; otherwise I look the author up)."""
        m = self.model
        c = m.posts.cols
        root = int(c["root"][post])
        author = int(c["author"][root])
        c["imp_organic"][root] += 1
        is_op = bool(c["is_op"][root])
        if is_op:
            if m.ledger.op_exposure[self.uid] == 0:  # my first read of operation content
                m.ledger.exposed[0] += 1
            m.ledger.op_exposure[self.uid] += 1
        followed = (from_feed and post == root) or follows(pf, self.uid, author)
        return root, is_op, author, followed

    def could_follow(self, pf: Platform, author: int, followed: bool) -> bool:
        """Could I start following ``author`` here? Only a live troll account on this platform
        that I do not follow yet (organic follows are fixed)."""
        acc = self.model.operation.accounts
        a = author - self.model.pop.n
        return a >= 0 and not followed and bool(acc.alive[a]) and int(acc.platform[a]) == pf.index

    def act_on(self, pf: Platform, root: int, is_op: bool, like: bool, reshare: bool,
               reply: bool, report: bool) -> None:
        """Count my actions on an item I read on its root; engaging with operation content
        marks me as engaged on this platform."""
        m = self.model
        c = m.posts.cols
        c["likes_organic"][root] += like
        c["reshares_organic"][root] += reshare
        c["replies_organic"][root] += reply
        c["eng_visible"][root] += like + reshare + reply
        if report and c["kind"][root] != KIND_ORGANIC:  # kept for operation posts alone
            m.posts.count("reports", np.array([root]), 1)
        if is_op and (like or reshare or reply):
            m.ledger.engaged[pf.index, self.uid] = True

    def carries_across(self, pf: Platform) -> int | None:
        """Having reshared an item here: do I also post it to another platform I use (which
        one, uniformly)?"""
        m = self.model
        p = m.cfg.engagement.cross_post_prob
        if p <= 0 or len(m.platforms) < 2 or not m.rng.random() < p:
            return None
        others = [j for j in self.feed_row if j != pf.index]
        return others[int(m.rng.integers(len(others)))] if others else None

    def compose(self) -> tuple[int, float] | None:
        """Do I write an original post this session? If so, its topic and quality."""
        m = self.model
        pc = m.cfg.population
        if not m.rng.random() < pc.post_prob * float(m.pop.post_propensity[self.uid]):
            return None
        if m.rng.random() < pc.own_topic_prob:
            topic = int(m.pop.community[self.uid])
        else:
            topic = int(m.rng.integers(len(pc.communities)))
        return topic, float(m.rng.beta(pc.quality_mean * pc.quality_concentration,
                                       (1 - pc.quality_mean) * pc.quality_concentration))

    def goes_online(self, platform: int) -> bool:
        """Does this user open ``platform`` this hour?"""
        m = self.model
        if m.cfg.population.always_active:
            return True
        local_hour = (m.tick + self.utc_offset) % 24
        p = self.session_rate[platform] * float(m.organic.diurnal[local_hour])
        return bool(m.rng.random() < p)

    def read_feed(self, pf: Platform, n_read: int, gap: float) -> list[int]:
        """Read my ``n_read`` best items among my unread feed items and the outside items that
        arrived over the ``gap`` hours since my last session (from accounts beyond the simulated
        population: ``E ~ Poisson(rate x gap)`` of them, each at a uniform time in that gap).
        Marks the feed items read and returns their post ids, best first; outside items take
        attention but leave no trace."""
        m = self.model
        feeds = pf.feeds
        row = self.feed_row[pf.index]
        # (score, tie-break, position, post): read the largest score first, among equal scores
        # the larger tie-break, then the lower position (feed slots come before outside items)
        candidates = []
        for slot in range(feeds.k):
            post = int(feeds.items[row, slot])
            if post >= 0 and feeds.is_unread(row, slot):
                score, tie = feed_score(pf, post, m)
                if score > -math.inf:  # not aged out
                    candidates.append((score, tie, slot, post))
        arrived = int(m.rng.poisson(pf.cfg.external_items_per_hour * gap))
        for j in range(arrived):
            age = gap * float(m.rng.random())
            candidates.append((outside_score(pf, age, m), -1, feeds.k + j, None))
        candidates.sort(key=lambda c: (-c[0], -c[1], c[2]))
        read = []
        for _, _, slot, post in candidates[:n_read]:
            if post is not None:  # a feed item (outside items leave no trace)
                feeds.set_unread(row, slot, False)
                read.append(post)
        return read


def write(feeds, row: int, post: int) -> None:
    """Write ``post`` into feed ``row`` over its oldest item (or an empty slot), under the
    row's pointer, as unread; the pointer moves on by one."""
    slot = int(feeds.ptr[row])
    feeds.items[row, slot] = post
    feeds.set_unread(row, slot, True)
    feeds.ptr[row] = (slot + 1) % feeds.k


def engagement_probs(cfg: Config, reader_comm: int, reader_lang: int, propensity: float,
                     topic: int, item_lang: int, quality: float, timeliness: float, age: float,
                     visible: int, followed: bool, is_op: bool) -> list[float]:
    """The engagement formula of docs/model.md (Section 7.7), for one read, written out on
    scalars: each action's base probability x propensity x match, where match = topic x
    comprehension x quality^q x timeliness x freshness x social proof x followed author;
    follows only of operation authors; reports = report_prob x propensity x (1 - quality) x
    comprehension; each clipped to [0, 1]."""
    ec, pc = cfg.engagement, cfg.population
    if ec.fixed_reshare_prob is not None:
        return [0.0, ec.fixed_reshare_prob, 0.0, 0.0, 0.0]
    comprehension = ec.comprehension[reader_lang][item_lang]
    match = ((1.0 if reader_comm == topic else ec.cross_topic_factor) * comprehension
             * quality ** ec.quality_exponent * timeliness
             * math.exp(-math.log(2.0) / ec.freshness_halflife_hours * age)
             * (1.0 + ec.social_proof_weight * math.log1p(visible))
             * (ec.followed_author_factor if followed else 1.0))
    p = propensity * match
    probs = [pc.like_prob * p, pc.reshare_prob * p, pc.reply_prob * p,
             pc.follow_prob * p if is_op else 0.0,
             pc.report_prob * propensity * (1.0 - quality) * comprehension]
    return [min(max(x, 0.0), 1.0) for x in probs]


def follows(pf: Platform, user: int, author: int) -> bool:
    """Does ``user`` follow ``author`` on this platform? (An organic author's sorted follower
    list, or a troll account's followers among the platform's sorted follow keys.)"""
    n = pf.n_users
    if author < n:
        keys = pf.graph.followers_of(author)
        lo, hi, key = 0, keys.size, user
    else:
        lo, hi, key, keys = 0, pf.op_keys.size, (author - n) * n + user, pf.op_keys
    i = bisect.bisect_left(keys, key, lo, hi)
    return i < hi and int(keys[i]) == key


def feed_score(pf: Platform, post: int, model: InfluenceModel) -> tuple[float, int]:
    """The platform's ranking score of one feed item (larger is shown first), with what breaks
    ties between equal scores.

    Chronological: the creation hour, ties going to the later-created item (larger post id).
    Engagement: ``w * ln(1 + E) - ln2 * age / halflife``, where E is the visible engagement of
    the item's root (organic likes, reshares and replies plus in-network engagements) and age
    is counted from the item's own creation; no tie-break (ties go to the lower slot).
    An item older than ``feed_max_age_hours`` has left the feed: -inf."""
    c = model.posts.cols
    created = int(c["created"][post])
    if model.tick - created > model.cfg.engagement.feed_max_age_hours:
        return -math.inf, 0
    if pf.cfg.ranking == "chronological":
        return float(created), post
    root = int(c["root"][post])
    visible = int(c["likes_organic"][root]) + int(c["reshares_organic"][root]) \
        + int(c["replies_organic"][root]) + int(model.posts.get("eng_op", np.array([root]))[0])
    age = model.tick - created
    return (pf.cfg.engagement_weight * math.log1p(visible)
            - math.log(2.0) / pf.cfg.recency_halflife_hours * age), 0


def outside_score(pf: Platform, age: float, model: InfluenceModel) -> float:
    """The ranking score of an outside item ``age`` hours old: as a feed item created then
    (chronological) or with the platform's ``external_engagement`` as its visible engagement."""
    if pf.cfg.ranking == "chronological":
        return model.tick - age
    return (pf.cfg.engagement_weight * math.log1p(pf.cfg.external_engagement)
            - math.log(2.0) / pf.cfg.recency_halflife_hours * age)


class ReferenceOrganic(OrganicUsers):
    """Organic behaviour with each decision taken by each :class:`User` agent in turn."""

    holds_stream = False  # the agents draw with numpy's own methods

    users: list[User]  # set by ReferenceModel

    def reading(self, pf: Platform) -> tuple[np.ndarray, ...]:
        """Decision by decision, each taken by each member or reader in turn."""
        return self.reading_step_by_step(pf)

    def engagement(self, pf: Platform, users: np.ndarray, items: np.ndarray,
                   n_from_feed: int) -> tuple[np.ndarray, ...]:
        """Decision by decision, each taken by each reader in turn."""
        return self.engagement_step_by_step(pf, users, items, n_from_feed)

    def online(self, pf: Platform) -> np.ndarray:
        """Ask each member in turn whether they go online; their feed rows, in row order."""
        rows = []
        for uid in pf.members.tolist():
            user = self.users[uid]
            if user.goes_online(pf.index):
                rows.append(user.feed_row[pf.index])
        return np.array(rows, dtype=np.int64)

    def read(self, pf: Platform, rows: np.ndarray, n_read: np.ndarray, gap: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """Each online member reads their own feed; (index into ``rows``, post id) pairs."""
        reader_index, posts = [], []
        for i, (row, k, g) in enumerate(zip(rows.tolist(), n_read.tolist(), gap.tolist(),
                                            strict=True)):
            user = self.users[int(pf.members[row])]
            for post in user.read_feed(pf, k, g):
                reader_index.append(i)
                posts.append(post)
        return np.array(reader_index, dtype=np.int64), np.array(posts, dtype=np.int32)

    def action_probs(self, users: np.ndarray, roots: np.ndarray, followed: np.ndarray
                     ) -> np.ndarray:
        """Each reader works out its own engagement probabilities for the item it read, one
        read at a time (:func:`engagement_probs`)."""
        out = np.empty((users.size, 5), np.float32)
        for i, (u, r, f) in enumerate(zip(users.tolist(), roots.tolist(), followed.tolist(),
                                          strict=True)):
            out[i] = self.users[u].engagement_probs(r, f)
        return out

    def draw(self, probs: np.ndarray) -> np.ndarray:
        """One coin flip per probability."""
        flips = [self.rng.random() < p for p in probs.ravel().tolist()]
        return np.array(flips, dtype=bool).reshape(probs.shape)

    def reply_views(self, pf: Platform, readers: np.ndarray, posts: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Each reader of each item asks whether they also see a planted reply under it."""
        who, replies = [], []
        for u, post in zip(readers.tolist(), posts.tolist(), strict=True):
            reply = self.users[u].sees_reply(pf, post)
            if reply is not None:
                who.append(u)
                replies.append(reply)
        return np.array(who, dtype=readers.dtype), np.array(replies, dtype=posts.dtype)

    def impressions(self, pf: Platform, users: np.ndarray, posts: np.ndarray,
                     n_from_feed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each reader takes in each item they read, one read at a time."""
        out = [self.users[u].take_in(pf, p, i < n_from_feed)
               for i, (u, p) in enumerate(zip(users.tolist(), posts.tolist(), strict=True))]
        roots, is_op, authors, followed = (list(x) for x in zip(*out, strict=True)) \
            if out else ([], [], [], [])
        return (np.array(roots, np.int32), np.array(is_op, bool), np.array(authors, np.int32),
                np.array(followed, bool))

    def followable(self, pf: Platform, users: np.ndarray, authors: np.ndarray,
                    followed: np.ndarray) -> np.ndarray:
        """Each reader asks whether it could start following the author of what it read."""
        return np.array([self.users[u].could_follow(pf, a, f) for u, a, f in
                         zip(users.tolist(), authors.tolist(), followed.tolist(), strict=True)],
                        dtype=bool)

    def first_reshares(self, users: np.ndarray, roots: np.ndarray,
                        reshare: np.ndarray) -> np.ndarray:
        """Read by read: a reshare stands unless the root is in the reader's reshare memory
        (as it was when the batch began) or the reader already reshared it in this batch;
        the reshares that stand then enter the memory, in batch order."""
        memory = self.memory
        out = np.zeros_like(reshare)
        done: set[tuple[int, int]] = set()
        for i, (u, r) in enumerate(zip(users.tolist(), roots.tolist(), strict=True)):
            if reshare[i] and (u, r) not in done and r not in memory.row(u).tolist():
                done.add((u, r))
                out[i] = True
        for i in np.flatnonzero(out).tolist():
            memory.remember(users[i: i + 1], roots[i: i + 1])
        return out

    def tally(self, pf: Platform, acts: np.ndarray, users: np.ndarray, roots: np.ndarray,
               is_op: np.ndarray) -> np.ndarray:
        """Each reader acts on what they read; the operation's totals are summed as they go."""
        sums = np.zeros(6, np.int64)
        pop = self.pop
        for u, r, op, a in zip(users.tolist(), roots.tolist(), is_op.tolist(), acts.tolist(),
                               strict=True):
            like, reshare, reply, _, report = a
            self.users[u].act_on(pf, r, op, like, reshare, reply, report)
            if op:
                sums += (like, reshare, reply, report, reshare and bool(pop.is_media[u]),
                         reshare and bool(pop.is_high_profile[u]))
        return sums

    def cross_posts(self, pf: Platform, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each resharer in turn decides whether to carry the item to another platform."""
        carried, to = [], []
        for i, u in enumerate(users.tolist()):
            q = self.users[u].carries_across(pf)
            if q is not None:
                carried.append(i)
                to.append(q)
        return np.array(carried, np.int64), np.array(to, np.int8)

    def compose(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each online user in turn decides whether to post, and what."""
        authors, topics, qualities = [], [], []
        for u in users.tolist():
            post = self.users[u].compose()
            if post is not None:
                authors.append(u)
                topics.append(post[0])
                qualities.append(post[1])
        return (np.array(authors, users.dtype), np.array(topics, np.int8),
                np.array(qualities, np.float64))

class ReferencePlatform(Platform):
    """A platform whose delivery writes follower by follower."""

    def fan_out(self, ids: np.ndarray, authors: np.ndarray) -> int:
        """Post by post (in creation order), follower by follower: write into the follower's
        feed over its oldest item. Returns the number of writes."""
        n = self.n_users
        troll_followers: dict[int, list[int]] | None = None
        feeds = self.feeds
        made = 0
        for post, author in zip(ids.tolist(), authors.tolist(), strict=True):
            if author < n:  # organic author: the follower graph
                followers = self.graph.followers_of(author).tolist()
            else:  # troll account: its organic followers on this platform
                if troll_followers is None:
                    troll_followers = {}
                    for key in self.op_keys.tolist():
                        troll_followers.setdefault(key // n, []).append(key % n)
                followers = troll_followers.get(author - n, [])
            for follower in followers:
                write(feeds, int(self.row_of[follower]), post)
                made += 1
        return made


class ReferenceModel(InfluenceModel):
    """The model with its kernels as plain per-agent loops (see the module docstring)."""

    organic_cls = ReferenceOrganic
    platform_cls = ReferencePlatform

    def __init__(self, cfg: Config, seed: int | None = None) -> None:
        if cfg.moderation.enabled:
            raise ValueError("moderation.enabled: the per-agent reference implements the core "
                             "engine only; run it with moderation.enabled = false")
        super().__init__(cfg, seed)
        # Creating agents draws no random numbers, so a seed gives the same world as in
        # InfluenceModel.
        self.users = [User(self, uid) for uid in range(self.pop.n)]
        self.organic.users = self.users
