"""A platform: its members, follower graph, troll-account followers and feeds.

Organic follows are fixed at graph generation; follows of troll accounts change during a run
(hijacked audiences, follow-backs, follows after engagement), so they are kept apart as a sorted
key array ``account * n_users + follower``. A platform is state, not a decision-maker: its
moderation team is the agent (:class:`sim.moderation.Moderator`).
"""

from __future__ import annotations

import numpy as np

from .config import PlatformConfig
from .feeds import Feeds, Ranking, ranking
from .feeds.kernels import fan_out, fan_out_parallel
from .network import FollowerGraph, sorted_unique
from .threads import get_threads, parallel_worth


class Platform:
    def __init__(self, index: int, cfg: PlatformConfig, members: np.ndarray, graph: FollowerGraph,
                 session_rate: np.ndarray, utc_offset: np.ndarray, n_users: int,
                 max_age: int) -> None:
        self.index = index
        self.cfg = cfg
        self.name = cfg.name
        self.members = members  # sorted global ids
        self.n_users = n_users
        self.row_of = np.full(n_users, -1, np.int32)
        self.row_of[members] = np.arange(members.size, dtype=np.int32)
        self.graph = graph
        self.feeds = Feeds(members.size, cfg.feed_capacity)
        self.ranking: Ranking = ranking(cfg, max_age)
        self.session_rate = session_rate.astype(np.float32)  # expected sessions per hour (row)
        self.utc_hour = (utc_offset[members] % 24).astype(np.int8)  # offset as 0..23
        self.last_session = np.full(members.size, -24, np.int32)  # tick of each row's last visit
        self.removed = np.zeros(members.size, bool)  # rows removed by moderation: they stay away
        self.op_keys = np.zeros(0, np.int64)  # sorted account * n + follower

    # --- follower lookups -------------------------------------------------------------------
    def op_follower_slices(self, accounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = np.int64(self.n_users)
        lo = np.searchsorted(self.op_keys, accounts.astype(np.int64) * n)
        hi = np.searchsorted(self.op_keys, (accounts.astype(np.int64) + 1) * n)
        return lo, hi

    def op_follower_counts(self, n_accounts: int) -> np.ndarray:
        return np.bincount(self.op_keys // self.n_users, minlength=n_accounts)

    def add_op_followers(self, accounts: np.ndarray, users: np.ndarray) -> np.ndarray:
        """Record that ``users`` follow troll ``accounts``; returns the account of each edge
        that is new (an edge already there, or repeated, counts once)."""
        if users.size == 0:
            return np.zeros(0, np.int64)
        keys = sorted_unique(accounts.astype(np.int64) * self.n_users + users)
        pos = np.searchsorted(self.op_keys, keys)
        old = pos < self.op_keys.size
        old[old] = self.op_keys[pos[old]] == keys[old]
        new = keys[~old]
        self.op_keys = np.insert(self.op_keys, pos[~old], new)
        return new // self.n_users

    def drop_op_followers(self, accounts: np.ndarray, n_accounts: int) -> None:
        """Removed troll ``accounts`` lose every follower here."""
        if accounts.size and self.op_keys.size:
            gone = np.zeros(n_accounts, bool)
            gone[accounts] = True
            self.op_keys = self.op_keys[~gone[self.op_keys // self.n_users]]

    # --- delivery ----------------------------------------------------------------------------
    def fan_out(self, post_ids: np.ndarray, authors: np.ndarray) -> int:
        """Put new posts (in creation order) into their authors' followers' feeds; returns the
        writes made (:func:`sim.feeds.kernels.fan_out`, or ``fan_out_parallel`` on several
        threads for a large batch: the same writes in the same order per row)."""
        if post_ids.size == 0:
            return 0
        n = self.n_users
        org = authors < n
        g = self.graph
        a = np.where(org, authors, 0)
        lo, hi = g.indptr[a], g.indptr[a + 1]  # organic authors: their slice of the graph
        if not org.all():  # troll accounts: their slice of op_keys
            lo[~org], hi[~org] = self.op_follower_slices(authors[~org] - n)
        args = (self.feeds.arrays, self.row_of, post_ids, org, lo, hi, g.ids, self.op_keys, n)
        if parallel_worth(int((hi - lo).sum()), "writes"):
            return fan_out_parallel(*args, get_threads())
        return fan_out(*args)
