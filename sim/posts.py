"""Posts as a growable struct of arrays, with per-post counters split by who caused them.

A post id indexes every column. Reshares, cross-posts and replies are posts too; ``root`` points to
the original, and all counters are kept on the root, so an item's visible engagement (used for
ranking and social proof) is the root's total, in-network engagement included.
Authors live in one id space: organic users ``0 .. n_users-1``, troll account ``k`` is
``n_users + k``.

Memory stays bounded: posts too old to be in any feed are compacted away (:meth:`PostStore.compact`)
while operation content stays for the posts table. A post's *index* (what feeds and every hot
array hold) can therefore change at a compaction; its global id ``gid`` (creation order over the
whole run, the ``post_id`` of the output) never does. Compaction keeps the order of indices.
"""

from __future__ import annotations

import mmap
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from .threads import get_threads, parallel_worth

KIND_ORGANIC, KIND_RESHARE, KIND_OP_POST, KIND_OP_REPLY, KIND_OP_SHARE = range(5)
KIND_NAMES = ("organic_post", "organic_reshare", "op_post", "op_hijack_reply", "op_self_share")

_COLUMNS: dict[str, tuple[type, int | float]] = {
    # identity and content
    "gid": (np.int32, -1),  # global id: creation order over the run (64-bit from 2^31 on)
    "author": (np.int32, -1),
    "root": (np.int32, -1),  # index of the original
    "platform": (np.int8, -1),
    "kind": (np.int8, -1),
    "topic": (np.int8, -1),
    "language": (np.int8, -1),
    "is_op": (np.bool_, False),
    "quality": (np.float32, 0.0),
    "created": (np.int32, 0),
    # counters (meaningful on roots)
    "imp_organic": (np.int32, 0),
    "likes_organic": (np.int32, 0),
    "reshares_organic": (np.int32, 0),
    "replies_organic": (np.int32, 0),
    "eng_visible": (np.int32, 0),  # organic likes + reshares + replies + in-network engagements
    # moderation (on every platform: removed content is removed wherever it was carried)
    "status": (np.int8, 0),  # 0 shown, 1 demoted, 2 removed (sim.moderation's STATUS_*)
}
RECORD = np.dtype([("created", "<i4"), ("root", "<i4"), ("eng_visible", "<i4"),
                   ("status", "i1"), ("platform", "i1"), ("kind", "i1"), ("is_op", "?")])
"""The columns that ranking a feed item reads, side by side in one 16-byte record per post:
scoring an item then loads one cache line for the post and one for its root, where separate
columns took five (reading feeds is bound by such loads). The record is exactly these columns'
bytes, so it costs no memory; compiled code reads it as four 32-bit words a post
(``PostColumns.record``): created, root, visible engagement, and a word whose low byte is the
moderation status (little-endian, as on every machine numba targets)."""
# Columns that hold a value only for posts that are not organic originals (a parent: reshares,
# replies, self-shares; the operation's own counters: its posts), kept only for those posts,
# keyed by gid: organic originals are most posts (over 90% in the headline preset), so this
# saves 28 bytes on each of them. Reports are kept for operation content alone (what the posts
# table shows); a report on an organic post is still logged against its author for moderation.
# Timeliness is below 1 only for operation content (stale timing); a copy carries its root's.
_SPARSE: dict[str, tuple[type, int | float]] = {
    "parent": (np.int64, -1),  # gid of the item reshared, or of the thread replied under
    "imp_op": (np.int32, 0),  # impressions by operation accounts (self-amplification)
    "imp_fake": (np.int32, 0),  # impressions by fake followers and bought views
    "eng_op": (np.int32, 0),  # engagements by operation accounts
    "reports": (np.int32, 0),  # reports by organic users (kept for operation posts alone)
    "timeliness": (np.float32, 1.0),  # 2^(-lag / news half-life): stale operation content
}
_APART = tuple(k for k in _COLUMNS if k not in RECORD.names)  # columns of their own
# the columns as the compiled appends take them (every column: a test checks): identity, content
# and the record's counter, then the other counters, which start at zero; the sparse columns
# likewise
_WRITTEN = ("gid", "author", "root", "platform", "kind", "topic", "language", "is_op", "quality",
            "created", "status", "eng_visible")
