"""Scheduling training runs: successive halving, Hyperband, ASHA and PBT.

The training contract
---------------------
Every scheduler calls the user's training function as::

    loss, state = train(config, budget, state)

``config`` is a plain ``dict`` (one value per parameter), ``budget`` the *total* amount
of training the run must have had when the call returns, in the user's own unit
(epochs, steps, samples), and ``state`` what the previous call of this run returned
(``None`` on the first call). ``train`` continues from ``state`` up to ``budget``,
returns the loss at that point and a picklable state (weights, optimiser moments, the
epoch counter). Schedulers resume a run instead of restarting it; the budget a run
consumes is counted as the difference between consecutive budgets. Budgets are ``int``
when ``min_budget`` and ``max_budget`` are integers and every budget of the plan is
whole (``max_budget=81, eta=3`` gives 1, 3, 9, 27, 81), ``float`` otherwise.

A ``train`` that raises, or returns a non-finite loss, fails its run only: the run is
marked ``"failed"`` with the error text, is never promoted, and the schedule goes on.

No generator form is offered (``def train(config): ... yield loss``): a generator
cannot be pickled, so it cannot run in another process nor be resumed by a different
worker, and it would make "resume from ``state``" true only in-process. A loop that
trains epoch by epoch in the user's own code is what :class:`hyperzoom.Babysitter` is
for.

Executors and reproducibility
-----------------------------
``executor`` is any :class:`concurrent.futures.Executor` (threads, processes), a
``dask.distributed.Client`` or :func:`hyperzoom.executors.ray` (see
:mod:`hyperzoom.executors`); ``None`` runs every call in the calling thread. Successive halving,
Hyperband and PBT are synchronous: a rung (or a PBT interval) is submitted at once and
gathered in index order, so results never depend on completion order. ASHA is
asynchronous; its decisions are the same for the same seed when results arrive in the
same order. The bookkeeping (rung tables, promotions, ASHA's due promotions, PBT's
exploit/explore draws) is done by the compiled core.

Stored schedules
----------------
With ``storage="study.db"`` (and ``study="name"``) every call of ``train`` is committed
to an SQLite study file as it completes (see :mod:`hyperzoom.storage`; one file holds
searches and schedules side by side). Started again with the same study, the schedule
is rebuilt from the stored settings and seed and makes the same decisions; every call
the file holds is answered from it (its run, budget and configuration checked bit for
bit) and only the others run: calls in flight when the process died run again, and
nothing completed is lost or run twice. For the synchronous methods and for ASHA in
one thread, the final runs equal those of an uninterrupted run with the same seed;
ASHA on a pool replays its results in the order they arrived, so its stored part is
exact and the rest depends on arrival order as always.

The file holds data, never code, so states are stored only with a codec:
``state_codec="json"`` for states that are JSON data (lists, dicts, numbers, strings:
the epoch counter and the path of a checkpoint the training function wrote, say), or
``state_codec=(encode, decode)`` for bytes of the user's choice (``numpy.save`` of the
weights; ``pickle`` if you trust whoever will resume the file). Only the latest state
of each run still in play is kept. Without a codec, a run a resumed schedule must
continue is trained again from ``state=None`` up to its next budget, which gives the
same loss when ``train`` is deterministic; PBT, whose members inherit other members'
weights, resumes exactly only with a codec. ``hz.load_study`` replays a stored schedule
into its :class:`ScheduleResult` without running or decoding anything.

An error of ``train`` fails its run and is stored. A call the executor could not run
at all (a process pool broken by a dying worker, a ``train`` it cannot pickle) is not:
the calls that completed are committed and :class:`hyperzoom.executors.ExecutorError`
is raised, so that the next run resumes with those calls run again. Without
``storage=`` such a call fails its run.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, as_completed, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _core
from ._optional import require
from ._rng import as_generator, seed_words
from ._table import ConfigTable, best_text
from ._trial import Raised, error_text, outcome, scalar_value
from ._validation import as_count, as_real, check_size, memory_limit
from .executors import as_executor, max_workers
from .space import Choice, Space
from .typing import RngLike

__all__ = [
    "ScheduleResult",
    "ScheduleTrials",
    "asha",
    "hyperband",
    "hyperband_plan",
    "pbt",
    "successive_halving",
]

TrainFn = Callable[[dict[str, Any], Any, Any], Any]
#: ``"json"`` or a pair ``(encode(state) -> bytes, decode(bytes) -> state)``.
StateCodec = str | tuple[Callable[[Any], bytes], Callable[[bytes], Any]]


# ---------------------------------------------------------------------------------------
# validation
#: What one run (its config, curve and bookkeeping) costs in memory, about: plans
#: that need more runs (or calls) than memory holds are refused before anything runs.
_RUN_BYTES = 1024


def _check_plan_size(count: int, what: str, settings: str, fix: str) -> None:
    limit = memory_limit() // _RUN_BYTES
    if count > limit:
        msg = (
            f"the plan of {settings} makes {count:,} {what}, more than this machine's "
            f"memory can hold ({limit:,}); {fix}."
        )
        raise ValueError(msg)


def _as_eta(eta: Any) -> int:
    return as_count(eta, "eta", minimum=2)


def _as_budgets(min_budget: Any, max_budget: Any) -> tuple[float, float, bool]:
    lo = as_real(min_budget, "min_budget")
    hi = as_real(max_budget, "max_budget")
    if lo <= 0.0:
        msg = f"`min_budget` must be > 0, but got {min_budget!r}."
        raise ValueError(msg)
    if lo > hi:
        msg = (
            "`min_budget <= max_budget` must hold, but got "
            f"(min_budget={min_budget!r}, max_budget={max_budget!r})."
        )
        raise ValueError(msg)
    integral = all(
        isinstance(b, numbers.Integral) and not isinstance(b, bool)
        for b in (min_budget, max_budget)
    )
    return lo, hi, integral


def _check_train(train: Any, space: Any) -> None:
    if not callable(train):
        msg = f"`train` must be callable, but got {train!r}."
        raise TypeError(msg)
    if not isinstance(space, Space):
        msg = f"`space` must be a hyperzoom Space, but got {type(space).__name__}."
        raise TypeError(msg)


def _check_executor(executor: Any) -> Executor | None:
    executor = as_executor(executor)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        msg = f"`executor` must be a concurrent.futures.Executor or None, but got {executor!r}."
        raise TypeError(msg)
    return executor  # type: ignore[no-any-return]


def _budget_caster(budgets: Sequence[float], integral: bool) -> Callable[[float], Any]:
    whole = integral and all(float(b).is_integer() for b in budgets)
    if whole:
        return lambda b: round(b)
    return float


# ---------------------------------------------------------------------------------------
# calling train
def _train_call(train: TrainFn, config: dict[str, Any], budget: Any, state: Any) -> Any:
    """Call ``train`` (module level, so process executors can pickle it).

    An error of ``train`` comes back as a value (its text, computed where it ran), so
    that anything a future raises is known to be the executor's.
    """
    try:
        return train(config, budget, state)
    except Exception as exc:  # noqa: BLE001 - a failing run fails alone
        return Raised(error_text(exc))


def _unpack(out: Any) -> tuple[float, Any, str | None]:
    if isinstance(out, Raised):
        return math.nan, None, out.text
    if isinstance(out, BaseException):  # the executor's: without a study, the run fails
        return math.nan, None, error_text(out)
    if not (isinstance(out, tuple) and len(out) == 2):
        return math.nan, None, f"train returned {out!r}, not a (loss, state) pair"
    loss, state = out
    value, text = scalar_value(loss, "train")
    if text is not None:
        # "train returned loss 10**400 ..., too large for a float": the run fails alone
        return math.nan, state, text.replace("train returned", "train returned loss", 1)
    return value, state, None


def _run_calls(
    train: TrainFn,
    calls: Sequence[tuple[dict[str, Any], Any, Any]],
    executor: Executor | None,
    on_done: Callable[[int, Any], None] | None = None,
) -> list[tuple[float, Any, str | None]]:
    """Run ``calls`` (config, budget, state) and return (loss, state, error) in order.

    ``on_done(i, out)``, when given, is called with each call's raw outcome as it
    completes (in completion order: a study file commits each result at once).
    """
    results: list[Any] = [None] * len(calls)
    if executor is None:
        for i, (config, budget, state) in enumerate(calls):
            out = _train_call(train, config, budget, state)
            results[i] = _unpack(out)
            if on_done is not None:
                on_done(i, out)
        return results
    futures = {executor.submit(_train_call, train, *c): i for i, c in enumerate(calls)}
    if on_done is None:
        # index order: never completion order
        return [_unpack(outcome(f)) for f in futures]
    for f in as_completed(futures):
        i = futures[f]
        out = outcome(f)
        results[i] = _unpack(out)
        on_done(i, out)
    return results


# ---------------------------------------------------------------------------------------
# runs and results
@dataclass
class _Run:
    id: int
    unit: np.ndarray
    config: dict[str, Any]
    bracket: int = 0
    rung: int = -1
    budget: float = 0.0
    curve: list[tuple[float, float]] = field(default_factory=list)
    error: str | None = None
    state: Any = None
    events: list[dict[str, Any]] = field(default_factory=list)

    def record(self, budget: Any, loss: float, state: Any, error: str | None) -> float:
        """Store one call's outcome; return the budget units it consumed."""
        used = max(float(budget) - self.budget, 0.0)
        self.budget = float(budget)
        self.curve.append((float(budget), loss))
        if error is not None:
            self.error = error
            self.state = None
        else:
            self.state = state
        return used

    @property
    def failed(self) -> bool:
        return self.error is not None


