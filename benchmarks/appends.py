"""What appending replacement accounts costs: a whole run's appends, replayed in isolation.

Operators replace removed troll accounts a few at a time, tens of thousands of times a month at
10^6 users, and the operation grows with the population (``operation.scale_with_users``). This
runs the headline preset (moderation on, no counterfactual) and records every append
(``TrollAccounts.extend``: the accounts added), then replays the sequence on a copy of the
first accounts twice: by concatenating every account array (how appending worked before) and
with :meth:`TrollAccounts.extend` (spare storage). ``--scale 10`` also replays the operation ten
times over, each append ten times onto the first accounts ten times over, as a world ten times
larger would make them. Prints one line per replay, CPU seconds.

    python benchmarks/appends.py --users 1000000 --days 30 --scale 1 10
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def concatenate(acc, new) -> None:
    """The earlier append: every field concatenated with the new accounts' (a full copy)."""
    for name in acc.__dataclass_fields__:
        setattr(acc, name, np.concatenate((getattr(acc, name), getattr(new, name))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(ROOT / "experiments" / "spamouflage.toml"))
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--scale", type=int, nargs="+", default=[1, 10])
    args = ap.parse_args()

    from sim.model import InfluenceModel
    from sim.operation import TrollAccounts
    from sim.runner import resolve_config

    added = []
    extend = TrollAccounts.extend

    def recorded(self, new):
        added.append(new)
        return extend(self, new)

    TrollAccounts.extend = recorded
    cfg = resolve_config(args.config, users=args.users, days=args.days,
                         overrides={"moderation.counterfactual": False})
    model = InfluenceModel(cfg)
    first = copy.deepcopy(model.operation.accounts)
    model.run()
    TrollAccounts.extend = extend
    for scale in args.scale:
        for label, append in (("concatenate", concatenate), ("spare storage", extend)):
            acc = copy.deepcopy(first)
            for _ in range(scale - 1):
                concatenate(acc, first)
            n0, t = acc.n, time.process_time()
            for new in added:
                for _ in range(scale):
                    append(acc, new)
            print(f"x{scale}: {len(added) * scale:,} appends, {n0:,} -> {acc.n:,} "
                  f"accounts, {label}: {time.process_time() - t:.2f} s CPU")


if __name__ == "__main__":
    main()
