"""The model's random stream (numpy's PCG64) drawn inside compiled loops without a call per
draw, and in blocks on every thread, the draws exactly numpy's.

numba passes a ``numpy.random.Generator`` into a kernel, but each draw is then a call through
the bit generator's function pointer, about 4 ns; who goes online draws one number per member
per platform-hour (3·10^7 an hour at 10^7 users). PCG64 (O'Neill 2014, numpy's default bit
generator) is a 128-bit linear congruential step and a permutation of its state into 64 bits,
a few instructions inline; and the step jumps ``k`` outputs ahead in ``log2 k`` steps (Brown
1994, "Random number generation with arbitrary strides"), so each thread can start its block
of the one stream where a single thread would have reached it. The numbers drawn, and the
generator's state afterwards, are the same as numpy's (``tests/test_streams.py`` checks them
draw for draw), whatever the number of threads. Besides uniforms and exponentials, the stream
draws bounded integers, normals, gammas and betas by numpy's algorithms (its
``distributions.c``), so that a pass drawing them can be compiled whole; passing a
``Generator`` itself into a kernel costs about 8 us a call.

A stream is a ``uint64`` array of :data:`WORDS` words: the 128-bit state and increment (high
word first), then whether half an output is kept for the next single-precision draw, and that
half. numpy makes two single-precision uniforms of each 64-bit output, its low half first,
keeping the high half (``has_uint32``, ``uinteger`` in its state), and so do its 32-bit integers;
doubles and exponentials take whole outputs and leave the kept half alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from numba import njit
from numba.np.random._constants import (
    fe_double,
    fi_double,
    ke_double,
    ki_double,
    we_double,
    wi_double,
    ziggurat_exp_r,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

from .intrinsics import mulhi

WORDS = 6  # state high, state low, increment high, increment low, has a half kept, the half
MULT_HI = np.uint64(0x2360ED051FC65DA4)  # PCG's 128-bit multiplier (numpy's pcg64.h)
MULT_LO = np.uint64(0x4385DF649FCCF645)
MASK64 = (1 << 64) - 1
FLOAT32_UNIT = np.float32(1.0 / 16777216.0)  # 2^-24: numpy's next_float
DOUBLE_UNIT = 1.0 / 9007199254740992.0  # 2^-53: numpy's next_double
EXP_K = ke_double.astype(np.uint64)  # numpy's ziggurat tables for the exponential (as numba
EXP_W, EXP_F = we_double, fe_double  # keeps them for its own Generator)
EXP_R = ziggurat_exp_r
NOR_K, NOR_W, NOR_F = ki_double, wi_double, fi_double  # the normal's ziggurat (numpy's too)
NOR_R, NOR_INV_R = ziggurat_nor_r, ziggurat_nor_inv_r
LOW32 = np.uint64(0xFFFFFFFF)
MAX64 = np.uint64(MASK64)


def take(rng: np.random.Generator) -> np.ndarray:
    """The stream of ``rng`` (a PCG64 generator, as every model's is), as an array."""
    return _stream(_state(rng))


def _state(rng: np.random.Generator) -> dict:
    bg = rng.bit_generator
    if type(bg) is not np.random.PCG64:
        raise TypeError(f"a PCG64 generator is needed, not {type(bg).__name__}")
    return bg.state


def _stream(st: dict) -> np.ndarray:
    s, inc = st["state"]["state"], st["state"]["inc"]
    return np.array([s >> 64, s & MASK64, inc >> 64, inc & MASK64, st["has_uint32"],
                     st["uinteger"]], np.uint64)


def put(rng: np.random.Generator, stream: np.ndarray) -> None:
    """Set ``rng`` where ``stream`` has got to."""
    w = stream.tolist()
    rng.bit_generator.state = {"bit_generator": "PCG64",
                               "state": {"state": w[0] << 64 | w[1], "inc": w[2] << 64 | w[3]},
                               "has_uint32": w[4], "uinteger": w[5]}


def draw(rng: np.random.Generator, kernel, *args):
    """``kernel(stream, *args)`` on the stream of ``rng``, which is then left where the
    kernel's draws took it (while it is :func:`held`, the held stream goes on from there)."""
    stream = _held.get(id(rng))
    if stream is not None:
        return kernel(stream, *args)
    stream = take(rng)
    out = kernel(stream, *args)
    put(rng, stream)
    return out


_held: dict[int, np.ndarray] = {}  # id of a generator -> its stream, while held


@contextmanager
def held(rng: np.random.Generator) -> Iterator[None]:
    """Within the block, :func:`draw` passes ``rng``'s stream from kernel to kernel, and
    ``rng`` is set where the stream got to once, at the end: handing the state over took about
    8 us a draw in a run, several draws a platform-hour. numpy itself must not draw from ``rng``
    in the block (its numbers would repeat the stream's): ``rng``'s state is checked at the
    end, and such a draw raises RuntimeError."""
    if id(rng) in _held:
        raise RuntimeError("this generator's stream is already held")
    before = _state(rng)
    stream = _held[id(rng)] = _stream(before)
    try:
        yield
        if rng.bit_generator.state != before:
            raise RuntimeError("numpy drew from a generator while its stream was held")
    finally:
        del _held[id(rng)]
        put(rng, stream)


@njit(cache=True, inline="always")
def mul128(ahi, alo, bhi, blo):
    """``a * b`` modulo 2^128, as (high, low) words."""
    return mulhi(alo, blo) + alo * bhi + ahi * blo, alo * blo


@njit(cache=True, inline="always")
def add128(ahi, alo, bhi, blo):
    """``a + b`` modulo 2^128, as (high, low) words."""
    lo = alo + blo
    return ahi + bhi + (np.uint64(1) if lo < alo else np.uint64(0)), lo


@njit(cache=True, inline="always")
def output(hi, lo):
    """The 64-bit output of a state (PCG's XSL-RR: the halves xor-ed, rotated by the top six
    bits)."""
    x = hi ^ lo
    rot = hi >> np.uint64(58)
    return (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))


