"""What coarse-to-fine proposals cost a scheduler, per new configuration.

Two groups, each beside Optuna's TPE (the proposer our users compare with) in the same
run:

* ``hyperband-3-passes``: three Hyperband passes (``max_budget=81``, ``eta=3``, 429
  configurations) of a training function that costs nothing, so that the time is the
  scheduler's own: ``sampler="random"``, ``sampler="coarse-to-fine"``, and Optuna's
  TPE sampler with its Hyperband pruner over as many trials, each reporting every epoch
  it trains (how Optuna's pruners learn a trial's curve). Per configuration.
* ``proposal-one-at-a-time``: one result told and one new configuration asked, with 400
  results already told (the way a pipeline that asks one configuration at a time uses
  a proposer): :class:`hyperzoom.schedule.proposals.Proposer` at one level, against
  Optuna's TPE ``ask``/``tell`` on a study of 400 finished trials.

Run with ``pytest bench/test_proposals.py --benchmark-only
--benchmark-json=.benchmarks/proposals.json`` and ``python bench/ratios.py
.benchmarks/proposals.json``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import hyperzoom as hz
from _peers import quiet_optuna, suggest
from hyperzoom.schedule.proposals import Proposer
from schedule_quality import SYN_SPACE as SPACE  # the proposals quality bench's space

SEED = 0x5EED_2026_1130_0017
R_MAX = 81
PASSES = 3
PLAN = hz.hyperband_plan(max_budget=R_MAX, eta=3)
#: configurations of PASSES passes: each bracket's first rung, once a pass
CONFIGS = PASSES * sum(bracket[0][0] for bracket in PLAN)


def loss_of(c: dict[str, Any], budget: float) -> float:
    """A cheap loss with a best learning rate near 1e-2: proposals have a region."""
    lr = np.log10(c["learning_rate"]) + 2.0
    return float(lr * lr + 0.1 * np.log2(c["hidden_units"]) / 10 + 1.0 / budget)


def train(c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
    return loss_of(c, float(budget)), None


def hyperband(sampler: str) -> hz.ScheduleResult:
    return hz.hyperband(
        train,
        SPACE,
        max_budget=R_MAX,
        eta=3,
        passes=PASSES,
        sampler=sampler,
        rng=SEED,
    )


def check_hyperband(benchmark: Any, sampler: str) -> None:
    r = benchmark.pedantic(lambda: hyperband(sampler), rounds=3, iterations=1)
    assert len(r.trials) == CONFIGS
    proposed = int(np.count_nonzero(r.trials.proposal >= 0))
    if sampler == "random":
        assert proposed == 0
    else:  # the proposer drew from its regions, and they are better than random
        assert proposed > 0
        # learning_rate's unit axis: 10 ** (4 u - 4); within a decade of 1e-2
        near = np.abs(r.trials.unit[:, 0] - 0.5) < 0.25
        assert near[r.trials.proposal >= 0].mean() > near[r.trials.proposal < 0].mean()
    benchmark.extra_info["configs"] = CONFIGS


@pytest.mark.benchmark(group="hyperband-3-passes")
def test_hyperband_coarse_to_fine(benchmark: Any) -> None:
    check_hyperband(benchmark, "coarse-to-fine")


@pytest.mark.benchmark(group="hyperband-3-passes")
def test_hyperband_random(benchmark: Any) -> None:
    check_hyperband(benchmark, "random")


def optuna_module() -> Any:
    pytest.importorskip("optuna", reason="Optuna is an optional bench peer")
    return quiet_optuna()


@pytest.mark.benchmark(group="hyperband-3-passes")
def test_optuna_tpe_hyperband_pruner_baseline(benchmark: Any, full: Any) -> None:
    optuna = optuna_module()
    n = full(CONFIGS, 30)

    def objective(trial: Any) -> float:
        c = suggest(trial, SPACE)
        for t in range(1, R_MAX + 1):
            loss = loss_of(c, t)
            trial.report(loss, t)
            if trial.should_prune():
                raise optuna.TrialPruned
        return loss

    def run() -> Any:
        study = optuna.create_study(
            sampler=optuna.samplers.TPESampler(seed=1),
            pruner=optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=R_MAX, reduction_factor=3
            ),
        )
        study.optimize(objective, n_trials=n)
        return study

    study = benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(study.trials) == n
    benchmark.extra_info["configs"] = n


TOLD = 400


@pytest.mark.benchmark(group="proposal-one-at-a-time")
def test_proposer_observe_and_propose_one(benchmark: Any, full: Any) -> None:
    told = full(TOLD, 40)
    p = Proposer(SPACE, [1.0], np.random.default_rng(SEED))
    first = SPACE.sample(told, rng=SEED)
    for i in range(told):
        p.observe(0, first.unit[i], loss_of(first.row(i), 1.0), run=i)
    assert p.level() == 0  # the level has a region: every ask is a region's draw
    draw = np.random.default_rng(SEED + 1)
    k = [told]
    pids: list[int] = []

    def random_draw(m: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
        c = SPACE.sample(m, rng=draw)
        return c.unit, [c.row(i) for i in range(m)]

    def one() -> tuple[np.ndarray, dict[str, Any], int]:
        ((unit, config, pid),) = p.propose(1, random_draw)
        p.observe(0, unit, loss_of(config, 1.0), run=k[0])
        k[0] += 1
        pids.append(pid)
        return unit, config

    unit, config = benchmark(one)
    assert ((unit >= 0) & (unit <= 1)).all()
    assert set(config) == set(SPACE.names)
    if len(pids) >= 50:  # two thirds from the region (the top level trusts itself)
        assert 0.45 < np.mean(np.array(pids) >= 0) < 0.85
    benchmark.extra_info["configs"] = 1


@pytest.mark.benchmark(group="proposal-one-at-a-time")
def test_optuna_tpe_ask_tell_one_baseline(benchmark: Any, full: Any) -> None:
    optuna = optuna_module()
    told = full(TOLD, 40)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1))
    study.optimize(lambda t: loss_of(suggest(t, SPACE), 1.0), n_trials=told)

    def one() -> dict[str, Any]:
        trial = study.ask()
        c = suggest(trial, SPACE)
        study.tell(trial, loss_of(c, 1.0))
        return c

    c = benchmark(one)
    assert 1e-4 <= c["learning_rate"] <= 1.0
    benchmark.extra_info["configs"] = 1
