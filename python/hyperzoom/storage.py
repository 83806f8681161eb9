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

Schema (version 2; ``PRAGMA application_id`` marks the file as hyperzoom's and
``PRAGMA user_version`` holds the schema version; a version-1 file gains ``hz_call``
when it is next opened for writing)::

    hz_study(id, name UNIQUE, space JSON, settings JSON, seed JSON, version, created)
    hz_trial(study, id, unit BLOB (d float64, native order), value REAL (NULL: failed),
             error TEXT, round, batch, retest_of)    PRIMARY KEY (study, id)
    hz_call(study, id, run, budget REAL, unit BLOB, value REAL (NULL: failed),
            error TEXT, state BLOB (only with a state codec), seq, before)
                                                     PRIMARY KEY (study, id)

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

from .evaluate import evaluate
from .search import CoarseToFine, SearchResult, _progress_bar
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
SCHEMA_VERSION = 2
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
#: Settings stored but free to change on resume: a search is anytime, so a study can be
#: continued with a larger budget (the stored one is that of the latest run).
_FREE_SETTINGS = ("budget",)

#: The columns of a study record, in the order ``_Study`` reads them.
_STUDY_SELECT = "SELECT id, name, space, settings, seed, version, created FROM hz_study"

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
    created TEXT NOT NULL
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
    """Turn SQLite's corruption errors into a ValueError that names the file."""
    try:
        yield
    except sqlite3.OperationalError:
        raise  # locked, disk full, ...: not a property of the file's contents
    except sqlite3.DatabaseError as exc:
        msg = (
            f"{_where(path)} is not a readable hyperzoom study file (SQLite says: "
            f"{exc}); it is damaged or not an SQLite database."
        )
        raise ValueError(msg) from exc


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the block as one write transaction: committed, or rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open (and, with ``create``, initialise) a study file after checking what it is."""
    if path.is_dir():
        msg = f"{_where(path)} is a directory, not a study file."
        raise ValueError(msg)
    if not create and not path.exists():
        msg = f"no study file at {_where(path)}."
        raise FileNotFoundError(msg)
    if create:
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    else:
        uri = path.absolute().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
    try:
        with _translated(path):
            # One read transaction: a file being initialised by another process is
            # seen either empty or complete, never with tables but no application_id.
            conn.execute("BEGIN")
            try:
                app = conn.execute("PRAGMA application_id").fetchone()[0]
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                tables = {
                    r[0]
                    for r in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type='table'"
                    )
                }
            finally:
                conn.execute("COMMIT")
            if app == 0 and not tables:
                if not create:
                    msg = (
                        f"{_where(path)} is an empty SQLite database, not a study file."
                    )
                    raise ValueError(msg)
                _initialise(conn)
                return conn
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
            if create:
                _writer_pragmas(conn)
                if version < SCHEMA_VERSION:
                    _upgrade(conn)
    except BaseException:
        conn.close()
        raise
    return conn


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


def _upgrade(conn: sqlite3.Connection) -> None:
    """Bring a schema-1 file (search studies only) to schema 2: add ``hz_call``."""
    with _immediate(conn):
        conn.execute(_CALL_SCHEMA)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _names(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM hz_study ORDER BY id")]


class _Study:
    """One stored study: its record and its trials, indexed by trial id."""

    def __init__(self, path: Path, row: tuple[Any, ...]) -> None:
        self.path = path
        self.id, self.name = int(row[0]), str(row[1])
        try:
            self.space_doc: list[dict[str, Any]] = json.loads(row[2])
            self.settings: dict[str, Any] = json.loads(row[3])
            self.seed: dict[str, Any] = json.loads(row[4])
        except ValueError as exc:
            msg = f"study {self.name!r} in {_where(path)} has damaged records: {exc}"
            raise ValueError(msg) from exc
        self.version = str(row[5])
        self.created = str(row[6])

    def space(self) -> Space:
        try:
            return space_from_json(self.space_doc)
        except (KeyError, TypeError, ValueError) as exc:
            msg = (
                f"study {self.name!r} in {_where(self.path)} stores a space this "
                f"hyperzoom cannot rebuild: {exc}"
            )
            raise ValueError(msg) from exc

    def load_trials(self, conn: sqlite3.Connection, d: int) -> None:
        """Read the stored trials (arrays sized by the stored rows, never by settings)."""
        rows = conn.execute(
            "SELECT id, unit, value, error, batch FROM hz_trial WHERE study=? ORDER BY id",
            (self.id,),
        ).fetchall()
        n = len(rows)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
        # Ids are the trials' order of asking: a stored run leaves at most one phase
        # partly evaluated, so ids far beyond the row count mean a damaged file.
        if n and (ids[0] < 0 or ids[-1] >= 2 * n + (1 << 16)):
            msg = (
                f"study {self.name!r} in {_where(self.path)} holds trial id "
                f"{int(ids[-1] if ids[0] >= 0 else ids[0])} among {n} trials: the file "
                "is damaged."
            )
            raise ValueError(msg)
        blob = b"".join(r[1] for r in rows)
        if len(blob) != n * d * 8 or any(len(r[1]) != d * 8 for r in rows):
            msg = (
                f"study {self.name!r} in {_where(self.path)} holds unit coordinates "
                f"that are not {d} float64 each: the file is damaged."
            )
            raise ValueError(msg)
        size = int(ids[-1]) + 1 if n else 0
        self.have = np.zeros(size, dtype=bool)
        self.have[ids] = True
        self.unit = np.empty((size, d))
        self.unit[ids] = np.frombuffer(blob, dtype=np.float64).reshape(n, d)
        self.value = np.full(size, np.nan)
        self.value[ids] = np.array([r[2] for r in rows], dtype=np.float64)
        self.batch = np.zeros(size, dtype=np.int64)
        self.batch[ids] = np.fromiter((r[4] for r in rows), dtype=np.int64, count=n)
        self.errors = {int(r[0]): r[3] for r in rows if r[3] is not None}
        self.n = n

    def stored(self, ids: np.ndarray) -> np.ndarray:
        """Return which of ``ids`` are stored."""
        inside = ids < self.have.size
        out = np.zeros(ids.shape, dtype=bool)
        out[inside] = self.have[ids[inside]]
        return out

    def search_settings(self) -> dict[str, Any]:
        """Return the stored settings of a search, checked against this version's."""
        keys = set(self.settings)
        if keys != set(SETTINGS):
            msg = (
                f"study {self.name!r} in {_where(self.path)} was written by hyperzoom "
                f"{self.version}, whose search planned its rounds from the budget; this "
                "version's search is anytime and cannot replay it (settings "
                f"{sorted(keys ^ set(SETTINGS))!r} differ). Open it with hyperzoom "
                f"{self.version}, or start a new study."
            )
            raise ValueError(msg)
        return dict(self.settings)


