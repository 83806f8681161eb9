from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import hyperzoom as hz
from hyperzoom.cli import main
from hyperzoom.storage import study_info

SEARCH_FILE = textwrap.dedent(
    """
    import numpy as np
    import hyperzoom as hz

    space = hz.Space(
        lr=hz.LogUniform(1e-4, 1.0),
        beta=hz.InvLogUniform(0.9, 0.999),
        act=hz.Choice(["relu", "tanh"]),
    )

    def objective(c):
        return (
            (np.log10(c["lr"]) + 2.5) ** 2
            + (np.log10(1 - c["beta"]) + 2) ** 2
            + (c["act"] == "tanh")
        )

    settings = {"budget": 150, "rng": 20241128, "batch_size": 20}
    """
)


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "hyperzoom", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A search file and the study `hyperzoom run` stored from it."""
    d = tmp_path_factory.mktemp("cli")
    search = d / "tune.py"
    search.write_text(SEARCH_FILE)
    out = cli("run", search, cwd=d)
    assert out.returncode == 0, out.stderr
    return search, d / "tune.db", out.stdout


def test_run_stores_prints_progress_and_best(stored):
    _, db, stdout = stored
    assert re.search(r"\d+ rounds done \(run 0\): \d+/150 trials stored", stdout)
    assert "150/150 trials stored" in stdout
    assert "best value" in stdout
    assert "  lr = " in stdout
    assert hz.list_studies(db) == ["tune"]
    ns: dict = {}
    exec(compile(SEARCH_FILE, "tune", "exec"), ns)  # noqa: S102 - our own test file
    plain = hz.search(ns["objective"], ns["space"], **ns["settings"])
    loaded = hz.load_study(db)
    assert loaded.best == plain.best
    assert loaded.trials.unit.tolist() == plain.trials.unit.tolist()


def test_run_again_resumes_and_runs_nothing(stored):
    search, db, _ = stored
    out = cli("run", search, "--storage", db, "--study", "tune")
    assert out.returncode == 0, out.stderr
    assert "resuming study 'tune'" in out.stdout
    assert "(0 run now)" in out.stdout
    assert len(hz.load_study(db, "tune").trials) == 150


def test_run_with_budget_into_another_study(stored, tmp_path):
    search, _, _ = stored
    db = tmp_path / "other.db"
    out = cli("run", search, "--budget", 40, "--storage", db, "--study", "small")
    assert out.returncode == 0, out.stderr
    assert len(hz.load_study(db, "small").trials) == 40


def test_run_with_a_larger_budget_continues_the_study(stored, tmp_path):
    search, stored_db, _ = stored
    db = tmp_path / "copy.db"
    shutil.copyfile(stored_db, db)
    out = cli("run", search, "--budget", 300, "--storage", db, "--study", "tune")
    assert out.returncode == 0, out.stderr
    assert "resuming study 'tune' in" in out.stdout
    assert "300/300 trials stored (150 run now)" in out.stdout
    ns: dict = {}
    exec(compile(SEARCH_FILE, "tune", "exec"), ns)  # noqa: S102 - our own test file
    plain = hz.search(
        ns["objective"], ns["space"], **(ns["settings"] | {"budget": 300})
    )
    loaded = hz.load_study(db, "tune")
    assert loaded.trials.unit.tolist() == plain.trials.unit.tolist()
    assert loaded.best == plain.best
    assert study_info(db, "tune")["settings"]["budget"] == 300


def test_show_prints_the_best_trials(stored):
    _, db, _ = stored
    out = cli("show", db, "--top", 3)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("study 'tune' in ")
    assert "150 trials stored (latest budget 150)" in lines[0]
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("rank"))
    assert lines[header].split() == [
        "rank",
        "id",
        "round",
        "value",
        "lr",
        "beta",
        "act",
    ]
    rows = [line.split() for line in lines[header + 2 :]]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    values = [float(r[3]) for r in rows]
    assert values == sorted(values)
    best = hz.load_study(db)
    assert int(rows[0][1]) == best.best_id


def test_show_in_process(stored, capsys):
    _, db, _ = stored
    assert main(["show", str(db), "--study", "tune", "--top", "1"]) == 0
    assert "rank" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "{db}", "--study", "nope"], "holds no study named 'nope'"),
        (["show", "{db}", "--top", "0"], "must be a positive integer"),
        (["show", "{dir}/missing.db"], "no study file at"),
        (["show", "{search}"], "not a readable hyperzoom study file"),
        (["show"], "the following arguments are required"),
        (["run", "{dir}/missing.py"], "no search file at"),
        (["run", "{search}", "--budget", "-5"], "must be a positive integer"),
        (["run", "{search}", "--storage", "{search}"], "not a readable hyperzoom"),
        (["run", "{bad}"], "must define `space`"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2(stored, tmp_path, args, message):
    search, db, _ = stored
    bad = tmp_path / "bad.py"
    bad.write_text("objective = print\n")
    fill = {"db": db, "dir": tmp_path, "search": search, "bad": bad}
    out = cli(*(a.format(**fill) for a in args))
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_run_file_with_bad_settings_exits_2(tmp_path):
    f = tmp_path / "t.py"
    f.write_text(SEARCH_FILE + "\nsettings['budgte'] = 3\n")
    out = cli("run", f)
    assert out.returncode == 2
    assert "unknown keys ['budgte']" in out.stderr
    f.write_text(SEARCH_FILE + "\nsettings = None\nraise SystemError('boom')\n")
    out = cli("run", f)
    assert out.returncode == 2
    assert "failed to run: SystemError: boom" in out.stderr


def test_report_writes_a_self_contained_html_file(stored, tmp_path):
    _, db, _ = stored
    out = cli("report", db, "-o", tmp_path / "r.html")
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "r.html").read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("data:image/png;base64,") == 3
    assert "report of study 'tune'" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "nope.db", "-o", "x.html"], "no study file at"),
        (["report", "DB"], "required: -o/--output"),
        (["report", "DB", "--study", "other", "-o", "x.html"], "other"),
        (["demo", "--budget", "0"], "positive integer"),
        (["sample", "--n", "-1"], "must be >= 0"),
    ],
)
def test_report_demo_and_sample_bad_arguments_exit_2(stored, tmp_path, args, message):
    _, db, _ = stored
    args = [str(db) if a == "DB" else a for a in args]
    out = cli(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert re.search(message, out.stderr), out.stderr


def test_demo_tunes_the_digits_mlp_and_resumes(tmp_path):
    out = cli("demo", "--budget", "6", "--workers", "1", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "best validation error" in out.stdout
    assert (tmp_path / "hyperzoom-demo.html").stat().st_size > 10_000
    result = hz.load_study(tmp_path / "hyperzoom-demo.db", "digits-mlp")
    assert len(result.trials) == 6
    assert 0.0 <= result.best_value < 0.9
    again = cli("demo", "--budget", "6", "--workers", "1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(hz.load_study(tmp_path / "hyperzoom-demo.db").trials) == 6


def test_sample_prints_the_table():
    out = cli("sample", "--n", "1000", "--rows", "2")
    assert out.returncode == 0, out.stderr
    assert "momentum" in out.stdout
    assert "inv_log" in out.stdout


# -- stored schedules ----------------------------------------------------------------
def _schedule_train(c, budget, state):
    if c["lr"] > 0.6:
        msg = "diverged"
        raise RuntimeError(msg)
    return abs(c["lr"] - 0.01) + 1.0 / budget, budget


@pytest.fixture(scope="module")
def schedules(tmp_path_factory):
    """A file holding a Hyperband study and a PBT study."""
    db = tmp_path_factory.mktemp("cli-schedules") / "runs.db"
    space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), act=hz.Choice(["relu", "tanh"]))
    hb = hz.hyperband(
        _schedule_train, space, max_budget=27, rng=3, storage=db, study="hb"
    )
    pbt = hz.pbt(
        _schedule_train,
        space,
        population=6,
        interval=3,
        total_budget=9,
        rng=3,
        storage=db,
        study="pbt",
    )
    return db, hb, pbt


def test_show_prints_a_schedule_by_runs(schedules):
    db, hb, _ = schedules
    out = cli("show", db, "--study", "hb", "--top", "4")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("study 'hb' in ")
    assert (
        "hyperband (eta=3, max_budget=27, min_budget=1, sampler='random')" in lines[0]
    )
    assert f"{len(hb.trials)} runs, {hb.n_calls} calls of train stored" in lines[0]
    assert (
        f"best loss {hb.best_value:.6g} (run {hb.best_id}, trained to 27)" in out.stdout
    )
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("rank"))
    rows = [line.split() for line in lines[header + 2 :]]
    assert len(rows) == 4
    assert rows[0][1] == str(hb.best_id)
    assert [r[2] for r in rows] == ["27"] * 4  # trained furthest first
    losses = [float(r[3]) for r in rows]
    assert losses == sorted(losses)


def test_report_of_a_schedule(schedules, tmp_path):
    db, _, pbt = schedules
    out = cli("report", db, "--study", "pbt", "-o", tmp_path / "p.html")
    assert out.returncode == 0, out.stderr
    assert "report of study 'pbt' (6 runs)" in out.stdout
    text = (tmp_path / "p.html").read_text()
    assert text.count("data:image/png;base64,") == 2  # curves, loss per parameter
    assert "Learning curves" in text
    assert '<div class="card">exploits<b>' in text
    assert f"{pbt.best_value:.4g}" in text


def test_run_refuses_a_schedule_study(schedules, tmp_path):
    db, _, _ = schedules
    search = tmp_path / "tune.py"
    search.write_text(SEARCH_FILE)
    out = cli("run", search, "--storage", db, "--study", "hb")
    assert out.returncode == 2
    assert "is a hyperband study; `hyperzoom run` runs searches" in out.stderr
