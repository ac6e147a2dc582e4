"""Sweep throughput: runs per minute of the headline preset at a small population, on 1 and 2
local workers and on a 2-worker Dask LocalCluster (the overhead of the Dask path).

    python benchmarks/sweep.py [--users 2000] [--days 7] [--runs 16] [--csv FILE]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import write_csv

from sim.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]


def experiment(tmp: Path, users: int, days: float, runs: int) -> Path:
    p = tmp / "bench.toml"
    p.write_text(f'name = "bench"\nbase = "{(ROOT / "experiments/spamouflage.toml").as_posix()}"\n'
                 f"users = {users}\ndays = {days}\nreplicates = {runs}\nroot_seed = 1\n")
    return p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--days", type=float, default=7)
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--csv", type=Path, default=None)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        exp = experiment(Path(tmp), args.users, args.days, args.runs)
        setups = [("local", 1), ("local", 2), ("dask", 2)]
        for executor, workers in setups:
            out = Path(tmp) / f"{executor}-{workers}"
            t0 = time.perf_counter()
            if executor == "dask":
                from distributed import LocalCluster

                with LocalCluster(n_workers=workers, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
                    t0 = time.perf_counter()  # cluster start-up is not charged to the sweep
                    run_sweep(exp, out, executor="dask", scheduler=cluster.scheduler_address)
            else:
                run_sweep(exp, out, executor=executor, workers=workers)
            wall = time.perf_counter() - t0
            rows.append({"executor": executor, "workers": workers, "users": args.users,
                         "days": args.days, "runs": args.runs, "wall_seconds": round(wall, 2),
                         "runs_per_minute": round(60 * args.runs / wall, 1)})
            print(rows[-1], flush=True)
    if args.csv:
        write_csv(args.csv, rows)


if __name__ == "__main__":
    main()