_COUNTERS = ("imp_organic", "likes_organic", "reshares_organic", "replies_organic")
_SPARSE_WRITTEN = ("gid", "parent", "timeliness")
_SPARSE_COUNTERS = ("imp_op", "imp_fake", "eng_op", "reports")


_SPARSE_KEYED = {"gid": _COLUMNS["gid"]} | _SPARSE
TIMELY = _SPARSE["timeliness"][1]

PostColumns = NamedTuple("PostColumns", [(k, np.ndarray) for k in (
    *_COLUMNS, "record", "sparse_gid", "sparse_timeliness", "hijacked", "hijack_replies")])
PostColumns.__doc__ = """Every column of the store (full capacity) as one bundle for the compiled
loops, fields named as the columns (those in :data:`RECORD` are strided views of it); the
record as int32 words (capacity, 4); the sparse rows' global ids (ascending) and timeliness
(:func:`sparse_row` finds a post's); the hijacked threads (root indices, ascending) and the
newest reply under each (:meth:`PostStore.hijack`)."""


@njit(cache=True, inline="always")
def sparse_row(posts, p):
    """Row of the sparse columns of post ``p`` (which must not be an organic original), for
    compiled loops: a bisection over the sparse rows' global ids."""
    return np.searchsorted(posts.sparse_gid, posts.gid[p])


@njit(cache=True)
def visible_status(status, root, items):
    """Moderation status of each of ``items`` as a reader meets it: removed or demoted if the
    item or its root is (the larger of their ``status``; ``root`` the store's column)."""
    out = np.empty(items.size, status.dtype)
    for i in range(items.size):
        out[i] = max(status[items[i]], status[root[items[i]]])
    return out


@njit(cache=True, inline="always")
def hijack_reply(posts, r):
    """The newest operation reply planted under thread ``r`` (a root), or -1: a bisection over
    the few hijacked threads (:meth:`PostStore.hijack`)."""
    k = np.searchsorted(posts.hijacked, r)
    return posts.hijack_replies[k] if k < posts.hijacked.size and posts.hijacked[k] == r else -1


@njit(cache=True, inline="always")
def _write(dense, counters, p, g, author, root, platform, kind, topic, language, is_op, quality,
           created):
    """Row ``p`` of the columns: a new post's global id ``g``, identity and content, no counts
    (the row may hold a post a compaction dropped). ``dense``: the columns gid, author, root,
    platform, kind, topic, language, is_op, quality, created, status and eng_visible;
    ``counters``: the other counter columns."""
    gids, who, roots, plat, kinds, topics, languages, ops, qualities, made_at, status, eng = dense
    gids[p] = g
    who[p] = author
    roots[p] = root
    plat[p] = platform
    kinds[p] = kind
    topics[p] = topic
    languages[p] = language
    ops[p] = is_op
    qualities[p] = quality
    made_at[p] = created
    status[p] = 0
    eng[p] = 0
    for col in counters:
        col[p] = 0


@njit(cache=True)
def write_originals(dense, counters, n, made, author, platform, topic, language, quality,
                    created):
    """Rows ``n:n + k`` of the columns for ``k`` organic originals (:meth:`PostStore.
    add_originals`; ``dense`` and ``counters`` as :func:`_write` takes them): post ``i`` has
    global id ``made + i`` and is its own root."""
    for i in range(author.size):
        _write(dense, counters, n + i, made + i, author[i], n + i, platform[i], KIND_ORGANIC,
               topic[i], language[i], False, quality[i], created)


