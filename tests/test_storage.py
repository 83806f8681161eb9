from __future__ import annotations

import doctest
import os
import random
import runpy
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import hyperzoom as hz
from hyperzoom import storage

from .studyfiles import count_rows, kill_at_random, reseal

SEED = 0x5EED_0F_57_0DA6E_A11_DA7A_5AFE

SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    units=hz.IntLogUniform(16, 1024),
    act=hz.Choice(["relu", "tanh", "gelu"], weights=[3, 1, 1]),
)


def loss(c):
    v = (np.log10(c["lr"]) + 2.5) ** 2 + (np.log10(1 - c["beta"]) + 2) ** 2
    v = v + 0.1 * np.log2(c["units"] / 128) ** 2 + (c["act"] == "tanh")
    return np.where(c["lr"] > 0.5, np.nan, v)  # a failing corner


def trial_set(result):
    t = result.trials
    return {
        (
            int(i),
            t.unit[k].tobytes(),
            float(t.value[k]) if t.value[k] == t.value[k] else None,
        )
        for k, i in enumerate(t.id)
    }


def assert_same_result(a, b):
    assert trial_set(a) == trial_set(b)
    assert a.best == b.best
    assert a.best_value == b.best_value
    assert a.regions == b.regions
    assert a.trials.error.tolist() == b.trials.error.tolist()


@pytest.fixture
def db(tmp_path):
    return tmp_path / "study.db"


def test_doctests():
    failures, tests = doctest.testmod(storage, optionflags=doctest.ELLIPSIS)
    assert tests > 0
    assert failures == 0


def test_stored_run_equals_plain_run_and_load(db):
    plain = hz.search(loss, SPACE, budget=300, rng=SEED)
    stored = hz.search(loss, SPACE, budget=300, rng=SEED, storage=db, study="a")
    assert_same_result(plain, stored)
    assert plain.trials.n_failed > 0
    loaded = hz.load_study(db, "a")
    assert_same_result(plain, loaded)
    assert loaded.to_pandas().shape[0] == 300  # pandas is in the test extra


def _has_pandas():
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def test_retest_and_maximise_round_trip(db):
    def score(c):
        return -loss(c)

    kw = {"budget": 240, "rng": SEED, "retest": 2, "minimize": False}
    plain = hz.search(score, SPACE, **kw)
    stored = hz.search(score, SPACE, **kw, storage=db, study="r")
    assert_same_result(plain, stored)
    assert_same_result(plain, hz.load_study(db))


def test_second_run_evaluates_nothing(db):
    hz.search(loss, SPACE, budget=200, rng=SEED, storage=db, study="a")
    calls = []

    def counting(c):
        calls.append(len(c))
        return loss(c)

    again = hz.search(counting, SPACE, budget=200, rng=SEED, storage=db, study="a")
    assert calls == []
    assert len(again.trials) == 200


def test_resume_evaluates_only_missing_trials(db):
    full = hz.search(loss, SPACE, budget=300, rng=SEED, storage=db, study="a")
    # Trials in flight when a run died are simply absent: a hole in an early round
    # (an executor finishes out of order) and the tail.
    missing = {3, 4, 50, 51, 52, *range(170, 300)}
    with sqlite3.connect(db) as conn:
        conn.executemany("DELETE FROM hz_trial WHERE id=?", [(i,) for i in missing])
    partial = hz.load_study(db, "a")
    assert len(partial.trials) < 300 - len(missing) + 1
    seen: list[int] = []

    def counting(c):
        seen.extend(c.ids.tolist())
        return loss(c)

    resumed = hz.search(
        counting, SPACE, budget=300, rng=SEED, storage=db, study="a", batch_size=7
    )
    assert sorted(seen) == sorted(missing)
    assert_same_result(full, resumed)
    assert_same_result(full, hz.load_study(db, "a"))


def test_scalar_objective_on_executor(db):
    def scalar(lr, beta, units, act):
        if lr > 0.5:
            raise RuntimeError("diverged")
        return float((np.log10(lr) + 2.5) ** 2 + (np.log10(1 - beta) + 2) ** 2)

    plain = hz.search(scalar, SPACE, budget=120, rng=SEED)
    with ThreadPoolExecutor(3) as ex:
        stored = hz.search(scalar, SPACE, budget=120, rng=SEED, storage=db, executor=ex)
    assert trial_set(plain) == trial_set(stored)
    assert plain.best == stored.best
    loaded = hz.load_study(db)
    assert trial_set(plain) == trial_set(loaded)
    errors = [e for e in loaded.trials.error if e is not None]
    assert errors
    assert all(e.startswith("RuntimeError: diverged") for e in errors)


