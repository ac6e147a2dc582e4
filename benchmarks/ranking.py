"""Wall time of ranking readers' candidates, items offered newest first against slot order.

    python benchmarks/ranking.py --users 1000000 --warmup 192 --ticks 48

The model runs on (headline preset, moderation on, no counterfactual); in each timed hour,
every platform's parallel read is intercepted, its items are gathered and scored beforehand
(``sim.feeds.kernels.gather_scores``, which changes nothing), and the ranking pass runs twice on
the same scores, once as ``sim.feeds.kernels.rank_rows`` does it
(newest first) and once with the items offered in slot order (the rule before, kept here), in
alternating order from one read to the next (the first read untimed); the candidates must
agree. Prints one JSON line with the seconds of each.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from numba import njit, prange

import sim
import sim.feeds as feeds
from sim.feeds.kernels import READ_CHUNK, gather_scores, rank_rows
from sim.model import InfluenceModel
from sim.runner import resolve_config

ROOT = Path(__file__).resolve().parents[1]


@njit(cache=True, parallel=True)
def slot_order(score, start, n_read, top, n_top):
    """Each reader's best items by insertion, items offered in slot order (ties stay first)."""
    for i in prange(n_top.size):
        lo, hi, k = start[i], start[i + 1], n_read[i]
        n = 0
        for j in range(lo, hi if k > 0 else lo):
            x = score[j]
            if x == -np.inf or (n == k and not x > score[top[lo + k - 1]]):
                continue
            q = n if n < k else k - 1
            while q > 0 and score[top[lo + q - 1]] < x:
                top[lo + q] = top[lo + q - 1]
                q -= 1
            top[lo + q] = j
            if n < k:
                n += 1
        n_top[i] = n


@njit(cache=True, parallel=True)
def newest_first(score, slot, ptr, rows, start, n_read, top, n_top):
    """The engine's ranking pass (:func:`sim.feeds.kernels.rank_rows`) on every thread, in
    chunks of readers as reading takes them."""
    for c in prange((rows.size + READ_CHUNK - 1) // READ_CHUNK):
        rank_rows(score, slot, ptr, rows, start, n_read, top, n_top, c * READ_CHUNK,
                  min(rows.size, (c + 1) * READ_CHUNK))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(ROOT / "experiments" / "spamouflage.toml"))
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--warmup", type=int, default=192, help="hours run before the timed window")
    ap.add_argument("--ticks", type=int, default=48, help="hours timed")
    ap.add_argument("--threads", type=int, default=None, help="threads [SIM_THREADS or all]")
    args = ap.parse_args()

    if args.threads is not None:
        sim.set_threads(args.threads)
    cfg = resolve_config(args.config, users=args.users,
                         days=(args.warmup + args.ticks) / 24 + 1,
                         overrides={"moderation.counterfactual": False})
    model = InfluenceModel(cfg)
    read = feeds.read_parallel
    seconds = {"newest_first": 0.0, "slot_order": 0.0}
    reads = [0]

    def timed(stream, feed, rows, n_read, gap, rank, posts, now, parts):
        start, slot, _, score, _, _ = gather_scores(feed, rows, n_read, rank, posts, now)
        tops = {}
        runs = {"newest_first": lambda t, n: newest_first(score, slot, feed.ptr, rows, start,
                                                          n_read, t, n),
                "slot_order": lambda t, n: slot_order(score, start, n_read, t, n)}
        for name in sorted(runs, reverse=reads[0] % 2 == 1):
            top, n_top = np.empty(score.size, np.int64), np.empty(rows.size, np.int64)
            t = time.perf_counter()
            runs[name](top, n_top)
            if reads[0]:  # (the first read compiles, or loads, both kernels)
                seconds[name] += time.perf_counter() - t
            tops[name] = (top, n_top)
        (a, na), (b, nb) = tops.values()
        assert np.array_equal(na, nb), "the two orders disagree on the number of candidates"
        keep = np.repeat(start[:-1] - np.cumsum(na) + na, na) + np.arange(na.sum())
        assert np.array_equal(a[keep], b[keep]), "the two orders disagree on the candidates"
        reads[0] += 1
        return read(stream, feed, rows, n_read, gap, rank, posts, now, parts)

    model.run(args.warmup)
    feeds.read_parallel = timed
    model.run(args.ticks)
    print(json.dumps({"users": args.users, "from_tick": args.warmup, "ticks": args.ticks,
                      "threads": sim.get_threads(), "reads": reads[0],
                      **{k: round(v, 4) for k, v in seconds.items()},
                      "load_average": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