def _find(conn: sqlite3.Connection, path: Path, name: str | None) -> _Study:
    rows = conn.execute(_STUDY_SELECT + " ORDER BY id").fetchall()
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
    have: np.ndarray = study.stored(ids)
    if not have.any():
        return have
    known = ids[have]
    asked = np.ascontiguousarray(configs.unit[have])
    stored = study.unit[known]
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
    values = study.value[known]
    errors: list[str | None] | None = None
    if study.errors:
        errors = [study.errors.get(int(i)) for i in known]
    opt.tell(known, values, errors=errors, batch=study.batch[known])
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
                    from ._schedule_store import replay_caller

                    caller = replay_caller(conn, study)
                else:
                    # Replayed without a budget: every stored trial, whatever budget
                    # the latest run had.
                    settings = study.search_settings()
                    if settings["strategy"] != "grid":  # the grid depends on it
                        settings["budget"] = None
                    opt = CoarseToFine(space, **settings, rng=_rng_of(study.seed))
                    study.load_trials(conn, space.d)
            finally:
                conn.execute("COMMIT")
    finally:
        conn.close()
    if _kind(study.settings) != "search":
        from ._schedule_store import replay

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
    conn = _connect(path, create=True)
    try:
        with _translated(path):
            rec = _open_study(conn, path, study, space, space_doc, settings, given_seed)
            opt = CoarseToFine(
                space, **settings, rng=_rng_of(rec.seed), workers=workers
            )
            rec.load_trials(conn, space.d)
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

    with _immediate(conn):
        row = conn.execute(
            _STUDY_SELECT + " WHERE name=?",
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
            row = conn.execute(
                _STUDY_SELECT + " WHERE name=?",
                (name,),
            ).fetchone()
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
    return rec


_INSERT = (
    "INSERT INTO hz_trial (study, id, unit, value, error, round, batch, retest_of) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
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
        rows = zip(
            [self.study.id] * m,
            self.ids[start:stop].tolist(),
            [blob[i * width : (i + 1) * width] for i in range(m)],
            [x if math.isfinite(x) else None for x in values[start:stop].tolist()],
            errors[start:stop],
            self.rounds[start:stop].tolist(),
            (batch[start:stop] + self.offset).tolist(),
            self.retest_of[start:stop].tolist(),
        )
        conn = self.conn
        try:
            with _immediate(conn):
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
