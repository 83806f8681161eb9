"""The cost of storing a search: the same search with and without ``storage=``.

``python bench/ratios.py`` on the JSON gives the slowdown (a ratio below 1).
"""

from __future__ import annotations

import numpy as np
import pytest

import hyperzoom as hz

SEED = 0x5EED_2024_1128_0007
SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    layers=hz.IntUniform(1, 6),
    act=hz.Choice(["relu", "tanh"]),
)


def vec_loss(c: hz.Configs) -> np.ndarray:
    return (np.log10(c["lr"]) + 2.5) ** 2 + (np.log10(1 - c["beta"]) + 2) ** 2


def scalar_loss(lr: float, beta: float, layers: int, act: str) -> float:
    return float((np.log10(lr) + 2.5) ** 2 + (np.log10(1 - beta) + 2) ** 2)


def _stored(tmp_path_factory: pytest.TempPathFactory, objective, budget: int, **kw):
    def run():
        db = tmp_path_factory.mktemp("study") / "s.db"
        return hz.search(
            objective, SPACE, budget=budget, rng=SEED, storage=db, study="s", **kw
        )

    return run


@pytest.mark.benchmark(group="storage-vectorised")
def test_vectorised_without_storage_baseline(benchmark, full) -> None:
    budget = full(100_000, 2_000)
    r = benchmark(
        lambda: hz.search(vec_loss, SPACE, budget=budget, rng=SEED, batch_size=1000)
    )
    assert len(r.trials) == budget
    benchmark.extra_info["configs"] = budget


@pytest.mark.benchmark(group="storage-vectorised")
def test_vectorised_with_storage(benchmark, full, tmp_path_factory) -> None:
    budget = full(100_000, 2_000)
    r = benchmark(_stored(tmp_path_factory, vec_loss, budget, batch_size=1000))
    plain = hz.search(vec_loss, SPACE, budget=budget, rng=SEED, batch_size=1000)
    np.testing.assert_array_equal(r.trials.unit, plain.trials.unit)
    benchmark.extra_info["configs"] = budget


@pytest.mark.benchmark(group="storage-scalar")
def test_scalar_without_storage_baseline(benchmark, full) -> None:
    budget = full(5_000, 200)
    r = benchmark(lambda: hz.search(scalar_loss, SPACE, budget=budget, rng=SEED))
    assert len(r.trials) == budget
    benchmark.extra_info["configs"] = budget


@pytest.mark.benchmark(group="storage-scalar")
def test_scalar_with_storage(benchmark, full, tmp_path_factory) -> None:
    budget = full(5_000, 200)
    r = benchmark(_stored(tmp_path_factory, scalar_loss, budget))
    plain = hz.search(scalar_loss, SPACE, budget=budget, rng=SEED)
    np.testing.assert_array_equal(r.trials.value, plain.trials.value)
    benchmark.extra_info["configs"] = budget


# -- stored schedules: one commit per call of train ---------------------------------------
def sched_train(c: dict, budget: int, state: object) -> tuple[float, list]:
    t0, g = (0, 1.0) if state is None else state
    g = g * 0.9 ** (budget - t0)
    return float((np.log10(c["lr"]) + 2.5) ** 2 + g), [budget, g]


def _asha(n: int, **kw):
    return hz.asha(
        sched_train, SPACE, min_budget=1, max_budget=81, n_trials=n, rng=SEED, **kw
    )


@pytest.mark.benchmark(group="storage-asha")
def test_asha_without_storage_baseline(benchmark, full) -> None:
    n = full(2_000, 100)
    r = benchmark(lambda: _asha(n))
    assert len(r.trials) == n
    benchmark.extra_info["calls"] = r.n_calls


@pytest.mark.benchmark(group="storage-asha")
@pytest.mark.parametrize("codec", [None, "json"])
def test_asha_with_storage(benchmark, full, tmp_path_factory, codec) -> None:
    n = full(2_000, 100)

    def run():
        db = tmp_path_factory.mktemp("study") / "s.db"
        return _asha(n, storage=db, study="s", state_codec=codec)

    r = benchmark(run)
    plain = _asha(n)
    np.testing.assert_array_equal(r.trials.value, plain.trials.value)
    benchmark.extra_info["calls"] = r.n_calls
