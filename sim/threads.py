"""How many threads one run's compiled loops use.

Only passes whose results cannot depend on the number of threads run in parallel
(``numba.prange``): passes whose iterations are independent and draw no random numbers
(delivery; engagement probabilities); reading, whose items are gathered and scored on every
thread while one thread makes every draw in order (:func:`sim.feeds.kernels.read_parallel`);
impressions, whose roots, authors and follows are found on every thread and counted on one
(:func:`sim.organic.kernels.impressions_parallel`); and passes where each thread draws its
block of the one stream (:mod:`sim.streams`): who goes online
(:func:`sim.organic.kernels.online_parallel`) and the targets of a graph's edges
(:func:`sim.network.draw_targets_parallel`). Every other draw stays on one thread in a fixed
order, so a run's results are the same whatever the number of threads
(``tests/test_threads.py``). Besides the compiled passes, the moderation teams that scan in the
same hour run their detectors on Python threads at once (numpy's passes release the
interpreter's lock; detection draws nothing and writes nothing shared:
:meth:`sim.moderation.Moderation.detect`), and building a world sorts each follower graph's edge
keys in runs of whole authors, one a Python thread (:func:`sim.network._from_keys`).

By default a run uses every core the process may run on (its CPU affinity); the environment
variable ``SIM_THREADS`` or :func:`set_threads` says otherwise. A run's counterfactual (the same
world with moderation off) is a second model whose draws share nothing with the run's: with two
threads or more it runs at the same time in a forked process (:class:`Alongside`), with half of
the threads, which uses the cores better than the parallel passes do (they leave much of the hour
serial). Parallel workers of a sweep or a calibration use one thread each: they already fill the
cores. A parallel pass over little work (:func:`parallel_worth`'s cuts) runs a serial version
instead, and the moderation teams detect one after another over windows of few posts: waking
the other threads would cost more than it saves (a parallel kernel costs more even on one
thread; at 2·10^4 users, before the cuts for going online and detecting, a run's hours took
a fifth longer on two threads than on one).

numba's ``tbb`` threading layer (Intel's oneTBB, the ``tbb`` package, a dependency on Linux
x86-64) is chosen unless ``NUMBA_THREADING_LAYER`` says otherwise, and its ``workqueue`` layer
where TBB cannot be loaded. Both are fork-safe (calibration forks its workers; GNU OpenMP, which
numba prefers when present, is not, and its spinning threads made a small run cost ten times the
CPU time of one thread on a machine shared with other jobs). A parallel pass starts in
microseconds on TBB, where the calling thread takes a share and the others spin briefly before
they sleep; on workqueue, whose threads sleep on a condition, in 90-180 us, and an hour at 10^6
users starts about twenty (docs/performance.md, "Threads from TBB").

Under workqueue, before its first parallel pass, a run that takes every core it may run on (with
its counterfactual's process, if any) pins each thread of numba's pool that its passes use to a
core of its own (:func:`pin_workers`; ``SIM_PIN_THREADS=0`` leaves them unpinned). Left to
itself, Linux often ran the two threads of a pass one after the other, not side by side, when
the main thread had been busy just before (as it is between the passes of an hour): on two cores
such a pass took as long as on one (docs/performance.md, "Pinning the threads").
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from importlib import metadata
from typing import Any

import numba
import numpy as np
from numba import njit, prange

from .config import ConfigError
from .intrinsics import thread_id

ENV = "SIM_THREADS"
PIN_ENV = "SIM_PIN_THREADS"
MIN_PARALLEL_ROWS = 1 << 10  # online feed rows below which a read runs on one thread (also
# a batch of reads whose impressions are counted and engagement probabilities computed)
MIN_PARALLEL_WRITES = 1 << 13  # deliveries below which delivery runs on one thread (also
# edges drawn)
# (both lowered 4 and 8 times with TBB's cheap starts, docs/performance.md "Threads from TBB":
# hours 10% faster at 10^5 users, 4% at 10^6, the same at 2*10^4; cuts tried, not fitted)
# (the next two measured, docs/performance.md "Two threads where they pay")
MIN_PARALLEL_MEMBERS = 1 << 17  # members drawn to go online below which the draw runs on one
# thread
MIN_PARALLEL_POSTS = 1 << 16  # posts in the moderation window below which the teams detect one
# after another
MIN_PARALLEL_PLATFORM = 1 << 15  # members of a platform below which its hour's reading is one
# compiled pass on one thread, however many come online (from this size on, with more threads,
# step by step, each step on every thread where its own cut pays)
MIN_PARALLEL_READS = 1 << 12  # reads below which a batch's engagement is one compiled pass on one
# thread (the same, for a batch)
# (the last two measured, docs/performance.md "One compiled pass where threads do not pay")


def _load_tbb() -> bool:
    """Whether Intel's TBB (the ``tbb`` package's library) could be loaded for numba's ``tbb``
    layer. pip puts the library where the dynamic loader does not look, so numba cannot find
    it by itself (numba issue 6108); loaded here first, by its path, it is found by name."""
    try:
        lib = [f for f in metadata.files("tbb") or [] if f.name == "libtbb.so.12"]
        if not lib:
            return False
        ctypes.CDLL(str(lib[0].locate()), mode=ctypes.RTLD_GLOBAL)
        import numba.np.ufunc.tbbpool  # noqa: F401  (links to the library just loaded)
    except (metadata.PackageNotFoundError, OSError, ImportError):
        return False
    return True


if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "tbb" if _load_tbb() else "workqueue"


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


def parallel_worth(work: int, kind: str = "rows") -> bool:
    """Whether a parallel pass is worth waking other threads for: more than one thread, and at
    least the cut for its ``kind`` of work (read at each call: the warm-up and tests lower
    them): ``rows``, :data:`MIN_PARALLEL_ROWS` online feed rows to read or reads to engage
    with; ``writes``, :data:`MIN_PARALLEL_WRITES` feed writes to deliver or graph edges to draw;
    ``members``, :data:`MIN_PARALLEL_MEMBERS` members to draw for; ``posts``,
    :data:`MIN_PARALLEL_POSTS` posts for the moderation teams to read; ``platform``,
    :data:`MIN_PARALLEL_PLATFORM` members of a platform whose reading would leave its one
    compiled pass for steps; ``reads``, :data:`MIN_PARALLEL_READS` reads of a batch whose
    engagement would do the same. Only the main thread
    runs parallel passes: the workqueue layer (where TBB is not installed) aborts the
    process if two threads launch them at once (a dashboard serving several sessions), so models
    stepped (or built) in other threads run serially."""
    least = {"rows": MIN_PARALLEL_ROWS, "writes": MIN_PARALLEL_WRITES,
             "members": MIN_PARALLEL_MEMBERS, "posts": MIN_PARALLEL_POSTS,
             "platform": MIN_PARALLEL_PLATFORM, "reads": MIN_PARALLEL_READS}[kind]
    worth = (work >= least and numba.get_num_threads() > 1
             and threading.current_thread() is threading.main_thread())
    if worth:
        pin_workers()
    return worth


_pinned: tuple[int, ...] | None = None  # what the threads were last placed for
_first_core = 0  # cores before this process's share (a forked child's: its parent's threads)
_beside = 0  # threads a child forked by this process uses beside it (after this one's share)


def pin_workers() -> None:
    """Place the threads this thread's parallel passes use (:func:`placement`); once per
    process and number of threads. Only numba's ``workqueue`` layer (which gives the ``i``-th
    share of a pass to the ``i``-th thread of its pool, always the same one), only on Linux,
    and not if ``SIM_PIN_THREADS`` is 0. Where the threads run changes no result."""
    global _pinned
    n = numba.get_num_threads()
    key = (os.getpid(), n, _first_core, _beside)
    if key == _pinned:
        return
    _pinned = key
    if (numba.config.THREADING_LAYER != "workqueue" or not hasattr(os, "sched_setaffinity")
            or os.environ.get(PIN_ENV, "").strip() == "0"):
        return
    where = placement(n, _first_core, _beside, sorted(os.sched_getaffinity(0)))
    for tid, cores in zip(_worker_ids(n), where, strict=True):
        os.sched_setaffinity(int(tid), cores)


def placement(n: int, first: int, beside: int, cores: list[int]) -> list[set[int]]:
    """Where each of a process's ``n`` threads may run, given the ``cores`` it may run on: if
    the run's threads (``first`` of them in a process before it, ``beside`` in one after it)
    take every core, each its own core, in order from the ``first``-th on; otherwise any of
    them (other jobs may share the machine: pinned threads could not move away from them)."""
    if first + n + beside < len(cores):
        return [set(cores)] * n
    return [{cores[(first + k) % len(cores)]} for k in range(n)]


@njit(cache=True, parallel=True)
def _worker_ids(n):
    """The operating system's id of the thread running each of the ``n`` shares of a pass."""
    out = np.empty(n, np.int32)
    for i in prange(n):
        out[i] = thread_id()
    return out


