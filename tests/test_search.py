"""hz.search and the ask/tell optimiser."""

from __future__ import annotations

import math
import random
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor

import numpy as np
import pytest

import hyperzoom as hz

from .pools import source_of, spawned_pool, worker_module

SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    layers=hz.IntUniform(1, 6),
    act=hz.Choice(["relu", "tanh", "gelu"]),
)


def vec_loss(c: hz.Configs) -> np.ndarray:
    """Best at lr = 10^-2.5, beta = 0.99, layers = 3, act = 'gelu'."""
    return (
        (np.log10(c["lr"]) + 2.5) ** 2
        + (np.log10(1 - c["beta"]) + 2) ** 2
        + 0.1 * (c["layers"] - 3) ** 2
        + 0.3 * (c["act"] != "gelu")
    )


def scalar_loss(lr: float, beta: float, layers: int, act: str) -> float:
    return (
        (math.log10(lr) + 2.5) ** 2
        + (math.log10(1 - beta) + 2) ** 2
        + 0.1 * (layers - 3) ** 2
        + 0.3 * (act != "gelu")
    )


def flaky_loss(lr: float, beta: float, layers: int, act: str) -> float:
    if act == "tanh":
        raise RuntimeError("tanh diverged")
    if layers == 6:
        return float("nan")
    return scalar_loss(lr, beta, layers, act)


class ShuffledExecutor(Executor):
    """Runs submitted calls in a random order on a few threads: completions arrive shuffled."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._pending: list[tuple[Future, object, tuple]] = []
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        f: Future = Future()
        with self._lock:
            self._pending.append((f, fn, args))
        return f

    def run_all(self) -> None:
        with self._lock:
            jobs, self._pending = self._pending, []
        self._rng.shuffle(jobs)
        for f, fn, args in jobs:
            try:
                f.set_result(fn(*args))
            except Exception as exc:  # noqa: BLE001
                f.set_exception(exc)


class AutoShuffled(ShuffledExecutor):
    """Completes everything (in shuffled order) the first time a result is waited for."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        f = super().submit(fn, *args, **kwargs)
        original = f.result

        def result(timeout=None):
            self.run_all()
            return original(timeout)

        f.result = result  # type: ignore[method-assign]
        return f


def same_trials(a: hz.SearchResult, b: hz.SearchResult) -> None:
    np.testing.assert_array_equal(a.trials.unit, b.trials.unit)
    np.testing.assert_array_equal(a.trials.value, b.trials.value)
    np.testing.assert_array_equal(a.trials.status, b.trials.status)
    assert a.best == b.best
    assert a.best_value == b.best_value


# -- finding optima -----------------------------------------------------------------------
def test_coarse_to_fine_finds_the_optimum(seed: int) -> None:
    r = hz.search(vec_loss, SPACE, budget=600, rng=seed)
    assert r.best["act"] == "gelu"
    assert r.best["layers"] == 3
    assert abs(math.log10(r.best["lr"]) + 2.5) < 0.1
    assert abs(math.log10(1 - r.best["beta"]) + 2) < 0.15
    assert r.best_value < 0.02
    assert len(r.trials) == 600


def test_coarse_to_fine_beats_random_on_the_same_budget(seed: int) -> None:
    c2f = [
        hz.search(vec_loss, SPACE, budget=400, rng=seed + s).best_value
        for s in range(5)
    ]
    rnd = [
        hz.search(
            vec_loss, SPACE, budget=400, rng=seed + s, strategy="random"
        ).best_value
        for s in range(5)
    ]
    assert np.median(c2f) < np.median(rnd)


def test_grid_strategy_evaluates_a_grid_within_budget(seed: int) -> None:
    r = hz.search(vec_loss, SPACE, budget=300, strategy="grid", rng=seed)
    assert 0 < len(r.trials) <= 300
    assert len(r.regions) == 1
    assert set(r.trials.configs["act"].tolist()) == {"relu", "tanh", "gelu"}


def test_maximize_mirrors_minimize(seed: int) -> None:
    up = hz.search(lambda c: -vec_loss(c), SPACE, budget=300, rng=seed, minimize=False)
    down = hz.search(vec_loss, SPACE, budget=300, rng=seed)
    np.testing.assert_array_equal(up.trials.unit, down.trials.unit)
    np.testing.assert_array_equal(up.trials.value, -down.trials.value)
    assert up.best_value == -down.best_value
    assert up.best_value == up.trials.value.max()
    assert "max best_value" in repr(up)


