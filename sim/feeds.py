"""Per-user feeds as fixed-width ring buffers, with vectorised delivery, ranking and reading.

A platform with ``m`` members keeps an ``m x K`` array of post indices (``-1`` = empty), a bit
mask per row of the slots holding an unread item (one 64-bit word per 64 slots: a few bytes a
row, so finding a reader's unread items touches its feed row only where there are some, and
delivery touches one row of items, not two arrays) and a write pointer per row. Delivery writes
a batch of (row, post) pairs, keeping the newest ``K`` per row; reading scores only the unread
items of the active rows and takes each row's top ``attention`` items, against outside items
drawn only as far as they could matter. Limited attention and a ranked feed are the point: an
item competes with everything else its readers' followees post (Weng et al. 2012; Hodas &
Lerman 2012).
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .config import Platform
from .posts import PostStore

LN2 = np.log(2.0)


class Feeds:
    def __init__(self, n_rows: int, capacity: int) -> None:
        self.k = capacity
        self.items = np.full((n_rows, capacity), -1, np.int32)
        self.unread = np.zeros((n_rows, (capacity + 63) // 64), np.uint64)  # see module doc
        self.ptr = np.zeros(n_rows, np.int32)

    def is_unread(self, row: int, slot: int) -> bool:
        return bool(self.unread[row, slot >> 6] >> np.uint64(slot & 63) & np.uint64(1))

    def set_unread(self, row: int, slot: int, unread: bool) -> None:
        bit = np.uint64(1) << np.uint64(slot & 63)
        if unread:
            self.unread[row, slot >> 6] |= bit
        else:
            self.unread[row, slot >> 6] &= ~bit

    def deliver(self, rows: np.ndarray, posts: np.ndarray) -> None:
        """Write ``posts[i]`` into feed row ``rows[i]``; pairs must be in creation order. Each
        write goes to the slot under the row's pointer (its oldest item) and moves the pointer
        on (``kernels.push``; platforms deliver to followers with ``kernels.deliver``)."""
        kernels.push(self.items, self.unread, self.ptr, rows, posts)

    def remap(self, new: np.ndarray, chunk: int = 1 << 20) -> None:
        """Rewrite post indices after a compaction (``new`` from :meth:`PostStore.compact`;
        dropped posts become empty slots), a block of rows at a time to keep the peak small."""
        for a in range(0, self.items.shape[0], chunk):
            block = self.items[a: a + chunk]
            block[...] = new[block]
            kernels.clear_empty(block, self.unread[a: a + chunk])


def read(feeds: Feeds, p: Platform, rows: np.ndarray, n_read: np.ndarray, gap: np.ndarray,
         rng: np.random.Generator, posts: PostStore, now: int, max_age: int,
         status: np.ndarray | None = None, penalty: float = 0.0
         ) -> tuple[np.ndarray, np.ndarray]:
    """Each active row reads its ``n_read`` best items among its unread feed items and the
    outside items that arrived over its last ``gap`` hours (``kernels.read_feeds``); returns
    (index into ``rows``, post id) pairs, best first within a row, and marks them read.

    Scores (higher is shown first): ``chronological``, newest first (ties within an hour in
    creation order); ``engagement``, ``w * ln(1 + E) - ln2 * age / halflife``, where E is the
    root's visible engagement count (in-network engagement included, which is how
    self-amplification can game ranking). Outside items score alike but for their age, with
    ``external_engagement`` as E. Items older than ``max_age`` hours have left the feed; with
    moderation, ``status`` (per post) hides removed items and demoted ones score ``penalty``
    lower."""
    decay = LN2 / p.recency_halflife_hours
    c = posts.cols
    return kernels.read_feeds(
        rng, feeds.items, feeds.unread, rows, n_read, gap, float(p.external_items_per_hour),
        p.ranking == "chronological", float(p.engagement_weight), decay,
        float(p.engagement_weight * np.log1p(p.external_engagement)), now, max_age,
        c["created"], c["gid"], c["root"], c["eng_visible"],
        np.zeros(0, np.int8) if status is None else status, float(penalty))
