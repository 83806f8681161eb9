"""Conditional spaces: ``.when``, ``Space.forbid``, ``Space.branches``.

Activity is checked against the *values* of the parents (computed here in Python, not
from unit coordinates); forbidden combinations are never drawn and leave the rest of
the distribution as it was; Latin designs stay Latin over each column's active rows.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import hyperzoom as hz

KINDS = ("uniform", "log", "invlog", "int", "intlog", "pow2", "choice")


# -- random conditional spaces ---------------------------------------------------------
def _make(kind: str, draw) -> hz.Distribution:
    if kind == "uniform":
        lo = draw(st.floats(-5.0, 5.0))
        return hz.Uniform(lo, lo + draw(st.floats(0.5, 10.0)))
    if kind == "log":
        e = draw(st.integers(-6, 0))
        return hz.LogUniform(10.0**e, 10.0 ** (e + draw(st.integers(1, 4))))
    if kind == "invlog":
        return hz.InvLogUniform(0.9, draw(st.sampled_from([0.99, 0.999, 0.9999])))
    if kind == "int":
        lo = draw(st.integers(-3, 5))
        return hz.IntUniform(lo, lo + draw(st.integers(1, 6)))
    if kind == "intlog":
        lo = draw(st.integers(1, 8))
        return hz.IntLogUniform(lo, lo + draw(st.integers(2, 60)))
    if kind == "pow2":
        e = draw(st.integers(0, 4))
        return hz.PowerOfTwo(2**e, 2 ** (e + draw(st.integers(1, 5))))
    k = draw(st.integers(2, 4))
    return hz.Choice([f"o{i}" for i in range(k)])


def _values_of(dist: hz.Distribution) -> list:
    if isinstance(dist, hz.Choice):
        return list(dist.options)
    if isinstance(dist, hz.PowerOfTwo):
        lo, hi = dist.exponents
        return [2**e for e in range(lo, hi + 1)]
    return list(range(int(dist.low), int(dist.high) + 1))


def _condition(dist: hz.Distribution, draw):
    """A condition value for parent ``dist``, in one of the accepted forms."""
    if not dist.is_integer:  # a (low, high) range, as fractions of the scaled axis
        a, b = sorted(draw(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2)))
        if b - a < 0.1:
            a, b = max(0.0, b - 0.3), max(b, 0.3)
        x = dist.from_unit(np.array([a, b]))
        lo, hi = float(x[0]), float(x[1])
        if not dist.low <= lo < hi <= dist.high:
            lo, hi = dist.low, dist.high
        if draw(st.booleans()):
            hi = dist.high  # a range that reaches the top of the axis
        return (lo, hi)
    values = _values_of(dist)
    chosen = draw(
        st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True)
    )
    form = draw(st.sampled_from(["one", "list", "tuple", "range"]))
    if form == "one" or len(chosen) == 1:
        return chosen[0]
    if form == "range" and type(dist) is hz.IntUniform:
        a = min(chosen)
        return range(a, a + len(chosen))
    if form == "tuple":
        return tuple(chosen) if dist.is_integer and len(chosen) != 2 else list(chosen)
    return chosen


@st.composite
def conditional_spaces(draw) -> hz.Space:
    """A space of 1-3 levels: roots, children of roots, grandchildren."""
    params: dict[str, hz.Distribution] = {
        "root_c": hz.Choice(["a", "b", "c"]),
        "root_i": _make(draw(st.sampled_from(["int", "pow2", "intlog"])), draw),
    }
    if draw(st.booleans()):
        params["root_x"] = _make(
            draw(st.sampled_from(["uniform", "log", "invlog"])), draw
        )
    levels = draw(st.integers(1, 3))
    previous = list(params)
    for level in range(1, levels + 1):
        current = []
        for j in range(draw(st.integers(1, 3))):
            name = f"l{level}_{j}"
            dist = _make(draw(st.sampled_from(KINDS)), draw)
            parents = draw(
                st.lists(st.sampled_from(previous), min_size=1, max_size=2, unique=True)
            )
            conds = {p: _condition(params[p], draw) for p in parents}
            params[name] = dist.when(**conds)
            current.append(name)
        previous = previous + current
    return hz.Space(params)


def _holds(dist: hz.Distribution, cond, x) -> np.ndarray:
    """Where the values ``x`` of parent ``dist`` satisfy ``cond`` (by value)."""
    if not dist.is_integer:
        lo, hi = cond
        x = np.asarray(x, dtype=np.float64)
        if hi == dist.high:
            return (x >= lo) & (x <= hi)
        return (x >= lo) & (x < hi)
    if isinstance(cond, (list, tuple, range, set, frozenset)):
        allowed = list(cond)
    else:
        allowed = [cond]
    return np.isin(np.asarray(x, dtype=object), np.asarray(allowed, dtype=object))


def _near_edge(dist: hz.Distribution, cond, x) -> np.ndarray:
    """Continuous parent values within rounding of a condition's edge: undecidable by
    value (the core decides on unit coordinates), so those rows are not judged."""
    if dist.is_integer:
        return np.zeros(len(x), dtype=bool)
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros(len(x), dtype=bool)
    for edge in cond:
        out |= np.abs(x - edge) <= 1e-9 * max(1.0, abs(edge))
    return out


def _values(col) -> np.ndarray:
    """The values of a column, object dtype, with the masked/NaN entries as None."""
    if isinstance(col, np.ma.MaskedArray):
        out = np.asarray(col.data).astype(object)
        out[np.ma.getmaskarray(col)] = None
        return out
    out = np.asarray(col).astype(object)
    if np.asarray(col).dtype.kind == "f":
        out[np.isnan(np.asarray(col, dtype=np.float64))] = None
    return out


def expected_activity(space: hz.Space, configs: hz.Configs) -> tuple[dict, np.ndarray]:
    """Activity of each parameter by its parents' values; rows too close to call."""
    n = len(configs)
    active: dict[str, np.ndarray] = {}
    unsure = np.zeros(n, dtype=bool)
    for name, dist in space.items():  # parents are declared before their children
        act = np.ones(n, dtype=bool)
        for parent, cond in dist.conditions.items():
            pv = _values(configs[parent])
            on = active[parent]
            x = np.where(
                on, pv, space[parent].low if not space[parent].is_integer else None
            )
            if not space[parent].is_integer:
                x = np.where(on, pv, np.nan).astype(np.float64)
                unsure |= on & _near_edge(space[parent], cond, x)
                act &= on & _holds(space[parent], cond, np.nan_to_num(x, nan=-np.inf))
            else:
                act &= on & _holds(space[parent], cond, x)
        active[name] = act
    return active, unsure


