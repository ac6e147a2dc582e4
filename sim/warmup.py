"""Compile the simulator's numba kernels ahead of the first real run.

numba compiles a kernel the first time it is called and keeps the machine code in an on-disk
cache (one per state of the compiled code's sources, :mod:`sim.kernel_cache`); later processes
load it in milliseconds. Without a warm-up, the first run after an install spends several
seconds (most of a small run) compiling, inside its first simulated hours, which also throws
off a progress bar's estimate. :func:`compile_kernels` instead runs a tiny world (a few hundred
users for three days, moderation on, old posts aged out: two days as a small run takes them,
some hours reading step by step on one thread, as a run on several threads reads where few of
many members come online, then every parallel pass) that calls every kernel a run calls, with
the same argument types, and discards it: nothing is written but the cache. ``./dev setup`` runs it
once (``python -m sim.warmup``), and ``sim.run`` runs it before its progress bar starts (a
fraction of a second once the cache is warm).
"""

from __future__ import annotations

import sys
import time

# defaults (three platforms, engagement and chronological ranking) plus an operation that posts,
# plants replies and is moderated; posts older than a day are aged out at the end of days two
# (on one thread) and three (with the parallel passes)
TINY = {"population.n_users": 400, "run.days": 3, "run.seed": 1,
        "engagement.feed_max_age_hours": 24, "moderation.window_hours": 24,
        "operation.enabled": True, "operation.hijack_fraction": 0.5,
        "moderation.enabled": True, "moderation.counterfactual": False}

_done = False  # warmed up in this process


def _dispatchers() -> list:
    """Every kernel of the package (the modules of ``kernel_cache.SOURCES``)."""
    import importlib

    from numba.core.registry import CPUDispatcher

    from .kernel_cache import SOURCES

    modules = [importlib.import_module(f"sim.{name[:-3].replace('/', '.')}") for name in SOURCES]
    return [f for mod in modules for f in vars(mod).values()
            if isinstance(f, CPUDispatcher) and f.py_func.__module__ == mod.__name__]


def compile_kernels() -> tuple[int, float]:
    """Run the tiny world; returns (kernel versions compiled now rather than loaded from the
    cache, seconds taken)."""
    import numba
    import numpy as np

    from . import threads
    from .config import build_config
    from .model import InfluenceModel

    t0 = time.perf_counter()
    before = sum(sum(d.stats.cache_misses.values()) for d in _dispatchers())
    cfg = build_config({}, TINY)
    model = InfluenceModel(cfg)
    model.run(48)  # two days as a small run takes them: groups of steps fused into one pass each
    # accounts acquired, as operators replace removed ones (the tiny world removes none in time)
    model.operation.acquire(np.zeros(2, np.int32), np.zeros(2, np.int8), model.tick)
    n = threads.get_threads()
    least = {k: v for k, v in vars(threads).items() if k.startswith("MIN_PARALLEL_")}
    if n == 1 and numba.config.NUMBA_NUM_THREADS > 1:
        threads.set_threads(2)
    try:
        # hours as a run on several threads takes them where platforms are large enough for
        # reading step by step, but fewer come online than a parallel read needs: each step on
        # one thread
        smallest = min(pf.members.size for pf in model.platforms)
        threads.MIN_PARALLEL_PLATFORM = threads.MIN_PARALLEL_ROWS = smallest
        model.run(6)
        for name in least:  # the rest of day three: every pass that has a parallel form takes it
            setattr(threads, name, 0)
        InfluenceModel(cfg)  # graphs drawn by the parallel pass
        model.run()
    finally:
        for name, value in least.items():
            setattr(threads, name, value)
        threads.set_threads(n)
    compiled = sum(sum(d.stats.cache_misses.values()) for d in _dispatchers()) - before
    return compiled, time.perf_counter() - t0


def warm_up(verbose: bool = True) -> None:
    """:func:`compile_kernels`, saying on stderr what it compiled, if anything (and, if
    ``verbose``, that it starts); nothing if this process has already called every kernel."""
    global _done
    if _done and not verbose:
        return
    if verbose:
        print("checking the compiled kernels (a 400-user, 3-day run, discarded)...",
              file=sys.stderr, flush=True)
    compiled, seconds = compile_kernels()
    _done = True
    if compiled:
        print(f"compiled {compiled} kernel versions into numba's on-disk cache in {seconds:.0f} s"
              " (once per install)", file=sys.stderr, flush=True)


if __name__ == "__main__":
    warm_up()
