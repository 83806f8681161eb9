"""Stored schedules: successive halving, Hyperband, ASHA and PBT in a study file."""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import io
import json
import math
import random
import re
import runpy
import sqlite3
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import hyperzoom as hz

from .pools import spawned_pool, worker_module
from .studyfiles import kill_at_random, reseal

SEED = 20261128

SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    units=hz.IntLogUniform(16, 256),
)


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so no run catches it."""


class Train:
    """A resumable training function: state [epochs, excess]; counts its calls.

    The loss depends on the state, so a run resumed from the wrong state (or from
    scratch where it should resume) gives a different loss.
    """

    def __init__(self, crash_at: int | None = None, fail_lr: float = 0.5) -> None:
        self.calls: list[tuple[float, float, object]] = []
        self.crash_at = crash_at
        self.fail_lr = fail_lr

    def __call__(self, c, budget, state):
        if self.crash_at is not None and len(self.calls) == self.crash_at:
            raise Crash
        self.calls.append((c["lr"], float(budget), state))
        if c["lr"] > self.fail_lr:
            msg = "diverged"
            raise RuntimeError(msg)
        t0, g = (0.0, 1.0) if state is None else state
        g = g * (1.0 - min(0.3, 3 * c["lr"])) ** (float(budget) - t0)
        floor = (np.log10(c["lr"]) + 2.5) ** 2 + (np.log10(1 - c["beta"]) + 2) ** 2
        return floor + g + 0.01 * np.log2(c["units"]), [float(budget), g]


METHODS = {
    "successive_halving": {"n": 27, "min_budget": 1, "max_budget": 27},
    "hyperband": {"max_budget": 27, "eta": 3},
    "asha": {"min_budget": 1, "max_budget": 27, "n_trials": 60},
    "pbt": {"population": 8, "interval": 3, "total_budget": 12},
}


def run(method, train, **kw):
    return getattr(hz, method)(train, SPACE, rng=SEED, **METHODS[method], **kw)


def curves(result):
    t = result.trials
    return {
        (int(i), t.unit[k].tobytes(), t.status[k], t.curves[k].tobytes())
        for k, i in enumerate(t.id)
    }


def assert_same(a, b, *, state=True):
    assert curves(a) == curves(b)
    assert a.best == b.best
    assert a.best_value == b.best_value
    assert a.n_calls == b.n_calls
    assert a.budget_used == b.budget_used
    # json writes NaN (a failed member's loss) as NaN, so equal NaNs compare equal
    assert json.dumps(a.lineage, sort_keys=True) == json.dumps(
        b.lineage, sort_keys=True
    )
    if state:
        assert a.best_state == b.best_state


@pytest.fixture
def db(tmp_path):
    return tmp_path / "study.db"


def stored_calls(db, study=None):
    with sqlite3.connect(db) as conn:
        q = "SELECT c.id, c.run, c.budget, c.value, c.error, c.state FROM hz_call c"
        if study is not None:
            q += " JOIN hz_study s ON s.id = c.study WHERE s.name = ?"
            return conn.execute(q + " ORDER BY c.id", (study,)).fetchall()
        return conn.execute(q + " ORDER BY c.id").fetchall()


# -- stored runs equal plain runs; a second run trains nothing --------------------------
@pytest.mark.parametrize("method", list(METHODS))
def test_stored_equals_plain_and_resumes_to_nothing(db, method):
    plain = run(method, Train())
    first_train = Train()
    first = run(method, first_train, storage=db, study=method, state_codec="json")
    assert_same(plain, first)
    assert len(first_train.calls) == first.n_calls
    assert len(stored_calls(db)) == first.n_calls
    again_train = Train()
    again = run(method, again_train, storage=db, study=method, state_codec="json")
    assert again_train.calls == []
    assert_same(plain, again)
    loaded = hz.load_study(db, method)
    assert_same(plain, loaded, state=False)
    assert loaded.best_state is None  # opening a study decodes nothing
    assert loaded.method == method


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("crash_at", [0, 1, 7, 25, 31])
def test_crash_and_resume_equals_the_uninterrupted_run(db, method, crash_at):
    plain = run(method, Train())
    with pytest.raises(Crash):
        run(method, Train(crash_at), storage=db, state_codec="json")
    assert len(stored_calls(db)) == crash_at
    resumed_train = Train()
    resumed = run(method, resumed_train, storage=db, state_codec="json")
    assert_same(plain, resumed)
    # Only what was not stored ran, and every resumed run continued from its state.
    assert len(resumed_train.calls) == plain.n_calls - crash_at
    rows = stored_calls(db)
    assert [r[0] for r in rows] == list(range(plain.n_calls))


@pytest.mark.parametrize("method", ["hyperband", "asha", "pbt"])
def test_crash_twice_with_threads(db, method):
    plain = run(method, Train())
    with ThreadPoolExecutor(2) as pool:
        for crash_at in (5, 19):
            with pytest.raises(Crash):
                run(
                    method,
                    Train(crash_at),
                    storage=db,
                    state_codec="json",
                    executor=pool,
                    **({"n_workers": 2} if method == "asha" else {}),
                )
        resumed = run(
            method,
            Train(),
            storage=db,
            state_codec="json",
            executor=pool,
            **({"n_workers": 2} if method == "asha" else {}),
        )
    rows = stored_calls(db)
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)) == resumed.n_calls  # nothing lost or repeated
    if method != "asha":  # synchronous: arrival order does not matter
        assert_same(plain, resumed)
    else:  # asynchronous: the same work, whatever the order
        assert len(resumed.trials) == METHODS["asha"]["n_trials"]
        assert len({(r[1], r[2]) for r in rows}) == len(rows)


def test_only_the_states_still_needed_are_kept(db):
    r = run("hyperband", Train(), storage=db, state_codec="json")
    rows = stored_calls(db)
    with_state = [row for row in rows if row[5] is not None]
    # One state per run that reached the top rung of its bracket: the others were
    # stopped (cleared) or superseded by a newer state of the same run.
    # (A failed run has no state to keep.)
    top = (r.trials.budget == 27) & (r.trials.status == "ok")
    assert len(with_state) == int(np.count_nonzero(top))
    assert {row[1] for row in with_state} == set(r.trials.id[top].tolist())


def test_without_a_codec_a_continued_run_retrains_from_scratch(db):
    plain = run("hyperband", Train())
    with pytest.raises(Crash):
        run("hyperband", Train(30), storage=db)
    assert all(row[5] is None for row in stored_calls(db))
    resumed_train = Train()
    resumed = run("hyperband", resumed_train, storage=db)
    # The promoted runs whose state was lost got state=None, not a stored state.
    restarted = [c for c in resumed_train.calls if c[1] > 1 and c[2] is None]
    assert restarted
    # This train resumes exactly from scratch up to rounding: same decisions.
    assert resumed.n_calls == plain.n_calls
    assert np.allclose(resumed.best_value, plain.best_value, rtol=1e-12)
    assert resumed.best == plain.best


def test_user_codec_with_numpy_arrays(db):
    def train(c, budget, state):
        w = np.zeros(3) if state is None else state
        w = w + c["lr"] * (
            budget - (w[0] / max(c["lr"], 1e-12) if state is not None else 0)
        )
        return float(np.sum((w - 0.05) ** 2)), w

    def encode(w):
        buf = io.BytesIO()
        np.save(buf, w, allow_pickle=False)
        return buf.getvalue()

    def decode(b):
        return np.load(io.BytesIO(b), allow_pickle=False)

    kw = {"max_budget": 9, "rng": 3, "storage": db, "state_codec": (encode, decode)}
    first = hz.hyperband(train, SPACE, **kw)
    again = hz.hyperband(train, SPACE, **kw)
    assert isinstance(again.best_state, np.ndarray)
    np.testing.assert_array_equal(again.best_state, first.best_state)


def test_a_state_the_codec_cannot_encode_keeps_the_loss(db):
    def train(c, budget, state):
        return c["lr"], object()

    with pytest.raises(TypeError, match=r"`state_codec` could not encode the state"):
        hz.asha(
            train,
            SPACE,
            min_budget=1,
            max_budget=9,
            n_trials=5,
            rng=1,
            storage=db,
            state_codec="json",
        )
    rows = stored_calls(db)
    assert len(rows) == 1
    assert rows[0][3] is not None
    assert rows[0][5] is None


def test_failed_runs_are_stored_and_replayed(db):
    train = Train(fail_lr=0.05)
    first = run("hyperband", train, storage=db, state_codec="json")
    assert first.trials.n_failed > 0
    rows = stored_calls(db)
    failed = [row for row in rows if row[4] is not None]
    assert failed
    assert all(row[3] is None and "diverged" in row[4] for row in failed)
    loaded = hz.load_study(db)
    assert loaded.trials.n_failed == first.trials.n_failed
    assert loaded.trials.error.tolist() == first.trials.error.tolist()


def test_load_study_of_an_interrupted_schedule(db):
    with pytest.raises(Crash):
        run("hyperband", Train(50), storage=db, state_codec="json")
    loaded = hz.load_study(db)
    assert loaded.n_calls == 50
    assert sum(c.shape[0] for c in loaded.trials.curves) == 50
    t = loaded.trials
    assert (np.isnan(t.value) == (t.status == "failed")).all()
    # Each stored curve is the start of the uninterrupted run's curve for that run.
    plain = run("hyperband", Train())
    full = dict(zip(plain.trials.id.tolist(), plain.trials.curves))
    for i, c in zip(t.id.tolist(), t.curves):
        np.testing.assert_array_equal(c, full[i][: c.shape[0]])


# -- several kinds in one file; mismatches refused ----------------------------------------
def test_search_and_schedules_share_a_file(db):
    hz.search(lambda c: c["lr"], SPACE, budget=20, rng=1, storage=db, study="s")
    run("asha", Train(), storage=db, study="a")
    run("pbt", Train(), storage=db, study="p")
    assert hz.list_studies(db) == ["s", "a", "p"]
    assert isinstance(hz.load_study(db, "s"), hz.SearchResult)
    assert isinstance(hz.load_study(db, "a"), hz.ScheduleResult)
    info = hz.storage.study_info(db, "p")
    assert info["settings"]["method"] == "pbt"
    assert info["settings"]["population"] == 8


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda db: run("asha", Train(), storage=db, study="hb"),
            "is a hyperband study; it cannot be resumed by asha",
        ),
        (
            lambda db: hz.hyperband(
                Train(), SPACE, max_budget=27, eta=2, rng=SEED, storage=db, study="hb"
            ),
            r"was run with eta=3, but this hyperband has eta=2",
        ),
        (
            lambda db: hz.hyperband(
                Train(), SPACE, max_budget=27, rng=SEED + 1, storage=db, study="hb"
            ),
            "was run with seed",
        ),
        (
            lambda db: hz.search(
                lambda c: c["lr"], SPACE, budget=20, rng=1, storage=db, study="hb"
            ),
            "is a hyperband study; it cannot be resumed by search",
        ),
        (
            lambda db: hz.hyperband(
                Train(),
                hz.Space(lr=hz.LogUniform(1e-4, 1.0)),
                max_budget=27,
                rng=SEED,
                storage=db,
                study="hb",
            ),
            "was run on another space",
        ),
    ],
    ids=["method", "setting", "seed", "search", "space"],
)
def test_mismatched_schedule_study_is_refused(db, call, match):
    run("hyperband", Train(), storage=db, study="hb")
    with pytest.raises(ValueError, match=match):
        call(db)


def test_a_search_study_cannot_be_resumed_by_a_scheduler(db):
    hz.search(lambda c: c["lr"], SPACE, budget=20, rng=1, storage=db, study="s")
    with pytest.raises(
        ValueError, match="is a search study; it cannot be resumed by pbt"
    ):
        run("pbt", Train(), storage=db, study="s")


def test_edited_call_does_not_match(db):
    run("successive_halving", Train(), storage=db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE hz_call SET budget = 2 WHERE id = 3")
    with pytest.raises(ValueError, match="call 3 does not match its checksum"):
        run("successive_halving", Train(), storage=db)
    reseal(db)
    with pytest.raises(ValueError, match=r"call 3 was stored as run 3 to budget 2\.0"):
        run("successive_halving", Train(), storage=db)


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        (
            {"state_codec": "pickle", "storage": "x.db"},
            ValueError,
            r"`state_codec` must be 'json' or a pair \(encode, decode\), but got 'pickle'",
        ),
        (
            {"state_codec": (json.dumps,), "storage": "x.db"},
            TypeError,
            "`state_codec` must be 'json' or a pair of functions",
        ),
        ({"state_codec": "json"}, ValueError, "`state_codec` needs `storage=`"),
        ({"study": "x"}, ValueError, "`study='x'` needs `storage=`"),
        ({"storage": 3}, TypeError, "`storage` must be a file path, but got 3"),
        ({"storage": "x.db", "study": ""}, TypeError, "`study` must be a non-empty"),
        (
            {"storage": "x.db", "rng": np.random.default_rng(1)},
            TypeError,
            "not a Generator",
        ),
    ],
)
def test_bad_storage_arguments(tmp_path, kw, exc, match):
    kw = dict(kw)
    if isinstance(kw.get("storage"), str):
        kw["storage"] = tmp_path / kw["storage"]
    kw.setdefault("rng", SEED)
    with pytest.raises(exc, match=match):
        hz.asha(Train(), SPACE, min_budget=1, max_budget=9, n_trials=3, **kw)


@pytest.mark.parametrize("schema", [1, 2, 3])
def test_an_older_file_is_upgraded(db, schema):
    hz.search(lambda c: c["lr"], SPACE, budget=20, rng=1, storage=db, study="old")
    if schema >= 2:
        run("asha", Train(), storage=db, study="asha")
    with sqlite3.connect(db) as conn:  # make it a file of an older schema
        conn.execute("DROP TABLE hz_ask")  # before asynchronous searches were stored
        if schema == 1:  # written before hz_call existed
            conn.execute("DROP TABLE hz_call")
        elif schema == 2:  # written before rows carried checksums
            conn.execute("ALTER TABLE hz_call DROP COLUMN crc")
        if schema < 3:
            conn.execute("ALTER TABLE hz_study DROP COLUMN crc")
            conn.execute("ALTER TABLE hz_trial DROP COLUMN crc")
        conn.execute(f"PRAGMA user_version={schema}")
    assert len(hz.load_study(db, "old").trials) == 20  # readable as it is
    run("hyperband", Train(), storage=db, study="new")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
        assert (
            conn.execute("SELECT count(*) FROM hz_trial WHERE crc IS NULL").fetchone()[
                0
            ]
            == 0
        )
    assert len(hz.load_study(db, "old").trials) == 20
    assert hz.load_study(db, "new").method == "hyperband"
    if schema >= 2:
        assert_same(hz.load_study(db, "asha"), run("asha", Train()), state=False)


# -- kill -9 at random moments ----------------------------------------------------------
SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import hyperzoom as hz

    space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), beta=hz.InvLogUniform(0.9, 0.999))

    def train(c, budget, state):
        time.sleep(0.003)
        if c["lr"] > 0.5:
            raise RuntimeError("diverged")
        t0, g = (0.0, 1.0) if state is None else state
        g = g * (1.0 - min(0.3, 3 * c["lr"])) ** (float(budget) - t0)
        floor = (np.log10(c["lr"]) + 2.5) ** 2 + (np.log10(1 - c["beta"]) + 2) ** 2
        return floor + g, [float(budget), g]

    settings = {
        "hyperband": {"max_budget": 27, "rng": SEED},
        "asha": {"min_budget": 1, "max_budget": 27, "n_trials": 90, "rng": SEED},
    }

    if __name__ == "__main__":
        method = sys.argv[2]
        getattr(hz, method)(train, space, storage=sys.argv[1], study=method,
                            state_codec="json", **settings[method])
    """
).replace("SEED", str(SEED))


