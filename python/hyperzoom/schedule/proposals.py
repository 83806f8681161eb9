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
  whole space. The share drawn from the region is ``(1 - RANDOM_FRACTION) trust``:
  two thirds at most (a third stays random, as in BOHB, so that a region built on
  misleading results can be left). A level's *trust* (:meth:`Proposer.trust`) says how
  far its ranks stand for the top budget's: the product, over each level from it up to
  the one below the top, of Spearman's rank correlation between that level's losses
  and the next level's, over the runs with results at both (:data:`MIN_PAIRS` at
  least). A pair of levels that agrees less than :data:`THRESHOLD` makes the level
  untrusted (every draw random): where learning curves cross, early ranks mislead, and
  a region built on them would concentrate new runs where early learners do well. A
  pair not yet measured counts as :data:`PRIOR` (1) in Hyperband, whose later brackets
  start runs at the higher budgets, and as :data:`PRIOR_CENSORED` (0) in ASHA, whose
  higher rungs hold only the runs its first rungs chose: ASHA draws from a level only
  once every pair above it has been measured to agree. The top level trusts itself;
* while no level has a region, every configuration is drawn at random exactly as
  ``sampler="random"`` draws it (the same seed gives the same configurations).

The proposer's state is a function of the seed and of the results told, in order: the
same seed and arrival order give the same decisions, and a stored schedule rebuilds
the proposer by replaying its stored results (nothing of it is ever pickled). Each run
records where it came from: ``trials.proposal`` is -1 for a random draw, else an index
into ``result.proposal_regions``.

Conditional spaces (parameters declared with ``.when``, ``Space.branches``) work as
in :func:`hyperzoom.search`: a level's optimiser keeps one region per branch (see
:mod:`hyperzoom.search.branches`) and learns from each run on its branch's active
axes (NaN elsewhere); proposals respect forbidden combinations as any draw does.

