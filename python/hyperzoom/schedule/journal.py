"""Stored schedules: the calls of ``train`` in a study file, and resuming from them.

A scheduler given ``storage=`` runs with a :class:`StoredCaller`. Every call of
``train`` gets an id: its position in the schedule's deterministic order of calls (a
rung, or a PBT interval, takes consecutive ids in run order; ASHA numbers its calls in
the order their results were reported). A completed call is committed at once, as one
row of ``hz_call`` (run, budget, unit coordinates of the configuration it trained,
loss or error, and the state when a codec is given).

Started again with the same study, the scheduler is re-created from the stored
settings and seed and makes the same decisions: each call it wants that the file holds
is answered from the file (after checking that run, budget and configuration are the
same, bit for bit); the others run. ASHA also stores, for each reported call, its start
number (``seq``) and how many calls had been started when it was reported
(``before``): replaying these reproduces the interleaving of starts and results of the
first run, so its rungs and the calls in flight at the crash are known exactly.

States are stored only with a codec (``"json"``, or the user's ``encode``/``decode``
pair): a file holds data, never pickles. Only the states that may still be needed are
kept: drivers hold :class:`_Stored` references naming the row of each state, so a
state is cleared once no run refers to it any more (ASHA: once the run's newer state
is committed), and a stopped run's when it is stopped. A call a resumed schedule must run, whose run's
state was not stored, is made with ``state=None``: ``train`` retrains from scratch up
to the budget.
"""

from __future__ import annotations

import copy
import json
import math
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

import numpy as np

from .._trial import Lost
from .._version import __version__
from ..executors import is_executor_failure
from ..space import Space
from ..store import (
    Study,
    StudyLock,
    connect,
    immediate,
    integrity,
    open_record,
    rng_of,
    seed_record,
    space_to_json,
    study_target,
    translated,
    where,
)
from ._runs import Caller, Run, Stop, TrainFn, run_calls, unpack

if TYPE_CHECKING:
    from .async_halving import Asha

__all__ = ["StoredCaller", "open_caller", "replay_caller"]

_Codec = tuple[Callable[[Any], bytes], Callable[[bytes], Any]]