def check_activity_and_bounds(space: hz.Space, c: hz.Configs) -> None:
    active, unsure = expected_activity(space, c)
    sure = ~unsure
    assert unsure.mean() < 0.01
    mask = c.active
    unit = c.unit
    for j, (name, dist) in enumerate(space.items()):
        want = active[name]
        np.testing.assert_array_equal(mask[sure, j], want[sure], err_msg=name)
        have = mask[:, j]
        assert np.all(np.isnan(unit[~have, j]))
        assert np.all((unit[have, j] >= 0.0) & (unit[have, j] <= 1.0))
        col = c[name]
        if dist.is_integer and dist.conditions:
            assert isinstance(col, np.ma.MaskedArray), name
            np.testing.assert_array_equal(np.ma.getmaskarray(col), ~have, err_msg=name)
            vals = np.asarray(col.data)[have]
        elif dist.conditions:
            assert np.asarray(col).dtype == np.float64
            np.testing.assert_array_equal(np.isnan(col), ~have, err_msg=name)
            vals = np.asarray(col)[have]
        else:
            assert have.all(), name
            vals = np.asarray(col)
        if isinstance(dist, hz.Choice):
            assert set(vals.tolist()) <= set(dist.options)
        else:
            assert np.all((vals >= dist.low) & (vals <= dist.high)), name
            if isinstance(dist, hz.PowerOfTwo):
                v = vals.astype(np.int64)
                assert np.all(v & (v - 1) == 0), name
    rows = list(c)
    for i in np.flatnonzero(sure)[:200]:
        assert set(rows[i]) == {k for k in space.names if mask[i, space.names.index(k)]}
    as_dict = c.to_dict()
    for j, name in enumerate(space.names):
        assert [v is None for v in as_dict[name]] == (~mask[:, j]).tolist()


@given(
    conditional_spaces(), st.integers(0, 2**64 - 1), st.sampled_from(["random", "lhs"])
)
def test_parameters_are_active_exactly_when_their_condition_holds(space, seed, design):
    c = space.sample(300, rng=seed, design=design)
    assert len(c) == 300
    check_activity_and_bounds(space, c)


