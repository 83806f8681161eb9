"""hyperzoom.sklearn: CoarseToFineSearchCV and HalvingCoarseToFineSearchCV."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

import hyperzoom as hz

pytest.importorskip("sklearn")

from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Lasso, Ridge
from sklearn.model_selection import (
    HalvingRandomSearchCV,
    KFold,
    RandomizedSearchCV,
    cross_val_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
)

from hyperzoom.sklearn import (
    CoarseToFineSearchCV,
    HalvingCoarseToFineSearchCV,
    SearchPlan,
    rank_preserving,
)

SEED = 0x5EED_C0A2  # scikit-learn takes seeds below 2**32


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def _tree_space():
    return {
        "max_depth": hz.IntUniform(1, 6),
        "min_samples_leaf": hz.IntLogUniform(1, 20),
        "criterion": ["gini", "entropy"],
    }


# -- the search is coarse to fine, told the CV scores ------------------------------------
def test_candidates_and_told_values_equal_a_hand_driven_coarse_to_fine(diabetes):
    X, y = diabetes
    cv = KFold(3)
    dist = hz.LogUniform(1e-4, 1e3)
    search = CoarseToFineSearchCV(
        Ridge(),
        {"alpha": dist},
        n_iter=20,
        cv=cv,
        random_state=SEED,
        first_round=8,
        round_size=4,
    ).fit(X, y)

    opt = hz.CoarseToFine(
        hz.Space(alpha=dist),
        budget=20,
        first_round=8,
        round_size=4,
        minimize=False,
        rng=SEED,
    )
    params, scores = [], []
    while not opt.done:
        c = opt.ask()
        values = []
        for i in range(len(c)):
            p = {"alpha": float(c["alpha"][i])}
            params.append(p)
            values.append(cross_val_score(Ridge(**p), X, y, cv=cv).mean())
        scores += values
        opt.tell(c, values)

    assert search.cv_results_["params"] == params
    assert all(type(p["alpha"]) is float for p in search.cv_results_["params"])
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], scores, rtol=1e-12
    )
    np.testing.assert_allclose(
        search.search_result_.trials.value, opt.result().trials.value, rtol=1e-12
    )
    assert search.best_params_ == params[int(np.argmax(scores))]
    assert search.best_score_ == pytest.approx(max(scores))
    assert isinstance(search.best_estimator_, Ridge)
    assert search.best_estimator_.alpha == search.best_params_["alpha"]
    # zoomed rounds: later candidates lie closer to the best than the coarse ones
    alphas = np.log10([p["alpha"] for p in params])
    best = np.log10(search.best_params_["alpha"])
    assert np.median(abs(alphas[8:] - best)) < np.median(abs(alphas[:8] - best))


@pytest.mark.parametrize(
    ("scoring", "refit", "return_train_score"),
    [
        (None, True, False),
        ({"acc": "accuracy", "bacc": "balanced_accuracy"}, "bacc", True),
    ],
    ids=["one-metric", "multimetric"],
)
def test_cv_results_have_randomized_search_keys_and_shapes(
    iris, scoring, refit, return_train_score
):
    X, y = iris
    kw = {"n_iter": 12, "cv": 3, "scoring": scoring, "refit": refit}
    kw["return_train_score"] = return_train_score
    ours = CoarseToFineSearchCV(
        DecisionTreeClassifier(random_state=0), _tree_space(), random_state=SEED, **kw
    ).fit(X, y)
    theirs = RandomizedSearchCV(
        DecisionTreeClassifier(random_state=0), _tree_space(), random_state=1, **kw
    ).fit(X, y)
    assert sorted(ours.cv_results_) == sorted(theirs.cv_results_)
    for key, value in theirs.cv_results_.items():
        mine = ours.cv_results_[key]
        assert np.shape(mine) == np.shape(value), key
        assert isinstance(mine, np.ma.MaskedArray) == isinstance(
            value, np.ma.MaskedArray
        )
    for attr in ("best_index_", "best_params_", "best_score_", "n_splits_", "scorer_"):
        assert hasattr(ours, attr), attr
    assert ours.predict(X[:5]).shape == (5,)
    assert 0.9 < ours.score(X, y) <= 1.0


def test_multimetric_scoring_tells_the_refit_metric(diabetes):
    X, y = diabetes
    search = CoarseToFineSearchCV(
        Ridge(),
        {"alpha": hz.LogUniform(1e-3, 1e3)},
        n_iter=14,
        cv=3,
        scoring={"r2": "r2", "mae": "neg_mean_absolute_error"},
        refit="mae",
        random_state=SEED,
    ).fit(X, y)
    told = search.search_result_.trials.value
    np.testing.assert_array_equal(told, search.cv_results_["mean_test_mae"])
    assert not np.array_equal(told, search.cv_results_["mean_test_r2"])
    assert search.best_index_ == int(np.argmax(told))


def test_multimetric_without_a_refit_name_is_refused_before_any_fit(diabetes):
    X, y = diabetes
    search = CoarseToFineSearchCV(
        _NeverFit(),
        {"alpha": hz.LogUniform(1e-3, 1e3)},
        scoring={"r2": "r2", "mae": "neg_mean_absolute_error"},
        refit=False,
        error_score="raise",
    )
    with pytest.raises(ValueError, match="`refit` must name the metric"):
        search.fit(X, y)


# -- pipelines, choices and alternatives ------------------------------------------------
def test_pipeline_step_parameters(diabetes):
    X, y = diabetes
    pipe = Pipeline([("scale", StandardScaler()), ("model", Ridge())])
    search = CoarseToFineSearchCV(
        pipe,
        {"model__alpha": hz.LogUniform(1e-3, 1e3), "scale__with_mean": [True, False]},
        n_iter=12,
        cv=3,
        random_state=SEED,
    ).fit(X, y)
    assert set(search.best_params_) == {"model__alpha", "scale__with_mean"}
    assert {type(p["scale__with_mean"]) for p in search.cv_results_["params"]} == {bool}
    assert search.best_estimator_.named_steps["model"].alpha == pytest.approx(
        search.best_params_["model__alpha"]
    )


def _alternatives():
    return [
        {"model": [Ridge()], "model__alpha": hz.LogUniform(1e-3, 1e3)},
        {
            "model": [KernelRidge(kernel="rbf")],
            "model__alpha": hz.LogUniform(1e-4, 10),
            "model__gamma": hz.LogUniform(1e-4, 1),
        },
    ]


def test_alternatives_choose_an_estimator_per_pipeline_step(diabetes):
    X, y = diabetes
    pipe = Pipeline([("scale", StandardScaler()), ("model", Ridge())])
    search = CoarseToFineSearchCV(
        pipe, _alternatives(), n_iter=16, cv=3, random_state=SEED
    ).fit(X, y)
    params = search.cv_results_["params"]
    kinds = [type(p["model"]).__name__ for p in params]
    assert set(kinds) == {"Ridge", "KernelRidge"}
    for p, kind in zip(params, kinds):
        assert "alternative" not in p
        assert ("model__gamma" in p) == (kind == "KernelRidge")
        assert "model__alpha" in p
    gamma = search.cv_results_["param_model__gamma"]
    assert list(np.ma.getmaskarray(gamma)) == [k == "Ridge" for k in kinds]
    # the alternative's own range of alpha: Ridge's reaches above KernelRidge's 10
    space = search.plan_.space
    assert space.names[0] == "alternative"
    assert {"model__alpha[Ridge]", "model__alpha[KernelRidge]"} <= set(space.names)
    best = search.best_estimator_.named_steps["model"]
    assert type(best).__name__ == type(search.best_params_["model"]).__name__
    assert best is not search.best_params_["model"]  # refit on a clone
    # RandomizedSearchCV on the same alternatives: the same columns
    theirs = RandomizedSearchCV(pipe, _alternatives(), n_iter=6, cv=3, random_state=0)
    theirs.fit(X, y)
    assert sorted(search.cv_results_) == sorted(theirs.cv_results_)


def test_a_choice_of_estimators_in_one_dict(diabetes):
    X, y = diabetes
    pipe = Pipeline([("scale", StandardScaler()), ("model", Ridge())])
    search = CoarseToFineSearchCV(
        pipe,
        {
            "model": [Ridge(), Lasso(max_iter=5000)],
            "model__alpha": hz.LogUniform(1e-2, 1),
        },
        n_iter=10,
        cv=3,
        random_state=SEED,
    ).fit(X, y)
    assert {type(p["model"]) for p in search.cv_results_["params"]} == {Ridge, Lasso}
    bad = {"model": [Ridge(), KernelRidge()], "model__gamma": hz.LogUniform(1e-3, 1)}
    with pytest.raises(ValueError, match=r"'model__gamma' is not a parameter of every"):
        CoarseToFineSearchCV(_never_pipe(), bad).fit(X, y)


def test_a_space_with_conditions_is_searched_as_given(iris):
    X, y = iris
    space = hz.Space(
        criterion=hz.Choice(["gini", "entropy"]),
        max_depth=hz.IntUniform(1, 6),
        min_samples_leaf=hz.IntUniform(1, 10).when(criterion="entropy"),
    )
    search = CoarseToFineSearchCV(
        DecisionTreeClassifier(random_state=0),
        space,
        n_iter=12,
        cv=3,
        random_state=SEED,
    ).fit(X, y)
    for p in search.cv_results_["params"]:
        assert ("min_samples_leaf" in p) == (p["criterion"] == "entropy")
    assert search.plan_.space is space


# -- failures and bad input -------------------------------------------------------------
def test_a_failing_fit_fails_only_its_candidate(iris):
    X, y = iris
    search = CoarseToFineSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": hz.IntUniform(-1, 4)},  # max_depth < 1 raises in fit
        n_iter=12,
        cv=3,
        random_state=SEED,
    )
    with (
        pytest.warns(FitFailedWarning),
        pytest.warns(UserWarning, match="non-finite"),
    ):
        search.fit(X, y)
    depth = np.array([p["max_depth"] for p in search.cv_results_["params"]])
    scores = search.cv_results_["mean_test_score"]
    assert (depth < 1).any()
    assert (depth >= 1).any()
    np.testing.assert_array_equal(np.isnan(scores), depth < 1)
    trials = search.search_result_.trials
    np.testing.assert_array_equal(np.isnan(trials.value), depth < 1)
    assert search.best_params_["max_depth"] >= 1
    raising = clone(search).set_params(error_score="raise")
    with pytest.raises(ValueError, match="max_depth"):
        raising.fit(X, y)


class _NeverFit(RegressorMixin, BaseEstimator):
    """A regressor whose fit fails the test: bad input must be refused before."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y):
        raise AssertionError("fit was called")


