"""Plots (matplotlib, an optional dependency), every axis on its parameter's own scale.

- :func:`plot_search`: loss against each parameter (log axis for ``LogUniform`` and
  ``IntLogUniform``, a ``log(1 - β)`` axis for ``InvLogUniform``, powers of two on a
  base-2 axis, options side by side for ``Choice``), points coloured by round, with the
  coarse-to-fine regions drawn round by round;
- :func:`plot_history`: the best loss so far against trials, rounds marked;
- :func:`plot_curves`: the learning curves of a scheduler's runs;
- ``Importance.plot`` and ``Ledger.plot`` draw importance bars and a babysitter's ledger.

In a conditional space a parameter is drawn over the trials where it is active only
(its panel's label names its condition).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._optional import require
from .space import Choice, IntLogUniform, InvLogUniform, LogUniform, PowerOfTwo
from .space.conditions import describe

__all__ = ["plot_curves", "plot_history", "plot_search", "set_scale"]


def set_scale(ax: Any, dist: Any, axis: str = "x") -> None:
    """Put ``ax``'s ``axis`` on ``dist``'s scale (log, ``log(1 - x)``, base 2, linear).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import hyperzoom as hz
    >>> from hyperzoom.plot import set_scale
    >>> _, ax = plt.subplots()
    >>> set_scale(ax, hz.InvLogUniform(0.9, 0.999))
    >>> ax.get_xscale()
    'function'
    """
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    if isinstance(dist, (LogUniform, IntLogUniform)):
        setter("log")
        ticker = require("matplotlib.ticker", "set_scale()")
        (ax.xaxis if axis == "x" else ax.yaxis).set_minor_formatter(
            ticker.NullFormatter()
        )
    elif isinstance(dist, PowerOfTwo):
        setter("log", base=2)
    elif isinstance(dist, InvLogUniform):
        ticker = require("matplotlib.ticker", "set_scale()")

        def forward(x: Any) -> Any:
            with np.errstate(divide="ignore", invalid="ignore"):
                return -np.log10(
                    np.clip(1.0 - np.asarray(x, dtype=float), 1e-300, None)
                )

        def inverse(t: Any) -> Any:
            return 1.0 - 10.0 ** (-np.asarray(t, dtype=float))

        setter("function", functions=(forward, inverse))
        lo = math.floor(-math.log10(1.0 - dist.low)) if dist.low < 1 else 0
        hi = math.ceil(-math.log10(1.0 - dist.high))
        ticks = [1.0 - 10.0**-k for k in range(max(lo, 0), hi + 1)]
        ticks = [t for t in ticks if dist.low <= t <= dist.high] or [
            dist.low,
            dist.high,
        ]
        locator = ticker.FixedLocator(ticks)
        (ax.xaxis if axis == "x" else ax.yaxis).set_major_locator(locator)
        (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(
            ticker.FuncFormatter(lambda v, _: f"{v:.10g}")
        )


def plot_search(
    result: Any, *, names: Any = None, fig: Any = None, max_points: int = 20_000
) -> Any:
    """Draw loss against each parameter on its own scale, with the regions per round.

    Parameters
    ----------
    result : SearchResult
        A search result.
    names : sequence of str, optional
        Parameters to draw (default: all).
    fig : matplotlib Figure, optional
        Where to draw (default: a new figure).
    max_points : int
        Draw at most this many trials (an even subsample), keeping the best.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), beta=hz.InvLogUniform(0.9, 0.999))
    >>> r = hz.search(lambda c: (np.log10(c["lr"]) + 2) ** 2, space, budget=200, rng=1)
    >>> fig = hz.plot.plot_search(r)
    >>> [ax.get_xscale() for ax in fig.axes[:2]]
    ['log', 'function']
    """
    plt = require("matplotlib.pyplot", "plot_search()")
    space = result.space
    names = list(space.names if names is None else names)
    t = result.trials
    ok = np.flatnonzero(~t.failed)
    if ok.size > max_points:
        keep = np.unique(
            np.concatenate(
                [ok[:: max(1, ok.size // max_points)], [result.best_id or 0]]
            )
        )
        ok = np.intersect1d(ok, keep)
    configs = t.configs
    active = configs.active[ok]  # a conditional parameter is drawn where it is active
    values_all = t.value[ok]
    rounds_all = t.round[ok]
    n_rounds = max(1, len(result.regions))
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    if fig is None:
        fig = plt.figure(figsize=(4.2 * cols, 3.4 * rows))
    cmap = plt.get_cmap("viridis")
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        dist = space[name]
        on = active[:, space.names.index(name)]
        x = np.asarray(np.ma.getdata(configs[name][ok]))[on]
        values = values_all[on]
        rounds = rounds_all[on]
        if isinstance(dist, Choice):
            codes = dist.codes(x)
            jitter = np.random.default_rng(0).uniform(-0.15, 0.15, codes.size)
            ax.scatter(
                codes + jitter,
                values,
                c=rounds,
                cmap=cmap,
                vmin=0,
                vmax=n_rounds - 1,
                s=6,
            )
            ax.set_xticks(range(len(dist.options)), [str(o) for o in dist.options])
            for r, region in enumerate(result.regions):
                allowed = region.bounds[name]
                for code, option in enumerate(dist.options):
                    if option in allowed:
                        ax.axvspan(
                            code - 0.4,
                            code + 0.4,
                            color=cmap(r / max(1, n_rounds - 1)),
                            alpha=0.06,
                        )
        else:
            ax.scatter(x, values, c=rounds, cmap=cmap, vmin=0, vmax=n_rounds - 1, s=6)
            set_scale(ax, dist)
            for r, region in enumerate(result.regions[1:], start=1):
                lo, hi = region.bounds[name]
                if isinstance(dist, PowerOfTwo):  # whole cells on a base-2 axis
                    lo, hi = lo / math.sqrt(2), hi * math.sqrt(2)
                elif dist.is_integer:
                    lo, hi = lo - 0.5, hi + 0.5
                ax.axvspan(lo, hi, color=cmap(r / max(1, n_rounds - 1)), alpha=0.06)
            ax.set_xlim(dist.low, dist.high)
        if result.best is not None and name in result.best:
            bx = result.best[name]
            if isinstance(dist, Choice):
                bx = dist.options.index(bx)
            ax.scatter(
                [bx], [result.best_value], marker="*", s=120, color="#d62728", zorder=5
            )
        condition = describe(space, name)
        ax.set_xlabel(
            f"{name} ({dist.scale})" + (f"\nwhere {condition}" if condition else "")
        )
        ax.set_ylabel("loss")
    fig.suptitle(
        f"{len(t)} trials, {n_rounds} rounds (colour: round; bands: each round's region)"
    )
    fig.tight_layout()
    return fig


def plot_history(result: Any, ax: Any = None) -> Any:
    """Draw the best loss so far against the number of trials; returns the axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    >>> r = hz.search(lambda c: (np.log10(c["lr"]) + 2) ** 2, space, budget=100, rng=1)
    >>> ax = hz.plot.plot_history(r)
    >>> ax.get_ylabel()
    'best loss so far'
    """
    plt = require("matplotlib.pyplot", "plot_history()")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    t = result.trials
    v = np.where(np.isfinite(t.value), t.value, np.inf)
    best = (
        np.minimum.accumulate(v)
        if result.minimize
        else -np.minimum.accumulate(-np.where(np.isfinite(t.value), t.value, -np.inf))
    )
    ax.plot(np.arange(1, len(t) + 1), best, color="#3b75af")
    starts = np.flatnonzero(np.diff(t.round) != 0) + 1
    for s in starts:
        ax.axvline(s, color="#bbbbbb", lw=0.8, zorder=0)
    ax.set_xlabel("trials (grey lines: rounds)")
    ax.set_ylabel("best loss so far")
    if np.all(best[np.isfinite(best)] > 0):
        ax.set_yscale("log")
    return ax


def plot_curves(result: Any, ax: Any = None, *, highlight_best: bool = True) -> Any:
    """Draw every run's learning curve ``(budget, loss)`` of a schedule result.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import hyperzoom as hz
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0))
    >>> def train(c, budget, state):
    ...     return abs(c["lr"] - 0.01) + 1.0 / budget, budget
    >>> r = hz.hyperband(train, space, max_budget=9, eta=3, rng=1)
    >>> ax = hz.plot.plot_curves(r)
    >>> ax.get_xlabel()
    'budget'
    """
    plt = require("matplotlib.pyplot", "plot_curves()")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    t = result.trials
    for rid, curve in zip(t.id, t.curves):
        if curve.shape[0] == 0:
            continue
        best = (
            highlight_best
            and result.best_id is not None
            and int(rid) == int(result.best_id)
        )
        ax.plot(
            curve[:, 0],
            curve[:, 1],
            marker="o" if curve.shape[0] < 2 else None,
            ms=2,
            lw=2.0 if best else 0.7,
            color="#d62728" if best else "#3b75af",
            alpha=1.0 if best else 0.35,
            zorder=3 if best else 1,
        )
    ax.set_xlabel("budget")
    ax.set_ylabel("loss")
    ax.set_xscale("log")
    ax.set_title(f"{len(t)} runs ({result.method})")
    return ax
