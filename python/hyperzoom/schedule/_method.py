"""Running one scheduler: with a plain caller, or with one that journals to a study file.

Each public scheduler (``hz.successive_halving``, ``hz.hyperband``, ``hz.asha``,
``hz.pbt``) checks its arguments, then hands its driver to :func:`run_method`, which
chooses the caller: :class:`~hyperzoom.schedule._runs.Caller` without a study file,
the journal's :class:`~hyperzoom.schedule.journal.StoredCaller` with one.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, NamedTuple

from .._rng import as_generator
from ..space import Space
from ..typing import RngLike
from ._runs import Caller, TrainFn
from .journal import open_caller
from .results import ScheduleResult

__all__ = ["StudyArgs", "run_method"]


class StudyArgs(NamedTuple):
    """What every scheduler is told about its seed and its study file."""

    rng: RngLike
    storage: Any
    study: Any
    state_codec: Any


def run_method(
    method: str,
    drive: Callable[..., ScheduleResult],
    train: TrainFn,
    space: Space,
    executor: Executor | None,
    settings: dict[str, Any],
    plan: dict[str, Any],
    where: StudyArgs,
    **run: Any,
) -> ScheduleResult:
    """Drive ``method`` with a plain caller, or one backed by a study file.

    ``settings`` are what a study stores (and compares on resume), ``plan`` what the
    ``drive`` needs, ``run`` the execution details it also takes (ASHA's workers).
    """
    rng, storage, study, state_codec = where
    if storage is None:
        if study is not None:
            msg = f"`study={study!r}` needs `storage=` (a study file) to be stored in."
            raise ValueError(msg)
        if state_codec is not None:
            msg = "`state_codec` needs `storage=` (a study file) to store states in."
            raise ValueError(msg)
        caller, seed = Caller(train, executor), rng
    else:
        caller, seed = open_caller(
            method, train, space, executor, settings, rng, storage, study, state_codec
        )
    try:
        return drive(caller, space, as_generator(seed), **plan, **run)
    finally:
        caller.close()
