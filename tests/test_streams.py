"""The model's stream drawn in compiled code (``sim.streams``) is numpy's own PCG64 stream:
the same numbers in the same order, the generator left in the same state, whether one thread
draws them all or each thread its block."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numba import njit

from sim import streams
from sim.organic import kernels


@njit(cache=True)
def _outputs(stream, n):
    out = np.empty(n, np.uint64)
    for i in range(n):
        out[i] = streams.next64(stream)
    return out


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**63), st.integers(0, 2**63 - 1), st.integers(0, 20))
def test_outputs_and_jumps_are_numpys(seed, k, n) -> None:
    """Outputs one by one are ``random_raw``'s; a jump of ``k`` lands where numpy's ``advance``
    does (any ``k`` below 2^63); the stream round-trips through the generator."""
    rng = np.random.default_rng(seed)
    s = streams.take(rng)
    assert np.array_equal(_outputs(s.copy(), n), rng.bit_generator.random_raw(n))
    jumped = streams.advance(streams.take(rng), k)
    rng.bit_generator.advance(k)
    assert np.array_equal(jumped[:4], streams.take(rng)[:4])
    streams.put(rng, s)
    assert rng.bit_generator.state == np.random.default_rng(seed).bit_generator.state


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**63), st.lists(st.integers(0, 50), max_size=5))
def test_a_held_stream_draws_as_draws_one_by_one(seed, sizes) -> None:
    """Kernels drawing in a ``held`` block give the numbers, and leave the generator where, the
    same kernels do each taking and putting the stream; numpy drawing from the generator in
    the block, or holding it twice, raises."""
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    with streams.held(a):
        got = [streams.draw(a, _outputs, n) for n in sizes]
    want = [streams.draw(b, _outputs, n) for n in sizes]
    assert all(np.array_equal(x, y) for x, y in zip(got, want, strict=True))
    assert a.bit_generator.state == b.bit_generator.state
    with pytest.raises(RuntimeError, match="numpy drew"), streams.held(a):
        streams.draw(a, _outputs, 3)
        a.random()
    with pytest.raises(RuntimeError, match="already held"), streams.held(a), streams.held(a):
        pass


@njit(cache=True)
def _doubles_and_exponentials(stream, n):
    out = np.empty((2, n))
    for i in range(n):
        out[0, i] = streams.next_double(stream)
    for i in range(n):
        out[1, i] = streams.exponential(stream)
    return out


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**63), st.integers(0, 3000), st.booleans())
def test_doubles_and_exponentials_are_numpys(seed, n, half_kept) -> None:
    """Uniform doubles and standard exponentials (the ziggurat's tail and wedges included: about
    one draw in a hundred) are numpy's, and leave a kept half where it was."""
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    if half_kept:
        a.random(dtype=np.float32)
        b.random(dtype=np.float32)
    s = streams.take(a)
    got = _doubles_and_exponentials(s, n)
    streams.put(a, s)
    np.testing.assert_array_equal(got[0], b.random(n))
    np.testing.assert_array_equal(got[1], b.exponential(size=n))
    assert a.bit_generator.state == b.bit_generator.state


@njit(cache=True)
def _integers_normals_betas(stream, n, high, a, b):
    ints = np.empty(n, np.int64)
    for i in range(n):
        ints[i] = streams.integers(stream, 0, high)
    normals = np.empty(n)
    for i in range(n):
        normals[i] = streams.normal(stream)
    betas = np.empty(n)
    for i in range(n):
        betas[i] = streams.beta(stream, a, b)
    return ints, normals, betas


SHAPES = st.sampled_from([0.05, 0.5, 1.0, 1.5, 2.0, 7.5])  # both beta branches, every gamma one


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**63), st.integers(0, 2000), st.booleans(),
       st.one_of(st.integers(1, 50), st.integers(1, 2**32), st.integers(2**32, 2**63 - 1)),
       SHAPES, SHAPES)
