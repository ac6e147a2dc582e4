"""What ``sim.run`` does with a SimSoM scenario: the run and its no-bad-actor baseline, as a
:class:`~sim.runner.RunResult` whose ``timeseries`` holds the per-step average quality of human
feeds (the operation tables are empty: SimSoM has no operation accounts or posts ledger)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from .. import provenance
from ..config import Config
from .model import quality_figure, run_pair, summary


def describe(s: dict) -> str:
    """The run's result in a few lines (printed by ``sim run``)."""
    return (f"  SimSoM: relative quality {s['relative_quality']:.3f} (average quality "
            f"{s['average_quality']:.3f} against {s['baseline_average_quality']:.3f} "
            f"without bad actors), {s['steps']} steps")


def run(cfg: Config):
    """Run a SimSoM scenario (Truong et al. 2024) and its baseline."""
    from ..runner import RunResult, empty_removals

    t0 = time.perf_counter()
    res, base = run_pair(cfg)
    out: dict[str, Any] = {"schema_version": 1, "package_version": provenance.package_version(),
                           "seed": int(cfg.run.seed), "ticks": res.steps}
    out.update(summary(cfg, res, base))
    out["runtime_seconds"] = round(time.perf_counter() - t0, 3)
    out["config"] = cfg.model_dump(mode="json")
    ts = pd.DataFrame({"step": np.arange(1, res.steps + 1), "quality": res.quality_series,
                       "quality_ema": res.ema_series})
    empty = pd.DataFrame()
    return RunResult(cfg, out, ts, empty, empty, empty_removals(), empty, empty,
                     describe=describe, figures={"quality.png": _quality})


def _quality(result, path) -> None:
    """Average quality of human feeds over the steps, against the baseline."""
    quality_figure(result.timeseries, result.summary, path)