def _never_pipe():
    return Pipeline([("scale", StandardScaler()), ("model", _NeverFit())])


def test_unknown_names_are_refused_before_any_fit(diabetes):
    X, y = diabetes
    with pytest.raises(
        ValueError, match=r"'alpah' is not a parameter of the estimator"
    ):
        CoarseToFineSearchCV(_NeverFit(), {"alpha": [1, 2], "alpah": [1, 2]}).fit(X, y)
    with pytest.raises(ValueError, match=r"'model__gamma' is not a parameter"):
        CoarseToFineSearchCV(
            _never_pipe(), {"model__gamma": hz.LogUniform(1e-3, 1)}
        ).fit(X, y)
    with pytest.raises(ValueError, match=r"param_distributions\[1\]`: 'model__beta'"):
        CoarseToFineSearchCV(
            _never_pipe(),
            [{"model__alpha": [1, 2]}, {"model": [Ridge()], "model__beta": [1, 2]}],
        ).fit(X, y)
    branched = hz.Space.branches(
        a=hz.Space(alpha=hz.LogUniform(1e-3, 1)), b=hz.Space(), name="which"
    )
    with pytest.raises(ValueError, match=r"'which' is not a parameter.*list of dicts"):
        CoarseToFineSearchCV(_NeverFit(), branched).fit(X, y)