_INSERT = (
    "INSERT INTO hz_call (study, id, run, budget, unit, value, error, state, seq, "
    "before, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


_CLEAR = "UPDATE hz_call SET state=NULL WHERE study=? AND id=?"


_NO_VALUE: Any = object()


class _Stored:
    """A run's state and the call ``cid`` whose row holds it.

    ``value`` is the state itself when this process has it (a call it ran); otherwise
    it is read from row ``cid`` when needed (``held``: whether the row has it; a state
    that was never stored is handed to ``train`` as None). Drivers keep these in place
    of states, so the caller knows which rows are still referenced, whoever holds them
    (a PBT member that copied a donor's state, or kept its own after a failure).
    """

    __slots__ = ("cid", "held", "value")

    def __init__(self, cid: int, *, held: bool, value: Any = _NO_VALUE) -> None:
        self.cid, self.held, self.value = cid, held, value

    def __deepcopy__(self, memo: Any) -> _Stored:
        if self.value is _NO_VALUE:
            return self  # only a reference to a row
        return _Stored(self.cid, held=self.held, value=copy.deepcopy(self.value, memo))


def _json_encode(state: Any) -> bytes:
    return json.dumps(state).encode()  # inf and nan round-trip, as in Python's json


def _json_decode(blob: bytes) -> Any:
    return json.loads(blob)


def _as_codec(state_codec: Any) -> _Codec | None:
    if state_codec is None:
        return None
    if isinstance(state_codec, str):
        if state_codec != "json":
            msg = (
                "`state_codec` must be 'json' or a pair (encode, decode), but got "
                f"{state_codec!r}."
            )
            raise ValueError(msg)
        return _json_encode, _json_decode
    if (
        isinstance(state_codec, tuple)
        and len(state_codec) == 2
        and all(callable(f) for f in state_codec)
    ):
        return state_codec[0], state_codec[1]
    msg = (
        "`state_codec` must be 'json' or a pair of functions (encode(state) -> bytes, "
        f"decode(bytes) -> state), but got {state_codec!r}."
    )
    raise TypeError(msg)


class _Row:
    __slots__ = ("before", "budget", "error", "held", "run", "seq", "unit", "value")

    def __init__(self, r: tuple[Any, ...]) -> None:
        self.run, self.budget, self.unit = int(r[0]), float(r[1]), bytes(r[2])
        self.value = None if r[3] is None else float(r[3])
        self.error = None if r[4] is None else str(r[4])
        self.held = bool(r[5])  # the state itself is read only when needed
        self.seq, self.before = int(r[6]), int(r[7])


def _load_rows(conn: sqlite3.Connection, study: Study) -> dict[int, _Row]:
    tables = {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    if "hz_call" not in tables:
        return {}
    crc = ", crc" if study.checked else ", NULL"
    rows = conn.execute(
        "SELECT id, run, budget, unit, value, error, state IS NOT NULL, seq, before"
        + crc
        + " FROM hz_call WHERE study=? ORDER BY id",
        (study.id,),
    ).fetchall()
    if study.checked:
        for r in rows:
            expected = integrity.call_hash(
                study.id, r[0], r[1], r[2], r[3], r[4], r[5], r[7], r[8]
            )
            if expected != r[9]:
                msg = (
                    f"study {study.name!r} in {where(study.path)} is damaged: call "
                    f"{r[0]} does not match its checksum. It is neither read nor "
                    "written; restore the file from a copy."
                )
                raise ValueError(msg)
    return {int(r[0]): _Row(r[1:9]) for r in rows}


class StoredCaller(Caller):
    """A :class:`~hyperzoom.schedule._runs.Caller` that answers and stores calls in a file.

    With ``dry`` (``load_study``) nothing runs and nothing is written: the replay stops
    at the first call the file does not hold.
    """

    def __init__(
        self,
        train: TrainFn,
        executor: Executor | None,
        conn: sqlite3.Connection,
        study: Study,
        codec: _Codec | None,
        *,
        dry: bool,
    ) -> None:
        super().__init__(train, executor)
        self.conn, self.study, self.codec, self.dry = conn, study, codec, dry
        self.lock: StudyLock | None = None  # held by a caller that writes
        with translated(study.path):
            self.rows = _load_rows(conn, study)
        self.next = 0  # id of the next call
        # run -> ids of its calls whose state the file holds (cleared by id, the
        # primary key: no scan of the table per call)
        self.held: dict[int, list[int]] = {}
        for cid, row in sorted(self.rows.items()):
            if row.held:
                self.held.setdefault(row.run, []).append(cid)

    # -- states ------------------------------------------------------------------------
    def live_state(self, state: Any) -> Any:
        """Return the state to hand to ``train``: a stored one is read and decoded."""
        if not isinstance(state, _Stored):
            return state
        if state.value is not _NO_VALUE:
            return state.value
        if not state.held or self.codec is None:
            return None  # never stored: train retrains from scratch
        with translated(self.study.path):
            row = self.conn.execute(
                "SELECT state FROM hz_call WHERE study=? AND id=?",
                (self.study.id, state.cid),
            ).fetchone()
        if row is None or row[0] is None:  # pragma: no cover - cleared while in use
            return None
        try:
            return self.codec[1](bytes(row[0]))
        except Exception as exc:
            msg = (
                f"`state_codec` could not decode the state stored by call {state.cid} "
                f"of study {self.study.name!r} in {where(self.study.path)}: {exc!r}"
            )
            raise ValueError(msg) from exc

    def final_state(self, state: Any) -> Any:
        """Return the best run's state for the result (None when only replaying)."""
        return None if self.dry else self.live_state(state)

    # -- answering from the file ---------------------------------------------------------
    def _answer(
        self, cid: int, row: _Row, run: Run, budget: Any
    ) -> tuple[float, Any, str | None]:
        unit = np.ascontiguousarray(run.unit, dtype=np.float64).tobytes()
        if row.run != run.id or row.budget != float(budget) or row.unit != unit:
            stored = np.frombuffer(row.unit, dtype=np.float64).tolist()

            msg = (
                f"study {self.study.name!r} in {where(self.study.path)} does not match "
                f"this schedule: call {cid} was stored as run {row.run} to budget "
                f"{row.budget!r} at unit coordinates {stored!r}, but the schedule now "
                f"makes it as run {run.id} to budget {budget!r} at "
                f"{run.unit.tolist()!r}. Space, settings and seed are the same, so the "
                f"file was edited or the schedule changed between hyperzoom "
                f"{self.study.version} (which wrote it) and {__version__}."
            )
            raise ValueError(msg)
        if row.error is not None or row.value is None:
            return math.nan, None, row.error or "failed"
        return row.value, _Stored(cid, held=row.held), None

    # -- storing -------------------------------------------------------------------------
    def _write(
        self,
        cid: int,
        run: Run,
        budget: Any,
        result: tuple[float, Any, str | None],
        seq: int,
        before: int,
        *,
        supersede: bool,
    ) -> bool:
        """Commit call ``cid``; return whether its state was stored."""
        loss, state, err = result
        blob: bytes | None = None
        failure: Exception | None = None
        if self.codec is not None and err is None:
            try:
                out = self.codec[0](state)
                if not isinstance(out, (bytes, bytearray, memoryview)):
                    msg = f"encode returned {type(out).__name__}, not bytes"
                    raise TypeError(msg)
                blob = bytes(out)
            except Exception as exc:  # noqa: BLE001 - reported after the row is safe
                failure = exc
        unit = np.ascontiguousarray(run.unit, dtype=np.float64).tobytes()
        value = loss if err is None and math.isfinite(loss) else None
        crc = integrity.call_hash(
            self.study.id, cid, run.id, float(budget), unit, value, err, seq, before
        )
        row = (
            self.study.id,
            cid,
            run.id,
            float(budget),
            unit,
            value,
            err,
            blob,
            seq,
            before,
            crc,
        )
        older = self.held.get(run.id, []) if supersede and blob is not None else []
        conn = self.conn
        with translated(self.study.path):
            try:
                with immediate(conn):
                    conn.execute(_INSERT, row)
                    if older:
                        conn.executemany(_CLEAR, [(self.study.id, k) for k in older])
            except sqlite3.IntegrityError as exc:
                msg = (
                    f"study {self.study.name!r} in {where(self.study.path)} received "
                    "calls from another process while this one ran; run each study "
                    "from one process at a time."
                )
                raise RuntimeError(msg) from exc
        if blob is not None:
            self.held[run.id] = [*([] if supersede else self.held.get(run.id, [])), cid]
        if failure is not None:
            msg = (
                f"`state_codec` could not encode the state of run {run.id} at budget "
                f"{budget!r} (the call's loss is stored, its state is not): {failure!r}"
            )
            raise TypeError(msg) from failure
        return blob is not None

    def _clear(self, ids: list[int]) -> None:
        if self.dry or not ids:
            return
        with translated(self.study.path), immediate(self.conn):
            self.conn.executemany(_CLEAR, [(self.study.id, k) for k in ids])

    def settle(self, runs: Sequence[Run], before: float = math.inf) -> None:
        """Clear the states of ``runs`` stored before call ``before``, unless referred to.

        A state some run of ``runs`` holds now (its own, a donor's it copied, or its
        previous one kept after a failed interval) is kept.
        """
        if self.dry:
            return
        keep = {r.state.cid for r in runs if isinstance(r.state, _Stored)}
        ids: list[int] = []
        for r in runs:
            held = self.held.get(r.id)
            if held:
                ids += [k for k in held if k < before and k not in keep]
                self.held[r.id] = [k for k in held if k >= before or k in keep]
        self._clear(ids)

    def check(self, out: Any) -> None:
        """Refuse an executor failure: what completed is stored, the rest reruns."""
        if is_executor_failure(out):  # ASHA: stop at once, what is in flight reruns
            lost = Lost("call(s) of train")
            lost.add(out)
            lost.raise_if_any(self.next)

    # -- the driver's interface ------------------------------------------------------------
    def batch(
        self, runs: Sequence[Run], budget: Any, rung: int | None = None
    ) -> list[tuple[float, Any, str | None]]:
        """Answer the calls the file holds, run and store the others (replay: stop)."""
        first = self.next
        self.next += len(runs)
        out: list[Any] = [None] * len(runs)
        todo: list[int] = []
        for i, r in enumerate(runs):
            row = self.rows.get(first + i)
            if row is None:
                todo.append(i)
            else:
                out[i] = self._answer(first + i, row, r, budget)
        if not todo:
            return out
        if self.dry:  # record what is stored, then stop
            for i, r in enumerate(runs):
                if out[i] is not None:
                    self.budget_used += r.record(budget, *out[i])
                    self.n_calls += 1
                    if rung is not None:
                        r.rung = rung
            raise Stop
        self.settle(runs, first)  # states nobody will train from again
        calls = [(runs[i].config, budget, self.live_state(runs[i].state)) for i in todo]
        lost = Lost("call(s) of train")

        def done(k: int, raw: Any) -> None:
            i = todo[k]
            if is_executor_failure(raw):
                lost.add(raw)
                return
            loss, state, err = unpack(raw)
            held = self._write(
                first + i,
                runs[i],
                budget,
                (loss, state, err),
                first + i,
                0,
                supersede=False,
            )
            if self.codec is not None and err is None:
                state = _Stored(first + i, held=held, value=state)
            out[i] = (loss, state, err)

        run_calls(self.train, calls, self.executor, on_done=done)
        lost.raise_if_any(len(todo) - lost.count)
        return out

    def drop(self, runs: Sequence[Run]) -> None:
        """Forget the states of ``runs``, in memory and in the file."""
        super().drop(runs)
        ids = [k for r in runs for k in self.held.pop(r.id, [])]
        self._clear(ids)

    def asha_resume(self, drive: Asha) -> tuple[list[tuple[int, Run, int]], int]:
        """Replay the stored ASHA calls into ``drive`` in the order they were reported.

        Returns the calls started and never reported, and the count of starts; a dry
        caller raises :class:`Stop` once replayed.
        """
        started: list[tuple[Run, int]] = []  # by start number
        reported: set[int] = set()
        cid = 0
        while cid in self.rows:
            row = self.rows[cid]
            while len(started) < row.before:
                job = drive.next_job(math.inf)
                if job is None:
                    break
                started.append(job)
            if not 0 <= row.seq < len(started) or row.seq in reported:
                msg = (
                    f"study {self.study.name!r} in {where(self.study.path)} holds ASHA "
                    f"call {cid} (start {row.seq}, after {row.before} starts) that this "
                    "schedule never starts: the file is damaged."
                )
                raise ValueError(msg)
            run, rung = started[row.seq]
            drive.finish(
                self, run, rung, self._answer(cid, row, run, drive.budgets[rung])
            )
            reported.add(row.seq)
            cid += 1
        if len(self.rows) != cid:  # ASHA writes its calls in order, with no gaps
            msg = (
                f"study {self.study.name!r} in {where(self.study.path)} holds ASHA "
                f"calls after a missing call {cid}: the file is damaged."
            )
            raise ValueError(msg)
        self.next = cid
        if self.dry:
            raise Stop
        pending = [(s, *started[s]) for s in range(len(started)) if s not in reported]
        return pending, len(started)

    def asha_done(
        self,
        seq: int,
        before: int,
        run: Run,
        rung: int,
        result: tuple[float, Any, str | None],
    ) -> None:
        """Store ASHA's call ``seq``, superseding the run's older states."""
        cid = self.next
        self.next += 1
        # A run is only ever continued from its latest state: older ones go.
        self._write(cid, run, run.budget, result, seq, before, supersede=True)

    def close(self) -> None:
        """Close the connection and release the study's lock."""
        self.conn.close()
        if self.lock is not None:
            self.lock.release()


def open_caller(
    method: str,
    train: TrainFn,
    space: Space,
    executor: Executor | None,
    settings: dict[str, Any],
    rng: Any,
    storage: Any,
    study: Any,
    state_codec: Any,
) -> tuple[StoredCaller, np.random.SeedSequence]:
    """Open (or create) the study of a scheduler; return its caller and seed."""
    codec = _as_codec(state_codec)
    path, name = study_target(storage, study)
    seed = seed_record(rng)
    space_doc = space_to_json(space)
    lock = StudyLock(path, name)
    lock.acquire()
    try:
        conn = connect(path, create=True)
    except BaseException:
        lock.release()
        raise
    try:
        with translated(path):
            rec = open_record(
                conn,
                path,
                name,
                space_doc,
                {"method": method, **settings},
                seed,
                check=_older_schedule,
            )
        caller = StoredCaller(train, executor, conn, rec, codec, dry=False)
    except BaseException:
        conn.close()
        lock.release()
        raise
    caller.lock = lock
    return caller, rng_of(rec.seed)


def _older_schedule(rec: Study) -> None:
    """Read a schedule stored before ``sampler=`` existed as drawn at random."""
    if "method" in rec.settings:
        rec.settings.setdefault("sampler", "random")


def _never(config: Any, budget: Any, state: Any) -> Any:  # pragma: no cover
    msg = "a study is only replayed here; train is never called"
    raise AssertionError(msg)


def replay_caller(conn: sqlite3.Connection, study: Study) -> StoredCaller:
    """Return a dry caller holding ``study``'s calls (read in the caller's snapshot)."""
    return StoredCaller(_never, None, conn, study, None, dry=True)
