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
draw for draw), whatever the number of threads.

A stream is a ``uint64`` array of :data:`WORDS` words: the 128-bit state and increment (high
word first), then whether half an output is kept for the next single-precision draw, and that
half. numpy makes two single-precision uniforms of each 64-bit output, its low half first,
keeping the high half (``has_uint32``, ``uinteger`` in its state); doubles and exponentials take
whole outputs and leave the kept half alone.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.np.random._constants import fe_double, ke_double, we_double, ziggurat_exp_r

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


def take(rng: np.random.Generator) -> np.ndarray:
    """The stream of ``rng`` (a PCG64 generator, as every model's is), as an array."""
    bg = rng.bit_generator
    if type(bg) is not np.random.PCG64:
        raise TypeError(f"a PCG64 generator is needed, not {type(bg).__name__}")
    st = bg.state
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
    kernel's draws took it."""
    stream = take(rng)
    out = kernel(stream, *args)
    put(rng, stream)
    return out


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
    stream[:] = advance(stream, k)
    stream[4] = np.uint64((n - kept) % 2)
    stream[5] = output(stream[0], stream[1]) >> np.uint64(32)  # the last output's high half
