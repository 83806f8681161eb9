"""The outcome of a schedule: every run with its learning curve, and the best one."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._optional import require
from .._table import ConfigTable, best_text
from ..space import Space

if TYPE_CHECKING:
    from ._runs import Run
    from .proposals import ProposalRegion

__all__ = ["ScheduleResult", "ScheduleTrials"]


class ScheduleTrials(ConfigTable):
    """Every run of a schedule, column-wise, with its learning curve.

    Attributes
    ----------
    id : ndarray of int64
        Run ids (their order of creation).
    unit : ndarray, shape (n, d)
        Unit coordinates of each run's (final) configuration.
    value : ndarray of float64
        The loss at the run's last budget (NaN for failed runs).
    budget : ndarray of float64
        The last budget each run was trained to.
    status : ndarray of str
        ``"ok"`` or ``"failed"``.
    error : ndarray of object
        The error text of failed runs, else None.
    bracket, rung : ndarray of int64
        The Hyperband bracket of each run (0 elsewhere) and the highest rung it
        reached (-1 for PBT).
    proposal : ndarray of int64
        Where each configuration came from: -1 for a random draw over the whole space
        (every run with ``sampler="random"``), else the index in the result's
        ``proposal_regions`` of the region it was drawn from.
    curves : list of ndarray, shape (m, 2)
        Each run's learning curve: ``(budget, loss)`` rows in the order trained.
    """

    def __init__(self, space: Space, runs: Sequence[Run]) -> None:
        n = len(runs)
        unit = (
            np.array([r.unit for r in runs], dtype=np.float64).reshape(n, space.d)
            if n
            else np.empty((0, space.d))
        )
        super().__init__(space, np.array([r.id for r in runs], dtype=np.int64), unit)
        self.value = np.array(
            [r.curve[-1][1] if r.curve and not r.failed else math.nan for r in runs],
            dtype=np.float64,
        )
        self.budget = np.array([r.budget for r in runs], dtype=np.float64)
        self.status = np.array(
            ["failed" if r.failed else "ok" for r in runs], dtype="<U6"
        )
        self.error = np.array([r.error for r in runs], dtype=object)
        self.bracket = np.array([r.bracket for r in runs], dtype=np.int64)
        self.rung = np.array([r.rung for r in runs], dtype=np.int64)
        self.proposal = np.array([r.proposal for r in runs], dtype=np.int64)
        self.curves = [np.array(r.curve, dtype=np.float64).reshape(-1, 2) for r in runs]

    @property
    def n_failed(self) -> int:
        """Number of failed runs."""
        return int(np.count_nonzero(self.status == "failed"))

    def ranking(self) -> np.ndarray:
        """Return the indices of the successful runs, best first.

        Runs trained furthest come first (a loss at a lower budget is not comparable),
        then lower losses, then lower ids; the first is the result's ``best_id``.
        """
        ok = np.flatnonzero(self.status == "ok")
        return ok[np.lexsort((self.id[ok], self.value[ok], -self.budget[ok]))]

    def to_pandas(self, *, curves: bool = False) -> Any:
        """Return the runs as a ``pandas.DataFrame`` (pandas is optional).

        With ``curves=True`` there is one row per point of every learning curve
        (columns ``id``, ``budget``, ``loss`` and the configuration).
        """
        if not curves:
            return self.frame(
                value=self.value,
                budget=self.budget,
                status=self.status,
                error=self.error,
                bracket=self.bracket,
                rung=self.rung,
                proposal=self.proposal,
            )
        pd = require("pandas", "to_pandas()")
        sizes = [c.shape[0] for c in self.curves]
        rows = np.repeat(np.arange(len(self)), sizes)
        pts = np.concatenate(self.curves) if len(self) else np.empty((0, 2))
        data: dict[str, Any] = {
            "id": self.id[rows],
            "budget": pts[:, 0],
            "loss": pts[:, 1],
        }
        data.update(self.configs._pandas_columns(rows))  # missing where inactive
        return pd.DataFrame(data)


class ScheduleResult:
    """The outcome of a schedule: the best run, every run and its curve.

    Attributes
    ----------
    method : str
        ``"successive_halving"``, ``"hyperband"``, ``"asha"`` or ``"pbt"``.
    best : dict or None
        The best configuration: the lowest loss among the runs trained furthest (for
        PBT, the final configuration of the best member).
    best_value : float
        Its loss (NaN when every run failed).
    best_id : int or None
        Its run id.
    best_state : object
        The state ``train`` returned for the best run at its last budget.
    trials : ScheduleTrials
        Every run, failed ones included, with its learning curve.
    budget_used : float
        Total budget units trained, summed over runs (resumptions count only the
        increment).
    n_calls : int
        Calls of ``train``.
    lineage : list of dict
        PBT only: one entry per exploit, ``{"budget", "member", "donor", "loss",
        "donor_loss", "old", "donor_config", "new", "proposal"}`` (configurations as
        dicts: the member's, the donor's it copied, and the explored one it goes on
        with; ``proposal`` -1 when ``new`` perturbs the donor's, else the index in
        ``proposal_regions`` of the region it was drawn from); empty for the other
        methods.
    sampler : str
        ``"random"`` or ``"coarse-to-fine"``: where new configurations came from.
    proposal_regions : list of ProposalRegion
        With ``sampler="coarse-to-fine"``, every region new configurations were drawn
        from, in order of first use: its ``budget`` (the rung whose results built it),
        the ``region`` itself and the number of ``results`` at that budget it was built
        on; ``trials.proposal`` indexes it. Empty otherwise.
    """

    def __init__(
        self,
        method: str,
        space: Space,
        runs: Sequence[Run],
        *,
        budget_used: float,
        n_calls: int,
        lineage: list[dict[str, Any]] | None = None,
        best_id: int | None = None,
        sampler: str = "random",
        proposal_regions: Sequence[ProposalRegion] | None = None,
    ) -> None:
        self.method = method
        self.space = space
        self.sampler = sampler
        self.proposal_regions = list(proposal_regions or [])
        self.trials = ScheduleTrials(space, runs)
        self.budget_used = float(budget_used)
        self.n_calls = int(n_calls)
        self.lineage = list(lineage or [])
        if best_id is None:
            best_id = _best_run(runs)
        self.best_id = best_id
        if best_id is None:
            self.best: dict[str, Any] | None = None
            self.best_value = math.nan
            self.best_state: Any = None
        else:
            run = next(r for r in runs if r.id == best_id)
            self.best = dict(run.config)
            self.best_value = float(run.curve[-1][1])
            self.best_state = run.state

    def ancestry(self, member: int) -> list[dict[str, Any]]:
        """PBT: the chain of members whose training a final member's weights went through.

        Returns chronological segments ``{"member", "from", "to", "config"}``: the weights
        were trained by ``member`` with ``config`` from budget ``from`` to ``to``.
        """
        end = self.trials.budget[member] if len(self.trials) else 0.0
        segments: list[dict[str, Any]] = []
        cur = int(member)
        while True:
            before = [
                e for e in self.lineage if e["member"] == cur and e["budget"] < end
            ]
            if not before:
                config = self._config_at(cur, 0.0)
                segments.append(
                    {"member": cur, "from": 0.0, "to": float(end), "config": config}
                )
                break
            last = max(before, key=lambda e: e["budget"])
            segments.append(
                {
                    "member": cur,
                    "from": float(last["budget"]),
                    "to": float(end),
                    "config": last["new"],
                }
            )
            cur, end = int(last["donor"]), last["budget"]
        return segments[::-1]

    def _config_at(self, member: int, budget: float) -> dict[str, Any]:
        events = [
            e for e in self.lineage if e["member"] == member and e["budget"] <= budget
        ]
        first = [e for e in self.lineage if e["member"] == member]
        if events:
            return dict(max(events, key=lambda e: e["budget"])["new"])
        if first:
            return dict(min(first, key=lambda e: e["budget"])["old"])
        return self.trials.configs[member]  # type: ignore[no-any-return]

    def to_pandas(self, *, curves: bool = False) -> Any:
        """Return the runs as a ``pandas.DataFrame`` (see :meth:`ScheduleTrials.to_pandas`)."""
        return self.trials.to_pandas(curves=curves)

    def __repr__(self) -> str:
        best = best_text(self.best)
        how = "" if self.sampler == "random" else f", sampler={self.sampler}"
        return (
            f"ScheduleResult({self.method}{how}: best_value={self.best_value:.6g}, "
            f"best={{{best}}}, "
            f"trials={len(self.trials)} ({self.trials.n_failed} failed), "
            f"budget_used={self.budget_used:.6g}, calls={self.n_calls})"
        )


def _best_run(runs: Sequence[Run]) -> int | None:
    ok = [r for r in runs if not r.failed and r.curve]
    if not ok:
        return None
    top = max(r.budget for r in ok)
    finalists = [r for r in ok if r.budget == top]
    return min(finalists, key=lambda r: (r.curve[-1][1], r.id)).id
