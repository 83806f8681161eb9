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

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import Any

import numpy as np

from . import _core, designs
from ._optional import require
from ._rng import as_generator
from ._validation import as_count, as_flag, as_real, as_workers, check_size
from .evaluate import evaluate, resolve_mode, submit_trial, trial_outcome
from .executors import as_executor, is_cluster, max_workers
from .region import Region, _axes, select_elite
from .space import Choice, Configs, Space
from .typing import RngLike

__all__ = [
    "STRATEGIES",
    "AllTrialsFailedError",
    "CoarseToFine",
    "SearchResult",
    "Trials",
    "search",
]

STRATEGIES = ("coarse-to-fine", "random", "grid")
#: Points in a round of random search (fixed, so random search is anytime too).
_RANDOM_ROUND = 1024
#: Largest round size a user may ask for, and how often a restart doubles the rounds.
_MAX_ROUND = 1 << 24
_MAX_DOUBLINGS = 16
_OK, _FAILED, _PENDING = 0, 1, 2
_INT64, _FLOAT64 = np.dtype(np.int64), np.dtype(np.float64)


class AllTrialsFailedError(RuntimeError):
    """Every trial of a round failed; ``.result`` holds everything evaluated so far."""

    def __init__(self, message: str, result: SearchResult | None = None) -> None:
        super().__init__(message)
        self.result = result


# ---------------------------------------------------------------------------------------
class Trials:
    """Every trial of a search, column-wise.

    Attributes
    ----------
    id : ndarray of int64
        Trial ids (their order of asking).
    unit : ndarray, shape (n, d)
        Unit coordinates of each configuration.
    value : ndarray of float64
        The loss (or score when maximising) returned; NaN for failed trials.
    status : ndarray of str
        ``"ok"`` or ``"failed"``.
    error : ndarray of object
        The error text of failed trials, else None.
    round, batch : ndarray of int64
        The round each trial belongs to and the objective call that evaluated it.
    retest_of : ndarray of int64
        For re-test evaluations, the id of the trial re-tested; -1 otherwise.
    whole : ndarray of bool
        True for trials drawn from the whole space rather than a zoomed region.
    """

    def __init__(
        self,
        space: Space,
        *,
        id: np.ndarray,
        unit: np.ndarray,
        value: np.ndarray,
        failed: np.ndarray,
        errors: dict[int, str],
        round: np.ndarray,
        batch: np.ndarray,
        retest_of: np.ndarray,
        whole: np.ndarray | None = None,
    ) -> None:
        self.space = space
        self.id = id
        self.unit = unit
        self.value = value
        self.failed = failed  #: bool mask of failed trials
        self.round = round
        self.batch = batch
        self.retest_of = retest_of
        #: True for trials drawn from the whole space (the coarse round of each
        #: run): together a space-filling sample.
        self.whole = np.ones(id.shape[0], dtype=bool) if whole is None else whole
        self._errors = errors
        self._configs: Configs | None = None
        self._status: np.ndarray | None = None
        self._error: np.ndarray | None = None

    @property
    def status(self) -> np.ndarray:
        """``"ok"`` or ``"failed"`` per trial (built on first use)."""
        if self._status is None:
            self._status = np.where(self.failed, "failed", "ok")
        return self._status

    @property
    def error(self) -> np.ndarray:
        """The error text of each failed trial, None elsewhere (built on first use)."""
        if self._error is None:
            error = np.full(self.id.size, None, dtype=object)
            if self._errors:
                failed_ids = np.fromiter(
                    self._errors, dtype=np.int64, count=len(self._errors)
                )
                texts = np.empty(failed_ids.size, dtype=object)
                texts[:] = list(self._errors.values())
                rows = np.searchsorted(self.id, failed_ids)
                inside = rows < self.id.size
                hit = inside & (
                    self.id[np.minimum(rows, self.id.size - 1)] == failed_ids
                )
                error[rows[hit]] = texts[hit]
            self._error = error
        return self._error

    @property
    def configs(self) -> Configs:
        """The configurations (computed from ``unit`` on first use)."""
        if self._configs is None:
            self._configs = self.space.from_unit(self.unit)
            self._configs.ids = self.id
        return self._configs

    def __len__(self) -> int:
        return int(self.id.shape[0])

    @property
    def n_failed(self) -> int:
        """Number of failed trials."""
        return int(np.count_nonzero(self.failed))

    def to_pandas(self) -> Any:
        """Return the trials as a ``pandas.DataFrame`` (pandas is optional)."""
        pd = require("pandas", "to_pandas()")
        data: dict[str, Any] = {"id": self.id}
        data.update(self.configs.columns)
        data.update(
            value=self.value,
            status=self.status,
            error=self.error,
            round=self.round,
            batch=self.batch,
            retest_of=self.retest_of,
        )
        return pd.DataFrame(data)

    def __repr__(self) -> str:
        return f"Trials(n={len(self)}, failed={self.n_failed})"


