"""The outcome of a search: every trial, column-wise, and the best configuration."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._table import ConfigTable, best_text
from ..region import Region
from ..space import Space

__all__ = ["AllTrialsFailedError", "SearchResult", "Trials"]


class AllTrialsFailedError(RuntimeError):
    """Every trial of a round failed; ``.result`` holds everything evaluated so far."""

    def __init__(self, message: str, result: SearchResult | None = None) -> None:
        super().__init__(message)
        self.result = result


# ---------------------------------------------------------------------------------------
class Trials(ConfigTable):
    """Every trial of a search, column-wise.

    Attributes
    ----------
    id : ndarray of int64
        Trial ids (their order of asking).
    unit : ndarray, shape (n, d)
        Unit coordinates of each configuration.
    value : ndarray of float64
        The loss (or score when maximising) returned; NaN for failed trials.
    status : ndarray of str
        ``"ok"`` or ``"failed"``.
    error : ndarray of object
        The error text of failed trials, else None.
    round, batch : ndarray of int64
        The round each trial belongs to and the objective call that evaluated it.
    retest_of : ndarray of int64
        For re-test evaluations, the id of the trial re-tested; -1 otherwise.
    whole : ndarray of bool
        True for trials drawn from the whole space rather than a zoomed region.
    """

    def __init__(
        self,
        space: Space,
        *,
        id: np.ndarray,
        unit: np.ndarray,
        value: np.ndarray,
        failed: np.ndarray,
        errors: dict[int, str],
        round: np.ndarray,
        batch: np.ndarray,
        retest_of: np.ndarray,
        whole: np.ndarray | None = None,
    ) -> None:
        super().__init__(space, id, unit)
        self.value = value
        self.failed = failed  #: bool mask of failed trials
        self.round = round
        self.batch = batch
        self.retest_of = retest_of
        #: True for trials drawn from the whole space (the coarse round of each
        #: run): together a space-filling sample.
        self.whole = np.ones(id.shape[0], dtype=bool) if whole is None else whole
        self._errors = errors
        self._status: np.ndarray | None = None
        self._error: np.ndarray | None = None

    @property
    def status(self) -> np.ndarray:
        """``"ok"`` or ``"failed"`` per trial (built on first use)."""
        if self._status is None:
            self._status = np.where(self.failed, "failed", "ok")
        return self._status

    @property
    def error(self) -> np.ndarray:
        """The error text of each failed trial, None elsewhere (built on first use)."""
        if self._error is None:
            error = np.full(self.id.size, None, dtype=object)
            if self._errors:
                failed_ids = np.fromiter(
                    self._errors, dtype=np.int64, count=len(self._errors)
                )
                texts = np.empty(failed_ids.size, dtype=object)
                texts[:] = list(self._errors.values())
                rows = np.searchsorted(self.id, failed_ids)
                inside = rows < self.id.size
                hit = inside & (
                    self.id[np.minimum(rows, self.id.size - 1)] == failed_ids
                )
                error[rows[hit]] = texts[hit]
            self._error = error
        return self._error

    @property
    def n_failed(self) -> int:
        """Number of failed trials."""
        return int(np.count_nonzero(self.failed))

    def to_pandas(self) -> Any:
        """Return the trials as a ``pandas.DataFrame`` (pandas is optional)."""
        return self.frame(
            value=self.value,
            status=self.status,
            error=self.error,
            round=self.round,
            batch=self.batch,
            retest_of=self.retest_of,
        )


class SearchResult:
    """The outcome of a search: the best configuration, every trial, every region.

    Attributes
    ----------
    best : dict
        The best configuration (plain Python values).
    best_value : float
        Its value: the mean of its evaluations (re-tests included).
    best_id : int
        Its trial id.
    trials : Trials
        Every trial, failed ones and re-tests included.
    regions : list of Region
        The region each round sampled (round 0: the whole space).
    """

    def __init__(
        self,
        space: Space,
        trials: Trials,
        regions: list[Region],
        best_id: int | None,
        best_value: float,
        minimize: bool,
    ) -> None:
        self.space = space
        self.trials = trials
        self.regions = regions
        self.best_id = best_id
        self.best_value = best_value
        self.minimize = minimize
        if best_id is None:
            self.best: dict[str, Any] | None = None
        else:
            row = int(np.flatnonzero(trials.id == best_id)[0])
            self.best = space.from_unit(trials.unit[row : row + 1])[0]

    def to_pandas(self) -> Any:
        """Return the trials as a ``pandas.DataFrame``."""
        return self.trials.to_pandas()

    def __repr__(self) -> str:
        best = best_text(self.best)
        sense = "min" if self.minimize else "max"
        return (
            f"SearchResult({sense} best_value={self.best_value:.6g}, best={{{best}}}, "
            f"trials={len(self.trials)} ({self.trials.n_failed} failed), rounds={len(self.regions)})"
        )