class ScheduleTrials(ConfigTable):
    """Every run of a schedule, column-wise, with its learning curve.

    Attributes
    ----------
    id : ndarray of int64
        Run ids (their order of creation).
    unit : ndarray, shape (n, d)
        Unit coordinates of each run's (final) configuration.
    value : ndarray of float64
        The loss at the run's last budget (NaN for failed runs).
    budget : ndarray of float64
        The last budget each run was trained to.
    status : ndarray of str
        ``"ok"`` or ``"failed"``.
    error : ndarray of object
        The error text of failed runs, else None.
    bracket, rung : ndarray of int64
        The Hyperband bracket of each run (0 elsewhere) and the highest rung it
        reached (-1 for PBT).
    curves : list of ndarray, shape (m, 2)
        Each run's learning curve: ``(budget, loss)`` rows in the order trained.
    """

    def __init__(self, space: Space, runs: Sequence[_Run]) -> None:
        n = len(runs)
        unit = (
            np.array([r.unit for r in runs], dtype=np.float64).reshape(n, space.d)
            if n
            else np.empty((0, space.d))
        )
        super().__init__(space, np.array([r.id for r in runs], dtype=np.int64), unit)
        self.value = np.array(
            [r.curve[-1][1] if r.curve and not r.failed else math.nan for r in runs],
            dtype=np.float64,
        )
        self.budget = np.array([r.budget for r in runs], dtype=np.float64)
        self.status = np.array(
            ["failed" if r.failed else "ok" for r in runs], dtype="<U6"
        )
        self.error = np.array([r.error for r in runs], dtype=object)
        self.bracket = np.array([r.bracket for r in runs], dtype=np.int64)
        self.rung = np.array([r.rung for r in runs], dtype=np.int64)
        self.curves = [np.array(r.curve, dtype=np.float64).reshape(-1, 2) for r in runs]

    @property
    def n_failed(self) -> int:
        """Number of failed runs."""
        return int(np.count_nonzero(self.status == "failed"))

    def ranking(self) -> np.ndarray:
        """Return the indices of the successful runs, best first.

        Runs trained furthest come first (a loss at a lower budget is not comparable),
        then lower losses, then lower ids; the first is the result's ``best_id``.
        """
        ok = np.flatnonzero(self.status == "ok")
        return ok[np.lexsort((self.id[ok], self.value[ok], -self.budget[ok]))]

    def to_pandas(self, *, curves: bool = False) -> Any:
        """Return the runs as a ``pandas.DataFrame`` (pandas is optional).

        With ``curves=True`` there is one row per point of every learning curve
        (columns ``id``, ``budget``, ``loss`` and the configuration).
        """
        if not curves:
            return self.frame(
                value=self.value,
                budget=self.budget,
                status=self.status,
                error=self.error,
                bracket=self.bracket,
                rung=self.rung,
            )
        pd = require("pandas", "to_pandas()")
        sizes = [c.shape[0] for c in self.curves]
        rows = np.repeat(np.arange(len(self)), sizes)
        pts = np.concatenate(self.curves) if len(self) else np.empty((0, 2))
        data: dict[str, Any] = {
            "id": self.id[rows],
            "budget": pts[:, 0],
            "loss": pts[:, 1],
        }
        data.update({k: v[rows] for k, v in self.configs.columns.items()})
        return pd.DataFrame(data)


