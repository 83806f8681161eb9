"""The numeric distributions and the ``Distribution`` base that every parameter shares.

Each distribution maps its values to unit coordinates in ``[0, 1]`` on its own scaled
axis and back (the compiled core evaluates both maps), checks values against its bounds,
and samples. ``Choice``, the categorical one, is in :mod:`hyperzoom.space.choice`; the
table of every axis is in :mod:`hyperzoom.space`.
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any, ClassVar

import numpy as np

from .. import _core
from .._rng import seed_words, words_from_random_state
from .._validation import as_count, as_real, as_workers, check_size, plain
from ..typing import RngLike
from ._values import freeze, thaw

__all__ = [
    "Distribution",
    "IntLogUniform",
    "IntUniform",
    "InvLogUniform",
    "LogUniform",
    "PowerOfTwo",
    "Uniform",
    "as_unit_array",
]

_MAX_INT = 2**53
#: IntLogUniform's bounds stay below this: above about 2**47, neighbouring integers are
#: closer on a log axis than float64 resolves, and values would not round-trip.
_MAX_INT_LOG = 2**45


class Distribution:
    """Base class of every parameter distribution.

    Subclasses set ``kind`` (the compiled scale kind), ``low`` and ``high``; each maps
    values to unit coordinates and back on its own scaled axis.
    """

    kind: ClassVar[int]
    #: Name of the scaled axis: "linear", "log", "inv_log", "int", "int_log",
    #: "power_of_two" or "categorical".
    scale: ClassVar[str]
    #: Whether values are integers (int64 columns).
    is_integer: ClassVar[bool] = False
    low: Any
    high: Any

    # -- compiled column ------------------------------------------------------------
    def _column(self) -> tuple[int, float, float, np.ndarray | None]:
        return self.kind, float(self.low), float(self.high), None

    def _compiled(self) -> Any:
        cached = self.__dict__.get("_compiled_space")
        if cached is None:
            kind, low, high, cum = self._column()
            cached = _core.scales.CompiledSpace(
                np.array([kind], dtype=np.int64),
                np.array([low]),
                np.array([high]),
                [cum],
            )
            self.__dict__["_compiled_space"] = cached
        return cached

    def _cell_count(self) -> int:
        """Return how many values an integer-valued distribution has."""
        msg = f"{self!r} is continuous: it has no finite set of values."
        raise TypeError(msg)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of a column of values of this distribution."""
        return np.dtype(np.int64 if self.is_integer else np.float64)

    # -- maps -------------------------------------------------------------------------
    def from_unit(self, u: Any) -> np.ndarray:
        """Map unit coordinates in ``[0, 1]`` to values (0 gives ``low``, 1 ``high``).

        Parameters
        ----------
        u : array_like of float
            Unit coordinates; any shape.

        Returns
        -------
        numpy.ndarray
            Values of the same shape.

        Examples
        --------
        >>> import hyperzoom as hz
        >>> hz.LogUniform(1e-4, 1.0).from_unit([0.0, 0.5, 1.0])
        array([1.e-04, 1.e-02, 1.e+00])
        """
        arr = as_unit_array(u, "u")
        flat = arr.reshape(-1, 1)
        (col,) = self._compiled().from_unit(flat, 1)
        return self._decode(col).reshape(arr.shape)

    def to_unit(self, values: Any) -> np.ndarray:
        """Map values to unit coordinates on this distribution's scaled axis.

        Integer values map to the centre of their cell, so
        ``from_unit(to_unit(x)) == x`` holds exactly for them.

        Examples
        --------
        >>> import hyperzoom as hz
        >>> hz.InvLogUniform(0.9, 0.999).to_unit([0.9, 0.99, 0.999])
        array([0. , 0.5, 1. ])
        """
        col = self._encode(values, "values")
        shape = col.shape
        flat = col.reshape(-1)
        unit = self._compiled().to_unit([flat], flat.shape[0], 1)
        return np.asarray(unit[:, 0].reshape(shape))

    def sample(
        self, n: int, *, rng: RngLike = None, workers: int | None = None
    ) -> np.ndarray:
        """Draw ``n`` values (the column ``Space(x=self).sample(n)["x"]`` would hold).

        Examples
        --------
        >>> import hyperzoom as hz
        >>> x = hz.LogUniform(1e-4, 1.0).sample(1000, rng=2024)
        >>> bool(((x >= 1e-4) & (x <= 1.0)).all())
        True
        """
        if type(n) is not int or n < 0:
            n = as_count(n)
        n = check_size(n, "n", 8)
        words = seed_words(rng)
        return self._draw(words, n, as_workers(workers, n))

    def _draw(self, words: np.ndarray, n: int, workers: int) -> np.ndarray:
        _, (col,) = self._compiled().sample(words, n, workers, False)
        return self._decode(col)

    def rvs(self, size: Any = None, random_state: Any = None) -> Any:
        """Draw values like ``scipy.stats`` frozen distributions do.

        This makes every distribution a drop-in for scikit-learn's
        ``RandomizedSearchCV`` and ``ParameterSampler``.

        Parameters
        ----------
        size : int or tuple of ints, optional
            Output shape; ``None`` returns a single value.
        random_state : int, Generator, RandomState, SeedSequence or None
            Source of the seed (a legacy ``RandomState`` is accepted here only).

        Examples
        --------
        >>> import hyperzoom as hz
        >>> hz.IntUniform(1, 6).rvs(size=3, random_state=5).shape
        (3,)
        """
        if size is None:
            return self._draw(words_from_random_state(random_state), 1, 1)[0]
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            shape: tuple[int, ...] = (as_count(size, "size"),)
        elif isinstance(size, (tuple, list)) and len(size) <= 64:
            shape = tuple(as_count(s, f"size[{i}]") for i, s in enumerate(size))
        else:
            msg = (
                "`size` must be None, an int or a tuple of at most 64 ints, but got "
                f"{size!r}."
            )
            raise TypeError(msg)
        total = check_size(math.prod(shape), "size", 8, "values")
        words = words_from_random_state(random_state)
        return self._draw(words, total, as_workers(None, total)).reshape(shape)

    # -- value checks -------------------------------------------------------------------
    def _encode(self, values: Any, name: str) -> np.ndarray:
        """Check values (in bounds, right type) and return the compiled column input."""
        raise NotImplementedError

    def _decode(self, col: np.ndarray) -> np.ndarray:
        """Turn a compiled column into user values (identity except for Choice)."""
        return col

    def _check_bounds(self, arr: np.ndarray, name: str) -> None:
        # One compiled pass over contiguous float64 or int64 values (what _encode makes).
        if arr.dtype == np.int64:
            idx = _core.scales.first_outside_int(arr, int(self.low), int(self.high))
        else:
            idx = _core.scales.first_outside(arr, float(self.low), float(self.high))
        if idx >= 0:
            msg = (
                f"`{name}` must lie in [{self.low!r}, {self.high!r}] for {self!r}, "
                f"but got {plain(arr.reshape(-1)[idx])!r} at index {idx}."
            )
            raise ValueError(msg)

    # -- conditions -------------------------------------------------------------------
    #: The parents this parameter depends on: name -> value(s) (see :meth:`when`).
    _when: tuple[tuple[str, Any], ...] = ()

    @property
    def conditions(self) -> dict[str, Any]:
        """The condition of this parameter: parent name -> the value(s) it must hold.

        Empty for a parameter that is always active. Lists of values are shown as lists.
        """
        return {k: thaw(v) for k, v in self._when}

    def when(self, **parents: Any) -> Distribution:
        """Return this distribution, active only when every named parent holds a value.

        Each keyword names another parameter of the space and the value(s) it must
        hold: one option or a list of options of a ``Choice``; one integer, a list or
        a ``range`` of an integer parameter; a ``(low, high)`` range of a continuous
        one. Several keywords must all hold, and a parent that is itself inactive
        never holds. The names and values are checked when the ``Space`` is built.

        Where the condition fails, the parameter is absent: missing from
        ``configs[i]`` and from the keywords of a scalar objective, NaN (floats) or
        masked (integers and choices) in columns, NaN in unit coordinates.

        Examples
        --------
        >>> import hyperzoom as hz
        >>> space = hz.Space(
        ...     optimizer=hz.Choice(["sgd", "adam"]),
        ...     momentum=hz.InvLogUniform(0.9, 0.999).when(optimizer="sgd"),
        ...     beta2=hz.InvLogUniform(0.99, 0.9999).when(optimizer="adam"),
        ... )
        >>> c = space.sample(4, rng=3)
        >>> [sorted(row) for row in c]  # each row holds only its active parameters
        [['beta2', 'optimizer'], ['momentum', 'optimizer'], ['momentum', 'optimizer'], ['beta2', 'optimizer']]
        """
        if not parents:
            msg = "`when` must name at least one parent parameter, but got none."
            raise ValueError(msg)
        out = copy.copy(self)
        merged = dict(self._when)
        merged.update({k: freeze(v) for k, v in parents.items()})
        out._when = tuple(merged.items())
        return out

    # -- niceties --------------------------------------------------------------------
    def _key(self) -> tuple[Any, ...]:
        return (type(self).__name__, self.low, self.high)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Distribution):
            return NotImplemented
        return self._key() == other._key() and self._when == other._when

    def __hash__(self) -> int:
        return hash((self._key(), self._when))

    def __repr__(self) -> str:
        return self._repr() + self._when_repr()

    def _repr(self) -> str:
        return f"{type(self).__name__}({self.low!r}, {self.high!r})"

    def _when_repr(self) -> str:
        if not self._when:
            return ""
        inner = ", ".join(f"{k}={thaw(v)!r}" for k, v in self._when)
        return f".when({inner})"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_compiled_space", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def as_unit_array(u: Any, name: str) -> np.ndarray:
    """Return ``u`` as a C-contiguous float64 array, refusing values outside [0, 1]."""
    try:
        arr = np.asarray(u, dtype=np.float64, order="C")
    except (TypeError, ValueError) as exc:
        msg = f"`{name}` must be an array of floats in [0, 1], but got {u!r}."
        raise TypeError(msg) from exc
    idx = _core.scales.first_outside(arr, 0.0, 1.0)
    if idx >= 0:
        msg = (
            f"`{name}` must lie in [0, 1], but got {plain(arr.reshape(-1)[idx])!r} "
            f"at flat index {idx}."
        )
        raise ValueError(msg)
    return arr


