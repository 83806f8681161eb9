"""Sampling on a scale: hyperzoom vs NumPy idioms and scikit-learn's ParameterSampler.

Run: pytest bench/test_sampling.py --benchmark-only --benchmark-json=.benchmarks/s.json
then: python bench/ratios.py .benchmarks/s.json
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import hyperzoom as hz
from hyperzoom.cli import demo_space

SEED = 0x5EED_2024_1128_0001


@pytest.mark.benchmark(group="loguniform-10M")
def test_loguniform_numpy_baseline(benchmark, full) -> None:
    n = full(10_000_000, 10_000)
    rng = np.random.default_rng(SEED)
    lo, hi = math.log(1e-4), math.log(1.0)
    x = benchmark(lambda: np.exp(rng.uniform(lo, hi, n)))
    assert x.shape == (n,)
    assert x.min() >= 1e-4


@pytest.mark.benchmark(group="loguniform-10M")
@pytest.mark.parametrize("workers", [1, 2])
def test_loguniform_hyperzoom(benchmark, full, workers: int) -> None:
    n = full(10_000_000, 10_000)
    d = hz.LogUniform(1e-4, 1.0)
    x = benchmark(lambda: d.sample(n, rng=SEED, workers=workers))
    assert x.shape == (n,)
    assert x.min() >= 1e-4
    assert x.max() <= 1.0


@pytest.mark.benchmark(group="invloguniform-10M")
def test_invloguniform_numpy_baseline(benchmark, full) -> None:
    n = full(10_000_000, 10_000)
    rng = np.random.default_rng(SEED)
    lo, hi = math.log(1e-3), math.log(1e-1)
    x = benchmark(lambda: 1.0 - np.exp(rng.uniform(lo, hi, n)))
    assert x.shape == (n,)
    assert x.max() <= 0.999 + 1e-12


@pytest.mark.benchmark(group="invloguniform-10M")
@pytest.mark.parametrize("workers", [1, 2])
def test_invloguniform_hyperzoom(benchmark, full, workers: int) -> None:
    n = full(10_000_000, 10_000)
    d = hz.InvLogUniform(0.9, 0.999)
    x = benchmark(lambda: d.sample(n, rng=SEED, workers=workers))
    assert x.shape == (n,)
    assert x.min() >= 0.9
    assert x.max() <= 0.999


def numpy_space_sample(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The DESIGN.md space by hand in NumPy: what a user would write."""
    return {
        "learning_rate": np.exp(rng.uniform(math.log(1e-4), math.log(1.0), n)),
        "momentum": 1.0 - np.exp(rng.uniform(math.log(1e-3), math.log(1e-1), n)),
        "hidden_units": np.floor(
            np.exp(rng.uniform(math.log(16), math.log(1025), n))
        ).astype(np.int64),
        "layers": rng.integers(1, 7, n),
        "batch_size": 2 ** rng.integers(4, 10, n),
        "lr_decay": np.exp(rng.uniform(math.log(1e-4), math.log(1e-1), n)),
        "activation": np.array(["relu", "tanh"])[rng.integers(0, 2, n)],
    }


@pytest.mark.benchmark(group="space-1M")
def test_space_numpy_baseline(benchmark, full) -> None:
    n = full(1_000_000, 5_000)
    rng = np.random.default_rng(SEED)
    cols = benchmark(lambda: numpy_space_sample(n, rng))
    assert cols["hidden_units"].max() <= 1024


@pytest.mark.benchmark(group="space-1M")
@pytest.mark.parametrize("workers", [1, 2])
def test_space_hyperzoom(benchmark, full, workers: int) -> None:
    n = full(1_000_000, 5_000)
    space = demo_space()
    c = benchmark(lambda: space.sample(n, rng=SEED, workers=workers))
    assert len(c) == n
    assert c["hidden_units"].max() <= 1024


@pytest.mark.benchmark(group="space-per-config")
def test_space_sklearn_parameter_sampler_baseline(benchmark, full) -> None:
    """scikit-learn's ParameterSampler with scipy.stats distributions: per configuration."""
    from scipy import stats
    from sklearn.model_selection import ParameterSampler

    n = full(2_000, 50)
    grid = {
        "learning_rate": stats.loguniform(1e-4, 1.0),
        "momentum_complement": stats.loguniform(1e-3, 1e-1),
        "hidden_units": stats.randint(16, 1025),
        "layers": stats.randint(1, 7),
        "batch_size": [16, 32, 64, 128, 256, 512],
        "lr_decay": stats.loguniform(1e-4, 1e-1),
        "activation": ["relu", "tanh"],
    }
    out = benchmark(lambda: list(ParameterSampler(grid, n_iter=n, random_state=1)))
    assert len(out) == n
    benchmark.extra_info["configs"] = n


@pytest.mark.benchmark(group="space-per-config")
def test_space_hyperzoom_per_config(benchmark, full) -> None:
    n = full(1_000_000, 5_000)
    space = demo_space()
    c = benchmark(lambda: space.sample(n, rng=SEED))
    assert len(c) == n
    benchmark.extra_info["configs"] = n
