"""Re-testing incumbents: hz.retest on results and stored studies; retest_every."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import hyperzoom as hz

SPACE = hz.Space(lr=hz.LogUniform(1e-4, 1.0), beta=hz.InvLogUniform(0.9, 0.999))


def today(c):
    return (np.log10(c["lr"]) + 2.5) ** 2 + (np.log10(1 - c["beta"]) + 2) ** 2


def tomorrow(c):  # the data changed: the best learning rate moved a decade down
    return (np.log10(c["lr"]) + 3.5) ** 2 + (np.log10(1 - c["beta"]) + 2) ** 2


def test_same_objective_holds_the_ranking(seed: int) -> None:
    r = hz.search(today, SPACE, budget=200, rng=seed)
    rep = hz.retest(r, today, top_k=4, repeats=2)
    assert rep.new.shape == (4, 2)
    assert rep.ranking_held
    assert rep.best_moved == pytest.approx(0.0, abs=1e-12)
    assert rep.best_id == r.best_id
    assert rep.best == r.best
    np.testing.assert_allclose(rep.mean, rep.old)
    assert "ranking held" in repr(rep)


def test_changed_objective_shows_the_move(seed: int) -> None:
    r = hz.search(today, SPACE, budget=300, rng=seed)
    rep = hz.retest(r, tomorrow, top_k=5, repeats=1)
    assert rep.best_moved > 0.5
    assert np.all(rep.mean > rep.old)
    assert rep.ids[0] == r.best_id
    assert rep.rank_correlation <= 1.0


def test_stored_study_keeps_tagged_timed_retests(tmp_path, seed: int) -> None:
    db = tmp_path / "study.db"
    hz.search(today, SPACE, budget=150, rng=seed, storage=db, study="s")
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    first = hz.retest(db, today, study="s", top_k=3, repeats=2, tag="same data")
    second = hz.retest(db, tomorrow, study="s", top_k=3, repeats=1, tag="new data")
    rows = hz.load_retests(db, "s")
    assert [r["tag"] for r in rows] == ["same data"] * 6 + ["new data"] * 3
    assert {r["trial"] for r in rows} == set(first.ids.tolist())
    stamp = dt.datetime.fromisoformat(rows[0]["time"])
    assert stamp >= before
    np.testing.assert_allclose([r["value"] for r in rows[:6]], first.new.reshape(-1))
    np.testing.assert_allclose([r["value"] for r in rows[6:]], second.new.reshape(-1))
    # the study itself is unchanged and still loads
    assert len(hz.load_study(db, "s").trials) == 150


def test_a_failing_retest_is_recorded(tmp_path, seed: int) -> None:
    db = tmp_path / "study.db"
    hz.search(today, SPACE, budget=100, rng=seed, storage=db, study="s")

    def broken(lr, beta):
        raise OSError("dataset missing")

    rep = hz.retest(db, broken, top_k=2, repeats=2, tag="broken")
    assert np.all(np.isnan(rep.new))
    rows = hz.load_retests(db)
    assert all("OSError: dataset missing" in r["error"] for r in rows)
    assert rep.best_id is None


def test_no_retests_yet(tmp_path, seed: int) -> None:
    db = tmp_path / "study.db"
    hz.search(today, SPACE, budget=50, rng=seed, storage=db, study="s")
    assert hz.load_retests(db) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"top_k": 0}, ValueError, r"`top_k` must be >= 1"),
        ({"repeats": 0}, ValueError, r"`repeats` must be >= 1"),
        ({"study": "x"}, ValueError, r"cannot be given with a SearchResult"),
        ({"tag": 3}, TypeError, r"`tag` must be a string"),
    ],
)
def test_bad_retest_arguments(kwargs, error, match, seed: int) -> None:
    r = hz.search(today, SPACE, budget=50, rng=seed)
    with pytest.raises(error, match=match):
        hz.retest(r, today, **kwargs)


def test_retest_needs_a_result_or_a_file() -> None:
    with pytest.raises(TypeError, match="SearchResult or a study file path"):
        hz.retest(42, today)  # type: ignore[arg-type]


def test_retest_every_spaces_the_retests(seed: int) -> None:
    r = hz.search(today, SPACE, budget=400, rng=seed, retest=2, retest_every=3)
    t = r.trials
    per_round = np.bincount(t.round[t.retest_of >= 0], minlength=len(r.regions))
    # two re-tests after rounds 2, 5, 8, ... (the budget may cut the last ones short)
    due = (np.arange(len(r.regions)) + 1) % 3 == 0
    assert set(per_round[:-3][due[:-3]].tolist()) == {2}
    assert not per_round[~due].any()
    assert len(r.trials) == 400
    with pytest.raises(ValueError, match="`retest_every` must be >= 1"):
        hz.search(today, SPACE, budget=100, retest=1, retest_every=0)


def test_a_schedule_study_is_not_retested_as_a_search(tmp_path) -> None:
    db = tmp_path / "s.db"
    space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    hz.asha(
        lambda c, b, s: (abs(c["lr"] - 0.01) + 1 / b, b),
        space,
        min_budget=1,
        max_budget=9,
        n_trials=9,
        rng=1,
        storage=db,
    )
    with pytest.raises(TypeError, match=r"the study in .* is an asha study"):
        hz.retest(db, lambda c: c["lr"])


def test_retesting_a_study_another_process_runs_is_refused(tmp_path, seed: int) -> None:
    from hyperzoom.storage import study_lock

    path = tmp_path / "s.db"
    hz.search(today, SPACE, budget=30, rng=seed, storage=path, study="s")
    before = len(hz.load_retests(path, "s"))
    with (
        study_lock(path, "s"),
        pytest.raises(ValueError, match="is being run by another process"),
    ):
        hz.retest(path, today, study="s", top_k=2)
    assert len(hz.load_retests(path, "s")) == before