# -- regions -----------------------------------------------------------------------------
def test_regions_stay_in_the_space_and_hold_their_round(seed: int) -> None:
    r = hz.search(vec_loss, SPACE, budget=800, rng=seed)
    assert len(r.regions) == r.trials.round.max() + 1
    assert r.regions[0] == hz.Region.full(SPACE)
    for k, region in enumerate(r.regions):
        assert np.all(region.lo >= 0)
        assert np.all(region.hi <= 1)
        rows = r.trials.round == k
        # the ordered axes lie in the region's box; choices keep a floor share for
        # the options the region does not favour, so only those are checked loosely
        inside = region.contains(r.trials.unit[rows])
        assert inside.mean() >= 0.5
        unit = r.trials.unit[rows][:, :3]
        assert (unit >= region.lo[:3]).all()
        assert (unit <= region.hi[:3]).all()
        assert all(len(region.bounds[name]) >= 1 for name in ("act",))
    assert (
        min(g.volume() for g in r.regions) < 0.05
    )  # it zoomed in (a restart may widen)


def test_coarse_rounds_sample_the_whole_space_and_zoomed_rounds_their_region(
    seed: int,
) -> None:
    r = hz.search(vec_loss, SPACE, budget=400, rng=seed)
    t = r.trials
    first = t.round == 0
    assert t.whole[first].all()
    assert not t.whole[t.round == 1].any()
    assert r.regions[1].volume() < 1.0
    assert r.regions[1].center is not None
    assert r.regions[0].center is None


def test_integer_and_choice_axes_narrow_to_what_the_elite_uses(seed: int) -> None:
    r = hz.search(vec_loss, SPACE, budget=800, rng=seed)
    # a run narrows to the best option and a few integers around the best one (a
    # restart may open the last regions up again)
    narrowed = [g for g in r.regions if g.bounds["act"] == ("gelu",)]
    assert narrowed
    lo, hi = narrowed[-1].bounds["layers"]
    assert lo <= 3 <= hi
    assert hi - lo <= 2


# -- determinism ---------------------------------------------------------------------------
def test_same_seed_same_result_whatever_the_executor(seed: int) -> None:
    base = hz.search(scalar_loss, SPACE, budget=120, rng=seed)
    with ThreadPoolExecutor(4) as ex:
        same_trials(
            base,
            hz.search(
                scalar_loss,
                SPACE,
                budget=120,
                rng=seed,
                executor=ex,
                asynchronous=False,
            ),
        )
    same_trials(
        base,
        hz.search(
            scalar_loss,
            SPACE,
            budget=120,
            rng=seed,
            executor=AutoShuffled(seed % 1000),
            asynchronous=False,
        ),
    )
    same_trials(base, hz.search(scalar_loss, SPACE, budget=120, rng=seed, workers=2))


def test_same_result_on_a_process_pool(seed: int, tmp_path, monkeypatch) -> None:
    # the pool's workers import the objective from a module file (tests/pools.py)
    source = source_of(scalar_loss)
    loss = worker_module(tmp_path, monkeypatch, "search_workers", source).scalar_loss
    base = hz.search(loss, SPACE, budget=60, rng=seed)
    with spawned_pool(2) as ex:
        same_trials(
            base,
            hz.search(
                loss, SPACE, budget=60, rng=seed, executor=ex, asynchronous=False
            ),
        )


def test_vectorised_and_scalar_forms_agree(seed: int) -> None:
    a = hz.search(vec_loss, SPACE, budget=200, rng=seed)
    b = hz.search(scalar_loss, SPACE, budget=200, rng=seed)
    c = hz.search(
        lambda cfg: scalar_loss(**cfg), SPACE, budget=200, rng=seed, mode="dict"
    )
    np.testing.assert_array_equal(a.trials.unit, b.trials.unit)
    np.testing.assert_allclose(a.trials.value, b.trials.value, rtol=1e-12)
    np.testing.assert_allclose(b.trials.value, c.trials.value, rtol=0)


def test_batch_size_splits_calls_but_not_results(seed: int) -> None:
    sizes = []

    def loss(c):
        sizes.append(len(c))
        return vec_loss(c)

    a = hz.search(vec_loss, SPACE, budget=300, rng=seed)
    b = hz.search(loss, SPACE, budget=300, rng=seed, batch_size=7)
    same_trials(a, b)
    assert max(sizes) == 7
    assert b.trials.batch.max() == len(sizes) - 1
    with ThreadPoolExecutor(2) as ex:
        same_trials(
            a,
            hz.search(
                vec_loss, SPACE, budget=300, rng=seed, batch_size=50, executor=ex
            ),
        )


