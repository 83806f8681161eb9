"""Schedulers: successive halving, Hyperband, ASHA, PBT and the babysitter."""

from __future__ import annotations

import functools
import math
import operator
import random
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hyperzoom as hz
import hyperzoom.schedule as hs
from hyperzoom import _core

from .pools import source_of, spawned_pool, worker_module

SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    layers=hz.IntUniform(1, 6),
    act=hz.Choice(["relu", "tanh", "gelu"]),
)

FULL_SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    units=hz.IntLogUniform(16, 1024),
    layers=hz.IntUniform(1, 6),
    batch=hz.PowerOfTwo(16, 512),
    act=hz.Choice(["relu", "tanh", "gelu", "elu"]),
    wact=hz.Choice(["a", "b", "c"], weights=[0.5, 0.3, 0.2]),
    drop=hz.Uniform(0.0, 0.5),
)


def final_loss(c: dict[str, Any]) -> float:
    return (
        (math.log10(c["lr"]) + 2.5) ** 2
        + (math.log10(1 - c["beta"]) + 2) ** 2
        + 0.1 * (c["layers"] - 3) ** 2
        + 0.3 * (c["act"] != "gelu")
    )


def curve_train(config: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
    """A learning curve: decays towards the configuration's final loss; state = epochs."""
    done = 0.0 if state is None else state["budget"]
    assert budget > done, (budget, done)  # schedulers resume, never repeat
    loss = final_loss(config) + 2.0 / (1.0 + float(budget))
    return loss, {
        "budget": float(budget),
        "calls": (state or {"calls": 0})["calls"] + 1,
    }


def failing_train(config: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
    if config["act"] == "tanh":
        msg = "tanh is broken today"
        raise RuntimeError(msg)
    if config["act"] == "relu" and budget > 3:
        return float("nan"), state
    return curve_train(config, budget, state)


# ---------------------------------------------------------------------------------------
# plans
HYPERBAND_81_3 = [  # Li et al. (JMLR 2018), Table 1: (n_i, r_i) per bracket s = 4..0
    [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
    [(34, 3), (11, 9), (3, 27), (1, 81)],
    [(15, 9), (5, 27), (1, 81)],
    [(8, 27), (2, 81)],
    [(5, 81)],
]


def test_hyperband_plan_matches_published_table() -> None:
    plan = hz.hyperband_plan(max_budget=81, eta=3)
    assert plan == HYPERBAND_81_3
    assert all(isinstance(b, int) for bracket in plan for _, b in bracket)


def test_plan_budgets_are_floats_when_not_whole() -> None:
    plan = hz.hyperband_plan(max_budget=100, min_budget=1, eta=3)
    assert plan[0][-1] == (1, 100.0)
    assert plan[0][0][1] == pytest.approx(100 / 81)
    assert all(isinstance(b, float) for bracket in plan for _, b in bracket)


def test_sh_rungs_keep_floor_n_over_eta() -> None:
    ns, bs = _core.schedule.sh_rungs(100, 1.0, 81.0, 3)
    assert ns.tolist() == [100, 33, 11, 3, 1]
    assert bs.tolist() == [1.0, 3.0, 9.0, 27.0, 81.0]


def test_max_halvings_is_exact_for_decimal_budgets() -> None:
    assert _core.schedule.max_halvings(0.1, 1.0, 10) == 1
    assert _core.schedule.max_halvings(1.0, 80.999, 3) == 3


def test_hyperband_calls_follow_the_plan(seed: int) -> None:
    calls: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def train(config: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
        with lock:
            calls.append((id(config), budget))
        return curve_train(config, budget, state)

    r = hz.hyperband(train, SPACE, max_budget=81, eta=3, rng=seed)
    per_budget: dict[Any, int] = {}
    for _, b in calls:
        per_budget[b] = per_budget.get(b, 0) + 1
    expected: dict[Any, int] = {}
    for bracket in HYPERBAND_81_3:
        for n, b in bracket:
            expected[b] = expected.get(b, 0) + n
    assert per_budget == expected
    assert len(r.trials) == sum(b[0][0] for b in HYPERBAND_81_3) == 143
    assert r.n_calls == len(calls)
    # Resumed, never restarted: each run trained up to its last budget exactly once.
    assert r.budget_used == pytest.approx(r.trials.budget.sum())
    assert r.trials.bracket.tolist() == functools.reduce(
        operator.iadd, ([b] * br[0][0] for b, br in enumerate(HYPERBAND_81_3)), []
    )


# ---------------------------------------------------------------------------------------
# promotions
def test_promote_top_ties_by_id_and_never_nan() -> None:
    loss = np.array([1.0, np.nan, 0.5, 1.0, 0.5, 2.0])
    ids = np.array([10, 11, 7, 3, 9, 1])
    top = _core.schedule.promote_top(loss, ids, 4)
    assert ids[top].tolist() == [7, 9, 3, 10]
    assert (
        _core.schedule.promote_top(np.array([np.nan]), np.array([0]), 1).tolist() == []
    )


def test_promotions_are_exactly_the_top_one_over_eta(seed: int) -> None:
    r = hz.successive_halving(
        curve_train, SPACE, n=81, min_budget=1, max_budget=81, eta=3, rng=seed
    )
    curves = {int(i): c for i, c in zip(r.trials.id, r.trials.curves)}
    for rung_budget, keep in [(1, 27), (3, 9), (9, 3), (27, 1)]:
        at = [
            (c[c[:, 0] == rung_budget][0, 1], i)
            for i, c in curves.items()
            if (c[:, 0] == rung_budget).any()
        ]
        best = {i for _, i in sorted(at)[:keep]}
        went_on = {i for i, c in curves.items() if (c[:, 0] > rung_budget).any()}
        assert best == went_on
    assert r.best_value == min(c[-1, 1] for c in curves.values() if c[-1, 0] == 81)
    assert r.trials.budget.max() == 81


def test_successive_halving_ties_go_to_the_lower_id(seed: int) -> None:
    def flat(config: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
        return 1.0, None

    r = hz.successive_halving(
        flat, SPACE, n=9, min_budget=1, max_budget=9, eta=3, rng=seed
    )
    assert r.trials.budget.tolist() == [9, 3, 3] + [1] * 6
    assert r.best_id == 0


# ---------------------------------------------------------------------------------------
# failures and executors
def test_failing_runs_fail_alone(seed: int) -> None:
    r = hz.hyperband(failing_train, SPACE, max_budget=27, eta=3, rng=seed)
    act = r.trials.configs["act"]
    failed = r.trials.status == "failed"
    assert failed[act == "tanh"].all()
    assert all(
        "RuntimeError: tanh is broken today" in e for e in r.trials.error[act == "tanh"]
    )
    relu_deep = (act == "relu") & (r.trials.budget > 3)
    assert failed[relu_deep].all()
    assert all("nan" in e for e in r.trials.error[relu_deep])
    assert not failed[act == "gelu"].any()
    assert r.best is not None
    assert r.best["act"] == "gelu"
    # A failed run is never promoted: it has the one point it failed at.
    assert all(c.shape[0] == 1 for c, a in zip(r.trials.curves, act) if a == "tanh")


def test_executors_give_the_same_result(seed: int, tmp_path, monkeypatch) -> None:
    # the process pool's workers import `failing_train` from a module file (tests/pools.py)
    source = source_of(final_loss, curve_train, failing_train)
    train = worker_module(
        tmp_path, monkeypatch, "schedule_workers", source
    ).failing_train
    base = hz.hyperband(train, SPACE, max_budget=27, rng=seed)
    with ThreadPoolExecutor(3) as ex:
        threads = hz.hyperband(train, SPACE, max_budget=27, rng=seed, executor=ex)
    with spawned_pool(2) as ex:
        procs = hz.successive_halving(
            train, SPACE, n=9, min_budget=1, max_budget=9, rng=seed, executor=ex
        )
    sh = hz.successive_halving(train, SPACE, n=9, min_budget=1, max_budget=9, rng=seed)
    for a, b in [(base, threads), (sh, procs)]:
        np.testing.assert_array_equal(a.trials.unit, b.trials.unit)
        np.testing.assert_array_equal(a.trials.value, b.trials.value)
        # The location differs for process pools (the frame is in the child): compare text.
        strip = [None if e is None else e.split(" (at ")[0] for e in a.trials.error]
        assert strip == [
            None if e is None else e.split(" (at ")[0] for e in b.trials.error
        ]
        assert a.best == b.best


def test_bad_output_of_train_fails_the_run(seed: int) -> None:
    r = hz.successive_halving(
        lambda c, b, s: 1.0, SPACE, n=3, min_budget=1, max_budget=3, rng=seed
    )
    assert (r.trials.status == "failed").all()
    assert "not a (loss, state) pair" in r.trials.error[0]
    assert r.best is None
    assert math.isnan(r.best_value)


# ---------------------------------------------------------------------------------------
# ASHA
class LazyExecutor:
    """Futures complete only when the (patched) wait says so, in a seeded random order."""

    def __init__(self, workers: int, order_seed: int) -> None:
        self._max_workers = workers
        self.pending: list[tuple[Future[Any], Any, tuple[Any, ...]]] = []
        self.rand = random.Random(order_seed)
        self.waits: list[int] = []

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        f: Future[Any] = Future()
        self.pending.append((f, fn, args))
        return f

    def wait(self, fs: Any, return_when: Any = None) -> tuple[set[Any], set[Any]]:
        self.waits.append(len(fs))
        f, fn, args = self.pending.pop(self.rand.randrange(len(self.pending)))
        try:
            f.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001
            f.set_exception(exc)
        return {f}, set(fs) - {f}


def run_lazy_asha(
    monkeypatch: pytest.MonkeyPatch, seed: int, order_seed: int, n_trials: int
):
    ex = LazyExecutor(4, order_seed)
    monkeypatch.setattr("hyperzoom.schedule.async_halving.wait", ex.wait)
    r = hz.asha(
        failing_train,
        SPACE,
        min_budget=1,
        max_budget=27,
        eta=3,
        n_trials=n_trials,
        executor=ex,
        rng=seed,  # type: ignore[arg-type]
    )
    return r, ex


def test_asha_never_idles_a_worker_when_work_exists(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    r, ex = run_lazy_asha(monkeypatch, seed, 1, 120)
    # Until every trial has started, every wait has all 4 workers busy.
    first_short = next((k for k, w in enumerate(ex.waits) if w < 4), len(ex.waits))
    assert len(r.trials) == 120
    assert first_short >= 120 - 4
    # At the end no promotion is due: the top floor(m / eta) of every rung went on.
    budgets = [1, 3, 9, 27]
    for k, b in enumerate(budgets[:-1]):
        at = []
        for i, c in zip(r.trials.id, r.trials.curves):
            pts = c[c[:, 0] == b]
            if pts.shape[0] and np.isfinite(pts[0, 1]):
                at.append((pts[0, 1], int(i)))
        quota = len(at) // 3
        top = [i for _, i in sorted(at)[:quota]]
        went_on = {
            int(i) for i, c in zip(r.trials.id, r.trials.curves) if (c[:, 0] > b).any()
        }
        assert set(top) <= went_on, k
    assert r.trials.budget.max() == 27


def test_asha_same_seed_same_order_same_decisions(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    a, _ = run_lazy_asha(monkeypatch, seed, 5, 60)
    b, _ = run_lazy_asha(monkeypatch, seed, 5, 60)
    c, _ = run_lazy_asha(monkeypatch, seed, 6, 60)
    assert len(a.trials) == len(b.trials)
    for x, y in zip(a.trials.curves, b.trials.curves):
        np.testing.assert_array_equal(x, y)  # NaN (failed) points compare equal here
    np.testing.assert_array_equal(a.trials.unit, c.trials.unit)  # same configurations


def test_asha_in_process_and_threads(seed: int) -> None:
    r = hz.asha(curve_train, SPACE, min_budget=1, max_budget=9, n_trials=30, rng=seed)
    assert len(r.trials) == 30
    assert r.trials.budget.max() == 9
    with ThreadPoolExecutor(3) as ex:
        t = hz.asha(
            curve_train,
            SPACE,
            min_budget=1,
            max_budget=9,
            n_trials=30,
            rng=seed,
            executor=ex,
        )
    np.testing.assert_array_equal(
        np.sort(r.trials.unit, axis=0), np.sort(t.trials.unit, axis=0)
    )
    assert t.trials.n_failed == 0


def test_asha_time_limit_stops_starting(seed: int) -> None:
    r = hz.asha(
        curve_train, SPACE, min_budget=1, max_budget=9, time_limit=0.05, rng=seed
    )
    assert len(r.trials) >= 1


@pytest.mark.parametrize("limit", [1, 50, 200.5, 1000])
def test_asha_budget_limit_spends_at_most_the_limit(seed: int, limit: float) -> None:
    calls: list[tuple[float, float]] = []

    def train(c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
        calls.append((float(budget), 0.0 if state is None else state["budget"]))
        return curve_train(c, budget, state)

    r = hz.asha(train, SPACE, min_budget=1, max_budget=27, budget_limit=limit, rng=seed)
    trained = sum(b - before for b, before in calls)
    assert trained == r.budget_used <= limit
    # It stops at the first call that does not fit, not before: the limit minus the
    # budget used is smaller than the call it would have started next.
    assert limit - r.budget_used < 27 - 9
    if limit >= 200:  # enough for promotions up to the top rung
        assert r.trials.budget.max() == 27
    # With n_trials too, whichever stops first decides.
    r2 = hz.asha(
        curve_train,
        SPACE,
        min_budget=1,
        max_budget=27,
        budget_limit=limit,
        n_trials=5,
        rng=seed,
    )
    assert len(r2.trials) <= 5
    assert r2.budget_used <= limit


def test_asha_core_decides_in_rank_order() -> None:
    a = _core.schedule.AshaRungs(3, 3)
    for i, loss in enumerate([5.0, 4.0, 3.0]):
        a.report(i, 0, loss)
    assert a.next_promotion() == (2, 0)
    assert a.next_promotion() is None
    a.report(3, 0, 0.1)  # a better late result is among the top 1/eta: due at once
    assert a.next_promotion() == (3, 0)
    assert a.next_promotion() is None  # 4 results: the top 1 is promoted
    for i, loss in enumerate([0.2, 0.3]):
        a.report(4 + i, 0, loss)
    assert a.next_promotion() == (4, 0)  # 6 results: the top 2 are 3 and 4
    assert a.next_promotion() is None
    a.report(2, 1, 1.0)
    a.report(3, 1, 0.5)
    a.report(7, 1, 0.7)
    assert a.next_promotion() == (3, 1)  # higher rungs first
    assert a.size(0) == 6
    assert a.promoted(0) == 3


# ---------------------------------------------------------------------------------------
# PBT
def test_pbt_explore_perturbs_on_each_scale(seed: int) -> None:
    axes = hs._explore_axes(FULL_SPACE)
    cfg = FULL_SPACE.sample(400, rng=seed)
    unit = hs._canonical_unit(FULL_SPACE, cfg.unit)
    old = FULL_SPACE.from_unit(unit)
    words = hz._rng.seed_words(seed)
    new_u = axes.explore(unit, np.arange(400), 400, 0.1, 0.0, words, 3)
    assert ((new_u >= 0) & (new_u <= 1)).all()
    new = FULL_SPACE.from_unit(new_u)
    step_lr = np.abs(np.log10(new["lr"] / old["lr"]))
    reflected = (unit[:, 0] < 0.1) | (unit[:, 0] > 0.9)
    np.testing.assert_allclose(step_lr[~reflected], 0.4, rtol=1e-9)  # 0.1 of 4 decades
    step_beta = np.abs(np.log10((1 - new["beta"]) / (1 - old["beta"])))
    reflected = (unit[:, 1] < 0.1) | (unit[:, 1] > 0.9)
    np.testing.assert_allclose(
        step_beta[~reflected], 0.2, rtol=1e-9
    )  # 0.1 of 2 decades
    assert (np.abs(new["units"] - old["units"]) == 1).all()
    assert (np.abs(new["layers"] - old["layers"]) == 1).all()
    assert set((new["batch"] / old["batch"]).tolist()) == {0.5, 2.0}
    for name in ("act", "wact"):
        opts = list(FULL_SPACE[name].options)
        i_old = np.array([opts.index(v) for v in old[name]])
        i_new = np.array([opts.index(v) for v in new[name]])
        assert (np.abs(i_new - i_old) == 1).all()
    np.testing.assert_allclose(
        np.abs(new["drop"] - old["drop"])[(unit[:, 7] > 0.1) & (unit[:, 7] < 0.9)], 0.05
    )


@given(
    u=st.lists(st.floats(0.0, 1.0), min_size=8, max_size=8),
    perturb=st.floats(0.01, 1.0),
    resample=st.floats(0.0, 1.0),
    step=st.integers(0, 1000),
)
def test_pbt_explore_never_leaves_the_bounds(
    u: list[float], perturb: float, resample: float, step: int
) -> None:
    axes = hs._explore_axes(FULL_SPACE)
    unit = np.array([u])
    new_u = axes.explore(
        unit,
        np.array([0]),
        1,
        perturb,
        resample,
        np.array([1, 2, 3], dtype=np.uint32),
        step,
    )
    assert ((new_u >= 0.0) & (new_u <= 1.0)).all()
    c = FULL_SPACE.from_unit(new_u)
    for name, dist in FULL_SPACE.items():
        if not isinstance(dist, hz.Choice):
            assert dist.low <= c[name][0] <= dist.high


def test_pbt_exploits_the_top_and_keeps_lineage(seed: int) -> None:
    def train(config: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
        trained = [] if state is None else list(state)
        return final_loss(config) + 1.0 / budget, [*trained, budget]

    r = hz.pbt(
        train, SPACE, population=8, interval=2, total_budget=10, resample=0.0, rng=seed
    )
    assert len(r.trials) == 8
    assert r.n_calls == 40
    assert r.budget_used == 80.0
    assert len(r.lineage) == 4 * 2  # 4 steps, 2 replaced each (ceil(0.25 * 8))
    for e in r.lineage:
        assert e["loss"] >= e["donor_loss"]
        for cfg in (e["new"],):
            for name, dist in SPACE.items():
                if not isinstance(dist, hz.Choice):
                    assert dist.low <= cfg[name] <= dist.high
        assert e["new"]["layers"] in (
            e["donor_config"]["layers"] - 1,
            e["donor_config"]["layers"] + 1,
        )
    # The copied state carries on: every member's final state lists every interval.
    assert r.best_state == [2, 4, 6, 8, 10]
    for m in range(8):
        segs = r.ancestry(m)
        assert segs[0]["from"] == 0.0
        assert segs[-1]["to"] == 10.0
        assert segs[-1]["member"] == m
        assert all(a["to"] == b["from"] for a, b in zip(segs, segs[1:]))


def test_pbt_same_seed_any_executor(seed: int) -> None:
    base = hz.pbt(
        failing_train, SPACE, population=6, interval=1, total_budget=5, rng=seed
    )
    with ThreadPoolExecutor(3) as ex:
        th = hz.pbt(
            failing_train,
            SPACE,
            population=6,
            interval=1,
            total_budget=5,
            rng=seed,
            executor=ex,
        )
    assert repr(base.lineage) == repr(th.lineage)  # repr: NaN losses compare equal
    for x, y in zip(base.trials.curves, th.trials.curves):
        np.testing.assert_array_equal(x, y)
    # Failing members (tanh raises) are replaced by exploiting; the schedule goes on.
    assert r_has_failures(base)


def r_has_failures(r: hz.ScheduleResult) -> bool:
    return any(np.isnan(c[:, 1]).any() for c in r.trials.curves)


# ---------------------------------------------------------------------------------------
# bad input
@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: hz.hyperband_plan(max_budget=81, eta=1),
            ValueError,
            r"`eta` must be >= 2, but got 1",
        ),
        (
            lambda: hz.hyperband_plan(max_budget=81, eta=2.5),
            TypeError,
            r"`eta` must be an integer",
        ),
        (
            lambda: hz.successive_halving(
                curve_train, SPACE, n=9, min_budget=10, max_budget=1
            ),
            ValueError,
            r"`min_budget <= max_budget` must hold",
        ),
        (
            lambda: hz.asha(curve_train, SPACE, min_budget=0, max_budget=1, n_trials=3),
            ValueError,
            r"`min_budget` must be > 0",
        ),
        (
            lambda: hz.asha(curve_train, SPACE, min_budget=1, max_budget=9),
            ValueError,
            r"one of `n_trials`, `time_limit` and `budget_limit` must be given",
        ),
        (
            lambda: hz.asha(
                curve_train, SPACE, min_budget=1, max_budget=9, budget_limit=0
            ),
            ValueError,
            r"`budget_limit` must be > 0 and finite, but got 0",
        ),
        (
            lambda: hz.asha(
                curve_train, SPACE, min_budget=1, max_budget=9, budget_limit="9"
            ),
            TypeError,
            r"budget_limit",
        ),
        (
            lambda: hz.pbt(
                curve_train, SPACE, population=1, interval=1, total_budget=3
            ),
            ValueError,
            r"`population` must be >= 2, but got 1",
        ),
        (
            lambda: hz.pbt(
                curve_train,
                SPACE,
                population=4,
                interval=1,
                total_budget=3,
                quantile=0.6,
            ),
            ValueError,
            r"`quantile` must be in \(0, 0.5\], but got 0.6",
        ),
        (
            lambda: hz.pbt(
                curve_train,
                SPACE,
                population=4,
                interval=1,
                total_budget=3,
                quantile=0.0,
            ),
            ValueError,
            r"`quantile` must be in \(0, 0.5\]",
        ),
        (
            lambda: hz.pbt(
                curve_train, SPACE, population=4, interval=5, total_budget=3
            ),
            ValueError,
            r"`interval <= total_budget`",
        ),
        (
            lambda: hz.hyperband("nope", SPACE, max_budget=9),
            TypeError,
            r"`train` must be callable",
        ),
        (
            lambda: hz.hyperband(curve_train, {"a": 1}, max_budget=9),
            TypeError,
            r"`space` must be a hyperzoom Space",
        ),
    ],
)
def test_bad_input_is_refused(call: Any, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------------------------------
# babysitter
BABY_SPACE = hz.Space(
    learning_rate=hz.LogUniform(1e-4, 1.0),
    momentum=hz.InvLogUniform(0.9, 0.999),
    batch=hz.PowerOfTwo(16, 512),
)
START = {"learning_rate": 0.1, "momentum": 0.9, "batch": 64}


def test_babysitter_rolls_back_on_divergence() -> None:
    s = hz.Babysitter(BABY_SPACE, START, patience=5)
    assert s.step(1.0, checkpoint={"epoch": 0}).action == "improve"
    assert s.step(0.8, checkpoint={"epoch": 1}).action == "improve"
    a = s.step(0.9, checkpoint={"epoch": 2})
    assert a.action == "keep"
    a = s.step(float("nan"), checkpoint={"epoch": 3})
    assert a.action == "rollback"
    assert a.checkpoint == {"epoch": 2}
    assert a.checkpoint_epoch == 2
    assert a.config["learning_rate"] == pytest.approx(0.05)
    a = s.step(2.0)  # more than twice the best 0.8: diverged
    assert a.action == "rollback"
    assert a.checkpoint == {"epoch": 2}
    assert a.config["learning_rate"] == pytest.approx(0.025)
    assert "diverged" in a.reason


def test_babysitter_cuts_on_plateau_and_stops_at_the_bound() -> None:
    s = hz.Babysitter(
        BABY_SPACE, {**START, "learning_rate": 4e-4}, patience=2, factor=0.5
    )
    actions = [s.step(1.0).action for _ in range(7)]
    assert actions == ["improve", "keep", "cut", "keep", "cut", "keep", "stop"]
    assert s.config["learning_rate"] == 1e-4  # cut to the bound, never below it


def test_babysitter_rollback_before_any_checkpoint() -> None:
    s = hz.Babysitter(BABY_SPACE, START)
    a = s.step(float("inf"))
    assert a.action == "rollback"
    assert a.checkpoint is None
    assert "start again" in a.reason


def test_babysitter_accepts_manual_changes_inside_bounds() -> None:
    s = hz.Babysitter(BABY_SPACE, START)
    s.step(1.0)
    cfg = s.set(batch=128, momentum=0.99, reason="bigger GPU")
    assert cfg == {"learning_rate": 0.1, "momentum": 0.99, "batch": 128}
    assert s.ledger[-1]["action"] == "manual"
    assert s.ledger[-1]["changes"]["batch"] == [
        64,
        128,
    ]
    with pytest.raises(ValueError, match="powers of two"):
        s.set(batch=100)
    with pytest.raises(ValueError, match="unknown parameter"):
        s.set(nesterov=True)
    with pytest.raises(
        ValueError, match=r"must lie in|must be in|<= high|bounds|outside"
    ):
        s.set(learning_rate=3.0)


def test_babysitter_maximises_scores() -> None:
    s = hz.Babysitter(BABY_SPACE, START, mode="max", patience=1, diverge=0.5)
    assert [s.step(x).action for x in (0.5, 0.6, 0.6)] == ["improve", "improve", "cut"]
    assert s.step(0.05).action == "rollback"


def test_ledger_round_trips_and_plots(tmp_path: Any) -> None:
    s = hz.Babysitter(BABY_SPACE, START, patience=2)
    for loss in [1.0, 0.7, 0.7, 0.7, float("nan"), 0.6]:
        s.step(loss, checkpoint=loss)
    s.set(batch=32)
    path = tmp_path / "ledger.json"
    s.ledger.save(path)
    back = hz.Ledger.load(path)
    assert back == s.ledger
    assert [e["action"] for e in back] == [
        "improve",
        "improve",
        "keep",
        "cut",
        "rollback",
        "improve",
        "manual",
    ]
    assert math.isnan(back[4]["metric"])
    assert back[0]["config"] == START
    df = back.to_pandas()
    assert list(df["epoch"]) == [0, 1, 2, 3, 4, 5, 6]
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    ax = back.plot("learning_rate")
    assert ax.get_xlabel() == "epoch"
    plt.close("all")


def test_babysitter_bad_input() -> None:
    with pytest.raises(ValueError, match="missing parameter"):
        hz.Babysitter(BABY_SPACE, {"learning_rate": 0.1})
    with pytest.raises(ValueError, match="`param` must name"):
        hz.Babysitter(hz.Space(x=hz.Uniform(0, 1)), {"x": 0.5})
    with pytest.raises(ValueError, match=r"`factor` must be in \(0, 1\)"):
        hz.Babysitter(BABY_SPACE, START, factor=1.5)
    with pytest.raises(ValueError, match="`patience` must be >= 1"):
        hz.Babysitter(BABY_SPACE, START, patience=0)
    with pytest.raises(TypeError, match="`metric` must be a real number"):
        hz.Babysitter(BABY_SPACE, START).step("low")  # type: ignore[arg-type]


def test_results_show_and_export(seed: int) -> None:
    r = hz.hyperband(curve_train, SPACE, max_budget=9, rng=seed)
    assert repr(r).startswith("ScheduleResult(hyperband: best_value=")
    pd = pytest.importorskip("pandas")
    df = r.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert len(df) == len(r.trials)
    long = r.to_pandas(curves=True)
    assert len(long) == r.n_calls


def test_ranking_puts_the_furthest_trained_successful_runs_first(seed: int) -> None:
    top_calls = [0]

    def train(c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
        if budget == 27:
            top_calls[0] += 1
            if top_calls[0] % 2 == 1:  # every other run fails, only at the top rung
                msg = "diverged late"
                raise RuntimeError(msg)
        return curve_train(c, budget, state)

    r = hz.hyperband(train, SPACE, max_budget=27, rng=seed)
    t = r.trials
    assert (t.status[t.budget == 27] == "failed").any()  # the case that matters
    order = t.ranking()
    assert sorted(order.tolist()) == np.flatnonzero(t.status == "ok").tolist()
    assert t.id[order[0]] == r.best_id
    key = list(zip(-t.budget[order], t.value[order], t.id[order]))
    assert key == sorted(key)
