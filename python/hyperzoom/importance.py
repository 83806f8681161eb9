"""Which hyperparameters matter: each parameter's share of the objective's variance.

``hz.importance`` estimates, for every parameter, the share of the variance of the loss
explained by that parameter alone (its first-order main effect), on the parameter's own
scaled axis: the learning rate on its log axis, β on its ``log(1 - β)`` axis, choices by
option. The axis is cut into bins (each option or small set of integers its own bin,
other axes into ``bins`` groups of equal counts), and the share is the adjusted
correlation ratio

    ε² = (SS_between − (B − 1) · MS_within) / SS_total,

clipped at zero: the between-bin sum of squares, less what ``B`` bins would explain by
chance. Shares of independent main effects add up to at most one; the rest is noise and
interactions. Bootstrap resamples of the trials (drawn by the compiled core) give the
intervals. The estimate is cleanest on a space-filling design (random or Latin
hypercube): on a search result it uses, by default, the trials drawn from the whole
space (the coarse round that opens each run), not the zoomed rounds, whose
samples correlate the parameters.

In a conditional space (parameters declared with ``.when``, or the branches of
:meth:`Space.branches`) a parameter's share is computed over the trials where it is
active only: the share of the variance of the loss *among those trials* that the
parameter explains. The branch choice is a parameter like any other, active everywhere.
Inactive coordinates (NaN) never reach the compiled core: parameters active on the same
trials are estimated together on those trials, each group on its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._axes import axes_of_columns, space_axes
from ._optional import require
from ._rng import seed_words
from ._validation import as_count, as_real, as_workers, check_size
from .space import Configs, Space
from .typing import RngLike

__all__ = ["Importance", "importance"]


class Importance:
    """Per-parameter shares of variance with bootstrap intervals.

    Attributes
    ----------
    names : tuple of str
        Parameter names, in the space's order.
    share : ndarray, shape (d,)
        Main-effect share of variance of each parameter (0 to 1).
    low, high : ndarray, shape (d,)
        The bootstrap interval at ``level``.
    n : int
        Trials used.
    counts : ndarray of int, shape (d,)
        Trials each parameter's share was computed from: those where it is active (all
        ``n`` without conditions).
    """

    def __init__(
        self,
        names: tuple[str, ...],
        share: np.ndarray,
        low: np.ndarray,
        high: np.ndarray,
        level: float,
        n: int,
        bins: int,
        counts: np.ndarray | None = None,
    ) -> None:
        self.names = names
        self.share = share
        self.low = low
        self.high = high
        self.level = level
        self.n = n
        self.bins = bins
        self.counts = (
            np.full(len(names), n, dtype=np.int64) if counts is None else counts
        )

    @property
    def ranking(self) -> list[str]:
        """Parameter names, most important first (ties by order in the space)."""
        order = sorted(range(len(self.names)), key=lambda j: (-self.share[j], j))
        return [self.names[j] for j in order]

    def __getitem__(self, name: str) -> float:
        try:
            return float(self.share[self.names.index(name)])
        except ValueError:
            msg = f"unknown parameter {name!r}; the space has {list(self.names)!r}."
            raise KeyError(msg) from None

    def to_dict(self) -> dict[str, float]:
        """Return ``{name: share}``, most important first."""
        return {name: self[name] for name in self.ranking}

    def to_pandas(self) -> Any:
        """Return a ``pandas.DataFrame`` with share, low and high per parameter."""
        pd = require("pandas", "to_pandas()")
        frame = pd.DataFrame(
            {"share": self.share, "low": self.low, "high": self.high},
            index=list(self.names),
        )
        return frame.loc[self.ranking]

    def plot(self, ax: Any = None) -> Any:
        """Draw horizontal bars with their intervals (matplotlib); returns the axes."""
        plt = require("matplotlib.pyplot", "Importance.plot()")
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.4 * len(self.names) + 1.2))
        order = self.ranking[::-1]
        idx = [self.names.index(n) for n in order]
        share = self.share[idx]
        err = np.vstack([share - self.low[idx], self.high[idx] - share]).clip(min=0)
        ax.barh(order, share, xerr=err, color="#3b75af", ecolor="#555555", capsize=3)
        ax.set_xlabel(
            f"share of variance (main effect), {self.level:.0%} bootstrap interval"
        )
        ax.set_xlim(0, max(1e-9, float(np.max(self.high))) * 1.1)
        ax.set_title(f"Importance from {self.n} trials")
        return ax

    def __repr__(self) -> str:
        width = max(len(n) for n in self.names) if self.names else 4
        lines = [f"Importance(n={self.n}, {self.level:.0%} intervals)"]
        for name in self.ranking:
            j = self.names.index(name)
            lines.append(
                f"  {name:<{width}}  {self.share[j]:6.1%}  "
                f"[{self.low[j]:6.1%}, {self.high[j]:6.1%}]"
                + (f"  ({self.counts[j]} trials)" if self.counts[j] != self.n else "")
            )
        return "\n".join(lines)


def importance(
    result: Any,
    values: Any = None,
    *,
    bins: int | None = None,
    bootstrap: int = 200,
    level: float = 0.95,
    trials: str = "whole",
    rng: RngLike = None,
    workers: int | None = None,
) -> Importance:
    """Estimate each parameter's share of the objective's variance (its main effect).

    Parameters
    ----------
    result : SearchResult or Configs
        A search result (its successful, non-re-test trials are used), or configurations
        whose losses are given in ``values``.
    values : array_like, shape (n,), optional
        The losses of ``result`` when it is a ``Configs``; non-finite values are dropped.
    bins : int, optional
        Bins per continuous axis, at most ``n // 4`` (default
        ``clip(round(sqrt(n) / 2), 2, 32)``, within that limit).
    bootstrap : int
        Bootstrap resamples for the intervals (0: none, the interval is the estimate).
    level : float in (0, 1)
        Coverage of the intervals.
    trials : {"whole", "all"}
        With a search result: ``"whole"`` (default) uses the trials drawn from the
        whole space (the coarse round that opens each run of the search: a space-filling
        sample); ``"all"`` uses every trial, whose zoomed rounds correlate the
        parameters and so blur their separate effects.
    rng : int, SeedSequence, Generator or None
        Seed of the bootstrap.
    workers : int, optional
        Threads (the result never depends on it).

    Returns
    -------
    Importance

    Examples
    --------
    >>> import numpy as np
    >>> import hyperzoom as hz
    >>> space = hz.Space(
    ...     lr=hz.LogUniform(1e-4, 1.0),
    ...     beta=hz.InvLogUniform(0.9, 0.999),
    ...     decay=hz.LogUniform(1e-4, 1e-1),
    ... )
    >>> c = space.sample(2000, design="lhs", rng=20241128)
    >>> loss = (np.log10(c["lr"]) + 2.5) ** 2 + 0.2 * (np.log10(1 - c["beta"]) + 2) ** 2
    >>> imp = hz.importance(c, loss, rng=7)
    >>> imp.ranking
    ['lr', 'beta', 'decay']
    >>> round(imp["decay"], 2)
    0.0
    """
    if trials not in ("whole", "all"):
        msg = (
            f"{trials!r} is not a valid `trials`. It must be one of {{'whole', 'all'}}."
        )
        raise ValueError(msg)
    space, unit, y = _inputs(result, values, trials)
    n = int(y.shape[0])
    if n < 2:
        msg = f"importance needs at least 2 successful trials, but got {n}."
        raise ValueError(msg)
    # The adjusted correlation ratio needs several trials per bin: with one or two,
    # bootstrap resamples (which repeat trials) fill bins with copies and the share
    # jumps towards 1, far outside the estimate. At least 4 trials a bin, always.
    most = max(1, n // 4)
    bins_given = None if bins is None else as_count(bins, "bins", minimum=1)
    if bins is None:
        bins = int(np.clip(round(np.sqrt(n) / 2), 1, 32))
        bins = min(max(bins, 2), most)
    bins = as_count(bins, "bins", minimum=1)
    if bins > most:
        msg = (
            f"`bins` must leave at least 4 trials a bin (bins <= n // 4 = {most} for "
            f"n = {n} trials), but got bins={bins}."
        )
        raise ValueError(msg)
    bootstrap = as_count(bootstrap, "bootstrap")
    check_size(bootstrap, "bootstrap", 8 * max(space.d, 1), "resamples")
    level = as_real(level, "level")
    if not 0.0 < level < 1.0:
        msg = f"`level` must be in (0, 1), but got {level!r}."
        raise ValueError(msg)
    w = as_workers(workers, n * max(1, bootstrap))
    words = seed_words(rng)
    # Activity from the conditions, not from NaN alone: a search's trials may hold a
    # value where a parameter is inactive (it means nothing there).
    active = space._active_mask(unit) if space.conditional else ~np.isnan(unit)
    if active.all():
        share, boot = _core.importance.importance(
            space_axes(space), unit, y, bins, bootstrap, words, w
        )
        share = np.asarray(share)
        low, high = _interval(share, np.asarray(boot), bootstrap, level)
        return Importance(space.names, share, low, high, level, n, bins)
    share, low, high = _by_active_rows(
        space, unit, y, active, bins_given, bootstrap, level, words, w
    )
    counts = active.sum(axis=0).astype(np.int64)
    return Importance(space.names, share, low, high, level, n, bins, counts)


def _interval(
    share: np.ndarray, boot: np.ndarray, bootstrap: int, level: float
) -> tuple[np.ndarray, np.ndarray]:
    if bootstrap:
        low = np.quantile(boot, (1 - level) / 2, axis=0)
        high = np.quantile(boot, (1 + level) / 2, axis=0)
        return np.asarray(low), np.asarray(high)
    return share.copy(), share.copy()


def _default_bins(n: int) -> int:
    most = max(1, n // 4)
    bins = int(np.clip(round(np.sqrt(n) / 2), 1, 32))
    return min(max(bins, 2), most)


def _by_active_rows(
    space: Space,
    unit: np.ndarray,
    y: np.ndarray,
    active: np.ndarray,
    bins: int | None,
    bootstrap: int,
    level: float,
    words: np.ndarray,
    workers: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shares of a conditional space: each parameter over the trials where it is active.

    Parameters active on the same trials form a group, estimated in one call of the core
    on those trials and columns alone (so no NaN reaches it); a group's bins follow its
    own number of trials (``bins``, if given, at most a quarter of them). A parameter
    active on fewer than 2 trials gets a share of 0.
    """
    d = space.d
    share = np.zeros(d)
    low = np.zeros(d)
    high = np.zeros(d)
    groups: dict[bytes, list[int]] = {}
    for j in range(d):
        groups.setdefault(np.packbits(active[:, j]).tobytes(), []).append(j)
    for cols in groups.values():
        rows = np.flatnonzero(active[:, cols[0]])
        m = int(rows.size)
        if m < 2:
            continue
        b = _default_bins(m) if bins is None else min(bins, max(1, m // 4))
        sub = np.ascontiguousarray(unit[np.ix_(rows, np.asarray(cols, dtype=np.intp))])
        s, boot = _core.importance.importance(
            axes_of_columns(space, cols),
            sub,
            np.ascontiguousarray(y[rows]),
            b,
            bootstrap,
            words,
            workers,
        )
        s = np.asarray(s)
        lo, hi = _interval(s, np.asarray(boot), bootstrap, level)
        share[cols] = s
        low[cols] = lo
        high[cols] = hi
    return share, low, high


def _inputs(
    result: Any, values: Any, trials: str
) -> tuple[Space, np.ndarray, np.ndarray]:
    from .search.results import SearchResult

    if isinstance(result, SearchResult):
        if values is not None:
            msg = (
                "`values` must not be given with a SearchResult (it holds its values)."
            )
            raise ValueError(msg)
        t = result.trials
        keep = (~t.failed) & (t.retest_of < 0)
        if trials == "whole":
            keep &= t.whole
        unit = np.ascontiguousarray(t.unit[keep])
        y = np.ascontiguousarray(t.value[keep], dtype=np.float64)
        return result.space, unit, y
    if isinstance(result, Configs):
        if values is None:
            msg = "`values` (one loss per configuration) is required with a Configs."
            raise ValueError(msg)
        y = np.asarray(values)
        if y.dtype.kind not in "biuf":
            msg = f"`values` must be real numbers, but got dtype {y.dtype}."
            raise TypeError(msg)
        y = y.astype(np.float64).reshape(-1)
        if y.shape[0] != len(result):
            msg = (
                f"`values` must have one entry per configuration ({len(result)}), "
                f"but got {y.shape[0]}."
            )
            raise ValueError(msg)
        ok = np.isfinite(y)
        return (
            result.space,
            np.ascontiguousarray(result.unit[ok]),
            np.ascontiguousarray(y[ok]),
        )
    msg = f"`result` must be a SearchResult or a Configs, but got {type(result).__name__}."
    raise TypeError(msg)