class ScheduleResult:
    """The outcome of a schedule: the best run, every run and its curve.

    Attributes
    ----------
    method : str
        ``"successive_halving"``, ``"hyperband"``, ``"asha"`` or ``"pbt"``.
    best : dict or None
        The best configuration: the lowest loss among the runs trained furthest (for
        PBT, the final configuration of the best member).
    best_value : float
        Its loss (NaN when every run failed).
    best_id : int or None
        Its run id.
    best_state : object
        The state ``train`` returned for the best run at its last budget.
    trials : ScheduleTrials
        Every run, failed ones included, with its learning curve.
    budget_used : float
        Total budget units trained, summed over runs (resumptions count only the
        increment).
    n_calls : int
        Calls of ``train``.
    lineage : list of dict
        PBT only: one entry per exploit, ``{"budget", "member", "donor", "loss",
        "donor_loss", "old", "donor_config", "new"}`` (configurations as dicts: the
        member's, the donor's it copied, and the perturbed one it goes on with);
        empty for the other methods.
    """

    def __init__(
        self,
        method: str,
        space: Space,
        runs: Sequence[_Run],
        *,
        budget_used: float,
        n_calls: int,
        lineage: list[dict[str, Any]] | None = None,
        best_id: int | None = None,
    ) -> None:
        self.method = method
        self.space = space
        self.trials = ScheduleTrials(space, runs)
        self.budget_used = float(budget_used)
        self.n_calls = int(n_calls)
        self.lineage = list(lineage or [])
        if best_id is None:
            best_id = _best_run(runs)
        self.best_id = best_id
        if best_id is None:
            self.best: dict[str, Any] | None = None
            self.best_value = math.nan
            self.best_state: Any = None
        else:
            run = next(r for r in runs if r.id == best_id)
            self.best = dict(run.config)
            self.best_value = float(run.curve[-1][1])
            self.best_state = run.state

    def ancestry(self, member: int) -> list[dict[str, Any]]:
        """PBT: the chain of members whose training a final member's weights went through.

        Returns chronological segments ``{"member", "from", "to", "config"}``: the weights
        were trained by ``member`` with ``config`` from budget ``from`` to ``to``.
        """
        end = self.trials.budget[member] if len(self.trials) else 0.0
        segments: list[dict[str, Any]] = []
        cur = int(member)
        while True:
            before = [
                e for e in self.lineage if e["member"] == cur and e["budget"] < end
            ]
            if not before:
                config = self._config_at(cur, 0.0)
                segments.append(
                    {"member": cur, "from": 0.0, "to": float(end), "config": config}
                )
                break
            last = max(before, key=lambda e: e["budget"])
            segments.append(
                {
                    "member": cur,
                    "from": float(last["budget"]),
                    "to": float(end),
                    "config": last["new"],
                }
            )
            cur, end = int(last["donor"]), last["budget"]
        return segments[::-1]

    def _config_at(self, member: int, budget: float) -> dict[str, Any]:
        events = [
            e for e in self.lineage if e["member"] == member and e["budget"] <= budget
        ]
        first = [e for e in self.lineage if e["member"] == member]
        if events:
            return dict(max(events, key=lambda e: e["budget"])["new"])
        if first:
            return dict(min(first, key=lambda e: e["budget"])["old"])
        return self.trials.configs[member]  # type: ignore[no-any-return]

    def to_pandas(self, *, curves: bool = False) -> Any:
        """Return the runs as a ``pandas.DataFrame`` (see :meth:`ScheduleTrials.to_pandas`)."""
        return self.trials.to_pandas(curves=curves)

    def __repr__(self) -> str:
        best = best_text(self.best)
        return (
            f"ScheduleResult({self.method}: best_value={self.best_value:.6g}, best={{{best}}}, "
            f"trials={len(self.trials)} ({self.trials.n_failed} failed), "
            f"budget_used={self.budget_used:.6g}, calls={self.n_calls})"
        )


