"""Results the optimiser did not ask for, and draws that are not trials.

A caller that evaluates points elsewhere (a scheduler's runs, another optimiser's
proposals) uses an asynchronous :class:`~hyperzoom.CoarseToFine` as a model of where the
good points are: ``propose`` draws what ``ask`` would hand out next without recording a
trial, and ``observe`` teaches the region with results as if asked trials had arrived.
Only trials asked and not yet told are in flight, so neither call changes how long an
asynchronous update waits.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .._validation import as_count
from ..space import Configs, Space

if TYPE_CHECKING:
    from .optimizer import CoarseToFine

__all__ = ["Observing"]

_FLOAT64 = np.dtype(np.float64)
_OK, _FAILED = 0, 1
_NO_IDS = np.empty(0, dtype=np.int64)


def _asynchronous_only(opt: CoarseToFine, what: str) -> None:
    if not opt.asynchronous:
        msg = (
            f"`{what}` needs an asynchronous optimiser (asynchronous=True): a "
            "synchronous round learns only from the trials it asked."
        )
        raise ValueError(msg)


class Observing:
    """``observe`` and ``propose`` of :class:`~hyperzoom.CoarseToFine`."""

    def propose(self, n: int | None = None) -> Configs:
        """Return up to ``n`` configurations drawn as ``ask`` would, without asking them.

        The draws ``ask`` would hand out next (the rest of the current round, or at
        most ``n``; a new round from the current region when none is left), but no
        trial is recorded: nothing is pending, so the draws never count as in flight,
        do not count against the budget, and carry no ``ids`` (they cannot be told;
        ``observe`` their results instead). Only for ``asynchronous=True``.

        Returns
        -------
        Configs
            The configurations, with ``ids`` None; empty only for ``n=0`` or once a
            grid is used up.

        Raises
        ------
        ValueError
            For a synchronous optimiser (its rounds wait for their own trials).

        Examples
        --------
        >>> import numpy as np
        >>> import hyperzoom as hz
        >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
        >>> opt = hz.CoarseToFine(space, asynchronous=True, first_round=10, rng=3)
        >>> c = opt.propose(10)
        >>> ids = opt.observe(c.unit, (np.log10(c["lr"]) + 2) ** 2)
        >>> opt.coarse, c.ids is None, opt.n_asked, opt.n_told
        (False, True, 10, 10)
        """
        return _propose(cast("CoarseToFine", self), n)

    def _realign(self, a: int, take: int) -> np.ndarray:
        """Move the phase's rows ``a:a+take`` to the next trial ids (see ``_realign``)."""
        return _realign(cast("CoarseToFine", self), a, take)

    def observe(
        self,
        unit: Any,
        values: Any,
        *,
        errors: list[str | None] | None = None,
    ) -> np.ndarray:
        """Learn from trials this optimiser did not ask: their unit rows and values.

        For points evaluated elsewhere (another optimiser's proposals, a scheduler's
        runs, this optimiser's ``propose``). They become trials with new ids, told at
        once, and teach the region as asked trials arriving now would: each counts by
        where it lies relative to the current region (see :mod:`hyperzoom.search`).
        Draws of the current round not yet asked are dropped, so the next ``ask`` draws
        from what the optimiser knows now. Only for ``asynchronous=True``: a
        synchronous round waits for its own trials.

        Parameters
        ----------
        unit : array_like, shape (n, d)
            Unit coordinates of the configurations (``Configs.unit``, or
            ``space.to_unit(configs)``), in ``[0, 1]``; on a conditional space NaN
            exactly where a row's configuration leaves a parameter inactive (each
            branch's region learns from its own rows).
        values : array_like, shape (n,)
            Their values (NaN or infinity marks a failure).
        errors : list of str or None, optional
            Error texts of failed trials.

        Returns
        -------
        ndarray of int64, shape (n,)
            The ids the observed trials got.

        Raises
        ------
        ValueError
            For a synchronous optimiser, rows of the wrong shape or outside
            ``[0, 1]``, NaN on an active parameter or a value on an inactive one
            (conditional spaces), values of the wrong length, or more trials than
            the budget leaves. Nothing is recorded then.
        AllTrialsFailedError
            When the observed trials complete an update in which every trial failed
            (everything is kept, and the optimiser goes on).

        Examples
        --------
        >>> import numpy as np
        >>> import hyperzoom as hz
        >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
        >>> opt = hz.CoarseToFine(space, asynchronous=True, first_round=10, rng=3)
        >>> seen = space.sample(10, rng=4)
        >>> ids = opt.observe(seen.unit, (np.log10(seen["lr"]) + 2) ** 2)
        >>> opt.coarse, ids.tolist() == list(range(10))
        (False, True)
        >>> bool(opt.ask(5).unit.max() < 1.0)
        True
        """
        return _observe(cast("CoarseToFine", self), unit, values, errors)


