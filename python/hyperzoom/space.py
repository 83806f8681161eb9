"""Distributions on their own scale, the search ``Space`` and column-wise ``Configs``.

Every parameter lives on a *scaled axis* mapped onto ``[0, 1]``:

========================  ===============================  ==========================
distribution              unit coordinate ``u`` of ``x``   example
========================  ===============================  ==========================
``Uniform(a, b)``         ``(x - a) / (b - a)``            dropout in [0, 0.5]
``LogUniform(a, b)``      ``log(x/a) / log(b/a)``          α = 10^r, r ~ U(-4, 0)
``InvLogUniform(a, b)``   ``log((1-x)/(1-a)) /             β in [0.9, 0.999]:
                          log((1-b)/(1-a))``               1-β ~ LogUniform(1e-3, 0.1)
``IntUniform(a, b)``      cell ``x - a`` of ``b - a + 1``  layers in 1..6
``IntLogUniform(a, b)``   ``x`` owns ``[x, x+1)`` on a     hidden units in 16..1024
                          log axis over ``[a, b+1)``
``PowerOfTwo(a, b)``      cell of the exponent             batch size in 16..512
``Choice(options)``       cell of the option (weights      activation
                          give the cell widths)
========================  ===============================  ==========================

Sampling, designs, region shrinking, perturbation, importance and plots all go
through these two maps (:meth:`Space.to_unit` and :meth:`Space.from_unit`), which the
compiled core evaluates.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from . import _core
from ._optional import require
from ._rng import seed_words, words_from_random_state
from ._validation import as_count, as_real, as_workers, check_size
from .typing import RngLike

__all__ = [
    "Choice",
    "Configs",
    "Distribution",
    "IntLogUniform",
    "IntUniform",
    "InvLogUniform",
    "LogUniform",
    "PowerOfTwo",
    "Space",
    "Uniform",
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
        arr = _as_unit_array(u, "u")
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
                f"but got {_plain(arr.reshape(-1)[idx])!r} at index {idx}."
            )
            raise ValueError(msg)

    # -- niceties --------------------------------------------------------------------
    def _key(self) -> tuple[Any, ...]:
        return (type(self).__name__, self.low, self.high)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Distribution):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.low!r}, {self.high!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_compiled_space", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _as_unit_array(u: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(u, dtype=np.float64, order="C")
    except (TypeError, ValueError) as exc:
        msg = f"`{name}` must be an array of floats in [0, 1], but got {u!r}."
        raise TypeError(msg) from exc
    idx = _core.scales.first_outside(arr, 0.0, 1.0)
    if idx >= 0:
        msg = (
            f"`{name}` must lie in [0, 1], but got {_plain(arr.reshape(-1)[idx])!r} "
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
                f"{_plain(arr.reshape(-1)[idx])!r} at index {idx}."
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
                f"`{name}` must be powers of two, but got {_plain(arr.reshape(-1)[idx])!r} "
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


class Choice(Distribution):
    """One of ``options`` (any Python objects), with optional ``weights``.

    Each option owns a cell of the unit axis whose width is its weight (equal widths
    without weights). Columns of choices hold the options themselves: a ``str``,
    ``int``, ``float`` or ``bool`` dtype when every option has that type, an object
    array otherwise.

    Parameters
    ----------
    options : sequence
        At least one option; options must be distinct.
    weights : sequence of float, optional
        Positive, finite weights (normalised to sum to one).

    Examples
    --------
    >>> import hyperzoom as hz
    >>> hz.Choice(["relu", "tanh"]).from_unit([0.1, 0.9])
    array(['relu', 'tanh'], dtype='<U4')
    """

    kind = 6
    scale = "categorical"
    is_integer = True

    def __init__(self, options: Sequence[Any], weights: Sequence[float] | None = None):
        if isinstance(options, (str, bytes)) or not isinstance(
            options, (Sequence, np.ndarray)
        ):
            msg = f"`options` must be a sequence of options, but got {options!r}."
            raise TypeError(msg)
        opts = list(options)
        if not opts:
            msg = "`options` must hold at least one option, but got an empty sequence."
            raise ValueError(msg)
        table = _index(opts)
        self.options: tuple[Any, ...] = tuple(opts)
        self.weights: tuple[float, ...] | None = None
        if weights is not None:
            if isinstance(weights, (str, bytes)) or not isinstance(
                weights, (Sequence, np.ndarray)
            ):
                msg = f"`weights` must be a sequence of numbers, but got {weights!r}."
                raise TypeError(msg)
            try:
                w = np.asarray(weights, dtype=np.float64)
            except OverflowError:
                msg = f"`weights` must be finite, but got {weights!r}."
                raise ValueError(msg) from None
            except (TypeError, ValueError) as exc:
                msg = f"`weights` must be a sequence of numbers, but got {weights!r}."
                raise TypeError(msg) from exc
            if w.shape != (len(opts),):
                msg = (
                    f"`weights` must have one entry per option ({len(opts)}), "
                    f"but got shape {w.shape}."
                )
                raise ValueError(msg)
            if not (np.isfinite(w).all() and (w > 0).all()):
                msg = f"`weights` must be positive and finite, but got {w.tolist()!r}."
                raise ValueError(msg)
            # Scaled by the largest first: the sum of [1e308, 1e308] would overflow.
            w = w / w.max()
            w = w / w.sum()
            if not (w > 0).all():
                msg = (
                    "`weights` must be within float64's range of each other (the "
                    "smallest would round to a share of 0, an option never drawn), "
                    f"but got {np.asarray(weights, dtype=np.float64).tolist()!r}."
                )
                raise ValueError(msg)
            self.weights = tuple(float(x) for x in w)
        self.low = 0
        self.high = len(opts) - 1
        self._array = _options_array(self.options)
        self._lookup = _build_lookup(self.options, table)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of a column of this choice's values."""
        return self._array.dtype

    def _cell_count(self) -> int:
        return len(self.options)

    def _column(self) -> tuple[int, float, float, np.ndarray | None]:
        cum = None
        if self.weights is not None:
            cum = np.cumsum(self.weights)
            cum[-1] = 1.0
        return self.kind, 0.0, float(len(self.options)), cum

    def _decode(self, col: np.ndarray) -> np.ndarray:
        return np.asarray(self._array[col])

    def codes(self, values: Any, name: str = "values") -> np.ndarray:
        """Return the indices of ``values`` among the options (ValueError if unknown)."""
        return self._encode(values, name)

    def _encode(self, values: Any, name: str) -> np.ndarray:
        native = self._array.dtype != object
        arr = np.asarray(values) if native else _object_array(values)
        if native and arr.dtype.kind == self._array.dtype.kind:
            order = np.argsort(self._array, kind="stable")
            sorted_opts = self._array[order]
            pos = np.minimum(np.searchsorted(sorted_opts, arr), len(sorted_opts) - 1)
            found = sorted_opts[pos] == arr
            if not found.all():
                idx = int(np.flatnonzero(~found.reshape(-1))[0])
                self._unknown(arr.reshape(-1)[idx], idx, name)
            return np.ascontiguousarray(order[pos], dtype=np.int64)
        flat = arr.reshape(-1)
        out = np.empty(flat.shape[0], dtype=np.int64)
        for i, v in enumerate(flat):  # object options: no vectorised lookup exists
            code = self._lookup(_plain(v))
            if code < 0:
                self._unknown(v, i, name)
            out[i] = code
        return out.reshape(arr.shape)

    def _unknown(self, value: Any, idx: int, name: str) -> None:
        msg = (
            f"`{name}` must be one of {list(self.options)!r}, but got {value!r} "
            f"at index {idx}."
        )
        raise ValueError(msg)

    def _key(self) -> tuple[Any, ...]:
        return ("Choice", tuple(map(repr, self.options)), self.weights)

    def __repr__(self) -> str:
        if self.weights is None:
            return f"Choice({list(self.options)!r})"
        return f"Choice({list(self.options)!r}, weights={list(self.weights)!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_lookup", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._lookup = _build_lookup(self.options)


