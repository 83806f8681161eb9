"""``Space``: the named parameters of a search, and the maps between values and units.

A space samples configurations (at random on every scaled axis here; the other designs
in :mod:`hyperzoom.space.sampling`), maps configurations to ``(n, d)`` unit coordinates
and back through the compiled core, and returns them as :class:`Configs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from .. import _core
from .._rng import seed_words
from .._validation import as_count, as_workers, check_size
from ..typing import RngLike
from .configs import Configs
from .distributions import Distribution, as_unit_array
from .sampling import sample_design

__all__ = ["Space"]


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
            return sample_design(self, n, design, rng=rng, workers=workers)
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
        arr = as_unit_array(u, "u")
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
