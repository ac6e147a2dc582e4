"""The compiled loops implement their stated rules.

The per-agent reference (``tests/test_reference.py``) checks them inside whole runs; these check
them alone: against an independent statement of the same rule on random inputs that reach the
corners (more than ``K`` deliveries to one feed in a batch, repeated indices, empty slices, aged
out, removed and demoted items, ties), and the random parts against their known distributions.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, chisquare

import sim
from sim import streams
from sim.feeds import Feeds, Ranking
from sim.feeds import kernels as feed_kernels
from sim.model import InfluenceModel
from sim.network import (
    NARROW_IDS,
    SEARCH_CHUNK,
    CumIndex,
    _from_edges,
    _from_keys,
    _indptr,
    bisect_right,
    bucket_span,
    csr_contains,
    csr_from_sorted,
    distinct_edges,
    draw_targets,
    draw_targets_parallel,
    empty_ids,
    id_at,
    pack_ids,
    partition,
    set_id,
    split_at_authors,
    unpack_ids,
)
from sim.operation import kernels as operation_kernels
from sim.organic import ReshareMemory, kernels
from sim.organic.engagement import Coefficients, action_probs, freshness, match_factor
from sim.population import largest
from sim.posts import KIND_OP_POST, KIND_ORGANIC, RECORD, PostColumns, PostStore, Renumbering
from sim.runner import resolve_config


def post_columns(n: int, **given: np.ndarray) -> PostColumns:
    """A post-table bundle of ``n`` rows: the ``given`` arrays, defaults elsewhere. Columns of
    their own are the arrays given (written through); those of the ranking record are copied
    into it (read them back from the bundle); timeliness (a sparse column: ``kind`` must be
    given with it) and ``hijack_reply`` (-1: none) go in through the store's own methods."""
    store = PostStore(capacity=max(n, 1, *(v.size for v in given.values())))
    if "timeliness" in given:
        store.add(kind=given["kind"], timeliness=given.pop("timeliness"))
    hijack = given.pop("hijack_reply", np.full(0, -1))
    for name, values in given.items():
        if name in RECORD.names:
            store.cols[name][: values.size] = values
        else:
            store.cols[name] = values
    store.hijack(np.flatnonzero(hijack >= 0), hijack[hijack >= 0])
    return store.columns()


def pack_flags(flags: np.ndarray) -> np.ndarray:
    """Bool ``(rows, K)`` slot flags as ``(rows, ceil(K / 64))`` 64-bit masks (bit ``s % 64`` of
    word ``s // 64`` is slot ``s``)."""
    n, k = flags.shape
    words = np.zeros((n, (k + 63) // 64), np.uint64)
    for s in range(k):
        words[:, s >> 6] |= flags[:, s].astype(np.uint64) << np.uint64(s & 63)
    return words


def unpack_flags(words: np.ndarray, k: int) -> np.ndarray:
    """Inverse of :func:`pack_flags`."""
    s = np.arange(k)
    return ((words[:, s >> 6] >> (s & 63).astype(np.uint64)) & np.uint64(1)).astype(bool)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_delivery_follows_the_batched_rule(data) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n_users, k = data.draw(st.integers(1, 40)), data.draw(st.sampled_from([1, 2, 5, 64, 70]))
    # a follower graph (CSR) and troll-account followers (sorted account * n + follower)
    deg = rng.integers(0, n_users + 1, n_users)
    indptr = np.concatenate(([0], np.cumsum(deg)))
    followers = np.concatenate([np.sort(rng.choice(n_users, d, replace=False))
                                for d in deg]).astype(np.int32)
    n_acc = 3
    op_keys = np.unique(rng.integers(0, n_acc, 20) * n_users + rng.integers(0, n_users, 20))
    # a batch of posts in creation order, by organic users and troll accounts
    n_posts = data.draw(st.integers(0, 15))
    authors = rng.integers(0, n_users + n_acc, n_posts)
    posts = np.sort(rng.choice(1000, n_posts, replace=False)).astype(np.int32)

    feeds = [Feeds(n_users, k) for _ in range(4)]  # the same earlier state
    a, b, c, d = feeds
    items = rng.integers(-1, 50, (n_users, k))
    unread = pack_flags((items >= 0) & (rng.random((n_users, k)) < 0.5))
    ptr = rng.integers(0, k, n_users)
    for f in feeds:
        f.items[:], f.unread[:], f.ptr[:] = items, unread, ptr
    row_of = rng.permutation(n_users).astype(np.int32)  # user -> feed row
    org = authors < n_users
    lo = np.where(org, indptr[np.minimum(authors, n_users - 1)], 0)
    hi = np.where(org, indptr[np.minimum(authors, n_users - 1) + 1], 0)
    acc = authors[~org] - n_users
    lo[~org] = np.searchsorted(op_keys, acc * n_users)
    hi[~org] = np.searchsorted(op_keys, (acc + 1) * n_users)
    args = (row_of, posts, org, lo, hi, followers, op_keys, n_users)
    made = feed_kernels.fan_out(a.arrays, *args)
    assert feed_kernels.fan_out_parallel(d.arrays, *args, data.draw(st.integers(1, 4))) == made

    rows, batch = [], []  # the same deliveries, pair by pair, for the whole-array rule
    for i in range(n_posts):
        fs = followers[lo[i]:hi[i]] if org[i] else op_keys[lo[i]:hi[i]] % n_users
        rows += row_of[fs].tolist()
        batch += [posts[i]] * fs.size
    _batched_delivery(b, np.array(rows, np.int64), np.array(batch, np.int32))
    c.push(np.array(rows, np.int64), np.array(batch, np.int32))
    assert made == len(rows)
    for f in (b, c, d):
        assert np.array_equal(a.items, f.items) and np.array_equal(a.unread, f.unread)
        assert np.array_equal(a.ptr, f.ptr)


def _batched_delivery(f: Feeds, rows: np.ndarray, posts: np.ndarray) -> None:
    """The delivery rule as whole-array operations: the ``i``-th of a row's ``c`` new items goes
    to slot ``(ptr + i) % K``, only the newest ``K`` of them are written, the pointer moves on by
    ``c``."""
    if rows.size == 0:
        return
    order = np.argsort(rows, kind="stable")
    r, p = rows[order], posts[order]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    counts = np.diff(np.append(starts, r.size))
    rank = np.arange(r.size) - np.repeat(starts, counts)
    slot = (f.ptr[r] + rank) % f.k
    keep = rank >= np.repeat(np.maximum(counts - f.k, 0), counts)
    f.items[r[keep], slot[keep]] = p[keep]
    flags = unpack_flags(f.unread, f.k)
    flags[r[keep], slot[keep]] = True
    f.unread[:] = pack_flags(flags)
    f.ptr[r[starts]] = (f.ptr[r[starts]] + counts) % f.k


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), max_size=8, unique=True), min_size=1, max_size=6),
       st.data())