@given(conditional_spaces(), st.integers(0, 2**64 - 1))
def test_latin_designs_stay_latin_over_each_columns_active_rows(space, seed):
    c = space.sample(240, rng=seed, design="lhs")
    check_latin_within_active(space, c)


def check_latin_within_active(space: hz.Space, c: hz.Configs) -> None:
    unit = c.unit
    for j, (name, dist) in enumerate(space.items()):
        rows = ~np.isnan(unit[:, j])
        m = int(rows.sum())
        if m == 0:
            continue
        col = unit[rows, j]
        if not dist.is_integer:
            strata = np.floor(col * m).astype(np.int64)
            np.testing.assert_array_equal(np.sort(strata), np.arange(m), err_msg=name)
        elif not isinstance(dist, hz.IntLogUniform):  # equal cells: balanced counts
            values = c[name]
            values = np.asarray(values.data if np.ma.isMaskedArray(values) else values)
            _, counts = np.unique(values[rows].astype(str), return_counts=True)
            k = len(_values_of(dist))
            full = np.zeros(k, dtype=np.int64)
            full[: len(counts)] = counts
            assert full.max() - full.min() <= 1, (name, full.tolist())


# -- a fixed space: models, optimisers, clauses -----------------------------------------
def nested_space() -> hz.Space:
    return hz.Space(
        model=hz.Choice(["mlp", "tree", "linear"]),
        dropout=hz.Uniform(0.0, 0.5),
        layers=hz.IntUniform(1, 4).when(model="mlp"),
        width=hz.IntLogUniform(16, 512).when(layers=[2, 3, 4]),
        optimizer=hz.Choice(["sgd", "adam"]).when(model="mlp"),
        lr=hz.LogUniform(1e-4, 1.0).when(model=["mlp", "linear"]),
        momentum=hz.InvLogUniform(0.9, 0.999).when(optimizer="sgd"),
        batch=hz.PowerOfTwo(16, 256).when(optimizer="adam", lr=(1e-3, 1.0)),
        depth=hz.IntUniform(2, 12).when(model="tree"),
        leaves=hz.PowerOfTwo(4, 64).when(depth=range(6, 13)),
    )


def clause_space() -> hz.Space:
    return (
        hz.Space(
            opt=hz.Choice(["sgd", "adam", "rms"]),
            layers=hz.IntUniform(1, 4),
            lr=hz.LogUniform(1e-4, 1.0),
            free=hz.Uniform(-1.0, 3.0),
            beta=hz.InvLogUniform(0.9, 0.999),
        )
        .forbid(opt="adam", layers=[3, 4])
        .forbid(opt="rms", lr=(1e-2, 1.0))
    )


def forbidden_mask(c: hz.Configs) -> np.ndarray:
    opt = np.asarray(c["opt"])
    return ((opt == "adam") & (np.asarray(c["layers"]) >= 3)) | (
        (opt == "rms") & (np.asarray(c["lr"]) >= 1e-2)
    )


@pytest.mark.parametrize("design", ["random", "lhs", "lhs-centered"])
def test_the_nested_space_obeys_its_conditions(seed: int, design: str) -> None:
    space = nested_space()
    c = space.sample(5_000, rng=seed, design=design)
    check_activity_and_bounds(space, c)
    if design != "random":
        check_latin_within_active(space, c)
    # every level is reached
    assert c.active.any(axis=0).all()


def test_forbidden_combinations_are_never_sampled(seed: int) -> None:
    space = clause_space()
    for design in ["random", "lhs", "lhs-maximin"]:
        c = space.sample(
            4_000 if design != "lhs-maximin" else 300, rng=seed, design=design
        )
        assert not forbidden_mask(c).any(), design
    g = hz.grid(space, 4)
    assert not forbidden_mask(g).any()
    # the grid holds every allowed row once: 3 * 4 * 4 * 4 * 4 cells less the clauses
    lr = np.unique(np.asarray(g["lr"]))
    rms_banned = int((lr >= 1e-2).sum())
    assert len(g) == (3 * 4 * 4 - 2 * 4 - rms_banned * 4) * 4 * 4
    assert len(np.unique(g.unit, axis=0)) == len(g)