def test_values_that_are_not_hyperzoom_distributions_are_refused(diabetes):
    X, y = diabetes
    scipy_stats = pytest.importorskip("scipy.stats")
    with pytest.raises(TypeError, match="parameter 'alpha' must be a hyperzoom"):
        CoarseToFineSearchCV(
            _NeverFit(), {"alpha": scipy_stats.loguniform(1e-3, 1)}
        ).fit(X, y)
    with pytest.raises(TypeError, match="parameter 'alpha' must be a hyperzoom"):
        CoarseToFineSearchCV(_NeverFit(), {"alpha": 0.5}).fit(X, y)
    with pytest.raises(ValueError, match="'alpha' has an empty list"):
        CoarseToFineSearchCV(_NeverFit(), {"alpha": []}).fit(X, y)
    with pytest.raises(ValueError, match="nothing to search"):
        CoarseToFineSearchCV(_NeverFit(), {"alpha": [1.0]}).fit(X, y)
    with pytest.raises(ValueError, match="param_distributions"):  # sklearn's check
        CoarseToFineSearchCV(_NeverFit(), "alpha").fit(X, y)


# -- scikit-learn conventions ------------------------------------------------------------
def test_random_state_conventions(diabetes):
    X, y = diabetes

    def params(random_state):
        s = CoarseToFineSearchCV(
            Ridge(),
            {"alpha": hz.LogUniform(1e-3, 1e3)},
            n_iter=6,
            cv=2,
            random_state=random_state,
        ).fit(X, y)
        return s.cv_results_["params"]

    assert params(7) == params(7)
    assert params(7) != params(8)
    assert params(np.random.RandomState(3)) == params(np.random.RandomState(3))
    rs = np.random.RandomState(3)
    assert params(rs) != params(rs)  # one seed drawn per fit
    assert len(params(None)) == 6