Successive halving draws its one bracket before any result, so it draws at random
with either sampler. PBT's first population is drawn at random with either sampler;
with ``"coarse-to-fine"`` each step's budget is a level, each member under one
configuration is a run, and :meth:`Proposer.choose` decides which of the members an
explore step replaces have their donor's perturbed configuration bounded by a region
(the region's draw on each axis where the perturbation leaves it; see
:mod:`hyperzoom.schedule.population`). A PBT step has a region once
``min(min_points, population // branch_count)`` finite results per branch have arrived
there (summed over the branches): a step with failed members may have none, and the
latest step that has one is used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .._rng import spawn
from ..region import Region
from ..search.branches import count_branches
from ..search.optimizer import CoarseToFine
from ..space import Space

__all__ = [
    "RANDOM_FRACTION",
    "SAMPLERS",
    "ProposalRegion",
    "Proposer",
    "as_sampler",
    "branch_count",
    "min_points",
]

#: The values of ``sampler=``.
SAMPLERS = ("random", "coarse-to-fine")
#: Share of new configurations drawn at random even from a fully trusted level (BOHB's
#: 1/3); less trusted levels draw more at random (see the module's text).
RANDOM_FRACTION = 1.0 / 3.0
#: The first region of a level covers at least this share of every scaled axis.
MIN_WIDTH = 0.5
#: Pairs of results (one run at a level and the next) a rank correlation needs.
MIN_PAIRS = 5
#: A pair of levels whose rank correlation is below this is not trusted at all.
THRESHOLD = 0.5
#: The agreement assumed for a pair of levels with fewer than MIN_PAIRS pairs, in a
#: schedule whose higher levels also hold runs started there (Hyperband) ...
PRIOR = 1.0
#: ... and in one whose higher levels hold only runs its lower levels chose (ASHA).
PRIOR_CENSORED = 0.0

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
    """Results a level needs before it has a region: the engine's coarse round.

    On a conditional space this is each branch's coarse round (see
    :func:`branch_count`).
    """
    return max(10, 2 * space.d + 4)


def branch_count(space: Space) -> int:
    """Branches a level's optimiser keeps regions for: 1 unless ``space`` is conditional."""
    return max(1, count_branches(space)) if space.conditional else 1


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
        Share of proposals drawn at random from the top level's region.
    first_round : int, optional
        Results a level needs before it has a region (default :func:`min_points`).
    censored : bool
        Whether the higher levels hold only runs that the lower levels promoted
        (ASHA), so that a pair of levels is trusted only once measured (see
        :meth:`trust`).
    """

    def __init__(
        self,
        space: Space,
        budgets: Sequence[Any],
        gen: np.random.Generator,
        *,
        random_fraction: float = RANDOM_FRACTION,
        first_round: int | None = None,
        censored: bool = False,
    ) -> None:
        self.space = space
        self.censored = bool(censored)
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
        # per level: each run's loss there (by run); per pair of levels k, k + 1: the
        # losses of the runs with results at both
        self._loss: list[dict[Any, float]] = [{} for _ in self.budgets]
        self._pairs: list[list[tuple[float, float]]] = [[] for _ in self.budgets[1:]]
        self.regions: list[ProposalRegion] = []
        # per level: (the model's round when last asked, the index of its region)
        self._last: list[tuple[int, int] | None] = [None] * len(self.budgets)

    def observe(
        self, level: int, unit: np.ndarray, loss: float, run: Hashable | None = None
    ) -> None:
        """Tell level ``level`` one run's loss at its budget (failures are skipped).

        ``run`` names the run (its id; PBT: a member under one configuration), so
        that its losses at successive levels pair up; without it the run is known by
        its unit row.
        """
        if not np.isfinite(loss):
            return
        self.results[level] += 1
        self.models[level].observe(unit.reshape(1, -1), np.array([loss]))
        key: Any = unit.tobytes() if run is None else run
        self._loss[level][key] = float(loss)
        if level:
            below = self._loss[level - 1].get(key)
            if below is not None:
                self._pairs[level - 1].append((below, float(loss)))

    def agreement(self, level: int) -> float | None:
        """Spearman's rank correlation of the losses at ``level`` and the next level.

        Over the runs with results at both (in a schedule, those ``level`` promoted);
        None with fewer than :data:`MIN_PAIRS` of them.
        """
        pairs = self._pairs[level]
        if len(pairs) < MIN_PAIRS:
            return None
        a = np.array(pairs, dtype=np.float64)
        ra = _ranks(a[:, 0])
        rb = _ranks(a[:, 1])
        ra -= ra.mean()
        rb -= rb.mean()
        den = math.sqrt(float(ra @ ra) * float(rb @ rb))
        return float(ra @ rb) / den if den > 0.0 else 0.0

    def trust(self, level: int) -> float:
        """How far ``level``'s ranks can stand for the top budget's, in ``[0, 1]``.

        The product, over each level from ``level`` up to the one below the top, of
        its :meth:`agreement` with the next; a pair of levels agreeing less than
        :data:`THRESHOLD` counts as 0, and one with too few pairs as :data:`PRIOR`
        (:data:`PRIOR_CENSORED` when the proposer is ``censored``). The top level
        trusts itself fully.
        """
        prior = PRIOR_CENSORED if self.censored else PRIOR
        out = 1.0
        for k in range(level, len(self.models) - 1):
            rho = self.agreement(k)
            r = prior if rho is None else rho
            if r < THRESHOLD:
                return 0.0
            out *= r
        return out

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
        is_random, m_rows = self.choose(n)
        if m_rows is None:  # nothing to learn from yet: exactly the random draws
            unit, configs = draw_random(n)
            return [(unit[i], configs[i], -1) for i in range(n)]
        k = int(np.count_nonzero(is_random))
        r_unit, r_configs = draw_random(k) if k else (np.empty((0, 0)), [])
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

    def choose(
        self, n: int
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, dict[str, Any], int]] | None]:
        """Decide which of ``n`` new configurations come from a region, and draw them.

        Returns a mask (True: the caller's own draw, at random or otherwise) and the
        region's rows for the others, in order; the rows are None (and every entry
        of the mask True) while no level has a region.
        """
        top = self.level()
        if top < 0:
            return np.ones(n, dtype=bool), None
        # A level's share follows how far its ranks agree with the top budget's.
        model_share = (1.0 - self.random_fraction) * self.trust(top)
        is_random = self._coin.random(n) >= model_share
        return is_random, self._ask(top, n - int(np.count_nonzero(is_random)))

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


def _ranks(x: np.ndarray) -> np.ndarray:
    """Return the ranks of ``x`` (0 first), ties sharing their mean rank."""
    order = np.argsort(x, kind="stable")
    r = np.empty(x.size, dtype=np.float64)
    r[order] = np.arange(x.size, dtype=np.float64)
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    if counts.size < x.size:  # ties: the mean rank of each group of equal values
        sums = np.bincount(inv, weights=r)
        r = (sums / counts)[inv]
    return r


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