@pytest.mark.parametrize("method", ["hyperband", "asha"])
def test_killed_schedules_resume_to_the_uninterrupted_result(tmp_path, method):
    script = tmp_path / "tune.py"
    script.write_text(SCRIPT)
    db = tmp_path / "killed.db"
    ns = runpy.run_path(str(script), run_name="reference")
    reference = getattr(hz, method)(ns["train"], ns["space"], **ns["settings"][method])
    total = reference.n_calls
    rnd = random.Random(SEED)
    args = [sys.executable, str(script), str(db), method]
    kills, counts = kill_at_random(args, db, rnd, 6, 0.1, total, table="hz_call")
    assert kills >= 3, counts
    assert any(0 < c < total for c in counts)
    done = subprocess.run([sys.executable, str(script), str(db), method], check=False)
    assert done.returncode == 0
    resumed = hz.load_study(db, method)
    assert_same(reference, resumed, state=False)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT count(*), count(DISTINCT id) FROM hz_call"
        ).fetchone()
    assert rows == (total, total)  # nothing lost, nothing duplicated


def test_concurrent_reader_while_a_schedule_writes(db):
    import threading

    def slow(c, budget, state):
        time.sleep(0.002)
        return Train()(c, budget, state)

    errors: list[BaseException] = []
    counts: list[int] = []
    writer = threading.Thread(
        target=lambda: run("hyperband", slow, storage=db, state_codec="json")
    )
    writer.start()
    try:
        while writer.is_alive():
            if db.exists():
                try:
                    counts.append(hz.load_study(db).n_calls)
                except ValueError as exc:  # the file or the study is being created
                    if not re.search(
                        "holds no studies|empty SQLite database", str(exc)
                    ):
                        errors.append(exc)
            time.sleep(0.005)
    finally:
        writer.join()
    assert not errors
    assert counts == sorted(counts)
    total = run("hyperband", Train()).n_calls
    assert any(0 < c < total for c in counts)  # read while the run was half way
    assert hz.load_study(db).n_calls == total