def test_membership_in_sorted_slices(slices, data) -> None:
    # ids spread over three bytes (up to 2^24 - 1), as they are and packed as graphs store them
    scale = 559_240
    indptr = np.concatenate(([0], np.cumsum([len(s) for s in slices])))
    values = np.array([v for s in slices for v in sorted(s)], np.int32) * scale
    q_rows = np.array(data.draw(st.lists(st.integers(0, len(slices) - 1), max_size=20)), np.int64)
    q_vals = np.array(data.draw(st.lists(st.integers(0, 30), min_size=q_rows.size,
                                         max_size=q_rows.size)), np.int32)
    want = [int(v) in slices[r] for r, v in zip(q_rows, q_vals, strict=True)]
    for stored in (values, pack_ids(values, NARROW_IDS)):
        assert csr_contains(indptr, stored, q_rows, q_vals * scale).tolist() == want


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 2**31 - 1), st.lists(st.integers(0, 2**31 - 2), max_size=20))
def test_packed_ids_read_back_as_stored(n_users, raw) -> None:
    # three bytes an id up to 2^24 users, plain int32 above
    ids = np.array([v % n_users for v in raw], np.int32)
    packed = pack_ids(ids, n_users)
    assert packed.dtype == (np.uint8 if n_users <= NARROW_IDS else np.int32)
    assert packed.nbytes == ids.size * (3 if n_users <= NARROW_IDS else 4)
    stored = empty_ids(ids.size, n_users)  # written one at a time, the same bytes
    for i, v in enumerate(ids):
        set_id(stored, i, v)
    np.testing.assert_array_equal(stored, packed)
    np.testing.assert_array_equal(unpack_ids(packed), ids)
    assert [id_at(packed, i) for i in range(ids.size)] == ids.tolist()


