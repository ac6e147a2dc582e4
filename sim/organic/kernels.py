"""Compiled loops (numba) for what organic users do in an hour: who is online, reply views, the
engagement probabilities and coin flips, first reshares, counting each read's impression and
actions, and who writes a post; and two passes that chain them, who reads what (:func:`reading`)
and what a batch of readers does (:func:`engagement`).

Each is a loop over a variable number of items per user: as whole-array numpy it would need
sorts, scatters, padded temporaries and one random number per possible event; compiled
(``numba``, cached on disk) it is one pass drawing only the random numbers an outcome depends
on, from the model's own generator (its stream passed in, :mod:`sim.streams`), so one seed
still fixes a run. Each function states its rule; ``sim.reference`` restates each one agent at
a time. ``posts`` is a :class:`~sim.posts.PostColumns` bundle."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ..feeds.kernels import LOG1P, read_feeds
from ..intrinsics import AHEAD, prefetch
from ..network import in_sorted
from ..posts import KIND_ORGANIC, hijack_reply, sparse_row, visible_status
from ..streams import (
    advance,
    beta,
    float32_outputs,
    high_float32,
    integers,
    kept_float32,
    low_float32,
    next_double,
    output,
    poisson,
    skip_float32,
    step,
    to_double,
)


class FormulaTerms(NamedTuple):
    """The engagement formula's coefficients, as :func:`engagement_probs` needs them (see
    :class:`sim.organic.engagement.Coefficients`)."""

    base: np.ndarray  # float32 (5,): base probability per action
    comprehension: np.ndarray  # float32 (languages, languages)
    quality_exponent: np.float32
    cross_topic: float
    social_proof: float
    followed_factor: float


@njit(cache=True, inline="always")
def online_part(stream, rate, utc_hour, weight, away, out, part, parts):
    """Part ``part`` of ``parts`` of :func:`online`: its members' draws come from its block of
    the stream's outputs (``stream`` left as it was), their hits written in order from the
    block's first member on; returns the number of hits."""
    n = rate.size
    kept, k = float32_outputs(stream, n)
    k0, k1 = k * part // parts, k * (part + 1) // parts
    hits = first = kept + 2 * k0  # (a block's members: two a 64-bit output)
    if part == 0 and kept:  # the half kept from the last output drawn
        first = hits = 0
        if kept_float32(stream) < rate[0] * weight[utc_hour[0]] and not away[0]:
            out[hits] = 0
            hits += 1
    # The loop runs 15% faster with the block's state in locals (in an array it is stored and
    # loaded every step: the writes to ``out`` might alias it) and with indices into views from
    # the first member of a whole output on (``kept + 2 * j`` needs a check for a negative
    # index on every load).
    block = advance(stream, k0)
    hi, lo, inc_hi, inc_lo = block[0], block[1], block[2], block[3]
    r, h, a = rate[kept:], utc_hour[kept:], away[kept:]
    for j in range(k0, k1):
        hi, lo = step(hi, lo, inc_hi, inc_lo)
        x = output(hi, lo)
        i = 2 * j
        if low_float32(x) < r[i] * weight[h[i]] and not a[i]:
            out[hits] = kept + i
            hits += 1
        if i + 1 < r.size and high_float32(x) < r[i + 1] * weight[h[i + 1]] and not a[i + 1]:
            out[hits] = kept + i + 1
            hits += 1
    return hits - first


@njit(cache=True)
def online(stream, rate, utc_hour, weight, away):
    """Indices ``i`` with ``U < rate[i] * weight[utc_hour[i]]`` and not ``away[i]``, one
    single-precision uniform ``U`` per ``i`` in order (``away`` or not), from ``stream``
    (:mod:`sim.streams`, moved on past them): who opens the platform this hour."""
    out = np.empty(rate.size, np.int64)
    n = online_part(stream, rate, utc_hour, weight, away, out, 0, 1)
    skip_float32(stream, rate.size)
    return out[:n]


