"""Compiled inner loops (numba) for the steps whose work is irregular per user.

Delivering posts into ring-buffer feeds, deciding who is online, each reader's pick of its best
unread items against the outside items competing with them, reply views, the engagement coin
flips, first reshares, and counting each read's impression and actions onto posts and ledgers
are loops over a variable number of items per user. As whole-array numpy they need sorts,
scatters, padded temporaries, dozens of passes over small arrays and one random number per
possible event; as a loop compiled once (``numba``, cached on disk) they are one pass that
draws only the random numbers an outcome depends on. Random draws here come from the model's
own generator (passed in), so one seed still fixes a run. Each function states the rule it
implements; the callers in ``platform`` and ``model`` say what it is for, and
``sim.reference`` restates each rule one agent at a time.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

LOG1P = np.log1p(np.arange(4096, dtype=np.float64))  # ln(1 + E) of small counts, looked up


@njit(cache=True)
def write(items, unread, ptr, r, post):
    """Write ``post`` into feed row ``r`` over its oldest slot (under the pointer), mark the slot
    unread and move the pointer on: the ring-buffer rule every delivery follows."""
    s = ptr[r]
    items[r, s] = post
    unread[r, s >> 6] |= np.uint64(1) << np.uint64(s & 63)
    ptr[r] = s + 1 if s + 1 < items.shape[1] else 0


@njit(cache=True)
def mark_read(unread, r, s):
    """Clear the unread bit of slot ``s`` of row ``r``."""
    unread[r, s >> 6] &= ~(np.uint64(1) << np.uint64(s & 63))


@njit(cache=True)
def in_sorted(values, lo, hi, v):
    """Is ``v`` in the sorted slice ``values[lo:hi]``? (One bisection.)"""
    j = lo + np.searchsorted(values[lo:hi], v)
    return j < hi and values[j] == v


@njit(cache=True)
def deliver(items, unread, ptr, row_of, posts, organic, lo, hi, followers, op_keys, n_users):
    """Write each post into its followers' feeds, posts in creation order.

    Post ``i``'s followers are ``followers[lo[i]:hi[i]]`` if ``organic[i]`` (the follower
    graph), else ``op_keys[lo[i]:hi[i]] % n_users`` (troll accounts' followers). A write goes to
    the slot under the row's pointer (its oldest item) and moves the pointer on, so a row keeps
    its newest ``K`` items. Returns the number of deliveries."""
    for i in range(posts.size):
        for j in range(lo[i], hi[i]):
            f = followers[j] if organic[i] else op_keys[j] % n_users
            write(items, unread, ptr, row_of[f], posts[i])
    return (hi - lo).sum()


@njit(cache=True)
def online(rng, rate, utc_hour, weight):
    """Indices ``i`` with ``U < rate[i] * weight[utc_hour[i]]``, one single-precision uniform
    ``U`` per ``i`` in order: who opens the platform this hour."""
    out = np.empty(rate.size, np.int64)
    n = 0
    for i in range(rate.size):
        if rng.random(dtype=np.float32) < rate[i] * weight[utc_hour[i]]:
            out[n] = i
            n += 1
    return out[:n]


@njit(cache=True)
def reply_views(rng, posts, root, platform, hijack_reply, here, prob):
    """For each read ``posts[i]`` one uniform ``U``: the read's thread (its root) shows its
    newest planted reply if it has one, lives on platform ``here`` and ``U < prob``. Returns
    (read index, reply) pairs."""
    who = np.empty(posts.size, np.int64)
    reply = np.empty(posts.size, hijack_reply.dtype)
    n = 0
    for i in range(posts.size):
        r = root[posts[i]]
        seen = rng.random() < prob
        if seen and platform[r] == here and hijack_reply[r] >= 0:
            who[n] = i
            reply[n] = hijack_reply[r]
            n += 1
    return who[:n], reply[:n]


@njit(cache=True)
def first_reshares(users, roots, reshare, memory, n_posts):
    """Which reshares stand: not of a root in the reader's ``memory`` row (as it stands on
    entry), nor a repeat of an earlier (reader, root) pair of the batch."""
    idx = np.flatnonzero(reshare)
    key = users[idx].astype(np.int64) * (n_posts + 1) + roots[idx]
    order = np.argsort(key, kind="mergesort")
    out = np.zeros(reshare.size, np.bool_)
    for k in range(idx.size):
        j = order[k]
        if k > 0 and key[order[k - 1]] == key[j]:
            continue  # a repeat (the sort is stable: the first of a pair comes first)
        i = idx[j]
        fresh = True
        for s in range(memory.shape[1]):
            if memory[users[i], s] == roots[i]:
                fresh = False
        out[i] = fresh
    return out


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


@njit(cache=True)
def push(items, unread, ptr, rows, posts):
    """Write ``posts[i]`` into feed row ``rows[i]``, one pair after another (:func:`write`)."""
    for i in range(rows.size):
        write(items, unread, ptr, rows[i], posts[i])


@njit(cache=True)
def read_feeds(rng, items, unread, rows, n_read, gap, outside_rate, chronological, weight, decay,
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
    to the lower slot. ``unread`` holds each row's bit mask of slots with an unread item."""
    n_words = unread.shape[1]
    # 1. the unread slots of every row, from the bit masks alone (a few bytes a row)
    start = np.empty(rows.size + 1, np.int64)
    n = 0
    for i in range(rows.size):
        start[i] = n
        for w in range(n_words):
            n += np.int64(popcount(unread[rows[i], w]))
    start[rows.size] = n
    slot = np.empty(n, np.int64)
    post = np.empty(n, np.int32)
    j = 0
    for i in range(rows.size):  # their posts: one feed row per reader, loads independent
        r = rows[i]
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
    for j in range(n):
        p = post[j]
        age = now - created[p]
        if chronological:
            x = created[p] + gid[p] * 1e-10
        else:
            e = engagement[root[p]]
            x = weight * (LOG1P[e] if e < LOG1P.size else np.log1p(e)) - decay * age
        if moderated:
            st = max(status[p], status[root[p]])
            x = -np.inf if st == 2 else (x - penalty if st == 1 else x)
        score[j] = x if age <= max_age else -np.inf
    # 3. each reader takes its best, one at a time, against the outside items
    total = 0
    for i in range(rows.size):
        total += min(n_read[i], start[i + 1] - start[i])
    out_who = np.empty(total, np.int64)
    out_post = np.empty(total, np.int32)
    n_out = 0
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
                if outside_rate > 0.0:
                    a = rng.exponential() / outside_rate
            if a <= gap[i]:
                xo = now - a if chronological else outside_score0 - decay * a
                if xo > score[best]:
                    a += rng.exponential() / outside_rate
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
def impressions(users, posts, n_from_feed, root, is_op, author, imp_organic, exposure, indptr,
                followers, op_keys, n_users):
    """Reads ``(users[i], posts[i])``: each is an impression of the post's root, counted on the
    root (``imp_organic``) and, for operation content, on the reader (``exposure``). Returns,
    per read, the root, whether it is operation content, its author, and whether the reader
    follows that author: the first ``n_from_feed`` reads came through the feed, where an
    original is from a followed account; otherwise the author's followers are searched (the
    organic graph's sorted slice ``followers[indptr[a]:indptr[a + 1]]``, or for a troll
    account the sorted keys ``account * n_users + follower``)."""
    n = users.size
    roots = np.empty(n, root.dtype)
    op = np.empty(n, np.bool_)
    authors = np.empty(n, author.dtype)
    followed = np.empty(n, np.bool_)
    for i in range(n):
        r = root[posts[i]]
        u = users[i]
        roots[i] = r
        imp_organic[r] += 1
        op[i] = is_op[r]
        if op[i]:
            exposure[u] += 1
        a = author[r]
        authors[i] = a
        if i < n_from_feed and posts[i] == r:
            followed[i] = True
        elif a < n_users:
            followed[i] = in_sorted(followers, indptr[a], indptr[a + 1], u)
        else:
            followed[i] = in_sorted(op_keys, 0, op_keys.size, np.int64(a - n_users) * n_users + u)
    return roots, op, authors, followed


