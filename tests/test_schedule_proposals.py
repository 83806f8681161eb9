"""Coarse-to-fine proposals inside the schedulers (``sampler="coarse-to-fine"``).

Laws: proposals lie in the space and in the region they say they came from; with too
few results a proposer draws exactly what the random sampler draws; the same seed and
arrival order give the same decisions whatever the executor; a stored schedule rebuilds
the proposer by replay, so killed at any moment it resumes to the uninterrupted result;
and the schedulers' promises (rung budgets, budget_limit, failures) stand.
"""

from __future__ import annotations

import json
import math
import random
import runpy
import sqlite3
import subprocess
import sys
import textwrap
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import hyperzoom as hz
from hyperzoom.schedule import proposals
from hyperzoom.schedule.proposals import Proposer

from .studyfiles import kill_at_random, reseal

C2F = "coarse-to-fine"

#: Ordered axes only, so that Region.contains decides membership on every axis.
SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    units=hz.IntLogUniform(16, 1024),
    batch=hz.PowerOfTwo(16, 512),
)
#: With a choice too: proposals must stay inside its options.
CHOICE_SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    layers=hz.IntUniform(1, 6),
    act=hz.Choice(["relu", "tanh", "gelu"]),
)


def loss_of(c: dict[str, Any]) -> float:
    out = (math.log10(c["lr"]) + 2.5) ** 2
    if "beta" in c:
        out += (math.log10(1 - c["beta"]) + 2) ** 2
    if "units" in c:
        out += 0.05 * (math.log2(c["units"]) - 7) ** 2
    if "act" in c:
        out += 0.3 * (c["act"] != "gelu")
    return out


def train(c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
    """A resumable curve (state: [epochs, excess]); fails for the largest rates."""
    if c["lr"] > 0.5:
        msg = "diverged"
        raise RuntimeError(msg)
    t0, g = (0.0, 1.0) if state is None else state
    g = g * (1.0 - min(0.3, 3 * c["lr"])) ** (float(budget) - t0)
    return loss_of(c) + g, [float(budget), g]


@pytest.fixture(autouse=True)
def _asha_trusts_unmeasured_levels(monkeypatch):
    """ASHA proposes as soon as a level has a region, as Hyperband does.

    By default ASHA trusts a level only once its ranks are measured to agree with every
    level above it, which the small schedules here rarely reach; the tests of that
    rule set it back.
    """
    monkeypatch.setattr(proposals, "PRIOR_CENSORED", 1.0)


def decisions(r: hz.ScheduleResult) -> Any:
    t = r.trials
    return (
        t.id.tolist(),
        t.unit.tobytes(),
        [c.tobytes() for c in t.curves],
        t.status.tolist(),
        t.proposal.tolist(),
        [(p.budget, p.results, p.region.lo.tobytes()) for p in r.proposal_regions],
        r.n_calls,
        r.budget_used,
    )


# -- the sampler= argument ------------------------------------------------------------------
CALLS = {
    "successive_halving": {"n": 9, "min_budget": 1, "max_budget": 9},
    "hyperband": {"max_budget": 9},
    "asha": {"min_budget": 1, "max_budget": 9, "n_trials": 9},
    "pbt": {"population": 4, "interval": 1, "total_budget": 2},
}


@pytest.mark.parametrize("method", list(CALLS))
@pytest.mark.parametrize("bad", ["bohb", "Random", None, 1])
def test_a_bad_sampler_is_refused_naming_it(method, bad):
    with pytest.raises(ValueError, match=rf"`sampler={bad!r}` is not a valid sampler"):
        getattr(hz, method)(train, SPACE, sampler=bad, **CALLS[method])


@pytest.mark.parametrize("method", list(CALLS))
def test_every_scheduler_takes_both_samplers_and_says_which(method, seed):
    for sampler in proposals.SAMPLERS:
        r = getattr(hz, method)(
            train, SPACE, sampler=sampler, rng=seed, **CALLS[method]
        )
        assert r.sampler == sampler
        assert (r.trials.proposal == -1).all()  # too few results to learn from here
    assert "sampler=coarse-to-fine" in repr(r)


#: A conditional space (momentum only with sgd) and one with a forbidden combination.
WHEN_SPACE = hz.Space(
    opt=hz.Choice(["sgd", "adam"]),
    lr=hz.LogUniform(1e-4, 1.0),
    momentum=hz.Uniform(0.0, 0.99).when(opt="sgd"),
)
FORBID_SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    act=hz.Choice(["relu", "tanh", "gelu"]),
    units=hz.IntUniform(1, 8),
).forbid(act="tanh", units=range(4, 9))