class Alongside:
    """``fn()`` computed in a forked child process while the caller goes on with its own work,
    the threads split between the two (the child gets half, rounded down); :meth:`result` waits
    for it. Where that cannot be done (one thread, a thread other than the main one, not Linux:
    forking a threaded process is unsafe with some macOS libraries), :meth:`result` calls ``fn``
    itself, so the value is the same either way: ``fn`` must not depend on the caller's later
    work. Use as a context manager: leaving it stops a child still running (an error, Ctrl-C)
    and gives the caller its threads back.

    numba's TBB and workqueue layers are fork-safe (:data:`numba.config.THREADING_LAYER`
    above), so the warning Python gives on forking a process with native threads is silenced
    here."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        global _beside
        self._fn = fn
        self._proc: Any = None
        self._threads = get_threads()
        if (self._threads > 1 and threading.current_thread() is threading.main_thread()
                and sys.platform == "linux"):
            ctx = multiprocessing.get_context("fork")
            self._conn, child_end = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_child, args=(fn, child_end, self._threads // 2,
                                                          self._threads - self._threads // 2),
                                     daemon=True)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "This process .* is multi-threaded",
                                        DeprecationWarning)
                self._proc.start()
            child_end.close()
            numba.set_num_threads(self._threads - self._threads // 2)
            _beside = self._threads // 2

    @property
    def forked(self) -> bool:
        """Whether ``fn`` runs in a child process."""
        return self._proc is not None

    def result(self) -> Any:
        """``fn()``'s value; an exception it raised is raised here."""
        if self._proc is None:
            return self._fn()
        try:
            ok, value = self._conn.recv()
        except EOFError:
            self._proc.join()
            raise RuntimeError(f"the process computing alongside ended without a result "
                               f"(exit code {self._proc.exitcode})") from None
        finally:
            self.close()
        if not ok:
            raise value
        return value

    def close(self) -> None:
        global _beside
        if self._proc is None:
            return
        if self._proc.is_alive():
            self._proc.kill()  # SIGKILL: a mask or handler inherited from the parent cannot stop it
        self._proc.join()
        self._conn.close()
        self._proc = None
        numba.set_num_threads(self._threads)
        _beside = 0

    def __enter__(self) -> Alongside:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child(fn: Callable[[], Any], conn: Any, threads: int, first_core: int) -> None:
    global _first_core, _beside
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    numba.set_num_threads(threads)
    _first_core, _beside = first_core, 0  # the parent's threads keep the cores before
    try:
        out = (True, fn())
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        out = (False, exc)
    try:
        conn.send(out)
    except Exception as exc:  # noqa: BLE001 - an exception that does not pickle
        conn.send((False, RuntimeError(f"{type(out[1]).__name__}: {out[1]} ({exc})")))
    conn.close()
