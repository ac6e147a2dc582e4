"""Platform moderation: observable signals, a suspicion score, review delay, takedown or demotion.

Three layers, kept apart on purpose:

1. **What a platform can observe** (:class:`Observation`): posts in a recent window (author,
   time, whether original or a reshare, content fingerprint, language, writing quality), who
   engaged with whose content, user reports, and account profiles (registration time, claimed
   community). Nothing in it says who runs an account; :meth:`Moderation.observe` builds it from
   the model without reading the hidden labels (``is_op``, operators, account kind).
2. **The detector** (:func:`score_accounts`, :func:`linked_groups`): pure functions of an
   Observation. Each account in the window gets eight signals in [0, 1] and a weighted mean,
   the suspicion score. Flagged accounts (score >= threshold) become one action each, or, in
   network mode, one action per connected group of linked suspicious accounts.
3. **Enforcement** (:class:`Moderator`, a Mesa agent per moderating platform): after a review
   delay an action removes the accounts (their content leaves feeds, their followers are gone,
   organic users lose their account on that platform) or demotes their content in ranking.

Everything the detector alone needs and the core engine does not (organic account ages, fan
groups, content fingerprints, which sibling engaged) is drawn from a separate random stream, so a
run with moderation off is draw for draw the core engine's run. Ground truth is used only in
:meth:`Moderation.summary` to score the moderation (precision, recall, wrongful removals).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import mesa
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .config import Moderation as ModerationConfig
from .network import sorted_unique
from .operation import ORIGIN_NAMES
from .posts import KIND_OP_SHARE, KIND_RESHARE

SIGNALS = ("age", "rate", "sync", "duplicate", "cluster", "language", "reports", "coengagement")
STATUS_OK, STATUS_DEMOTED, STATUS_REMOVED = 0, 1, 2
UNIQUE = -1  # fingerprint of content nobody else posts; fan slogans are below it, operation
# content directions are >= 0, so the two never collide


@dataclass
class Observation:
    """What one platform can see at one moment. Account ids share one space (organic users and
    operation accounts alike); profiles are indexed by account id."""

    now: int
    post_author: np.ndarray  # int64
    post_created: np.ndarray  # int32 tick
    post_original: np.ndarray  # bool: an original post or reply, not a reshare
    post_fingerprint: np.ndarray  # int32 content fingerprint; UNIQUE = nobody else's
    post_language: np.ndarray  # int8
    post_quality: np.ndarray  # float32 writing quality as a classifier would judge it
    eng_src: np.ndarray  # int64 account that engaged
    eng_dst: np.ndarray  # int64 account whose content it engaged with
    eng_tick: np.ndarray  # int64 hour of the engagement
    report_dst: np.ndarray  # int64 account whose content was reported (one row per report)
    born: np.ndarray  # int64 registration tick, per account id
    claimed_community: np.ndarray  # int8 profile community, per account id
    main_language: np.ndarray  # int8 main language of each community


@dataclass
class Scores:
    accounts: np.ndarray  # int64 account ids seen in the window, sorted
    n_posts: np.ndarray  # posts of any kind in the window
    signals: np.ndarray  # float (accounts x SIGNALS)
    score: np.ndarray  # weighted mean of the signals
    eligible: np.ndarray  # bool: enough posts to be judged


def _weights(cfg: ModerationConfig) -> np.ndarray:
    return np.array([cfg.weight_age, cfg.weight_rate, cfg.weight_sync, cfg.weight_duplicate,
                     cfg.weight_cluster, cfg.weight_language, cfg.weight_reports,
                     cfg.weight_coengagement])


def _in_window(key: np.ndarray, tick: np.ndarray, cfg: ModerationConfig) -> np.ndarray:
    """One code per (key, sync window): what "at the same time" means for every signal."""
    return key.astype(np.int64) * 1_000_003 + tick // cfg.sync_window_hours


def _distinct_per_key(key: np.ndarray, who: np.ndarray) -> np.ndarray:
    """For each row, the number of distinct ``who`` values sharing its ``key``."""
    if key.size == 0:
        return np.zeros(0, np.int64)
    _, kid = np.unique(key, return_inverse=True)
    pairs = sorted_unique(kid.astype(np.int64) * (int(who.max()) + 1) + who)
    per_key = np.bincount(pairs // (int(who.max()) + 1), minlength=int(kid.max()) + 1)
    return per_key[kid]


def score_accounts(obs: Observation, cfg: ModerationConfig) -> Scores:
    """Signals and suspicion score of every account active (posting, engaged with or reported)
    in the window. Signals, each in [0, 1]:

    - age: ``exp(-age / age_scale_days)``, young accounts score high;
    - rate: ``1 - exp(-posts per day / rate_scale_per_day)``;
    - sync: share of its original posts whose content ``copost_min_accounts`` or more accounts
      posted within the same ``sync_window_hours``;
    - duplicate: share of its original posts whose content ``duplicate_min_accounts`` or more
      accounts posted in the window;
    - cluster: share of the engagement it received that came from accounts it engaged with
      itself (reciprocal engagement, the footprint of self-amplification);
    - language: mean over its original posts of 1 if written in a language other than the main
      one of its claimed community, else 1 - quality;
    - reports: ``1 - exp(-reports / report_scale)``;
    - coengagement: share of the engagements it gave that went to an account which
      ``copost_min_accounts`` or more accounts engaged with in the same ``sync_window_hours``
      (engaging in step with others; fans of a popular account do it too).

    Shares use a pseudo-count of one post (or engagement) so one coincidence is not a pattern.
    """
    ids = np.concatenate((obs.post_author, obs.eng_dst, obs.report_dst))
    accounts = sorted_unique(ids.astype(np.int64))
    a_n = accounts.size
    ai = np.searchsorted(accounts, obs.post_author)
    n_posts = np.bincount(ai, minlength=a_n)
    orig = obs.post_original
    n_orig = np.bincount(ai[orig], minlength=a_n).astype(np.float64)
    sig = np.zeros((a_n, len(SIGNALS)))

    age_days = np.maximum(obs.now - obs.born[accounts], 0) / 24.0
    sig[:, 0] = np.exp(-age_days / cfg.age_scale_days)
    per_day = n_posts * 24.0 / cfg.window_hours
    sig[:, 1] = 1.0 - np.exp(-per_day / cfg.rate_scale_per_day)

    fp = orig & (obs.post_fingerprint != UNIQUE)
    f_acc, f_key = ai[fp], obs.post_fingerprint[fp].astype(np.int64)
    in_bin = _in_window(f_key, obs.post_created[fp], cfg)
    sync = _distinct_per_key(in_bin, f_acc) >= cfg.copost_min_accounts
    dup = _distinct_per_key(f_key, f_acc) >= cfg.duplicate_min_accounts
    sig[:, 2] = np.bincount(f_acc[sync], minlength=a_n) / (n_orig + 1.0)
    sig[:, 3] = np.bincount(f_acc[dup], minlength=a_n) / (n_orig + 1.0)

    src, dst = obs.eng_src.astype(np.int64), obs.eng_dst.astype(np.int64)
    if src.size:
        span = int(max(src.max(), dst.max())) + 1
        edges = sorted_unique(src * span + dst)
        back = dst * span + src
        pos = np.minimum(np.searchsorted(edges, back), edges.size - 1)
        reciprocal = edges[pos] == back
        di = np.searchsorted(accounts, dst)
        received = np.bincount(di, minlength=a_n)
        sig[:, 4] = np.bincount(di[reciprocal], minlength=a_n) / (received + 1.0)

    main = obs.main_language[obs.claimed_community[obs.post_author[orig]]]
    off = np.where(obs.post_language[orig] != main, 1.0, 1.0 - obs.post_quality[orig])
    sig[:, 5] = np.bincount(ai[orig], weights=off, minlength=a_n) / np.maximum(n_orig, 1.0)
    reports = np.bincount(np.searchsorted(accounts, obs.report_dst), minlength=a_n)
    sig[:, 6] = 1.0 - np.exp(-reports / cfg.report_scale)

    if src.size and cfg.weight_coengagement > 0:  # (skipped when it cannot count)
        window = _in_window(dst, obs.eng_tick, cfg)
        together = _distinct_per_key(window, src) >= cfg.copost_min_accounts
        si = np.minimum(np.searchsorted(accounts, src), a_n - 1)
        mine = accounts[si] == src  # engagers that are scored (seen posting or engaged with)
        given = np.bincount(si[mine], minlength=a_n)
        sig[:, 7] = np.bincount(si[mine & together], minlength=a_n) / (given + 1.0)

    w = _weights(cfg)
    score = sig @ (w / w.sum())
    return Scores(accounts, n_posts, sig, score, n_posts >= cfg.min_posts)


def linked_groups(obs: Observation, scores: Scores, cfg: ModerationConfig,
                  flagged: np.ndarray) -> list[np.ndarray]:
    """Network mode: groups of suspicious accounts (eligible, score >= network_threshold)
    linked by reciprocal engagement or by co-posting the same content in one sync window, that
    contain at least one flagged account. Returns index arrays into ``scores.accounts``."""
    a_n = scores.accounts.size
    cand = scores.eligible & (scores.score >= cfg.network_threshold)
    cand |= flagged
    rows, cols = [], []
    src, dst = obs.eng_src.astype(np.int64), obs.eng_dst.astype(np.int64)
    if src.size:
        si = np.searchsorted(scores.accounts, src)
        di = np.searchsorted(scores.accounts, dst)
        ok = (si < a_n) & (di < a_n)
        ok[ok] &= (scores.accounts[si[ok]] == src[ok]) & cand[si[ok]] & cand[di[ok]]
        rows.append(si[ok])
        cols.append(di[ok])
    orig = obs.post_original & (obs.post_fingerprint != UNIQUE)
    ai = np.searchsorted(scores.accounts, obs.post_author[orig])
    in_bin = _in_window(obs.post_fingerprint[orig], obs.post_created[orig], cfg)
    keep = cand[ai]
    if keep.any():  # accounts joined through a node per (content, window)
        _, kid = np.unique(in_bin[keep], return_inverse=True)
        rows.append(ai[keep])
        cols.append(a_n + kid)
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    size = int(max(a_n, c.max(initial=a_n - 1) + 1))
    graph = coo_matrix((np.ones(r.size, np.int8), (r, c)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    label = label[:a_n]
    seeds = np.unique(label[flagged])
    members = cand & np.isin(label, seeds)
    order = np.argsort(label[members], kind="stable")
    idx = np.flatnonzero(members)[order]
    bounds = np.flatnonzero(np.diff(label[idx])) + 1
    return np.split(idx, bounds)


class Moderator(mesa.Agent):
    """One platform's moderation team: scans, queues flagged accounts for review, acts."""

    def __init__(self, model: mesa.Model, owner: Moderation, platform: int,
                 cfg: ModerationConfig) -> None:
        super().__init__(model)
        self.owner = owner
        self.p = platform
        self.cfg = cfg
        self.banned_rows = np.zeros(model.platforms[platform].members.size, bool)
        self.flag_tick: dict[int, int] = {}  # account id -> tick flagged
        self.flagged = np.zeros(0, np.int64)  # sorted ids of flagged accounts
        self.demoted = np.zeros(0, np.int64)  # sorted ids of demoted accounts
        self.pending: list[tuple[int, np.ndarray, int]] = []  # (due tick, accounts, action)
        self.n_actions = 0
        self.eng_log: deque[tuple[int, np.ndarray, np.ndarray]] = deque()
        self.report_log: deque[tuple[int, np.ndarray]] = deque()

    def step(self) -> None:
        m = self.model
        if (m.tick + 1) % self.cfg.scan_interval_hours == 0:
            self.scan()
        due = [a for a in self.pending if a[0] <= m.tick]
        self.pending = [a for a in self.pending if a[0] > m.tick]
        for action in (STATUS_DEMOTED, STATUS_REMOVED):  # all of the hour's actions at once
            accounts = [a[1] for a in due if a[2] == action]
            if accounts:
                self.enforce(np.concatenate(accounts), action)
        first = m.tick + 1 - self.cfg.window_hours
        while self.eng_log and self.eng_log[0][0] < first:
            self.eng_log.popleft()
        while self.report_log and self.report_log[0][0] < first:
            self.report_log.popleft()

    def scan(self) -> None:
        """Score the window's accounts; queue new flags for review (one action per account, or
        per linked group in network mode)."""
        obs = self.owner.observe(self)
        s = score_accounts(obs, self.cfg)
        fresh = ~np.isin(s.accounts, self.flagged)
        flagged = s.eligible & (s.score >= self.cfg.threshold) & fresh
        if not flagged.any():
            return
        if self.cfg.mode == "network":
            s.eligible &= fresh
            groups = linked_groups(obs, s, self.cfg, flagged)
        else:
            groups = [np.array([i]) for i in np.flatnonzero(flagged)]
        now = self.model.tick
        delays = self.owner.rng.exponential(self.cfg.review_delay_hours, len(groups)) \
            if self.cfg.review_delay_hours > 0 else np.zeros(len(groups))
        for g, d in zip(groups, delays, strict=True):
            ids = s.accounts[g]
            self.flag_tick.update(dict.fromkeys(ids.tolist(), now))
            if self.cfg.action == "demote_then_remove":
                self.owner.demote(self, ids)
            action = STATUS_DEMOTED if self.cfg.action == "demote" else STATUS_REMOVED
            self.pending.append((now + round(float(d)), ids, action))
            self.n_actions += 1
        self.flagged = np.union1d(self.flagged, s.accounts[np.concatenate(groups)])

    def enforce(self, accounts: np.ndarray, action: int) -> None:
        if action == STATUS_DEMOTED:
            self.owner.demote(self, accounts)
        else:
            self.owner.remove(self, accounts)


