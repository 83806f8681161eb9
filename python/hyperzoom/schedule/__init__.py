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

New configurations
------------------
``sampler="random"`` draws every new configuration at random on each parameter's
scaled axis. ``sampler="coarse-to-fine"`` (Hyperband, successive halving, ASHA; PBT's
first population) draws most of them from the region where the good runs lie, built by
coarse to fine on the results at the highest budget that holds enough of them, as BOHB
does with its density model; a share stays random, so that a region built on
misleading early results can be left. ``trials.proposal`` and ``proposal_regions`` say
which configuration came from which region; see :mod:`hyperzoom.schedule.proposals`.

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

Layout
------
One module per concept: :mod:`~hyperzoom.schedule.halving` (successive halving,
Hyperband and its plan), :mod:`~hyperzoom.schedule.async_halving` (ASHA),
:mod:`~hyperzoom.schedule.population` (PBT), :mod:`~hyperzoom.schedule.proposals`
(where new configurations come from: ``sampler=``), :mod:`~hyperzoom.schedule.results`
(:class:`ScheduleTrials`, :class:`ScheduleResult`) and
:mod:`~hyperzoom.schedule.journal` (stored schedules); ``_runs`` holds what they share
(runs, the caller of ``train``, the checks of settings).
"""

from __future__ import annotations

from ._runs import StateCodec as StateCodec
from ._runs import TrainFn as TrainFn
from .async_halving import asha
from .halving import hyperband, hyperband_plan, successive_halving
from .population import canonical_unit as _canonical_unit  # noqa: F401 - tests, bench
from .population import explore_axes as _explore_axes  # noqa: F401 - tests, bench
from .population import pbt
from .proposals import ProposalRegion
from .results import ScheduleResult, ScheduleTrials

__all__ = [
    "ProposalRegion",
    "ScheduleResult",
    "ScheduleTrials",
    "asha",
    "hyperband",
    "hyperband_plan",
    "pbt",
    "successive_halving",
]
