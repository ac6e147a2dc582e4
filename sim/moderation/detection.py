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

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .. import portable
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


def _distinct_per_key(key: np.ndarray, who: np.ndarray) -> np.ndarray:
    """For each row, the number of distinct ``who`` values sharing its ``key``."""
    if key.size == 0:
        return np.zeros(0, np.int64)
    _, kid = np.unique(key, return_inverse=True)
    pairs = sorted_unique(kid.astype(np.int64) * (int(who.max()) + 1) + who)
    per_key = np.bincount(pairs // (int(who.max()) + 1), minlength=int(kid.max()) + 1)
    return per_key[kid]


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
    ``index`` (kept by the caller between scans) only saves time.
    """
    index = AccountIndex() if index is None else index
    accounts = index.build(obs.born.size, obs.post_author, obs.eng_dst, obs.report_dst)
    a_n = accounts.size
    ai = index[obs.post_author]
    n_posts = np.bincount(ai, minlength=a_n)
    orig = obs.post_original
    n_orig = np.bincount(ai[orig], minlength=a_n).astype(np.float64)
    sig = np.zeros((a_n, len(SIGNALS)), order="F")  # (a signal's column in one block)

    age_days = np.maximum(obs.now - obs.born[accounts], 0) / 24.0
    sig[:, 0] = portable.exp(-age_days / cfg.age_scale_days)
    per_day = n_posts * 24.0 / cfg.window_hours
    sig[:, 1] = 1.0 - portable.exp(-per_day / cfg.rate_scale_per_day)

    fp = orig & (obs.post_fingerprint != UNIQUE)
    f_acc, f_key = ai[fp], obs.post_fingerprint[fp].astype(np.int64)
    in_bin = _in_window(f_key, obs.post_created[fp], cfg)
    sync = _distinct_per_key(in_bin, f_acc) >= cfg.copost_min_accounts
    dup = _distinct_per_key(f_key, f_acc) >= cfg.duplicate_min_accounts
    sig[:, 2] = np.bincount(f_acc[sync], minlength=a_n) / (n_orig + 1.0)
    sig[:, 3] = np.bincount(f_acc[dup], minlength=a_n) / (n_orig + 1.0)

    src, dst = obs.eng_src.astype(np.int64), obs.eng_dst.astype(np.int64)
    if src.size:
        span = int(max(src.max(), dst.max())) + 1
        edges = sorted_unique(src * span + dst)
        back = dst * span + src
        pos = np.minimum(np.searchsorted(edges, back), edges.size - 1)
        reciprocal = edges[pos] == back
        di = index[dst]
        received = np.bincount(di, minlength=a_n)
        sig[:, 4] = np.bincount(di[reciprocal], minlength=a_n) / (received + 1.0)

    main = obs.main_language[obs.claimed_community[obs.post_author[orig]]]
    off = np.where(obs.post_language[orig] != main, 1.0, 1.0 - obs.post_quality[orig])
    sig[:, 5] = np.bincount(ai[orig], weights=off, minlength=a_n) / np.maximum(n_orig, 1.0)
    reports = np.bincount(index[obs.report_dst], minlength=a_n)
    sig[:, 6] = 1.0 - portable.exp(-reports / cfg.report_scale)

    if src.size and cfg.weight_coengagement > 0:  # (skipped when it cannot count)
        window = _in_window(dst, obs.eng_tick, cfg)
        together = _distinct_per_key(window, src) >= cfg.copost_min_accounts
        si, mine = index.find(src)  # engagers that are scored (seen posting or engaged with)
        given = np.bincount(si[mine], minlength=a_n)
        sig[:, 7] = np.bincount(si[mine & together], minlength=a_n) / (given + 1.0)

    w = _weights(cfg)
    score = portable.weighted_sum(sig, w / w.sum())
    return Scores(accounts, n_posts, sig, score, n_posts >= cfg.min_posts)


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
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    size = int(max(a_n, c.max(initial=a_n - 1) + 1))
    graph = coo_matrix((np.ones(r.size, np.int8), (r, c)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    label = label[:a_n]
    seeds = np.unique(label[flagged])
    members = cand & np.isin(label, seeds)
    order = np.argsort(label[members], kind="stable")
    idx = np.flatnonzero(members)[order]
    bounds = np.flatnonzero(np.diff(label[idx])) + 1
    return np.split(idx, bounds)