@njit(cache=True)
def write_copies(dense, counters, sparse, sparse_counters, n, ns, made, roots, parents, author,
                 platform, kind, created):
    """Rows ``n:n + k`` of the columns and ``ns:ns + k`` of the sparse columns for ``k`` copies
    (:meth:`PostStore.add_copies`; ``dense`` and ``counters`` as :func:`_write` takes them):
    copy ``i`` has global id ``made + i``, its own author, platform, kind and creation hour,
    ``roots[i]`` for root, the global id of ``parents[i]`` for parent, and its root's content.
    ``sparse``: the sparse gid, parent and timeliness (a root without a sparse row is timely);
    ``sparse_counters``: the sparse counter columns."""
    gids, topics, languages, ops, qualities = dense[0], dense[5], dense[6], dense[7], dense[8]
    s_gid, s_parent, s_timeliness = sparse
    for i in range(roots.size):
        r = roots[i]
        _write(dense, counters, n + i, made + i, author[i], r, platform[i], kind, topics[r],
               languages[r], ops[r], qualities[r], created)
        row = np.searchsorted(s_gid[:ns], gids[r])
        has = row < ns and s_gid[row] == gids[r]
        s_gid[ns + i] = made + i
        s_parent[ns + i] = gids[parents[i]]
        s_timeliness[ns + i] = s_timeliness[row] if has else TIMELY
        for col in sparse_counters:
            col[ns + i] = 0


def _column(size: int, dtype: type, fill: int | float) -> np.ndarray:
    """A column of ``size`` slots holding ``fill``. Zero-filled columns (most of them: the
    counters) come from ``np.zeros``, whose untouched pages the OS maps lazily, so the spare
    capacity of a grown store costs (almost) no memory until posts fill it."""
    return np.zeros(size, dtype) if fill == 0 else np.full(size, fill, dtype)


CHUNK = 1 << 20  # records per step of growing the records: whole pages


class Renumbering(NamedTuple):
    """How a compaction renumbered the posts held. ``new`` maps old index -> new index (-1:
    dropped), one longer than the posts held before, with -1 last, so that ``new[items]`` maps
    ``-1`` to ``-1`` too. Every post after ``last``, the last one dropped (-1: none), moved down
    by ``shift``, the number dropped: renumbering those (most indices held anywhere are of
    recent posts) needs no load from ``new``."""

    new: np.ndarray
    last: int
    shift: int


@njit(cache=True)
def mark_roots(keep, root):
    """Mark in ``keep`` the root of every post it marks (a root is its own root, so one pass
    suffices)."""
    for i in range(keep.size):
        if keep[i]:
            keep[root[i]] = True


@njit(cache=True)
def _renumbering(keep, root):
    """``new``, ``last`` and whether every post kept has its root kept: one pass over the
    posts (:class:`Renumbering`)."""
    n = keep.size
    new = np.empty(n + 1, np.int32)
    k, last, ok = 0, -1, True
    for i in range(n):
        if keep[i]:
            ok &= keep[root[i]]
            new[i] = k
            k += 1
        else:
            new[i] = -1
            last = i
    new[n] = -1
    return new, last, ok


@njit(cache=True)
def renumber(items, new, last, shift):
    """Rewrite the post indices ``items`` (1-D, in place; -1, no post, stays) through a
    compaction's :class:`Renumbering` (given as its three fields). The feeds' remap
    (``sim.feeds.kernels.remap_rows``) spells the same rule out, marking dropped posts read: a
    shared inlined function cost it a quarter more (docs/performance.md)."""
    for i in range(items.size):
        p = items[i]
        if p > last:
            items[i] = p - shift
        elif p >= 0:
            items[i] = new[p]


@njit(cache=True)
def most_engaged(kind, platform, topic, eng, lo, hi, n_platforms, n_topics, k):
    """The ``k`` most-engaged organic originals of posts ``lo:hi`` for each key: a platform, or
    with ``n_topics`` > 0 a platform and topic (``platform * n_topics + topic``); of equal
    engagement the earlier win (the first ``k`` of a stable sort by engagement, descending).
    One pass, a heap of ``k`` for each key whose root is its weakest post (least engaged, and of
    those the latest), so most posts cost one comparison. Returns ``(ids, count)``: key ``j``'s
    posts are ``ids[j, :count[j]]``, ascending."""
    keys = n_platforms * max(n_topics, 1)
    ids, val = np.empty((keys, k), np.int64), np.empty((keys, k), np.int32)
    count = np.zeros(keys, np.int64)
    _heaps(kind, platform, topic, eng, lo, hi, n_topics, ids, val, count)
    for j in range(keys):
        _sort_row(ids[j], count[j])
    return ids, count


