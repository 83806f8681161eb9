"""Stored asynchronous searches: the order results arrived in is the study's history.

A stored asynchronous search records when each trial was asked (after how many
results) and the order its results arrived in; a resumed run replays that interleaving
exactly, runs again what was under way when it stopped, and holds every trial once.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import hyperzoom as hz

from .studyfiles import kill_at_random
from .test_search import SPACE, scalar_loss, vec_loss
from .test_search_async import ScriptedExecutor


class Crash(BaseException):
    """Stands for a process killed in the middle of a trial."""


def rows(db: Path) -> dict[int, tuple[bytes, float | None, int]]:
    """The stored trials: id -> (unit bytes, value, arrival order)."""
    with sqlite3.connect(db) as conn:
        return {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute("SELECT id, unit, value, batch FROM hz_trial")
        }


def asks(db: Path) -> list[tuple[int, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, before FROM hz_ask ORDER BY id").fetchall()


def test_a_stored_asynchronous_search_equals_the_unstored_one(tmp_path):
    db = tmp_path / "a.db"
    kw = {"budget": 150, "rng": 11, "asynchronous": True}
    plain = hz.search(scalar_loss, SPACE, executor=ScriptedExecutor(3, 150), **kw)
    stored = hz.search(
        scalar_loss, SPACE, executor=ScriptedExecutor(3, 150), storage=db, **kw
    )
    np.testing.assert_array_equal(plain.trials.unit, stored.trials.unit)
    np.testing.assert_array_equal(plain.trials.batch, stored.trials.batch)
    assert plain.best == stored.best
    # the synchronous search asks other trials: the mode is part of the study
    sync = hz.search(scalar_loss, SPACE, budget=150, rng=11)
    assert not np.array_equal(sync.trials.unit, stored.trials.unit)
    loaded = hz.load_study(db)
    np.testing.assert_array_equal(loaded.trials.unit, stored.trials.unit)
    np.testing.assert_array_equal(loaded.trials.value, stored.trials.value)
    np.testing.assert_array_equal(loaded.trials.batch, stored.trials.batch)
    assert loaded.best == stored.best
    assert len(loaded.regions) == len(stored.regions)
    # every ask is recorded, with how many results had arrived
    recorded = asks(db)
    assert [i for i, _ in recorded] == list(range(150))
    before = [b for _, b in recorded]
    assert before == sorted(before)
    assert before[-1] < 150
    # the order results arrived in is a permutation, and none came before its ask
    order = stored.trials.batch
    assert sorted(order.tolist()) == list(range(150))
    assert all(b <= s for b, s in zip(before, order.tolist()))


def test_a_second_run_evaluates_nothing_and_resumes_the_stored_mode(tmp_path):
    db = tmp_path / "a.db"
    kw = {"budget": 80, "rng": 5, "storage": db}
    first = hz.search(
        scalar_loss, SPACE, executor=ScriptedExecutor(1, 80), asynchronous=True, **kw
    )
    calls = []

    def counted(**c):
        calls.append(c)
        return scalar_loss(**c)

    # asynchronous=None (the default) resumes the study the way it was run
    again = hz.search(counted, SPACE, **kw)
    assert calls == []
    np.testing.assert_array_equal(again.trials.unit, first.trials.unit)
    with pytest.raises(ValueError, match="asynchronous=True, but this search has"):
        hz.search(scalar_loss, SPACE, asynchronous=False, **kw)
    # a larger budget continues it: the stored part is kept, the rest is new
    more = hz.search(counted, SPACE, budget=120, rng=5, storage=db)
    assert len(calls) == 40
    np.testing.assert_array_equal(more.trials.unit[:80], first.trials.unit)


@pytest.mark.parametrize("crash_at", [1, 7, 33, 64])
def test_crashed_runs_replay_their_history_and_hold_every_trial_once(
    tmp_path, crash_at
):
    db = tmp_path / "c.db"
    budget = 100
    calls = [0]

    def crashing(**c):
        calls[0] += 1
        if calls[0] == crash_at:
            raise Crash
        return scalar_loss(**c)

    kw = {"budget": budget, "rng": 3, "asynchronous": True, "storage": db}
    with pytest.raises(Crash):
        hz.search(crashing, SPACE, executor=ScriptedExecutor(crash_at, budget), **kw)
    before_resume = rows(db)
    history = hz.load_study(db)
    assert len(history.trials) == len(before_resume)
    # the resumed run evaluates every trial not stored, once (the executor completes
    # its calls in a scripted order once it has seen them all)
    left = budget - len(before_resume)
    resumed = hz.search(scalar_loss, SPACE, executor=ScriptedExecutor(9, left), **kw)
    after = rows(db)
    # nothing stored is changed or lost, and the replayed part is the stored history
    assert {i: after[i] for i in before_resume} == before_resume
    n = len(history.trials)
    order = np.argsort(resumed.trials.batch)
    np.testing.assert_array_equal(
        resumed.trials.unit[order[:n]],
        history.trials.unit[np.argsort(history.trials.batch)],
    )
    # every trial of the budget is stored once, with the value of its configuration
    assert sorted(after) == list(range(budget))
    # (the objective itself, row by row: NumPy's vectorised log10 may differ from
    # math.log10 in the last bit on some CPUs)
    t = resumed.trials
    expected = [scalar_loss(**t.configs.row(i)) for i in range(len(t))]
    np.testing.assert_array_equal(t.value, expected)


def test_a_resumed_run_reruns_what_was_under_way(tmp_path):
    db = tmp_path / "r.db"
    calls: list[int] = []

    def crashing(**c):
        calls.append(1)
        if len(calls) == 20:
            raise Crash
        return scalar_loss(**c)

    kw = {"budget": 60, "rng": 8, "asynchronous": True, "storage": db}
    with pytest.raises(Crash):
        hz.search(crashing, SPACE, executor=ScriptedExecutor(2, 60), **kw)
    asked = {i for i, _ in asks(db)}
    stored = set(rows(db))
    under_way = asked - stored
    assert under_way  # asked, recorded, never finished
    seen: list[float] = []

    def watching(**c):
        seen.append(c["lr"])
        return scalar_loss(**c)

    left = 60 - len(stored)
    resumed = hz.search(watching, SPACE, executor=ScriptedExecutor(2, left), **kw)
    rerun = resumed.trials.configs["lr"][sorted(under_way)]
    assert set(rerun.tolist()) <= set(seen[: len(under_way)])
    assert len(resumed.trials) == 60


def test_asynchronous_storage_refuses_a_vectorised_objective_before_writing(tmp_path):
    db = tmp_path / "v.db"
    with pytest.raises(ValueError, match="needs a scalar objective"):
        hz.search(vec_loss, SPACE, budget=10, rng=1, asynchronous=True, storage=db)
    assert not db.exists()


def test_a_damaged_ask_record_is_refused(tmp_path):
    db = tmp_path / "d.db"
    kw = {"budget": 40, "rng": 2, "asynchronous": True, "storage": db}
    hz.search(scalar_loss, SPACE, executor=ScriptedExecutor(4, 40), **kw)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE hz_ask SET before = before + 1 WHERE id = 30")
    with pytest.raises(ValueError, match="damaged"):
        hz.load_study(db)
    with pytest.raises(ValueError, match="damaged"):
        hz.search(scalar_loss, SPACE, executor=ScriptedExecutor(4, 40), **kw)


SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from concurrent.futures import ThreadPoolExecutor
    import numpy as np
    import hyperzoom as hz

    space = hz.Space(
        lr=hz.LogUniform(1e-4, 1.0),
        beta=hz.InvLogUniform(0.9, 0.999),
        units=hz.IntLogUniform(16, 512),
    )

    def objective(lr, beta, units):
        # trials of different lengths, so results arrive out of order
        time.sleep(0.002 * (1 + (units % 5)))
        return (np.log10(lr) + 2.5) ** 2 + (np.log10(1 - beta) + 2) ** 2

    if __name__ == "__main__":
        with ThreadPoolExecutor(4) as ex:
            hz.search(objective, space, budget=200, rng=17, executor=ex,
                      asynchronous=True, storage=sys.argv[1], study="k")
    """
)


