"""Per-call cost: small calls (one configuration) and large ones, each beside the NumPy
one-liner (or Optuna's ask/suggest/tell) doing the same thing with the same Generator.

Run ``pytest bench/test_calls.py --benchmark-only --benchmark-group-by=group`` and read
the ratios within each group (``python bench/ratios.py`` on a saved JSON prints them).
"""

from __future__ import annotations

import numpy as np
import pytest

import hyperzoom as hz
from hyperzoom.cli import demo_space

SEED = 0x5EED_2026_1130_0012
SIZES = [1, 10, 1000, 1_000_000]
LOW, HIGH = 1e-4, 1.0
LOG_LOW, LOG_SPAN = np.log(LOW), np.log(HIGH) - np.log(LOW)


def _n(full, n: int) -> int:
    return full(n, min(n, 1000))


# -- one parameter: Space.sample, Distribution.sample / rvs ---------------------------
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.benchmark(group="sample one LogUniform")
def test_space_sample(benchmark, full, n: int) -> None:
    n = _n(full, n)
    space = hz.Space(lr=hz.LogUniform(LOW, HIGH))
    g = np.random.default_rng(SEED)
    c = benchmark(lambda: space.sample(n, rng=g))
    assert len(c) == n
    assert (c["lr"] >= LOW).all()
    assert (c["lr"] <= HIGH).all()


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.benchmark(group="sample one LogUniform")
def test_distribution_sample(benchmark, full, n: int) -> None:
    n = _n(full, n)
    dist = hz.LogUniform(LOW, HIGH)
    g = np.random.default_rng(SEED)
    x = benchmark(lambda: dist.sample(n, rng=g))
    assert x.shape == (n,)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.benchmark(group="sample one LogUniform")
def test_distribution_rvs(benchmark, full, n: int) -> None:
    n = _n(full, n)
    dist = hz.LogUniform(LOW, HIGH)
    g = np.random.default_rng(SEED)
    x = benchmark(lambda: dist.rvs(n, random_state=g))
    assert x.shape == (n,)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.benchmark(group="sample one LogUniform")
def test_numpy_sample_baseline(benchmark, full, n: int) -> None:
    n = _n(full, n)
    g = np.random.default_rng(SEED)
    x = benchmark(lambda: np.exp(g.uniform(LOG_LOW, LOG_LOW + LOG_SPAN, n)))
    assert x.shape == (n,)


# -- maps ----------------------------------------------------------------------------
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.benchmark(group="to_unit one LogUniform")
def test_to_unit(benchmark, full, n: int) -> None:
    n = _n(full, n)
    dist = hz.LogUniform(LOW, HIGH)
    x = dist.sample(n, rng=SEED)
    u = benchmark(lambda: dist.to_unit(x))
    np.testing.assert_allclose(u, (np.log(x) - LOG_LOW) / LOG_SPAN, atol=1e-12)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.benchmark(group="to_unit one LogUniform")
def test_numpy_to_unit_baseline(benchmark, full, n: int) -> None:
    n = _n(full, n)
    x = hz.LogUniform(LOW, HIGH).sample(n, rng=SEED)
    u = benchmark(lambda: (np.log(x) - LOG_LOW) / LOG_SPAN)
    assert u.shape == (n,)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.benchmark(group="from_unit one LogUniform")
def test_from_unit(benchmark, full, n: int) -> None:
    n = _n(full, n)
    dist = hz.LogUniform(LOW, HIGH)
    u = np.random.default_rng(SEED).random(n)
    x = benchmark(lambda: dist.from_unit(u))
    np.testing.assert_allclose(x, np.exp(LOG_LOW + u * LOG_SPAN), rtol=1e-12)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.benchmark(group="from_unit one LogUniform")
def test_numpy_from_unit_baseline(benchmark, full, n: int) -> None:
    n = _n(full, n)
    u = np.random.default_rng(SEED).random(n)
    x = benchmark(lambda: np.exp(LOG_LOW + u * LOG_SPAN))
    assert x.shape == (n,)


# -- Latin hypercubes ----------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 10, 1000])
@pytest.mark.benchmark(group="latin hypercube, d = 7")
def test_latin_hypercube(benchmark, full, n: int) -> None:
    g = np.random.default_rng(SEED)
    x = benchmark(lambda: hz.latin_hypercube(n, 7, rng=g))
    strata = np.sort(np.floor(x * n).astype(int), axis=0)
    assert (strata == np.arange(n)[:, None]).all()


