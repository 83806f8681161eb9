"""Plots: every axis on its parameter's scale, regions drawn, curves and history."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import hyperzoom as hz

SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    batch=hz.PowerOfTwo(16, 512),
    layers=hz.IntUniform(1, 6),
    act=hz.Choice(["relu", "tanh"]),
)


def loss(c):
    return (
        (np.log10(c["lr"]) + 2.5) ** 2
        + (np.log10(1 - c["beta"]) + 2) ** 2
        + 0.1 * (c["act"] == "tanh")
    )


@pytest.fixture(scope="module")
def result():
    return hz.search(loss, SPACE, budget=300, rng=0x5EED)


def test_plot_search_uses_each_scale(result) -> None:
    fig = hz.plot.plot_search(result)
    axes = fig.axes
    assert [ax.get_xscale() for ax in axes[:4]] == ["log", "function", "log", "linear"]
    # the inverse-log axis puts 0.99 halfway between 0.9 and 0.999
    ax = axes[1]
    ax.set_xlim(0.9, 0.999)
    to_axes = ax.transData + ax.transAxes.inverted()
    assert to_axes.transform((0.99, 0.0))[0] == pytest.approx(0.5, abs=1e-9)
    # one band per zooming round on a continuous axis, plus the scatter
    assert len(axes[0].patches) == len(result.regions) - 1
    assert [t.get_text() for t in axes[4].get_xticklabels()] == ["relu", "tanh"]


def test_plot_history_is_non_increasing(result) -> None:
    ax = hz.plot.plot_history(result)
    y = ax.lines[0].get_ydata()
    assert len(y) == len(result.trials)
    assert np.all(np.diff(y) <= 0)
    assert y[-1] == pytest.approx(
        result.trials.value[np.isfinite(result.trials.value)].min()
    )


def test_plot_curves_draws_one_line_per_run() -> None:
    def train(c, budget, state):
        return abs(np.log10(c["lr"]) + 2) + 1.0 / budget, budget

    r = hz.hyperband(train, SPACE, max_budget=9, eta=3, rng=1)
    ax = hz.plot.plot_curves(r)
    assert len(ax.lines) == len(r.trials)
    assert max(line.get_linewidth() for line in ax.lines) == 2.0  # the best run
