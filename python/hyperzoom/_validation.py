"""Argument checks shared by every public function; every error message starts here.

Messages state the rule, then the value: ``"`n` must be >= 0, but got -3."``.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

__all__ = ["as_count", "as_real", "as_workers", "auto_workers"]

#: Below this many values a single thread wins (thread start-up costs ~50 µs).
AUTO_PARALLEL_VALUES = 1 << 17


def as_count(
    n: Any, name: str = "n", *, minimum: int = 0, maximum: int | None = None
) -> int:
    """Return ``n`` as an ``int`` >= ``minimum`` (and <= ``maximum``); integers only.

    Raises
    ------
    TypeError
        If ``n`` is not an integer (floats, even 3.0, and bools are refused).
    ValueError
        If ``n < minimum`` or ``n > maximum``.
    """
    if isinstance(n, (bool,)) or not isinstance(n, numbers.Integral):
        msg = f"`{name}` must be an integer, but got {n!r} ({type(n).__name__})."
        raise TypeError(msg)
    value = int(n)
    if value < minimum:
        msg = f"`{name}` must be >= {minimum}, but got {value}."
        raise ValueError(msg)
    if maximum is not None and value > maximum:
        msg = f"`{name}` must be <= {maximum}, but got {value}."
        raise ValueError(msg)
    return value


def as_real(x: Any, name: str) -> float:
    """Return ``x`` as a finite ``float``.

    Raises
    ------
    TypeError
        If ``x`` is not a real number.
    ValueError
        If ``x`` is NaN or infinite.
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        msg = f"`{name}` must be a real number, but got {x!r} ({type(x).__name__})."
        raise TypeError(msg)
    value = float(x)
    if not math.isfinite(value):
        msg = f"`{name}` must be finite, but got {value!r}."
        raise ValueError(msg)
    return value


#: Asked once: os.cpu_count() costs tens of microseconds on some systems.
_CORES = os.cpu_count() or 1


def as_workers(workers: Any, n_values: int = 0) -> int:
    """Resolve ``workers``: None is automatic, -1 is every core, >= 1 is that many.

    The automatic choice uses one thread below ``AUTO_PARALLEL_VALUES`` values (where
    starting threads costs more than it gains) and every core above. Results never
    depend on the choice.

    Raises
    ------
    TypeError
        If ``workers`` is not an integer or None.
    ValueError
        If ``workers`` is 0 or below -1.
    """
    cores = _CORES
    if workers is None:
        return cores if n_values >= AUTO_PARALLEL_VALUES else 1
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral):
        msg = f"`workers` must be an integer or None, but got {workers!r}."
        raise TypeError(msg)
    w = int(workers)
    if w == -1:
        return cores
    if w <= 0:
        msg = f"`workers` must be >= 1, or -1 for all cores, but got {w}."
        raise ValueError(msg)
    return w


def auto_workers(n_values: int) -> int:
    """Return the automatic worker count for ``n_values`` values."""
    return as_workers(None, n_values)
