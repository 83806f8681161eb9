"""Distributions, Space and Configs: scales, maps, reproducibility, bad input."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from scipy import stats

import hyperzoom as hz

from .reference import from_unit as ref_from_unit

N = 50_000

DESIGN_SPACE = {
    "learning_rate": hz.LogUniform(1e-4, 1.0),
    "momentum": hz.InvLogUniform(0.9, 0.999),
    "hidden_units": hz.IntLogUniform(16, 1024),
    "layers": hz.IntUniform(1, 6),
    "batch_size": hz.PowerOfTwo(16, 512),
    "lr_decay": hz.LogUniform(1e-4, 1e-1),
    "activation": hz.Choice(["relu", "tanh"]),
}


# -- distributions on their scales -------------------------------------------------------
def test_uniform_matches_scipy_uniform(seed: int) -> None:
    x = hz.Uniform(-2.0, 3.0).sample(N, rng=seed)
    assert x.min() >= -2.0
    assert x.max() <= 3.0
    assert stats.kstest(x, stats.uniform(-2.0, 5.0).cdf).pvalue > 1e-3


def test_log_uniform_matches_scipy_loguniform(seed: int) -> None:
    x = hz.LogUniform(1e-4, 1.0).sample(N, rng=seed)
    assert x.min() >= 1e-4
    assert x.max() <= 1.0
    assert stats.kstest(x, stats.loguniform(1e-4, 1.0).cdf).pvalue > 1e-3
    # alpha = 10^r with r ~ U(-4, 0)
    assert stats.kstest(np.log10(x), stats.uniform(-4, 4).cdf).pvalue > 1e-3


def test_inv_log_uniform_is_log_uniform_in_one_minus_x(seed: int) -> None:
    beta = hz.InvLogUniform(0.9, 0.999).sample(N, rng=seed)
    assert beta.min() >= 0.9
    assert beta.max() <= 0.999
    assert stats.kstest(1.0 - beta, stats.loguniform(1e-3, 1e-1).cdf).pvalue > 1e-3
    # as many draws in [0.99, 0.999] as in [0.9, 0.99]
    share = np.mean(beta > 0.99)
    assert abs(share - 0.5) < 0.01


def test_inv_log_uniform_allows_negative_low(seed: int) -> None:
    x = hz.InvLogUniform(-1.0, 0.5).sample(N, rng=seed)
    assert x.min() >= -1.0
    assert x.max() <= 0.5
    assert stats.kstest(1.0 - x, stats.loguniform(0.5, 2.0).cdf).pvalue > 1e-3


def test_int_uniform_is_uniform_over_integers(seed: int) -> None:
    x = hz.IntUniform(-2, 7).sample(N, rng=seed)
    assert x.dtype == np.int64
    counts = np.bincount(x + 2, minlength=10)
    assert counts.shape == (10,)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_int_log_uniform_follows_the_documented_rule(seed: int) -> None:
    low, high = 3, 40
    x = hz.IntLogUniform(low, high).sample(200_000, rng=seed)
    assert x.dtype == np.int64
    assert x.min() == low
    assert x.max() == high
    k = np.arange(low, high + 1)
    p = np.log((k + 1) / k) / math.log((high + 1) / low)
    counts = np.bincount(x - low, minlength=len(k))
    assert math.isclose(p.sum(), 1.0)
    assert stats.chisquare(counts, p * len(x)).pvalue > 1e-3


def test_power_of_two_is_uniform_over_exponents(seed: int) -> None:
    x = hz.PowerOfTwo(16, 512).sample(N, rng=seed)
    assert set(np.unique(x).tolist()) == {16, 32, 64, 128, 256, 512}
    counts = np.bincount(np.log2(x).astype(int) - 4, minlength=6)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_choice_is_uniform_and_keeps_option_types(seed: int) -> None:
    x = hz.Choice(["relu", "tanh", "gelu"]).sample(N, rng=seed)
    assert x.dtype.kind == "U"
    _, counts = np.unique(x, return_counts=True)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_weighted_choice_follows_weights(seed: int) -> None:
    x = hz.Choice([1, 2, 3], weights=[1, 2, 7]).sample(N, rng=seed)
    assert x.dtype == np.int64
    counts = np.array([(x == v).sum() for v in (1, 2, 3)])
    assert stats.chisquare(counts, np.array([0.1, 0.2, 0.7]) * N).pvalue > 1e-3


def test_choice_of_objects_returns_the_objects(seed: int) -> None:
    layers = [(64,), (64, 64), None]
    x = hz.Choice(layers).sample(300, rng=seed)
    assert x.dtype == object
    assert {type(v) for v in x} <= {tuple, type(None)}
    assert sum(v is None for v in x) > 50


# -- maps --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dist", "kind"),
    [
        (hz.Uniform(-2.0, 3.0), "linear"),
        (hz.LogUniform(1e-4, 1.0), "log"),
        (hz.InvLogUniform(0.9, 0.999), "inv_log"),
        (hz.IntUniform(-3, 9), "int"),
        (hz.IntLogUniform(16, 1024), "int_log"),
        (hz.PowerOfTwo(16, 512), "power_of_two"),
    ],
)
def test_from_unit_matches_numpy_reference(dist, kind, seed: int) -> None:
    u = np.random.default_rng(seed).random(10_000)
    got = dist.from_unit(u)
    want = ref_from_unit(kind, dist.low, dist.high, u)
    if dist.is_integer:
        # floor() can differ only where the reference exp lands within an ulp of an integer
        assert np.mean(got != want) < 1e-3
    else:
        np.testing.assert_allclose(got, want, rtol=1e-13)


@pytest.mark.parametrize("dist", [*DESIGN_SPACE.values(), hz.Uniform(-1, 1)], ids=repr)
def test_bounds_map_exactly(dist) -> None:
    ends = dist.from_unit([0.0, 1.0])
    assert ends[0] == (dist.options[0] if isinstance(dist, hz.Choice) else dist.low)
    assert ends[-1] == (dist.options[-1] if isinstance(dist, hz.Choice) else dist.high)
    if not dist.is_integer:
        np.testing.assert_array_equal(dist.to_unit([dist.low, dist.high]), [0.0, 1.0])


def test_continuous_round_trip(seed: int) -> None:
    u = np.random.default_rng(seed).random(20_000)
    for dist in (
        hz.Uniform(-2.0, 3.0),
        hz.LogUniform(1e-4, 1.0),
        hz.InvLogUniform(0.9, 0.999),
    ):
        np.testing.assert_allclose(
            dist.to_unit(dist.from_unit(u)), u, rtol=0, atol=1e-12
        )


def test_integer_round_trip_is_exact() -> None:
    for dist in (
        hz.IntUniform(-3, 9),
        hz.IntLogUniform(1, 3000),
        hz.PowerOfTwo(1, 2**40),
    ):
        if isinstance(dist, hz.PowerOfTwo):
            values = 2 ** np.arange(0, 41)
        else:
            values = np.arange(dist.low, dist.high + 1)
        np.testing.assert_array_equal(dist.from_unit(dist.to_unit(values)), values)
    c = hz.Choice(["a", "b", "c"], weights=[0.2, 0.5, 0.3])
    np.testing.assert_array_equal(
        c.from_unit(c.to_unit(["c", "a", "b"])), ["c", "a", "b"]
    )


def test_maps_are_monotone() -> None:
    u = np.linspace(0.0, 1.0, 200_001)
    for dist in DESIGN_SPACE.values():
        if isinstance(dist, hz.Choice):
            continue
        v = dist.from_unit(u)
        assert np.all(np.diff(v) >= 0), dist


def test_unit_midpoint_is_the_geometric_midpoint() -> None:
    assert hz.LogUniform(1e-4, 1.0).from_unit([0.5])[0] == pytest.approx(
        1e-2, rel=1e-14
    )
    assert hz.InvLogUniform(0.9, 0.999).from_unit([0.5])[0] == pytest.approx(
        0.99, rel=1e-14
    )


# -- Space and Configs ------------------------------------------------------------------
def test_space_basics() -> None:
    space = hz.Space(DESIGN_SPACE)
    assert space.names == tuple(DESIGN_SPACE)
    assert space.d == len(space) == 7
    assert "momentum" in space
    assert space["layers"] == hz.IntUniform(1, 6)
    assert hz.Space(**DESIGN_SPACE) == space
    assert "InvLogUniform(0.9, 0.999)" in repr(space)
    assert pickle.loads(pickle.dumps(space)) == space


def test_sample_returns_columns_and_unit(seed: int) -> None:
    space = hz.Space(DESIGN_SPACE)
    c = space.sample(1000, rng=seed)
    assert len(c) == 1000
    assert c.unit.shape == (1000, 7)
    assert c["learning_rate"].dtype == np.float64
    assert c["hidden_units"].dtype == np.int64
    assert c["activation"].dtype.kind == "U"
    row = c[3]
    assert set(row) == set(DESIGN_SPACE)
    assert type(row["layers"]) is int
    assert type(row["learning_rate"]) is float
    assert type(row["activation"]) is str
    rows = list(c)
    assert rows[3] == row
    assert len(rows) == 1000
    np.testing.assert_array_equal(space.to_unit(c), c.unit)
    # the unit coordinates reproduce the values
    again = space.from_unit(c.unit)
    for name in space.names:
        np.testing.assert_array_equal(again[name], c[name])


def test_configs_selection(seed: int) -> None:
    space = hz.Space(DESIGN_SPACE)
    c = space.sample(10, rng=seed)
    head = c[:4]
    assert len(head) == 4
    np.testing.assert_array_equal(head.unit, c.unit[:4])
    picked = c[np.array([9, 0])]
    assert picked[0] == c[9]
    mask = c["layers"] > 3
    assert len(c[mask]) == int(mask.sum())
    assert c[-1] == c[9]
    with pytest.raises(IndexError, match="out of range"):
        c[10]
    with pytest.raises(KeyError, match="unknown parameter"):
        c["nope"]
    with pytest.raises(TypeError, match="int or bool arrays"):
        c[np.array([0.5])]


def test_same_seed_same_configs_whatever_the_workers(seed: int) -> None:
    space = hz.Space(DESIGN_SPACE)
    base = space.sample(100_003, rng=seed, workers=1)
    for workers in (2, 3, -1, None):
        other = space.sample(100_003, rng=seed, workers=workers)
        np.testing.assert_array_equal(other.unit, base.unit)
        for name in space.names:
            np.testing.assert_array_equal(other[name], base[name])


def test_a_sample_is_a_prefix_of_a_larger_one(seed: int) -> None:
    space = hz.Space(DESIGN_SPACE)
    small = space.sample(1000, rng=seed)
    large = space.sample(5000, rng=seed)
    np.testing.assert_array_equal(small.unit, large.unit[:1000])


def test_different_seeds_differ(seed: int, seed2: int) -> None:
    space = hz.Space(DESIGN_SPACE)
    assert not np.array_equal(
        space.sample(50, rng=seed).unit, space.sample(50, rng=seed2).unit
    )


def test_empty_and_zero_width_samples(seed: int) -> None:
    space = hz.Space(DESIGN_SPACE)
    c = space.sample(0, rng=seed)
    assert len(c) == 0
    assert c.unit.shape == (0, 7)
    assert c["activation"].shape == (0,)
    empty = hz.Space()
    e = empty.sample(5, rng=seed)
    assert e.unit.shape == (5, 0)
    assert len(e) == 5


def test_from_unit_and_to_unit_on_a_mixed_space() -> None:
    space = hz.Space(
        lr=hz.LogUniform(1e-4, 1.0),
        beta=hz.InvLogUniform(0.9, 0.999),
        act=hz.Choice(["relu", "tanh"]),
    )
    c = space.from_unit([[0.5, 0.5, 0.9]])
    assert c[0] == {
        "lr": pytest.approx(1e-2),
        "beta": pytest.approx(0.99),
        "act": "tanh",
    }
    u = space.to_unit({"lr": [1e-2], "beta": [0.99], "act": ["tanh"]})
    np.testing.assert_allclose(u, [[0.5, 0.5, 0.75]], atol=1e-14)


# -- scikit-learn drop-in ----------------------------------------------------------------
def test_rvs_like_scipy(seed: int) -> None:
    d = hz.LogUniform(1e-5, 1.0)
    one = d.rvs(random_state=seed)
    assert np.isscalar(one)
    assert 1e-5 <= one <= 1.0
    assert d.rvs(size=(2, 3), random_state=seed).shape == (2, 3)
    assert d.rvs(size=5, random_state=np.random.RandomState(1)).shape == (5,)
    np.testing.assert_array_equal(
        d.rvs(size=4, random_state=seed), d.rvs(size=4, random_state=seed)
    )
    assert hz.Choice(["a", "b"]).rvs(random_state=seed) in {"a", "b"}


def test_randomized_search_cv_drop_in(seed: int) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import RandomizedSearchCV

    X, y = load_diabetes(return_X_y=True)
    search = RandomizedSearchCV(
        Ridge(),
        {"alpha": hz.LogUniform(1e-5, 1.0), "fit_intercept": hz.Choice([True, False])},
        n_iter=8,
        cv=3,
        random_state=seed % 2**32,
    )
    search.fit(X, y)
    alphas = np.array([p["alpha"] for p in search.cv_results_["params"]])
    assert alphas.shape == (8,)
    assert np.all((alphas >= 1e-5) & (alphas <= 1.0))
    assert len(set(alphas.tolist())) == 8
    assert 1e-5 <= search.best_params_["alpha"] <= 1.0


# -- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: hz.LogUniform(0, 1), ValueError, r"0 < low < high.*low=0.0"),
        (lambda: hz.LogUniform(1, 1), ValueError, r"0 < low < high.*low=1.0, high=1.0"),
        (lambda: hz.LogUniform(2, 1), ValueError, r"0 < low < high.*low=2.0, high=1.0"),
        (
            lambda: hz.LogUniform(float("nan"), 1),
            ValueError,
            r"`low` must be finite.*nan",
        ),
        (
            lambda: hz.Uniform(0, float("inf")),
            ValueError,
            r"`high` must be finite.*inf",
        ),
        (lambda: hz.InvLogUniform(0.9, 1.0), ValueError, r"low < high < 1.*high=1.0"),
        (lambda: hz.InvLogUniform(0.99, 0.9), ValueError, r"low < high < 1"),
        (lambda: hz.IntLogUniform(0, 10), ValueError, r"1 <= low <= high.*low=0"),
        (
            lambda: hz.IntUniform(1.5, 3),
            ValueError,
            r"`low` must be a whole number.*1.5",
        ),
        (lambda: hz.IntUniform(5, 3), ValueError, r"low <= high.*low=5, high=3"),
        (lambda: hz.IntUniform("1", 3), TypeError, r"`low` must be an integer.*'1'"),
        (
            lambda: hz.PowerOfTwo(3, 100),
            ValueError,
            r"powers of two.*low=3, high=100.*PowerOfTwo\(4, 64\)",
        ),
        (
            lambda: hz.InvLogUniform(0.0, 1e-300),
            ValueError,
            r"too close to tell apart.*1e-300",
        ),
        (
            lambda: hz.LogUniform(1e300, 1.0000000000000002e300),
            ValueError,
            r"too close to tell apart",
        ),
        (lambda: hz.Choice([]), ValueError, r"at least one option"),
        (lambda: hz.Choice("abc"), TypeError, r"sequence of options"),
        (lambda: hz.Choice(["a", "a"]), ValueError, r"distinct.*'a'"),
        (
            lambda: hz.Choice(["a", "b"], weights=[1, -1]),
            ValueError,
            r"positive and finite",
        ),
        (
            lambda: hz.Choice(["a", "b"], weights=[1]),
            ValueError,
            r"one entry per option",
        ),
        (lambda: hz.Uniform(True, 2), TypeError, r"`low` must be a real number"),
        (
            lambda: hz.Space(lr=(1e-4, 1)),
            TypeError,
            r"parameter 'lr' must be a hyperzoom distribution",
        ),
        (
            lambda: hz.Space({"a": hz.Uniform(0, 1)}, a=hz.Uniform(0, 1)),
            ValueError,
            r"'a' is given twice",
        ),
    ],
)
def test_bad_declarations(make, error, match) -> None:
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": -1}, ValueError, r"`n` must be >= 0, but got -1"),
        ({"n": 2.5}, TypeError, r"`n` must be an integer, but got 2.5"),
        ({"n": 10.0}, TypeError, r"`n` must be an integer"),
        (
            {"n": 10, "workers": 0},
            ValueError,
            r"`workers` must be >= 1, or -1 for all cores, but got 0",
        ),
        ({"n": 10, "workers": -2}, ValueError, r"`workers` must be >= 1.*-2"),
        ({"n": 10, "workers": 1.5}, TypeError, r"`workers` must be an integer"),
        ({"n": 10, "design": "sobol"}, ValueError, r"'sobol' is not a valid design"),
        ({"n": 10, "rng": 1.5}, TypeError, r"`rng` must be"),
    ],
)
def test_bad_sample_arguments(kwargs, error, match) -> None:
    space = hz.Space(DESIGN_SPACE)
    with pytest.raises(error, match=match):
        space.sample(**kwargs)


def test_to_unit_rejects_bad_configs() -> None:
    space = hz.Space(
        lr=hz.LogUniform(1e-4, 1.0),
        layers=hz.IntUniform(1, 6),
        act=hz.Choice(["relu", "tanh"]),
    )
    good = {"lr": [1e-3], "layers": [2], "act": ["relu"]}
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['lrr'\]"):
        space.to_unit({**good, "lrr": [1]})
    with pytest.raises(ValueError, match=r"missing parameter\(s\) \['act'\]"):
        space.to_unit({"lr": [1e-3], "layers": [2]})
    with pytest.raises(
        ValueError, match=r"configs\['lr'\].*\[0.0001, 1.0\].*2.0 at index 0"
    ):
        space.to_unit({**good, "lr": [2.0]})
    with pytest.raises(ValueError, match=r"configs\['layers'\].*\[1, 6\].*7"):
        space.to_unit({**good, "layers": [7]})
    with pytest.raises(ValueError, match=r"whole numbers.*2.5"):
        space.to_unit({**good, "layers": [2.5]})
    with pytest.raises(ValueError, match=r"one of \['relu', 'tanh'\].*'gelu'"):
        space.to_unit({**good, "act": ["gelu"]})
    with pytest.raises(ValueError, match="same length"):
        space.to_unit({**good, "layers": [2, 3]})
    with pytest.raises(TypeError, match="mapping of columns"):
        space.to_unit([1, 2, 3])
    with pytest.raises(ValueError, match="powers of two"):
        hz.PowerOfTwo(16, 512).to_unit([48])
    with pytest.raises(ValueError, match="must lie in"):
        hz.InvLogUniform(0.9, 0.999).to_unit([0.9999])


def test_from_unit_rejects_bad_unit_arrays() -> None:
    space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), layers=hz.IntUniform(1, 6))
    with pytest.raises(ValueError, match=r"shape \(n, 2\).*\(3, 3\)"):
        space.from_unit(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"\[0, 1\].*1.5"):
        space.from_unit([[0.5, 1.5]])
    with pytest.raises(ValueError, match=r"\[0, 1\].*nan"):
        space.from_unit([[0.5, np.nan]])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        hz.LogUniform(1e-4, 1).from_unit([-0.1])


def test_unknown_parameter_lookup_names_the_space() -> None:
    space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    with pytest.raises(KeyError, match=r"unknown parameter 'momentum'.*\['lr'\]"):
        space["momentum"]
