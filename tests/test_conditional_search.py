"""Coarse to fine on conditional spaces: one region per branch, storage, every strategy."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import hyperzoom as hz
from hyperzoom.search.branches import EXPLORE, BranchZoom, space_branches

from .studyfiles import reseal

SPACE = hz.Space(
    optimizer=hz.Choice(["sgd", "adam", "rmsprop"]),
    lr=hz.LogUniform(1e-5, 1.0),
    momentum=hz.InvLogUniform(0.9, 0.999).when(optimizer="sgd"),
    beta2=hz.InvLogUniform(0.99, 0.9999).when(optimizer="adam"),
    layers=hz.IntUniform(1, 4),
    width_3=hz.IntLogUniform(16, 1024).when(layers=[3, 4]),
)


def loss(optimizer, lr, layers, momentum=None, beta2=None, width_3=None):
    """Best with adam (the second option), lr = 1e-3, beta2 = 0.999, 3 layers of 128."""
    base = (np.log10(lr) + 3) ** 2 + 0.1 * (layers - 3) ** 2
    if optimizer == "sgd":
        return base + 5 + (np.log10(1 - momentum) + 2) ** 2
    if optimizer == "adam":
        extra = 0.0 if width_3 is None else 0.1 * (np.log2(width_3) - 7) ** 2
        return base + (np.log10(1 - beta2) + 3) ** 2 + extra
    return base + 2


def strict_loss(**config):
    """Fails when called with a parameter whose condition does not hold."""
    if ("momentum" in config) != (config["optimizer"] == "sgd"):
        raise AssertionError(f"momentum passed wrongly: {config}")
    if ("beta2" in config) != (config["optimizer"] == "adam"):
        raise AssertionError(f"beta2 passed wrongly: {config}")
    if ("width_3" in config) != (config["layers"] >= 3):
        raise AssertionError(f"width_3 passed wrongly: {config}")
    return loss(**config)


def _expected_active(frame):
    opt = frame["optimizer"].to_numpy()
    layers = frame["layers"].to_numpy()
    return {
        "momentum": opt == "sgd",
        "beta2": opt == "adam",
        "width_3": layers >= 3,
    }


def _check_conditions(result):
    frame = result.trials.to_pandas()
    for name, expect in _expected_active(frame).items():
        assert np.array_equal(frame[name].notna().to_numpy(), expect), name


def test_branches_of_a_space():
    branches = space_branches(SPACE)
    # 3 optimizers x 2 pieces of layers ({1, 2} and {3, 4})
    assert len(branches) == 6
    labels = {
        (b.label["optimizer"], tuple(np.atleast_1d(b.label["layers"]).tolist()))
        for b in branches
    }
    assert labels == {
        (o, p) for o in ("sgd", "adam", "rmsprop") for p in ((1, 2), (3, 4))
    }
    for b in branches:
        names = {SPACE.names[j] for j in b.axes} | {SPACE.names[j] for j in b.fixed}
        assert ("momentum" in names) == (b.label["optimizer"] == "sgd")
        assert ("width_3" in names) == (b.label["layers"][0] == 3)


def test_flat_space_with_a_forbidden_clause_is_one_branch():
    space = hz.Space(x=hz.Uniform(0, 1), k=hz.IntUniform(1, 3)).forbid(k=3)
    assert len(space_branches(space)) == 1


def test_finds_the_optimum_in_the_second_branch_and_beats_random():
    c2f = [
        hz.search(strict_loss, SPACE, budget=600, rng=s).best_value for s in range(5)
    ]
    rnd = [
        hz.search(strict_loss, SPACE, budget=600, rng=s, strategy="random").best_value
        for s in range(5)
    ]
    assert np.median(c2f) < 1e-2
    assert np.median(c2f) < 0.1 * np.median(rnd)
    best = hz.search(strict_loss, SPACE, budget=600, rng=0).best
    assert best["optimizer"] == "adam"
    assert "momentum" not in best


def test_trials_follow_the_best_branch_without_starving_others():
    r = hz.search(loss, SPACE, budget=800, rng=3)
    frame = r.trials.to_pandas()
    late = frame[frame["round"] >= 10]
    counts = late["optimizer"].value_counts()
    assert counts.idxmax() == "adam"
    # every branch keeps at least part of its explore share after the first rounds
    assert set(counts.index) == {"sgd", "adam", "rmsprop"}
    assert counts.min() > 0.25 * EXPLORE / 6 * len(late)


def test_every_strategy_honours_conditions():
    for strategy in ("coarse-to-fine", "random", "grid"):
        r = hz.search(strict_loss, SPACE, budget=120, rng=1, strategy=strategy)
        assert r.trials.n_failed == 0, strategy
        _check_conditions(r)


def test_same_seed_same_trials_whatever_the_threads():
    a = hz.search(loss, SPACE, budget=300, rng=11, workers=1)
    b = hz.search(loss, SPACE, budget=300, rng=11, workers=2)
    assert np.array_equal(a.trials.unit, b.trials.unit, equal_nan=True)
    assert np.array_equal(a.trials.value, b.trials.value)


def test_forbidden_combinations_never_proposed():
    space = SPACE.forbid(optimizer="adam", layers=[3, 4])
    for strategy in ("coarse-to-fine", "random", "grid"):
        r = hz.search(strict_loss, space, budget=400, rng=2, strategy=strategy)
        frame = r.trials.to_pandas()
        bad = (frame["optimizer"] == "adam") & (frame["layers"] >= 3)
        assert not bad.any(), strategy
        _check_conditions(r)
    # the optimum moves to adam with at most 2 layers
    best = hz.search(strict_loss, space, budget=600, rng=0).best
    assert best["optimizer"] == "adam"
    assert best["layers"] == 2


def test_ask_tell_by_hand_and_vectorised_objective():
    opt = hz.CoarseToFine(SPACE, budget=200, rng=5)
    while not opt.done:
        c = opt.ask()
        assert isinstance(c["width_3"], np.ma.MaskedArray)
        assert np.array_equal(np.isnan(c["momentum"]), c["optimizer"] != "sgd")
        opt.tell(c, [loss(**row) for row in c])
    r = opt.result()
    assert len(r.trials) == 200
    again = opt.asked(r.trials.id[:5])
    assert [sorted(x) for x in again] == [sorted(x) for x in r.trials.configs[:5]]


def test_asynchronous_search_on_a_conditional_space():
    with ThreadPoolExecutor(4) as ex:
        r = hz.search(
            strict_loss, SPACE, budget=300, rng=1, asynchronous=True, executor=ex
        )
    assert len(r.trials) == 300
    assert r.trials.n_failed == 0
    _check_conditions(r)
    assert r.best_value < 0.1


def test_stored_search_resumes_and_loads(tmp_path):
    path = tmp_path / "s.db"
    hz.search(loss, SPACE, budget=150, rng=4, storage=path, study="c")
    resumed = hz.search(loss, SPACE, budget=250, rng=4, storage=path, study="c")
    whole = hz.search(loss, SPACE, budget=250, rng=4)
    assert np.array_equal(resumed.trials.unit, whole.trials.unit, equal_nan=True)
    loaded = hz.load_study(path, "c")
    assert loaded.best == whole.best
    from hyperzoom.store import space_from_json

    assert space_from_json(hz.storage.study_info(path, "c")["space"]) == SPACE


def test_stored_space_keeps_conditions_and_clauses(tmp_path):
    space = SPACE.forbid(optimizer="rmsprop", layers=4)
    from hyperzoom.store import space_from_json, space_to_json

    doc = json.loads(json.dumps(space_to_json(space)))
    assert space_from_json(doc) == space


def test_resuming_with_other_conditions_is_refused(tmp_path):
    path = tmp_path / "s.db"
    hz.search(loss, SPACE, budget=60, rng=4, storage=path, study="c")
    other = hz.Space(
        **{
            k: (
                hz.InvLogUniform(0.9, 0.999).when(optimizer="rmsprop")
                if k == "momentum"
                else v
            )
            for k, v in SPACE.items()
        }
    )
    with pytest.raises(
        ValueError, match=r"'momentum' differs.*optimizer='sgd'.*optimizer='rmsprop'"
    ):
        hz.search(loss, other, budget=60, rng=4, storage=path, study="c")
    with pytest.raises(ValueError, match="forbidden clauses differ"):
        hz.search(
            loss, SPACE.forbid(layers=4), budget=60, rng=4, storage=path, study="c"
        )


def test_damaged_condition_in_a_study_file_is_refused(tmp_path):
    path = tmp_path / "s.db"
    hz.search(loss, SPACE, budget=30, rng=4, storage=path, study="c")
    conn = sqlite3.connect(path)
    (table, column) = _space_column(conn)
    doc = json.loads(conn.execute(f"SELECT {column} FROM {table}").fetchone()[0])
    doc[2]["when"] = [["optimizer", {"in": []}]]
    conn.execute(f"UPDATE {table} SET {column} = ?", (json.dumps(doc),))
    conn.commit()
    conn.close()
    reseal(path)  # checksums made valid again: the field check itself must refuse it
    with pytest.raises(ValueError, match=r"space\[2\]\.when\[0\]"):
        hz.load_study(path, "c")


def _space_column(conn):
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        if "space" in cols:
            return table, "space"
    raise AssertionError("no space column")


def test_branch_zoom_refuses_too_many_branches():
    params = {f"c{i}": hz.Choice(list(range(4))) for i in range(5)}
    params.update({f"x{i}": hz.Uniform(0, 1).when(**{f"c{i}": 0}) for i in range(5)})
    space = hz.Space(params)
    with pytest.raises(ValueError, match="more than 256 branches"):
        hz.CoarseToFine(space, budget=10, rng=1)


def test_branch_shares_are_floored_and_ranked():
    zoom = BranchZoom(
        SPACE,
        round_size=0,
        first_round=0,
        keep=0.5,
        min_width=0.05,
        max_doublings=16,
        rng=np.random.default_rng(1),
    )
    for b, best in zip(zoom.branches, [5.0, 0.1, 3.0, 1.0, np.inf, 2.0]):
        b.best = best
    shares = zoom.shares()
    assert shares.sum() == pytest.approx(1.0)
    assert shares.min() >= EXPLORE / 6 - 1e-12
    assert int(np.argmax(shares)) == 1
    assert shares[4] == pytest.approx(EXPLORE / 6)  # no finite value yet: the floor


def test_retest_calls_the_objective_with_active_names_only():
    r = hz.search(strict_loss, SPACE, budget=80, rng=6)
    rep = hz.retest(r, strict_loss, top_k=4, repeats=2)
    assert rep.new.shape == (4, 2)
    assert np.isfinite(rep.new).all()  # strict_loss raises if an inactive name arrives


def test_babysitter_takes_the_active_parameters_of_a_conditional_space():
    space = hz.Space(
        optimizer=hz.Choice(["sgd", "adam"]),
        learning_rate=hz.LogUniform(1e-4, 1.0),
        momentum=hz.InvLogUniform(0.9, 0.999).when(optimizer="sgd"),
    )
    sitter = hz.Babysitter(space, {"optimizer": "adam", "learning_rate": 0.1})
    assert sitter.config == {"optimizer": "adam", "learning_rate": 0.1}
    with pytest.raises(ValueError, match=r"'momentum'.*has a value.*optimizer='sgd'"):
        hz.Babysitter(
            space, {"optimizer": "adam", "learning_rate": 0.1, "momentum": 0.99}
        )
    with pytest.raises(ValueError, match=r"'momentum'.*is missing.*optimizer='sgd'"):
        hz.Babysitter(space, {"optimizer": "sgd", "learning_rate": 0.1})
    with pytest.raises(ValueError, match=r"missing parameter\(s\) \['learning_rate'\]"):
        hz.Babysitter(space, {"optimizer": "adam"})