@njit(cache=True, parallel=True)
def online_parallel(stream, rate, utc_hour, weight, away, parts):
    """:func:`online` on every thread numba is given, each thread drawing its block of the same
    stream (:func:`sim.streams.advance`): the same draws as on one thread."""
    n = rate.size
    out = np.empty(n, np.int64)
    count = np.empty(parts, np.int64)
    for p in prange(parts):
        count[p] = online_part(stream, rate, utc_hour, weight, away, out, p, parts)
    kept, k = float32_outputs(stream, n)
    hits = count[0]
    for p in range(1, parts):  # each block's hits after the ones before
        first = kept + 2 * (k * p // parts)
        for j in range(first, first + count[p]):  # (forward: the two may overlap)
            out[hits] = out[j]
            hits += 1
    skip_float32(stream, n)
    return out[:hits]


@njit(cache=True)
def posters(stream, users, propensity, prob):
    """``users[i]`` with ``U < prob * propensity[users[i]]``, one double-precision uniform
    ``U`` per user in order (numpy's ``rng.random(users.size)``), from ``stream`` (moved on past
    them): who writes a post this session. The stream's state stays in locals, as in
    :func:`online_part`."""
    out = np.empty(users.size, users.dtype)
    hi, lo, inc_hi, inc_lo = stream[0], stream[1], stream[2], stream[3]
    n = 0
    for i in range(users.size):
        hi, lo = step(hi, lo, inc_hi, inc_lo)
        if to_double(output(hi, lo)) < prob * propensity[users[i]]:
            out[n] = users[i]
            n += 1
    stream[0], stream[1] = hi, lo
    return out[:n]


@njit(cache=True)
def compose(stream, users, propensity, prob, community, own_prob, n_topics, a, b):
    """Who writes a post (:func:`posters`), then each author's topic (their ``community``
    with probability ``own_prob``, else uniform over ``n_topics``) and quality (Beta(``a``,
    ``b``)), drawn from ``stream`` as numpy would draw them for all the authors at once: the
    uniforms, then the uniform topics, then the qualities. Returns (authors, topics,
    qualities)."""
    authors = posters(stream, users, propensity, prob)
    n = authors.size
    own = np.empty(n, np.bool_)
    for i in range(n):
        own[i] = next_double(stream) < own_prob
    topic = np.empty(n, np.int64)
    for i in range(n):
        other = integers(stream, 0, n_topics)
        topic[i] = community[authors[i]] if own[i] else other
    quality = np.empty(n)
    for i in range(n):
        quality[i] = beta(stream, a, b)
    return authors, topic, quality


@njit(cache=True)
def fan_posts(stream, authors, group, position, members, copost_prob, likes, size):
    """What fan-group members' new posts get (authors outside groups, ``group`` -1, get
    nothing), drawn from ``stream`` as numpy would for all of them at once: whether each
    carries the group's slogan (probability ``copost_prob``), then how many fellow members like
    it (Poisson, mean ``likes``), then who each liker is (uniform over the ``size - 1`` other
    members: ``members[g * size:(g + 1) * size]``, the author at ``position``). Returns (which
    authors' posts carry the slogan, the likers, whose post each likes), as indices into
    ``authors`` but for the likers."""
    fan = np.flatnonzero(group[authors] >= 0)
    slogan = np.empty(fan.size, np.bool_)
    for i in range(fan.size):
        slogan[i] = next_double(stream) < copost_prob
    k = np.empty(fan.size, np.int64)
    for i in range(fan.size):
        k[i] = poisson(stream, likes)
    liked = np.repeat(fan, k)
    who = np.empty(liked.size, members.dtype)
    for j in range(liked.size):
        a = authors[liked[j]]
        mate = integers(stream, 0, size - 1)
        who[j] = members[group[a] * size + mate + (mate >= position[a])]
    return fan[slogan], who, liked


@njit(cache=True)
def sessions(rows, members, last_session, attention, now, reads):
    """Online ``rows`` of a platform open a session now: each one's user, the items it reads
    (the user's ``attention``, or ``reads`` for everyone if that is not negative: attention
    unlimited) and the hours since its last session (at most a day, the window over which
    outside items can still compete), noted in ``last_session``. One pass, where numpy took
    six over the rows."""
    users, n_read, gap = session_arrays(rows, members)
    session_rows(rows, members, last_session, attention, now, reads, users, n_read, gap, 0,
                 rows.size)
    return users, n_read, gap


@njit(cache=True, parallel=True)
def sessions_parallel(rows, members, last_session, attention, now, reads, parts):
    """:func:`sessions`, the rows in ``parts`` blocks on every thread (no draws: the same
    results)."""
    users, n_read, gap = session_arrays(rows, members)
    for p in prange(parts):
        session_rows(rows, members, last_session, attention, now, reads, users, n_read, gap,
                     rows.size * p // parts, rows.size * (p + 1) // parts)
    return users, n_read, gap


@njit(cache=True, inline="always")
def session_arrays(rows, members):
    """:func:`sessions`' three per-row arrays."""
    return (np.empty(rows.size, members.dtype), np.empty(rows.size, np.int32),
            np.empty(rows.size, np.float64))


@njit(cache=True, inline="always")
def session_rows(rows, members, last_session, attention, now, reads, users, n_read, gap, i0,
                 i1):
    """Rows ``i0:i1`` of :func:`sessions` into its three arrays."""
    for i in range(i0, i1):
        r = rows[i]
        users[i] = members[r]
        n_read[i] = attention[users[i]] if reads < 0 else reads
        gap[i] = min(now - last_session[r], 24)
        last_session[r] = now


@njit(cache=True, inline="always")
def root_ahead(root, items, i):
    """For a loop over reads ``items`` at ``i``: prefetch the post read ``2 * AHEAD`` reads on
    and return the root of the one ``AHEAD`` on (-1 past the end), whose columns the caller
    prefetches."""
    if i + 2 * AHEAD < items.size:
        prefetch(root, items[i + 2 * AHEAD])
    return root[items[i + AHEAD]] if i + AHEAD < items.size else -1


@njit(cache=True)
def reply_views(stream, items, posts, here, prob):
    """For each read ``items[i]`` one uniform ``U`` (from ``stream``, :mod:`sim.streams`): the
    read's thread (its root) shows its newest planted reply if it has one, lives on platform
    ``here`` and ``U < prob``. Returns (read index, reply) pairs."""
    who = np.empty(items.size, np.int64)
    reply = np.empty(items.size, np.int32)
    n = 0
    p_platform, p_root = posts.platform, posts.root  # (out of the bundle once)
    for i in range(items.size):
        if next_double(stream) < prob:  # (few reads: only these load their root)
            r = p_root[items[i]]
            if p_platform[r] == here:
                x = hijack_reply(posts, r)
                if x >= 0:
                    who[n] = i
                    reply[n] = x
                    n += 1
    return who[:n], reply[:n]


@njit(cache=True)
def reading(stream, rate, utc_hour, weight, away, everyone, members, last_session, attention,
            now, reads, feed, rank, posts, here, reply_prob, moderated):
    """Who comes online on platform ``here`` and what they read, in one pass: :func:`online`
    (or, with ``everyone``, every member not ``away``, drawing nothing), :func:`sessions`,
    :func:`~sim.feeds.kernels.read_feeds` and :func:`reply_views`, drawing from ``stream`` in
    that order, as the four calls one after the other would. With moderation (``moderated``),
    a reply is shown only if neither it nor its root is removed or demoted. Returns (users
    online, readers, items, reply readers, replies)."""
    rows = np.flatnonzero(~away) if everyone else online(stream, rate, utc_hour, weight, away)
    users, n_read, gap = sessions(rows, members, last_session, attention, now, reads)
    ri, items = read_feeds(stream, feed, rows, n_read, gap, rank, posts, now)
    readers = users[ri]
    who, reply = reply_views(stream, items, posts, here, reply_prob)
    if moderated:
        shown = visible_status(posts.status, posts.root, reply) == 0
        who, reply = who[shown], reply[shown]
    return users, readers, items, readers[who], reply


def first_reshares(users, roots, reshare, memory, n_posts):
    """Which reshares stand: not of a root in the reader's row of ``memory`` (a
    :class:`~sim.organic.ReshareMemory`, as it stands on entry), nor a repeat of an earlier
    (reader, root) pair of the batch (:func:`standing_reshares` on the memory's arrays)."""
    return standing_reshares(users, roots, reshare, memory.row_of, memory.items, n_posts)


@njit(cache=True)
def standing_reshares(users, roots, reshare, memory_row, memory, n_posts):
    """Which drawn ``reshare`` stand: the first of their (reader, root) pair in the batch
    (:func:`first_of_pairs`, no sort: compiled, one would cost seconds of compilation on a
    fresh install) whose root is not in the reader's row ``memory_row`` of ``memory``. Post
    indices are below ``n_posts``."""
    out = np.zeros(reshare.size, np.bool_)
    cand = np.flatnonzero(reshare)
    first = first_of_pairs(users, roots, cand, n_posts)
    for j in range(cand.size):
        i = cand[j]
        out[i] = first[j] and not_remembered_one(memory_row[users[i]], roots[i], memory)
    return out


@njit(cache=True)
def followable(authors, followed, alive, account_platform, here, n_users):
    """Which ``authors`` their readers could start following on platform ``here``: a live troll
    account there that the reader does not follow yet (the organic graph is fixed)."""
    out = np.empty(authors.size, np.bool_)
    for i in range(authors.size):
        a = authors[i] - n_users
        out[i] = a >= 0 and not followed[i] and alive[a] and account_platform[a] == here
    return out


@njit(cache=True)
def cross_posts(stream, users, member, here, prob):
    """Which resharers ``users`` carry their item to another platform they are a member of
    (``member``: users x platforms), and to which: one uniform each, carried if below
    ``prob``; then, carrier by carrier, one uniform per platform, and the platform other than
    ``here`` with the largest among those of its own (the first of equals); a carrier of no
    other platform carries nothing. numpy's order of draws: all the first uniforms, then the
    carriers' rows. Returns (index into ``users``, platform)."""
    carry = np.empty(users.size, np.int64)
    k = 0
    for i in range(users.size):
        if next_double(stream) < prob:
            carry[k] = i
            k += 1
    which, to = np.empty(k, np.int64), np.empty(k, np.int8)
    m = 0
    for c in range(k):
        u = users[carry[c]]
        best, arg = -1.0, -1
        for j in range(member.shape[1]):
            x = next_double(stream)
            if member[u, j] and j != here and x > best:
                best, arg = x, j
        if arg >= 0:
            which[m], to[m] = carry[c], arg
            m += 1
    return which[:m], to[:m]


@njit(cache=True)
def remember(memory, ptr, row_of, n, users, roots):
    """Write ``roots[i]`` into user ``users[i]``'s memory row over its oldest entry, pairs in
    order; a user without a row (``row_of`` -1) first gets the next row after the ``n`` given
    (room made beforehand). Returns the number of rows given, these included."""
    for i in range(users.size):
        u = row_of[users[i]]
        if u < 0:
            u = row_of[users[i]] = n
            n += 1
        s = ptr[u]
        memory[u, s] = roots[i]
        ptr[u] = s + 1 if s + 1 < memory.shape[1] else 0
    return n


@njit(cache=True)
def draw_actions(stream, probs):
    """Independent Bernoulli draws, ``out[i, j] = U < probs[i, j]``, with about one uniform
    per row when the probabilities are small (from ``stream``, :mod:`sim.streams`).

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
        u = next_double(stream)
        if u >= any_event:
            continue
        acc = 0.0
        survive = 1.0
        for j in range(m):
            acc += survive * probs[i, j]
            if u < acc:
                out[i, j] = True
                for q in range(j + 1, m):
                    out[i, q] = next_double(stream) < probs[i, q]
                break
            survive *= 1.0 - probs[i, j]
    return out


@njit(cache=True)
def impressions(users, items, n_from_feed, posts, exposure, exposed, indptr, followers, op_keys,
                n_users):
    """Reads ``(users[i], items[i])``: each is an impression of the item's root, counted on the
    root (``imp_organic``) and, for operation content, on the reader (``exposure``;
    ``exposed[0]`` counts the readers exposed for the first time). Returns, per read, the root,
    whether it is operation content, its author, and whether the reader follows that author:
    the first ``n_from_feed`` reads came through the feed, where an original is from a followed
    account; otherwise the author's followers are searched (the organic graph's sorted ids
    ``indptr[a]:indptr[a + 1]`` of ``followers``, or for a troll account the sorted keys
    ``account * n_users + follower``)."""
    out = impression_arrays(users.size, posts)
    impression_rows(0, users.size, users, items, n_from_feed, posts, indptr, followers, op_keys,
                    n_users, out)
    count_impressions(out[0], out[1], users, posts.imp_organic, exposure, exposed)
    return out


@njit(cache=True, parallel=True)
def impressions_parallel(users, items, n_from_feed, posts, exposure, exposed, indptr, followers,
                         op_keys, n_users, parts):
    """:func:`impressions` in ``parts`` equal runs of reads, one a thread, then the counting
    (:func:`count_impressions`)."""
    n = users.size
    out = impression_arrays(n, posts)
    for p in prange(parts):
        impression_rows(n * p // parts, n * (p + 1) // parts, users, items, n_from_feed,
                        posts, indptr, followers, op_keys, n_users, out)
    count_impressions(out[0], out[1], users, posts.imp_organic, exposure, exposed)
    return out


@njit(cache=True)
def count_impressions(roots, op, users, imp_organic, exposure, exposed):
    """Count each read on its root and, for operation content, on its reader: one thread, after
    the reads' other work (on every thread in :func:`impressions_parallel`; about a tenth of
    it: the roots are mostly in the cache by then; atomic adds on every thread cost more than
    the whole pass on one)."""
    for i in range(roots.size):
        imp_organic[roots[i]] += 1
        if op[i]:
            u = users[i]
            if exposure[u] == 0:
                exposed[0] += 1
            exposure[u] += 1


@njit(cache=True, inline="always")
def impression_arrays(n, posts):
    """:func:`impressions`' four per-read arrays."""
    return (np.empty(n, posts.root.dtype), np.empty(n, np.bool_), np.empty(n, posts.author.dtype),
            np.empty(n, np.bool_))