class Moderation:
    """Moderation of every moderating platform, plus the detector-only observables."""

    def __init__(self, model) -> None:
        self.model = m = model
        cfg = m.cfg
        self.rng = np.random.default_rng(np.random.SeedSequence(m.seed, spawn_key=(2,)))
        pop = m.pop
        pc = cfg.population
        n = pop.n
        # observable profiles: organic accounts were registered long before the run
        age = pc.account_age_median_days * np.exp(self.rng.standard_normal(n))
        self.organic_born = -(age * 24).astype(np.int32)
        self.set_ages(np.arange(m.accounts.n), initial=True)
        self.main_language = np.array([int(np.argmax(c.languages)) for c in
                                       pc.communities], np.int8)
        self.fan_group = self._fan_groups()
        # per-post state the detector and enforcement need (grown with the post store)
        self.fingerprint = np.full(1024, UNIQUE, np.int32)
        self.status = np.zeros(1024, np.int8)
        self.op_ids = np.zeros(0, np.int64)  # every operation post, in creation order
        self.op_authors = np.zeros(0, np.int64)  # and its author
        self.moderators = [Moderator(m, self, j, mc) for j in range(len(m.platforms))
                           if (mc := cfg.moderation_of(j)) is not None]
        self.by_platform = {mod.p: mod for mod in self.moderators}
        self.removals: list[dict] = []

    # ---- observables ---------------------------------------------------------------------
    def set_ages(self, ids: np.ndarray, initial: bool = False) -> None:
        """Registration ticks of operation accounts: hijacked ones are as old as organic
        accounts; the first accounts are weeks to months old; bought ones older; fresh new."""
        acc = self.model.accounts
        oc = self.model.cfg.operation
        pc = self.model.cfg.population
        n = ids.size
        organic_like = pc.account_age_median_days * np.exp(self.rng.standard_normal(n))
        mean = oc.initial_account_age_days if initial else oc.bought_account_age_days
        aged = self.rng.exponential(mean, n) if mean > 0 else np.zeros(n)
        fresh = acc.origin[ids] == ORIGIN_NAMES.index("fresh")
        days = np.where(acc.hijacked[ids], organic_like, np.where(fresh, 0.0, aged))
        acc.born[ids] = (acc.created[ids] - days * 24).astype(np.int32)

    def _fan_groups(self) -> np.ndarray:
        """Fan groups: active same-community users in groups of ``fan_group_size``; group ``g``
        is ``self.fan_members[g * size : (g + 1) * size]``."""
        pc = self.model.cfg.population
        pop = self.model.pop
        size = pc.fan_group_size
        group = np.full(pop.n, -1, np.int32)
        # fans are keen users: drawn with probability proportional to their activity
        k = round(pc.fan_group_share * pop.n)
        key = self.rng.exponential(size=pop.n) / pop.sessions_per_day
        pick = np.sort(np.argpartition(key, k)[:k]) if 0 < k < pop.n else \
            np.arange(pop.n)[:k]
        pick = pick[np.argsort(pop.community[pick], kind="stable")]
        members = []
        for c in np.unique(pop.community[pick]):
            in_c = pick[pop.community[pick] == c]
            members.append(in_c[: in_c.size // size * size])
        self.fan_members = np.concatenate(members) if members else np.zeros(0, np.int64)
        group[self.fan_members] = np.arange(self.fan_members.size) // size
        self.position = np.zeros(pop.n, np.int32)  # place of a member within its group
        self.position[self.fan_members] = np.arange(self.fan_members.size) % size
        return group

    def _grow(self, n: int) -> None:
        if n > self.fingerprint.size:
            size = max(n, 2 * self.fingerprint.size)
            self.fingerprint = np.concatenate((self.fingerprint, np.full(
                size - self.fingerprint.size, UNIQUE, np.int32)))
            self.status = np.concatenate((self.status, np.zeros(size - self.status.size,
                                                                np.int8)))

    def compact(self, keep: np.ndarray, new: np.ndarray) -> None:
        """Follow a compaction of the post store (see ``InfluenceModel.age_out``)."""
        n, k = keep.size, int(keep.sum())
        self._grow(n)
        for arr, fill in ((self.fingerprint, UNIQUE), (self.status, 0)):
            arr[:k] = arr[:n][keep]
            arr[k:n] = fill
        self.op_ids = new[self.op_ids].astype(np.int64)

    def op_posts(self, ids: np.ndarray) -> None:
        """New operation posts: originals carry the day's content direction (unless
        paraphrased); content of demoted accounts is demoted from the start."""
        m = self.model
        self._grow(m.posts.n)
        c = m.posts.cols
        oc = m.cfg.operation
        original = c["kind"][ids] != KIND_OP_SHARE
        k = int(original.sum())
        fp = (m.tick // 24) * oc.narratives_per_day + self.rng.integers(
            0, oc.narratives_per_day, k)
        fp[self.rng.random(k) < oc.paraphrase_prob] = -1
        self.fingerprint[ids[original]] = fp
        self.op_ids = np.concatenate((self.op_ids, ids))
        self.op_authors = np.concatenate((self.op_authors, c["author"][ids].astype(np.int64)))
        for p, mod in self.by_platform.items():
            if mod.demoted.size:
                sel = ids[c["platform"][ids] == p]
                sel = sel[np.isin(c["author"][sel], mod.demoted)]
                self.status[sel] = np.maximum(self.status[sel], STATUS_DEMOTED)

    def organic_posts(self, p: int, ids: np.ndarray, authors: np.ndarray) -> None:
        """Fan-group members' posts may carry the group's slogan of the day, and fellow members
        like them (logged as engagements the platform sees)."""
        m = self.model
        self._grow(m.posts.n)
        pc = m.cfg.population
        g = self.fan_group[authors]
        fan = np.flatnonzero(g >= 0)
        if fan.size == 0:
            return
        slogan = self.rng.random(fan.size) < pc.fan_copost_prob
        day = m.tick // 24
        # the group's slogan of the day: a negative code (hashed into int32 for huge runs)
        code = (g[fan[slogan]].astype(np.int64) * 4096 + day % 4096) % 2_000_000_000
        self.fingerprint[ids[fan[slogan]]] = UNIQUE - 1 - code
        k = self.rng.poisson(pc.fan_likes_per_post, fan.size)
        src = np.repeat(fan, k)
        if src.size:  # a random fellow member other than the author
            size = pc.fan_group_size
            start = g[src] * size
            mate = self.rng.integers(0, size - 1, src.size)
            me = self.position[authors[src]]
            who = self.fan_members[start + mate + (mate >= me)]
            self.engagements(p, who, authors[src])

    def engagements(self, platform, src: np.ndarray, dst: np.ndarray) -> None:
        """Record who engaged with whose content (on each edge's platform)."""
        platform = np.broadcast_to(np.asarray(platform), src.shape)
        for p, mod in self.by_platform.items():
            sel = platform == p
            if sel.any():
                mod.eng_log.append((self.model.tick, src[sel].astype(np.int64),
                                    dst[sel].astype(np.int64)))

    def reports(self, p: int, dst: np.ndarray) -> None:
        mod = self.by_platform.get(p)
        if mod is not None and dst.size:
            mod.report_log.append((self.model.tick, dst.astype(np.int64)))

    def observe(self, mod: Moderator) -> Observation:
        """What platform ``mod.p`` can see over its window: no hidden labels are read."""
        m = self.model
        self._grow(m.posts.n)
        first = m.first_post_since(m.tick + 1 - mod.cfg.window_hours)
        ids = np.arange(first, m.posts.n)
        c = m.posts.cols
        ids = ids[c["platform"][ids] == mod.p]
        kind = c["kind"][ids]
        acc = m.accounts
        empty = np.zeros(0, np.int64)
        return Observation(
            now=m.tick,
            post_author=c["author"][ids].astype(np.int64),
            post_created=c["created"][ids],
            post_original=(kind != KIND_RESHARE) & (kind != KIND_OP_SHARE),
            post_fingerprint=self.fingerprint[ids],
            post_language=c["language"][ids],
            post_quality=c["quality"][ids],
            eng_src=np.concatenate([e[1] for e in mod.eng_log] or [empty]),
            eng_dst=np.concatenate([e[2] for e in mod.eng_log] or [empty]),
            eng_tick=np.concatenate([np.full(e[1].size, e[0], np.int64) for e in mod.eng_log]
                                    or [empty]),
            report_dst=np.concatenate([r[1] for r in mod.report_log] or [empty]),
            born=np.concatenate((self.organic_born, acc.born)).astype(np.int64),
            claimed_community=np.concatenate((m.pop.community, acc.community)),
            main_language=self.main_language,
        )

    # ---- enforcement ---------------------------------------------------------------------
    def _mark_recent(self, p: int, accounts: np.ndarray, status: int) -> None:
        """Set the status of the accounts' posts on platform ``p``: all posts of operation
        accounts (indexed as they are made), and the recent ones of organic users."""
        m = self.model
        self._grow(m.posts.n)
        n = m.pop.n
        c = m.posts.cols
        hit = [self.op_ids[np.isin(self.op_authors, accounts[accounts >= n])]]
        org = accounts[accounts < n]
        if org.size:  # wrongly removed users: scan the posts that can still be in feeds
            ids = np.arange(m.first_post_since(m.tick - m.cfg.engagement.feed_max_age_hours),
                            m.posts.n)
            mask = np.zeros(n, bool)
            mask[org] = True
            a = c["author"][ids]
            hit.append(ids[(a < n) & mask[np.minimum(a, n - 1)]])
        hit = np.concatenate(hit)
        hit = hit[c["platform"][hit] == p]
        self.status[hit] = np.maximum(self.status[hit], status)

    def demote(self, mod: Moderator, accounts: np.ndarray) -> None:
        mod.demoted = np.union1d(mod.demoted, accounts)
        self._mark_recent(mod.p, accounts, STATUS_DEMOTED)

    def remove(self, mod: Moderator, accounts: np.ndarray) -> None:
        """Take accounts down on ``mod.p``: content leaves feeds, followers are gone."""
        m = self.model
        n = m.pop.n
        pf = m.platforms[mod.p]
        acc = m.accounts
        op = accounts[accounts >= n] - n
        op = op[acc.alive[op]]
        org = accounts[accounts < n]
        org = org[~mod.banned_rows[pf.row_of[org]]]
        lost_op = pf.op_follower_counts(acc.n)[op] if op.size else np.zeros(0, np.int64)
        lost_org = pf.graph.indptr[org + 1] - pf.graph.indptr[org]
        acc.alive[op] = False
        acc.removed_tick[op] = m.tick
        if op.size and pf.op_keys.size:
            gone = np.zeros(acc.n, bool)
            gone[op] = True
            pf.op_keys = pf.op_keys[~gone[pf.op_keys // n]]
        mod.banned_rows[pf.row_of[org]] = True
        self._mark_recent(mod.p, np.concatenate((op + n, org)), STATUS_REMOVED)
        for ids, lost, is_op in ((op + n, lost_op, True), (org, lost_org, False)):
            first = np.where(acc.first_post[ids - n] >= 0, acc.first_post[ids - n],
                             acc.created[ids - n]) if is_op else np.full(ids.size, -1)
            self.removals.extend(
                {"platform": pf.name, "account": int(a), "operation": is_op,
                 "flagged_tick": mod.flag_tick.get(int(a), m.tick), "removed_tick": m.tick,
                 "first_active_tick": int(f), "followers_lost": int(fl)}
                for a, f, fl in zip(ids.tolist(), first.tolist(), lost.tolist(), strict=True))

    def visible_status(self, items: np.ndarray) -> np.ndarray:
        """Status of feed items: removed or demoted if the item or its root is."""
        c = self.model.posts.cols
        self._grow(self.model.posts.n)
        return np.maximum(self.status[items], self.status[c["root"][items]])

    def feed_status(self, p: int) -> tuple[np.ndarray, float]:
        """What reading on platform ``p`` needs: the status of every post held (an item whose
        post or root is removed is gone; demoted, it ranks as if ``demotion_hours`` older), and
        that age penalty in score units. Applies on every platform, since removed content is
        removed wherever it was carried."""
        self._grow(self.model.posts.n)
        pcfg = self.model.cfg.platforms[p]
        mod = self.by_platform.get(p)
        hours = mod.cfg.demotion_hours if mod is not None else 0.0
        penalty = hours if pcfg.ranking == "chronological" else \
            hours * np.log(2.0) / pcfg.recency_halflife_hours
        return self.status, float(penalty)

    def present(self, p: int, rows: np.ndarray) -> np.ndarray:
        """The rows among ``rows`` whose account on platform ``p`` has not been removed."""
        mod = self.by_platform.get(p)
        return rows if mod is None else rows[~mod.banned_rows[rows]]

    def step(self) -> None:
        for mod in self.moderators:
            mod.step()

    # ---- ledger --------------------------------------------------------------------------
    COLUMNS = {"platform": str, "account": np.int64, "operation": bool,
               "flagged_tick": np.int64, "removed_tick": np.int64, "first_active_tick": np.int64,
               "followers_lost": np.int64}

    @classmethod
    def empty_removals(cls) -> pd.DataFrame:
        return cls.removal_frame([])

    @classmethod
    def removal_frame(cls, rows: list[dict]) -> pd.DataFrame:
        """Removals with delays: removal delay (operation accounts: hours from first post, or
        acquisition, to removal) and review delay (flag to removal). Account ids share one
        space: organic users first, then operation account k as n_users + k."""
        df = pd.DataFrame(rows, columns=list(cls.COLUMNS)).astype(cls.COLUMNS)
        df["removal_delay_hours"] = np.where(df["operation"],
                                             df["removed_tick"] - df["first_active_tick"],
                                             np.nan)
        df["review_delay_hours"] = df["removed_tick"] - df["flagged_tick"]
        return df

    def removal_table(self) -> pd.DataFrame:
        return self.removal_frame(self.removals)

    def summary(self) -> dict:
        """Ledger additions, scored against ground truth (the analyst's view)."""
        m = self.model
        acc = m.accounts
        df = self.removal_table()
        out: dict = moderation_metrics(df, n_operation_accounts=int(np.isin(
            acc.platform, list(self.by_platform)).sum()))
        out["moderation_actions"] = sum(mod.n_actions for mod in self.moderators)
        out["accounts_removed_per_action"] = (len(df) / out["moderation_actions"]
                                              if out["moderation_actions"] else 0.0)
        out["operation_accounts_acquired"] = int((acc.origin > 0).sum())
        out["accounts_flagged"] = sum(len(mod.flag_tick) for mod in self.moderators)
        out["moderation_by_platform"] = {
            m.platforms[p].name: moderation_metrics(
                df[df["platform"] == m.platforms[p].name],
                n_operation_accounts=int((acc.platform == p).sum()))
            for p in self.by_platform}
        return out


def moderation_metrics(removals: pd.DataFrame, n_operation_accounts: int) -> dict:
    """Precision (operation accounts among removals), recall (removed share of the operation's
    accounts on moderating platforms), wrongful removals and the removal delay (hours from an
    operation account's first post, or acquisition if it never posted, to its removal)."""
    op = removals["operation"].astype(bool)
    n_op, n_org = int(op.sum()), int((~op).sum())
    delay = removals.loc[op, "removed_tick"] - removals.loc[op, "first_active_tick"]
    return {
        "operation_accounts_removed": n_op,
        "organic_accounts_removed": n_org,
        "organic_followers_lost": int(removals.loc[~op, "followers_lost"].sum()),
        "moderation_precision": n_op / (n_op + n_org) if n_op + n_org else None,
        "moderation_recall": n_op / n_operation_accounts if n_operation_accounts else None,
        "median_removal_delay_hours": float(delay.median()) if n_op else None,
    }
