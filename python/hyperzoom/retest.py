"""Re-testing stale incumbents, to learn whether yesterday's best still wins today.

Data, code and hardware change; the practice is to re-test the best hyperparameters
occasionally. :func:`retest` evaluates the ``top_k`` configurations of a finished search
(a :class:`~hyperzoom.SearchResult` or a stored study) ``repeats`` times each, and reports
whether their ranking held and how far the best moved. On a study file the new values
are stored with a tag and the time (table ``hz_retest``), so a later look
(:func:`load_retests`) shows every re-test the study went through.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import as_count
from .evaluate import evaluate, resolve_mode
from .search.results import SearchResult
from .storage import find, list_studies, load_study, study_lock
from .store import article, connect, immediate

__all__ = ["RetestReport", "load_retests", "retest"]

_TABLE = """
CREATE TABLE IF NOT EXISTS hz_retest (
    study INTEGER NOT NULL REFERENCES hz_study(id),
    trial INTEGER NOT NULL,
    tag TEXT NOT NULL,
    time TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    value REAL,
    error TEXT
)
"""


class RetestReport:
    """What a re-test found.

    Attributes
    ----------
    ids : ndarray of int64
        The re-tested trials, best first by their old values.
    old : ndarray
        Their values in the search.
    new : ndarray, shape (top_k, repeats)
        The new evaluations (NaN where one failed).
    mean, std : ndarray
        Mean and standard deviation of each trial's new evaluations.
    ranking_held : bool
        Whether the new means rank the trials in the old order.
    rank_correlation : float
        Spearman's correlation of old values and new means (1: the same order).
    best_moved : float
        New mean minus old value of the old best.
    best_id : int
        The trial whose new mean is best.
    tag, time : str
        The tag given and the time of the re-test (ISO 8601, UTC).
    """

    def __init__(
        self,
        result: SearchResult,
        ids: np.ndarray,
        old: np.ndarray,
        new: np.ndarray,
        errors: list[str | None],
        tag: str,
        time: str,
    ) -> None:
        self.result = result
        self.ids = ids
        self.old = old
        self.new = new
        self.errors = errors
        self.tag = tag
        self.time = time
        ok = np.isfinite(new)
        counts = ok.sum(axis=1)
        sums = np.where(ok, new, 0.0).sum(axis=1)
        self.mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        dev = np.where(ok, new - self.mean[:, None], 0.0)
        self.std = np.where(
            counts > 1,
            np.sqrt((dev**2).sum(axis=1) / np.maximum(counts - 1, 1)),
            np.nan,
        )
        sign = 1.0 if result.minimize else -1.0
        order_new = np.argsort(
            np.where(np.isfinite(self.mean), sign * self.mean, np.inf), kind="stable"
        )
        self.ranking_held = bool(np.array_equal(order_new, np.arange(ids.size)))
        self.rank_correlation = _spearman(sign * old, sign * self.mean)
        self.best_moved = float(self.mean[0] - old[0]) if ids.size else math.nan
        self.best_id = (
            int(ids[order_new[0]])
            if ids.size and np.isfinite(self.mean).any()
            else None
        )

    @property
    def best(self) -> dict[str, Any] | None:
        """The configuration that is best now (by its new mean)."""
        if self.best_id is None:
            return None
        row = int(np.flatnonzero(self.result.trials.id == self.best_id)[0])
        best: dict[str, Any] = self.result.trials.configs[row]
        return best

    def __repr__(self) -> str:
        held = "held" if self.ranking_held else "changed"
        head = (
            f"RetestReport(tag={self.tag!r}, {self.ids.size} incumbents x {self.new.shape[1]}"
            f" repeats: ranking {held}, Spearman {self.rank_correlation:.2f}, best moved "
            f"{self.best_moved:+.4g})"
        )
        lines = [
            head,
            "   trial         old    new mean     new std",
        ]
        for i, tid in enumerate(self.ids):
            lines.append(
                f"  {int(tid):6d}  {self.old[i]:10.5g}  {self.mean[i]:10.5g}  {self.std[i]:10.3g}"
            )
        return "\n".join(lines)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 2:
        return math.nan
    ra = np.argsort(np.argsort(a[ok], kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(b[ok], kind="stable"), kind="stable").astype(float)
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def retest(
    study_or_result: SearchResult | str | os.PathLike[str],
    objective: Callable[..., Any],
    *,
    study: str | None = None,
    top_k: int = 5,
    repeats: int = 3,
    tag: str | None = None,
    mode: str | None = None,
    executor: Executor | None = None,
) -> RetestReport:
    """Re-evaluate the best configurations of a search and report what changed.

    Parameters
    ----------
    study_or_result : SearchResult or path
        A search result, or a study file (``study`` names the study when it holds
        several); with a file the new values are stored with ``tag`` and the time.
    objective : callable
        The objective as it is now (any of the forms of :func:`hyperzoom.search`).
    top_k : int
        How many of the best configurations to re-test.
    repeats : int
        Evaluations of each.
    tag : str, optional
        A label for this re-test (default: the time).
    mode, executor
        As in :func:`hyperzoom.search`.

    Returns
    -------
    RetestReport

    Examples
    --------
    >>> import numpy as np
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    >>> r = hz.search(lambda c: (np.log10(c["lr"]) + 2) ** 2, space, budget=100, rng=1)
    >>> # the data changed: the best learning rate is now ten times smaller
    >>> rep = hz.retest(r, lambda c: (np.log10(c["lr"]) + 3) ** 2, top_k=3, repeats=2)
    >>> rep.new.shape, rep.best_moved > 0.5
    ((3, 2), True)
    """
    top_k = as_count(top_k, "top_k", minimum=1)
    repeats = as_count(repeats, "repeats", minimum=1)
    path: Path | None = None
    if isinstance(study_or_result, SearchResult):
        if study is not None:
            msg = "`study` names a study in a file; it cannot be given with a SearchResult."
            raise ValueError(msg)
        result = study_or_result
    elif isinstance(study_or_result, (str, os.PathLike)):
        path = Path(study_or_result)
        result = load_study(path, study)
        if not isinstance(result, SearchResult):
            named = "the study" if study is None else f"study {study!r}"
            msg = (
                f"`study_or_result` must be a search study, but {named} in "
                f"{os.fspath(path)!r} is {article(result.method)} study: "
                "re-test its best configuration by training it again with "
                "`train(result.best, budget, None)`."
            )
            raise TypeError(msg)
    else:
        msg = (
            "`study_or_result` must be a SearchResult or a study file path, but got "
            f"{type(study_or_result).__name__}."
        )
        raise TypeError(msg)
    if tag is not None and not isinstance(tag, str):
        msg = f"`tag` must be a string, but got {tag!r}."
        raise TypeError(msg)
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    tag = now if tag is None else tag

    t = result.trials
    originals = np.flatnonzero(~t.failed & (t.retest_of < 0))
    if originals.size == 0:
        msg = "the search has no successful trial to re-test."
        raise ValueError(msg)
    sign = 1.0 if result.minimize else -1.0
    order = originals[np.argsort(sign * t.value[originals], kind="stable")][:top_k]
    ids = t.id[order].astype(np.int64)
    old = t.value[order].astype(np.float64)
    unit = np.repeat(t.unit[order], repeats, axis=0)
    configs = result.space.from_unit(unit)
    mode = resolve_mode(objective, result.space, mode)
    with contextlib.ExitStack() as stack:
        if path is not None:
            # The study's lock, before anything is evaluated: never beside a run of the
            # same study in another process, and nothing evaluated is lost to a refusal.
            name = study if study is not None else list_studies(path)[0]
            stack.enter_context(study_lock(path, name))
        values, errors, _ = evaluate(objective, configs, mode=mode, executor=executor)
        new = values.reshape(order.size, repeats)
        if path is not None:
            _store(path, study, ids, repeats, new, errors, tag, now)
    return RetestReport(result, ids, old, new, errors, tag, now)


def _store(
    path: Path,
    study: str | None,
    ids: np.ndarray,
    repeats: int,
    new: np.ndarray,
    errors: list[str | None],
    tag: str,
    now: str,
) -> None:
    conn = connect(path, create=True)
    try:
        rec = find(conn, path, study)
        with immediate(conn):
            conn.execute(_TABLE)
            rows = [
                (
                    rec.id,
                    int(ids[i]),
                    tag,
                    now,
                    k,
                    None if not math.isfinite(new[i, k]) else float(new[i, k]),
                    errors[i * repeats + k],
                )
                for i in range(ids.size)
                for k in range(repeats)
            ]
            conn.executemany(
                "INSERT INTO hz_retest (study, trial, tag, time, repeat, value, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    finally:
        conn.close()


def load_retests(
    path: str | os.PathLike[str], study: str | None = None
) -> list[dict[str, Any]]:
    """Return every stored re-test of a study: one dict per evaluation, oldest first.

    Each dict has ``trial``, ``tag``, ``time``, ``repeat``, ``value`` (NaN when it
    failed) and ``error``.
    """
    p = Path(path)
    conn = connect(p, create=False)
    try:
        rec = find(conn, p, study)
        try:
            rows = conn.execute(
                "SELECT trial, tag, time, repeat, value, error FROM hz_retest WHERE study=? "
                "ORDER BY rowid",
                (rec.id,),
            ).fetchall()
        except sqlite3.OperationalError:  # no re-test stored yet: no table
            rows = []
    finally:
        conn.close()
    return [
        {
            "trial": r[0],
            "tag": r[1],
            "time": r[2],
            "repeat": r[3],
            "value": math.nan if r[4] is None else r[4],
            "error": r[5],
        }
        for r in rows
    ]
