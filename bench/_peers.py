"""Helpers shared by bench/bbob.py and bench/tuning_quality.py.

- ``suggest``: an hz ``Space`` as Optuna parameters (the mapping of
  ``search_quality.run_optuna``), so that every peer searches the same scales;
- ``CurveCache``: per-method NPZ caches of best-so-far curves, stored as the
  change points of the curve (so a 20,000-evaluation curve costs a few hundred numbers);
- ``run_jobs``: a process pool (``--jobs``) that yields results as they come;
- ``job_seed``, ``best_so_far``, ``hz_curve``: seeds and curves, the same way for all.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

import hyperzoom as hz

METHOD_NAMES = {
    "hz": "hz",
    "random": "random",
    "tpe": "TPE",
    "optuna-cma": "optuna-CMA",
    "cma": "cma-es",
}


def job_seed(*words: int) -> int:
    """A 32-bit seed from integer words (the same job gets the same seed everywhere)."""
    ss = np.random.SeedSequence([0x6A09E667F3BCC908, *words])
    return int(ss.generate_state(1, dtype=np.uint32)[0]) or 1


def quiet_optuna() -> Any:
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # CmaEsSampler warns about its independent first trial; nothing to act on here.
    warnings.filterwarnings("ignore", category=UserWarning, module="optuna")
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def suggest(trial: Any, space: hz.Space) -> dict[str, Any]:
    """Ask an Optuna trial for one configuration of ``space`` (values in hz's units)."""
    row: dict[str, Any] = {}
    for name, dist in space.items():
        if not _active(getattr(dist, "conditions", None), row):
            continue  # define-by-run: an inactive parameter is never suggested
        if isinstance(dist, hz.Choice):
            row[name] = trial.suggest_categorical(name, list(dist.options))
        elif isinstance(dist, hz.LogUniform):
            row[name] = trial.suggest_float(name, dist.low, dist.high, log=True)
        elif isinstance(dist, hz.InvLogUniform):
            # Optuna has no 1-x scale: the closest is a log scale on 1 - x.
            c = trial.suggest_float(name + "_1m", 1 - dist.high, 1 - dist.low, log=True)
            row[name] = 1 - c
        elif isinstance(dist, hz.IntLogUniform):
            row[name] = trial.suggest_int(name, dist.low, dist.high, log=True)
        elif isinstance(dist, hz.PowerOfTwo):
            e0, e1 = dist.exponents
            row[name] = 2 ** trial.suggest_int(name + "_log2", e0, e1)
        elif isinstance(dist, hz.IntUniform):
            row[name] = trial.suggest_int(name, dist.low, dist.high)
        else:
            row[name] = trial.suggest_float(name, dist.low, dist.high)
    return row


def _active(conditions: Any, row: dict[str, Any]) -> bool:
    """Whether ``.when`` conditions hold for the parents suggested so far.

    Options (one or a list) for choice parents, a ``(low, high)`` range otherwise;
    enough for the benches' spaces, whose parents come first.
    """
    for parent, want in (conditions or {}).items():
        if parent not in row:
            return False
        value = row[parent]
        if isinstance(want, tuple) and len(want) == 2 and not isinstance(value, str):
            if not want[0] <= value <= want[1]:
                return False
        elif value not in (want if isinstance(want, (list, range)) else [want]):
            return False
    return True


def as_configs(space: hz.Space, row: dict[str, Any]) -> hz.Configs:
    """One configuration as a one-row ``Configs`` (for vectorised losses)."""
    return space.from_unit(space.to_unit({k: [v] for k, v in row.items()}))


def best_so_far(values: np.ndarray) -> np.ndarray:
    """Running minimum that skips NaN (failed trials); NaN until the first success."""
    return np.fmin.accumulate(np.asarray(values, dtype=np.float64))


def hz_curve(result: hz.SearchResult) -> np.ndarray:
    """The trial values of a search in the order they were asked (by trial id)."""
    order = np.argsort(result.trials.id, kind="stable")
    return np.asarray(result.trials.value, dtype=np.float64)[order]


# --- the cache -----------------------------------------------------------------------


def _compress(curve: np.ndarray) -> np.ndarray:
    """Best-so-far ``curve`` as rows [index, value] where it changes; row 0 is [n, nan]."""
    curve = np.asarray(curve, dtype=np.float64)
    n = curve.size
    if n == 0:
        return np.array([[0.0, math.nan]])
    prev = np.concatenate([[math.nan], curve[:-1]])
    change = ~((curve == prev) | (np.isnan(curve) & np.isnan(prev)))
    idx = np.flatnonzero(change)
    return np.vstack([[n, math.nan], np.column_stack([idx, curve[idx]])])


class Curve:
    """A stored best-so-far curve: ``at(b)`` is the best of the first ``b`` values."""

    def __init__(self, packed: np.ndarray) -> None:
        self.n = int(packed[0, 0])
        self._idx = packed[1:, 0]
        self._val = packed[1:, 1]

    def at(self, b: int) -> float:
        if b > self.n:
            return math.nan
        k = int(np.searchsorted(self._idx, b - 1, side="right")) - 1
        return float(self._val[k]) if k >= 0 else math.nan


class CurveCache:
    """``{key: curve}`` for one method, in ``DIR/PREFIX-METHOD.npz``.

    Keys carry the whole job (``f08_d05_i03``). Entries also keep the job's seconds
    (``t:KEY``) and the evaluation at which the method broke down (``x:KEY``, -1 when
    it did not). ``save`` merges with what is on disk, so two processes that run
    different methods (one file each) never lose each other's work.
    """

    def __init__(self, directory: Path | None, prefix: str, method: str) -> None:
        self.path = None if directory is None else directory / f"{prefix}-{method}.npz"
        self.data: dict[str, np.ndarray] = {}
        self._dirty = False
        if self.path is not None and self.path.exists():
            with np.load(self.path) as z:
                self.data = {k: z[k] for k in z.files}

    def get(self, key: str, need: int) -> Curve | None:
        packed = self.data.get(key)
        if packed is None:
            return None
        curve = Curve(packed)
        return curve if curve.n >= need else None

    def seconds(self, key: str) -> float:
        t = self.data.get("t:" + key)
        return math.nan if t is None else float(t[0])

    def broke(self, key: str) -> int:
        """The evaluation at which the method broke down in this job (-1: it did not)."""
        b = self.data.get("x:" + key)
        return -1 if b is None else int(b[0])

    def put(self, key: str, curve: np.ndarray, broke: int, seconds: float) -> None:
        self.data[key] = _compress(curve)
        self.data["t:" + key] = np.array([seconds])
        self.data["x:" + key] = np.array([broke])
        self._dirty = True

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        merged: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as z:
                merged = {k: z[k] for k in z.files}
        merged.update(self.data)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}.npz")
        arrays: dict[str, Any] = merged
        np.savez(tmp, **arrays)
        os.replace(tmp, self.path)
        self._dirty = False


