"""The study file itself: SQLite opened safely, checked whole, written in transactions.

Opening checks what the file is (``application_id``, schema version, tables) and, with
:mod:`hyperzoom.store.integrity`, everything in it before anything is read or written;
SQLite's errors become exceptions that name the file. Nothing here knows of searches
or schedules.

Schema (version 4; ``PRAGMA application_id`` marks the file as hyperzoom's and
``PRAGMA user_version`` holds the schema version; an older file is brought to version 4
when it is next opened for writing: version 1 gains ``hz_call``, version 2 every row's
checksum, version 3 ``hz_ask``)::

    hz_study(id, name UNIQUE, space JSON, settings JSON, seed JSON, version, created,
             crc)
    hz_trial(study, id, unit BLOB (d float64, native order), value REAL (NULL: failed),
             error TEXT, round, batch, retest_of, crc)    PRIMARY KEY (study, id)
    hz_call(study, id, run, budget REAL, unit BLOB, value REAL (NULL: failed),
            error TEXT, state BLOB (only with a state codec), seq, before, crc)
                                                          PRIMARY KEY (study, id)
    hz_ask(study, id, before, crc)                        PRIMARY KEY (study, id)
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import integrity

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "checked",
    "connect",
    "immediate",
    "study_names",
    "study_select",
    "translated",
    "where",
]

#: Version of the file layout this module writes; files with a larger one are refused.
SCHEMA_VERSION = 4
#: ``PRAGMA application_id`` of a hyperzoom study file ("hzst").
APPLICATION_ID = 0x687A7374

#: The columns of a study record, in the order ``Study`` reads them (and its checksum,
#: NULL in files older than schema 3).
STUDY_SELECT = (
    "SELECT id, name, space, settings, seed, version, created{crc} FROM hz_study"
)

#: The calls of ``train`` by stored schedules (added in schema 2).
CALL_SCHEMA = """
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

#: When each trial of an asynchronous search was asked: after ``before`` results had
#: been told (added in schema 4). With the order results arrived in (``hz_trial.batch``)
#: it replays the run's interleaving of asks and tells exactly.
ASK_SCHEMA = """
CREATE TABLE IF NOT EXISTS hz_ask (
    study INTEGER NOT NULL REFERENCES hz_study(id),
    id INTEGER NOT NULL,
    before INTEGER NOT NULL,
    crc INTEGER NOT NULL,
    PRIMARY KEY (study, id)
) WITHOUT ROWID;
"""

SCHEMA = (
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
    + CALL_SCHEMA
    + ASK_SCHEMA
)


def where(path: Path) -> str:
    """Return how messages name the file at ``path``."""
    return repr(os.fspath(path))


@contextmanager
def translated(path: Path) -> Iterator[None]:
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
                f"cannot write to {where(path)}: the database or disk is full "
                f"(SQLite says: {exc}). Everything committed before is safe: free some "
                "space and run again to resume."
            )
            raise OSError(errno.ENOSPC, msg) from exc
        read_only = code is not None and code & 0xFF == sqlite3.SQLITE_READONLY
        if code is not None and code & 0xFF == sqlite3.SQLITE_CANTOPEN:
            if os.access(path.absolute().parent, os.W_OK):
                msg = f"cannot open {where(path)} (SQLite says: {exc})."
                raise OSError(errno.EIO, msg) from exc
            read_only = True  # the -shm or -wal file cannot be made beside it
        if read_only:
            msg = (
                f"cannot write to {where(path)}: the file or its folder is read-only "
                f"(SQLite says: {exc}). load_study and `hyperzoom show` can read it; "
                "to run the study, copy it to a writable place."
            )
            raise PermissionError(errno.EROFS, msg) from exc
        raise  # locked, ...: not a property of the file's contents
    except sqlite3.IntegrityError:
        raise  # a constraint: the caller knows what it means
    except sqlite3.DatabaseError as exc:
        msg = (
            f"{where(path)} is not a readable hyperzoom study file (SQLite says: "
            f"{exc}); it is damaged or not an SQLite database."
        )
        raise ValueError(msg) from exc


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
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


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open (and, with ``create``, initialise) a study file after checking what it is.

    Without ``create`` the file is opened read-only; on a read-only medium, where SQLite
    cannot make the shared-memory file a WAL database needs, it is opened as immutable
    (safe there: nothing can change it, and no write-ahead log is waiting).
    """
    if path.is_dir():
        msg = f"{where(path)} is a directory, not a study file."
        raise ValueError(msg)
    if create:
        folder = path.absolute().parent
        if not folder.is_dir():
            msg = (
                f"`storage` must be a file in an existing folder, but the folder of "
                f"{where(path)} ({os.fspath(folder)!r}) does not exist."
            )
            raise ValueError(msg)
    elif not path.exists():
        msg = f"no study file at {where(path)}."
        raise FileNotFoundError(msg)
    conn = open_file(path, create=create)
    try:
        with translated(path):
            try:
                state = inspect_file(conn, path)
            except sqlite3.OperationalError:
                if create or not read_only_medium(path):
                    raise
                conn.close()
                conn = open_file(path, create=False, immutable=True)
                state = inspect_file(conn, path)
            app, version, tables = state
            if app == 0 and not tables:
                if not create:
                    msg = (
                        f"{where(path)} is an empty SQLite database, not a study file."
                    )
                    raise ValueError(msg)
                initialise(conn)
                return conn
            if create:
                writer_pragmas(conn)
                if version < SCHEMA_VERSION:
                    upgrade(conn, version)
    except BaseException:
        conn.close()
        raise
    return conn


def open_file(
    path: Path, *, create: bool, immutable: bool = False
) -> sqlite3.Connection:
    if create:
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    else:
        uri = path.absolute().as_uri() + ("?immutable=1" if immutable else "?mode=ro")
        conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
    # A study file is data: no function in its schema runs with the file's authority.
    conn.execute("PRAGMA trusted_schema=OFF")
    return conn


def read_only_medium(path: Path) -> bool:
    """Whether ``path`` is on a medium nobody can write (its folder refuses writes).

    Only then is an immutable open safe: a ``-wal`` file beside it could hold commits
    an immutable open would not see, so its presence rules that out too.
    """
    wal = path.with_name(path.name + "-wal")
    return mounted_read_only(path.absolute().parent) and not wal.exists()


def mounted_read_only(folder: Path) -> bool:
    """Whether ``folder`` is on a read-only file system (no process can write there)."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # pragma: no cover - not POSIX
        return not os.access(folder, os.W_OK)