@njit(cache=True)
def read_fields(users, roots, community, language, propensity, topic, post_lang, quality,
                timeliness, created, eng_visible, is_op, now):
    """What the engagement formula needs of each read (``users[i]`` read root ``roots[i]``),
    gathered in one pass: the reader's community, language and propensity; the root's topic,
    language, quality, timeliness, age in hours (single precision), visible engagement and
    whether it is operation content."""
    n = users.size
    comm, lang = np.empty(n, community.dtype), np.empty(n, language.dtype)
    prop = np.empty(n, propensity.dtype)
    top, ilang = np.empty(n, topic.dtype), np.empty(n, post_lang.dtype)
    qual, tim = np.empty(n, quality.dtype), np.empty(n, timeliness.dtype)
    age, eng, op = np.empty(n, np.float32), np.empty(n, eng_visible.dtype), np.empty(n, np.bool_)
    for i in range(n):
        u, r = users[i], roots[i]
        comm[i], lang[i], prop[i] = community[u], language[u], propensity[u]
        top[i], ilang[i], qual[i], tim[i] = topic[r], post_lang[r], quality[r], timeliness[r]
        age[i] = np.float32(now - created[r])
        eng[i], op[i] = eng_visible[r], is_op[r]
    return comm, lang, prop, top, ilang, qual, tim, age, eng, op


@njit(cache=True)
def tally(acts, users, roots, op, likes, reshares, replies, eng_visible, reports, engaged,
          is_media, is_high_profile):
    """Count each read's actions (``acts`` columns: like, reshare, reply, follow, report) on
    its root, and for operation content mark the reader as engaged and total (likes,
    reshares, replies, reports, reshares by media accounts, by high-profile accounts)."""
    sums = np.zeros(6, np.int64)
    for i in range(users.size):
        r = roots[i]
        like, reshare, reply, report = acts[i, 0], acts[i, 1], acts[i, 2], acts[i, 4]
        likes[r] += like
        reshares[r] += reshare
        replies[r] += reply
        eng_visible[r] += like + reshare + reply
        reports[r] += report
        if op[i]:
            if like or reshare or reply:
                engaged[users[i]] = True
            sums[0] += like
            sums[1] += reshare
            sums[2] += reply
            sums[3] += report
            if reshare:
                sums[4] += is_media[users[i]]
                sums[5] += is_high_profile[users[i]]
    return sums


@njit(cache=True)
def csr_contains(indptr, sorted_values, rows, values):
    """Is ``values[i]`` in ``sorted_values[indptr[rows[i]]:indptr[rows[i] + 1]]``?"""
    out = np.zeros(rows.size, np.bool_)
    for i in range(rows.size):
        out[i] = in_sorted(sorted_values, indptr[rows[i]], indptr[rows[i] + 1], values[i])
    return out
