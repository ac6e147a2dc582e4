"""The simulation's math does not depend on the CPU (``sim.portable``).

A CPU with other vector instructions cannot be had in a test, so the checks are what makes the
result CPU-independent: the elementwise functions give exactly the C library's results (which
Python's ``math`` module also calls), and the simulation's code calls no numpy function whose
implementation numpy picks by CPU, nor a BLAS product.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim import portable

FLOATS = st.floats(-700, 700, allow_nan=False)


@given(arrays(np.float64, st.integers(0, 40), elements=FLOATS))
def test_functions_are_the_c_librarys(x):
    pos = np.abs(x) / 7
    pairs = [(portable.exp(x), [math.exp(v) for v in x]),
             (portable.exp2(x), [math.exp2(v) for v in x]),
             (portable.log1p(pos), [math.log1p(v) for v in pos]),
             (portable.expm1(x / 2), [math.expm1(v / 2) for v in x]),
             (portable.power(pos, 1.37), [math.pow(v, 1.37) for v in pos])]
    for got, want in pairs:
        assert got.dtype == np.float64
        assert got.tobytes() == np.array(want, np.float64).tobytes()


def test_dtypes_follow_numpy():
    f32, i32 = np.ones(3, np.float32), np.ones(3, np.int32)
    assert portable.power(f32, 1.5).dtype == np.power(f32, 1.5).dtype == np.float32
    assert portable.log1p(i32).dtype == np.log1p(i32).dtype == np.float64
    assert portable.exp(f32).dtype == np.float32
    assert isinstance(portable.exp(1.0), np.float64)


@given(arrays(np.float64, st.tuples(st.integers(0, 30), st.integers(1, 9)),
              elements=st.floats(-1e6, 1e6)),
       st.lists(st.floats(0, 10), min_size=9, max_size=9))
def test_weighted_sum_adds_columns_in_order(cols, w):
    w = np.array(w[: cols.shape[1]])
    want = np.zeros(cols.shape[0])
    for j in range(cols.shape[1]):
        want = want + cols[:, j] * w[j]
    got = portable.weighted_sum(cols, w)
    assert got.tobytes() == want.tobytes()
    np.testing.assert_allclose(got, cols @ w, rtol=1e-9, atol=1e-3)


# numpy functions whose implementation numpy (or OpenBLAS) chooses by CPU
DISPATCHED = {"exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "power", "float_power",
              "sin", "cos", "tan", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan",
              "arctan2", "cbrt", "dot", "matmul", "inner", "einsum", "tensordot"}
# analysis of finished runs, not the simulation: calibration, scenario discovery, plots
NOT_SIMULATION = {"calibration", "discovery", "plots", "dashboard"}
ALLOWED = "see sim.portable"  # the float32 exponential that stays (sim.portable's docstring)


def test_simulation_code_calls_no_cpu_dependent_math():
    root = Path(portable.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if NOT_SIMULATION & set(path.relative_to(root).parts):
            continue
        text = path.read_text()
        lines = text.splitlines()
        tree = ast.parse(text)
        compiled = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                    and any(k in ast.unparse(d) for d in f.decorator_list
                            for k in ("njit", "vectorize"))
                    for n in ast.walk(f)}  # numba's own math: the C library's
        for node in ast.walk(tree):
            if id(node) in compiled:
                continue
            bad = (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)) or (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "np"
                and node.func.attr in DISPATCHED)
            if bad and ALLOWED not in lines[node.lineno - 1]:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    assert found == []
