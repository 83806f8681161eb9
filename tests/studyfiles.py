"""Helpers for tests that edit study files by hand (as a careless or hostile user would).

``reseal`` recomputes every row's checksum after an edit, so that a test can reach the
checks behind the checksums (stored records validated as data, replays compared bit for
bit); without it an edit is refused as damage, which ``test_integrity.py`` tests.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time

import numpy as np

from hyperzoom.store import integrity as _integrity


def reseal(path) -> None:
    conn = sqlite3.connect(path)
    try:
        with conn:
            for row in conn.execute(
                "SELECT id, name, space, settings, seed, version, created FROM hz_study"
            ).fetchall():
                conn.execute(
                    "UPDATE hz_study SET crc=? WHERE id=?",
                    (_integrity.study_hash(row), row[0]),
                )
            rows = conn.execute(
                "SELECT study, id, unit, value, error, round, batch, retest_of "
                "FROM hz_trial"
            ).fetchall()
            for r in rows:
                unit = np.frombuffer(r[2], dtype=np.float64)
                crc = _integrity.trial_hashes(
                    r[0],
                    np.array([r[1]]),
                    unit.reshape(1, -1),
                    np.array([np.nan if r[3] is None else r[3]]),
                    [r[4]],
                    np.array([r[5]]),
                    np.array([r[6]]),
                    np.array([r[7]]),
                )
                conn.execute(
                    "UPDATE hz_trial SET crc=? WHERE study=? AND id=?",
                    (int(crc[0]), r[0], r[1]),
                )
            for r in conn.execute(
                "SELECT study, id, run, budget, unit, value, error, seq, before "
                "FROM hz_call"
            ).fetchall():
                conn.execute(
                    "UPDATE hz_call SET crc=? WHERE study=? AND id=?",
                    (_integrity.call_hash(*r), r[0], r[1]),
                )
    finally:
        conn.close()


def count_rows(db, table: str = "hz_trial") -> int:
    """Rows of ``table`` committed so far (0 while the file does not exist yet)."""
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def kill_at_random(args, db, rnd, runs, pause, total, *, env=None, table="hz_trial"):
    """Start ``args`` up to ``runs`` times, killing each a moment after it commits.

    Returns the number of kills and the rows stored after each run (it stops early
    once ``total`` rows are stored).
    """
    kills, counts = 0, []
    for _ in range(runs):
        proc = subprocess.Popen(args, env=env)
        before = count_rows(db, table)
        deadline = time.monotonic() + 30
        # Wait until this run has committed something new, then kill it a moment later.
        while count_rows(db, table) <= before and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(rnd.uniform(0.0, pause))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        counts.append(count_rows(db, table))
        if counts[-1] == total:
            break
    return kills, counts
