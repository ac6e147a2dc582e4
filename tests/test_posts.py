"""Bounded per-post state: posts too old for any feed leave memory, and nothing else changes.

Items older than ``engagement.feed_max_age_hours`` are unreadable (a model rule, applied at every
read). Compaction, which drops such posts from memory and renumbers the rest, is bookkeeping
only: a run that compacts every hour must equal, table for table, one that never does.
"""

from __future__ import annotations

import copy
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from conftest import world_scope
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.posts
from sim.model import InfluenceModel
from sim.posts import (
    KIND_OP_POST,
    KIND_ORGANIC,
    KIND_RESHARE,
    PostStore,
    Renumbering,
    grown_records,
    mapped_records,
    squeeze,
)
from sim.runner import collect, resolve_config

MAX_AGE = 24


class Hourly(InfluenceModel):
    COMPACT_EVERY_HOURS = 1


class Never(InfluenceModel):
    COMPACT_EVERY_HOURS = 10**9


@pytest.fixture(scope="module")
def cfg(preset):
    # moderation on (it holds per-post state too), replies planted under threads, followers
    return resolve_config(preset, users=3000, days=4, overrides={
        "engagement.feed_max_age_hours": MAX_AGE, "moderation.window_hours": MAX_AGE,
        "operation.scale_with_users": False, "operation.n_operators": 3,
        "operation.hijacked_audience_mean": 60, "moderation.counterfactual": False,
        "population.reshare_prob": 0.3})  # many reshares: reshare memories matter


@pytest.fixture(scope=world_scope)
def models(cfg):
    out = []
    for cls in (Hourly, Never):
        m = cls(cfg)
        if cls is Hourly:  # and its global ids turn 64-bit from the 1000th post on
            m.posts.GID_MAX = 1000
        m.run()
        out.append(m)
    return out


def test_compaction_changes_no_result(models) -> None:
    a, b = (collect(m, runtime=0.0) for m in models)
    assert a.summary["posts_published"] > 0 and a.summary["operation_accounts_removed"] > 0
    assert a.summary == b.summary
    for name in ("timeseries", "posts", "reports", "removals", "accounts", "operators"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True,
                                      obj=name)


def test_memory_holds_recent_posts_operation_content_and_their_roots(models) -> None:
    hourly, never = models
    assert hourly.posts.made == never.posts.made == never.posts.n
    assert (hourly.posts.cols["gid"].dtype, never.posts.cols["gid"].dtype) == (np.int64, np.int32)
    p = hourly.posts
    c = {k: v[: p.n] for k, v in p.cols.items()}
    assert p.n < never.posts.n / 2  # four days held in about one
    cutoff = hourly.steps - MAX_AGE  # compacted after the last hour
    old = c["created"] < cutoff
    root_of_kept = np.zeros(p.n, bool)
    root_of_kept[c["root"]] = True
    assert (c["is_op"] | root_of_kept)[old].all()  # nothing held without a reason
    assert np.all(np.diff(c["gid"]) > 0)  # creation order kept
    young = never.posts.cols["created"][: never.posts.n] >= cutoff
    assert np.array_equal(never.posts.cols["gid"][: never.posts.n][young], c["gid"][~old])
    # every index held anywhere points to a post held
    for pf in hourly.platforms:
        assert pf.feeds.items.max() < p.n
    assert hourly.organic.memory.items.max() < p.n
    assert np.array_equal(c["gid"][c["root"]], never.posts.cols["gid"][
        never.posts.cols["root"][c["gid"]]])