@pytest.mark.parametrize("n", [1, 10, 1000])
@pytest.mark.benchmark(group="latin hypercube, d = 7")
def test_numpy_latin_hypercube_baseline(benchmark, full, n: int) -> None:
    g = np.random.default_rng(SEED)
    base = np.tile(np.arange(n), (7, 1))

    def lhs() -> np.ndarray:
        return (g.permuted(base, axis=1).T + g.random((n, 7))) / n

    x = benchmark(lhs)
    assert x.shape == (n, 7)


# -- ask / tell, one configuration at a time -------------------------------------------
@pytest.mark.benchmark(group="ask(1) + tell, 7 parameters")
def test_ask_tell_one(benchmark) -> None:
    opt = hz.CoarseToFine(demo_space(), rng=SEED)
    one = np.ones(1)

    def step() -> None:
        c = opt.ask(1)
        opt.tell(c, one * c["learning_rate"])

    benchmark(step)
    assert opt.n_told == opt.n_asked > 0


@pytest.mark.benchmark(group="ask(1) + tell, 7 parameters")
def test_optuna_random_ask_suggest_tell_baseline(benchmark) -> None:
    optuna = pytest.importorskip(
        "optuna", reason="Optuna is an optional bench dependency"
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))

    def step() -> None:
        trial = study.ask()
        lr = trial.suggest_float("learning_rate", 1e-4, 1.0, log=True)
        trial.suggest_float("momentum_1m", 1e-3, 1e-1, log=True)
        trial.suggest_int("hidden_units", 16, 1024, log=True)
        trial.suggest_int("layers", 1, 6)
        trial.suggest_categorical("batch_size", [16, 32, 64, 128, 256, 512])
        trial.suggest_float("lr_decay", 1e-4, 1e-1, log=True)
        trial.suggest_categorical("activation", ["relu", "tanh"])
        study.tell(trial, lr)

    benchmark.pedantic(step, rounds=500, iterations=1, warmup_rounds=20)
    assert len(study.trials) >= 1


# -- ask / tell on a conditional space, one configuration at a time ------------------
def _conditional_space() -> hz.Space:
    from hyperzoom.demos.digits import space  # SGD or Adam, each with its own params

    return space


def _flat(space: hz.Space) -> hz.Space:
    """The same parameters with their conditions dropped."""
    return hz.Space(
        {
            k: type(v)(v.low, v.high) if not isinstance(v, hz.Choice) else v
            for k, v in space.items()
        }
    )


@pytest.mark.benchmark(group="ask(1) + tell, conditional space of 9 parameters")
def test_ask_tell_one_conditional(benchmark) -> None:
    opt = hz.CoarseToFine(_conditional_space(), rng=SEED)
    one = np.ones(1)

    def step() -> None:
        c = opt.ask(1)
        opt.tell(c, one * c["learning_rate"])

    benchmark(step)
    assert opt.n_told == opt.n_asked > 0


@pytest.mark.benchmark(group="ask(1) + tell, conditional space of 9 parameters")
def test_ask_tell_one_flat_baseline(benchmark) -> None:
    opt = hz.CoarseToFine(_flat(_conditional_space()), rng=SEED)
    one = np.ones(1)

    def step() -> None:
        c = opt.ask(1)
        opt.tell(c, one * c["learning_rate"])

    benchmark(step)
    assert opt.n_told == opt.n_asked > 0


@pytest.mark.benchmark(group="ask(1) + tell, conditional space of 9 parameters")
def test_optuna_random_conditional_baseline(benchmark) -> None:
    optuna = pytest.importorskip(
        "optuna", reason="Optuna is an optional bench dependency"
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))

    def step() -> None:  # define-by-run: only the active branch's parameters
        trial = study.ask()
        solver = trial.suggest_categorical("solver", ["sgd", "adam"])
        lr = trial.suggest_float("learning_rate", 1e-4, 1.0, log=True)
        if solver == "sgd":
            trial.suggest_float("momentum_1m", 1e-3, 0.5, log=True)
            trial.suggest_float("lr_decay", 0.0, 0.5)
        else:
            trial.suggest_float("beta_2_1m", 1e-4, 0.1, log=True)
        trial.suggest_int("hidden_units", 16, 256, log=True)
        trial.suggest_int("layers", 1, 3)
        trial.suggest_categorical("batch_size", [16, 32, 64, 128, 256])
        trial.suggest_float("alpha", 1e-6, 1e-1, log=True)
        study.tell(trial, lr)

    benchmark.pedantic(step, rounds=500, iterations=1, warmup_rounds=20)
    assert len(study.trials) >= 1