class SearchResult:
    """The outcome of a search: the best configuration, every trial, every region.

    Attributes
    ----------
    best : dict
        The best configuration (plain Python values).
    best_value : float
        Its value: the mean of its evaluations (re-tests included).
    best_id : int
        Its trial id.
    trials : Trials
        Every trial, failed ones and re-tests included.
    regions : list of Region
        The region each round sampled (round 0: the whole space).
    """

    def __init__(
        self,
        space: Space,
        trials: Trials,
        regions: list[Region],
        best_id: int | None,
        best_value: float,
        minimize: bool,
    ) -> None:
        self.space = space
        self.trials = trials
        self.regions = regions
        self.best_id = best_id
        self.best_value = best_value
        self.minimize = minimize
        if best_id is None:
            self.best: dict[str, Any] | None = None
        else:
            row = int(np.flatnonzero(trials.id == best_id)[0])
            self.best = space.from_unit(trials.unit[row : row + 1])[0]

    def to_pandas(self) -> Any:
        """Return the trials as a ``pandas.DataFrame``."""
        return self.trials.to_pandas()

    def __repr__(self) -> str:
        best = (
            "None"
            if self.best is None
            else ", ".join(f"{k}={_fmt(v)}" for k, v in self.best.items())
        )
        sense = "min" if self.minimize else "max"
        return (
            f"SearchResult({sense} best_value={self.best_value:.6g}, best={{{best}}}, "
            f"trials={len(self.trials)} ({self.trials.n_failed} failed), rounds={len(self.regions)})"
        )


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else repr(v)