def _read(rng, items, read, n_read, gap=None, rate=0.0, chronological=False, now=100,
          max_age=168, created=None, gid=None, root=None, eng=None, status=None, penalty=0.0,
          weight=1.0, decay=0.1, outside0=0.0, ptr=None):
    """``kernels.read_feeds`` on every row, with read flags as a bool array (updated)."""
    rows = np.arange(items.shape[0])
    gap = np.full(rows.size, 24.0) if gap is None else gap
    unread = pack_flags((items >= 0) & ~read)
    n = int(items.max(initial=0)) + 1
    created = np.zeros(n, np.int32) if created is None else created
    ptr = np.zeros(items.shape[0], np.int32) if ptr is None else ptr
    feed = feed_kernels.FeedArrays(items, unread, ptr)
    rank = Ranking(chronological, float(weight), float(decay), float(rate), float(outside0),
                   int(max_age), float(penalty))
    posts = post_columns(n, created=created,
                         gid=np.arange(n, dtype=np.int64) if gid is None else gid,
                         root=np.arange(n, dtype=np.int32) if root is None else root,
                         eng_visible=np.zeros(n, np.int32) if eng is None else eng,
                         status=np.zeros(n, np.int8) if status is None else status)
    stream = streams.take(rng)
    out = feed_kernels.read_feeds(stream, feed, rows, np.asarray(n_read, np.int32), gap, rank,
                                  posts, now)
    streams.put(rng, stream)
    held = items >= 0
    read[held] = ~unpack_flags(unread, items.shape[1])[held]
    return out


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_reading_takes_the_best_unread_items_in_order(data) -> None:
    """Without outside items: each row reads its ``n_read`` best readable items, best first,
    ties to the lower slot; removed and aged-out items never, demoted ones ``penalty`` lower;
    wherever the row's write pointer is (it sets only the order items are offered in)."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n_rows, n_posts = data.draw(st.integers(1, 6)), 20
    k = data.draw(st.sampled_from([1, 3, 8, 64, 70]))
    chrono = data.draw(st.booleans())
    items = rng.integers(-1, n_posts, (n_rows, k)).astype(np.int32)
    read = rng.random((n_rows, k)) < 0.3
    n_read = rng.integers(0, k + 2, n_rows)
    now, max_age = 100, 30
    created = rng.integers(60, 100, n_posts).astype(np.int32)  # some older than max_age
    gid = rng.permutation(n_posts).astype(np.int64)
    root = np.where(rng.random(n_posts) < 0.3, rng.integers(0, n_posts, n_posts),
                    np.arange(n_posts)).astype(np.int32)
    eng = rng.integers(0, 3, n_posts).astype(np.int32)  # few values: many ties
    status = rng.choice(np.array([0, 1, 2], np.int8), n_posts, p=[0.7, 0.2, 0.1])
    penalty = 0.5
    before = read.copy()
    who, post = _read(np.random.default_rng(0), items, read, n_read, now=now, max_age=max_age,
                      created=created, gid=gid, root=root, eng=eng, status=status,
                      penalty=penalty, chronological=chrono,
                      ptr=rng.integers(0, k, n_rows).astype(np.int32))

    want_who, want_post, want_read = [], [], before.copy()
    for r in range(n_rows):
        cands = []
        for s in range(k):
            p = int(items[r, s])
            if p < 0 or before[r, s] or now - created[p] > max_age:
                continue
            st_ = max(status[p], status[root[p]])
            if st_ == 2:
                continue
            x = (created[p] + gid[p] * 1e-10 if chrono
                 else np.log1p(float(eng[root[p]])) - 0.1 * (now - created[p]))
            cands.append((x - (penalty if st_ == 1 else 0.0), s, p))
        cands.sort(key=lambda c: (-c[0], c[1]))
        for _, s, p in cands[: n_read[r]]:
            want_who.append(r)
            want_post.append(p)
            want_read[r, s] = True
    assert who.tolist() == want_who and post.tolist() == want_post
    assert np.array_equal(read, want_read)


def test_outside_items_take_attention_as_a_poisson_process() -> None:
    """One feed item ``a`` hours old against outside items arriving at rate ``lam`` over the
    last ``g`` hours, all alike but for age (engagement ranking): with one item of attention the
    feed item is read only if no outside item is younger, probability ``exp(-lam * a)``; with
    two, only if at most one is, ``(1 + lam * a) exp(-lam * a)``."""
    n, lam, a, g = 20_000, 0.5, 3, 24.0
    items = np.zeros((n, 1), np.int32)
    created = np.array([100 - a], np.int32)
    for n_read, p in ((1, np.exp(-lam * a)), (2, (1 + lam * a) * np.exp(-lam * a))):
        read = np.zeros((n, 1), bool)
        who, _ = _read(np.random.default_rng(n_read), items, read, np.full(n, n_read),
                       gap=np.full(n, g), rate=lam, created=created, now=100)
        assert binomtest(who.size, n, p).pvalue > 1e-3, (n_read, who.size / n, p)
        assert np.array_equal(read[:, 0], np.isin(np.arange(n), who))
    # outside items arrived only within the gap: none older than a, so none outranks it
    read = np.zeros((n, 1), bool)
    who, _ = _read(np.random.default_rng(3), items, read, np.full(n, 1), gap=np.full(n, 1.0 * a),
                   rate=lam, created=np.array([100 - 2 * a], np.int32), now=100)
    assert binomtest(who.size, n, np.exp(-lam * a)).pvalue > 1e-3


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_rows=st.integers(40, 3 * feed_kernels.READ_CHUNK + 7),
       parts=st.integers(1, 4), chrono=st.booleans())
def test_a_parallel_read_makes_the_reads_and_draws_of_one_thread(seed, n_rows, parts,
                                                                  chrono) -> None:
    """Chunks gathered on several threads while one thread takes the best items: the same
    reads, the same slots marked read and the stream left where one thread leaves it, with
    outside items competing (draws), removed, demoted and aged-out items, over several chunks
    and a partial last one."""
    rng = np.random.default_rng(seed)
    k, n_posts, now = 30, 500, 100
    items = rng.integers(-1, n_posts, (n_rows + 5, k)).astype(np.int32)
    unread = pack_flags((items >= 0) & (rng.random(items.shape) < 0.6))
    ptr = rng.integers(0, k, n_rows + 5).astype(np.int32)
    rows = rng.permutation(n_rows + 5)[:n_rows]  # a platform-hour's distinct online rows
    n_read = rng.integers(0, 8, n_rows).astype(np.int32)
    gap = rng.choice(np.array([1.0, 6.0, 24.0]), n_rows)
    root = np.where(rng.random(n_posts) < 0.3, rng.integers(0, n_posts, n_posts),
                    np.arange(n_posts)).astype(np.int32)
    posts = post_columns(n_posts, created=rng.integers(40, 100, n_posts).astype(np.int32),
                         gid=rng.permutation(n_posts).astype(np.int64), root=root,
                         eng_visible=rng.integers(0, 50, n_posts).astype(np.int32),
                         status=rng.choice(np.array([0, 1, 2], np.int8), n_posts,
                                           p=[0.8, 0.1, 0.1]))
    rank = Ranking(chrono, 1.0, 0.1, 0.5, 2.0, 48, 0.5)
    out = []
    for kernel, extra in ((feed_kernels.read_feeds, ()), (feed_kernels.read_parallel, (parts,))):
        feed = feed_kernels.FeedArrays(items.copy(), unread.copy(), ptr.copy())
        stream = streams.take(np.random.default_rng(seed))
        who, post = kernel(stream, feed, rows, n_read, gap, rank, posts, now, *extra)
        out.append((who.tolist(), post.tolist(), feed.unread, stream))
    (who1, post1, unread1, stream1), (who2, post2, unread2, stream2) = out
    assert who1 == who2 and post1 == post2 and len(who1) > 0
    assert np.array_equal(unread1, unread2) and np.array_equal(stream1, stream2)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 1.0]), min_size=5, max_size=5), max_size=30))
def test_action_draws_are_certain_where_probabilities_are_0_or_1(rows) -> None:
    probs = np.array(rows, np.float32).reshape(-1, 5)
    drawn = kernels.draw_actions(streams.take(np.random.default_rng(1)), probs)
    assert np.array_equal(drawn, probs == 1)


def test_action_draws_are_independent_coins() -> None:
    """Every one of the 2^3 joint outcomes of three events has its product probability."""
    p = np.array([0.3, 0.05, 0.6], np.float32)
    n = 200_000
    out = kernels.draw_actions(streams.take(np.random.default_rng(5)), np.tile(p, (n, 1)))
    code = out[:, 0] * 4 + out[:, 1] * 2 + out[:, 2]
    bits = (np.arange(8)[:, None] >> np.array([2, 1, 0])) & 1
    q = p.astype(np.float64)
    expected = n * np.prod(np.where(bits == 1, q, 1 - q), axis=1)
    assert chisquare(np.bincount(code, minlength=8), expected).pvalue > 1e-3


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 130), st.integers(0, 2**32 - 1))
def test_slot_flags_pack_into_64_bit_words_and_back(k, seed) -> None:
    flags = np.random.default_rng(seed).random((5, k)) < 0.4
    words = pack_flags(flags)
    assert words.shape == (5, (k + 63) // 64)
    assert np.array_equal(unpack_flags(words, k), flags)
    f = Feeds(5, k)
    f.unread[:] = words
    assert all(f.is_unread(r, s) == flags[r, s] for r in range(5) for s in range(k))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 130), st.booleans())
def test_a_compaction_remaps_every_feed_slot_through_its_map(seed, k, parallel) -> None:
    """After a compaction each filled slot holds its post's new index, a slot whose post was
    dropped is empty and read, and nothing else changes, whether a post comes after the last
    one dropped (a plain shift) or not (the map), on one thread or several."""
    rng = np.random.default_rng(seed)
    n_posts, n_rows = 50, 6
    keep = rng.random(n_posts) < rng.choice([0.0, 0.5, 1.0])  # (some drop nothing, or all)
    keep[: rng.integers(0, n_posts)] &= rng.random() < 0.5  # (a dropped head, or a kept one)
    new = np.full(n_posts + 1, -1, np.int32)
    new[:n_posts][keep] = np.arange(keep.sum())
    items = rng.integers(-1, n_posts, (n_rows, k)).astype(np.int32)
    unread = (rng.random((n_rows, k)) < 0.5) & (items >= 0)
    f = Feeds(n_rows, k)
    f.items[:], f.unread[:] = items, pack_flags(unread)
    dropped = np.flatnonzero(~keep)
    last = int(dropped[-1]) if dropped.size else -1
    with mock.patch("sim.feeds.parallel_worth", lambda *_: parallel):
        f.remap(Renumbering(new, last, dropped.size))
    want = np.where(items >= 0, new[items], -1)
    assert np.array_equal(f.items, want)
    assert np.array_equal(unpack_flags(f.unread, k), unread & (want >= 0))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 40))
def test_impressions_count_and_find_followed_authors(seed, n_reads) -> None:
    rng = np.random.default_rng(seed)
    n_users, n_acc, n_posts = 8, 3, 12
    follows = {(a, u) for a in range(n_users + n_acc) for u in range(n_users)
               if rng.random() < 0.3}
    indptr = np.zeros(n_users + 1, np.int64)
    for a in range(n_users):
        indptr[a + 1] = indptr[a] + sum((a, u) in follows for u in range(n_users))
    followers = np.array([u for a in range(n_users) for u in range(n_users) if (a, u) in follows],
                         np.int32)
    op_keys = np.array(sorted((a - n_users) * n_users + u for a, u in follows if a >= n_users),
                       np.int64)
    root = np.where(rng.random(n_posts) < 0.4, rng.integers(0, n_posts, n_posts),
                    np.arange(n_posts)).astype(np.int32)
    author = rng.integers(0, n_users + n_acc, n_posts).astype(np.int32)
    is_op = author >= n_users
    users = rng.integers(0, n_users, n_reads).astype(np.int32)
    posts = rng.integers(0, n_posts, n_reads).astype(np.int32)
    n_feed = int(rng.integers(0, n_reads + 1))
    imp, exposure = np.zeros(n_posts, np.int32), np.zeros(n_users, np.int32)
    exposed = np.zeros(1, np.int64)
    table = post_columns(n_posts, root=root, is_op=is_op, author=author, imp_organic=imp)
    roots, op, authors, followed = kernels.impressions(
        users, posts, n_feed, table, exposure, exposed, indptr, followers, op_keys, n_users)
    assert np.array_equal(roots, root[posts]) and np.array_equal(authors, author[roots])
    assert np.array_equal(op, is_op[roots])
    assert np.array_equal(imp, np.bincount(roots, minlength=n_posts))
    assert np.array_equal(exposure, np.bincount(users[op], minlength=n_users))
    assert exposed[0] == np.count_nonzero(exposure)
    want = [(i < n_feed and posts[i] == roots[i]) or (int(authors[i]), int(u)) in follows
            for i, u in enumerate(users)]
    assert followed.tolist() == want
    # in 1-5 parts, uneven ones among them (counters added atomically, the threads adding to
    # the same few at once): the same reads and counts
    k = 50_000 // max(n_reads, 1) + 1
    args = (np.tile(users, k), np.tile(posts, k), n_feed, table, exposure, exposed, indptr,
            followers, op_keys, n_users)
    imp[:], exposure[:], exposed[:] = 0, 0, 0
    want = (*kernels.impressions(*args), imp.copy(), exposure.copy(), exposed.copy())
    for parts in range(1, 6):
        imp[:], exposure[:], exposed[:] = 0, 0, 0
        got = (*kernels.impressions_parallel(*args, parts), imp, exposure, exposed)
        assert all(np.array_equal(a, b) for a, b in zip(want, got, strict=True))
    assert want[-3].sum() == k * n_reads


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 40))
def test_tally_counts_actions_on_roots_and_operation_totals(seed, n) -> None:
    rng = np.random.default_rng(seed)
    acts = rng.random((n, 5)) < 0.3
    users = rng.integers(0, 6, n).astype(np.int32)
    roots = rng.integers(0, 9, n).astype(np.int32)
    op = rng.random(n) < 0.5
    media, high = rng.random(6) < 0.5, rng.random(6) < 0.5
    cols = [np.zeros(9, np.int32) for _ in range(4)]
    engaged = np.zeros(6, bool)
    table = post_columns(9, **dict(zip(("likes_organic", "reshares_organic", "replies_organic",
                                        "eng_visible"), cols, strict=True)))
    sums = kernels.tally(acts, users, roots, op, table, engaged, media, high)
    like, reshare, reply, _, report = acts.T
    cols[3] = table.eng_visible[:9]  # (a column of the ranking record: copied in)
    for col, a in zip(cols, (like, reshare, reply, like.astype(int) + reshare + reply),
                      strict=True):
        want = np.zeros(9, np.int64)
        np.add.at(want, roots, a)
        assert np.array_equal(col, want)
    eng = (like | reshare | reply) & op
    assert np.array_equal(engaged, np.isin(np.arange(6), users[eng]))
    assert sums.tolist() == [int((a & op).sum()) for a in (like, reshare, reply, report)] + [
        int(media[users[reshare & op]].sum()), int(high[users[reshare & op]].sum())]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_the_compiled_formula_gives_the_array_formulas_bits(seed, engaged) -> None:
    """``engagement.action_probs`` (one compiled pass) equals, bit for bit, the formula written
    on arrays: the reads' fields gathered by indexing, ``match_factor``, then each base
    probability times propensity times the match (follows for operation content only), reports
    ``report_prob * propensity * (1 - quality) * comprehension``, clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    cfg = resolve_config(sim.Config(), overrides={
        "engagement.cross_topic_factor": float(rng.uniform(0.05, 1)),
        "engagement.quality_exponent": float(rng.uniform(0.5, 3)),
        "engagement.freshness_halflife_hours": float(rng.uniform(1, 48)),
        "engagement.social_proof_weight": float(rng.uniform(0, 2)),
        "engagement.followed_author_factor": float(rng.uniform(1, 5)),
        "population.like_prob": float(rng.uniform(0, 0.9)),
        "population.report_prob": float(rng.uniform(0, 0.9))})
    c = Coefficients.from_config(cfg)
    n, n_users, n_posts, now = 500, 60, 90, 300
    users = rng.integers(0, n_users, n).astype(np.int32)
    roots = rng.integers(0, n_posts, n).astype(np.int32)
    followed = rng.random(n) < 0.5
    comm = rng.integers(0, 5, n_users).astype(np.int8)
    lang = rng.integers(0, 3, n_users).astype(np.int8)
    prop = (rng.random(n_users) * 3).astype(np.float32)
    is_op = rng.random(n_posts) < 0.5  # (timeliness below 1 for operation content alone)
    posts = dict(topic=rng.integers(0, 5, n_posts).astype(np.int8),
                 language=rng.integers(0, 3, n_posts).astype(np.int8),
                 quality=rng.random(n_posts).astype(np.float32),
                 timeliness=np.where(is_op, rng.random(n_posts), 1).astype(np.float32),
                 created=rng.integers(0, now + 1, n_posts).astype(np.int32),
                 eng_visible=rng.integers(0, 10**5 if engaged else 5, n_posts).astype(np.int32),
                 is_op=is_op, kind=np.where(is_op, KIND_OP_POST, KIND_ORGANIC).astype(np.int8))
    got = action_probs(c, users, roots, followed, comm, lang, prop, post_columns(n_posts, **posts),
                       now)
    p = {k: v[roots] for k, v in posts.items()}
    match = match_factor(c, comm[users], lang[users], p["topic"], p["language"], p["quality"],
                         p["timeliness"], (now - p["created"]).astype(np.float32),
                         p["eng_visible"], followed)
    pm = prop[users] * match
    want = np.empty((n, 5), np.float32)
    for j in range(3):
        want[:, j] = c.base[j] * pm
    want[:, 3] = np.where(p["is_op"], c.base[3] * pm, 0.0)
    want[:, 4] = c.base[4] * prop[users] * (1.0 - p["quality"]) * c.comprehension[lang[users],
                                                                                  p["language"]]
    want = np.clip(want, 0.0, 1.0)
    assert got.dtype == np.float32 and np.array_equal(got.view(np.uint32), want.view(np.uint32))
    # the parallel pass, in 1-5 parts (uneven ones among them), gives the same rows
    k = 1_000 // n + 1
    for parts in range(1, 6):
        par = kernels.engagement_probs_parallel(
            np.tile(users, k), np.tile(roots, k), np.tile(followed, k), comm, lang, prop,
            post_columns(n_posts, **posts), now, c.terms,
            freshness(c, np.arange(now + 1, dtype=np.float32)), parts)
        assert np.array_equal(par.view(np.uint32), np.tile(got, (k, 1)).view(np.uint32))


