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

The package's modules, one job each: :mod:`~hyperzoom.space.distributions` (the numeric
distributions and their base), :mod:`~hyperzoom.space.choice` (``Choice``), ``_space``
(``Space``), :mod:`~hyperzoom.space.configs` (``Configs``) and
:mod:`~hyperzoom.space.sampling` (the designs ``Space.sample`` and :func:`hyperzoom.grid`
build on these axes).
"""

from __future__ import annotations

from ._space import Space
from .choice import Choice
from .conditions import Forbidden
from .configs import Configs
from .distributions import (
    Distribution,
    IntLogUniform,
    IntUniform,
    InvLogUniform,
    LogUniform,
    PowerOfTwo,
    Uniform,
)

__all__ = [
    "Choice",
    "Configs",
    "Distribution",
    "Forbidden",
    "IntLogUniform",
    "IntUniform",
    "InvLogUniform",
    "LogUniform",
    "PowerOfTwo",
    "Space",
    "Uniform",
]
