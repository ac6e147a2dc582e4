"""The warm-up (``sim.warmup``) calls every compiled kernel with the argument types of real runs,
so that after it a run compiles nothing: a fresh install compiles once, in ``./dev setup``, and a
progress bar started after the warm-up measures simulation only."""

from __future__ import annotations

from pathlib import Path

import sim
from sim.warmup import _dispatchers, compile_kernels

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def _versions() -> dict[str, set]:
    return {d.py_func.__qualname__: set(d.signatures) for d in _dispatchers()}


def test_runs_after_the_warm_up_compile_nothing(preset) -> None:
    compile_kernels()
    warmed = _versions()
    assert warmed["read_feeds"] and warmed["fan_out"] and warmed["draw_actions"]
    assert warmed["draw_targets_parallel"] and warmed["read_parallel"]
    sim.run(preset, users=1500, days=2, seed=2, overrides={  # old posts aged out on day 2
        "moderation.counterfactual": False, "engagement.feed_max_age_hours": 24,
        "moderation.window_hours": 24})
    sim.run(EXPERIMENTS / "ira.toml", users=1500, days=2, seed=2)
    assert _versions() == warmed
