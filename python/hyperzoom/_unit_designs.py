"""Unit-design builders shared by :mod:`hyperzoom.designs` and ``Space.sample``.

The compiled Latin hypercube (with the optimiser's default budget) and full grids built
from per-axis levels, with the shape and size checks both callers need. Nothing here
knows about spaces: :mod:`hyperzoom.space.sampling` builds a space's designs on these,
and :mod:`hyperzoom.designs` checks its users' arguments before calling them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _core
from ._validation import as_count, as_workers, check_size, short_repr

__all__ = [
    "MAX_COLUMNS",
    "MAX_GRID_SIZE",
    "OPTIMIZE",
    "as_points",
    "as_shape",
    "build_grid",
    "build_lhs",
    "check_grid_size",
    "unit_levels",
]

#: The most columns a design may have (the core numbers its streams by column).
MAX_COLUMNS = 1 << 24
#: The largest grid :func:`hyperzoom.grid` builds unless ``max_size`` says otherwise.
MAX_GRID_SIZE = 10_000_000
#: The compiled optimiser's criteria, by the name :func:`hyperzoom.latin_hypercube` takes.
OPTIMIZE = {"maximin": 1, "cd": 2}

#: Above this many points the optimiser keeps no pair matrix (mirrors kMatrixMaxN).
_MATRIX_MAX_N = 3000


def as_shape(n: Any, d: Any) -> tuple[int, int]:
    """Check a design's ``(n, d)``: counts, and a size that fits in memory."""
    n = as_count(n, "n")
    d = as_count(d, "d", minimum=1)
    if d > MAX_COLUMNS:
        msg = f"`d` must be at most {MAX_COLUMNS:,} columns, but got {short_repr(d)}."
        raise ValueError(msg)
    check_size(n, "n", 8 * d)
    return n, d


def _default_iterations(n: int, d: int) -> int:
    # 15 n proposals, at least scipy's 10,000 (about 40 ms at n = 1000, d = 10 on one
    # core: enough to beat scipy's random-cd and pyDOE3's best-of-1000 maximin there, see
    # bench/README.md), capped at about 1e8 floating-point steps so that a large n stays
    # in seconds.
    cost = n if n <= _MATRIX_MAX_N else n * d
    return min(max(10_000, 15 * n), max(1000, 10**8 // max(cost, 1)))


def build_lhs(
    words: np.ndarray,
    n: int,
    d: int,
    *,
    centered: bool,
    optimize: str | None,
    iterations: int | None,
    stall: int,
    workers: int,
) -> np.ndarray:
    """Return the ``(n, d)`` Latin hypercube of the seed ``words``, optionally optimised.

    Arguments are already checked: ``optimize`` is None or a key of :data:`OPTIMIZE`,
    ``iterations`` None for the default budget, ``stall`` 0 for no early stop.
    """
    iters = _default_iterations(n, d) if iterations is None else iterations
    u = _core.designs.latin_hypercube(words, n, d, centered, workers)
    if optimize is not None and n >= 2:
        u, _ = _core.designs.optimize(
            words, u, OPTIMIZE[optimize], iters, stall, 0.0, workers
        )
    return np.asarray(u)


def as_points(points: Any, name: str = "points") -> int:
    """Check a grid's number of levels on one axis (at least 1)."""
    return as_count(points, name, minimum=1)


def unit_levels(p: int) -> np.ndarray:
    """Return ``p`` evenly spaced levels of a unit axis."""
    # Both ends of the scaled axis (low and high themselves); one point sits mid-axis.
    return np.array([0.5]) if p == 1 else np.linspace(0.0, 1.0, p)


def check_grid_size(counts: list[int], max_size: int) -> None:
    """Refuse a grid of ``counts`` levels per axis with more than ``max_size`` points."""
    size = math.prod(counts)
    if size > max_size:
        shape = " x ".join(str(c) for c in counts)
        if len(shape) > 200:
            shape = shape[:200] + "..."
        msg = (
            f"the grid would have {size:,} points ({shape}), more than `max_size` = "
            f"{max_size:,}. Use fewer `points`, raise `max_size`, or sample at random "
            "(space.sample(n, design='lhs')) to cover more values with fewer points."
        )
        raise ValueError(msg)


def build_grid(levels: list[np.ndarray], workers: int | None) -> tuple[np.ndarray, int]:
    """Return the full grid of per-axis ``levels`` (last axis fastest) and its workers.

    The workers resolved for the grid's size are returned too, so that a space can map
    the grid to values with the same threads.
    """
    size = math.prod(len(v) for v in levels)
    check_size(size, "points", 8 * len(levels), "grid points")
    w = as_workers(workers, size * len(levels))
    return np.asarray(_core.designs.grid(levels, w)), w