def test_the_freshness_table_is_the_formula_at_every_hour() -> None:
    """The organic users' freshness by age, a table made once (and made longer if a run goes
    on past its configured hours), gives at every hour the bits of ``freshness`` over ages 0 to
    the hour."""
    o = InfluenceModel(resolve_config(sim.Config(), users=200, days=1)).organic
    for now in (0, 7, o.cfg.ticks, o.cfg.ticks + 1, 5 * o.cfg.ticks):
        o.now = now
        want = freshness(o.coef, np.arange(now + 1, dtype=np.float32))
        assert np.array_equal(o.freshness().view(np.uint32), want.view(np.uint32))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 300))
def test_reply_views_draw_as_numpy_would(seed, n) -> None:
    """The compiled draws are numpy's own: with one seed, the same uniforms in the same order
    as the whole-array rule, and the generator left in the same state (who goes online:
    ``tests/test_streams.py``)."""
    rng = np.random.default_rng(seed)
    a, b = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    n_posts = 20
    root = np.where(rng.random(n_posts) < 0.5, rng.integers(0, n_posts, n_posts),
                    np.arange(n_posts)).astype(np.int32)
    platform = rng.integers(0, 2, n_posts).astype(np.int8)
    hijack = np.where(rng.random(n_posts) < 0.5, rng.integers(0, n_posts, n_posts),
                      -1).astype(np.int32)
    posts = rng.integers(0, n_posts, n).astype(np.int32)
    table = post_columns(n_posts, root=root, platform=platform, hijack_reply=hijack)
    stream = streams.take(a)
    who, reply = kernels.reply_views(stream, posts, table, 1, 0.4)
    streams.put(a, stream)
    r = root[posts]
    shown = np.where(platform[r] == 1, hijack[r], -1)
    seen = np.flatnonzero((shown >= 0) & (b.random(n) < 0.4))
    assert np.array_equal(who, seen) and np.array_equal(reply, shown[seen])
    assert a.random() == b.random()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 60))
