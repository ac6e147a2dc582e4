"""Where a result came from: code version, inputs, call, libraries, machine and time.

Every ``summary.json`` carries a ``provenance`` block and every sweep row a ``provenance``
column (JSON text) built here. These are the only recorded fields, besides ``runtime_seconds``,
that may differ between two runs with the same config and seed; determinism checks leave them
out (docs/outputs.md lists them).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

LIBRARIES = ("numpy", "numba", "mesa", "pandas", "pyarrow", "pydantic", "scipy", "networkx",
             "dask", "distributed")

command: ContextVar[str | None] = ContextVar("sim_command", default=None)
"""The command line that started this work (set by the CLI); None for API calls."""


def cli_command() -> str:
    """This process's command line, as a shell would take it."""
    return shlex.join(["sim", *sys.argv[1:]])


@functools.cache
def git_state() -> tuple[str, bool | None]:
    """(revision, dirty) of the source tree the package is imported from; ("", None) when it
    is not a git checkout (an installed wheel) or git is unavailable."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=here, timeout=10)
        if rev.returncode != 0:
            return "", None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, cwd=here, timeout=10)
        return rev.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return "", None


@functools.cache
def library_versions() -> dict[str, str]:
    """Versions of the libraries results depend on: an imported one's own ``__version__``
    (reading installed packages' metadata took 9 ms a run), else its package's, "" if not
    installed."""
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        loaded = getattr(sys.modules.get(name), "__version__", None)
        try:
            out[name] = loaded if isinstance(loaded, str) else version(name)
        except PackageNotFoundError:
            out[name] = ""
    return out


def package_version() -> str:
    try:
        return version("sim")
    except PackageNotFoundError:
        return ""


def config_sha256(config_json: dict) -> str:
    """Hash of the fully resolved config (defaults filled in, overrides applied)."""
    text = json.dumps(config_json, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def machine() -> dict[str, Any]:
    return {"node": platform.node(), "system": platform.system(),
            "release": platform.release(), "machine": platform.machine(),
            "cpus": os.cpu_count()}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record(config_json: dict, call: str, started: str | None = None) -> dict[str, Any]:
    """The provenance block of one run. ``call`` describes the API call; the CLI's command line,
    when there is one, is recorded instead."""
    rev, dirty = git_state()
    return {"package_version": package_version(), "git_revision": rev, "git_dirty": dirty,
            "config_sha256": config_sha256(config_json), "command": command.get() or call,
            "libraries": library_versions(), "machine": machine(),
            "started": started or now()}