def test_seed_sequence_and_strategies(db):
    ss = np.random.SeedSequence(SEED, spawn_key=(3,))
    for strategy in ("random", "grid"):
        plain = hz.search(loss, SPACE, budget=60, rng=ss, strategy=strategy)
        ss = np.random.SeedSequence(SEED, spawn_key=(3,))
        stored = hz.search(
            loss,
            SPACE,
            budget=60,
            rng=ss,
            strategy=strategy,
            storage=db,
            study=strategy,
        )
        assert_same_result(plain, stored)
        assert_same_result(plain, hz.load_study(db, strategy))
        ss = np.random.SeedSequence(SEED, spawn_key=(3,))


def test_no_seed_draws_one_and_resume_uses_it(db):
    first = hz.search(loss, SPACE, budget=80, storage=db, study="s")
    again = hz.search(loss, SPACE, budget=80, storage=db, study="s")
    assert_same_result(first, again)


def test_several_studies_per_file(db):
    hz.search(loss, SPACE, budget=40, rng=1, storage=db, study="one")
    hz.search(loss, SPACE, budget=60, rng=2, storage=db, study="two")
    assert hz.list_studies(db) == ["one", "two"]
    assert len(hz.load_study(db, "two").trials) == 60
    with pytest.raises(ValueError, match=r"2 studies.*\['one', 'two'\]"):
        hz.load_study(db)
    with pytest.raises(ValueError, match=r"no study named 'three'.*\['one', 'two'\]"):
        hz.load_study(db, "three")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"round_size": 7}, r"round_size=None, but this search has round_size=7"),
        ({"keep": 0.05}, r"keep=0.5, but this search has keep=0.05"),
        ({"minimize": False}, r"minimize=True"),
        ({"rng": SEED + 1}, r"was run with seed"),
        (
            {"space": hz.Space(lr=hz.LogUniform(1e-3, 1.0), x=hz.Uniform(0, 1))},
            r"parameters differ",
        ),
        (
            {"space": hz.Space(lr=hz.LogUniform(1e-3, 1.0), beta=hz.Uniform(0, 1))},
            (
                r"parameter 'beta' differs: stored InvLogUniform\(0.9, 0.999\), "
                r"given Uniform\(0.0, 1.0\)"
            ),
        ),
    ],
)
def test_mismatched_study_is_refused(db, change, match):
    space = hz.Space(lr=hz.LogUniform(1e-3, 1.0), beta=hz.InvLogUniform(0.9, 0.999))
    kw = {"budget": 100, "rng": SEED}
    hz.search(lambda c: c["lr"], space, **kw, storage=db, study="m")
    kw.update(change)
    space = kw.pop("space", space)
    with pytest.raises(ValueError, match=match):
        hz.search(lambda c: c["lr"], space, **kw, storage=db, study="m")


def test_seeds_that_cannot_be_stored(db):
    with pytest.raises(TypeError, match="not a Generator"):
        hz.search(loss, SPACE, budget=10, rng=np.random.default_rng(1), storage=db)
    with pytest.raises(TypeError, match=r"int, a numpy\.random\.SeedSequence or None"):
        hz.search(loss, SPACE, budget=10, rng=1.5, storage=db)
    with pytest.raises(ValueError, match="needs `storage=`"):
        hz.search(loss, SPACE, budget=10, rng=1, study="x")


def test_options_that_are_not_json_are_refused(db):
    space = hz.Space(opt=hz.Choice([("adam", 0.9), ("sgd", 0.0)]))
    with pytest.raises(
        TypeError, match=r"option 0 of parameter 'opt' is \('adam', 0.9\)"
    ):
        hz.search(lambda c: np.zeros(len(c)), space, budget=10, rng=1, storage=db)
    assert not db.exists()  # refused before the file is created


def test_plain_json_options_round_trip(db):
    space = hz.Space(
        opt=hz.Choice(["adam", 1, 2.5, True, None], weights=[1, 2, 3, 4, 5]),
        n=hz.PowerOfTwo(16, 512),
        k=hz.IntUniform(-3, 3),
    )

    def f(c):
        return c["k"] ** 2 + np.log2(c["n"])

    plain = hz.search(f, space, budget=50, rng=SEED)
    stored = hz.search(f, space, budget=50, rng=SEED, storage=db)
    loaded = hz.load_study(db)
    assert loaded.space == space
    assert_same_result(plain, stored)
    assert_same_result(plain, loaded)


