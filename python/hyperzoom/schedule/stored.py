"""Reading a stored schedule: each method's settings check and driver, replayed dry.

``load_study`` hands a schedule's study here: its calls are read into a dry caller (the
journal's), and the method's own driver replays its decisions from them, training
nothing and decoding no state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..space import Space
from ..store import Study, rng_of, where
from .async_halving import asha_drive, asha_plan
from .halving import hb_drive, hb_plan, sh_drive, sh_plan
from .journal import StoredCaller
from .population import pbt_drive, pbt_plan
from .results import ScheduleResult

__all__ = ["METHODS", "replay"]

#: What a study file needs to replay each method: its settings' validator and driver.
METHODS: dict[str, tuple[Callable[..., Any], Callable[..., ScheduleResult]]] = {
    "successive_halving": (sh_plan, sh_drive),
    "hyperband": (hb_plan, hb_drive),
    "asha": (asha_plan, asha_drive),
    "pbt": (pbt_plan, pbt_drive),
}


def replay(caller: StoredCaller, study: Study, space: Space) -> ScheduleResult:
    """Return the :class:`ScheduleResult` of a stored schedule, running nothing."""
    method = str(study.settings["method"])
    if method not in METHODS:
        msg = (
            f"study {study.name!r} in {where(study.path)} was written by a scheduler "
            f"this hyperzoom does not know ({method!r}; written by hyperzoom "
            f"{study.version})."
        )
        raise ValueError(msg)
    plan_of, drive = METHODS[method]
    settings = {k: v for k, v in study.settings.items() if k != "method"}
    try:
        _, plan = plan_of(**settings)
    except (TypeError, ValueError, OverflowError) as exc:
        msg = f"study {study.name!r} in {where(study.path)} has damaged settings: {exc}"
        raise ValueError(msg) from exc
    gen = np.random.default_rng(rng_of(study.seed))
    return drive(caller, space, gen, **plan)
