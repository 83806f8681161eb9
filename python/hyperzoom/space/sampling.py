"""Designed samples of a space: grids on each scaled axis and balanced Latin hypercubes.

``Space.sample(design=...)`` for every design but ``"random"`` (which ``Space`` draws
itself), and the space half of :func:`hyperzoom.grid`: each parameter's grid levels on
its own scaled axis, grid sizes counted before anything is built, and the largest grid
that fits a budget.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .._rng import seed_words
from .._unit_designs import (
    MAX_GRID_SIZE,
    as_points,
    as_shape,
    build_grid,
    build_lhs,
    check_grid_size,
    unit_levels,
)
from .._validation import as_workers, check_size
from ..typing import RngLike
from .choice import Choice
from .conditions import MAX_ATTEMPTS
from .configs import Configs
from .distributions import IntLogUniform, PowerOfTwo

if TYPE_CHECKING:
    from ._space import Space

__all__ = [
    "SPACE_DESIGNS",
    "budget_grid",
    "grid_size",
    "largest_grid_points",
    "sample_design",
    "space_grid",
]

#: The largest full grid of a conditional space built just to count its rows.
_COUNTED = 1 << 20

#: ``Space.sample`` designs.
SPACE_DESIGNS = ("random", "lhs", "lhs-centered", "lhs-maximin", "lhs-cd", "grid")


# ---- grids ---------------------------------------------------------------------------


def _check_named(space: Space, points: Any) -> None:
    """Refuse a ``points`` dict that names a parameter the space does not have."""
    if isinstance(points, dict):
        unknown = [k for k in points if k not in space]
        if unknown:
            msg = f"`points` names unknown parameter(s) {unknown!r}; the space has {list(space.names)!r}."
            raise ValueError(msg)


def _space_levels(space: Space, points: Any) -> list[np.ndarray]:
    """Unit-coordinate levels of each parameter of ``space`` for ``points``."""
    _check_named(space, points)
    levels = []
    for name, dist in space.items():
        if isinstance(dist, Choice):
            # Every option, at the centre of its cell.
            levels.append(dist.to_unit(np.asarray(dist._array)))
            continue
        if isinstance(points, dict):
            if name not in points:
                msg = f"`points` has no entry for parameter {name!r}."
                raise ValueError(msg)
            p = as_points(points[name], f"points[{name!r}]")
        else:
            p = as_points(points)
        unit = unit_levels(p)
        if dist.is_integer:
            k = dist._cell_count()
            if k <= p:
                values = np.arange(k, dtype=np.int64)
                values = _integer_values(dist, values)
            else:
                values = np.unique(dist.from_unit(unit))
            unit = dist.to_unit(values)
        levels.append(np.ascontiguousarray(unit, dtype=np.float64))
    return levels


def _integer_values(dist: Any, index: np.ndarray) -> np.ndarray:
    if isinstance(dist, PowerOfTwo):
        lo, _ = dist.exponents
        shifted: np.ndarray = np.left_shift(np.int64(1), index + lo)
        return shifted
    return index + int(dist.low)


def space_grid(
    space: Space, points: Any, *, max_size: int, workers: int | None
) -> Configs:
    """Return the full grid of ``space``: :func:`hyperzoom.grid` for a Space.

    ``max_size`` is an already checked count; see :func:`hyperzoom.grid` for the rest.
    """
    if space.d < 1:
        msg = "`space_or_d` must have at least one parameter, but got an empty Space."
        raise ValueError(msg)
    # Counted before anything is built: a grid's levels never exceed `max_size`.
    counts = _space_counts(space, points, max_size)
    if space._cond is None or math.prod(counts) > max(max_size, _COUNTED):
        check_grid_size(counts, max_size)
    levels = _space_levels(space, points)
    unit, w = build_grid(levels, workers)
    if space._cond is not None:
        unit = conditional_rows(space, unit)
        if unit.shape[0] > max_size:
            msg = (
                f"the grid would have {unit.shape[0]:,} points once conditions and "
                f"forbidden clauses are applied, more than `max_size` = {max_size:,}. "
                "Use fewer `points` or raise `max_size`."
            )
            raise ValueError(msg)
    return space.from_unit(unit, workers=w)


def conditional_rows(space: Space, unit: np.ndarray) -> np.ndarray:
    """Return the rows of a full grid that a conditional space holds.

    Inactive coordinates are set to NaN, forbidden rows dropped, and rows made equal by
    that kept once (in order).
    """
    unit = np.array(unit, dtype=np.float64, order="C", copy=True)
    space._cond.apply(unit, 1)
    unit = unit[~space._cond.forbidden_rows(unit)]
    if not space._conditional:
        return unit
    key = np.nan_to_num(unit, nan=-1.0)
    _, first = np.unique(key, axis=0, return_index=True)
    return np.ascontiguousarray(unit[np.sort(first)])


def _axis_count(dist: Any, points: int, cap: int) -> int:
    """Return the number of levels of ``dist`` in a grid of ``points``, building nothing.

    ``points`` on a continuous axis, every option of a choice, every value of an
    integer parameter with at most ``points`` values; otherwise ``points`` distinct
    levels on the equal cells of ``IntUniform`` and ``PowerOfTwo`` (the levels are at
    least a cell apart). ``IntLogUniform`` rounds several levels to one value near its
    low end: those are counted on the levels themselves when ``points <= cap``, and
    ``cap + 1`` (too many) is returned otherwise.
    """
    if isinstance(dist, Choice):
        return len(dist.options)
    if not dist.is_integer:
        return points
    cells = dist._cell_count()
    if cells <= points:
        return int(cells)
    if not isinstance(dist, IntLogUniform):
        return points
    if points > cap:
        return cap + 1
    return len(np.unique(dist.from_unit(unit_levels(points))))


def _space_counts(space: Space, points: Any, cap: int) -> list[int]:
    """Levels per parameter of ``grid(space, points)``, checked but never built."""
    _check_named(space, points)
    counts = []
    for name, dist in space.items():
        if isinstance(dist, Choice):
            counts.append(len(dist.options))
            continue
        if isinstance(points, dict):
            if name not in points:
                msg = f"`points` has no entry for parameter {name!r}."
                raise ValueError(msg)
            p = as_points(points[name], f"points[{name!r}]")
        else:
            p = as_points(points)
        counts.append(_axis_count(dist, p, cap))
    return counts


def grid_size(space: Space, points: int, cap: int = MAX_GRID_SIZE) -> int:
    """Return the number of rows of ``grid(space, points)`` without building it.

    Exact up to ``cap``; a grid larger than ``cap`` may be reported as any size above
    it. Costs O(d) for every parameter but ``IntLogUniform`` (O(points) there).
    """
    size = 1
    for dist in space.params.values():
        size *= _axis_count(dist, points, cap)
    if space._cond is not None and size <= max(cap, _COUNTED):
        # Conditions and clauses shrink the grid: count its distinct allowed rows
        # (full grids of up to _COUNTED rows are built to count them; a larger one is
        # reported at its full size, an upper bound).
        unit, _ = build_grid(_space_levels(space, points), 1)
        return int(conditional_rows(space, unit).shape[0])
    return size


def largest_grid_points(space: Space, limit: int) -> int:
    """Return the largest ``points`` whose grid of ``space`` has at most ``limit`` rows.

    A grid grows with ``points``, so this is a bisection: O(d log limit) size counts,
    never a scan over sizes. At least 1 (a grid of one point per axis, which may itself
    exceed ``limit``: the caller decides).
    """
    if grid_size(space, 2, limit) > limit:
        return 1
    lo, hi = 2, 3
    while grid_size(space, hi, limit) <= limit:
        lo, hi = hi, 2 * hi
        if (
            lo >= limit
        ):  # every axis is enumerated or a choice: more points change nothing
            return lo
    while hi - lo > 1:  # size(lo) <= limit < size(hi)
        mid = (lo + hi) // 2
        if grid_size(space, mid, limit) <= limit:
            lo = mid
        else:
            hi = mid
    return lo


# ---- Space.sample(design=...) ----------------------------------------------------------


def budget_grid(space: Space, budget: int) -> np.ndarray:
    """Return the unit coordinates of the largest grid of ``space`` that fits ``budget``.

    Grid sizes are counted without building the grids (a bisection over the points per
    axis); only the chosen one is built.
    """
    limit = min(budget, MAX_GRID_SIZE)
    points = largest_grid_points(space, limit)
    g = space_grid(
        space, points, max_size=max(limit, grid_size(space, 1)), workers=None
    )
    return np.ascontiguousarray(g.unit[:budget])


def sample_design(
    space: Space, n: int, design: str, *, rng: RngLike, workers: int | None
) -> Configs:
    """``Space.sample`` for every design except "random" (which ``Space`` draws itself).

    ``n`` is an already checked count.
    """
    if design not in SPACE_DESIGNS:
        msg = f"{design!r} is not a valid design. It must be one of {list(SPACE_DESIGNS)!r}."
        raise ValueError(msg)
    d = space.d
    if design == "grid":
        return _grid_design(space, n, workers)
    if d == 0:
        return space.from_unit(np.empty((n, 0)))
    w = as_workers(workers, n * d)
    optimize = {"lhs-maximin": "maximin", "lhs-cd": "cd"}.get(design)
    n, d = as_shape(n, d)
    words = seed_words(rng)
    u = build_lhs(
        words,
        n,
        d,
        centered=design == "lhs-centered",
        optimize=optimize,
        iterations=None,
        stall=0,
        workers=w,
    )
    if space._cond is not None:
        # Each conditional parameter's strata are spread over the rows where it is
        # active; rows left forbidden are drawn again at random.
        space._cond.restratify(u, design == "lhs-centered", _latin_cells(space))
        redraw = (words ^ np.uint32(0x5BD1E995)).astype(np.uint32)
        space._check_stuck(space._cond.redraw_forbidden(redraw, u, MAX_ATTEMPTS, w))
        return space.from_unit(u, workers=w)
    return space.from_unit(_balance_integers(space, u), workers=w)


def _latin_cells(space: Space) -> list[int]:
    """Return how the core balances each column of a Latin design.

    ``k`` equal cells, -1 for unequal cells (``IntLogUniform``, a weighted ``Choice``),
    0 for continuous.
    """
    out = []
    for dist in space.params.values():
        if not dist.is_integer:
            out.append(0)
        elif isinstance(dist, IntLogUniform) or (
            isinstance(dist, Choice) and dist.weights is not None
        ):
            out.append(-1)
        else:
            k = len(dist.options) if isinstance(dist, Choice) else dist._cell_count()
            out.append(int(k))
    return out


def _balance_integers(space: Space, u: np.ndarray) -> np.ndarray:
    """Move integer and choice columns of a Latin design to stratum-balanced cells.

    Stratum ``p`` of ``n`` is represented by its centre ``(p + 1/2) / n``: a cell of
    width ``w`` then holds ``floor(n w)`` or ``ceil(n w)`` points. For equal cells
    (``IntUniform``, ``PowerOfTwo``, unweighted ``Choice``: ``k`` cells) the cell is
    computed in integers, ``floor((2p + 1) k / 2n)``, so each value appears
    ``floor(n/k)`` or ``ceil(n/k)`` times exactly; the column is set to cell centres.
    """
    if u.shape[0] == 0:
        return u
    out = u  # a fresh design nobody else holds: rewritten in place
    for j, dist in enumerate(space.params.values()):
        if not dist.is_integer:
            continue
        # A conditional column is a Latin column of its active rows (NaN elsewhere).
        rows: slice | np.ndarray = slice(None)
        if j in space._conditional:
            rows = np.flatnonzero(~np.isnan(u[:, j]))
        _balance_column(dist, out, j, rows)
    return out


def _balance_column(dist: Any, u: np.ndarray, j: int, rows: slice | np.ndarray) -> None:
    """Balance column ``j`` of ``u`` over ``rows`` (a Latin column there), in place."""
    col = u[rows, j]
    n = col.shape[0]
    if n == 0:
        return
    p = np.floor(col * n).astype(np.int64)
    weighted = isinstance(dist, IntLogUniform) or (
        isinstance(dist, Choice) and dist.weights is not None
    )
    k = len(dist.options) if isinstance(dist, Choice) else dist._cell_count()
    if not weighted and 2 * n * k < 2**62:
        cell = ((2 * p + 1) * k) // (2 * n)
        u[rows, j] = (cell + 0.5) / k
    else:
        u[rows, j] = (p + 0.5) / n


def _grid_design(space: Space, n: int, workers: int | None) -> Configs:
    """``Space.sample(n, design="grid")``: the full grid of exactly ``n`` rows."""
    if space.d == 0:
        msg = "design='grid' needs a space with at least one parameter."
        raise ValueError(msg)
    check_size(n, "n", 8 * space.d)
    # The largest grid of at most n rows, found by bisection (sizes grow with points).
    p = largest_grid_points(space, max(n, 1))
    size = grid_size(space, p, max(n, 1))
    if size == n:
        return space_grid(space, p, max_size=max(n, 1), workers=workers)
    below = [size] if size < n else []
    above = grid_size(space, p + 1, n) if size <= n else size
    near = [f"{s:,}" for s in below] + ([f"{above:,}"] if above > n else [])
    msg = (
        f"design='grid' needs `n` to be the size of a full grid of this space, but got "
        f"n={n}; the nearest sizes are {' and '.join(near)}. Use hz.grid(space, points) "
        "to choose the points per axis."
    )
    raise ValueError(msg)
