"""A search's journal: where its completed trials go, and where a resumed run finds them.

The search loop (:mod:`hyperzoom.search.loop`) is one loop whether or not a study file
is given: it hands every trial it asks, and every result as it completes, to a journal,
and asks the journal for answers it already holds before evaluating anything.

* :class:`Journal`: no file. Nothing is written, nothing is answered.
* :class:`StudyJournal`: a study of a file (:mod:`hyperzoom.store`). Synchronous rounds
  are replayed a phase at a time: the optimiser asks, and the stored trials among its
  asks are told their stored values (after checking, bit for bit, that it asks for the
  same unit coordinates); only the others are evaluated, each committed as it
  completes. An asynchronous search also records when each trial was asked (after how
  many results, table ``hz_ask``) and the order in which results arrived (the trial's
  ``batch``); a resumed run replays asks and tells in exactly that interleaving, so its
  stored part is the stored history, and the trials that were running when it stopped
  are run again.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import numpy as np

from .._validation import as_count, check_size
from .._version import __version__
from ..space import Configs, Space
from ..store import (
    Study,
    TrialWriter,
    connect,
    integrity,
    open_record,
    rng_of,
    seed_record,
    space_to_json,
    study_lock,
    study_target,
    translated,
    where,
)
from .optimizer import CoarseToFine
from .settings import SETTINGS

__all__ = [
    "Journal",
    "StudyJournal",
    "check_study",
    "open_journal",
    "stored_optimiser",
]

#: Studies written before asynchronous searches could be stored lack that setting:
#: they are synchronous.
_BEFORE_ASYNC = SETTINGS[:-1]
#: The settings of the search before it was anytime (its studies cannot be replayed).
_OLD_SETTINGS = (
    "budget",
    "strategy",
    "rounds",
    "keep",
    "margin",
    "min_width",
    "explore",
    "retest",
    "retest_every",
    "minimize",
)
#: Settings stored but free to change on resume: a search is anytime, so a study can be
#: continued with a larger budget (the stored one is that of the latest run).
_FREE_SETTINGS = ("budget",)

OnDone = Callable[[int, int, np.ndarray, list[str | None], np.ndarray], None]


def check_study(rec: Study) -> dict[str, Any]:
    """Return a search study's stored settings, checked against this version's.

    Raises
    ------
    ValueError
        For a study of the budget-split search (before the search was anytime), or
        settings that are not exactly a search's.
    """
    keys = set(rec.settings)
    if keys not in (set(SETTINGS), set(_BEFORE_ASYNC)):
        if keys != set(_OLD_SETTINGS):
            integrity.check_settings(rec.settings, rec.where, SETTINGS)
        msg = (
            f"{rec.where} was written by hyperzoom {rec.version}, whose search "
            "planned its rounds from the budget; this version's search is anytime "
            f"and cannot replay it (settings {sorted(keys ^ set(SETTINGS))!r} "
            f"differ). Open it with hyperzoom {rec.version}, or start a new study."
        )
        raise ValueError(msg)
    integrity.check_settings(rec.settings, rec.where, sorted(keys))
    settings = dict(rec.settings)
    settings.setdefault("asynchronous", False)
    return settings


def stored_optimiser(
    rec: Study, space: Space, workers: int | None = None, *, replay: bool = False
) -> CoarseToFine:
    """Re-create a stored search's optimiser from its settings (checked first).

    With ``replay``, without a budget (except for a grid, which depends on it): every
    stored trial is replayed, whatever budget the latest run had.
    """
    settings = check_study(rec)
    budget = settings.get("budget")
    if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0:
        # The optimiser keeps about 6 words a trial beside its unit coordinates.
        try:
            check_size(budget, "budget", 8 * (space.d + 6), "trials")
        except ValueError as exc:
            msg = f"{rec.where} has a stored `budget` it cannot hold: {exc}"
            raise ValueError(msg) from exc
    if budget is not None:
        try:  # checked even when the replay does not use it
            as_count(budget, "budget", minimum=1)
        except (TypeError, ValueError) as exc:
            msg = f"{rec.where} has damaged stored settings: {exc}"
            raise ValueError(msg) from exc
    if replay and settings.get("strategy") != "grid":
        settings["budget"] = None
    try:
        return CoarseToFine(space, **settings, rng=rng_of(rec.seed), workers=workers)
    except (TypeError, ValueError, OverflowError) as exc:
        msg = f"{rec.where} has damaged stored settings: {exc}"
        raise ValueError(msg) from exc


class Journal:
    """The journal of a search without a study file: it stores and answers nothing."""

    #: Trials held by the file (stored before this run, or by it).
    stored = 0
    #: Trials this run evaluated and stored.
    new = 0
    #: Stored trials not yet told to the optimiser.
    left = 0
    #: Calls (batches) stored before this run: this run's are numbered after them.
    batches = 0
    #: Whether trials are committed as they complete (results come back one by one).
    writes = False

    def replay(self, opt: CoarseToFine) -> Configs | None:
        """Tell ``opt`` the stored history; return stored asks still to be run."""
        return None

    def answer(self, opt: CoarseToFine, configs: Configs) -> np.ndarray | None:
        """Tell ``opt`` the stored values among ``configs``; return the stored mask."""
        return None

    def recorder(self, opt: CoarseToFine, todo: Configs, offset: int) -> OnDone | None:
        """Return ``evaluate``'s ``on_done`` for ``todo`` (None: nothing to record)."""
        return None

    def asked(self, tid: int, before: int) -> None:
        """Record that trial ``tid`` was asked after ``before`` results (asynchronous)."""

    def told(
        self, opt: CoarseToFine, tid: int, value: float, error: str | None, seq: int
    ) -> None:
        """Record trial ``tid``'s result, the ``seq``-th to arrive (asynchronous)."""