def test_clone_get_params_set_params_and_pickle(diabetes):
    X, y = diabetes
    dists = {"alpha": hz.LogUniform(1e-3, 1e3), "fit_intercept": [True, False]}
    search = CoarseToFineSearchCV(Ridge(), dists, n_iter=5, cv=2, random_state=SEED)
    twin = clone(search)
    ours, theirs = search.get_params(deep=False), twin.get_params(deep=False)
    assert ours.keys() == theirs.keys()
    for key, value in ours.items():
        if key == "estimator":
            assert repr(theirs[key]) == repr(value)
        elif isinstance(value, float) and np.isnan(value):
            assert np.isnan(theirs[key])
        else:
            assert theirs[key] == value, key
    assert "estimator__alpha" in search.get_params(deep=True)
    twin.set_params(n_iter=3, round_size=2, estimator__alpha=2.0)
    assert (twin.n_iter, twin.round_size, twin.estimator.alpha) == (3, 2, 2.0)
    assert search.n_iter == 5
    for check in (check_get_params_invariance, check_set_params):
        check("CoarseToFineSearchCV", search)
    check_no_attributes_set_in_init("CoarseToFineSearchCV", clone(search))
    fitted = pickle.loads(pickle.dumps(search.fit(X, y)))
    assert fitted.best_params_ == search.best_params_
    np.testing.assert_array_equal(fitted.predict(X[:3]), search.predict(X[:3]))


def test_importing_hyperzoom_does_not_import_sklearn():
    code = "import sys, hyperzoom; print('sklearn' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_search_plan_maps_configurations_to_parameters():
    pipe = Pipeline([("scale", StandardScaler()), ("model", Ridge())])
    plan = SearchPlan.from_distributions(_alternatives(), pipe)
    config = {
        "alternative": "KernelRidge",
        "model__alpha[KernelRidge]": np.float64(0.5),
    }
    config["model__gamma"] = np.float64(0.1)
    params = plan.params(config)
    assert list(params) == ["model", "model__alpha", "model__gamma"]
    assert isinstance(params["model"], KernelRidge)
    assert type(params["model__alpha"]) is float


# -- successive halving -------------------------------------------------------------------
def _halving(random_state=SEED, **kw):
    kw = {"n_iter": 24, "cv": 3, "factor": 3, "first_round": 9, "round_size": 5, **kw}
    return HalvingCoarseToFineSearchCV(
        DecisionTreeClassifier(random_state=0),
        _tree_space(),
        random_state=random_state,
        **kw,
    )


