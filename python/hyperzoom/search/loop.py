"""The search loop: ``hz.search`` asks, evaluates, tells, and writes to its journal.

One loop serves every search. Synchronous rounds (:func:`_rounds`) ask a phase, let
the journal answer what it has stored, evaluate the rest (a batch per call of a
vectorised objective, a trial per call of a scalar one, on any executor) and tell the
values; the asynchronous driver (:func:`_keep_busy`) keeps every worker busy, telling
each result the moment it arrives and asking the next trial from the current region.
The journal (:mod:`hyperzoom.search.journal`) is a no-op without a study file, and a
study of one with it: everything a run evaluates is committed as it completes, and a
resumed run is told what was stored instead of evaluating it again.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import Any

import numpy as np

from .._validation import as_count, as_flag, as_real, as_workers, check_size
from ..evaluate import (
    evaluate,
    executor_failure,
    resolve_mode,
    submit_trial,
    trial_outcome,
)
from ..executors import ExecutorError, as_executor, is_cluster, max_workers
from ..space import Space
from ..typing import RngLike
from .journal import Journal, open_journal
from .optimizer import CoarseToFine
from .results import SearchResult

__all__ = ["Report", "run", "search"]

#: ``report(opt, stored, new)``: called after each phase (or result) with the number
#: of trials the journal holds and how many of them this run evaluated.
Report = Callable[[CoarseToFine, int, int], None]


# ---------------------------------------------------------------------------------------
def search(
    objective: Callable[..., Any],
    space: Space,
    *,
    budget: int | None = None,
    time_limit: float | None = None,
    strategy: str = "coarse-to-fine",
    round_size: int | None = None,
    first_round: int | None = None,
    batch_size: int | None = None,
    keep: float = 0.5,
    min_width: float = 0.05,
    retest: int = 0,
    retest_every: int = 1,
    minimize: bool = True,
    mode: str | None = None,
    executor: Executor | None = None,
    asynchronous: bool | None = None,
    rng: RngLike = None,
    workers: int | None = None,
    progress: bool | None = None,
    storage: str | os.PathLike[str] | None = None,
    study: str | None = None,
) -> SearchResult:
    """Search ``space`` for the configuration that minimises ``objective``.

    Parameters
    ----------
    objective : callable
        Vectorised, ``objective(configs) -> losses`` (one per row); or scalar,
        ``objective(**config) -> loss`` (or ``objective(config)`` with ``mode="dict"``).
        See :mod:`hyperzoom.evaluate` for how the form is chosen.
    space : Space
        The parameters and their scales.
    budget : int, optional
        Total number of evaluations (re-tests included). The search is anytime: its
        trials are the first ``budget`` trials of any larger budget.
    time_limit : float, optional
        Seconds after which no new trial is started (the trials under way finish and
        are kept). At least one of ``budget`` and ``time_limit`` must be given.
    strategy : {"coarse-to-fine", "random", "grid"}
        Coarse to fine (default, see :mod:`hyperzoom.search`), random search over the
        whole space, or the largest grid that fits the budget.
    round_size : int, optional
        Points in each zoomed round of the first run (default ``4 + 3 ln p`` for ``p``
        non-choice parameters; raise it to keep many workers busy).
    first_round : int, optional
        Points in the first coarse round (default ``max(10, 2 d + 4)``).
    batch_size : int, optional
        Largest batch handed to a vectorised objective (default: a whole round).
    keep : float in (0, 1]
        Share of each zoomed round whose best points move and reshape the region.
    min_width : float in [0, 1]
        The smallest width of a run's first region on each unit axis (a floor for
        exploration; later regions shrink below it as they converge).
    retest : int
        Re-evaluate the best ``retest`` trials after each round and rank by the mean
        (the reported best is then the best re-tested configuration).
    retest_every : int
        Re-test after every ``retest_every``-th round instead of after every round.
    minimize : bool
        Minimise (default) or maximise.
    mode : {"batch", "kwargs", "dict"}, optional
        How to call the objective (default: from its signature).
    executor : concurrent.futures.Executor, optional
        Where to run the objective (default: the calling thread); also a
        ``dask.distributed.Client`` or :func:`hyperzoom.executors.ray`. Scalar trials
        are submitted one each; vectorised batches one per ``batch_size`` chunk (on a
        cluster, ``batch_size`` sets the rows per task).
    asynchronous : bool, optional
        Keep every worker busy: as soon as a trial finishes, its value is told and a
        new trial starts from the current region (regions update every ``round_size``
        results, or as many as are in flight when more, in the order they arrive),
        instead of waiting for the slowest trial
        of each round. The default is True for scalar trials on an executor with more
        than one worker, False otherwise; with ``storage`` a new study is synchronous
        unless asked, and a stored study keeps the mode it was run with. Asynchronous
        runs give the same trials for the same order of arrival (a stored one records
        that order, and a resumed run replays it); synchronous runs give the same
        trials whatever the order. Needs a scalar objective.
    rng : int, SeedSequence, Generator or None
        Seed; the same seed gives the same trials and result on any executor.
    workers : int, optional
        Threads for the compiled sampling and design kernels.
    progress : bool, optional
        Show a tqdm progress bar (default: when stderr is a terminal and tqdm is
        installed).
    storage : str or os.PathLike, optional
        An SQLite study file (created if missing; see :mod:`hyperzoom.storage`). Every
        trial is committed as it completes, and a run that was stopped (even killed)
        resumes when started again with the same ``study``: stored trials are not run
        again, and the trials equal those of an uninterrupted run. A study may be
        continued with another (larger) budget. ``rng`` must then be an ``int`` or a
        ``SeedSequence`` (or None: a new study draws a seed and stores it, a stored
        study uses its own).
    study : str, optional
        The study's name in ``storage`` (default ``"default"``). Resuming it with
        another space, seed or setting raises ``ValueError`` naming what differs.

    Returns
    -------
    SearchResult

    Raises
    ------
    AllTrialsFailedError
        If every trial of a round fails (``.result`` keeps everything evaluated).
    ValueError
        With ``storage``: a file that is not a hyperzoom study file, or a stored study
        that does not match this search.

    Examples
    --------
    >>> import numpy as np
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), beta=hz.InvLogUniform(0.9, 0.999))
    >>> def loss(c):  # best at lr = 10^-2.5, beta = 0.99
    ...     return (np.log10(c["lr"]) + 2.5) ** 2 + (np.log10(1 - c["beta"]) + 2) ** 2
    >>> result = hz.search(loss, space, budget=500, rng=20241128)
    >>> round(float(np.log10(result.best["lr"])), 3), round(result.best["beta"], 4)
    (-2.5, 0.99)

    Anytime: a smaller budget gives the first trials of a larger one.

    >>> small = hz.search(loss, space, budget=100, rng=20241128)
    >>> bool(np.array_equal(small.trials.unit, result.trials.unit[:100]))
    True

    With a study file, a second call resumes (here: finds everything done):

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "study.db")
    >>> first = hz.search(loss, space, budget=100, rng=7, storage=path, study="s")
    >>> again = hz.search(loss, space, budget=100, rng=7, storage=path, study="s")
    >>> again.best == first.best
    True
    """
    if not isinstance(space, Space):
        msg = f"`space` must be a hyperzoom Space, but got {type(space).__name__}."
        raise TypeError(msg)
    if budget is None and time_limit is None:
        msg = "give a `budget` (evaluations), a `time_limit` (seconds), or both."
        raise ValueError(msg)
    if time_limit is not None:
        time_limit = as_real(time_limit, "time_limit")
        if not time_limit > 0.0:
            msg = f"`time_limit` must be > 0 seconds, but got {time_limit!r}."
            raise ValueError(msg)
    mode = resolve_mode(objective, space, mode)
    executor = as_executor(executor)
    minimize = as_flag(minimize, "minimize")  # None must not silently maximise
    if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0:
        # Every trial is kept (about 6 words beside its unit coordinates): a budget
        # whose trials cannot fit in memory can never finish.
        check_size(budget, "budget", 8 * (space.d + 6), "trials")
    if batch_size is not None:
        batch_size = as_count(batch_size, "batch_size", minimum=1)
    if asynchronous is not None and not isinstance(asynchronous, (bool, np.bool_)):
        msg = f"`asynchronous` must be True, False or None, but got {asynchronous!r}."
        raise TypeError(msg)
    if asynchronous and mode == "batch":
        msg = (
            "`asynchronous=True` evaluates one trial at a time: it needs a scalar "
            "objective (mode 'kwargs' or 'dict'), but this one is vectorised; pass "
            "asynchronous=False (or leave it None)."
        )
        raise ValueError(msg)
    settings: dict[str, Any] = {
        "budget": budget,
        "strategy": strategy,
        "round_size": round_size,
        "first_round": first_round,
        "keep": keep,
        "min_width": min_width,
        "retest": retest,
        "retest_every": retest_every,
        "minimize": minimize,
        "asynchronous": asynchronous,
    }
    deadline = None if time_limit is None else time.monotonic() + time_limit
    run_kw: dict[str, Any] = {
        "mode": mode,
        "executor": executor,
        "batch_size": batch_size,
        "deadline": deadline,
        "progress": progress,
    }
    if storage is not None:
        # A stored search stays synchronous unless asked (a resumed run then equals an
        # uninterrupted one whatever the order results arrive in); a stored study is
        # resumed the way it was run.
        with open_journal(storage, study, space, settings, rng, workers) as (j, opt):
            return run(opt, objective, j, **run_kw)
    if study is not None:
        msg = f"`study={study!r}` needs `storage=` (a study file) to be stored in."
        raise ValueError(msg)
    if asynchronous is None:  # where it pays: scalar trials on several workers
        asynchronous = mode != "batch" and executor is not None and _slots(executor) > 1
    settings["asynchronous"] = bool(asynchronous)
    opt = CoarseToFine(space, **settings, rng=rng, workers=workers)
    return run(opt, objective, Journal(), **run_kw)


def run(
    opt: CoarseToFine,
    objective: Callable[..., Any],
    journal: Journal,
    *,
    mode: str,
    executor: Executor | None,
    batch_size: int | None = None,
    deadline: float | None = None,
    progress: bool | None = None,
    report: Report | None = None,
) -> SearchResult:
    """Drive ``opt`` until its budget is spent or ``deadline`` passes; return its result.

    The one loop of every search (see the module's text): synchronous rounds, or, for
    an asynchronous optimiser, the driver that keeps every worker busy.
    ``deadline`` is a ``time.monotonic()`` value after which no new trial starts.
    """
    bar = _progress_bar(progress, opt.budget)
    try:
        if opt.asynchronous:
            if mode == "batch":
                msg = (
                    "an asynchronous search evaluates one trial at a time: it needs a "
                    "scalar objective (mode 'kwargs' or 'dict'), but got a vectorised "
                    "one; pass asynchronous=False."
                )
                raise ValueError(msg)
            slots = _slots(executor)
            if executor is not None and is_cluster(executor):
                # A cluster answers each submission after a round trip: one trial
                # queued per worker beside the running ones starts the moment a
                # worker frees up.
                slots *= 2
            _keep_busy(
                opt, objective, journal, mode, executor, slots, deadline, bar, report
            )
        else:
            _rounds(
                opt,
                objective,
                journal,
                mode,
                executor,
                batch_size,
                deadline,
                bar,
                report,
            )
    finally:
        if bar is not None:
            bar.close()
    return opt.result()


def _rounds(
    opt: CoarseToFine,
    objective: Callable[..., Any],
    journal: Journal,
    mode: str,
    executor: Executor | None,
    batch_size: int | None,
    deadline: float | None,
    bar: Any,
    report: Report | None = None,
) -> None:
    """Run synchronous rounds: ask a phase, take stored answers, evaluate the rest."""
    # Without an executor, a time-limited scalar search asks one trial at a time, so
    # the limit is checked between trials.
    chunk = batch_size
    if deadline is not None and chunk is None and mode != "batch" and executor is None:
        chunk = 1
    batches = journal.batches
    while not opt.done:
        if deadline is not None and not journal.left and time.monotonic() >= deadline:
            break  # time is up (stored trials are still replayed: they cost nothing)
        configs = opt.ask(chunk)
        if len(configs) == 0:  # pragma: no cover - ask/tell keeps phases in step
            break
        todo = configs
        have = journal.answer(opt, configs)
        if have is not None:
            n_have = int(np.count_nonzero(have))
            if bar is not None and n_have:
                bar.update(n_have)
            if n_have == len(configs):
                if report is not None:
                    report(opt, journal.stored, journal.new)
                continue
            if deadline is not None and time.monotonic() >= deadline:
                break
            if n_have:
                todo = configs[~have]
        on_done = journal.recorder(opt, todo, batches)
        if on_done is not None and bar is not None:
            on_done = _counted(on_done, bar)
        try:
            values, errors, batch = evaluate(
                objective,
                todo,
                mode=mode,
                executor=executor,
                batch_size=batch_size,
                on_done=on_done,
            )
        except ValueError as exc:
            exc.partial_result = opt.result()  # type: ignore[attr-defined]
            raise
        opt.tell(todo, values, errors=errors, batch=batch + batches)
        batches += int(batch.max()) + 1 if batch.size else 0
        if on_done is None and bar is not None:
            bar.update(len(todo))
        if report is not None:
            report(opt, journal.stored, journal.new)


def _counted(on_done: Any, bar: Any) -> Any:
    """``on_done`` that also moves the progress bar by the rows it records."""

    def both(start: int, stop: int, *rest: Any) -> None:
        on_done(start, stop, *rest)
        bar.update(stop - start)

    return both


def _slots(executor: Executor | None) -> int:
    """How many trials the executor runs at once (1 without one; cores if it won't say)."""
    if executor is None:
        return 1
    known = max_workers(executor)
    return known if known is not None else as_workers(-1)  # every core


def _keep_busy(
    opt: CoarseToFine,
    objective: Callable[..., Any],
    journal: Journal,
    mode: str,
    executor: Executor | None,
    slots: int,
    deadline: float | None,
    bar: Any,
    report: Report | None,
) -> None:
    """Keep ``slots`` scalar trials in flight; tell each result the moment it arrives.

    The journal records each ask (after how many results) and each result (in the
    order they arrive) before the optimiser is told, so a resumed run replays them in
    the same interleaving; trials it asked but never finished are run again first.
    """
    ex: Executor = executor if executor is not None else _Inline()
    in_flight: dict[Future[Any], int] = {}
    again = journal.replay(opt)
    if again is not None:
        assert again.ids is not None
        for k, tid in enumerate(again.ids.tolist()):
            in_flight[submit_trial(ex, objective, mode, again[k])] = tid
    if bar is not None and journal.stored:
        bar.update(journal.stored)
    lost: BaseException | None = None
    n_lost = 0
    while True:
        while len(in_flight) < slots and lost is None:
            if deadline is not None and time.monotonic() >= deadline:
                break
            c = opt.ask(1)
            if len(c) == 0:
                break
            ids = c.ids
            assert ids is not None
            journal.asked(int(ids[0]), opt.n_told)
            in_flight[submit_trial(ex, objective, mode, c[0])] = int(ids[0])
        if not in_flight:
            break
        done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
        # Results that complete together are told by id: the order is then fixed by
        # the order of completion alone.
        for f in sorted(done, key=lambda f: in_flight[f]):
            i = in_flight.pop(f)
            failure = executor_failure(f) if journal.writes else None
            if failure is not None:  # not the trial's result: never stored as one
                lost = lost or failure
                n_lost += 1
                continue
            value, error = trial_outcome(f)
            seq = opt.n_told
            journal.told(opt, i, value, error, seq)  # stored before it is learnt from
            opt.tell([i], [value], errors=[error], batch=[seq])
            if bar is not None:
                bar.update(1)
            if report is not None:
                report(opt, journal.stored, journal.new)
    if lost is not None:
        msg = (
            f"the executor could not run {n_lost} trial(s) ({type(lost).__name__}: "
            f"{lost}); they are not stored, the {journal.new} that completed are: fix "
            "the executor and run again to resume."
        )
        raise ExecutorError(msg) from lost


class _Inline(Executor):
    """Runs each call at once, in the calling thread.

    An asynchronous search without an executor runs one trial at a time.
    """

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Future[Any]:
        f: Future[Any] = Future()
        f.set_result(fn(*args, **kwargs))
        return f


def _progress_bar(progress: bool | None, total: int | None) -> Any:
    if progress is False:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    if progress is None and not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
        return None
    return tqdm(total=total, unit="trial", desc="hyperzoom")