def test_forbidding_leaves_the_rest_of_the_distribution_as_it_was(seed: int) -> None:
    space = clause_space()
    n = 60_000
    c = space.sample(n, rng=seed)
    u = c.unit
    # parameters in no clause stay uniform on their scaled axes
    assert stats.kstest(u[:, 3], "uniform").pvalue > 1e-3
    assert stats.kstest(u[:, 4], "uniform").pvalue > 1e-3
    assert (
        stats.kstest(np.asarray(c["free"]), stats.uniform(-1.0, 4.0).cdf).pvalue > 1e-3
    )
    # (opt, layers) cells: uniform over what is allowed; rms keeps half of its lr axis
    opt = np.asarray(c["opt"])
    layers = np.asarray(c["layers"])
    weight = {"sgd": [1, 1, 1, 1], "adam": [1, 1, 0, 0], "rms": [0.5] * 4}
    obs, exp = [], []
    total = sum(sum(w) for w in weight.values())
    for o, ws in weight.items():
        for k, wk in enumerate(ws, start=1):
            count = int(((opt == o) & (layers == k)).sum())
            if wk == 0:
                assert count == 0
                continue
            obs.append(count)
            exp.append(n * wk / total)
    assert stats.chisquare(obs, exp).pvalue > 1e-3
    # lr given rms: log-uniform on [1e-4, 1e-2); given sgd: on the whole axis
    lr = np.asarray(c["lr"])
    assert (
        stats.kstest(lr[opt == "rms"], stats.loguniform(1e-4, 1e-2).cdf).pvalue > 1e-3
    )
    assert stats.kstest(lr[opt == "sgd"], stats.loguniform(1e-4, 1.0).cdf).pvalue > 1e-3
    # the free parameter is independent of the clauses' parameters
    free = u[:, 3]
    assert stats.kstest(free[opt == "adam"], "uniform").pvalue > 1e-3
    assert stats.kstest(free[(opt == "rms")], "uniform").pvalue > 1e-3


def test_conditional_columns_are_uniform_where_active(seed: int) -> None:
    space = nested_space()
    c = space.sample(60_000, rng=seed)
    u = c.unit
    j = space.names.index("momentum")
    act = ~np.isnan(u[:, j])
    # momentum: active when model == mlp and optimizer == sgd (1/3 * 1/2)
    assert abs(act.mean() - 1 / 6) < 0.01
    assert stats.kstest(u[act, j], "uniform").pvalue > 1e-3
    beta = np.asarray(c["momentum"])[act]
    assert stats.kstest(1 - beta, stats.loguniform(1e-3, 1e-1).cdf).pvalue > 1e-3


def test_the_same_seed_gives_the_same_configs_whatever_the_workers(seed: int) -> None:
    for space in (nested_space(), clause_space()):
        for design in ["random", "lhs"]:
            a = space.sample(30_000, rng=seed, design=design, workers=1)
            b = space.sample(30_000, rng=seed, design=design, workers=2)
            np.testing.assert_array_equal(a.unit, b.unit)
            for name in space.names:
                np.testing.assert_array_equal(
                    np.ma.getdata(a[name]), np.ma.getdata(b[name]), err_msg=name
                )
                np.testing.assert_array_equal(
                    np.ma.getmaskarray(a[name]), np.ma.getmaskarray(b[name])
                )
            c = space.sample(30_000, rng=seed + 1, design=design, workers=2)
            assert not np.array_equal(np.nan_to_num(a.unit), np.nan_to_num(c.unit))


# -- maps -------------------------------------------------------------------------------
def _same(a: hz.Configs, b: hz.Configs) -> None:
    assert a.to_dict() == b.to_dict()
    np.testing.assert_array_equal(a.active, b.active)


@pytest.mark.parametrize("make", [nested_space, clause_space])
def test_to_unit_and_from_unit_round_trip_with_inactive_entries(
    make, seed: int
) -> None:
    space = make()
    c = space.sample(500, rng=seed)
    # the unit coordinates give the very configurations back
    _same(space.from_unit(c.unit), c)
    # whatever the coordinates of inactive parameters hold, they are ignored
    junk = np.where(np.isnan(c.unit), 0.37, c.unit)
    back = space.from_unit(junk)
    _same(back, c)
    assert np.array_equal(np.isnan(back.unit), np.isnan(c.unit))
    df = c.to_pandas()
    rows = list(c)
    sources = {
        "configs": c,
        "columns": c.columns,
        "to_dict": c.to_dict(),
        "pandas series": {k: df[k] for k in df.columns},
        "pandas arrays": {k: df[k].to_numpy() for k in df.columns},
        "pandas lists": {k: df[k].tolist() for k in df.columns},
        "rows": {k: [r.get(k) for r in rows] for k in space.names},
    }
    for what, src in sources.items():
        u = space.to_unit(src)
        assert np.array_equal(np.isnan(u), np.isnan(c.unit)), what
        _same(space.from_unit(u), c)
        # integer and choice coordinates land in the same cell, floats on the spot
        again = space.to_unit(space.from_unit(u))
        np.testing.assert_allclose(again, u, rtol=0, atol=1e-12, err_msg=what)


