"""Directed follower graphs in compressed sparse row (CSR) form, one per platform.

``indptr[a] : indptr[a+1]`` slices the edges to the (sorted) global ids of the users who follow
author ``a``: the direction content flows. The generator is a directed Chung-Lu graph: each
member follows about ``followees_mean`` others, a ``homophily`` share within its own community,
choosing targets in proportion to a heavy-tailed fitness, so in-degree is heavy-tailed while most
follows stay in-community. ``erdos_renyi`` draws uniformly random ordered pairs instead (for
validating the engine against percolation theory).

The ids are stored in three bytes each while every user id fits (up to 2^24 users,
:func:`pack_ids`): the graphs are the largest arrays of a large world after the feeds, and the
fourth byte is a quarter of them (440 MB at 10^7 users).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from . import streams
from .config import PlatformConfig
from .intrinsics import AHEAD, prefetch
from .streams import advance, next_double, skip
from .threads import get_threads, parallel_worth


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values; sort-and-mask, much faster than ``np.unique`` on large int arrays."""
    s = np.sort(x)
    if s.size:
        s = s[np.concatenate(([True], s[1:] != s[:-1]))]
    return s


NARROW_IDS = 1 << 24
"""Populations up to this size store follower ids in three bytes."""


def pack_ids(ids: np.ndarray, n_users: int) -> np.ndarray:
    """User ids (below ``n_users``) as the graphs store them: three little-endian bytes each
    (uint8, three times as long) if ``n_users <= NARROW_IDS``, else int32. Read one back with
    :func:`id_at` in compiled code, or all with :func:`unpack_ids`."""
    ids = ids.astype("<i4", copy=False)
    if n_users > NARROW_IDS:
        return ids
    return np.ascontiguousarray(ids.view(np.uint8).reshape(-1, 4)[:, :3]).reshape(-1)


def empty_ids(size: int, n_users: int) -> np.ndarray:
    """Room for ``size`` ids stored as :func:`pack_ids` stores them (fill with :func:`set_id`)."""
    return np.empty(3 * size, np.uint8) if n_users <= NARROW_IDS else np.empty(size, np.int32)


def unpack_ids(packed: np.ndarray) -> np.ndarray:
    """The int32 ids that :func:`pack_ids` stored (a copy if they were packed)."""
    if packed.dtype != np.uint8:
        return packed
    b = packed.reshape(-1, 3).astype(np.int32)
    return b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)


def id_width(ids: np.ndarray) -> int:
    """Entries of ``ids`` per id: 3 if :func:`pack_ids` packed them, else 1."""
    return 3 if ids.dtype == np.uint8 else 1


def id_at(ids: np.ndarray, i: int) -> int:
    """Entry ``i`` of ``ids``: a plain array's element, or the ``i``-th id of a
    :func:`pack_ids` byte array (compiled code reads it in place)."""
    w = id_width(ids)
    return int(unpack_ids(ids[w * i: w * (i + 1)])[0])


@overload(id_at, inline="always")
def _id_at(ids, i):
    if ids.dtype == types.uint8:
        def packed(ids, i):
            j = 3 * i
            return np.int32(ids[j]) | (np.int32(ids[j + 1]) << 8) | (np.int32(ids[j + 2]) << 16)
        return packed
    return lambda ids, i: ids[i]


def set_id(ids: np.ndarray, i: int, v: int) -> None:
    """Store id ``v`` as entry ``i`` of ``ids`` (:func:`pack_ids`'s layout; compiled code
    writes it in place)."""
    w = id_width(ids)
    ids[w * i: w * (i + 1)] = pack_ids(np.array([v]), NARROW_IDS if w == 3 else NARROW_IDS + 1)


@overload(set_id, inline="always")
def _set_id(ids, i, v):
    if ids.dtype == types.uint8:
        def packed(ids, i, v):
            j = 3 * i
            ids[j], ids[j + 1], ids[j + 2] = v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF
        return packed

    def plain(ids, i, v):
        ids[i] = v
    return plain


