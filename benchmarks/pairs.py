"""One command run in two checkouts of the engine alternately, compared pair by pair.

    python benchmarks/pairs.py ../before . --pairs 12 -- \
        python -c "import sim; sim.run('experiments/spamouflage.toml', users=20000, days=14)"
    python benchmarks/pairs.py ../before . --pairs 10 --key wall_ms_per_hour -- \
        python benchmarks/tick.py --users 2500 --warmup 24 --ticks 312 --threads 1

These machines drift by tens of percent over minutes, so a change is judged only against the
engine before it, one run right after the other: each pair runs the command once in each
checkout (``cwd`` and ``PYTHONPATH`` set to it, ``python`` meaning this interpreter), the order
alternating from pair to pair. Each run is measured by its wall time, or, with ``--key``, by that
field of the JSON object on its last line of output. Prints each pair (and the load average at
its start), then the median of each checkout, the median of the second's value over the
first's, its range (a target such as "twice as fast" is met in every pair if the largest
ratio is at most 0.5) and a 95% interval for it (:func:`median_interval`: met with that
confidence if the interval's top is at most 0.5), and in how many pairs the second was lower.
Make the other checkout with ``git worktree add ../before REV`` and run ``python -m
sim.warmup`` in it first, so that neither compiles.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from math import comb
from pathlib import Path


def run_once(checkout: Path, command: list[str], key: str | None) -> float:
    """The command's wall time in ``checkout`` (or its ``key``)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable if c == "python" else c for c in command]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=checkout, env=env, stdout=subprocess.PIPE, text=True,
                         check=True).stdout
    wall = time.perf_counter() - t0
    return float(json.loads(out.strip().splitlines()[-1])[key]) if key else wall


def median_interval(values: list[float], level: float = 0.95) -> list[float] | None:
    """A distribution-free interval for the median of what ``values`` sample: its ``k``-th
    smallest and ``k``-th largest, ``k`` the largest with coverage ``1 - 2 P(B < k)`` at least
    ``level``, B ~ Binomial(n, 1/2) (the sign test's interval: each value falls below the median
    with probability 1/2, whatever the distribution). None if even the range covers too little
    (at 95%, fewer than 6 values)."""
    n = len(values)
    below = 0.0  # P(B <= k - 1), summed as k grows
    k = 0
    while k < n // 2 and 1 - 2 * (below + comb(n, k) / 2**n) >= level:
        below += comb(n, k) / 2**n
        k += 1
    if k == 0:
        return None
    s = sorted(values)
    return [s[k - 1], s[n - k]]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        usage="%(prog)s FIRST SECOND [--pairs N] [--key KEY] -- COMMAND...")
    ap.add_argument("first", type=Path, help="a checkout (the engine before)")
    ap.add_argument("second", type=Path, help="another checkout (the engine after)")
    ap.add_argument("--pairs", type=int, default=10, help="pairs of runs (default 10)")
    ap.add_argument("--key", help="a field of the JSON object on the command's last line")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args, command = ap.parse_args(argv[:cut]), argv[cut + 1:]
    if not command or args.pairs < 1:
        ap.error("give --pairs 1 or more, and after -- the command to run")
    checkouts = [args.first.resolve(), args.second.resolve()]
    for c in checkouts:
        if not (c / "sim" / "__init__.py").is_file():
            ap.error(f"{c} is not a checkout of this project (no sim/__init__.py)")
    values: list[list[float]] = [[], []]
    for i in range(args.pairs):
        load = os.getloadavg()[0]
        for j in (0, 1) if i % 2 == 0 else (1, 0):
            values[j].append(run_once(checkouts[j], command, args.key))
        print(f"pair {i + 1}: load {load:.2f}  first {values[0][-1]:.4g}  "
              f"second {values[1][-1]:.4g}", flush=True)
    ratios = [b / a for a, b in zip(*values, strict=True)]
    summary = {"pairs": args.pairs, "measure": args.key or "wall_seconds",
               "first_median": round(statistics.median(values[0]), 4),
               "second_median": round(statistics.median(values[1]), 4),
               "median_ratio": round(statistics.median(ratios), 4),
               "ratio_range": [round(min(ratios), 4), round(max(ratios), 4)],
               "median_ratio_ci95": [round(x, 4) for x in ci] if (ci := median_interval(ratios))
               else None,
               "second_lower": sum(b < a for a, b in zip(*values, strict=True))}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