def test_to_pandas_marks_inactive_entries_missing(seed: int) -> None:
    pd = pytest.importorskip("pandas")
    space = nested_space()
    c = space.sample(300, rng=seed)
    df = c.to_pandas()
    act = c.active
    for j, name in enumerate(space.names):
        np.testing.assert_array_equal(pd.isna(df[name]).to_numpy(), ~act[:, j])
    assert str(df["layers"].dtype) == "Int64"
    assert df["lr"].dtype == np.float64


def test_from_unit_refuses_nan_where_a_parameter_is_active() -> None:
    space = nested_space()
    u = space.sample(4, rng=3).unit.copy()
    j = space.names.index("lr")
    i = (
        int(np.flatnonzero(~np.isnan(u[:, j]))[0])
        if (~np.isnan(u[:, j])).any()
        else None
    )
    if i is None:  # make lr active: model = mlp
        i = 0
        u[0, 0] = 0.1
        u[0] = np.where(np.isnan(u[0]), 0.5, u[0])
    u[i, j] = np.nan
    with pytest.raises(ValueError, match=r"NaN but parameter 'lr' is active"):
        space.from_unit(u)
    bad = u.copy()
    bad[i, 1] = 1.5
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        space.from_unit(bad)


def test_to_unit_refuses_values_where_inactive_and_gaps_where_active() -> None:
    space = hz.Space(
        opt=hz.Choice(["sgd", "adam"]),
        momentum=hz.Uniform(0.0, 1.0).when(opt="sgd"),
        steps=hz.IntUniform(1, 5).when(opt="adam"),
    )
    good = {"opt": ["sgd", "adam"], "momentum": [0.5, None], "steps": [None, 3]}
    u = space.to_unit(good)
    assert np.isnan(u[0, 2])
    assert np.isnan(u[1, 1])
    with pytest.raises(
        ValueError, match=r"'momentum'.*has a value at row 1.*does not hold"
    ):
        space.to_unit({**good, "momentum": [0.5, 0.2]})
    with pytest.raises(
        ValueError, match=r"'steps'.*is missing at row 1.*opt='adam' holds"
    ):
        space.to_unit({**good, "steps": [None, None]})
    with pytest.raises(ValueError, match=r"'momentum'.*is missing at row 0"):
        space.to_unit({**good, "momentum": [float("nan"), None]})
    masked = np.ma.MaskedArray([0, 3], mask=[True, False])
    np.testing.assert_array_equal(space.to_unit({**good, "steps": masked}), u)


def test_maps_refuse_forbidden_rows() -> None:
    space = clause_space()
    row = {"opt": ["adam"], "layers": [4], "lr": [0.1], "free": [0.0], "beta": [0.95]}
    with pytest.raises(ValueError, match=r"forbidden configurations \(1 rows\).*row 0"):
        space.to_unit(row)
    u = space.to_unit({**row, "opt": ["sgd"]})
    u[0, 0] = 0.5  # the adam cell
    with pytest.raises(ValueError, match="forbidden"):
        space.from_unit(u)


# -- branches ---------------------------------------------------------------------------
def svc_space() -> hz.Space:
    return hz.Space(
        C=hz.LogUniform(1e-2, 1e3),
        kernel=hz.Choice(["rbf", "poly"]),
        degree=hz.IntUniform(2, 5).when(kernel="poly"),
        tol=hz.LogUniform(1e-6, 1e-2),
    ).forbid(kernel="poly", C=(1e2, 1e3))


