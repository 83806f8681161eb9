from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import pdist
from scipy.stats import qmc

import hyperzoom as hz

SEED = 0x8C3F_52A1_9D04_E7B6_1F2A_6C5D_3E8B_9071
SEED2 = 0x2D71_C0E9_5B38_A46F_7E12_9C4B_D0A3_85F6

prop = settings(
    deadline=None,
    max_examples=60,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def assert_latin(u: np.ndarray) -> None:
    n = u.shape[0]
    assert u.dtype == np.float64
    assert ((u >= 0.0) & (u < 1.0)).all()
    strata = np.floor(u * n).astype(np.int64)
    for j in range(u.shape[1]):
        np.testing.assert_array_equal(np.sort(strata[:, j]), np.arange(n))


def occupied(u: np.ndarray, n: int) -> list[set[int]]:
    s = np.floor(u * n).astype(np.int64)
    return [set(s[:, j].tolist()) for j in range(u.shape[1])]


# ---- Latin hypercube -------------------------------------------------------------------


@prop
@given(
    n=st.integers(0, 300),
    d=st.integers(1, 6),
    centered=st.booleans(),
    seed=st.integers(0, 2**128 - 1),
)
def test_every_column_has_one_point_per_stratum(n, d, centered, seed):
    u = hz.latin_hypercube(n, d, rng=seed, centered=centered)
    assert u.shape == (n, d)
    assert_latin(u)
    if centered:
        np.testing.assert_allclose(u, (np.floor(u * n) + 0.5) / n, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("n", "d"), [(0, 1), (0, 4), (1, 1), (1, 5), (2, 1), (32767, 2), (32768, 1)]
)
def test_edge_sizes_are_latin(n, d):
    assert_latin(hz.latin_hypercube(n, d, rng=SEED))


def test_large_n_is_latin_and_not_degenerate():
    # n large enough for the bucketed permutation (several buckets) and for threads.
    u = hz.latin_hypercube(300_000, 3, rng=SEED, workers=2)
    assert_latin(u)
    assert hz.max_abs_correlation(u) < 0.01


@prop
@given(
    n=st.integers(2, 60),
    d=st.integers(1, 4),
    optimize=st.sampled_from(["maximin", "cd"]),
    seed=st.integers(0, 2**64),
)
def test_optimised_designs_stay_latin(n, d, optimize, seed):
    u = hz.latin_hypercube(n, d, rng=seed, optimize=optimize, iterations=200)
    assert_latin(u)


@pytest.mark.parametrize("optimize", ["maximin", "cd"])
def test_optimised_keeps_each_columns_values(optimize):
    plain = hz.latin_hypercube(50, 3, rng=SEED)
    best = hz.latin_hypercube(50, 3, rng=SEED, optimize=optimize, iterations=500)
    np.testing.assert_array_equal(np.sort(plain, axis=0), np.sort(best, axis=0))


def test_cd_optimisation_lowers_discrepancy():
    plain = hz.latin_hypercube(200, 5, rng=SEED)
    best = hz.latin_hypercube(200, 5, rng=SEED, optimize="cd")
    assert hz.discrepancy(best) < 0.7 * hz.discrepancy(plain)


def test_maximin_optimisation_raises_min_distance():
    plain = hz.latin_hypercube(200, 5, rng=SEED)
    best = hz.latin_hypercube(200, 5, rng=SEED, optimize="maximin")
    assert hz.min_distance(best) > 1.3 * hz.min_distance(plain)


def test_more_iterations_never_worse():
    # The best design met is returned, and a longer run meets the shorter run's designs.
    a = hz.latin_hypercube(100, 4, rng=SEED, optimize="cd", iterations=300)
    b = hz.latin_hypercube(100, 4, rng=SEED, optimize="cd", iterations=3000)
    assert hz.discrepancy(b) <= hz.discrepancy(a) + 1e-15


def test_zero_iterations_is_the_plain_design():
    plain = hz.latin_hypercube(40, 3, rng=SEED)
    same = hz.latin_hypercube(40, 3, rng=SEED, optimize="cd", iterations=0)
    np.testing.assert_array_equal(plain, same)


def test_stall_stops_early_and_deterministically():
    a = hz.latin_hypercube(
        100, 4, rng=SEED, optimize="maximin", iterations=50_000, stall=50
    )
    b = hz.latin_hypercube(
        100, 4, rng=SEED, optimize="maximin", iterations=50_000, stall=50
    )
    full = hz.latin_hypercube(100, 4, rng=SEED, optimize="maximin", iterations=50_000)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, full)
    assert_latin(a)