def test_first_reshares_stand_once_and_not_from_memory(seed, n) -> None:
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 4, n).astype(np.int32)
    roots = rng.integers(0, 6, n).astype(np.int32)
    reshare = rng.random(n) < 0.6
    memory = rng.integers(-1, 6, (4, 3)).astype(np.int32)  # -1: empty (a user may have no row)
    mem = ReshareMemory(4, 3)
    for u, slot in zip(*np.nonzero(memory >= 0), strict=True):
        mem.remember(np.array([u]), memory[u, slot: slot + 1])
    got = kernels.first_reshares(users, roots, reshare, mem, 6)
    seen, want = set(), []
    for u, r, x in zip(users.tolist(), roots.tolist(), reshare.tolist(), strict=True):
        want.append(x and (u, r) not in seen and r not in memory[u])
        if x:
            seen.add((u, r))
    assert got.tolist() == want


def test_graph_slice_bounds_widen_past_2_31_edges() -> None:
    small, big = _indptr(np.array([3, 0, 2])), _indptr(np.array([2**31 - 1, 5]))
    assert small.dtype == np.int32 and small.tolist() == [0, 3, 3, 5]
    assert big.dtype == np.int64 and big.tolist() == [0, 2**31 - 1, 2**31 + 4]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 300))
def test_bucketed_search_is_searchsorted(seed, m) -> None:
    # cumulative fitness with runs of zero fitness (ties), searched at random values, at every
    # entry and bucket edge, at 0, at the top and beyond it
    rng = np.random.default_rng(seed)
    fitness = rng.pareto(1.5, m) * (rng.random(m) < 0.7)
    cum = np.cumsum(fitness)
    if cum[-1] == 0:
        cum[-1] = 1.0
    index = CumIndex.of(cum)
    edges = np.arange(index.buckets) * index.step
    xs = np.concatenate((rng.random(200) * cum[-1], cum, edges,
                         np.nextafter(edges, -1.0).clip(0), [0.0, cum[-1], 2 * cum[-1]]))
    want = np.searchsorted(cum, xs, side="right").tolist()
    # the bucket a value falls in is only a first guess, corrected by stepping
    for guess in (index, index._replace(scale=index.scale * 3), index._replace(scale=0.0)):
        assert [bisect_right(cum, x, *bucket_span(guess, x)) for x in xs] == want
    zero = np.zeros(m)  # no fitness at all: one bucket
    assert bisect_right(zero, 0.0, *bucket_span(CumIndex.of(zero), 0.0)) == m
    assert CumIndex.of(zero).first.size == 2


