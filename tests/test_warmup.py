"""The warm-up (``sim.warmup``) calls every compiled kernel with the argument types of real runs,
so that after it a run compiles nothing: a fresh install compiles once, in ``./dev setup``, and a
progress bar started after the warm-up measures simulation only. At exit, the objects the imports
made are left to the operating system, not walked by Python's last garbage collections."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from numba.core import config as numba_config

import sim
from sim import kernel_cache
from sim.organic import kernels as organic_kernels
from sim.warmup import _dispatchers, compile_kernels

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def _versions() -> dict[str, set]:
    return {d.py_func.__qualname__: set(d.signatures) for d in _dispatchers()}


def test_runs_after_the_warm_up_compile_nothing(preset) -> None:
    compile_kernels()
    warmed = _versions()
    # (kernels called from Python: one compiled from the cache inside another, like
    # read_feeds inside reading, gets no version of its own)
    assert warmed["reading"] and warmed["engagement"] and warmed["fan_out"]
    assert warmed["draw_targets_parallel"] and warmed["read_parallel"]
    assert warmed["acquisition_draws"]  # (the warm-up acquires accounts itself)
    sim.run(preset, users=1500, days=2, seed=2, overrides={  # old posts aged out on day 2
        "moderation.counterfactual": False, "engagement.feed_max_age_hours": 24,
        "moderation.window_hours": 24})
    sim.run(EXPERIMENTS / "ira.toml", users=1500, days=2, seed=2)
    assert _versions() == warmed


def test_the_kernel_cache_follows_every_module_with_compiled_code() -> None:
    """numba checks a cached kernel against its own file alone, not against the kernels it
    calls from other files; the cache's directory is named by a hash of every module holding
    compiled code (``sim.kernel_cache``), so a change to any of them compiles every kernel
    afresh. The list misses none."""
    compiled = re.compile(r"@(njit|intrinsic|overload|register_jitable)\b|\bnjit\(")
    found = {p.relative_to(kernel_cache.PACKAGE).as_posix()
             for p in kernel_cache.PACKAGE.rglob("*.py") if compiled.search(p.read_text())}
    assert found == set(kernel_cache.SOURCES)
    here = Path(organic_kernels.reading._cache._cache_path).parent  # (numba's, not public)
    assert here.name == f"numba-{kernel_cache.digest()}"
    assert Path(numba_config.CACHE_DIR) == here  # the tests' kernels' too (tests/conftest.py)


def test_objects_are_frozen_at_exit_and_not_before() -> None:
    """Importing ``sim`` freezes nothing while the program runs and leaves the objects it made
    in the collector's oldest generation, not in the young ones that every few collections
    walk; at exit, every object is frozen before Python's last collections (a handler
    registered before the import runs after ``sim``'s), unless the program unregisters that."""
    child = """
import atexit, gc, sys
before = gc.get_freeze_count()  # (the interpreter's own, from start-up)
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > before))
import sim
print("frozen after import:", gc.get_freeze_count() > before)
young = len(gc.get_objects(0)) + len(gc.get_objects(1))
print("young after import:", young, "of", len(gc.get_objects()))
if sys.argv[1] == "unregister":
    atexit.unregister(gc.freeze)
"""
    for arg, at_exit in (("keep", True), ("unregister", False)):
        out = subprocess.run([sys.executable, "-c", child, arg], capture_output=True, text=True,
                             check=True).stdout.split("\n")
        assert out[0] == "frozen after import: False"
        young, tracked = map(int, out[1].split()[3::2])
        assert tracked > 100_000 and young < tracked / 100
        assert out[2] == f"frozen at exit: {at_exit}"