def _best_run(runs: Sequence[_Run]) -> int | None:
    ok = [r for r in runs if not r.failed and r.curve]
    if not ok:
        return None
    top = max(r.budget for r in ok)
    finalists = [r for r in ok if r.budget == top]
    return min(finalists, key=lambda r: (r.curve[-1][1], r.id)).id


# ---------------------------------------------------------------------------------------
# successive halving and Hyperband
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
    eta = _as_eta(eta)
    lo, hi, integral = _as_budgets(min_budget, max_budget)
    raw = _core.schedule.hyperband_brackets(lo, hi, eta)
    _check_plan_size(
        sum(int(ns[0]) for ns, _ in raw),
        "runs",
        f"max_budget={max_budget!r}, min_budget={min_budget!r}, eta={eta}",
        "raise `min_budget` (or `eta`), or lower `max_budget`",
    )
    cast = _budget_caster([b for _, bs in raw for b in bs.tolist()], integral)
    return [
        [(int(n), cast(b)) for n, b in zip(ns.tolist(), bs.tolist())] for ns, bs in raw
    ]


class _Stop(Exception):
    """Raised by a caller that only replays a study, at its first call not stored."""


class _Caller:
    """Runs the calls of ``train`` for a driver and keeps its counters.

    :mod:`hyperzoom._schedule_store` subclasses it to answer the calls a study file
    holds and to store the others as they complete. Drivers never call ``train``
    directly: only through :meth:`batch` (synchronous methods) and :meth:`asha`.
    """

    def __init__(self, train: TrainFn, executor: Executor | None) -> None:
        self.train = train
        self.executor = executor
        self.budget_used = 0.0
        self.n_calls = 0

    def live_state(self, state: Any) -> Any:
        """Return the state to hand to ``train`` (a stored caller decodes stored ones)."""
        return state

    def final_state(self, state: Any) -> Any:
        """Return the state to put in the result as ``best_state``."""
        return state

    def batch(
        self, runs: Sequence[_Run], budget: Any, rung: int | None = None
    ) -> list[tuple[float, Any, str | None]]:
        """Train every run of ``runs`` to ``budget``; results in the order of ``runs``."""
        calls = [(r.config, budget, self.live_state(r.state)) for r in runs]
        return _run_calls(self.train, calls, self.executor)

    def drop(self, runs: Sequence[_Run]) -> None:
        """Forget the weights of ``runs``, which were stopped."""
        for r in runs:
            r.state = None

    def asha(self, drive: _Asha, workers: int, deadline: float) -> None:
        """Run ASHA from the start."""
        _asha_loop(self, drive, workers, deadline, [], 0)

    def asha_done(
        self,
        seq: int,
        before: int,
        run: _Run,
        rung: int,
        result: tuple[float, Any, str | None],
    ) -> None:
        """ASHA reported call ``seq`` after ``before`` calls were started."""

    def check(self, out: Any) -> None:
        """Accept a call's raw outcome (a stored caller refuses executor failures)."""

    def settle(self, runs: Sequence[_Run]) -> None:
        """Note that ``runs`` hold the states they go on from (a stored caller frees others)."""

    def close(self) -> None:
        """Release what the caller holds (a stored one: its connection)."""


