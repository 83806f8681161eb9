"""Coarse-to-fine search: ``hz.search`` and the ask/tell optimiser it runs on.

How the search proceeds
-----------------------
The search is a sequence of *runs*; each run is a sequence of *rounds*, and no round's
size ever depends on the total budget. So the search is *anytime*: the trials of
``budget=B`` are the first ``B`` trials of ``budget=4 * B`` (the best value can only
improve with more budget), a stored study can be continued with a larger budget, and
``budget=None`` with ``time_limit=`` (or an ask/tell loop you stop) works as well.

Run ``k`` (``k = 0, 1, ...``):

1. a *coarse* round: a Latin hypercube of ``first_round * 2**k`` points over the whole
   space (default ``first_round = max(10, 2 d + 4)``);
2. the first *region*: the box of the best quarter of those points on every scaled axis
   (log for ``LogUniform``, ``log(1 - x)`` for ``InvLogUniform``, the cells of integer
   parameters), at least ``min_width`` wide; choices keep the options those points use;
3. *zoomed* rounds of ``round_size * 2**k`` points (default ``round_size = 4 + 3 ln p``
   for ``p`` ordered parameters), each a Latin hypercube inside the current region.
   After each, the region moves to the weighted centre of the round's best ``keep``
   share and is reshaped by what they say (the update rules of CMA-ES: the region
   shrinks while it keeps finding better points, widens while it keeps moving the same
   way, and turns its axes to follow a valley, so rotated and ill-conditioned problems
   are not left to axis-aligned boxes); choices narrow to the options the best use,
   integer parameters always keep their neighbouring values within reach;
4. the run ends when its region has shrunk to the precision of a double (converged),
   when its values stop changing ("flat"), when it has not improved for
   ``120 + 30 p / round_size`` rounds ("stalled") or when its axes become too unequal;
   then run ``k + 1`` starts afresh with rounds twice as large (as IPOP-CMA-ES does), so
   a search caught in one basin of a multimodal function looks elsewhere, wider.

A region is a box on the scaled axes, possibly rotated: ``result.regions[r]`` holds its
bounding box (``lo``, ``hi``, ``bounds``), and its ``center``, ``basis`` (principal axes)
and ``half_widths``. Points that a region reaches past the edge of the space are
mirrored back into it.

With ``retest=k``, ``k`` evaluations follow every ``retest_every``-th round: the best ``k``
trials so far are evaluated again, trials are ranked by the mean of their evaluations,
and the reported best is the best re-tested configuration.

``strategy="random"`` draws independent uniform points (in rounds of 1,024: also
anytime); ``"grid"`` evaluates the largest grid (spaced on each scaled axis) that fits
the budget (the one strategy that depends on it).

Everything random comes from ``rng``; rounds are synchronous, and each value is stored
at its trial's index, so the same seed gives the same trials and result whatever the
executor, the number of workers or the order in which results arrive.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import Any

import numpy as np

from ._validation import as_count, as_flag, as_real, as_workers, check_size
from .evaluate import evaluate, resolve_mode, submit_trial, trial_outcome
from .executors import as_executor, is_cluster, max_workers
from .optimizer import STRATEGIES, CoarseToFine
from .results import AllTrialsFailedError, SearchResult, Trials
from .space import Space
from .typing import RngLike

__all__ = [
    "STRATEGIES",
    "AllTrialsFailedError",
    "CoarseToFine",
    "SearchResult",
    "Trials",
    "search",
]


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
        results, in the order they arrive), instead of waiting for the slowest trial
        of each round. The default is True for scalar trials on an executor with more
        than one worker (without ``storage``), False otherwise. Asynchronous runs give
        the same trials for the same order of arrival; synchronous runs give the same
        trials whatever the order.
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
    slots = _slots(executor)
    if asynchronous is None:
        asynchronous = (
            storage is None and mode != "batch" and executor is not None and slots > 1
        )
    elif not isinstance(asynchronous, (bool, np.bool_)):
        msg = f"`asynchronous` must be True, False or None, but got {asynchronous!r}."
        raise TypeError(msg)
    elif asynchronous and storage is not None:
        msg = (
            "`asynchronous=True` cannot be stored yet: a study file replays synchronous "
            "rounds. Pass asynchronous=False (or leave it None) with `storage`."
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
    }
    # Without an executor, a time-limited scalar search asks one trial at a time, so
    # the limit is checked between trials.
    chunk = batch_size
    if (
        time_limit is not None
        and chunk is None
        and mode != "batch"
        and executor is None
    ):
        chunk = 1
    deadline = None if time_limit is None else time.monotonic() + time_limit
    if storage is not None:
        from .storage import search_stored

        return search_stored(
            objective,
            space,
            storage=storage,
            study=study,
            settings=settings,
            rng=rng,
            mode=mode,
            executor=executor,
            batch_size=batch_size,
            workers=workers,
            progress=progress,
            deadline=deadline,
            chunk=chunk,
        )
    if study is not None:
        msg = f"`study={study!r}` needs `storage=` (a study file) to be stored in."
        raise ValueError(msg)
    opt = CoarseToFine(
        space, **settings, asynchronous=bool(asynchronous), rng=rng, workers=workers
    )
    bar = _progress_bar(progress, opt.budget)
    if asynchronous and executor is not None and mode != "batch":
        # A cluster answers each submission after a round trip: one trial queued per
        # worker beside the running ones starts the moment a worker frees up.
        in_flight = 2 * slots if is_cluster(executor) else slots
        try:
            _drive_async(opt, objective, mode, executor, in_flight, deadline, bar)
        finally:
            if bar is not None:
                bar.close()
        return opt.result()
    batches = 0
    try:
        while not opt.done:
            if deadline is not None and time.monotonic() >= deadline:
                break
            configs = opt.ask(chunk)
            if len(configs) == 0:  # pragma: no cover - ask/tell keeps phases in step
                break
            try:
                values, errors, batch = evaluate(
                    objective,
                    configs,
                    mode=mode,
                    executor=executor,
                    batch_size=batch_size,
                )
            except ValueError as exc:
                exc.partial_result = opt.result()  # type: ignore[attr-defined]
                raise
            opt.tell(configs, values, errors=errors, batch=batch + batches)
            batches += int(batch.max()) + 1 if batch.size else 0
            if bar is not None:
                bar.update(len(configs))
    finally:
        if bar is not None:
            bar.close()
    return opt.result()


def _slots(executor: Executor | None) -> int:
    """How many trials the executor runs at once (1 without one; cores if it won't say)."""
    if executor is None:
        return 1
    known = max_workers(executor)
    return known if known is not None else as_workers(-1)  # every core


def _drive_async(
    opt: CoarseToFine,
    objective: Callable[..., Any],
    mode: str,
    executor: Executor,
    slots: int,
    deadline: float | None,
    bar: Any,
) -> None:
    """Keep ``slots`` scalar trials in flight; tell each result the moment it arrives."""
    in_flight: dict[Future[Any], int] = {}
    calls = 0
    while True:
        while len(in_flight) < slots:
            if deadline is not None and time.monotonic() >= deadline:
                break
            c = opt.ask(1)
            if len(c) == 0:
                break
            ids = c.ids
            assert ids is not None
            in_flight[submit_trial(executor, objective, mode, c[0])] = int(ids[0])
        if not in_flight:
            return
        done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
        # Results that complete together are told by id: the order is then fixed by
        # the order of completion alone.
        for f in sorted(done, key=lambda f: in_flight[f]):
            i = in_flight.pop(f)
            value, error = trial_outcome(f)
            opt.tell([i], [value], errors=[error], batch=[calls])
            calls += 1
            if bar is not None:
                bar.update(1)


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
