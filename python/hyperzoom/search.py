"""Coarse-to-fine search: ``hz.search`` and the ask/tell optimiser it runs on.

How a budget becomes rounds
---------------------------
``rounds`` (default: ``clip(2 floor(log2(budget / (2 (d + 1)))), 1, 24)``) splits the
budget. With ``retest=k``, ``k`` evaluations are reserved after each round (or after
every ``retest_every``-th round, and always after the last): the best ``k`` trials are
evaluated again before the next zoom (and once more at the end), the elite is ranked by the mean of each configuration's evaluations, and the
reported best is the best re-tested configuration. The remaining draws are split evenly
over the rounds, the first round taking the remainder. Round 0 is a Latin hypercube over the whole space. Every later round:

1. the *elite* is the best ``keep`` share (default 2%) of all successful trials so far
   (at least ``max(2, ceil(d / 2))`` trials),
   ranked by the mean of each configuration's evaluations (re-tests included);
2. the next region is the elite's bounding box on every scaled axis, grown by
   ``margin`` times its width on each side, at least ``min_width`` wide, panned (grown
   by half the old width) towards any edge of the old region that the elite presses
   against, and clipped to the space; integer axes keep whole cells, choices keep
   exactly the options the elite uses (never none);
3. ``1 - explore`` of the round is a Latin hypercube inside the region (extending the
   previous round's design when the region did not move and that design has at most
   10,000 points, so the two rounds together form one Latin hypercube), ``explore`` of
   it a Latin hypercube over the whole space, so a wrong early zoom can recover.

``strategy="random"`` draws the whole budget at random from the space; ``"grid"``
evaluates the largest grid (spaced on each scaled axis) that fits the budget.

Everything random comes from ``rng``; rounds are synchronous, and each value is stored
at its trial's index, so the same seed gives the same trials and result whatever the
executor, the number of workers or the order in which results arrive.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np

from . import designs
from ._optional import require
from ._rng import as_generator
from ._validation import as_count, as_flag, as_real, as_workers, check_size
from .evaluate import evaluate, resolve_mode
from .executors import as_executor
from .region import Region, select_elite
from .space import Configs, Space
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
#: Rounds of up to this many points extend the last round's Latin hypercube when the
#: region did not move (a Latin union of 2n points); larger rounds are dense enough
#: that a fresh design is as good, and about twice as cheap to draw.
_EXTEND_MAX = 10_000
_OK, _FAILED, _PENDING = 0, 1, 2


class AllTrialsFailedError(RuntimeError):
    """Every trial of a round failed; ``.result`` holds everything evaluated so far."""

    def __init__(self, message: str, result: SearchResult | None = None) -> None:
        super().__init__(message)
        self.result = result


def default_rounds(budget: int, d: int) -> int:
    """Return the default number of rounds for a budget (see the module docstring).

    Examples
    --------
    >>> from hyperzoom.search import default_rounds
    >>> default_rounds(100, 7), default_rounds(2000, 7), default_rounds(10_000_000, 7)
    (4, 12, 24)
    """
    if budget < 1:
        return 1
    octaves = math.floor(math.log2(max(budget / (2 * (d + 1)), 1.0)))
    return int(min(24, max(1, 2 * octaves)))


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
        #: True for trials drawn from the whole space (round 0 and each round's
        #: exploration share): together a space-filling sample.
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
    a failure). A round's region is computed once all its trials are told; until then
    ``ask()`` returns an empty ``Configs``.

    Parameters are those of :func:`search`.

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
    >>> len(r.trials), r.best_value < 0.05
    (200, True)
    """

    def __init__(
        self,
        space: Space,
        *,
        budget: int,
        strategy: str = "coarse-to-fine",
        rounds: int | None = None,
        keep: float = 0.02,
        margin: float = 0.05,
        min_width: float = 0.05,
        explore: float = 0.1,
        retest: int = 0,
        retest_every: int = 1,
        minimize: bool = True,
        design: str = "lhs",
        rng: RngLike = None,
        workers: int | None = None,
    ) -> None:
        if not isinstance(space, Space):
            msg = f"`space` must be a hyperzoom Space, but got {type(space).__name__}."
            raise TypeError(msg)
        self.space = space
        self.budget = as_count(budget, "budget", minimum=1)
        if strategy not in STRATEGIES:
            msg = f"{strategy!r} is not a valid strategy. It must be one of {set(STRATEGIES)!r}."
            raise ValueError(msg)
        self.strategy = strategy
        self.keep = as_real(keep, "keep")
        if not 0.0 < self.keep <= 1.0:
            msg = f"`keep` must be in (0, 1], but got {self.keep!r}."
            raise ValueError(msg)
        self.margin = as_real(margin, "margin")
        if self.margin < 0.0:
            msg = f"`margin` must be >= 0, but got {self.margin!r}."
            raise ValueError(msg)
        self.min_width = as_real(min_width, "min_width")
        if not 0.0 <= self.min_width <= 1.0:
            msg = f"`min_width` must be in [0, 1], but got {self.min_width!r}."
            raise ValueError(msg)
        self.explore = as_real(explore, "explore")
        if not 0.0 <= self.explore < 1.0:
            msg = f"`explore` must be in [0, 1), but got {self.explore!r}."
            raise ValueError(msg)
        self.retest = as_count(retest, "retest")
        self.retest_every = as_count(retest_every, "retest_every", minimum=1)
        if design not in ("lhs", "random"):
            msg = f"{design!r} is not a valid design. It must be one of {{'lhs', 'random'}}."
            raise ValueError(msg)
        self.design = design
        self.minimize = bool(minimize)
        self._min_elite = max(2, (space.d + 1) // 2)
        self._pool = np.empty(0, dtype=np.int64)  # best trials so far, best first
        self._pool_end = 0  # trials [0, pool_end) have been through the pool
        self._n_ok = 0
        self._pool_size = max(self._min_elite, math.ceil(self.keep * self.budget))
        self.workers = as_workers(workers, self.budget * max(space.d, 1))
        self._gen = as_generator(rng)

        # -- the plan ----------------------------------------------------------------
        if strategy == "coarse-to-fine":
            n_rounds = (
                default_rounds(self.budget, space.d)
                if rounds is None
                else as_count(rounds, "rounds", minimum=1)
            )
            n_rounds = min(n_rounds, self.budget)
            phases = sum(
                1
                for r in range(n_rounds)
                if (r + 1) % self.retest_every == 0 or r == n_rounds - 1
            )
            reserve = self.retest * phases
            if reserve >= self.budget - n_rounds + 1 and self.retest:
                msg = (
                    f"`retest={self.retest}` re-evaluations at {phases} points of "
                    f"{n_rounds} rounds leave too few of the {self.budget} evaluations "
                    "for the rounds."
                )
                raise ValueError(msg)
            draws = self.budget - reserve
            base = draws // n_rounds
            self._sizes = [base + draws % n_rounds] + [base] * (n_rounds - 1)
        else:
            if rounds is not None:
                as_count(rounds, "rounds", minimum=1)
            self._sizes = [self.budget]
        self._grid_unit: np.ndarray | None = None
        if strategy == "grid":
            self._grid_unit = _grid_unit(space, self.budget)
            self._sizes = [int(self._grid_unit.shape[0])]

        # -- storage (preallocated: search overhead stays per round, not per trial) --
        cap = self.budget
        d = space.d
        self._unit = np.empty((cap, d))
        self._value = np.full(cap, np.nan)
        self._status = np.full(cap, _PENDING, dtype=np.int8)
        self._round = np.zeros(cap, dtype=np.int64)
        self._batch = np.zeros(cap, dtype=np.int64)
        self._retest_of = np.full(cap, -1, dtype=np.int64)
        self._whole = np.zeros(cap, dtype=bool)  # drawn from the whole space
        self._errors: dict[int, str] = {}
        self._n = 0  # trials asked
        self._n_told = 0

        self._region = Region.full(space)
        self.regions: list[Region] = []
        self._r = 0  # current round
        self._queue: np.ndarray | None = (
            None  # unit rows of the current phase, not yet asked
        )
        self._queue_kind = "round"
        self._queue_retest: np.ndarray | None = None
        self._phase_ids: list[np.ndarray] = []
        self._prev_local: np.ndarray | None = None
        self._prev_region: Region | None = None
        self._done = False
        self._start_round()

    # -- public state -----------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once the whole budget is evaluated (or the plan is exhausted)."""
        return self._done

    @property
    def round(self) -> int:
        """The current round (0-based)."""
        return self._r

    @property
    def region(self) -> Region:
        """The region the current round samples."""
        return self._region

    @property
    def n_rounds(self) -> int:
        """Rounds in the plan."""
        return len(self._sizes)

    # -- ask / tell -------------------------------------------------------------------
    def ask(self, n: int | None = None) -> Configs:
        """Return up to ``n`` configurations to evaluate next (all that are due if None)."""
        if n is not None:
            n = as_count(n)
        if self._done or self._queue is None or self._queue.shape[0] == 0:
            return self._configs(
                np.empty((0, self.space.d)), np.empty(0, dtype=np.int64)
            )
        take = self._queue.shape[0] if n is None else min(n, self._queue.shape[0])
        unit, self._queue = self._queue[:take], self._queue[take:]
        ids = np.arange(self._n, self._n + take, dtype=np.int64)
        rows = slice(self._n, self._n + take)
        if not np.shares_memory(unit, self._unit):  # rounds are drawn in place already
            self._unit[rows] = unit
        self._round[rows] = self._r
        if self._queue_kind == "retest":
            assert self._queue_retest is not None
            self._retest_of[rows] = self._queue_retest[:take]
            self._queue_retest = self._queue_retest[take:]
        self._n += take
        self._phase_ids.append(ids)
        return self._configs(unit, ids)

    def tell(
        self,
        configs_or_ids: Configs | Any,
        values: Any,
        *,
        errors: list[str | None] | None = None,
        batch: Any | None = None,
    ) -> None:
        """Report the values of asked trials (NaN or infinity marks a failure).

        Raises
        ------
        ValueError
            For unknown or already told ids, or values of the wrong length.
        AllTrialsFailedError
            When this tell completes a round in which every trial failed (everything
            told is kept; ``.result`` holds it).
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
        ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        vals = np.atleast_1d(np.asarray(values))
        if vals.dtype.kind not in "biuf":
            msg = f"`values` must be real numbers, but got dtype {vals.dtype}."
            raise TypeError(msg)
        vals = np.asarray(vals, dtype=np.float64)
        if vals.shape != ids.shape:
            msg = f"`values` must have shape {ids.shape} (one per trial), but got {vals.shape}."
            raise ValueError(msg)
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
        finite = np.isfinite(vals)
        all_finite = bool(finite.all())
        self._value[where] = vals if all_finite else np.where(finite, vals, np.nan)
        self._status[where] = _OK
        if not all_finite:
            self._status[ids[~finite]] = _FAILED
        if batch is not None:
            self._batch[where] = np.asarray(batch, dtype=np.int64)
        for k in np.flatnonzero(~finite) if not all_finite else ():
            text = errors[int(k)] if errors is not None and errors[int(k)] else None
            self._errors[int(ids[k])] = text or f"objective returned {vals[k]!r}"
        self._n_told += ids.size
        self._maybe_advance()

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
        regions = list(self.regions)
        return SearchResult(
            self.space, trials, regions, best_id, best_value, self.minimize
        )

    # -- internals ----------------------------------------------------------------------
    def _configs(self, unit: np.ndarray, ids: np.ndarray) -> Configs:
        # The unit rows come from the designs and the region map, so they are valid:
        # skip from_unit's checks and copy.
        cols = self.space._compiled.from_unit(unit, self.workers)
        unit = unit.view()
        unit.flags.writeable = False  # a window on the optimiser's storage
        c = self.space._configs(cols, unit)
        c.ids = ids
        return c

    def _lhs(self, n: int) -> np.ndarray:
        d = self.space.d
        if n == 0:
            return np.empty((0, d))
        if self.design == "lhs":
            return np.asarray(
                designs.latin_hypercube(n, d, rng=self._gen, workers=self.workers)
            )
        return np.asarray(designs.random_design(n, d, rng=self._gen))

    def _start_round(self) -> None:
        if self._r >= len(self._sizes):
            self._done = True
            self._queue = None
            return
        size = self._sizes[self._r]
        self.regions.append(self._region)
        # The round is drawn straight into the rows its trials will occupy.
        slot = self._unit[self._n : self._n + size]
        whole = self._whole[self._n : self._n + size]
        whole[:] = True
        if self.strategy == "grid":
            assert self._grid_unit is not None
            slot[:] = self._grid_unit
        elif self.strategy == "random":
            self.design = "random"
            slot[:] = self._lhs(size)
        elif self._r == 0:
            slot[:] = self._lhs(size)
        else:
            n_explore = round(self.explore * size)
            n_in = size - n_explore
            local = self._local_design(n_in)
            slot[:n_in] = self._region.to_unit(local, workers=self.workers)
            slot[n_in:] = self._lhs(n_explore)
            whole[:n_in] = False
        self._queue = slot
        self._queue_kind = "round"
        self._phase_ids = []

    def _local_design(self, n: int) -> np.ndarray:
        """Draw a design in the region's own cube, extending the last one if it stayed."""
        if (
            self.design == "lhs"
            and self._prev_region is not None
            and self._prev_region == self._region
            and self._prev_local is not None
            and self._prev_local.shape[0] <= _EXTEND_MAX
        ):
            local = np.asarray(
                designs.extend_lhs(
                    self._prev_local, n, rng=self._gen, workers=self.workers
                )
            )
        else:
            local = self._lhs(n)
        # Only the last round's design is kept: extending it from n to 2n points gives
        # a Latin union at O(n) cost per round, however long the region stays put.
        self._prev_local = local
        self._prev_region = self._region
        return local

    def _maybe_advance(self) -> None:
        if self._queue is None or self._queue.shape[0] > 0:
            return
        asked = (
            np.concatenate(self._phase_ids)
            if self._phase_ids
            else np.empty(0, np.int64)
        )
        if asked.size == 0 or np.any(self._status[asked] == _PENDING):
            return
        if self._queue_kind == "round":
            round_ids = asked
            if np.all(self._status[round_ids] == _FAILED):
                first = self._errors.get(int(round_ids[0]), "unknown error")
                msg = (
                    f"every trial of round {self._r} ({round_ids.size} trials) failed; "
                    f"the first error: {first}"
                )
                raise AllTrialsFailedError(msg, self.result())
            last = self._r + 1 >= len(self._sizes)
            due = (self._r + 1) % self.retest_every == 0 or last
            if self.retest and self.strategy == "coarse-to-fine" and due:
                self._start_retest()
                return
        self._zoom()

    def _start_retest(self) -> None:
        scores = self.scores()
        ranking = scores if self.minimize else -scores
        top = select_elite(ranking, self.retest)
        self._queue = self._unit[top].copy()
        self._queue_retest = top.astype(np.int64)
        self._queue_kind = "retest"
        self._phase_ids = []

    def _elite(self) -> np.ndarray:
        """Return the elite: the best ``keep`` share of the successful trials so far."""
        new = slice(self._pool_end, self._n)
        self._n_ok += int(np.count_nonzero(self._status[new] == _OK))
        k = max(self._min_elite, math.ceil(self.keep * self._n_ok))
        if self.retest:
            # Re-tests change the means of earlier trials: rank them all again.
            scores = self.scores()
            return select_elite(scores if self.minimize else -scores, k)
        # Without re-tests a trial's rank value never changes, so the best `pool_size`
        # trials so far (the largest elite the budget can need) plus the newcomers hold
        # every future elite: each zoom costs O(pool + round), not O(all trials).
        cand = np.concatenate([self._pool, np.arange(self._pool_end, self._n)])
        vals = self._value[cand]
        rank = vals if self.minimize else -vals
        self._pool = cand[select_elite(rank, self._pool_size, sorted=False)]
        self._pool_end = self._n
        pool_vals = self._value[self._pool]
        top = select_elite(pool_vals if self.minimize else -pool_vals, k, sorted=False)
        elite: np.ndarray = self._pool[top]
        return elite

    def _zoom(self) -> None:
        self._r += 1
        if self._r >= len(self._sizes):
            self._done = True
            self._queue = None
            return
        if self.strategy == "coarse-to-fine":
            elite = self._elite()
            self._region = self._region.shrink(
                self._unit[: self._n],
                elite,
                margin=self.margin,
                min_width=self.min_width,
            )
        self._start_round()


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
    budget: int,
    strategy: str = "coarse-to-fine",
    rounds: int | None = None,
    batch_size: int | None = None,
    keep: float = 0.02,
    margin: float = 0.05,
    min_width: float = 0.05,
    explore: float = 0.1,
    retest: int = 0,
    retest_every: int = 1,
    minimize: bool = True,
    mode: str | None = None,
    executor: Executor | None = None,
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
    budget : int
        Total number of evaluations (re-tests included).
    strategy : {"coarse-to-fine", "random", "grid"}
        Coarse to fine (default, see :mod:`hyperzoom.search`), random search over the
        whole space, or the largest grid that fits the budget.
    rounds : int, optional
        Number of coarse-to-fine rounds (default from the budget).
    batch_size : int, optional
        Largest batch handed to a vectorised objective (default: a whole round).
    keep : float in (0, 1]
        Share of the successful trials that forms the elite.
    margin, min_width, explore : float
        Region growth around the elite, the smallest region width on each unit axis,
        and the share of every round drawn from the whole space.
    retest : int
        Re-evaluate the best ``retest`` trials after each round and rank by the mean
        (the reported best is then the best re-tested configuration).
    retest_every : int
        Re-test after every ``retest_every``-th round (and after the last) instead of
        after every round.
    minimize : bool
        Minimise (default) or maximise.
    mode : {"batch", "kwargs", "dict"}, optional
        How to call the objective (default: from its signature).
    executor : concurrent.futures.Executor, optional
        Where to run the objective (default: the calling thread); also a
        ``dask.distributed.Client`` or :func:`hyperzoom.executors.ray`. Scalar trials
        are submitted one each; vectorised batches one per ``batch_size`` chunk (on a
        cluster, ``batch_size`` sets the rows per task).
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
        again, and the trials equal those of an uninterrupted run. ``rng`` must then be
        an ``int`` or a ``SeedSequence`` (or None: a new study draws a seed and stores
        it, a stored study uses its own).
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
    >>> round(float(np.log10(result.best["lr"])), 1), round(result.best["beta"], 3)
    (-2.5, 0.99)

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
    mode = resolve_mode(objective, space, mode)
    executor = as_executor(executor)
    minimize = as_flag(minimize, "minimize")  # None must not silently maximise
    if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0:
        # Every trial is kept (about 6 words beside its unit coordinates): a budget
        # whose trials cannot fit in memory can never finish.
        check_size(budget, "budget", 8 * (space.d + 6), "trials")
    if batch_size is not None:
        batch_size = as_count(batch_size, "batch_size", minimum=1)
    if storage is not None:
        from .storage import search_stored

        settings = {
            "budget": budget,
            "strategy": strategy,
            "rounds": rounds,
            "keep": keep,
            "margin": margin,
            "min_width": min_width,
            "explore": explore,
            "retest": retest,
            "retest_every": retest_every,
            "minimize": minimize,
        }
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
        )
    if study is not None:
        msg = f"`study={study!r}` needs `storage=` (a study file) to be stored in."
        raise ValueError(msg)
    opt = CoarseToFine(
        space,
        budget=budget,
        strategy=strategy,
        rounds=rounds,
        keep=keep,
        margin=margin,
        min_width=min_width,
        explore=explore,
        retest=retest,
        retest_every=retest_every,
        minimize=minimize,
        rng=rng,
        workers=workers,
    )
    bar = _progress_bar(progress, opt.budget)
    batches = 0
    try:
        while not opt.done:
            configs = opt.ask()
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


def _progress_bar(progress: bool | None, total: int) -> Any:
    if progress is False:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    if progress is None and not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
        return None
    return tqdm(total=total, unit="trial", desc="hyperzoom")