def test_different_seeds_give_different_trials(seed: int, seed2: int) -> None:
    a = hz.search(vec_loss, SPACE, budget=50, rng=seed)
    b = hz.search(vec_loss, SPACE, budget=50, rng=seed2)
    assert not np.array_equal(a.trials.unit, b.trials.unit)


# -- failures -------------------------------------------------------------------------------
def test_failures_are_recorded_and_isolated(seed: int) -> None:
    r = hz.search(flaky_loss, SPACE, budget=200, rng=seed)
    t = r.trials
    c = t.configs
    failed = t.status == "failed"
    assert np.array_equal(failed, (c["act"] == "tanh") | (c["layers"] == 6))
    assert np.all(np.isnan(t.value[failed]))
    assert all("RuntimeError: tanh diverged" in e for e in t.error[c["act"] == "tanh"])
    assert all(
        e == "objective returned nan"
        for e in t.error[(c["layers"] == 6) & (c["act"] != "tanh")]
    )
    assert r.best["act"] != "tanh"
    assert r.best["layers"] != 6
    assert np.isfinite(r.best_value)
    assert len(t) == 200


def test_a_failing_batch_fails_its_trials_only(seed: int) -> None:
    calls = []

    def loss(c):
        calls.append(len(c))
        if len(calls) % 3 == 1:
            raise ValueError("bad batch")
        return vec_loss(c)

    r = hz.search(loss, SPACE, budget=100, rng=seed, batch_size=5)
    t = r.trials
    failed_batches = np.unique(t.batch[t.status == "failed"])
    np.testing.assert_array_equal(failed_batches, np.arange(0, len(calls), 3))
    assert all("ValueError: bad batch" in e for e in t.error[t.status == "failed"])
    assert np.isfinite(t.value[t.status == "ok"]).all()
    assert t.n_failed == sum(calls[i] for i in range(0, len(calls), 3))


def test_all_failed_round_stops_with_the_first_error(seed: int) -> None:
    def broken(c):
        raise ZeroDivisionError("no data")

    with pytest.raises(
        hz.AllTrialsFailedError,
        match=r"every trial of round 0.*ZeroDivisionError: no data",
    ) as info:
        hz.search(broken, SPACE, budget=100, rng=seed)
    assert len(info.value.result.trials) > 0
    assert info.value.result.best is None


def test_wrong_shapes_and_types_name_the_shapes(seed: int) -> None:
    with pytest.raises(
        ValueError,
        match=r"must return shape \(\d+,\) for a batch of \d+ configurations, but returned shape \(3,\)",
    ):
        hz.search(lambda c: np.zeros(3), SPACE, budget=50, rng=seed)
    with pytest.raises(ValueError, match=r"real numbers.*dtype <U1"):
        hz.search(lambda c: np.array(["a"] * len(c)), SPACE, budget=50, rng=seed)


# -- retest ---------------------------------------------------------------------------------
def test_retest_ranks_by_the_mean_of_evaluations(seed: int) -> None:
    noise = np.random.default_rng(seed)

    def noisy(c):
        return vec_loss(c) + noise.normal(0.0, 0.3, len(c))

    r = hz.search(noisy, SPACE, budget=400, rng=seed, retest=3)
    t = r.trials
    per_round = np.bincount(t.round[t.retest_of >= 0], minlength=len(r.regions))
    # three re-tests after every round (the budget may cut the last phase short)
    assert set(per_round[:-2].tolist()) == {3}
    assert len(t) == 400
    evals = t.value[(t.id == r.best_id) | (t.retest_of == r.best_id)]
    assert evals.size >= 2
    assert r.best_value == pytest.approx(evals.mean())
    # re-tested configurations are the same configuration
    for i in np.flatnonzero(t.retest_of >= 0):
        src = np.flatnonzero(t.id == t.retest_of[i])[0]
        np.testing.assert_array_equal(t.unit[i], t.unit[src])


# -- ask / tell ----------------------------------------------------------------------------
def test_ask_tell_reproduces_search(seed: int) -> None:
    opt = hz.CoarseToFine(SPACE, budget=300, rng=seed)
    while not opt.done:
        c = opt.ask(17)
        if len(c) == 0:
            raise AssertionError("ask returned nothing before done")
        opt.tell(c.ids, vec_loss(c))
    same_trials(opt.result(), hz.search(vec_loss, SPACE, budget=300, rng=seed))