@njit(cache=True, inline="always")
def step(hi, lo, inc_hi, inc_lo):
    """The state after state ``(hi, lo)`` with increment ``inc``: PCG's 128-bit linear
    congruential step."""
    hi, lo = mul128(hi, lo, MULT_HI, MULT_LO)
    return add128(hi, lo, inc_hi, inc_lo)


@njit(cache=True, inline="always")
def next64(stream):
    """Step ``stream`` once; its next 64-bit output."""
    hi, lo = step(stream[0], stream[1], stream[2], stream[3])
    stream[0], stream[1] = hi, lo
    return output(hi, lo)


@njit(cache=True, inline="always")
def next_double(stream):
    """Step ``stream`` once; a uniform double in [0, 1) (numpy's ``random()``)."""
    return to_double(next64(stream))


@njit(cache=True, inline="always")
def to_double(x):
    """The uniform double in [0, 1) of a 64-bit output (its top 53 bits)."""
    return np.float64(x >> np.uint64(11)) * DOUBLE_UNIT


@njit(cache=True, inline="always")
def exponential(stream):
    """A standard exponential variate (numpy's ``exponential()``: the ziggurat of Marsaglia and
    Tsang 2000, one output nearly always, more in the tail or at a wedge)."""
    while True:
        ri = next64(stream) >> np.uint64(3)
        idx = ri & np.uint64(0xFF)
        ri >>= np.uint64(8)
        x = ri * EXP_W[idx]
        if ri < EXP_K[idx]:
            return x
        if idx == 0:
            return EXP_R - np.log1p(-next_double(stream))
        if (EXP_F[idx - 1] - EXP_F[idx]) * next_double(stream) + EXP_F[idx] < np.exp(-x):
            return x


@njit(cache=True, inline="always")
def next32(stream):
    """A 32-bit output (numpy's ``next_uint32``): the half kept from the last output, if there
    is one, else the low half of a new output, whose high half is kept."""
    if stream[4]:
        stream[4] = np.uint64(0)
        return stream[5]
    x = next64(stream)
    stream[4], stream[5] = np.uint64(1), x >> np.uint64(32)
    return x & LOW32


@njit(cache=True)
def bounded(stream, rng):
    """A uniform integer in ``[0, rng]`` (numpy's ``random_bounded_uint64``, which its
    ``integers`` draws with: Lemire 2019's multiply-and-reject on a 32-bit output when ``rng``
    fits 32 bits, on a 64-bit one otherwise)."""
    rng = np.uint64(rng)
    if rng == 0:
        return rng
    if rng <= LOW32:
        if rng == LOW32:
            return next32(stream)
        excl = rng + np.uint64(1)
        m = next32(stream) * excl
        if m & LOW32 < excl:
            threshold = (LOW32 - rng) % excl
            while m & LOW32 < threshold:
                m = next32(stream) * excl
        return m >> np.uint64(32)
    if rng == MAX64:
        return next64(stream)
    excl = rng + np.uint64(1)
    x = next64(stream)
    if x * excl < excl:
        threshold = (MAX64 - rng) % excl
        while x * excl < threshold:
            x = next64(stream)
    return mulhi(x, excl)


