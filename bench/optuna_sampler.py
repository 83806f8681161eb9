"""CoarseToFineSampler against Optuna's TPESampler and RandomSampler, in Optuna studies.

    python bench/optuna_sampler.py [--seeds 10] [--budgets 100 500] [--jobs 2]
        [--problems practice bbob-f10 bbob-f15] [--out bench/results/optuna-sampler.md]

Every sampler runs the same study objective, ``study.optimize(objective, n_trials=B)``
with the largest budget B (none of the three samplers depends on ``n_trials``, so the
best of the first b trials is the result of budget b), one study per (problem, sampler,
seed), in-memory storage, seeds 0..S-1.

Problems
--------
practice
    The practice's scales, 6 parameters: the learning rate (log, 1e-5..1), momentum β in
    [0.9, 0.999] (hz: ``InvLogUniform``, on 1-β), layers 1..8, batch size 16..1024
    (powers of two), weight decay (log, 1e-6..1e-1), dropout 0..0.5. The loss is a
    quadratic bowl on those scaled axes with the usual coupling (the best learning rate
    grows with the batch size, and with momentum), minimum 0.
bbob-fN
    COCO's BBOB function fN from ``ioh`` at d = 5 on [-5, 5]^5, instance = seed + 1;
    the value reported is the gap to the optimum.

Samplers
--------
hz
    ``CoarseToFineSampler(space, seed=seed)`` (defaults). Its objective suggests each
    parameter as ``space.to_optuna(inv_log="linear")`` says: momentum with a linear
    ``suggest_float`` (the sampler draws it on the 1-β axis), batch size with
    ``suggest_categorical`` of the powers.
tpe, random
    ``TPESampler(seed=seed)`` and ``RandomSampler(seed=seed)`` with their defaults. Their
    objective suggests on the same scales (``_peers.suggest``): 1-β with ``log=True``,
    the batch size's exponent with ``suggest_int``.

Sampler time is measured inside the study: a proxy sampler times every call Optuna
makes to the sampler (``before_trial``, ``infer_relative_search_space``,
``sample_relative``, ``sample_independent``, ``after_trial``), including the storage
writes the sampler makes itself; the table gives the median per trial, over every
trial of every seed, at trials 1..100 and 401..500.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import optuna

import hyperzoom as hz
from _peers import quiet_optuna, suggest

PRACTICE = hz.Space(
    lr=hz.LogUniform(1e-5, 1.0),
    momentum=hz.InvLogUniform(0.9, 0.999),
    layers=hz.IntUniform(1, 8),
    batch=hz.PowerOfTwo(16, 1024),
    weight_decay=hz.LogUniform(1e-6, 1e-1),
    dropout=hz.Uniform(0.0, 0.5),
)
BBOB_D = 5


def practice_loss(c: dict[str, Any]) -> float:
    b = math.log2(c["batch"]) - 7  # 128 at the centre
    m = math.log10(1 - c["momentum"]) + 2  # β = 0.99
    a = math.log10(c["lr"]) + 2.5 - 0.15 * b + 0.4 * m  # coupled learning rate
    return (
        a**2
        + 0.5 * m**2
        + 0.04 * b**2
        + 0.05 * (c["layers"] - 4) ** 2
        + 0.1 * (math.log10(c["weight_decay"]) + 4) ** 2
        + 2.0 * (c["dropout"] - 0.15) ** 2
    )


def suggest_hz(trial: Any, space: hz.Space) -> dict[str, Any]:
    """Suggest every parameter as the sampler's relative search space describes it."""
    out: dict[str, Any] = {}
    for name, d in space.to_optuna(inv_log="linear").items():
        cls = type(d).__name__
        if cls == "CategoricalDistribution":
            out[name] = trial.suggest_categorical(name, list(d.choices))
        elif cls == "IntDistribution":
            out[name] = trial.suggest_int(name, d.low, d.high, log=d.log)
        else:
            out[name] = trial.suggest_float(name, d.low, d.high, log=d.log)
    return out


def make_problem(problem: str, seed: int) -> tuple[hz.Space, Any, float]:
    """(space, loss of a config dict, optimum)."""
    if problem == "practice":
        return PRACTICE, practice_loss, 0.0
    import ioh

    fid = int(problem.split("-f")[1])
    p = ioh.get_problem(
        fid, instance=seed + 1, dimension=BBOB_D, problem_class=ioh.ProblemClass.BBOB
    )
    space = hz.Space(**{f"x{i}": hz.Uniform(-5.0, 5.0) for i in range(BBOB_D)})

    def loss(c: dict[str, Any]) -> float:
        return float(p([c[f"x{i}"] for i in range(BBOB_D)]))

    return space, loss, float(p.optimum.y)


