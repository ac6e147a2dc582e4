"""Compiled loops (numba) over feed rows: writing posts into ring buffers and reading the best
unread items. Each states the rule it implements; ``sim.reference`` restates each one item at a
time. Arrays come in named bundles: a :class:`FeedArrays` (one platform's feeds), a
:class:`~sim.posts.PostColumns` (the post table) and a :class:`Ranking` (one platform's ranking
rule)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..intrinsics import (
    AHEAD,
    fetch_add,
    load_acquire,
    lowest_bit,
    popcount,
    prefetch,
    store_release,
)
from ..network import id_at
from ..portable import log1p
from ..streams import exponential

LOG1P = log1p(np.arange(4096, dtype=np.float64))  # ln(1 + E) of small counts, looked up


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
    write_into(feed.items, feed.unread, feed.ptr, r, post)


@njit(cache=True, inline="always")
def write_into(items, unread, ptr, r, post):
    """:func:`write` on the feed's arrays (loops take them out of the bundle once)."""
    s = ptr[r]
    items[r, s] = post
    unread[r, s >> 6] |= np.uint64(1) << np.uint64(s & 63)
    ptr[r] = s + 1 if s + 1 < items.shape[1] else 0


@njit(cache=True)
def mark_read(unread, r, s):
    """Clear the unread bit of slot ``s`` of row ``r``."""
    unread[r, s >> 6] &= ~(np.uint64(1) << np.uint64(s & 63))


@njit(cache=True)
def fan_out(feed, row_of, posts, organic, lo, hi, followers, op_keys, n_users):
    """Write each post into its followers' feeds, posts in creation order.

    Post ``i``'s followers are entries ``lo[i]:hi[i]`` of ``followers`` if ``organic[i]`` (the
    follower graph's ids, read with :func:`~sim.network.id_at`), else ``op_keys[lo[i]:hi[i]] %
    n_users`` (troll accounts' followers); each write follows :func:`write`, so a row keeps its
    newest ``K`` items. Returns the number of writes.
    Two passes: every delivery's row (:func:`delivery_rows`), then the writes
    (:func:`deliver`), each prefetching the rows ahead of it."""
    off, rows = delivery_rows(row_of, organic, lo, hi, followers, op_keys, n_users)
    deliver(feed.items, feed.unread, feed.ptr, posts, off, rows, 0, feed.items.shape[0])
    return rows.size


@njit(cache=True)
def delivery_rows(row_of, organic, lo, hi, followers, op_keys, n_users):
    """The feed row of every delivery, post by post and each post's followers in order:
    post ``i``'s are ``rows[off[i]:off[i + 1]]``. Returns ``(off, rows)``."""
    off, rows = delivery_slots(lo, hi)
    rows_of_posts(row_of, organic, lo, hi, followers, op_keys, n_users, off, rows, 0, lo.size)
    return off, rows


@njit(cache=True)
def delivery_slots(lo, hi):
    """Where each post's deliveries go (``off``, as :func:`delivery_rows` returns it) and an
    array for their rows."""
    off = np.zeros(lo.size + 1, np.int64)
    for i in range(lo.size):  # (a loop: assigning an array to a slice costs numba a module of
        off[i + 1] = off[i] + hi[i] - lo[i]  # error messages, loaded at every start)
    return off, np.empty(off[-1], np.int32)


