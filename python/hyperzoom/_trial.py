"""What a call of user code came back as: a value, its own error, or the executor's.

Shared by every caller of user code on an executor: :mod:`hyperzoom.evaluate` (trials of
an objective) and :mod:`hyperzoom.schedule` (calls of ``train``). A call's own error
comes back as a value (:class:`Raised`, its text computed where it ran), so anything a
future raises is known to be the executor's (:func:`outcome`); with a study file, calls
the executor could not run are counted by :class:`Lost` and raised once the rest is in.
"""

from __future__ import annotations

import math
import os
import re
import traceback
from concurrent.futures import Future
from typing import Any, NamedTuple

import numpy as np

from ._validation import short_repr
from .executors import ExecutorError

__all__ = ["Lost", "Raised", "error_text", "outcome", "scalar_value", "submit"]


def error_text(exc: BaseException) -> str:
    """Return ``Type: message (at file:line)``, pointing at the user's code.

    Frames of ``concurrent.futures`` are skipped; for a process pool the location comes
    from the worker's traceback, which the pool attaches as the exception's cause.
    """
    where = ""
    remote = getattr(exc.__cause__, "tb", None)
    if isinstance(remote, str):
        files = re.findall(r'File "([^"]+)", line (\d+)', remote)
        files = [f for f in files if "concurrent" + os.sep + "futures" not in f[0]]
        if files:
            where = f" (at {files[-1][0]}:{files[-1][1]})"
    if not where:
        frames = [
            f
            for f in traceback.extract_tb(exc.__traceback__)
            if "concurrent" + os.sep + "futures" not in f.filename
        ]
        if frames:
            where = f" (at {frames[-1].filename}:{frames[-1].lineno})"
    return f"{type(exc).__name__}: {exc}{where}"


class Raised(NamedTuple):
    """The user's code raised: its error text, computed where it ran (picklable)."""

    text: str


def scalar_value(result: Any, who: str = "objective") -> tuple[float, str | None]:
    """Return ``(value, None)`` for a finite real, else ``(nan, error text)``.

    Strings and bools are not real numbers here, even when ``float`` accepts them.
    """
    if isinstance(result, (str, bytes, bool, np.bool_)) or result is None:
        return math.nan, f"{who} returned {short_repr(result)}, not a real number"
    try:
        value = float(result)
    except OverflowError:
        return math.nan, f"{who} returned {short_repr(result)}, too large for a float"
    except Exception:  # noqa: BLE001 - whatever __float__ does, the trial fails
        return math.nan, f"{who} returned {short_repr(result)}, not a real number"
    if not math.isfinite(value):
        return math.nan, f"{who} returned {value!r}"
    return value, None


def submit(executor: Any, fn: Any, /, *args: Any) -> Future[Any]:
    """Submit ``fn(*args)``; a submission the executor refuses comes back as a future.

    A pool that breaks while a round is being submitted (a worker died) raises from
    ``submit`` itself; that failure is returned as an already failed future, so it is
    the executor's failure of that trial like any other, never the run's crash.
    """
    try:
        future: Future[Any] = executor.submit(fn, *args)
    except Exception as exc:  # noqa: BLE001 - BrokenProcessPool, shut down, pickling
        future = Future()
        future.set_exception(exc)
    return future


def outcome(future: Future[Any]) -> Any:
    """Return the call's result, or the exception the future raised (the executor's)."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - BrokenProcessPool, pickling, worker lost
        return exc


class Lost:
    """Calls the executor could not run, with a study file: raised once the rest is in.

    Used by ``evaluate`` (trials) and the stored schedules (calls of ``train``).
    """

    def __init__(self, what: str = "trial(s)") -> None:
        self.what = what
        self.first: BaseException | None = None
        self.count = 0

    def add(self, exc: BaseException, m: int = 1) -> None:
        self.first = self.first or exc
        self.count += m

    def raise_if_any(self, n_done: int) -> None:
        if self.first is None:
            return
        msg = (
            f"the executor could not run {self.count} {self.what} "
            f"({error_text(self.first)}); they are not stored, the {n_done} that "
            "completed are: fix the executor and run again to resume."
        )
        raise ExecutorError(msg) from self.first
