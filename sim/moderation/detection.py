"""What a platform's detector concludes from what the platform can observe: pure functions.

The detector sees an :class:`Observation`: posts in a recent window (author, time, whether
original or a reshare, content fingerprint, language, writing quality), who engaged with whose
content, user reports, and account profiles (registration time, claimed community). Nothing in
it says who runs an account (``sim.moderation.enforcement`` builds it without reading the hidden
labels). :func:`score_accounts` gives each account in the window eight signals in [0, 1] and a
weighted mean, the suspicion score; :func:`linked_groups` finds, in network mode, the connected
groups of linked suspicious accounts that one action takes down together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..config import ModerationConfig
from ..network import sorted_unique

SIGNALS = ("age", "rate", "sync", "duplicate", "cluster", "language", "reports", "coengagement")
UNIQUE = -1  # fingerprint of content nobody else posts; fan slogans are below it, operation
# content directions are >= 0, so the two never collide


class PerAccount:
    """A profile attribute over the one account id space (organic users ``0 .. n-1``, then
    operation accounts), looked up where it lives: concatenating the two at every scan would
    copy an entry per user (10^7 of them at the largest populations) to read a few thousand.
    A view of the model's arrays: read it before the model steps on."""

    def __init__(self, organic: np.ndarray, operation: np.ndarray, dtype: type) -> None:
        self.organic, self.operation, self.dtype = organic, operation, dtype

    @property
    def size(self) -> int:
        return self.organic.size + self.operation.size

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[np.arange(self.size)]
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids)
        n = self.organic.size
        out = self.organic[np.minimum(ids, n - 1)].astype(self.dtype)  # then the few others
        op = np.flatnonzero(ids >= n)
        out[op] = self.operation[ids[op] - n]
        return out