@njit(cache=True)
def impression_rows(i0, i1, users, items, n_from_feed, posts, indptr, followers, op_keys,
                    n_users, out):
    """Reads ``i0:i1`` of :func:`impressions` into ``out`` (counted afterwards,
    :func:`count_impressions`)."""
    roots, op, authors, followed = out
    # columns out of the bundle once (a field read per item costs far more)
    p_author = posts.author
    p_is_op = posts.is_op
    p_root = posts.root
    for i in range(i0, i1):
        q = root_ahead(p_root, items, i)
        if q >= 0:
            prefetch(p_is_op, q)
            prefetch(p_author, q)
        r = p_root[items[i]]
        u = users[i]
        roots[i] = r
        op[i] = p_is_op[r]
        a = p_author[r]
        authors[i] = a
        if i < n_from_feed and items[i] == r:
            followed[i] = True
        elif a < n_users:
            followed[i] = in_sorted(followers, indptr[a], indptr[a + 1], u)
        else:
            followed[i] = in_sorted(op_keys, 0, op_keys.size, np.int64(a - n_users) * n_users + u)


@njit(cache=True)
def engagement_probs(users, roots, followed, community, language, propensity, posts, now, coef,
                     fresh):
    """The engagement probabilities of each read (``users[i]`` read root ``roots[i]``;
    ``followed[i]``: the reader follows its author) as :func:`sim.organic.engagement.action_probs`
    states them, fields gathered and the formula computed in one pass, operation by operation in
    the order and precision of the array formula (:func:`~sim.organic.engagement.match_factor`),
    so with its bits. ``coef`` is a :class:`FormulaTerms`; ``fresh[a]``, the freshness factor of
    an item ``a`` hours old (numpy's float32 ``exp``, computed outside: see ``sim.portable``).
    Returns (reads, 5) float32."""
    out = np.empty((users.size, 5), np.float32)
    engagement_rows(out, 0, users.size, users, roots, followed, community, language, propensity,
                    posts, now, coef, fresh)
    return out