# -- files that are not ours -----------------------------------------------------------
def _garbage(p: Path) -> None:
    p.write_bytes(b"this is not a database, just some bytes\n" * 100)


def _foreign(p: Path) -> None:
    with sqlite3.connect(p) as conn:
        conn.execute("CREATE TABLE people (name TEXT)")


def _newer(p: Path) -> None:
    hz.search(loss, SPACE, budget=10, rng=1, storage=p)
    with sqlite3.connect(p) as conn:
        conn.execute("PRAGMA user_version=99")


def _damaged(p: Path) -> None:
    hz.search(loss, SPACE, budget=400, rng=1, storage=p)
    with sqlite3.connect(p) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    data = bytearray(p.read_bytes())
    page = 4096
    for k in range(page, len(data), page):  # wreck every page but the schema's
        data[k : k + 64] = b"\xff" * 64
    p.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (_garbage, "is not a readable hyperzoom study file"),
        (
            _foreign,
            r"not a hyperzoom study file \(application_id 0x0, tables \['people'\]",
        ),
        (_newer, r"newer hyperzoom \(study schema 99"),
        (_damaged, "is not a readable hyperzoom study file|damaged"),
    ],
    ids=["not-sqlite", "foreign-sqlite", "newer-schema", "damaged-pages"],
)
@pytest.mark.parametrize("how", ["load", "list", "search"])
def test_files_that_are_not_ours(tmp_path, make, match, how):
    p = tmp_path / "x.db"
    make(p)
    calls = {
        "load": lambda: hz.load_study(p),
        "list": lambda: hz.list_studies(p),
        "search": lambda: hz.search(loss, SPACE, budget=400, rng=1, storage=p),
    }
    with pytest.raises(ValueError, match=match) as info:
        calls[how]()
    assert "x.db" in str(info.value)


def test_missing_file_and_empty_database(tmp_path):
    with pytest.raises(FileNotFoundError, match="no study file at"):
        hz.load_study(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(ValueError, match="empty SQLite database"):
        hz.load_study(empty)
    with pytest.raises(ValueError, match="is a directory"):
        hz.list_studies(tmp_path)


def test_edited_trial_does_not_match(db):
    hz.search(loss, SPACE, budget=60, rng=SEED, storage=db, study="e")
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE hz_trial SET unit=? WHERE id=5", (np.full(4, 0.5).tobytes(),)
        )
    with pytest.raises(ValueError, match=r"damaged: 1 trial\(s\) do not match"):
        hz.load_study(db)  # an edit is damage: the checksum says so
    reseal(db)  # an edit that recomputes the checksums meets the replay's check
    with pytest.raises(ValueError, match="trial 5 was stored at unit coordinates"):
        hz.load_study(db)
    with pytest.raises(ValueError, match="does not match this search"):
        hz.search(loss, SPACE, budget=60, rng=SEED, storage=db, study="e")


# -- a reader while a run writes --------------------------------------------------------
def test_concurrent_reader_while_writing(db):
    def slow(c):
        time.sleep(0.01)
        return loss(c)

    errors: list[BaseException] = []

    def run():
        try:
            hz.search(slow, SPACE, budget=400, rng=SEED, storage=db, batch_size=8)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    writer = threading.Thread(target=run)
    writer.start()
    counts = []
    while writer.is_alive():
        if db.exists():
            try:
                r = hz.load_study(db)
            except ValueError:  # the study row is not written yet
                continue
            counts.append(len(r.trials))
        time.sleep(0.02)
    writer.join()
    assert not errors
    assert counts == sorted(counts)
    assert any(0 < c < 400 for c in counts)  # read while the run was half way
    assert len(hz.load_study(db).trials) == 400