# -- what review found ------------------------------------------------------------------
def test_pbt_keeps_the_states_failed_members_go_on_from(db):
    """Members whose interval failed keep their previous state; so must the file."""
    space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))

    def make(crash_at=None):
        seen = []

        def train(c, budget, state):
            if len(seen) == crash_at:
                raise Crash
            seen.append((budget, state))
            if budget == 2 and c["lr"] > 0.00015:  # most of the population fails once
                msg = "transient"
                raise RuntimeError(msg)
            epochs = 0 if state is None else state["epochs"]
            return c["lr"] * (1 + epochs), {"epochs": epochs + 1}

        return train, seen

    kw = {"population": 4, "interval": 1, "total_budget": 4, "rng": 0}
    train, plain_seen = make()
    plain = hz.pbt(train, space, **kw)
    for crash_at in range(1, 16):
        path = db.with_name(f"p{crash_at}.db")
        with pytest.raises(Crash):
            hz.pbt(make(crash_at)[0], space, storage=path, state_codec="json", **kw)
        train, seen = make()
        resumed = hz.pbt(train, space, storage=path, state_codec="json", **kw)
        assert seen == plain_seen[crash_at:], crash_at
        assert_same(plain, resumed)


WORKER_DIES = textwrap.dedent(
    """
    import os, sys
    import hyperzoom as hz

    space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))

    def train(c, budget, state):
        if budget == 3 and os.environ.get("HZ_KILL_WORKER") and c["lr"] > 0.01:
            os._exit(1)  # the worker process dies: the pool is broken
        return abs(c["lr"] - 0.01) + 1.0 / budget, budget

    def objective(lr):
        if os.environ.get("HZ_KILL_WORKER") and lr > 0.5:
            os._exit(1)
        return abs(lr - 0.01)
    """
)


