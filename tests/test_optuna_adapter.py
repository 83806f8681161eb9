"""The Optuna sampler (hyperzoom.optuna) and the Space <-> Optuna conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import hyperzoom as hz
from hyperzoom.optuna import CoarseToFineSampler

D = optuna.distributions
SEED = 0x5D3A_91C7_04E2_B86F_1A2B_3C4D_5E6F_7081 % 2**63

SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    momentum=hz.InvLogUniform(0.9, 0.999),
    layers=hz.IntUniform(1, 6),
    batch=hz.PowerOfTwo(16, 512),
)


@pytest.fixture(autouse=True)
def _quiet():
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def loss(lr, momentum, layers, batch):
    return (
        (math.log10(lr) + 2.5) ** 2
        + (math.log10(1 - momentum) + 2) ** 2
        + 0.1 * (layers - 3) ** 2
        + 0.1 * (math.log2(batch) - 6) ** 2
    )


def suggest(trial):
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1.0, log=True),
        "momentum": trial.suggest_float("momentum", 0.9, 0.999),
        "layers": trial.suggest_int("layers", 1, 6),
        "batch": trial.suggest_categorical("batch", [16, 32, 64, 128, 256, 512]),
    }


def objective(trial):
    return loss(**suggest(trial))


def by_hand(n, seed=SEED, minimize=True, value=None):
    """Drive hz.CoarseToFine(asynchronous=True) by hand: its configurations, in order."""
    opt = hz.CoarseToFine(SPACE, rng=seed, asynchronous=True, minimize=minimize)
    out = []
    for _ in range(n):
        c = opt.ask(1)
        out.append(c[0])
        opt.tell(c.ids, [loss(**c[0]) if value is None else value(c[0])])
    return out


# -- the sampler ---------------------------------------------------------------------------
def test_proposals_equal_coarse_to_fine_driven_by_hand():
    study = optuna.create_study(sampler=CoarseToFineSampler(SPACE, seed=SEED))
    study.optimize(objective, n_trials=120)
    assert [t.params for t in study.trials] == by_hand(120)
    assert study.best_value < 0.05


def test_maximising_study_follows_its_direction():
    study = optuna.create_study(
        direction="maximize", sampler=CoarseToFineSampler(SPACE, seed=SEED)
    )
    study.optimize(lambda t: -objective(t), n_trials=60)
    expected = by_hand(60, minimize=False, value=lambda c: -loss(**c))
    assert [t.params for t in study.trials] == expected


def test_failed_and_pruned_trials_are_told():
    def pruned_objective(trial):
        x = suggest(trial)
        if trial.number % 7 == 3:
            raise RuntimeError("diverged")
        for step in range(3):
            trial.report(loss(**x) + 1.0 / (step + 1), step)
            if trial.should_prune():
                raise optuna.TrialPruned
        return loss(**x)

    sampler = CoarseToFineSampler(SPACE, seed=SEED)
    study = optuna.create_study(
        sampler=sampler,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0),
    )
    study.optimize(pruned_objective, n_trials=80, catch=(RuntimeError,))
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) > 5
    assert states.count(optuna.trial.TrialState.PRUNED) >= 3
    told = {t.number: t.system_attrs["hyperzoom:tell"]["value"] for t in study.trials}
    for t in study.trials:
        if t.state == optuna.trial.TrialState.FAIL:
            assert told[t.number] is None
        elif t.state == optuna.trial.TrialState.PRUNED:
            last = t.intermediate_values[max(t.intermediate_values)]
            assert told[t.number] == last
        else:
            assert told[t.number] == t.value
    # The search saw them all: its trials are the study's.
    result = sampler._opt.result()
    assert len(result.trials) == 80
    assert int(result.trials.failed.sum()) == states.count(optuna.trial.TrialState.FAIL)


def test_pruned_trial_without_intermediate_value_is_a_failure():
    def objective(trial):
        suggest(trial)
        raise optuna.TrialPruned

    study = optuna.create_study(sampler=CoarseToFineSampler(SPACE, seed=SEED))
    study.optimize(objective, n_trials=3)
    assert all(t.system_attrs["hyperzoom:tell"]["value"] is None for t in study.trials)


def test_two_jobs_lose_and_duplicate_nothing():
    sampler = CoarseToFineSampler(SPACE, seed=SEED)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=60, n_jobs=2)
    ids = sorted(t.system_attrs["hyperzoom:ask"]["id"] for t in study.trials)
    assert ids == list(range(60))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert sampler._opt.n_told == sampler._opt.n_asked == 60
    assert sampler._proposed == {}


def test_sqlite_resume_equals_uninterrupted(tmp_path):
    whole = optuna.create_study(sampler=CoarseToFineSampler(SPACE, seed=SEED))
    whole.optimize(objective, n_trials=30)

    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = optuna.create_study(
        storage=url, study_name="s", sampler=CoarseToFineSampler(SPACE, seed=SEED)
    )
    first.optimize(objective, n_trials=14)
    del first
    resumed = optuna.load_study(
        storage=url, study_name="s", sampler=CoarseToFineSampler(SPACE, seed=SEED)
    )
    resumed.optimize(objective, n_trials=10)
    # A second resume, with seed=None: the study stored the seed.
    again = optuna.load_study(
        storage=url, study_name="s", sampler=CoarseToFineSampler(SPACE)
    )
    again.optimize(objective, n_trials=6)
    assert [t.params for t in again.trials] == [t.params for t in whole.trials]
    assert [t.value for t in again.trials] == [t.value for t in whole.trials]


def test_resume_with_another_seed_is_refused():
    url = optuna.storages.InMemoryStorage()  # resumed through the same storage
    study = optuna.create_study(
        storage=url, study_name="s", sampler=CoarseToFineSampler(SPACE, seed=SEED)
    )
    study.optimize(objective, n_trials=5)
    other = optuna.load_study(
        storage=url, study_name="s", sampler=CoarseToFineSampler(SPACE, seed=SEED + 1)
    )
    with pytest.raises(ValueError, match=r"seed=.*pass seed="):
        other.optimize(objective, n_trials=1)


def test_resume_with_another_space_is_refused():
    url = optuna.storages.InMemoryStorage()  # resumed through the same storage
    study = optuna.create_study(
        storage=url, study_name="s", sampler=CoarseToFineSampler(SPACE, seed=SEED)
    )
    study.optimize(objective, n_trials=5)
    narrow = hz.Space({**SPACE.params, "layers": hz.IntUniform(1, 4)})
    other = optuna.load_study(
        storage=url, study_name="s", sampler=CoarseToFineSampler(narrow, seed=SEED)
    )
    with pytest.raises(ValueError, match=r"(?s)sampled over Space\(.*same space"):
        other.optimize(objective, n_trials=1)


def test_resume_without_the_given_space_is_refused():
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(
        storage=storage, study_name="s", sampler=CoarseToFineSampler(SPACE, seed=SEED)
    )
    study.optimize(objective, n_trials=3)
    other = optuna.load_study(
        storage=storage, study_name="s", sampler=CoarseToFineSampler(seed=SEED)
    )
    with pytest.raises(ValueError, match="pass that space"):
        other.optimize(objective, n_trials=1)


def test_inferred_space_resumes_without_a_space():
    def objective(trial):
        x = trial.suggest_float("x", -5.0, 5.0)
        return (x - 1) ** 2

    storage = optuna.storages.InMemoryStorage()
    whole = optuna.create_study(
        sampler=CoarseToFineSampler(seed=SEED, n_startup_trials=3)
    )
    whole.optimize(objective, n_trials=30)
    first = optuna.create_study(
        storage=storage,
        study_name="s",
        sampler=CoarseToFineSampler(seed=SEED, n_startup_trials=3),
    )
    first.optimize(objective, n_trials=14)
    resumed = optuna.load_study(
        storage=storage,
        study_name="s",
        sampler=CoarseToFineSampler(seed=SEED, n_startup_trials=3),
    )
    resumed.optimize(objective, n_trials=16)
    assert [t.params for t in resumed.trials] == [t.params for t in whole.trials]


def test_resume_with_other_settings_is_refused():
    url = optuna.storages.InMemoryStorage()  # resumed through the same storage
    study = optuna.create_study(
        storage=url, study_name="s", sampler=CoarseToFineSampler(SPACE, seed=SEED)
    )
    study.optimize(objective, n_trials=3)
    other = optuna.load_study(
        storage=url,
        study_name="s",
        sampler=CoarseToFineSampler(SPACE, seed=SEED, design="random"),
    )
    with pytest.raises(ValueError, match="trial 0 was proposed as"):
        other.optimize(objective, n_trials=1)


def test_trials_cut_off_by_a_crash_are_told_failed_once():
    url = optuna.storages.InMemoryStorage()  # resumed through the same storage
    study = optuna.create_study(
        storage=url, study_name="s", sampler=CoarseToFineSampler(SPACE, seed=SEED)
    )
    study.optimize(objective, n_trials=5)
    running = study.ask()  # asked, never told: the process "died"
    suggest(running)
    sampler = CoarseToFineSampler(SPACE, seed=SEED)
    resumed = optuna.load_study(storage=url, study_name="s", sampler=sampler)
    resumed.optimize(objective, n_trials=5)
    assert sampler._opt.result().trials.failed.sum() == 1
    again = CoarseToFineSampler(SPACE, seed=SEED)
    optuna.load_study(storage=url, study_name="s", sampler=again).optimize(
        objective, n_trials=1
    )
    assert again._opt.n_asked == 12
    assert again._opt.n_told == 12


def test_parameters_outside_the_space_go_to_the_independent_sampler():
    class Recording(optuna.samplers.RandomSampler):
        names: list[str] = []  # noqa: RUF012

        def sample_independent(self, study, trial, name, dist):
            self.names.append(name)
            return super().sample_independent(study, trial, name, dist)

    rec = Recording(seed=1)

    def objective(trial):
        x = suggest(trial)
        dropout = trial.suggest_float("dropout", 0.0, 0.5)
        return loss(**x) + dropout

    study = optuna.create_study(
        sampler=CoarseToFineSampler(SPACE, seed=SEED, independent_sampler=rec)
    )
    study.optimize(objective, n_trials=20)
    assert set(rec.names) == {"dropout"}
    assert len(rec.names) == 20
    assert {"lr", "dropout"} <= set(study.trials[0].params)


def test_a_narrower_suggestion_goes_independent_and_is_told_failed():
    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-3, log=True)  # narrower than the space
        return (math.log10(lr) + 3.5) ** 2

    space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    study = optuna.create_study(sampler=CoarseToFineSampler(space, seed=SEED))
    study.optimize(objective, n_trials=20)
    asked = [t.system_attrs["hyperzoom:ask"]["unit"][0] for t in study.trials]
    told = [t.system_attrs["hyperzoom:tell"]["value"] for t in study.trials]
    for u, v in zip(asked, told):
        assert (v is None) == (u > 0.25)  # outside [1e-4, 1e-3]: another point


def test_space_inferred_from_the_study():
    def objective(trial):
        x = trial.suggest_float("x", -5.0, 5.0)
        n = trial.suggest_int("n", 1, 64, log=True)
        k = trial.suggest_int("k", 0, 10, step=2)  # stepped: stays independent
        return (x - 1) ** 2 + (math.log2(n) - 3) ** 2 + k

    sampler = CoarseToFineSampler(seed=SEED, n_startup_trials=5)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=60)
    assert sampler._space == hz.Space(
        n=hz.IntLogUniform(1, 64), x=hz.Uniform(-5.0, 5.0)
    )
    asked = [t.number for t in study.trials if "hyperzoom:ask" in t.system_attrs]
    assert asked == list(range(5, 60))
    assert study.best_value < 2.5


def test_multi_objective_is_refused():
    study = optuna.create_study(
        directions=["minimize", "minimize"], sampler=CoarseToFineSampler(SPACE, seed=1)
    )
    with pytest.raises(ValueError, match="multi-objective"):
        study.optimize(lambda t: (objective(t), 0.0), n_trials=1)


def test_settings_are_checked_and_own_ones_refused():
    with pytest.raises(TypeError, match="`asynchronous` is set by the sampler"):
        CoarseToFineSampler(SPACE, asynchronous=False)
    with pytest.raises(ValueError, match="keep"):
        CoarseToFineSampler(SPACE, keep=2.0)
    with pytest.raises(TypeError, match=r"`kep` is not a setting.*'keep'"):
        CoarseToFineSampler(SPACE, kep=0.3)
    with pytest.raises(TypeError, match="hyperzoom Space"):
        CoarseToFineSampler({"x": D.FloatDistribution(0, 1)})


def test_budget_spent_falls_back_to_the_independent_sampler():
    study = optuna.create_study(
        sampler=CoarseToFineSampler(SPACE, seed=SEED, budget=10)
    )
    study.optimize(objective, n_trials=15)
    asked = ["hyperzoom:ask" in t.system_attrs for t in study.trials]
    assert asked == [True] * 10 + [False] * 5


def test_conditional_space_proposes_active_parameters_only():
    space = hz.Space(
        opt=hz.Choice(["sgd", "adam"]),
        lr=hz.LogUniform(1e-4, 1.0),
        momentum=hz.InvLogUniform(0.9, 0.999).when(opt="sgd"),
    )

    def objective(trial):
        opt = trial.suggest_categorical("opt", ["sgd", "adam"])
        lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
        v = (math.log10(lr) + 2) ** 2
        if opt == "sgd":
            v += (math.log10(1 - trial.suggest_float("momentum", 0.9, 0.999)) + 2) ** 2
        return v

    study = optuna.create_study(sampler=CoarseToFineSampler(space, seed=SEED))
    study.optimize(objective, n_trials=40)
    for t in study.trials:
        assert ("momentum" in t.params) == (t.params["opt"] == "sgd")
        assert t.system_attrs["hyperzoom:tell"]["value"] == t.value


# -- the conversion ------------------------------------------------------------------------
def test_to_optuna_and_back_round_trips():
    space = hz.Space(
        u=hz.Uniform(-1.0, 2.0),
        lr=hz.LogUniform(1e-5, 1.0),
        n=hz.IntUniform(1, 6),
        h=hz.IntLogUniform(16, 1024),
        b=hz.PowerOfTwo(8, 256),
        act=hz.Choice(["relu", "tanh", None, True, 3.5]),
    )
    dists = space.to_optuna()
    assert dists == {
        "u": D.FloatDistribution(-1.0, 2.0),
        "lr": D.FloatDistribution(1e-5, 1.0, log=True),
        "n": D.IntDistribution(1, 6),
        "h": D.IntDistribution(16, 1024, log=True),
        "b": D.CategoricalDistribution([8, 16, 32, 64, 128, 256]),
        "act": D.CategoricalDistribution(["relu", "tanh", None, True, 3.5]),
    }
    assert hz.Space.from_optuna(dists) == space


def test_inv_log_uniform_is_refused_naming_the_parameter():
    space = hz.Space(momentum=hz.InvLogUniform(0.9, 0.999))
    with pytest.raises(ValueError, match=r"parameter 'momentum'.*inv_log='linear'"):
        space.to_optuna()
    assert space.to_optuna(inv_log="linear") == {
        "momentum": D.FloatDistribution(0.9, 0.999)
    }
    with pytest.raises(ValueError, match="inv_log"):
        space.to_optuna(inv_log="log")


@pytest.mark.parametrize(
    ("dist", "match"),
    [
        (D.FloatDistribution(0.0, 1.0, step=0.1), "stepped float"),
        (D.IntDistribution(0, 10, step=2), r"stepped integer.*IntUniform\(0, 5\)"),
        (D.FloatDistribution(1.0, 1.0), "single value"),
        (D.IntDistribution(5, 1000, log=True), None),
    ],
    ids=["float-step", "int-step", "float-single", "int-log-ok"],
)
def test_from_optuna_refuses_what_it_cannot_hold(dist, match):
    if match is None:
        assert hz.Space.from_optuna({"w": dist})["w"] == hz.IntLogUniform(5, 1000)
        return
    with pytest.raises(ValueError, match=rf"parameter 'w'.*{match}"):
        hz.Space.from_optuna({"w": dist})


def test_categorical_powers_of_two_only_when_consecutive():
    def read(choices):
        return hz.Space.from_optuna({"c": D.CategoricalDistribution(choices)})["c"]

    assert read([1, 2, 4]) == hz.PowerOfTwo(1, 4)
    assert isinstance(read([16, 64]), hz.Choice)
    assert isinstance(read([64, 32]), hz.Choice)
    assert isinstance(read([True, 2]), hz.Choice)
    assert isinstance(read([4]), hz.Choice)


def test_choice_options_optuna_cannot_store_are_refused():
    space = hz.Space(shape=hz.Choice([(1, 2), (3, 4)]))
    with pytest.raises(ValueError, match=r"parameter 'shape'.*tuple"):
        space.to_optuna()


def test_import_hyperzoom_does_not_import_optuna():
    import subprocess
    import sys

    code = "import sys, hyperzoom; hyperzoom.Space; print('optuna' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_unit_records_are_the_proposals():
    study = optuna.create_study(sampler=CoarseToFineSampler(SPACE, seed=SEED))
    study.optimize(objective, n_trials=10)
    for t in study.trials:
        unit = np.array(t.system_attrs["hyperzoom:ask"]["unit"])
        back = SPACE.from_unit(unit[None, :])[0]
        assert back["batch"] == t.params["batch"]
        assert back["layers"] == t.params["layers"]
        assert back["lr"] == pytest.approx(t.params["lr"], rel=1e-12)