@njit(cache=True, inline="always")
def integers(stream, low, high):
    """A uniform integer in ``[low, high)`` (numpy's ``integers(low, high)``, 64-bit)."""
    return low + np.int64(bounded(stream, np.uint64(high - 1 - low)))


@njit(cache=True)
def normal(stream):
    """A standard normal variate (numpy's ``standard_normal``: the ziggurat of Marsaglia and
    Tsang 2000, one output nearly always, more in the tail or at a wedge)."""
    while True:
        r = next64(stream)
        idx = r & np.uint64(0xFF)
        r >>= np.uint64(8)
        rabs = (r >> np.uint64(1)) & np.uint64(0x000FFFFFFFFFFFFF)
        x = rabs * NOR_W[idx]
        if r & np.uint64(1):
            x = -x
        if rabs < NOR_K[idx]:
            return x
        if idx == 0:
            while True:
                xx = -NOR_INV_R * np.log1p(-next_double(stream))
                yy = -np.log1p(-next_double(stream))
                if yy + yy > xx * xx:
                    return -(NOR_R + xx) if (rabs >> np.uint64(8)) & np.uint64(1) else NOR_R + xx
        elif (NOR_F[idx - 1] - NOR_F[idx]) * next_double(stream) + NOR_F[idx] < np.exp(
                -0.5 * x * x):
            return x


@njit(cache=True)
def gamma(stream, shape):
    """A standard gamma variate of ``shape`` (numpy's ``standard_gamma``: Marsaglia and Tsang
    2000 from normals above shape 1, a rejection from uniforms and exponentials below)."""
    if shape == 1.0:
        return exponential(stream)
    if shape == 0.0:
        return 0.0
    if shape < 1.0:
        while True:
            u = next_double(stream)
            v = exponential(stream)
            if u <= 1.0 - shape:
                x = u ** (1.0 / shape)
                if x <= v:
                    return x
            else:
                y = -np.log((1 - u) / shape)
                x = (1.0 - shape + shape * y) ** (1.0 / shape)
                if x <= v + y:
                    return x
    b = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9 * b)
    while True:
        while True:
            x = normal(stream)
            v = 1.0 + c * x
            if v > 0.0:
                break
        v = v * v * v
        u = next_double(stream)
        if u < 1.0 - 0.0331 * (x * x) * (x * x):
            return b * v
        if np.log(u) < 0.5 * x * x + b * (1.0 - v + np.log(v)):
            return b * v


@njit(cache=True)
def beta(stream, a, b):
    """A Beta(``a``, ``b``) variate (numpy's ``beta``: Johnk's algorithm when both are at most
    1, else two gammas)."""
    if a <= 1.0 and b <= 1.0:
        while True:
            u, v = next_double(stream), next_double(stream)
            x, y = u ** (1.0 / a), v ** (1.0 / b)
            if x + y <= 1.0 and u + v > 0.0:
                if x + y > 0:
                    return x / (x + y)
                lx, ly = np.log(u) / a, np.log(v) / b  # both underflowed: in logs
                lm = max(lx, ly)
                lx, ly = lx - lm, ly - lm
                return np.exp(lx - np.log(np.exp(lx) + np.exp(ly)))
    ga = gamma(stream, a)
    return ga / (ga + gamma(stream, b))


@njit(cache=True)
def geometric(stream, p):
    """A geometric count, the trials up to and including the first success of probability
    ``p`` (numpy's ``geometric``: a search over the cumulative probabilities for ``p`` of at
    least a third, else the inversion of an exponential)."""
    if p >= 1.0 / 3.0:
        u = next_double(stream)
        x, total, prod, q = 1, p, p, 1.0 - p
        while u > total:
            prod *= q
            total += prod
            x += 1
        return np.int64(x)
    z = np.ceil(-exponential(stream) / np.log1p(-p))
    return np.int64(z) if z < 9.223372036854776e18 else np.int64(2**63 - 1)


@njit(cache=True)
def poisson(stream, lam):
    """A Poisson(``lam``) count (numpy's ``poisson``: multiplying uniforms below 10, Hormann
    1993's transformed rejection, PTRS, from 10 on)."""
    if lam >= 10:
        slam, loglam = np.sqrt(lam), np.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = next_double(stream) - 0.5
            v = next_double(stream)
            us = 0.5 - abs(u)
            k = np.int64(np.floor((2 * a / us + b) * u + lam + 0.43))
            if us >= 0.07 and v <= vr:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            if np.log(v) + np.log(invalpha) - np.log(a / (us * us) + b) <= (
                    -lam + k * loglam - loggam(k + 1.0)):
                return k
    if lam == 0:
        return np.int64(0)
    enlam = np.exp(-lam)
    k = np.int64(0)
    prod = 1.0
    while True:
        prod *= next_double(stream)
        if prod <= enlam:
            return k
        k += 1


