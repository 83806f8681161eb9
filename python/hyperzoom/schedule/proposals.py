"""Where a scheduler's new configurations come from: at random, or coarse to fine.

With ``sampler="random"`` every new configuration is drawn uniformly on each
parameter's scaled axis, independently of everything trained so far. With
``sampler="coarse-to-fine"`` a :class:`Proposer` learns where the good runs are, as
BOHB (Falkner et al., 2018) does with its density model, but with hyperzoom's own
coarse-to-fine engine:

* each budget of the schedule's rungs (a *level*) has its own asynchronous
  :class:`~hyperzoom.CoarseToFine`, which observes every run completed at that budget
  (its unit coordinates and loss, in the order the results are told; failed runs teach
  nothing). Once a level holds a coarse round of results (:func:`min_points`:
  ``max(10, 2 d + 4)``, the engine's first round) it has a *region*: the box, on each
  scaled axis, around that round's best quarter, at least half of every axis wide
  (:data:`MIN_WIDTH`: a few early results make a coarse region, not a narrow one); then
  every further round of results there moves, turns and shrinks it (see
  :mod:`hyperzoom.search`);
* a new configuration comes from the region of the highest level that has one (the
  longest training with enough results, BOHB's rule), or is drawn at random over the
  whole space. The share drawn from the region is ``(1 - RANDOM_FRACTION) (k + 1) / L``
  for level ``k`` of ``L``: two thirds at the top budget (a third stays random, as in
  BOHB, so that a region built on misleading results can be left), less for lower
  budgets, whose ranks can mislead when learning curves cross;
* while no level has a region, every configuration is drawn at random exactly as
  ``sampler="random"`` draws it (the same seed gives the same configurations).

The proposer's state is a function of the seed and of the results told, in order: the
same seed and arrival order give the same decisions, and a stored schedule rebuilds
the proposer by replaying its stored results (nothing of it is ever pickled). Each run
records where it came from: ``trials.proposal`` is -1 for a random draw, else an index
into ``result.proposal_regions``.

Schedules that draw every configuration before any result (successive halving's one
bracket, PBT's population) have nothing to learn from: successive halving draws at
random with either sampler, and PBT with ``"coarse-to-fine"`` starts from the engine's
coarse round, a Latin hypercube over the whole space.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .._rng import spawn
from ..region import Region
from ..search.optimizer import CoarseToFine
from ..space import Space

__all__ = [
    "RANDOM_FRACTION",
    "SAMPLERS",
    "ProposalRegion",
    "Proposer",
    "as_sampler",
    "min_points",
]

#: The values of ``sampler=``.
SAMPLERS = ("random", "coarse-to-fine")
#: Share of new configurations drawn at random from the top level's region (BOHB's
#: 1/3); lower levels draw more at random (see the module's text).
RANDOM_FRACTION = 1.0 / 3.0
#: The first region of a level covers at least this share of every scaled axis.
MIN_WIDTH = 0.5

#: Draws ``k`` random configurations: (unit rows, configurations as dicts).
RandomDraw = Callable[[int], tuple[np.ndarray, list[dict[str, Any]]]]


def as_sampler(sampler: Any) -> str:
    """Return ``sampler`` checked: one of :data:`SAMPLERS`."""
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        msg = (
            f"`sampler={sampler!r}` is not a valid sampler. It must be one of "
            f"{set(SAMPLERS)!r}."
        )
        raise ValueError(msg)
    return sampler


def min_points(space: Space) -> int:
    """Results a level needs before it has a region: the engine's coarse round."""
    return max(10, 2 * space.d + 4)


class ProposalRegion(NamedTuple):
    """A region new configurations were drawn from.

    Attributes
    ----------
    budget : float
        The budget (rung) whose results built the region.
    region : Region
        The region, on each parameter's scaled axis.
    results : int
        How many results at that budget the proposer had observed when it first drew
        from this region.
    """

    budget: float
    region: Region
    results: int