@pytest.mark.parametrize("optimize", [None, "maximin", "cd"])
def test_same_seed_same_design_different_seed_different(optimize):
    a = hz.latin_hypercube(64, 3, rng=SEED, optimize=optimize)
    b = hz.latin_hypercube(64, 3, rng=SEED, optimize=optimize)
    c = hz.latin_hypercube(64, 3, rng=SEED2, optimize=optimize)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_seed_types():
    a = hz.latin_hypercube(10, 2, rng=np.random.SeedSequence(SEED))
    b = hz.latin_hypercube(10, 2, rng=np.random.default_rng(SEED))
    c = hz.latin_hypercube(10, 2, rng=SEED)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    g = np.random.default_rng(SEED)
    assert not np.array_equal(
        hz.latin_hypercube(10, 2, rng=g), hz.latin_hypercube(10, 2, rng=g)
    )
    assert_latin(hz.latin_hypercube(10, 2, rng=None))


# ---- determinism across workers ------------------------------------------------------


@pytest.mark.parametrize("centered", [False, True])
def test_lhs_identical_for_any_workers(centered):
    ref = hz.latin_hypercube(70_000, 5, rng=SEED, centered=centered, workers=1)
    for w in (2, 3, 8, -1, None):
        np.testing.assert_array_equal(
            hz.latin_hypercube(70_000, 5, rng=SEED, centered=centered, workers=w), ref
        )


@pytest.mark.parametrize("optimize", ["maximin", "cd"])
def test_optimised_identical_for_any_workers(optimize):
    ref = hz.latin_hypercube(
        300, 4, rng=SEED, optimize=optimize, iterations=2000, workers=1
    )
    for w in (2, 4):
        got = hz.latin_hypercube(
            300, 4, rng=SEED, optimize=optimize, iterations=2000, workers=w
        )
        np.testing.assert_array_equal(got, ref)


def test_random_extension_and_metrics_identical_for_any_workers():
    r1 = hz.random_design(50_000, 7, rng=SEED, workers=1)
    for w in (2, 5):
        np.testing.assert_array_equal(
            hz.random_design(50_000, 7, rng=SEED, workers=w), r1
        )
    base = hz.latin_hypercube(40_000, 3, rng=SEED)
    e1 = hz.extend_lhs(base, 40_000, rng=SEED2, workers=1)
    np.testing.assert_array_equal(hz.extend_lhs(base, 40_000, rng=SEED2, workers=3), e1)
    x = hz.random_design(700, 4, rng=SEED)
    for method in ("CD", "WD", "MD", "L2-star"):
        ref = hz.discrepancy(x, method, workers=1)
        assert hz.discrepancy(x, method, workers=2) == ref
        assert hz.discrepancy(x, method, workers=7) == ref
    assert hz.min_distance(x, workers=1) == hz.min_distance(x, workers=3)


def test_simd_paths_give_the_same_bits():
    from hyperzoom import _core

    x = hz.random_design(333, 5, rng=SEED)
    top = _core.random.detected_simd_level()
    if top == 0:
        pytest.skip("this CPU has no SIMD path to compare with the scalar one")
    results = []
    try:
        for level in range(top + 1):
            _core.random._set_simd_level(level)
            results.append(
                (
                    [hz.discrepancy(x, m) for m in ("CD", "WD", "MD", "L2-star")],
                    hz.min_distance(x),
                    hz.latin_hypercube(5000, 3, rng=SEED).tobytes(),
                    hz.latin_hypercube(70_000, 2, rng=SEED).tobytes(),
                    hz.latin_hypercube(97, 5, rng=SEED, optimize="cd").tobytes(),
                    hz.latin_hypercube(97, 5, rng=SEED, optimize="maximin").tobytes(),
                    hz.extend_lhs(x[:50], 61, rng=SEED).tobytes(),
                )
            )
    finally:
        _core.random._set_simd_level(top)
    assert all(r == results[0] for r in results)


# ---- random design -------------------------------------------------------------------


@pytest.mark.parametrize(("n", "d"), [(0, 3), (1, 1), (1000, 4)])
def test_random_design_shape_and_range(n, d):
    u = hz.random_design(n, d, rng=SEED)
    assert u.shape == (n, d)
    assert u.dtype == np.float64
    assert ((u >= 0) & (u < 1)).all()


