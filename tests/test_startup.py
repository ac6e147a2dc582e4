"""Importing Mesa through ``sim.startup`` gives what a plain import gives (its loggers and
their names), with :mod:`inspect` answering from the frames alone only while Mesa is imported:
the same frames, file names, lines, functions and modules as :mod:`inspect` itself, and its own
functions back afterwards, even when the block fails. Mesa's spaces wait for their first use, a
run never uses them, and once used they are Mesa's own."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import threading
from contextlib import nullcontext
from pathlib import Path

import pytest

from sim.startup import DEFERRED, frames_without_source, spaces_deferred

MESA_NAMES = """
import json, sys
if sys.argv[1] == "sim":
    import sim
import mesa
mesa.discrete_space.Grid, mesa.space.MultiGrid, mesa.experimental.continuous_space.ContinuousSpace
import mesa.mesa_logging as ml
import mesa.model as mm
names = [c.cell_contents for c in mm.Model.__init__.__closure__ if isinstance(c.cell_contents, str)]
print(json.dumps({"loggers": {k: v.name for k, v in ml._module_loggers.items()}, "names": names}))
"""


def test_mesa_imported_by_sim_names_its_loggers_as_a_plain_import_does() -> None:
    seen = {how: json.loads(subprocess.run(
        [sys.executable, "-c", MESA_NAMES, how], capture_output=True, text=True,
        check=True).stdout) for how in ("plain", "sim")}
    assert seen["sim"] == seen["plain"]
    assert seen["sim"]["loggers"]["mesa.model"] == "MESA.mesa.model"
    assert seen["sim"]["names"] == ["Model"]  # the class whose method is logged


def test_frames_without_source_are_inspects_frames_without_their_lines() -> None:
    here = inspect.currentframe()
    seen = []
    for patched in (False, True):  # the same lines both times
        with frames_without_source() if patched else nullcontext():
            seen.append((inspect.stack(), inspect.getouterframes(here), inspect.getmodule(here),
                         inspect.getmodule(json.dumps)))
    (stack, outer, module, other), (stack_p, outer_p, module_p, other_p) = seen
    for frames, frames_p in ((stack, stack_p), (outer, outer_p)):
        assert [f[:4] for f in frames_p] == [f[:4] for f in frames]  # frame, file, line, name
        assert {(f.code_context, f.index) for f in frames_p} == {(None, None)}
    assert module_p is module is sys.modules[__name__]
    assert other_p is other is json  # not a frame: inspect's own answer


def test_inspect_gets_its_own_functions_back_even_when_the_block_fails() -> None:
    before = inspect.stack, inspect.getouterframes, inspect.getmodule
    with pytest.raises(RuntimeError), frames_without_source():
        assert inspect.stack is not before[0]
        raise RuntimeError
    assert (inspect.stack, inspect.getouterframes, inspect.getmodule) == before


SPACES = """
import json, sys
import sim
sim.run("experiments/spamouflage.toml", users=400, days=1,
        overrides={"moderation.counterfactual": False})
heavy = ("scipy.spatial", "networkx")
after_run = [m for m in heavy if m in sys.modules]
import mesa
from mesa.discrete_space.grid import OrthogonalMooreGrid
grid = mesa.discrete_space.OrthogonalMooreGrid((3, 3), random=None)
print(json.dumps({"after_run": after_run, "cells": len(grid.all_cells),
                  "same": mesa.discrete_space.OrthogonalMooreGrid is OrthogonalMooreGrid,
                  "space": mesa.space.MultiGrid.__module__,
                  "continuous": mesa.experimental.continuous_space.ContinuousSpace.__name__,
                  "loaded": [m for m in heavy if m in sys.modules],
                  "finders": [type(f).__name__ for f in sys.meta_path]}))