@given(st.lists(st.integers(0, 6), max_size=40), st.integers(-1, 45))
def test_largest_are_a_stable_sorts_first(values, k) -> None:
    # (small integers: many ties, which go to the earlier position)
    x = np.array(values, np.float64)
    want = np.argsort(-x, kind="stable")[: max(k, 0)]
    assert sorted(largest(x, k).tolist()) == sorted(want.tolist())


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 60), st.integers(0, 400))
def test_chung_lu_targets_follow_the_rule_on_any_threads(seed, n, n_edges) -> None:
    check_targets(seed, n, n_edges)


def test_chung_lu_targets_follow_the_rule_across_search_chunks() -> None:
    check_targets(7, 500, 2 * SEARCH_CHUNK + 123)  # (three parts: chunks cut mid-part)


def check_targets(seed: int, n: int, n_edges: int) -> None:
    # follower f draws the member at position lo + u * (hi - lo) of the cumulative fitness,
    # within its community's span if it drew homophily and that span has fitness
    rng = np.random.default_rng(seed)
    community = rng.integers(0, 3, n)
    fitness = rng.pareto(1.5, n) * (rng.random(n) < 0.8)
    fitness[community == rng.integers(0, 4)] = 0.0  # often a community without fitness
    fitness[0] += 1.0
    by_comm = np.argsort(community, kind="stable")
    cum = np.cumsum(fitness[by_comm])
    span = [np.flatnonzero(community[by_comm] == c) for c in range(3)]
    lo_w = np.array([cum[s[0] - 1] if s.size and s[0] > 0 else 0.0 for s in span])
    hi_w = np.array([cum[s[-1]] if s.size else 0.0 for s in span])
    follower = rng.integers(0, n, n_edges)
    drawn = np.random.default_rng(seed + 1)  # the kernels draw what numpy draws here:
    within, u = drawn.random(n_edges) < 0.7, drawn.random(n_edges)
    c = community[follower]
    w = within & (hi_w[c] > lo_w[c])
    lo, hi = np.where(w, lo_w[c], 0.0), np.where(w, hi_w[c], cum[-1])
    author = by_comm[np.minimum(np.searchsorted(cum, lo + u * (hi - lo), side="right"), n - 1)]
    want = np.where(author != follower, author * n + follower, -1)
    args = (follower, 0.7, community, lo_w, hi_w, CumIndex.of(cum), by_comm, n)
    serial, parallel = np.empty(n_edges, np.int64), np.empty(n_edges, np.int64)
    s1, s2 = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    streams.draw(s1, draw_targets, serial, *args)
    streams.draw(s2, draw_targets_parallel, parallel, *args, 3)
    assert serial.tolist() == want.tolist() == parallel.tolist()
    assert s1.bit_generator.state == s2.bit_generator.state == drawn.bit_generator.state


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-1, 63), max_size=80))
def test_sorted_edge_keys_become_csr(keys) -> None:
    key = np.sort(np.array(keys, np.int64))  # author * 8 + follower, -1: no edge
    distinct = np.unique(key[key >= 0])
    assert distinct_edges(key) == distinct.size
    # followers packed in three bytes (as up to 2^24 users), or plain int32 (as above)
    for followers in (empty_ids(distinct.size, 8), np.empty(distinct.size, np.int32)):
        counts = np.zeros(8, np.int64)
        csr_from_sorted(key, 8, followers, counts)
        assert counts.tolist() == np.bincount(distinct // 8, minlength=8).tolist()
        assert unpack_ids(followers).tolist() == (distinct % 8).tolist()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 40), st.integers(0, 600), st.integers(1, 5))
