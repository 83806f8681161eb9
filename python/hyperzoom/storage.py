"""The study store: studies that survive a crash, in one SQLite file.

``hz.search(..., storage="study.db", study="name")`` writes every trial to an SQLite
file (the ``sqlite3`` module of the standard library, in WAL mode) as it completes:
one transaction per batch handed to a vectorised objective, one per trial of a scalar
objective. A run killed at any moment (even ``kill -9``) resumes when it is started
again with the same study: the optimiser is re-created from the stored space, settings
and seed, and because coarse to fine is deterministic given its seed and the values it
is told, it asks for exactly the trials of the first run. Trials already stored are
told their stored values (after checking, bit for bit, that the optimiser asks for the
same unit coordinates); only the others are evaluated. The final trials equal those of
an uninterrupted run with the same seed.

One file holds any number of studies. Each stores its space (distribution kinds,
bounds, options and weights, as JSON), the seed (an ``int``, or a ``SeedSequence``'s
entropy and spawn key), the settings that shape the search and the library version.
The file holds data only, never code: no pickle, so opening a study file never runs
anything.

The schedulers (``hz.successive_halving``, ``hz.hyperband``, ``hz.asha``, ``hz.pbt``)
store every call of ``train`` the same way (table ``hz_call``); see "Stored schedules"
in :mod:`hyperzoom.schedule`. A study's settings record its method (``"method"``;
absent for a search).

Schema (version 3; ``PRAGMA application_id`` marks the file as hyperzoom's and
``PRAGMA user_version`` holds the schema version; an older file is brought to version 3
when it is next opened for writing: version 1 gains ``hz_call``, and every row gains its
checksum)::

    hz_study(id, name UNIQUE, space JSON, settings JSON, seed JSON, version, created,
             crc)
    hz_trial(study, id, unit BLOB (d float64, native order), value REAL (NULL: failed),
             error TEXT, round, batch, retest_of, crc)    PRIMARY KEY (study, id)
    hz_call(study, id, run, budget REAL, unit BLOB, value REAL (NULL: failed),
            error TEXT, state BLOB (only with a state codec), seq, before, crc)
                                                          PRIMARY KEY (study, id)

A study file is untrusted input (see :mod:`hyperzoom._integrity`): every open checks
the whole file (SQLite's integrity check, the tables' columns and field types, rows of
no study) before anything is read or written, every row carries a checksum of its
fields (``crc``), and the stored space, settings and seed are checked as data before
anything is built from them. A damaged or hand-edited file is refused with a
``ValueError`` naming the file, and is never written to.

A stored run holds a lock on its study (a small ``<file>-<hash>.lock`` beside the
file), so a second process that starts the same study while the first runs is refused
at once with a ``ValueError`` naming the study; different studies of one file run
side by side. A study file on a read-only medium can be read (``load_study``,
``hyperzoom show``); running it needs a writable one.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> import hyperzoom as hz
>>> path = os.path.join(tempfile.mkdtemp(), "study.db")
>>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), act=hz.Choice(["relu", "tanh"]))
>>> def loss(c):
...     return (np.log10(c["lr"]) + 2.5) ** 2 + (c["act"] == "tanh")
>>> r = hz.search(loss, space, budget=100, rng=20241128, storage=path, study="demo")
>>> hz.list_studies(path)
['demo']
>>> again = hz.load_study(path)
>>> again.best == r.best, len(again.trials)
(True, 100)
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from . import _integrity
from ._validation import as_count, check_size
from .evaluate import evaluate
from .optimizer import CoarseToFine
from .results import SearchResult
from .search import _progress_bar
from .space import (
    Choice,
    Configs,
    Distribution,
    IntLogUniform,
    IntUniform,
    InvLogUniform,
    LogUniform,
    PowerOfTwo,
    Space,
    Uniform,
)

__all__ = ["SCHEMA_VERSION", "list_studies", "load_study"]

#: Version of the file layout this module writes; files with a larger one are refused.
SCHEMA_VERSION = 3
#: ``PRAGMA application_id`` of a hyperzoom study file ("hzst").
APPLICATION_ID = 0x687A7374
#: The distributions a study can store, by the name written to the file.
_KINDS: dict[str, type[Distribution]] = {
    cls.__name__: cls
    for cls in (
        Uniform,
        LogUniform,
        InvLogUniform,
        IntUniform,
        IntLogUniform,
        PowerOfTwo,
        Choice,
    )
}
#: The settings of ``hz.search`` that decide which trials are asked (stored, compared
#: on resume). Execution details (executor, batch_size, mode, workers) are free.
SETTINGS = (
    "budget",
    "strategy",
    "round_size",
    "first_round",
    "keep",
    "min_width",
    "retest",
    "retest_every",
    "minimize",
)
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

#: The columns of a study record, in the order ``_Study`` reads them (and its checksum,
#: NULL in files older than schema 3).
_STUDY_SELECT = (
    "SELECT id, name, space, settings, seed, version, created{crc} FROM hz_study"
)

#: The calls of ``train`` by stored schedules (added in schema 2).
_CALL_SCHEMA = """
CREATE TABLE IF NOT EXISTS hz_call (
    study INTEGER NOT NULL REFERENCES hz_study(id),
    id INTEGER NOT NULL,
    run INTEGER NOT NULL,
    budget REAL NOT NULL,
    unit BLOB NOT NULL,
    value REAL,
    error TEXT,
    state BLOB,
    seq INTEGER NOT NULL,
    before INTEGER NOT NULL,
    crc INTEGER,
    PRIMARY KEY (study, id)
);
"""

_SCHEMA = (
    """
