"""Compiled loops (numba) over feed rows: writing posts into ring buffers and reading the best
unread items. Each states the rule it implements; ``sim.reference`` restates each one item at a
time. Arrays come in named bundles: a :class:`FeedArrays` (one platform's feeds), a
:class:`~sim.posts.PostColumns` (the post table) and a :class:`Ranking` (one platform's ranking
rule)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

LOG1P = np.log1p(np.arange(4096, dtype=np.float64))  # ln(1 + E) of small counts, looked up


class FeedArrays(NamedTuple):
    """One platform's feeds: post index per (row, slot) (-1 = empty), a bit mask per row of the
    slots holding an unread item, and each row's write pointer (its oldest slot)."""

    items: np.ndarray  # int32 (rows, K)
    unread: np.ndarray  # uint64 (rows, ceil(K / 64))
    ptr: np.ndarray  # int32 (rows,)


class Ranking(NamedTuple):
    """A platform's ranking rule, as reading needs it (see :func:`read_feeds`)."""

    chronological: bool
    weight: float  # engagement weight w
    decay: float  # ln2 / recency half-life, per hour
    outside_rate: float  # outside items arriving per hour
    outside_score0: float  # score of a brand-new outside item (engagement ranking)
    max_age: int  # hours after which an item has left the feed
    penalty: float  # score lost by a demoted item


@njit(cache=True)
def write(feed, r, post):
    """Write ``post`` into feed row ``r`` over its oldest slot (under the pointer), mark the slot
    unread and move the pointer on: the ring-buffer rule every delivery follows."""
    s = feed.ptr[r]
    feed.items[r, s] = post
    feed.unread[r, s >> 6] |= np.uint64(1) << np.uint64(s & 63)
    feed.ptr[r] = s + 1 if s + 1 < feed.items.shape[1] else 0


@njit(cache=True)
def mark_read(unread, r, s):
    """Clear the unread bit of slot ``s`` of row ``r``."""
    unread[r, s >> 6] &= ~(np.uint64(1) << np.uint64(s & 63))


@njit(cache=True)
def fan_out(feed, row_of, posts, organic, lo, hi, followers, op_keys, n_users):
    """Write each post into its followers' feeds, posts in creation order.

    Post ``i``'s followers are ``followers[lo[i]:hi[i]]`` if ``organic[i]`` (the follower
    graph), else ``op_keys[lo[i]:hi[i]] % n_users`` (troll accounts' followers); each write
    follows :func:`write`, so a row keeps its newest ``K`` items. Returns the number of writes."""
    for i in range(posts.size):
        for j in range(lo[i], hi[i]):
            f = followers[j] if organic[i] else op_keys[j] % n_users
            write(feed, row_of[f], posts[i])
    return (hi - lo).sum()


@njit(cache=True)
def push(feed, rows, posts):
    """Write ``posts[i]`` into row ``rows[i]``, one pair after another (:func:`write`)."""
    for i in range(rows.size):
        write(feed, rows[i], posts[i])


@intrinsic
def popcount(typingctx, x):
    """Number of set bits of a 64-bit word (one CPU instruction)."""
    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])
    return types.uint64(types.uint64), codegen


@intrinsic
def lowest_bit(typingctx, x):
    """Index of the lowest set bit of a non-zero 64-bit word (one CPU instruction)."""
    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))
    return types.uint64(types.uint64), codegen