def test_edge_keys_become_the_graph_in_runs_of_authors(seed, n, n_edges, parts) -> None:
    # heavy-tailed authors (a few hold many keys), repeats and self-follows; the runs split at
    # authors, each sorted on a thread of its own, give the graph of the plain rule
    rng = np.random.default_rng(seed)
    author = np.minimum(rng.zipf(1.5, n_edges) - 1, n - 1)
    follower = rng.integers(0, n, n_edges)
    key = np.where(author != follower, author * n + follower, -1)
    pivot = int(rng.integers(-1, n * n + 1))
    below = partition(shuffled := rng.permutation(key), pivot)
    assert (shuffled[:below] < pivot).all() and (shuffled[below:] >= pivot).all()
    assert sorted(shuffled.tolist()) == sorted(key.tolist())
    runs = split_at_authors(key.copy(), n, parts)
    assert len(runs) <= parts and sum(r.size for r in runs) == key.size
    for a, b in zip(runs, runs[1:], strict=False):  # whole authors, in order
        if a.size and b.size:
            assert a.max() // n < b.min() // n
    want = _from_edges(n, author, follower)
    got = _from_keys(n, key, parts)
    assert got.indptr.tolist() == want.indptr.tolist()
    assert unpack_ids(got.ids).tolist() == unpack_ids(want.ids).tolist()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), n_platforms=st.integers(2, 4),
       prob=st.sampled_from([0.0, 0.3, 1.0]), data=st.data())
