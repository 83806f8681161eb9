"""Conditional parameters and forbidden combinations: declared by value, tested on units.

A parameter declared with ``.when(parent=...)`` is *active* only when every named parent
is active and holds one of the given values; otherwise it is absent from the
configuration. A :class:`Forbidden` clause names values that no configuration may hold
all at once. Both are stated in the parents' own values and compiled once per space into
intervals of the parents' unit axes, which is all the compiled core needs: sampling,
Latin hypercubes, grids and the coarse-to-fine optimiser test unit coordinates only.

What a condition may name, by the parent's kind:

==========================  =============================================================
parent                      condition value
==========================  =============================================================
``Choice``                  one option, or a list (tuple, set) of options
``IntUniform``,             one integer, or a list (tuple, set, ``range``) of integers
``IntLogUniform``,
``PowerOfTwo``
``Uniform``, ``LogUniform``,  a ``(low, high)`` range inside the parent's bounds
``InvLogUniform``
==========================  =============================================================
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _core
from ._values import freeze, thaw
from .choice import Choice
from .distributions import Distribution, IntLogUniform, PowerOfTwo

if TYPE_CHECKING:
    from ._space import Space

__all__ = ["Forbidden", "compile_conditions", "condition_intervals", "freeze", "thaw"]

#: Attempts to redraw a forbidden row before giving up (a share of 0.99 of the space
#: forbidden leaves about e^-10 of the rows still forbidden after this many).
MAX_ATTEMPTS = 1000


class Forbidden:
    """A combination of values that no configuration may hold.

    A configuration is forbidden when every named parameter is active and holds one of
    its given values (the same forms as :meth:`Distribution.when`). Add clauses to a
    space with :meth:`Space.forbid`.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> space = hz.Space(
    ...     optimizer=hz.Choice(["sgd", "adam"]),
    ...     layers=hz.IntUniform(1, 4),
    ... ).forbid(optimizer="adam", layers=[3, 4])
    >>> c = space.sample(1000, rng=7)
    >>> bool(((c["optimizer"] == "adam") & (c["layers"] >= 3)).any())
    False
    """

    __slots__ = ("terms",)

    def __init__(self, **terms: Any) -> None:
        if not terms:
            msg = "a Forbidden clause must name at least one parameter, but got none."
            raise ValueError(msg)
        self.terms: tuple[tuple[str, Any], ...] = tuple(
            (k, freeze(v)) for k, v in terms.items()
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Forbidden):
            return NotImplemented
        return self.terms == other.terms

    def __hash__(self) -> int:
        return hash(self.terms)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={_show(v)}" for k, v in self.terms)
        return f"Forbidden({inner})"


def _show(value: Any) -> str:
    return repr(thaw(value))


def _values(value: Any) -> list[Any]:
    if isinstance(value, tuple) and value and value[0] == "in":
        return list(value[1:])
    if isinstance(value, tuple):
        return list(value)
    return [value]


def condition_intervals(
    child: str, parent: str, dist: Distribution, value: Any, where: str | None = None
) -> tuple[list[float], list[float]]:
    """Return the unit intervals ``[lo, hi)`` of ``parent`` where ``value`` holds.

    Raises ``ValueError`` naming ``child`` and ``parent`` (or starting with ``where``)
    when ``value`` is not one of the parent's values, or is not a range for a
    continuous parent.
    """
    if where is None:
        where = f"the condition of {child!r} on {parent!r}"
    if not dist.is_integer:
        if not (
            isinstance(value, tuple)
            and len(value) == 2
            and all(
                isinstance(x, numbers.Real) and not isinstance(x, bool) for x in value
            )
        ):
            msg = (
                f"{where}: a condition on a continuous parameter needs a (low, high) "
                f"range of its values, but got {_show(value)}."
            )
            raise ValueError(msg)
        low, high = float(value[0]), float(value[1])
        if not (dist.low <= low < high <= dist.high):
            msg = (
                f"{where}: the range must satisfy {dist.low!r} <= low < high <= "
                f"{dist.high!r} (the bounds of {parent!r}), but got ({low!r}, {high!r})."
            )
            raise ValueError(msg)
        u = dist.to_unit(np.array([low, high]))
        return [float(u[0])], [1.0 if high == dist.high else float(u[1])]
    values = _values(value)
    if not values:
        msg = f"{where}: the condition must name at least one value, but got none."
        raise ValueError(msg)
    if isinstance(dist, Choice):
        idx = []
        for v in values:
            i = _option_index(dist, v)
            if i is None:
                msg = (
                    f"{where}: {v!r} is not one of {list(dist.options)!r} (the "
                    f"options of {parent!r})."
                )
                raise ValueError(msg)
            idx.append(i)
        edges = dist.edges
        return _merge([(float(edges[i]), float(edges[i + 1])) for i in idx])
    cells = []
    for v in values:
        if (
            isinstance(v, bool)
            or not isinstance(v, numbers.Real)
            or v != math.floor(v)
            or not dist.low <= v <= dist.high
            or (
                isinstance(dist, PowerOfTwo)
                and int(float(v)) & (int(float(v)) - 1) != 0
            )
        ):
            msg = (
                f"{where}: {v!r} is not a value of {dist!r} (the values of {parent!r} are "
                f"the integers {'and powers of two ' if isinstance(dist, PowerOfTwo) else ''}"
                f"in [{dist.low}, {dist.high}])."
            )
            raise ValueError(msg)
        cells.append(_int_cell(dist, int(float(v))))
    return _merge(cells)


def _option_index(dist: Choice, value: Any) -> int | None:
    for i, o in enumerate(dist.options):  # the same object, or equal and of one type
        if o is value:
            return i
        try:
            if type(o) is type(value) and bool(o == value):
                return i
        except Exception:  # noqa: BLE001, S112 - an option whose == gives no bool
            continue
    for i, o in enumerate(dist.options):  # 3 == 3.0 and numpy scalars
        try:
            if bool(o == value):
                return i
        except Exception:  # noqa: BLE001, S112 - an option whose == gives no bool
            continue
    return None


def _int_cell(dist: Distribution, v: int) -> tuple[float, float]:
    if isinstance(dist, IntLogUniform):
        span = math.log((dist.high + 1) / dist.low)
        lo = math.log(v / dist.low) / span
        hi = 1.0 if v == dist.high else math.log((v + 1) / dist.low) / span
        return lo, hi
    if isinstance(dist, PowerOfTwo):
        e_lo, e_hi = dist.exponents
        k = e_hi - e_lo + 1
        i = v.bit_length() - 1 - e_lo
        return i / k, 1.0 if i == k - 1 else (i + 1) / k
    k = int(dist.high) - int(dist.low) + 1
    i = v - int(dist.low)
    return i / k, 1.0 if i == k - 1 else (i + 1) / k


def _merge(cells: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    cells = sorted(set(cells))
    lo: list[float] = []
    hi: list[float] = []
    for a, b in cells:
        if lo and a <= hi[-1]:
            hi[-1] = max(hi[-1], b)
        else:
            lo.append(a)
            hi.append(b)
    return lo, hi


def compile_conditions(
    params: Mapping[str, Distribution], forbidden: tuple[Forbidden, ...]
) -> tuple[Any, tuple[str, ...]] | tuple[None, tuple[str, ...]]:
    """Check the conditions and clauses of ``params``; compile them for the core.

    Returns ``(compiled, order)``: the core's ``Conditions`` (None when no parameter is
    conditional and no clause is given) and the names in dependency order (parents
    before children, otherwise in declaration order).
    """
    names = list(params)
    index = {k: j for j, k in enumerate(names)}
    when: list[list[tuple[int, list[float], list[float]]]] = []
    parents: dict[str, list[str]] = {}
    for name, dist in params.items():
        tests = []
        parents[name] = []
        for parent, value in dist._when:
            if parent == name:
                msg = f"parameter {name!r} cannot be conditioned on itself."
                raise ValueError(msg)
            if parent not in params:
                msg = (
                    f"the condition of {name!r} names unknown parameter {parent!r}; "
                    f"the space has {names!r}."
                )
                raise ValueError(msg)
            lo, hi = condition_intervals(name, parent, params[parent], value)
            tests.append((index[parent], lo, hi))
            parents[name].append(parent)
        when.append(tests)
    order = _order(names, parents)
    clauses = []
    for clause in forbidden:
        tests = []
        for parent, value in clause.terms:
            if parent not in params:
                msg = (
                    f"{clause!r} names unknown parameter {parent!r}; the space has "
                    f"{names!r}."
                )
                raise ValueError(msg)
            lo, hi = condition_intervals(
                "", parent, params[parent], value, f"{clause!r}, on {parent!r}"
            )
            tests.append((index[parent], lo, hi))
        if all(
            not params[names[t[0]]].conditions and t[1] == [0.0] and t[2] == [1.0]
            for t in tests
        ):
            msg = f"{clause!r} forbids every configuration of the space."
            raise ValueError(msg)
        clauses.append(tests)
    if not clauses and not any(when):
        return None, tuple(order)
    compiled = _core.conditions.Conditions(
        len(names), [index[k] for k in order], when, clauses
    )
    return compiled, tuple(order)


def _order(names: list[str], parents: dict[str, list[str]]) -> list[str]:
    """Names with every parent before its children (declaration order otherwise)."""
    done: set[str] = set()
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = [*visiting[visiting.index(name) :], name]
            msg = (
                "conditions must not form a cycle, but they do: "
                + " -> ".join(repr(c) for c in cycle)
                + " (each is conditioned on the next)."
            )
            raise ValueError(msg)
        visiting.append(name)
        for p in parents[name]:
            visit(p)
        visiting.pop()
        done.add(name)
        order.append(name)

    for name in names:
        visit(name)
    return order


def describe(space: Space, name: str) -> str:
    """Return the condition of ``name`` as text, e.g. ``"optimizer='sgd'"``."""
    return ", ".join(f"{k}={_show(v)}" for k, v in space[name].conditions.items())
