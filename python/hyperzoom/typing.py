"""Public type aliases."""

from __future__ import annotations

from typing import Union

import numpy as np

__all__ = ["RngLike"]

#: What every ``rng=`` argument accepts (:func:`numpy.random.default_rng` semantics).
RngLike = Union[int, np.integer, np.random.SeedSequence, np.random.Generator, None]