"""


def test_a_run_loads_none_of_mesas_spaces_and_they_work_when_used() -> None:
    root = Path(__file__).resolve().parents[1]
    seen = json.loads(subprocess.run([sys.executable, "-c", SPACES], cwd=root,
                                     capture_output=True, text=True, check=True).stdout)
    assert seen["after_run"] == []
    assert seen["same"] and seen["cells"] == 9
    assert seen["space"] == "mesa.space" and seen["continuous"] == "ContinuousSpace"
    assert seen["loaded"] == ["scipy.spatial", "networkx"]  # loaded once used
    assert "_Deferring" not in seen["finders"]


PACKAGE = {  # a package whose submodule imports from it, as Mesa's spaces do
    "fakespace/__init__.py": "import fakelog\nfakelog.runs.append('pkg')\n"
                             "from fakespace.base import Base\nfrom fakespace.grid import Grid\n"
                             "import sys\nSEEN = getattr(sys.modules[__name__], 'later', None)\n",
    "fakespace/base.py": "import time, fakelog\nfakelog.runs.append('base')\ntime.sleep(0.05)\n"
                         "class Base:\n    pass\n",
    "fakespace/grid.py": "import fakelog\nfakelog.runs.append('grid')\n"
                         "from fakespace import Base\nclass Grid(Base):\n    pass\n",
    "fakeleaf.py": "import fakelog\nfakelog.runs.append('leaf')\n"
                   "if fakelog.fail:\n    fakelog.fail -= 1\n    raise RuntimeError('once')\n"
                   "VALUE = 1\n",
    "fakelog.py": "runs = []\nfail = 0\n",
}


@pytest.fixture
def deferred(tmp_path, monkeypatch):
    """Modules ``fakespace`` (a package) and ``fakeleaf`` deferred as Mesa's spaces are: a
    function importing them in :func:`spaces_deferred`, and the log of whose code ran."""
    for name, text in PACKAGE.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("sim.startup.DEFERRED", frozenset({"fakespace", "fakeleaf"}))
    finders = list(sys.meta_path)
    import fakelog

    def import_them():
        with spaces_deferred():
            import fakeleaf
            import fakespace
        return fakespace, fakeleaf

    yield import_them, fakelog
    for name in [m for m in sys.modules if m.startswith(("fakespace", "fakeleaf", "fakelog"))]:
        del sys.modules[name]
    sys.meta_path[:] = finders


def test_a_deferred_package_runs_once_when_used_and_its_submodules_are_its_own(deferred) -> None:
    import_them, log = deferred
    before = list(sys.meta_path)
    package, leaf = import_them()
    assert log.runs == [] and len(sys.meta_path) == len(before) + 1
    grid = package.Grid
    assert log.runs == ["pkg", "base", "grid"]
    assert grid is sys.modules["fakespace.grid"].Grid and issubclass(grid, package.Base)
    assert package.SEEN is None  # its own code looked up a name it lacks: not there yet
    assert leaf.VALUE == 1 and log.runs[-1] == "leaf"
    assert sys.meta_path == before  # nothing waits: the finder has gone


def test_a_submodule_imported_first_runs_its_package_first_and_once(deferred) -> None:
    import_them, log = deferred
    package, _ = import_them()
    from fakespace.grid import Grid

    assert log.runs == ["pkg", "base", "grid"]
    assert Grid is package.Grid is sys.modules["fakespace.grid"].Grid


def test_threads_using_a_deferred_module_at_once_share_one_run(deferred) -> None:
    import_them, log = deferred
    package, _ = import_them()
    start, seen = threading.Barrier(8), []

    def use() -> None:
        start.wait()
        seen.append(package.Grid)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and len(set(seen)) == 1
    assert log.runs == ["pkg", "base", "grid"]


def test_a_deferred_module_that_fails_waits_to_be_tried_again(deferred) -> None:
    import_them, log = deferred
    log.fail = 1
    _, leaf = import_them()
    with pytest.raises(RuntimeError, match="once"):
        _ = leaf.VALUE
    assert leaf.VALUE == 1 and log.runs == ["leaf", "leaf"]


def test_only_deferred_modules_wait_and_the_finder_goes_even_when_the_block_fails() -> None:
    finders = list(sys.meta_path)
    with pytest.raises(RuntimeError), spaces_deferred():
        assert len(sys.meta_path) == len(finders) + 1
        assert sys.meta_path[0].find_spec("json", None) is None  # left to the usual finders
        raise RuntimeError
    assert sys.meta_path == finders
    assert DEFERRED == {"mesa.discrete_space", "mesa.experimental.continuous_space",
                        "mesa.space"}
