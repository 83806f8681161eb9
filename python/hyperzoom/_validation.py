"""Argument checks shared by every public function; every error message starts here.

Messages state the rule, then the value: ``"`n` must be >= 0, but got -3."``.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
from typing import Any

import numpy as np

__all__ = [
    "as_count",
    "as_flag",
    "as_real",
    "as_workers",
    "auto_workers",
    "check_size",
    "memory_limit",
    "plain",
    "short_repr",
]

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
        If ``x`` is NaN, infinite, or an integer too large for a float (``10**400``).
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        msg = f"`{name}` must be a real number, but got {x!r} ({type(x).__name__})."
        raise TypeError(msg)
    try:
        value = float(x)
    except OverflowError:
        msg = (
            f"`{name}` must be finite, but got {short_repr(x)} (too large for a float)."
        )
        raise ValueError(msg) from None
    if not math.isfinite(value):
        msg = f"`{name}` must be finite, but got {value!r}."
        raise ValueError(msg)
    return value


#: Asked once: os.cpu_count() costs tens of microseconds on some systems.
_CORES = os.cpu_count() or 1


def as_flag(x: Any, name: str) -> bool:
    """Return ``x`` as a ``bool``: only True or False (NumPy's too) are accepted.

    ``minimize=None`` or ``minimize="no"`` must not silently mean something.

    Raises
    ------
    TypeError
        For anything else.
    """
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    msg = f"`{name}` must be True or False, but got {x!r} ({type(x).__name__})."
    raise TypeError(msg)


def short_repr(x: Any) -> str:
    """Return ``repr(x)``, cut short for huge integers (10**400 has 401 digits)."""
    if isinstance(x, int) and x.bit_length() > 200:
        return f"an integer of {x.bit_length()} bits"
    text = repr(x)
    return text if len(text) <= 200 else text[:200] + "..."


def plain(v: Any) -> Any:
    """Return a NumPy scalar as the Python value it holds; anything else unchanged."""
    return v.item() if isinstance(v, np.generic) else v


@functools.cache
def memory_limit() -> int:
    """Return the bytes one request may allocate: this machine's physical memory.

    A request for more can never succeed, so it is refused before anything is
    allocated (or looped over) instead of failing in the allocator, or after minutes.
    Where the size of memory is unknown, 2**46 bytes (64 TiB).
    """
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return 1 << 46
    if pages <= 0 or size <= 0:  # pragma: no cover
        return 1 << 46
    return int(pages) * int(size)


def check_size(n: int, name: str, row_bytes: int, what: str = "points") -> int:
    """Refuse ``n`` items of ``row_bytes`` bytes each when they cannot fit in memory.

    ``n`` is an already checked count; the product is computed in Python integers,
    so nothing overflows. Returns ``n``.

    Raises
    ------
    ValueError
        If ``n * row_bytes`` exceeds :func:`memory_limit`.
    """
    need = n * max(int(row_bytes), 1)
    limit = memory_limit()
    if need > limit:
        count = f"{n:,}" if n.bit_length() <= 128 else short_repr(n)
        msg = (
            f"`{name}` = {count} {what} would need {_bytes(need)}, more than this "
            f"machine's memory ({_bytes(limit)}); ask for fewer {what}."
        )
        raise ValueError(msg)
    return n


def _bytes(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n >= 1 << 70:  # beyond any float's comfort: say its power of two
        return f"about 2**{n.bit_length() - 1} bytes"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        size /= 1024
        if size < 1024:
            return f"{size:,.1f} {unit}"
    return f"{size / 1024:,.1f} EiB"


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
