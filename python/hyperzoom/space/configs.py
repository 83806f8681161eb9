"""``Configs``: configurations stored column by column, with their unit coordinates.

What :meth:`Space.sample` and :meth:`Space.from_unit` return: a NumPy column per
parameter, rows as plain dicts, and the ``(n, d)`` unit coordinates, computed only when
first asked for.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .._optional import require
from .._validation import plain

if TYPE_CHECKING:
    from ._space import Space

__all__ = ["Configs"]


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
        cols = self._columns
        if not self._space._conditional:
            return {k: plain(v[i]) for k, v in cols.items()}
        out = {}
        for k, v in cols.items():
            x = v[i]
            if x is np.ma.masked or (type(x) is np.float64 and np.isnan(x)):
                continue  # inactive: absent from the configuration
            out[k] = plain(x)
        return out

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

    @property
    def active(self) -> np.ndarray:
        """Return where each parameter is active: ``(n, d)`` booleans.

        All True without conditions. Inactive entries are NaN in ``unit`` and float
        columns, masked in integer and choice columns, and absent from ``configs[i]``.
        """
        active: np.ndarray = ~np.isnan(self.unit)
        return active

    def to_dict(self) -> dict[str, list[Any]]:
        """Columns as lists of plain Python values (None where a parameter is inactive)."""
        out = {}
        for k, v in self._columns.items():
            if isinstance(v, np.ma.MaskedArray):
                out[k] = _with_none(v).tolist()
            elif k in self._space._conditional_names:
                out[k] = [None if math.isnan(x) else x for x in v.tolist()]
            else:
                out[k] = v.tolist()
        return out

    def to_pandas(self) -> Any:
        """Return the configurations as a ``pandas.DataFrame`` (pandas is optional).

        Inactive entries are missing: NaN in float columns, ``<NA>`` in integer
        columns (pandas' nullable ``Int64``), None in choice columns.
        """
        pd = require("pandas", "to_pandas()")
        return pd.DataFrame(self._pandas_columns())

    def _pandas_columns(self, rows: Any = None) -> dict[str, Any]:
        """Return the columns (of ``rows``, if given) as pandas takes them.

        Missing entries are as in :meth:`to_pandas`; results' tables share this.
        """
        return {
            k: pandas_column(v if rows is None else v[rows])
            for k, v in self._columns.items()
        }

    def __repr__(self) -> str:
        n = len(self)
        head = ", ".join(f"{k}: {v.dtype}" for k, v in self._columns.items())
        return f"Configs(n={n}, {{{head}}})"


def pandas_column(v: np.ndarray) -> Any:
    """Return a column as pandas takes it.

    A masked integer column becomes a nullable ``Int64`` array, a masked choice column
    objects with None where masked; other columns are returned as they are.
    """
    if not isinstance(v, np.ma.MaskedArray):
        return v
    if v.dtype.kind in "iu":
        pd = require("pandas", "to_pandas()")
        return pd.arrays.IntegerArray(
            np.asarray(v.data, dtype=np.int64), np.ma.getmaskarray(v).copy()
        )
    return _with_none(v)


def _with_none(v: np.ma.MaskedArray) -> np.ndarray:
    """Return an object array of a masked column's values, None where masked."""
    out = np.asarray(v.data).astype(object)
    out[np.ma.getmaskarray(v)] = None
    return out
