"""Asynchronous successive halving (ASHA): no worker waits for a rung to fill.

Whenever a worker is free it gets the promotion that is due, highest rung first, or a
new configuration (:class:`Asha` decides, with the rungs kept by the compiled core);
:func:`asha` keeps ``n_workers`` calls of ``train`` in flight until a limit is reached.
Its decisions are the same for the same seed when results arrive in the same order.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import Any

import numpy as np

from .. import _core
from .._trial import outcome, submit
from .._validation import as_count, as_real
from ..executors import max_workers
from ..space import Space
from ..typing import RngLike
from ._method import StudyArgs, run_method
from ._runs import (
    Caller,
    Run,
    StateCodec,
    Stop,
    TrainFn,
    as_budgets,
    as_eta,
    budget_caster,
    check_executor,
    check_train,
    make_result,
    new_runs,
    number,
    shared_docs,
    train_call,
    unpack,
)
from .proposals import Proposer, as_sampler
from .results import ScheduleResult

__all__ = ["asha"]


def _max_workers(executor: Executor | None, n_workers: int | None) -> int:
    if n_workers is not None:
        return as_count(n_workers, "n_workers", minimum=1)
    if executor is None:
        return 1
    guess = max_workers(executor)
    if guess is not None:
        return guess
    msg = (
        "`n_workers` must be given for an executor that does not say how many workers "
        f"it has, but got n_workers=None for {type(executor).__name__}."
    )
    raise ValueError(msg)


@shared_docs
def asha(
    train: TrainFn,
    space: Space,
    *,
    min_budget: float,
    max_budget: float,
    eta: int = 3,
    n_trials: int | None = None,
    time_limit: float | None = None,
    budget_limit: float | None = None,
    executor: Executor | None = None,
    n_workers: int | None = None,
    sampler: str = "random",
    rng: RngLike = None,
    storage: str | os.PathLike[str] | None = None,
    study: str | None = None,
    state_codec: StateCodec | None = None,
) -> ScheduleResult:
    """Asynchronous successive halving (ASHA, Li et al. 2020).

    Rungs are those of :func:`successive_halving`. Whenever a worker is free it gets the
    promotion that is due, highest rung first (a run among the best
    ``floor(|rung| / eta)`` results of its rung that was not promoted yet); otherwise a
    new configuration. No worker waits for a rung to fill.

    Parameters
    ----------
    {train, space}
    min_budget, max_budget : float
        Budgets of the bottom and top rungs (``0 < min <= max``).
    eta : int
        Promotion rate (>= 2).
    n_trials : int, optional
        New configurations to start, at most.
    time_limit : float, optional
        Seconds after which nothing new is started (running calls are waited for).
    budget_limit : float, optional
        Budget units to train in all, at most (summed over calls, each counting the
        increment it trains): nothing is started once the next call would go past it,
        so ASHA can be compared with another method at equal total epochs. At least
        one of ``n_trials``, ``time_limit`` and ``budget_limit`` must be given.
    executor : concurrent.futures.Executor, optional
        Where ``train`` runs (default: the calling thread, one call at a time).
    n_workers : int, optional
        Calls kept in flight (default: the executor's ``max_workers``).
    {sampler}
        A new configuration is proposed when a worker takes it, from every result
        reported by then.
    rng : int, SeedSequence, Generator or None
        Seed of the configurations; with results arriving in the same order, the same
        seed gives the same decisions.
    {storage, study, state_codec}
        A resumed ASHA replays the stored results in the order they arrived, re-runs
        the calls that were in flight, then goes on; ``time_limit`` counts from the
        resume.

    Returns
    -------
    ScheduleResult

    Examples
    --------
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    >>> def train(config, budget, state):
    ...     return abs(config["lr"] - 0.01) + 1.0 / budget, budget
    >>> r = hz.asha(train, space, min_budget=1, max_budget=27, n_trials=81, rng=5)
    >>> len(r.trials), int(r.trials.budget.max())
    (81, 27)
    >>> r = hz.asha(train, space, min_budget=1, max_budget=27, budget_limit=200, rng=5)
    >>> r.budget_used <= 200
    True
    """
    check_train(train, space)
    if n_trials is None and time_limit is None and budget_limit is None:
        msg = (
            "one of `n_trials`, `time_limit` and `budget_limit` must be given, but "
            "all are None."
        )
        raise ValueError(msg)
    settings, plan = asha_plan(
        min_budget, max_budget, eta, n_trials, budget_limit, sampler
    )
    executor = check_executor(executor)
    seconds = math.inf
    if time_limit is not None:
        seconds = as_real(time_limit, "time_limit")
        if seconds <= 0.0:
            msg = f"`time_limit` must be > 0, but got {time_limit!r}."
            raise ValueError(msg)
    workers = _max_workers(executor, n_workers)
    where = StudyArgs(rng, storage, study, state_codec)
    return run_method(
        "asha",
        asha_drive,
        train,
        space,
        executor,
        settings,
        plan,
        where,
        workers=workers,
        seconds=seconds,
    )


def asha_plan(
    min_budget: Any,
    max_budget: Any,
    eta: Any,
    n_trials: Any,
    budget_limit: Any = None,
    sampler: Any = "random",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate ASHA's settings: (settings as data, the drive's plan)."""
    eta = as_eta(eta)
    lo, hi, integral = as_budgets(min_budget, max_budget)
    limit_n = None if n_trials is None else as_count(n_trials, "n_trials", minimum=1)
    limit_b = None
    if budget_limit is not None:
        limit_b = as_real(budget_limit, "budget_limit")
        if not limit_b > 0.0 or not math.isfinite(limit_b):
            msg = f"`budget_limit` must be > 0 and finite, but got {budget_limit!r}."
            raise ValueError(msg)
    _, bs = _core.schedule.sh_rungs(1, lo, hi, eta)
    cast = budget_caster(bs.tolist(), integral)
    settings = {
        "min_budget": number(min_budget),
        "max_budget": number(max_budget),
        "eta": eta,
        "n_trials": limit_n,
        "budget_limit": None if limit_b is None else number(budget_limit),
        "sampler": as_sampler(sampler),
    }
    plan = {
        "budgets": [cast(b) for b in bs.tolist()],
        "eta": eta,
        "limit_n": limit_n,
        "limit_b": limit_b,
        "sampler": settings["sampler"],
    }
    return settings, plan


class Asha:
    """ASHA's decisions: the rungs (in the core), the runs, and what to start next."""

    def __init__(
        self,
        space: Space,
        budgets: list[Any],
        eta: int,
        limit_n: int | None,
        gen: np.random.Generator,
        limit_b: float | None = None,
        proposer: Proposer | None = None,
    ) -> None:
        self.space, self.budgets, self.limit_n, self.gen = space, budgets, limit_n, gen
        self.limit_b = limit_b
        self.proposer = proposer
        self.planned = 0.0  # budget units of the calls started so far
        self.exhausted = False  # the budget limit stopped it: nothing more starts
        self.core = _core.schedule.AshaRungs(len(budgets), eta)
        self.runs: list[Run] = []
        self.pool: list[Run] = []  # drawn, not yet started
        self.chunk = 256 if limit_n is None else min(limit_n, 256)

    def next_job(self, deadline: float) -> tuple[Run, int] | None:
        """Return the due promotion (highest rung first), a new run, or None: stop."""
        if self.exhausted or time.monotonic() >= deadline:
            return None
        due = self.core.next_promotion()
        if due is not None:
            rid, rung = due
            step = float(self.budgets[rung + 1]) - float(self.budgets[rung])
            if not self._afford(step):
                return None
            return self.runs[rid], rung + 1
        if self.limit_n is not None and len(self.runs) >= self.limit_n:
            return None
        if not self._afford(float(self.budgets[0])):
            return None
        if self.proposer is None:
            run = self._pop_random()
        else:
            ((unit, config, pid),) = self.proposer.propose(1, self._draw_random)
            run = Run(id=len(self.runs), unit=unit, config=config, proposal=pid)
        self.runs.append(run)
        return run, 0

    def _pop_random(self) -> Run:
        """Return the next random configuration (drawn ``chunk`` at a time)."""
        if not self.pool:
            k = self.chunk
            if self.limit_n is not None:
                k = min(k, self.limit_n - len(self.runs))
            self.pool.extend(new_runs(self.space, k, self.gen, 0)[::-1])
        run = self.pool.pop()
        run.id = len(self.runs)
        return run

    def _draw_random(self, k: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
        runs = [self._pop_random() for _ in range(k)]
        unit = np.array([r.unit for r in runs]).reshape(k, self.space.d)
        return unit, [r.config for r in runs]

    def _afford(self, step: float) -> bool:
        """Count ``step`` as planned if it fits the budget limit; else stop for good."""
        if self.limit_b is not None and self.planned + step > self.limit_b * (
            1 + 1e-12
        ):
            self.exhausted = True
            return False
        self.planned += step
        return True

    def finish(
        self,
        caller: Caller,
        run: Run,
        rung: int,
        result: tuple[float, Any, str | None],
    ) -> None:
        loss, state, err = result
        caller.budget_used += run.record(self.budgets[rung], loss, state, err)
        caller.n_calls += 1
        run.rung = rung
        self.core.report(run.id, rung, loss)
        if self.proposer is not None and err is None:
            self.proposer.observe(rung, run.unit, loss, run.id)


def _asha_loop(
    caller: Caller,
    drive: Asha,
    workers: int,
    deadline: float,
    pending: Sequence[tuple[int, Run, int]],
    seq: int,
) -> None:
    """Run ASHA: keep ``workers`` calls in flight until nothing is left to start.

    ``pending`` holds calls (start number, run, rung) started before a resume and never
    reported: they run first. ``seq`` counts the calls started so far.
    """
    todo = list(pending)

    def take() -> tuple[int, Run, int] | None:
        nonlocal seq
        if todo:
            return todo.pop(0)
        job = drive.next_job(deadline)
        if job is None:
            return None
        seq += 1
        return seq - 1, job[0], job[1]

    def report(s: int, run: Run, rung: int, out: Any) -> None:
        caller.check(out)
        result = unpack(out)
        drive.finish(caller, run, rung, result)
        caller.asha_done(s, seq, run, rung, result)

    if caller.executor is None:
        while (job := take()) is not None:
            s, run, rung = job
            out = train_call(
                caller.train,
                run.config,
                drive.budgets[rung],
                caller.live_state(run.state),
            )
            report(s, run, rung, out)
        return
    executor = caller.executor
    in_flight: dict[Future[Any], tuple[int, Run, int]] = {}
    while True:
        while len(in_flight) < workers and (job := take()) is not None:
            s, run, rung = job
            f = submit(
                executor,
                train_call,
                caller.train,
                run.config,
                drive.budgets[rung],
                caller.live_state(run.state),
            )
            in_flight[f] = (s, run, rung)
        if not in_flight:
            break
        done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
        # Several finished at once: report them in the order they were started.
        for f in sorted(done, key=lambda f: in_flight[f][0]):
            s, run, rung = in_flight.pop(f)
            report(s, run, rung, outcome(f))


def asha_drive(
    caller: Caller,
    space: Space,
    gen: np.random.Generator,
    budgets: list[Any],
    eta: int,
    limit_n: int | None,
    limit_b: float | None = None,
    sampler: str = "random",
    workers: int = 1,
    seconds: float = math.inf,
) -> ScheduleResult:
    """Drive ASHA: replay what the caller holds, then run until nothing starts."""
    proposer = None
    if sampler == "coarse-to-fine":
        proposer = Proposer(space, budgets, gen, censored=True)
    drive = Asha(space, budgets, eta, limit_n, gen, limit_b, proposer)
    # time_limit counts from here: after the study is open (and on resume)
    deadline = time.monotonic() + seconds
    try:
        pending, started = caller.asha_resume(drive)
        _asha_loop(caller, drive, workers, deadline, pending, started)
    except Stop:
        pass
    return make_result(
        "asha", space, caller, drive.runs, sampler=sampler, proposer=proposer
    )