class StudyJournal(Journal):
    """The journal of a search stored in a study of a file (see the module's text)."""

    writes = True

    def __init__(
        self, conn: sqlite3.Connection, rec: Study, d: int, budget: int | None = None
    ) -> None:
        self.conn, self.rec = conn, rec
        rec.load_trials(conn, d, budget)  # ids past a grid's budget: a damaged file
        self.stored = self.left = rec.n
        self.batches = int(rec.batch.max()) + 1 if rec.n else 0
        self.writer = TrialWriter(conn, rec)

    # -- synchronous rounds -------------------------------------------------------------
    def answer(self, opt: CoarseToFine, configs: Configs) -> np.ndarray:
        """Tell ``opt`` the stored values among ``configs``; return the stored mask."""
        rec = self.rec
        ids = configs.ids
        assert ids is not None
        have, rows = rec.find(ids)
        if not have.any():
            return have
        known = ids[have]
        rows = rows[have]
        self._check_same(known, np.ascontiguousarray(configs.unit[have]), rows)
        errors: list[str | None] | None = None
        if rec.errors:
            errors = [rec.errors.get(int(i)) for i in known]
        opt.tell(known, rec.value[rows], errors=errors, batch=rec.batch[rows])
        self.left -= known.shape[0]
        return have

    def recorder(self, opt: CoarseToFine, todo: Configs, offset: int) -> OnDone:
        """Return ``evaluate``'s ``on_done``: commit each batch or trial it finishes."""
        ids = todo.ids
        assert ids is not None
        unit = np.ascontiguousarray(todo.unit)
        _, rounds, retest_of = opt.trial_fields(ids)
        write = self.writer.write

        def on_done(
            start: int,
            stop: int,
            values: np.ndarray,
            errors: list[str | None],
            batch: np.ndarray,
        ) -> None:
            s = slice(start, stop)
            write(
                ids[s],
                unit[s],
                values[s],
                errors[s],
                rounds[s],
                batch[s] + offset,
                retest_of[s],
            )
            self.stored += stop - start
            self.new += stop - start

        return on_done

    # -- asynchronous search ------------------------------------------------------------
    def replay(self, opt: CoarseToFine) -> Configs | None:
        """Tell ``opt`` every stored trial, in the order the run that stored them did.

        Synchronous rounds: phase by phase, up to the first phase not wholly stored
        (a run replays as it goes, through :meth:`answer`; this is for reading a
        study). Asynchronous: the stored asks and tells in their interleaving; returns
        the trials that were asked but whose results were never stored (they were
        running when the run stopped), to be run again.
        """
        if not opt.asynchronous:
            while not opt.done:
                configs = opt.ask()
                if len(configs) == 0 or not self.answer(opt, configs).all():
                    break
            return None
        rec = self.rec
        before = rec.load_asks(self.conn)
        order = self._arrival_order(before)
        pending: list[int] = []
        told = 0
        asks = before.shape[0]
        if opt.budget is not None and asks > opt.budget:  # continued with less budget
            asks = opt.budget
            order = order[order < asks]
        for tid in range(asks):
            while told < before[tid] and told < order.shape[0]:
                self._tell_stored(opt, int(order[told]))
                told += 1
            c = opt.ask(1)
            got = c.ids
            if got is None or got.shape[0] != 1 or int(got[0]) != tid:
                self._mismatch(
                    tid, "was asked, but the optimiser now asks for no such trial"
                )
            have, rows = rec.find(got)
            if have[0]:
                self._check_same(got, np.ascontiguousarray(c.unit), rows)
            else:
                pending.append(tid)
        while told < order.shape[0]:
            self._tell_stored(opt, int(order[told]))
            told += 1
        self.left = 0
        if not pending:
            return None
        return opt.asked(np.array(pending, dtype=np.int64))

    def asked(self, tid: int, before: int) -> None:
        """Record the ask; it is committed with the next result stored."""
        self.writer.ask(tid, before)

    def told(
        self, opt: CoarseToFine, tid: int, value: float, error: str | None, seq: int
    ) -> None:
        """Commit trial ``tid``'s result, the ``seq``-th to arrive."""
        ids = np.array([tid], dtype=np.int64)
        unit, rounds, retest_of = opt.trial_fields(ids)
        self.writer.write(
            ids,
            unit,
            np.array([value]),
            [error],
            rounds,
            np.array([seq], dtype=np.int64),
            retest_of,
        )
        self.stored += 1
        self.new += 1

    # -- replay helpers -----------------------------------------------------------------
    def _arrival_order(self, before: np.ndarray) -> np.ndarray:
        """Return the stored trials' ids in the order their results arrived (checked)."""
        rec = self.rec
        order = np.empty(rec.n, dtype=np.int64)
        seq = rec.batch
        problem = None
        if rec.n and not np.array_equal(np.sort(seq), np.arange(rec.n)):
            problem = "the order in which its results arrived has gaps or repeats"
        elif rec.n and int(rec.ids[-1]) >= before.shape[0]:
            problem = f"trial {int(rec.ids[-1])} has no record of being asked"
        elif rec.n and np.any(before[rec.ids] > seq):
            problem = "a trial's result arrived before it was asked"
        elif before.shape[0] and int(before[-1]) > rec.n:
            problem = "a trial was asked after results that are not stored"
        if problem is not None:
            msg = (
                f"{rec.where} is damaged ({problem}); it is neither read nor written. "
                "Restore the file from a copy."
            )
            raise ValueError(msg)
        order[seq] = rec.ids
        return order

    def _tell_stored(self, opt: CoarseToFine, tid: int) -> None:
        rec = self.rec
        row = int(np.searchsorted(rec.ids, tid))
        opt.tell(
            [tid],
            [float(rec.value[row])],
            errors=[rec.errors.get(tid)],
            batch=[int(rec.batch[row])],
        )

    def _check_same(
        self, known: np.ndarray, asked: np.ndarray, rows: np.ndarray
    ) -> None:
        stored = self.rec.unit[rows]
        same = np.all(asked.view(np.uint64) == stored.view(np.uint64), axis=1)
        if not same.all():
            k = int(np.flatnonzero(~same)[0])
            self._mismatch(
                int(known[k]),
                f"was stored at unit coordinates {stored[k].tolist()!r} but the "
                f"optimiser now asks for {asked[k].tolist()!r}",
            )

    def _mismatch(self, tid: int, what: str) -> NoReturn:
        rec = self.rec
        msg = (
            f"study {rec.name!r} in {where(rec.path)} does not match this search: "
            f"trial {tid} {what}. Space, settings and seed are the same, so the file "
            f"was edited or the designs changed between hyperzoom {rec.version} (which "
            f"wrote it) and {__version__}."
        )
        raise ValueError(msg)