@njit(cache=True, parallel=True)
def engagement_probs_parallel(users, roots, followed, community, language, propensity, posts,
                              now, coef, fresh, parts):
    """:func:`engagement_probs` in ``parts`` equal runs of reads, one a thread (each read's
    row is computed alone: the same array as on one thread)."""
    n = users.size
    out = np.empty((n, 5), np.float32)
    for p in prange(parts):
        engagement_rows(out, n * p // parts, n * (p + 1) // parts, users, roots, followed,
                        community, language, propensity, posts, now, coef, fresh)
    return out


@njit(cache=True)
def engagement_rows(out, i0, i1, users, roots, followed, community, language, propensity, posts,
                    now, coef, fresh):
    """Rows ``i0:i1`` of :func:`engagement_probs` into ``out``."""
    base, comprehension, exponent = coef.base, coef.comprehension, coef.quality_exponent
    cross_topic, social_proof, followed_factor = (coef.cross_topic, coef.social_proof,
                                                  coef.followed_factor)
    # columns out of the bundle once (a field read per item costs far more)
    p_created, p_eng_visible, p_is_op = posts.created, posts.eng_visible, posts.is_op
    p_language, p_quality, p_kind = posts.language, posts.quality, posts.kind
    p_topic, timeliness = posts.topic, posts.sparse_timeliness
    zero, one = np.float32(0.0), np.float32(1.0)
    for i in range(i0, i1):
        if i + AHEAD < i1:
            fetch_fields(users[i + AHEAD], roots[i + AHEAD], community, language, propensity,
                         posts)
        u, r = users[i], roots[i]
        prop, quality = np.float32(propensity[u]), p_quality[r]
        comp = comprehension[language[u], p_language[r]]
        match = (1.0 if community[u] == p_topic[r] else cross_topic) * np.float64(comp)
        match = match * np.float64(quality ** exponent)
        if p_kind[r] != KIND_ORGANIC:  # (timeliness is 1 on organic originals)
            match = match * np.float64(timeliness[sparse_row(posts, r)])
        match = match * np.float64(fresh[now - p_created[r]])
        e = p_eng_visible[r]
        match = match * (1.0 + social_proof * (LOG1P[e] if e < LOG1P.size
                                                else math.log1p(np.float64(e))))
        match = match * (followed_factor if followed[i] else 1.0)
        pm = np.float64(prop) * match
        for j in range(4):
            x = np.float32(np.float64(base[j]) * pm) if j < 3 or p_is_op[r] else zero
            out[i, j] = min(max(x, zero), one)
        x = base[4] * prop * (one - quality) * comp
        out[i, 4] = min(max(x, zero), one)