# ---------------------------------------------------------------------------------------
class CoarseToFine:
    """Ask/tell coarse-to-fine optimiser: the engine behind :func:`search`.

    ``ask()`` returns the next configurations to evaluate (the rest of the current
    round, or at most ``n``), as a :class:`~hyperzoom.Configs` whose ``ids`` name the
    trials; ``tell(configs_or_ids, values)`` reports their losses (NaN or infinity marks
    a failure). A round's next region is computed once all its trials are told; until
    then ``ask()`` returns an empty ``Configs``.

    The schedule of rounds never depends on ``budget`` (see :mod:`hyperzoom.search`):
    with ``budget=None`` the optimiser runs until you stop asking, and the trials of a
    budget ``B`` are the first ``B`` trials of any larger budget.

    One optimiser may be shared by threads: ``ask``, ``tell`` and ``result`` hold a
    lock, so no trial is lost or asked twice. A ``tell`` that raises ``ValueError`` or
    ``TypeError`` changes nothing. After :class:`AllTrialsFailedError` the optimiser
    goes on with the next round (the error reports; it does not stop the optimiser).

    Parameters are those of :func:`search` (``budget`` may be None: no limit).

    Examples
    --------
    >>> import numpy as np
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), beta=hz.InvLogUniform(0.9, 0.999))
    >>> opt = hz.CoarseToFine(space, budget=200, rng=20241128)
    >>> while not opt.done:
    ...     c = opt.ask()
    ...     loss = (np.log10(c["lr"]) + 2.5) ** 2 + (np.log10(1 - c["beta"]) + 2) ** 2
    ...     opt.tell(c, loss)
    >>> r = opt.result()
    >>> len(r.trials), r.best_value < 1e-6
    (200, True)
    """

    def __init__(
        self,
        space: Space,
        *,
        budget: int | None = None,
        strategy: str = "coarse-to-fine",
        round_size: int | None = None,
        first_round: int | None = None,
        keep: float = 0.5,
        min_width: float = 0.05,
        retest: int = 0,
        retest_every: int = 1,
        minimize: bool = True,
        design: str = "lhs",
        asynchronous: bool = False,
        rng: RngLike = None,
        workers: int | None = None,
    ) -> None:
        if not isinstance(space, Space):
            msg = f"`space` must be a hyperzoom Space, but got {type(space).__name__}."
            raise TypeError(msg)
        self.space = space
        self.budget = None if budget is None else as_count(budget, "budget", minimum=1)
        if not isinstance(strategy, str) or strategy not in STRATEGIES:
            msg = f"{strategy!r} is not a valid strategy. It must be one of {set(STRATEGIES)!r}."
            raise ValueError(msg)
        self.strategy = strategy
        self.round_size = (
            None
            if round_size is None
            else as_count(round_size, "round_size", minimum=2, maximum=_MAX_ROUND)
        )
        self.first_round = (
            None
            if first_round is None
            else as_count(first_round, "first_round", minimum=1, maximum=_MAX_ROUND)
        )
        self.keep = as_real(keep, "keep")
        if not 0.0 < self.keep <= 1.0:
            msg = f"`keep` must be in (0, 1], but got {self.keep!r}."
            raise ValueError(msg)
        self.min_width = as_real(min_width, "min_width")
        if not 0.0 <= self.min_width <= 1.0:
            msg = f"`min_width` must be in [0, 1], but got {self.min_width!r}."
            raise ValueError(msg)
        self.retest = as_count(retest, "retest")
        self.retest_every = as_count(retest_every, "retest_every", minimum=1)
        if design not in ("lhs", "random"):
            msg = f"{design!r} is not a valid design. It must be one of {{'lhs', 'random'}}."
            raise ValueError(msg)
        if not isinstance(minimize, (bool, np.bool_)):
            msg = f"`minimize` must be True or False, but got {minimize!r}."
            raise TypeError(msg)
        self.design = design
        self.minimize = bool(minimize)
        if not isinstance(asynchronous, (bool, np.bool_)):
            msg = f"`asynchronous` must be True or False, but got {asynchronous!r}."
            raise TypeError(msg)
        self.asynchronous = bool(asynchronous)
        self._p = sum(not isinstance(dist, Choice) for dist in space.params.values())
        self._buffer: list[int] = []  # asynchronous: arrivals since the last update
        self._updates = 0  # asynchronous: region updates so far
        if strategy == "grid" and self.budget is None:
            msg = "`strategy='grid'` needs a `budget`: the grid is the largest that fits it."
            raise ValueError(msg)
        if self.retest and strategy != "coarse-to-fine":
            msg = f"`retest={self.retest}` needs strategy='coarse-to-fine', not {strategy!r}."
            raise ValueError(msg)
        # Threads per call are chosen by each call's size (None: automatic), so small
        # rounds never pay for starting threads; results never depend on the choice.
        self.workers = None if workers is None else as_workers(workers)
        self._gen = as_generator(rng)
        self._lock = threading.RLock()

        self._zoom: Any = None
        if strategy == "coarse-to-fine":
            self._zoom = _core.search.Zoom(
                _axes(space),
                self.round_size or 0,
                self.first_round or 0,
                self.keep,
                self.min_width,
                _MAX_DOUBLINGS,
            )
        self._grid_unit: np.ndarray | None = None
        if strategy == "grid":
            assert self.budget is not None
            self._grid_unit = _grid_unit(space, self.budget)

        # -- storage: grown by doubling (preallocated when the budget is known) ------
        # Rows are allocated as trials are asked (doubling), never by the budget alone.
        cap = min(self.budget, 1 << 16) if self.budget is not None else 1 << 10
        self._cap = 0
        self._alloc(cap)
        self._errors: dict[int, str] = {}
        self._n = 0  # trials asked
        self._n_told = 0
        self._region_rows: list[tuple[Any, ...]] = []  # raw region of each round
        self._regions: list[Region] = []  # built from the rows on first use
        self._r = -1  # current round
        self._queue_len = 0  # rows in the phase
        self._queue_at = 0  # rows of the phase asked so far
        self._queue_cols: dict[str, np.ndarray] = {}
        self._queue_unit = np.empty((0, space.d))
        self._queue_ids = np.empty(0, dtype=np.int64)
        self._queue_kind = "round"
        self._queue_retest: np.ndarray | None = None
        self._phase_start = 0  # first trial id of the current phase
        self._phase_left = 0  # trials of the phase not yet told
        self._exhausted = False  # the plan has nothing more (grid: one round)
        self._start_round()

    def _alloc(self, cap: int) -> None:
        """Grow the trial arrays to hold ``cap`` trials (amortised doubling)."""
        if cap <= self._cap:
            return
        needed = cap
        cap = max(needed, 2 * self._cap)
        if self.budget is not None:  # a phase may reach past the budget: room for it
            cap = min(cap, max(needed, self.budget))
        d = self.space.d
        n = self._cap

        def grow(
            old: np.ndarray | None, shape: tuple[int, ...], fill: Any, dtype: Any
        ) -> np.ndarray:
            new = np.full(shape, fill, dtype=dtype)
            if old is not None:
                new[:n] = old[:n]
            return new

        g = self.__dict__.get
        self._unit = grow(g("_unit"), (cap, d), 0.0, np.float64)
        self._value = grow(g("_value"), (cap,), np.nan, np.float64)
        self._status = grow(g("_status"), (cap,), _PENDING, np.int8)
        self._round = grow(g("_round"), (cap,), 0, np.int64)
        self._batch = grow(g("_batch"), (cap,), 0, np.int64)
        self._retest_of = grow(g("_retest_of"), (cap,), -1, np.int64)
        self._whole = grow(g("_whole"), (cap,), False, bool)
        if self.asynchronous:
            self._raw = grow(g("_raw"), (cap, self._p), 0.0, np.float64)
            self._drawn = grow(g("_drawn"), (cap,), -1, np.int64)
        self._cap = cap

    # -- public state -----------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once the whole budget is evaluated (never, without a budget)."""
        if self._exhausted:
            return self._n_told >= self._n
        return self.budget is not None and self._n_told >= self.budget

    @property
    def round(self) -> int:
        """The current round (0-based)."""
        return self._r

    @property
    def run(self) -> int:
        """The current run: 0, then one more after each restart."""
        return 0 if self._zoom is None else int(self._zoom.run)

    @property
    def region(self) -> Region:
        """The region the current round samples."""
        return self._region_at(self._r)

    @property
    def regions(self) -> list[Region]:
        """The region of every round so far."""
        return [self._region_at(r) for r in range(len(self._region_rows))]

    @property
    def n_asked(self) -> int:
        """Trials handed out by ``ask`` so far."""
        return self._n

    @property
    def n_told(self) -> int:
        """Trials told so far."""
        return self._n_told

    # -- ask / tell -------------------------------------------------------------------
    def ask(self, n: int | None = None) -> Configs:
        """Return up to ``n`` configurations to evaluate next (all that are due if None).

        Returns an empty ``Configs`` while the current round waits for results, and
        once the budget is spent.
        """
        if n is not None and (type(n) is not int or n < 0):
            n = as_count(n, "n")
        with self._lock:
            avail = self._queue_len - self._queue_at
            if (
                avail == 0
                and self.asynchronous
                and not self._exhausted
                and (self.budget is None or self._n < self.budget)
            ):
                self._start_round()  # no barrier: draw from the current region
                avail = self._queue_len - self._queue_at
            if self.budget is not None and self.budget - self._n < avail:
                avail = self.budget - self._n
            take = avail if n is None or n > avail else n
            if take <= 0:
                return self._empty()
            # The phase's rows, columns and ids were made once when it started: a call
            # only slices them (a call for one configuration costs microseconds).
            a, b = self._queue_at, self._queue_at + take
            self._queue_at = b
            start = self._n
            if self._queue_kind == "retest":
                assert self._queue_retest is not None
                self._retest_of[start : start + take] = self._queue_retest[a:b]
            self._n = start + take
            return Configs._window(
                self.space,
                self._queue_cols,
                slice(a, b),
                self._queue_unit[a:b],
                self._queue_ids[a:b],
            )

    def _empty(self) -> Configs:
        return self._configs(np.empty((0, self.space.d)), np.empty(0, dtype=np.int64))

    def tell(
        self,
        configs_or_ids: Configs | Any,
        values: Any,
        *,
        errors: list[str | None] | None = None,
        batch: Any | None = None,
    ) -> None:
        """Report the values of asked trials (NaN or infinity marks a failure).

        Everything is checked before anything is recorded: a call that raises
        ``ValueError`` or ``TypeError`` changes nothing and may be retried.

        Raises
        ------
        ValueError
            For unknown or already told ids, or values (``errors``, ``batch``) of the
            wrong length.
        TypeError
            For ids that are not integers or values that are not real numbers.
        AllTrialsFailedError
            When this tell completes a round in which every trial failed (everything
            told is kept, ``.result`` holds it, and the optimiser goes on).
        """
        if isinstance(configs_or_ids, Configs):
            if configs_or_ids.ids is None:
                msg = "`configs` were not produced by ask(): they carry no trial ids."
                raise ValueError(msg)
            ids = configs_or_ids.ids
        else:
            ids = np.asarray(configs_or_ids)
            if ids.dtype.kind not in "iu":
                msg = f"trial ids must be integers, but got dtype {ids.dtype}."
                raise TypeError(msg)
        if ids.dtype is not _INT64 or ids.ndim != 1:
            ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
            if ids.ndim != 1:
                msg = f"trial ids must be one-dimensional, but got shape {ids.shape}."
                raise ValueError(msg)
        vals = values
        if type(vals) is not np.ndarray or vals.dtype is not _FLOAT64 or vals.ndim != 1:
            vals = np.atleast_1d(np.asarray(values))
            if vals.dtype.kind not in "biuf":
                msg = (
                    "`values` must be real numbers (NaN marks a failure), but got dtype "
                    f"{vals.dtype}."
                )
                raise TypeError(msg)
            vals = np.asarray(vals, dtype=np.float64)
        if vals.shape != ids.shape:
            msg = f"`values` must have shape {ids.shape} (one per trial), but got {vals.shape}."
            raise ValueError(msg)
        if errors is not None and len(errors) != ids.size:
            msg = f"`errors` must hold one entry per trial ({ids.size}), but got {len(errors)}."
            raise ValueError(msg)
        batches = None
        if batch is not None:
            batches = np.asarray(batch)
            if batches.dtype.kind not in "iu":
                msg = f"`batch` must hold integers, but got dtype {batches.dtype}."
                raise TypeError(msg)
            if batches.shape not in ((), ids.shape):
                msg = (
                    f"`batch` must hold one entry per trial ({ids.size}), but got "
                    f"shape {batches.shape}."
                )
                raise ValueError(msg)
            batches = np.broadcast_to(batches.astype(np.int64), ids.shape)
        with self._lock:
            if ids.size == 1:
                self._tell_one(int(ids[0]), float(vals[0]), errors, batches)
            else:
                self._tell_locked(ids, vals, errors, batches)

    def _tell_one(
        self,
        i: int,
        v: float,
        errors: list[str | None] | None,
        batches: np.ndarray | None,
    ) -> None:
        """Tell one trial: the fast path of ``tell`` (scalar checks, no array scans)."""
        if not 0 <= i < self._n:
            msg = f"trial id {i} was never asked (ids run from 0 to {self._n - 1})."
            raise ValueError(msg)
        if self._status[i] != _PENDING:
            msg = f"trial id {i} was already told (or appears twice)."
            raise ValueError(msg)
        if math.isfinite(v):
            self._value[i] = v
            self._status[i] = _OK
        else:
            self._status[i] = _FAILED
            text = errors[0] if errors is not None and errors[0] else None
            self._errors[i] = text or f"objective returned {v!r}"
        if batches is not None:
            self._batch[i] = batches[0]
        self._n_told += 1
        if self.asynchronous:
            self._arrive([i])
            return
        self._phase_left -= 1
        if self._phase_left == 0:
            self._advance()

    def _tell_locked(
        self,
        ids: np.ndarray,
        vals: np.ndarray,
        errors: list[str | None] | None,
        batches: np.ndarray | None,
    ) -> None:
        if ids.size and (ids.min() < 0 or ids.max() >= self._n):
            bad = ids[(ids < 0) | (ids >= self._n)][0]
            msg = f"trial id {int(bad)} was never asked (ids run from 0 to {self._n - 1})."
            raise ValueError(msg)
        contiguous = ids.size < 2 or (
            ids[-1] - ids[0] + 1 == ids.size and bool(np.all(np.diff(ids) == 1))
        )
        duplicated = not contiguous and np.unique(ids).size != ids.size
        # Contiguous ids (what ask() hands out) are checked through a slice: no gather.
        where: slice | np.ndarray = (
            slice(int(ids[0]), int(ids[-1]) + 1) if contiguous and ids.size else ids
        )
        if duplicated or np.any(self._status[where] != _PENDING):
            told = ids[self._status[ids] != _PENDING]
            which = int(told[0]) if told.size else int(ids[0])
            msg = f"trial id {which} was already told (or appears twice)."
            raise ValueError(msg)
        # -- everything is valid: apply ------------------------------------------------
        finite = np.isfinite(vals)
        all_finite = bool(finite.all())
        self._value[where] = vals if all_finite else np.where(finite, vals, np.nan)
        self._status[where] = _OK
        if not all_finite:
            self._status[ids[~finite]] = _FAILED
        if batches is not None:
            self._batch[where] = batches
        for k in np.flatnonzero(~finite) if not all_finite else ():
            text = errors[int(k)] if errors is not None and errors[int(k)] else None
            self._errors[int(ids[k])] = text or f"objective returned {vals[k]!r}"
        self._n_told += ids.size
        if self.asynchronous:
            self._arrive(ids.tolist())
            return
        self._phase_left -= ids.size
        if self._phase_left == 0:
            self._advance()

    # -- results ------------------------------------------------------------------------
    def scores(self) -> np.ndarray:
        """Mean value of each trial's evaluations (NaN: failed or re-test rows)."""
        n = self._n
        value = self._value[:n]
        scores = np.where(self._retest_of[:n] < 0, value, np.nan)
        rt = np.flatnonzero((self._retest_of[:n] >= 0) & np.isfinite(value))
        if rt.size:
            target = self._retest_of[rt]
            sums = np.bincount(target, weights=value[rt], minlength=n)
            counts = np.bincount(target, minlength=n).astype(np.float64)
            own = np.isfinite(scores)
            total = np.where(own, scores, 0.0) + sums
            cnt = own.astype(np.float64) + counts
            scores = np.where(
                (self._retest_of[:n] < 0) & (cnt > 0),
                total / np.maximum(cnt, 1),
                np.nan,
            )
        return scores

    def result(self) -> SearchResult:
        """Return everything told so far as a :class:`SearchResult`."""
        with self._lock:
            return self._result()

    def _result(self) -> SearchResult:
        told = np.flatnonzero(self._status[: self._n] != _PENDING)
        scores = self.scores()
        ranking = scores if self.minimize else -scores
        if self.retest:
            # With re-testing, the incumbent is the best of the re-tested trials: a lucky
            # single draw never becomes the answer.
            retested = np.zeros(self._n, dtype=bool)
            targets = self._retest_of[: self._n]
            retested[targets[(targets >= 0) & (self._status[: self._n] == _OK)]] = True
            if retested.any():
                ranking = np.where(retested, ranking, np.nan)
        best = select_elite(ranking, 1)
        best_id = int(best[0]) if best.size else None
        best_value = float(scores[best_id]) if best_id is not None else math.nan
        # Told trials are never written again, so when they form a prefix (the usual
        # case) the result takes read-only views instead of copying millions of rows.
        rows: slice | np.ndarray = told
        if told.size == 0 or told[-1] == told.size - 1:
            rows = slice(0, told.size)

        def view(a: np.ndarray) -> np.ndarray:
            out = a[rows]
            out.flags.writeable = False
            return out

        trials = Trials(
            self.space,
            id=told.astype(np.int64),
            unit=view(self._unit),
            value=view(self._value),
            failed=self._status[rows] == _FAILED,
            errors=dict(self._errors),
            round=view(self._round),
            batch=view(self._batch),
            retest_of=view(self._retest_of),
            whole=view(self._whole),
        )
        # Only rounds that have a told trial are part of the result.
        n_rounds = int(self._round[told[-1]]) + 1 if told.size else 0
        regions = [self._region_at(r) for r in range(n_rounds)]
        return SearchResult(
            self.space, trials, regions, best_id, best_value, self.minimize
        )

    # -- internals ----------------------------------------------------------------------
    def _configs(self, unit: np.ndarray, ids: np.ndarray) -> Configs:
        # The unit rows come from the designs and the region map, so they are valid:
        # skip from_unit's checks and copy.
        cols = self.space._compiled.from_unit(unit, self._threads(unit.size))
        unit = unit.view()
        unit.flags.writeable = False  # a window on the optimiser's storage
        c = self.space._configs(cols, unit)
        c.ids = ids
        return c

    def _design(self, n: int) -> np.ndarray:
        d = self.space.d
        if self.design == "lhs" and self.strategy == "coarse-to-fine":
            return np.asarray(
                designs.latin_hypercube(
                    n, d, rng=self._gen, workers=self._threads(n * d)
                )
            )
        return np.asarray(designs.random_design(n, d, rng=self._gen))

    def _threads(self, n_values: int) -> int:
        return as_workers(self.workers, n_values)

    def _region_at(self, r: int) -> Region:
        while len(self._regions) <= r:
            row = self._region_rows[len(self._regions)]
            if row[0] is None:
                self._regions.append(Region.full(self.space, run=row[-1]))
            else:
                lo, hi, allowed, center, basis, half, _ordered, run = row
                self._regions.append(
                    Region(
                        self.space,
                        lo,
                        hi,
                        allowed,
                        center=center,
                        basis=basis,
                        half_widths=half,
                        run=run,
                    )
                )
        return self._regions[r]

    def _start_round(self) -> None:
        self._r += 1
        zoom = self._zoom
        if self.strategy == "grid":
            if self._r > 0:
                self._exhausted = True
                self._queue_len = self._queue_at = 0
                return
            assert self._grid_unit is not None
            rows = self._grid_unit
            whole = True
            self._region_rows.append((None, 0))
        elif zoom is None:  # random search: fixed-size rounds keep it anytime
            rows = self._design(_RANDOM_ROUND)
            whole = True
            self._region_rows.append((None, 0))
        else:
            coarse = bool(zoom.coarse)
            v = self._design(int(zoom.round_size))
            rows = zoom.sample(v, self._threads(v.size))
            whole = coarse
            run = int(zoom.run)
            self._region_rows.append((None, run) if coarse else (*zoom.region(), run))
        n = rows.shape[0]
        self._alloc(self._n + n)
        self._round[self._n : self._n + n] = self._r
        self._whole[self._n : self._n + n] = whole
        self._begin_phase(rows, "round")

    def _begin_phase(self, rows: np.ndarray, kind: str) -> None:
        n = rows.shape[0]
        self._alloc(self._n + n)
        # The rows go straight into the trials' storage; their columns are computed and
        # decoded once for the phase, and ask() hands out slices of both.
        self._unit[self._n : self._n + n] = rows
        if self.asynchronous and kind == "round":
            zoom = self._zoom
            self._drawn[self._n : self._n + n] = self._phase_key()
            if zoom is not None and self._p:
                self._raw[self._n : self._n + n] = zoom.raw()
        space = self.space
        cols = space._compiled.from_unit(rows, self._threads(rows.size))
        self._queue_cols = {
            name: dist._decode(col)
            for name, dist, col in zip(space.names, space.params.values(), cols)
        }
        # Read-only windows on the trials' storage, sliced by ask().
        unit = self._unit[self._n : self._n + n]
        unit.flags.writeable = False
        self._queue_unit = unit
        self._queue_ids = np.arange(self._n, self._n + n, dtype=np.int64)
        self._queue_len = n
        self._queue_at = 0
        self._queue_kind = kind
        self._phase_start = self._n
        left = n
        if self.budget is not None:
            left = min(left, self.budget - self._n)
        self._phase_left = left

    def _advance(self) -> None:
        """Learn from the phase just told and start the next one."""
        start, length = self._phase_start, self._queue_len
        if self.budget is not None and start + length > self.budget:
            return  # the budget cut this phase short: the search is done
        rows = slice(start, start + length)
        if self._queue_kind == "retest":
            self._start_round()
            return
        values = self._value[rows]
        failed = not np.isfinite(values).any()
        if self._zoom is not None:
            losses = values if self.minimize else -values
            self._zoom.tell(np.ascontiguousarray(losses))
        if self.retest and not failed and (self._r + 1) % self.retest_every == 0:
            self._start_retest()
        else:
            self._start_round()
        if failed:
            first = self._errors.get(start, "unknown error")
            msg = (
                f"every trial of round {int(self._round[start])} ({length} trials) "
                f"failed; the first error: {first}"
            )
            raise AllTrialsFailedError(msg, self._result())

    def _phase_key(self) -> int:
        """Which region the current draws come from: run and coarse-or-zoomed."""
        zoom = self._zoom
        if zoom is None:
            return 0
        return 2 * int(zoom.run) + (0 if zoom.coarse else 1)

    def _arrive(self, ids: list[int]) -> None:
        """Asynchronous: learn from results in the order they arrive (no barrier).

        Every ``round_size`` results drawn from the current run's current kind of round
        (coarse or zoomed) update the region; results of re-tests and of an earlier run
        are kept but teach nothing. Un-asked draws from the old region are dropped.
        """
        zoom = self._zoom
        if zoom is None:
            return
        key = self._phase_key()
        failed_update = -1
        for i in ids:
            if self._retest_of[i] >= 0 or self._drawn[i] != key:
                continue
            self._buffer.append(i)
            if len(self._buffer) < int(zoom.round_size):
                continue
            rows = np.array(self._buffer, dtype=np.int64)
            self._buffer = []
            values = self._value[rows]
            losses = values if self.minimize else -values
            zoom.observe(
                np.ascontiguousarray(self._unit[rows]),
                np.ascontiguousarray(self._raw[rows]),
                np.ascontiguousarray(losses),
            )
            self._updates += 1
            if not np.isfinite(values).any():
                failed_update = int(rows[0])
            key = self._phase_key()
            # Draws from the old region that nobody asked for are dropped.
            self._queue_at = self._queue_len
            if self.retest and self._updates % self.retest_every == 0:
                self._start_retest()
        if failed_update >= 0:
            first = self._errors.get(failed_update, "unknown error")
            msg = (
                f"every trial of the last {int(zoom.round_size)} results failed; the "
                f"first error: {first}"
            )
            raise AllTrialsFailedError(msg, self._result())

    def _start_retest(self) -> None:
        scores = self.scores()
        ranking = scores if self.minimize else -scores
        top = select_elite(ranking, self.retest)
        if top.size == 0:
            self._start_round()
            return
        self._alloc(self._n + top.size)
        self._round[self._n : self._n + top.size] = self._r
        self._whole[self._n : self._n + top.size] = False
        self._queue_retest = top.astype(np.int64)
        self._begin_phase(self._unit[top].copy(), "retest")


def _grid_unit(space: Space, budget: int) -> np.ndarray:
    """Return the unit coordinates of the largest grid that fits the budget.

    Grid sizes are counted without building the grids (a bisection over the points
    per axis); only the chosen one is built.
    """
    limit = min(budget, designs.MAX_GRID_SIZE)
    points = designs.largest_grid_points(space, limit)
    g = designs.grid(space, points, max_size=max(limit, designs._grid_size(space, 1)))
    return np.ascontiguousarray(g.unit[:budget])


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