@pytest.fixture
def dying(tmp_path, monkeypatch):
    return worker_module(tmp_path, monkeypatch, "dying_worker", WORKER_DIES)


def test_a_broken_pool_stores_nothing_of_what_it_did_not_run(db, dying, monkeypatch):
    kw = {"n": 27, "min_budget": 1, "max_budget": 9, "rng": SEED}
    plain = hz.successive_halving(dying.train, dying.space, **kw)
    monkeypatch.setenv("HZ_KILL_WORKER", "1")
    with (
        spawned_pool(2) as pool,
        pytest.raises(
            hz.executors.ExecutorError, match=r"could not run \d+ call\(s\) of train"
        ),
    ):
        hz.successive_halving(dying.train, dying.space, executor=pool, storage=db, **kw)
    stored = stored_calls(db)
    assert len(stored) >= 27  # the first rung completed
    assert all(row[4] is None for row in stored)  # no executor failure stored as a loss
    monkeypatch.delenv("HZ_KILL_WORKER")
    with spawned_pool(2) as pool:
        resumed = hz.successive_halving(
            dying.train, dying.space, executor=pool, storage=db, **kw
        )
    assert_same(plain, resumed)


def test_a_broken_pool_in_a_stored_search_resumes(db, dying, monkeypatch):
    kw = {"budget": 60, "rng": SEED, "strategy": "random"}
    plain = hz.search(dying.objective, dying.space, **kw)
    monkeypatch.setenv("HZ_KILL_WORKER", "1")
    with (
        spawned_pool(2) as pool,
        pytest.raises(hz.executors.ExecutorError, match="they are not stored"),
    ):
        hz.search(dying.objective, dying.space, executor=pool, storage=db, **kw)
    with sqlite3.connect(db) as conn:
        errors = conn.execute("SELECT count(*) FROM hz_trial WHERE error IS NOT NULL")
        assert errors.fetchone()[0] == 0
    monkeypatch.delenv("HZ_KILL_WORKER")
    with spawned_pool(2) as pool:
        resumed = hz.search(
            dying.objective, dying.space, executor=pool, storage=db, **kw
        )
    assert resumed.best == plain.best
    np.testing.assert_array_equal(resumed.trials.value, plain.trials.value)