class TimedSampler(optuna.samplers.BaseSampler):
    """Delegates every call to ``inner`` and adds its time to the trial's."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.spent: dict[int, float] = defaultdict(float)

    def _timed(self, trial: Any, call: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.spent[trial.number] += time.perf_counter() - t0

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()

    def before_trial(self, study: Any, trial: Any) -> None:
        self._timed(trial, self.inner.before_trial, study, trial)

    def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
        return self._timed(trial, self.inner.infer_relative_search_space, study, trial)

    def sample_relative(self, study: Any, trial: Any, space: Any) -> Any:
        return self._timed(trial, self.inner.sample_relative, study, trial, space)

    def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
        call = self.inner.sample_independent
        return self._timed(trial, call, study, trial, name, dist)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        self._timed(trial, self.inner.after_trial, study, trial, state, values)


def run(job: tuple[str, str, int, int]) -> tuple[str, str, int, np.ndarray, np.ndarray]:
    problem, method, seed, budget = job
    quiet_optuna()
    from hyperzoom.optuna import CoarseToFineSampler

    space, loss, optimum = make_problem(problem, seed)
    if method == "hz":
        inner: Any = CoarseToFineSampler(space, seed=seed)
    elif method == "tpe":
        inner = optuna.samplers.TPESampler(seed=seed)
    else:
        inner = optuna.samplers.RandomSampler(seed=seed)
    sampler = TimedSampler(inner)
    study = optuna.create_study(sampler=sampler)

    def objective(trial: Any) -> float:
        c = suggest_hz(trial, space) if method == "hz" else suggest(trial, space)
        return loss(c)

    study.optimize(objective, n_trials=budget)
    values = np.array([t.value for t in study.trials], dtype=np.float64) - optimum
    spent = np.array([sampler.spent[t.number] for t in study.trials])
    return problem, method, seed, values, spent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 500])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--problems", nargs="+", default=["practice", "bbob-f10", "bbob-f15"]
    )
    ap.add_argument("--methods", nargs="+", default=["hz", "tpe", "random"])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    top = max(args.budgets)
    jobs = [
        (p, m, s, top)
        for p in args.problems
        for s in range(args.seeds)
        for m in args.methods
    ]
    curves: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    spent: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        for problem, method, _seed, values, secs in pool.map(run, jobs):
            curves[problem, method].append(np.fmin.accumulate(values))
            spent[problem, method].append(secs)
    wall = time.perf_counter() - t0

    lines = [
        (
            f"Seeds 0..{args.seeds - 1}; budgets {args.budgets}; problems "
            f"{args.problems}; {wall:.0f} s on {args.jobs} processes; Optuna "
            f"{quiet_optuna().__version__}."
        ),
        "",
        (
            "Median over seeds of the best value (gap to the optimum) after b trials "
            "(lower is better), and the ratio of TPE's and random's to hz's (> 1: hz "
            "better):"
        ),
        "",
    ]
    head = "| problem | b | hz | TPE | random | TPE / hz | random / hz |"
    lines += [head, "|---|---|---|---|---|---|---|"]
    for p in args.problems:
        for b in args.budgets:
            med = {
                m: float(np.median([c[b - 1] for c in curves[p, m]]))
                for m in args.methods
            }
            r_tpe = med.get("tpe", math.nan) / med["hz"] if med.get("hz") else math.nan
            r_rnd = (
                med.get("random", math.nan) / med["hz"] if med.get("hz") else math.nan
            )
            lines.append(
                f"| {p} | {b} | {med.get('hz', math.nan):.3g} | "
                f"{med.get('tpe', math.nan):.3g} | {med.get('random', math.nan):.3g} | "
                f"{r_tpe:.3g} | {r_rnd:.3g} |"
            )
    lines += [
        "",
        (
            "Sampler time per trial (median over every trial of every seed and problem; "
            "all calls Optuna makes to the sampler, with the sampler's own storage writes):"
        ),
        "",
        "| sampler | trials 1-100 | trials 401-500 | ratio to hz (401-500) |",
        "|---|---|---|---|",
    ]
    per: dict[str, tuple[float, float]] = {}
    for m in args.methods:
        rows = [s for p in args.problems for s in spent[p, m]]
        early = float(np.median(np.concatenate([s[:100] for s in rows])))
        late_rows = [s[400:500] for s in rows if s.size >= 500]
        late = float(np.median(np.concatenate(late_rows))) if late_rows else math.nan
        per[m] = (early, late)
    for m in args.methods:
        early, late = per[m]
        ratio = late / per["hz"][1] if "hz" in per else math.nan
        lines.append(
            f"| {m} | {early * 1e6:.0f} µs | {late * 1e6:.0f} µs | {ratio:.3g}x |"
        )
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        head = (
            "# Optuna sampler: CoarseToFineSampler, TPE and random in Optuna studies\n\n"
            f"`python bench/optuna_sampler.py {' '.join(sys.argv[1:])}`\n\n"
        )
        args.out.write_text(head + text + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
