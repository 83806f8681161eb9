"""Calling objectives: vectorised batches and scalar trials, in-process or on executors.

Three objective forms, chosen by ``mode``:

``"batch"`` (vectorised)
    ``objective(configs) -> array of len(configs) losses``, called once per batch with a
    :class:`~hyperzoom.Configs` (columns of NumPy arrays).
``"kwargs"``
    ``objective(**config) -> float``: one training run per configuration.
``"dict"``
    ``objective(config) -> float`` with ``config`` a plain ``dict``.

``mode=None`` (the default) picks ``"kwargs"`` when the objective's signature accepts
every parameter name as a keyword (or takes ``**kwargs``), and ``"batch"`` otherwise; a
one-argument scalar objective that takes a dict must say ``mode="dict"``.

``executor`` is any :class:`concurrent.futures.Executor`, a ``dask.distributed.Client``
or :func:`hyperzoom.executors.ray` (see :mod:`hyperzoom.executors`). On a cluster each
call is one task: a scalar trial, or a chunk of ``batch_size`` rows of a vectorised
batch, so ``batch_size`` sets the work per task.

Results never depend on the executor, the number of workers or the order in which
results arrive: every value is stored at its trial's index. A trial whose value is not a
finite real number (NaN, infinity, None, a string, an ``int`` too large for a float such
as ``10**400``) fails alone; a batch that raises fails its trials; a batch that returns
the wrong shape is a bug in the objective and raises ``ValueError`` at once.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, as_completed
from typing import Any

import numpy as np

from ._trial import Lost, Raised, error_text, outcome, scalar_value, submit
from .executors import as_executor, is_executor_failure
from .space import Configs, Space

__all__ = ["MODES", "evaluate", "resolve_mode", "submit_trial", "trial_outcome"]

MODES = ("batch", "kwargs", "dict")


def resolve_mode(objective: Callable[..., Any], space: Space, mode: str | None) -> str:
    """Decide how ``objective`` is called (see the module docstring).

    Examples
    --------
    >>> import hyperzoom as hz
    >>> from hyperzoom.evaluate import resolve_mode
    >>> space = hz.Space(x=hz.Uniform(0, 1), y=hz.Uniform(0, 1))
    >>> resolve_mode(lambda x, y: x + y, space, None)
    'kwargs'
    >>> resolve_mode(lambda c: c["x"] + c["y"], space, None)
    'batch'
    """
    if not callable(objective):
        msg = f"`objective` must be callable, but got {objective!r}."
        raise TypeError(msg)
    if mode is not None:
        if mode not in MODES:
            msg = f"{mode!r} is not a valid mode. It must be one of {set(MODES)!r}."
            raise ValueError(msg)
        return mode
    try:
        sig = inspect.signature(objective)
    except (TypeError, ValueError):
        return "batch"
    params = sig.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return "kwargs"
    keyword_ok = {
        p.name
        for p in params
        if p.kind
        in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    if space.d > 0 and set(space.names) <= keyword_ok:
        return "kwargs"
    return "batch"


def _call_batch(objective: Callable[..., Any], configs: Configs) -> Any:
    try:
        return np.asarray(objective(configs))
    except Exception as exc:  # noqa: BLE001 - a failing batch fails its trials
        return Raised(error_text(exc))


def _check_batch(result: Any, m: int) -> tuple[np.ndarray, dict[int, str]]:
    """Return a batch's values as float64 and the error text of entries that fail.

    An object array (Python ints too large for a float, None, strings among numbers)
    is converted entry by entry: each entry that is not a finite real fails its trial.
    """
    arr = np.asarray(result)
    if arr.dtype.kind not in "biufO":
        msg = (
            f"a vectorised objective must return {m} real numbers, one per configuration, "
            f"but returned dtype {arr.dtype} with shape {arr.shape}."
        )
        raise ValueError(msg)
    if arr.shape != (m,):
        if arr.size == m and arr.ndim == 2 and 1 in arr.shape:
            arr = arr.reshape(m)
        else:
            msg = (
                f"a vectorised objective must return shape ({m},) for a batch of {m} "
                f"configurations, but returned shape {arr.shape}."
            )
            raise ValueError(msg)
    if arr.dtype.kind != "O":
        return arr.astype(np.float64, copy=False), {}
    values = np.empty(m, dtype=np.float64)
    texts: dict[int, str] = {}
    for i, x in enumerate(arr.tolist()):
        values[i], text = scalar_value(x)
        if text is not None:
            texts[i] = text
    return values, texts


def evaluate(
    objective: Callable[..., Any],
    configs: Configs,
    *,
    mode: str,
    executor: Executor | None = None,
    batch_size: int | None = None,
    on_done: Callable[[int, int, np.ndarray, list[str | None], np.ndarray], None]
    | None = None,
) -> tuple[np.ndarray, list[str | None], np.ndarray]:
    """Evaluate ``objective`` on ``configs``.

    ``on_done(start, stop, values, errors, batch)``, when given, is called as soon as
    rows ``start:stop`` (one batch, or one scalar trial) are final in the arrays it is
    handed (the same arrays that are returned); with an executor, in the order the
    results arrive. The study store commits trials through it as they complete. With
    ``on_done``, a call the executor could not run at all (a broken process pool, an
    objective that cannot be pickled) is not handed to it: once the other calls are in,
    :class:`~hyperzoom.executors.ExecutorError` is raised.

    Returns
    -------
    values : ndarray, shape (n,)
        The losses; NaN where a trial failed.
    errors : list of (str or None)
        The error text of each failed trial.
    batch : ndarray of int64, shape (n,)
        The index of the call (batch) each trial was evaluated in.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> from hyperzoom.evaluate import evaluate
    >>> space = hz.Space(x=hz.Uniform(0, 1))
    >>> c = space.from_unit([[0.25], [0.5]])
    >>> values, errors, _ = evaluate(lambda c: c["x"] ** 2, c, mode="batch")
    >>> values.tolist(), errors
    ([0.0625, 0.25], [None, None])
    """
    executor = as_executor(executor)
    lost = Lost()
    n = len(configs)
    values = np.full(n, np.nan)
    errors: list[str | None] = [None] * n
    batch = np.zeros(n, dtype=np.int64)
    if n == 0:
        return values, errors, batch
    if mode == "batch":
        size = n if batch_size is None else max(1, int(batch_size))
        starts = list(range(0, n, size))
        chunks = [configs[s : s + size] for s in starts]

        def record(b: int, out: Any) -> None:
            s, m = starts[b], len(chunks[b])
            batch[s : s + m] = b
            if on_done and is_executor_failure(out):
                lost.add(out, m)
                return
            if isinstance(out, (Raised, BaseException)):
                text = out.text if isinstance(out, Raised) else error_text(out)
                errors[s : s + m] = [text] * m
            else:
                arr, texts = _check_batch(out, m)
                bad = ~np.isfinite(arr)
                values[s : s + m] = np.where(bad, np.nan, arr)
                if bad.any():
                    for i in np.flatnonzero(bad):
                        errors[s + int(i)] = texts.get(
                            int(i), f"objective returned {float(arr[i])!r}"
                        )
            if on_done is not None:
                on_done(s, s + m, values, errors, batch)

        if executor is None:
            for b, chunk in enumerate(chunks):
                record(b, _call_batch(objective, chunk))
        elif on_done is None:
            futures = [
                submit(executor, _call_batch, objective, chunk) for chunk in chunks
            ]
            for b, f in enumerate(futures):
                record(b, outcome(f))
        else:
            index = {
                submit(executor, _call_batch, objective, chunk): b
                for b, chunk in enumerate(chunks)
            }
            for f in as_completed(index):
                record(index[f], outcome(f))
            lost.raise_if_any(n - lost.count)
        return values, errors, batch

    rows = list(configs)  # scalar objectives: one Python call per trial by contract
    batch[:] = np.arange(n)
    call = _call_kwargs if mode == "kwargs" else _call_dict

    def record_one(k: int, out: Any) -> None:
        if on_done and is_executor_failure(out):
            lost.add(out, 1)
            return
        if isinstance(out, (Raised, BaseException)):
            errors[k] = out.text if isinstance(out, Raised) else error_text(out)
        else:
            values[k], errors[k] = scalar_value(out)
        if on_done is not None:
            on_done(k, k + 1, values, errors, batch)

    if on_done is not None:
        # Trial by trial, so that each one is recorded the moment it completes.
        if executor is None:
            for k, row in enumerate(rows):
                record_one(k, call(objective, row))
        else:
            index = {
                submit(executor, call, objective, row): k for k, row in enumerate(rows)
            }
            for f in as_completed(index):
                record_one(index[f], outcome(f))
            lost.raise_if_any(n - lost.count)
        return values, errors, batch
    if executor is None:
        results: Sequence[Any] = [call(objective, row) for row in rows]
    else:
        futures = [submit(executor, call, objective, row) for row in rows]
        results = [outcome(f) for f in futures]
    for k, out in enumerate(results):
        record_one(k, out)
    return values, errors, batch


def submit_trial(
    executor: Executor, objective: Callable[..., Any], mode: str, row: dict[str, Any]
) -> Future[Any]:
    """Submit one scalar trial (``mode`` "kwargs" or "dict") to ``executor``.

    The objective's own errors come back as values (see :func:`trial_outcome`), so the
    future raises only for the executor's failures.
    """
    call = _call_kwargs if mode == "kwargs" else _call_dict
    return submit(executor, call, objective, row)


def trial_outcome(future: Future[Any]) -> tuple[float, str | None]:
    """Return a finished scalar trial's value and error text (NaN and the text if failed).

    A future that raised (the executor's failure: a dead worker, an unpicklable
    objective) fails the trial, as the objective's own errors do.
    """
    out = outcome(future)
    if isinstance(out, (Raised, BaseException)):
        return math.nan, out.text if isinstance(out, Raised) else error_text(out)
    return scalar_value(out)


def executor_failure(future: Future[Any]) -> BaseException | None:
    """Return the executor's own failure of a finished trial (None if the trial ran).

    A stored search never stores such a failure as the trial's result: the trial is
    run again when the study is resumed.
    """
    out = outcome(future)
    return out if is_executor_failure(out) else None


def _call_kwargs(objective: Callable[..., Any], row: dict[str, Any]) -> Any:
    try:
        return objective(**row)
    except Exception as exc:  # noqa: BLE001 - a failing trial fails alone
        return Raised(error_text(exc))


def _call_dict(objective: Callable[..., Any], row: dict[str, Any]) -> Any:
    try:
        return objective(row)
    except Exception as exc:  # noqa: BLE001 - a failing trial fails alone
        return Raised(error_text(exc))
