"""The settings of a search: each checked and normalised once, before anything runs.

:func:`check_settings` is what :class:`~hyperzoom.CoarseToFine` (and so ``hz.search``)
and a stored study's journal agree on: the values that decide which trials are asked
(:data:`SETTINGS`, stored with a study and compared on resume), each refused with a
message that names it, or returned normalised (``0.1`` and ``np.float64(0.1)`` are the
same setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import as_count, as_real

__all__ = ["MAX_ROUND", "SETTINGS", "STRATEGIES", "Settings", "check_settings"]

STRATEGIES = ("coarse-to-fine", "random", "grid")
#: Largest round size a user may ask for.
MAX_ROUND = 1 << 24
#: The settings that decide which trials are asked (stored, compared on resume).
#: Execution details (executor, batch_size, mode, workers) are free.
SETTINGS = (
    "budget",
    "strategy",
    "round_size",
    "first_round",
    "keep",
    "min_width",
    "retest",
    "retest_every",
    "minimize",
    "asynchronous",
)


@dataclass(frozen=True)
class Settings:
    """A search's settings, checked (see :func:`hyperzoom.search` for each)."""

    budget: int | None
    strategy: str
    round_size: int | None
    first_round: int | None
    keep: float
    min_width: float
    retest: int
    retest_every: int
    minimize: bool
    asynchronous: bool
    design: str

    def stored(self) -> dict[str, Any]:
        """Return the settings a study stores (those of :data:`SETTINGS`)."""
        return {k: getattr(self, k) for k in SETTINGS}


def check_settings(
    *,
    budget: Any = None,
    strategy: Any = "coarse-to-fine",
    round_size: Any = None,
    first_round: Any = None,
    keep: Any = 0.5,
    min_width: Any = 0.05,
    retest: Any = 0,
    retest_every: Any = 1,
    minimize: Any = True,
    asynchronous: Any = False,
    design: Any = "lhs",
) -> Settings:
    """Return the settings checked and normalised.

    Raises
    ------
    TypeError, ValueError
        Naming the setting, the rule and the value.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperzoom.search.settings import check_settings
    >>> check_settings(budget=np.int64(100), keep=np.float64(0.25)).stored()["keep"]
    0.25
    >>> check_settings(strategy="grid")
    Traceback (most recent call last):
    ...
    ValueError: `strategy='grid'` needs a `budget`: the grid is the largest that fits it.
    """
    budget = None if budget is None else as_count(budget, "budget", minimum=1)
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        msg = f"{strategy!r} is not a valid strategy. It must be one of {set(STRATEGIES)!r}."
        raise ValueError(msg)
    if round_size is not None:
        round_size = as_count(round_size, "round_size", minimum=2, maximum=MAX_ROUND)
    if first_round is not None:
        first_round = as_count(first_round, "first_round", minimum=1, maximum=MAX_ROUND)
    keep = as_real(keep, "keep")
    if not 0.0 < keep <= 1.0:
        msg = f"`keep` must be in (0, 1], but got {keep!r}."
        raise ValueError(msg)
    min_width = as_real(min_width, "min_width")
    if not 0.0 <= min_width <= 1.0:
        msg = f"`min_width` must be in [0, 1], but got {min_width!r}."
        raise ValueError(msg)
    retest = as_count(retest, "retest")
    retest_every = as_count(retest_every, "retest_every", minimum=1)
    if design not in ("lhs", "random"):
        msg = (
            f"{design!r} is not a valid design. It must be one of {{'lhs', 'random'}}."
        )
        raise ValueError(msg)
    if not isinstance(minimize, (bool, np.bool_)):
        msg = f"`minimize` must be True or False, but got {minimize!r}."
        raise TypeError(msg)
    if not isinstance(asynchronous, (bool, np.bool_)):
        msg = f"`asynchronous` must be True or False, but got {asynchronous!r}."
        raise TypeError(msg)
    if strategy == "grid" and budget is None:
        msg = (
            "`strategy='grid'` needs a `budget`: the grid is the largest that fits it."
        )
        raise ValueError(msg)
    if retest and strategy != "coarse-to-fine":
        msg = f"`retest={retest}` needs strategy='coarse-to-fine', not {strategy!r}."
        raise ValueError(msg)
    return Settings(
        budget=budget,
        strategy=strategy,
        round_size=round_size,
        first_round=first_round,
        keep=keep,
        min_width=min_width,
        retest=retest,
        retest_every=retest_every,
        minimize=bool(minimize),
        asynchronous=bool(asynchronous),
        design=design,
    )
