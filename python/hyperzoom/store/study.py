"""One study in a file: its record, its trials, and the rows a run appends.

A :class:`Study` is a stored record (name, space, settings, seed, version) checked as
untrusted data, with the study's trials once :meth:`Study.load_trials` has read them.
:func:`open_record` creates a study or checks that a run matches the stored one;
:class:`TrialWriter` commits trials, and :meth:`Study.load_asks` reads when each trial
of an asynchronous run was asked. What the settings mean is for the search or
scheduler that reads them: nothing here knows of either.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..space import Space
from . import integrity
from .file import immediate, study_select, translated, where
from .records import (
    KINDS,
    json_text,
    same_seed,
    seed_record,
    space_difference,
    space_from_json,
)

__all__ = [
    "Study",
    "TrialWriter",
    "article",
    "find_study",
    "kind",
    "open_record",
    "study_target",
]


class Study:
    """One stored study: its record and (once loaded) its trials, indexed by trial id.

    Every field is checked as untrusted data (see :mod:`hyperzoom.store.integrity`);
    what the settings must hold is for the search or scheduler that reads them.
    """

    def __init__(self, path: Path, row: tuple[Any, ...]) -> None:
        self.path = path
        self.id, self.name = int(row[0]), str(row[1])
        place = self.where = f"study {self.name!r} in {where(path)}"
        self.checked = row[7] is not None
        if self.checked and integrity.study_hash(row) != row[7]:
            msg = (
                f"{place} is damaged (its record does not match its checksum); it is "
                "neither read nor written. Restore the file from a copy."
            )
            raise ValueError(msg)
        self.space_doc: list[dict[str, Any]] = integrity.parse_record(
            row[2], "space", place
        )
        self.settings: dict[str, Any] = integrity.parse_record(
            row[3], "settings", place
        )
        self.seed: dict[str, Any] = integrity.parse_record(row[4], "seed", place)
        integrity.check_space_doc(self.space_doc, place, list(KINDS))
        integrity.check_seed(self.seed, place)
        integrity.check_settings(self.settings, place, None)
        self.version = str(row[5])
        self.created = str(row[6])

    def space(self) -> Space:
        """Rebuild the stored space (a ``ValueError`` naming the study if it cannot)."""
        try:
            return space_from_json(self.space_doc)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            msg = (
                f"{self.where} stores a space this hyperzoom cannot rebuild: "
                f"{type(exc).__name__}: {exc}"
            )
            raise ValueError(msg) from exc

    def load_trials(self, conn: sqlite3.Connection, d: int, budget: int | None) -> None:
        """Read the study's trials; memory is by the rows stored, never by the budget."""
        crc = ", crc" if self.checked else ", NULL"
        rows = conn.execute(
            "SELECT id, unit, value, error, round, batch, retest_of"
            + crc
            + " FROM hz_trial WHERE study=? ORDER BY id",
            (self.id,),
        ).fetchall()
        n = len(rows)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
        limit = budget if budget is not None else np.iinfo(np.int64).max
        if n and (ids[0] < 0 or ids[-1] >= limit):
            msg = (
                f"{self.where} holds trial id "
                f"{int(ids[-1] if ids[-1] >= limit else ids[0])}, outside its budget "
                f"of {budget}: the file is damaged."
            )
            raise ValueError(msg)
        if any(len(r[1]) != d * 8 for r in rows):
            msg = (
                f"{self.where} holds unit coordinates that are not {d} float64 each: "
                "the file is damaged."
            )
            raise ValueError(msg)
        unit = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float64)
        self.unit = unit.reshape(n, d)
        self.value = np.array(
            [np.nan if r[2] is None else r[2] for r in rows], dtype=np.float64
        )
        errors = [r[3] for r in rows]
        self.batch = np.fromiter((r[5] for r in rows), dtype=np.int64, count=n)
        if self.checked and n:
            expected = integrity.trial_hashes(
                self.id,
                ids,
                self.unit,
                self.value,
                errors,
                np.fromiter((r[4] for r in rows), dtype=np.int64, count=n),
                self.batch,
                np.fromiter((r[6] for r in rows), dtype=np.int64, count=n),
            )
            stored = np.fromiter((r[7] for r in rows), dtype=np.int64, count=n)
            bad = np.flatnonzero(expected != stored)
            if bad.size:
                msg = (
                    f"{self.where} is damaged: {bad.size} trial(s) do not match their "
                    f"checksums (the first: trial {int(ids[bad[0]])}). It is neither "
                    "read nor written; restore the file from a copy."
                )
                raise ValueError(msg)
        self.ids = ids
        self.errors = {int(r[0]): r[3] for r in rows if r[3] is not None}
        self.n = n

    def load_asks(self, conn: sqlite3.Connection) -> np.ndarray:
        """Return, for each asked trial id ``0, 1, ...``, how many results preceded it.

        Checked as untrusted data: ids without a gap, a count that never decreases, the
        rows' checksums.
        """
        rows = conn.execute(
            "SELECT id, before, crc FROM hz_ask WHERE study=? ORDER BY id", (self.id,)
        ).fetchall()
        n = len(rows)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
        before = np.fromiter((r[1] for r in rows), dtype=np.int64, count=n)
        problem = None
        if not np.array_equal(ids, np.arange(n)):
            problem = "the ids of its asked trials have gaps"
        elif n and (before[0] < 0 or np.any(np.diff(before) < 0)):
            problem = "its asked trials are out of order"
        elif any(integrity.ask_hash(self.id, r[0], r[1]) != r[2] for r in rows):
            problem = "an asked trial does not match its checksum"
        if problem is not None:
            msg = (
                f"{self.where} is damaged ({problem}); it is neither read nor written. "
                "Restore the file from a copy."
            )
            raise ValueError(msg)
        return before

    def find(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (whether each id is stored, its row where it is)."""
        rows = np.searchsorted(self.ids, ids)
        rows = np.minimum(rows, max(self.n - 1, 0))
        have = self.ids[rows] == ids if self.n else np.zeros(ids.shape[0], dtype=bool)
        return have, rows


def find_study(conn: sqlite3.Connection, path: Path, name: str | None) -> Study:
    """Return study ``name`` of the file (the only one when ``name`` is None)."""
    rows = conn.execute(study_select(conn) + " ORDER BY id").fetchall()
    names = [r[1] for r in rows]
    if name is None:
        if len(rows) == 1:
            return Study(path, rows[0])
        if not rows:
            msg = f"{where(path)} holds no studies."
            raise ValueError(msg)
        msg = f"{where(path)} holds {len(rows)} studies; choose one with `name`: {names!r}."
        raise ValueError(msg)
    for r in rows:
        if r[1] == name:
            return Study(path, r)
    msg = f"{where(path)} holds no study named {name!r}; it holds {names!r}."
    raise ValueError(msg)


# ---------------------------------------------------------------------------------------


def study_target(storage: Any, study: Any) -> tuple[Path, str]:
    """Check ``storage=`` and ``study=`` of a stored run; return the path and the name."""
    if study is None:
        study = "default"
    if not isinstance(study, str) or not study:
        msg = f"`study` must be a non-empty string, but got {study!r}."
        raise TypeError(msg)
    if not isinstance(storage, (str, os.PathLike)):
        msg = f"`storage` must be a file path, but got {storage!r}."
        raise TypeError(msg)
    return Path(storage), study


def kind(settings: dict[str, Any]) -> str:
    """Return what ran a study: ``"search"``, or the scheduler its settings name."""
    return str(settings.get("method", "search"))


def article(word: str) -> str:
    """Return ``word`` with its indefinite article ("an asha", "a search")."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def open_record(
    conn: sqlite3.Connection,
    path: Path,
    name: str,
    space_doc: list[dict[str, Any]],
    settings: dict[str, Any],
    seed: dict[str, Any] | None,
    *,
    free: tuple[str, ...] = (),
    check: Callable[[Study], None] | None = None,
) -> Study:
    """Return the stored study ``name``, creating it, or checking that it matches.

    ``settings`` are JSON data, every key of which must match a stored study's
    (``"method"`` names a scheduler; a search has none), except the ``free`` keys,
    which are updated to this run's values. ``check(record)``, when given, is run on
    the stored record before it is compared (the rules of whoever reads it).
    """
    select = study_select(conn)
    with immediate(conn):
        row = conn.execute(
            select + " WHERE name=?",
            (name,),
        ).fetchone()
        if row is None:
            if seed is None:  # a fresh study without a seed: draw one and keep it
                fresh = np.random.SeedSequence().entropy
                assert isinstance(fresh, int)
                seed = seed_record(fresh)
            created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            conn.execute(
                "INSERT INTO hz_study (name, space, settings, seed, version, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    name,
                    json_text(space_doc),
                    json_text(settings),
                    json_text(seed),
                    __version__,
                    created,
                ),
            )
            row = conn.execute(select + " WHERE name=?", (name,)).fetchone()
            crc = integrity.study_hash(row)
            conn.execute("UPDATE hz_study SET crc=? WHERE id=?", (crc, row[0]))
            row = (*row[:7], crc)
    rec = Study(path, row)
    if check is not None:
        check(rec)  # the reader's own rules first (an older search's study is refused)
    place = f"study {name!r} in {where(path)}"
    if kind(rec.settings) != kind(settings):
        msg = (
            f"{place} is {article(kind(rec.settings))} study; it cannot be resumed by "
            f"{kind(settings)}. Use another study name."
        )
        raise ValueError(msg)
    diff = space_difference(rec.space_doc, space_doc)
    if diff is not None:
        msg = f"{place} was run on another space: {diff}. Use another study name."
        raise ValueError(msg)
    for k, value in settings.items():
        if k not in free and json_text(rec.settings.get(k)) != json_text(value):
            msg = (
                f"{place} was run with {k}={rec.settings.get(k)!r}, but this "
                f"{kind(settings)} has {k}={value!r}. Use the stored setting to "
                "resume it, or another study name."
            )
            raise ValueError(msg)
    if seed is not None and not same_seed(rec.seed, seed):
        msg = (
            f"{place} was run with seed {rec.seed['entropy']!r} (spawn key "
            f"{rec.seed['spawn_key']!r}), but this {kind(settings)} has seed "
            f"{seed['entropy']!r} (spawn key {seed['spawn_key']!r}). Pass the stored "
            "seed (or rng=None) to resume it, or use another study name."
        )
        raise ValueError(msg)
    changed = {
        k: settings[k]
        for k in free
        if json_text(rec.settings.get(k)) != json_text(settings[k])
    }
    if changed and set(rec.settings) >= set(changed):
        rec.settings.update(changed)
        with immediate(conn):
            conn.execute(
                "UPDATE hz_study SET settings=? WHERE id=?",
                (json_text(rec.settings), rec.id),
            )
            # the record's checksum covers the settings: keep it in step
            row = conn.execute(select + " WHERE id=?", (rec.id,)).fetchone()
            conn.execute(
                "UPDATE hz_study SET crc=? WHERE id=?",
                (integrity.study_hash(row), rec.id),
            )
    return rec


