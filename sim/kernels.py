"""Compiled inner loops (numba) for the three steps whose work is irregular per user.

Delivering posts into ring-buffer feeds, picking each reader's best unread items, and adding
counts onto a few posts are loops over a variable number of items per user. As whole-array numpy
they need sorts, scatters and padded temporaries; as a loop compiled once (``numba``, cached on
disk) they are one pass. Each function states the rule it implements; the callers in ``feeds``,
``platform`` and ``model`` say what it is for. Only integer work and comparisons happen here: all
floating-point arithmetic (scores, probabilities) and every random draw stay in numpy, so results
are the same, bit for bit, as with the whole-array versions these replaced (the golden runs in
``tests/data`` check it).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def deliver(items, read, ptr, row_of, posts, organic, lo, hi, followers, op_keys, n_users,
            count):
    """Write each post into its followers' feeds, posts in creation order.

    Post ``i``'s followers are ``followers[lo[i]:hi[i]]`` if ``organic[i]`` (the follower
    graph), else ``op_keys[lo[i]:hi[i]] % n_users`` (troll accounts' followers). A write goes to
    the slot under the row's pointer (its oldest item) and moves the pointer on; of more than
    ``K`` deliveries to one row in a batch only the newest ``K`` are written. ``count`` is
    scratch of one int per row, all zero (and left zero). Returns the number of deliveries."""
    k = items.shape[1]
    total = 0
    for i in range(posts.size):  # deliveries per row in this batch
        for j in range(lo[i], hi[i]):
            f = followers[j] if organic[i] else op_keys[j] % n_users
            count[row_of[f]] += 1
            total += 1
    for i in range(posts.size):
        for j in range(lo[i], hi[i]):
            f = followers[j] if organic[i] else op_keys[j] % n_users
            r = row_of[f]
            if count[r] <= k:  # among the row's newest K of the batch
                s = ptr[r]
                items[r, s] = posts[i]
                read[r, s] = False
                ptr[r] = s + 1 if s + 1 < k else 0
            count[r] -= 1
    return total


@njit(cache=True)
def unread(items, read, rows):
    """Unread items of the given feed rows: (index into ``rows``, slot, post id), in row then
    slot order."""
    k = items.shape[1]
    n = 0
    for i in range(rows.size):
        r = rows[i]
        for s in range(k):
            if items[r, s] >= 0 and not read[r, s]:
                n += 1
    who = np.empty(n, np.int64)
    slot = np.empty(n, np.int64)
    post = np.empty(n, np.int32)
    n = 0
    for i in range(rows.size):
        r = rows[i]
        for s in range(k):
            if items[r, s] >= 0 and not read[r, s]:
                who[n] = i
                slot[n] = s
                post[n] = items[r, s]
                n += 1
    return who, slot, post


@njit(cache=True)
def pick(read, rows, n_read, who, slot, post, score, external):
    """Each row reads its ``n_read`` best unread items (from :func:`unread`, with their ranking
    ``score``), best first, where outside items (``external``: one row of scores per reader,
    sorted in descending order, -inf where absent) compete for the same attention.

    Order: descending score, ties to the lower slot; an outside item outranks a feed item only
    with a strictly higher score. The feed item at rank ``q`` is read unless ``n_read - q``
    outside items outrank it; items scored -inf (aged out or removed) are never read. Marks the
    items read; returns (index into ``rows``, post id) pairs, rows in order, best first."""
    w = external.shape[1]
    m = rows.size
    out_who = np.empty(who.size, np.int64)
    out_post = np.empty(who.size, np.int32)
    order = np.empty(read.shape[1], np.int64)
    n_out = 0
    a = 0
    for i in range(m):
        b = a
        while b < who.size and who[b] == i:
            b += 1
        c = b - a
        for x in range(c):  # insertion sort: descending score, stable (slot order)
            order[x] = a + x
            y = x
            while y > 0 and score[order[y - 1]] < score[order[y]]:
                order[y - 1], order[y] = order[y], order[y - 1]
                y -= 1
        for q in range(min(c, n_read[i])):
            j = order[q]
            s = score[j]
            room = n_read[i] - q
            if s == -np.inf or (room <= w and external[i, room - 1] > s):
                break  # every later item scores no higher
            read[rows[i], slot[j]] = True
            out_who[n_out] = i
            out_post[n_out] = post[j]
            n_out += 1
        a = b
    return out_who[:n_out], out_post[:n_out]


@njit(cache=True)
def order_statistic_ages(spacing, n, gap, tail):
    """In place: row ``i`` of unit exponentials ``e`` becomes the ages of the youngest ``n[i]``
    of ``E`` items arrived uniformly over the last ``gap[i]`` hours, ``gap * S_k / (S_n +
    tail)`` with ``S_k = e_1 + .. + e_k`` and ``tail ~ Gamma(E + 1 - n)`` (the rest of the
    ``E + 1`` spacings); entries beyond ``n[i]`` become +inf (no item)."""
    for i in range(spacing.shape[0]):
        total = 0.0
        for j in range(n[i]):
            total += spacing[i, j]
            spacing[i, j] = total
        total += tail[i]
        for j in range(n[i]):
            spacing[i, j] = spacing[i, j] * gap[i] / total
        for j in range(n[i], spacing.shape[1]):
            spacing[i, j] = np.inf


@njit(cache=True)
def add_at(target, index, value):
    """``target[index[i]] += value[i]`` for every ``i``, repeated indices accumulating (as
    ``np.add.at``, which is several times slower)."""
    for i in range(index.size):
        target[index[i]] += value[i]


@njit(cache=True)
def count_at(target, index):
    """``target[index[i]] += 1`` for every ``i`` (as ``np.add.at(target, index, 1)``)."""
    for i in range(index.size):
        target[index[i]] += 1


@njit(cache=True)
def csr_contains(indptr, sorted_values, rows, values):
    """Is ``values[i]`` in ``sorted_values[indptr[rows[i]]:indptr[rows[i] + 1]]``?"""
    out = np.zeros(rows.size, np.bool_)
    for i in range(rows.size):
        lo, hi = indptr[rows[i]], indptr[rows[i] + 1]
        j = lo + np.searchsorted(sorted_values[lo:hi], values[i])
        out[i] = j < hi and sorted_values[j] == values[i]
    return out
