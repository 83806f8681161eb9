"""How each unit axis of a space is cut into cells, in the compiled core's terms.

Regions, the coarse-to-fine optimiser and importance all hand the core this one
description of a space: the options of every ``Choice`` (with their cell edges), the
equal cells of ``IntUniform`` and ``PowerOfTwo``, and continuous axes for the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from .space import Choice, Space

__all__ = ["axes_of_columns", "space_axes"]

_ORDERED_INT_KINDS = (3, 5)  # IntUniform and PowerOfTwo: equal cells on the unit axis


def space_axes(space: Space) -> Any:
    """Return the compiled description of how each unit axis is cut into cells.

    Built once per space and cached on it.
    """
    cached = space.__dict__.get("_axes")
    if cached is not None:
        return cached
    cells, edges = _cells(space)
    axes = _core.region.Axes(np.array(cells, dtype=np.int64), edges)
    space.__dict__["_axes"] = axes
    return axes


def axes_of_columns(space: Space, columns: list[int]) -> Any:
    """Return the compiled description of the unit axes ``columns`` of ``space`` only.

    In that order: what a computation on a subset of the columns hands the core.
    """
    cells, edges = _cells(space)
    return _core.region.Axes(
        np.array([cells[j] for j in columns], dtype=np.int64),
        [edges[j] for j in columns],
    )


def _cells(space: Space) -> tuple[list[int], list[np.ndarray | None]]:
    cells: list[int] = []
    edges: list[np.ndarray | None] = []
    for dist in space.params.values():
        if isinstance(dist, Choice):
            cells.append(-len(dist.options))
            edges.append(dist.edges)
        elif dist.kind in _ORDERED_INT_KINDS:
            k = int(dist._cell_count())
            cells.append(k)
            edges.append(None)
        else:
            cells.append(0)
            edges.append(None)
    return cells, edges
