"""Where numba keeps the compiled kernels: one cache for each state of the code they compile.

numba checks a kernel's cached machine code against the kernel's own source file alone (a hash
of that file, ``numba.core.caching``), though the code holds every kernel it calls and every
constant it reads from other files: after an edit to ``sim/streams.py`` the kernels of
``sim/organic/kernels.py`` would load from the cache as they were compiled before the edit, and
nothing would say so. So the package's kernels are cached in a directory named by a hash of
every module holding compiled code (:data:`SOURCES`): ``numba-<hash>`` in the package's
``__pycache__``, or in ``NUMBA_CACHE_DIR`` if that is set. After a change to any of them the
kernels compile afresh (``python -m sim.warmup``, about a minute); the cache of an earlier state
stays until deleted. Other code's kernels cache where they would without ``sim``, but for the
tests' (``tests/conftest.py``), which call the package's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# every module defining compiled code (tests/test_warmup.py checks that none is missing)
SOURCES = ("intrinsics.py", "portable.py", "streams.py", "threads.py", "network.py", "posts.py",
           "feeds/kernels.py", "organic/kernels.py", "moderation/detection.py",
           "moderation/enforcement.py", "operation/kernels.py")


def digest() -> str:
    """A hash of :data:`SOURCES` as they are now."""
    h = hashlib.sha256()
    for name in SOURCES:
        h.update(name.encode())
        h.update((PACKAGE / name).read_bytes())
    return h.hexdigest()[:16]


def directory(base: str = "") -> Path:
    """The cache directory of this state of the sources, under ``base`` (numba's
    ``NUMBA_CACHE_DIR``) or, if that is empty, the package's ``__pycache__``."""
    return (Path(base) if base else PACKAGE / "__pycache__") / f"numba-{digest()}"


@contextmanager
def defining_kernels() -> Iterator[None]:
    """numba's cache directory is :func:`directory` while the package's kernels are defined
    (numba reads it when a kernel is defined), then back to what it was."""
    from numba.core import config

    before = config.CACHE_DIR
    config.CACHE_DIR = str(directory(before))
    try:
        yield
    finally:
        config.CACHE_DIR = before
