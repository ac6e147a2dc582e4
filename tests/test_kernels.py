"""The compiled loops implement the same rules as the whole-array code they replaced.

The golden runs and the per-agent reference check them inside whole runs; these check them alone,
on random inputs that reach the corners (more than ``K`` deliveries to one feed in a batch,
repeated indices, empty slices).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import kernels
from sim.feeds import Feeds


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_delivery_keeps_the_newest_k_per_feed_like_the_batched_rule(data) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n_users, k = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 6))
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

    a, b = Feeds(n_users, k), Feeds(n_users, k)  # the same earlier state
    a.items[:] = b.items[:] = rng.integers(-1, 50, (n_users, k))
    a.read[:] = b.read[:] = rng.random((n_users, k)) < 0.5
    a.ptr[:] = b.ptr[:] = rng.integers(0, k, n_users)
    org = authors < n_users
    lo = np.where(org, indptr[np.minimum(authors, n_users - 1)], 0)
    hi = np.where(org, indptr[np.minimum(authors, n_users - 1) + 1], 0)
    acc = authors[~org] - n_users
    lo[~org] = np.searchsorted(op_keys, acc * n_users)
    hi[~org] = np.searchsorted(op_keys, (acc + 1) * n_users)
    count = np.zeros(n_users, np.int32)
    made = kernels.deliver(a.items, a.read, a.ptr, np.arange(n_users, dtype=np.int32), posts,
                           org, lo, hi, followers, op_keys, n_users, count)

    rows, batch = [], []  # the same deliveries, pair by pair, for the whole-array rule
    for i in range(n_posts):
        fs = followers[lo[i]:hi[i]] if org[i] else op_keys[lo[i]:hi[i]] % n_users
        rows += fs.tolist()
        batch += [posts[i]] * fs.size
    b.deliver(np.array(rows, np.int64), np.array(batch, np.int32))
    assert made == len(rows) and not count.any()
    assert np.array_equal(a.items, b.items) and np.array_equal(a.read, b.read)
    assert np.array_equal(a.ptr, b.ptr)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=40), st.lists(st.integers(-3, 3), max_size=40))
def test_counting_at_indices_matches_numpy(index, values) -> None:
    index = np.array(index, np.int64)
    values = np.resize(np.array(values or [1], np.int32), index.size)
    for fn, args in ((kernels.count_at, (index,)), (kernels.add_at, (index, values))):
        got, want = np.zeros(10, np.int32), np.zeros(10, np.int32)
        fn(got, *args)
        np.add.at(want, index, 1 if fn is kernels.count_at else values)
        assert np.array_equal(got, want)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), max_size=8, unique=True), min_size=1, max_size=6),
       st.data())
def test_membership_in_sorted_slices(slices, data) -> None:
    indptr = np.concatenate(([0], np.cumsum([len(s) for s in slices])))
    values = np.array([v for s in slices for v in sorted(s)], np.int32)
    q_rows = np.array(data.draw(st.lists(st.integers(0, len(slices) - 1), max_size=20)), np.int64)
    q_vals = np.array(data.draw(st.lists(st.integers(0, 30), min_size=q_rows.size,
                                         max_size=q_rows.size)), np.int32)
    got = kernels.csr_contains(indptr, values, q_rows, q_vals)
    assert got.tolist() == [int(v) in slices[r] for r, v in zip(q_rows, q_vals, strict=True)]
