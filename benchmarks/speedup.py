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
actions, composing posts, delivery), each counted once where one runs inside another (the
groups ``reading`` and ``engagement``, one compiled pass each in the vectorised engine); what
both engines share (operators, the paymaster, the post store, ledgers) is in the whole tick
only.

The speed of these shared machines drifts by tens of percent over minutes, and moves both
engines alike. So the two are timed in pairs, one right after the other, ``--repeat`` times
(a fresh model each time, the same work), and the speed-up is the median over the pairs of
reference time / vectorised time, with the smallest and largest. Times are process CPU time
per simulated hour (steadier than wall time on a shared machine; wall time is in the CSV too),
medians over the repeats. The last row gives the vectorised engine's time per hour over a
whole ``--days`` run, for context.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from sim.model import InfluenceModel
from sim.organic import OrganicUsers
from sim.platform import Platform
from sim.reference import ReferenceModel, ReferenceOrganic, ReferencePlatform
from sim.runner import resolve_config

ROOT = Path(__file__).resolve().parents[1]
# the kernels: every method the per-agent reference restates (organic decisions, delivery)
KERNELS = {
    "organic": (OrganicUsers, ReferenceOrganic,
                tuple(k for k, v in vars(ReferenceOrganic).items()
                      if callable(v) and not k.startswith("_") and k in vars(OrganicUsers))),
    "platform": (Platform, ReferencePlatform, ("fan_out",)),
}
FIELDS = ["engine", "users", "from_tick", "ticks", "repeats", "wall_s_per_hour",
          "cpu_s_per_hour", "cpu_s_per_hour_min", "cpu_s_per_hour_max", "kernel_cpu_s_per_hour",
          "speedup_cpu", "speedup_cpu_min", "speedup_cpu_max",
          "kernel_speedup_cpu", "kernel_speedup_cpu_min", "kernel_speedup_cpu_max"]


class Switch:
    """Whether the warm-start reference runs its per-agent kernels yet."""

    per_agent = False


def _switchable(vectorised: type, per_agent: type, name: str):
    def kernel(self, *args):
        return getattr(per_agent if Switch.per_agent else vectorised, name)(self, *args)
    return kernel


class WarmOrganic(ReferenceOrganic):
    pass


class WarmPlatform(ReferencePlatform):
    pass


for _cls, (_vec, _ref, _names) in zip((WarmOrganic, WarmPlatform), KERNELS.values(),
                                      strict=True):
    for _name in _names:
        setattr(_cls, _name, _switchable(_vec, _ref, _name))


class WarmStartReference(ReferenceModel):
    """The reference model running the vectorised kernels until ``Switch.per_agent`` is set."""

    organic_cls = WarmOrganic
    platform_cls = WarmPlatform


class Clock:
    """Seconds (wall, CPU) spent in a model's step, and CPU seconds inside its kernels."""

    def __init__(self, model: InfluenceModel) -> None:
        self.model = model
        self.kernel_cpu = 0.0
        self.depth = 0  # kernels inside a kernel (a group of decisions) are counted once
        owners = {"organic": [model.organic], "platform": model.platforms}
        for part, (_, _, names) in KERNELS.items():
            for obj in owners[part]:
                for name in names:
                    setattr(obj, name, self._clocked(getattr(obj, name)))

    def _clocked(self, kernel):
        def call(*args):
            cpu = time.process_time()
            self.depth += 1
            try:
                return kernel(*args)
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self.kernel_cpu += time.process_time() - cpu
        return call

    def run(self, ticks: int) -> dict[str, float]:
        """Run ``ticks`` hours; seconds per hour, whole step and kernels only."""
        self.kernel_cpu = 0.0
        wall, cpu = time.perf_counter(), time.process_time()
        self.model.run(ticks)
        return {"wall": (time.perf_counter() - wall) / ticks,
                "cpu": (time.process_time() - cpu) / ticks,
                "kernel_cpu": self.kernel_cpu / ticks}


def state_digest(model: InfluenceModel) -> str:
    """A fingerprint of the state the timed window starts from (ledgers, posts, feeds)."""
    h = hashlib.sha256(repr((model.tick, model.posts.n, sorted(model.ledger.totals.items())))
                       .encode())
    for pf in model.platforms:
        h.update(pf.feeds.items.tobytes())
        h.update(pf.feeds.unread.tobytes())
    return h.hexdigest()


def timed_window(cls: type[InfluenceModel], cfg, seed: int, warmup: int, ticks: int,
                 digest: str | None) -> tuple[dict[str, float], str]:
    """Build, warm up (vectorised kernels), check the state, time ``ticks`` hours."""
    Switch.per_agent = False
    model = cls(cfg, seed=seed)
    model.run(warmup)
    d = state_digest(model)
    if digest is not None and d != digest:
        raise SystemExit("the two engines differ after the warm-up; cannot compare")
    if isinstance(model, WarmStartReference):
        Switch.per_agent = True
    return Clock(model).run(ticks), d


def compare(config: str, users: int, days: float, warmup: int, ticks: int, repeat: int,
            seed: int | None) -> list[dict]:
    """Rows of the CSV for one population size (and the summary line on stderr)."""
    # the reference implements the core engine: compare both without moderation
    cfg = resolve_config(config, users=users, days=days,
                         overrides={"moderation.enabled": False})
    seed = cfg.run.seed if seed is None else seed
    vec, ref, digest = [], [], None
    for _ in range(repeat):  # pairs, one right after the other
        t, digest = timed_window(InfluenceModel, cfg, seed, warmup, ticks, digest)
        vec.append(t)
        ref.append(timed_window(WarmStartReference, cfg, seed, warmup, ticks, digest)[0])
    full = Clock(InfluenceModel(cfg, seed=seed)).run(cfg.ticks)

    def med(runs, key):
        return float(np.median([r[key] for r in runs]))

    ratio = {k: [r[k] / v[k] for r, v in zip(ref, vec, strict=True)] for k in ("cpu", "kernel_cpu")}

    def row(engine: str, start: int, n_ticks: int, runs, speedup: bool = False) -> dict:
        cpu = [r["cpu"] for r in runs]
        r = {"engine": engine, "users": users, "from_tick": start, "ticks": n_ticks,
             "repeats": len(runs), "wall_s_per_hour": f"{med(runs, 'wall'):.4g}",
             "cpu_s_per_hour": f"{med(runs, 'cpu'):.4g}", "cpu_s_per_hour_min": f"{min(cpu):.4g}",
             "cpu_s_per_hour_max": f"{max(cpu):.4g}",
             "kernel_cpu_s_per_hour": f"{med(runs, 'kernel_cpu'):.4g}"}
        for k, column in (("cpu", "speedup_cpu"), ("kernel_cpu", "kernel_speedup_cpu")):
            x = ratio[k]
            r[column] = f"{np.median(x):.1f}" if speedup else ""
            r[column + "_min"] = f"{min(x):.1f}" if speedup else ""
            r[column + "_max"] = f"{max(x):.1f}" if speedup else ""
        return r

    def span(x):
        return f"{np.median(x):.0f}x (pairs {min(x):.0f}-{max(x):.0f}x)"

    print(f"speed-up at {users:,} users, hours {warmup}-{warmup + ticks - 1}, {repeat} pairs: "
          f"whole tick {span(ratio['cpu'])}; the kernels {span(ratio['kernel_cpu'])}",
          file=sys.stderr)
    return [row("vectorised", warmup, ticks, vec),
            row("reference", warmup, ticks, ref, speedup=True),
            row("vectorised_whole_run", 0, cfg.ticks, [full])]


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
                    help="pairs of timed windows (medians reported)")
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
