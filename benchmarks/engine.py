"""Wall time and peak memory of whole runs, one fresh process per run, and scaling series.

    python benchmarks/engine.py                        # headline preset, 100k users, 30 days
    python benchmarks/engine.py --users 1000000        # the 1M-user target
    python benchmarks/engine.py --users 10000 100000 1000000 --csv out.csv
    python benchmarks/engine.py --series               # 10^4 .. 10^6 users: CSV + log-log PNG
    python benchmarks/engine.py --series --with-10m    # ... and 10^7 (over --days-10m days)

Each run is a child process pinned to one thread (BLAS/OpenMP, and ``SIM_THREADS``: the compiled
loops' threads, see ``sim/threads.py``) so figures are per core, unless ``--threads`` says
otherwise (results are the same for any number of threads); its peak
resident memory comes from ``wait4``, so every point of a series has its own peak. The child
builds the model and runs it directly (no output tables, no counterfactual rerun), timing world
construction and the hourly ticks separately, and reports its peak memory right after
construction too (building the follower graphs is a transient peak of its own). Speed targets
live here, never in the tests.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from common import write_csv

RESULTS = Path(__file__).resolve().parent / "results"

CHILD = """
import json, sys, time
import numba
from sim.model import InfluenceModel
from sim.runner import resolve_config

def status_mb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return float("nan")

cfg = resolve_config(sys.argv[1], users=int(sys.argv[2]), days=float(sys.argv[3]))
t0 = time.perf_counter()
model = InfluenceModel(cfg)
t1 = time.perf_counter()
build_peak = status_mb("VmHWM")
rss_by_day = []
while model.steps < cfg.ticks:  # a day at a time, noting resident memory at each day's end
    model.run(min(24, cfg.ticks - model.steps))
    rss_by_day.append(round(status_mb("VmRSS")))
    print(f"day {len(rss_by_day)}: {time.perf_counter() - t1:.0f} s, RSS {rss_by_day[-1]} MB, "
          f"peak {status_mb('VmHWM'):.0f} MB", file=sys.stderr, flush=True)
t2 = time.perf_counter()
t = model.ledger.totals
post_bytes = sum(c.itemsize for c in model.posts.cols.values())
print(json.dumps({"model_seconds": t2 - t0, "build_seconds": t1 - t0, "tick_seconds": t2 - t1,
                  "ticks": model.steps, "posts": int(model.posts.made),
                  "posts_held": int(model.posts.n),
                  "post_state_mb": model.posts.n * post_bytes / 2**20,
                  "rss_by_day_mb": " ".join(map(str, rss_by_day)),
                  "posts_published": int(t["posts_published"]),
                  "deliveries": int(t["deliveries"]), "build_peak_rss_mb": build_peak,
                  "follower_edges": sum(pf.graph.n_edges for pf in model.platforms),
                  "threading_layer": numba.config.THREADING_LAYER}))
"""

SERIES = [10_000, 30_000, 100_000, 300_000, 1_000_000]


def measure(config: str, users: int, days: float, threads: int = 1) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               SIM_THREADS=str(threads))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, config, str(users), str(days)],
                            stdout=subprocess.PIPE, env=env, text=True)
    out = proc.stdout.read()  # read before waiting: a full pipe would block the child
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.stdout.close()
    if status != 0:
        raise SystemExit(f"run with {users} users failed (status {status})")
    row = json.loads(out.strip().splitlines()[-1])
    ticks = row["ticks"]
    row.update(users=users, days=days, threads=threads, wall_seconds=round(wall, 2),
               cpu_seconds=round(usage.ru_utime + usage.ru_stime, 2),
               peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
               ticks_per_second=round(ticks / row["tick_seconds"], 3),
               seconds_per_tick=round(row["tick_seconds"] / ticks, 5),
               user_ticks_per_second=round(users * ticks / row["tick_seconds"]))
    for k in ("model_seconds", "build_seconds", "tick_seconds", "post_state_mb",
              "build_peak_rss_mb"):
        row[k] = round(row[k], 2)
    return row


def plot(rows: list[dict], path: Path) -> None:
    """Log-log figure of cost against population: seconds per simulated hour, world
    construction, and peak memory, each with a line of slope 1 (linear scaling) for reference."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    n = np.array([r["users"] for r in rows], float)
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, series, ylabel in (
            (ax_t, [("seconds_per_tick", "per simulated hour"),
                    ("build_seconds", "world construction (once)")], "seconds (one core)"),
            (ax_m, [("peak_rss_mb", "peak RSS, whole run"),
                    ("build_peak_rss_mb", "peak RSS, after construction")], "MB")):
        for key, label in series:
            y = np.array([r[key] for r in rows], float)
            ax.loglog(n, y, "o-", label=label)
        longest = max(float(r["days"]) for r in rows)
        for r in rows:  # a shorter horizon (the 10^7 point) is marked: its peak is lower
            if float(r["days"]) < longest:
                ax.annotate(f"{float(r['days']):g} days", (float(r["users"]),
                            float(r[series[0][0]])), textcoords="offset points", xytext=(-40, 8),
                            fontsize=8)
        y0 = np.array([r[series[0][0]] for r in rows], float)
        ax.loglog(n, y0[-1] * n / n[-1], ":", color="grey", label="linear (slope 1)")
        ax.set_xlabel("organic users")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Engine cost against population (headline preset, {longest:g} simulated days"
                 f" unless marked; {platform.machine()}, 1 thread)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="experiments/spamouflage.toml")
    ap.add_argument("--users", type=int, nargs="+", default=None)
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--csv", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for the compiled loops (SIM_THREADS) [1: per-core figures]")
    ap.add_argument("--series", action="store_true",
                    help=f"run the scaling series {SERIES} and write CSV + figure")
    ap.add_argument("--with-10m", action="store_true",
                    help="add 10^7 users to the series (over --days-10m days)")
    ap.add_argument("--days-10m", type=float, default=2,
                    help="horizon of the 10^7-user point (a 30-day run takes about an hour; "
                         "memory levels off after feed_max_age_hours, see rss_by_day_mb)")
    ap.add_argument("--out", type=Path, default=RESULTS / "scaling",
                    help="series output stem: writes STEM.csv and STEM.png")
    ap.add_argument("--replot", action="store_true", help="redraw STEM.png from STEM.csv")
    args = ap.parse_args()
    if args.replot:
        with args.out.with_suffix(".csv").open() as f:
            plot(list(csv.DictReader(f)), args.out.with_suffix(".png"))
        return
    if args.series:
        points = [(n, args.days) for n in (args.users or SERIES)]
        if args.with_10m:
            points.append((10_000_000, args.days_10m))
    else:
        points = [(n, args.days) for n in (args.users or [100_000])]
    rows = []
    for n, days in points:
        row = measure(args.config, n, days, args.threads)
        row["machine"] = f"{platform.machine()} {os.cpu_count()} cpu"
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.series:  # keep what is done if a later, larger point fails
            write_csv(args.out.with_suffix(".csv"), rows)
    if args.series:
        plot(rows, args.out.with_suffix(".png"))
        print(f"wrote {args.out.with_suffix('.csv')} and {args.out.with_suffix('.png')}")
    if args.csv:
        write_csv(args.csv, rows)


if __name__ == "__main__":
    main()