_INSERT = (
    "INSERT INTO hz_trial (study, id, unit, value, error, round, batch, retest_of, "
    "crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ASK = "INSERT INTO hz_ask (study, id, before, crc) VALUES (?, ?, ?, ?)"


class TrialWriter:
    """Commits a study's trials: each :meth:`write` is one transaction.

    Asks recorded with :meth:`ask` wait in memory and are committed with the next
    trials written: an ask matters to a replay only once a later result is stored.
    """

    def __init__(self, conn: sqlite3.Connection, study: Study) -> None:
        self.conn, self.study = conn, study
        self.asks: list[tuple[int, int, int, int]] = []

    def ask(self, tid: int, before: int) -> None:
        """Record that trial ``tid`` was asked after ``before`` results were told."""
        sid = self.study.id
        self.asks.append((sid, tid, before, integrity.ask_hash(sid, tid, before)))

    def write(
        self,
        ids: np.ndarray,
        unit: np.ndarray,
        values: np.ndarray,
        errors: Sequence[str | None],
        rounds: np.ndarray,
        batch: np.ndarray,
        retest_of: np.ndarray,
    ) -> None:
        """Commit trials ``ids`` (``values``: NaN or inf where a trial failed)."""
        m = ids.shape[0]
        unit = np.ascontiguousarray(unit, dtype=np.float64)
        width = unit.shape[1] * 8
        blob = unit.tobytes()
        vals = np.where(np.isfinite(values), values, np.nan)
        crc = integrity.trial_hashes(
            self.study.id, ids, unit, vals, errors, rounds, batch, retest_of
        )
        rows = zip(
            [self.study.id] * m,
            ids.tolist(),
            [blob[i * width : (i + 1) * width] for i in range(m)],
            [x if math.isfinite(x) else None for x in values.tolist()],
            errors,
            rounds.tolist(),
            batch.tolist(),
            retest_of.tolist(),
            crc.tolist(),
        )
        conn = self.conn
        try:
            with translated(self.study.path), immediate(conn):
                if self.asks:
                    conn.executemany(_INSERT_ASK, self.asks)
                conn.executemany(_INSERT, rows)
        except sqlite3.IntegrityError as exc:
            msg = (
                f"study {self.study.name!r} in {where(self.study.path)} received "
                "trials from another process while this one ran; run each study from "
                "one process at a time."
            )
            raise RuntimeError(msg) from exc
        self.asks = []
