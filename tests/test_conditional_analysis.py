"""Conditional spaces through the analysis and scheduling modules: importance over active
trials, plots and reports of active trials only, PBT that never perturbs into an inactive
parameter, schedulers and tables with missing entries."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import hyperzoom as hz
from hyperzoom.report import render_report
from hyperzoom.schedule.population import conditional_rows

PARAMS = {
    "optimizer": hz.Choice(["sgd", "adam"]),
    "lr": hz.LogUniform(1e-4, 1.0),
    "momentum": hz.Uniform(0.0, 0.99).when(optimizer="sgd"),
    "layers": hz.IntUniform(1, 4).when(optimizer="adam"),
    "act": hz.Choice(["relu", "tanh"]).when(layers=[3, 4]),
}
SPACE = hz.Space(PARAMS).forbid(optimizer="adam", layers=4, act="tanh")
# The coarse-to-fine search does not yet keep its rows out of forbidden clauses: its
# tests here use the conditions alone.
SEARCH_SPACE = hz.Space(PARAMS)


def expected_keys(c: dict) -> set[str]:
    """The parameters that must be active in ``c``, read from its values."""
    keys = {"optimizer", "lr"}
    if c["optimizer"] == "sgd":
        keys.add("momentum")
    else:
        keys.add("layers")
        if c["layers"] in (3, 4):
            keys.add("act")
    return keys


def forbidden(c: dict) -> bool:
    return (
        c.get("optimizer") == "adam" and c.get("layers") == 4 and c.get("act") == "tanh"
    )


def check_config(c: dict) -> None:
    assert set(c) == expected_keys(c), c
    assert not forbidden(c), c
    assert 1e-4 <= c["lr"] <= 1.0
    if "momentum" in c:
        assert 0.0 <= c["momentum"] <= 0.99
    if "layers" in c:
        assert c["layers"] in (1, 2, 3, 4)
    if "act" in c:
        assert c["act"] in ("relu", "tanh")


def scalar_loss(c: dict) -> float:
    """Depends strongly on momentum under sgd, on nothing else."""
    if c["optimizer"] == "sgd":
        return 10.0 * (c["momentum"] - 0.5) ** 2
    return 0.4


def batch_loss(c: hz.Configs) -> np.ndarray:
    m = np.nan_to_num(np.asarray(c["momentum"], dtype=float), nan=0.5)
    return np.where(c["optimizer"] == "sgd", 10.0 * (m - 0.5) ** 2, 0.4)


def check_frame(df, configs: hz.Configs) -> None:
    """Missing exactly where inactive; integers nullable, never a sentinel."""
    active = configs.active
    for j, name in enumerate(SPACE.names):
        assert (df[name].isna().to_numpy() == ~active[:, j]).all(), name
    assert str(df["layers"].dtype) == "Int64"


# -- importance ---------------------------------------------------------------------------
def test_importance_the_child_that_matters_ranks_first() -> None:
    c = SPACE.sample(800, rng=3)
    y = batch_loss(c) + 0.01 * np.random.default_rng(0).normal(size=len(c))
    imp = hz.importance(c, y, rng=1, bootstrap=60)
    assert imp.ranking[0] == "momentum"
    assert imp["momentum"] > 0.8
    assert imp["momentum"] > imp["optimizer"] > imp["lr"]
    for arr in (imp.share, imp.low, imp.high):
        assert np.isfinite(arr).all()
    assert not imp.to_pandas().isna().any().any()
    assert imp.counts.tolist() == c.active.sum(axis=0).tolist()
    assert imp.counts[0] == imp.n == 800
    assert imp.counts[2] < 800
    assert "trials)" in repr(imp)


def test_importance_counts_only_the_rows_where_a_parameter_is_active() -> None:
    space = hz.Space(
        optimizer=hz.Choice(["sgd", "adam"]),
        momentum=hz.Uniform(0.0, 0.99).when(optimizer="sgd"),
    )
    rng = np.random.default_rng(5)
    u = rng.random((100, 2))
    u[:, 0] = 0.75  # adam
    sgd = np.arange(100) % 10 == 0  # 10 rows of sgd
    u[sgd, 0] = 0.25
    u[~sgd, 1] = np.nan
    c = space.from_unit(u)
    y = rng.normal(size=100)
    y[sgd] += 3.0 * c["momentum"][sgd]
    imp = hz.importance(c, y, rng=9, bootstrap=40)
    assert imp.counts.tolist() == [100, 10]

    # the same as the share over those 10 rows alone, in a space without conditions
    flat = hz.Space(momentum=hz.Uniform(0.0, 0.99))
    ref = hz.importance(flat.from_unit(u[sgd][:, 1:]), y[sgd], rng=9, bootstrap=40)
    assert imp["momentum"] == ref["momentum"]
    assert imp.low[1] == ref.low[0]
    assert imp.high[1] == ref.high[0]

    # the losses of the other 90 rows never reach momentum's share
    y2 = y.copy()
    y2[~sgd] = rng.normal(size=90) * 100.0
    imp2 = hz.importance(c, y2, rng=9, bootstrap=40)
    assert imp2["momentum"] == imp["momentum"]

    # the branch choice is a parameter like any other (all rows, as without conditions)
    alone = hz.Space(optimizer=hz.Choice(["sgd", "adam"]))
    ref_opt = hz.importance(alone.from_unit(u[:, :1]), y, rng=9, bootstrap=40)
    assert imp["optimizer"] == ref_opt["optimizer"]


def test_importance_parameter_active_on_too_few_trials_is_zero_not_nan() -> None:
    space = hz.Space(
        optimizer=hz.Choice(["sgd", "adam"]),
        momentum=hz.Uniform(0.0, 0.99).when(optimizer="sgd"),
    )
    u = np.full((20, 2), np.nan)
    u[:, 0] = 0.75
    u[0] = [0.25, 0.5]  # momentum active once
    c = space.from_unit(u)
    imp = hz.importance(c, np.arange(20.0), rng=1)
    assert imp["momentum"] == 0.0
    assert imp.counts[1] == 1
    assert np.isfinite(imp.low).all()
    assert np.isfinite(imp.high).all()


@pytest.fixture(scope="module")
def search_result() -> hz.SearchResult:
    return hz.search(batch_loss, SEARCH_SPACE, budget=120, rng=0x5EED)


def test_importance_of_a_conditional_search(search_result) -> None:
    imp = hz.importance(search_result, rng=2)
    assert np.isfinite(imp.share).all()
    assert np.isfinite(imp.low).all()
    assert (imp.counts <= imp.n).all()
    assert imp.counts[0] == imp.n
    imp_all = hz.importance(search_result, trials="all", rng=2)
    assert np.isfinite(imp_all.high).all()


# -- plots and report ---------------------------------------------------------------------
def test_plot_search_draws_each_parameter_over_its_active_trials(search_result) -> None:
    fig = hz.plot.plot_search(search_result)
    t = search_result.trials
    active = t.configs.active[~t.failed]
    for j, ax in enumerate(fig.axes[: SPACE.d]):
        points = ax.collections[0].get_offsets()
        assert len(points) == int(active[:, j].sum()), SPACE.names[j]
        assert np.isfinite(np.asarray(points)).all()
        # the best's star only where the best has that parameter
        has_star = any(
            len(c.get_offsets()) == 1 and c.get_sizes()[0] == 120
            for c in ax.collections[1:]
        )
        assert has_star == (SPACE.names[j] in search_result.best)
    assert "optimizer='sgd'" in fig.axes[2].get_xlabel()


def _cells(text: str) -> list[str]:
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    return re.findall(r"<td[^>]*>(.*?)</td>", text)


def test_report_of_a_conditional_search_shows_dashes(search_result) -> None:
    cells = _cells(render_report(search_result))
    assert "\u2014" in cells
    assert not any(c.strip().lower() in ("nan", "--", "none", "<na>") for c in cells)


def test_report_of_a_conditional_schedule() -> None:
    def train(c, budget, state):
        check_config(c)
        return scalar_loss(c) + 1.0 / budget, budget

    r = hz.hyperband(train, SPACE, max_budget=9, eta=3, rng=4)
    text = render_report(r)
    cells = _cells(text)
    assert "\u2014" in cells
    assert not any(c.strip().lower() in ("nan", "--", "none", "<na>") for c in cells)
    assert text.count("data:image/png;base64,") == 2


# -- PBT ----------------------------------------------------------------------------------
def run_pbt(seed: int):
    seen: list[dict] = []

    def train(c, budget, state):
        seen.append(dict(c))
        return scalar_loss(c) + 0.1 * np.log10(c["lr"]) ** 2 + 1.0 / budget, budget

    r = hz.pbt(
        train,
        SPACE,
        population=12,
        interval=1,
        total_budget=10,
        resample=0.5,
        quantile=0.5,
        rng=seed,
    )
    return r, seen


def test_pbt_trains_only_valid_configurations() -> None:
    r, seen = run_pbt(7)
    assert len(seen) == 120
    for c in seen:
        check_config(c)
    switched = [
        e for e in r.lineage if e["donor_config"]["optimizer"] != e["new"]["optimizer"]
    ]
    assert switched  # the explore step changed a branch at least once
    for e in r.lineage:
        check_config(e["new"])
    # the unit rows are NaN exactly where inactive
    t = r.trials
    for i, c in enumerate(t.configs):
        assert set(np.array(SPACE.names)[~np.isnan(t.unit[i])]) == expected_keys(c)
    check_frame(r.to_pandas(), t.configs)


def test_pbt_conditional_is_deterministic() -> None:
    r1, seen1 = run_pbt(11)
    r2, seen2 = run_pbt(11)
    assert seen1 == seen2
    assert r1.lineage == r2.lineage
    np.testing.assert_array_equal(r1.trials.unit, r2.trials.unit)
    _, seen3 = run_pbt(12)
    assert seen3 != seen1


def test_pbt_rows_switching_branch_are_redrawn_and_deactivated() -> None:
    words = np.array([1, 2, 3], dtype=np.uint32)
    # donors: sgd (layers, act inactive) and adam with 3 layers (momentum inactive)
    donors = np.array([[0.25, 0.5, 0.5, np.nan, np.nan], [0.75, 0.5, np.nan, 0.6, 0.1]])
    # explored rows as the core gives them: both switched branch; values in the
    # donors' inactive columns came from a filler and mean nothing
    rows = np.array([[0.75, 0.55, 0.55, 0.5, 0.5], [0.25, 0.45, 0.5, 0.6, 0.1]])
    out = conditional_rows(SPACE, donors, rows, words, 3)
    c = SPACE.from_unit(out)
    for cfg in c:
        check_config(cfg)
    assert c[0]["optimizer"] == "adam"
    assert c[1]["optimizer"] == "sgd"
    assert out[0, 3] != 0.5  # layers newly active: a fresh draw, not the filler
    assert out[1, 2] != 0.5  # momentum newly active: a fresh draw
    assert np.isnan(out[0, 2])
    assert np.isnan(out[1, 3])
    assert np.isnan(out[1, 4])
    assert out[0, 1] == 0.55
    assert out[1, 1] == 0.45
    np.testing.assert_array_equal(out, conditional_rows(SPACE, donors, rows, words, 3))
    assert not np.array_equal(
        out, conditional_rows(SPACE, donors, rows, words, 4), equal_nan=True
    )


def test_pbt_forbidden_rows_are_redrawn() -> None:
    words = np.array([4, 5, 6], dtype=np.uint32)
    donors = np.array([[0.75, 0.5, np.nan, 0.9, 0.9]] * 50)
    rows = np.array([[0.75, 0.5, 0.5, 0.9, 0.9]] * 50)  # adam, 4 layers, tanh
    out = conditional_rows(SPACE, donors, rows, words, 0)
    for cfg in SPACE.from_unit(out):  # from_unit refuses forbidden rows
        check_config(cfg)


# -- the other schedulers -----------------------------------------------------------------
def _train_checking(seen: list[dict]):
    def train(c, budget, state):
        seen.append(dict(c))
        check_config(c)
        return scalar_loss(c) + 1.0 / budget, budget

    return train


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("hyperband", {"max_budget": 27, "eta": 3}),
        ("successive_halving", {"n": 27, "min_budget": 1, "max_budget": 9, "eta": 3}),
        ("asha", {"n_trials": 30, "min_budget": 1, "max_budget": 9, "eta": 3}),
    ],
)
def test_schedulers_pass_active_parameters_only(method, kwargs) -> None:
    seen: list[dict] = []
    r = getattr(hz, method)(_train_checking(seen), SPACE, rng=21, **kwargs)
    assert seen
    assert {c["optimizer"] for c in seen} == {"sgd", "adam"}
    t = r.trials
    for _i, c in enumerate(t.configs):
        check_config(c)
    check_frame(r.to_pandas(), t.configs)
    curves = t.to_pandas(curves=True)
    assert str(curves["layers"].dtype) == "Int64"
    rows = np.repeat(np.arange(len(t)), [c.shape[0] for c in t.curves])
    assert (curves["momentum"].isna().to_numpy() == ~t.configs.active[rows, 2]).all()
    check_config(r.best)
    assert r.best_value == pytest.approx(
        min(v for v in t.value[t.budget == t.budget.max()])
    )


def test_search_to_pandas_has_missing_entries(search_result) -> None:
    t = search_result.trials
    df = search_result.to_pandas()
    check_frame(df, t.configs)
    assert df["act"].isna().any()
    assert df["momentum"].isna().any()
    assert len(df) == len(t)