def _index(opts: list[Any]) -> dict[tuple[type, Any], int]:
    """Refuse repeated options, in linear time for hashable ones; return their index.

    Two options are the same when they have the same type and compare equal (1 and
    1.0 and True are three options). Unhashable options are compared pairwise among
    themselves only. The index, ``{(type, option): position}`` of the hashable ones,
    is the lookup table of :func:`_build_lookup`.
    """
    kinds = {type(o) for o in opts}
    if len(kinds) == 1 and next(iter(kinds)) in (str, int, float):
        # One plain type (the usual case, and a stored study's): built at C speed.
        t = next(iter(kinds))
        table = dict(zip(zip(itertools.repeat(t), opts), range(len(opts))))
        if len(table) == len(opts):
            return table
    seen: dict[tuple[type, Any], int] = {}
    loose: list[int] = []
    for i, o in enumerate(opts):
        try:
            j = seen.setdefault((type(o), o), i)
        except TypeError:  # unhashable
            j = next((k for k in loose if _same(o, opts[k])), i)
            if j == i:
                loose.append(i)
        if j != i:
            msg = (
                f"`options` must be distinct, but {o!r} appears at indices {j} and {i}."
            )
            raise ValueError(msg)
    return seen


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - options with odd __eq__ are simply distinct
        return a is b


