"""Search overhead per trial: hyperzoom (vectorised objective) vs Optuna's RandomSampler.

Both use a trivial objective, so the time is the library's own. Run with
``pytest bench/test_search.py --benchmark-only --benchmark-json=.benchmarks/search.json``
and ``python bench/ratios.py .benchmarks/search.json`` (ratios are per trial).
"""

from __future__ import annotations

import numpy as np
import pytest

import hyperzoom as hz
from hyperzoom.cli import demo_space

SEED = 0x5EED_2024_1128_0004


def trivial(c: hz.Configs) -> np.ndarray:
    return c["learning_rate"]


@pytest.mark.benchmark(group="search-overhead-per-trial")
@pytest.mark.parametrize("workers", [1, 2])
def test_search_overhead_hyperzoom(benchmark, full, workers: int) -> None:
    budget = full(10_000_000, 20_000)
    space = demo_space()
    r = benchmark.pedantic(
        lambda: hz.search(
            trivial, space, budget=budget, rng=SEED, workers=workers, progress=False
        ),
        rounds=3 if budget > 100_000 else 1,
        iterations=1,
    )
    assert len(r.trials) == budget
    assert r.best_value <= 1.0001e-4 * 1.5
    benchmark.extra_info["configs"] = budget


@pytest.mark.benchmark(group="search-overhead-per-trial")
def test_search_overhead_optuna_random_baseline(benchmark, full) -> None:
    optuna = pytest.importorskip(
        "optuna", reason="Optuna is an optional bench dependency"
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n = full(2_000, 20)

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-4, 1.0, log=True)
        trial.suggest_float("momentum_1m", 1e-3, 1e-1, log=True)
        trial.suggest_int("hidden_units", 16, 1024, log=True)
        trial.suggest_int("layers", 1, 6)
        trial.suggest_categorical("batch_size", [16, 32, 64, 128, 256, 512])
        trial.suggest_float("lr_decay", 1e-4, 1e-1, log=True)
        trial.suggest_categorical("activation", ["relu", "tanh"])
        return lr

    def run():
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
        study.optimize(objective, n_trials=n)
        return study

    study = benchmark.pedantic(run, rounds=3, iterations=1)
    assert len(study.trials) == n
    benchmark.extra_info["configs"] = n