def test_halving_bookkeeping(iris):
    X, y = iris
    search = _halving().fit(X, y)
    res = search.cv_results_
    it, n_res, bracket = (
        np.asarray(res[k]) for k in ("iter", "n_resources", "bracket")
    )
    assert search.n_iterations_ == len(search.n_resources_) == len(search.n_candidates_)
    assert it.max() + 1 == search.n_iterations_
    np.testing.assert_array_equal(n_res, np.asarray(search.n_resources_)[it])
    np.testing.assert_array_equal(
        np.bincount(it, minlength=search.n_iterations_), search.n_candidates_
    )
    firsts = [it[bracket == b].min() for b in range(search.n_brackets_)]
    assert sum(search.n_candidates_[i] for i in firsts) == 24
    assert [search.n_candidates_[i] for i in firsts] == [9, 5, 5, 5]
    for b in range(search.n_brackets_):
        rows = bracket == b
        its = np.unique(it[rows])
        assert np.all(np.diff(np.asarray(search.n_resources_)[its]) > 0)
        # each iteration keeps ceil(n / factor) candidates
        counts = [int((it == i).sum()) for i in its]
        assert all(b_ == -(-a // 3) for a, b_ in zip(counts, counts[1:]))
    # exhaust: every bracket ends near max_resources (150 samples)
    ends = [n_res[bracket == b].max() for b in range(search.n_brackets_)]
    assert min(ends) > 150 / 3
    assert search.min_resources_ == n_res.min()
    assert search.max_resources_ == 150
    # the best is a finalist of some bracket
    final = it[search.best_index_] == it[bracket == bracket[search.best_index_]].max()
    assert final
    assert search.best_score_ == res["mean_test_score"][search.best_index_]
    # one told value per candidate, finalists at their own score
    assert len(search.search_result_.trials.value) == 24
    theirs = HalvingRandomSearchCV(
        DecisionTreeClassifier(random_state=0), _tree_space(), cv=3, random_state=0
    ).fit(X, y)
    assert sorted(res) == sorted([*theirs.cv_results_, "bracket"])


def test_halving_is_deterministic_for_a_random_state(iris):
    X, y = iris
    a, b, c = (_halving(seed).fit(X, y) for seed in (SEED, SEED, SEED + 1))
    assert a.cv_results_["params"] == b.cv_results_["params"]
    np.testing.assert_array_equal(
        a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"]
    )
    assert a.n_resources_ == b.n_resources_
    assert a.cv_results_["params"] != c.cv_results_["params"]


def test_halving_over_another_resource(diabetes):
    X, y = diabetes
    from sklearn.ensemble import RandomForestRegressor

    search = HalvingCoarseToFineSearchCV(
        RandomForestRegressor(random_state=0),
        {"max_depth": hz.IntUniform(1, 6)},
        resource="n_estimators",
        max_resources=9,
        min_resources=1,
        n_iter=6,
        cv=2,
        random_state=SEED,
    ).fit(X, y)
    assert all(
        p["n_estimators"] == r
        for p, r in zip(search.cv_results_["params"], search.cv_results_["n_resources"])
    )
    assert search.best_estimator_.n_estimators == max(search.n_resources_)


def test_rank_preserving_scores_put_survivors_above_the_eliminated():
    rng = np.random.default_rng(SEED)
    for _ in range(50):
        n = int(rng.integers(1, 30))
        level = rng.integers(0, 4, n)
        score = rng.normal(size=n) * 10 ** rng.uniform(-3, 3)
        score[rng.random(n) < 0.1] = np.nan
        told = rank_preserving(level, score)
        np.testing.assert_array_equal(np.isnan(told), np.isnan(score))
        top = level == level.max()
        np.testing.assert_array_equal(told[top], score[top])
        for k in np.unique(level):
            here = (level == k) & ~np.isnan(told)
            later = (level > k) & ~np.isnan(told)
            if here.any() and later.any():
                assert told[here].max() < told[later].min()
            order = np.argsort(score[here], kind="stable")
            assert np.all(np.diff(told[here][order]) >= 0)


def test_doctests():
    import doctest

    import hyperzoom.sklearn

    failures, tests = doctest.testmod(hyperzoom.sklearn)
    assert tests > 0
    assert failures == 0
