"""Designs: which configurations get tried.

Unit designs are ``(n, d)`` float64 arrays in ``[0, 1)``, one column per parameter's
scaled axis (see :mod:`hyperzoom.space`):

* :func:`random_design`: independent uniforms (the practice's default: random, not a grid).
* :func:`latin_hypercube`: every column has exactly one point in each of its ``n``
  strata ``[k/n, (k+1)/n)``; optionally centred, and optionally optimised for the
  largest smallest distance (``"maximin"``) or the lowest centred L2 discrepancy
  (``"cd"``) by an exchange algorithm that keeps the design Latin.
* :func:`extend_lhs`: new points that, with an existing design, make a Latin hypercube
  of the combined size (exactly when the sizes allow it, e.g. ``n -> 2n``).
* :func:`grid`: the baseline, spaced on each parameter's scaled axis.
* :func:`discrepancy`, :func:`min_distance`, :func:`max_abs_correlation`: quality.

Everything is computed by the compiled core with the GIL released; the same ``rng``
gives the same design bit for bit whatever ``workers`` is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._rng import seed_words
from ._unit_designs import (
    MAX_COLUMNS,
    MAX_GRID_SIZE,
    OPTIMIZE,
    as_points,
    as_shape,
    build_grid,
    build_lhs,
    check_grid_size,
    unit_levels,
)
from ._validation import as_count, as_workers, check_size, short_repr
from .space import Space
from .space.sampling import SPACE_DESIGNS, largest_grid_points, space_grid
from .typing import RngLike

__all__ = [
    "MAX_GRID_SIZE",
    "SPACE_DESIGNS",
    "discrepancy",
    "extend_lhs",
    "grid",
    "largest_grid_points",
    "latin_hypercube",
    "max_abs_correlation",
    "min_distance",
    "random_design",
]

_DISCREPANCY = {"CD": 0, "WD": 1, "MD": 2, "L2-star": 3}


def _as_design(x: Any, name: str, *, closed: bool) -> np.ndarray:
    """Coerce a unit design: 2-D float64, C-contiguous, finite, in [0, 1) or [0, 1]."""
    try:
        arr = np.asarray(x, dtype=np.float64, order="C")
    except (TypeError, ValueError) as exc:
        msg = f"`{name}` must be an array of floats of shape (n, d), but got {x!r}."
        raise TypeError(msg) from exc
    if arr.ndim != 2:
        msg = f"`{name}` must be two-dimensional (n, d), but got shape {arr.shape}."
        raise ValueError(msg)
    if arr.shape[1] < 1:
        msg = f"`{name}` must have at least one column, but got shape {arr.shape}."
        raise ValueError(msg)
    upper = "1]" if closed else "1)"
    ok = (arr >= 0.0) & ((arr <= 1.0) if closed else (arr < 1.0))
    if not ok.all():
        idx = int(np.flatnonzero(~ok.reshape(-1))[0])
        row, col = divmod(idx, arr.shape[1])
        msg = (
            f"`{name}` must lie in [0, {upper}, but got {float(arr.reshape(-1)[idx])!r} "
            f"at row {row}, column {col}."
        )
        raise ValueError(msg)
    return arr


def _as_bool(x: Any, name: str) -> bool:
    if not isinstance(x, (bool, np.bool_)):
        msg = f"`{name}` must be True or False, but got {x!r}."
        raise TypeError(msg)
    return bool(x)


def random_design(
    n: int, d: int, *, rng: RngLike = None, workers: int | None = None
) -> np.ndarray:
    """Independent uniform points: an ``(n, d)`` random design in ``[0, 1)``.

    Parameters
    ----------
    n : int
        Number of points (``0`` gives an empty ``(0, d)`` array).
    d : int
        Number of columns, ``>= 1``.
    rng : int, SeedSequence, Generator or None
        Seed (:func:`numpy.random.default_rng` semantics).
    workers : int or None
        Threads (``-1``: all cores; ``None``: automatic). Never changes the result.

    Returns
    -------
    numpy.ndarray, shape (n, d)

    Examples
    --------
    >>> import hyperzoom as hz
    >>> u = hz.random_design(4, 2, rng=0x5EED_1234_ABCD)
    >>> u.shape, bool(((u >= 0) & (u < 1)).all())
    ((4, 2), True)
    """
    n, d = as_shape(n, d)
    w = as_workers(workers, n * d)
    return np.asarray(_core.designs.random_design(seed_words(rng), n, d, w))


def latin_hypercube(
    n: int,
    d: int,
    *,
    rng: RngLike = None,
    centered: bool = False,
    optimize: str | None = None,
    iterations: int | None = None,
    stall: int | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Return a Latin hypercube: one point in each of the ``n`` strata of every column.

    Column ``j`` holds one point in each interval ``[k/n, (k+1)/n)``, ``k = 0..n-1``
    (``floor(u[:, j] * n)`` is a permutation of ``0..n-1``), placed uniformly within
    it, or at its centre with ``centered=True``.

    Parameters
    ----------
    n : int
        Number of points, ``>= 0``.
    d : int
        Number of columns, ``>= 1``.
    rng : int, SeedSequence, Generator or None
        Seed (:func:`numpy.random.default_rng` semantics).
    centered : bool
        Put every point at the centre of its stratum.
    optimize : {None, "maximin", "cd"}
        Improve the design by exchanging two points' values in one column (which keeps
        it Latin): ``"maximin"`` lowers Morris and Mitchell's φp (p = 50), i.e. pushes
        the closest pairs apart; ``"cd"`` lowers the centred L2 discrepancy. Each
        proposed exchange costs O(n) (O(n d) above 3000 points); the best design met is
        returned.
    iterations : int, optional
        Exchanges to propose (the budget). Default ``max(10000, 15 n)``, capped near 1e8
        arithmetic steps (``1e8 / n`` proposals, ``1e8 / (n d)`` above 3000 points, at
        least 1000); only with ``optimize``.
    stall : int, optional
        Stop early after this many proposals in a row without improvement; only with
        ``optimize``.
    workers : int or None
        Threads (``-1``: all cores; ``None``: automatic). Never changes the result.

    Returns
    -------
    numpy.ndarray, shape (n, d)
        Float64 values in ``[0, 1)``.

    See Also
    --------
    extend_lhs : add points to a design, keeping it Latin.
    discrepancy, min_distance : the criteria the optimiser improves.

    Examples
    --------
    >>> import numpy as np
    >>> import hyperzoom as hz
    >>> u = hz.latin_hypercube(5, 2, rng=0x5EED_1234_ABCD)
    >>> np.sort(np.floor(u * 5), axis=0).T
    array([[0., 1., 2., 3., 4.],
           [0., 1., 2., 3., 4.]])
    >>> plain = hz.latin_hypercube(200, 3, rng=7)
    >>> best = hz.latin_hypercube(200, 3, rng=7, optimize="cd")
    >>> bool(hz.discrepancy(best) < hz.discrepancy(plain))
    True
    """
    n, d = as_shape(n, d)
    centered = _as_bool(centered, "centered")
    if optimize is not None and optimize not in OPTIMIZE:
        valid = [None, *OPTIMIZE]
        msg = f"{optimize!r} is not a valid `optimize`. It must be one of {valid!r}."
        raise ValueError(msg)
    if optimize is None:
        for name, value in (("iterations", iterations), ("stall", stall)):
            if value is not None:
                msg = (
                    f"`{name}` applies only to optimised designs (optimize='maximin' "
                    f"or 'cd'), but got {name}={value!r} with optimize=None."
                )
                raise ValueError(msg)
    iters = None if iterations is None else as_count(iterations, "iterations")
    stop = 0 if stall is None else as_count(stall, "stall", minimum=1)
    w = as_workers(workers, n * d)
    return build_lhs(
        seed_words(rng),
        n,
        d,
        centered=centered,
        optimize=optimize,
        iterations=iters,
        stall=stop,
        workers=w,
    )


