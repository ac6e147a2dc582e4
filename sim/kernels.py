"""Compiled inner loops (numba) for the steps whose work is irregular per user.

Delivering posts into ring-buffer feeds, each reader's pick of its best unread items against
the outside items competing with them, the engagement coin flips, and adding counts onto a few
posts are loops over a variable number of items per user. As whole-array numpy they need sorts,
scatters, padded temporaries and one random number per possible event; as a loop compiled once
(``numba``, cached on disk) they are one pass that draws only the random numbers an outcome
depends on. Random draws here come from the model's own generator (passed in), so one seed
still fixes a run. Each function states the rule it implements; the callers in ``platform`` and
``model`` say what it is for, and ``sim.reference`` restates each rule one agent at a time.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LOG1P = np.log1p(np.arange(4096, dtype=np.float64))  # ln(1 + E) of small counts, looked up


@njit(cache=True)
def deliver(items, read, ptr, row_of, posts, organic, lo, hi, followers, op_keys, n_users):
    """Write each post into its followers' feeds, posts in creation order.

    Post ``i``'s followers are ``followers[lo[i]:hi[i]]`` if ``organic[i]`` (the follower
    graph), else ``op_keys[lo[i]:hi[i]] % n_users`` (troll accounts' followers). A write goes to
    the slot under the row's pointer (its oldest item) and moves the pointer on, so a row keeps
    its newest ``K`` items. Returns the number of deliveries."""
    k = items.shape[1]
    for i in range(posts.size):
        for j in range(lo[i], hi[i]):
            f = followers[j] if organic[i] else op_keys[j] % n_users
            r = row_of[f]
            s = ptr[r]
            items[r, s] = posts[i]
            read[r, s] = False
            ptr[r] = s + 1 if s + 1 < k else 0
    return (hi - lo).sum()


@njit(cache=True)
def read_feeds(rng, items, read, rows, n_read, gap, outside_rate, chronological, weight, decay,
               outside_score0, now, max_age, created, gid, root, engagement, status, penalty):
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
    k = items.shape[1]
    total = 0
    for i in range(rows.size):
        total += min(n_read[i], k)
    out_who = np.empty(total, np.int64)
    out_post = np.empty(total, np.int32)
    score = np.empty(k, np.float64)
    slot = np.empty(k, np.int64)
    moderated = status.size > 0
    n_out = 0
    for i in range(rows.size):
        r = rows[i]
        c = 0  # unread candidates, kept sorted: descending score, then slot
        for s in range(k):
            p = items[r, s]
            if p < 0 or read[r, s]:
                continue
            age = now - created[p]
            if age > max_age:
                continue
            if chronological:
                x = created[p] + gid[p] * 1e-10
            else:
                e = engagement[root[p]]
                x = weight * (LOG1P[e] if e < LOG1P.size else np.log1p(e)) - decay * age
            if moderated:
                st = max(status[p], status[root[p]])
                if st == 2:
                    continue
                if st == 1:
                    x -= penalty
            y = c
            while y > 0 and score[y - 1] < x:
                score[y] = score[y - 1]
                slot[y] = slot[y - 1]
                y -= 1
            score[y] = x
            slot[y] = s
            c += 1
        if c == 0 or n_read[i] <= 0:
            continue
        a = np.inf  # age of the youngest outside item not yet read
        if outside_rate > 0.0:
            a = rng.exponential() / outside_rate
        f = 0
        for _ in range(n_read[i]):
            if f == c:
                break  # what is left is outside items, which leave no trace
            if a <= gap[i]:
                xo = now - a if chronological else outside_score0 - decay * a
                if xo > score[f]:
                    a += rng.exponential() / outside_rate
                    continue
            s = slot[f]
            read[r, s] = True
            out_who[n_out] = i
            out_post[n_out] = items[r, s]
            n_out += 1
            f += 1
    return out_who[:n_out], out_post[:n_out]


@njit(cache=True)
def draw_actions(rng, probs):
    """Independent Bernoulli draws, ``out[i, j] = U < probs[i, j]``, with about one uniform
    per row when the probabilities are small.

    One uniform ``u`` decides whether any of the row's events happens (probability ``1 -
    prod(1 - p)``) and, if so, which is the first (``P(first = j) = p_j prod_{l<j}(1 - p_l)``);
    each later event then gets its own draw. The joint distribution is that of one coin per
    probability."""
    n, m = probs.shape
    out = np.zeros((n, m), np.bool_)
    for i in range(n):
        any_event = 0.0
        survive = 1.0
        for j in range(m):
            any_event += survive * probs[i, j]
            survive *= 1.0 - probs[i, j]
        u = rng.random()
        if u >= any_event:
            continue
        acc = 0.0
        survive = 1.0
        for j in range(m):
            acc += survive * probs[i, j]
            if u < acc:
                out[i, j] = True
                for q in range(j + 1, m):
                    out[i, q] = rng.random() < probs[i, q]
                break
            survive *= 1.0 - probs[i, j]
    return out


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