def _as_float_values(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        msg = f"`{name}` must be real numbers, but got dtype {arr.dtype}."
        raise TypeError(msg)
    return np.ascontiguousarray(arr, dtype=np.float64)


def _as_int_values(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind == "i":
        return np.ascontiguousarray(arr, dtype=np.int64)
    if arr.dtype.kind in "uf":
        # No integer parameter reaches 2**53: larger values (which an int64 cast would
        # wrap or refuse) are out of bounds, and said so here.
        whole = np.abs(arr) < _MAX_INT
        if arr.dtype.kind == "f":
            whole &= np.isfinite(arr) & (arr == np.floor(arr))
        if not whole.all():
            idx = int(np.flatnonzero(~whole.reshape(-1))[0])
            msg = (
                f"`{name}` must be whole numbers below 2**53 in magnitude, but got "
                f"{plain(arr.reshape(-1)[idx])!r} at index {idx}."
            )
            raise ValueError(msg)
        return np.ascontiguousarray(arr, dtype=np.int64)
    msg = f"`{name}` must be integers, but got dtype {arr.dtype}."
    raise TypeError(msg)


def _whole(x: Any, name: str) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        msg = f"`{name}` must be an integer, but got {x!r} ({type(x).__name__})."
        raise TypeError(msg)
    if isinstance(x, numbers.Integral):
        value = int(x)
    else:
        f = float(x)
        if not math.isfinite(f) or f != math.floor(f):
            msg = f"`{name}` must be a whole number, but got {x!r}."
            raise ValueError(msg)
        value = int(f)
    if abs(value) >= _MAX_INT:
        msg = f"`{name}` must be below 2**53 in magnitude, but got {value}."
        raise ValueError(msg)
    return value


class _Continuous(Distribution):
    def __init__(self, low: float, high: float) -> None:
        self.low = as_real(low, "low")
        self.high = as_real(high, "high")
        self._validate()

    def _validate(self) -> None:
        if not self.low < self.high:
            msg = f"`low < high` must hold, but got (low={self.low!r}, high={self.high!r})."
            raise ValueError(msg)
        if not math.isfinite(self.high - self.low):
            msg = (
                "`high - low` must be finite (the width of a linear axis), but got "
                f"(low={self.low!r}, high={self.high!r})."
            )
            raise ValueError(msg)

    def _encode(self, values: Any, name: str) -> np.ndarray:
        arr = _as_float_values(values, name)
        self._check_bounds(arr, name)
        return arr


class Uniform(_Continuous):
    """Uniform on ``[low, high]`` (a linear axis).

    Parameters
    ----------
    low, high : float
        Finite bounds with ``low < high``.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> hz.Uniform(0.0, 0.5).from_unit([0.0, 0.5, 1.0])
    array([0.  , 0.25, 0.5 ])
    """

    kind = 0
    scale = "linear"


class LogUniform(_Continuous):
    """Uniform in ``log x`` on ``[low, high]``: the scale of learning rates.

    ``LogUniform(1e-4, 1)`` is the practice's α = 10^r with r ~ U(-4, 0): each decade
    gets the same share of samples.

    Parameters
    ----------
    low, high : float
        Finite bounds with ``0 < low < high``.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> alpha = hz.LogUniform(1e-4, 1.0).sample(100_000, rng=2024)
    >>> round(float(np.mean(alpha < 1e-2)), 2)   # half the mass below 1e-2
    0.5
    """

    kind = 1
    scale = "log"

    def _validate(self) -> None:
        if not 0.0 < self.low < self.high:
            msg = (
                "`0 < low < high` must hold for a log scale, but got "
                f"(low={self.low!r}, high={self.high!r})."
            )
            raise ValueError(msg)
        if not math.log(self.high) - math.log(self.low) > 0.0:
            msg = (
                "`low` and `high` are too close to tell apart on a log scale: "
                f"(low={self.low!r}, high={self.high!r})."
            )
            raise ValueError(msg)


class InvLogUniform(_Continuous):
    """Uniform in ``log(1 - x)`` on ``[low, high]``: the scale of momentum β near 1.

    ``InvLogUniform(0.9, 0.999)`` draws β with ``1 - β ~ LogUniform(1e-3, 1e-1)``: as
    many samples between 0.99 and 0.999 as between 0.9 and 0.99, because the averaging
    window ``1 / (1 - β)`` grows fastest as β approaches 1.

    Parameters
    ----------
    low, high : float
        Finite bounds with ``low < high < 1``. ``low`` may be zero or negative
        (``1 - x`` stays positive on the whole range, so the axis is defined).

    Examples
    --------
    >>> import hyperzoom as hz
    >>> beta = hz.InvLogUniform(0.9, 0.999).sample(100_000, rng=2024)
    >>> round(float(np.mean(beta > 0.99)), 2)
    0.5
    """

    kind = 2
    scale = "inv_log"

    def _validate(self) -> None:
        if not self.low < self.high < 1.0:
            msg = (
                "`low < high < 1` must hold for an inverse-log scale, but got "
                f"(low={self.low!r}, high={self.high!r})."
            )
            raise ValueError(msg)
        if not math.log(1.0 - self.low) - math.log(1.0 - self.high) > 0.0:
            msg = (
                "`1 - low` and `1 - high` are too close to tell apart in floating point: "
                f"(low={self.low!r}, high={self.high!r})."
            )
            raise ValueError(msg)


class _Integer(Distribution):
    is_integer = True

    def __init__(self, low: int, high: int) -> None:
        self.low = _whole(low, "low")
        self.high = _whole(high, "high")
        self._validate()

    def _validate(self) -> None:
        if not self.low <= self.high:
            msg = f"`low <= high` must hold, but got (low={self.low!r}, high={self.high!r})."
            raise ValueError(msg)

    def _encode(self, values: Any, name: str) -> np.ndarray:
        arr = _as_int_values(values, name)
        self._check_bounds(arr, name)
        return arr

    def _cell_count(self) -> int:
        """Return how many values the distribution has."""
        return int(self.high) - int(self.low) + 1


class IntUniform(_Integer):
    """Integers ``low..high`` (both included), each equally likely.

    Parameters
    ----------
    low, high : int
        Whole numbers with ``low <= high`` (floats such as ``1e3`` are accepted when
        whole; ``1.5`` is refused).

    Examples
    --------
    >>> import hyperzoom as hz
    >>> hz.IntUniform(1, 6).from_unit([0.0, 0.5, 1.0])
    array([1, 4, 6])
    """

    kind = 3
    scale = "int"


class IntLogUniform(_Integer):
    """Integers ``low..high`` on a log axis: hidden units, tree counts.

    The exact rule: draw ``t`` log-uniformly on ``[low, high + 1)`` and return
    ``floor(t)``. Integer ``k`` owns the interval ``[k, k + 1)`` of that axis, so

    ``P(k) = log((k + 1) / k) / log((high + 1) / low)``,

    its share of the log axis; ``to_unit(k)`` is the centre of that interval on the log
    axis.

    Parameters
    ----------
    low, high : int
        Whole numbers with ``1 <= low <= high``.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> h = hz.IntLogUniform(16, 1023).sample(100_000, rng=2024)
    >>> round(float(np.mean(h < 128)), 2)     # 16..127 is half of the log axis
    0.5
    """

    kind = 4
    scale = "int_log"

    def _validate(self) -> None:
        if not 1 <= self.low <= self.high:
            msg = (
                "`1 <= low <= high` must hold for a log scale, but got "
                f"(low={self.low!r}, high={self.high!r})."
            )
            raise ValueError(msg)
        if self.high >= _MAX_INT_LOG:
            msg = (
                f"`high` must be below 2**45 ({_MAX_INT_LOG:,}) for an IntLogUniform: "
                "above, neighbouring integers are closer on a log axis than float64 "
                f"can tell apart, so values would not round-trip; but got "
                f"high={self.high!r}. Use hz.LogUniform and round, or hz.IntUniform."
            )
            raise ValueError(msg)


class PowerOfTwo(_Integer):
    """Powers of two in ``[low, high]``, uniform over the exponent: mini-batch sizes.

    Both bounds must themselves be powers of two: ``PowerOfTwo(3, 100)`` is refused
    (with the inward-rounded ``PowerOfTwo(4, 64)`` suggested) rather than silently
    changed.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> hz.PowerOfTwo(16, 512).from_unit([0.0, 0.5, 1.0])
    array([ 16, 128, 512])
    """

    kind = 5
    scale = "power_of_two"

    def _validate(self) -> None:
        low, high = self.low, self.high
        if low < 1 or high < 1 or low & (low - 1) or high & (high - 1) or low > high:
            lo_in = 1 << max(0, (max(low, 1) - 1).bit_length())
            hi_in = 1 << (max(high, 1).bit_length() - 1)
            hint = (
                f" (the powers of two inside are PowerOfTwo({lo_in}, {hi_in}))"
                if 1 <= lo_in <= hi_in and low <= high
                else ""
            )
            msg = (
                "`low` and `high` must be powers of two with 1 <= low <= high, but got "
                f"(low={low!r}, high={high!r}){hint}."
            )
            raise ValueError(msg)

    def _encode(self, values: Any, name: str) -> np.ndarray:
        arr = super()._encode(values, name)
        bad = (arr & (arr - 1)) != 0
        if bad.any():
            idx = int(np.flatnonzero(bad.reshape(-1))[0])
            msg = (
                f"`{name}` must be powers of two, but got {plain(arr.reshape(-1)[idx])!r} "
                f"at index {idx}."
            )
            raise ValueError(msg)
        return arr

    def _cell_count(self) -> int:
        lo, hi = self.exponents
        return hi - lo + 1

    @property
    def exponents(self) -> tuple[int, int]:
        """The exponent range ``(log2 low, log2 high)``."""
        return self.low.bit_length() - 1, self.high.bit_length() - 1