def extend_lhs(
    design: Any,
    m: int,
    *,
    rng: RngLike = None,
    centered: bool = False,
    workers: int | None = None,
) -> np.ndarray:
    """Return ``m`` new points that grow ``design`` towards an ``(n + m)``-point LHS.

    In each column the ``N = n + m`` strata ``[k/N, (k+1)/N)`` not yet occupied by a
    point of ``design`` are found; ``m`` of them get a new point (uniform within the
    stratum, or at its centre), and the columns are paired at random. When the existing
    points of every column fall in distinct ``N``-strata (always the case for
    ``n -> 2n`` and for ``n -> k n`` from a Latin design), exactly ``m`` strata are free
    and the union is a Latin hypercube. Otherwise more than ``m`` are free, and ``m`` of
    them are chosen at random: the union then has one point in as many strata as it can
    (each column's collisions are the existing design's and cannot be undone without
    moving points already evaluated).

    Parameters
    ----------
    design : array_like, shape (n, d)
        The existing points, in ``[0, 1)``.
    m : int
        Number of new points, ``>= 0``.
    rng : int, SeedSequence, Generator or None
        Seed (:func:`numpy.random.default_rng` semantics).
    centered : bool
        Put the new points at the centres of their strata.
    workers : int or None
        Threads (``-1``: all cores; ``None``: automatic). Never changes the result.

    Returns
    -------
    numpy.ndarray, shape (m, d)
        Only the new points: ``np.vstack((design, new))`` is the grown design.

    Examples
    --------
    >>> import numpy as np
    >>> import hyperzoom as hz
    >>> u = hz.latin_hypercube(4, 2, rng=11)
    >>> new = hz.extend_lhs(u, 4, rng=12)
    >>> both = np.vstack((u, new))
    >>> np.sort(np.floor(both * 8), axis=0).T
    array([[0., 1., 2., 3., 4., 5., 6., 7.],
           [0., 1., 2., 3., 4., 5., 6., 7.]])
    """
    x = _as_design(design, "design", closed=False)
    m = check_size(as_count(m, "m"), "m", 8 * x.shape[1])
    centered = _as_bool(centered, "centered")
    w = as_workers(workers, (x.shape[0] + m) * x.shape[1])
    return np.asarray(_core.designs.extend_lhs(seed_words(rng), x, m, centered, w))