def test_random_design_is_uniform():
    u = hz.random_design(200_000, 2, rng=SEED)
    np.testing.assert_allclose(u.mean(axis=0), 0.5, atol=0.005)
    assert hz.max_abs_correlation(u) < 0.01


# ---- extension -----------------------------------------------------------------------


@prop
@given(
    n=st.integers(1, 80),
    d=st.integers(1, 4),
    k=st.integers(2, 4),
    centered=st.booleans(),
    seed=st.integers(0, 2**64),
)
def test_extending_n_to_k_n_is_exactly_latin(n, d, k, centered, seed):
    base = hz.latin_hypercube(n, d, rng=seed)
    new = hz.extend_lhs(base, (k - 1) * n, rng=seed + 1, centered=centered)
    assert new.shape == ((k - 1) * n, d)
    assert_latin(np.vstack((base, new)))


@prop
@given(
    n0=st.integers(0, 60),
    m=st.integers(0, 60),
    d=st.integers(1, 4),
    seed=st.integers(0, 2**64),
)
def test_extension_fills_free_strata_only(n0, m, d, seed):
    # From any design (here random): the new points go to distinct strata that no
    # existing point occupies, so the union occupies as many strata as it can.
    base = hz.random_design(n0, d, rng=seed)
    new = hz.extend_lhs(base, m, rng=seed + 1)
    N = n0 + m
    assert new.shape == (m, d)
    assert ((new >= 0) & (new < 1)).all()
    old_occ = occupied(base, N) if n0 else [set() for _ in range(d)]
    new_s = np.floor(new * N).astype(np.int64)
    for j in range(d):
        col = new_s[:, j].tolist()
        assert len(set(col)) == m
        assert not set(col) & old_occ[j]
        assert len(old_occ[j] | set(col)) == len(old_occ[j]) + m


def test_extension_exactly_latin_when_existing_points_are_in_distinct_strata():
    # 3 points in distinct strata of 7 (not a Latin design of 3): adding 4 is exact.
    base = np.array([[0.01, 0.5], [0.3, 0.99], [0.6, 0.2]])
    new = hz.extend_lhs(base, 4, rng=SEED)
    assert_latin(np.vstack((base, new)))


def test_extension_of_nothing_is_latin_and_of_nothing_new_is_empty():
    assert_latin(hz.extend_lhs(np.empty((0, 3)), 20, rng=SEED))
    assert hz.extend_lhs(hz.latin_hypercube(5, 3, rng=SEED), 0, rng=SEED).shape == (
        0,
        3,
    )


def test_extension_is_deterministic():
    base = hz.latin_hypercube(30, 3, rng=SEED)
    a = hz.extend_lhs(base, 30, rng=SEED2)
    np.testing.assert_array_equal(a, hz.extend_lhs(base, 30, rng=SEED2))
    assert not np.array_equal(a, hz.extend_lhs(base, 30, rng=SEED))


def test_repeated_doubling_stays_latin():
    u = hz.latin_hypercube(3, 2, rng=SEED)
    for i in range(6):
        u = np.vstack((u, hz.extend_lhs(u, len(u), rng=SEED + i)))
        assert_latin(u)
    assert len(u) == 192


# ---- metrics -------------------------------------------------------------------------

unit_samples = arrays(
    np.float64,
    st.tuples(st.integers(1, 40), st.integers(1, 6)),
    elements=st.floats(0.0, 1.0, allow_nan=False),
)


@prop
@given(x=unit_samples, method=st.sampled_from(["CD", "WD", "MD", "L2-star"]))
def test_discrepancy_equals_scipy(x, method):
    assert hz.discrepancy(x, method) == pytest.approx(
        qmc.discrepancy(x, method=method), rel=1e-10, abs=1e-10
    )


@pytest.mark.parametrize("method", ["CD", "WD", "MD", "L2-star"])
def test_discrepancy_equals_scipy_on_a_large_sample(method):
    x = hz.random_design(1500, 10, rng=SEED)
    assert abs(hz.discrepancy(x, method) - qmc.discrepancy(x, method=method)) < 1e-10


@prop
@given(x=unit_samples.filter(lambda a: a.shape[0] >= 2))
def test_min_distance_equals_pdist(x):
    assert hz.min_distance(x) == pytest.approx(pdist(x).min(), rel=1e-12, abs=1e-15)


