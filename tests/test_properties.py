"""Hypothesis invariants of the scales and Space."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import hyperzoom as hz

units = arrays(np.float64, st.integers(0, 200), elements=st.floats(0.0, 1.0))
positive = st.floats(1e-300, 1e300, allow_nan=False, allow_infinity=False)


@st.composite
def log_bounds(draw):
    a = draw(positive)
    b = draw(positive)
    if a == b:
        b = a * 2 if a < 1e299 else a / 2
    return min(a, b), max(a, b)


@st.composite
def inv_log_bounds(draw):
    a = draw(st.floats(-1e6, 0.999999, allow_nan=False))
    b = draw(st.floats(-1e6, 0.999999, allow_nan=False))
    if a == b:
        a = b - 1.0
    return min(a, b), max(a, b)


def check_bounds_and_round_trip(make, bounds, width, u, atol) -> None:
    """The log-scale invariants: values in bounds, round trips, monotone in u.

    ``width`` is the bounds' width on the log axis: zero is refused by ``make``, and
    below 1e-9 only a handful of values are representable, so bounds hold but round
    trips cannot.
    """
    if width == 0.0:
        with pytest.raises(ValueError, match="too close to tell apart"):
            make(*bounds)
        return
    d = make(*bounds)
    x = d.from_unit(u)
    assert np.all((x >= d.low) & (x <= d.high))
    if width < 1e-9:
        return
    np.testing.assert_allclose(d.to_unit(x), u, atol=atol)
    assert np.all(np.diff(d.from_unit(np.sort(u))) >= 0)


@given(log_bounds(), units)
def test_log_samples_stay_in_bounds_and_round_trip(bounds, u) -> None:
    width = math.log(bounds[1]) - math.log(bounds[0])
    check_bounds_and_round_trip(hz.LogUniform, bounds, width, u, atol=1e-9)


@given(inv_log_bounds(), units)
def test_inv_log_samples_stay_in_bounds_and_round_trip(bounds, u) -> None:
    width = math.log(1 - bounds[0]) - math.log(1 - bounds[1])
    check_bounds_and_round_trip(hz.InvLogUniform, bounds, width, u, atol=1e-6)


@given(st.integers(-(2**40), 2**40), st.integers(0, 2**20), units)
def test_int_uniform_round_trip_and_bounds(low, width, u) -> None:
    d = hz.IntUniform(low, low + width)
    x = d.from_unit(u)
    assert np.all((x >= d.low) & (x <= d.high))
    np.testing.assert_array_equal(d.from_unit(d.to_unit(x)), x)


@given(st.integers(1, 2**30), st.integers(0, 2**20), units)
def test_int_log_uniform_round_trip_and_bounds(low, width, u) -> None:
    d = hz.IntLogUniform(low, low + width)
    x = d.from_unit(u)
    assert np.all((x >= d.low) & (x <= d.high))
    np.testing.assert_array_equal(d.from_unit(d.to_unit(x)), x)
    assert np.all(np.diff(d.from_unit(np.sort(u))) >= 0)


@given(st.integers(0, 52), st.integers(0, 52), units)
def test_power_of_two_round_trip(e1, e2, u) -> None:
    lo, hi = sorted((e1, e2))
    d = hz.PowerOfTwo(2**lo, 2**hi)
    x = d.from_unit(u)
    assert np.all((x & (x - 1)) == 0)
    assert np.all((x >= d.low) & (x <= d.high))
    np.testing.assert_array_equal(d.from_unit(d.to_unit(x)), x)


@given(
    st.lists(st.floats(0.01, 100.0), min_size=1, max_size=8),
    units,
)
def test_weighted_choice_round_trip(weights, u) -> None:
    options = [f"o{i}" for i in range(len(weights))]
    d = hz.Choice(options, weights=weights)
    x = d.from_unit(u)
    np.testing.assert_array_equal(d.from_unit(d.to_unit(x)), x)


@given(st.integers(0, 3000), st.integers(1, 4), st.integers(0, 2**64 - 1))
def test_sample_does_not_depend_on_workers(n, workers, seed) -> None:
    space = hz.Space(
        a=hz.LogUniform(1e-3, 1e3),
        b=hz.InvLogUniform(0.5, 0.9999),
        c=hz.IntLogUniform(1, 99),
    )
    one = space.sample(n, rng=seed, workers=1)
    many = space.sample(n, rng=seed, workers=workers)
    np.testing.assert_array_equal(one.unit, many.unit)
    np.testing.assert_array_equal(one["c"], many["c"])
