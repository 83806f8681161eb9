"""Population-based training: members trained side by side, copying and perturbing.

Every ``interval`` the worst members copy the state and configuration of better ones
(exploit) and perturb the configuration on each parameter's own scaled axis (explore);
the draws are made by the compiled core. Synchronous: each interval runs the whole
population at once and is gathered in index order.

In a conditional space the core never sees a NaN: a donor's inactive coordinates are
handed to it filled, and whatever it makes of them is thrown away. After the step the
coordinates that were inactive in the donor are drawn afresh (uniform on their unit
axis, from a stream fixed by the seed and the step), the conditions are applied in
order (a parameter that a changed branch activates keeps that fresh draw; one it
deactivates becomes NaN) and a row that lands on a forbidden combination is drawn
again whole. Perturbation never moves an inactive parameter into a configuration.

With ``sampler="coarse-to-fine"`` a region built on each step's losses bounds the
explore step for a share of the replaced members (:data:`REGION_SHARE`): where the
donor's perturbed configuration leaves the region's box, the region's draw takes its
place, axis by axis, and the donor's values stay where the region allows them. Taking
the region's draw whole instead (the first version) cost PBT on the power-law
learning curves with 60 members, 2-3% in the median over 200 seeds, on 118 of 200:
a step's region ranks configurations by how fast they learnt so far, and a whole
draw threw away the values that had survived every exploit step (width, decay),
whose worth shows only late. On a space with conditions or forbidden combinations the
draw is still taken whole.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
from concurrent.futures import Executor
from typing import Any

import numpy as np

from .. import _core
from .._rng import seed_words
from .._validation import as_count, as_real, check_size
from ..space import Choice, Space
from ..space.conditions import MAX_ATTEMPTS
from ..typing import RngLike
from ._method import StudyArgs, run_method
from ._runs import (
    RUN_BYTES,
    Caller,
    StateCodec,
    Stop,
    TrainFn,
    budget_caster,
    check_executor,
    check_plan_size,
    check_train,
    make_result,
    new_runs,
    number,
    shared_docs,
)
from .proposals import Proposer, as_sampler, branch_count, min_points
from .results import ScheduleResult

__all__ = ["REGION_SHARE", "pbt"]

#: With ``sampler="coarse-to-fine"``: the share of the members an explore step replaces
#: whose perturbation a region bounds (see :func:`_from_regions`).
REGION_SHARE = 1.0 / 3.0


def explore_axes(space: Space) -> Any:
    """Return the core's axes of ``space`` for PBT's explore step (cached)."""
    cached = space.__dict__.get("_explore_axes")
    if cached is not None:
        return cached
    modes, cells, lo, hi = [], [], [], []
    edges: list[np.ndarray | None] = []
    for dist in space.params.values():
        m, k, a, b, e = 0, 0, 0.0, 0.0, None
        if isinstance(dist, Choice):
            k = len(dist.options)
            if dist.weights is None:
                m = 1
            else:
                m = 3
                e = dist.edges
        elif dist.scale in ("int", "power_of_two"):
            m, k = 1, int(dist._cell_count())
        elif dist.scale == "int_log":
            m, k, a, b = 2, int(dist._cell_count()), float(dist.low), float(dist.high)
        modes.append(m)
        cells.append(k)
        lo.append(a)
        hi.append(b)
        edges.append(e)
    axes = _core.schedule.ExploreAxes(
        np.array(modes, dtype=np.int64),
        np.array(cells, dtype=np.int64),
        np.array(lo),
        np.array(hi),
        edges,
    )
    space.__dict__["_explore_axes"] = axes
    return axes


def canonical_unit(space: Space, unit: np.ndarray) -> np.ndarray:
    """Integer and choice coordinates moved to their cell centres (values unchanged)."""
    out = np.array(unit, dtype=np.float64, copy=True)
    cols = [j for j, dist in enumerate(space.params.values()) if dist.is_integer]
    if cols:
        centred = space.to_unit(space.from_unit(out))
        out[:, cols] = centred[:, cols]
    return out


def conditional_rows(
    space: Space, donor_unit: np.ndarray, rows: np.ndarray, words: np.ndarray, step: int
) -> np.ndarray:
    """Make PBT's explored ``rows`` valid in a space with conditions or clauses.

    ``donor_unit`` holds the donors' unit rows (NaN where inactive). Coordinates that
    were inactive in the donor are drawn afresh, so a parameter that a changed branch
    activates is a random draw from its range, never a perturbation of a meaningless
    value; then the conditions set the inactive ones to NaN and forbidden rows are drawn
    again. Deterministic given ``words`` and ``step``.
    """
    cond = space._cond
    out = np.array(rows, dtype=np.float64, order="C", copy=True)
    seq = np.random.SeedSequence([*(int(w) for w in words), int(step), 0x5EED])
    fresh_seq, forbid_seq = seq.spawn(2)
    was_off = np.isnan(donor_unit)
    if was_off.any():
        fresh = np.random.default_rng(fresh_seq).random(out.shape)
        out[was_off] = fresh[was_off]
    cond.apply(out, 1)
    if space.forbidden:
        stuck = cond.redraw_forbidden(
            forbid_seq.generate_state(3, dtype=np.uint32), out, MAX_ATTEMPTS, 1
        )
        space._check_stuck(stuck)
    return out


@shared_docs
def pbt(
    train: TrainFn,
    space: Space,
    *,
    population: int,
    interval: float,
    total_budget: float,
    quantile: float = 0.25,
    perturb: float = 0.1,
    resample: float = 0.25,
    sampler: str = "random",
    executor: Executor | None = None,
    rng: RngLike = None,
    storage: str | os.PathLike[str] | None = None,
    study: str | None = None,
    state_codec: StateCodec | None = None,
) -> ScheduleResult:
    """Population-based training (Jaderberg et al. 2017), synchronous.

    ``population`` random configurations train side by side. Every ``interval`` budget
    units all members are ranked by their loss (failed members last, ties by index);
    each member of the bottom ``quantile`` copies the state and configuration of a
    member drawn at random from the top ``quantile`` (exploit) and perturbs the
    configuration (explore) on each parameter's own scaled axis, in unit coordinates:
    with probability ``resample`` a parameter is redrawn from its whole range; otherwise
    a continuous one moves by ``perturb`` of its axis up or down (reflected at the
    bounds), which multiplies a ``LogUniform`` value by ``(high/low)**perturb`` and
    moves an ``InvLogUniform`` value along ``log(1 - x)``; integers, powers of two and
    choices move to a neighbouring value (choices in their declared order). The
    declared bounds are never left. Copied states are deep copies.

    In a conditional space only active parameters are perturbed: when the explore step
    changes a parent so that a branch switches, the parameters it activates are drawn
    at random from their ranges and the ones it deactivates are dropped; a forbidden
    result is drawn again.

    Parameters
    ----------
    {train, space}
    population : int
        Members (>= 2).
    interval : float
        Budget between exploit/explore steps (> 0).
    total_budget : float
        Budget every member is trained to (>= interval).
    quantile : float in (0, 0.5]
        Share of the population replaced at each step (and the share copied from);
        ``min(ceil(quantile * population), population // 2)`` members, at least 1.
    perturb : float in (0, 1]
        Step of a continuous parameter, as a share of its unit (scaled) axis.
    resample : float in [0, 1]
        Chance that a parameter is redrawn instead of perturbed.
    {sampler}
        With ``"coarse-to-fine"`` the explore step learns where the good members
        are: every step's losses teach a coarse-to-fine region (one per step's
        budget, as the other schedulers' rungs), and for a third of the replaced
        members (:data:`REGION_SHARE`, on average) the region of the latest step
        that has one bounds the perturbation of their donor's configuration: on each
        axis where the perturbation lies outside the region, a draw from the region
        takes its place (they still copy the donor's state). The first population
        is drawn at random either way, so the first step is the same with both
        samplers. ``trials.proposal`` and each lineage entry's ``"proposal"`` say
        where a configuration came from (-1: the initial draw or a perturbation;
        ``k``: a perturbation bounded by ``proposal_regions[k]``).
    executor : concurrent.futures.Executor, optional
        Where ``train`` runs (default: the calling thread).
    rng : int, SeedSequence, Generator or None
        Seed of the initial population and of every exploit/explore draw.
    {storage, study, state_codec}
        A resumed PBT continues exactly only with ``state_codec``: without it, a
        member that must go on is retrained from ``state=None`` under its current
        configuration.

    Returns
    -------
    ScheduleResult
        ``trials`` holds one run per member (its final configuration and its whole
        curve); ``lineage`` every exploit; ``ancestry(member)`` the chain of members
        the final weights were trained by.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    >>> def train(config, budget, state):
    ...     done, dist = (0, 1.0) if state is None else state      # epochs, distance
    ...     for _ in range(done, budget):                          # one epoch at a time
    ...         dist *= 0.5 + abs(config["lr"] - 0.01)
    ...     return dist, (budget, dist)
    >>> r = hz.pbt(train, space, population=8, interval=2, total_budget=10, rng=11)
    >>> len(r.trials), len(r.lineage), r.budget_used
    (8, 8, 80.0)
    """
    check_train(train, space)
    settings, plan = pbt_plan(
        population, interval, total_budget, quantile, perturb, resample, sampler
    )
    executor = check_executor(executor)
    where = StudyArgs(rng, storage, study, state_codec)
    return run_method("pbt", pbt_drive, train, space, executor, settings, plan, where)


def pbt_plan(
    population: Any,
    interval: Any,
    total_budget: Any,
    quantile: Any,
    perturb: Any,
    resample: Any,
    sampler: Any = "random",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate PBT's settings: (settings as data, the drive's plan)."""
    population = as_count(population, "population", minimum=2)
    check_size(population, "population", RUN_BYTES, "members")
    step_b = as_real(interval, "interval")
    if step_b <= 0.0:
        msg = f"`interval` must be > 0, but got {interval!r}."
        raise ValueError(msg)
    total = as_real(total_budget, "total_budget")
    if total < step_b:
        msg = (
            "`interval <= total_budget` must hold, but got "
            f"(interval={interval!r}, total_budget={total_budget!r})."
        )
        raise ValueError(msg)
    q = as_real(quantile, "quantile")
    if not 0.0 < q <= 0.5:
        msg = f"`quantile` must be in (0, 0.5], but got {quantile!r}."
        raise ValueError(msg)
    pert = as_real(perturb, "perturb")
    if not 0.0 < pert <= 1.0:
        msg = f"`perturb` must be in (0, 1], but got {perturb!r}."
        raise ValueError(msg)
    res = as_real(resample, "resample")
    if not 0.0 <= res <= 1.0:
        msg = f"`resample` must be in [0, 1], but got {resample!r}."
        raise ValueError(msg)
    check_plan_size(
        math.ceil(min(total / step_b, 2.0**62)) * population,
        "calls of train",
        f"population={population}, interval={interval!r}, "
        f"total_budget={total_budget!r}",
        "raise `interval` or lower `total_budget`",
    )
    n_steps = math.ceil(total / step_b - 1e-12)
    raw = [min((t + 1) * step_b, total) for t in range(n_steps)]
    integral = all(
        isinstance(x, numbers.Integral) and not isinstance(x, bool)
        for x in (interval, total_budget)
    )
    cast = budget_caster(raw, integral)
    settings = {
        "population": population,
        "interval": number(interval),
        "total_budget": number(total_budget),
        "quantile": q,
        "perturb": pert,
        "resample": res,
        "sampler": as_sampler(sampler),
    }
    plan = {
        "population": population,
        "budgets": [cast(b) for b in raw],
        "q": q,
        "pert": pert,
        "res": res,
        "sampler": settings["sampler"],
    }
    return settings, plan


def pbt_drive(
    caller: Caller,
    space: Space,
    gen: np.random.Generator,
    population: int,
    budgets: list[Any],
    q: float,
    pert: float,
    res: float,
    sampler: str = "random",
) -> ScheduleResult:
    """Drive PBT: train the population to each of ``budgets``, exploiting in between."""
    n_steps = len(budgets)
    members = new_runs(space, population, gen, 0)
    words = seed_words(gen)
    axes = explore_axes(space)
    unit = canonical_unit(space, np.array([m.unit for m in members]))
    for m, u in zip(members, unit):
        m.unit = u
    proposer = None
    if sampler == "coarse-to-fine":  # spawns its streams: gen's draws stay the same
        # a step's results are its coarse round (each branch's share of it)
        per_branch = population // branch_count(space)
        first_round = max(2, min(min_points(space), per_branch))
        proposer = Proposer(
            space,
            budgets,
            gen,
            first_round=first_round,
            random_fraction=1.0 - REGION_SHARE,
        )
    version = [0] * population  # how many times each member's configuration changed
    lineage: list[dict[str, Any]] = []
    try:
        for t, budget in enumerate(budgets):
            results = caller.batch(members, budget)
            caller.n_calls += population
            loss = np.empty(population)
            for i, (m, (value, state, err)) in enumerate(zip(members, results)):
                prev_state = m.state
                caller.budget_used += m.record(budget, value, state, err)
                if err is not None:
                    # A failed interval fails that interval; exploit repairs it.
                    m.events.append({"budget": budget, "error": err})
                    m.error = None
                    m.state = prev_state
                loss[i] = value
                if proposer is not None:  # a run is a member under one configuration
                    proposer.observe(t, m.unit, float(value), (i, version[i]))
            if t + 1 == n_steps:
                # The final ranking: the last interval's errors stay on record.
                for m in members:
                    if m.curve and math.isnan(m.curve[-1][1]):
                        m.error = m.events[-1]["error"] if m.events else "failed"
                break
            if space._cond is None:
                bottom, donor, rows = axes.pbt_step(unit, loss, q, pert, res, words, t)
            else:  # no NaN reaches the core; the rows are made valid after the step
                filled = np.where(np.isnan(unit), 0.5, unit)
                bottom, donor, rows = axes.pbt_step(
                    filled, loss, q, pert, res, words, t
                )
                rows = conditional_rows(space, unit[donor], rows, words, t)
            source = np.full(len(bottom), -1, dtype=np.int64)
            if proposer is not None:
                rows, source = _from_regions(proposer, rows, space)
            donor_configs = {k: dict(members[k].config) for k in set(donor.tolist())}
            new_configs = space.from_unit(rows)  # one call for every replaced member
            for i, (j, k, row) in enumerate(zip(bottom.tolist(), donor.tolist(), rows)):
                old = dict(members[j].config)
                new_config = new_configs.row(i)
                members[j].state = copy.deepcopy(members[k].state)
                members[j].config = new_config
                members[j].unit = row.copy()
                members[j].budget = members[k].budget
                members[j].proposal = int(source[i])
                unit[j] = row
                version[j] += 1
                lineage.append(
                    {
                        "budget": budget,
                        "member": j,
                        "donor": k,
                        "loss": float(loss[j]),
                        "donor_loss": float(loss[k]),
                        "old": old,
                        "donor_config": donor_configs[k],
                        "new": new_config,
                        "proposal": int(source[i]),
                    }
                )
        caller.settle(members)
    except Stop:
        pass
    return make_result(
        "pbt", space, caller, members, lineage, sampler=sampler, proposer=proposer
    )


def _from_regions(
    proposer: Proposer, rows: np.ndarray, space: Space
) -> tuple[np.ndarray, np.ndarray]:
    """Bound a share of the explored ``rows`` by the proposer's region.

    For each row the proposer chooses, the region's draw replaces the row's values
    on the axes where the row (the donor's perturbation) lies outside the region's
    box, and the donor's perturbed values stay on the others: what survived the
    exploit steps (values whose worth shows only late, such as width or
    learning-rate decay) is kept where the region allows it, and what the region
    rules out is drawn inside it. A mixed row outside the region (a choice option
    the region excludes, an integer cell it cuts) takes the region's draw whole, and
    so does every chosen row on a space with conditions or forbidden combinations
    (mixing two rows' values could break a condition or land on a forbidden one).
    Returns the rows and, for each, the index of the region that bounded it (-1: the
    explore step's perturbation alone). While no step has a region, the rows are
    unchanged.
    """
    source = np.full(len(rows), -1, dtype=np.int64)
    keep, drawn = proposer.choose(len(rows))
    if not drawn:
        return rows, source
    rows = np.array(rows, dtype=np.float64, copy=True)
    at = np.flatnonzero(~keep)
    region_rows = np.array([u for u, _, _ in drawn])
    pids = np.array([pid for _, _, pid in drawn], dtype=np.int64)
    if space._cond is None:
        mixed = rows[at]
        for pid in np.unique(pids).tolist():
            mine = np.flatnonzero(pids == pid)
            region = proposer.regions[pid].region
            part = mixed[mine]
            outside = (part < region.lo) | (part > region.hi)
            part = np.where(outside, region_rows[mine], part)
            whole = ~region.contains(part)
            part[whole] = region_rows[mine][whole]
            mixed[mine] = part
        region_rows = mixed
    rows[at] = region_rows
    source[at] = pids
    return rows, source