def test_branches_names_conditions_and_clauses(seed: int) -> None:
    ridge = hz.Space(alpha=hz.LogUniform(1e-4, 10.0), tol=hz.LogUniform(1e-6, 1e-2))
    space = hz.Space.branches(svc=svc_space(), ridge=ridge, name="model")
    assert space.names == ("model", "C", "kernel", "degree", "tol", "alpha")
    assert space["model"] == hz.Choice(["svc", "ridge"])
    assert space["C"].conditions == {"model": "svc"}
    assert space["degree"].conditions == {"model": "svc", "kernel": "poly"}
    assert space["tol"].conditions == {
        "model": ["svc", "ridge"]
    }  # shared: one parameter
    assert space["alpha"].conditions == {"model": "ridge"}
    assert space.forbidden == (hz.Forbidden(model="svc", kernel="poly", C=(1e2, 1e3)),)
    c = space.sample(20_000, rng=seed)
    check_activity_and_bounds(space, c)
    model = np.asarray(c["model"])
    kernel = np.ma.getdata(c["kernel"])
    C = np.asarray(c["C"])
    svc = model == "svc"
    assert not (svc & (kernel == "poly") & (C >= 1e2)).any()
    # the clause binds only inside its branch: ridge rows are never touched by it
    assert abs((model == "ridge").mean() - 1 / (1 + 1 - 0.5 * 0.2)) < 0.02
    assert c.active[:, space.names.index("tol")].all()
    # every sub-space keeps its own clause when built alone too
    alone = svc_space().sample(2_000, rng=seed)
    assert not ((np.asarray(alone["kernel"]) == "poly") & (alone["C"] >= 1e2)).any()


def test_branches_refuse_conflicting_shared_names() -> None:
    a = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    b = hz.Space(lr=hz.LogUniform(1e-3, 1.0))
    with pytest.raises(
        ValueError, match=r"parameter 'lr'.*branch 'b'.*branch 'a'.*rename"
    ):
        hz.Space.branches(a=a, b=b)
    c = hz.Space(k=hz.Choice(["x", "y"]), lr=hz.LogUniform(1e-4, 1.0).when(k="x"))
    with pytest.raises(
        ValueError, match=r"parameter 'lr'.*same distribution and conditions"
    ):
        hz.Space.branches(a=a, c=c)
    with pytest.raises(ValueError, match=r"branch 'a' has a parameter named 'lr'"):
        hz.Space.branches(a=a, b=hz.Space(x=hz.Uniform(0, 1)), name="lr")
    with pytest.raises(ValueError, match="at least one sub-space"):
        hz.Space.branches()
    with pytest.raises(TypeError, match="branch 'a' must be a hyperzoom Space"):
        hz.Space.branches(a=hz.Uniform(0, 1))


def test_branches_default_name_and_single_branch() -> None:
    space = hz.Space.branches(only=hz.Space(x=hz.Uniform(0.0, 1.0)))
    assert space.names == ("branch", "x")
    c = space.sample(100, rng=5)
    assert c.active.all()
    assert set(np.asarray(c["branch"]).tolist()) == {"only"}