@example(1, 500, True, 2**32, 0.5, 0.5)  # the range of every 32-bit output
def test_integers_normals_and_betas_are_numpys(seed, n, half_kept, high, a, b) -> None:
    """Bounded integers (32- and 64-bit ranges, from a kept half first if there is one),
    standard normals (the ziggurat's tail and wedges included) and beta variates (Johnk's
    algorithm and gammas of every shape) are numpy's, and leave the generator where numpy
    does."""
    g, want = np.random.default_rng(seed), np.random.default_rng(seed)
    if half_kept:
        g.random(dtype=np.float32)
        want.random(dtype=np.float32)
    s = streams.take(g)
    ints, normals, betas = _integers_normals_betas(s, n, high, a, b)
    streams.put(g, s)
    np.testing.assert_array_equal(ints, want.integers(0, high, n))
    np.testing.assert_array_equal(normals, want.standard_normal(n))
    np.testing.assert_array_equal(betas, want.beta(a, b, n))
    assert g.bit_generator.state == want.bit_generator.state


@njit(cache=True)
def _counts(stream, n, geometric, x):
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = streams.geometric(stream, x) if geometric else streams.poisson(stream, x)
    return out


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**63), st.integers(0, 2000), st.sampled_from(
    [("poisson", lam) for lam in (0.0, 0.3, 2.5, 9.99, 10.0, 27.5, 1e4)]
    + [("geometric", p) for p in (1e-6, 0.01, 0.2, 1 / 3 - 1e-12, 1 / 3, 0.5, 0.9, 1.0)]))
def test_poisson_and_geometric_counts_are_numpys(seed, n, case) -> None:
    """Poisson counts (by multiplied uniforms below 10, by transformed rejection from 10 on) and
    geometric counts (by search from a third on, by an exponential's inversion below) are
    numpy's."""
    kind, x = case
    g, want = np.random.default_rng(seed), np.random.default_rng(seed)
    s = streams.take(g)
    got = _counts(s, n, kind == "geometric", x)
    streams.put(g, s)
    np.testing.assert_array_equal(got, getattr(want, kind)(x, n))
    assert g.bit_generator.state == want.bit_generator.state


def test_loggam_is_log_gamma() -> None:
    """The rejection step's ln Gamma (numpy's Stirling series) is ln Gamma to within rounding."""
    for x in (1.0, 2.0, 3.0, 5.5, 7.0, 8.0, 11.0, 30.0, 10001.0):
        assert math.isclose(streams.loggam(x), math.lgamma(x), rel_tol=1e-14, abs_tol=1e-14)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 400), st.booleans(), st.integers(1, 7))
def test_online_draws_as_numpy_would_on_any_number_of_blocks(seed, n, half_kept, parts) -> None:
    """Who goes online: ``U < rate * weight[hour]`` unless away (removed), one single-precision
    uniform per member in order (away or not) from the model's generator, with or without half
    an output kept from an earlier draw, drawn in one block or in several (one per thread); the
    generator is left where numpy's, drawing them one by one, would be."""
    rng = np.random.default_rng(seed)
    rate = rng.random(n).astype(np.float32)
    hour = rng.integers(0, 24, n).astype(np.int8)
    weight = (2 * rng.random(24)).astype(np.float32)
    away = rng.random(n) < 0.2
    a, b = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    if half_kept:  # an odd number of single-precision draws before
        a.random(3, dtype=np.float32)
        b.random(3, dtype=np.float32)
    want = np.flatnonzero((b.random(n, dtype=np.float32) < rate * weight[hour]) & ~away)
    for online in (kernels.online, lambda *x: kernels.online_parallel(*x, parts)):
        c = np.random.default_rng(seed + 1)
        c.bit_generator.state = a.bit_generator.state
        stream = streams.take(c)
        assert np.array_equal(online(stream, rate, hour, weight, away), want)
        streams.put(c, stream)
        assert c.bit_generator.state == b.bit_generator.state  # (the half kept too)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 400), st.booleans())
def test_posters_draw_as_numpy_would(seed, n, half_kept) -> None:
    """Who writes a post: ``U < prob * propensity[user]``, one double per user in order, as the
    numpy expression it replaced drew them; a kept half stays kept."""
    rng = np.random.default_rng(seed)
    users = rng.permutation(2 * n)[:n].astype(np.int32)
    propensity = rng.lognormal(0.0, 1.0, 2 * n)
    a, b = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    if half_kept:
        a.random(3, dtype=np.float32)
        b.random(3, dtype=np.float32)
    want = users[b.random(n) < 0.3 * propensity[users]]
    got = streams.draw(a, kernels.posters, users, propensity, 0.3)
    assert np.array_equal(got, want) and got.dtype == users.dtype
    assert a.bit_generator.state == b.bit_generator.state