class _BreaksWhileSubmitting(concurrent.futures.Executor):
    """Runs calls inline, then refuses submissions as a pool does once a worker died."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.calls = 0

    def submit(self, fn, /, *args, **kwargs):
        self.calls += 1
        if self.calls > self.after:
            raise concurrent.futures.process.BrokenProcessPool("a child process died")
        f = concurrent.futures.Future()
        f.set_result(fn(*args, **kwargs))
        return f


def test_a_pool_that_breaks_during_submission_loses_nothing_stored(db):
    # The pool broke while a round was being submitted: submit() itself raised. Those
    # trials are the executor's failures (not stored); the run resumes from the rest.
    kw = {"budget": 40, "rng": SEED, "strategy": "random"}

    def objective(lr, beta, units):
        return (np.log10(lr) + 2) ** 2 + units / 256

    plain = hz.search(objective, SPACE, **kw)
    with pytest.raises(hz.executors.ExecutorError, match="could not run 15 trial"):
        hz.search(
            objective, SPACE, executor=_BreaksWhileSubmitting(25), storage=db, **kw
        )
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM hz_trial").fetchone()[0] == 25
    resumed = hz.search(objective, SPACE, storage=db, **kw)
    np.testing.assert_array_equal(resumed.trials.value, plain.trials.value)


def test_a_schedule_whose_pool_breaks_during_submission_raises_executor_error(db):
    def train(config, budget, state):
        return float(np.log10(config["lr"]) ** 2 + 1 / budget), None

    with pytest.raises(hz.executors.ExecutorError, match="could not run"):
        hz.hyperband(
            train,
            SPACE,
            max_budget=9,
            rng=SEED,
            executor=_BreaksWhileSubmitting(5),
            storage=db,
        )


def test_a_train_that_cannot_be_pickled_is_not_stored_as_failures(db):
    def local_train(c, budget, state):  # a local function: no process can import it
        return c["lr"], budget

    with spawned_pool(1) as pool, pytest.raises(hz.executors.ExecutorError):
        hz.hyperband(local_train, SPACE, max_budget=9, rng=1, executor=pool, storage=db)
    assert stored_calls(db) == []
    r = hz.hyperband(local_train, SPACE, max_budget=9, rng=1, storage=db)
    assert r.trials.n_failed == 0


def test_json_states_keep_inf_and_nan(db):
    def train(c, budget, state):
        best = math.inf if state is None else state["best"]
        loss = c["lr"] + 1.0 / budget
        return loss, {"best": min(best, loss), "nan": math.nan}

    first = run("asha", train, storage=db, state_codec="json")
    again = run("asha", train, storage=db, state_codec="json")
    assert again.best_state["best"] == first.best_state["best"]
    assert math.isnan(again.best_state["nan"])


def test_all_brackets_is_the_default_schedule(db):
    hz.hyperband(Train(), SPACE, max_budget=9, rng=1, storage=db)
    t = Train()
    hz.hyperband(t, SPACE, max_budget=9, brackets=[0, 1, 2], rng=1, storage=db)
    assert t.calls == []  # the same schedule, found complete
    with pytest.raises(ValueError, match="was run with brackets=None"):
        hz.hyperband(
            Train(), SPACE, max_budget=9, brackets=[2, 1, 0], rng=1, storage=db
        )


def test_load_study_reads_no_state(db):
    run("hyperband", Train(), storage=db, state_codec="json")
    with sqlite3.connect(db) as conn:  # states a reader must not need (or decode)
        conn.execute("UPDATE hz_call SET state = X'00ff' WHERE state IS NOT NULL")
    loaded = hz.load_study(db)
    assert loaded.best_state is None
    assert loaded.n_calls == run("hyperband", Train()).n_calls
    with pytest.raises(ValueError, match="could not decode the state stored by call"):
        # a resume decodes the states it needs (here only the best run's) and says so
        run("hyperband", Train(), storage=db, state_codec="json")


@pytest.mark.parametrize("crash_at", [3, 40])
def test_asha_with_a_budget_limit_resumes_exactly(db, crash_at):
    kw = {"min_budget": 1, "max_budget": 27, "budget_limit": 300, "rng": SEED}
    plain = hz.asha(Train(), SPACE, **kw)
    assert plain.budget_used <= 300
    with pytest.raises(Crash):
        hz.asha(Train(crash_at), SPACE, storage=db, state_codec="json", **kw)
    t = Train()
    resumed = hz.asha(t, SPACE, storage=db, state_codec="json", **kw)
    assert len(t.calls) == plain.n_calls - crash_at
    assert_same(plain, resumed)
    assert hz.storage.study_info(db)["settings"]["budget_limit"] == 300