# -- bad declarations -------------------------------------------------------------------
def test_cycles_are_refused_with_the_cycle_named() -> None:
    with pytest.raises(ValueError, match=r"cycle.*'a' -> 'b' -> 'a'"):
        hz.Space(
            a=hz.IntUniform(1, 3).when(b=1),
            b=hz.IntUniform(1, 3).when(a=1),
        )
    with pytest.raises(ValueError, match=r"cycle.*'a' -> 'b' -> 'c' -> 'a'"):
        hz.Space(
            a=hz.IntUniform(1, 3).when(b=1),
            b=hz.IntUniform(1, 3).when(c=2),
            c=hz.IntUniform(1, 3).when(a=[1, 2]),
        )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"x": hz.IntUniform(1, 3).when(x=1)}, r"'x' cannot be conditioned on itself"),
        (
            {"x": hz.Uniform(0, 1).when(nope="a")},
            r"condition of 'x' names unknown parameter 'nope'",
        ),
        (
            {"c": hz.Choice(["a", "b"]), "x": hz.Uniform(0, 1).when(c="z")},
            r"condition of 'x' on 'c': 'z' is not one of \['a', 'b'\]",
        ),
        (
            {"c": hz.Choice(["a", "b"]), "x": hz.Uniform(0, 1).when(c=["a", "q"])},
            r"condition of 'x' on 'c': 'q' is not one of",
        ),
        (
            {"k": hz.IntUniform(1, 4), "x": hz.Uniform(0, 1).when(k=5)},
            r"condition of 'x' on 'k': 5 is not a value of IntUniform\(1, 4\)",
        ),
        (
            {"k": hz.IntUniform(1, 4), "x": hz.Uniform(0, 1).when(k=range(3, 7))},
            r"condition of 'x' on 'k': 5 is not a value",
        ),
        (
            {"k": hz.IntUniform(1, 4), "x": hz.Uniform(0, 1).when(k=2.5)},
            r"condition of 'x' on 'k': 2.5 is not a value",
        ),
        (
            {"p": hz.PowerOfTwo(2, 64), "x": hz.Uniform(0, 1).when(p=[8, 12])},
            r"condition of 'x' on 'p': 12 is not a value of PowerOfTwo.*powers of two",
        ),
        (
            {"k": hz.IntUniform(1, 4), "x": hz.Uniform(0, 1).when(k=[])},
            r"condition of 'x' on 'k'.*at least one value",
        ),
        (
            {"r": hz.Uniform(0, 1), "x": hz.IntUniform(1, 3).when(r=0.5)},
            (
                r"condition of 'x' on 'r': a condition on a continuous parameter needs "
                r"a \(low, high\) range"
            ),
        ),
        (
            {"r": hz.LogUniform(1e-3, 1), "x": hz.IntUniform(1, 3).when(r=(1e-4, 0.1))},
            r"condition of 'x' on 'r': the range must satisfy 0.001 <= low < high <= 1",
        ),
        (
            {"r": hz.Uniform(0, 1), "x": hz.IntUniform(1, 3).when(r=(0.6, 0.2))},
            r"condition of 'x' on 'r': the range must satisfy",
        ),
        (
            {"r": hz.Uniform(0, 1), "x": hz.IntUniform(1, 3).when(r=(0.1, 0.2, 0.3))},
            r"condition of 'x' on 'r'.*\(low, high\) range",
        ),
    ],
    ids=[
        "self",
        "unknown-parent",
        "not-an-option",
        "one-not-an-option",
        "int-out-of-bounds",
        "range-out-of-bounds",
        "int-not-integer",
        "not-a-power-of-two",
        "empty-list",
        "continuous-needs-range",
        "range-outside-bounds",
        "range-reversed",
        "range-of-three",
    ],
)
def test_bad_conditions_are_refused_naming_the_parameter(params, match) -> None:
    with pytest.raises(ValueError, match=match):
        hz.Space(params)


def test_when_needs_a_parent() -> None:
    with pytest.raises(ValueError, match="at least one parent"):
        hz.Uniform(0, 1).when()


def test_bad_forbidden_clauses_are_refused() -> None:
    space = hz.Space(c=hz.Choice(["a", "b"]), k=hz.IntUniform(1, 4), r=hz.Uniform(0, 1))
    with pytest.raises(ValueError, match="must name at least one parameter"):
        hz.Forbidden()
    with pytest.raises(ValueError, match="must name at least one parameter"):
        space.forbid()
    with pytest.raises(ValueError, match=r"names unknown parameter 'zz'"):
        space.forbid(zz=1)
    with pytest.raises(
        ValueError,
        match=r"Forbidden\(k=9\), on 'k': 9 is not a value of IntUniform\(1, 4\) \(the values of 'k'",
    ):
        space.forbid(k=9)
    with pytest.raises(
        ValueError,
        match=r"Forbidden\(c='q'\), on 'c': 'q' is not one of \['a', 'b'\] \(the options of 'c'\)",
    ):
        space.forbid(c="q")
    with pytest.raises(
        ValueError, match=r"Forbidden\(r=0.5\), on 'r'.*\(low, high\) range"
    ):
        space.forbid(r=0.5)
    with pytest.raises(ValueError, match=r"Forbidden\(c=\['a', 'b'\]\) forbids every"):
        space.forbid(c=["a", "b"])
    with pytest.raises(ValueError, match=r"forbids every configuration"):
        space.forbid(c=["a", "b"], k=range(1, 5), r=(0.0, 1.0))


@pytest.mark.timeout(60)
def test_clauses_that_leave_almost_nothing_raise_rather_than_hang() -> None:
    space = hz.Space(r=hz.Uniform(0, 1), k=hz.IntUniform(1, 4))
    # together the two clauses forbid every configuration (each alone does not)
    empty = space.forbid(r=(0.0, 0.5)).forbid(r=(0.5, 1.0))
    for design in ["random", "lhs"]:
        with pytest.raises(ValueError, match=r"leave almost nothing.*draws each"):
            empty.sample(100, rng=1, design=design)
    tiny = space.forbid(r=(0.0, 0.999999))
    with pytest.raises(ValueError, match=r"leave almost nothing"):
        tiny.sample(10_000, rng=1)
    # a space that leaves a share of 1/4 samples fine
    quarter = space.forbid(k=[1, 2, 3])
    c = quarter.sample(1_000, rng=1)
    assert set(np.asarray(c["k"]).tolist()) == {4}


