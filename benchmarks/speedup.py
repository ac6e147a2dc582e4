"""Speed-up of the vectorised kernels over the per-agent reference (``sim.reference``).

    python benchmarks/speedup.py                           # headline preset at 20,000 users
    python benchmarks/speedup.py --users 100000 --ticks 3
    python benchmarks/speedup.py --users 20000 100000 --ticks 48 --days 3 \
        --csv benchmarks/results/speedup.csv

Both engines are built from the same config and seed, so they share one world. Both first run
the same ``--warmup`` hours with the vectorised kernels (the reference model switches to its
per-agent kernels only afterwards), so the timed window starts from identical states, with
feeds filled and the operation under way; this is checked. Each engine then simulates the same
``--ticks`` hours, timed after world construction. The kernels are every method the reference
restates one agent at a time (who is online, reading, reply views, impressions and follow
lookups, engagement probabilities and coin flips, follows, reshares and cross-posts, counting
actions, composing posts, delivery); what both engines share (operators, the paymaster, the
post store, ledgers) is in the whole tick only.

The vectorised window takes milliseconds an hour, so machine noise moves it by tens of percent
from one run to the next: it is timed ``--repeat`` times (a fresh model each time, the same
work) and the median is reported, with the smallest and largest CPU time. The reference takes
about a second an hour and is timed once. The CSV gives seconds per simulated hour (wall clock
and process CPU time; CPU time is the steadier figure on a shared machine) and the speed-up,
plus the vectorised engine's seconds per hour over a whole ``--days`` run for context.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from sim.model import InfluenceModel
from sim.reference import ReferenceModel
from sim.runner import resolve_config

ROOT = Path(__file__).resolve().parents[1]
# the kernels: every method the per-agent reference restates
KERNELS = tuple(k for k, v in vars(ReferenceModel).items()
                if k.startswith("_") and not k.startswith("__") and callable(v)
                and k in vars(InfluenceModel))
FIELDS = ["engine", "users", "from_tick", "ticks", "repeats", "wall_s_per_hour",
          "cpu_s_per_hour", "cpu_s_per_hour_min", "cpu_s_per_hour_max",
          "kernel_wall_s_per_hour", "kernel_cpu_s_per_hour", "speedup_wall", "speedup_cpu",
          "kernel_speedup_wall", "kernel_speedup_cpu"]
SPEEDUP = {"wall": "speedup_wall", "cpu": "speedup_cpu", "kernel_wall": "kernel_speedup_wall",
           "kernel_cpu": "kernel_speedup_cpu"}  # reference time / vectorised time


class WarmStartReference(ReferenceModel):
    """The reference model running the vectorised kernels until ``per_agent`` is set."""

    per_agent = False


def _switchable(name: str):
    def kernel(self, *args):
        return getattr(ReferenceModel if self.per_agent else InfluenceModel, name)(self, *args)
    return kernel


for _name in KERNELS:
    setattr(WarmStartReference, _name, _switchable(_name))


class Clock:
    """Seconds (wall, CPU) spent in a model's step and, separately, inside its kernels."""

    def __init__(self, model: InfluenceModel) -> None:
        self.model = model
        self.kernel_wall = self.kernel_cpu = 0.0
        for name in KERNELS:
            setattr(model, name, self._clocked(getattr(model, name)))

    def _clocked(self, kernel):
        def call(*args):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return kernel(*args)
            finally:
                self.kernel_wall += time.perf_counter() - wall
                self.kernel_cpu += time.process_time() - cpu
        return call

    def run(self, ticks: int) -> dict[str, float]:
        """Run ``ticks`` hours; seconds per hour, whole step and kernels only."""
        self.kernel_wall = self.kernel_cpu = 0.0
        wall, cpu = time.perf_counter(), time.process_time()
        self.model.run(ticks)
        return {"wall": (time.perf_counter() - wall) / ticks,
                "cpu": (time.process_time() - cpu) / ticks,
                "kernel_wall": self.kernel_wall / ticks, "kernel_cpu": self.kernel_cpu / ticks}


def same_state(a: InfluenceModel, b: InfluenceModel) -> bool:
    if a.tick != b.tick or a.posts.n != b.posts.n or dict(a.ledger.totals) != dict(b.ledger.totals):
        return False
    return all(np.array_equal(pa.feeds.items, pb.feeds.items)
               and np.array_equal(pa.feeds.unread, pb.feeds.unread)
               for pa, pb in zip(a.platforms, b.platforms, strict=True))