@contextmanager
def open_journal(
    storage: str | os.PathLike[str],
    study: str | None,
    space: Space,
    settings: dict[str, Any],
    rng: Any,
    workers: int | None,
    default_asynchronous: bool = False,
) -> Iterator[tuple[StudyJournal, CoarseToFine]]:
    """Open (or create) a search's study and hold its lock: its journal and optimiser.

    ``settings`` (those of :data:`SETTINGS`) are checked and normalised on a throwaway
    optimiser before anything is written; a stored study must match them (except its
    budget, which may change: the search is anytime), its space and its seed. With
    ``settings["asynchronous"]`` None, a stored study keeps its own, and a new one
    takes ``default_asynchronous``.
    """
    path, name = study_target(storage, study)
    given_seed = seed_record(rng)
    space_doc = space_to_json(space)
    flexible = settings["asynchronous"] is None
    if flexible:
        settings["asynchronous"] = default_asynchronous
    probe = CoarseToFine(space, **settings, rng=0, workers=1)
    normal = {k: getattr(probe, k) for k in SETTINGS}
    free = () if normal["strategy"] == "grid" else _FREE_SETTINGS  # grids fit budgets
    with study_lock(path, name):
        conn = connect(path, create=True)
        try:
            with translated(path):
                rec = open_record(
                    conn,
                    path,
                    name,
                    space_doc,
                    normal,
                    given_seed,
                    free=free,
                    check=_SearchCheck(normal, flexible),
                )
                opt = CoarseToFine(
                    space, **normal, rng=rng_of(rec.seed), workers=workers
                )
                yield StudyJournal(conn, rec, space.d), opt
        finally:
            conn.close()


class _SearchCheck:
    """``open_record``'s check of a stored search, before it is compared with this run.

    ``asynchronous=None`` (the default) resumes a stored study the way it was run,
    whatever executor this run has; a study stored before asynchronous searches could
    be stored is synchronous.
    """

    def __init__(self, settings: dict[str, Any], flexible: bool) -> None:
        self.settings, self.flexible = settings, flexible

    def __call__(self, rec: Study) -> None:
        if "method" in rec.settings:
            return  # a scheduler's study: open_record refuses it, naming both
        check_study(rec)
        stored = bool(rec.settings.setdefault("asynchronous", False))
        if self.flexible:
            self.settings["asynchronous"] = stored
