"""The pieces every scheduler shares: runs, the caller of ``train``, settings' checks.

A schedule is a driver (one per method) that trains :class:`Run` records through a
:class:`Caller`: the caller makes the calls of ``train`` (:func:`train_call`, on the
executor or in this thread), unpacks their outcomes (:func:`unpack`) and counts the
budget and calls; a study file's caller (:mod:`hyperzoom.schedule.journal`) answers the
calls it holds and stores the others. :func:`run_method` opens the right caller and
drives a method; :func:`make_result` turns the runs into a :class:`ScheduleResult`. The
checks of the settings the methods share, and their parameters' documentation
(:func:`shared_docs`), are here too.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .._trial import Raised, error_text, outcome, scalar_value, submit
from .._validation import as_count, as_real, memory_limit
from ..executors import as_executor
from ..space import Space
from .results import ScheduleResult

if TYPE_CHECKING:
    from .async_halving import Asha
    from .proposals import Proposer

TrainFn = Callable[[dict[str, Any], Any, Any], Any]
#: ``"json"`` or a pair ``(encode(state) -> bytes, decode(bytes) -> state)``.
StateCodec = str | tuple[Callable[[Any], bytes], Callable[[bytes], Any]]


# ---------------------------------------------------------------------------------------
# checking settings
#: What one run (its config, curve and bookkeeping) costs in memory, about: plans
#: that need more runs (or calls) than memory holds are refused before anything runs.
RUN_BYTES = 1024


def check_plan_size(count: int, what: str, settings: str, fix: str) -> None:
    limit = memory_limit() // RUN_BYTES
    if count > limit:
        msg = (
            f"the plan of {settings} makes {count:,} {what}, more than this machine's "
            f"memory can hold ({limit:,}); {fix}."
        )
        raise ValueError(msg)


def as_eta(eta: Any) -> int:
    return as_count(eta, "eta", minimum=2)


def as_budgets(min_budget: Any, max_budget: Any) -> tuple[float, float, bool]:
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


def check_train(train: Any, space: Any) -> None:
    if not callable(train):
        msg = f"`train` must be callable, but got {train!r}."
        raise TypeError(msg)
    if not isinstance(space, Space):
        msg = f"`space` must be a hyperzoom Space, but got {type(space).__name__}."
        raise TypeError(msg)


def check_executor(executor: Any) -> Executor | None:
    executor = as_executor(executor)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        msg = f"`executor` must be a concurrent.futures.Executor or None, but got {executor!r}."
        raise TypeError(msg)
    return executor  # type: ignore[no-any-return]


def budget_caster(budgets: Sequence[float], integral: bool) -> Callable[[float], Any]:
    whole = integral and all(float(b).is_integer() for b in budgets)
    if whole:
        return lambda b: round(b)
    return float


def number(x: Any) -> int | float:
    """Return a validated number as JSON data (ints stay ints: they set budget types)."""
    if isinstance(x, numbers.Integral):
        return int(x)
    return float(x)


# ---------------------------------------------------------------------------------------
# calling train
def train_call(train: TrainFn, config: dict[str, Any], budget: Any, state: Any) -> Any:
    """Call ``train`` (module level, so process executors can pickle it).

    An error of ``train`` comes back as a value (its text, computed where it ran), so
    that anything a future raises is known to be the executor's.
    """
    try:
        return train(config, budget, state)
    except Exception as exc:  # noqa: BLE001 - a failing run fails alone
        return Raised(error_text(exc))


def unpack(out: Any) -> tuple[float, Any, str | None]:
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


def run_calls(
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
            out = train_call(train, config, budget, state)
            results[i] = unpack(out)
            if on_done is not None:
                on_done(i, out)
        return results
    futures = {submit(executor, train_call, train, *c): i for i, c in enumerate(calls)}
    if on_done is None:
        # index order: never completion order
        return [unpack(outcome(f)) for f in futures]
    for f in as_completed(futures):
        i = futures[f]
        out = outcome(f)
        results[i] = unpack(out)
        on_done(i, out)
    return results


# ---------------------------------------------------------------------------------------
# runs and their caller
@dataclass
class Run:
    """One run: its configuration, its training so far and its place in the schedule.

    ``curve`` holds ``(budget, loss)`` per call; ``state`` what ``train`` last
    returned; ``events`` PBT's failed intervals (the run goes on after them);
    ``proposal`` where the configuration came from (-1: a random draw, else an index
    into the proposer's regions).
    """

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
    proposal: int = -1

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


def random_draw(
    space: Space, gen: np.random.Generator
) -> Callable[[int], tuple[np.ndarray, list[dict[str, Any]]]]:
    """Return ``draw(k)``: ``k`` configurations drawn at random from ``gen``."""

    def draw(k: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
        configs = space.sample(k, rng=gen)
        return configs.unit, [configs.row(i) for i in range(k)]

    return draw


def new_runs(
    space: Space,
    n: int,
    gen: np.random.Generator,
    first_id: int,
    bracket: int = 0,
    proposer: Proposer | None = None,
) -> list[Run]:
    """Draw ``n`` configurations: runs ``first_id``, ``first_id + 1``, ...

    At random from ``gen``, or from ``proposer`` (whose random share ``gen`` draws).
    """
    draw = random_draw(space, gen)
    if proposer is None:
        unit, configs = draw(n)
        return [
            Run(
                id=first_id + i, unit=unit[i].copy(), config=configs[i], bracket=bracket
            )
            for i in range(n)
        ]
    return [
        Run(
            id=first_id + i,
            unit=np.array(u, dtype=np.float64),
            config=config,
            bracket=bracket,
            proposal=pid,
        )
        for i, (u, config, pid) in enumerate(proposer.propose(n, draw))
    ]


class Stop(Exception):
    """Raised by a caller that only replays a study, at its first call not stored."""


class Caller:
    """Runs the calls of ``train`` for a driver and keeps its counters.

    :class:`hyperzoom.schedule.journal.StoredCaller` subclasses it to answer the calls
    a study file holds and to store the others as they complete. Drivers never call
    ``train`` directly: only through :meth:`batch` (synchronous methods) and, for ASHA,
    :meth:`asha_resume` then :func:`train_call` in the driver's own loop, whose outcomes
    go through :meth:`check` and :meth:`asha_done`.
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
        self, runs: Sequence[Run], budget: Any, rung: int | None = None
    ) -> list[tuple[float, Any, str | None]]:
        """Train every run of ``runs`` to ``budget``; results in the order of ``runs``."""
        calls = [(r.config, budget, self.live_state(r.state)) for r in runs]
        return run_calls(self.train, calls, self.executor)

    def drop(self, runs: Sequence[Run]) -> None:
        """Forget the weights of ``runs``, which were stopped."""
        for r in runs:
            r.state = None

    def asha_resume(self, drive: Asha) -> tuple[list[tuple[int, Run, int]], int]:
        """Replay into ``drive`` the ASHA calls a study holds, before ASHA runs on.

        Returns the calls started but never reported (start number, run, rung), which
        run first, and how many calls were started. Nothing, here: ASHA starts afresh.
        """
        return [], 0

    def asha_done(
        self,
        seq: int,
        before: int,
        run: Run,
        rung: int,
        result: tuple[float, Any, str | None],
    ) -> None:
        """ASHA reported call ``seq`` after ``before`` calls were started."""

    def check(self, out: Any) -> None:
        """Accept a call's raw outcome (a stored caller refuses executor failures)."""

    def settle(self, runs: Sequence[Run]) -> None:
        """Note that ``runs`` hold the states they go on from (a stored caller frees others)."""

    def close(self) -> None:
        """Release what the caller holds (a stored one: its connection)."""


