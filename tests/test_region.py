"""Regions: elite selection, shrinking, panning, narrowing, mapping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import hyperzoom as hz
from hyperzoom.region import select_elite

SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    layers=hz.IntUniform(1, 6),
    batch=hz.PowerOfTwo(16, 512),
    act=hz.Choice(["relu", "tanh", "gelu"]),
    opt=hz.Choice(["sgd", "adam"], weights=[0.3, 0.7]),
)


def test_select_elite_is_a_stable_partial_sort() -> None:
    v = np.array([3.0, np.nan, 1.0, 2.0, 1.0, np.nan])
    np.testing.assert_array_equal(select_elite(v, 3), [2, 4, 3])
    np.testing.assert_array_equal(select_elite(v, 10), [2, 4, 3, 0])
    assert select_elite(np.full(4, np.nan), 2).size == 0
    assert select_elite(v, 0).size == 0


@given(
    arrays(
        np.float64, st.integers(0, 300), elements=st.floats(-1e6, 1e6) | st.just(np.nan)
    ),
    st.integers(0, 50),
)
def test_select_elite_matches_numpy(values, k) -> None:
    got = select_elite(values, k)
    finite = np.flatnonzero(~np.isnan(values))
    order = finite[np.lexsort((finite, values[finite]))][:k]
    np.testing.assert_array_equal(got, order)


def test_full_region_bounds_in_user_units() -> None:
    r = hz.Region.full(SPACE)
    b = r.bounds
    assert b["lr"] == (1e-4, 1.0)
    assert b["beta"] == (0.9, 0.999)
    assert b["layers"] == (1, 6)
    assert b["batch"] == (16, 512)
    assert b["act"] == ("relu", "tanh", "gelu")
    assert r.volume() == pytest.approx(1.0)
    assert "lr=[0.0001, 1]" in repr(r)


def shrink_around(unit: np.ndarray, region: hz.Region | None = None, **kw) -> hz.Region:
    region = region or hz.Region.full(SPACE)
    elite = np.arange(unit.shape[0])
    params = {"margin": 0.05, "min_width": 0.05} | kw
    return region.shrink(unit, elite, **params)


def test_shrink_contains_the_elite_and_narrows_choices(seed: int) -> None:
    c = SPACE.sample(200, rng=seed)
    elite = c[(c["act"] != "gelu") & (c["layers"] <= 3)][:10]
    r = shrink_around(elite.unit)
    assert r.contains(elite).all()
    assert set(r.bounds["act"]) == set(elite["act"].tolist())
    lo, hi = r.bounds["layers"]
    assert lo == elite["layers"].min()
    assert hi == elite["layers"].max()
    assert r.volume() < 1.0


def test_shrink_margin_and_min_width() -> None:
    unit = np.tile(np.array([0.4, 0.5, 0.5, 0.5, 0.1, 0.9]), (2, 1))
    unit[1, 0] = 0.6
    r = shrink_around(unit, margin=0.25, min_width=0.1)
    assert r.lo[0] == pytest.approx(0.35)
    assert r.hi[0] == pytest.approx(0.65)
    # a single value on beta: minimum width 0.1 centred on it
    assert r.lo[1] == pytest.approx(0.45)
    assert r.hi[1] == pytest.approx(0.55)


def test_shrink_pans_towards_an_edge_the_elite_presses_against() -> None:
    space = hz.Space(x=hz.Uniform(0, 1), y=hz.Uniform(0, 1))
    region = hz.Region(space, [0.4, 0.4], [0.6, 0.6])
    unit = np.array([[0.595, 0.45], [0.6, 0.55]])  # x presses on the upper edge
    r = region.shrink(unit, np.arange(2), margin=0.0, min_width=0.0)
    assert r.hi[0] == pytest.approx(0.7)  # grown by half the old width
    assert r.lo[1] == pytest.approx(0.45)  # y just shrinks
    assert r.hi[1] == pytest.approx(0.55)


def test_min_width_near_the_boundary_shifts_instead_of_shrinking() -> None:
    space = hz.Space(x=hz.Uniform(0, 1))
    r = hz.Region.full(space).shrink(
        np.array([[0.0]]), np.array([0]), margin=0.0, min_width=0.2
    )
    assert r.lo[0] == 0.0
    assert r.hi[0] == pytest.approx(0.2)


@given(
    st.integers(1, 30),
    st.integers(0, 2**32 - 1),
    st.floats(0.0, 1.0),
    st.floats(0.0, 0.5),
)
def test_shrunk_region_is_inside_the_space_and_holds_the_elite(
    m, seed, margin, min_width
) -> None:
    c = SPACE.sample(m, rng=seed)
    parent = hz.Region.full(SPACE)
    r = parent.shrink(c.unit, np.arange(m), margin=margin, min_width=min_width)
    assert np.all(r.lo >= 0.0)
    assert np.all(r.hi <= 1.0)
    assert np.all(r.lo <= r.hi)
    assert r.contains(c).all()
    assert r.allowed.any()
    # every choice keeps at least one option
    assert all(len(v) >= 1 for k, v in r.bounds.items() if k in ("act", "opt"))
    # points drawn in the region stay in it and in the space
    v = np.random.default_rng(seed).random((50, SPACE.d))
    u = r.to_unit(v)
    assert r.contains(u).all()
    back = SPACE.from_unit(u)
    assert set(back["act"].tolist()) <= set(r.bounds["act"])


def test_region_to_unit_keeps_a_latin_design_latin_on_box_axes() -> None:
    space = hz.Space(x=hz.Uniform(0, 1))
    r = hz.Region(space, [0.2], [0.6])
    n = 40
    v = ((np.random.default_rng(1).permutation(n) + 0.5) / n)[:, None]
    u = r.to_unit(v)
    strata = np.floor((u[:, 0] - 0.2) / 0.4 * n).astype(int)
    assert sorted(strata.tolist()) == list(range(n))


def test_categorical_mapping_keeps_weights() -> None:
    space = hz.Space(opt=hz.Choice(["a", "b", "c"], weights=[0.2, 0.3, 0.5]))
    r = hz.Region(space, [0.0], [1.0], [True, False, True])
    u = r.to_unit(np.random.default_rng(3).random((20_000, 1)))
    vals = space.from_unit(u)["opt"]
    assert set(vals.tolist()) == {"a", "c"}
    assert np.mean(vals == "a") == pytest.approx(0.2 / 0.7, abs=0.015)


def test_region_validation() -> None:
    with pytest.raises(ValueError, match="0 <= lo <= hi <= 1"):
        hz.Region(SPACE, np.full(6, 0.5), np.full(6, 0.4))
    with pytest.raises(ValueError, match="shape"):
        hz.Region.full(SPACE).contains(np.zeros((2, 3)))