def test_conditioned_forbidden_terms_bind_only_where_active(seed: int) -> None:
    space = hz.Space(
        opt=hz.Choice(["sgd", "adam"]),
        mom=hz.Uniform(0.0, 1.0).when(opt="sgd"),
        k=hz.IntUniform(1, 2),
    ).forbid(mom=(0.0, 1.0), k=1)  # every sgd row with k = 1
    c = space.sample(5_000, rng=seed)
    opt = np.asarray(c["opt"])
    k = np.asarray(c["k"])
    assert not ((opt == "sgd") & (k == 1)).any()
    assert (
        (opt == "adam") & (k == 1)
    ).any()  # mom inactive there: the clause cannot hold


# -- identity ---------------------------------------------------------------------------
def test_equality_hash_pickle_and_repr_include_conditions_and_clauses(
    seed: int,
) -> None:
    a = nested_space().forbid(model="linear", dropout=(0.4, 0.5))
    b = nested_space().forbid(model="linear", dropout=(0.4, 0.5))
    assert a == b
    assert hash(a) == hash(b)
    assert a != nested_space()
    assert a != nested_space().forbid(model="linear", dropout=(0.3, 0.5))
    other = hz.Space(
        {**nested_space().params, "lr": hz.LogUniform(1e-4, 1.0).when(model="mlp")}
    )
    assert other != nested_space()
    assert hz.LogUniform(1e-4, 1.0).when(model="mlp") != hz.LogUniform(1e-4, 1.0)
    assert hz.Uniform(0, 1).when(k=[1, 2]) == hz.Uniform(0, 1).when(k=[1, 2])
    back = pickle.loads(pickle.dumps(a))
    assert back == a
    assert hash(back) == hash(a)
    assert back.forbidden == a.forbidden
    assert back.order == a.order
    _same(back.sample(500, rng=seed), a.sample(500, rng=seed))
    text = repr(a)
    assert "lr=LogUniform(0.0001, 1.0).when(model=['mlp', 'linear'])" in text
    assert ".when(optimizer='adam', lr=(0.001, 1.0))" in text
    assert "leaves=PowerOfTwo(4, 64).when(depth=[6, 7, 8, 9, 10, 11, 12])" in text
    assert text.endswith(".forbid(model='linear', dropout=(0.4, 0.5))")
    assert repr(hz.Forbidden(k=[1, 2])) == "Forbidden(k=[1, 2])"


def test_order_puts_parents_first_and_keeps_declaration_order() -> None:
    space = hz.Space(
        child=hz.Uniform(0, 1).when(mid=2),
        mid=hz.IntUniform(1, 3).when(root="a"),
        root=hz.Choice(["a", "b"]),
        free=hz.Uniform(0, 1),
    )
    assert space.order == ("root", "mid", "child", "free")
    assert space.names == ("child", "mid", "root", "free")
    assert space.conditional
    assert not hz.Space(x=hz.Uniform(0, 1)).conditional
    c = space.sample(2_000, rng=11)
    act = c.active
    assert not (act[:, 0] & ~act[:, 1]).any()
    np.testing.assert_array_equal(act[:, 1], np.asarray(c["root"]) == "a")
    mid = np.ma.getdata(c["mid"])
    np.testing.assert_array_equal(act[:, 0], act[:, 1] & (mid == 2))


def test_grid_of_a_conditional_space_drops_inactive_duplicates() -> None:
    space = hz.Space(
        opt=hz.Choice(["sgd", "adam"]),
        mom=hz.Uniform(0.0, 1.0).when(opt="sgd"),
        steps=hz.IntUniform(1, 3).when(opt="adam"),
    )
    g = hz.grid(space, 4)
    # sgd: 4 momenta (steps inactive); adam: 3 steps (mom inactive)
    assert len(g) == 4 + 3
    assert len(np.unique(np.nan_to_num(g.unit, nan=-1), axis=0)) == len(g)
    assert hz.grid(space, 4).to_dict() == space.sample(7, design="grid").to_dict()
    with pytest.raises(ValueError, match="size of a full grid"):
        space.sample(5, design="grid")
    assert math.isnan(g.unit[0, 2])