LOGGAM_A = np.array([8.333333333333333e-02, -2.777777777777778e-03, 7.936507936507937e-04,
                     -5.952380952380952e-04, 8.417508417508418e-04, -1.917526917526918e-03,
                     6.410256410256410e-03, -2.955065359477124e-02, 1.796443723688307e-01,
                     -1.39243221690590e+00])


@njit(cache=True)
def loggam(x):
    """``ln Gamma(x)`` as numpy's ``random_loggam`` computes it (a Stirling series, shifted up
    to 7 and back), for :func:`poisson`."""
    if x == 1.0 or x == 2.0:
        return 0.0
    n = np.int64(7 - x) if x < 7.0 else np.int64(0)
    x0 = x + np.float64(n)
    x2 = (1.0 / x0) * (1.0 / x0)
    gl0 = LOGGAM_A[9]
    for k in range(8, -1, -1):
        gl0 *= x2
        gl0 += LOGGAM_A[k]
    gl = gl0 / x0 + 0.5 * 1.8378770664093453 + (x0 - 0.5) * np.log(x0) - x0
    if x < 7.0:
        for _ in range(n):
            gl -= np.log(x0 - 1.0)
            x0 -= 1.0
    return gl


@njit(cache=True, inline="always")
def low_float32(x):
    """The single-precision uniform in [0, 1) of an output's low half."""
    return np.float32((x & np.uint64(0xFFFFFFFF)) >> np.uint64(8)) * FLOAT32_UNIT


@njit(cache=True, inline="always")
def high_float32(x):
    """The single-precision uniform in [0, 1) of an output's high half."""
    return np.float32(x >> np.uint64(40)) * FLOAT32_UNIT


@njit(cache=True, inline="always")
def kept_float32(stream):
    """The single-precision uniform in [0, 1) of the half kept from the last output drawn."""
    return np.float32(stream[5] >> np.uint64(8)) * FLOAT32_UNIT


@njit(cache=True)
def advance(stream, k):
    """A copy of ``stream`` ``k`` outputs on (the kept half left as it was)."""
    ahi, alo = np.uint64(0), np.uint64(1)  # the k steps as one: x -> a x + c
    chi, clo = np.uint64(0), np.uint64(0)
    mhi, mlo = MULT_HI, MULT_LO  # 2^j steps as one: x -> m x + p
    phi, plo = stream[2], stream[3]
    k = np.uint64(k)
    while k > np.uint64(0):
        if k & np.uint64(1):
            ahi, alo = mul128(ahi, alo, mhi, mlo)
            chi, clo = mul128(chi, clo, mhi, mlo)
            chi, clo = add128(chi, clo, phi, plo)
        hi, lo = add128(mhi, mlo, np.uint64(0), np.uint64(1))
        phi, plo = mul128(hi, lo, phi, plo)
        mhi, mlo = mul128(mhi, mlo, mhi, mlo)
        k >>= np.uint64(1)
    out = stream.copy()
    hi, lo = mul128(ahi, alo, stream[0], stream[1])
    out[0], out[1] = add128(hi, lo, chi, clo)
    return out


@njit(cache=True, inline="always")
def skip(stream, k):
    """Move ``stream`` on, in place, ``k`` outputs (:func:`advance`: only the state changes)."""
    moved = advance(stream, k)
    stream[0], stream[1] = moved[0], moved[1]


@njit(cache=True, inline="always")
def float32_outputs(stream, n):
    """For ``n`` single-precision draws from ``stream``: whether the first is the kept half
    (0 or 1), and how many outputs the rest take."""
    kept = np.int64(stream[4]) if n > 0 else np.int64(0)
    return kept, (n - kept + 1) // 2


@njit(cache=True)
def skip_float32(stream, n):
    """Move ``stream`` on, in place, past ``n`` single-precision draws (where numpy's generator
    would be after drawing them one by one)."""
    kept, k = float32_outputs(stream, n)
    if k == 0:
        stream[4] = stream[4] - np.uint64(kept)
        return
    skip(stream, k)
    stream[4] = np.uint64((n - kept) % 2)
    stream[5] = output(stream[0], stream[1]) >> np.uint64(32)  # the last output's high half