@dataclass
class FollowerGraph:
    indptr: np.ndarray  # n_users + 1 (int32 while the edges fit, else int64: see _indptr)
    ids: np.ndarray  # global ids, sorted within each author slice, as pack_ids stores them

    @property
    def n_edges(self) -> int:
        return int(self.ids.size // id_width(self.ids))

    @property
    def followers(self) -> np.ndarray:
        """Every edge's follower id (int32; a copy if packed): for analysis, not the engine."""
        return unpack_ids(self.ids)

    def followers_of(self, author: int) -> np.ndarray:
        """The sorted ids (int32) of ``author``'s followers."""
        w = id_width(self.ids)
        return unpack_ids(self.ids[w * int(self.indptr[author]): w * int(self.indptr[author + 1])])


def _from_edges(n: int, author: np.ndarray, follower: np.ndarray) -> FollowerGraph:
    keep = author != follower
    key = sorted_unique(author[keep].astype(np.int64) * n + follower[keep])
    return FollowerGraph(_indptr(np.bincount(key // n, minlength=n)),
                         pack_ids((key % n).astype(np.int32), n))


def _indptr(counts: np.ndarray) -> np.ndarray:
    """Slice bounds from each author's follower count: 32-bit while the edges fit (in the
    headline preset up to about 10^8 users; the array is as long as the population, on every
    platform), else 64-bit."""
    dtype = np.int32 if counts.sum() < 2**31 else np.int64
    indptr = np.zeros(counts.size + 1, dtype)
    np.cumsum(counts, out=indptr[1:], dtype=dtype)
    return indptr


def make_follower_graph(p: PlatformConfig, members: np.ndarray, community: np.ndarray,
                        fitness: np.ndarray, n_users: int,
                        rng: np.random.Generator) -> FollowerGraph:
    """Build one platform's follower graph over its ``members`` (sorted global ids)."""
    m = members.size
    if m < 2:
        return _from_edges(n_users, np.zeros(0, np.int64), np.zeros(0, np.int64))
    if p.graph == "erdos_renyi":
        n_edges = rng.poisson(p.followees_mean * m)
        follower = members[rng.integers(0, m, n_edges)]
        author = members[rng.integers(0, m, n_edges)]
        return _from_edges(n_users, author, follower)
    out_deg = rng.poisson(p.followees_mean, m)
    follower = np.repeat(members, out_deg)
    # Members grouped by community; a target is a uniform position in cumulative fitness.
    order = np.argsort(community[members], kind="stable")
    by_comm = members[order]
    comm_sorted = community[by_comm]
    cum = np.cumsum(fitness[by_comm])
    n_comm = int(community.max()) + 1
    start = np.searchsorted(comm_sorted, np.arange(n_comm), side="left")
    stop = np.searchsorted(comm_sorted, np.arange(n_comm), side="right")
    lo_w = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
    hi_w = np.where(stop > 0, cum[np.maximum(stop - 1, 0)], 0.0)
    # The uniforms are drawn inside the kernel, the same numbers as ``rng.random(n_edges) <
    # homophily`` and then ``rng.random(n_edges)`` (at 10^7 users a platform has ~2 x 10^8
    # edges: no float64 temporaries, and on every thread).
    key = np.empty(follower.size, np.int64)  # author * n_users + follower; -1 for a self-follow
    args = (key, follower, float(p.homophily), community, lo_w, hi_w, CumIndex.of(cum),
            by_comm, n_users)
    parts = get_threads() if parallel_worth(key.size, "writes") else 1
    if parts > 1:
        streams.draw(rng, draw_targets_parallel, *args, parts)
    else:
        streams.draw(rng, draw_targets, *args)
    del follower
    return _from_keys(n_users, key, parts)


def _from_keys(n: int, key: np.ndarray, parts: int = 1) -> FollowerGraph:
    """CSR graph from edge keys ``author * n + follower`` (-1 = no edge), sorted in place and
    de-duplicated in one compiled pass (:func:`csr_from_sorted`), which stores the followers
    packed as it goes: the same graph as ``_from_edges``, without its copies. With ``parts``
    above 1 the keys are first split in place into runs of whole authors
    (:func:`split_at_authors`), each sorted and stored on a thread of its own (numpy's sort and
    the compiled passes release the interpreter's lock): the same graph, the sort (most of
    this) shared by the cores."""
    runs = split_at_authors(key, n, parts)
    counts = np.zeros(n, np.int64)

    def sort(run: np.ndarray) -> int:
        run.sort()
        return distinct_edges(run)

    with ThreadPoolExecutor(len(runs)) as pool:
        sizes = list(pool.map(sort, runs))
        ids = empty_ids(sum(sizes), n)
        w = id_width(ids)
        starts = np.cumsum([0, *sizes[:-1]])
        list(pool.map(lambda run, at: csr_from_sorted(run, n, ids[w * at:], counts), runs,
                      starts))
    return FollowerGraph(_indptr(counts), ids)


def split_at_authors(key: np.ndarray, n: int, parts: int) -> list[np.ndarray]:
    """``key`` (edge keys ``author * n + follower``, -1 = no edge) reordered in place into up
    to ``parts`` runs (views), in author order, each holding every key of its authors: sorting
    each run sorts them all. The runs split at authors evenly spaced in a sample of the keys."""
    if parts < 2 or key.size == 0:
        return [key]
    sample = np.sort(key[:: max(1, key.size // (256 * parts))])
    pivots = np.unique(sample[sample.size * np.arange(1, parts) // parts] // n * n)
    return _split(key, pivots[pivots > 0])


def _split(key: np.ndarray, pivots: np.ndarray) -> list[np.ndarray]:
    if pivots.size == 0:
        return [key]
    mid = pivots.size // 2
    below = partition(key, pivots[mid])
    return _split(key[:below], pivots[:mid]) + _split(key[below:], pivots[mid + 1:])


@njit(cache=True)
def partition(key, pivot):
    """Reorder ``key`` in place, the entries below ``pivot`` first; returns how many there are.
    Every entry is swapped, with no branch on its value: random keys fall either side of the
    pivot at random, and a partition that branched on each took five times as long."""
    below = 0
    for i in range(key.size):  # key[:below] < pivot <= key[below:i]
        x = key[i]
        key[i] = key[below]
        key[below] = x
        below += x < pivot
    return below


class CumIndex(NamedTuple):
    """A non-decreasing array ``cum`` with a bucket index for searching it (``np.searchsorted(cum,
    x, "right")``: :func:`bucket_span`, then :func:`bisect_right`): bucket ``b`` covers values
    from :func:`bucket_start` ``b`` (``b * step``, ``step = cum[-1] / buckets``) to that of
    ``b + 1`` (the last +inf), and ``first[b]`` is ``np.searchsorted(cum, b * step, "right")``.
    A search then bisects only between ``first[b]`` and ``first[b + 1]``, a few entries, instead
    of all of ``cum``: at 10^6 users a graph draws 10^7 targets, and a full bisection each is
    most of building it.

    A target is a random load from ``first``, then (if the bucket holds an entry's end) from
    ``cum``: up to :data:`BUCKETS` buckets, one an entry, and ``first`` in 32 bits keep the
    first load mostly in cache; the buckets' starts are computed, not loaded."""

    cum: np.ndarray
    first: np.ndarray  # int32 (int64 for 2^31 entries or more) (buckets + 1,)
    step: float  # cum[-1] / buckets
    scale: float  # buckets / cum[-1]
    buckets: int

    @classmethod
    def of(cls, cum: np.ndarray) -> CumIndex:
        top = float(cum[-1])
        buckets = min(cum.size, BUCKETS) if top > 0 else 1
        step = top / buckets
        first = np.searchsorted(cum, np.append(np.arange(buckets) * step, np.inf), side="right")
        return cls(cum, first.astype(np.int32) if cum.size < 2**31 else first, step,
                   buckets / top if top > 0 else 0.0, buckets)


BUCKETS = 1 << 20  # at most: 4 MB of ``first``, which the machine's caches mostly hold


@njit(cache=True, inline="always")
def bucket_start(index, b):
    """Where bucket ``b`` of ``index`` starts, as ``np.arange(buckets) * step`` has it: +inf
    past the last."""
    return b * index.step if b < index.buckets else np.inf


@njit(cache=True, inline="always")
def bucket_span(index, x):
    """The span ``lo:hi`` of ``index.cum`` where ``np.searchsorted(index.cum, x, "right")`` lies
    (:func:`bisect_right` finds it there): the entries of ``x``'s bucket."""
    b = min(max(int(x * index.scale), 0), index.buckets - 1)
    while b > 0 and x < bucket_start(index, b):
        b -= 1
    while x >= bucket_start(index, b + 1):
        b += 1
    return index.first[b], index.first[b + 1]  # the answer lies in lo..hi


@njit(cache=True, inline="always")
def bisect_right(cum, x, lo, hi):
    """The number of entries of ``cum`` ``<= x``, known to lie in ``lo..hi``."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if cum[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def draw_targets(stream, key, follower, homophily, community, lo_w, hi_w, index, by_comm,
                 n_users):
    """Every edge's author (:func:`targets_between`), drawn from ``stream``
    (:mod:`sim.streams`), which is left past the ``2 * key.size`` uniforms drawn."""
    targets_between(stream, key, follower, homophily, community, lo_w, hi_w, index, by_comm,
                    n_users, 0, key.size)
    skip(stream, 2 * key.size)


@njit(cache=True, parallel=True)
def draw_targets_parallel(stream, key, follower, homophily, community, lo_w, hi_w, index,
                          by_comm, n_users, parts):
    """:func:`draw_targets` on every thread numba is given, a block of edges each (each block
    draws its own stretch of the stream, so the keys are the same as on one thread)."""
    n = key.size
    for part in prange(parts):
        targets_between(stream, key, follower, homophily, community, lo_w, hi_w, index,
                        by_comm, n_users, n * part // parts, n * (part + 1) // parts)
    skip(stream, 2 * n)


@njit(cache=True)
def targets_between(stream, key, follower, homophily, community, lo_w, hi_w, index, by_comm,
                    n_users, j0, j1):
    """Edges ``j0:j1`` of ``n = key.size``: follower ``f = follower[j]`` follows the member at
    fitness position ``lo + u * (hi - lo)`` of ``index.cum``, where ``lo:hi`` is the cumulative
    fitness of its community's span if it drew homophily (and the community has fitness),
    else of all members; ``key[j] = author * n_users + f``, or -1 where the draw is ``f``
    itself. Edge ``j`` draws homophily with uniform ``j`` of ``stream`` (below ``homophily``)
    and ``u`` with uniform ``n + j``: numpy's ``rng.random(n) < homophily``, then
    ``rng.random(n)``. ``stream`` itself does not move.

    Edges go ``SEARCH_CHUNK`` at a time in two loops: every position and its bucket's span
    first (loads independent of one another), then the searches, each prefetching the fitness
    and member entries of the one ``AHEAD`` on (at 10^7 users the arrays are far larger than
    the cache, and a search in one loop waited on each load in turn)."""
    cum = index.cum
    m, total = cum.size, cum[cum.size - 1]
    s_within, s_u = advance(stream, j0), advance(stream, key.size + j0)
    x = np.empty(SEARCH_CHUNK)
    lo, hi = np.empty(SEARCH_CHUNK, np.int64), np.empty(SEARCH_CHUNK, np.int64)
    for c0 in range(j0, j1, SEARCH_CHUNK):
        k = min(j1 - c0, SEARCH_CHUNK)
        for i in range(k):
            within = next_double(s_within) < homophily
            u = next_double(s_u)
            c = community[follower[c0 + i]]
            a, b = 0.0, total
            if within and hi_w[c] > lo_w[c]:
                a, b = lo_w[c], hi_w[c]
            x[i] = a + u * (b - a)
            lo[i], hi[i] = bucket_span(index, x[i])
        for i in range(k):
            if i + AHEAD < k:
                near = min(lo[i + AHEAD], m - 1)
                prefetch(cum, near)
                prefetch(by_comm, near)
            f = follower[c0 + i]
            author = by_comm[min(bisect_right(cum, x[i], lo[i], hi[i]), m - 1)]
            key[c0 + i] = np.int64(author) * n_users + f if author != f else -1


SEARCH_CHUNK = 1 << 14  # edges whose positions are drawn before their searches


@njit(cache=True, nogil=True)
def distinct_edges(key):
    """The number of edges among sorted edge keys (-1, no edge, and repeats left out)."""
    size = 0
    for i in range(key.size):
        if key[i] >= 0 and (i == 0 or key[i] != key[i - 1]):
            size += 1
    return size


@njit(cache=True, nogil=True)
def csr_from_sorted(key, n, followers, counts):
    """Per-author follower counts of sorted edge keys ``author * n + follower``, skipping -1
    (no edge) and repeats, added to ``counts``; the followers (``key % n``) go into
    ``followers`` in order, as :func:`set_id` stores them (room for :func:`distinct_edges`
    ids). Authors never decrease along the keys: one division per author, not per key."""
    author, base, j = 0, 0, 0  # keys of ``author`` are base .. base + n - 1
    for i in range(key.size):
        k = key[i]
        if k < 0 or (i > 0 and k == key[i - 1]):
            continue
        if k >= base + n:
            author = k // n
            base = author * n
        counts[author] += 1
        set_id(followers, j, k - base)
        j += 1


@njit(cache=True)
def in_sorted(values, lo, hi, v):
    """Is ``v`` in the sorted slice ``values[lo:hi]`` (entries as :func:`id_at` reads them, so
    packed graph ids too)? One bisection."""
    a, b = lo, hi
    while a < b:
        mid = (a + b) >> 1
        if id_at(values, mid) < v:
            a = mid + 1
        else:
            b = mid
    return a < hi and id_at(values, a) == v


@njit(cache=True)
def csr_contains(indptr, sorted_values, rows, values):
    """Is ``values[i]`` in the sorted slice ``sorted_values[indptr[rows[i]]:indptr[rows[i] + 1]]``
    (row ``rows[i]`` of a CSR graph)? One bisection per query."""
    out = np.zeros(rows.size, np.bool_)
    for i in range(rows.size):
        out[i] = in_sorted(sorted_values, indptr[rows[i]], indptr[rows[i] + 1], values[i])
    return out