def inspect_file(conn: sqlite3.Connection, path: Path) -> tuple[int, int, set[str]]:
    """Return (application_id, schema version, tables), having checked the whole file.

    One read transaction: a file being initialised by another process is seen either
    empty or complete, never with tables but no application_id; and the checks of
    :func:`hyperzoom.integrity.check_file` see the same snapshot.
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
                f"{where(path)} is an SQLite database but not a hyperzoom study file "
                f"(application_id {app:#x}, tables {sorted(tables)!r}); refusing to "
                "touch it."
            )
            raise ValueError(msg)
        if version > SCHEMA_VERSION:
            msg = (
                f"{where(path)} was written by a newer hyperzoom (study schema "
                f"{version}; this version reads up to {SCHEMA_VERSION}). Upgrade "
                "hyperzoom to open it."
            )
            raise ValueError(msg)
        if version < 1 or not {"hz_study", "hz_trial"} <= tables:
            msg = (
                f"{where(path)} is marked as a hyperzoom study file but its tables "
                f"are incomplete ({sorted(tables)!r}, schema {version}): it is damaged."
            )
            raise ValueError(msg)
        if version >= 4 and "hz_ask" not in tables:
            msg = (
                f"{where(path)} is a hyperzoom study file of schema {version} without "
                "its table hz_ask: it is damaged."
            )
            raise ValueError(msg)
        if version >= 2 and "hz_call" not in tables:
            msg = (
                f"{where(path)} is a hyperzoom study file of schema {version} without "
                "its table hz_call: it is damaged."
            )
            raise ValueError(msg)
        integrity.check_file(conn, where(path), version, tables)
    finally:
        conn.execute("COMMIT")
    return app, version, tables


def writer_pragmas(conn: sqlite3.Connection) -> None:
    # WAL: readers never block the writer and see only committed trials. NORMAL sync:
    # a committed transaction survives the process being killed (it is in the OS's
    # hands); only a power cut may lose the last few, which are then run again.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


def initialise(conn: sqlite3.Connection) -> None:
    writer_pragmas(conn)
    with immediate(conn):
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables == 0:  # not created by another process meanwhile
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring an older file (checked already) to schema 4.

    Schema 1 (search studies only) gains ``hz_call``; before schema 3 every table gains
    ``crc``, and every row its checksum, computed from the row as it is; before schema
    4 the file gains ``hz_ask`` (empty: its studies are synchronous).
    """
    with immediate(conn):
        if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return  # upgraded by another process meanwhile
        conn.execute(ASK_SCHEMA)
        if version < integrity.CHECKSUM_SCHEMA:
            _add_checksums(conn)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _add_checksums(conn: sqlite3.Connection) -> None:
    """Add ``hz_call`` (schema 1) and every row's checksum (schemas 1 and 2)."""
    conn.execute(CALL_SCHEMA)
    for table in ("hz_study", "hz_trial", "hz_call"):
        cols = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if "crc" not in cols:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN crc INTEGER")
    studies = conn.execute(STUDY_SELECT.format(crc="")).fetchall()
    conn.executemany(
        "UPDATE hz_study SET crc=? WHERE id=?",
        [(integrity.study_hash(r), r[0]) for r in studies],
    )
    for (sid,) in conn.execute("SELECT id FROM hz_study").fetchall():
        rows = conn.execute(
            "SELECT id, unit, value, error, round, batch, retest_of FROM hz_trial "
            "WHERE study=?",
            (sid,),
        ).fetchall()
        if rows:
            crc = integrity.trial_hashes(
                sid,
                np.array([r[0] for r in rows], dtype=np.int64),
                np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float64),
                np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=float),
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
        [(integrity.call_hash(*r), r[0], r[1]) for r in calls],
    )


def checked(conn: sqlite3.Connection) -> bool:
    """Whether the file's rows carry checksums (schema 3 and later)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return bool(version >= integrity.CHECKSUM_SCHEMA)


def study_select(conn: sqlite3.Connection) -> str:
    """Return the SELECT of study records for this file (with or without checksums)."""
    return STUDY_SELECT.format(crc=", crc" if checked(conn) else ", NULL")


def study_names(conn: sqlite3.Connection) -> list[str]:
    """Return the names of the file's studies, oldest first."""
    return [r[0] for r in conn.execute("SELECT name FROM hz_study ORDER BY id")]
