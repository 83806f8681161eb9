"""hyperzoom: hyperparameter search on the right scale, coarse to fine, fast.

A compiled C++ core (sampling, designs, regions, schedulers) under a NumPy-first API.

Examples
--------
>>> import hyperzoom as hz
>>> space = hz.Space(
...     learning_rate=hz.LogUniform(1e-4, 1.0),
...     momentum=hz.InvLogUniform(0.9, 0.999),
... )
>>> configs = space.sample(1000, rng=20241128)
>>> configs["learning_rate"].shape
(1000,)
"""

from __future__ import annotations

try:
    from . import _core  # noqa: F401 - fail early, with a hint, if unbuilt
except ImportError as exc:  # pragma: no cover - only when the extension is missing
    msg = (
        "hyperzoom's compiled core (hyperzoom._core) could not be imported. Did you build "
        "it? Install with `pip install .` from the source tree (a C++17 compiler and "
        f"CMake are needed). Original error: {exc}"
    )
    raise ImportError(msg) from exc

from . import executors, plot
from ._version import __version__
from .babysit import Advice, Babysitter, Ledger
from .designs import (
    discrepancy,
    extend_lhs,
    grid,
    latin_hypercube,
    max_abs_correlation,
    min_distance,
    random_design,
)
from .importance import Importance, importance
from .region import Region
from .report import write_report
from .retest import RetestReport, load_retests, retest
from .schedule import (
    ScheduleResult,
    ScheduleTrials,
    asha,
    hyperband,
    hyperband_plan,
    pbt,
    successive_halving,
)
from .search import AllTrialsFailedError, CoarseToFine, SearchResult, Trials, search
from .space import (
    Choice,
    Configs,
    Distribution,
    Forbidden,
    IntLogUniform,
    IntUniform,
    InvLogUniform,
    LogUniform,
    PowerOfTwo,
    Space,
    Uniform,
)
from .storage import list_studies, load_study

__all__ = [
    "Advice",
    "AllTrialsFailedError",
    "Babysitter",
    "Choice",
    "CoarseToFine",
    "Configs",
    "Distribution",
    "Forbidden",
    "Importance",
    "IntLogUniform",
    "IntUniform",
    "InvLogUniform",
    "Ledger",
    "LogUniform",
    "PowerOfTwo",
    "Region",
    "RetestReport",
    "ScheduleResult",
    "ScheduleTrials",
    "SearchResult",
    "Space",
    "Trials",
    "Uniform",
    "__version__",
    "asha",
    "discrepancy",
    "executors",
    "extend_lhs",
    "grid",
    "hyperband",
    "hyperband_plan",
    "importance",
    "latin_hypercube",
    "list_studies",
    "load_retests",
    "load_study",
    "max_abs_correlation",
    "min_distance",
    "pbt",
    "plot",
    "random_design",
    "retest",
    "search",
    "successive_halving",
    "write_report",
]


def __dir__() -> list[str]:
    return __all__
