"""The ask/tell coarse-to-fine optimiser behind :func:`hyperzoom.search`.

The rule it follows is stated in :mod:`hyperzoom.search`; the arithmetic of its regions is
the compiled core's (``cpp/include/hyperzoom/search.hpp``).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from .. import _core, designs
from .._axes import space_axes
from .._rng import as_generator
from .._validation import as_count, as_workers
from ..region import Region, select_elite
from ..space import Choice, Configs, Space
from ..space.conditions import MAX_ATTEMPTS
from ..space.sampling import budget_grid
from ..typing import RngLike
from ._observed import Observing
from ._told import as_told
from .branches import BranchZoom
from .results import AllTrialsFailedError, SearchResult, Trials
from .settings import STRATEGIES, check_settings

__all__ = ["STRATEGIES", "CoarseToFine"]

#: Points in a round of random search (fixed, so random search is anytime too).
_RANDOM_ROUND = 1024
#: How often a restart doubles the rounds.
_MAX_DOUBLINGS = 16
_OK, _FAILED, _PENDING = 0, 1, 2


class CoarseToFine(Observing):
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
        settings = check_settings(
            budget=budget,
            strategy=strategy,
            round_size=round_size,
            first_round=first_round,
            keep=keep,
            min_width=min_width,
            retest=retest,
            retest_every=retest_every,
            minimize=minimize,
            asynchronous=asynchronous,
            design=design,
        )
        self.budget = settings.budget
        self.strategy = settings.strategy
        self.round_size = settings.round_size
        self.first_round = settings.first_round
        self.keep = settings.keep
        self.min_width = settings.min_width
        self.retest = settings.retest
        self.retest_every = settings.retest_every
        self.minimize = settings.minimize
        self.asynchronous = settings.asynchronous
        self.design = settings.design
        self._ordered = [
            j
            for j, dist in enumerate(space.params.values())
            if not isinstance(dist, Choice)
        ]
        self._p = len(self._ordered)
        self._buffer: list[int] = []  # asynchronous: arrivals since the last update
        self._updates = 0  # asynchronous: region updates so far
        # Threads per call are chosen by each call's size (None: automatic), so small
        # rounds never pay for starting threads; results never depend on the choice.
        self.workers = None if workers is None else as_workers(workers)
        self._gen = as_generator(rng)
        self._lock = threading.RLock()

        self._zoom: Any = None
        self._branched = strategy == "coarse-to-fine" and space._cond is not None
        if self._branched:
            # A conditional space: one region per branch (see search/branches.py).
            self._zoom = BranchZoom(
                space,
                round_size=self.round_size or 0,
                first_round=self.first_round or 0,
                keep=self.keep,
                min_width=self.min_width,
                max_doublings=_MAX_DOUBLINGS,
                rng=np.random.default_rng(self._gen.integers(2**63)),
            )
        elif strategy == "coarse-to-fine":
            self._zoom = _core.search.Zoom(
                space_axes(space),
                self.round_size or 0,
                self.first_round or 0,
                self.keep,
                self.min_width,
                _MAX_DOUBLINGS,
            )
        self._grid_unit: np.ndarray | None = None
        if strategy == "grid":
            assert self.budget is not None
            self._grid_unit = budget_grid(space, self.budget)

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
        self._queue_at = 0  # rows of the phase asked (or proposed) so far
        self._queue_skip = 0  # rows of the phase proposed (no trial: see _observed)
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
    def coarse(self) -> bool:
        """True while new draws come from the whole space (a run's coarse round).

        False once the optimiser has a region to zoom into (for ``strategy=
        "coarse-to-fine"``, after the first round's results); True again after a
        restart, until the new coarse round is told. Always True for ``"random"`` and
        ``"grid"``.
        """
        return self._zoom is None or bool(self._zoom.coarse)

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
            if self._queue_skip:  # rows were proposed: the trials' ids come earlier
                unit = self._realign(a, take)
                ids = np.arange(start, start + take, dtype=np.int64)
            else:
                unit, ids = self._queue_unit[a:b], self._queue_ids[a:b]
            self._n = start + take
            return Configs._window(self.space, self._queue_cols, slice(a, b), unit, ids)

    def asked(self, ids: Any) -> Configs:
        """Return the configurations of trials already asked (by id), as ask gave them.

        Examples
        --------
        >>> import hyperzoom as hz
        >>> opt = hz.CoarseToFine(hz.Space(x=hz.Uniform(0, 1)), budget=20, rng=1)
        >>> c = opt.ask(3)
        >>> bool((opt.asked([2, 0])["x"] == c["x"][[2, 0]]).all())
        True
        """
        ids = self._asked_ids(ids)
        with self._lock:
            return self._configs(self._unit[ids], ids)

    def trial_fields(self, ids: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return asked trials' unit rows, rounds and re-test targets (-1: none)."""
        ids = self._asked_ids(ids)
        with self._lock:
            return self._unit[ids], self._round[ids], self._retest_of[ids]

    def _asked_ids(self, ids: Any) -> np.ndarray:
        out: np.ndarray = np.asarray(ids, dtype=np.int64).reshape(-1)
        if out.size and (out.min() < 0 or out.max() >= self._n):
            bad = int(out[(out < 0) | (out >= self._n)][0])
            msg = f"`ids` must name asked trials (0 to {self._n - 1}), but got {bad}."
            raise ValueError(msg)
        return out

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
        ids, vals, batches = as_told(configs_or_ids, values, errors, batch)
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
        cols = self.space._compiled.from_unit(
            unit, self._threads(unit.size), self.space._cond is not None
        )
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
            if self._branched:  # each branch draws its own design
                rows = zoom.sample(None, self._threads(zoom.round_size * self.space.d))
            else:
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
        if space._cond is not None:
            if kind == "round" and not self._branched:  # random or grid rows
                rows = self._conditioned(rows)
                self._unit[self._n : self._n + n] = rows
            cols = space._compiled.from_unit(rows, self._threads(rows.size), True)
            self._queue_cols = space._configs(cols, rows).columns
        else:
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
        self._queue_at = self._queue_skip = 0
        self._queue_kind = kind
        self._phase_start = self._n
        left = n
        if self.budget is not None:
            left = min(left, self.budget - self._n)
        self._phase_left = left

    def _conditioned(self, rows: np.ndarray) -> np.ndarray:
        """Return rows of a random design or grid made valid for a conditional space.

        The coordinates of inactive parameters become NaN; forbidden rows are drawn
        again.
        """
        space = self.space
        rows = np.array(rows, dtype=np.float64, order="C", copy=True)
        space._cond.apply(rows, 1)
        if space.forbidden:
            words = self._gen.integers(0, 2**32, size=3, dtype=np.uint32)
            stuck = space._cond.redraw_forbidden(words, rows, MAX_ATTEMPTS, 1)
            space._check_stuck(stuck)
        return rows

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
        (coarse or zoomed) update the region. With more trials in flight than that, a
        zoomed update waits for as many results as are in flight: otherwise most of its
        points would come from regions two or more updates old. Results of re-tests and
        of an earlier run are kept but teach nothing. Un-asked draws from the old region
        are dropped.
        """
        zoom = self._zoom
        if zoom is None:
            return
        key = self._phase_key()
        failed_update = failed_size = -1
        for i in ids:
            if self._retest_of[i] >= 0 or self._drawn[i] != key:
                continue
            self._buffer.append(i)
            size = int(zoom.round_size)
            if not zoom.coarse:
                size = max(size, self._n - self._n_told)
            if len(self._buffer) < size:
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
                failed_update, failed_size = int(rows[0]), rows.size
            key = self._phase_key()
            # Draws from the old region that nobody asked for are dropped.
            self._queue_at = self._queue_len
            if self.retest and self._updates % self.retest_every == 0:
                self._start_retest()
        if failed_update >= 0:
            first = self._errors.get(failed_update, "unknown error")
            msg = (
                f"every trial of the last {failed_size} results failed; the "
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
