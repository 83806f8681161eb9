"""The raw _core contract: shapes, dtype coercion, exception mapping."""

from __future__ import annotations

import numpy as np
import pytest

from hyperzoom import _core


def make(kinds, low, high, cum=None):
    return _core.scales.CompiledSpace(
        np.array(kinds, np.int64),
        np.array(low, float),
        np.array(high, float),
        cum or [None] * len(kinds),
    )


def test_output_dtypes_follow_kinds() -> None:
    s = make(
        [0, 1, 2, 3, 4, 5, 6], [0, 1e-3, 0.9, 1, 1, 4, 0], [1, 1, 0.99, 5, 100, 64, 3]
    )
    unit, cols = s.sample(np.array([1, 2, 3], np.uint32), 33, 1, True)
    assert unit.shape == (33, 7)
    assert unit.dtype == np.float64
    assert unit.flags.c_contiguous
    assert [c.dtype for c in cols] == [np.float64] * 3 + [np.int64] * 4


def test_sample_without_unit_returns_none() -> None:
    s = make([0], [0], [1])
    unit, (col,) = s.sample(np.array([1, 2, 3], np.uint32), 5, 1, False)
    assert unit is None
    assert col.shape == (5,)


@pytest.mark.parametrize(
    ("kinds", "low", "high", "match"),
    [
        ([1], [0.0], [1.0], "0 < low < high"),
        ([2], [0.5], [1.0], "low < high < 1"),
        ([0], [1.0], [1.0], "low < high"),
        ([0], [np.nan], [1.0], "finite"),
        ([3], [1.5], [3.0], "whole numbers"),
        ([4], [0.0], [10.0], "1 <= low"),
        ([5], [3.0], [100.0], "powers of two"),
        ([6], [0.0], [0.0], "at least one option"),
        ([9], [0.0], [1.0], "unknown column kind"),
    ],
)
def test_bad_columns_raise_value_error_naming_the_rule(kinds, low, high, match) -> None:
    with pytest.raises(ValueError, match=match):
        make(kinds, low, high)


def test_weighted_categorical_cum_is_checked() -> None:
    with pytest.raises(ValueError, match="end at 1"):
        make([6], [0], [2], [np.array([0.3, 0.9])])
    with pytest.raises(ValueError, match="non-decreasing"):
        make([6], [0], [2], [np.array([0.7, 0.5])])


def test_from_unit_checks_width() -> None:
    s = make([0, 0], [0, 0], [1, 1])
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        s.from_unit(np.zeros((3, 3)), 1)


def test_to_unit_checks_column_count_and_length() -> None:
    s = make([0, 3], [0, 1], [1, 5])
    with pytest.raises(ValueError, match="d arrays"):
        s.to_unit([np.zeros(3)], 3, 1)
    with pytest.raises(ValueError, match="shape"):
        s.to_unit([np.zeros(3), np.ones(2, np.int64)], 3, 1)


def test_seed_shape_is_checked() -> None:
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        _core.random.uniform(np.array([1, 2], np.uint32), 0, 0, 4)


def test_negative_n_is_refused() -> None:
    with pytest.raises(ValueError, match="`n` must be >= 0"):
        _core.random.uniform(np.array([1, 2, 3], np.uint32), 0, 0, -1)


def test_gil_is_released_during_sampling() -> None:
    import threading
    import time

    s = make([1], [1e-4], [1.0])
    w = np.array([1, 2, 3], np.uint32)
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        start = time.perf_counter()
        while time.perf_counter() - start < 0.3:
            s.sample(w, 2_000_000, 1, False)
    finally:
        stop.set()
        t.join()
    # With the GIL held for each ~10 ms call the ticker would manage at most ~30 ticks.
    assert len(ticks) > 60
