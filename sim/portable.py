"""Elementwise math that gives the same bits on every x86-64 CPU.

numpy picks its implementation of ``exp``, ``log1p``, ``power`` and others by the CPU it runs on:
on CPUs with AVX-512 it uses its own vector code (Intel's SVML for ``log1p`` and ``power``), on
others the C library's. The two differ in the last bit of some results, and in a stochastic
simulation one last bit, compared with a uniform draw, can change everything after it: the
same seed then gives different runs on different machines. Matrix products are worse: OpenBLAS
picks a kernel (and with it an order of summation) per CPU model.

These functions are loops compiled by numba, whose ``math`` calls go to the C library
(glibc's ``exp``, ``exp2``, ``log1p``, ``expm1``, ``pow``; ``sim`` turns off numba's use of
Intel's vector library before numba is imported), so their results do not depend on the CPU's
vector instructions. On a CPU without AVX-512 they are bit for bit numpy's (checked on an AVX2
machine: every run unchanged). :func:`weighted_sum` replaces a matrix-vector product by a fixed
order of IEEE multiplications and additions. numpy's random generators are C code calling the C
library, the same on every CPU.

Not covered: ``np.exp`` on float32 arrays (freshness in ``sim.organic.engagement``). numpy's
version for AVX2 differs from the C library's in about 40% of results, so replacing it would
change every run; it stays. Its AVX-512 version performs the same operations with the same
constants lane by lane (numpy's ``loops_exponent_log.dispatch.c.src``: one template for both,
the same fused multiply-adds and one division), so it gives the same bits (read in the source,
not run on an AVX-512 machine); CPUs without AVX2 and FMA (x86-64 before 2013, other
architectures) use the C library's there and may give other runs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_EXP, _EXP2, _LOG1P, _EXPM1, _POW = range(5)


@njit(cache=True, nogil=True)
def _elementwise(op, x, y, out):
    """``out[i] = f(x[i])`` (or ``x[i] ** y``) for the function numbered ``op``: one kernel for
    all five, so that a run loads a few compiled loops from numba's cache (one per pair of input
    and output types it meets), not one per function and type."""
    for i in range(x.size):
        v = out.dtype.type(x[i])
        if op == _EXP:
            out[i] = math.exp(v)
        elif op == _EXP2:
            out[i] = math.exp2(v)
        elif op == _LOG1P:
            out[i] = math.log1p(v)
        elif op == _EXPM1:
            out[i] = math.expm1(v)
        else:
            out[i] = v ** y


def _apply(op: int, x, y: float = 0.0):
    """The kernel over an array or scalar ``x``, as numpy would shape it: float32 stays float32,
    anything else becomes float64; a scalar gives a numpy scalar."""
    a = np.asarray(x)
    dtype = np.float32 if a.dtype == np.float32 else np.float64
    flat = np.ascontiguousarray(a).ravel()
    out = np.empty(flat.size, dtype)
    _elementwise(op, flat, dtype(y), out)
    return out.reshape(a.shape)[()]


def exp(x):
    """``e ** x``, elementwise, by the C library."""
    return _apply(_EXP, x)


def exp2(x):
    """``2 ** x``, elementwise, by the C library."""
    return _apply(_EXP2, x)


def log1p(x):
    """``ln(1 + x)``, elementwise, by the C library."""
    return _apply(_LOG1P, x)


def expm1(x):
    """``e ** x - 1``, elementwise, by the C library."""
    return _apply(_EXPM1, x)


def power(x, y: float):
    """``x ** y`` for a number ``y``, elementwise, by the C library (no shortcut for special
    exponents)."""
    return _apply(_POW, x, y)


def weighted_sum(columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``columns @ weights`` for a 2-d ``columns``, summed column by column from the first, in
    float64 (what a matrix product would give, up to the order of summation)."""
    out = np.zeros(columns.shape[0])
    for j, w in enumerate(np.asarray(weights, np.float64)):
        out += columns[:, j] * w
    return out
