"""Keeping freed memory in the process for reuse (glibc only): fresh pages are slow.

Importing ``sim`` first asks glibc to serve every thread from its main heap (``M_ARENA_MAX`` 1;
before pandas' Arrow starts threads). Otherwise each thread that allocates gets a heap of its
own: the moderation detectors' threads (``sim.moderation.Moderation.detect``) would keep what
they freed there between scans, and at 10^7 users fetch fresh pages for every large table (a
thread's heap grows at most 64 MB at a time, so larger blocks are mapped anew).

Every simulated hour allocates and frees large temporaries (the moderation scan's accounts x
signals table, a feed read's candidates, delivery's write lists); at 10^7 users many are tens to
hundreds of MB. glibc serves a block above its mmap threshold (which it raises by itself to at
most 32 MB) with a fresh mapping and returns it to the system on free, so the next hour pays a
page fault on every page again: 5-50 us each on the virtual machines measured in
docs/performance.md. Raising the mmap threshold to 1 GB and the trim threshold to 2 GB (the
largest ``mallopt`` takes) lets such blocks come from, and go back to, the heap instead.

The price is memory the process keeps after freeing it (up to the trim threshold at the top of
the heap, and holes below it), and it pays only for large worlds (docs/performance.md, "Keeping
freed memory"): 13% less tick time at 10^7 users, none at 3*10^6, 2.5% more at 10^6 (where
glibc's own threshold already covers most temporaries). So the first
:class:`sim.model.InfluenceModel` of at least :data:`LARGE_WORLD` users built in a process
applies it (a cut between the measured sizes, not fitted); nothing is done where the C library is
not glibc, or where the environment already sets ``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_`` or ``GLIBC_TUNABLES`` (the user's choice then stands; for the heaps,
``MALLOC_ARENA_MAX`` or ``GLIBC_TUNABLES``).
"""

from __future__ import annotations

import ctypes
import os
import platform

M_TRIM_THRESHOLD = -1  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 1 << 30
TRIM_THRESHOLD = 2**31 - 1
LARGE_WORLD = 5_000_000  # users
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
USER_ARENAS = ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")

_state: bool | None = None


def one_heap() -> bool:
    """Serve threads that allocate from now on from glibc's main heap (done once, at import);
    whether this module set it."""
    return _glibc(USER_ARENAS) and bool(_mallopt()(M_ARENA_MAX, 1))


def keep_freed_memory(users: int) -> bool | None:
    """For a world of ``users`` users, set glibc's thresholds if it is a large one and no
    earlier one set them; whether they are this module's (None: not asked yet)."""
    global _state
    if _state is None and users >= LARGE_WORLD:
        _state = _apply()
    return _state


def _glibc(user_settings: tuple[str, ...]) -> bool:
    """The C library is glibc and the environment leaves these settings to us."""
    return platform.libc_ver()[0] == "glibc" and not any(k in os.environ for k in user_settings)


def _mallopt():
    return ctypes.CDLL(None).mallopt  # the C library this process already runs on


def _apply() -> bool:
    if not _glibc(USER_SETTINGS):
        return False
    mallopt = _mallopt()
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) \
        and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


_one_heap = one_heap()
