"""Designs beside their peers: scipy.stats.qmc and pyDOE3, in the same groups.

Run ``pytest bench/test_designs.py --benchmark-only`` for the figures of
bench/README.md (ratios within one group come from one run on one machine);
``pytest bench --benchmark-disable`` is a quick smoke run at small sizes.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

import hyperzoom as hz

SEED = 0x8C3F_52A1_9D04_E7B6_1F2A_6C5D_3E8B_9071


@pytest.fixture
def full(request: pytest.FixtureRequest) -> bool:
    """Full sizes when timing; small ones under --benchmark-disable."""
    return not request.config.getoption("benchmark_disable")


def run(benchmark, fn, *, rounds: int):
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)


def is_latin(u: np.ndarray) -> bool:
    n = u.shape[0]
    s = np.sort(np.floor(u * n).astype(np.int64), axis=0)
    return bool((s == np.arange(n)[:, None]).all())


# ---- plain LHS, n = 1,000,000, d = 10 -------------------------------------------------


@pytest.mark.benchmark(group="lhs-plain n=1e6 d=10")
@pytest.mark.parametrize("workers", [1, 2])
def test_lhs_plain_hyperzoom(benchmark, full, workers):
    n = 1_000_000 if full else 10_000
    u = run(
        benchmark,
        lambda: hz.latin_hypercube(n, 10, rng=SEED, workers=workers),
        rounds=10 if full else 1,
    )
    assert u.shape == (n, 10)
    assert is_latin(u)


@pytest.mark.benchmark(group="lhs-plain n=1e6 d=10")
def test_lhs_plain_scipy(benchmark, full):
    n = 1_000_000 if full else 10_000
    u = run(
        benchmark,
        lambda: qmc.LatinHypercube(d=10, rng=SEED).random(n),
        rounds=3 if full else 1,
    )
    assert is_latin(u)


# ---- CD-optimised, n = 1000, d = 10 ---------------------------------------------------

_cd_reference: dict[bool, float] = {}


def scipy_random_cd(n: int, d: int) -> np.ndarray:
    return qmc.LatinHypercube(d=d, optimization="random-cd", rng=SEED).random(n)


@pytest.mark.benchmark(group="lhs-cd n=1000 d=10")
def test_lhs_cd_scipy(benchmark, full):
    n, d = (1000, 10) if full else (60, 4)
    u = run(benchmark, lambda: scipy_random_cd(n, d), rounds=2 if full else 1)
    _cd_reference[full] = qmc.discrepancy(u)
    assert is_latin(u)


@pytest.mark.benchmark(group="lhs-cd n=1000 d=10")
def test_lhs_cd_hyperzoom(benchmark, full):
    n, d = (1000, 10) if full else (60, 4)
    u = run(
        benchmark,
        lambda: hz.latin_hypercube(n, d, rng=SEED, optimize="cd"),
        rounds=10 if full else 1,
    )
    cd = hz.discrepancy(u)
    reference = _cd_reference.get(full)
    if reference is None:
        reference = qmc.discrepancy(scipy_random_cd(n, d))
    benchmark.extra_info["cd"] = cd
    benchmark.extra_info["scipy_cd"] = reference
    assert is_latin(u)
    assert cd <= reference


# ---- maximin-optimised, n = 1000, d = 10 ----------------------------------------------

_maximin_reference: dict[bool, float] = {}


def pydoe3_maximin(n: int, d: int, iterations: int) -> np.ndarray:
    # Only the maximin group needs pyDOE3: the scipy groups run without it.
    pyDOE3 = pytest.importorskip(
        "pyDOE3", reason="pyDOE3 is an optional bench dependency"
    )
    return np.asarray(
        pyDOE3.lhs(
            d,
            n,
            criterion="maximin",
            iterations=iterations,
            seed=np.random.default_rng(SEED),
        )
    )


@pytest.mark.benchmark(group="lhs-maximin n=1000 d=10")
def test_lhs_maximin_pydoe3(benchmark, full):
    n, d, it = (1000, 10, 1000) if full else (60, 4, 20)
    u = run(benchmark, lambda: pydoe3_maximin(n, d, it), rounds=1)
    _maximin_reference[full] = hz.min_distance(u)


@pytest.mark.benchmark(group="lhs-maximin n=1000 d=10")
def test_lhs_maximin_hyperzoom(benchmark, full):
    n, d, it = (1000, 10, 1000) if full else (60, 4, 20)
    u = run(
        benchmark,
        lambda: hz.latin_hypercube(n, d, rng=SEED, optimize="maximin"),
        rounds=10 if full else 1,
    )
    md = hz.min_distance(u)
    reference = _maximin_reference.get(full)
    if reference is None:
        reference = hz.min_distance(pydoe3_maximin(n, d, it))
    benchmark.extra_info["min_distance"] = md
    benchmark.extra_info["pydoe3_min_distance"] = reference
    assert is_latin(u)
    assert md > reference


# ---- discrepancy, n = 1000, d = 10 ----------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return np.random.default_rng(SEED).random((1000, 10))


@pytest.mark.benchmark(group="discrepancy n=1000 d=10")
@pytest.mark.parametrize("workers", [1, 2])
def test_discrepancy_hyperzoom(benchmark, sample, workers):
    value = benchmark(hz.discrepancy, sample, "CD", workers=workers)
    assert abs(value - qmc.discrepancy(sample)) < 1e-10


@pytest.mark.benchmark(group="discrepancy n=1000 d=10")
def test_discrepancy_scipy(benchmark, sample):
    value = benchmark(qmc.discrepancy, sample)
    assert value > 0