# --- running jobs --------------------------------------------------------------------


def _timed(args: tuple[Callable[..., Any], tuple[Any, ...]]) -> tuple[Any, float]:
    fn, a = args
    t = time.perf_counter()
    out = fn(*a)
    return out, time.perf_counter() - t


def run_jobs(
    fn: Callable[..., Any], jobs: Iterable[tuple[Any, ...]], n_procs: int
) -> Iterator[tuple[tuple[Any, ...], Any, float]]:
    """Yield ``(args, fn(*args), seconds)`` for every job, in completion order."""
    jobs = list(jobs)
    if n_procs <= 1 or len(jobs) <= 1:
        for a in jobs:
            out, sec = _timed((fn, a))
            yield a, out, sec
        return
    import multiprocessing as mp

    with mp.get_context("fork").Pool(n_procs, maxtasksperchild=50) as pool:
        results = pool.imap_unordered(_tagged, [(i, fn, a) for i, a in enumerate(jobs)])
        for i, out, sec in results:
            yield jobs[i], out, sec


def _tagged(
    item: tuple[int, Callable[..., Any], tuple[Any, ...]],
) -> tuple[int, Any, float]:
    i, fn, a = item
    out, sec = _timed((fn, a))
    return i, out, sec


def fmt_gap(x: float) -> str:
    if math.isnan(x):
        return "–"
    return f"{x:.3g}"


def add_method_options(ap: Any, methods: list[str]) -> None:
    """Add --methods, --show and --recompute (shared by the quality harnesses)."""
    ap.add_argument(
        "--methods",
        nargs="*",
        default=methods,
        choices=methods,
        help="methods to run where not cached (none: tables from the cache only)",
    )
    ap.add_argument(
        "--show",
        nargs="*",
        default=None,
        choices=methods,
        help="methods in the tables (default: all; those not run come from the cache)",
    )
    ap.add_argument(
        "--recompute",
        nargs="*",
        default=["hz"],
        choices=methods,
        help="methods whose cached results are ignored (default: hz)",
    )
