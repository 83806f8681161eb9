"""Coarse-to-fine search: ``hz.search`` and the ask/tell optimiser it runs on.

How the search proceeds
-----------------------
The search is a sequence of *runs*; each run is a sequence of *rounds*, and no round's
size ever depends on the total budget. So the search is *anytime*: the trials of
``budget=B`` are the first ``B`` trials of ``budget=4 * B`` (the best value can only
improve with more budget), a stored study can be continued with a larger budget, and
``budget=None`` with ``time_limit=`` (or an ask/tell loop you stop) works as well.

Run ``k`` (``k = 0, 1, ...``):

1. a *coarse* round: a Latin hypercube of ``first_round * 2**k`` points over the whole
   space (default ``first_round = max(10, 2 d + 4)``);
2. the first *region*: the box of the best quarter of those points on every scaled axis
   (log for ``LogUniform``, ``log(1 - x)`` for ``InvLogUniform``, the cells of integer
   parameters), at least ``min_width`` wide; choices keep the options those points use;
3. *zoomed* rounds of ``round_size * 2**k`` points (default ``round_size = 4 + 3 ln p``
   for ``p`` ordered parameters), each a Latin hypercube inside the current region.
   After each, the region moves to the weighted centre of the round's best ``keep``
   share and is reshaped by what they say (the update rules of CMA-ES: the region
   shrinks while it keeps finding better points, widens while it keeps moving the same
   way, and turns its axes to follow a valley, so rotated and ill-conditioned problems
   are not left to axis-aligned boxes); choices narrow to the options the best use,
   integer parameters always keep their neighbouring values within reach;
4. the run ends when its region has shrunk to the precision of a double (converged),
   when its values stop changing ("flat"), when it has not improved for
   ``120 + 30 p / round_size`` rounds ("stalled") or when its axes become too unequal;
   then run ``k + 1`` starts afresh with rounds twice as large (as IPOP-CMA-ES does), so
   a search caught in one basin of a multimodal function looks elsewhere, wider.

A region is a box on the scaled axes, possibly rotated: ``result.regions[r]`` holds its
bounding box (``lo``, ``hi``, ``bounds``), and its ``center``, ``basis`` (principal axes)
and ``half_widths``. Points that a region reaches past the edge of the space are
mirrored back into it.

With ``retest=k``, ``k`` evaluations follow every ``retest_every``-th round: the best ``k``
trials so far are evaluated again, trials are ranked by the mean of their evaluations,
and the reported best is the best re-tested configuration.

``strategy="random"`` draws independent uniform points (in rounds of 1,024: also
anytime); ``"grid"`` evaluates the largest grid (spaced on each scaled axis) that fits
the budget (the one strategy that depends on it).

Everything random comes from ``rng``. Synchronous rounds store each value at its
trial's index, so the same seed gives the same trials and result whatever the executor,
the number of workers or the order in which results arrive. An asynchronous search
(``asynchronous=True``, the default for scalar trials on several workers without a
study file) updates its region as results arrive, so it gives the same trials for the
same order of arrival; a stored one records that order (see
:mod:`hyperzoom.search.journal`).

Layout: :mod:`~hyperzoom.search.settings` (the settings, checked),
:mod:`~hyperzoom.search.optimizer` (``CoarseToFine``, the ask/tell engine),
:mod:`~hyperzoom.search.loop` (``hz.search``: the one loop that drives it),
:mod:`~hyperzoom.search.journal` (where the loop writes trials: nowhere, or a study
file), :mod:`~hyperzoom.search.results` (``SearchResult``, ``Trials``).
"""

from __future__ import annotations

from .loop import search
from .optimizer import STRATEGIES, CoarseToFine
from .results import AllTrialsFailedError, SearchResult, Trials

__all__ = [
    "STRATEGIES",
    "AllTrialsFailedError",
    "CoarseToFine",
    "SearchResult",
    "Trials",
    "search",
]
