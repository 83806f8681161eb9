"""What a caller of ``tell`` hands over, checked: trial ids, values, errors, batches.

Everything is checked before the optimiser records anything, so a ``tell`` that raises
changes nothing. The usual arguments (what ``ask`` returned, and a float64 array of
one value per trial) pass through without a copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..space import Configs

__all__ = ["as_told"]

_INT64, _FLOAT64 = np.dtype(np.int64), np.dtype(np.float64)


def as_told(
    configs_or_ids: Configs | Any,
    values: Any,
    errors: list[str | None] | None,
    batch: Any | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return the trial ids, their values (float64) and batch numbers (or None).

    Raises
    ------
    ValueError
        For configs not made by ``ask``, or values (``errors``, ``batch``) of the wrong
        length.
    TypeError
        For ids that are not integers or values that are not real numbers.
    """
    if isinstance(configs_or_ids, Configs):
        if configs_or_ids.ids is None:
            msg = "`configs` were not produced by ask(): they carry no trial ids."
            raise ValueError(msg)
        ids = configs_or_ids.ids
    else:
        ids = np.asarray(configs_or_ids)
        if ids.dtype.kind not in "iu":
            msg = f"trial ids must be integers, but got dtype {ids.dtype}."
            raise TypeError(msg)
    if ids.dtype is not _INT64 or ids.ndim != 1:
        ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        if ids.ndim != 1:
            msg = f"trial ids must be one-dimensional, but got shape {ids.shape}."
            raise ValueError(msg)
    vals = values
    if type(vals) is not np.ndarray or vals.dtype is not _FLOAT64 or vals.ndim != 1:
        vals = np.atleast_1d(np.asarray(values))
        if vals.dtype.kind not in "biuf":
            msg = (
                "`values` must be real numbers (NaN marks a failure), but got dtype "
                f"{vals.dtype}."
            )
            raise TypeError(msg)
        vals = np.asarray(vals, dtype=np.float64)
    if vals.shape != ids.shape:
        msg = f"`values` must have shape {ids.shape} (one per trial), but got {vals.shape}."
        raise ValueError(msg)
    if errors is not None and len(errors) != ids.size:
        msg = f"`errors` must hold one entry per trial ({ids.size}), but got {len(errors)}."
        raise ValueError(msg)
    batches = None
    if batch is not None:
        batches = np.asarray(batch)
        if batches.dtype.kind not in "iu":
            msg = f"`batch` must hold integers, but got dtype {batches.dtype}."
            raise TypeError(msg)
        if batches.shape not in ((), ids.shape):
            msg = (
                f"`batch` must hold one entry per trial ({ids.size}), but got "
                f"shape {batches.shape}."
            )
            raise ValueError(msg)
        batches = np.broadcast_to(batches.astype(np.int64), ids.shape)
    return ids, vals, batches
