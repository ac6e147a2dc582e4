"""Wall time of the daily compaction's feed remap alone, at the size of one 10^7-user platform.

    python benchmarks/remap.py                      # 3.5 million rows x 64 slots, 2 threads
    python benchmarks/remap.py --rows 350000 --threads 1

One feed whose slots hold posts spread over the newest ``--posts`` indices (all but the first
``--head``), after a compaction that drops 90% of the oldest ``--head`` posts (a day aged out,
the operation's content kept): ``Feeds.remap`` rewrites every slot through the map. The same
slots are refilled before each repetition. Prints one JSON line. Run it in two checkouts
alternately to compare engines (the call is the same in both).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import sim
from sim.feeds import Feeds
from sim.posts import Renumbering


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=3_500_000)
    ap.add_argument("--slots", type=int, default=64)
    ap.add_argument("--posts", type=int, default=31_000_000)
    ap.add_argument("--head", type=int, default=3_500_000)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    sim.set_threads(a.threads)
    rng = np.random.default_rng(1)
    keep = np.ones(a.posts, bool)
    keep[: a.head] = rng.random(a.head) < 0.1
    new = np.full(a.posts + 1, -1, np.int32)
    new[: a.posts][keep] = np.arange(keep.sum())
    dropped = np.flatnonzero(~keep)
    renumbered = Renumbering(new, int(dropped[-1]), dropped.size)
    feeds = Feeds(a.rows, a.slots)
    slots = rng.integers(a.head // 2, a.posts, (a.rows, a.slots)).astype(np.int32)
    seconds = []
    for _ in range(a.repeat):
        feeds.items[:] = slots
        t = time.perf_counter()
        feeds.remap(renumbered)
        seconds.append(round(time.perf_counter() - t, 3))
    print(json.dumps({"rows": a.rows, "slots": a.slots, "posts": a.posts, "head": a.head,
                      "threads": a.threads, "seconds": seconds}))


if __name__ == "__main__":
    main()
