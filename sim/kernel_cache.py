"""Where numba keeps the compiled kernels: one cache for each state of the code they compile.

numba checks a kernel's cached machine code against the kernel's own source file alone (a hash
of that file, ``numba.core.caching``), though the code holds every kernel it calls and every
constant it reads from other files: after an edit to ``sim/streams.py`` the kernels of
``sim/organic/kernels.py`` would load from the cache as they were compiled before the edit, and
nothing would say so. So the cache lives in a directory named by a hash of every module holding
compiled code (:data:`SOURCES`): ``numba-<hash>`` in the package's ``__pycache__``, or in
``NUMBA_CACHE_DIR`` if that is set. After a change to any of them the kernels compile afresh
(``python -m sim.warmup``, about a minute); the cache of an earlier state stays until deleted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# every module defining compiled code (tests/test_warmup.py checks that none is missing)
SOURCES = ("intrinsics.py", "portable.py", "streams.py", "threads.py", "network.py", "posts.py",
           "feeds/kernels.py", "organic/kernels.py", "moderation/detection.py")


def digest() -> str:
    """A hash of :data:`SOURCES` as they are now."""
    h = hashlib.sha256()
    for name in SOURCES:
        h.update(name.encode())
        h.update((PACKAGE / name).read_bytes())
    return h.hexdigest()[:16]


def configure() -> None:
    """Point numba's cache at the directory of this state of the code. numba reads the setting
    when a kernel is defined, so this runs before any module of :data:`SOURCES` is imported."""
    from numba.core import config

    base = Path(config.CACHE_DIR) if config.CACHE_DIR else PACKAGE / "__pycache__"
    config.CACHE_DIR = str(base / f"numba-{digest()}")
