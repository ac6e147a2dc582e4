"""A run's results do not depend on the number of threads its compiled loops use, nor on how
many readers are gathered at once.

Only passes that draw no random numbers and whose iterations write disjoint entries run in
parallel (``sim.threads``); this checks the promise end to end, table for table, and that a bad
thread count is refused with a message naming the allowed range.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from functools import partial

import numba
import pandas as pd
import pytest

import sim
import sim.feeds
import sim.threads
from sim.config import ConfigError
from sim.threads import Alongside, set_threads

needs_two = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                               reason="needs 2 cores for 2 threads")


def _run_with(threads: int, preset, monkeypatch, read_block: int) -> sim.RunResult:
    monkeypatch.setattr(sim.feeds, "READ_BLOCK", read_block)
    before = sim.get_threads()
    set_threads(threads)
    try:
        # moderation on (status hides and demotes items), engagement ranking, several platforms;
        # teams that flag within the three days, so that what each detected is compared too
        return sim.run(preset, users=4000, days=3, seed=11,
                       overrides={"moderation.counterfactual": False, "moderation.threshold": 0.3,
                                  "moderation.review_delay_hours": 2})
    finally:
        set_threads(before)


@needs_two
def test_one_and_two_threads_give_identical_runs(preset, monkeypatch) -> None:
    """One thread reading each platform-hour's readers at once; two, in blocks of 50 readers
    (a few hundred read an hour here)."""
    # every pass in parallel (reads, deliveries, who goes online), the teams detecting on threads
    for cut in [name for name in vars(sim.threads) if name.startswith("MIN_PARALLEL_")]:
        monkeypatch.setattr(sim.threads, cut, 0)
    one = _run_with(1, preset, monkeypatch, 10**9)
    two = _run_with(2, preset, monkeypatch, 50)
    assert one.summary["organic_impressions"] > 0  # feeds were read
    assert one.removals["platform"].nunique() == 3  # every team detected and removed
    for table in ("timeseries", "posts", "reports", "removals", "accounts", "operators"):
        pd.testing.assert_frame_equal(getattr(one, table), getattr(two, table), check_exact=True)
    drop = ("runtime_seconds", "provenance")
    assert ({k: v for k, v in one.summary.items() if k not in drop}
            == {k: v for k, v in two.summary.items() if k not in drop})


@pytest.mark.parametrize("bad", [0, -1, 10_000])
def test_thread_count_out_of_range_is_refused(bad) -> None:
    with pytest.raises(ConfigError, match="threads: .* allowed 1 to"):
        set_threads(bad)


@needs_two
def test_alongside_forks_with_threads_to_share_and_runs_inline_without() -> None:
    """With two threads the work runs in a child process with one of them while the caller keeps
    the other; with one thread it runs in the caller. Either way the caller gets its threads
    back."""
    before = sim.get_threads()
    try:
        set_threads(2)
        with Alongside(lambda: (os.getpid(), sim.get_threads())) as other:
            assert other.forked and sim.get_threads() == 1
            pid, child_threads = other.result()
        assert pid != os.getpid() and child_threads == 1 and sim.get_threads() == 2
        set_threads(1)
        with Alongside(os.getpid) as other:
            assert not other.forked and other.result() == os.getpid()
    finally:
        set_threads(before)


@needs_two
def test_alongside_raises_the_childs_error_and_stops_a_child_left_running() -> None:
    before = sim.get_threads()
    try:
        set_threads(2)
        with pytest.raises(ValueError, match="invalid literal"):
            Alongside(partial(int, "x")).result()
        with pytest.raises(RuntimeError, match="exit code 3"):
            Alongside(partial(os._exit, 3)).result()
        others = set(multiprocessing.active_children())
        with Alongside(partial(time.sleep, 60)) as other:
            started = time.monotonic()
        assert not other.forked and time.monotonic() - started < 30
        assert set(multiprocessing.active_children()) <= others and sim.get_threads() == 2
    finally:
        set_threads(before)


@needs_two
def test_the_counterfactual_alongside_gives_the_numbers_of_one_run_after_the_other(preset):
    def run(threads: int) -> dict:
        before = sim.get_threads()
        set_threads(threads)
        try:
            s = sim.run(preset, users=3000, days=3, seed=5,
                        overrides={"moderation.counterfactual": True}).summary
        finally:
            set_threads(before)
        return {k: v for k, v in s.items() if k not in ("runtime_seconds", "provenance")}

    alongside, inline = run(2), run(1)
    assert alongside["counterfactual_organic_impressions"] > 0
    assert alongside == inline


def _affinities(tids) -> list[set[int]]:
    return [os.sched_getaffinity(int(t)) for t in tids]


@needs_two
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pinning is for Linux")
def test_pinning_is_checked_under_the_workqueue_layer() -> None:
    """Threads are pinned only by numba's workqueue layer, the one used where TBB is not
    installed: the next test runs in a process of its own that uses it."""
    if numba.config.THREADING_LAYER == "workqueue":
        pytest.skip("the pinning test runs in this process")
    test = f"{__file__}::test_a_parallel_pass_first_pins_its_threads_each_to_a_core_of_its_own"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
                          env={**os.environ, "NUMBA_THREADING_LAYER": "workqueue"},
                          capture_output=True, text=True)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


@needs_two
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pinning is for Linux")
@pytest.mark.skipif(numba.config.THREADING_LAYER != "workqueue",
                    reason="pinning is the workqueue layer's (run by the test above)")
def test_a_parallel_pass_first_pins_its_threads_each_to_a_core_of_its_own(monkeypatch) -> None:
    """In the order of the process's cores from where its share starts (a forked child's after
    its parent's), and not at all with SIM_PIN_THREADS=0; unpinned again afterwards. (Two
    threads on two cores take every core; see the next test for runs that do not.)"""
    before, cores = sim.get_threads(), sorted(os.sched_getaffinity(0))
    set_threads(2)
    tids = sim.threads._worker_ids(2)
    try:
        assert len(set(tids)) == 2 and os.getpid() not in tids
        for first in (0, 1):
            monkeypatch.setattr(sim.threads, "_pinned", None)
            monkeypatch.setattr(sim.threads, "_first_core", first)
            assert sim.threads.parallel_worth(sim.threads.MIN_PARALLEL_ROWS)
            assert _affinities(tids) == [{cores[first]}, {cores[(first + 1) % len(cores)]}]
        for t in tids:
            os.sched_setaffinity(int(t), cores)
        monkeypatch.setattr(sim.threads, "_pinned", None)
        monkeypatch.setenv(sim.threads.PIN_ENV, "0")
        assert sim.threads.parallel_worth(sim.threads.MIN_PARALLEL_ROWS)
        assert _affinities(tids) == [set(cores)] * 2
    finally:
        for t in tids:
            os.sched_setaffinity(int(t), cores)
        set_threads(before)


def test_threads_are_pinned_only_when_the_run_takes_every_core() -> None:
    """A run and its counterfactual's process share the cores in order; a run leaving cores to
    others leaves its threads free to move."""
    eight = list(range(8))
    assert sim.threads.placement(2, 0, 0, eight) == [set(eight)] * 2
    assert sim.threads.placement(4, 0, 4, eight) == [{0}, {1}, {2}, {3}]  # parent, child beside
    assert sim.threads.placement(4, 4, 0, eight) == [{4}, {5}, {6}, {7}]  # the child
    assert sim.threads.placement(3, 0, 0, [1, 5, 6]) == [{1}, {5}, {6}]
