"""Building a model makes glibc keep large freed blocks for reuse (``sim.memory``), unless the
environment sets glibc's malloc thresholds itself: then they stand.

Checked through glibc's own accounting (``mallinfo2``: bytes in blocks served by their own
mapping) in fresh processes, since the setting is once per process."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")

CHILD = """
import ctypes, json
import numpy as np
import sim

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = MallInfo2
sim.InfluenceModel(sim.runner.resolve_config({}, users=300, days=1))
block = np.ones(64 << 17)  # 64 MB, above glibc's own largest mmap threshold (32 MB)
print(json.dumps({"mapped": mallinfo2().hblkhd, "kept": sim.memory.keep_freed_memory()}))
"""


def _child(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", CHILD], env={**clean, **env}, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def test_a_model_makes_large_blocks_come_from_the_heap_unless_the_user_set_thresholds() -> None:
    ours = _child()
    assert ours["kept"] and ours["mapped"] < 64 << 20
    theirs = _child(MALLOC_TRIM_THRESHOLD_="131072")  # glibc's default, set by hand
    assert not theirs["kept"] and theirs["mapped"] >= 64 << 20
