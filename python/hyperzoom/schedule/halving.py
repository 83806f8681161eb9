"""Synchronous halving: successive halving, and Hyperband's brackets of it.

Each rung trains its runs at once (on the executor, gathered in index order) and keeps
the best ``1/eta`` for the next rung, so the decisions never depend on the order in
which results arrive. :func:`hyperband_plan` says what Hyperband runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from .. import _core
from .._validation import as_count, check_size
from ..space import Space
from ..typing import RngLike
from ._method import StudyArgs, run_method
from ._runs import (
    RUN_BYTES,
    Caller,
    Run,
    StateCodec,
    Stop,
    TrainFn,
    as_budgets,
    as_eta,
    budget_caster,
    check_executor,
    check_plan_size,
    check_train,
    make_result,
    new_runs,
    number,
    shared_docs,
)
from .proposals import Proposer, as_sampler
from .results import ScheduleResult

__all__ = ["hyperband", "hyperband_plan", "successive_halving"]


def hyperband_plan(
    *, max_budget: float, min_budget: float = 1, eta: int = 3
) -> list[list[tuple[int, Any]]]:
    """Return Hyperband's brackets: for each, the ``(runs, budget)`` of every rung.

    Bracket ``s = s_max, ..., 0`` (``s_max`` the number of times ``eta`` fits in
    ``max_budget / min_budget``) starts ``ceil((s_max + 1) eta^s / (s + 1))`` runs at
    budget ``max_budget / eta^s`` and keeps the best ``1/eta`` at each rung (Li et al.,
    "Hyperband", JMLR 2018, Table 1).

    Examples
    --------
    >>> import hyperzoom as hz
    >>> for bracket in hz.hyperband_plan(max_budget=81, eta=3):
    ...     print(bracket)
    [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)]
    [(34, 3), (11, 9), (3, 27), (1, 81)]
    [(15, 9), (5, 27), (1, 81)]
    [(8, 27), (2, 81)]
    [(5, 81)]
    """
    eta = as_eta(eta)
    lo, hi, integral = as_budgets(min_budget, max_budget)
    raw = _core.schedule.hyperband_brackets(lo, hi, eta)
    check_plan_size(
        sum(int(ns[0]) for ns, _ in raw),
        "runs",
        f"max_budget={max_budget!r}, min_budget={min_budget!r}, eta={eta}",
        "raise `min_budget` (or `eta`), or lower `max_budget`",
    )
    cast = budget_caster([b for _, bs in raw for b in bs.tolist()], integral)
    return [
        [(int(n), cast(b)) for n, b in zip(ns.tolist(), bs.tolist())] for ns, bs in raw
    ]


def _run_bracket(
    caller: Caller,
    runs: list[Run],
    rungs: list[tuple[int, Any]],
    proposer: Proposer | None = None,
    first_level: int = 0,
) -> None:
    """Run synchronous successive halving of ``runs`` through ``rungs``.

    Rung ``i`` is level ``first_level + i`` of ``proposer``, which observes its results
    in run order.
    """
    alive = list(runs)
    for i, (_, budget) in enumerate(rungs):
        results = caller.batch(alive, budget, i)
        caller.n_calls += len(alive)
        for r, (loss, state, err) in zip(alive, results):
            caller.budget_used += r.record(budget, loss, state, err)
            r.rung = i
            if proposer is not None and err is None:
                proposer.observe(first_level + i, r.unit, loss, r.id)
        if i + 1 == len(rungs):
            break
        keep = rungs[i + 1][0]
        losses = np.array([r.curve[-1][1] for r in alive], dtype=np.float64)
        ids = np.array([r.id for r in alive], dtype=np.int64)
        top = _core.schedule.promote_top(losses, ids, keep)
        survivors = [alive[int(j)] for j in top]
        chosen = {r.id for r in survivors}
        caller.drop([r for r in alive if r.id not in chosen])
        # Survivors continue in id order, so the next rung's calls are in a fixed order.
        alive = sorted(survivors, key=lambda r: r.id)
        if not alive:
            break
    caller.settle(runs)


@shared_docs
def successive_halving(
    train: TrainFn,
    space: Space,
    *,
    n: int,
    min_budget: float,
    max_budget: float,
    eta: int = 3,
    sampler: str = "random",
    rng: RngLike = None,
    executor: Executor | None = None,
    storage: str | os.PathLike[str] | None = None,
    study: str | None = None,
    state_codec: StateCodec | None = None,
) -> ScheduleResult:
    """Train ``n`` configurations, keeping the best ``1/eta`` at every rung.

    Rung ``i`` trains the ``floor(n / eta^i)`` best runs of rung ``i - 1`` (ties by
    id) up to ``max_budget / eta^(s - i)``, where ``s`` is the number of times ``eta``
    fits in ``max_budget / min_budget``: the top rung trains to exactly
    ``max_budget``. Runs resume from their state (see :mod:`hyperzoom.schedule`).

    Parameters
    ----------
    {train, space}
    n : int
        Configurations in the first rung (>= 1).
    min_budget, max_budget : float
        Smallest first-rung budget and the top rung's budget (``0 < min <= max``).
    eta : int
        Halving rate (>= 2): one in ``eta`` runs goes on to the next rung.
    {sampler}
        Successive halving draws its one bracket before any result, so both samplers
        draw the same configurations here; Hyperband's later brackets and ASHA learn.
    rng : int, SeedSequence, Generator or None
        Seed of the configurations.
    executor : concurrent.futures.Executor, optional
        Where ``train`` runs (default: the calling thread).
    {storage, study, state_codec}

    Returns
    -------
    ScheduleResult

    Examples
    --------
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    >>> def train(config, budget, state):    # state: epochs trained so far
    ...     return abs(config["lr"] - 0.01) + 1.0 / budget, budget
    >>> r = hz.successive_halving(train, space, n=27, min_budget=1, max_budget=27, rng=7)
    >>> [len(r.trials), r.n_calls, r.budget_used]
    [27, 40, 81.0]
    """
    check_train(train, space)
    settings, plan = sh_plan(n, min_budget, max_budget, eta, sampler)
    executor = check_executor(executor)
    where = StudyArgs(rng, storage, study, state_codec)
    return run_method(
        "successive_halving", sh_drive, train, space, executor, settings, plan, where
    )


def sh_plan(
    n: Any, min_budget: Any, max_budget: Any, eta: Any, sampler: Any = "random"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate successive halving's settings: (settings as data, the drive's plan)."""
    n = check_size(as_count(n, "n", minimum=1), "n", RUN_BYTES, "runs")
    eta = as_eta(eta)
    lo, hi, integral = as_budgets(min_budget, max_budget)
    ns, bs = _core.schedule.sh_rungs(n, lo, hi, eta)
    cast = budget_caster(bs.tolist(), integral)
    rungs = [(int(k), cast(b)) for k, b in zip(ns.tolist(), bs.tolist())]
    settings = {
        "n": n,
        "min_budget": number(min_budget),
        "max_budget": number(max_budget),
        "eta": eta,
        "sampler": as_sampler(sampler),
    }
    return settings, {"n": n, "rungs": rungs, "sampler": settings["sampler"]}