@njit(cache=True, parallel=True)
def read_feeds(rng, feed, rows, n_read, gap, rank, posts, status, now):
    """Each row ``rows[i]`` reads its ``n_read[i]`` best items among its unread feed items and
    the outside items that arrived over its last ``gap[i]`` hours; marks the feed items read and
    returns (index into ``rows``, post id) pairs, rows in order, best first.

    Feed item scores: chronological, ``created + gid * 1e-10`` (newest first, creation order
    within an hour); engagement, ``weight * ln(1 + E) - decay * age`` with ``E`` the root's
    visible engagement. Items older than ``max_age`` hours are never read; with moderation
    (``status`` per post, non-empty), an item whose post or root is removed (2) is never read
    and a demoted one (1) scores ``penalty`` lower. Outside items arrive as a Poisson process of
    ``outside_rate`` per hour, so their ages from now are drawn youngest first as cumulative
    exponential spacings, lazily, only while one could still take a reader's attention; they
    score ``now - age`` (chronological) or ``outside_score0 - decay * age``.

    Order: descending score; ties go to feed items before outside items and, among feed items,
    to the lower slot."""
    items, unread = feed.items, feed.unread
    created, gid, root, engagement = posts.created, posts.gid, posts.root, posts.eng_visible
    chronological, decay = rank.chronological, rank.decay
    n_words = unread.shape[1]
    # 1. the unread slots of every row, from the bit masks alone (a few bytes a row); passes 1
    #    and 2 draw nothing and each iteration writes only its own entries, so they run on
    #    every thread numba is given with the same result as on one
    count = np.empty(rows.size, np.int64)
    for i in prange(rows.size):
        c = 0
        for w in range(n_words):
            c += np.int64(popcount(unread[rows[i], w]))
        count[i] = c
    start = np.empty(rows.size + 1, np.int64)
    n = 0
    for i in range(rows.size):
        start[i] = n
        n += count[i]
    start[rows.size] = n
    slot = np.empty(n, np.int64)
    post = np.empty(n, np.int32)
    for i in prange(rows.size):  # their posts: one feed row per reader, loads independent
        r = rows[i]
        j = start[i]
        for w in range(n_words):
            m = unread[r, w]
            while m:
                s = w * 64 + np.int64(lowest_bit(m))
                slot[j] = s
                post[j] = items[r, s]
                j += 1
                m &= m - np.uint64(1)
    # 2. their scores, independent of one another (-inf: never read)
    score = np.empty(n, np.float64)
    moderated = status.size > 0
    for j in prange(n):
        p = post[j]
        age = now - created[p]
        if chronological:
            x = created[p] + gid[p] * 1e-10
        else:
            e = engagement[root[p]]
            x = rank.weight * (LOG1P[e] if e < LOG1P.size else np.log1p(e)) - decay * age
        if moderated:
            st = max(status[p], status[root[p]])
            x = -np.inf if st == 2 else (x - rank.penalty if st == 1 else x)
        score[j] = x if age <= rank.max_age else -np.inf
    # 3. each reader takes its best, one at a time, against the outside items
    total = 0
    for i in range(rows.size):
        total += min(n_read[i], start[i + 1] - start[i])
    out_who = np.empty(total, np.int64)
    out_post = np.empty(total, np.int32)
    n_out = 0
    rate = rank.outside_rate
    for i in range(rows.size):
        lo, hi = start[i], start[i + 1]
        if hi == lo or n_read[i] <= 0:
            continue
        a = np.inf  # age of the youngest outside item not yet read
        first = True
        for _ in range(n_read[i]):
            best = -1  # best candidate left: highest score, then lowest slot
            for j in range(lo, hi):
                if score[j] > -np.inf and (best < 0 or score[j] > score[best]):
                    best = j
            if best < 0:
                break  # what is left is outside items, which leave no trace
            if first:
                first = False
                if rate > 0.0:
                    a = rng.exponential() / rate
            if a <= gap[i]:
                xo = now - a if chronological else rank.outside_score0 - decay * a
                if xo > score[best]:
                    a += rng.exponential() / rate
                    continue
            mark_read(unread, rows[i], slot[best])
            score[best] = -np.inf
            out_who[n_out] = i
            out_post[n_out] = post[best]
            n_out += 1
    return out_who[:n_out], out_post[:n_out]


@njit(cache=True)
def clear_empty(items, unread):
    """Clear the unread bit of every empty slot (``items < 0``)."""
    for r in range(items.shape[0]):
        for s in range(items.shape[1]):
            if items[r, s] < 0:
                mark_read(unread, r, s)
