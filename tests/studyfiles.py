"""Helpers for tests that edit study files by hand (as a careless or hostile user would).

``reseal`` recomputes every row's checksum after an edit, so that a test can reach the
checks behind the checksums (stored records validated as data, replays compared bit for
bit); without it an edit is refused as damage, which ``test_integrity.py`` tests.
"""

from __future__ import annotations

import sqlite3

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
