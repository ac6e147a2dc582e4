"""Building a large model makes glibc keep large freed blocks for reuse (``sim.memory``), unless
the environment sets glibc's malloc thresholds itself: then they stand. A small model leaves
glibc's thresholds as they are. Importing ``sim`` makes threads allocate from the main heap, unless
the environment sets the number of heaps itself.

Checked through glibc's own accounting (``mallinfo2``: bytes in blocks served by their own
mapping) in fresh processes, since the setting is once per process."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from sim.memory import USER_ARENAS, USER_SETTINGS

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


HEAPS = """
import ctypes, json, threading
import numpy as np
import sim

libc = ctypes.CDLL(None)
libc.open_memstream.restype = ctypes.c_void_p
sim.InfluenceModel(sim.runner.resolve_config({}, users=300, days=1))
held = []
worker = threading.Thread(target=lambda: held.extend(np.ones(8192) for _ in range(64)))
worker.start()  # 64 blocks of 64 KB, below glibc's mmap threshold: they come from a heap
worker.join()
buf, size = ctypes.c_char_p(), ctypes.c_size_t()
stream = ctypes.c_void_p(libc.open_memstream(ctypes.byref(buf), ctypes.byref(size)))
libc.malloc_info(0, stream)
libc.fclose(stream)
xml = ctypes.string_at(buf, size.value).decode()
print(json.dumps({"heaps": xml.count("<heap nr="), "ours": sim.memory._one_heap}))
"""


def _child(large_world: int, code: str = CHILD, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in USER_SETTINGS + USER_ARENAS}
    out = subprocess.run([sys.executable, "-c", code, str(large_world)], env={**clean, **env},
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


def test_threads_started_after_a_model_allocate_from_the_main_heap_unless_the_user_says():
    assert _child(0, HEAPS) == {"heaps": 1, "ours": True}
    theirs = _child(0, HEAPS, MALLOC_ARENA_MAX="4")
    assert theirs["heaps"] >= 2 and theirs["ours"] is False
