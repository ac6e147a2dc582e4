"""Importing Mesa through ``sim.startup`` gives what a plain import gives (its loggers and
their names), with :mod:`inspect` answering from the frames alone only while Mesa is imported:
the same frames, file names, lines, functions and modules as :mod:`inspect` itself, and its own
functions back afterwards, even when the block fails."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from contextlib import nullcontext

import pytest

from sim.startup import frames_without_source

MESA_NAMES = """
import json, sys
if sys.argv[1] == "sim":
    import sim
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
