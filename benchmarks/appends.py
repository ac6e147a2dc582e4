"""What appending replacement accounts costs: a whole run's appends, replayed in isolation.

Operators replace removed troll accounts a few at a time, tens of thousands of times a month at
10^6 users, and the operation grows with the population (``operation.scale_with_users``). This
runs the headline preset (moderation on, no counterfactual) and records every append
(``TrollAccounts.extend``: accounts held, accounts added), then replays the sequence on
fresh accounts twice: by concatenating every account array (how appending worked before) and
with :meth:`TrollAccounts.extend` (spare storage). ``--scale 10`` also replays the operation ten
times over, each append ten times from ten times the first accounts, as a world ten times larger
would make them. Prints one line per replay, CPU seconds.

    python benchmarks/appends.py --users 1000000 --days 30 --scale 1 10
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def accounts(n: int):
    from sim.operation import TrollAccounts
    return TrollAccounts(platform=np.zeros(n, np.int8), operator=np.zeros(n, np.int32),
                         community=np.zeros(n, np.int8), language=np.zeros(n, np.int8),
                         fluency=np.ones(n, np.float32), created=np.zeros(n, np.int32),
                         hijacked=np.zeros(n, bool), origin=np.zeros(n, np.int8),
                         buys_followers=np.ones(n, bool), follows_team=np.ones(n, bool))


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

    added: list[int] = []
    extend = TrollAccounts.extend

    def recorded(self, new):
        added.append(new.n)
        return extend(self, new)

    TrollAccounts.extend = recorded
    cfg = resolve_config(args.config, users=args.users, days=args.days,
                         overrides={"moderation.counterfactual": False})
    model = InfluenceModel(cfg)
    first = model.operation.accounts.n
    model.run()
    TrollAccounts.extend = extend
    batches = {k: accounts(k) for k in set(added)}
    for scale in args.scale:
        for label, append in (("concatenate", concatenate), ("spare storage", extend)):
            acc = accounts(first * scale)
            t = time.process_time()
            for k in added:
                for _ in range(scale):
                    append(acc, batches[k])
            print(f"x{scale}: {len(added) * scale:,} appends, {first * scale:,} -> {acc.n:,} "
                  f"accounts, {label}: {time.process_time() - t:.2f} s CPU")


if __name__ == "__main__":
    main()
