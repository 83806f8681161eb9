"""The anytime, converging coarse-to-fine search: prefixes, convergence, restarts,
budget-free and time-limited runs, and the ask/tell object's guarantees."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hyperzoom as hz

MIXED = hz.Space(
    lr=hz.LogUniform(1e-5, 1.0),
    beta=hz.InvLogUniform(0.9, 0.9999),
    units=hz.IntLogUniform(8, 512),
    layers=hz.IntUniform(1, 6),
    batch=hz.PowerOfTwo(16, 256),
    act=hz.Choice(["relu", "tanh", "gelu"], weights=[2, 1, 1]),
)


def mixed_loss(c: hz.Configs) -> np.ndarray:
    return (
        (np.log10(c["lr"]) + 2.5) ** 2
        + (np.log10(1 - c["beta"]) + 2.5) ** 2
        + 0.1 * np.log2(c["units"] / 64) ** 2
        + 0.05 * (c["layers"] - 2) ** 2
        + 0.02 * np.log2(c["batch"] / 64) ** 2
        + 0.3 * (c["act"] != "tanh")
    )


def sphere_space(d: int) -> hz.Space:
    return hz.Space(**{f"x{i}": hz.Uniform(-5.0, 5.0) for i in range(d)})


def sphere(shift: float):
    def f(c: hz.Configs) -> np.ndarray:
        return sum((c[k] - shift) ** 2 for k in c.columns)

    return f


# -- anytime ------------------------------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(
    budget=st.integers(1, 150),
    seed=st.integers(0, 2**64 - 1),
    space_kind=st.sampled_from(["mixed", "sphere", "choices"]),
    retest=st.sampled_from([0, 2]),
)
def test_the_trials_of_a_budget_are_the_first_of_four_times_that_budget(
    budget: int, seed: int, space_kind: str, retest: int
) -> None:
    if space_kind == "mixed":
        space, f = MIXED, mixed_loss
    elif space_kind == "sphere":
        space, f = sphere_space(3), sphere(1.0)
    else:
        space = hz.Space(a=hz.Choice(list("abcde")), n=hz.IntUniform(0, 3))

        def f(c):
            return (c["a"] != "c") + (c["n"] - 2.0) ** 2

    small = hz.search(f, space, budget=budget, rng=seed, retest=retest)
    big = hz.search(f, space, budget=4 * budget, rng=seed, retest=retest)
    np.testing.assert_array_equal(small.trials.unit, big.trials.unit[:budget])
    np.testing.assert_array_equal(small.trials.value, big.trials.value[:budget])
    np.testing.assert_array_equal(small.trials.retest_of, big.trials.retest_of[:budget])
    # so more budget never gives a worse answer
    if not retest:
        assert big.best_value <= small.best_value


def test_random_search_is_anytime_too(seed: int) -> None:
    small = hz.search(mixed_loss, MIXED, budget=700, rng=seed, strategy="random")
    big = hz.search(mixed_loss, MIXED, budget=2800, rng=seed, strategy="random")
    np.testing.assert_array_equal(small.trials.unit, big.trials.unit[:700])


def test_an_optimiser_without_a_budget_runs_until_you_stop(seed: int) -> None:
    opt = hz.CoarseToFine(MIXED, rng=seed)
    while opt.n_told < 1000:
        c = opt.ask()
        opt.tell(c, mixed_loss(c))
    assert not opt.done
    r = opt.result()
    same = hz.search(mixed_loss, MIXED, budget=opt.n_told, rng=seed)
    np.testing.assert_array_equal(r.trials.unit, same.trials.unit)


def test_time_limit_stops_between_trials_and_the_result_is_valid(seed: int) -> None:
    def slow(lr, beta, units, layers, batch, act):
        time.sleep(0.01)
        return float((np.log10(lr) + 2.5) ** 2)

    r = hz.search(slow, MIXED, time_limit=0.25, rng=seed)
    assert 1 <= len(r.trials) < 200  # about 25 trials of 10 ms fit, far fewer than 200
    assert r.best is not None
    assert r.trials.round.max() + 1 == len(r.regions)
    plain = hz.search(slow, MIXED, budget=len(r.trials), rng=seed)
    np.testing.assert_array_equal(r.trials.unit, plain.trials.unit)


def test_time_limit_with_a_budget_stops_at_whichever_comes_first(seed: int) -> None:
    r = hz.search(mixed_loss, MIXED, budget=300, time_limit=60.0, rng=seed)
    assert len(r.trials) == 300


# -- convergence ---------------------------------------------------------------------------
def test_a_sphere_is_solved_below_min_width(seed: int) -> None:
    space = sphere_space(5)
    r = hz.search(sphere(1.234), space, budget=5000, rng=seed, min_width=0.05)
    assert r.best_value < 1e-8
    last = r.regions[-1]
    assert last.half_widths is not None
    assert last.half_widths.max() < 0.05 / 100  # far below the exploration floor
    for region in r.regions:
        assert np.all(region.lo >= 0.0)
        assert np.all(region.hi <= 1.0)
    assert np.all((r.trials.unit >= 0.0) & (r.trials.unit <= 1.0))


def test_regions_turn_to_follow_a_rotated_valley(seed: int) -> None:
    space = sphere_space(2)

    def valley(c):  # a narrow valley along x0 = x1
        a, b = c["x0"] - 1.0, c["x1"] - 1.0
        return (a + b) ** 2 + 100.0 * (a - b) ** 2

    r = hz.search(valley, space, budget=600, rng=seed)
    assert r.best_value < 1e-6
    rotated = [g for g in r.regions if g.basis is not None and g.rotated]
    assert rotated
    g = rotated[len(rotated) // 2]
    assert g.half_widths is not None
    assert g.basis is not None
    long_axis = g.basis[:, int(np.argmax(g.half_widths))]
    assert abs(abs(long_axis[0]) - abs(long_axis[1])) < 0.2  # along the diagonal


def test_a_search_trapped_in_one_basin_restarts_elsewhere(seed: int) -> None:
    space = sphere_space(2)

    def trap(c):  # a wide basin of value 1 and a narrow one of value 0
        wide = 1.0 + 0.05 * ((c["x0"] + 2.0) ** 2 + (c["x1"] + 2.0) ** 2)
        narrow = 4.0 * ((c["x0"] - 3.5) ** 2 + (c["x1"] - 3.5) ** 2)
        return np.minimum(wide, narrow)

    r = hz.search(trap, space, budget=4000, rng=seed)
    runs = [g.run for g in r.regions]
    assert max(runs) >= 2  # it restarted at least twice
    assert runs == sorted(runs)
    coarse = [k for k, g in enumerate(r.regions) if g.center is None]
    assert len(coarse) == max(runs) + 1  # each run opens with a coarse round
    sizes = [int(np.count_nonzero(r.trials.round == k)) for k in coarse[:3]]
    assert sizes[1] == 2 * sizes[0]  # restarts double the rounds
    assert r.best_value < 1.0  # and one of them found the narrow basin


def test_coarse_to_fine_beats_random_at_equal_budget_on_mixed_types(seed: int) -> None:
    c2f = [
        hz.search(mixed_loss, MIXED, budget=300, rng=seed + s).best_value
        for s in range(5)
    ]
    rnd = [
        hz.search(
            mixed_loss, MIXED, budget=300, rng=seed + s, strategy="random"
        ).best_value
        for s in range(5)
    ]
    assert np.median(c2f) < np.median(rnd) / 10


# -- the ask/tell object -------------------------------------------------------------------
def test_a_failed_tell_changes_nothing_and_can_be_retried(seed: int) -> None:
    opt = hz.CoarseToFine(MIXED, budget=100, rng=seed)
    c = opt.ask()
    values = mixed_loss(c)
    with pytest.raises(ValueError, match=r"`errors` must hold one entry per trial"):
        opt.tell(c, values, errors=[None])
    with pytest.raises(TypeError, match=r"`values` must be real numbers"):
        opt.tell(c, np.array(["x"] * len(c)))
    with pytest.raises(ValueError, match=r"never asked"):
        opt.tell(np.append(c.ids, 99), np.append(values, 1.0))
    assert opt.n_told == 0
    opt.tell(c, values)
    assert opt.n_told == len(c)


def test_after_an_all_failed_round_the_optimiser_goes_on(seed: int) -> None:
    opt = hz.CoarseToFine(MIXED, budget=200, rng=seed)
    c = opt.ask()
    with pytest.raises(hz.AllTrialsFailedError, match="every trial of round 0"):
        opt.tell(c, np.full(len(c), np.nan))
    nxt = opt.ask()
    assert len(nxt) > 0
    assert not opt.done
    opt.tell(nxt, mixed_loss(nxt))
    assert opt.result().best is not None


def test_threads_sharing_one_optimiser_lose_no_trial(seed: int) -> None:
    opt = hz.CoarseToFine(MIXED, budget=400, rng=seed)
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        while not opt.done:
            c = opt.ask(1)
            if len(c) == 0:
                time.sleep(0.0001)
                continue
            with lock:
                seen.extend(c.ids.tolist())
            opt.tell(c, mixed_loss(c))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(400))
    r = opt.result()
    same = hz.search(mixed_loss, MIXED, budget=400, rng=seed)
    np.testing.assert_array_equal(r.trials.unit, same.trials.unit)
    np.testing.assert_array_equal(r.trials.value, same.trials.value)


def test_a_huge_budget_allocates_by_the_trials_asked(seed: int) -> None:
    import tracemalloc

    tracemalloc.start()
    opt = hz.CoarseToFine(MIXED, budget=2**40, rng=seed)
    c = opt.ask()
    opt.tell(c, mixed_loss(c))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 2**20  # far below what 2**40 trials would take
    c = opt.ask(3)
    with pytest.raises(ValueError, match=r"`batch` must hold one entry per trial"):
        opt.tell(c, mixed_loss(c), batch=[1, 2])
    opt.tell(c, mixed_loss(c), batch=[1, 2, 3])  # the refused call changed nothing
