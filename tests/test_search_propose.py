"""CoarseToFine.propose: draws from the current region that leave no trial pending, so
an optimiser used as a model (propose, evaluate elsewhere, observe) keeps updating."""

from __future__ import annotations

import numpy as np
import pytest

import hyperzoom as hz

from .test_search import SPACE, vec_loss


def test_a_proposal_is_what_ask_would_hand_out_but_no_trial(seed: int) -> None:
    proposing = hz.CoarseToFine(SPACE, rng=seed, asynchronous=True)
    asking = hz.CoarseToFine(SPACE, rng=seed, asynchronous=True)
    p, a = proposing.propose(5), asking.ask(5)
    np.testing.assert_array_equal(p.unit, a.unit)
    for name in SPACE.names:
        np.testing.assert_array_equal(p[name], a[name])
    assert p.ids is None
    assert proposing.n_asked == proposing.n_told == 0
    assert len(proposing.result().trials) == 0
    with pytest.raises(ValueError, match="no trial ids"):
        proposing.tell(p, vec_loss(p))


def test_asks_after_proposals_get_the_next_ids_and_the_next_draws(seed: int) -> None:
    mixed = hz.CoarseToFine(SPACE, rng=seed, asynchronous=True)
    plain = hz.CoarseToFine(SPACE, rng=seed, asynchronous=True)
    everything = plain.ask(9)
    p = mixed.propose(2)
    a = mixed.ask(3)
    q = mixed.propose(1)
    b = mixed.ask(3)
    np.testing.assert_array_equal(p.unit, everything.unit[:2])
    np.testing.assert_array_equal(a.unit, everything.unit[2:5])
    np.testing.assert_array_equal(q.unit, everything.unit[5:6])
    np.testing.assert_array_equal(b.unit, everything.unit[6:9])
    assert a.ids.tolist() == [0, 1, 2]
    assert b.ids.tolist() == [3, 4, 5]
    np.testing.assert_array_equal(mixed.asked([0, 1, 2, 3, 4, 5]).unit[3:], b.unit)
    mixed.tell(b, vec_loss(b))
    mixed.tell(a, vec_loss(a))
    r = mixed.result()
    np.testing.assert_array_equal(r.trials.unit, np.vstack([a.unit, b.unit]))
    np.testing.assert_array_equal(r.trials.value[3:], vec_loss(b))


def test_proposals_never_count_as_in_flight(seed: int) -> None:
    """Propose one, observe its result, again: every round_size results update the
    region (asked draws would count as in flight and hold the updates back)."""
    opt = hz.CoarseToFine(SPACE, rng=seed, asynchronous=True, first_round=20)
    centers = set()
    for _ in range(400):
        c = opt.propose(1)  # from the region of the results observed so far
        if opt.region.center is not None:
            centers.add(opt.region.center.tobytes())
        opt.observe(c.unit, vec_loss(c))
    assert opt.n_asked == opt.n_told == 400
    size = int(opt.round_size or 0) or 2 * SPACE.d + 2
    # every zoomed update moves the region: about one per round of results
    assert len(centers) >= (400 - 20) // (2 * size)
    drawn = opt.propose(50)
    assert np.median(vec_loss(drawn)) < 0.1 * np.median(
        vec_loss(SPACE.sample(50, rng=1))
    )


def test_propose_needs_an_asynchronous_optimiser_and_a_count() -> None:
    sync = hz.CoarseToFine(SPACE, rng=1)
    with pytest.raises(ValueError, match="asynchronous"):
        sync.propose(1)
    opt = hz.CoarseToFine(SPACE, rng=1, asynchronous=True)
    assert len(opt.propose(0)) == 0
    with pytest.raises((TypeError, ValueError)):
        opt.propose(-1)
    assert len(opt.propose()) == len(
        hz.CoarseToFine(SPACE, rng=1, asynchronous=True).ask()
    )


#: Momentum only with sgd: a conditional space whose rows are NaN where inactive.
WHEN = hz.Space(
    opt=hz.Choice(["sgd", "adam"]),
    x=hz.Uniform(0.0, 1.0),
    momentum=hz.Uniform(0.0, 1.0).when(opt="sgd"),
)


