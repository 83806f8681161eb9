"""CoarseToFineSearchCV beside RandomizedSearchCV at the same n_iter.

    python bench/sklearn_adapter.py [--seeds 10] [--n-iter 30] [--jobs 2]
        [--tasks svc-digits hgb-cancer ridge-diabetes] [--out FILE]

Three tasks on scikit-learn's bundled data sets, 3-fold CV with fixed shuffled folds
(``StratifiedKFold(3, shuffle=True, random_state=0)``; ``KFold`` for regression):

- ``svc-digits``: ``SVC`` on ``load_digits``, C ~ LogUniform(1e-2, 1e3), gamma ~
  LogUniform(1e-5, 1e-1) (accuracy);
- ``hgb-cancer``: ``HistGradientBoostingClassifier(max_iter=50, early_stopping=False)``
  on ``load_breast_cancer``, learning_rate ~ LogUniform(1e-3, 1), max_leaf_nodes ~
  IntLogUniform(4, 128), min_samples_leaf ~ IntLogUniform(2, 64), l2_regularization ~
  LogUniform(1e-6, 10) (accuracy);
- ``ridge-diabetes``: ``Pipeline([StandardScaler(), Ridge()])`` on ``load_diabetes`` with
  two alternatives, ``{"model": [Ridge()], "model__alpha": LogUniform(1e-3, 1e3)}`` and
  ``{"model": [KernelRidge(kernel="rbf")], "model__alpha": LogUniform(1e-4, 10),
  "model__gamma": LogUniform(1e-4, 1)}`` (R²).

Both searches get the same hyperzoom distributions (RandomizedSearchCV draws them through
their ``rvs``) and ``random_state=seed``; the table reports the median over seeds of the
best mean CV score, the seeds won/tied/lost, and the time per candidate spent outside
fitting and scoring (wall time of ``fit`` minus the fit and score times of every split
and the refit; fits run one at a time, ``n_jobs=1``), beside the time of the adapter's
own ``ask``/``tell`` per candidate.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per job: --jobs sets the rest
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

import hyperzoom as hz

TASKS = ("svc-digits", "hgb-cancer", "ridge-diabetes")


def task(name: str) -> tuple[Any, Any, Any, Any, Any]:
    """Return (estimator, distributions, X, y, cv) of a task."""
    from sklearn import datasets
    from sklearn.model_selection import KFold, StratifiedKFold

    if name == "svc-digits":
        from sklearn.svm import SVC

        X, y = datasets.load_digits(return_X_y=True)
        dists = {"C": hz.LogUniform(1e-2, 1e3), "gamma": hz.LogUniform(1e-5, 1e-1)}
        return SVC(), dists, X, y, StratifiedKFold(3, shuffle=True, random_state=0)
    if name == "hgb-cancer":
        from sklearn.ensemble import HistGradientBoostingClassifier

        X, y = datasets.load_breast_cancer(return_X_y=True)
        dists = {
            "learning_rate": hz.LogUniform(1e-3, 1.0),
            "max_leaf_nodes": hz.IntLogUniform(4, 128),
            "min_samples_leaf": hz.IntLogUniform(2, 64),
            "l2_regularization": hz.LogUniform(1e-6, 10.0),
        }
        est = HistGradientBoostingClassifier(max_iter=50, early_stopping=False)
        return est, dists, X, y, StratifiedKFold(3, shuffle=True, random_state=0)
    if name == "ridge-diabetes":
        from sklearn.kernel_ridge import KernelRidge
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        X, y = datasets.load_diabetes(return_X_y=True)
        pipe = Pipeline([("scale", StandardScaler()), ("model", Ridge())])
        alts = [
            {"model": [Ridge()], "model__alpha": hz.LogUniform(1e-3, 1e3)},
            {
                "model": [KernelRidge(kernel="rbf")],
                "model__alpha": hz.LogUniform(1e-4, 10.0),
                "model__gamma": hz.LogUniform(1e-4, 1.0),
            },
        ]
        return pipe, alts, X, y, KFold(3, shuffle=True, random_state=0)
    raise ValueError(name)


def run(args: tuple[str, str, int, int]) -> dict[str, Any]:
    """One search: its best score and its time outside fitting, per candidate."""
    from sklearn.model_selection import RandomizedSearchCV

    from hyperzoom.sklearn import CoarseToFineSearchCV

    name, method, seed, n_iter = args
    est, dists, X, y, cv = task(name)
    cls = CoarseToFineSearchCV if method == "hz" else RandomizedSearchCV
    search = cls(est, dists, n_iter=n_iter, cv=cv, random_state=seed, n_jobs=1)
    start = time.perf_counter()
    search.fit(X, y)
    wall = time.perf_counter() - start
    res = search.cv_results_
    splits = search.n_splits_
    inside = float(np.sum(res["mean_fit_time"] + res["mean_score_time"]) * splits)
    inside += search.refit_time_
    out = {
        "task": name,
        "method": method,
        "seed": seed,
        "best": float(search.best_score_),
        "outside": (wall - inside) / n_iter,
        "wall": wall,
    }
    if method == "hz":
        out["ask_tell"] = ask_tell_time(search.plan_.space, n_iter, seed)
    return out


def ask_tell_time(space: hz.Space, n_iter: int, seed: int, repeat: int = 5) -> float:
    """Seconds per candidate of CoarseToFine's ask and tell alone (dummy scores)."""
    best = np.inf
    for _ in range(repeat):
        opt = hz.CoarseToFine(space, budget=n_iter, minimize=False, rng=seed)
        start = time.perf_counter()
        while not opt.done:
            c = opt.ask()
            opt.tell(c, np.arange(len(c), dtype=np.float64))
        best = min(best, time.perf_counter() - start)
    return best / n_iter