def _object_array(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values.astype(object)
    if isinstance(values, (list, tuple)):
        arr = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            arr[i] = v
        return arr
    arr = np.empty((), dtype=object)
    arr[()] = values
    return arr


def _options_array(options: tuple[Any, ...]) -> np.ndarray:
    kinds = {type(o) for o in options}
    if len(kinds) == 1:
        (t,) = kinds
        if t is str:
            return np.array(options, dtype=str)
        if t is bool:
            return np.array(options, dtype=bool)
        if t is int and all(abs(o) < 2**63 for o in options):
            return np.array(options, dtype=np.int64)
        if t is float:
            return np.array(options, dtype=np.float64)
    arr = np.empty(len(options), dtype=object)
    for i, o in enumerate(options):
        arr[i] = o
    return arr


def _build_lookup(
    options: tuple[Any, ...], table: dict[tuple[type, Any], int] | None = None
) -> Any:
    if table is None:
        table = _index(list(options))

    def lookup(value: Any) -> int:
        try:
            code = table.get((type(value), value))
        except TypeError:
            code = None
        if code is not None:
            return code
        for i, o in enumerate(options):
            if _same(value, o):
                return i
        return -1

    return lookup


# ---------------------------------------------------------------------------------------
class Space:
    """A named set of distributions: the search space.

    Parameters
    ----------
    params : mapping of str to Distribution, optional
        Parameters by name (a dict keeps its order).
    **kwargs : Distribution
        More parameters by keyword.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> space = hz.Space(
    ...     learning_rate=hz.LogUniform(1e-4, 1.0),
    ...     momentum=hz.InvLogUniform(0.9, 0.999),
    ...     batch_size=hz.PowerOfTwo(16, 512),
    ... )
    >>> space.names
    ('learning_rate', 'momentum', 'batch_size')
    >>> configs = space.sample(4, rng=20241128)
    >>> configs["batch_size"].dtype
    dtype('int64')
    >>> len(configs), configs.unit.shape
    (4, (4, 3))
    """

    def __init__(
        self,
        params: Mapping[str, Distribution] | None = None,
        /,
        **kwargs: Distribution,
    ) -> None:
        items: dict[str, Distribution] = {}
        if params is not None:
            if not isinstance(params, Mapping):
                msg = f"`params` must be a mapping of names to distributions, but got {params!r}."
                raise TypeError(msg)
            items.update(params)
        for k, v in kwargs.items():
            if k in items:
                msg = f"parameter {k!r} is given twice."
                raise ValueError(msg)
            items[k] = v
        for k, v in items.items():
            if not isinstance(k, str) or not k:
                msg = f"parameter names must be non-empty strings, but got {k!r}."
                raise TypeError(msg)
            if not isinstance(v, Distribution):
                msg = (
                    f"parameter {k!r} must be a hyperzoom distribution (e.g. "
                    f"hz.LogUniform(1e-4, 1)), but got {v!r}."
                )
                raise TypeError(msg)
        self._params = items
        self._names = tuple(items)
        cols = [d._column() for d in items.values()]
        self._compiled = _core.scales.CompiledSpace(
            np.array([c[0] for c in cols], dtype=np.int64),
            np.array([c[1] for c in cols], dtype=np.float64),
            np.array([c[2] for c in cols], dtype=np.float64),
            [c[3] for c in cols],
        )

    # -- container protocol -------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in order."""
        return self._names

    @property
    def d(self) -> int:
        """Number of parameters (the width of unit designs)."""
        return len(self._names)

    @property
    def params(self) -> dict[str, Distribution]:
        """A copy of the name -> distribution mapping."""
        return dict(self._params)

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._params

    def __getitem__(self, name: str) -> Distribution:
        try:
            return self._params[name]
        except KeyError:
            msg = f"unknown parameter {name!r}; the space has {list(self._names)!r}."
            raise KeyError(msg) from None

    def items(self) -> Iterator[tuple[str, Distribution]]:
        """(name, distribution) pairs, in order."""
        return iter(self._params.items())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Space):
            return NotImplemented
        return list(self._params.items()) == list(other._params.items())

    def __hash__(self) -> int:
        return hash(tuple(self._params.items()))

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {k}={v!r}" for k, v in self._params.items())
        return f"Space(\n{inner},\n)" if inner else "Space()"

    def __getstate__(self) -> dict[str, Any]:
        return {"params": self._params}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["params"])  # type: ignore[misc]

    # -- sampling and maps ----------------------------------------------------------
    def sample(
        self,
        n: int,
        *,
        rng: RngLike = None,
        workers: int | None = None,
        design: str = "random",
    ) -> Configs:
        """Draw ``n`` configurations, each parameter on its own scale.

        Parameters
        ----------
        n : int
            Number of configurations (``n = 0`` gives empty columns).
        rng : int, SeedSequence, Generator or None
            Seed (:func:`numpy.random.default_rng` semantics). The same seed gives the
            same configurations bit for bit whatever ``workers`` is.
        workers : int or None
            Threads: 1 is the calling thread only, -1 all cores; None (default) uses
            all cores once ``n * d`` is large enough to gain.
        design : str
            ``"random"`` (independent uniform draws on each scaled axis), ``"lhs"``
            (Latin hypercube on each scaled axis; integers and choices balanced),
            ``"lhs-centered"``, ``"lhs-maximin"``, ``"lhs-cd"`` (optimised Latin
            hypercubes) or ``"grid"`` (``n`` must be a full grid's size); see
            :mod:`hyperzoom.designs`.

        Returns
        -------
        Configs
            Columns by name, plus ``.unit``, the ``(n, d)`` unit coordinates.

        Examples
        --------
        >>> import hyperzoom as hz
        >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1), act=hz.Choice(["relu", "tanh"]))
        >>> c = space.sample(3, rng=77)
        >>> sorted(c[0])
        ['act', 'lr']
        >>> sorted(space.sample(4, design="lhs", rng=77)["act"].tolist())  # balanced
        ['relu', 'relu', 'tanh', 'tanh']
        """
        n = check_size(as_count(n), "n", 16 * max(self.d, 1))  # columns and unit
        if design != "random":
            from .designs import _space_sample

            return _space_sample(self, n, design, rng=rng, workers=workers)
        words = seed_words(rng)
        w = as_workers(workers, n * max(self.d, 1))
        _, cols = self._compiled.sample(words, n, w, False)
        # The unit coordinates are regenerated from the seed when first asked for: the
        # stream is counter-based, so they are the very uniforms the columns came from.
        compiled = self._compiled

        def unit() -> np.ndarray:
            return np.asarray(compiled.sample_unit(words, n, w))

        return self._configs(cols, None, unit)

    def from_unit(self, u: Any, *, workers: int | None = None) -> Configs:
        """Map unit coordinates ``(n, d)`` in ``[0, 1]`` to configurations.

        Examples
        --------
        >>> import hyperzoom as hz
        >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1), layers=hz.IntUniform(1, 6))
        >>> c = space.from_unit([[0.5, 0.0], [1.0, 1.0]])
        >>> c["lr"], c["layers"]
        (array([0.01, 1.  ]), array([1, 6]))
        """
        arr = _as_unit_array(u, "u")
        if arr.ndim != 2 or arr.shape[1] != self.d:
            msg = (
                f"`u` must have shape (n, {self.d}) for a space of {self.d} parameters, "
                f"but got shape {arr.shape}."
            )
            raise ValueError(msg)
        w = as_workers(workers, arr.size)
        cols = self._compiled.from_unit(arr, w)
        return self._configs(cols, arr.copy())

    def to_unit(self, configs: Any, *, workers: int | None = None) -> np.ndarray:
        """Map configurations to ``(n, d)`` unit coordinates on each scaled axis.

        Parameters
        ----------
        configs : Configs or mapping of str to array_like
            One column per parameter (all of the space's names, no others).

        Examples
        --------
        >>> import hyperzoom as hz
        >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1), beta=hz.InvLogUniform(0.9, 0.999))
        >>> space.to_unit({"lr": [1e-2], "beta": [0.99]})
        array([[0.5, 0.5]])
        """
        if isinstance(configs, Configs) and configs.space == self:
            return np.array(configs.unit, copy=True)
        if not isinstance(configs, (Mapping, Configs)):
            msg = f"`configs` must be a Configs or a mapping of columns, but got {type(configs).__name__}."
            raise TypeError(msg)
        keys = list(configs.keys())
        unknown = [k for k in keys if k not in self._params]
        if unknown:
            msg = f"unknown parameter(s) {unknown!r}; the space has {list(self._names)!r}."
            raise ValueError(msg)
        missing = [k for k in self._names if k not in keys]
        if missing:
            msg = f"missing parameter(s) {missing!r} in `configs`."
            raise ValueError(msg)
        cols = []
        n = None
        for name in self._names:
            col = self._params[name]._encode(configs[name], f"configs[{name!r}]")
            col = np.atleast_1d(col)
            if col.ndim != 1:
                msg = f"`configs[{name!r}]` must be one-dimensional, but got shape {col.shape}."
                raise ValueError(msg)
            if n is None:
                n = col.shape[0]
            elif col.shape[0] != n:
                msg = (
                    f"every column must have the same length, but `configs[{name!r}]` "
                    f"has {col.shape[0]} and the first has {n}."
                )
                raise ValueError(msg)
            cols.append(col)
        n = n or 0
        return np.asarray(
            self._compiled.to_unit(cols, n, as_workers(workers, n * self.d))
        )

    def _configs(
        self,
        cols: list[np.ndarray],
        unit: np.ndarray | None,
        unit_source: Callable[[], np.ndarray] | None = None,
    ) -> Configs:
        columns = {
            name: dist._decode(col)
            for name, dist, col in zip(self._names, self._params.values(), cols)
        }
        return Configs(self, columns, unit, unit_source)