def test_old_items_are_never_read(cfg) -> None:
    """Ages of items read, measured on the reads themselves: none beyond the limit."""
    m = Never(cfg)
    ages = []
    reading = m.organic.reading

    def spy(pf):
        users, readers, items, reply_readers, replies = reading(pf)
        ages.append(m.tick - m.posts.cols["created"][items])
        return users, readers, items, reply_readers, replies

    m.organic.reading = spy
    m.run()
    ages = np.concatenate(ages)
    assert ages.size > 0 and ages.max() <= MAX_AGE


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_compact_moves_every_column_and_maps_indices(data) -> None:
    n = data.draw(st.integers(1, 60))
    store = PostStore(capacity=4)
    roots = np.arange(n, dtype=np.int32)
    for i in range(1, n):  # a copy of an earlier original, or an original
        j = data.draw(st.integers(0, i))
        roots[i] = roots[j] if j < i else i
    for i in range(n):  # copies carry a parent, a sparse column (kept for copies only)
        copy = bool(roots[i] != i)
        store.add(author=i, root=int(roots[i]), quality=i / n,
                  kind=KIND_RESHARE if copy else KIND_ORGANIC, parent=roots[i] if copy else -1)
        if copy:
            store.count("imp_fake", np.array([i]), i)
    threads = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=6)), np.int32)
    replies = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=threads.size,
                                          max_size=threads.size)), np.int32)
    store.hijack(threads, replies)  # replies under threads: the one given last stays
    newest = np.full(n, -1)
    for t, r in zip(threads, replies, strict=True):
        newest[t] = r
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    keep[roots[keep]] = True
    before = {name: col.copy() for name, col in store.held().items()}
    assert np.array_equal(before["imp_fake"], np.where(roots != np.arange(n), np.arange(n), 0))
    assert np.array_equal(before["hijack_reply"], newest)
    new, last, shift = store.compact(keep)
    k = int(keep.sum())
    assert store.n == k and store.made == n and new[-1] == -1 and shift == n - k
    assert last == (np.flatnonzero(~keep)[-1] if k < n else -1)
    assert np.array_equal(new[:n][keep], np.arange(k)) and (new[:n][~keep] == -1).all()
    for name, col in store.held().items():
        if name not in ("root", "hijack_reply"):
            assert np.array_equal(col, before[name][keep]), name
    assert np.array_equal(store.held()["hijack_reply"], new[newest[keep]])  # (-1 stays -1)
    assert np.array_equal(store.cols["gid"][store.cols["root"][:k]], before["root"][keep])
    gids = store.cols["gid"][:k].astype(np.int64)  # found by global id, in range or not
    for g in (-(2**40), -1, 0, n // 2, n, 2**31, 2**40):
        assert store.index_of(g) == np.searchsorted(gids, g)
    more = store.add(author=0)  # new posts get fresh global ids after the kept ones, and the
    assert store.cols["gid"][more[0]] == n  # defaults whatever a freed slot held before
    new_post = {name: col[more[0]] for name, col in store.held().items()}
    assert new_post["root"] == more[0] and new_post["hijack_reply"] == -1
    assert new_post["imp_organic"] == new_post["imp_fake"] == 0 and new_post["timeliness"] == 1


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_compiled_appends_write_what_add_would(data) -> None:
    """``add_copies`` and ``add_originals`` (compiled passes) write what ``add`` would, given
    a copy's root's content: over slots a compaction freed (stale values, counters included),
    with sparse rows for operation originals (their timeliness) and for no organic original,
    and past the switch of global ids to 64 bits."""
    assert sorted(sim.posts._WRITTEN + sim.posts._COUNTERS) == sorted(sim.posts._COLUMNS)
    assert sorted(sim.posts._SPARSE_WRITTEN + sim.posts._SPARSE_COUNTERS) == \
        sorted(sim.posts._SPARSE_KEYED)  # (every column written)
    n = data.draw(st.integers(1, 30))
    store = PostStore(capacity=2)
    store.GID_MAX = data.draw(st.sampled_from([10**6, n + 2]))
    op = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    store.add(author=np.arange(n), kind=np.where(op, KIND_OP_POST, KIND_ORGANIC),
              topic=np.arange(n) % 5, language=np.arange(n) % 3, is_op=op,
              quality=np.linspace(0.1, 0.9, n).astype(np.float32),
              timeliness=np.where(op, np.linspace(0.2, 0.7, n), 1.0), created=3)
    store.count("eng_op", np.flatnonzero(op), 7)
    store.cols["likes_organic"][:n] = 9
    store.compact(np.arange(n) >= n // 3)  # frees slots, stale values left in them
    k = data.draw(st.integers(1, 12))
    author = np.arange(k) + 100
    platform = data.draw(st.one_of(st.integers(0, 2), st.just(np.arange(k) % 3)))
    generic = copy.deepcopy(store)
    if data.draw(st.booleans()):
        roots = np.array(data.draw(st.lists(st.integers(0, store.n - 1), min_size=k,
                                            max_size=k)), np.int64)
        ids = store.add_copies(roots, roots, author=author, platform=platform,
                               kind=KIND_RESHARE, created=4)
        content = {name: generic.get(name, roots) for name in
                   ("topic", "language", "is_op", "quality", "timeliness")}
        expect = generic.add(author=author, root=roots, parent=generic.cols["gid"][roots],
                             platform=platform, kind=KIND_RESHARE, created=4, **content)
    else:
        topic, language, quality = np.arange(k) % 4, np.arange(k) % 2, np.linspace(0, 1, k)
        ids = store.add_originals(author, platform, topic, language, quality, created=4)
        expect = generic.add(author=author, platform=platform, kind=KIND_ORGANIC, topic=topic,
                             language=language, is_op=False, quality=quality, created=4)
    assert np.array_equal(ids, expect)
    assert (store.n, store.made, store.n_sparse) == (generic.n, generic.made, generic.n_sparse)
    for name, col in store.held().items():
        assert np.array_equal(col, generic.held()[name]), name
        assert col.dtype == generic.held()[name].dtype, name


@given(st.lists(st.booleans(), max_size=40), st.integers(0, 5), st.integers(0, 40))
def test_squeezing_a_column_in_place_equals_a_gather(keep, spare, kept_tail) -> None:
    keep = np.array(keep, bool)
    keep[max(keep.size - kept_tail, 0):] = True  # (as recent posts: the tail moves as one)
    n = keep.size
    head = int(np.flatnonzero(~keep)[-1]) + 1 if not keep.all() else 0
    col = np.arange(10, 10 + n + spare)
    squeeze(col, np.flatnonzero(keep[:head]), head, n)
    expect = np.arange(10, 10 + n)[keep]
    assert np.array_equal(col[: expect.size], expect)
    assert np.array_equal(col[n:], np.arange(10 + n, 10 + n + spare))


def test_a_compaction_holds_no_copy_of_a_column() -> None:
    """Compacting moves every column in place: at 10^7 users one column is hundreds of MB, so
    beside the map it returns, its peak must not hold a second copy of any (numpy's own
    allocations, traced)."""
    n = 1_000_000
    store = PostStore(capacity=n)
    store.add(author=np.arange(n, dtype=np.int32) % 1000, quality=0.5, kind=KIND_ORGANIC)
    keep = np.ones(n, bool)
    keep[: n // 10] = np.arange(n // 10) % 7 == 0  # a day aged out, a few of its posts kept
    tracemalloc.start()
    try:
        new = store.compact(keep).new
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert store.n == int(keep.sum())
    assert peak - new.nbytes < n // 2  # (the smallest column, of bytes, is n; records 16 n)


def test_growing_the_records_keeps_them_and_hands_the_old_pages_back(monkeypatch) -> None:
    """The ranking records grow a chunk at a time, each chunk's old pages handed back once
    copied (never two copies at once): the kept records are all there, the old array reads
    zeros."""
    monkeypatch.setattr(sim.posts, "CHUNK", 1 << 12)  # 64 KB of records: whole pages
    rec = mapped_records(10_000)
    rec["root"], rec["status"] = np.arange(10_000), 2
    out = grown_records(rec, 10_001, 9_000)
    assert out.size == 12_500
    assert (out["root"][:9_000] == np.arange(9_000)).all() and (out["status"][:9_000] == 2).all()
    assert not out["root"][9_000:].any() and not rec["root"][:9_000].any()
    assert grown_records(out, 12_500, 9_000) is out  # room enough: the same array


def test_sparse_columns_refuse_organic_originals() -> None:
    """A parent or an operation counter of an organic original is an error, not a silent loss."""
    store = PostStore(capacity=4)
    original = store.add(author=0, kind=KIND_ORGANIC)
    with pytest.raises(ValueError, match="parent"):
        store.add(author=1, kind=KIND_ORGANIC, parent=0)
    with pytest.raises(ValueError, match="eng_op"):
        store.count("eng_op", original, 1)
    assert store.get("parent", original)[0] == -1 and store.get("eng_op", original)[0] == 0


def test_compact_refuses_to_drop_the_root_of_a_kept_post() -> None:
    store = PostStore(capacity=4)
    original = store.add(author=0)
    store.add(author=1, root=int(original[0]))
    with pytest.raises(ValueError, match="root"):
        store.compact(np.array([False, True]))
    assert store.n == 2 and store.cols["root"][1] == 0  # left as it was


def test_reshare_memory_remaps_every_user() -> None:
    """After a compaction every user's remembered roots are renumbered, the dropped ones
    forgotten; slots never written stay empty (-1)."""
    from sim.organic.behaviour import ReshareMemory

    mem = ReshareMemory(5, 3)
    mem.remember(np.array([0, 0, 0, 0, 2, 4]), np.array([1, 2, 3, 4, 5, 6]))
    assert mem.n == 3  # a row for each user who reshared, however often
    new = np.array([-1, 0, -1, 1, 2, 3, 4, -1])  # old post -> new (-1 dropped; last: for -1)
    mem.remap(Renumbering(new, 2, 2))  # (posts 0 and 2 dropped: the rest move down by 2)
    assert [mem.row(u).tolist() for u in range(5)] == [
        [2, -1, 1], [-1, -1, -1], [3, -1, -1], [-1, -1, -1], [4, -1, -1]]  # 4 overwrote 1