def test_killed_asynchronous_runs_resume_holding_every_trial_once(tmp_path):
    script = tmp_path / "tune.py"
    script.write_text(SCRIPT)
    db = tmp_path / "k.db"
    rnd = random.Random(20261130)
    args = [sys.executable, str(script), str(db)]
    kills = 0
    snapshots: list[dict[int, tuple[bytes, float | None, int]]] = []
    for _ in range(6):  # one run at a time, so each leaves a snapshot to compare
        k, _ = kill_at_random(args, db, rnd, 1, 0.2, 200)
        kills += k
        snapshots.append(rows(db))
        if len(snapshots[-1]) == 200:
            break
    assert kills >= 3
    done = subprocess.run([sys.executable, str(script), str(db)], check=False)
    assert done.returncode == 0
    final = rows(db)
    assert sorted(final) == list(range(200))  # nothing lost, nothing twice
    assert sorted(v[2] for v in final.values()) == list(range(200))
    for snap in snapshots:  # what was stored is never rewritten
        assert {i: final[i] for i in snap} == snap
    # the stored history replays: load_study returns it, its values are its configs'
    loaded = hz.load_study(db, "k")
    assert len(loaded.trials) == 200
    c = loaded.trials.configs
    expected = (np.log10(c["lr"]) + 2.5) ** 2 + (np.log10(1 - c["beta"]) + 2) ** 2
    # scalar and vectorised log10 may differ in the last bit
    np.testing.assert_allclose(loaded.trials.value, expected, rtol=1e-12, atol=0)
    assert os.path.getsize(db) > 0
