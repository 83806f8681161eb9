"""The counter-based generator: known answers, stream layout, SIMD paths, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import hyperzoom as hz
from hyperzoom import _core
from hyperzoom._rng import as_generator, seed_words, spawn

from .reference import philox4x32_10, stream_uniform, stream_word

# Random123's tests/kat_vectors, "philox4x32 10" lines: counter, key, expected output.
KAT = [
    (
        "00000000 00000000 00000000 00000000",
        "00000000 00000000",
        "6627e8d5 e169c58d bc57ac4c 9b00dbd8",
    ),
    (
        "ffffffff ffffffff ffffffff ffffffff",
        "ffffffff ffffffff",
        "408f276d 41c83b0e a20bc7c6 6d5451fd",
    ),
    (
        "243f6a88 85a308d3 13198a2e 03707344",
        "a4093822 299f31d0",
        "d16cfe09 94fdcceb 5001e420 24126ea1",
    ),
]


def words(text: str) -> list[int]:
    return [int(w, 16) for w in text.split()]


@pytest.mark.parametrize(("ctr", "key", "expected"), KAT)
def test_philox_matches_random123_known_answers(
    ctr: str, key: str, expected: str
) -> None:
    got = _core.random.philox4x32_10(
        np.array(words(ctr), np.uint32), np.array(words(key), np.uint32)
    )
    assert got.tolist() == words(expected)
    assert philox4x32_10(words(ctr), words(key)) == words(expected)


def test_philox_matches_python_reference_on_random_inputs(seed: int) -> None:
    g = np.random.default_rng(seed)
    for _ in range(50):
        ctr = g.integers(0, 2**32, 4, dtype=np.uint64).astype(np.uint32)
        key = g.integers(0, 2**32, 2, dtype=np.uint64).astype(np.uint32)
        got = _core.random.philox4x32_10(ctr, key).tolist()
        assert got == philox4x32_10([int(x) for x in ctr], [int(x) for x in key])


@pytest.mark.parametrize("first", [0, 1, 7, 15, 16, 17, 1000, 2**32 * 16 - 5])
def test_stream_layout_matches_reference(first: int) -> None:
    seed = [0x01234567, 0x89ABCDEF, 0xDEADBEEF]
    n = 40
    bits = _core.random.bits(np.array(seed, np.uint32), 9, first, n)
    assert bits.tolist() == [stream_word(seed, 9, first + i) for i in range(n)]
    u = _core.random.uniform(np.array(seed, np.uint32), 9, first, n)
    np.testing.assert_array_equal(
        u, [stream_uniform(seed, 9, first + i) for i in range(n)]
    )


@pytest.fixture
def restore_simd():
    level = _core.random.simd_level()
    yield
    _core.random._set_simd_level(level)


def test_every_simd_path_gives_the_same_bits(restore_simd: None, seed: int) -> None:
    if _core.random.detected_simd_level() == 0:
        pytest.skip("this CPU has no SIMD path to compare with the scalar one")
    space = hz.Space(
        a=hz.Uniform(-3.0, 5.0),
        lr=hz.LogUniform(1e-4, 1.0),
        beta=hz.InvLogUniform(0.9, 0.999),
        tiny=hz.LogUniform(1e-300, 1e300),  # the exact-exp fallback range
        h=hz.IntLogUniform(16, 1024),
    )
    results = []
    for level in range(_core.random.detected_simd_level() + 1):
        _core.random._set_simd_level(level)
        c = space.sample(10_007, rng=seed)
        bits = _core.random.bits(seed_words(seed), 3, 5, 1001)
        results.append((c, bits))
    base_c, base_bits = results[0]
    for c, bits in results[1:]:
        np.testing.assert_array_equal(bits, base_bits)
        for name in space.names:
            np.testing.assert_array_equal(c[name], base_c[name])


def test_set_simd_level_rejects_levels_the_cpu_lacks() -> None:
    with pytest.raises(ValueError, match="level"):
        _core.random._set_simd_level(_core.random.detected_simd_level() + 1)


def test_uniform_is_independent_of_split_and_workers(seed: int) -> None:
    w = seed_words(seed)
    whole = _core.random.uniform(w, 0, 0, 100_003, 1)
    parts = np.concatenate(
        [
            _core.random.uniform(w, 0, a, b - a, 1)
            for a, b in [(0, 13), (13, 50_000), (50_000, 100_003)]
        ]
    )
    np.testing.assert_array_equal(whole, parts)
    np.testing.assert_array_equal(whole, _core.random.uniform(w, 0, 0, 100_003, 2))
    np.testing.assert_array_equal(whole, _core.random.uniform(w, 0, 0, 100_003, 7))


def test_uniform_is_uniform(seed: int) -> None:
    u = _core.random.uniform(seed_words(seed), 0, 0, 200_000)
    assert u.min() >= 0.0
    assert u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_streams_are_uncorrelated(seed: int) -> None:
    w = seed_words(seed)
    a = _core.random.uniform(w, 0, 0, 100_000)
    b = _core.random.uniform(w, 1, 0, 100_000)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.015


def test_bounded_is_unbiased(seed: int) -> None:
    bound = 7
    x, next_index = _core.random.bounded(seed_words(seed), 4, 0, bound, 70_000)
    assert next_index >= 70_000
    counts = np.bincount(x.astype(np.int64), minlength=bound)
    assert counts.shape == (bound,)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_seed_normalisation_follows_default_rng(seed: int) -> None:
    np.testing.assert_array_equal(
        seed_words(seed), seed_words(np.random.SeedSequence(seed))
    )
    g = np.random.default_rng(seed)
    first, second = seed_words(g), seed_words(g)
    assert not np.array_equal(first, second)  # a Generator advances
    assert not np.array_equal(seed_words(None), seed_words(None))
    assert isinstance(as_generator(None), np.random.Generator)
    kids = spawn(seed, 3)
    assert len({float(k.random()) for k in kids}) == 3


@pytest.mark.parametrize("bad", [1.5, "7", True, [1, 2]])
def test_rng_rejects_non_seeds(bad: object) -> None:
    with pytest.raises(
        TypeError, match="`rng` must be an int, SeedSequence, Generator or None"
    ):
        as_generator(bad)  # type: ignore[arg-type]


def test_rng_rejects_negative_and_legacy() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        as_generator(-1)
    with pytest.raises(TypeError, match="RandomState"):
        as_generator(np.random.RandomState(1))  # type: ignore[arg-type]