def when_train(c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
    """Best with sgd, momentum near 0.9 and lr near 10^-2.5; adam clearly worse."""
    if "momentum" in c:
        assert c["opt"] == "sgd"
        extra = 0.5 * (c["momentum"] - 0.9) ** 2
    else:
        assert c["opt"] == "adam"
        extra = 1.0
    t0, g = (0.0, 1.0) if state is None else state
    g = g * 0.7 ** (float(budget) - t0)
    return (math.log10(c["lr"]) + 2.5) ** 2 + extra + g, [float(budget), g]


@pytest.mark.parametrize("method", ["hyperband", "asha"])
def test_conditional_spaces_get_proposals_on_their_active_axes(method, seed):
    """Proposals over a conditional space are valid rows that learnt where to go.

    Every run's unit row is NaN exactly where its configuration leaves a parameter
    inactive; runs drawn from a region lie in its box on their active axes; and the
    proposed runs are better than the random ones (the region found the good branch).
    """
    kw = {
        "hyperband": {"max_budget": 81, "brackets": [0, 1, 2, 3, 4] * 2},
        "asha": {"min_budget": 1, "max_budget": 27, "n_trials": 400},
    }[method]
    r = getattr(hz, method)(when_train, WHEN_SPACE, sampler=C2F, rng=seed, **kw)
    t = r.trials
    assert np.array_equal(np.isnan(t.unit), ~t.configs.active)
    proposed = t.proposal >= 0
    assert proposed.sum() >= 20
    for i in np.flatnonzero(proposed):
        region = r.proposal_regions[int(t.proposal[i])].region
        u = t.unit[i]
        on = ~np.isnan(u)  # the box (over every branch's region) on its active axes
        assert np.all(u[on] >= region.lo[on]), i
        assert np.all(u[on] <= region.hi[on]), i
    final = np.array([min(loss for _, loss in curve) for curve in t.curves])
    assert np.median(final[proposed]) < np.median(final[~proposed])
    sgd = np.array([c["opt"] == "sgd" for c in t.configs])
    assert sgd[proposed].mean() > sgd[~proposed].mean()


def test_a_crashed_conditional_schedule_resumes_to_the_same_decisions(tmp_path, seed):
    kw = {"max_budget": 27, "brackets": [0, 1, 2, 3] * 2, "sampler": C2F, "rng": seed}
    plain = hz.hyperband(when_train, WHEN_SPACE, **kw)
    assert (plain.trials.proposal >= 0).any()
    db = tmp_path / "when.db"
    calls = [0]

    def crashing(c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
        if calls[0] == plain.n_calls * 2 // 3:
            raise Crash
        calls[0] += 1
        return when_train(c, budget, state)

    with pytest.raises(Crash):
        hz.hyperband(crashing, WHEN_SPACE, storage=db, state_codec="json", **kw)
    resumed = hz.hyperband(when_train, WHEN_SPACE, storage=db, state_codec="json", **kw)
    assert decisions(resumed) == decisions(plain)


def test_pbt_with_coarse_to_fine_takes_a_conditional_space(seed):
    r = hz.pbt(train, WHEN_SPACE, sampler=C2F, rng=seed, **CALLS["pbt"])
    assert r.sampler == C2F
    assert all(c["opt"] == "sgd" or "momentum" not in c for c in r.trials.configs)


def test_pbt_explores_from_regions_on_a_conditional_space(seed):
    """A step's coarse round is split over the branches: 16 members in 2 branches do."""
    assert proposals.branch_count(WHEN_SPACE) == 2
    assert proposals.branch_count(SPACE) == 1
    r = hz.pbt(
        when_train,
        WHEN_SPACE,
        population=16,
        interval=3,
        total_budget=30,
        sampler=C2F,
        rng=seed,
    )
    drawn = [e["new"] for e in r.lineage if e["proposal"] >= 0]
    perturbed = [e["new"] for e in r.lineage if e["proposal"] < 0]
    assert len(drawn) >= 4  # a third of 36 replacements, from the steps with a region
    for c in drawn + perturbed:  # active exactly where the conditions say
        assert ("momentum" in c) == (c["opt"] == "sgd"), c

    def quality(c: dict[str, Any]) -> float:
        return when_train(c, 30, None)[0]

    assert np.median([quality(c) for c in drawn]) < np.median(
        [quality(c) for c in perturbed]
    )


@pytest.mark.parametrize("method", ["hyperband", "asha", "pbt"])
def test_proposals_respect_forbidden_combinations(method, seed):
    """No region draw (nor PBT's region-bounded explore) holds a forbidden combination."""
    seen: list[dict[str, Any]] = []

    def recording(c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
        seen.append(dict(c))
        return train(c, budget, state)

    kwargs = {"min_budget": 1, "max_budget": 27, "budget_limit": 1500}
    if method == "hyperband":
        kwargs = {"max_budget": 27}
    if method == "pbt":
        kwargs = dict(PBT_KW)
    r = getattr(hz, method)(recording, FORBID_SPACE, sampler=C2F, rng=seed, **kwargs)
    assert (r.trials.proposal >= 0).any()
    assert not [c for c in seen if c["act"] == "tanh" and c["units"] >= 4]


# -- how far a level is trusted ----------------------------------------------------------
def test_agreement_is_spearmans_rank_correlation_of_paired_runs(seed):
    prop = Proposer(SPACE, [1.0, 3.0, 9.0], np.random.default_rng(seed))
    rows = SPACE.sample(8, rng=seed)
    rng = np.random.default_rng(seed)
    low, high = rng.random(8), rng.random(8)
    for i in range(8):
        prop.observe(0, rows.unit[i], float(low[i]), run=i)
    for i in range(proposals.MIN_PAIRS - 1):
        prop.observe(1, rows.unit[i], float(high[i]), run=i)
    assert prop.agreement(0) is None  # too few runs at both levels
    for i in range(proposals.MIN_PAIRS - 1, 8):
        prop.observe(1, rows.unit[i], float(high[i]), run=i)
    ra, rb = np.argsort(np.argsort(low)), np.argsort(np.argsort(high))
    n = 8
    expected = 1 - 6 * float(((ra - rb) ** 2).sum()) / (n * (n * n - 1))
    assert prop.agreement(0) == pytest.approx(expected)
    assert prop.agreement(1) is None
    # without run ids a run is known by its unit row
    other = Proposer(SPACE, [1.0, 3.0, 9.0], np.random.default_rng(seed))
    for i in range(8):
        other.observe(0, rows.unit[i], float(low[i]))
        other.observe(1, rows.unit[i], float(high[i]))
    assert other.agreement(0) == pytest.approx(expected)


def test_trust_is_the_product_of_agreements_up_to_the_top(monkeypatch, seed):
    prop = Proposer(SPACE, [1.0, 3.0, 9.0], np.random.default_rng(seed))
    rows = SPACE.sample(6, rng=seed)
    for i in range(6):
        prop.observe(0, rows.unit[i], float(i), run=i)
        prop.observe(1, rows.unit[i], float(i), run=i)  # the same ranks
    assert prop.agreement(0) == pytest.approx(1.0)
    assert prop.trust(2) == 1.0  # the top level trusts itself
    assert prop.trust(1) == proposals.PRIOR  # level 1 to 2 not measured
    assert prop.trust(0) == pytest.approx(proposals.PRIOR)
    censored = Proposer(
        SPACE, [1.0, 3.0, 9.0], np.random.default_rng(seed), censored=True
    )
    monkeypatch.setattr(proposals, "PRIOR_CENSORED", 0.0)
    assert censored.trust(1) == 0.0  # ASHA: unmeasured means untrusted
    for i in range(6):  # reversed ranks: no trust at all
        prop.observe(2, rows.unit[i], float(-i), run=i)
    assert prop.agreement(1) == pytest.approx(-1.0)
    assert prop.trust(1) == prop.trust(0) == 0.0


def crossing(c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
    """Curves that cross between every pair of rungs: the order flips each rung."""
    level = round(math.log(float(budget), 3))
    return (-1.0) ** level * loss_of(c), None


def test_asha_on_crossing_curves_proposes_only_from_the_top_budget(monkeypatch, seed):
    monkeypatch.setattr(proposals, "PRIOR_CENSORED", 0.0)  # the default
    kw = {"min_budget": 1, "max_budget": 27, "n_trials": 300, "rng": seed}
    c2f = hz.asha(crossing, SPACE, sampler=C2F, **kw)
    plain = hz.asha(crossing, SPACE, sampler="random", **kw)
    # every lower level's ranks are reversed at the next: only the top budget's own
    # results are trusted, so until it has a region every draw is the random one
    assert {p.budget for p in c2f.proposal_regions} == {27.0}
    first = int(np.flatnonzero(c2f.trials.proposal >= 0)[0])
    assert first > 100
    assert c2f.trials.unit[:first].tobytes() == plain.trials.unit[:first].tobytes()


def test_asha_proposes_once_its_levels_are_measured_to_agree(monkeypatch, seed):
    monkeypatch.setattr(proposals, "PRIOR_CENSORED", 0.0)  # the default
    kw = {"min_budget": 1, "max_budget": 27, "n_trials": 600, "rng": seed}
    r = hz.asha(
        lambda c, b, s: (loss_of(c) + 1.0 / float(b), None), SPACE, sampler=C2F, **kw
    )
    proposed = np.flatnonzero(r.trials.proposal >= 0)
    assert proposed.size > 0


# -- proposals lie in the space and in their region ------------------------------------------
@pytest.mark.parametrize("method", ["hyperband", "asha"])
def test_proposals_stay_inside_the_space_and_their_region(method, seed):
    if method == "hyperband":
        r = hz.hyperband(train, SPACE, max_budget=81, sampler=C2F, rng=seed)
    else:
        r = hz.asha(
            train,
            SPACE,
            min_budget=1,
            max_budget=81,
            n_trials=300,
            sampler=C2F,
            rng=seed,
        )
    t = r.trials
    drawn = np.flatnonzero(t.proposal >= 0)
    assert drawn.size >= 10  # the law is not vacuous
    assert np.all((t.unit >= 0.0) & (t.unit <= 1.0))
    # every configuration is the one its unit coordinates name, inside the bounds
    back = SPACE.from_unit(t.unit)
    for name, dist in SPACE.items():
        col = np.asarray(back[name], dtype=float)
        np.testing.assert_array_equal(col, np.asarray(t.configs[name], dtype=float))
        assert np.all((col >= dist.low) & (col <= dist.high)), name
    for k in drawn:
        found = r.proposal_regions[int(t.proposal[k])]
        assert found.region.contains(t.unit[k : k + 1])[0], (k, found)
        assert found.budget in set(t.budget.tolist()) | {1.0, 3.0, 9.0, 27.0, 81.0}
        assert found.results >= proposals.min_points(SPACE)
    # regions are narrower than the space: they say where the good runs were
    assert all(p.region.volume() < 1.0 for p in r.proposal_regions)


def test_proposals_with_a_choice_stay_inside_its_options_and_the_region_box(seed):
    r = hz.hyperband(train, CHOICE_SPACE, max_budget=81, sampler=C2F, rng=seed)
    t = r.trials
    drawn = np.flatnonzero(t.proposal >= 0)
    assert drawn.size >= 10
    assert set(t.configs["act"].tolist()) <= {"relu", "tanh", "gelu"}
    assert set(t.configs["layers"].tolist()) <= set(range(1, 7))
    for k in drawn:
        region = r.proposal_regions[int(t.proposal[k])].region
        for j in (0, 1):  # the ordered axes: inside the region's box
            assert region.lo[j] <= t.unit[k, j] <= region.hi[j]


def test_proposals_come_from_the_highest_budget_with_enough_results(seed):
    """Each Hyperband bracket draws from the highest budget holding a coarse round."""
    r = hz.hyperband(train, SPACE, max_budget=81, sampler=C2F, rng=seed)
    t = r.trials
    need = proposals.min_points(SPACE)
    for b in range(1, 5):
        # finite results per budget before bracket b started
        before = {}
        for k in np.flatnonzero(t.bracket < b):
            for budget, loss in t.curves[k]:
                if np.isfinite(loss):
                    before[budget] = before.get(budget, 0) + 1
        enough = [budget for budget, n in before.items() if n >= need]
        used = {
            r.proposal_regions[int(p)].budget
            for p in t.proposal[(t.bracket == b) & (t.proposal >= 0)]
        }
        if enough:
            assert used <= {max(enough)}, (b, before, used)
        else:
            assert not used


# -- too few results: exactly the random sampler ----------------------------------------------
def test_a_proposer_with_too_few_results_draws_the_random_draws(seed):
    space = SPACE
    gen_a, gen_b = np.random.default_rng(seed), np.random.default_rng(seed)
    prop = Proposer(space, [1.0, 3.0, 9.0], gen_a)
    need = proposals.min_points(space)
    rows = space.sample(need - 1, rng=7)
    for i in range(need - 1):  # one short of a coarse round, at every level
        for level in range(3):
            prop.observe(level, rows.unit[i], float(i))
    prop.observe(2, rows.unit[0], math.nan)  # a failure teaches nothing
    assert prop.level() == -1

    def draw(gen):
        def inner(k):
            c = space.sample(k, rng=gen)
            return c.unit, [c.row(i) for i in range(k)]

        return inner

    got = prop.propose(12, draw(gen_a))
    want = space.sample(12, rng=gen_b)
    assert [p for *_, p in got] == [-1] * 12
    np.testing.assert_array_equal(np.array([u for u, *_ in got]), want.unit)
    assert [c for _, c, _ in got] == [want.row(i) for i in range(12)]
    # one more result completes a coarse round: the level has a region to draw from
    prop.observe(1, rows.unit[0], 0.5)
    assert prop.level() == 1
    got = prop.propose(40, draw(gen_a))
    assert any(p >= 0 for *_, p in got)
    assert any(p == -1 for *_, p in got)  # a share stays random


@pytest.mark.parametrize(
    "method",
    [
        ("successive_halving", {"n": 27, "min_budget": 1, "max_budget": 27}),
        ("hyperband", {"max_budget": 9}),  # no budget ever holds a coarse round
        ("asha", {"min_budget": 1, "max_budget": 27, "n_trials": 9}),
        ("asha", {"min_budget": 1, "max_budget": 27, "budget_limit": 11}),
    ],
    ids=["sh", "hyperband-9", "asha-9-trials", "asha-budget-11"],
)
def test_schedules_with_too_few_results_equal_the_random_sampler(method, seed):
    name, kw = method
    a = getattr(hz, name)(train, SPACE, rng=seed, **kw)
    b = getattr(hz, name)(train, SPACE, rng=seed, sampler=C2F, **kw)
    assert decisions(a) == decisions(b)


def test_failed_runs_teach_nothing(seed):
    def broken(c, budget, state):
        msg = "every run fails"
        raise RuntimeError(msg)

    a = hz.hyperband(broken, SPACE, max_budget=81, rng=seed)
    b = hz.hyperband(broken, SPACE, max_budget=81, rng=seed, sampler=C2F)
    assert decisions(a) == decisions(b)  # all random: nothing succeeded
    assert b.trials.n_failed == len(b.trials)
    assert b.best is None


# -- the schedulers' promises stand -------------------------------------------------------
def test_hyperband_keeps_its_rung_budgets_and_failures_fail_alone(seed):
    a = hz.hyperband(train, SPACE, max_budget=81, rng=seed)
    b = hz.hyperband(train, SPACE, max_budget=81, rng=seed, sampler=C2F)
    assert (b.trials.proposal >= 0).any()
    # the plan's calls and budgets do not depend on the configurations
    assert (a.n_calls, a.budget_used) == (b.n_calls, b.budget_used)
    plan = hz.hyperband_plan(max_budget=81)
    for br, rungs in enumerate(plan):
        mine = b.trials.bracket == br
        assert int(np.count_nonzero(mine)) == rungs[0][0]
        for i, (_, budget) in enumerate(rungs):
            reached = [c for c, m in zip(b.trials.curves, mine) if m and c.shape[0] > i]
            assert all(c[i, 0] == budget for c in reached)
    failed = b.trials.status == "failed"
    assert (np.asarray(b.trials.configs["lr"])[failed] > 0.5).all()
    assert b.best is not None
    assert b.best["lr"] <= 0.5


@pytest.mark.parametrize("limit", [200.0, 1581])
def test_asha_spends_at_most_its_budget_limit(seed, limit):
    r = hz.asha(
        train,
        SPACE,
        min_budget=1,
        max_budget=81,
        budget_limit=limit,
        sampler=C2F,
        rng=seed,
    )
    assert r.budget_used <= limit
    assert r.budget_used > limit - 81  # nothing left that would fit
    assert set(r.trials.budget.tolist()) <= {1.0, 3.0, 9.0, 27.0, 81.0}


class LazyExecutor:
    """Futures complete only when the (patched) wait says so, in a seeded random order."""

    def __init__(self, workers: int, order_seed: int) -> None:
        self._max_workers = workers
        self.pending: list[tuple[Future[Any], Any, tuple[Any, ...]]] = []
        self.rand = random.Random(order_seed)
        self.waits: list[int] = []

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        f: Future[Any] = Future()
        self.pending.append((f, fn, args))
        return f

    def wait(self, fs: Any, return_when: Any = None) -> tuple[set[Any], set[Any]]:
        self.waits.append(len(fs))
        f, fn, args = self.pending.pop(self.rand.randrange(len(self.pending)))
        f.set_result(fn(*args))
        return {f}, set(fs) - {f}


def lazy_asha(monkeypatch, seed, order_seed, n_trials=150):
    ex = LazyExecutor(4, order_seed)
    monkeypatch.setattr("hyperzoom.schedule.async_halving.wait", ex.wait)
    r = hz.asha(
        train,
        SPACE,
        min_budget=1,
        max_budget=27,
        n_trials=n_trials,
        executor=ex,
        sampler=C2F,
        rng=seed,
    )
    return r, ex


def test_asha_never_idles_a_worker_and_same_order_gives_same_decisions(
    monkeypatch, seed
):
    a, ex = lazy_asha(monkeypatch, seed, 5)
    assert (a.trials.proposal >= 0).any()
    # until every trial has started, every wait has all 4 workers busy
    first_short = next((k for k, w in enumerate(ex.waits) if w < 4), len(ex.waits))
    assert len(a.trials) == 150
    assert first_short >= 150 - 4
    b, _ = lazy_asha(monkeypatch, seed, 5)
    assert decisions(a) == decisions(b)
    c, _ = lazy_asha(monkeypatch, seed, 6)  # another arrival order: other proposals
    assert decisions(a) != decisions(c)


def test_same_seed_gives_the_same_decisions_on_threads_and_serially(seed):
    kw = {"max_budget": 81, "sampler": C2F, "rng": seed}
    serial = hz.hyperband(train, SPACE, **kw)
    with ThreadPoolExecutor(4) as pool:
        threaded = hz.hyperband(train, SPACE, executor=pool, **kw)
    assert decisions(serial) == decisions(threaded)
    kw = {"min_budget": 1, "max_budget": 27, "n_trials": 120, "sampler": C2F}
    serial = hz.asha(train, SPACE, rng=seed, **kw)
    with ThreadPoolExecutor(3) as pool:  # one call in flight: the same arrival order
        threaded = hz.asha(train, SPACE, rng=seed, executor=pool, n_workers=1, **kw)
    assert decisions(serial) == decisions(threaded)
    assert (serial.trials.proposal >= 0).any()


def test_a_threaded_asha_replays_its_arrival_order_to_the_same_decisions(
    tmp_path, seed
):
    db = tmp_path / "asha.db"
    with ThreadPoolExecutor(4) as pool:
        live = hz.asha(
            train,
            SPACE,
            min_budget=1,
            max_budget=27,
            n_trials=150,
            sampler=C2F,
            executor=pool,
            rng=seed,
            storage=db,
        )
    assert (live.trials.proposal >= 0).any()
    assert decisions(hz.load_study(db)) == decisions(live)


# -- stored schedules -----------------------------------------------------------------------
class Crash(BaseException):
    """Stands for the process dying: not an Exception, so no run catches it."""


class Counting:
    def __init__(self, crash_at: int | None = None) -> None:
        self.calls = 0
        self.crash_at = crash_at

    def __call__(self, c, budget, state):
        if self.calls == self.crash_at:
            raise Crash
        self.calls += 1
        return train(c, budget, state)


STORED = {
    "hyperband": {"max_budget": 27},
    "asha": {"min_budget": 1, "max_budget": 27, "n_trials": 80},
}


@pytest.mark.parametrize("method", list(STORED))
@pytest.mark.parametrize("crash_at", [3, 40, 61])
def test_a_crashed_stored_schedule_resumes_to_the_same_decisions(
    tmp_path, seed, method, crash_at
):
    db = tmp_path / "study.db"
    kw = {**STORED[method], "sampler": C2F, "rng": seed}
    plain = getattr(hz, method)(train, SPACE, **kw)
    assert (plain.trials.proposal >= 0).any()
    with pytest.raises(Crash):
        getattr(hz, method)(
            Counting(crash_at), SPACE, storage=db, state_codec="json", **kw
        )
    again = Counting()
    resumed = getattr(hz, method)(again, SPACE, storage=db, state_codec="json", **kw)
    assert again.calls == plain.n_calls - crash_at  # only what was not stored ran
    assert decisions(resumed) == decisions(plain)
    assert decisions(hz.load_study(db)) == decisions(plain)


def test_a_crashed_asha_with_measured_trust_resumes_to_the_same_decisions(
    tmp_path, monkeypatch, seed
):
    monkeypatch.setattr(proposals, "PRIOR_CENSORED", 0.0)  # the default
    db = tmp_path / "study.db"
    kw = {"min_budget": 1, "max_budget": 27, "n_trials": 600, "sampler": C2F}
    plain = hz.asha(train, SPACE, rng=seed, **kw)
    assert (plain.trials.proposal >= 0).any()
    crash_at = plain.n_calls * 2 // 3
    with pytest.raises(Crash):
        hz.asha(Counting(crash_at), SPACE, rng=seed, storage=db, **kw)
    again = Counting()
    resumed = hz.asha(again, SPACE, rng=seed, storage=db, **kw)
    assert again.calls == plain.n_calls - crash_at
    assert decisions(resumed) == decisions(plain)


def test_hyperband_passes_learn_from_the_passes_before_them(tmp_path, seed):
    """Brackets repeated (BOHB's iterations): a later pass proposes from earlier ones.

    The first pass's most aggressive bracket has nothing to learn from and draws at
    random; its repeat in the second pass draws from regions built on the first pass,
    whose top budgets now hold enough results. Killed in the second pass, a stored run
    resumes to the same decisions.
    """
    kw = {"max_budget": 27, "brackets": [0, 1, 2, 3] * 2, "sampler": C2F, "rng": seed}
    plain = hz.hyperband(train, SPACE, **kw)
    t = plain.trials
    first = np.flatnonzero(t.bracket == 0)
    n0 = hz.hyperband_plan(max_budget=27)[0][0][0]
    assert first.size == 2 * n0
    assert (t.proposal[first[:n0]] == -1).all()  # nothing observed yet
    assert (t.proposal[first[n0:]] >= 0).any()  # the repeat learnt from pass one
    budgets = {plain.proposal_regions[int(p)].budget for p in t.proposal[first[n0:]]}
    assert max(budgets) > 1.0  # from a budget above the first rung
    db = tmp_path / "passes.db"
    crash_at = plain.n_calls * 3 // 4
    with pytest.raises(Crash):
        hz.hyperband(Counting(crash_at), SPACE, storage=db, state_codec="json", **kw)
    again = Counting()
    resumed = hz.hyperband(again, SPACE, storage=db, state_codec="json", **kw)
    assert again.calls == plain.n_calls - crash_at
    assert decisions(resumed) == decisions(plain)


def test_passes_repeats_the_brackets_and_stores_what_it_ran(tmp_path, seed):
    """``passes=k`` is ``brackets * k``, and a study run either way resumes either way."""
    kw = {"max_budget": 27, "sampler": C2F, "rng": seed}
    spelt = hz.hyperband(train, SPACE, brackets=[0, 1, 2, 3] * 3, **kw)
    passes = hz.hyperband(train, SPACE, passes=3, **kw)
    assert decisions(passes) == decisions(spelt)
    some = hz.hyperband(train, SPACE, brackets=[3, 1], passes=2, **kw)
    assert decisions(some) == decisions(
        hz.hyperband(train, SPACE, brackets=[3, 1, 3, 1], **kw)
    )
    db = tmp_path / "passes.db"
    hz.hyperband(train, SPACE, passes=2, storage=db, **kw)
    again = Counting()
    hz.hyperband(again, SPACE, brackets=[0, 1, 2, 3] * 2, storage=db, **kw)
    assert again.calls == 0  # the same schedule, found complete
    with pytest.raises(ValueError, match="was run with brackets="):
        hz.hyperband(Counting(), SPACE, passes=3, storage=db, **kw)


@pytest.mark.parametrize(
    ("passes", "exc", "match"),
    [
        (0, ValueError, "`passes` must be >= 1, but got 0"),
        (-2, ValueError, "`passes` must be >= 1, but got -2"),
        (2.0, TypeError, r"`passes` must be an integer, but got 2\.0"),
        (True, TypeError, "`passes` must be an integer, but got True"),
        (10**15, ValueError, "passes=10+ of brackets .* lower `passes`"),
    ],
)
def test_bad_passes_are_refused_before_anything_runs(passes, exc, match):
    t = Counting()
    with pytest.raises(exc, match=match):
        hz.hyperband(t, SPACE, max_budget=27, passes=passes)
    assert t.calls == 0


def test_a_stored_schedule_keeps_its_sampler(tmp_path, seed):
    db = tmp_path / "study.db"
    hz.hyperband(train, SPACE, max_budget=9, rng=seed, storage=db, sampler=C2F)
    with pytest.raises(ValueError, match=r"sampler='coarse-to-fine'.*sampler='random'"):
        hz.hyperband(train, SPACE, max_budget=9, rng=seed, storage=db)
    assert hz.load_study(db).sampler == C2F


def test_a_study_stored_before_samplers_resumes_as_random(tmp_path, seed):
    db = tmp_path / "old.db"
    first = hz.hyperband(train, SPACE, max_budget=27, rng=seed, storage=db)
    with sqlite3.connect(db) as conn:  # as written before `sampler` existed
        text = conn.execute("SELECT settings FROM hz_study").fetchone()[0]
        settings = json.loads(text)
        assert settings.pop("sampler") == "random"
        conn.execute("UPDATE hz_study SET settings=?", (json.dumps(settings),))
    reseal(db)
    loaded = hz.load_study(db)
    assert loaded.sampler == "random"
    assert decisions(loaded) == decisions(first)
    again = Counting()
    resumed = hz.hyperband(again, SPACE, max_budget=27, rng=seed, storage=db)
    assert again.calls == 0
    assert decisions(resumed) == decisions(first)
    with pytest.raises(ValueError, match="sampler"):
        hz.hyperband(train, SPACE, max_budget=27, rng=seed, storage=db, sampler=C2F)


SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import hyperzoom as hz
    from hyperzoom.schedule import proposals

    proposals.PRIOR_CENSORED = 1.0  # as the tests' fixture: ASHA proposes early
    space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), beta=hz.InvLogUniform(0.9, 0.999))

    def train(c, budget, state):
        time.sleep(0.002)
        if c["lr"] > 0.5:
            raise RuntimeError("diverged")
        t0, g = (0.0, 1.0) if state is None else state
        g = g * (1.0 - min(0.3, 3 * c["lr"])) ** (float(budget) - t0)
        floor = (np.log10(c["lr"]) + 2.5) ** 2 + (np.log10(1 - c["beta"]) + 2) ** 2
        return floor + g, [float(budget), g]

    common = {"rng": SEED, "sampler": "coarse-to-fine"}
    settings = {
        "hyperband": {"max_budget": 27, "passes": 2, **common},
        "asha": {"min_budget": 1, "max_budget": 27, "n_trials": 90, **common},
    }

    if __name__ == "__main__":
        method = sys.argv[2]
        getattr(hz, method)(train, space, storage=sys.argv[1], study=method,
                            state_codec="json", **settings[method])
    """
)


@pytest.mark.parametrize("method", ["hyperband", "asha"])
def test_killed_coarse_to_fine_schedules_resume_exactly(tmp_path, seed, method):
    script = tmp_path / "tune.py"
    script.write_text(SCRIPT.replace("SEED", str(seed)))
    db = tmp_path / "killed.db"
    ns = runpy.run_path(str(script), run_name="reference")
    reference = getattr(hz, method)(ns["train"], ns["space"], **ns["settings"][method])
    assert (reference.trials.proposal >= 0).any()
    total = reference.n_calls
    args = [sys.executable, str(script), str(db), method]
    kills, counts = kill_at_random(
        args, db, random.Random(seed), 6, 0.1, total, table="hz_call"
    )
    assert kills >= 3, counts
    assert any(0 < c < total for c in counts)
    done = subprocess.run(args, check=False)
    assert done.returncode == 0
    assert decisions(hz.load_study(db, method)) == decisions(reference)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT count(*), count(DISTINCT id) FROM hz_call"
        ).fetchone()
    assert rows == (total, total)  # nothing lost, nothing run twice


# -- results and report ---------------------------------------------------------------------
def test_results_and_report_show_where_each_configuration_came_from(seed):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from hyperzoom.report import render_report

    r = hz.hyperband(train, CHOICE_SPACE, max_budget=81, sampler=C2F, rng=seed)
    t = r.trials
    assert t.proposal.dtype == np.int64
    assert t.proposal.min() == -1
    assert t.proposal.max() == len(r.proposal_regions) - 1
    text = render_report(r)
    assert "Where new configurations came from" in text
    assert "coarse-to-fine sampler" in text
    for k in range(len(r.proposal_regions)):
        assert f"<td>region {k}</td>" in text
    pd = pytest.importorskip("pandas")
    df = r.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert df["proposal"].tolist() == t.proposal.tolist()
    plain = render_report(hz.hyperband(train, CHOICE_SPACE, max_budget=9, rng=seed))
    assert "Where new configurations came from" not in plain


PBT_KW = {"population": 16, "interval": 3, "total_budget": 30}


def test_pbt_with_coarse_to_fine_explores_from_regions(seed):
    """The first population is the random sampler's; later explores use regions.

    A replaced member's new configuration is a perturbation of its donor's, bounded
    for some by the region of the latest step (its lineage entry and
    ``trials.proposal`` say which); bounded ones lie in their region's box and are
    better than plain perturbations on a loss whose good region the steps reveal.
    """
    plain = hz.pbt(train, SPACE, rng=seed, **PBT_KW)
    r = hz.pbt(train, SPACE, sampler=C2F, rng=seed, **PBT_KW)
    first = [np.array(c[0]) for c in r.trials.curves]
    assert [c.tobytes() for c in first] == [
        np.array(c[0]).tobytes() for c in plain.trials.curves
    ]  # the same first step: same population, same results
    sources = np.array([e["proposal"] for e in r.lineage])
    assert (sources >= 0).sum() >= 4  # about a third of 36 replacements
    assert (sources == -1).sum() >= 18  # most stay plain perturbations
    for e in r.lineage:
        if e["proposal"] >= 0:
            box = r.proposal_regions[e["proposal"]].region
            u = SPACE.to_unit({k: [v] for k, v in e["new"].items()})[0]
            # continuous axes (integers are read back at their cells' centres)
            assert np.all(u[:2] >= box.lo[:2] - 1e-12), e
            assert np.all(u[:2] <= box.hi[:2] + 1e-12), e
    assert all(p.region.volume() < 1.0 for p in r.proposal_regions)
    assert set(r.trials.proposal.tolist()) <= {-1, *range(len(r.proposal_regions))}
    drawn = [loss_of(e["new"]) for e in r.lineage if e["proposal"] >= 0]
    perturbed = [loss_of(e["new"]) for e in r.lineage if e["proposal"] < 0]
    assert np.median(drawn) < np.median(perturbed)
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from hyperzoom.report import render_report

    text = render_report(r)
    assert "<td>first draw or perturbation</td>" in text
    assert "<td>random</td>" not in text  # PBT draws nothing else at random
    assert "<td>region 0</td>" in text


@pytest.mark.parametrize("space", [SPACE, CHOICE_SPACE], ids=["ordered", "choice"])
def test_a_region_bounds_a_perturbation_axis_by_axis(space, seed):
    """PBT's bounded explore: the donor's perturbed values stay where the region allows.

    A chosen row keeps its value on every axis where it lies inside the region's box
    and takes the region's draw on the others, or takes the draw whole when the mixed
    row would still be outside the region (a choice option the region excludes); every
    chosen row ends inside its region's box, and the rows not chosen are untouched.
    (The engine's draws keep a floor of every option of a choice, so a draw may hold
    an option its region excludes: only the ordered axes are boxed.)
    """
    from hyperzoom.schedule.population import _from_regions

    gen = np.random.default_rng(seed)
    proposer = Proposer(space, [1.0], gen, random_fraction=0.5)
    unit = space.sample(40, rng=seed).unit
    for u in unit:
        proposer.observe(0, u, float(loss_of(space.from_unit(u[None]).row(0))))
    assert proposer.level() == 0
    rows = space.sample(200, rng=seed + 1).unit
    out, source = _from_regions(proposer, rows, space)
    chosen = source >= 0
    assert 60 < chosen.sum() < 140  # half chosen, on average
    assert np.array_equal(out[~chosen], rows[~chosen])
    ordered = np.array(
        [not isinstance(d, hz.Choice) for d in space.params.values()], dtype=bool
    )
    kept = whole = 0
    for i in np.flatnonzero(chosen):
        region = proposer.regions[int(source[i])].region
        o = ordered
        assert np.all((out[i][o] >= region.lo[o]) & (out[i][o] <= region.hi[o]))
        inside = (rows[i] >= region.lo) & (rows[i] <= region.hi) & ordered
        if np.array_equal(out[i][inside], rows[i][inside]):
            kept += int(inside.any())
            if region.contains(rows[i][None])[0]:  # all inside: the row is unchanged
                assert np.array_equal(out[i], rows[i])
        else:  # the mixed row was outside the region: the region's draw, whole
            whole += 1
            mixed = np.where(inside | ~ordered, rows[i], out[i])
            assert not region.contains(mixed[None])[0]
    assert kept > 0
    if space is CHOICE_SPACE:
        assert whole > 0


def test_pbt_with_too_few_members_for_a_region_is_pbt_with_random_explores(seed):
    """Until a step holds a coarse round, every explore is the random sampler's.

    Three members over two branches never fill a step's coarse round (two results per
    branch, four in all), so over many steps the schedule makes exactly the random
    sampler's decisions, perturbations included.
    """
    kw = {"population": 3, "interval": 1, "total_budget": 12}
    a = hz.pbt(when_train, WHEN_SPACE, rng=seed, **kw)
    b = hz.pbt(when_train, WHEN_SPACE, sampler=C2F, rng=seed, **kw)
    assert len(b.lineage) == 11  # one member replaced at each of 11 steps
    assert [e["proposal"] for e in b.lineage] == [-1] * 11
    assert decisions(a) == decisions(b)
    assert repr(a.lineage) == repr(b.lineage)
    assert b.proposal_regions == []


def test_pbt_proposals_on_a_weighted_choice_stay_valid(seed):
    """Rows of a weighted choice's branches are routed to them, whatever the cell."""
    space = hz.Space(
        opt=hz.Choice(["sgd", "adam"], weights=[0.8, 0.2]),
        lr=hz.LogUniform(1e-4, 1.0),
        momentum=hz.Uniform(0.0, 0.99).when(opt="sgd"),
        beta_2=hz.InvLogUniform(0.9, 0.9999).when(opt="adam"),
    )
    for method, kw in [
        ("pbt", {"population": 16, "interval": 3, "total_budget": 30}),
        ("hyperband", {"max_budget": 27, "brackets": [0, 1, 2, 3] * 3}),
        ("asha", {"min_budget": 1, "max_budget": 27, "n_trials": 300}),
    ]:
        r = getattr(hz, method)(when_train, space, sampler=C2F, rng=seed, **kw)
        configs = [r.trials.configs[i] for i in range(len(r.trials))]
        news = [e["new"] for e in r.lineage] + configs
        assert all(("momentum" in c) == (c["opt"] == "sgd") for c in news), method
        assert all(("beta_2" in c) == (c["opt"] == "adam") for c in news), method
        assert (r.trials.proposal >= 0).any() or any(
            e["proposal"] >= 0 for e in r.lineage
        ), method


@pytest.mark.parametrize("crash_at", [20, 70, 130])
def test_a_crashed_coarse_to_fine_pbt_resumes_to_the_same_decisions(
    tmp_path, seed, crash_at
):
    kw = {**PBT_KW, "sampler": C2F, "rng": seed}
    plain = hz.pbt(train, SPACE, **kw)
    db = tmp_path / "pbt.db"
    with pytest.raises(Crash):
        hz.pbt(Counting(crash_at), SPACE, storage=db, state_codec="json", **kw)
    again = Counting()
    resumed = hz.pbt(again, SPACE, storage=db, state_codec="json", **kw)
    assert again.calls == plain.n_calls - crash_at
    assert decisions(resumed) == decisions(plain)
    assert repr(resumed.lineage) == repr(plain.lineage)  # NaN losses: by text