class Configs:
    """Configurations stored column-wise: name -> NumPy array of length ``n``.

    ``configs["name"]`` is a column; ``configs[i]`` is one configuration as a plain
    ``dict``; iteration yields those dicts; ``len(configs)`` is ``n``; ``.unit`` holds
    the ``(n, d)`` unit coordinates. Slices, integer arrays and boolean masks select
    rows and give a new ``Configs``.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1), layers=hz.IntUniform(1, 6))
    >>> c = space.from_unit([[0.5, 0.0], [1.0, 1.0]])
    >>> c[1]
    {'lr': 1.0, 'layers': 6}
    >>> [row["layers"] for row in c]
    [1, 6]
    """

    __slots__ = ("_cols", "_rows", "_space", "_unit", "_unit_source", "ids")

    def __init__(
        self,
        space: Space,
        columns: dict[str, np.ndarray],
        unit: np.ndarray | None = None,
        unit_source: Callable[[], np.ndarray] | None = None,
        ids: np.ndarray | None = None,
    ) -> None:
        self._space = space
        self._cols = columns
        self._rows: slice | None = None  # set by _window: columns are slices of _cols
        self._unit = unit
        self._unit_source = unit_source
        #: Trial ids when the configurations came from an ask/tell optimiser, else None.
        self.ids = ids

    @classmethod
    def _window(
        cls,
        space: Space,
        columns: dict[str, np.ndarray],
        rows: slice,
        unit: np.ndarray,
        ids: np.ndarray,
    ) -> Configs:
        """Return rows ``rows`` of ``columns``, sliced only when a column is read."""
        c = cls(space, columns, unit, None, ids)
        c._rows = rows
        return c

    @property
    def _columns(self) -> dict[str, np.ndarray]:
        if self._rows is not None:
            rows = self._rows
            self._cols = {k: v[rows] for k, v in self._cols.items()}
            self._rows = None
        return self._cols

    @property
    def space(self) -> Space:
        """The space these configurations belong to."""
        return self._space

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names."""
        return self._space.names

    @property
    def unit(self) -> np.ndarray:
        """The ``(n, d)`` float64 unit coordinates of the configurations.

        For a sample these are the uniforms its values were drawn from; for
        configurations built from values, the centre of each value's cell.
        """
        if self._unit is None:
            if self._unit_source is not None:
                self._unit = self._unit_source()
                self._unit_source = None
            else:
                self._unit = self._space.to_unit(self._columns)
        return self._unit

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """A shallow copy of the name -> column mapping."""
        return dict(self._columns)

    def keys(self) -> Iterator[str]:
        """Parameter names."""
        return iter(self._columns.keys())

    def values(self) -> Iterator[np.ndarray]:
        """Columns, in parameter order."""
        return iter(self._columns.values())

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        """(name, column) pairs."""
        return iter(self._columns.items())

    def __len__(self) -> int:
        if self._unit is not None:
            return int(self._unit.shape[0])
        if not self._columns:
            return 0 if self._unit is None else int(self._unit.shape[0])
        return int(next(iter(self._columns.values())).shape[0])

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def row(self, i: int) -> dict[str, Any]:
        """Return configuration ``i`` as a dict of plain Python values."""
        n = len(self)
        if not -n <= i < n:
            msg = f"configuration index {i} is out of range for {n} configurations."
            raise IndexError(msg)
        return {k: _plain(v[i]) for k, v in self._columns.items()}

    def __getitem__(self, key: Any) -> Any:
        if type(key) is str and self._rows is not None and key in self._cols:
            return self._cols[key][self._rows]  # one column of a window: slice it alone
        if isinstance(key, str):
            try:
                return self._columns[key]
            except KeyError:
                msg = f"unknown parameter {key!r}; the configs have {list(self._columns)!r}."
                raise KeyError(msg) from None
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            return self.row(int(key))
        if isinstance(key, (slice, np.ndarray, list)):
            idx = key if isinstance(key, slice) else np.asarray(key)
            if isinstance(idx, np.ndarray) and idx.dtype.kind not in "biu":
                msg = f"rows must be selected by int or bool arrays, but got dtype {idx.dtype}."
                raise TypeError(msg)
            cols = {k: v[idx] for k, v in self._columns.items()}
            unit = (
                None
                if self._unit is None and self._unit_source is None
                else self.unit[idx]
            )
            ids = None if self.ids is None else self.ids[idx]
            return Configs(self._space, cols, unit, ids=ids)
        msg = f"Configs indices must be names, ints, slices or arrays, but got {key!r}."
        raise TypeError(msg)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self.row(i)

    def to_dict(self) -> dict[str, list[Any]]:
        """Columns as lists of plain Python values."""
        return {k: v.tolist() for k, v in self._columns.items()}

    def to_pandas(self) -> Any:
        """Return the configurations as a ``pandas.DataFrame`` (pandas is optional)."""
        pd = require("pandas", "to_pandas()")
        return pd.DataFrame(self._columns)

    def __repr__(self) -> str:
        n = len(self)
        head = ", ".join(f"{k}: {v.dtype}" for k, v in self._columns.items())
        return f"Configs(n={n}, {{{head}}})"


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
