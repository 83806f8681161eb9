"""Tuning quality harness: real scikit-learn tuning and the bench's own problems.

    python bench/tuning_quality.py [--seeds 5] [--methods hz random tpe] [--jobs 2]
        [--parts tuning problems] [--out FILE] [--time] [--no-anytime]

Part ``tuning``: 3-fold cross-validated accuracy (``cross_val_score`` with
``StratifiedKFold(3, shuffle=True, random_state=0)``) of

- ``svc-digits``: ``SVC(C, gamma)`` on ``load_digits``, C ~ LogUniform(1e-2, 1e3),
  gamma ~ LogUniform(1e-5, 1e-1);
- ``hgb-cancer``: ``HistGradientBoostingClassifier`` on ``load_breast_cancer``,
  learning_rate ~ LogUniform(1e-3, 1), max_leaf_nodes ~ IntLogUniform(4, 128),
  min_samples_leaf ~ IntLogUniform(2, 64), l2_regularization ~ LogUniform(1e-6, 10);
  ``max_iter=50`` (not 100: at 100 iterations one 3-fold CV took up to 1.9 s here),
  ``early_stopping=False``;

at budgets 50 and 150, reporting the median best CV accuracy over seeds and hz's
per-seed wins/ties/losses against TPE. hz is ``hz.search(objective, space, budget=B,
rng=seed)`` with a scalar ``objective(**config)`` that returns the negative mean CV
accuracy; random is ``strategy="random"``; TPE is Optuna's ``TPESampler(seed=...)``
with the same scales (``log=True``; ``suggest_int(..., log=True)`` for the integers).

Part ``problems``: ``bench/problems.py``'s five problems at budgets 100, 500 and 2000
(TPE up to 500): median gap to the known optimum over seeds.

All methods are anytime here (one run at the largest budget, read at each budget by
trial id); ``--no-anytime`` runs hz and random once per budget instead. Best-so-far
curves are cached per method in ``bench/.cache/tuning-METHOD.npz``; ``--recompute``
(default: hz) names the methods whose cache is ignored, and ``--show`` the methods in
the tables (those not in ``--methods`` come from the cache only).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per job: --jobs sets the rest

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import hyperzoom as hz
from _peers import (
    METHOD_NAMES,
    CurveCache,
    add_method_options,
    as_configs,
    best_so_far,
    fmt_gap,
    hz_curve,
    job_seed,
    quiet_optuna,
    run_jobs,
    suggest,
)
from problems import PROBLEMS

ALL_METHODS = ["hz", "random", "tpe"]
TUNING_BUDGETS = [50, 150]
PROBLEM_BUDGETS = [100, 500, 2000]
TPE_MAX = 500
HGB_MAX_ITER = 50

# --- the two tuning tasks -------------------------------------------------------------

_DATA: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _cv() -> Any:
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name not in _DATA:
        from sklearn import datasets

        loader = {"digits": datasets.load_digits, "cancer": datasets.load_breast_cancer}
        _DATA[name] = loader[name](return_X_y=True)
    return _DATA[name]


def svc_objective(C: float, gamma: float) -> float:
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    X, y = _data("digits")
    model = SVC(C=float(C), gamma=float(gamma))
    return -float(np.mean(cross_val_score(model, X, y, cv=_cv())))


def hgb_objective(
    learning_rate: float,
    max_leaf_nodes: int,
    min_samples_leaf: int,
    l2_regularization: float,
) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import cross_val_score

    X, y = _data("cancer")
    model = HistGradientBoostingClassifier(
        learning_rate=float(learning_rate),
        max_leaf_nodes=int(max_leaf_nodes),
        min_samples_leaf=int(min_samples_leaf),
        l2_regularization=float(l2_regularization),
        max_iter=HGB_MAX_ITER,
        early_stopping=False,
        random_state=0,
    )
    return -float(np.mean(cross_val_score(model, X, y, cv=_cv())))


TASKS: dict[str, tuple[hz.Space, Any]] = {
    "svc-digits": (
        hz.Space(C=hz.LogUniform(1e-2, 1e3), gamma=hz.LogUniform(1e-5, 1e-1)),
        svc_objective,
    ),
    "hgb-cancer": (
        hz.Space(
            learning_rate=hz.LogUniform(1e-3, 1.0),
            max_leaf_nodes=hz.IntLogUniform(4, 128),
            min_samples_leaf=hz.IntLogUniform(2, 64),
            l2_regularization=hz.LogUniform(1e-6, 10.0),
        ),
        hgb_objective,
    ),
}
PROBLEM_BY_NAME = {p.name: p for p in PROBLEMS}


# --- one job: the values in evaluation order (losses; gaps for the problems) ---------


def run_job(method: str, part: str, name: str, seed: int, budget: int) -> np.ndarray:
    if part == "tuning":
        space, objective = TASKS[name]
        offset = 0.0
        words = (list(TASKS).index(name), seed)
    else:
        p = PROBLEM_BY_NAME[name]
        space, objective, offset = p.space, p.loss, p.optimum
        words = (100 + list(PROBLEM_BY_NAME).index(name), seed)
    rng = job_seed(*words)
    if method in ("hz", "random"):
        strategy = "coarse-to-fine" if method == "hz" else "random"
        result = hz.search(objective, space, budget=budget, rng=rng, strategy=strategy)
        values = hz_curve(result)
    else:
        optuna = quiet_optuna()
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=rng))
        values = np.empty(budget)
        for k in range(budget):
            trial = study.ask()
            row = suggest(trial, space)
            if part == "tuning":
                values[k] = objective(**row)
            else:
                values[k] = float(objective(as_configs(space, row))[0])
            study.tell(trial, float(values[k]))
    if values.size != budget:
        print(
            f"warning: {method} {name} seed {seed}: {values.size} evaluations "
            f"for a budget of {budget}",
            file=sys.stderr,
        )
    return best_so_far(values - offset)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    add_method_options(ap, ALL_METHODS)
    ap.add_argument(
        "--parts",
        nargs="+",
        default=["tuning", "problems"],
        choices=["tuning", "problems"],
    )
    ap.add_argument("--tuning-budgets", type=int, nargs="+", default=TUNING_BUDGETS)
    ap.add_argument("--problem-budgets", type=int, nargs="+", default=PROBLEM_BUDGETS)
    ap.add_argument("--tpe-max-budget", type=int, default=TPE_MAX)
    ap.add_argument("--no-anytime", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache-dir", type=Path, default=Path(__file__).parent / ".cache")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    show = args.show if args.show is not None else ALL_METHODS
    cache_dir = None if args.no_cache else args.cache_dir
    caches = {
        m: CurveCache(cache_dir, "tuning", m) for m in set(args.methods) | set(show)
    }
    sep = {"hz", "random"} if args.no_anytime else set()
    seeds = list(range(args.seeds))
    names = {"tuning": list(TASKS), "problems": list(PROBLEM_BY_NAME)}
    part_budgets = {
        "tuning": sorted(args.tuning_budgets),
        "problems": sorted(args.problem_budgets),
    }

    def budgets_for(method: str, part: str) -> list[int]:
        bs = part_budgets[part]
        return [b for b in bs if method != "tpe" or b <= args.tpe_max_budget]

    def key(name: str, seed: int, budget: int | None = None) -> str:
        return f"{name}_s{seed}" + ("" if budget is None else f"_sep{budget}")

    todo = []
    for m in args.methods:
        for part in args.parts:
            bs = budgets_for(m, part)
            for name in names[part]:
                for s in seeds:
                    for b in bs if m in sep else [max(bs)]:
                        k = key(name, s, b if m in sep else None)
                        if m in (args.recompute or []) or caches[m].get(k, b) is None:
                            todo.append((m, part, name, s, b))
    cost = {"hz": 1.0, "random": 1.0, "tpe": 1.5}
    todo.sort(key=lambda j: -(cost[j[0]] * j[4] * (30 if j[1] == "tuning" else 0.01)))
    # Import the peers' packages and the data once, before the pool forks.
    if any(m == "tpe" for m, *_ in todo):
        quiet_optuna()
    if "tuning" in args.parts:
        import sklearn.ensemble
        import sklearn.svm

        del sklearn  # imported for the workers to inherit

        for data in ("digits", "cancer"):
            _data(data)
    print(f"{len(todo)} jobs to run on {args.jobs} processes", file=sys.stderr)
    t0 = last = time.perf_counter()
    for n, ((m, _part, name, s, b), curve, sec) in enumerate(
        run_jobs(run_job, todo, args.jobs), 1
    ):
        caches[m].put(key(name, s, b if m in sep else None), curve, -1, sec)
        now = time.perf_counter()
        if now - last > 30 or n == len(todo):
            for c in caches.values():
                c.save()
            last = now
            print(f"  {n}/{len(todo)} jobs, {now - t0:.0f} s", file=sys.stderr)

    def value(m: str, name: str, s: int, b: int) -> float:
        c = caches[m].get(key(name, s, b if m in sep else None), b)
        return math.nan if c is None else c.at(b)

    seconds: dict[tuple[str, str], float] = defaultdict(float)
    out = ["# Tuning quality", ""]
    cols = [METHOD_NAMES[m] for m in show]
    mode = (
        "one run per budget (--no-anytime)"
        if args.no_anytime
        else "one run at the largest budget, read at each budget"
    )
    for part in args.parts:
        if part == "tuning":
            out += [
                (
                    "## scikit-learn tuning: median best 3-fold CV accuracy (higher "
                    f"is better) over {args.seeds} seeds"
                ),
                "",
                (
                    "svc-digits: SVC(C, gamma) on load_digits; hgb-cancer: "
                    f"HistGradientBoostingClassifier(max_iter={HGB_MAX_ITER}, "
                    "early_stopping=False) on load_breast_cancer. "
                    f"hz/random: {mode}. 'hz vs TPE' counts seeds won/tied/lost."
                ),
                "",
                "| task | budget | " + " | ".join(cols) + " | hz vs TPE |",
                "|---" * (len(cols) + 3) + "|",
            ]
        else:
            out += [
                (
                    "## bench/problems.py: median gap to the optimum (lower is better) "
                    f"over {args.seeds} seeds (TPE up to budget {args.tpe_max_budget})"
                ),
                "",
                "| problem | budget | " + " | ".join(cols) + " |",
                "|---" * (len(cols) + 2) + "|",
            ]
        for name in names[part]:
            for b in part_budgets[part]:
                per = {m: [value(m, name, s, b) for s in seeds] for m in show}
                meds = {}
                for m, v in per.items():
                    v = [x for x in v if not math.isnan(x)]
                    meds[m] = float(np.median(v)) if v else math.nan
                if part == "tuning":
                    meds = {m: -v for m, v in meds.items()}
                    finite = [v for v in meds.values() if not math.isnan(v)]
                    best = max(finite) if finite else math.nan
                    cells = [
                        (
                            "–"
                            if math.isnan(v)
                            else (f"**{v:.4f}**" if v >= best else f"{v:.4f}")
                        )
                        for v in meds.values()
                    ]
                    wtl = "–"
                    if "hz" in per and "tpe" in per:
                        pairs = [
                            (h, t)
                            for h, t in zip(per["hz"], per["tpe"])
                            if not (math.isnan(h) or math.isnan(t))
                        ]
                        if pairs:
                            w = sum(h < t for h, t in pairs)  # losses: lower is better
                            tie = sum(h == t for h, t in pairs)
                            wtl = f"{w}/{tie}/{len(pairs) - w - tie}"
                    out.append(f"| {name} | {b} | " + " | ".join(cells) + f" | {wtl} |")
                else:
                    floor = [max(v, 1e-8) for v in meds.values() if not math.isnan(v)]
                    best = min(floor) if floor else math.nan
                    cells = [
                        (
                            "–"
                            if math.isnan(v)
                            else (
                                f"**{fmt_gap(v)}**"
                                if max(v, 1e-8) <= best
                                else fmt_gap(v)
                            )
                        )
                        for v in meds.values()
                    ]
                    out.append(f"| {name} | {b} | " + " | ".join(cells) + " |")
            for m in show:
                for s in seeds:
                    bs = budgets_for(m, part)
                    for b in bs if m in sep else [max(bs)]:
                        t = caches[m].seconds(key(name, s, b if m in sep else None))
                        seconds[m, part] += 0.0 if math.isnan(t) else t
        out.append("")
    if args.time:
        out += [
            "## Seconds per method (sum over jobs)",
            "",
            "| method | " + " | ".join(args.parts) + " |",
            "|---" * (len(args.parts) + 1) + "|",
        ]
        out += [
            f"| {METHOD_NAMES[m]} | "
            + " | ".join(f"{seconds[m, p]:.1f}" for p in args.parts)
            + " |"
            for m in show
        ]
        out.append("")
    text = "\n".join(out)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