def _observed(
    space: Space, unit: Any, values: Any, errors: list[str | None] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``observe``'s unit rows and values, checked."""
    d = space.d
    rows = np.asarray(unit, dtype=np.float64)
    if rows.ndim == 1 and d and rows.size == d:
        rows = rows.reshape(1, d)
    if rows.ndim != 2 or rows.shape[1] != d:
        msg = f"`unit` must have shape (n, {d}), but got {rows.shape}."
        raise ValueError(msg)
    # min and max are NaN when a NaN is there, and then fail the test too
    if space.conditional:
        if rows.size:
            _check_inactive(space, rows)
    elif rows.size and not (rows.min() >= 0.0 and rows.max() <= 1.0):
        bad = rows[~((rows >= 0.0) & (rows <= 1.0))][0]
        msg = f"`unit` must lie in [0, 1] on every axis, but holds {float(bad)!r}."
        raise ValueError(msg)
    n = rows.shape[0]
    vals = values
    if type(vals) is not np.ndarray or vals.dtype is not _FLOAT64 or vals.ndim != 1:
        vals = np.atleast_1d(np.asarray(values))
        if vals.dtype.kind not in "biuf":
            msg = (
                "`values` must be real numbers (NaN marks a failure), but got "
                f"dtype {vals.dtype}."
            )
            raise TypeError(msg)
        vals = np.asarray(vals, dtype=np.float64)
    if vals.shape != (n,):
        msg = f"`values` must have shape ({n},) (one per row), but got {vals.shape}."
        raise ValueError(msg)
    if errors is not None and len(errors) != n:
        msg = f"`errors` must hold one entry per trial ({n}), but got {len(errors)}."
        raise ValueError(msg)
    return rows, vals


def _check_inactive(space: Space, rows: np.ndarray) -> None:
    """Refuse rows of a conditional space unless NaN is exactly where inactive."""
    nan = np.isnan(rows)
    bad = ~nan & ~((rows >= 0.0) & (rows <= 1.0))
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        msg = (
            f"`unit` must lie in [0, 1] (NaN where a parameter is inactive), but "
            f"holds {float(rows[i, j])!r} at [{i}, {j}]."
        )
        raise ValueError(msg)
    active = space._active_mask(rows)
    wrong = nan == active  # NaN on an active axis, or a value on an inactive one
    if wrong.any():
        i, j = (int(k) for k in np.argwhere(wrong)[0])
        name = space.names[j]
        rule = (
            "is active there and needs a value"
            if active[i, j]
            else ("is inactive there and must be NaN")
        )
        msg = (
            f"`unit` row {i}: parameter {name!r} {rule}, but got {float(rows[i, j])!r}."
        )
        raise ValueError(msg)


def _propose(opt: CoarseToFine, n: int | None) -> Configs:
    _asynchronous_only(opt, "propose")
    if n is not None and (type(n) is not int or n < 0):
        n = as_count(n, "n")
    with opt._lock:
        avail = opt._queue_len - opt._queue_at
        if avail == 0 and not opt._exhausted:
            opt._start_round()  # no barrier: draw from the current region
            avail = opt._queue_len - opt._queue_at
        take = avail if n is None or n > avail else n
        if take <= 0:
            c = opt._empty()
        else:
            a = opt._queue_at
            opt._queue_at = a + take
            opt._queue_skip += take
            # A copy: the rows' storage is taken by the next trials asked or observed.
            unit = opt._queue_unit[a : a + take].copy()
            c = Configs._window(
                opt.space, opt._queue_cols, slice(a, a + take), unit, _NO_IDS
            )
        c.ids = None
        return c


def _realign(opt: CoarseToFine, a: int, take: int) -> np.ndarray:
    """Move the phase's rows ``a:a+take`` to the next trial ids (some were proposed).

    A phase's rows are stored where their trials will be, assuming every row is
    asked in order; a proposed row leaves no trial, so the rows asked after it move
    down (to ``opt._n``, the first of the trials being asked). The rows they overwrite
    were asked or proposed already. Returns the rows, read-only.
    """
    src = slice(opt._phase_start + a, opt._phase_start + a + take)
    dst = slice(opt._n, opt._n + take)
    for array in (opt._unit, opt._raw, opt._drawn, opt._round, opt._whole):
        array[dst] = array[src]
    unit = opt._unit[dst]
    unit.flags.writeable = False
    return unit


def _observe(
    opt: CoarseToFine, unit: Any, values: Any, errors: list[str | None] | None
) -> np.ndarray:
    _asynchronous_only(opt, "observe")
    rows, vals = _observed(opt.space, unit, values, errors)
    n = rows.shape[0]
    with opt._lock:
        if opt.budget is not None and opt._n + n > opt.budget:
            msg = (
                f"`observe` of {n} trials would pass the budget ({opt.budget}; "
                f"{opt._n} trials so far)."
            )
            raise ValueError(msg)
        # The current round's draws (or re-tests) nobody asked for are dropped:
        # the trials' storage after the last asked one takes the observed rows.
        opt._queue_at = opt._queue_len
        start = opt._n
        opt._alloc(start + n)
        where = slice(start, start + n)
        opt._unit[where] = rows
        opt._round[where] = opt._r
        opt._batch[where] = 0
        opt._retest_of[where] = -1
        opt._whole[where] = False
        # What each point teaches is read from where it lies (its own raw draw).
        opt._drawn[where] = opt._phase_key()
        if opt._p:
            # a conditional space's regions read the point in its branch's units
            opt._raw[where] = math.nan if opt._branched else rows[:, opt._ordered]
        if n == 1:  # the common call (one result): scalars, no array scans
            v = float(vals[0])
            ok = math.isfinite(v)
            opt._value[start] = v if ok else math.nan
            opt._status[start] = _OK if ok else _FAILED
            failed: list[int] = [] if ok else [0]
        else:
            finite = np.isfinite(vals)
            opt._value[where] = np.where(finite, vals, np.nan)
            opt._status[where] = np.where(finite, _OK, _FAILED)
            failed = np.flatnonzero(~finite).tolist()
        for k in failed:
            text = errors[k] if errors is not None and errors[k] else None
            opt._errors[start + k] = text or f"objective returned {vals[k]!r}"
        opt._n = start + n
        opt._n_told += n
        opt._arrive(list(range(start, start + n)))
    return np.arange(start, start + n, dtype=np.int64)