def compare(config: str, users: int, days: float, warmup: int, ticks: int, repeat: int,
            seed: int | None) -> list[dict]:
    """Rows of the CSV for one population size (and the summary line on stderr)."""
    # the reference implements the core engine: compare both without moderation
    cfg = resolve_config(config, users=users, days=days,
                         overrides={"moderation.enabled": False})
    seed = cfg.run.seed if seed is None else seed

    ref = WarmStartReference(cfg, seed=seed)
    ref.run(warmup)
    runs = []
    for _ in range(repeat):
        vec = InfluenceModel(cfg, seed=seed)
        vec.run(warmup)
        if not same_state(vec, ref):
            raise SystemExit("the two engines differ after the warm-up; cannot compare")
        runs.append(Clock(vec).run(ticks))
    t_vec = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    spread = [min(r["cpu"] for r in runs), max(r["cpu"] for r in runs)]
    ref.per_agent = True
    t_ref = Clock(ref).run(ticks)
    t_full = Clock(InfluenceModel(cfg, seed=seed)).run(cfg.ticks)

    def row(engine: str, start: int, n_ticks: int, t: dict[str, float], base=None,
            spread=(None, None), repeats: int = 1) -> dict:
        r = {"engine": engine, "users": users, "from_tick": start, "ticks": n_ticks,
             "repeats": repeats,
             "wall_s_per_hour": f"{t['wall']:.4g}", "cpu_s_per_hour": f"{t['cpu']:.4g}",
             "cpu_s_per_hour_min": "" if spread[0] is None else f"{spread[0]:.4g}",
             "cpu_s_per_hour_max": "" if spread[1] is None else f"{spread[1]:.4g}",
             "kernel_wall_s_per_hour": f"{t['kernel_wall']:.4g}",
             "kernel_cpu_s_per_hour": f"{t['kernel_cpu']:.4g}"}
        for k, column in SPEEDUP.items():
            r[column] = f"{t[k] / base[k]:.1f}" if base else ""
        return r

    print(f"speed-up at {users:,} users, hours {warmup}-{warmup + ticks - 1} (vectorised: "
          f"median of {repeat}): whole tick {t_ref['wall'] / t_vec['wall']:.0f}x wall, "
          f"{t_ref['cpu'] / t_vec['cpu']:.0f}x CPU "
          f"({t_ref['cpu'] / spread[1]:.0f}-{t_ref['cpu'] / spread[0]:.0f}x over the repeats); "
          f"the kernels {t_ref['kernel_wall'] / t_vec['kernel_wall']:.0f}x wall, "
          f"{t_ref['kernel_cpu'] / t_vec['kernel_cpu']:.0f}x CPU", file=sys.stderr)
    return [row("vectorised", warmup, ticks, t_vec, spread=spread, repeats=repeat),
            row("reference", warmup, ticks, t_ref, base=t_vec),
            row("vectorised_whole_run", 0, cfg.ticks, t_full)]


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(ROOT / "experiments" / "spamouflage.toml"))
    ap.add_argument("--users", type=int, nargs="+", default=[20_000])
    ap.add_argument("--days", type=float, default=2.0,
                    help="horizon of the whole vectorised run timed for context")
    ap.add_argument("--warmup", type=int, default=24,
                    help="hours run (vectorised kernels) before the timed window")
    ap.add_argument("--ticks", type=int, default=6, help="hours in the timed window")
    ap.add_argument("--repeat", type=int, default=5,
                    help="times the vectorised window is timed (median reported)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--csv", type=Path, default=None, help="also write the table here")
    args = ap.parse_args(argv)

    rows = [r for n in args.users
            for r in compare(args.config, n, args.days, args.warmup, args.ticks, args.repeat,
                             args.seed)]
    out = csv.DictWriter(sys.stdout, FIELDS, lineterminator="\n")
    out.writeheader()
    out.writerows(rows)
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="") as f:
            w = csv.DictWriter(f, FIELDS)
            w.writeheader()
            w.writerows(rows)
    return rows


if __name__ == "__main__":
    main()