@njit(cache=True, inline="always")
def fetch_fields(u, r, community, language, propensity, posts):
    """Prefetch what :func:`engagement_probs` reads of reader ``u`` and root ``r``."""
    prefetch(community, u)
    prefetch(language, u)
    prefetch(propensity, u)
    prefetch(posts.topic, r)
    prefetch(posts.language, r)
    prefetch(posts.quality, r)
    prefetch(posts.created, r)
    prefetch(posts.eng_visible, r)
    prefetch(posts.is_op, r)


@njit(cache=True)
def tally(acts, users, roots, op, posts, engaged, is_media, is_high_profile):
    """Count each read's likes, reshares and replies (``acts`` columns: like, reshare, reply,
    follow, report) on its root, and for operation content mark the reader as engaged and
    total (likes, reshares, replies, reports, reshares by media accounts, by high-profile
    accounts)."""
    sums = np.zeros(6, np.int64)
    # columns out of the bundle once (a field read per item costs far more)
    p_eng_visible = posts.eng_visible
    p_likes_organic = posts.likes_organic
    p_replies_organic = posts.replies_organic
    p_reshares_organic = posts.reshares_organic
    for i in range(users.size):
        r = roots[i]
        like, reshare, reply, report = acts[i, 0], acts[i, 1], acts[i, 2], acts[i, 4]
        if not (like or reshare or reply or report):
            continue  # most reads: nothing to count (and the root's counters stay unloaded)
        p_likes_organic[r] += like
        p_reshares_organic[r] += reshare
        p_replies_organic[r] += reply
        p_eng_visible[r] += like + reshare + reply
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
def engagement(stream, users, items, n_from_feed, posts, exposure, exposed, indptr, followers,
               op_keys, n_users, community, language, propensity, now, coef, fresh,
               fixed_reshare, alive, account_platform, here, memory_row, memory, reports,
               engaged, is_media, is_high_profile):
    """What the readers of a batch do, in one pass: :func:`impressions`, the probabilities
    (:func:`engagement_probs`, or in validation mode, ``fixed_reshare`` >= 0, that reshare
    probability alone), the draws (:func:`draw_actions`, from ``stream``), then the rules that
    keep a drawn follow (:func:`followable`) and a drawn reshare (:func:`standing_reshares`),
    the reports kept on operation content (:func:`count_reports`), and :func:`tally`.
    The same results as ``OrganicUsers``'s steps one after the other, which call the same
    rules. Returns (roots, whether operation content, authors, actions, totals)."""
    roots, op, authors, followed = impressions(users, items, n_from_feed, posts, exposure,
                                               exposed, indptr, followers, op_keys, n_users)
    if fixed_reshare >= 0:
        probs = np.zeros((users.size, 5), np.float32)
        probs[:, 1] = fixed_reshare
    else:
        probs = engagement_probs(users, roots, followed, community, language, propensity, posts,
                                 now, coef, fresh)
    acts = draw_actions(stream, probs)
    drawn = np.flatnonzero(acts[:, 3])
    ok = followable(authors[drawn], followed[drawn], alive, account_platform, here, n_users)
    for j in range(drawn.size):
        acts[drawn[j], 3] = ok[j]
    stand = standing_reshares(users, roots, acts[:, 1], memory_row, memory, posts.gid.size)
    for i in range(stand.size):
        acts[i, 1] = stand[i]
    count_reports(acts[:, 4], roots, posts, reports)
    return roots, op, authors, acts, tally(acts, users, roots, op, posts, engaged, is_media,
                                           is_high_profile)


