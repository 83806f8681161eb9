"""Condition values in a hashable form: what ``.when`` and ``Forbidden`` store."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["freeze", "thaw"]


def freeze(value: Any) -> Any:
    """Return a condition value in a hashable, comparable form.

    Lists, sets and ranges become ``("in", values...)``; a two-tuple of reals stays a
    tuple (a range for continuous parents, or two values for discrete ones).
    """
    if isinstance(value, range):
        return ("in", *value)
    if isinstance(value, (set, frozenset)):
        return ("in", *sorted(value, key=repr))
    if isinstance(value, list):
        return ("in", *value)
    if isinstance(value, np.ndarray):
        return ("in", *value.tolist())
    return value


def thaw(value: Any) -> Any:
    """Return the inverse of :func:`freeze`: lists, tuples or scalars."""
    if isinstance(value, tuple) and value and value[0] == "in":
        return list(value[1:])
    return value
