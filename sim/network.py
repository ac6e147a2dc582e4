"""Directed follower graphs in compressed sparse row (CSR) form, one per platform.

``indptr[a] : indptr[a+1]`` slices ``followers`` to the (sorted) global ids of the users who follow
author ``a``: the direction content flows. The generator is a directed Chung-Lu graph: each member
follows about ``followees_mean`` others, a ``homophily`` share within its own community, choosing
targets in proportion to a heavy-tailed fitness, so in-degree is heavy-tailed while most follows
stay in-community. ``erdos_renyi`` draws uniformly random ordered pairs instead (for validating the
engine against percolation theory).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .config import PlatformConfig


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values; sort-and-mask, much faster than ``np.unique`` on large int arrays."""
    s = np.sort(x)
    if s.size:
        s = s[np.concatenate(([True], s[1:] != s[:-1]))]
    return s


@dataclass
class FollowerGraph:
    indptr: np.ndarray  # n_users + 1 (int32 while the edges fit, else int64: see _indptr)
    followers: np.ndarray  # int32, global ids, sorted within each author slice

    @property
    def n_edges(self) -> int:
        return int(self.followers.size)


def _from_edges(n: int, author: np.ndarray, follower: np.ndarray) -> FollowerGraph:
    keep = author != follower
    key = sorted_unique(author[keep].astype(np.int64) * n + follower[keep])
    return FollowerGraph(_indptr(np.bincount(key // n, minlength=n)), (key % n).astype(np.int32))


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
    # Members grouped by community; cumulative fitness lets one searchsorted draw targets.
    order = np.argsort(community[members], kind="stable")
    by_comm = members[order]
    comm_sorted = community[by_comm]
    cum = np.cumsum(fitness[by_comm])
    n_comm = int(community.max()) + 1
    start = np.searchsorted(comm_sorted, np.arange(n_comm), side="left")
    stop = np.searchsorted(comm_sorted, np.arange(n_comm), side="right")
    lo_w = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
    hi_w = np.where(stop > 0, cum[np.maximum(stop - 1, 0)], 0.0)
    # Edges are drawn in chunks so that the float64 temporaries stay small (at 10^7 users a
    # platform has ~2 x 10^8 edges). ``rng.random`` gives the same numbers in chunks as in one
    # call, so the graph is the one a single vectorised draw would give.
    n_edges = follower.size
    within = np.empty(n_edges, bool)
    for a, b in _chunks(n_edges):
        within[a:b] = rng.random(b - a) < p.homophily
    key = np.empty(n_edges, np.int64)  # author * n_users + follower; -1 for a self-follow
    for a, b in _chunks(n_edges):
        f = follower[a:b]
        c = community[f]
        w = within[a:b] & (hi_w[c] > lo_w[c])
        lo = np.where(w, lo_w[c], 0.0)
        hi = np.where(w, hi_w[c], cum[-1])
        pos = np.searchsorted(cum, lo + rng.random(b - a) * (hi - lo), side="right")
        author = by_comm[np.minimum(pos, m - 1)]
        key[a:b] = np.where(author != f, author.astype(np.int64) * n_users + f, -1)
    del follower, within
    return _from_sorted_keys(n_users, key)


_CHUNK = 1 << 22


def _chunks(n: int):
    """``(start, stop)`` bounds covering ``range(n)`` in pieces of at most ``_CHUNK``."""
    for a in range(0, n, _CHUNK):
        yield a, min(a + _CHUNK, n)


def _from_sorted_keys(n: int, key: np.ndarray) -> FollowerGraph:
    """CSR graph from edge keys ``author * n + follower`` (-1 = no edge), sorted in place and
    de-duplicated chunk by chunk: the same graph as ``_from_edges``, without its int64 copies."""
    key.sort()
    distinct = np.empty(key.size, bool)
    if key.size:
        distinct[0] = key[0] >= 0
        np.not_equal(key[1:], key[:-1], out=distinct[1:])
        distinct[1:] &= key[1:] >= 0
    followers = np.empty(int(distinct.sum()), np.int32)
    counts = np.zeros(n, np.int64)
    at = 0
    for a, b in _chunks(key.size):
        k = key[a:b][distinct[a:b]]
        followers[at: at + k.size] = k % n
        counts += np.bincount(k // n, minlength=n)
        at += k.size
    return FollowerGraph(_indptr(counts), followers)


@njit(cache=True)
def in_sorted(values, lo, hi, v):
    """Is ``v`` in the sorted slice ``values[lo:hi]``? (One bisection.)"""
    j = lo + np.searchsorted(values[lo:hi], v)
    return j < hi and values[j] == v


@njit(cache=True)
def csr_contains(indptr, sorted_values, rows, values):
    """Is ``values[i]`` in the sorted slice ``sorted_values[indptr[rows[i]]:indptr[rows[i] + 1]]``
    (row ``rows[i]`` of a CSR graph)? One bisection per query."""
    out = np.zeros(rows.size, np.bool_)
    for i in range(rows.size):
        out[i] = in_sorted(sorted_values, indptr[rows[i]], indptr[rows[i] + 1], values[i])
    return out