@prop
@given(
    x=arrays(
        np.float64,
        st.tuples(st.integers(3, 40), st.integers(2, 5)),
        elements=st.floats(0.0, 1.0, allow_nan=False),
    )
)
def test_max_abs_correlation_equals_corrcoef(x):
    x = x + np.linspace(0, 1e-3, x.shape[0])[:, None] * np.arange(1, x.shape[1] + 1)
    x = np.clip(x, 0, 1)
    std = x.std(axis=0)
    if (std < 1e-6).any():
        return
    r = np.abs(np.corrcoef(x, rowvar=False))
    np.fill_diagonal(r, 0)
    assert hz.max_abs_correlation(x) == pytest.approx(r.max(), abs=1e-9)


def test_max_abs_correlation_edges():
    assert hz.max_abs_correlation([[0.1, 0.2, 0.3]]) == 0.0
    assert hz.max_abs_correlation([[0.1], [0.4]]) == 0.0
    assert hz.max_abs_correlation([[0.1, 0.5], [0.4, 0.5], [0.9, 0.5]]) == 0.0
    assert hz.max_abs_correlation(
        [[0.1, 0.9], [0.5, 0.5], [0.9, 0.1]]
    ) == pytest.approx(1.0)


def test_metrics_accept_the_closed_cube():
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert hz.discrepancy(x) == pytest.approx(qmc.discrepancy(x))
    assert hz.min_distance(x) == pytest.approx(np.sqrt(2))


# ---- mixed spaces --------------------------------------------------------------------


def mixed_space(k_choice: int = 3) -> hz.Space:
    return hz.Space(
        lr=hz.LogUniform(1e-4, 1.0),
        beta=hz.InvLogUniform(0.9, 0.999),
        dropout=hz.Uniform(0.0, 0.5),
        layers=hz.IntUniform(1, 6),
        units=hz.IntLogUniform(16, 1024),
        batch=hz.PowerOfTwo(16, 512),
        act=hz.Choice([f"a{i}" for i in range(k_choice)]),
        opt=hz.Choice(["sgd", "adam", "rms"], weights=[0.2, 0.5, 0.3]),
    )


