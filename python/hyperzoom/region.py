"""Regions of a space: boxes on each parameter's scaled axis, and allowed choices.

A :class:`Region` is what the coarse-to-fine search zooms into. It is held in unit
coordinates (so a region of a ``LogUniform`` parameter is a box on the log axis, of an
``InvLogUniform`` one a box on the ``log(1 - x)`` axis) and shown in the user's units.
The arithmetic (elite selection, margins, minimum widths, panning, narrowing) is done by
the compiled core.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._axes import space_axes
from ._validation import plain
from .space import Choice, Configs, Space

__all__ = ["Region", "select_elite"]


def select_elite(values: Any, k: int, *, sorted: bool = True) -> np.ndarray:
    """Return the indices of the ``k`` smallest values, best first (NaN never chosen).

    Ties are broken by index, so the result depends on the values alone. With
    ``sorted=False`` the same set comes in an unspecified (but deterministic) order,
    which is cheaper for large ``k``.

    Examples
    --------
    >>> from hyperzoom.region import select_elite
    >>> select_elite([3.0, float("nan"), 1.0, 2.0], 2)
    array([2, 3])
    """
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        msg = f"`values` must be one-dimensional, but got shape {arr.shape}."
        raise ValueError(msg)
    return np.asarray(_core.region.select_elite(arr, int(k), bool(sorted)))


class Region:
    """A region of a space: a box in unit coordinates plus the allowed choices.

    Parameters
    ----------
    space : Space
        The space the region belongs to.
    lo, hi : array_like, shape (d,)
        The box in unit coordinates (``0 <= lo <= hi <= 1``); ``[0, 1]`` on choices.
    allowed : array_like of bool, optional
        One flag per option of every ``Choice`` parameter, in order (all allowed when
        omitted).
    center, basis, half_widths : array_like, optional
        For a region of the coarse-to-fine search, which may be rotated: its centre
        (shape ``(d,)``, unit coordinates), its principal axes (the columns of
        ``basis``, shape ``(p, p)`` over the ``p`` non-choice parameters in order) and
        its half-widths along them (shape ``(p,)``). ``lo`` and ``hi`` are then its
        bounding box. None for a plain box.
    run : int
        The run of the search the region belongs to (0, then one more per restart).

    Examples
    --------
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), act=hz.Choice(["relu", "tanh"]))
    >>> r = hz.Region.full(space)
    >>> r.bounds["lr"]
    (0.0001, 1.0)
    >>> r.bounds["act"]
    ('relu', 'tanh')
    """

    __slots__ = (
        "allowed",
        "basis",
        "center",
        "half_widths",
        "hi",
        "lo",
        "run",
        "space",
    )

    def __init__(
        self,
        space: Space,
        lo: Any,
        hi: Any,
        allowed: Any | None = None,
        *,
        center: Any | None = None,
        basis: Any | None = None,
        half_widths: Any | None = None,
        run: int = 0,
    ) -> None:
        axes = space_axes(space)
        self.space = space
        self.lo = np.array(lo, dtype=np.float64).reshape(space.d)
        self.hi = np.array(hi, dtype=np.float64).reshape(space.d)
        if not (
            np.all(self.lo >= 0.0)
            and np.all(self.hi <= 1.0)
            and np.all(self.lo <= self.hi)
        ):
            msg = (
                "a region needs 0 <= lo <= hi <= 1 on every axis, but got "
                f"lo={self.lo.tolist()}, hi={self.hi.tolist()}."
            )
            raise ValueError(msg)
        if allowed is None:
            self.allowed = np.ones(axes.mask_size, dtype=bool)
        else:
            self.allowed = np.array(allowed, dtype=bool).reshape(axes.mask_size)
        self.lo.flags.writeable = False
        self.hi.flags.writeable = False
        self.allowed.flags.writeable = False
        self.run = int(run)
        self.center: np.ndarray | None = None
        self.basis: np.ndarray | None = None
        self.half_widths: np.ndarray | None = None
        if center is not None or basis is not None or half_widths is not None:
            p = sum(not isinstance(dist, Choice) for dist in space.params.values())
            self.center = np.array(center, dtype=np.float64).reshape(space.d)
            self.basis = np.array(basis, dtype=np.float64).reshape(p, p)
            self.half_widths = np.array(half_widths, dtype=np.float64).reshape(p)
            for a in (self.center, self.basis, self.half_widths):
                a.flags.writeable = False

    @classmethod
    def full(cls, space: Space, *, run: int = 0) -> Region:
        """Return the whole space as a region."""
        return cls(space, np.zeros(space.d), np.ones(space.d), run=run)

    @property
    def rotated(self) -> bool:
        """True when the region's axes are not those of the parameters."""
        if self.basis is None:
            return False
        return not np.allclose(np.abs(self.basis).max(axis=0), 1.0)

    # -- views in the user's units -------------------------------------------------
    @property
    def bounds(self) -> dict[str, Any]:
        """Per parameter: ``(low, high)`` in the user's units, or the allowed options.

        Integer parameters show the integers the box covers.
        """
        out: dict[str, Any] = {}
        mask_at = 0
        for j, (name, dist) in enumerate(self.space.items()):
            if isinstance(dist, Choice):
                k = len(dist.options)
                mask = self.allowed[mask_at : mask_at + k]
                mask_at += k
                out[name] = tuple(o for o, a in zip(dist.options, mask) if a)
                continue
            lo_u, hi_u = float(self.lo[j]), float(self.hi[j])
            if dist.is_integer:
                k = dist._cell_count()
                eps = 1e-9 / k
                lo_u, hi_u = min(lo_u + eps, 1.0), max(hi_u - eps, 0.0)
            lo_v, hi_v = dist.from_unit(np.array([lo_u, hi_u]))
            out[name] = (plain(lo_v), plain(hi_v))
        return out

    @property
    def widths(self) -> np.ndarray:
        """The box's width on each unit axis (1 on choices)."""
        return self.hi - self.lo

    def volume(self) -> float:
        """Share of the unit cube the region covers (choices by allowed share)."""
        vol = float(np.prod(self.hi - self.lo))
        mask_at = 0
        for dist in self.space.params.values():
            if isinstance(dist, Choice):
                k = len(dist.options)
                w = (
                    np.asarray(dist.weights)
                    if dist.weights is not None
                    else np.full(k, 1.0 / k)
                )
                vol *= float(w[self.allowed[mask_at : mask_at + k]].sum())
                mask_at += k
        return vol

    # -- arithmetic -----------------------------------------------------------------
    def contains(self, points: Any) -> np.ndarray:
        """Return which configurations (a ``Configs`` or unit rows) lie in the region."""
        unit = points.unit if isinstance(points, Configs) else points
        u = np.ascontiguousarray(unit, dtype=np.float64)
        if u.ndim != 2 or u.shape[1] != self.space.d:
            msg = f"`points` must have shape (n, {self.space.d}), but got {u.shape}."
            raise ValueError(msg)
        return np.asarray(
            space_axes(self.space).contains(
                u, self.lo, self.hi, self.allowed.astype(np.uint8)
            )
        )

    def to_unit(self, v: Any, *, workers: int = 1) -> np.ndarray:
        """Map a design ``v`` (n, d) in the region's own unit cube to global coordinates.

        Box axes are scaled linearly (so a Latin hypercube stays one inside the box);
        a choice lays its allowed cells end to end, keeping their weights.
        """
        arr = np.ascontiguousarray(v, dtype=np.float64)
        return np.asarray(
            space_axes(self.space).region_to_unit(
                arr, self.lo, self.hi, self.allowed.astype(np.uint8), workers
            )
        )

    def shrink(
        self,
        unit: np.ndarray,
        elite: np.ndarray,
        *,
        margin: float,
        min_width: float,
        pan_edge: float = 0.05,
        pan_step: float = 0.5,
    ) -> Region:
        """Return the next region around the ``elite`` rows of ``unit``."""
        lo, hi, allowed = space_axes(self.space).shrink(
            np.ascontiguousarray(unit, dtype=np.float64),
            np.ascontiguousarray(elite, dtype=np.int64),
            self.lo,
            self.hi,
            self.allowed.astype(np.uint8),
            margin,
            min_width,
            pan_edge,
            pan_step,
        )
        return Region(self.space, lo, hi, allowed)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Region):
            return NotImplemented
        return (
            self.space == other.space
            and np.array_equal(self.lo, other.lo)
            and np.array_equal(self.hi, other.hi)
            and np.array_equal(self.allowed, other.allowed)
        )

    def __hash__(self) -> int:
        return hash((self.lo.tobytes(), self.hi.tobytes(), self.allowed.tobytes()))

    def __repr__(self) -> str:
        parts = []
        for name, b in self.bounds.items():
            if isinstance(self.space[name], Choice):
                parts.append(f"{name}={list(b)!r}")
            else:
                parts.append(f"{name}=[{_fmt(b[0])}, {_fmt(b[1])}]")
        return "Region(" + ", ".join(parts) + ")"


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
