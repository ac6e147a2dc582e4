"""Enforcement: each moderating platform's team (a Mesa agent) scans, flags, reviews and acts.

:class:`Moderation` holds what moderation needs beside the core engine: what the platforms can
observe (content fingerprints, who engaged with whom, user reports, account registration dates,
fan groups of organic users who look coordinated) and what enforcement changed (removed or
demoted posts and accounts, members banned from a platform). Each :class:`Moderator` scans its
platform every ``scan_interval_hours`` with the detector (``sim.moderation.detection``), queues
flagged accounts (or linked groups, in network mode) for review, and after an exponential review
delay (drawn from the moderation stream) removes them (their content leaves feeds, their
followers are gone, organic users lose their account on that platform) or demotes their content.

Everything moderation alone needs is drawn from its own random stream, so a run with moderation
off is draw for draw the core engine's run. Ground truth is used only in
:meth:`Moderation.summary` to score the moderation (precision, recall, wrongful removals).
"""

from __future__ import annotations

import math
import queue
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd
from numba import njit

from .. import portable, streams
from ..config import ModerationConfig
from ..network import sorted_unique
from ..operation.accounts import ORIGIN_NAMES
from ..organic.kernels import fan_posts
from ..posts import KIND_OP_SHARE, KIND_RESHARE, filled, grown, last_of_each, visible_status
from ..threads import get_threads, parallel_worth
from .detection import UNIQUE, AccountIndex, Observation, PerAccount, linked_groups, score_accounts

if TYPE_CHECKING:
    from ..model import InfluenceModel

STATUS_OK, STATUS_DEMOTED, STATUS_REMOVED = 0, 1, 2


@njit(cache=True)
def window_posts(platform, kind, author, created, language, quality, fp_posts, fp_codes, lo, hi,
                 p):
    """The posts ``lo:hi`` of platform ``p`` as an :class:`Observation` holds them, in one pass:
    author (64-bit), hour created, whether original (not a reshare or a self-share), content
    fingerprint (``fp_codes`` of the ascending ``fp_posts``, merged in; ``UNIQUE`` where none),
    language and quality. A scan at 2·10^4 users made 17 numpy calls for these."""
    n = 0
    for i in range(lo, hi):
        n += platform[i] == p
    out = (np.empty(n, np.int64), np.empty(n, created.dtype), np.empty(n, np.bool_),
           np.empty(n, np.int32), np.empty(n, language.dtype), np.empty(n, quality.dtype))
    by, at, orig, fp, lang, qual = out
    k = np.searchsorted(fp_posts, lo)
    j = 0
    for i in range(lo, hi):
        if platform[i] != p:
            continue
        while k < fp_posts.size and fp_posts[k] < i:
            k += 1
        by[j], at[j], lang[j], qual[j] = author[i], created[i], language[i], quality[i]
        orig[j] = kind[i] != KIND_RESHARE and kind[i] != KIND_OP_SHARE
        fp[j] = fp_codes[k] if k < fp_posts.size and fp_posts[k] == i else UNIQUE
        j += 1
    return out