def sh_drive(
    caller: Caller,
    space: Space,
    gen: np.random.Generator,
    n: int,
    rungs: list[tuple[int, Any]],
    sampler: str = "random",
) -> ScheduleResult:
    """Drive successive halving of ``n`` new runs through ``rungs``."""
    proposer = None
    if sampler == "coarse-to-fine":
        proposer = Proposer(space, [b for _, b in rungs], gen)
    runs = new_runs(space, n, gen, 0, proposer=proposer)
    try:
        _run_bracket(caller, runs, rungs, proposer)
    except Stop:
        pass
    return make_result(
        "successive_halving", space, caller, runs, sampler=sampler, proposer=proposer
    )


@shared_docs
def hyperband(
    train: TrainFn,
    space: Space,
    *,
    max_budget: float,
    min_budget: float = 1,
    eta: int = 3,
    brackets: Sequence[int] | None = None,
    passes: int = 1,
    sampler: str = "random",
    rng: RngLike = None,
    executor: Executor | None = None,
    storage: str | os.PathLike[str] | None = None,
    study: str | None = None,
    state_codec: StateCodec | None = None,
) -> ScheduleResult:
    """Hyperband: successive halving in every bracket of :func:`hyperband_plan`.

    Brackets run one after another, most aggressive first; within a bracket each rung
    runs at once on ``executor`` and is gathered in index order. Bracket ``b`` draws its
    configurations from ``rng`` after bracket ``b - 1``; with
    ``sampler="coarse-to-fine"`` from what brackets ``0`` to ``b - 1`` found (BOHB's
    scheme with a coarse-to-fine proposer).

    Parameters
    ----------
    {train, space}
    max_budget : float
        Budget of every top rung (``R`` in Li et al.).
    min_budget : float
        Smallest budget of any rung (default 1).
    eta : int
        Halving rate (>= 2).
    brackets : sequence of int, optional
        Indices into the plan of the brackets to run, in order (default: all). A
        bracket may repeat.
    passes : int
        How many times to run ``brackets`` (default 1): ``passes=3`` is
        ``brackets=list(range(len(plan))) * 3``. With ``sampler="coarse-to-fine"``
        each pass proposes from everything the passes before it found (BOHB's
        iterations); with ``"random"`` the passes draw independently of each other.
        The study stores the brackets run, so a stored study resumes either way.
    {sampler}
    rng : int, SeedSequence, Generator or None
        Seed of the configurations.
    executor : concurrent.futures.Executor, optional
        Where ``train`` runs (default: the calling thread).
    {storage, study, state_codec}

    Returns
    -------
    ScheduleResult
        ``trials.bracket`` says which bracket each run belonged to.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    >>> def train(config, budget, state):
    ...     return abs(config["lr"] - 0.01) + 1.0 / budget, budget
    >>> r = hz.hyperband(train, space, max_budget=81, eta=3, rng=20241128)
    >>> len(r.trials), r.best_value < 0.05
    (143, True)

    Three passes, each proposing from what the passes before it found:

    >>> r = hz.hyperband(
    ...     train, space, max_budget=81, passes=3, sampler="coarse-to-fine", rng=7
    ... )
    >>> len(r.trials), bool((r.trials.proposal >= 0).any())
    (429, True)
    """
    check_train(train, space)
    settings, plan = hb_plan(max_budget, min_budget, eta, brackets, sampler, passes)
    executor = check_executor(executor)
    where = StudyArgs(rng, storage, study, state_codec)
    return run_method(
        "hyperband", hb_drive, train, space, executor, settings, plan, where
    )


