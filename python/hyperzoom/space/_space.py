"""``Space``: the named parameters of a search, and the maps between values and units.

A space samples configurations (at random on every scaled axis here; the other designs
in :mod:`hyperzoom.space.sampling`), maps configurations to ``(n, d)`` unit coordinates
and back through the compiled core, and returns them as :class:`Configs`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from .. import _core
from .._rng import seed_words
from .._validation import as_count, as_workers, check_size
from ..typing import RngLike
from ._optuna import from_optuna, to_optuna
from .choice import Choice
from .conditions import MAX_ATTEMPTS, Forbidden, compile_conditions, describe
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
        items: dict[str, Distribution] = _named(
            params, kwargs, "params", "distributions", "parameter"
        )
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
        self._forbidden: tuple[Forbidden, ...] = ()
        self._compile_conditions()
        cols = [d._column() for d in items.values()]
        self._compiled = _core.scales.CompiledSpace(
            np.array([c[0] for c in cols], dtype=np.int64),
            np.array([c[1] for c in cols], dtype=np.float64),
            np.array([c[2] for c in cols], dtype=np.float64),
            [c[3] for c in cols],
        )

    def _compile_conditions(self) -> None:
        self._cond: Any
        self._cond, self._order = compile_conditions(self._params, self._forbidden)
        self._conditional = tuple(
            j for j, d in enumerate(self._params.values()) if d._when
        )
        self._conditional_names = frozenset(self._names[j] for j in self._conditional)

    # -- conditions -----------------------------------------------------------------------
    @property
    def conditional(self) -> bool:
        """Whether some parameter is conditional (declared with ``.when``)."""
        return bool(self._conditional)

    @property
    def forbidden(self) -> tuple[Forbidden, ...]:
        """The forbidden clauses added with :meth:`forbid`."""
        return self._forbidden

    @property
    def order(self) -> tuple[str, ...]:
        """Parameter names with every parent before the parameters it conditions."""
        return self._order

    def forbid(self, **values: Any) -> Space:
        """Return this space with one more forbidden combination of values.

        A configuration is forbidden when every named parameter is active and holds one
        of its given values (one value, a list of values, or a ``(low, high)`` range of
        a continuous parameter, as in :meth:`Distribution.when`). Samples, designs and
        searches never hold a forbidden configuration: its rows are drawn again.

        Examples
        --------
        >>> import hyperzoom as hz
        >>> space = hz.Space(
        ...     model=hz.Choice(["linear", "tree"]), depth=hz.IntUniform(1, 8)
        ... ).forbid(model="linear", depth=range(2, 9))
        >>> c = space.sample(500, rng=1)
        >>> sorted(set(c["depth"][c["model"] == "linear"].tolist()))
        [1]
        """
        clause = Forbidden(**values)
        out = Space(self._params)
        out._forbidden = (*self._forbidden, clause)
        out._compile_conditions()
        return out

    @classmethod
    def branches(
        cls,
        branches: Mapping[str, Space] | None = None,
        /,
        *,
        name: str = "branch",
        **kwargs: Space,
    ) -> Space:
        """Return a space that chooses one of several sub-spaces (alternatives).

        The result has a ``Choice`` parameter ``name`` over the branch names; each
        sub-space's parameters are active only in their branch (their own conditions
        and forbidden clauses still apply inside it). A name shared by several branches
        with the same distribution is one parameter, active in each of them; the same
        name with different distributions is refused (rename one).

        Examples
        --------
        >>> import hyperzoom as hz
        >>> space = hz.Space.branches(
        ...     svc=hz.Space(C=hz.LogUniform(1e-2, 1e3), gamma=hz.LogUniform(1e-4, 1)),
        ...     ridge=hz.Space(alpha=hz.LogUniform(1e-4, 10)),
        ...     name="model",
        ... )
        >>> space.names
        ('model', 'C', 'gamma', 'alpha')
        >>> space["alpha"]
        LogUniform(0.0001, 10.0).when(model='ridge')
        """
        subs: dict[str, Space] = _named(
            branches, kwargs, "branches", "Spaces", "branch"
        )
        if not subs:
            msg = "`branches` must name at least one sub-space, but got none."
            raise ValueError(msg)
        for k, v in subs.items():
            if not isinstance(v, Space):
                msg = f"branch {k!r} must be a hyperzoom Space, but got {type(v).__name__}."
                raise TypeError(msg)
            if name in v:
                msg = (
                    f"branch {k!r} has a parameter named {name!r}, the name of the branch "
                    "choice; pass another `name=`."
                )
                raise ValueError(msg)
        params: dict[str, Distribution] = {name: Choice(list(subs))}
        owners: dict[str, list[str]] = {}
        for branch, sub in subs.items():
            for pname, dist in sub.items():
                if pname in params and pname != name:
                    first = params[pname]
                    if first._key() != dist._key() or first._when[1:] != dist._when:
                        msg = (
                            f"parameter {pname!r} is {dist!r} in branch {branch!r} but "
                            f"{_unconditioned(first, name)!r} in branch "
                            f"{owners[pname][0]!r}; a name shared by branches must have "
                            "the same distribution and conditions (rename one)."
                        )
                        raise ValueError(msg)
                    owners[pname].append(branch)
                else:
                    owners[pname] = [branch]
                params[pname] = _in_branches(dist, name, owners[pname])
        out = cls(params)
        clauses = []
        for branch, sub in subs.items():
            for clause in sub.forbidden:
                clauses.append(Forbidden(**{name: branch}, **dict(clause.terms)))
        if clauses:
            out._forbidden = tuple(clauses)
            out._compile_conditions()
        return out

    # -- Optuna -------------------------------------------------------------------------
    @classmethod
    def from_optuna(cls, distributions: Mapping[str, Any]) -> Space:
        """Return the space of a dict of Optuna distributions (e.g. ``trial.distributions``).

        ``FloatDistribution`` becomes ``Uniform`` (``LogUniform`` with ``log=True``),
        ``IntDistribution`` ``IntUniform`` (``IntLogUniform`` with ``log=True``),
        ``CategoricalDistribution`` ``Choice``, or ``PowerOfTwo`` when its choices are
        consecutive powers of two in increasing order. Stepped distributions (``step``
        other than None or 1) and single-valued floats are refused with a
        ``ValueError`` naming the parameter. Optuna is not imported: the distributions
        are read by class name and attributes.

        Examples
        --------
        >>> import hyperzoom as hz
        >>> from optuna.distributions import CategoricalDistribution, FloatDistribution
        >>> space = hz.Space.from_optuna({
        ...     "lr": FloatDistribution(1e-4, 1.0, log=True),
        ...     "batch_size": CategoricalDistribution([16, 32, 64]),
        ... })
        >>> space["lr"], space["batch_size"]
        (LogUniform(0.0001, 1.0), PowerOfTwo(16, 64))
        """
        return cls(from_optuna(distributions))

    def to_optuna(self, *, inv_log: str = "raise") -> dict[str, Any]:
        """Return the space as a dict of Optuna distributions (imports Optuna).

        The inverse of :meth:`from_optuna`: ``PowerOfTwo`` becomes the categorical of
        its powers. ``InvLogUniform`` has no Optuna counterpart: it is refused with a
        ``ValueError`` naming the parameter, unless ``inv_log="linear"``, which
        describes it as ``FloatDistribution(low, high)`` (the same values; Optuna's
        own samplers would draw them linearly). Conditions, forbidden clauses and
        ``Choice`` weights are dropped: Optuna's distributions cannot hold them.

        Examples
        --------
        >>> import hyperzoom as hz
        >>> hz.Space(layers=hz.IntUniform(1, 6)).to_optuna()
        {'layers': IntDistribution(high=6, log=False, low=1, step=1)}
        """
        return to_optuna(self._params, inv_log)

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
        return (
            list(self._params.items()) == list(other._params.items())
            and self._forbidden == other._forbidden
        )

    def __hash__(self) -> int:
        return hash((tuple(self._params.items()), self._forbidden))

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {k}={v!r}" for k, v in self._params.items())
        text = f"Space(\n{inner},\n)" if inner else "Space()"
        for clause in self._forbidden:
            text += ".forbid(" + repr(clause)[len("Forbidden(") :]
        return text

    def __getstate__(self) -> dict[str, Any]:
        return {"params": self._params, "forbidden": self._forbidden}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["params"])  # type: ignore[misc]
        self._forbidden = tuple(state.get("forbidden", ()))
        if self._forbidden:
            self._compile_conditions()

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
        if self._cond is not None:
            _, cols, masks, stuck = self._compiled.sample_conditional(
                self._cond, words, n, MAX_ATTEMPTS, w, False
            )
            self._check_stuck(stuck)
            compiled, cond = self._compiled, self._cond

            def sampled_unit() -> np.ndarray:
                # The kernel is deterministic: run again, it gives the same rows.
                unit = np.asarray(
                    compiled.sample_conditional(cond, words, n, MAX_ATTEMPTS, w, True)[
                        0
                    ]
                )
                unit.flags.writeable = False
                return unit

            return self._configs(cols, None, sampled_unit, masks)
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
        if self._cond is not None:
            return self._from_unit_conditional(u, workers)
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

    def _from_unit_conditional(self, u: Any, workers: int | None) -> Configs:
        """Map unit coordinates to configurations of a space with conditions.

        The coordinates of inactive parameters are ignored (NaN is allowed there); a
        forbidden row is refused.
        """
        try:
            arr = np.array(u, dtype=np.float64, order="C", copy=True)
        except (TypeError, ValueError) as exc:
            msg = f"`u` must be an array of floats in [0, 1], but got {u!r}."
            raise TypeError(msg) from exc
        if arr.ndim != 2 or arr.shape[1] != self.d:
            msg = (
                f"`u` must have shape (n, {self.d}) for a space of {self.d} parameters, "
                f"but got shape {arr.shape}."
            )
            raise ValueError(msg)
        bad = ~np.isnan(arr) & ~((arr >= 0.0) & (arr <= 1.0))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            msg = f"`u` must lie in [0, 1] (or be NaN where inactive), but got {arr[i, j]!r} at [{i}, {j}]."
            raise ValueError(msg)
        w = as_workers(workers, arr.size)
        active = self._active_mask(arr, w)
        nan_active = np.isnan(arr) & active
        if nan_active.any():
            i, j = (int(x) for x in np.argwhere(nan_active)[0])
            msg = (
                f"`u[{i}, {j}]` is NaN but parameter {self._names[j]!r} is active in "
                f"row {i} (its condition {describe(self, self._names[j])} holds there)."
            )
            raise ValueError(msg)
        arr[~active] = np.nan  # the coordinates of inactive parameters mean nothing
        self._refuse_forbidden(arr, "u")
        cols = self._compiled.from_unit(arr, w, True)
        arr.flags.writeable = False
        return self._configs(cols, arr)

    def _active_mask(self, unit: np.ndarray, workers: int = 1) -> np.ndarray:
        """Return where each parameter of each row is active.

        Missing entries count as values when they decide a child's activity (an error
        is raised for them anyway).
        """
        probe = np.nan_to_num(unit, nan=0.5)
        assert self._cond is not None
        self._cond.apply(probe, workers)
        active: np.ndarray = ~np.isnan(probe)
        return active

    def _refuse_forbidden(self, unit: np.ndarray, name: str) -> None:
        if not self._forbidden:
            return
        rows = np.flatnonzero(self._cond.forbidden_rows(unit))
        if rows.size:
            i = int(rows[0])
            row = self._configs(
                self._compiled.from_unit(unit[i : i + 1], 1, True), unit[i : i + 1]
            )[0]
            msg = (
                f"`{name}` holds forbidden configurations ({rows.size} rows), the "
                f"first at row {i}: {row!r}; the clauses are {list(self._forbidden)!r}."
            )
            raise ValueError(msg)

    def _check_stuck(self, stuck: int) -> None:
        if stuck:
            msg = (
                f"the forbidden clauses {list(self._forbidden)!r} leave almost nothing "
                f"of the space: {stuck} rows were still forbidden after {MAX_ATTEMPTS} "
                "draws each."
            )
            raise ValueError(msg)

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
        absent: dict[int, np.ndarray] = {}
        for j, name in enumerate(self._names):
            raw = configs[name]
            if j in self._conditional:
                raw, gone = _split_missing(self._params[name], raw)
                if gone is not None:
                    absent[j] = gone
            col = self._params[name]._encode(raw, f"configs[{name!r}]")
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
        w = as_workers(workers, n * self.d)
        unit = np.asarray(self._compiled.to_unit(cols, n, w))
        if self._cond is None:
            return unit
        for j, gone in absent.items():
            unit[gone, j] = np.nan
        active = self._active_mask(unit, w)
        wrong = active == np.isnan(unit)
        if wrong.any():
            i, j = (int(x) for x in np.argwhere(wrong)[0])
            name = self._names[j]
            state = "is missing" if active[i, j] else "has a value"
            holds = "holds" if active[i, j] else "does not hold"
            msg = (
                f"`configs[{name!r}]` {state} at row {i}, but its condition "
                f"{describe(self, name)} {holds} there: a conditional parameter has a "
                "value exactly where it is active (NaN, None or masked elsewhere)."
            )
            raise ValueError(msg)
        self._refuse_forbidden(unit, "configs")
        return unit

    def _configs(
        self,
        cols: list[np.ndarray],
        unit: np.ndarray | None,
        unit_source: Callable[[], np.ndarray] | None = None,
        masks: list[np.ndarray | None] | None = None,
    ) -> Configs:
        columns = {
            name: dist._decode(col)
            for name, dist, col in zip(self._names, self._params.values(), cols)
        }
        if self._conditional and (unit is not None or masks is not None):
            masked = [
                j for j in self._conditional if self._params[self._names[j]].is_integer
            ]
            if masked:  # integers and choices: masked where inactive
                inactive: Any = masks
                if masks is None:
                    assert unit is not None  # the condition above
                    # one contiguous pass over unit, then a contiguous row per column
                    # (isnan of each strided column alone cost 3.5x as much)
                    inactive = np.ascontiguousarray(np.isnan(np.asarray(unit)).T)
                for j in masked:
                    name = self._names[j]
                    columns[name] = np.ma.MaskedArray(columns[name], mask=inactive[j])
        return Configs(self, columns, unit, unit_source)


def _named(
    mapping: Mapping[str, Any] | None,
    kwargs: dict[str, Any],
    arg: str,
    what: str,
    item: str,
) -> dict[str, Any]:
    """Merge a mapping argument and keywords, as ``Space`` and ``Space.branches`` take.

    A mapping that is not one is a ``TypeError``; a name given twice a ``ValueError``.
    """
    out: dict[str, Any] = {}
    if mapping is not None:
        if not isinstance(mapping, Mapping):
            msg = f"`{arg}` must be a mapping of names to {what}, but got {mapping!r}."
            raise TypeError(msg)
        out.update(mapping)
    for k, v in kwargs.items():
        if k in out:
            msg = f"{item} {k!r} is given twice."
            raise ValueError(msg)
        out[k] = v
    return out


def _in_branches(dist: Distribution, name: str, branches: list[str]) -> Distribution:
    """Return ``dist`` active only in ``branches`` of the branch choice ``name``.

    Its own conditions still apply.
    """
    plain = copy.copy(dist)
    plain._when = ()
    value = branches[0] if len(branches) == 1 else list(branches)
    return plain.when(**{name: value}, **dist.conditions)


def _unconditioned(dist: Distribution, name: str) -> Distribution:
    plain = copy.copy(dist)
    plain._when = tuple((k, v) for k, v in dist._when if k != name)
    return plain


def _split_missing(dist: Distribution, values: Any) -> tuple[Any, np.ndarray | None]:
    """Return ``values`` with missing entries filled, and where they were.

    Missing entries (NaN, None, masked) get a valid value; where they were is None when
    nothing is missing.
    """
    if isinstance(values, np.ma.MaskedArray):
        gone = np.ma.getmaskarray(values).reshape(-1)
        data = np.asarray(values.data).reshape(-1).copy()
        if gone.any():
            data[gone] = _filler(dist, data)
        return data, (gone if gone.any() else None)
    arr = np.asarray(values)
    if arr.dtype.kind in "US" and not isinstance(values, np.ndarray):
        # A list of strings and NaN (a choice column read back from pandas): NumPy
        # would turn NaN into the string 'nan'; keep the objects as they are.
        arr = np.empty(len(values), dtype=object)
        arr[:] = list(values)
    if arr.dtype == object:
        flat = arr.reshape(-1)
        gone = np.array([_missing(v) for v in flat.tolist()], dtype=bool)
    elif arr.dtype.kind == "f":
        flat = arr.reshape(-1)
        gone = np.isnan(flat)
    else:
        return values, None
    if not gone.any():
        return values, None
    flat = flat.copy()
    flat[gone] = _filler(dist, flat)
    if flat.dtype == object and not isinstance(dist, Choice):
        flat = np.asarray(flat.tolist())  # numbers once the missing ones are filled
    return flat, gone


def _missing(v: Any) -> bool:
    """None, a float NaN or pandas' ``NA`` (a missing entry of an object column)."""
    return (
        v is None
        or (isinstance(v, float) and math.isnan(v))
        or type(v).__name__ == "NAType"
    )


def _filler(dist: Distribution, data: np.ndarray) -> Any:
    if isinstance(dist, Choice):
        return dist.options[0]
    return dist.low