def make_result(
    method: str,
    space: Space,
    caller: Caller,
    runs: Sequence[Run],
    lineage: list[dict[str, Any]] | None = None,
    *,
    sampler: str = "random",
    proposer: Proposer | None = None,
) -> ScheduleResult:
    """Return the result of ``runs`` (the state of the best one as the caller says)."""
    if method != "pbt":  # a replayed study may hold runs drawn but never trained
        runs = [r for r in runs if r.curve]
    result = ScheduleResult(
        method,
        space,
        runs,
        budget_used=caller.budget_used,
        n_calls=caller.n_calls,
        lineage=lineage,
        sampler=sampler,
        proposal_regions=None if proposer is None else proposer.regions,
    )
    result.best_state = caller.final_state(result.best_state)
    return result


# ---------------------------------------------------------------------------------------
# documenting the shared parameters
#: The parameters every scheduler documents alike. A docstring line that holds only
#: a key (indented as a parameter) is replaced by its text (see :func:`shared_docs`).
PARAMETER_DOCS = {
    "{train, space}": """\
    train : callable
        ``train(config, budget, state) -> (loss, state)``.
    space : Space
        The parameters and their scales.""",
    "{sampler}": """\
    sampler : {"random", "coarse-to-fine"}
        Where new configurations come from (see :mod:`hyperzoom.schedule.proposals`).
        ``"random"`` draws each at random on every parameter's scaled axis.
        ``"coarse-to-fine"`` draws up to two thirds of them from the region where the
        good runs lie, built by coarse to fine on the results at the highest budget
        that holds enough of them (BOHB's scheme), as far as that budget's ranks are
        seen to agree with the higher budgets' (all at random where they do not, and
        until a budget has enough results). ``trials.proposal`` and
        ``proposal_regions`` say where each run came from; the study stores the
        sampler. The default is ``"random"``: coarse-to-fine proposals help most where
        early rungs rank like the last one. On a conditional space each branch has
        its own region, as in :func:`hyperzoom.search`.""",
    "{storage, study, state_codec}": """\
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
        ``state=None``.""",
}

F = TypeVar("F", bound=Callable[..., Any])


def shared_docs(fn: F) -> F:
    """Write the :data:`PARAMETER_DOCS` into ``fn``'s docstring, where it names them."""
    if fn.__doc__:  # None under python -OO
        for key, text in PARAMETER_DOCS.items():
            fn.__doc__ = fn.__doc__.replace("    " + key, text)
    return fn