def hb_plan(
    max_budget: Any,
    min_budget: Any,
    eta: Any,
    brackets: Any,
    sampler: Any = "random",
    passes: Any = 1,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate Hyperband's settings: (settings as data, the drive's plan).

    ``passes`` repeats ``brackets``; the settings store the brackets it makes.
    """
    passes = as_count(passes, "passes", minimum=1)
    plan = hyperband_plan(max_budget=max_budget, min_budget=min_budget, eta=eta)
    if brackets is None:
        chosen = list(range(len(plan)))
    else:
        if isinstance(brackets, (str, bytes)) or not hasattr(brackets, "__iter__"):
            msg = f"`brackets` must be a sequence of ints, but got {brackets!r}."
            raise TypeError(msg)
        chosen = [as_count(b, "brackets", minimum=0) for b in brackets]
        if not chosen:
            msg = (
                "`brackets` must name at least one bracket of the plan's "
                f"{len(plan)} (or be None for all), but got {brackets!r}."
            )
            raise ValueError(msg)
        bad = [b for b in chosen if b >= len(plan)]
        if bad:
            msg = f"`brackets` must index the plan's {len(plan)} brackets, but got {bad!r}."
            raise ValueError(msg)
    if passes > 1:
        check_plan_size(
            passes * sum(plan[b][0][0] for b in chosen),
            "runs",
            f"passes={passes} of brackets {chosen!r} (max_budget={max_budget!r}, "
            f"min_budget={min_budget!r}, eta={eta!r})",
            "lower `passes`",
        )
        chosen = chosen * passes
    settings = {
        "max_budget": number(max_budget),
        "min_budget": number(min_budget),
        "eta": as_eta(eta),
        # every bracket in order is the same schedule as the default
        "brackets": None if chosen == list(range(len(plan))) else chosen,
        "sampler": as_sampler(sampler),
    }
    return settings, {"plan": plan, "chosen": chosen, "sampler": settings["sampler"]}


def hb_drive(
    caller: Caller,
    space: Space,
    gen: np.random.Generator,
    plan: list[list[tuple[int, Any]]],
    chosen: list[int],
    sampler: str = "random",
) -> ScheduleResult:
    """Drive Hyperband: the ``chosen`` brackets of ``plan``, one after another.

    Bracket ``b`` starts at level ``b`` of the budgets of bracket 0 (which has them all).
    """
    proposer = None
    if sampler == "coarse-to-fine":
        proposer = Proposer(space, [b for _, b in plan[0]], gen)
    runs: list[Run] = []
    try:
        for b in chosen:
            rungs = plan[b]
            new = new_runs(
                space, rungs[0][0], gen, len(runs), bracket=b, proposer=proposer
            )
            runs.extend(new)
            _run_bracket(caller, new, rungs, proposer, first_level=b)
    except Stop:
        pass
    return make_result(
        "hyperband", space, caller, runs, sampler=sampler, proposer=proposer
    )