def balanced(values: np.ndarray, k: int) -> bool:
    n = len(values)
    _, counts = np.unique(values, return_counts=True)
    counts = np.concatenate([counts, np.zeros(k - len(counts), dtype=np.int64)])
    return bool(((counts == n // k) | (counts == -(-n // k))).all())


@settings(deadline=None, max_examples=40, derandomize=True)
@given(
    n=st.integers(1, 200),
    k=st.integers(1, 9),
    design=st.sampled_from(["lhs", "lhs-centered", "lhs-maximin", "lhs-cd"]),
    seed=st.integers(0, 2**64),
)
def test_mixed_space_balances_ints_and_choices(n, k, design, seed):
    space = mixed_space(k)
    c = space.sample(n, design=design, rng=seed)
    assert len(c) == n
    assert balanced(c["layers"], 6)
    assert balanced(c["batch"], 6)
    assert balanced(c["act"], k)
    # Weighted cells: each option n * w times, to within one.
    for opt, w in zip(["sgd", "adam", "rms"], [0.2, 0.5, 0.3]):
        assert abs(int((c["opt"] == opt).sum()) - n * w) < 1 + 1e-9
    # IntLogUniform: each value n * P(k) times, to within one.
    vals = np.arange(16, 1025)
    share = np.log((vals + 1) / vals) / np.log(1025 / 16)
    counts = np.bincount(c["units"] - 16, minlength=len(vals))
    assert (np.abs(counts - n * share) < 1 + 1e-9).all()
    # Continuous parameters are Latin on their scaled axes.
    unit = space.to_unit(c.columns)
    for j in range(3):
        np.testing.assert_array_equal(
            np.sort(np.floor(unit[:, j] * n + 1e-9 * (unit[:, j] * n % 1 > 0.5))),
            np.arange(n),
        )


def test_mixed_space_unit_maps_to_its_values():
    space = mixed_space()
    c = space.sample(97, design="lhs", rng=SEED)
    again = space.from_unit(c.unit)
    for name in space.names:
        np.testing.assert_array_equal(again[name], c[name])
    assert_latin(c.unit[:, :3])


def test_lhs_on_log_scale_is_latin_in_log_space():
    space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    c = space.sample(1000, design="lhs", rng=SEED)
    decade = np.floor(np.log10(c["lr"]) + 4).astype(int)
    np.testing.assert_array_equal(
        np.bincount(decade, minlength=4), [250, 250, 250, 250]
    )


def test_space_sample_designs_are_deterministic_across_workers():
    space = mixed_space()
    a = space.sample(4000, design="lhs-cd", rng=SEED, workers=1)
    b = space.sample(4000, design="lhs-cd", rng=SEED, workers=2)
    np.testing.assert_array_equal(a.unit, b.unit)


def test_space_sample_random_is_unchanged_by_designs():
    space = mixed_space()
    a = space.sample(50, rng=SEED)
    b = space.sample(50, rng=SEED, design="random")
    np.testing.assert_array_equal(a.unit, b.unit)


def test_space_sample_grid_and_empty_space():
    space = hz.Space(lr=hz.LogUniform(1e-3, 1.0), act=hz.Choice(["relu", "tanh"]))
    c = space.sample(8, design="grid")
    assert len(c) == 8
    with pytest.raises(ValueError, match=r"n=7; the nearest sizes are 6 and 8"):
        space.sample(7, design="grid")
    assert len(hz.Space().sample(5, design="lhs", rng=SEED)) == 5


# ---- grid ----------------------------------------------------------------------------


def test_unit_grid_order_and_levels():
    g = hz.grid(2, 3)
    assert g.shape == (9, 2)
    np.testing.assert_array_equal(g[:3], [[0, 0], [0, 0.5], [0, 1]])
    np.testing.assert_array_equal(np.unique(g[:, 0]), [0, 0.5, 1])
    np.testing.assert_array_equal(hz.grid(3, 1), [[0.5, 0.5, 0.5]])
    assert hz.grid(2, [2, 4]).shape == (8, 2)


def test_grid_spacing_on_each_scale():
    space = hz.Space(
        lin=hz.Uniform(0.0, 2.0),
        lr=hz.LogUniform(1e-4, 1.0),
        beta=hz.InvLogUniform(0.9, 0.999),
    )
    g = hz.grid(space, 5)
    assert len(g) == 125
    lin, lr, beta = (np.unique(g[k]) for k in ("lin", "lr", "beta"))
    np.testing.assert_allclose(lin, [0, 0.5, 1, 1.5, 2])
    np.testing.assert_allclose(lr, [1e-4, 1e-3, 1e-2, 1e-1, 1], rtol=1e-12)
    np.testing.assert_allclose(np.diff(np.log(1 - beta)), np.log(10**-0.5), rtol=1e-9)
    np.testing.assert_allclose(beta[[0, 2, 4]], [0.9, 0.99, 0.999], rtol=1e-12)


def test_grid_enumerates_ints_and_choices():
    space = hz.Space(
        layers=hz.IntUniform(1, 4),
        batch=hz.PowerOfTwo(16, 64),
        act=hz.Choice(["relu", "tanh", "gelu"]),
        units=hz.IntLogUniform(1, 1000),
    )
    g = hz.grid(space, 4)
    np.testing.assert_array_equal(np.unique(g["layers"]), [1, 2, 3, 4])
    np.testing.assert_array_equal(np.unique(g["batch"]), [16, 32, 64])
    assert sorted(np.unique(g["act"])) == ["gelu", "relu", "tanh"]
    units = np.unique(g["units"])
    assert units[0] == 1
    assert units[-1] == 1000
    assert len(units) == 4
    assert len(g) == 4 * 3 * 3 * 4
    g2 = hz.grid(space, {"layers": 2, "batch": 3, "units": 2})
    np.testing.assert_array_equal(np.unique(g2["layers"]), [1, 4])
    assert len(g2) == 2 * 3 * 3 * 2


# ---- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: hz.latin_hypercube(-1, 2),
            ValueError,
            r"`n` must be >= 0, but got -1",
        ),
        (lambda: hz.latin_hypercube(3, 0), ValueError, r"`d` must be >= 1, but got 0"),
        (lambda: hz.latin_hypercube(3.0, 2), TypeError, r"`n` must be an integer"),
        (lambda: hz.random_design(-2, 2), ValueError, r"`n` must be >= 0"),
        (lambda: hz.random_design(2, 0), ValueError, r"`d` must be >= 1"),
        (
            lambda: hz.latin_hypercube(3, 2, optimize="esE"),
            ValueError,
            r"'esE' is not a valid `optimize`. It must be one of \[None, 'maximin', 'cd'\]",
        ),
        (
            lambda: hz.latin_hypercube(3, 2, iterations=10),
            ValueError,
            r"`iterations` applies only to optimised designs",
        ),
        (
            lambda: hz.latin_hypercube(3, 2, optimize="cd", iterations=-1),
            ValueError,
            r"`iterations` must be >= 0",
        ),
        (
            lambda: hz.latin_hypercube(3, 2, optimize="cd", stall=0),
            ValueError,
            r"`stall` must be >= 1",
        ),
        (
            lambda: hz.latin_hypercube(3, 2, centered=1),
            TypeError,
            r"`centered` must be True",
        ),
        (
            lambda: hz.extend_lhs(np.array([0.1, 0.2]), 2),
            ValueError,
            r"`design` must be two-dimensional \(n, d\), but got shape \(2,\)",
        ),
        (
            lambda: hz.extend_lhs(np.empty((3, 0)), 2),
            ValueError,
            r"`design` must have at least one column, but got shape \(3, 0\)",
        ),
        (
            lambda: hz.extend_lhs([[0.1, 1.0]], 2),
            ValueError,
            r"`design` must lie in \[0, 1\), but got 1.0 at row 0, column 1",
        ),
        (
            lambda: hz.extend_lhs([[0.1, 0.2], [-0.1, 0.3]], 2),
            ValueError,
            r"but got -0.1 at row 1, column 0",
        ),
        (lambda: hz.extend_lhs([[np.nan]], 2), ValueError, r"but got nan"),
        (
            lambda: hz.extend_lhs([[0.5]], -1),
            ValueError,
            r"`m` must be >= 0, but got -1",
        ),
        (lambda: hz.grid(2, 0), ValueError, r"`points` must be >= 1, but got 0"),
        (
            lambda: hz.grid(2, [3, 0]),
            ValueError,
            r"`points\[1\]` must be >= 1, but got 0",
        ),
        (lambda: hz.grid(2, [3]), ValueError, r"one entry per column \(2\), but got 1"),
        (lambda: hz.grid(0, 3), ValueError, r"`d` must be >= 1"),
        (lambda: hz.grid(2, 2.5), TypeError, r"`points` must be an integer"),
        (
            lambda: hz.grid(hz.Space(lr=hz.LogUniform(1e-4, 1)), 0),
            ValueError,
            r"`points` must be >= 1, but got 0",
        ),
        (
            lambda: hz.grid(8, 10),
            ValueError,
            (
                r"the grid would have 100,000,000 points \(10 x 10 x 10 x 10 x 10 x 10 x 10 "
                r"x 10\), more than `max_size` = 10,000,000"
            ),
        ),
        (lambda: hz.grid("space", 3), TypeError, r"`space_or_d` must be a Space"),
        (
            lambda: hz.discrepancy([[0.5]], method="XD"),
            ValueError,
            r"'XD' is not a valid method. It must be one of \['CD', 'WD', 'MD', 'L2-star'\]",
        ),
        (lambda: hz.discrepancy(np.empty((0, 2))), ValueError, r"at least one point"),
        (lambda: hz.discrepancy([[1.5]]), ValueError, r"`sample` must lie in \[0, 1\]"),
        (lambda: hz.min_distance([[0.5, 0.5]]), ValueError, r"at least two points"),
        (
            lambda: hz.Space(x=hz.Uniform(0, 1)).sample(3, design="sobol"),
            ValueError,
            r"'sobol' is not a valid design. It must be one of \['random', 'lhs'",
        ),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_grid_size_limit_can_be_raised():
    assert hz.grid(3, 10, max_size=1000).shape == (1000, 3)
    with pytest.raises(ValueError, match=r"1,000 points .* more than `max_size` = 999"):
        hz.grid(3, 10, max_size=999)


def test_core_checks_are_a_second_line():
    # The compiled core refuses bad values itself, with std::invalid_argument -> ValueError.
    from hyperzoom import _core

    words = np.array([1, 2, 3], dtype=np.uint32)
    with pytest.raises(ValueError, match=r"`n` must be >= 0"):
        _core.designs.latin_hypercube(words, -1, 2)
    with pytest.raises(ValueError, match=r"`d` must be >= 1"):
        _core.designs.random_design(words, 3, 0)
    with pytest.raises(ValueError, match=r"`design` must lie in \[0, 1\)"):
        _core.designs.extend_lhs(words, np.array([[0.5, 1.0]]), 2)
    with pytest.raises(ValueError, match=r"`criterion` must be 1 \(maximin\) or 2"):
        _core.designs.optimize(words, np.full((3, 2), 0.5), 7, 10)
    with pytest.raises(ValueError, match=r"at least two rows"):
        _core.designs.min_distance(np.full((1, 2), 0.5))
