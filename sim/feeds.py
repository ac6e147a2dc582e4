"""Per-user feeds as fixed-width ring buffers, with vectorised delivery, ranking and reading.

A platform with ``m`` members keeps an ``m x K`` array of post indices (``-1`` = empty), a
parallel "already read" mask and a write pointer per row. Delivery writes a batch of (row, post)
pairs, keeping the newest ``K`` per row; ranking scores only the unread items of the active rows
(a feed is mostly empty or read: scoring every slot cost several times more); reading takes each
row's top ``attention`` items. Limited attention and a ranked feed are the point: an item
competes with everything else its readers' followees post (Weng et al. 2012; Hodas & Lerman
2012).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import kernels
from .config import Platform
from .posts import PostStore

LN2 = np.log(2.0)


class Feeds:
    def __init__(self, n_rows: int, capacity: int) -> None:
        self.k = capacity
        self.items = np.full((n_rows, capacity), -1, np.int32)
        self.read = np.zeros((n_rows, capacity), bool)
        self.ptr = np.zeros(n_rows, np.int32)

    def deliver(self, rows: np.ndarray, posts: np.ndarray) -> None:
        """Write ``posts[i]`` into feed row ``rows[i]``; pairs must be in creation order.

        Per row, the newest ``K`` deliveries survive and overwrite the oldest slots (the rule of
        ``kernels.deliver``, which platforms use for their followers' feeds)."""
        if rows.size == 0:
            return
        order = np.argsort(rows, kind="stable")
        r = rows[order]
        p = posts[order]
        first = np.empty(r.size, bool)
        first[0] = True
        np.not_equal(r[1:], r[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        counts = np.diff(np.append(starts, r.size))
        urows = r[starts]
        rank = np.arange(r.size) - np.repeat(starts, counts)
        drop = np.maximum(counts - self.k, 0)
        if drop.any():  # more than K new items for some rows: only the newest K are written
            d = np.repeat(drop, counts)
            keep = rank >= d
            r, p, rank = r[keep], p[keep], (rank - d)[keep]
            counts = counts - drop
        slot = (np.repeat(self.ptr[urows], counts) + rank) % self.k
        self.items[r, slot] = p
        self.read[r, slot] = False
        self.ptr[urows] = (self.ptr[urows] + counts) % self.k

    def remap(self, new: np.ndarray, chunk: int = 1 << 20) -> None:
        """Rewrite post indices after a compaction (``new`` from :meth:`PostStore.compact`;
        dropped posts become empty slots), a block of rows at a time to keep the peak small."""
        for a in range(0, self.items.shape[0], chunk):
            block = self.items[a: a + chunk]
            block[...] = new[block]


def rank_scores(p: Platform, items: np.ndarray, posts: PostStore, now: int, max_age: int
                ) -> np.ndarray:
    """Scores of feed items (post indices; higher is shown first); items older than ``max_age``
    hours (aged out of feeds) get -inf.

    ``chronological``: newest first (ties within an hour in creation order). ``engagement``:
    ``w * log(1 + E) - ln2 * age / halflife``, where E is the root's visible engagement count
    (in-network engagement included, which is how self-amplification can game ranking)."""
    created = posts.cols["created"][items]
    if p.ranking == "chronological":  # creation hour; global ids break ties within the hour
        score = created + posts.cols["gid"][items] * 1e-10
    else:
        age = (now - created).astype(np.float32)
        e = posts.engagements(posts.cols["root"][items]).astype(np.float32)
        score = p.engagement_weight * np.log1p(e) - (LN2 / p.recency_halflife_hours) * age
    return np.where(now - created <= max_age, score, -np.inf)


def external_scores(p: Platform, age: np.ndarray, now: int) -> np.ndarray:
    """Scores of outside items of the given ages (hours), on the scale of ``rank_scores``."""
    if p.ranking == "chronological":
        return now - age
    return p.engagement_weight * np.log1p(p.external_engagement) \
        - (LN2 / p.recency_halflife_hours) * age


READ_CHUNK = 1 << 18  # active rows ranked at once: bounds the temporaries at 10^7 users


def read_top(feeds: Feeds, rows: np.ndarray, n_read: np.ndarray, external: np.ndarray,
             score: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``_read_top`` in chunks of ``READ_CHUNK`` rows (rows are independent, so the result is
    the same as in one go; a 10^7-user tick has over 10^6 readers)."""
    if rows.size <= READ_CHUNK:
        return _read_top(feeds, rows, n_read, external, score)
    parts = []
    for a in range(0, rows.size, READ_CHUNK):
        b = a + READ_CHUNK
        ri, posts = _read_top(feeds, rows[a:b], n_read[a:b], external[a:b], score)
        parts.append((ri + a, posts))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _read_top(feeds: Feeds, rows: np.ndarray, n_read: np.ndarray, external: np.ndarray,
              score: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each active row reads its ``n_read`` best items among its unread feed items and the
    outside items competing with them (``external``: one row per reader, in descending order
    as ``_outside_items`` draws them, -inf where absent); returns (row index
    into ``rows``, post id) pairs for the feed items read, best first within a row, and marks
    them read. ``score(post_ids)`` gives the ranking scores of feed items (``rank_scores``);
    items scored ``-inf`` (aged out, or removed by moderation) are never read.

    Order: descending score; ties go to the lower position, feed slots ``0..K-1`` before outside
    items. Only unread feed items are scored (typically a sixth of the slots); outside items
    leave no trace, so all that matters about them is how many outrank each feed item
    (``kernels.pick``)."""
    who, slot, post = kernels.unread(feeds.items, feeds.read, rows)
    return kernels.pick(feeds.read, rows, n_read, who, slot, post, score(post), external)