@njit(cache=True)
def run_start(off, part, parts):
    """The first post of the ``part``-th of ``parts`` runs of posts with about as many
    deliveries each (``off`` as :func:`delivery_rows` returns it)."""
    n = off.size - 1
    return n if part == parts else min(np.searchsorted(off, off[-1] * part // parts), n)


@njit(cache=True)
def rows_of_posts(row_of, organic, lo, hi, followers, op_keys, n_users, off, rows, i0, i1):
    """:func:`delivery_rows` for posts ``i0:i1``, into their entries ``off[i0]:off[i1]`` of
    ``rows``."""
    for i in range(i0, i1):  # follower ids first...
        if organic[i]:
            for j in range(lo[i], hi[i]):
                rows[off[i] + j - lo[i]] = id_at(followers, j)
        else:
            for j in range(lo[i], hi[i]):
                rows[off[i] + j - lo[i]] = op_keys[j] % n_users
    a, b = off[i0], off[i1]
    for k in range(a, b):  # ... then their rows, in place
        if k + AHEAD < b:
            prefetch(row_of, rows[k + AHEAD])
        rows[k] = row_of[rows[k]]


@njit(cache=True)
def deliver(items, unread, ptr, posts, off, rows, r0, r1):
    """Write post ``i`` into rows ``rows[off[i]:off[i + 1]]`` (:func:`write`), posts in order,
    only the rows in ``r0:r1``. Two steps ahead it prefetches a row's pointer and unread bits,
    one step ahead the slot it will write."""
    n = rows.size
    for i in range(posts.size):
        for k in range(off[i], off[i + 1]):
            if k + 2 * AHEAD < n:
                q = rows[k + 2 * AHEAD]
                if r0 <= q < r1:
                    prefetch(ptr, q)
                    prefetch(unread, (q, 0))
            if k + AHEAD < n:
                q = rows[k + AHEAD]
                if r0 <= q < r1:
                    prefetch(items, (q, ptr[q]))
            r = rows[k]
            if r0 <= r < r1:
                write_into(items, unread, ptr, r, posts[i])


@njit(cache=True, parallel=True)
def fan_out_parallel(feed, row_of, posts, organic, lo, hi, followers, op_keys, n_users, parts):
    """:func:`fan_out` on every thread numba is given: the deliveries' rows are found in
    ``parts`` runs of posts with about as many deliveries each (:func:`run_start`); then
    the feed rows are cut into ``parts`` blocks and each block takes, in creation order, the
    writes that land in it, so every row receives the same writes in the same order as on one
    thread (each thread reads every delivery's row but writes only its own rows)."""
    off, rows = delivery_slots(lo, hi)
    for part in prange(parts):
        rows_of_posts(row_of, organic, lo, hi, followers, op_keys, n_users, off, rows,
                      run_start(off, part, parts), run_start(off, part + 1, parts))
    items, unread, ptr = feed.items, feed.unread, feed.ptr
    n_rows = items.shape[0]
    for part in prange(parts):
        deliver(items, unread, ptr, posts, off, rows, n_rows * part // parts,
                n_rows * (part + 1) // parts)
    return rows.size


@njit(cache=True)
def push(feed, rows, posts):
    """Write ``posts[i]`` into row ``rows[i]``, one pair after another (:func:`write`)."""
    items, unread, ptr = feed.items, feed.unread, feed.ptr
    for i in range(rows.size):
        write_into(items, unread, ptr, rows[i], posts[i])


@njit(cache=True)
def read_feeds(stream, feed, rows, n_read, gap, rank, posts, now):
    """Each row ``rows[i]`` reads its ``n_read[i]`` best items among its unread feed items and
    the outside items that arrived over its last ``gap[i]`` hours; marks the feed items read and
    returns (index into ``rows``, post id) pairs, rows in order, best first.

    Feed item scores: chronological, ``created + gid * 1e-10`` (newest first, creation order
    within an hour); engagement, ``weight * ln(1 + E) - decay * age`` with ``E`` the root's
    visible engagement. Items older than ``max_age`` hours are never read; an item whose post or
    root is removed (moderation status 2) is never read and a demoted one (1) scores
    ``penalty`` lower. Outside items arrive as a Poisson process of
    ``outside_rate`` per hour, so their ages from now are drawn youngest first as cumulative
    exponential spacings, lazily, only while one could still take a reader's attention; they
    score ``now - age`` (chronological) or ``outside_score0 - decay * age``.

    Order: descending score; ties go to feed items before outside items and, among feed items,
    to the lower slot. Two passes: :func:`gather_scores` (no draws, candidates ranked) and
    :func:`take_best` (every draw, in row order, from ``stream``, :mod:`sim.streams`); the
    two overlap on several threads in :func:`read_parallel`."""
    return take_best(stream, feed.unread, rows, n_read, gap, rank,
                     gather_scores(feed, rows, n_read, rank, posts, now), now)


@njit(cache=True, inline="always")
def fetch_row(feed, rows, i, whole):
    """Prefetch the unread bits (and, if ``whole``, the items) of reader ``i``'s row."""
    r = rows[i]
    prefetch(feed.unread, (r, 0))
    if whole:
        for s in range(0, feed.items.shape[1], 16):  # 16 items, 64 bytes: a cache line
            prefetch(feed.items, (r, s))


@njit(cache=True, inline="always")
def row_unread(unread, r):
    """Number of unread slots of row ``r``, from its bit mask alone (a few bytes a row)."""
    c = 0
    for w in range(unread.shape[1]):
        c += np.int64(popcount(unread[r, w]))
    return c


@njit(cache=True, inline="always")
def gather_row(feed, r, j, slot, post):
    """Write row ``r``'s unread slots (ascending) and their posts from position ``j`` on."""
    for w in range(feed.unread.shape[1]):
        m = feed.unread[r, w]
        while m:
            s = w * 64 + np.int64(lowest_bit(m))
            slot[j] = s
            post[j] = feed.items[r, s]
            j += 1
            m &= m - np.uint64(1)


@njit(cache=True)
def score_items(score, post, j0, j1, rank, posts, now):
    """Score feed items ``post[j0:j1]`` as :func:`read_feeds` states it (-inf: never read),
    from the posts' records (:data:`sim.posts.RECORD`: one cache line for the item, one for
    its root)."""
    # arrays taken out of the bundle once: read in the loop, a field of a 22-array tuple cost
    # a scoring pass about 20 times more
    rec, gid = posts.record, posts.gid  # record words: created, root, engagement, status
    chronological, weight, decay = rank.chronological, rank.weight, rank.decay
    penalty, max_age = rank.penalty, rank.max_age
    for j in range(j0, j1):
        if j + 2 * AHEAD < j1:  # the post's record, then its root's
            q = post[j + 2 * AHEAD]
            prefetch(rec, (q, 0))
            if chronological:
                prefetch(gid, q)
        if j + AHEAD < j1:
            prefetch(rec, (rec[post[j + AHEAD], 1], 0))
        p = post[j]
        r = rec[p, 1]
        age = now - rec[p, 0]
        if chronological:
            x = rec[p, 0] + gid[p] * 1e-10
        else:
            e = rec[r, 2]
            x = weight * (LOG1P[e] if e < LOG1P.size else np.log1p(e)) - decay * age
        st = max(rec[p, 3] & 0xFF, rec[r, 3] & 0xFF)  # the status byte
        x = -np.inf if st == 2 else (x - penalty if st == 1 else x)
        score[j] = x if age <= max_age else -np.inf


@njit(cache=True)  # (the compiler inlines it; numba's inline="always" cost ranking 2-5%)
def before(x, j, y, b):
    """Whether item ``j``, scored ``x``, ranks before item ``b``, scored ``y``: a higher score,
    or the same and the earlier position (the lower slot)."""
    return x > y or (x == y and j < b)


@njit(cache=True)
def rank_rows(score, slot, ptr, rows, start, n_read, top, n_top, i0, i1):
    """Rank each reader ``i`` of ``i0:i1``'s ``k = n_read[i]`` best readable items, positions
    ``lo:hi = start[i]:start[i + 1]``, into ``top[lo:lo + n]``, and set ``n_top[i] = n`` (at
    most ``k``; items scored -inf are never candidates). The order (:func:`before`): descending
    score, ties to the earlier position, the order repeated best-of picks would give. It is
    total, so the result does not depend on the order items are offered in; they go newest
    first (the ring buffer's writing order reversed: slots below the row's pointer
    ``ptr[rows[i]]``, downwards, then the rest), so once ``k`` are kept most items lose at the
    first comparison (offered in slot order, where older items mostly come first and each newer
    one is inserted past them, the pass took a quarter to a third longer at 10^6 users:
    ``benchmarks/ranking.py``). The ``k``-th candidate's score is kept in a register, and the
    loop over readers is here rather than in a caller: as a function called per reader, even
    inlined, the same loop took a quarter longer."""
    for i in range(i0, i1):
        lo, hi, k = start[i], start[i + 1], n_read[i]
        newest = ptr[rows[i]]
        n = 0
        m = lo  # the first item at or past the pointer
        while m < hi and slot[m] < newest:
            m += 1
        worst, last = -1, np.inf  # the k-th candidate and its score, once there are k
        for part in range(2 if k > 0 else 0):
            first, stop = (m - 1, lo - 1) if part == 0 else (hi - 1, m - 1)
            for j in range(first, stop, -1):
                x = score[j]
                if n == k:
                    if not before(x, j, last, worst):
                        continue
                    q = k - 1
                elif x == -np.inf:
                    continue
                else:
                    q = n
                    n += 1
                while q > 0:  # insert ``j`` past the candidates it ranks before
                    b = top[lo + q - 1]
                    if not before(x, j, score[b], b):
                        break
                    top[lo + q] = b
                    q -= 1
                top[lo + q] = j
                if n == k:
                    worst = top[lo + k - 1]
                    last = score[worst]
        n_top[i] = n


@njit(cache=True)
def gather_scores(feed, rows, n_read, rank, posts, now):
    """The unread items of every row, their scores and each row's candidates: row ``i``'s
    items are positions ``start[i]:start[i + 1]`` of ``slot``, ``post`` and ``score``, slots
    ascending, and its ``n_top[i]`` candidates, best first, the positions in ``top`` from
    ``start[i]`` on (:func:`rank_rows`). Returned as one tuple, what :func:`take_best` reads."""
    count = np.empty(rows.size, np.int64)
    for i in range(rows.size):
        count_unread(feed, rows, i, count)
    gathered = room_to_gather(count)
    gather_readers(feed, rows, n_read, rank, posts, now, gathered, 0, rows.size)
    return gathered


@njit(cache=True, inline="always")
def count_unread(feed, rows, i, count):
    """``count[i]``: reader ``i``'s unread items (prefetching the row ``AHEAD`` readers on)."""
    if i + AHEAD < rows.size:
        fetch_row(feed, rows, i + AHEAD, False)
    count[i] = row_unread(feed.unread, rows[i])


@njit(cache=True)
def room_to_gather(count):
    """Empty arrays for :func:`gather_scores`' tuple, ``count[i]`` items for reader ``i``."""
    start = np.zeros(count.size + 1, np.int64)
    for i in range(count.size):
        start[i + 1] = start[i] + count[i]
    n = start[count.size]
    return (start, np.empty(n, np.int64), np.empty(n, np.int32), np.empty(n, np.float64),
            np.empty(n, np.int64), np.empty(count.size, np.int64))


@njit(cache=True)
def gather_readers(feed, rows, n_read, rank, posts, now, gathered, i0, i1):
    """:func:`gather_scores` for readers ``i0:i1``, into their entries of ``gathered``: their
    unread items, then the items' scores, then each reader's candidates."""
    start, slot, post, score, top, n_top = gathered
    for i in range(i0, i1):  # one feed row per reader
        if i + AHEAD < i1:
            fetch_row(feed, rows, i + AHEAD, True)
        gather_row(feed, rows[i], start[i], slot, post)
    score_items(score, post, start[i0], start[i1], rank, posts, now)  # independent of one another
    rank_rows(score, slot, feed.ptr, rows, start, n_read, top, n_top, i0, i1)


@njit(cache=True)
def take_best(stream, unread, rows, n_read, gap, rank, gathered, now):
    """Each reader, in row order, takes its best items one at a time against the outside items
    (:func:`read_feeds`); its candidates, ranked once, are ``gathered`` (:func:`gather_scores`).
    """
    n_top = gathered[5]
    total = n_top.sum()
    out_who, out_post = np.empty(total, np.int64), np.empty(total, np.int32)
    n_out = take_readers(stream, unread, rows, n_read, gap, rank, gathered, now, 0, rows.size,
                         out_who, out_post, 0)
    return out_who[:n_out], out_post[:n_out]


@njit(cache=True, inline="always")
def take_readers(stream, unread, rows, n_read, gap, rank, gathered, now, i0, i1, out_who,
                 out_post, n_out):
    """:func:`take_best` for readers ``i0:i1``, their reads written from ``n_out`` on; returns
    the reads written in all."""
    start, slot, post, score, top, n_top = gathered
    rate, chronological = rank.outside_rate, rank.chronological
    score0, decay = rank.outside_score0, rank.decay
    for i in range(i0, i1):
        if i + AHEAD < rows.size:
            prefetch(unread, (rows[i + AHEAD], 0))
        if n_top[i] == 0:
            continue
        a = np.inf  # age of the youngest outside item not yet read
        first = True
        t = 0  # next candidate
        for _ in range(n_read[i]):
            if t == n_top[i]:
                break  # what is left is outside items, which leave no trace
            best = top[start[i] + t]
            if first:
                first = False
                if rate > 0.0:
                    a = exponential(stream) / rate
            if a <= gap[i]:
                xo = now - a if chronological else score0 - decay * a
                if xo > score[best]:
                    a += exponential(stream) / rate
                    continue
            mark_read(unread, rows[i], slot[best])
            t += 1
            out_who[n_out] = i
            out_post[n_out] = post[best]
            n_out += 1
    return n_out


READ_CHUNK = 256  # readers gathered at a time by one thread of a parallel read


@njit(cache=True, parallel=True)
def read_parallel(stream, feed, rows, n_read, gap, rank, posts, now, parts):
    """:func:`read_feeds` on ``parts`` threads, with the same reads and draws. The readers go
    in chunks of :data:`READ_CHUNK`. One thread takes the best items, every draw in reader
    order as on one thread (:func:`take_best`), chunk after chunk, once each chunk is gathered
    (:func:`gather_readers`); the others gather chunks, taking them in turn from a shared
    counter, and so does the taking thread whenever its next chunk is not ready. Taking and
    gathering so overlap: one thread of a reading pass is no longer idle while the other
    draws. A chunk's items are gathered, scored and ranked by one thread, in one go while they
    are in its cache; the taking thread marks read only its readers' slots, which no other
    thread reads once their chunk is gathered. Any thread can gather any chunk, and a chunk
    waited on is one that a running thread has taken, so the pass finishes whatever the
    threads' order."""
    count = np.empty(rows.size, np.int64)
    for i in prange(rows.size):
        count_unread(feed, rows, i, count)
    gathered = room_to_gather(count)
    most = 0  # reads at most: each reader's items, up to its attention
    for i in range(rows.size):
        most += min(count[i], max(n_read[i], 0))
    out_who, out_post = np.empty(most, np.int64), np.empty(most, np.int32)
    n_out = np.zeros(1, np.int64)
    chunks = (rows.size + READ_CHUNK - 1) // READ_CHUNK
    handed = np.zeros(1, np.int64)  # chunks handed out so far (past ``chunks``: all)
    ready = np.zeros(chunks, np.int64)  # 1: gathered
    for part in prange(parts):
        if part == 0:
            got = 0
            for c in range(chunks):
                while load_acquire(ready, c) == 0:
                    gather_next(feed, rows, n_read, rank, posts, now, gathered, handed, ready)
                got = take_readers(stream, feed.unread, rows, n_read, gap, rank, gathered, now,
                                   c * READ_CHUNK, min(rows.size, (c + 1) * READ_CHUNK),
                                   out_who, out_post, got)
            n_out[0] = got
        else:
            while gather_next(feed, rows, n_read, rank, posts, now, gathered, handed, ready):
                pass
    return out_who[: n_out[0]], out_post[: n_out[0]]


@njit(cache=True)
def gather_next(feed, rows, n_read, rank, posts, now, gathered, handed, ready):
    """Gather the next chunk nobody has taken (:func:`read_parallel`) and flag it ready;
    whether there was one."""
    chunks = ready.size
    c = fetch_add(handed, 0, 1)
    if c >= chunks:
        return False
    gather_readers(feed, rows, n_read, rank, posts, now, gathered, c * READ_CHUNK,
                   min(rows.size, (c + 1) * READ_CHUNK))
    store_release(ready, c, 1)
    return True


@njit(cache=True)
def remap_rows(feed, new, last, shift, r0, r1):
    """After a compaction, rewrite the post index of every filled slot of rows ``r0:r1``
    through ``new`` (old index -> new index, -1 for a dropped post); a slot whose post was
    dropped becomes empty and read. Empty slots are left as they are (already read). Posts
    after ``last``, the last one dropped, all move down by ``shift`` (``new`` says so, without
    a random load: feeds hold mostly recent posts)."""
    items, unread = feed.items, feed.unread
    for r in range(r0, r1):
        for s in range(items.shape[1]):
            p = items[r, s]
            if p > last:
                items[r, s] = p - shift
            elif p >= 0:
                q = new[p]
                items[r, s] = q
                if q < 0:
                    mark_read(unread, r, s)


@njit(cache=True, parallel=True)
def remap_parallel(feed, new, last, shift, parts):
    """:func:`remap_rows` on every thread numba is given, one block of rows per part (rows are
    independent, so the result is the same as on one thread)."""
    n_rows = feed.items.shape[0]
    for part in prange(parts):
        remap_rows(feed, new, last, shift, n_rows * part // parts,
                   n_rows * (part + 1) // parts)