def _run_method(
    method: str,
    train: TrainFn,
    space: Space,
    executor: Executor | None,
    settings: dict[str, Any],
    plan: dict[str, Any],
    *,
    rng: RngLike,
    storage: Any,
    study: Any,
    state_codec: Any,
    **run: Any,
) -> ScheduleResult:
    """Drive ``method`` with a plain caller, or one backed by a study file.

    ``settings`` are what a study stores (and compares on resume), ``plan`` what the
    drive needs, ``run`` the execution details it also takes (ASHA's workers).
    """
    if storage is None:
        if study is not None:
            msg = f"`study={study!r}` needs `storage=` (a study file) to be stored in."
            raise ValueError(msg)
        if state_codec is not None:
            msg = "`state_codec` needs `storage=` (a study file) to store states in."
            raise ValueError(msg)
        caller, seed = _Caller(train, executor), rng
    else:
        from ._schedule_store import open_caller

        caller, seed = open_caller(
            method, train, space, executor, settings, rng, storage, study, state_codec
        )
    try:
        return _METHODS[method][1](caller, space, as_generator(seed), **plan, **run)
    finally:
        caller.close()


def _result(
    method: str,
    space: Space,
    caller: _Caller,
    runs: Sequence[_Run],
    lineage: list[dict[str, Any]] | None = None,
) -> ScheduleResult:
    if method != "pbt":  # a replayed study may hold runs drawn but never trained
        runs = [r for r in runs if r.curve]
    result = ScheduleResult(
        method,
        space,
        runs,
        budget_used=caller.budget_used,
        n_calls=caller.n_calls,
        lineage=lineage,
    )
    result.best_state = caller.final_state(result.best_state)
    return result


def _number(x: Any) -> int | float:
    """Return a validated number as JSON data (ints stay ints: they set budget types)."""
    if isinstance(x, numbers.Integral):
        return int(x)
    return float(x)


def _run_bracket(
    caller: _Caller, runs: list[_Run], rungs: list[tuple[int, Any]]
) -> None:
    """Run synchronous successive halving of ``runs`` through ``rungs``."""
    alive = list(runs)
    for i, (_, budget) in enumerate(rungs):
        results = caller.batch(alive, budget, i)
        caller.n_calls += len(alive)
        for r, (loss, state, err) in zip(alive, results):
            caller.budget_used += r.record(budget, loss, state, err)
            r.rung = i
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


def _new_runs(
    space: Space, n: int, gen: np.random.Generator, first_id: int, bracket: int = 0
) -> list[_Run]:
    configs = space.sample(n, rng=gen)
    unit = configs.unit
    return [
        _Run(
            id=first_id + i, unit=unit[i].copy(), config=configs.row(i), bracket=bracket
        )
        for i in range(n)
    ]


def successive_halving(
    train: TrainFn,
    space: Space,
    *,
    n: int,
    min_budget: float,
    max_budget: float,
    eta: int = 3,
    rng: RngLike = None,
    executor: Executor | None = None,
    storage: str | os.PathLike[str] | None = None,
    study: str | None = None,
    state_codec: StateCodec | None = None,
) -> ScheduleResult:
    """Train ``n`` random configurations, keeping the best ``1/eta`` at every rung.

    Rung ``i`` trains the ``floor(n / eta^i)`` best runs of rung ``i - 1`` (ties by
    id) up to ``max_budget / eta^(s - i)``, where ``s`` is the number of times ``eta``
    fits in ``max_budget / min_budget``: the top rung trains to exactly
    ``max_budget``. Runs resume from their state (see :mod:`hyperzoom.schedule`).

    Parameters
    ----------
    train : callable
        ``train(config, budget, state) -> (loss, state)``.
    space : Space
        The parameters and their scales.
    n : int
        Configurations in the first rung (>= 1).
    min_budget, max_budget : float
        Smallest first-rung budget and the top rung's budget (``0 < min <= max``).
    eta : int
        Halving rate (>= 2): one in ``eta`` runs goes on to the next rung.
    rng : int, SeedSequence, Generator or None
        Seed of the configurations.
    executor : concurrent.futures.Executor, optional
        Where ``train`` runs (default: the calling thread).
    storage : str or os.PathLike, optional
        An SQLite study file (see "Stored schedules" in :mod:`hyperzoom.schedule`):
        every call of ``train`` is committed as it completes, and the schedule started
        again with the same ``study`` resumes from the file.
    study : str, optional
        The study's name in ``storage`` (default ``"default"``).
    state_codec : "json" or (encode, decode), optional
        How states are stored, so that a resumed schedule continues its runs from
        them: ``"json"`` for states that are JSON data, or functions
        ``encode(state) -> bytes`` and ``decode(bytes) -> state``. Without it states
        are not stored and a run that must go on after a resume is retrained from
        ``state=None``.

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
    _check_train(train, space)
    settings, plan = _sh_plan(n, min_budget, max_budget, eta)
    executor = _check_executor(executor)
    return _run_method(
        "successive_halving",
        train,
        space,
        executor,
        settings,
        plan,
        rng=rng,
        storage=storage,
        study=study,
        state_codec=state_codec,
    )


def _sh_plan(
    n: Any, min_budget: Any, max_budget: Any, eta: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate successive halving's settings: (settings as data, the drive's plan)."""
    n = check_size(as_count(n, "n", minimum=1), "n", _RUN_BYTES, "runs")
    eta = _as_eta(eta)
    lo, hi, integral = _as_budgets(min_budget, max_budget)
    ns, bs = _core.schedule.sh_rungs(n, lo, hi, eta)
    cast = _budget_caster(bs.tolist(), integral)
    rungs = [(int(k), cast(b)) for k, b in zip(ns.tolist(), bs.tolist())]
    settings = {
        "n": n,
        "min_budget": _number(min_budget),
        "max_budget": _number(max_budget),
        "eta": eta,
    }
    return settings, {"n": n, "rungs": rungs}