class AccountIndex:
    """Where each account sits in a scan's sorted list of accounts, as a table over the whole
    account id space. Sorting and binary-searching the window's ids took about half of a scan
    at 10^7 users (millions of ids, each search a chain of cache misses); a table answers with
    one load. A moderation keeps one between scans, so its pages are touched once; a scan
    clears only the entries it set."""

    def __init__(self) -> None:
        self.seen = np.zeros(0, bool)  # account ids in the current list
        self.pos = np.zeros(0, np.int32)  # their positions in it (stale where not seen)
        self.accounts = np.zeros(0, np.int64)

    def build(self, size: int, *ids: np.ndarray) -> np.ndarray:
        """The distinct ids among ``ids`` (each below ``size``), sorted, indexed from now on."""
        self.seen[self.accounts] = False
        if self.seen.size < size:
            self.seen, self.pos = np.zeros(size, bool), np.zeros(size, np.int32)
        for x in ids:
            self.seen[x] = True
        self.accounts = np.flatnonzero(self.seen[:size])
        self.pos[self.accounts] = np.arange(self.accounts.size, dtype=np.int32)
        return self.accounts

    def __getitem__(self, ids: np.ndarray) -> np.ndarray:
        """Positions of ``ids``, all in the list."""
        return self.pos[ids]

    def find(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``ids`` and which of them are in the list (elsewhere: meaningless)."""
        return self.pos[ids], self.seen[ids]


@dataclass
class Observation:
    """What one platform can see at one moment. Account ids share one space (organic users and
    operation accounts alike); profiles are indexed by account id."""

    now: int
    post_author: np.ndarray  # int64
    post_created: np.ndarray  # int32 tick
    post_original: np.ndarray  # bool: an original post or reply, not a reshare
    post_fingerprint: np.ndarray  # int32 content fingerprint; UNIQUE = nobody else's
    post_language: np.ndarray  # int8
    post_quality: np.ndarray  # float32 writing quality as a classifier would judge it
    eng_src: np.ndarray  # int64 account that engaged
    eng_dst: np.ndarray  # int64 account whose content it engaged with
    eng_tick: np.ndarray  # int64 hour of the engagement
    report_dst: np.ndarray  # int64 account whose content was reported (one row per report)
    born: np.ndarray | PerAccount  # int64 registration tick, per account id
    claimed_community: np.ndarray | PerAccount  # int8 profile community, per account id
    main_language: np.ndarray  # int8 main language of each community


@dataclass
class Scores:
    accounts: np.ndarray  # int64 account ids seen in the window, sorted
    n_posts: np.ndarray  # posts of any kind in the window
    signals: np.ndarray  # float (accounts x SIGNALS)
    score: np.ndarray  # weighted mean of the signals
    eligible: np.ndarray  # bool: enough posts to be judged


def _weights(cfg: ModerationConfig) -> np.ndarray:
    return np.array([cfg.weight_age, cfg.weight_rate, cfg.weight_sync, cfg.weight_duplicate,
                     cfg.weight_cluster, cfg.weight_language, cfg.weight_reports,
                     cfg.weight_coengagement])


def _in_window(key: np.ndarray, tick: np.ndarray, cfg: ModerationConfig) -> np.ndarray:
    """One code per (key, sync window): what "at the same time" means for every signal."""
    return key.astype(np.int64) * 1_000_003 + tick // cfg.sync_window_hours


def score_accounts(obs: Observation, cfg: ModerationConfig,
                   index: AccountIndex | None = None) -> Scores:
    """Signals and suspicion score of every account active (posting, engaged with or reported)
    in the window. Signals, each in [0, 1]:

    - age: ``exp(-age / age_scale_days)``, young accounts score high;
    - rate: ``1 - exp(-posts per day / rate_scale_per_day)``;
    - sync: share of its original posts whose content ``copost_min_accounts`` or more accounts
      posted within the same ``sync_window_hours``;
    - duplicate: share of its original posts whose content ``duplicate_min_accounts`` or more
      accounts posted in the window;
    - cluster: share of the engagement it received that came from accounts it engaged with
      itself (reciprocal engagement, the footprint of self-amplification);
    - language: mean over its original posts of 1 if written in a language other than the main
      one of its claimed community, else 1 - quality;
    - reports: ``1 - exp(-reports / report_scale)``;
    - coengagement: share of the engagements it gave that went to an account which
      ``copost_min_accounts`` or more accounts engaged with in the same ``sync_window_hours``
      (engaging in step with others; fans of a popular account do it too).

    Shares use a pseudo-count of one post (or engagement) so one coincidence is not a pattern.
    ``index`` (kept by the caller between scans) only saves time. What needs sorting is done
    by numpy (its sorts are several times numba's); the rest is one compiled pass
    (:func:`_scan`).
    """
    index = AccountIndex() if index is None else index
    accounts = index.build(obs.born.size, obs.post_author, obs.eng_dst, obs.report_dst)
    fp = np.flatnonzero(obs.post_original & (obs.post_fingerprint != UNIQUE))
    f_key = obs.post_fingerprint[fp].astype(np.int64)
    sync_key = _in_window(f_key, obs.post_created[fp], cfg)
    src, dst = obs.eng_src.astype(np.int64), obs.eng_dst.astype(np.int64)
    span = int(max(src.max(initial=0), dst.max(initial=0))) + 1
    coengagement = bool(src.size) and cfg.weight_coengagement > 0  # (skipped if it cannot count)
    in_key = _in_window(dst, obs.eng_tick, cfg) if coengagement else np.zeros(0, np.int64)
    engager = np.unique(src, return_inverse=True)[1] if coengagement else in_key  # (dense ids)
    born, community = _split(obs.born), _split(obs.claimed_community)
    w = _weights(cfg)
    n_posts, sig, score = _scan(
        obs.now, accounts, index.seen, index.pos, obs.post_author, obs.post_original,
        obs.post_language, obs.post_quality, born, community, obs.main_language, fp, f_key,
        sync_key, np.argsort(sync_key, kind="stable"), src, dst, span, np.sort(src * span + dst),
        in_key, np.argsort(in_key, kind="stable"), engager, obs.report_dst, coengagement,
        (cfg.copost_min_accounts, cfg.duplicate_min_accounts),
        (float(cfg.window_hours), float(cfg.age_scale_days), float(cfg.rate_scale_per_day),
         float(cfg.report_scale)), w / w.sum())
    return Scores(accounts, n_posts, sig, score, n_posts >= cfg.min_posts)


def _split(per_account: np.ndarray | PerAccount) -> tuple[np.ndarray, np.ndarray]:
    """A profile attribute as (organic users' part, operation accounts' part)."""
    if isinstance(per_account, PerAccount):
        return per_account.organic, per_account.operation
    return per_account, per_account[:0]


@njit(cache=True, nogil=True)
def _scan(now, accounts, seen, pos, author, orig, language, quality, born, community,
          main_language, fp, f_key, sync_key, by_key, src, dst, span, edges, in_key, in_order,
          engager, report_dst, coengagement, at_least, scales, weights):
    """:func:`score_accounts` once its sorts are made (numpy's: ``by_key`` orders the
    fingerprinted posts ``fp`` by ``sync_key``, content then sync window; ``edges`` are the
    engagements' keys ``src * span + dst``, ascending; ``in_order`` orders the engagements by
    ``in_key``, engaged account and sync window, when co-engagement counts): positions and
    profiles looked up, which fingerprinted posts count for ``sync`` and ``duplicate`` (their
    runs in ``by_key``: a content's posts are one run, and each of its sync windows one run
    within it), which engagements were returned and which were given in step (distinct
    ``engager``, dense ids, in a run of ``in_order``), then :func:`_signals`. ``born`` and
    ``community``: a profile attribute's (organic, operation) parts (:func:`_split`);
    ``at_least``: the co-posting and duplicate thresholds; ``scales``: the window, age, rate
    and report scales. A scan made about 50 numpy calls for these (over a few thousand posts at
    2·10^4 users)."""
    a_n = accounts.size
    born_org, born_op = born
    comm_org, comm_op = community
    n_org = born_org.size
    born_at = np.empty(a_n, np.int64)
    for a in range(a_n):
        x = accounts[a]
        born_at[a] = born_org[x] if x < n_org else born_op[x - n_org]
    ai = pos[author]
    main = np.empty(np.count_nonzero(orig), main_language.dtype)
    j = 0
    for i in range(author.size):
        if orig[i]:
            x = author[i]
            main[j] = main_language[comm_org[x] if x < n_org else comm_op[x - n_org]]
            j += 1
    f_acc = ai[fp]
    sync = _distinct_runs(by_key, sync_key, f_acc, a_n, at_least[0])
    dup = _distinct_runs(by_key, f_key, f_acc, a_n, at_least[1])
    reciprocal = np.empty(src.size, np.bool_)
    for e in range(src.size):
        back = dst[e] * span + src[e]
        k = np.searchsorted(edges, back)
        reciprocal[e] = k < edges.size and edges[k] == back
    if coengagement:
        si, mine = pos[src], seen[src]
    else:
        si, mine = pos[:0], seen[:0]
    in_step = _distinct_runs(in_order, in_key, engager, engager.size, at_least[0])
    return _signals(now, born_at, ai, orig, language, quality, main, f_acc, sync, dup,
                    pos[dst], reciprocal, si, mine, in_step, pos[report_dst], coengagement,
                    scales[0], scales[1], scales[2], scales[3], weights)


@njit(cache=True, nogil=True, inline="always")
def _distinct_runs(order, key, who, n_who, at_least):
    """For each row, whether ``at_least`` distinct ``who`` (values below ``n_who``) share its
    ``key``, where ``order`` lists the rows with equal keys in runs."""
    out = np.zeros(order.size, np.bool_)
    last = np.full(n_who, -1, np.int64)  # the run that last counted each ``who``
    k = 0
    while k < order.size:
        end, count = k, 0
        while end < order.size and key[order[end]] == key[order[k]]:
            if last[who[order[end]]] != k:
                last[who[order[end]]] = k
                count += 1
            end += 1
        for q in range(k, end):
            out[order[q]] = count >= at_least
        k = end
    return out


@njit(cache=True, nogil=True)
def _signals(now, born, ai, orig, language, quality, main, f_acc, sync, dup, di, reciprocal,
             si, mine, in_step, ri, coengagement, window_hours, age_scale, rate_scale,
             report_scale, weights):
    """:func:`score_accounts`' counts, signals and scores, for accounts ``0 .. born.size - 1``
    (positions in the scan's list), in one pass over posts, one over engagements and one over
    accounts. ``ai``, ``f_acc``, ``di``, ``si`` (where ``mine``) and ``ri`` are the positions of
    the posts' authors, of the authors of posts with a fingerprint, of the engaged-with, of the
    engagers and of the reported; ``main`` is the main language of each original post's
    author's claimed community; ``sync``, ``dup``, ``reciprocal`` and ``in_step`` say which
    fingerprinted posts and engagements count. The floating-point operations are the formulas'
    own, sums in row order: the numbers of the numpy passes this replaced (which made a
    temporary array at every step)."""
    a_n = born.size
    n_posts = np.zeros(a_n, np.int64)
    n_orig = np.zeros(a_n)
    off = np.zeros(a_n)  # the language signal summed over original posts
    j = 0
    for i in range(ai.size):
        n_posts[ai[i]] += 1
        if orig[i]:
            n_orig[ai[i]] += 1.0
            off[ai[i]] += 1.0 if language[i] != main[j] else np.float32(1.0) - quality[i]
            j += 1
    n_sync, n_dup = np.zeros(a_n, np.int64), np.zeros(a_n, np.int64)
    for k in range(f_acc.size):
        n_sync[f_acc[k]] += sync[k]
        n_dup[f_acc[k]] += dup[k]
    received, back = np.zeros(a_n, np.int64), np.zeros(a_n, np.int64)
    given, together = np.zeros(a_n, np.int64), np.zeros(a_n, np.int64)
    for e in range(di.size):
        received[di[e]] += 1
        back[di[e]] += reciprocal[e]
        if coengagement and mine[e]:
            given[si[e]] += 1
            together[si[e]] += in_step[e]
    reports = np.zeros(a_n, np.int64)
    for r in ri:
        reports[r] += 1
    sig = np.zeros((8, a_n))  # (returned transposed: a signal's column in one block)
    score = np.zeros(a_n)
    # two of the exponentials depend on a count: each count's is worked out once (the C
    # library's exp, three an account, was about half of the pass's time)
    by_posts = np.full(n_posts.max() + 1 if a_n else 0, np.nan)
    by_reports = np.full(reports.max() + 1 if a_n else 0, np.nan)
    for a in range(a_n):
        if np.isnan(by_posts[n_posts[a]]):
            by_posts[n_posts[a]] = 1.0 - math.exp(-(n_posts[a] * 24.0 / window_hours) / rate_scale)
        if np.isnan(by_reports[reports[a]]):
            by_reports[reports[a]] = 1.0 - math.exp(-reports[a] / report_scale)
        sig[0, a] = math.exp(-(max(now - born[a], 0) / 24.0) / age_scale)
        sig[1, a] = by_posts[n_posts[a]]
        sig[2, a] = n_sync[a] / (n_orig[a] + 1.0)
        sig[3, a] = n_dup[a] / (n_orig[a] + 1.0)
        sig[4, a] = back[a] / (received[a] + 1.0)
        sig[5, a] = off[a] / max(n_orig[a], 1.0)
        sig[6, a] = by_reports[reports[a]]
        if coengagement:
            sig[7, a] = together[a] / (given[a] + 1.0)
        for k in range(8):
            score[a] += sig[k, a] * weights[k]
    return n_posts, sig.T, score


@njit(cache=True, nogil=True, inline="always")
def _root(parent: np.ndarray, x: int) -> int:
    """The root of ``x``'s tree in the union-find ``parent``, halving the path on the way."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def _components(size: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The connected components of the undirected graph on nodes ``0 .. size - 1`` with edges
    ``rows[e]``-``cols[e]``, as a label per node: components numbered in the order of their
    smallest node, as scipy's ``connected_components`` numbers them (a component's node list
    is in order whatever the labels; the order of the groups is the order of actions). By
    union-find, each component's root its smallest node: scipy's sparse matrix and its
    conversions cost more than the search."""
    parent = np.arange(size)
    for e in range(rows.size):
        a, b = _root(parent, rows[e]), _root(parent, cols[e])
        parent[max(a, b)] = min(a, b)
    label = np.empty(size, np.int64)
    n = 0
    for i in range(size):
        r = _root(parent, i)
        if r == i:
            label[i] = n
            n += 1
        else:
            label[i] = label[r]
    return label


def linked_groups(obs: Observation, scores: Scores, cfg: ModerationConfig,
                  flagged: np.ndarray, index: AccountIndex | None = None) -> list[np.ndarray]:
    """Network mode: groups of suspicious accounts (eligible, score >= network_threshold)
    linked by engagement between them (either way) or by co-posting the same content in one
    sync window, that contain at least one flagged account. Returns index arrays into
    ``scores.accounts``. ``index``: the one :func:`score_accounts` built, if it still lists
    these scores' accounts (only saves time)."""
    a_n = scores.accounts.size
    if index is None or index.accounts is not scores.accounts:
        index = AccountIndex()
        ids = (obs.eng_src, obs.eng_dst, obs.post_author, scores.accounts)  # (all looked up)
        index.build(1 + max(int(x.max(initial=0)) for x in ids), scores.accounts)
    cand = scores.eligible & (scores.score >= cfg.network_threshold)
    cand |= flagged
    rows, cols = [], []
    if obs.eng_src.size:  # engagement between scored accounts
        (si, ok), (di, d_ok) = index.find(obs.eng_src), index.find(obs.eng_dst)
        ok &= d_ok
        ok[ok] &= cand[si[ok]] & cand[di[ok]]
        rows.append(si[ok])
        cols.append(di[ok])
    orig = obs.post_original & (obs.post_fingerprint != UNIQUE)
    ai = index[obs.post_author[orig]]
    in_bin = _in_window(obs.post_fingerprint[orig], obs.post_created[orig], cfg)
    keep = cand[ai]
    if keep.any():  # accounts joined through a node per (content, window)
        _, kid = np.unique(in_bin[keep], return_inverse=True)
        rows.append(ai[keep])
        cols.append(a_n + kid)
    # (one type whichever lists there are: one compiled version of the search)
    r = np.concatenate(rows, dtype=np.int64) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols, dtype=np.int64) if cols else np.zeros(0, np.int64)
    label = _components(int(max(a_n, c.max(initial=a_n - 1) + 1)), r, c)[:a_n]
    seeds = sorted_unique(label[flagged])
    members = cand & np.isin(label, seeds)
    order = np.argsort(label[members], kind="stable")
    idx = np.flatnonzero(members)[order]
    bounds = np.flatnonzero(np.diff(label[idx])) + 1
    return np.split(idx, bounds)


