"""hz.importance: main-effect shares on the scaled axes, with bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest

import hyperzoom as hz

from .reference import main_effect_share, rank_bins

SPACE = hz.Space(
    learning_rate=hz.LogUniform(1e-4, 1.0),
    momentum=hz.InvLogUniform(0.9, 0.999),
    hidden_units=hz.IntLogUniform(16, 1024),
    layers=hz.IntUniform(1, 6),
    lr_decay=hz.LogUniform(1e-4, 1e-1),
    activation=hz.Choice(["relu", "tanh", "gelu"]),
)


def practice_loss(c: hz.Configs) -> np.ndarray:
    """Strongly on alpha, less on beta and hidden units, hardly on decay."""
    a = (np.log10(c["learning_rate"]) + 2.0) / 2.0
    b = np.log10(1 - c["momentum"]) + 2.0
    h = (np.log2(c["hidden_units"]) - 7.0) / 3.0
    d = (np.log10(c["lr_decay"]) + 2.5) / 1.5
    return 4.0 * a**2 + 1.5 * b**2 + 1.0 * h**2 + 0.02 * d**2


def test_ranks_the_practice_loss_as_the_practice_says(seed: int) -> None:
    c = SPACE.sample(2000, design="lhs", rng=seed)
    imp = hz.importance(c, practice_loss(c), rng=seed)
    assert imp.ranking[:3] == ["learning_rate", "momentum", "hidden_units"]
    assert imp["learning_rate"] > 0.4
    assert imp["lr_decay"] < 0.01
    assert imp["layers"] < 0.01
    assert imp.low[SPACE.names.index("layers")] == 0.0
    assert np.all(imp.low <= imp.share + 1e-12)
    assert np.all(imp.share <= imp.high + 1e-12)
    assert sum(imp.share) <= 1.0


def test_shares_match_the_numpy_reference(seed: int) -> None:
    c = SPACE.sample(500, rng=seed)
    y = practice_loss(c) + np.random.default_rng(seed).normal(0, 0.1, 500)
    imp = hz.importance(c, y, bins=10, bootstrap=0)
    u = c.unit
    names = SPACE.names
    # continuous axes: equal-count bins by rank on the unit axis
    for name in ("learning_rate", "momentum", "hidden_units", "lr_decay"):
        j = names.index(name)
        assert imp.share[j] == pytest.approx(
            main_effect_share(rank_bins(u[:, j], 10), y), abs=1e-12
        )
    # six integers and three options: one bin each
    assert imp["layers"] == pytest.approx(main_effect_share(c["layers"], y), abs=1e-12)
    assert imp["activation"] == pytest.approx(
        main_effect_share(c["activation"], y), abs=1e-12
    )


def test_a_choice_that_matters(seed: int) -> None:
    c = SPACE.sample(600, design="lhs", rng=seed)
    y = np.where(c["activation"] == "gelu", 0.0, 1.0) + np.random.default_rng(
        seed
    ).normal(0, 0.05, 600)
    imp = hz.importance(c, y, rng=seed)
    assert imp.ranking[0] == "activation"
    assert imp["activation"] > 0.9


def test_reproducible_and_independent_of_workers(seed: int) -> None:
    c = SPACE.sample(800, rng=seed)
    y = practice_loss(c)
    a = hz.importance(c, y, rng=seed, workers=1)
    b = hz.importance(c, y, rng=seed, workers=2)
    np.testing.assert_array_equal(a.share, b.share)
    np.testing.assert_array_equal(a.low, b.low)
    np.testing.assert_array_equal(a.high, b.high)


def test_search_results_use_whole_space_trials_by_default(seed: int) -> None:
    r = hz.search(practice_loss, SPACE, budget=1500, rng=seed)
    whole = hz.importance(r, rng=seed)
    every = hz.importance(r, trials="all", rng=seed)
    assert whole.n == int(np.count_nonzero(r.trials.whole))
    assert every.n == len(r.trials)
    assert whole.n < every.n
    assert whole.ranking[0] == "learning_rate"
    assert "Importance(n=" in repr(whole)
    df = whole.to_pandas()
    assert list(df.index) == whole.ranking
    assert list(whole.to_dict()) == whole.ranking


def test_failed_trials_are_left_out(seed: int) -> None:
    c = SPACE.sample(300, rng=seed)
    y = practice_loss(c)
    y[::3] = np.nan
    assert hz.importance(c, y, bootstrap=0).n == 200


def test_plot_draws_bars(seed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    c = SPACE.sample(300, rng=seed)
    ax = hz.importance(c, practice_loss(c), rng=seed).plot()
    assert len(ax.patches) == SPACE.d


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"bins": 0}, ValueError, r"`bins` must be >= 1"),
        ({"level": 1.5}, ValueError, r"`level` must be in \(0, 1\), but got 1.5"),
        ({"bootstrap": -1}, ValueError, r"`bootstrap` must be >= 0"),
        ({"trials": "some"}, ValueError, r"'some' is not a valid `trials`"),
    ],
)
def test_bad_arguments(kwargs, error, match, seed: int) -> None:
    c = SPACE.sample(50, rng=seed)
    with pytest.raises(error, match=match):
        hz.importance(c, practice_loss(c), **kwargs)


def test_bad_inputs(seed: int) -> None:
    c = SPACE.sample(50, rng=seed)
    with pytest.raises(ValueError, match="one entry per configuration"):
        hz.importance(c, np.zeros(3))
    with pytest.raises(ValueError, match=r"`values` .* is required"):
        hz.importance(c)
    with pytest.raises(TypeError, match="SearchResult or a Configs"):
        hz.importance({"learning_rate": [1e-3]}, [1.0])
    with pytest.raises(ValueError, match="at least 2 successful trials"):
        hz.importance(c[:1], [1.0])
    with pytest.raises(KeyError, match="unknown parameter"):
        hz.importance(c, practice_loss(c), bootstrap=0)["beta"]