def _sh_drive(
    caller: _Caller,
    space: Space,
    gen: np.random.Generator,
    n: int,
    rungs: list[tuple[int, Any]],
) -> ScheduleResult:
    runs = _new_runs(space, n, gen, 0)
    try:
        _run_bracket(caller, runs, rungs)
    except _Stop:
        pass
    return _result("successive_halving", space, caller, runs)


def hyperband(
    train: TrainFn,
    space: Space,
    *,
    max_budget: float,
    min_budget: float = 1,
    eta: int = 3,
    brackets: Sequence[int] | None = None,
    rng: RngLike = None,
    executor: Executor | None = None,
    storage: str | os.PathLike[str] | None = None,
    study: str | None = None,
    state_codec: StateCodec | None = None,
) -> ScheduleResult:
    """Hyperband: successive halving in every bracket of :func:`hyperband_plan`.

    Brackets run one after another, most aggressive first; within a bracket each rung
    runs at once on ``executor`` and is gathered in index order. Bracket ``b`` draws its
    configurations from ``rng`` after bracket ``b - 1``.

    Parameters
    ----------
    train : callable
        ``train(config, budget, state) -> (loss, state)``.
    space : Space
        The parameters and their scales.
    max_budget : float
        Budget of every top rung (``R`` in Li et al.).
    min_budget : float
        Smallest budget of any rung (default 1).
    eta : int
        Halving rate (>= 2).
    brackets : sequence of int, optional
        Indices into the plan of the brackets to run (default: all); Hyperband run
        several times over is ``brackets=None`` on successive seeds.
    rng : int, SeedSequence, Generator or None
        Seed of the configurations.
    executor : concurrent.futures.Executor, optional
        Where ``train`` runs (default: the calling thread).
    storage : str or os.PathLike, optional
        An SQLite study file (see "Stored schedules" in :mod:`hyperzoom.schedule`):
        every call of ``train`` is committed as it completes, and the schedule started
        again with the same ``study`` resumes from the file.
    study : str, optional
        The study's name in ``storage`` (default ``"default"``).
    state_codec : "json" or (encode, decode), optional
        How states are stored, so that a resumed schedule continues its runs from
        them: ``"json"`` for states that are JSON data, or functions
        ``encode(state) -> bytes`` and ``decode(bytes) -> state``. Without it states
        are not stored and a run that must go on after a resume is retrained from
        ``state=None``.

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
    """
    _check_train(train, space)
    settings, plan = _hb_plan(max_budget, min_budget, eta, brackets)
    executor = _check_executor(executor)
    return _run_method(
        "hyperband",
        train,
        space,
        executor,
        settings,
        plan,
        rng=rng,
        storage=storage,
        study=study,
        state_codec=state_codec,
    )


