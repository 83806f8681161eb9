"""Scheduler overhead per decision with 10,000 runs in flight.

ASHA: each decision reports one result and asks for the promotion due, on rungs that
already hold 10,000 results (the compiled order-statistic rungs) vs a plain Python rung
that sorts the rung per decision (how Python schedulers usually decide). PBT: one
exploit/explore step of a 10,000-member population, compiled vs NumPy. Run with
``pytest bench/test_schedule.py --benchmark-only --benchmark-json=.benchmarks/schedule.json``
and ``python bench/ratios.py .benchmarks/schedule.json`` (ratios are per decision).
"""

from __future__ import annotations

import numpy as np
import pytest

import hyperzoom as hz
from hyperzoom import _core
from hyperzoom import schedule as hs

SEED = 0x5EED_2024_1128_0005
ETA = 3
RUNGS = 5


def filled_results(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n results spread over the rungs like ASHA spreads them (1/eta per rung up)."""
    g = np.random.default_rng(SEED)
    rung = np.minimum(g.geometric(1 - 1 / ETA, size=n) - 1, RUNGS - 1)
    return rung.astype(np.int64), g.random(n)


def new_results(m: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(SEED + 1)
    return g.integers(0, RUNGS - 1, size=m), g.random(m)


class PythonRungs:
    """ASHA's rule, decided by sorting each rung per decision."""

    def __init__(self) -> None:
        self.rungs: list[list[tuple[float, int]]] = [[] for _ in range(RUNGS)]
        self.promoted: list[set[int]] = [set() for _ in range(RUNGS)]

    def report(self, i: int, rung: int, loss: float) -> None:
        self.rungs[rung].append((loss, i))

    def next_promotion(self) -> tuple[int, int] | None:
        for k in range(RUNGS - 2, -1, -1):
            quota = len(self.rungs[k]) // ETA
            for _, i in sorted(self.rungs[k])[:quota]:
                if i not in self.promoted[k]:
                    self.promoted[k].add(i)
                    return i, k
        return None


def prefilled(rungs, rung0: np.ndarray, loss0: np.ndarray):
    """Rungs holding n results, with the backlog of due promotions settled."""
    for i in range(rung0.shape[0]):
        rungs.report(i, int(rung0[i]), float(loss0[i]))
    while rungs.next_promotion() is not None:
        pass
    return rungs


def decide(rungs, first: int, rung1: np.ndarray, loss1: np.ndarray) -> int:
    """One decision per new result: report it, ask for the promotion due."""
    promoted = 0
    for j in range(rung1.shape[0]):
        rungs.report(first + j, int(rung1[j]), float(loss1[j]))
        if rungs.next_promotion() is not None:
            promoted += 1
    return promoted


def bench_decisions(benchmark, make, n: int, m: int, rounds: int) -> None:
    rung0, loss0 = filled_results(n)
    rung1, loss1 = new_results(m)

    def setup():
        return (prefilled(make(), rung0, loss0), n, rung1, loss1), {}

    promoted = benchmark.pedantic(decide, setup=setup, rounds=rounds, iterations=1)
    assert promoted > 0
    benchmark.extra_info["configs"] = m


@pytest.mark.benchmark(group="asha-decision-10k-in-flight")
def test_asha_decision_hyperzoom(benchmark, full) -> None:
    make = lambda: _core.schedule.AshaRungs(RUNGS, ETA)
    bench_decisions(benchmark, make, full(10_000, 1_000), full(20_000, 200), 5)


@pytest.mark.benchmark(group="asha-decision-10k-in-flight")
def test_asha_decision_python_sort_baseline(benchmark, full) -> None:
    bench_decisions(benchmark, PythonRungs, full(10_000, 1_000), full(100, 20), 1)


def test_asha_rule_agrees_with_python(full) -> None:
    n, m = full(3_000, 300), 300
    rung0, loss0 = filled_results(n)
    rung1, loss1 = new_results(m)
    a, b = _core.schedule.AshaRungs(RUNGS, ETA), PythonRungs()
    for i in range(n):
        a.report(i, int(rung0[i]), float(loss0[i]))
        b.report(i, int(rung0[i]), float(loss0[i]))
    for j in range(m):
        a.report(n + j, int(rung1[j]), float(loss1[j]))
        b.report(n + j, int(rung1[j]), float(loss1[j]))
        assert a.next_promotion() == b.next_promotion()


SPACE = hz.Space(
    learning_rate=hz.LogUniform(1e-4, 1.0),
    momentum=hz.InvLogUniform(0.9, 0.999),
    hidden_units=hz.IntLogUniform(16, 1024),
    batch_size=hz.PowerOfTwo(16, 512),
    lr_decay=hz.LogUniform(1e-4, 1e-1),
)


def numpy_pbt_step(
    unit: np.ndarray, loss: np.ndarray, g: np.random.Generator
) -> np.ndarray:
    """The same exploit/explore in NumPy (continuous axes only: a lower bound)."""
    n = loss.shape[0]
    m = max(1, min(int(np.ceil(0.25 * n)), n // 2))
    order = np.argsort(loss, kind="stable")
    bottom, top = order[-m:], order[:m]
    donor = top[g.integers(0, m, size=m)]
    rows = unit[donor]
    step = np.where(g.random(rows.shape) < 0.5, 0.1, -0.1)
    rows = rows + step
    rows = np.where(rows > 1, 2 - rows, rows)
    rows = np.abs(rows)
    redraw = g.random(rows.shape) < 0.25
    rows[redraw] = g.random(int(redraw.sum()))
    out = unit.copy()
    out[bottom] = rows
    return out


@pytest.mark.benchmark(group="pbt-step-10k-population")
def test_pbt_step_hyperzoom(benchmark, full) -> None:
    n = full(10_000, 100)
    unit = hs._canonical_unit(SPACE, SPACE.sample(n, rng=SEED).unit)
    loss = np.random.default_rng(SEED).random(n)
    axes = hs._explore_axes(SPACE)
    words = hz._rng.seed_words(SEED)
    bottom, _donor, rows = benchmark(
        axes.pbt_step, unit, loss, 0.25, 0.1, 0.25, words, 1
    )
    assert bottom.shape[0] == n // 4
    assert ((rows >= 0) & (rows <= 1)).all()
    benchmark.extra_info["configs"] = n


@pytest.mark.benchmark(group="pbt-step-10k-population")
def test_pbt_step_numpy_baseline(benchmark, full) -> None:
    n = full(10_000, 100)
    unit = SPACE.sample(n, rng=SEED).unit
    loss = np.random.default_rng(SEED).random(n)
    g = np.random.default_rng(SEED)
    out = benchmark(numpy_pbt_step, unit, loss, g)
    assert ((out >= 0) & (out <= 1)).all()
    benchmark.extra_info["configs"] = n


@pytest.mark.benchmark(group="asha-driver-per-call")
def test_asha_driver_overhead(benchmark, full) -> None:
    n = full(10_000, 200)

    def train(config, budget, state):
        return config["learning_rate"] + 1.0 / budget, None

    r = benchmark.pedantic(
        lambda: hz.asha(
            train, SPACE, min_budget=1, max_budget=81, n_trials=n, rng=SEED
        ),
        rounds=1,
        iterations=1,
    )
    assert len(r.trials) == n
    benchmark.extra_info["configs"] = r.n_calls