# -- kill -9 at random moments ----------------------------------------------------------
SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    import hyperzoom as hz

    space = hz.Space(
        lr=hz.LogUniform(1e-4, 1.0),
        beta=hz.InvLogUniform(0.9, 0.999),
        act=hz.Choice(["relu", "tanh"]),
    )
    SLEEP = float(os.environ.get("HZ_TEST_SLEEP", "0"))

    def objective(lr, beta, act):
        time.sleep(SLEEP)
        if lr > 0.6:
            raise RuntimeError("diverged")
        return (np.log10(lr) + 2.5) ** 2 + (np.log10(1 - beta) + 2) ** 2 + (act == "tanh")

    settings = {
        "budget": int(os.environ.get("HZ_TEST_BUDGET", "240")),
        "rng": SEED,
        "retest": 1,
    }

    if __name__ == "__main__":
        hz.search(objective, space, storage=sys.argv[1], study="killed", **settings)
    """
).replace("SEED", str(SEED))


def _kill_at_random(script, db, env, rnd, runs, pause, total):
    """Start the script up to `runs` times, killing each a moment after it commits."""
    args = [sys.executable, str(script), str(db)]
    return kill_at_random(args, db, rnd, runs, pause, total, env=env)


def test_killed_runs_resume_to_the_uninterrupted_result(tmp_path):
    script = tmp_path / "tune.py"
    script.write_text(SCRIPT)
    db = tmp_path / "killed.db"
    env = dict(os.environ, HZ_TEST_SLEEP="0.004")
    kills, counts = _kill_at_random(script, db, env, random.Random(SEED), 5, 0.15, 240)
    assert kills >= 3, counts
    assert any(0 < c < 240 for c in counts)
    # Resume to the end, then compare with an uninterrupted run of the same search.
    done = subprocess.run([sys.executable, str(script), str(db)], check=False)
    assert done.returncode == 0
    ns = runpy.run_path(str(script), run_name="reference")
    reference = hz.search(ns["objective"], ns["space"], **ns["settings"])
    resumed = hz.load_study(db, "killed")
    assert_same_result(reference, resumed)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT count(*), count(DISTINCT id) FROM hz_trial"
        ).fetchone()
    assert rows == (240, 240)  # nothing lost, nothing duplicated


def test_killed_continuation_with_a_larger_budget_equals_the_uninterrupted_run(
    tmp_path,
):
    script = tmp_path / "tune.py"
    script.write_text(SCRIPT)
    db = tmp_path / "grown.db"
    small = subprocess.run(
        [sys.executable, str(script), str(db)],
        env=dict(os.environ, HZ_TEST_BUDGET="80"),
        check=False,
    )
    assert small.returncode == 0
    assert count_rows(db) == 80
    env = dict(os.environ, HZ_TEST_SLEEP="0.004", HZ_TEST_BUDGET="240")
    kills, _ = _kill_at_random(script, db, env, random.Random(SEED + 1), 4, 0.1, 240)
    assert kills >= 2
    done = subprocess.run([sys.executable, str(script), str(db)], env=env, check=False)
    assert done.returncode == 0
    ns = runpy.run_path(str(script), run_name="reference")
    settings = ns["settings"] | {"budget": 240}
    reference = hz.search(ns["objective"], ns["space"], **settings)
    resumed = hz.load_study(db, "killed")
    assert_same_result(reference, resumed)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT count(*), count(DISTINCT id) FROM hz_trial"
        ).fetchone()
    assert rows == (240, 240)


def test_a_smaller_budget_replays_the_first_trials(db):
    big = hz.search(loss, SPACE, budget=150, rng=SEED, storage=db, study="b")
    small = hz.search(loss, SPACE, budget=50, rng=SEED, storage=db, study="b")
    np.testing.assert_array_equal(small.trials.unit, big.trials.unit[:50])
    assert len(hz.load_study(db, "b").trials) == 150


def test_a_time_limited_stored_search_resumes(db):
    first = hz.search(loss, SPACE, time_limit=0.05, rng=SEED, storage=db, study="t")
    assert len(first.trials) > 0
    grown = hz.search(
        loss, SPACE, budget=len(first.trials) + 60, rng=SEED, storage=db, study="t"
    )
    plain = hz.search(loss, SPACE, budget=len(first.trials) + 60, rng=SEED)
    assert_same_result(plain, grown)


def test_a_study_of_the_budget_split_search_is_refused_clearly(db):
    hz.search(loss, SPACE, budget=30, rng=SEED, storage=db, study="old")
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE hz_study SET settings=? WHERE name='old'",
            (
                (
                    '{"budget": 30, "strategy": "coarse-to-fine", "rounds": null, '
                    '"keep": 0.02, "margin": 0.05, "min_width": 0.05, "explore": 0.1, '
                    '"retest": 0, "retest_every": 1, "minimize": true}'
                ),
            ),
        )
    reseal(db)  # past the checksums, to the check of the settings themselves
    with pytest.raises(ValueError, match=r"planned its rounds from the budget"):
        hz.load_study(db, "old")
    with pytest.raises(ValueError, match=r"planned its rounds from the budget"):
        hz.search(loss, SPACE, budget=30, rng=SEED, storage=db, study="old")