@njit(cache=True, parallel=True)
def most_engaged_parallel(kind, platform, topic, eng, lo, hi, n_platforms, n_topics, k, parts):
    """:func:`most_engaged` in ``parts`` equal runs of posts, one a thread, whose heaps are then
    merged: each key's ``k`` best are among the best ``k`` of the runs, and the order (more
    engaged, then earlier) is total, so the result is the same."""
    keys = n_platforms * max(n_topics, 1)
    ids, val = np.empty((parts, keys, k), np.int64), np.empty((parts, keys, k), np.int32)
    count = np.zeros((parts, keys), np.int64)
    for p in prange(parts):
        _heaps(kind, platform, topic, eng, lo + (hi - lo) * p // parts,
               lo + (hi - lo) * (p + 1) // parts, n_topics, ids[p], val[p], count[p])
    out, c = ids[0], count[0]
    for j in range(keys):
        for p in range(1, parts):
            for q in range(count[p, j]):
                c[j] = _offer(val[p, j, q], ids[p, j, q], out[j], val[0, j], c[j])
        _sort_row(out[j], c[j])
    return out, c


@njit(cache=True, inline="always")
def _sort_row(row, n):
    """Sort ``row[:n]`` in place (element by element: assigning an array to a slice costs numba
    a module of error messages, loaded at every start)."""
    s = np.sort(row[:n])
    for q in range(n):
        row[q] = s[q]


@njit(cache=True, inline="always")
def _heaps(kind, platform, topic, eng, lo, hi, n_topics, ids, val, count):
    """Offer each organic original of ``lo:hi`` to its key's heap (:func:`most_engaged`)."""
    k = ids.shape[1]
    for i in range(lo, hi):
        if kind[i] != KIND_ORGANIC:
            continue
        j = np.int64(platform[i])
        if n_topics > 0:
            if topic[i] < 0 or topic[i] >= n_topics:
                continue
            j = j * n_topics + topic[i]
        v = eng[i]
        if count[j] < k or _weaker(val[j, 0], ids[j, 0], v, i):  # (most posts fail here)
            count[j] = _offer(v, i, ids[j], val[j], count[j])


@njit(cache=True, inline="always")
def _offer(v, i, h, m, c):
    """Offer post ``i`` (engagement ``v``) to the heap ``h`` (engagements ``m``) of ``c``
    posts, whose room is ``h.size``, its weakest post at the root; returns the new count."""
    k, n = h.size, c
    if n < k:  # room left: in at the bottom, up while stronger than its parent
        while c > 0 and _weaker(v, i, m[(c - 1) // 2], h[(c - 1) // 2]):
            h[c], m[c] = h[(c - 1) // 2], m[(c - 1) // 2]
            c = (c - 1) // 2
        h[c], m[c] = i, v
        return n + 1
    if _weaker(m[0], h[0], v, i):  # in for the root, then down
        c = 0
        while 2 * c + 1 < k:
            d = 2 * c + 1
            if d + 1 < k and _weaker(m[d + 1], h[d + 1], m[d], h[d]):
                d += 1
            if not _weaker(m[d], h[d], v, i):
                break
            h[c], m[c] = h[d], m[d]
            c = d
        h[c], m[c] = i, v
    return k


@njit(cache=True, inline="always")
def _weaker(v, i, w, q):
    """Whether post ``i`` with engagement ``v`` ranks below post ``q`` with ``w``."""
    return v < w or (v == w and i > q)


def squeeze(col: np.ndarray, kept_head: np.ndarray, head: int, n: int) -> None:
    """Move, in place, the entries ``kept_head`` (ascending indices below ``head``) and then all
    of ``col[head:n]`` to the front of ``col`` (a plain 1-D column). The head's few kept are
    gathered; the rest, most of the column, is one overlapping move, which numpy makes without
    a temporary for a plain 1-D array (not for a structured one: records go as ``V16``), so that
    no temporary is as long as the column (hundreds of MB at 10^7 users)."""
    k = kept_head.size
    col[:k] = col[kept_head]
    col[k: k + n - head] = col[head:n]


def resized(col: np.ndarray, size: int, keep: int, fill: int | float) -> np.ndarray:
    """A column of ``size`` slots holding ``col[:keep]`` and ``fill`` after it: how every
    per-post array grows with the store."""
    out = _column(size, col.dtype, fill)
    out[:keep] = col[:keep]
    return out


GROWTH = 1.25  # a growable array grows by a quarter at a time


def room(size: int, need: int) -> int:
    """The capacity an array of ``size`` entries grows to when it needs ``need``: a quarter
    larger, at least ``need``."""
    return max(need, int(GROWTH * size))


def filled(v: np.ndarray | int | float, k: int, dtype: type) -> np.ndarray:
    """``v`` as ``k`` values of ``dtype``: an array (of ``k``) cast, a scalar repeated (an array
    of its own: ``np.full`` costs 0.8 us, ``np.broadcast_to`` 2.9, and a compiled pass takes
    one type of array)."""
    return np.asarray(v, dtype) if isinstance(v, np.ndarray) else np.full(k, v, dtype)


def _spread(v: np.ndarray | int | float, k: int) -> np.ndarray:
    """``v`` as ``k`` values: an array of them as it is, a scalar broadcast."""
    return v if isinstance(v, np.ndarray) and v.shape == (k,) else np.broadcast_to(v, (k,))


def grown(col: np.ndarray, need: int, keep: int, fill: int | float = 0) -> np.ndarray:
    """``col`` if it has room for ``need`` entries, else a copy of :func:`room`'s size
    holding ``col[:keep]`` (:func:`resized`)."""
    if need <= col.size:
        return col
    return resized(col, room(col.size, need), keep, fill)


def mapped_records(size: int) -> np.ndarray:
    """``size`` zeroed records (:data:`RECORD`) in a private mapping of their own: pages are
    taken as they are first written (with huge pages asked for, as numpy asks for its own large
    arrays), and :func:`grown_records` can hand them back a chunk at a time."""
    m = mmap.mmap(-1, max(size, 1) * RECORD.itemsize, flags=mmap.MAP_PRIVATE)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        m.madvise(mmap.MADV_HUGEPAGE)
    return np.frombuffer(m, RECORD, count=size)


def grown_records(rec: np.ndarray, need: int, keep: int) -> np.ndarray:
    """:func:`grown` for the records: the first ``keep`` are copied a chunk at a time, and each
    chunk's pages in the old mapping are handed back once copied, so that growing never holds
    two copies of the records (at 10^7 users that would be 400 MB more at the peak, where a
    column of its own grows by 100 MB at most). The old array reads zeros afterwards."""
    if need <= rec.size:
        return rec
    out = mapped_records(room(rec.size, need))
    old = getattr(rec.base, "obj", None)  # (the mapping behind the array's memoryview)
    old = old if isinstance(old, mmap.mmap) else None
    for a in range(0, keep, CHUNK):  # (CHUNK records: whole pages)
        b = min(a + CHUNK, keep)
        out[a:b] = rec[a:b]
        if old is not None:
            old.madvise(mmap.MADV_DONTNEED, a * RECORD.itemsize, (b - a) * RECORD.itemsize)
    return out


def _find(keys: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``x`` in the ascending ``keys`` (0 where absent), and which are there."""
    if keys.size == 0:
        return np.zeros(np.shape(x), np.intp), np.zeros(np.shape(x), bool)
    k = np.minimum(np.searchsorted(keys, x), keys.size - 1)
    return k, keys[k] == x


def last_of_each(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``keys``, ascending, and for each the value given last (in array order):
    how a short list keyed by post index takes new entries."""
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    last = np.append(keys[1:] != keys[:-1], True)[: keys.size]
    return keys[last], values[last]


class PostStore:
    """Growable columns indexed by post index (capacity grows by a quarter as needed).

    Memory grows with the posts held: about 46 bytes a post (reshares are posts; the moderation
    status included) and 32 more for each post that is not an organic original (the sparse
    columns); the hijacked threads are a short list of their own (:meth:`hijack`). Spare
    capacity costs nothing until posts fill it: columns are zero-filled (pages the OS maps
    lazily) and :meth:`add` writes every column of a new post. Compaction keeps what is held
    bounded. Global ids are 32-bit until a run has made 2^31 posts, then 64-bit
    (``GID_MAX``)."""

    GID_MAX = np.iinfo(np.int32).max

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0  # posts held
        self.made = 0  # posts ever made (the next gid)
        self.hour_starts: list[int] = []  # gid of the first post of each hour
        self.record = mapped_records(capacity)
        self.cols = {k: np.zeros(capacity, _COLUMNS[k][0]) for k in _APART}
        self._link()
        self.n_sparse = 0  # rows of the sparse columns, in creation order, keyed by "gid"
        self.sparse = {k: np.zeros(capacity, dtype) for k, (dtype, _) in _SPARSE_KEYED.items()}
        # threads the operation planted replies under (root indices, ascending) and the newest
        # reply under each: a few thousand of millions of posts, so a list, not a column
        self.hijacked = np.zeros(0, np.int32)
        self.hijack_replies = np.zeros(0, np.int32)

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name][: self.n]
        raise AttributeError(name)

    def add(self, **values: np.ndarray | int | float) -> np.ndarray:
        """Append posts; scalar values broadcast. Returns the new post ids."""
        if unknown := values.keys() - _COLUMNS.keys() - _SPARSE.keys():
            raise ValueError(f"posts: no column {sorted(unknown)}")
        k = 0  # posts added: the longest array's size (or 1, for scalars alone)
        for v in values.values():
            k = max(k, v.size if isinstance(v, np.ndarray) else 1)
        sparse = {name: _spread(values.pop(name), k) for name in _SPARSE if name in values}
        self._reserve(k)
        need = self.n + k
        ids = np.arange(self.n, need, dtype=np.int32)
        for name, (_, fill) in _COLUMNS.items():
            self.cols[name][self.n: need] = values.get(name, fill)
        if "root" not in values:
            self.cols["root"][self.n: need] = ids
        self.cols["gid"][self.n: need] = np.arange(self.made, self.made + k)
        kind = values.get("kind", _COLUMNS["kind"][1])  # organic originals: no sparse rows
        if sparse or isinstance(kind, np.ndarray) or kind != KIND_ORGANIC:
            self._add_sparse(self.cols["kind"][self.n: need] != KIND_ORGANIC, sparse)
        self.n = need
        self.made += k
        return ids

    def _reserve(self, k: int, k_sparse: int = 0) -> None:
        """Room for ``k`` more posts in every column (they share the record's capacity) and
        ``k_sparse`` more rows of the sparse columns; global ids become 64-bit before the run's
        2^31st post."""
        if self.n_sparse + k_sparse > self.sparse["gid"].size:
            self._grow(self.sparse, tuple(self.sparse), self.n_sparse + k_sparse, self.n_sparse)
        need = self.n + k
        if need > self.record.size:
            self._grow(self.cols, _APART, need, self.n)
            self.record = grown_records(self.record, need, self.n)
            self._link()
        if self.made + k > self.GID_MAX and self.cols["gid"].dtype != np.int64:
            for cols in (self.cols, self.sparse):
                cols["gid"] = cols["gid"].astype(np.int64)

    def _add_sparse(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Give the new posts marked in ``rows`` their rows of the sparse columns."""
        for name, v in values.items():
            if (v[~rows] != _SPARSE[name][1]).any():
                raise ValueError(f"posts: {name!r} is kept only for posts that are not organic "
                                 "originals")
        k = np.count_nonzero(rows)
        if k == 0:
            return
        self._reserve(0, k)
        ns, need = self.n_sparse, self.n_sparse + k
        self.sparse["gid"][ns: need] = self.made + np.flatnonzero(rows)
        for name, (_, fill) in _SPARSE.items():
            self.sparse[name][ns: need] = values[name][rows] if name in values else fill
        self.n_sparse = need

    def _link(self) -> None:
        """Point the record's columns at its fields (after it is made or grown)."""
        self.cols = {k: self.record[k] if k in RECORD.names else self.cols[k] for k in _COLUMNS}
        self.words = self.record.view(np.int32).reshape(-1, 4)

    @staticmethod
    def _grow(cols: dict[str, np.ndarray], names, need: int, keep: int) -> None:
        """Give columns ``names`` of ``cols`` room for ``need`` entries (a quarter more than
        before, at least), keeping the first ``keep``, one column at a time: a small peak."""
        for name in names:
            cols[name] = grown(cols[name], need, keep)

    def _sparse_rows(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the sparse columns of posts ``ids``, and which of them have one."""
        return _find(self.sparse["gid"][: self.n_sparse], self.cols["gid"][ids])

    def get(self, name: str, ids: np.ndarray) -> np.ndarray:
        """A column's values for posts ``ids``; a sparse column's default for organic
        originals; ``hijack_reply``: the newest reply planted under each (-1: none)."""
        if name in self.cols:
            return self.cols[name][ids]
        if name == "hijack_reply":
            k, has = _find(self.hijacked, ids)
            out = np.full(np.shape(ids), -1, np.int32)
            out[has] = self.hijack_replies[k[has]]
            return out
        rows, has = self._sparse_rows(ids)
        dtype, fill = _SPARSE[name]
        return np.where(has, self.sparse[name][rows], fill).astype(dtype)

    def count(self, name: str, ids: np.ndarray, k: np.ndarray | int) -> None:
        """Add ``k`` to a sparse counter of posts ``ids`` (none an organic original; a repeated
        id counts once, as in ``column[ids] += k``)."""
        rows, has = self._sparse_rows(ids)
        if not has.all():
            raise ValueError(f"posts: {name!r} is kept only for posts that are not organic "
                             "originals")
        self.sparse[name][rows] += k

    def held(self) -> dict[str, np.ndarray]:
        """Every column over the posts held, the sparse ones filled in (for checks and
        analysis; the engine reads the columns themselves)."""
        out = {k: v[: self.n] for k, v in self.cols.items()}
        ids = np.arange(self.n)
        return out | {name: self.get(name, ids) for name in (*_SPARSE, "hijack_reply")}

    def hijack(self, roots: np.ndarray, replies: np.ndarray) -> None:
        """Operation replies ``replies[i]`` planted under threads ``roots[i]``: each thread
        keeps the reply given last (its newest)."""
        self.hijacked, self.hijack_replies = last_of_each(
            np.concatenate([self.hijacked, np.asarray(roots, np.int32)]),
            np.concatenate([self.hijack_replies, np.asarray(replies, np.int32)]))

    def add_copies(self, roots: np.ndarray, parents: np.ndarray, *, author: np.ndarray,
                   platform, kind: int, created: int) -> np.ndarray:
        """Append reshares of ``parents`` (posts whose originals are ``roots``): each copy
        points to the original and carries its content. Returns the new post ids. What
        :meth:`add` would write, in one compiled pass (:func:`write_copies`; :meth:`add` took
        about 90 us a call for them at 2·10^4 users, several calls an hour)."""
        k = roots.size
        self._reserve(k, k)
        sp = self.sparse
        write_copies(*self._dense(), tuple(sp[name] for name in _SPARSE_WRITTEN),
                     tuple(sp[name] for name in _SPARSE_COUNTERS), self.n, self.n_sparse,
                     self.made, np.asarray(roots, np.int64), np.asarray(parents, np.int64),
                     filled(author, k, np.int64), filled(platform, k, np.int8), kind, created)
        self.n_sparse += k
        return self._added(k)

    def add_originals(self, author: np.ndarray, platform, topic: np.ndarray,
                      language: np.ndarray, quality: np.ndarray, created: int) -> np.ndarray:
        """Append organic originals, as :meth:`add` would, in one compiled pass
        (:func:`write_originals`). Returns the new post ids."""
        k = author.size
        self._reserve(k)
        write_originals(*self._dense(), self.n, self.made, np.asarray(author, np.int64),
                        filled(platform, k, np.int8), np.asarray(topic, np.int64),
                        np.asarray(language, np.int8), np.asarray(quality, np.float64), created)
        return self._added(k)

    def _dense(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """The columns as :func:`_write` takes them."""
        c = self.cols
        return tuple(c[name] for name in _WRITTEN), tuple(c[name] for name in _COUNTERS)

    def _added(self, k: int) -> np.ndarray:
        """Count the ``k`` posts a compiled pass wrote; their ids."""
        ids = np.arange(self.n, self.n + k, dtype=np.int32)
        self.n += k
        self.made += k
        return ids

    def columns(self) -> PostColumns:
        """The columns as a :class:`PostColumns` bundle (valid until the store next grows)."""
        ns = self.n_sparse
        return PostColumns(**self.cols, record=self.words, sparse_gid=self.sparse["gid"][:ns],
                           sparse_timeliness=self.sparse["timeliness"][:ns],
                           hijacked=self.hijacked, hijack_replies=self.hijack_replies)

    def index_of(self, gid: int) -> int:
        """Index of the first post held whose global id is ``gid`` or later."""
        col = self.cols["gid"][: self.n]
        info = np.iinfo(col.dtype)
        if not info.min <= gid <= info.max:
            return 0 if gid < 0 else self.n
        # searched as the column's own type: numpy would copy a 32-bit column whole to compare
        # it with a Python int (94 ms at 3 * 10^7 posts, against microseconds)
        return int(np.searchsorted(col, col.dtype.type(gid)))

    def start_hour(self) -> None:
        """Mark the start of an hour: posts made from now on were created in it."""
        self.hour_starts.append(self.made)

    def first_since(self, hour: int) -> int:
        """Index of the first post created at or after ``hour`` (posts are held in creation
        order, and every post of the last ``feed_max_age_hours`` is held)."""
        if hour >= len(self.hour_starts):
            return self.n
        return self.index_of(self.hour_starts[max(hour, 0)])

    def compact(self, keep: np.ndarray) -> Renumbering:
        """Drop the posts not in ``keep`` (a mask over the posts held; it must hold the root of
        every post it holds), in place. Returns how the posts were renumbered."""
        n = self.n
        new, last, ok = _renumbering(keep, self.cols["root"][:n])
        if not ok:
            raise ValueError("compact: keep must hold the root of every post it keeps")
        if last < 0:
            return Renumbering(new, -1, 0)
        head = last + 1  # every post from here on is kept
        kept_head = np.flatnonzero(keep[:head])
        shift = head - kept_head.size
        ns = self.n_sparse  # sparse rows of posts before the head: found by gid
        gid = self.cols["gid"]
        m = int(np.searchsorted(self.sparse["gid"][:ns], gid[head])) if head < n else ns
        kept_sparse = np.flatnonzero(keep[np.searchsorted(gid[:head],
                                                          self.sparse["gid"][:m])])
        for col in self.sparse.values():
            squeeze(col, kept_sparse, m, ns)
        self.n_sparse = ns - (m - kept_sparse.size)
        for name in _APART:
            squeeze(self.cols[name], kept_head, head, n)
        squeeze(self.record.view(f"V{RECORD.itemsize}"), kept_head, head, n)
        self.n = n - shift
        renumber(self.cols["root"][: self.n], new, last, shift)
        r, p = new[self.hijacked], new[self.hijack_replies]  # (new keeps the order)
        kept = (r >= 0) & (p >= 0)
        self.hijacked, self.hijack_replies = r[kept], p[kept]
        return Renumbering(new, last, shift)

    def most_engaged(self, since: int, k: int, n_platforms: int, n_topics: int = 0
                     ) -> dict[tuple[int, int], np.ndarray]:
        """The ``k`` most-engaged organic originals created from hour ``since`` on, by platform
        (topic -1) or, with ``n_topics``, by platform and topic (:func:`most_engaged`, on
        every thread for many posts): ids ascending, keyed by (platform, topic)."""
        c = self.cols
        lo = self.first_since(since)
        args = (c["kind"], c["platform"], c["topic"], c["eng_visible"], lo, self.n, n_platforms,
                n_topics, k)
        ids, count = most_engaged_parallel(*args, get_threads()) \
            if parallel_worth(self.n - lo, "writes") else most_engaged(*args)
        keys = [(p, t) for p in range(n_platforms) for t in (range(n_topics) or [-1])]
        return {key: ids[j, : count[j]].copy() for j, key in enumerate(keys)}