def _hb_plan(
    max_budget: Any, min_budget: Any, eta: Any, brackets: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate Hyperband's settings: (settings as data, the drive's plan)."""
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
    settings = {
        "max_budget": _number(max_budget),
        "min_budget": _number(min_budget),
        "eta": _as_eta(eta),
        # every bracket in order is the same schedule as the default
        "brackets": None if chosen == list(range(len(plan))) else chosen,
    }
    return settings, {"plan": plan, "chosen": chosen}


def _hb_drive(
    caller: _Caller,
    space: Space,
    gen: np.random.Generator,
    plan: list[list[tuple[int, Any]]],
    chosen: list[int],
) -> ScheduleResult:
    runs: list[_Run] = []
    try:
        for b in chosen:
            rungs = plan[b]
            new = _new_runs(space, rungs[0][0], gen, len(runs), bracket=b)
            runs.extend(new)
            _run_bracket(caller, new, rungs)
    except _Stop:
        pass
    return _result("hyperband", space, caller, runs)


# ---------------------------------------------------------------------------------------
# ASHA
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
    train : callable
        ``train(config, budget, state) -> (loss, state)``.
    space : Space
        The parameters and their scales.
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
    rng : int, SeedSequence, Generator or None
        Seed of the configurations; with results arriving in the same order, the same
        seed gives the same decisions.
    storage : str or os.PathLike, optional
        An SQLite study file (see "Stored schedules" in :mod:`hyperzoom.schedule`):
        every call of ``train`` is committed as it completes, and the schedule started
        again with the same ``study`` resumes from the file.
    study : str, optional
        The study's name in ``storage`` (default ``"default"``).
    state_codec : "json" or (encode, decode), optional
        How states are stored, so that a resumed schedule continues its runs from
        them: ``"json"`` for states that are JSON data, or functions
        ``encode(state) -> bytes`` and ``decode(bytes) -> state``. Without it states
        are not stored and a run that must go on after a resume is retrained from
        ``state=None``.
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
    _check_train(train, space)
    if n_trials is None and time_limit is None and budget_limit is None:
        msg = (
            "one of `n_trials`, `time_limit` and `budget_limit` must be given, but "
            "all are None."
        )
        raise ValueError(msg)
    settings, plan = _asha_plan(min_budget, max_budget, eta, n_trials, budget_limit)
    executor = _check_executor(executor)
    seconds = math.inf
    if time_limit is not None:
        seconds = as_real(time_limit, "time_limit")
        if seconds <= 0.0:
            msg = f"`time_limit` must be > 0, but got {time_limit!r}."
            raise ValueError(msg)
    workers = _max_workers(executor, n_workers)
    return _run_method(
        "asha",
        train,
        space,
        executor,
        settings,
        plan,
        rng=rng,
        storage=storage,
        study=study,
        state_codec=state_codec,
        workers=workers,
        seconds=seconds,
    )


def _asha_plan(
    min_budget: Any,
    max_budget: Any,
    eta: Any,
    n_trials: Any,
    budget_limit: Any = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate ASHA's settings: (settings as data, the drive's plan)."""
    eta = _as_eta(eta)
    lo, hi, integral = _as_budgets(min_budget, max_budget)
    limit_n = None if n_trials is None else as_count(n_trials, "n_trials", minimum=1)
    limit_b = None
    if budget_limit is not None:
        limit_b = as_real(budget_limit, "budget_limit")
        if not limit_b > 0.0 or not math.isfinite(limit_b):
            msg = f"`budget_limit` must be > 0 and finite, but got {budget_limit!r}."
            raise ValueError(msg)
    _, bs = _core.schedule.sh_rungs(1, lo, hi, eta)
    cast = _budget_caster(bs.tolist(), integral)
    settings = {
        "min_budget": _number(min_budget),
        "max_budget": _number(max_budget),
        "eta": eta,
        "n_trials": limit_n,
        "budget_limit": None if limit_b is None else _number(budget_limit),
    }
    plan = {
        "budgets": [cast(b) for b in bs.tolist()],
        "eta": eta,
        "limit_n": limit_n,
        "limit_b": limit_b,
    }
    return settings, plan


class _Asha:
    """ASHA's decisions: the rungs (in the core), the runs, and what to start next."""

    def __init__(
        self,
        space: Space,
        budgets: list[Any],
        eta: int,
        limit_n: int | None,
        gen: np.random.Generator,
        limit_b: float | None = None,
    ) -> None:
        self.space, self.budgets, self.limit_n, self.gen = space, budgets, limit_n, gen
        self.limit_b = limit_b
        self.planned = 0.0  # budget units of the calls started so far
        self.exhausted = False  # the budget limit stopped it: nothing more starts
        self.core = _core.schedule.AshaRungs(len(budgets), eta)
        self.runs: list[_Run] = []
        self.pool: list[_Run] = []  # drawn, not yet started
        self.chunk = 256 if limit_n is None else min(limit_n, 256)

    def next_job(self, deadline: float) -> tuple[_Run, int] | None:
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
        if not self.pool:
            k = self.chunk
            if self.limit_n is not None:
                k = min(k, self.limit_n - len(self.runs))
            self.pool.extend(_new_runs(self.space, k, self.gen, len(self.runs))[::-1])
        run = self.pool.pop()
        self.runs.append(run)
        return run, 0

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
        caller: _Caller,
        run: _Run,
        rung: int,
        result: tuple[float, Any, str | None],
    ) -> None:
        loss, state, err = result
        caller.budget_used += run.record(self.budgets[rung], loss, state, err)
        caller.n_calls += 1
        run.rung = rung
        self.core.report(run.id, rung, loss)


