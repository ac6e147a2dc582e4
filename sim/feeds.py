"""Per-user feeds as fixed-width ring buffers, with vectorised delivery, ranking and reading.

A platform with ``m`` members keeps an ``m x K`` array of post ids (``-1`` = empty), a parallel
"already read" mask and a write pointer per row. Delivery writes a batch of (row, post) pairs,
keeping the newest ``K`` per row; ranking scores the unread items of the active rows in one array
operation; reading takes each row's top ``attention`` items. Limited attention and a ranked feed
are the point: an item competes with everything else its readers' followees post
(Weng et al. 2012; Hodas & Lerman 2012).
"""

from __future__ import annotations

import numpy as np

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

        Per row, the newest ``K`` deliveries survive and overwrite the oldest slots."""
        if rows.size == 0:
            return
        order = np.argsort(rows, kind="stable")
        r = rows[order]
        p = posts[order]
        first = np.concatenate(([True], r[1:] != r[:-1]))
        starts = np.flatnonzero(first)
        counts = np.diff(np.append(starts, r.size))
        group = np.cumsum(first) - 1
        rank = np.arange(r.size) - starts[group]
        drop = np.maximum(counts - self.k, 0)[group]
        keep = rank >= drop
        urows = r[starts]
        r, p, rank, drop = r[keep], p[keep], rank[keep], drop[keep]
        slot = (self.ptr[r] + rank - drop) % self.k
        self.items[r, slot] = p
        self.read[r, slot] = False
        self.ptr[urows] = (self.ptr[urows] + np.minimum(counts, self.k)) % self.k


def rank_scores(p: Platform, items: np.ndarray, posts: PostStore, now: int) -> np.ndarray:
    """Scores of feed items (higher is shown first); empty slots get -inf.

    ``chronological``: newest first (ties within an hour in creation order). ``engagement``:
    ``w * log(1 + E) - ln2 * age / halflife``, where E is the root's visible engagement count
    (in-network engagement included, which is how self-amplification can game ranking)."""
    valid = items >= 0
    ids = np.where(valid, items, 0)
    if p.ranking == "chronological":  # creation hour; post ids break ties within the hour
        score = posts.cols["created"][ids] + ids * 1e-10
    else:
        age = (now - posts.cols["created"][ids]).astype(np.float32)
        e = posts.engagements(posts.cols["root"][ids]).astype(np.float32)
        score = p.engagement_weight * np.log1p(e) - (LN2 / p.recency_halflife_hours) * age
    return np.where(valid, score, -np.inf)


def external_scores(p: Platform, age: np.ndarray, now: int) -> np.ndarray:
    """Scores of outside items of the given ages (hours), on the scale of ``rank_scores``."""
    if p.ranking == "chronological":
        return now - age
    return p.engagement_weight * np.log1p(p.external_engagement) \
        - (LN2 / p.recency_halflife_hours) * age


def read_top(feeds: Feeds, rows: np.ndarray, n_read: np.ndarray, scores: np.ndarray,
             external: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each active row reads its ``n_read`` best items among its unread feed items and the
    outside items competing with them (``external``, -inf where absent); returns (row index
    into ``rows``, post id) pairs for the feed items read, and marks them read."""
    unread = ~feeds.read[rows]
    s = np.concatenate((np.where(unread, scores, -np.inf), external), axis=1)
    # stable descending sort: ties keep slot order, so results are deterministic
    order = np.argsort(-s, axis=1, kind="stable")
    ri, j = np.nonzero(np.arange(s.shape[1])[None, :] < n_read[:, None])
    slot = order[ri, j]
    ok = (slot < feeds.k) & np.isfinite(s[ri, slot])
    ri, slot = ri[ok], slot[ok]
    feeds.read[rows[ri], slot] = True
    return ri, feeds.items[rows[ri], slot]
