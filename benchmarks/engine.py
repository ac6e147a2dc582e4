"""Wall time and peak memory of whole runs, one fresh process per run.

    python benchmarks/engine.py                        # headline preset, 100k users, 30 days
    python benchmarks/engine.py --users 1000000        # the 1M-user target
    python benchmarks/engine.py --users 10000 100000 1000000 --csv benchmarks/results/engine.csv

Each run is a child process pinned to one thread (BLAS/OpenMP) so figures are per core; its peak
resident memory comes from ``wait4``. Speed targets live here, never in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from common import write_csv

CHILD = """
import json, sys, time
import sim
t0 = time.perf_counter()
r = sim.run(sys.argv[1], users=int(sys.argv[2]), days=float(sys.argv[3]))
s = r.summary
print(json.dumps({"model_seconds": time.perf_counter() - t0, "ticks": s["ticks"],
                  "posts_published": s["posts_published"], "deliveries": s["deliveries"],
                  "follower_edges": sum(s["follower_edges"].values())}))
"""


def measure(config: str, users: int, days: float) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, config, str(users), str(days)],
                            stdout=subprocess.PIPE, env=env, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out = proc.stdout.read()
    proc.stdout.close()
    if status != 0:
        raise SystemExit(f"run with {users} users failed (status {status})")
    row = json.loads(out.strip().splitlines()[-1])
    row.update(users=users, days=days, wall_seconds=round(wall, 2),
               peak_rss_mb=round(usage.ru_maxrss / 1024, 1))
    row["user_ticks_per_second"] = round(users * row["ticks"] / row["model_seconds"])
    row["model_seconds"] = round(row["model_seconds"], 2)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="experiments/spamouflage.toml")
    ap.add_argument("--users", type=int, nargs="+", default=[100_000])
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--csv", type=Path, default=None)
    args = ap.parse_args()
    rows = []
    for n in args.users:
        row = measure(args.config, n, args.days)
        row["machine"] = f"{platform.machine()} {os.cpu_count()} cpu"
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.csv:
        write_csv(args.csv, rows)


if __name__ == "__main__":
    main()