def _asha_loop(
    caller: _Caller,
    drive: _Asha,
    workers: int,
    deadline: float,
    pending: Sequence[tuple[int, _Run, int]],
    seq: int,
) -> None:
    """Run ASHA: keep ``workers`` calls in flight until nothing is left to start.

    ``pending`` holds calls (start number, run, rung) started before a resume and never
    reported: they run first. ``seq`` counts the calls started so far.
    """
    todo = list(pending)

    def take() -> tuple[int, _Run, int] | None:
        nonlocal seq
        if todo:
            return todo.pop(0)
        job = drive.next_job(deadline)
        if job is None:
            return None
        seq += 1
        return seq - 1, job[0], job[1]

    def report(s: int, run: _Run, rung: int, out: Any) -> None:
        caller.check(out)
        result = _unpack(out)
        drive.finish(caller, run, rung, result)
        caller.asha_done(s, seq, run, rung, result)

    if caller.executor is None:
        while (job := take()) is not None:
            s, run, rung = job
            out = _train_call(
                caller.train,
                run.config,
                drive.budgets[rung],
                caller.live_state(run.state),
            )
            report(s, run, rung, out)
        return
    executor = caller.executor
    in_flight: dict[Future[Any], tuple[int, _Run, int]] = {}
    while True:
        while len(in_flight) < workers and (job := take()) is not None:
            s, run, rung = job
            f = executor.submit(
                _train_call,
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


def _asha_drive(
    caller: _Caller,
    space: Space,
    gen: np.random.Generator,
    budgets: list[Any],
    eta: int,
    limit_n: int | None,
    limit_b: float | None = None,
    workers: int = 1,
    seconds: float = math.inf,
) -> ScheduleResult:
    drive = _Asha(space, budgets, eta, limit_n, gen, limit_b)
    try:
        # time_limit counts from here: after the study is open (and on resume)
        caller.asha(drive, workers, time.monotonic() + seconds)
    except _Stop:
        pass
    return _result("asha", space, caller, drive.runs)


# ---------------------------------------------------------------------------------------
# PBT
def _explore_axes(space: Space) -> Any:
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
                e = np.concatenate([[0.0], np.cumsum(dist.weights)])
                e[-1] = 1.0
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


def _canonical_unit(space: Space, unit: np.ndarray) -> np.ndarray:
    """Integer and choice coordinates moved to their cell centres (values unchanged)."""
    out = np.array(unit, dtype=np.float64, copy=True)
    cols = [j for j, dist in enumerate(space.params.values()) if dist.is_integer]
    if cols:
        centred = space.to_unit(space.from_unit(out))
        out[:, cols] = centred[:, cols]
    return out


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

    Parameters
    ----------
    train : callable
        ``train(config, budget, state) -> (loss, state)``.
    space : Space
        The parameters and their scales.
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
    executor : concurrent.futures.Executor, optional
        Where ``train`` runs (default: the calling thread).
    rng : int, SeedSequence, Generator or None
        Seed of the initial population and of every exploit/explore draw.
    storage : str or os.PathLike, optional
        An SQLite study file (see "Stored schedules" in :mod:`hyperzoom.schedule`):
        every call of ``train`` is committed as it completes, and the schedule started
        again with the same ``study`` resumes from the file.
    study : str, optional
        The study's name in ``storage`` (default ``"default"``).
    state_codec : "json" or (encode, decode), optional
        How states are stored, so that a resumed schedule continues its runs from
        them: ``"json"`` for states that are JSON data, or functions
        ``encode(state) -> bytes`` and ``decode(bytes) -> state``. Without it states
        are not stored and a run that must go on after a resume is retrained from
        ``state=None``.
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
    _check_train(train, space)
    settings, plan = _pbt_plan(
        population, interval, total_budget, quantile, perturb, resample
    )
    executor = _check_executor(executor)
    return _run_method(
        "pbt",
        train,
        space,
        executor,
        settings,
        plan,
        rng=rng,
        storage=storage,
        study=study,
        state_codec=state_codec,
    )


def _pbt_plan(
    population: Any,
    interval: Any,
    total_budget: Any,
    quantile: Any,
    perturb: Any,
    resample: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate PBT's settings: (settings as data, the drive's plan)."""
    population = as_count(population, "population", minimum=2)
    check_size(population, "population", _RUN_BYTES, "members")
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
    _check_plan_size(
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
    cast = _budget_caster(raw, integral)
    settings = {
        "population": population,
        "interval": _number(interval),
        "total_budget": _number(total_budget),
        "quantile": q,
        "perturb": pert,
        "resample": res,
    }
    plan = {
        "population": population,
        "budgets": [cast(b) for b in raw],
        "q": q,
        "pert": pert,
        "res": res,
    }
    return settings, plan


def _pbt_drive(
    caller: _Caller,
    space: Space,
    gen: np.random.Generator,
    population: int,
    budgets: list[Any],
    q: float,
    pert: float,
    res: float,
) -> ScheduleResult:
    n_steps = len(budgets)
    members = _new_runs(space, population, gen, 0)
    words = seed_words(gen)
    axes = _explore_axes(space)
    unit = _canonical_unit(space, np.array([m.unit for m in members]))
    for m, u in zip(members, unit):
        m.unit = u
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
            if t + 1 == n_steps:
                # The final ranking: the last interval's errors stay on record.
                for m in members:
                    if m.curve and math.isnan(m.curve[-1][1]):
                        m.error = m.events[-1]["error"] if m.events else "failed"
                break
            bottom, donor, rows = axes.pbt_step(unit, loss, q, pert, res, words, t)
            donor_configs = {k: dict(members[k].config) for k in set(donor.tolist())}
            new_configs = space.from_unit(rows)  # one call for every replaced member
            for i, (j, k, row) in enumerate(zip(bottom.tolist(), donor.tolist(), rows)):
                old = dict(members[j].config)
                new_config = new_configs.row(i)
                members[j].state = copy.deepcopy(members[k].state)
                members[j].config = new_config
                members[j].unit = row.copy()
                members[j].budget = members[k].budget
                unit[j] = row
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
                    }
                )
        caller.settle(members)
    except _Stop:
        pass
    return _result("pbt", space, caller, members, lineage)


#: What a study file needs to replay each method: its settings' validator and driver.
_METHODS: dict[str, tuple[Callable[..., Any], Callable[..., ScheduleResult]]] = {
    "successive_halving": (_sh_plan, _sh_drive),
    "hyperband": (_hb_plan, _hb_drive),
    "asha": (_asha_plan, _asha_drive),
    "pbt": (_pbt_plan, _pbt_drive),
}
