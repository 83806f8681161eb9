"""Study files as untrusted input: damage, hand edits, real media, two processes.

Every refusal is a ValueError naming the file (OSError for the machine's state: a full
disk, a read-only medium), and a refused file is never written to.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import hyperzoom as hz
from hyperzoom import cli
from hyperzoom.store import file as store_file

from .studyfiles import reseal

SEED = 0x51D0_C4A7_E11E_0B5E_2F6A_93D1_77C0_4E28

SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    units=hz.IntLogUniform(16, 1024),
    act=hz.Choice(["relu", "tanh"]),
)


def loss(c):
    return (np.log10(c["lr"]) + 2.5) ** 2 + 0.1 * np.log2(c["units"] / 128) ** 2


def train(config, budget, state):
    return (np.log10(config["lr"]) + 2.5) ** 2 + 1.0 / budget, None


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """Every file of the folder (the study, its -wal and -shm) by content."""
    return {p.name: digest(p) for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def search_db(tmp_path):
    path = tmp_path / "search.db"
    hz.search(loss, SPACE, budget=120, rng=SEED, storage=path, study="s")
    return path


@pytest.fixture
def hb_db(tmp_path):
    path = tmp_path / "hb.db"
    hz.hyperband(train, SPACE, max_budget=27, rng=SEED, storage=path, study="hb")
    return path


def resume_search(path):
    return hz.search(loss, SPACE, budget=120, rng=SEED, storage=path, study="s")


def resume_hb(path):
    return hz.hyperband(train, SPACE, max_budget=27, rng=SEED, storage=path, study="hb")


# -- defect 1: a damaged study is refused, never read as empty, never written ----------
def test_a_truncated_schedule_is_refused_and_not_written(hb_db):
    data = hb_db.read_bytes()
    hb_db.write_bytes(data[: int(len(data) * 0.9)])
    before = snapshot(hb_db.parent)
    with pytest.raises(ValueError, match=r"hb\.db' is damaged \(SQLite's integrity"):
        hz.load_study(hb_db)
    with pytest.raises(ValueError, match="is damaged"):
        resume_hb(hb_db)
    assert snapshot(hb_db.parent) == before


def test_a_missing_calls_table_is_refused(hb_db):
    with sqlite3.connect(hb_db) as conn:
        conn.execute("DROP TABLE hz_call")
    before = digest(hb_db)
    with pytest.raises(ValueError, match="without its table hz_call: it is damaged"):
        hz.load_study(hb_db)
    with pytest.raises(ValueError, match="without its table hz_call"):
        resume_hb(hb_db)
    assert digest(hb_db) == before


@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("UPDATE hz_trial SET value = value + 1e-9 WHERE id = 7", "do not match"),
        ("UPDATE hz_trial SET error = 'x' WHERE id = 3", "do not match"),
        ("UPDATE hz_trial SET value = 'oops' WHERE id = 3", "fields of wrong types"),
        ("UPDATE hz_trial SET round = 2.5 WHERE id = 3", "fields of wrong types"),
        ("UPDATE hz_trial SET study = 99 WHERE id = 3", "belong to no stored study"),
        ("UPDATE hz_study SET name = 'other'", "does not match its checksum"),
        (
            "CREATE TRIGGER t AFTER INSERT ON hz_trial BEGIN DELETE FROM hz_trial; END",
            "trigger",
        ),
        ("ALTER TABLE hz_trial ADD COLUMN extra", "has columns"),
    ],
)
def test_edits_are_damage(search_db, sql, match):
    with sqlite3.connect(search_db) as conn:
        conn.execute(sql)
    before = digest(search_db)
    with pytest.raises(ValueError, match=match):
        hz.load_study(search_db, "s" if "name" not in sql else None)
    with pytest.raises(ValueError, match=match):
        resume_search(search_db)
    assert digest(search_db) == before


def test_damaged_call_is_refused(hb_db):
    with sqlite3.connect(hb_db) as conn:
        conn.execute("UPDATE hz_call SET value = value * 2 WHERE id = 4")
    with pytest.raises(ValueError, match="call 4 does not match its checksum"):
        hz.load_study(hb_db)


def test_asha_calls_after_a_gap_are_damage(tmp_path):
    path = tmp_path / "a.db"
    kw = {"min_budget": 1, "max_budget": 9, "n_trials": 8, "rng": SEED}
    hz.asha(train, SPACE, storage=path, **kw)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM hz_call WHERE id = 2")
    with pytest.raises(ValueError, match="after a missing call 2"):
        hz.load_study(path)


# -- defect 3: stored fields are untrusted input --------------------------------------
def edit_record(path, field, change):
    with sqlite3.connect(path) as conn:
        (text,) = conn.execute(f"SELECT {field} FROM hz_study").fetchone()
        doc = change(json.loads(text))
        new = doc if isinstance(doc, str) else json.dumps(doc)
        conn.execute(f"UPDATE hz_study SET {field} = ?", (new,))
    reseal(path)


def setting(key, value):
    def change(doc):
        doc[key] = value
        return doc

    return change


@pytest.mark.parametrize(
    ("field", "change", "match"),
    [
        ("settings", setting("budget", 10**9), "stored `budget` it cannot hold"),
        ("settings", setting("budget", "120"), "`budget` must be an integer"),
        ("settings", setting("budget", 120.0), "`budget` must be an integer"),
        ("settings", setting("budget", [120]), "`budget` must be an integer"),
        ("settings", setting("budget", -5), "`budget` must be >= 1"),
        ("settings", setting("budget", {"a": 1}), r"settings\.budget`: it must be"),
        ("settings", setting("extra", 1), r"extra \['extra'\]"),
        ("settings", setting("keep", 10**400), "64-bit integer"),
        ("settings", lambda d: "[" * 100_000 + "]" * 100_000, "RecursionError"),
        ("settings", lambda d: "{", r"damaged `settings` record"),
        ("settings", lambda d: [], "settings`: it must be an object"),
        ("seed", setting("pool_size", 10**9), r"seed\.pool_size"),
        ("seed", setting("entropy", "7"), r"seed\.entropy"),
        ("seed", setting("spawn_key", [-1]), r"seed\.spawn_key"),
        ("space", lambda d: [*d, d[0]], "must be unique"),
        ("space", lambda d: [{**d[0], "kind": "Pickle"}], r"space\[0\]\.kind"),
        ("space", lambda d: [{**d[0], "low": "1e-4"}], r"space\[0\]\.low"),
        ("space", lambda d: [{**d[0], "low": 2.0}], "0 < low < high"),
        ("space", lambda d: [{**d[0], "evil": 1}], "an object with keys"),
        ("space", lambda d: [*d[:2], {**d[2], "options": [[1]]}], "JSON scalar"),
        ("space", lambda d: [*d[:2], {**d[2], "options": []}], "non-empty list"),
        ("space", lambda d: [*d[:2], {**d[2], "weights": [1]}], "weights"),
    ],
)
def test_stored_fields_are_checked(search_db, field, change, match):
    edit_record(search_db, field, change)
    before = digest(search_db)
    with pytest.raises(ValueError, match=match) as info:
        hz.load_study(search_db)
    assert str(search_db) in str(info.value)
    assert digest(search_db) == before


def test_show_and_report_exit_2_on_a_damaged_study(search_db, tmp_path, capsys):
    edit_record(search_db, "settings", setting("budget", 10**9))
    for argv in (
        ["show", str(search_db)],
        ["report", str(search_db), "-o", str(tmp_path / "r.html")],
    ):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "stored `budget` it cannot hold" in err
        assert "Traceback" not in err


def test_a_stored_schedule_with_a_huge_plan_is_refused(hb_db):
    edit_record(hb_db, "settings", setting("max_budget", 10**15))
    with pytest.raises(ValueError, match="damaged settings"):
        hz.load_study(hb_db)


# -- defect 8: storage on real media ---------------------------------------------------
def test_a_missing_folder_names_the_path(tmp_path):
    path = tmp_path / "no" / "such" / "study.db"
    with pytest.raises(ValueError, match=r"`storage` must be a file in an existing"):
        hz.search(loss, SPACE, budget=10, rng=1, storage=path)
    with pytest.raises(ValueError, match="`storage` must be a file in an existing"):
        hz.hyperband(train, SPACE, max_budget=9, rng=1, storage=path)


def test_a_full_disk_says_so(tmp_path, monkeypatch):
    path = tmp_path / "full.db"
    hz.search(loss, SPACE, budget=10, rng=1, storage=path, study="first")
    pragmas = store_file.writer_pragmas

    def tiny(conn):
        pragmas(conn)
        used = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count={used}")  # no room for another page

    monkeypatch.setattr(store_file, "writer_pragmas", tiny)
    with pytest.raises(OSError, match="database or disk is full") as info:
        hz.search(loss, SPACE, budget=3000, rng=1, storage=path, study="big")
    assert "cannot rollback" not in str(info.value)
    assert str(path) in str(info.value)
    monkeypatch.undo()
    assert len(hz.load_study(path, "first").trials) == 10  # the data are safe


def _mount_read_only(folder: Path) -> bool:
    if sys.platform != "linux" or os.geteuid() != 0:
        return False
    ok = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    return ok.returncode == 0


def test_a_study_on_a_read_only_mount_can_be_read(search_db, tmp_path):
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if not _mount_read_only(mnt):
        pytest.skip("needs root on Linux to mount a read-only file system")
    try:
        (mnt / "s.db").write_bytes(search_db.read_bytes())
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        loaded = hz.load_study(mnt / "s.db")
        assert loaded.best == hz.load_study(search_db).best
        assert cli.main(["show", str(mnt / "s.db")]) == 0
        with pytest.raises(PermissionError, match="read-only"):
            resume_search(mnt / "s.db")
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_read_only_fallback_needs_no_pending_log(search_db, monkeypatch):
    # Where the folder refuses writes and SQLite cannot open the file read-only, the
    # study is opened as immutable, unless a -wal file holds commits it would miss.
    real = store_file.inspect_file
    calls = []

    def failing(conn, path):
        calls.append(path)
        if len(calls) == 1:
            raise sqlite3.OperationalError("unable to open database file")
        return real(conn, path)

    monkeypatch.setattr(store_file, "inspect_file", failing)
    monkeypatch.setattr(store_file, "mounted_read_only", lambda folder: True)
    assert len(hz.load_study(search_db).trials) == 120
    calls.clear()
    search_db.with_name(search_db.name + "-wal").write_bytes(b"")
    with pytest.raises(sqlite3.OperationalError):
        hz.load_study(search_db)


def test_a_second_run_of_a_running_study_is_refused(tmp_path):
    path = tmp_path / "two.db"
    started, release = threading.Event(), threading.Event()
    out = {}

    def slow(lr, units, act):
        started.set()
        release.wait(30)
        return lr

    def first():
        out["r"] = hz.search(slow, SPACE, budget=6, rng=1, storage=path, study="s")

    t = threading.Thread(target=first)
    t.start()
    try:
        assert started.wait(30)
        with pytest.raises(ValueError, match=r"'s' in .* is being run by another"):
            hz.search(loss, SPACE, budget=6, rng=1, storage=path, study="s")
        with pytest.raises(ValueError, match="is being run by another"):
            hz.hyperband(train, SPACE, max_budget=9, rng=1, storage=path, study="s")
        # another study of the same file runs side by side
        other = hz.search(loss, SPACE, budget=6, rng=1, storage=path, study="t")
        assert len(other.trials) == 6
    finally:
        release.set()
        t.join()
    assert len(out["r"].trials) == 6
    again = hz.search(slow, SPACE, budget=6, rng=1, storage=path, study="s")
    assert again.best == out["r"].best  # the lock went with the first run


def test_a_second_process_is_refused(tmp_path):
    path = tmp_path / "proc.db"
    code = (
        "import sys, time, hyperzoom as hz\n"
        "space = hz.Space(x=hz.Uniform(0, 1))\n"
        "def f(x):\n"
        "    print('started', flush=True); time.sleep(60); return x\n"
        f"hz.search(f, space, budget=2, rng=1, storage={str(path)!r}, study='p')\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        space = hz.Space(x=hz.Uniform(0, 1))
        with pytest.raises(
            ValueError, match=r"study 'p' in .* is being run by another"
        ):
            hz.search(lambda x: x, space, budget=2, rng=1, storage=path, study="p")
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    # killed: the operating system released its lock, and the study resumes
    space = hz.Space(x=hz.Uniform(0, 1))
    r = hz.search(lambda x: x, space, budget=2, rng=1, storage=path, study="p")
    assert len(r.trials) == 2


# -- fuzz: random damage never gives a silent wrong load, and never a write -----------
def _fingerprint(result):
    t = result.trials
    if hasattr(t, "budget"):  # a schedule
        return (
            [r.tolist() for r in (t.id, t.budget, t.value)],
            result.best,
            result.n_calls,
        )
    return (
        t.id.tolist(),
        t.unit.tobytes(),
        np.nan_to_num(t.value, nan=-1.0).tolist(),
        t.error.tolist(),
        result.best,
    )


def _damage(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    how = rnd.choice(["truncate", "flip", "garbage", "zero-page", "copy-page"])
    page = 4096
    if how == "truncate":
        return bytes(b[: rnd.randrange(len(b))])
    if how == "flip":
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(b))
            b[i] ^= 1 << rnd.randrange(8)
    elif how == "garbage":
        i = rnd.randrange(len(b))
        n = rnd.randint(1, 64)
        b[i : i + n] = bytes(rnd.randrange(256) for _ in range(n))[: len(b) - i]
    elif how == "zero-page":
        p = rnd.randrange(len(b) // page)
        b[p * page : (p + 1) * page] = bytes(page)
    else:
        p, q = rnd.randrange(len(b) // page), rnd.randrange(len(b) // page)
        b[q * page : (q + 1) * page] = b[p * page : (p + 1) * page]
    return bytes(b)


@pytest.mark.parametrize("kind", ["search", "hyperband"])
def test_random_damage_is_never_a_silent_wrong_load(tmp_path, kind):
    src = tmp_path / "good.db"
    if kind == "search":
        hz.search(loss, SPACE, budget=300, rng=SEED, storage=src, study="s")
    else:
        kw = {"max_budget": 27, "rng": SEED, "state_codec": "json"}
        hz.hyperband(train, SPACE, storage=src, study="hb", **kw)
    good = src.read_bytes()
    expected = _fingerprint(hz.load_study(src))
    rnd = random.Random(SEED)
    path = tmp_path / "damaged.db"
    outcomes = {"refused": 0, "same": 0}
    for _ in range(60):
        path.write_bytes(_damage(good, rnd))
        for side in path.parent.glob("damaged.db-*"):
            side.unlink()
        before = digest(path)
        try:
            result = hz.load_study(path)
        except ValueError:
            outcomes["refused"] += 1
        else:  # damage where nothing lives (free space, padding): the same study
            assert _fingerprint(result) == expected
            outcomes["same"] += 1
        assert digest(path) == before
        try:
            if kind == "search":  # the same budget: a smaller one replays a prefix
                r = hz.search(
                    loss, SPACE, budget=300, rng=SEED, storage=path, study="s"
                )
            else:
                r = hz.hyperband(train, SPACE, storage=path, study="hb", **kw)
        except ValueError:
            assert digest(path) == before  # a refused file is never written
        else:
            assert _fingerprint(r) == expected
    assert outcomes["refused"] > 20


class Stop(BaseException):
    """Not an Exception: it ends the run, as a KeyboardInterrupt would."""


def test_the_lock_goes_with_a_run_that_fails(tmp_path):
    path = tmp_path / "f.db"
    with pytest.raises(ValueError, match="must return shape"):
        hz.search(lambda c: np.zeros(3), SPACE, budget=20, rng=1, storage=path)
    r = hz.search(loss, SPACE, budget=20, rng=1, storage=path)  # not refused
    assert len(r.trials) == 20

    def stop(config, budget, state):
        raise Stop

    with pytest.raises(Stop):
        hz.hyperband(stop, SPACE, max_budget=9, rng=1, storage=path, study="hb")
    done = hz.hyperband(train, SPACE, max_budget=9, rng=1, storage=path, study="hb")
    assert done.n_calls > 0
