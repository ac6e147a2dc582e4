"""Shared test setup: import the package from this working tree, and the headline preset path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# no time limit per example: the suite runs one process per core, so an example's time depends
# on what the other processes do (speed is measured in benchmarks/, never in tests)
settings.register_profile("parallel", deadline=None)
settings.load_profile("parallel")

ROOT = Path(__file__).resolve().parents[1]
# Make ``import sim`` resolve to this checkout even when the installed copy is stale or absent.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PRESET = ROOT / "experiments" / "spamouflage.toml"

# the tests' own kernels call the package's: cached with them, in the directory of this state of
# the package's sources (sim.kernel_cache), so that a change there compiles them afresh too
# (sim first: it sets numba's environment before numba is imported, which numba reads again
# when it compiles, resetting the directory if the environment has changed since)
from sim import kernel_cache  # noqa: E402, I001
from numba.core import config as numba_config  # noqa: E402

numba_config.CACHE_DIR = str(kernel_cache.directory(numba_config.CACHE_DIR))


@pytest.fixture(scope="session")
def preset() -> Path:
    """The headline scenario file (scale it down with ``users=`` and ``days=``)."""
    return PRESET


def world_scope(fixture_name: str, config: pytest.Config) -> str:
    """Scope of a fixture that simulates a world several tests read: the module, as worlds are
    costly, except under mutation testing. mutmut maps each function to the tests that call
    it, and a module's world is simulated while the first test that asks for it is set up, so
    the checks of the other tests on that world would never be run against a mutant."""
    return "function" if os.environ.get("MUTANT_UNDER_TEST") else "module"
