"""Writing results safely: never destroy what the user did not ask to replace, and never leave a
half-written result behind.

Two rules, for every command that writes (``sim run``, ``sim sweep``, ``sim plot``, ``sim report
--csv``, calibrations):

1. *Claim before work.* :func:`claim_output` is called before any simulation starts. A location
   may be written only if it does not exist yet, is an empty directory, or is an earlier output of
   the same kind (recognised by the marker file ``.sim-<kind>`` the writer leaves there, JSON),
   and replacing that needs ``force``. Anything else (an unrelated folder, a sweep's results, a
   regular file, the working directory or one of its parents, a folder holding an input file) is
   refused with a message naming the path. Locations that cannot be written (a file in the way,
   no permission, a read-only or virtual filesystem) are found here too, by actually creating and
   removing a probe, because permission bits say nothing for root or for read-only mounts.
2. *Write aside, then rename.* :func:`atomic_dir` yields a hidden temporary directory beside the
   target and renames it into place only when everything is written, so a killed run leaves no
   half-written results (at most a hidden ``.NAME.partial-*`` directory, which the next write to
   the same place removes).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .config import ConfigError

KINDS = ("run", "sweep", "calibration", "figures", "file")
"""What :func:`claim_output` can claim: a directory of one of the first four kinds, or a single
file (``file``: a CSV table, a rendered document)."""


class OutputError(ConfigError):
    """An output location that may not or cannot be written (raised before any work starts)."""


def marker_name(kind: str) -> str:
    """The marker file an output directory of ``kind`` carries, e.g. ``.sim-run``."""
    return f".sim-{kind}"


def output_kind(path: str | Path) -> str | None:
    """The kind of simulator output a directory holds (from its marker), or None."""
    path = Path(path)
    if not path.is_dir():
        return None
    for kind in KINDS:
        if (path / marker_name(kind)).is_file():
            return kind
    # sweeps written before markers existed are recognised by their manifest
    manifest = path / "manifest.json"
    if manifest.is_file():
        try:
            if "experiment_sha256" in json.loads(manifest.read_text(encoding="utf-8")):
                return "sweep"
        except (OSError, ValueError):
            return None
    return None


def write_marker(directory: Path, kind: str, **info: Any) -> None:
    """Mark ``directory`` as an output of ``kind`` (so a later write may recognise it)."""
    data = {"kind": kind, "written": datetime.now(UTC).isoformat(timespec="seconds"), **info}
    write_json(directory / marker_name(kind), data)


def _probe_writable(directory: Path, shown: Path) -> None:
    """Create and remove a file in ``directory``: the only test that holds for root, read-only
    mounts and virtual filesystems such as /proc alike."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".sim-probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(f"cannot write to {shown}: {directory} is not writable ({reason})"
                          ) from None


def claim_output(path: str | Path, kind: str, force: bool = False,
                 inputs: Iterable[str | Path] = ()) -> Path:
    """Check, before any work, that ``path`` may be written as an output of ``kind``.

    Returns the resolved path. Raises :class:`OutputError` (a ConfigError) naming the path when
    the location holds something the writer must not replace or cannot be written.

    - missing: allowed if its nearest existing parent is a writable directory;
    - empty directory: allowed;
    - a directory marked as ``kind``: a ``run``/``calibration``/``figures`` output is replaced
      only with ``force``; a ``sweep`` directory is resumed (the sweep checks it is the same
      experiment);
    - an existing file, for ``kind="file"``: replaced only with ``force``;
    - anything else: refused, force or not.
    ``inputs`` are files the command reads (its config, experiment, base scenario): a location
    that is, or contains, one of them is refused.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown output kind {kind!r}; allowed: {KINDS}")
    shown = Path(path)
    target = Path(os.path.abspath(shown))
    cwd = Path.cwd().resolve()
    real = target.resolve()
    if kind != "file" and (real == cwd or real in cwd.parents):
        raise OutputError(f"refusing to write {kind} output into {shown}: it is the working "
                          "directory or one of its parents; choose a new directory")
    for inp in inputs:
        inp = Path(inp).resolve()
        if inp == real or real in inp.parents:
            raise OutputError(f"refusing to write {kind} output to {shown}: it holds the input "
                              f"file {inp}; choose a new location")
    # the nearest existing ancestor must be a writable directory (a file in the way is named)
    parent = target.parent
    while not parent.exists() and not parent.is_symlink():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write to {shown}: {parent} is a file, not a directory")
    if not target.exists() and not target.is_symlink():
        _probe_writable(parent, shown)
        return target
    if kind == "file":
        if target.is_dir():
            raise OutputError(f"refusing to write file {shown}: it is a directory")
        if not force:
            raise OutputError(f"refusing to overwrite the existing file {shown}; pass --force "
                              "to replace it, or choose another name")
        _probe_writable(target.parent, shown)
        return target
    if not target.is_dir():
        raise OutputError(f"refusing to write {kind} output to {shown}: it is an existing file "
                          "(not a directory); choose a new directory")
    found = output_kind(target)
    if found is None:
        if any(not (p.name.startswith(".sim-") and p.name.endswith(".lock"))
               for p in target.iterdir()):  # a lock alone: a sweep is just starting
            raise OutputError(f"refusing to write {kind} output into {shown}: the directory is "
                              "not empty and is not an earlier output of this simulator; "
                              "choose a new directory")
    elif found != kind:
        raise OutputError(f"refusing to write {kind} output into {shown}: it holds a {found}'s "
                          "results; choose a new directory")
    elif kind != "sweep" and not force:
        raise OutputError(f"{shown} holds an earlier {kind}'s results; pass --force to replace "
                          "them, or choose a new directory")
    _probe_writable(target, shown)
    _probe_writable(target.parent, shown)  # replacing renames beside the target
    return target


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``target`` when the block succeeds.

    Callers claim ``target`` first (:func:`claim_output`); this only writes aside and renames."""
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    try:
        yield tmp
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / "x")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_file(path: str | Path, text: str) -> None:
    """Write a whole text file or nothing (a temporary file beside it, then a rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def jsonable(x: Any) -> Any:
    """``x`` with NaN and infinities as None (JSON has no NaN; ``null`` is what readers expect),
    numpy scalars as Python numbers and tuples as lists."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, str | bytes):  # numpy scalar
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def dumps(data: Any) -> str:
    """Strict JSON text (no bare NaN or Infinity)."""
    return json.dumps(jsonable(data), indent=2, sort_keys=False, allow_nan=False) + "\n"


def write_json(path: Path, data: dict) -> None:
    path.write_text(dumps(data), encoding="utf-8")


def write_table(path: Path, df: pd.DataFrame) -> None:
    df.to_parquet(path, index=False, engine="pyarrow")
