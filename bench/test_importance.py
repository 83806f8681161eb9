"""Importance: hyperzoom's main effects vs Optuna's fANOVA and PED-ANOVA, same 1,000 trials.

Run with ``--benchmark-only``; fANOVA takes tens of seconds, so it runs once.
"""

from __future__ import annotations

import numpy as np
import pytest

import hyperzoom as hz

SEED = 0x5EED_2024_1128_0006
SPACE = hz.Space(
    learning_rate=hz.LogUniform(1e-4, 1.0),
    momentum=hz.InvLogUniform(0.9, 0.999),
    hidden_units=hz.IntLogUniform(16, 1024),
    layers=hz.IntUniform(1, 6),
    lr_decay=hz.LogUniform(1e-4, 1e-1),
    activation=hz.Choice(["relu", "tanh"]),
)
TOP3 = ["learning_rate", "momentum", "hidden_units"]


def loss(c: hz.Configs) -> np.ndarray:
    a = (np.log10(c["learning_rate"]) + 2.0) / 2.0
    b = np.log10(1 - c["momentum"]) + 2.0
    h = (np.log2(c["hidden_units"]) - 7.0) / 3.0
    d = (np.log10(c["lr_decay"]) + 2.5) / 1.5
    noise = np.random.default_rng(SEED).normal(0.0, 0.05, len(c))
    return 4.0 * a**2 + 1.5 * b**2 + 1.0 * h**2 + 0.02 * d**2 + noise


@pytest.fixture(scope="module")
def trials(request: pytest.FixtureRequest):
    n = 200 if request.config.getoption("benchmark_disable") else 1000
    c = SPACE.sample(n, rng=SEED)
    return c, loss(c)


@pytest.mark.benchmark(group="importance-1000")
def test_importance_hyperzoom(benchmark, trials) -> None:
    c, y = trials
    imp = benchmark(lambda: hz.importance(c, y, rng=SEED))
    # 200 smoke-run trials resolve the leader only; 1,000 resolve the top three.
    assert (
        imp.ranking[: 3 if len(c) >= 1000 else 1] == TOP3[: 3 if len(c) >= 1000 else 1]
    )
    benchmark.extra_info["ranking"] = imp.ranking


def _study(c: hz.Configs, y: np.ndarray):
    optuna = pytest.importorskip(
        "optuna", reason="Optuna is an optional bench dependency"
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    d = optuna.distributions
    dists = {
        "learning_rate": d.FloatDistribution(1e-4, 1.0, log=True),
        "momentum": d.FloatDistribution(0.9, 0.999),
        "hidden_units": d.IntDistribution(16, 1024, log=True),
        "layers": d.IntDistribution(1, 6),
        "lr_decay": d.FloatDistribution(1e-4, 1e-1, log=True),
        "activation": d.CategoricalDistribution(["relu", "tanh"]),
    }
    study = optuna.create_study()
    study.add_trials(
        [
            optuna.trial.create_trial(params=row, distributions=dists, value=float(v))
            for row, v in zip(c, y)
        ]
    )
    return optuna, study


@pytest.mark.benchmark(group="importance-1000")
def test_importance_optuna_ped_anova_baseline(benchmark, trials) -> None:
    c, y = trials
    optuna, study = _study(c, y)
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    imp = benchmark(
        lambda: optuna.importance.get_param_importances(study, evaluator=evaluator)
    )
    benchmark.extra_info["ranking"] = list(imp)
    assert set(imp) == set(SPACE.names)


@pytest.mark.benchmark(group="importance-1000")
def test_importance_optuna_fanova(benchmark, trials) -> None:
    c, y = trials
    optuna, study = _study(c, y)
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=1)
    imp = benchmark.pedantic(
        lambda: optuna.importance.get_param_importances(study, evaluator=evaluator),
        rounds=1,
        iterations=1,
    )
    benchmark.extra_info["ranking"] = list(imp)
    k = 3 if len(c) >= 1000 else 1
    assert list(imp)[:k] == TOP3[:k]  # the same top three as hyperzoom