CREATE TABLE hz_study (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    space TEXT NOT NULL,
    settings TEXT NOT NULL,
    seed TEXT NOT NULL,
    version TEXT NOT NULL,
    created TEXT NOT NULL,
    crc INTEGER
);
CREATE TABLE hz_trial (
    study INTEGER NOT NULL REFERENCES hz_study(id),
    id INTEGER NOT NULL,
    unit BLOB NOT NULL,
    value REAL,
    error TEXT,
    round INTEGER NOT NULL,
    batch INTEGER NOT NULL,
    retest_of INTEGER NOT NULL,
    crc INTEGER,
    PRIMARY KEY (study, id)
) WITHOUT ROWID;
"""
    + _CALL_SCHEMA
)


# ---------------------------------------------------------------------------------------
# The space, the seed and the settings as JSON data
def space_to_json(space: Space) -> list[dict[str, Any]]:
    """Return ``space`` as JSON-ready data (refusing what JSON cannot hold exactly).

    Raises
    ------
    TypeError
        For a distribution class the store does not know, or a ``Choice`` option that
        is not a plain ``str``, ``int``, finite ``float``, ``bool`` or ``None``.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> from hyperzoom.storage import space_to_json
    >>> space_to_json(hz.Space(lr=hz.LogUniform(1e-4, 1.0), act=hz.Choice(["a", "b"])))
    [{'name': 'lr', 'kind': 'LogUniform', 'low': 0.0001, 'high': 1.0}, {'name': 'act', 'kind': 'Choice', 'options': ['a', 'b'], 'weights': None}]
    """
    params: list[dict[str, Any]] = []
    for name, dist in space.items():
        kind = type(dist).__name__
        if _KINDS.get(kind) is not type(dist):
            msg = (
                f"parameter {name!r} is a {kind}, which a study file cannot store; the "
                f"store knows {sorted(_KINDS)!r}."
            )
            raise TypeError(msg)
        if isinstance(dist, Choice):
            for i, o in enumerate(dist.options):
                plain = type(o) in (str, int, bool, type(None)) or (
                    type(o) is float and math.isfinite(o)
                )
                if not plain:
                    msg = (
                        f"option {i} of parameter {name!r} is {o!r} ({type(o).__name__}); "
                        "a study file stores options as JSON data, so each must be a "
                        "plain str, int, finite float, bool or None. Store a name (a str) "
                        "and map it to the object in the objective."
                    )
                    raise TypeError(msg)
            weights = None if dist.weights is None else list(dist.weights)
            params.append(
                {
                    "name": name,
                    "kind": kind,
                    "options": list(dist.options),
                    "weights": weights,
                }
            )
        else:
            params.append(
                {"name": name, "kind": kind, "low": dist.low, "high": dist.high}
            )
    return params


def space_from_json(params: list[dict[str, Any]]) -> Space:
    """Rebuild a :class:`~hyperzoom.Space` from :func:`space_to_json` data.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> from hyperzoom.storage import space_from_json, space_to_json
    >>> space = hz.Space(b=hz.InvLogUniform(0.9, 0.999), n=hz.PowerOfTwo(16, 512))
    >>> space_from_json(space_to_json(space)) == space
    True
    """
    dists: dict[str, Distribution] = {}
    for p in params:
        if p["name"] in dists:
            msg = f"parameter {p['name']!r} appears twice."
            raise ValueError(msg)
        cls = _KINDS[p["kind"]]
        if cls is Choice:
            choice = Choice(p["options"], weights=p["weights"])
            if p["weights"] is not None:
                # The stored weights are already normalised; normalising them again
                # could move the last bit of a cell edge.
                choice.weights = tuple(float(w) for w in p["weights"])
            dists[p["name"]] = choice
        else:
            dists[p["name"]] = cls(p["low"], p["high"])  # type: ignore[call-arg]
    return Space(dists)


def _seed_record(rng: Any) -> dict[str, Any] | None:
    """Return the seed as JSON data (None for ``rng=None``); refuse generators."""
    if rng is None:
        return None
    if isinstance(rng, (np.random.Generator, np.random.BitGenerator)):
        msg = (
            "a stored study needs a seed it can write down: pass `rng` as an int or a "
            "numpy.random.SeedSequence, not a Generator (its state is not data that a "
            "later run can start from)."
        )
        raise TypeError(msg)
    if isinstance(rng, np.random.SeedSequence):
        entropy = rng.entropy
        assert entropy is not None  # a SeedSequence always has its entropy
        return {
            "entropy": int(entropy)
            if isinstance(entropy, (int, np.integer))
            else [int(x) for x in entropy],
            "spawn_key": [int(x) for x in rng.spawn_key or ()],
            "pool_size": int(rng.pool_size),
            "n_children_spawned": int(rng.n_children_spawned),
        }
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
        msg = (
            "a stored study needs `rng` to be an int, a numpy.random.SeedSequence or "
            f"None, but got {rng!r} ({type(rng).__name__})."
        )
        raise TypeError(msg)
    if int(rng) < 0:
        msg = f"`rng` must be a non-negative integer seed, but got {rng!r}."
        raise ValueError(msg)
    return {"entropy": int(rng), "spawn_key": [], "pool_size": 4}


def _rng_of(seed: dict[str, Any]) -> np.random.SeedSequence:
    return np.random.SeedSequence(
        seed["entropy"],
        spawn_key=tuple(seed["spawn_key"]),
        pool_size=seed["pool_size"],
        n_children_spawned=seed.get("n_children_spawned", 0),
    )


def _same_seed(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("entropy", "spawn_key", "pool_size")
    return all(_text(a[k]) == _text(b[k]) for k in keys)


def _text(x: Any) -> str:
    return json.dumps(x, allow_nan=False, sort_keys=True)


def _describe(p: dict[str, Any]) -> str:
    if p["kind"] == "Choice":
        w = "" if p["weights"] is None else f", weights={p['weights']!r}"
        return f"Choice({p['options']!r}{w})"
    return f"{p['kind']}({p['low']!r}, {p['high']!r})"


def _space_difference(
    stored: list[dict[str, Any]], given: list[dict[str, Any]]
) -> str | None:
    s_names = [p["name"] for p in stored]
    g_names = [p["name"] for p in given]
    if s_names != g_names:
        return f"the parameters differ: stored {s_names!r}, given {g_names!r}"
    for s, g in zip(stored, given):
        if _text(s) != _text(g):
            return (
                f"parameter {s['name']!r} differs: stored {_describe(s)}, "
                f"given {_describe(g)}"
            )
    return None


# ---------------------------------------------------------------------------------------
# The file
def _where(path: Path) -> str:
    return repr(os.fspath(path))


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    """Turn SQLite's errors into exceptions that name the file.

    Corruption is a ValueError (the file's contents); a full disk and a read-only
    medium are OSErrors (the machine's state: what was committed is safe).
    """
    try:
        yield
    except sqlite3.OperationalError as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_FULL:
            msg = (
                f"cannot write to {_where(path)}: the database or disk is full "
                f"(SQLite says: {exc}). Everything committed before is safe: free some "
                "space and run again to resume."
            )
            raise OSError(errno.ENOSPC, msg) from exc
        read_only = code is not None and code & 0xFF == sqlite3.SQLITE_READONLY
        if code is not None and code & 0xFF == sqlite3.SQLITE_CANTOPEN:
            if os.access(path.absolute().parent, os.W_OK):
                msg = f"cannot open {_where(path)} (SQLite says: {exc})."
                raise OSError(errno.EIO, msg) from exc
            read_only = True  # the -shm or -wal file cannot be made beside it
        if read_only:
            msg = (
                f"cannot write to {_where(path)}: the file or its folder is read-only "
                f"(SQLite says: {exc}). load_study and `hyperzoom show` can read it; "
                "to run the study, copy it to a writable place."
            )
            raise PermissionError(errno.EROFS, msg) from exc
        raise  # locked, ...: not a property of the file's contents
    except sqlite3.IntegrityError:
        raise  # a constraint: the caller knows what it means
    except sqlite3.DatabaseError as exc:
        msg = (
            f"{_where(path)} is not a readable hyperzoom study file (SQLite says: "
            f"{exc}); it is damaged or not an SQLite database."
        )
        raise ValueError(msg) from exc


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the block as one write transaction: committed, or rolled back on any error.

    SQLite rolls a transaction back by itself when a write fails for lack of space (or
    memory): then there is nothing left to roll back, and the original error (not
    "cannot rollback - no transaction is active") is what the caller sees.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:  # pragma: no cover - keep the error that got us here
                pass
        raise


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open (and, with ``create``, initialise) a study file after checking what it is.

    Without ``create`` the file is opened read-only; on a read-only medium, where SQLite
    cannot make the shared-memory file a WAL database needs, it is opened as immutable
    (safe there: nothing can change it, and no write-ahead log is waiting).
    """
    if path.is_dir():
        msg = f"{_where(path)} is a directory, not a study file."
        raise ValueError(msg)
    if create:
        folder = path.absolute().parent
        if not folder.is_dir():
            msg = (
                f"`storage` must be a file in an existing folder, but the folder of "
                f"{_where(path)} ({os.fspath(folder)!r}) does not exist."
            )
            raise ValueError(msg)
    elif not path.exists():
        msg = f"no study file at {_where(path)}."
        raise FileNotFoundError(msg)
    conn = _open(path, create=create)
    try:
        with _translated(path):
            try:
                state = _inspect(conn, path)
            except sqlite3.OperationalError:
                if create or not _read_only_medium(path):
                    raise
                conn.close()
                conn = _open(path, create=False, immutable=True)
                state = _inspect(conn, path)
            app, version, tables = state
            if app == 0 and not tables:
                if not create:
                    msg = (
                        f"{_where(path)} is an empty SQLite database, not a study file."
                    )
                    raise ValueError(msg)
                _initialise(conn)
                return conn
            if create:
                _writer_pragmas(conn)
                if version < SCHEMA_VERSION:
                    _upgrade(conn, version)
    except BaseException:
        conn.close()
        raise
    return conn


def _open(path: Path, *, create: bool, immutable: bool = False) -> sqlite3.Connection:
    if create:
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    else:
        uri = path.absolute().as_uri() + ("?immutable=1" if immutable else "?mode=ro")
        conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
    # A study file is data: no function in its schema runs with the file's authority.
    conn.execute("PRAGMA trusted_schema=OFF")
    return conn


def _read_only_medium(path: Path) -> bool:
    """Whether ``path`` is on a medium nobody can write (its folder refuses writes).

    Only then is an immutable open safe: a ``-wal`` file beside it could hold commits
    an immutable open would not see, so its presence rules that out too.
    """
    wal = path.with_name(path.name + "-wal")
    return _mounted_read_only(path.absolute().parent) and not wal.exists()


def _mounted_read_only(folder: Path) -> bool:
    """Whether ``folder`` is on a read-only file system (no process can write there)."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # pragma: no cover - not POSIX
        return not os.access(folder, os.W_OK)


def _inspect(conn: sqlite3.Connection, path: Path) -> tuple[int, int, set[str]]:
    """Return (application_id, schema version, tables), having checked the whole file.

    One read transaction: a file being initialised by another process is seen either
    empty or complete, never with tables but no application_id; and the checks of
    :func:`hyperzoom._integrity.check_file` see the same snapshot.
    """
    conn.execute("BEGIN")
    try:
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if app == 0 and not tables:
            return app, version, tables
        if app != APPLICATION_ID:
            msg = (
                f"{_where(path)} is an SQLite database but not a hyperzoom study file "
                f"(application_id {app:#x}, tables {sorted(tables)!r}); refusing to "
                "touch it."
            )
            raise ValueError(msg)
        if version > SCHEMA_VERSION:
            msg = (
                f"{_where(path)} was written by a newer hyperzoom (study schema "
                f"{version}; this version reads up to {SCHEMA_VERSION}). Upgrade "
                "hyperzoom to open it."
            )
            raise ValueError(msg)
        if version < 1 or not {"hz_study", "hz_trial"} <= tables:
            msg = (
                f"{_where(path)} is marked as a hyperzoom study file but its tables "
                f"are incomplete ({sorted(tables)!r}, schema {version}): it is damaged."
            )
            raise ValueError(msg)
        if version >= 2 and "hz_call" not in tables:
            msg = (
                f"{_where(path)} is a hyperzoom study file of schema {version} without "
                "its table hz_call: it is damaged."
            )
            raise ValueError(msg)
        _integrity.check_file(conn, _where(path), version, tables)
    finally:
        conn.execute("COMMIT")
    return app, version, tables


def _writer_pragmas(conn: sqlite3.Connection) -> None:
    # WAL: readers never block the writer and see only committed trials. NORMAL sync:
    # a committed transaction survives the process being killed (it is in the OS's
    # hands); only a power cut may lose the last few, which are then run again.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


def _initialise(conn: sqlite3.Connection) -> None:
    _writer_pragmas(conn)
    with _immediate(conn):
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables == 0:  # not created by another process meanwhile
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring an older file (checked already) to schema 3.

    Schema 1 (search studies only) gains ``hz_call``; every table gains ``crc``, and
    every row its checksum, computed from the row as it is.
    """
    with _immediate(conn):
        if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return  # upgraded by another process meanwhile
        conn.execute(_CALL_SCHEMA)
        for table in ("hz_study", "hz_trial", "hz_call"):
            cols = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            if "crc" not in cols:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN crc INTEGER")
        studies = conn.execute(_STUDY_SELECT.format(crc="")).fetchall()
        conn.executemany(
            "UPDATE hz_study SET crc=? WHERE id=?",
            [(_integrity.study_hash(r), r[0]) for r in studies],
        )
        for (sid,) in conn.execute("SELECT id FROM hz_study").fetchall():
            rows = conn.execute(
                "SELECT id, unit, value, error, round, batch, retest_of FROM hz_trial "
                "WHERE study=?",
                (sid,),
            ).fetchall()
            if rows:
                crc = _integrity.trial_hashes(
                    sid,
                    np.array([r[0] for r in rows], dtype=np.int64),
                    np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float64),
                    np.array(
                        [np.nan if r[2] is None else r[2] for r in rows], dtype=float
                    ),
                    [r[3] for r in rows],
                    np.array([r[4] for r in rows], dtype=np.int64),
                    np.array([r[5] for r in rows], dtype=np.int64),
                    np.array([r[6] for r in rows], dtype=np.int64),
                )
                conn.executemany(
                    "UPDATE hz_trial SET crc=? WHERE study=? AND id=?",
                    [(int(c), sid, r[0]) for c, r in zip(crc, rows)],
                )
        calls = conn.execute(
            "SELECT study, id, run, budget, unit, value, error, seq, before FROM hz_call"
        ).fetchall()
        conn.executemany(
            "UPDATE hz_call SET crc=? WHERE study=? AND id=?",
            [(_integrity.call_hash(*r), r[0], r[1]) for r in calls],
        )
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _checked(conn: sqlite3.Connection) -> bool:
    """Whether the file's rows carry checksums (schema 3 and later)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return bool(version >= _integrity.CHECKSUM_SCHEMA)


def _study_select(conn: sqlite3.Connection) -> str:
    return _STUDY_SELECT.format(crc=", crc" if _checked(conn) else ", NULL")


def _names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM hz_study ORDER BY id")]


class _Study:
    """One stored study: its record and its trials, indexed by trial id.

    Every field is checked as untrusted data (see :mod:`hyperzoom._integrity`).
    """

    def __init__(self, path: Path, row: tuple[Any, ...]) -> None:
        self.path = path
        self.id, self.name = int(row[0]), str(row[1])
        where = self.where = f"study {self.name!r} in {_where(path)}"
        self.checked = row[7] is not None
        if self.checked and _integrity.study_hash(row) != row[7]:
            msg = (
                f"{where} is damaged (its record does not match its checksum); it is "
                "neither read nor written. Restore the file from a copy."
            )
            raise ValueError(msg)
        self.space_doc: list[dict[str, Any]] = _integrity.parse_record(
            row[2], "space", where
        )
        self.settings: dict[str, Any] = _integrity.parse_record(
            row[3], "settings", where
        )
        self.seed: dict[str, Any] = _integrity.parse_record(row[4], "seed", where)
        _integrity.check_space_doc(self.space_doc, where, list(_KINDS))
        _integrity.check_seed(self.seed, where)
        _integrity.check_settings(self.settings, where, None)
        self.version = str(row[5])
        self.created = str(row[6])
        if "method" not in self.settings:  # a search: exactly its settings
            if set(self.settings) == set(_OLD_SETTINGS):
                self.search_settings()  # the budget-split search's: refused clearly
            _integrity.check_settings(self.settings, where, SETTINGS)

    def space(self) -> Space:
        try:
            return space_from_json(self.space_doc)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            msg = (
                f"{self.where} stores a space this hyperzoom cannot rebuild: "
                f"{type(exc).__name__}: {exc}"
            )
            raise ValueError(msg) from exc

    def search_settings(self) -> dict[str, Any]:
        """Return the stored settings of a search, checked against this version's."""
        keys = set(self.settings)
        if keys != set(SETTINGS):
            msg = (
                f"{self.where} was written by hyperzoom {self.version}, whose search "
                "planned its rounds from the budget; this version's search is anytime "
                f"and cannot replay it (settings {sorted(keys ^ set(SETTINGS))!r} "
                f"differ). Open it with hyperzoom {self.version}, or start a new study."
            )
            raise ValueError(msg)
        return dict(self.settings)

    def optimiser(
        self, space: Space, workers: int | None = None, *, replay: bool = False
    ) -> CoarseToFine:
        """Re-create the search's optimiser from the stored settings (checked first).

        With ``replay``, without a budget (except for a grid, which depends on it):
        every stored trial is replayed, whatever budget the latest run had.
        """
        settings = self.search_settings()
        budget = settings.get("budget")
        if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0:
            # The optimiser keeps about 6 words a trial beside its unit coordinates.
            try:
                check_size(budget, "budget", 8 * (space.d + 6), "trials")
            except ValueError as exc:
                msg = f"{self.where} has a stored `budget` it cannot hold: {exc}"
                raise ValueError(msg) from exc
        if budget is not None:
            try:  # checked even when the replay does not use it
                as_count(budget, "budget", minimum=1)
            except (TypeError, ValueError) as exc:
                msg = f"{self.where} has damaged stored settings: {exc}"
                raise ValueError(msg) from exc
        if replay and settings.get("strategy") != "grid":
            settings["budget"] = None
        try:
            return CoarseToFine(
                space, **settings, rng=_rng_of(self.seed), workers=workers
            )
        except (TypeError, ValueError, OverflowError) as exc:
            msg = f"{self.where} has damaged stored settings: {exc}"
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
            expected = _integrity.trial_hashes(
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

    def find(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (whether each id is stored, its row where it is)."""
        rows = np.searchsorted(self.ids, ids)
        rows = np.minimum(rows, max(self.n - 1, 0))
        have = self.ids[rows] == ids if self.n else np.zeros(ids.shape[0], dtype=bool)
        return have, rows


def _find(conn: sqlite3.Connection, path: Path, name: str | None) -> _Study:
    rows = conn.execute(_study_select(conn) + " ORDER BY id").fetchall()
    names = [r[1] for r in rows]
    if name is None:
        if len(rows) == 1:
            return _Study(path, rows[0])
        if not rows:
            msg = f"{_where(path)} holds no studies."
            raise ValueError(msg)
        msg = f"{_where(path)} holds {len(rows)} studies; choose one with `name`: {names!r}."
        raise ValueError(msg)
    for r in rows:
        if r[1] == name:
            return _Study(path, r)
    msg = f"{_where(path)} holds no study named {name!r}; it holds {names!r}."
    raise ValueError(msg)


# ---------------------------------------------------------------------------------------
# Replay: the optimiser asks, stored trials answer
def _tell_stored(opt: CoarseToFine, configs: Configs, study: _Study) -> np.ndarray:
    """Tell ``opt`` the stored values among ``configs``; return the mask of stored rows."""
    ids = configs.ids
    assert ids is not None
    have, rows = study.find(ids)
    if not have.any():
        return have
    known = ids[have]
    rows = rows[have]
    asked = np.ascontiguousarray(configs.unit[have])
    stored = study.unit[rows]
    same = np.all(asked.view(np.uint64) == stored.view(np.uint64), axis=1)
    if not same.all():
        k = int(np.flatnonzero(~same)[0])
        from . import __version__

        msg = (
            f"study {study.name!r} in {_where(study.path)} does not match this search: "
            f"trial {int(known[k])} was stored at unit coordinates {stored[k].tolist()!r} "
            f"but the optimiser now asks for {asked[k].tolist()!r}. Space, settings and "
            f"seed are the same, so the file was edited or the designs changed between "
            f"hyperzoom {study.version} (which wrote it) and {__version__}."
        )
        raise ValueError(msg)
    values = study.value[rows]
    errors: list[str | None] | None = None
    if study.errors:
        errors = [study.errors.get(int(i)) for i in known]
    opt.tell(known, values, errors=errors, batch=study.batch[rows])
    return have


def _replay(opt: CoarseToFine, study: _Study) -> None:
    """Tell ``opt`` every stored trial, stopping at the first one that is missing."""
    while not opt.done:
        configs = opt.ask()
        if len(configs) == 0:  # pragma: no cover - ask/tell keeps phases in step
            return
        if not _tell_stored(opt, configs, study).all():
            return


# ---------------------------------------------------------------------------------------
# The public functions
def list_studies(path: str | os.PathLike[str]) -> list[str]:
    """Return the names of the studies in a study file, oldest first.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a hyperzoom study file (not SQLite, another application's
        SQLite database, a newer schema, or damaged).

    Examples
    --------
    >>> import os, tempfile
    >>> import hyperzoom as hz
    >>> path = os.path.join(tempfile.mkdtemp(), "studies.db")
    >>> space = hz.Space(x=hz.Uniform(-1, 1))
    >>> for name in ("first", "second"):
    ...     _ = hz.search(lambda c: c["x"] ** 2, space, budget=20, rng=7,
    ...                   storage=path, study=name)
    >>> hz.list_studies(path)
    ['first', 'second']
    """
    p = Path(path)
    conn = _connect(p, create=False)
    try:
        with _translated(p):
            return _names(conn)
    finally:
        conn.close()


def study_info(path: str | os.PathLike[str], name: str | None = None) -> dict[str, Any]:
    """Return a stored study's record: name, space, settings, seed, version, created.

    Examples
    --------
    >>> import os, tempfile
    >>> import hyperzoom as hz
    >>> from hyperzoom.storage import study_info
    >>> path = os.path.join(tempfile.mkdtemp(), "study.db")
    >>> _ = hz.search(lambda c: c["x"] ** 2, hz.Space(x=hz.Uniform(-1, 1)),
    ...               budget=20, rng=7, storage=path, study="x")
    >>> info = study_info(path)
    >>> info["name"], info["settings"]["budget"], info["seed"]["entropy"]
    ('x', 20, 7)
    """
    p = Path(path)
    conn = _connect(p, create=False)
    try:
        with _translated(p):
            study = _find(conn, p, name)
    finally:
        conn.close()
    return {
        "name": study.name,
        "space": study.space_doc,
        "settings": study.settings,
        "seed": study.seed,
        "version": study.version,
        "created": study.created,
    }


def load_study(path: str | os.PathLike[str], name: str | None = None) -> Any:
    """Return the result of a stored study, running nothing.

    For a search, the :class:`~hyperzoom.SearchResult`: the optimiser is re-created from
    the stored space, settings and seed and told the stored values, so ``best``,
    ``trials`` and ``regions`` are those the run returned (or, for a run that was
    interrupted, everything it had stored). For a schedule (``hz.hyperband``,
    ``hz.asha``, ...), the :class:`~hyperzoom.ScheduleResult`, its decisions replayed
    from the stored calls the same way (``best_state`` is None: no state is decoded,
    so opening a study runs no code of anyone's). The file may be written by a running
    search meanwhile: the result is a consistent snapshot.

    Parameters
    ----------
    path : str or os.PathLike
        The study file.
    name : str, optional
        The study; may be omitted when the file holds exactly one.

    Returns
    -------
    SearchResult or ScheduleResult

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a hyperzoom study file, or ``name`` is missing or unknown
        (the message lists the studies).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import hyperzoom as hz
    >>> path = os.path.join(tempfile.mkdtemp(), "study.db")
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    >>> loss = lambda c: (np.log10(c["lr"]) + 2) ** 2
    >>> r = hz.search(loss, space, budget=50, rng=20241128, storage=path, study="lr")
    >>> stored = hz.load_study(path, "lr")
    >>> stored.best_value == r.best_value, len(stored.regions) == len(r.regions)
    (True, True)
    >>> stored.to_pandas().shape[0]  # doctest: +SKIP
    50
    """
    p = Path(path)
    conn = _connect(p, create=False)
    try:
        with _translated(p):
            conn.execute("BEGIN")  # one snapshot for the study and its trials
            try:
                study = _find(conn, p, name)
                space = study.space()
                if _kind(study.settings) != "search":
                    from .schedule.journal import replay_caller

                    caller = replay_caller(conn, study)
                else:
                    opt = study.optimiser(space, replay=True)
                    study.load_trials(conn, space.d, opt.budget)
            finally:
                conn.execute("COMMIT")
    finally:
        conn.close()
    if _kind(study.settings) != "search":
        from .schedule.journal import replay

        return replay(caller, study, space)
    _replay(opt, study)
    return opt.result()


def search_stored(
    objective: Callable[..., Any],
    space: Space,
    *,
    storage: str | os.PathLike[str],
    study: str | None,
    settings: dict[str, Any],
    rng: Any,
    mode: str,
    executor: Executor | None,
    batch_size: int | None,
    workers: int | None,
    progress: bool | None,
    report: Callable[[CoarseToFine, int, int], None] | None = None,
    deadline: float | None = None,
    chunk: int | None = None,
) -> SearchResult:
    """Run :func:`hyperzoom.search` with a study store (its ``storage=`` path).

    ``report(opt, stored, new)``, when given, is called after each phase with the
    number of trials now stored and how many of them this run evaluated. No new trial
    starts after ``deadline`` (a ``time.monotonic()`` value); ``chunk`` caps each ask.
    """
    path, study = _study_target(storage, study)
    given_seed = _seed_record(rng)
    space_doc = space_to_json(space)
    with study_lock(path, study):
        conn = _connect(path, create=True)
        try:
            with _translated(path):
                rec = _open_study(
                    conn, path, study, space, space_doc, settings, given_seed
                )
                opt = CoarseToFine(
                    space, **settings, rng=_rng_of(rec.seed), workers=workers
                )
                rec.load_trials(conn, space.d, None)
                return _run(
                    opt,
                    rec,
                    conn,
                    objective,
                    mode,
                    executor,
                    batch_size,
                    progress,
                    report,
                    deadline,
                    chunk,
                )
        finally:
            conn.close()


class StudyLock:
    """An exclusive lock on one study of a file, held while a run writes to it.

    A lock file beside the study file (``<file>-<12 hex digits>.lock``, one per study
    name), locked with ``flock``: the operating system releases it when the process
    ends, however it ends, so a killed run never leaves a stale lock. The lock file
    itself stays (deleting it would race with a process taking it). Where ``flock`` is
    not available (Windows), nothing is locked.
    """

    def __init__(self, path: Path, name: str) -> None:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        self.path = path.with_name(f"{path.name}-{digest[:12]}.lock")
        self.name, self.study_path = name, path
        self.fd: int | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if not os.access(self.path.parent, os.W_OK):
                return  # a read-only folder: the write will say so, naming the file
            msg = f"cannot create the lock file {os.fspath(self.path)!r}: {exc}"
            raise OSError(exc.errno, msg) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise  # pragma: no cover - a file system without locks
            msg = (
                f"study {self.name!r} in {_where(self.study_path)} is being run by "
                "another process (or another run in this one); run each study from "
                "one process at a time, or give this run another study name."
            )
            raise ValueError(msg) from None
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None


@contextmanager
def study_lock(path: Path, name: str) -> Iterator[StudyLock]:
    """Hold the :class:`StudyLock` of study ``name`` in ``path`` for the block."""
    lock = StudyLock(path, name)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


def _study_target(storage: Any, study: Any) -> tuple[Path, str]:
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


def _open_study(
    conn: sqlite3.Connection,
    path: Path,
    name: str,
    space: Space,
    space_doc: list[dict[str, Any]],
    settings: dict[str, Any],
    seed: dict[str, Any] | None,
) -> _Study:
    """Return the stored study ``name``, creating it, or checking that it matches."""
    # Validate the settings (and normalise them: 0.1 and np.float64(0.1) are equal) on
    # a throwaway plan before anything is written.
    probe = CoarseToFine(space, **settings, rng=0, workers=1)
    normal = {k: getattr(probe, k) for k in SETTINGS}
    settings.update(normal)
    stored = {k: settings[k] for k in SETTINGS}
    free = (
        () if stored["strategy"] == "grid" else _FREE_SETTINGS
    )  # grids fit the budget
    return _open_record(conn, path, name, space_doc, stored, seed, free=free)


def _kind(settings: dict[str, Any]) -> str:
    return str(settings.get("method", "search"))


def _article(word: str) -> str:
    """Return ``word`` with its indefinite article ("an asha", "a search")."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _open_record(
    conn: sqlite3.Connection,
    path: Path,
    name: str,
    space_doc: list[dict[str, Any]],
    settings: dict[str, Any],
    seed: dict[str, Any] | None,
    *,
    free: tuple[str, ...] = (),
) -> _Study:
    """Return the stored study ``name``, creating it, or checking that it matches.

    ``settings`` are JSON data, every key of which must match a stored study's
    (``"method"`` names a scheduler; a search has none), except the ``free`` keys,
    which are updated to this run's values.
    """
    from . import __version__

    select = _study_select(conn)
    with _immediate(conn):
        row = conn.execute(
            select + " WHERE name=?",
            (name,),
        ).fetchone()
        if row is None:
            if seed is None:  # a fresh study without a seed: draw one and keep it
                fresh = np.random.SeedSequence().entropy
                assert isinstance(fresh, int)
                seed = _seed_record(fresh)
            created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            conn.execute(
                "INSERT INTO hz_study (name, space, settings, seed, version, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    name,
                    _text(space_doc),
                    _text(settings),
                    _text(seed),
                    __version__,
                    created,
                ),
            )
            row = conn.execute(select + " WHERE name=?", (name,)).fetchone()
            crc = _integrity.study_hash(row)
            conn.execute("UPDATE hz_study SET crc=? WHERE id=?", (crc, row[0]))
            row = (*row[:7], crc)
    rec = _Study(path, row)
    if _kind(rec.settings) == "search" == _kind(settings):
        rec.search_settings()  # a study of an older search is refused before comparing
    where = f"study {name!r} in {_where(path)}"
    if _kind(rec.settings) != _kind(settings):
        msg = (
            f"{where} is {_article(_kind(rec.settings))} study; it cannot be resumed by "
            f"{_kind(settings)}. Use another study name."
        )
        raise ValueError(msg)
    diff = _space_difference(rec.space_doc, space_doc)
    if diff is not None:
        msg = f"{where} was run on another space: {diff}. Use another study name."
        raise ValueError(msg)
    for k, value in settings.items():
        if k not in free and _text(rec.settings.get(k)) != _text(value):
            msg = (
                f"{where} was run with {k}={rec.settings.get(k)!r}, but this "
                f"{_kind(settings)} has {k}={value!r}. Use the stored setting to "
                "resume it, or another study name."
            )
            raise ValueError(msg)
    if seed is not None and not _same_seed(rec.seed, seed):
        msg = (
            f"{where} was run with seed {rec.seed['entropy']!r} (spawn key "
            f"{rec.seed['spawn_key']!r}), but this {_kind(settings)} has seed "
            f"{seed['entropy']!r} (spawn key {seed['spawn_key']!r}). Pass the stored "
            "seed (or rng=None) to resume it, or use another study name."
        )
        raise ValueError(msg)
    changed = {
        k: settings[k] for k in free if _text(rec.settings.get(k)) != _text(settings[k])
    }
    if changed and set(rec.settings) >= set(changed):
        rec.settings.update(changed)
        with _immediate(conn):
            conn.execute(
                "UPDATE hz_study SET settings=? WHERE id=?",
                (_text(rec.settings), rec.id),
            )
            # the record's checksum covers the settings: keep it in step
            row = conn.execute(select + " WHERE id=?", (rec.id,)).fetchone()
            conn.execute(
                "UPDATE hz_study SET crc=? WHERE id=?",
                (_integrity.study_hash(row), rec.id),
            )
    return rec


_INSERT = (
    "INSERT INTO hz_trial (study, id, unit, value, error, round, batch, retest_of, "
    "crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class _Writer:
    """Commits the trials of one phase as ``evaluate`` finishes them."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        study: _Study,
        opt: CoarseToFine,
        todo: Configs,
        offset: int,
        bar: Any,
    ) -> None:
        assert todo.ids is not None
        self.conn, self.study, self.bar, self.offset = conn, study, bar, offset
        self.ids = todo.ids
        self.unit = np.ascontiguousarray(todo.unit)
        self.rounds = opt._round[self.ids]
        self.retest_of = opt._retest_of[self.ids]
        self.count = 0

    def __call__(
        self,
        start: int,
        stop: int,
        values: np.ndarray,
        errors: list[str | None],
        batch: np.ndarray,
    ) -> None:
        m = stop - start
        width = self.unit.shape[1] * 8
        blob = self.unit[start:stop].tobytes()
        vals = np.where(np.isfinite(values[start:stop]), values[start:stop], np.nan)
        batches = batch[start:stop] + self.offset
        crc = _integrity.trial_hashes(
            self.study.id,
            self.ids[start:stop],
            self.unit[start:stop],
            vals,
            errors[start:stop],
            self.rounds[start:stop],
            batches,
            self.retest_of[start:stop],
        )
        rows = zip(
            [self.study.id] * m,
            self.ids[start:stop].tolist(),
            [blob[i * width : (i + 1) * width] for i in range(m)],
            [x if math.isfinite(x) else None for x in values[start:stop].tolist()],
            errors[start:stop],
            self.rounds[start:stop].tolist(),
            batches.tolist(),
            self.retest_of[start:stop].tolist(),
            crc.tolist(),
        )
        conn = self.conn
        try:
            with _translated(self.study.path), _immediate(conn):
                conn.executemany(_INSERT, rows)
        except sqlite3.IntegrityError as exc:
            msg = (
                f"study {self.study.name!r} in {_where(self.study.path)} received "
                "trials from another process while this one ran; run each study from "
                "one process at a time."
            )
            raise RuntimeError(msg) from exc
        self.count += m
        if self.bar is not None:
            self.bar.update(m)


def _run(
    opt: CoarseToFine,
    study: _Study,
    conn: sqlite3.Connection,
    objective: Callable[..., Any],
    mode: str,
    executor: Executor | None,
    batch_size: int | None,
    progress: bool | None,
    report: Callable[[CoarseToFine, int, int], None] | None,
    deadline: float | None = None,
    chunk: int | None = None,
) -> SearchResult:
    bar = _progress_bar(progress, opt.budget)
    batches = int(study.batch.max()) + 1 if study.n else 0
    stored, new = study.n, 0
    try:
        while not opt.done:
            configs = opt.ask(chunk)
            if len(configs) == 0:  # pragma: no cover - ask/tell keeps phases in step
                break
            have = _tell_stored(opt, configs, study)
            if not have.all() and deadline is not None and time.monotonic() >= deadline:
                break  # time is up: stored trials are replayed, no new one starts
            if bar is not None:
                bar.update(int(np.count_nonzero(have)))
            if not have.all():
                todo = configs[~have] if have.any() else configs
                writer = _Writer(conn, study, opt, todo, batches, bar)
                try:
                    values, errors, batch = evaluate(
                        objective,
                        todo,
                        mode=mode,
                        executor=executor,
                        batch_size=batch_size,
                        on_done=writer,
                    )
                except ValueError as exc:
                    exc.partial_result = opt.result()  # type: ignore[attr-defined]
                    raise
                finally:
                    stored += writer.count
                    new += writer.count
                opt.tell(todo, values, errors=errors, batch=batch + batches)
                batches += int(batch.max()) + 1 if batch.size else 0
            if report is not None:
                report(opt, stored, new)
    finally:
        if bar is not None:
            bar.close()
    return opt.result()
