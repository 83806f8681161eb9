"""hyperzoom.ray.CoarseToFineSearch: a Ray Tune searcher over an asynchronous search.

One Tuner run (ASHA stopping trials early) checks the searcher inside Tune; the laws
(same suggestions as the optimiser driven by hand, save/restore continues exactly,
failures, bad input) are checked by calling the searcher as Tune would, without Ray
running. Skipped when Ray Tune is not installed.
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("ray.tune", reason="ray is optional (pip install hyperzoom[ray])")

import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search import ConcurrencyLimiter, Searcher

import hyperzoom as hz
from hyperzoom.ray import CoarseToFineSearch

SEED = 0x5E1B_0C2A_77D4_91F3_3A60_C8E5_0B9D_2F17

SPACE = hz.Space(
    optimizer=hz.Choice(["sgd", "adam"]),
    learning_rate=hz.LogUniform(1e-4, 1.0),
    momentum=hz.InvLogUniform(0.9, 0.999).when(optimizer="sgd"),
    beta2=hz.InvLogUniform(0.99, 0.9999).when(optimizer="adam"),
    layers=hz.IntUniform(1, 4),
)
FLAT = hz.Space(lr=hz.LogUniform(1e-4, 1.0), beta=hz.InvLogUniform(0.9, 0.999))


def loss_of(config: dict[str, Any]) -> float:
    a = math.log10(config["learning_rate"]) + 2.5
    extra = (
        0.4 * (math.log10(1 - config["momentum"]) + 2.0) ** 2
        if config["optimizer"] == "sgd"
        else 0.1 + 0.2 * (math.log10(1 - config["beta2"]) + 3.0) ** 2
    )
    return a**2 + extra + 0.05 * (config["layers"] - 3) ** 2


def flat_loss(config: dict[str, Any]) -> float:
    return (math.log10(config["lr"]) + 2.5) ** 2 + (
        math.log10(1 - config["beta"]) + 2
    ) ** 2


def active_names(config: dict[str, Any]) -> set[str]:
    names = {"optimizer", "learning_rate", "layers"}
    return names | ({"momentum"} if config["optimizer"] == "sgd" else {"beta2"})


def in_space(config: dict[str, Any]) -> bool:
    ok = 1e-4 <= config["learning_rate"] <= 1.0 and config["layers"] in (1, 2, 3, 4)
    if config["optimizer"] == "sgd":
        ok = ok and 0.9 <= config["momentum"] <= 0.999
    else:
        ok = ok and 0.99 <= config["beta2"] <= 0.9999
    return ok and type(config["layers"]) is int


def drive(
    searcher: CoarseToFineSearch,
    n: int,
    *,
    in_flight: int = 4,
    rng: np.random.Generator,
    loss: Any = loss_of,
    prefix: str = "t",
    log: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """Suggest ``n`` trials, keeping ``in_flight`` running, completing them in a
    random order; ``log`` records what happened (to replay it on an optimiser)."""
    configs: list[dict[str, Any]] = []
    running: list[str] = []
    i = 0
    while i < n or running:
        if i < n and len(running) < in_flight:
            tid = f"{prefix}{i}"
            config = searcher.suggest(tid)
            assert isinstance(config, dict)
            configs.append(config)
            running.append(tid)
            if log is not None:
                log.append(("ask", config))
            i += 1
            continue
        tid = running.pop(int(rng.integers(len(running))))
        value = loss(configs[int(tid[len(prefix) :])])
        searcher.on_trial_complete(tid, {"loss": value})
        if log is not None:
            log.append(("tell", int(tid[len(prefix) :]), value))
    return configs


@pytest.fixture(scope="module")
def ray_session() -> Any:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


# -- inside Tune ----------------------------------------------------------------------
def test_tuner_with_asha_tells_each_trials_last_result(
    ray_session: Any, tmp_path: Path
) -> None:
    def train(config: dict[str, Any]) -> None:
        base = loss_of(config)
        for epoch in range(1, config["epochs"] + 1):
            tune.report({"loss": base + 1.0 / epoch})

    searcher = CoarseToFineSearch(SPACE, metric="loss", mode="min", seed=SEED)
    tuner = tune.Tuner(
        tune.with_resources(train, {"cpu": 0.5}),
        param_space={"epochs": 4},  # a constant passed beside the suggestions
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=ASHAScheduler(
                metric="loss", mode="min", max_t=4, grace_period=1, reduction_factor=2
            ),
            num_samples=10,
            max_concurrent_trials=4,  # wraps the searcher in a ConcurrencyLimiter
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
    )
    results = tuner.fit()
    assert len(results) == 10
    assert results.num_errors == 0
    told = searcher.result().trials
    ids = searcher.trial_ids
    iterations = set()
    for r in results:
        config = {k: v for k, v in r.config.items() if k != "epochs"}
        assert set(config) == active_names(config)  # inactive names are absent
        assert in_space(config)
        hz_id = ids[r.metrics["trial_id"]]
        assert searcher.space  # the searcher's own space
        assert told.value[hz_id] == r.metrics["loss"]  # the last reported result
        iterations.add(r.metrics["training_iteration"])
    assert 1 in iterations  # ASHA stopped some trials after one epoch ...
    assert 4 in iterations  # ... and let others finish
    assert len(told) == 10
    assert np.isfinite(told.value).all()
    # Tune saved the searcher in the experiment directory (what Tuner.restore reads).
    (saved,) = tmp_path.rglob("searcher-state-*.pkl")
    restored = CoarseToFineSearch(FLAT, seed=1)
    restored.restore(str(saved))
    assert restored.trial_ids == ids
    np.testing.assert_array_equal(restored.result().trials.value, told.value)


def test_tune_config_metric_and_mode_reach_the_searcher() -> None:
    searcher = CoarseToFineSearch(FLAT, seed=SEED)
    assert searcher.set_search_properties("acc", "max", {"epochs": 3})
    assert (searcher.metric, searcher.mode) == ("acc", "max")
    assert searcher.suggest("a") is not None


def test_param_space_with_search_domains_is_refused() -> None:
    searcher = CoarseToFineSearch(FLAT, metric="loss", mode="min", seed=SEED)
    assert not searcher.set_search_properties(None, None, {"x": tune.uniform(0, 1)})
    assert not searcher.set_search_properties(
        None, None, {"a": {"b": tune.grid_search([1, 2])}}
    )


def test_conflicting_metric_or_mode_is_refused() -> None:
    searcher = CoarseToFineSearch(FLAT, metric="loss", mode="min", seed=SEED)
    with pytest.raises(ValueError, match="`mode='max'` differs"):
        searcher.set_search_properties("loss", "max", {})
    with pytest.raises(ValueError, match="`metric='acc'` differs"):
        searcher.set_search_properties("acc", None, {})


# -- the laws, without Ray running ----------------------------------------------------
@pytest.mark.parametrize("mode", ["min", "max"])
def test_suggestions_equal_the_optimizer_driven_by_hand(mode: str) -> None:
    sign = 1.0 if mode == "min" else -1.0
    searcher = CoarseToFineSearch(SPACE, metric="loss", mode=mode, seed=SEED)
    log: list[Any] = []
    configs = drive(
        searcher,
        80,
        rng=np.random.default_rng(SEED),
        loss=lambda c: sign * loss_of(c),
        log=log,
    )
    opt = hz.CoarseToFine(
        SPACE, budget=None, rng=SEED, minimize=mode == "min", asynchronous=True
    )
    asked = []
    for event in log:
        if event[0] == "ask":
            c = opt.ask(1)
            asked.append(c[0])
            assert c[0] == event[1]
        else:
            opt.tell([event[1]], [event[2]])
    assert asked == configs
    ours, theirs = searcher.result(), opt.result()
    np.testing.assert_array_equal(ours.trials.unit, theirs.trials.unit)
    np.testing.assert_array_equal(ours.trials.value, theirs.trials.value)
    assert ours.best == theirs.best
    values = ours.trials.value
    assert ours.best_value == (values.min() if mode == "min" else values.max())


def test_suggestions_are_plain_python_values_of_active_parameters() -> None:
    searcher = CoarseToFineSearch(SPACE, metric="loss", mode="min", seed=SEED)
    configs = drive(searcher, 40, rng=np.random.default_rng(1))
    for config in configs:
        assert set(config) == active_names(config)
        assert in_space(config)
        assert all(type(v) in (str, int, float) for v in config.values())
    assert {c["optimizer"] for c in configs} == {"sgd", "adam"}


def test_the_same_trial_id_gets_the_same_configuration() -> None:
    searcher = CoarseToFineSearch(FLAT, metric="loss", mode="min", seed=SEED)
    first = searcher.suggest("a")
    searcher.suggest("b")
    assert searcher.suggest("a") == first
    assert searcher.trial_ids == {"a": 0, "b": 1}


@pytest.mark.parametrize("space", [SPACE, FLAT], ids=["conditional", "flat"])
def test_save_and_restore_continue_exactly(space: hz.Space, tmp_path: Path) -> None:
    loss = loss_of if space is SPACE else flat_loss
    a = CoarseToFineSearch(space, metric="loss", mode="min", seed=SEED, round_size=6)
    rng = np.random.default_rng(7)
    drive(a, 30, rng=rng, loss=loss)
    running = {f"r{i}": a.suggest(f"r{i}") for i in range(3)}  # in flight when saved
    path = tmp_path / "searcher.pkl"
    a.save(str(path))
    b = CoarseToFineSearch(FLAT, metric="other", mode="max", seed=1)  # all replaced
    b.restore(str(path))
    c = pickle.loads(pickle.dumps(a))  # Tune pickles its Tuner, searcher included
    assert (b.metric, b.mode) == ("loss", "min")
    for s in (a, b, c):
        for tid, config in running.items():
            assert s.suggest(tid) == config
            s.on_trial_complete(tid, {"loss": loss(config)})
    more = [
        drive(s, 25, rng=np.random.default_rng(9), loss=loss, prefix="m")
        for s in (a, b, c)
    ]
    assert more[0] == more[1] == more[2]
    np.testing.assert_array_equal(a.result().trials.unit, b.result().trials.unit)
    np.testing.assert_array_equal(a.result().trials.unit, c.result().trials.unit)


def test_a_space_json_cannot_hold_is_saved_pickled(tmp_path: Path) -> None:
    space = hz.Space(lr=hz.LogUniform(1e-3, 1.0), scale=hz.Choice([0.5, (1, 2)]))
    a = CoarseToFineSearch(space, metric="loss", mode="min", seed=SEED)
    drive(a, 12, rng=np.random.default_rng(3), loss=lambda c: c["lr"])
    assert "pickle" in a.get_state()["space"]
    assert "json" in CoarseToFineSearch(FLAT, seed=1).get_state()["space"]
    a.save(str(tmp_path / "s.pkl"))
    b = CoarseToFineSearch(FLAT, seed=1)
    b.restore(str(tmp_path / "s.pkl"))
    assert b.space == space
    assert b.suggest("next") == a.suggest("next")


def test_a_seedless_searcher_saves_the_seed_it_drew(tmp_path: Path) -> None:
    a = CoarseToFineSearch(FLAT, metric="loss", mode="min")
    drive(a, 10, rng=np.random.default_rng(3), loss=flat_loss)
    b = pickle.loads(pickle.dumps(a))
    assert b.suggest("next") == a.suggest("next")


def test_a_history_that_does_not_replay_is_refused() -> None:
    a = CoarseToFineSearch(FLAT, metric="loss", mode="min", seed=SEED)
    drive(a, 5, rng=np.random.default_rng(3), loss=flat_loss)
    state = a.get_state()
    state["seed"] = CoarseToFineSearch(FLAT, seed=SEED + 1).get_state()["seed"]
    with pytest.raises(ValueError, match="does not replay: trial 't0'"):
        CoarseToFineSearch(FLAT, seed=1).set_state(state)
    with pytest.raises(ValueError, match="not that of a hyperzoom"):
        CoarseToFineSearch(FLAT, seed=1).set_state({"format": "optuna"})


# -- failures -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("result", "error", "text"),
    [
        (None, True, "raised an error"),
        ({"loss": 1.0}, True, "raised an error"),
        ({"acc": 0.5}, False, "reported no 'loss'"),
        (None, False, "reported no 'loss'"),
        ({"loss": float("nan")}, False, "loss=nan"),
        ({"loss": float("inf")}, False, "loss=inf"),
        ({"loss": "bad"}, False, "not a number"),
    ],
    ids=[
        "error",
        "error-with-result",
        "other-metric",
        "no-result",
        "nan",
        "inf",
        "str",
    ],
)
def test_errors_and_missing_metrics_fail_the_trial(
    result: dict[str, Any] | None, error: bool, text: str
) -> None:
    searcher = CoarseToFineSearch(FLAT, metric="loss", mode="min", seed=SEED)
    searcher.suggest("bad")
    searcher.suggest("good")
    searcher.on_trial_complete("bad", result, error=error)
    searcher.on_trial_complete("good", {"loss": np.float32(2.0)})
    trials = searcher.result().trials
    assert trials.status.tolist() == ["failed", "ok"]
    assert math.isnan(trials.value[0])
    assert text in trials.error[0]
    assert searcher.result().best_value == 2.0


def test_unknown_and_repeated_completions_are_ignored() -> None:
    searcher = CoarseToFineSearch(FLAT, metric="loss", mode="min", seed=SEED)
    searcher.suggest("a")
    searcher.on_trial_complete("never-suggested", {"loss": 1.0})
    searcher.on_trial_complete("a", {"loss": 1.0})
    searcher.on_trial_complete("a", {"loss": 0.0})
    assert searcher.result().trials.value.tolist() == [1.0]


def test_every_trial_failing_does_not_stop_the_search() -> None:
    searcher = CoarseToFineSearch(FLAT, metric="loss", mode="min", seed=SEED)
    for i in range(40):
        assert searcher.suggest(str(i)) is not None
        searcher.on_trial_complete(str(i), None, error=True)
    assert searcher.suggest("next") is not None


# -- concurrency and budget -----------------------------------------------------------
def test_max_concurrent_holds_suggestions_back() -> None:
    searcher = CoarseToFineSearch(
        FLAT, metric="loss", mode="min", seed=SEED, max_concurrent=2
    )
    assert searcher.suggest("a") is not None
    assert searcher.suggest("b") is not None
    assert searcher.suggest("c") is None
    searcher.on_trial_complete("a", {"loss": 1.0})
    assert searcher.suggest("c") is not None
    restored = pickle.loads(pickle.dumps(searcher))
    assert restored.suggest("d") is None


def test_a_concurrency_limiter_keeps_its_own_limit() -> None:
    searcher = CoarseToFineSearch(FLAT, metric="loss", mode="min", seed=SEED)
    limited = ConcurrencyLimiter(searcher, max_concurrent=1)
    assert limited.suggest("a") is not None
    assert limited.suggest("b") is None
    limited.on_trial_complete("a", {"loss": 1.0})
    assert limited.suggest("b") is not None


def test_a_spent_budget_finishes_the_search() -> None:
    searcher = CoarseToFineSearch(FLAT, metric="loss", mode="min", seed=SEED, budget=3)
    for i in range(3):
        assert isinstance(searcher.suggest(str(i)), dict)
    assert searcher.suggest("3") == Searcher.FINISHED


# -- bad input ------------------------------------------------------------------------
def test_suggest_without_metric_or_mode_says_what_is_missing() -> None:
    with pytest.raises(ValueError, match=r"needs `metric` and `mode`.*metric=None"):
        CoarseToFineSearch(FLAT, mode="min").suggest("a")
    with pytest.raises(ValueError, match="mode=None"):
        CoarseToFineSearch(FLAT, metric="loss").suggest("a")


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (
            ({"lr": tune.loguniform(1e-4, 1)},),
            {},
            TypeError,
            "must be a hyperzoom Space",
        ),
        ((None,), {}, TypeError, "must be a hyperzoom Space, but got NoneType"),
        ((FLAT, "loss", "maximize"), {}, ValueError, "'min' or 'max'"),
        ((FLAT, ["a", "b"], ["min", "max"]), {}, TypeError, "single metric"),
        ((FLAT,), {"minimize": False}, TypeError, "`mode=`"),
        ((FLAT,), {"rng": 3}, TypeError, "pass `seed=`"),
        ((FLAT,), {"asynchronous": False}, TypeError, "always asynchronous"),
        ((FLAT,), {"budgett": 3}, TypeError, "'budgett' is not a setting"),
        ((FLAT,), {"keep": 2.0}, ValueError, "`keep` must be in"),
        ((FLAT,), {"seed": np.random.default_rng(1)}, TypeError, "not a Generator"),
        ((FLAT,), {"seed": -1}, ValueError, "non-negative"),
        ((FLAT,), {"max_concurrent": 0}, ValueError, "max_concurrent"),
    ],
    ids=[
        "tune-dict",
        "none",
        "mode",
        "two-metrics",
        "minimize",
        "rng",
        "asynchronous",
        "typo",
        "keep",
        "generator",
        "negative-seed",
        "max-concurrent",
    ],
)
def test_bad_arguments_are_refused(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        CoarseToFineSearch(*args, **kwargs)
