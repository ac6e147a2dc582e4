"""Building a large model makes glibc keep large freed blocks for reuse (``sim.memory``), unless
the environment sets glibc's malloc thresholds itself: then they stand. A small model leaves
glibc as it is.

Checked through glibc's own accounting (``mallinfo2``: bytes in blocks served by their own
mapping) in fresh processes, since the setting is once per process."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from sim.memory import USER_SETTINGS

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")

CHILD = """
import ctypes, json, sys
import numpy as np
import sim

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = MallInfo2
sim.memory.LARGE_WORLD = int(sys.argv[1])
sim.InfluenceModel(sim.runner.resolve_config({}, users=300, days=1))
block = np.ones(64 << 17)  # 64 MB, above glibc's own largest mmap threshold (32 MB)
print(json.dumps({"mapped": mallinfo2().hblkhd, "kept": sim.memory._state}))
"""


def _child(large_world: int, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in USER_SETTINGS}
    out = subprocess.run([sys.executable, "-c", CHILD, str(large_world)], env={**clean, **env},
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def test_a_large_model_makes_large_blocks_come_from_the_heap_unless_the_user_set_thresholds():
    """The 300-user world counts as large when the cut is lowered to 300, and not at 301."""
    large = _child(300)
    assert large["kept"] and large["mapped"] < 64 << 20
    small = _child(301)
    assert small["kept"] is None and small["mapped"] >= 64 << 20
    theirs = _child(300, MALLOC_TRIM_THRESHOLD_="131072")  # glibc's default, set by hand
    assert theirs["kept"] is False and theirs["mapped"] >= 64 << 20