def test_cross_posts_draw_as_numpy_did(seed, n, n_platforms, prob, data) -> None:
    """The compiled cross-posting pass draws what numpy's array formula drew, number for number
    (all the carry uniforms, then a row of platform uniforms per carrier), and leaves the
    generator where it left it: the carriers, the platform each takes, who carries nothing."""
    member = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=n_platforms,
                                                  max_size=n_platforms), min_size=n, max_size=n)),
                      bool).reshape(n, n_platforms)
    users = np.arange(n)
    here = data.draw(st.integers(0, n_platforms - 1))
    rng = np.random.default_rng(seed)
    carry = np.flatnonzero(rng.random(n) < prob)  # (what the engine drew before)
    options = member[users[carry]].copy()
    options[:, here] = False
    score = np.where(options, rng.random(options.shape), -1.0)
    has = options.any(axis=1)
    expect = carry[has], np.argmax(score[has], axis=1).astype(np.int8)
    mine = np.random.default_rng(seed)
    got = streams.draw(mine, kernels.cross_posts, users, member, here, prob)
    for x, y in zip(got, expect, strict=True):
        np.testing.assert_array_equal(x, y)
        assert x.dtype == y.dtype
    assert mine.random() == rng.random()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 6), min_size=1, max_size=8),
       st.sampled_from([(0.0, 0.5), (0.3, 0.9), (0.0, 0.0), (0.0, 1.0)]),
       st.sampled_from([0.0, 0.4, 3.0]), st.lists(st.integers(0, 40), min_size=1, max_size=3),
       st.sampled_from([(0.6, 0.8), (2.0, 5.0)]))
def test_acquisition_draws_are_each_operators_numpy_draws_in_turn(seed, sizes, kinds, mean,
                                                                   members, ab) -> None:
    """An acquisition's compiled pass draws what each operator's turn drew with numpy, turn
    after turn: kind uniforms, community and language uniforms, Beta fluencies, then the
    hijacked accounts' old-audience sizes (geometric - 1) and, platform after platform, one
    uniform member index per follower (none where the platform has no members); the
    generator ends where numpy's does."""
    lo_u, hi_u = kinds
    p = 1.0 / (1.0 + mean) if mean > 0 and lo_u < hi_u else 0.0
    ends = np.cumsum(sizes)
    starts = ends - np.array(sizes)
    platform = np.random.default_rng(seed + 1).integers(0, len(members), ends[-1])
    g, want = np.random.default_rng(seed), np.random.default_rng(seed)
    drawn, pairs = [], []
    for lo, hi in zip(starts, ends, strict=True):
        n = hi - lo
        u = want.random(n)
        drawn.append((u, want.random(n), want.random(n), want.beta(*ab, n)))
        hij = np.flatnonzero((u >= lo_u) & (u < hi_u)) + lo
        if p == 0 or hij.size == 0:
            continue
        size = want.geometric(p, hij.size) - 1
        for q, m in enumerate(members):
            a = np.repeat(hij[platform[hij] == q], size[platform[hij] == q])
            if a.size and m:
                pairs += [(i, q, j) for i, j in zip(a, want.integers(0, m, a.size), strict=True)]
    s = streams.take(g)
    got = operation_kernels.acquisition_draws(s, starts, ends, *ab, lo_u, hi_u, p, platform,
                                              np.array(members, np.int64))
    streams.put(g, s)
    for column, expected in zip(got[:4], zip(*drawn, strict=True), strict=True):
        np.testing.assert_array_equal(column, np.concatenate(expected))
    np.testing.assert_array_equal(got[4], np.array(pairs, np.int64).reshape(-1, 3))
    assert g.bit_generator.state == want.bit_generator.state