def discrepancy(
    sample: Any, method: str = "CD", *, workers: int | None = None
) -> float:
    """Discrepancy of a sample in ``[0, 1]^d``: lower is more uniform.

    The definitions are those of :func:`scipy.stats.qmc.discrepancy` (values agree to
    about 1e-13): ``"CD"`` centred, ``"WD"`` wrap-around and ``"MD"`` mixture L2
    discrepancies (squared, as scipy returns them) and ``"L2-star"``.

    Parameters
    ----------
    sample : array_like, shape (n, d)
        At least one point, in ``[0, 1]``.
    method : {"CD", "WD", "MD", "L2-star"}
        Which discrepancy.
    workers : int or None
        Threads (``-1``: all cores; ``None``: automatic). Never changes the result.

    Returns
    -------
    float

    Examples
    --------
    >>> import hyperzoom as hz
    >>> round(hz.discrepancy([[0.5, 0.5]]), 6)
    0.173611
    """
    x = _as_design(sample, "sample", closed=True)
    if x.shape[0] < 1:
        msg = "`sample` must hold at least one point, but got shape (0, d)."
        raise ValueError(msg)
    if method not in _DISCREPANCY:
        msg = f"{method!r} is not a valid method. It must be one of {list(_DISCREPANCY)!r}."
        raise ValueError(msg)
    w = as_workers(workers, x.shape[0] * x.shape[0] * x.shape[1] // 8)
    return float(_core.designs.discrepancy(x, _DISCREPANCY[method], w))


def min_distance(sample: Any, *, workers: int | None = None) -> float:
    """Return the smallest Euclidean distance between two points of a sample.

    Parameters
    ----------
    sample : array_like, shape (n, d)
        At least two points, in ``[0, 1]``.
    workers : int or None
        Threads (``-1``: all cores; ``None``: automatic). Never changes the result.

    Returns
    -------
    float

    Examples
    --------
    >>> import hyperzoom as hz
    >>> hz.min_distance([[0.0, 0.0], [0.3, 0.4], [1.0, 1.0]])
    0.5
    """
    x = _as_design(sample, "sample", closed=True)
    if x.shape[0] < 2:
        msg = f"`sample` must hold at least two points, but got shape {x.shape}."
        raise ValueError(msg)
    w = as_workers(workers, x.shape[0] * x.shape[0] * x.shape[1] // 8)
    return float(_core.designs.min_distance(x, w))


def max_abs_correlation(sample: Any) -> float:
    """Return the largest absolute Pearson correlation between two columns.

    A constant column is uncorrelated with every other (its correlation counts as 0);
    fewer than two columns or two points give 0.

    Parameters
    ----------
    sample : array_like, shape (n, d)
        Points in ``[0, 1]``.

    Returns
    -------
    float

    Examples
    --------
    >>> import hyperzoom as hz
    >>> round(hz.max_abs_correlation([[0.1, 0.2], [0.5, 0.6], [0.9, 0.7]]), 4)
    0.9449
    """
    x = _as_design(sample, "sample", closed=True)
    n, d = x.shape
    if n < 2 or d < 2:
        return 0.0
    c = x - x.mean(axis=0)
    norm = np.sqrt(np.einsum("ij,ij->j", c, c))
    scale = np.where(norm > 0.0, norm, 1.0)
    c = c / scale
    r = c.T @ c
    np.fill_diagonal(r, 0.0)
    r[norm == 0.0, :] = 0.0
    r[:, norm == 0.0] = 0.0
    return float(min(np.abs(r).max(), 1.0))


# ---- grids ---------------------------------------------------------------------------


def grid(
    space_or_d: Space | int,
    points: Any,
    *,
    max_size: int = MAX_GRID_SIZE,
    workers: int | None = None,
) -> Any:
    """Return a full grid, the baseline design, spaced on each scaled axis.

    Continuous parameters get ``points`` levels from ``low`` to ``high`` evenly spaced
    on their scaled axis: log-spaced for ``LogUniform`` (``LogUniform(1e-4, 1)`` with 5
    points gives 1e-4, 1e-3, ..., 1), spaced in ``log(1 - β)`` for ``InvLogUniform``.
    Integer parameters with at most ``points`` values are enumerated, otherwise
    ``points`` levels on their scaled axis (rounded, duplicates dropped); every option of
    a ``Choice`` is enumerated. One point sits mid-axis. The last parameter varies
    fastest.

    Parameters
    ----------
    space_or_d : Space or int
        A space (the result is its ``Configs``), or a number of unit columns (the result
        is an ``(size, d)`` array of levels ``linspace(0, 1, points)``).
    points : int, or sequence of int (unit grid), or dict of name to int (space)
        Levels per axis, each ``>= 1``.
    max_size : int
        The largest number of grid points allowed (default 10,000,000): a grid
        grows as ``points ** d``, and a grid that size is rarely what you want; random
        or Latin hypercube samples cover more values of each parameter.
    workers : int or None
        Threads (``-1``: all cores; ``None``: automatic).

    Returns
    -------
    Configs or numpy.ndarray

    Examples
    --------
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), act=hz.Choice(["relu", "tanh"]))
    >>> g = hz.grid(space, 3)
    >>> len(g), g["lr"].round(6).tolist()[::2]
    (6, [0.0001, 0.01, 1.0])
    >>> hz.grid(2, 2)
    array([[0., 0.],
           [0., 1.],
           [1., 0.],
           [1., 1.]])
    """
    max_size = as_count(max_size, "max_size", minimum=1)
    target: Any = space_or_d  # checked at run time: callers need not be typed
    if isinstance(target, Space):
        return space_grid(target, points, max_size=max_size, workers=workers)
    if not isinstance(target, (int, np.integer)):  # as_count refuses bools
        msg = f"`space_or_d` must be a Space or a number of columns, but got {space_or_d!r}."
        raise TypeError(msg)
    d = as_count(target, "d", minimum=1)
    if d > MAX_COLUMNS:
        msg = f"`d` must be at most {MAX_COLUMNS:,} columns, but got {short_repr(d)}."
        raise ValueError(msg)
    if isinstance(points, (int, np.integer)) and not isinstance(points, bool):
        counts = [as_points(points)] * d
    elif isinstance(points, (list, tuple, np.ndarray)):
        if len(points) != d:
            msg = (
                f"`points` must have one entry per column ({d}), but got {len(points)}."
            )
            raise ValueError(msg)
        counts = [as_points(p, f"points[{i}]") for i, p in enumerate(points)]
    else:
        msg = f"`points` must be an integer or a sequence of integers, but got {points!r}."
        raise TypeError(msg)
    check_grid_size(counts, max_size)
    unit, _ = build_grid([unit_levels(p) for p in counts], workers)
    return unit