def test_ask_waits_for_tells_and_rejects_bad_tells(seed: int) -> None:
    opt = hz.CoarseToFine(SPACE, budget=100, rng=seed)
    first = opt.ask()
    assert len(first) == 2 * SPACE.d + 4  # the default first round
    assert len(opt.ask()) == 0  # the round is out; nothing more until told
    with pytest.raises(ValueError, match="one per trial"):
        opt.tell(first, np.zeros(3))
    with pytest.raises(ValueError, match="never asked"):
        opt.tell([10_000], [1.0])
    opt.tell(first[:5], vec_loss(first[:5]))
    with pytest.raises(ValueError, match="already told"):
        opt.tell(first[:1], [1.0])
    with pytest.raises(ValueError, match="carry no trial ids"):
        opt.tell(SPACE.sample(2, rng=seed), [1.0, 2.0])
    opt.tell(first[5:], vec_loss(first[5:]))
    assert opt.round == 1
    assert len(opt.ask(3)) == 3


# -- results ---------------------------------------------------------------------------------
def test_result_views(seed: int) -> None:
    r = hz.search(vec_loss, SPACE, budget=100, rng=seed)
    df = r.to_pandas()
    assert list(df.columns[:5]) == ["id", "lr", "beta", "layers", "act"]
    assert len(df) == 100
    assert {"value", "status", "error", "round", "batch", "retest_of"} <= set(
        df.columns
    )
    text = repr(r)
    assert text.startswith("SearchResult(min best_value=")
    assert "trials=100 (0 failed)" in text
    assert r.best == r.trials.configs[int(np.flatnonzero(r.trials.id == r.best_id)[0])]


def test_progress_bar_is_optional(seed: int, capsys) -> None:
    hz.search(vec_loss, SPACE, budget=50, rng=seed, progress=True)
    assert "trial" in capsys.readouterr().err
    hz.search(vec_loss, SPACE, budget=50, rng=seed, progress=False)
    assert capsys.readouterr().err == ""


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"budget": 0}, ValueError, r"`budget` must be >= 1, but got 0"),
        ({"budget": 1.5}, TypeError, r"`budget` must be an integer"),
        ({"keep": 0.0}, ValueError, r"`keep` must be in \(0, 1\], but got 0.0"),
        ({"keep": 1.5}, ValueError, r"`keep` must be in \(0, 1\], but got 1.5"),
        (
            {"strategy": "bayes"},
            ValueError,
            r"'bayes' is not a valid strategy. It must be one of",
        ),
        ({"round_size": 1}, ValueError, r"`round_size` must be >= 2, but got 1"),
        ({"first_round": 0}, ValueError, r"`first_round` must be >= 1, but got 0"),
        ({"round_size": 2**40}, ValueError, r"`round_size` must be <= 16777216"),
        ({"min_width": 2.0}, ValueError, r"`min_width` must be in \[0, 1\]"),
        ({"minimize": None}, TypeError, r"`minimize` must be True or False"),
        ({"time_limit": -1.0}, ValueError, r"`time_limit` must be > 0 seconds"),
        (
            {"budget": None},
            ValueError,
            r"give a `budget` \(evaluations\), a `time_limit`",
        ),
        ({"retest": 2, "strategy": "random"}, ValueError, r"`retest=2` needs"),
        ({"mode": "vector"}, ValueError, r"'vector' is not a valid mode"),
        ({"batch_size": 0}, ValueError, r"`batch_size` must be >= 1"),
    ],
)
def test_bad_search_arguments(kwargs, error, match) -> None:
    args = {"budget": 100} | kwargs
    with pytest.raises(error, match=match):
        hz.search(vec_loss, SPACE, **args)


def test_objective_must_be_callable() -> None:
    with pytest.raises(TypeError, match="`objective` must be callable"):
        hz.search(42, SPACE, budget=10)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`space` must be a hyperzoom Space"):
        hz.search(vec_loss, {"lr": hz.LogUniform(1e-4, 1)}, budget=10)  # type: ignore[arg-type]


FAILS_IN_WORKER = """
def fails_in_worker(lr, beta, layers, act):
    raise KeyError("missing shard")
"""


def test_error_text_points_at_the_objective_on_a_process_pool(
    seed: int, tmp_path, monkeypatch
) -> None:
    mod = worker_module(tmp_path, monkeypatch, "failing_workers", FAILS_IN_WORKER)
    with spawned_pool(2) as ex, pytest.raises(hz.AllTrialsFailedError) as info:
        hz.search(mod.fails_in_worker, SPACE, budget=20, rng=seed, executor=ex)
    errors = info.value.result.trials.error
    assert all("KeyError: 'missing shard'" in e for e in errors)
    assert all("failing_workers.py" in e for e in errors)
