"""Per-user feeds as fixed-width ring buffers: delivery writes, ranked reading.

A platform with ``m`` members keeps an ``m x K`` array of post indices (``-1`` = empty), a bit
mask per row of the slots holding an unread item (one 64-bit word per 64 slots: a few bytes a
row, so finding a reader's unread items touches its feed row only where there are some, and
delivery touches one row of items, not two arrays) and a write pointer per row. Delivery writes
(row, post) pairs in creation order, keeping the newest ``K`` per row; reading scores only the
unread items of the online rows and takes each row's top ``attention`` items, against outside
items drawn only as far as they could matter. Limited attention and a ranked feed are the point:
an item competes with everything else its readers' followees post (Weng et al. 2012; Hodas &
Lerman 2012). The compiled loops are in :mod:`sim.feeds.kernels`.
"""

from __future__ import annotations

import math

import numpy as np

from .. import streams
from ..config import PlatformConfig
from ..posts import PostStore, Renumbering, filled
from ..threads import get_threads, parallel_worth
from .kernels import (
    FeedArrays,
    Ranking,
    push,
    read_feeds,
    read_parallel,
    remap_parallel,
    remap_rows,
)

LN2 = math.log(2.0)


class Feeds:
    """One platform's feeds (:class:`~sim.feeds.kernels.FeedArrays`)."""

    def __init__(self, n_rows: int, capacity: int) -> None:
        self.k = capacity
        self.arrays = FeedArrays(np.full((n_rows, capacity), -1, np.int32),
                                 np.zeros((n_rows, (capacity + 63) // 64), np.uint64),
                                 np.zeros(n_rows, np.int16))  # feed_capacity <= 1024

    @property
    def items(self) -> np.ndarray:
        return self.arrays.items

    @property
    def unread(self) -> np.ndarray:
        return self.arrays.unread

    @property
    def ptr(self) -> np.ndarray:
        return self.arrays.ptr

    def is_unread(self, row: int, slot: int) -> bool:
        return bool(self.unread[row, slot >> 6] >> np.uint64(slot & 63) & np.uint64(1))

    def set_unread(self, row: int, slot: int, unread: bool) -> None:
        bit = np.uint64(1) << np.uint64(slot & 63)
        if unread:
            self.unread[row, slot >> 6] |= bit
        else:
            self.unread[row, slot >> 6] &= ~bit

    def push(self, rows: np.ndarray, posts: np.ndarray) -> None:
        """Write ``posts[i]`` into row ``rows[i]``, pairs in creation order: each write goes to
        the slot under the row's pointer (its oldest item) and moves the pointer on."""
        push(self.arrays, rows, posts)

    def remap(self, renumbered: Renumbering) -> None:
        """Rewrite post indices after a compaction (:meth:`PostStore.compact`; dropped posts
        become empty, read slots), in place (:func:`~sim.feeds.kernels.remap_rows`, on every
        thread for many rows)."""
        new, last, shift = renumbered
        rows = self.items.shape[0]
        if parallel_worth(rows):
            remap_parallel(self.arrays, new, last, shift, get_threads())
        else:
            remap_rows(self.arrays, new, last, shift, 0, rows)


def ranking(p: PlatformConfig, max_age: int, penalty: float = 0.0) -> Ranking:
    """A platform's ranking rule. Scores (higher is shown first): ``chronological``, newest
    first (ties within an hour in creation order); ``engagement``, ``w * ln(1 + E) - ln2 * age /
    halflife``, where E is the root's visible engagement count (in-network engagement included,
    which is how self-amplification can game ranking). Outside items score alike but for their
    age, with ``external_engagement`` as E. Items older than ``max_age`` hours have left the
    feed; a demoted item scores ``penalty`` lower."""
    return Ranking(p.ranking == "chronological", float(p.engagement_weight),
                   LN2 / p.recency_halflife_hours, float(p.external_items_per_hour),
                   p.engagement_weight * math.log1p(p.external_engagement), int(max_age),
                   float(penalty))


READ_BLOCK = 1 << 17
"""Readers gathered at once: the gathered items take 28 bytes each (an online reader has a
dozen unread items or so), so a block bounds them to tens of MB at any population."""


def read(feeds: Feeds, rank: Ranking, rows: np.ndarray, n_read: np.ndarray, gap: np.ndarray,
         rng: np.random.Generator, posts: PostStore, now: int) -> tuple[np.ndarray, np.ndarray]:
    """Each online row reads its ``n_read`` best items among its unread feed items and the
    outside items that arrived over its last ``gap`` hours (:func:`~sim.feeds.kernels.
    read_feeds`); returns (index into ``rows``, post id) pairs, best first within a row, and
    marks them read. Each post's moderation status hides removed items and demotes demoted
    ones (by ``rank.penalty``). Readers go in blocks of ``READ_BLOCK``, in order: the draws,
    taken row by row, are the same as in one pass."""
    if rows.size > READ_BLOCK:
        blocks = [(a, *read(feeds, rank, rows[a: a + READ_BLOCK], n_read[a: a + READ_BLOCK],
                            gap[a: a + READ_BLOCK], rng, posts, now))
                  for a in range(0, rows.size, READ_BLOCK)]
        return (np.concatenate([who + a for a, who, _ in blocks]),
                np.concatenate([items for _, _, items in blocks]))
    if not parallel_worth(rows.size):
        return streams.draw(rng, read_feeds, feeds.arrays, rows, n_read, gap, rank,
                            posts.columns(), now)
    return streams.draw(rng, read_parallel, feeds.arrays, rows, n_read, gap, rank,
                        posts.columns(), now, get_threads())


class Outbox:
    """Everything posted in the hour (by anyone, on any platform), held until the hour's end,
    when it reaches followers' feeds in creation order: nothing posted this hour can be read
    before the next."""

    def __init__(self) -> None:
        self._batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, ids: np.ndarray, authors: np.ndarray, platforms: np.ndarray | int) -> None:
        """Queue posts ``ids`` by ``authors`` on ``platforms`` (one per post, or one for all)."""
        if ids.size:
            self._batches.append((ids, np.asarray(authors, np.int32),
                                  filled(platforms, ids.size, np.int8)))

    def flush(self, platforms: list) -> int:
        """Deliver the hour's posts, platform by platform, into followers' feeds
        (``Platform.fan_out``); returns the number of feed writes."""
        if not self._batches:
            return 0
        ids, authors, plat = (np.concatenate(x) for x in zip(*self._batches, strict=True))
        self._batches.clear()
        order = np.argsort(ids, kind="stable")
        ids, authors, plat = ids[order], authors[order], plat[order]
        writes = 0
        for pf in platforms:
            sel = plat == pf.index
            if sel.any():
                writes += pf.fan_out(ids[sel], authors[sel])
        return writes