def when_loss(unit: np.ndarray) -> np.ndarray:
    """Best on sgd (choice cell 0) with x and momentum near 0.3 and 0.8."""
    sgd = ~np.isnan(unit[:, 2])
    m = np.where(sgd, unit[:, 2], 0.0)
    return (unit[:, 1] - 0.3) ** 2 + np.where(sgd, (m - 0.8) ** 2, 0.5)


def test_observe_on_a_conditional_space_zooms_in_each_branch(seed: int) -> None:
    """Rows NaN where inactive teach each branch's region on its active axes."""
    opt = hz.CoarseToFine(WHEN, asynchronous=True, rng=seed)
    drawn = []
    for _ in range(40):
        c = opt.propose(16)
        assert np.array_equal(np.isnan(c.unit), ~c.active)
        opt.observe(c.unit, when_loss(c.unit))
        drawn.append(c.unit)
    assert not opt.coarse
    late = np.concatenate(drawn[-10:])
    sgd = ~np.isnan(late[:, 2])
    assert sgd.mean() > 0.6  # the better branch gets most draws
    assert abs(np.median(late[sgd, 1]) - 0.3) < 0.05
    assert abs(np.median(late[sgd, 2]) - 0.8) < 0.05
    assert opt.n_told == sum(len(u) for u in drawn)


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (
            [0.25, 0.5, np.nan],
            r"'momentum' is active there and needs a value, but got nan",
        ),
        (
            [0.75, 0.5, 0.4],
            r"'momentum' is inactive there and must be NaN, but got 0.4",
        ),
        ([0.25, np.nan, 0.4], r"'x' is active there and needs a value"),
        (
            [0.25, 1.5, 0.4],
            r"must lie in \[0, 1\] \(NaN where a parameter is inactive\), but holds 1.5 at \[0, 1\]",
        ),
    ],
)
def test_observe_on_a_conditional_space_refuses_misplaced_nan(row, match) -> None:
    opt = hz.CoarseToFine(WHEN, asynchronous=True, rng=1)
    with pytest.raises(ValueError, match=match):
        opt.observe(np.array([row]), np.array([1.0]))
    assert opt.n_told == 0  # nothing was recorded


#: Parents whose values cover a cell of the unit axis: a weighted choice, an integer.
WEIGHTED = hz.Space(
    model=hz.Choice(["a", "b"], weights=[0.8, 0.2]),
    x=hz.Uniform(0.0, 1.0).when(model="a"),
    y=hz.Uniform(0.0, 1.0).when(model="b"),
)
INTEGER = hz.Space(
    n=hz.IntLogUniform(1, 16),
    x=hz.Uniform(0.0, 1.0).when(n=1),
    z=hz.Uniform(0.0, 1.0),
)


@pytest.mark.parametrize("space", [WEIGHTED, INTEGER], ids=["weighted", "integer"])
def test_observed_samples_reach_the_branch_their_values_name(space, seed: int) -> None:
    """Rows from ``space.sample`` lie anywhere in a parent's cell, not at its centre."""
    opt = hz.CoarseToFine(space, asynchronous=True, rng=seed)
    zoom = opt._zoom
    c = space.sample(400, rng=seed)
    which = zoom.branch_of(c.unit)
    assert (which >= 0).all()  # every row has its branch
    for bi, b in enumerate(zoom.branches):
        mine = which == bi
        assert mine.any()
        # the branch's fixed values are the rows' own values
        for j, x in b.fixed.items():
            name = space.names[j]
            want = space[name].from_unit(np.array([x]))[0]
            assert all(v == want for v in np.asarray(c[name])[mine]), (name, bi)


def test_observing_samples_of_a_weighted_choice_proposes_valid_rows(seed: int) -> None:
    """Learning from sampled rows keeps each branch's proposals on its active axes."""
    opt = hz.CoarseToFine(WEIGHTED, asynchronous=True, rng=seed)
    for k in range(20):
        c = WEIGHTED.sample(16, rng=seed + k)
        u = c.unit
        loss = np.where(np.isnan(u[:, 1]), (u[:, 2] - 0.2) ** 2, (u[:, 1] - 0.6) ** 2)
        opt.observe(u, loss)
        p = opt.propose(8)
        assert np.array_equal(np.isnan(p.unit), ~p.active)
        configs = [p[i] for i in range(len(p))]
        assert all(("x" in d) == (d["model"] == "a") for d in configs)
        assert all(("y" in d) == (d["model"] == "b") for d in configs)
