"""Conversion between a ``Space`` and Optuna's distributions.

The work of ``Space.from_optuna`` and ``Space.to_optuna``.
Optuna is not imported here at import time: its distributions are recognised by class
name and attributes, and :func:`to_optuna` imports it when called. So ``import
hyperzoom`` never imports Optuna.

===================================================  ===================================
Optuna                                               hyperzoom
===================================================  ===================================
``FloatDistribution(a, b)``                          ``Uniform(a, b)``
``FloatDistribution(a, b, log=True)``                ``LogUniform(a, b)``
``FloatDistribution(a, b, step=q)``                  refused (no stepped float here)
``IntDistribution(a, b)``                            ``IntUniform(a, b)``
``IntDistribution(a, b, log=True)``                  ``IntLogUniform(a, b)``
``IntDistribution(a, b, step=k)``, ``k > 1``         refused (no stepped integer here)
``CategoricalDistribution([2**i, ..., 2**j])``       ``PowerOfTwo(2**i, 2**j)``
``CategoricalDistribution(choices)``                 ``Choice(choices)``
(none)                                               ``InvLogUniform``: refused, or
                                                     ``FloatDistribution(a, b)`` with
                                                     ``inv_log="linear"``
===================================================  ===================================

A categorical whose choices are two or more consecutive powers of two, as plain
integers in increasing order, is the usual Optuna spelling of a batch size: it becomes
a ``PowerOfTwo`` (an ordered axis), and ``PowerOfTwo`` goes back to that categorical.
Conditions (``.when``) and forbidden clauses have no Optuna counterpart and are
dropped by :func:`to_optuna`; ``Choice`` weights are dropped too (Optuna's categorical
has none).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .choice import Choice
from .distributions import (
    Distribution,
    IntLogUniform,
    IntUniform,
    InvLogUniform,
    LogUniform,
    PowerOfTwo,
    Uniform,
)

__all__ = ["INV_LOG_MODES", "distribution_from_optuna", "from_optuna", "to_optuna"]

#: What ``to_optuna`` does with an ``InvLogUniform``.
INV_LOG_MODES = ("raise", "linear")
_CATEGORICAL_TYPES = (type(None), bool, int, float, str)


def distribution_from_optuna(name: str, dist: Any) -> Distribution:
    """Return the hyperzoom distribution of one Optuna distribution.

    Raises
    ------
    ValueError
        For a distribution hyperzoom has no counterpart of (stepped, single-valued or
        unknown), naming the parameter.
    """
    kind = type(dist).__name__
    try:
        if kind == "FloatDistribution":
            low, high = float(dist.low), float(dist.high)
            if getattr(dist, "step", None) is not None:
                msg = (
                    f"parameter {name!r}: {dist!r} has `step={dist.step!r}`, and "
                    "hyperzoom has no stepped float. Use hz.IntUniform over the step "
                    "indices and multiply, or drop the step."
                )
                raise ValueError(msg)
            _check_range(name, dist, low, high)
            return LogUniform(low, high) if dist.log else Uniform(low, high)
        if kind == "IntDistribution":
            low_i, high_i = int(dist.low), int(dist.high)
            step = int(getattr(dist, "step", 1) or 1)
            if step != 1:
                msg = (
                    f"parameter {name!r}: {dist!r} has `step={step}`, and hyperzoom has "
                    f"no stepped integer. Use hz.IntUniform(0, {(high_i - low_i) // step})"
                    f" and map i to {low_i} + {step} * i, or hz.Choice of the values."
                )
                raise ValueError(msg)
            return (
                IntLogUniform(low_i, high_i) if dist.log else IntUniform(low_i, high_i)
            )
        if kind == "CategoricalDistribution":
            choices = tuple(dist.choices)
            powers = _powers_of_two(choices)
            if powers is not None:
                return PowerOfTwo(*powers)
            return Choice(list(choices))
    except (TypeError, ValueError) as exc:
        if str(exc).startswith(f"parameter {name!r}"):
            raise
        msg = f"parameter {name!r}: {dist!r} cannot be converted: {exc}"
        raise ValueError(msg) from exc
    msg = (
        f"parameter {name!r}: {kind} is not an Optuna distribution hyperzoom knows "
        "(FloatDistribution, IntDistribution, CategoricalDistribution)."
    )
    raise ValueError(msg)


def from_optuna(distributions: Mapping[str, Any]) -> dict[str, Distribution]:
    """Return hyperzoom distributions for a dict of Optuna distributions (same order)."""
    if not isinstance(distributions, Mapping):
        msg = (
            "`distributions` must be a mapping of names to Optuna distributions (e.g. "
            f"trial.distributions), but got {type(distributions).__name__}."
        )
        raise TypeError(msg)
    return {
        name: distribution_from_optuna(name, d) for name, d in distributions.items()
    }


def to_optuna(
    params: Mapping[str, Distribution], inv_log: str = "raise"
) -> dict[str, Any]:
    """Return Optuna distributions for hyperzoom distributions (same order).

    Raises
    ------
    ValueError
        For an ``InvLogUniform`` when ``inv_log="raise"``, or a ``Choice`` option Optuna
        cannot store, naming the parameter.
    """
    if inv_log not in INV_LOG_MODES:
        msg = f"{inv_log!r} is not a valid `inv_log`. It must be one of {INV_LOG_MODES!r}."
        raise ValueError(msg)
    from optuna.distributions import (  # optional dependency, imported on use
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for name, dist in params.items():
        if isinstance(dist, Choice):
            bad = [o for o in dist.options if not isinstance(o, _CATEGORICAL_TYPES)]
            if bad:
                msg = (
                    f"parameter {name!r}: Optuna's categorical choices must be None, "
                    f"bool, int, float or str, but {bad[0]!r} is a "
                    f"{type(bad[0]).__name__}."
                )
                raise ValueError(msg)
            out[name] = CategoricalDistribution(list(dist.options))
        elif isinstance(dist, PowerOfTwo):
            e0, e1 = dist.exponents
            out[name] = CategoricalDistribution([2**e for e in range(e0, e1 + 1)])
        elif isinstance(dist, IntLogUniform):
            out[name] = IntDistribution(int(dist.low), int(dist.high), log=True)
        elif isinstance(dist, IntUniform):
            out[name] = IntDistribution(int(dist.low), int(dist.high))
        elif isinstance(dist, InvLogUniform):
            if inv_log == "raise":
                msg = (
                    f"parameter {name!r}: {dist!r} (uniform in log(1-x)) has no Optuna "
                    "distribution. Pass `inv_log='linear'` to describe it as "
                    f"FloatDistribution({dist.low!r}, {dist.high!r}) (the same values; "
                    "Optuna's own samplers would then draw it linearly), or suggest "
                    f"1 - x with log=True on [{1 - dist.high!r}, {1 - dist.low!r}]."
                )
                raise ValueError(msg)
            out[name] = FloatDistribution(float(dist.low), float(dist.high))
        elif isinstance(dist, LogUniform):
            out[name] = FloatDistribution(float(dist.low), float(dist.high), log=True)
        elif isinstance(dist, Uniform):
            out[name] = FloatDistribution(float(dist.low), float(dist.high))
        else:
            msg = f"parameter {name!r}: {dist!r} has no Optuna distribution."
            raise TypeError(msg)
    return out


def _check_range(name: str, dist: Any, low: float, high: float) -> None:
    if not low < high:
        msg = (
            f"parameter {name!r}: {dist!r} holds a single value; hyperzoom needs "
            "`low < high` (Optuna never samples a single-valued distribution)."
        )
        raise ValueError(msg)
    if not (math.isfinite(low) and math.isfinite(high)):
        msg = f"parameter {name!r}: {dist!r} must have finite bounds."
        raise ValueError(msg)


def _powers_of_two(choices: tuple[Any, ...]) -> tuple[int, int] | None:
    """``(low, high)`` when the choices are 2**i, 2**(i+1), ..., 2**j (j > i), else None."""
    if len(choices) < 2 or not all(type(c) is int and c >= 1 for c in choices):
        return None
    e0 = choices[0].bit_length() - 1
    if any(c != 1 << (e0 + k) for k, c in enumerate(choices)):
        return None
    return choices[0], choices[-1]
