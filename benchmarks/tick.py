"""CPU and wall time per simulated hour of one model, after a warm-up, in this process.

    SIM_THREADS=1 python benchmarks/tick.py --users 20000 --warmup 24 --ticks 48
    python benchmarks/tick.py --users 100000 --ticks 24 --threads 2
    python benchmarks/tick.py --users 1000000 --warmup 48 --ticks 24 --profile 15
    python benchmarks/tick.py --users 1000000 --warmup 192 --ticks 24 --profile 40 --sort cumulative

For A/B comparisons between two versions of the engine, run it in each checkout alternately
(one right after the other, several pairs: these shared machines drift by tens of percent over
minutes) and compare CPU time per hour pair by pair. The model is the headline preset with
moderation on and no counterfactual; hours ``--warmup`` on are timed (feeds filled, the
operation under way). Prints one JSON line; with ``--profile N``, first the ``N`` functions
with the most time of their own in the timed hours (with ``--sort cumulative``, the most time
including the functions they call) (cProfile: a compiled kernel counts as its
Python caller's own time; the profiler slows the hour a little).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(ROOT / "experiments" / "spamouflage.toml"))
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--warmup", type=int, default=24, help="hours run before the timed window")
    ap.add_argument("--ticks", type=int, default=48, help="hours timed")
    ap.add_argument("--threads", type=int, default=None, help="threads [SIM_THREADS or all]")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="print the N functions with the most own time in the timed hours")
    ap.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"),
                    help="order of --profile: own time, or time including what a function calls")
    args = ap.parse_args()

    import sim
    from sim.model import InfluenceModel
    from sim.runner import resolve_config

    if args.threads is not None and hasattr(sim, "set_threads"):
        sim.set_threads(args.threads)
    days = (args.warmup + args.ticks) / 24 + 1
    cfg = resolve_config(args.config, users=args.users, days=days,
                         overrides={"moderation.counterfactual": False})
    model = InfluenceModel(cfg)
    model.run(args.warmup)
    profile = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile is not None:
        profile.runcall(model.run, args.ticks)
    else:
        model.run(args.ticks)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profile is not None:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.profile)
    print(json.dumps({
        "users": args.users, "from_tick": args.warmup, "ticks": args.ticks,
        "threads": sim.get_threads() if hasattr(sim, "get_threads") else 1,
        "cpu_ms_per_hour": round(cpu / args.ticks * 1e3, 3),
        "wall_ms_per_hour": round(wall / args.ticks * 1e3, 3),
        "load_average": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
