"""What results of searches and schedules share: rows of configurations, column-wise.

:class:`hyperzoom.Trials` (a search's trials) and :class:`hyperzoom.ScheduleTrials` (a
schedule's runs) are both a table: ids, unit coordinates, the configurations they stand
for, a count of failures and a ``pandas`` frame. :class:`ConfigTable` holds that part;
:func:`best_text` writes a result's best configuration for its ``repr``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._optional import require
from .space import Configs, Space

__all__ = ["ConfigTable", "best_text"]


class ConfigTable:
    """Rows of a result: ``id``, ``unit`` and the configurations they stand for.

    Subclasses add their columns and say how many rows failed (:attr:`n_failed`).
    """

    def __init__(self, space: Space, id: np.ndarray, unit: np.ndarray) -> None:
        self.space = space
        self.id = id
        self.unit = unit
        self._configs: Configs | None = None

    @property
    def configs(self) -> Configs:
        """The configurations (a run's final one), computed from ``unit`` once."""
        if self._configs is None:
            self._configs = self.space.from_unit(self.unit)
            self._configs.ids = self.id
        return self._configs

    def __len__(self) -> int:
        return int(self.id.shape[0])

    @property
    def n_failed(self) -> int:
        """Number of failed rows."""
        raise NotImplementedError

    def frame(self, **columns: Any) -> Any:
        """Return ``id``, the configurations' columns and ``columns`` as a DataFrame."""
        pd = require("pandas", "to_pandas()")
        data: dict[str, Any] = {"id": self.id}
        data.update(self.configs._pandas_columns())  # missing where inactive
        data.update(columns)
        return pd.DataFrame(data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, failed={self.n_failed})"


def best_text(best: dict[str, Any] | None) -> str:
    """Return a best configuration as ``name=value, ...`` (4 digits), or "None"."""
    if best is None:
        return "None"
    return ", ".join(f"{k}={_fmt(v)}" for k, v in best.items())


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else repr(v)