@njit(cache=True)
def count_reports(report, roots, posts, reports):
    """Count each report (``report[i]``: read ``i``'s reader reported its root) in the root's
    row of the sparse column ``reports``: kept per post for operation content alone, the roots
    that are not organic originals."""
    for i in range(roots.size):
        if report[i] and posts.kind[roots[i]] != KIND_ORGANIC:
            reports[sparse_row(posts, roots[i])] += 1


@njit(cache=True, inline="always")
def first_of_pairs(users, roots, cand, n_posts):
    """Whether each ``cand[j]`` (reads, in batch order) is the first of its (reader, root) pair
    among them: a hash set of the pairs seen, so no sort."""
    size = 2
    while size < 2 * cand.size:
        size *= 2
    seen = np.full(size, -1, np.int64)
    first = np.zeros(cand.size, np.bool_)
    for j in range(cand.size):
        key = np.int64(users[cand[j]]) * (n_posts + 1) + roots[cand[j]]
        h = np.int64((np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) \
            & (size - 1)
        while seen[h] != -1 and seen[h] != key:
            h = (h + 1) & (size - 1)
        if seen[h] == -1:
            seen[h] = key
            first[j] = True
    return first


@njit(cache=True, inline="always")
def not_remembered_one(row, root, memory):
    """Whether ``root`` is absent from memory row ``row`` (``-1``: nothing remembered)."""
    if row < 0:
        return True
    for s in range(memory.shape[1]):
        if memory[row, s] == root:
            return False
    return True