class Moderator(mesa.Agent):
    """One platform's moderation team: scans, queues flagged accounts for review, acts."""

    model: InfluenceModel

    def __init__(self, model: InfluenceModel, owner: Moderation, platform: int,
                 cfg: ModerationConfig) -> None:
        super().__init__(model)
        self.owner = owner
        self.p = platform
        self.cfg = cfg
        self.flag_tick: dict[int, int] = {}  # account id -> tick flagged
        self.flagged = np.zeros(0, np.int64)  # sorted ids of flagged accounts
        self.demoted = np.zeros(0, np.int64)  # sorted ids of demoted accounts
        self.pending: list[tuple[int, np.ndarray, int]] = []  # (due tick, accounts, action)
        self.n_actions = 0
        self.eng_log: deque[tuple[int, np.ndarray, np.ndarray]] = deque()
        self.report_log: deque[tuple[int, np.ndarray]] = deque()

    def scans_now(self) -> bool:
        return (self.model.tick + 1) % self.cfg.scan_interval_hours == 0

    def step(self) -> None:
        m = self.model
        if self.scans_now():
            self.scan(self.owner.found.pop(self.p, None))
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

    def detect(self, index: AccountIndex | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """What the detector finds now: the window's scored accounts and, as index arrays into
        them, the new flags, one per action (one account each, or a linked group in network
        mode). Reads what the platform observed and this team's own flags; changes nothing
        (``index`` only saves time), so teams can detect at the same time."""
        obs = self.owner.observe(self)
        s = score_accounts(obs, self.cfg, index)
        fresh = ~np.isin(s.accounts, self.flagged)
        flagged = s.eligible & (s.score >= self.cfg.threshold) & fresh
        if not flagged.any():
            return s.accounts, []
        if self.cfg.mode == "network":
            s.eligible &= fresh
            return s.accounts, linked_groups(obs, s, self.cfg, flagged, index)
        return s.accounts, [np.array([i]) for i in np.flatnonzero(flagged)]

    def scan(self, found: tuple[np.ndarray, list[np.ndarray]] | None = None) -> None:
        """Queue the new flags (``found`` by :meth:`detect`, or detected now) for review."""
        accounts, groups = self.detect(self.owner.indexes[0]) if found is None else found
        if not groups:
            return
        now = self.model.tick
        delays = self.owner.rng.exponential(self.cfg.review_delay_hours, len(groups)) \
            if self.cfg.review_delay_hours > 0 else np.zeros(len(groups))
        for g, d in zip(groups, delays, strict=True):
            ids = accounts[g]
            self.flag_tick.update(dict.fromkeys(ids.tolist(), now))
            if self.cfg.action == "demote_then_remove":
                self.owner.demote(self, ids)
            action = STATUS_DEMOTED if self.cfg.action == "demote" else STATUS_REMOVED
            self.pending.append((now + round(float(d)), ids, action))
            self.n_actions += 1
        self.flagged = sorted_unique(np.concatenate((self.flagged,
                                                     accounts[np.concatenate(groups)])))

    def enforce(self, accounts: np.ndarray, action: int) -> None:
        if action == STATUS_DEMOTED:
            self.owner.demote(self, accounts)
        else:
            self.owner.remove(self, accounts)


class Moderation:
    """Moderation of every moderating platform, plus the detector-only observables."""

    def __init__(self, model: InfluenceModel) -> None:
        self.model = m = model
        cfg = m.cfg
        self.rng = np.random.default_rng(np.random.SeedSequence(m.seed, spawn_key=(2,)))
        pop = m.pop
        pc = cfg.population
        n = pop.n
        # observable profiles: organic accounts were registered long before the run
        age = pc.account_age_median_days * portable.exp(self.rng.standard_normal(n))
        self.organic_born = -(age * 24).astype(np.int32)
        self.set_ages(np.arange(m.operation.accounts.n), initial=True)
        self.main_language = np.array([int(np.argmax(c.languages)) for c in
                                       pc.communities], np.int8)
        self.fan_group = self._fan_groups()
        # content fingerprints the detector needs, of the posts that carry one (operation
        # originals, fan slogans; every other post's is UNIQUE): the first n_fp entries, post
        # indices ascending. Each post's status, what enforcement sets, is a column of the
        # store (read with ranking)
        self.n_fp = 0
        self.fp_posts = np.zeros(1024, np.int32)
        self.fp_codes = np.zeros(1024, np.int32)
        # every operation post (its index) and its author, in creation order: the first
        # n_op entries, grown a quarter at a time (not copied whole every hour)
        self.n_op = 0
        self.op_ids = np.zeros(1024, np.int32)
        self.op_authors = np.zeros(1024, np.int32)
        self.moderators = mesa.agent.AgentSet(
            [Moderator(m, self, j, mc) for j in range(len(m.platforms))
             if (mc := cfg.moderation_of(j)) is not None], random=m.random)
        self.by_platform = {mod.p: mod for mod in self.moderators}
        self.indexes = [AccountIndex()]  # the scans' lookup tables, one per thread (save time)
        self.found: dict[int, tuple] = {}  # what each team scanning this hour detected
        self.removals: list[dict] = []

    def step(self) -> None:
        """The teams' hour: the teams scanning now detect side by side, then each in turn
        flags, reviews and acts (in the Mesa agent set's order)."""
        scanning = [mod for mod in self.moderators if mod.scans_now()]
        self.found = dict(zip([mod.p for mod in scanning], self.detect(scanning), strict=True))
        self.moderators.do("step")

    def detect(self, mods: list[Moderator]) -> list[tuple]:
        """:meth:`Moderator.detect` of each of ``mods``, on as many threads as the run has (a
        team's detection changes nothing shared; numpy's sorts, lookups and arithmetic release
        the interpreter's lock), each thread with a lookup table of its own, where the windows
        hold enough posts to pay for the threads (``parallel_worth``). The same results as one
        after the other."""
        m = self.model
        window = max((mod.cfg.window_hours for mod in mods), default=0)
        posts = m.posts.n - m.posts.first_since(m.tick + 1 - window)
        threads = min(get_threads(), len(mods)) if parallel_worth(posts, "posts") else 1
        self.indexes += [AccountIndex() for _ in range(threads - len(self.indexes))]
        if threads < 2:
            return [mod.detect(self.indexes[0]) for mod in mods]
        free: queue.SimpleQueue[AccountIndex] = queue.SimpleQueue()
        for index in self.indexes[:threads]:
            free.put(index)

        def on_a_thread(mod: Moderator) -> tuple:
            index = free.get()
            try:
                return mod.detect(index)
            finally:
                free.put(index)

        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(on_a_thread, mods))

    # ---- observables ---------------------------------------------------------------------
    def set_ages(self, ids: np.ndarray, initial: bool = False,
                 groups: np.ndarray | None = None) -> None:
        """Registration ticks of operation accounts: hijacked ones are as old as organic
        accounts; the first accounts are weeks to months old; bought ones older; fresh new.
        ``groups``: sizes of consecutive runs of ``ids`` (one per operator acquiring) whose
        draws are made one run after another, as if each run were set alone."""
        acc = self.model.operation.accounts
        oc = self.model.cfg.operation
        pc = self.model.cfg.population
        mean = oc.initial_account_age_days if initial else oc.bought_account_age_days
        z, aged = [], []
        for n in [ids.size] if groups is None else groups:
            z.append(self.rng.standard_normal(n))
            aged.append(self.rng.exponential(mean, n) if mean > 0 else np.zeros(n))
        organic_like = pc.account_age_median_days * portable.exp(np.concatenate(z))
        aged = np.concatenate(aged)
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
        with np.errstate(divide="ignore"):  # no sessions (a rate below float32's): never a fan
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

    @property
    def status(self) -> np.ndarray:
        """Moderation status of every post (the store's ``status`` column, full capacity)."""
        return self.model.posts.cols["status"]

    def fingerprints(self, ids: np.ndarray) -> np.ndarray:
        """The content fingerprint of each post ``ids`` (``UNIQUE``: it carries none)."""
        if ids.size == 0:
            return np.zeros(0, np.int32)
        lo, hi = int(ids.min()), int(ids.max()) + 1
        posts = self.fp_posts[: self.n_fp]
        a, b = np.searchsorted(posts, [lo, hi])
        dense = np.full(hi - lo, UNIQUE, np.int32)  # (over the range: scans read windows)
        dense[posts[a:b] - lo] = self.fp_codes[a:b]
        return dense[ids - lo]

    def set_fingerprints(self, ids: np.ndarray, codes: np.ndarray) -> None:
        """Posts ``ids`` carry fingerprints ``codes`` (``UNIQUE``: none) from now on. New posts
        (after every post that has one, ascending) are appended; others merged in."""
        ids = np.asarray(ids, np.int32)
        codes = filled(codes, ids.size, np.int32)
        n = self.n_fp
        if (n and ids.size and ids[0] <= self.fp_posts[n - 1]) or (ids[1:] <= ids[:-1]).any():
            ids, codes = last_of_each(np.concatenate([self.fp_posts[:n], ids]),
                                      np.concatenate([self.fp_codes[:n], codes]))
            n = 0
        has = codes != UNIQUE
        k = n + int(has.sum())
        self.fp_posts, self.fp_codes = grown(self.fp_posts, k, n), grown(self.fp_codes, k, n)
        self.fp_posts[n:k], self.fp_codes[n:k] = ids[has], codes[has]
        self.n_fp = k

    def compact(self, new: np.ndarray) -> None:
        """Follow a compaction of the post store (see ``InfluenceModel.age_out``)."""
        posts = new[self.fp_posts[: self.n_fp]]  # (new keeps the order)
        kept = posts >= 0
        k = int(kept.sum())
        self.fp_codes[:k] = self.fp_codes[: self.n_fp][kept]
        self.fp_posts[:k] = posts[kept]
        self.n_fp = k
        self.op_ids[: self.n_op] = new[self.op_ids[: self.n_op]]

    def op_posts(self, ids: np.ndarray) -> None:
        """New operation posts: originals carry the day's content direction (unless
        paraphrased); content of demoted accounts is demoted from the start."""
        m = self.model
        c = m.posts.cols
        oc = m.cfg.operation
        original = c["kind"][ids] != KIND_OP_SHARE
        k = int(original.sum())
        fp = (m.tick // 24) * oc.narratives_per_day + self.rng.integers(
            0, oc.narratives_per_day, k)
        fp[self.rng.random(k) < oc.paraphrase_prob] = -1
        self.set_fingerprints(ids[original], fp)
        n_op = self.n_op + ids.size
        self.op_ids = grown(self.op_ids, n_op, self.n_op)
        self.op_authors = grown(self.op_authors, n_op, self.n_op)
        self.op_ids[self.n_op: n_op] = ids
        self.op_authors[self.n_op: n_op] = c["author"][ids]
        self.n_op = n_op
        for p, mod in self.by_platform.items():
            if mod.demoted.size:
                sel = ids[c["platform"][ids] == p]
                sel = sel[np.isin(c["author"][sel], mod.demoted)]
                self.status[sel] = np.maximum(self.status[sel], STATUS_DEMOTED)

    def organic_posts(self, p: int, ids: np.ndarray, authors: np.ndarray) -> None:
        """Fan-group members' posts may carry the group's slogan of the day, and fellow members
        like them (logged as engagements the platform sees)."""
        m = self.model
        pc = m.cfg.population
        slogan, who, liked = streams.draw(
            self.rng, fan_posts, authors, self.fan_group, self.position, self.fan_members,
            pc.fan_copost_prob, pc.fan_likes_per_post, pc.fan_group_size)
        if slogan.size:  # the group's slogan of the day: a negative code (int32 in huge runs)
            code = (self.fan_group[authors[slogan]].astype(np.int64) * 4096
                    + m.tick // 24 % 4096) % 2_000_000_000
            self.set_fingerprints(ids[slogan], UNIQUE - 1 - code)
        if who.size:
            self.engagements(p, who, authors[liked])

    def engagements(self, platform, src: np.ndarray, dst: np.ndarray) -> None:
        """Record who engaged with whose content, on ``platform`` (or, an array, on each
        edge's own)."""
        if isinstance(platform, np.ndarray):
            for p in self.by_platform:
                sel = platform == p
                self.engagements(p, src[sel], dst[sel])
            return
        mod = self.by_platform.get(int(platform))
        if mod is not None and src.size:
            mod.eng_log.append((self.model.tick, src.astype(np.int64), dst.astype(np.int64)))

    def reports(self, p: int, dst: np.ndarray) -> None:
        mod = self.by_platform.get(p)
        if mod is not None and dst.size:
            mod.report_log.append((self.model.tick, dst.astype(np.int64)))

    def observe(self, mod: Moderator) -> Observation:
        """What platform ``mod.p`` can see over its window: no hidden labels are read."""
        m = self.model
        first = m.posts.first_since(m.tick + 1 - mod.cfg.window_hours)
        c = m.posts.cols
        author, created, original, fingerprint, language, quality = window_posts(
            c["platform"], c["kind"], c["author"], c["created"], c["language"], c["quality"],
            self.fp_posts[: self.n_fp], self.fp_codes[: self.n_fp], first, m.posts.n, mod.p)
        acc = m.operation.accounts
        empty = np.zeros(0, np.int64)
        return Observation(
            now=m.tick,
            post_author=author,
            post_created=created,
            post_original=original,
            post_fingerprint=fingerprint,
            post_language=language,
            post_quality=quality,
            eng_src=np.concatenate([e[1] for e in mod.eng_log] or [empty]),
            eng_dst=np.concatenate([e[2] for e in mod.eng_log] or [empty]),
            eng_tick=np.repeat(np.array([e[0] for e in mod.eng_log], np.int64),
                               [e[1].size for e in mod.eng_log]),
            report_dst=np.concatenate([r[1] for r in mod.report_log] or [empty]),
            born=PerAccount(self.organic_born, acc.born, np.int64),
            claimed_community=PerAccount(m.pop.community, acc.community, np.int8),
            main_language=self.main_language,
        )

    # ---- enforcement ---------------------------------------------------------------------
    def _mark_recent(self, p: int, accounts: np.ndarray, status: int) -> None:
        """Set the status of the accounts' posts on platform ``p``: all posts of operation
        accounts (indexed as they are made), and of organic users the posts that can still be
        shown: recent ones, and older originals that recent reshares show."""
        m = self.model
        n = m.pop.n
        c = m.posts.cols
        ops = slice(0, self.n_op)
        hit = [self.op_ids[ops][np.isin(self.op_authors[ops], accounts[accounts >= n])]]
        org = accounts[accounts < n]
        if org.size:  # wrongly removed users: scan the posts that can still be in feeds
            recent = np.arange(m.posts.first_since(m.tick - m.cfg.engagement.feed_max_age_hours),
                               m.posts.n)
            mask = np.zeros(n, bool)
            mask[org] = True
            for ids in (recent, sorted_unique(c["root"][recent])):
                a = c["author"][ids]
                hit.append(ids[(a < n) & mask[np.minimum(a, n - 1)]])
        hit = np.concatenate(hit)
        hit = hit[c["platform"][hit] == p]
        self.status[hit] = np.maximum(self.status[hit], status)

    def demote(self, mod: Moderator, accounts: np.ndarray) -> None:
        mod.demoted = sorted_unique(np.concatenate((mod.demoted, accounts)))
        self._mark_recent(mod.p, accounts, STATUS_DEMOTED)

    def remove(self, mod: Moderator, accounts: np.ndarray) -> None:
        """Take accounts down on ``mod.p``: content leaves feeds, followers are gone."""
        m = self.model
        n = m.pop.n
        pf = m.platforms[mod.p]
        acc = m.operation.accounts
        op = accounts[accounts >= n] - n
        op = op[acc.alive[op]]
        org = accounts[accounts < n]
        org = org[~pf.removed[pf.row_of[org]]]
        lost_op = pf.op_follower_counts(acc.n)[op] if op.size else np.zeros(0, np.int64)
        lost_org = pf.graph.indptr[org + 1] - pf.graph.indptr[org]
        acc.retire(op, m.tick, len(m.platforms))
        pf.drop_op_followers(op, acc.n)
        pf.removed[pf.row_of[org]] = True
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
        return visible_status(c["status"], c["root"], items)

    def demotion_penalty(self, p: int) -> float:
        """What reading on platform ``p`` needs besides each post's status (an item whose post
        or root is removed is gone, on every platform, since removed content is removed
        wherever it was carried; demoted, it ranks as if ``demotion_hours`` older): that age
        penalty in score units."""
        pcfg = self.model.cfg.platforms[p]
        mod = self.by_platform.get(p)
        hours = mod.cfg.demotion_hours if mod is not None else 0.0
        penalty = hours if pcfg.ranking == "chronological" else \
            hours * math.log(2.0) / pcfg.recency_halflife_hours
        return float(penalty)

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
        """Ledger additions, scored against ground truth (the analyst's view), counted from
        the removals as logged (counting them in the removals table took 7 of the 28 ms a run
        at 2·10^4 users spent summing up)."""
        m = self.model
        acc = m.operation.accounts
        removals = {k: np.array([r[k] for r in self.removals], self.COLUMNS[k])
                    for k in ("platform", *_METRIC_COLUMNS)}
        out: dict = moderation_metrics(removals, n_operation_accounts=int(np.isin(
            acc.platform, list(self.by_platform)).sum()))
        out["moderation_actions"] = sum(mod.n_actions for mod in self.moderators)
        out["accounts_removed_per_action"] = (len(self.removals) / out["moderation_actions"]
                                              if out["moderation_actions"] else 0.0)
        out["operation_accounts_acquired"] = int((acc.origin > 0).sum())
        out["accounts_flagged"] = sum(len(mod.flag_tick) for mod in self.moderators)
        out["moderation_by_platform"] = {}
        for p in self.by_platform:
            name = m.platforms[p].name
            here = removals["platform"] == name
            out["moderation_by_platform"][name] = moderation_metrics(
                {k: removals[k][here] for k in _METRIC_COLUMNS},
                n_operation_accounts=int((acc.platform == p).sum()))
        return out


_METRIC_COLUMNS = ("operation", "removed_tick", "first_active_tick", "followers_lost")


def moderation_metrics(removals: pd.DataFrame | dict[str, np.ndarray],
                       n_operation_accounts: int) -> dict:
    """Precision (operation accounts among removals), recall (removed share of the operation's
    accounts on moderating platforms), wrongful removals and the removal delay (hours from an
    operation account's first post, or acquisition if it never posted, to its removal).
    ``removals``: the removals table, or its columns as arrays."""
    op, removed, first, lost = (np.asarray(removals[k]) for k in _METRIC_COLUMNS)
    op = op.astype(bool)
    n_op, n_org = int(op.sum()), int((~op).sum())
    return {
        "operation_accounts_removed": n_op,
        "organic_accounts_removed": n_org,
        "organic_followers_lost": int(lost[~op].sum()),
        "moderation_precision": n_op / (n_op + n_org) if n_op + n_org else None,
        "moderation_recall": n_op / n_operation_accounts if n_operation_accounts else None,
        "median_removal_delay_hours": float(np.median(removed[op] - first[op])) if n_op
        else None,
    }
