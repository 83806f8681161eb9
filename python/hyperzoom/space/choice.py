"""``Choice``: a categorical parameter, one of a set of options (optionally weighted).

Each option owns a cell of the unit axis, as wide as its weight; columns of choices hold
the options themselves, in a NumPy dtype when every option has the same plain type.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import plain
from .distributions import Distribution

__all__ = ["Choice"]


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

    @property
    def edges(self) -> np.ndarray:
        """The options' cells on the unit axis: ``k + 1`` edges from 0 to 1.

        Option ``i`` owns ``[edges[i], edges[i + 1])`` (the last one also holds 1); the
        cells are equal without weights, as wide as the weights otherwise.

        Examples
        --------
        >>> import hyperzoom as hz
        >>> hz.Choice(["a", "b"], weights=[3, 1]).edges
        array([0.  , 0.75, 1.  ])
        """
        k = len(self.options)
        if self.weights is None:
            e = np.arange(k + 1, dtype=np.float64) / k
        else:
            e = np.concatenate([[0.0], np.cumsum(self.weights)])
        e[-1] = 1.0
        return e

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
            code = self._lookup(plain(v))
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

    def _repr(self) -> str:
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