class Proposer:
    """Coarse-to-fine proposals from the results at each level (budget) of a schedule.

    Parameters
    ----------
    space : Space
        The space.
    budgets : sequence of float
        The budget of each level, lowest first (the rungs of the schedule).
    gen : numpy.random.Generator
        The schedule's generator: the proposer's own streams are spawned from it (its
        draws are left to the random configurations).
    random_fraction : float
        Share of proposals drawn at random once a level has a region.
    """

    def __init__(
        self,
        space: Space,
        budgets: Sequence[Any],
        gen: np.random.Generator,
        *,
        random_fraction: float = RANDOM_FRACTION,
        first_round: int | None = None,
    ) -> None:
        self.space = space
        self.budgets = [float(b) for b in budgets]
        self.random_fraction = float(random_fraction)
        self.first_round = min_points(space) if first_round is None else first_round
        (root,) = spawn(gen, 1)  # spawning draws nothing from gen: random draws match
        self._coin = root
        self.models = [
            CoarseToFine(
                space,
                asynchronous=True,
                first_round=self.first_round,
                min_width=MIN_WIDTH,
                rng=child,
                workers=1,
            )
            for child in root.spawn(len(self.budgets))
        ]
        self.results = [0] * len(self.budgets)  # finite results observed per level
        self.regions: list[ProposalRegion] = []
        # per level: (the model's round when last asked, the index of its region)
        self._last: list[tuple[int, int] | None] = [None] * len(self.budgets)

    def observe(self, level: int, unit: np.ndarray, loss: float) -> None:
        """Tell level ``level`` one run's loss at its budget (failures are skipped)."""
        if not np.isfinite(loss):
            return
        self.results[level] += 1
        self.models[level].observe(unit.reshape(1, -1), np.array([loss]))

    def level(self) -> int:
        """Return the highest level that has a region, or -1 when none has."""
        for k in range(len(self.models) - 1, -1, -1):
            if not self.models[k].coarse:
                return k
        return -1

    def propose(
        self, n: int, draw_random: RandomDraw
    ) -> list[tuple[np.ndarray, dict[str, Any], int]]:
        """Return ``n`` new configurations: (unit row, config, proposal index).

        The proposal index is -1 for a random draw (from ``draw_random``), else the
        index in :attr:`regions` of the region it was drawn from.
        """
        top = self.level()
        if top < 0:  # nothing to learn from yet: exactly the random sampler's draws
            unit, configs = draw_random(n)
            return [(unit[i], configs[i], -1) for i in range(n)]
        # A level's share grows with its budget: low-budget ranks can mislead.
        model_share = (1.0 - self.random_fraction) * (top + 1) / len(self.models)
        is_random = self._coin.random(n) >= model_share
        k = int(np.count_nonzero(is_random))
        r_unit, r_configs = draw_random(k) if k else (np.empty((0, 0)), [])
        m_rows = self._ask(top, n - k)
        out: list[tuple[np.ndarray, dict[str, Any], int]] = []
        ri = mi = 0
        for flag in is_random.tolist():
            if flag:
                out.append((r_unit[ri], r_configs[ri], -1))
                ri += 1
            else:
                out.append(m_rows[mi])
                mi += 1
        return out

    def _ask(self, level: int, m: int) -> list[tuple[np.ndarray, dict[str, Any], int]]:
        opt = self.models[level]
        rows: list[tuple[np.ndarray, dict[str, Any], int]] = []
        while len(rows) < m:
            c = opt.propose(m - len(rows))  # no trial left pending
            pid = self._region_index(level)
            unit = c.unit
            rows += [(unit[i].copy(), c.row(i), pid) for i in range(len(c))]
        return rows

    def _region_index(self, level: int) -> int:
        """Return the index of the region ``level`` draws from now (added if new)."""
        opt = self.models[level]
        last = self._last[level]
        if last is not None and last[0] == opt.round:
            return last[1]
        region = opt.region
        if last is not None and _same_region(self.regions[last[1]].region, region):
            index = last[1]
        else:
            index = len(self.regions)
            self.regions.append(
                ProposalRegion(self.budgets[level], region, self.results[level])
            )
        self._last[level] = (opt.round, index)
        return index


def _same_region(a: Region, b: Region) -> bool:
    def same(x: np.ndarray | None, y: np.ndarray | None) -> bool:
        return (x is None and y is None) or (
            x is not None and y is not None and np.array_equal(x, y)
        )

    return (
        a == b
        and same(a.center, b.center)
        and same(a.basis, b.basis)
        and same(a.half_widths, b.half_widths)
    )
