"""Stored studies, the public face: list, inspect and load the studies of a file.

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

An asynchronous search (``asynchronous=True``) is stored too: beside each result it
records the order in which results arrived, and for each trial how many results had
arrived when it was asked, so a resumed run replays asks and tells in exactly that
interleaving (its stored part is the stored history) and then runs again the trials
that were under way when it stopped.

This module is the public face of stored studies; the file itself is the layer
beneath, :mod:`hyperzoom.store` (its schema is in :mod:`hyperzoom.store.file`), and
searches and schedulers each write to it through their journal
(:mod:`hyperzoom.search.journal`, the stored caller of the schedulers).

A study file is untrusted input (see :mod:`hyperzoom.store.integrity`): every open checks
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

import os
from pathlib import Path
from typing import Any

from .schedule.journal import replay_caller
from .schedule.stored import replay
from .search.journal import StudyJournal, check_study, stored_optimiser
from .store import (
    SCHEMA_VERSION,
    Study,
    connect,
    find_study,
    kind,
    study_lock,
    study_names,
    translated,
)

__all__ = ["SCHEMA_VERSION", "list_studies", "load_study", "study_info", "study_lock"]


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
    conn = connect(p, create=False)
    try:
        with translated(p):
            return study_names(conn)
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
    conn = connect(p, create=False)
    try:
        with translated(p):
            study = find(conn, p, name)
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
    conn = connect(p, create=False)
    try:
        with translated(p):
            conn.execute("BEGIN")  # one snapshot for the study and its trials
            try:
                study = find(conn, p, name)
                space = study.space()
                if kind(study.settings) != "search":
                    caller = replay_caller(conn, study)
                else:
                    opt = stored_optimiser(study, space, replay=True)
                    StudyJournal(conn, study, space.d, opt.budget).replay(opt)
            finally:
                conn.execute("COMMIT")
    finally:
        conn.close()
    if kind(study.settings) != "search":
        return replay(caller, study, space)
    return opt.result()


def find(conn: Any, path: Path, name: str | None) -> Study:
    """Return study ``name`` of the file, its record checked by what wrote it."""
    study = find_study(conn, path, name)
    if kind(study.settings) == "search":
        check_study(study)
    return study
