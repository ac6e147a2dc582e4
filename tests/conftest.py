"""Shared test setup: import the package from this working tree, and the headline preset path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Make ``import sim`` resolve to this checkout even when the installed copy is stale or absent.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PRESET = ROOT / "experiments" / "spamouflage.toml"


@pytest.fixture(scope="session")
def preset() -> Path:
    """The headline scenario file (scale it down with ``users=`` and ``days=``)."""
    return PRESET
