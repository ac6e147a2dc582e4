"""Time one dashboard step: one simulated hour of the model plus redrawing the ledger view (the
PNG the browser receives), at the dashboard's default size.

    python benchmarks/dashboard_step.py [--users 10000] [--hours 48]

Prints the median and the slowest of the steps after the first (the first compiles the model's
kernels once per process)."""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np

from sim.dashboard.access import DashboardModel, ledger_frame
from sim.dashboard.controls import DEFAULT_USERS, load_scenario
from sim.dashboard.figures import ledgers_figure

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=DEFAULT_USERS)
    ap.add_argument("--hours", type=int, default=48)
    a = ap.parse_args()
    model = DashboardModel(load_scenario(ROOT / "experiments/spamouflage.toml"), a.users)
    model.step()
    step, draw = [], []
    for _ in range(a.hours):
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        ledgers_figure(ledger_frame(model)).savefig(io.BytesIO(), format="png")
        step.append(t1 - t0)
        draw.append(time.perf_counter() - t1)
    total = np.add(step, draw)
    print(f"{a.users:,} users, {a.hours} hours: step + redraw median {np.median(total):.3f} s, "
          f"slowest {total.max():.3f} s (model {np.median(step):.3f} s, "
          f"figure {np.median(draw):.3f} s median)")


if __name__ == "__main__":
    main()