def table(rows: list[dict[str, Any]], n_iter: int, seeds: int) -> str:
    """The Markdown table of the results."""
    lines = [
        (
            f"n_iter = {n_iter}, {seeds} seeds, 3-fold CV; median best mean CV score "
            "(higher is better); time per candidate outside fitting and scoring "
            "(median over seeds)."
        ),
        "",
        (
            "| task | RandomizedSearchCV | CoarseToFineSearchCV | hz vs random, seeds "
            "won/tied/lost | outside fits, random | outside fits, hz | hz / random | "
            "ask+tell, hz |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(r["task"] for r in rows):
        by = {
            m: sorted(
                (r for r in rows if r["task"] == name and r["method"] == m),
                key=lambda r: r["seed"],
            )
            for m in ("random", "hz")
        }
        rnd = np.array([r["best"] for r in by["random"]])
        ours = np.array([r["best"] for r in by["hz"]])
        won = int(np.sum(ours > rnd + 1e-12))
        lost = int(np.sum(ours < rnd - 1e-12))
        tied = len(ours) - won - lost
        med_r, med_h = np.median(rnd), np.median(ours)
        bold = [
            f"**{v:.4f}**" if v == max(med_r, med_h) else f"{v:.4f}"
            for v in (med_r, med_h)
        ]
        o_r = np.median([r["outside"] for r in by["random"]])
        o_h = np.median([r["outside"] for r in by["hz"]])
        at = np.median([r["ask_tell"] for r in by["hz"]])
        lines.append(
            f"| {name} | {bold[0]} | {bold[1]} | {won}/{tied}/{lost} | "
            f"{o_r * 1e3:.2f} ms | {o_h * 1e3:.2f} ms | {o_h / o_r:.2f}x | "
            f"{at * 1e6:.0f} µs |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--n-iter", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = [
        (name, method, seed, args.n_iter)
        for name in args.tasks
        for seed in range(args.seeds)
        for method in ("random", "hz")
    ]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(run, work))
    text = table(rows, args.n_iter, args.seeds)
    import platform

    import sklearn

    note = (
        f"\n\n{platform.machine()}, hyperzoom {hz.__version__}, scikit-learn "
        f"{sklearn.__version__}, {args.jobs} jobs; the run took "
        f"{time.perf_counter() - start:.0f} s.\n"
    )
    print(text + note)
    if args.out:
        args.out.write_text(
            "# scikit-learn adapter: CoarseToFineSearchCV vs RandomizedSearchCV\n\n"
            f"`python bench/sklearn_adapter.py --seeds {args.seeds} --n-iter "
            f"{args.n_iter} --jobs {args.jobs}`\n\n" + text + note,
            encoding="utf-8",
        )


if __name__ == "__main__":
    sys.exit(main())
