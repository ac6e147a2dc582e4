"""How many threads one run's compiled loops use.

Only passes whose iterations are independent and draw no random numbers run in parallel
(``numba.prange``: gathering and scoring the unread feed items,
:func:`sim.feeds.kernels.gather_scores_parallel`; delivery; finding the targets of a graph's
edges, :func:`sim.network.draw_targets_parallel`); every random draw stays on one thread in a
fixed order, so a run's results are the same whatever the number of threads
(``tests/test_threads.py``).

By default a run uses every core the process may run on (its CPU affinity); the environment
variable ``SIM_THREADS`` or :func:`set_threads` says otherwise. Parallel workers of a sweep or a
calibration use one thread each: they already fill the cores. A parallel pass over little work
(:data:`MIN_PARALLEL_ROWS`) runs a serial version instead: waking the other threads would cost
more than it saves (a parallel kernel costs more even on one thread).

numba's ``workqueue`` threading layer is chosen unless ``NUMBA_THREADING_LAYER`` says otherwise:
it is fork-safe (calibration forks its workers; GNU OpenMP, which numba prefers when present, is
not) and its idle threads sleep rather than spin, which on a machine shared with other jobs made
OpenMP cost ten times the CPU time of one thread on a small run.
"""

from __future__ import annotations

import os
import threading

import numba

from .config import ConfigError

ENV = "SIM_THREADS"
MIN_PARALLEL_ROWS = 4096  # online feed rows below which a read runs on one thread
MIN_PARALLEL_WRITES = 1 << 16  # deliveries below which delivery runs on one thread

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"


def available() -> int:
    """Cores this process may run on (and numba has threads for)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, numba.config.NUMBA_NUM_THREADS))


def set_threads(n: int | None = None) -> int:
    """Use ``n`` threads (None: ``SIM_THREADS`` if set, else every available core); returns
    the number set. Applies to the calling thread's later kernel calls."""
    if n is None:
        raw = os.environ.get(ENV, "").strip()
        if raw:
            try:
                n = int(raw)
            except ValueError:
                raise ConfigError(f"{ENV} must be a whole number of threads, not {raw!r}") from None
        else:
            n = available()
    top = numba.config.NUMBA_NUM_THREADS
    if not 1 <= n <= top:
        raise ConfigError(f"threads: {n} is out of range; allowed 1 to {top} on this machine")
    numba.set_num_threads(n)
    return n


def get_threads() -> int:
    """Threads the calling thread's kernels use."""
    return numba.get_num_threads()


def parallel_worth(work: int, writes: bool = False) -> bool:
    """Whether a parallel pass is worth waking other threads for: more than one thread, and at
    least :data:`MIN_PARALLEL_ROWS` online feed rows to read (or, for ``writes``,
    :data:`MIN_PARALLEL_WRITES` feed writes to deliver or graph edges to draw). Only the main
    thread runs parallel passes: the workqueue layer aborts the process if two threads launch
    them at once (a dashboard serving several sessions), so models stepped (or built) in other
    threads run serially."""
    least = MIN_PARALLEL_WRITES if writes else MIN_PARALLEL_ROWS
    return (work >= least and numba.get_num_threads() > 1
            and threading.current_thread() is threading.main_thread())
