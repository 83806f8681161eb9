"""Coarse to fine on a conditional space, beside Optuna's TPE and random search.

    python bench/conditional_search.py [--seeds 10] [--budgets 100,300,1000] [--out FILE.md]

The problem is the shape of a real pipeline: an optimizer choice (SGD, Adam, RMSprop)
whose own parameters exist only on its branch (momentum for SGD, beta2 for Adam), a
learning rate on a log axis, layers 1..4 and the width of the third layer only when it
exists. The best branch is the second option (Adam with 3 layers of 128 units), so a
search that favours the first branch is punished. Each method gets the same budget of
evaluations per seed; the table reports the median best loss over seeds and the wall
time per trial of the method (objective included: it is a few microseconds).

- hyperzoom: ``hz.search`` (coarse to fine inside each branch, shares by rank);
- Optuna's ``TPESampler`` (define-by-run: the objective suggests only the active
  parameters, which is how Optuna users write conditional spaces), seeded per seed;
- random search: ``hz.search(strategy="random")`` on the same conditional space.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

import numpy as np

import hyperzoom as hz

SPACE = hz.Space(
    optimizer=hz.Choice(["sgd", "adam", "rmsprop"]),
    lr=hz.LogUniform(1e-5, 1.0),
    momentum=hz.InvLogUniform(0.9, 0.999).when(optimizer="sgd"),
    beta2=hz.InvLogUniform(0.99, 0.9999).when(optimizer="adam"),
    layers=hz.IntUniform(1, 4),
    width_3=hz.IntLogUniform(16, 1024).when(layers=[3, 4]),
)


def loss(optimizer, lr, layers, momentum=None, beta2=None, width_3=None):
    """Best (0) with Adam, lr = 1e-3, beta2 = 0.999, 3 layers of 128 units."""
    base = (math.log10(lr) + 3) ** 2 + 0.1 * (layers - 3) ** 2
    if optimizer == "sgd":
        return base + 0.5 + (math.log10(1 - momentum) + 2) ** 2
    if optimizer == "adam":
        extra = 0.0 if width_3 is None else 0.1 * (math.log2(width_3) - 7) ** 2
        return (
            base
            + (math.log10(1 - beta2) + 3) ** 2
            + extra
            + (0.3 if layers < 3 else 0.0)
        )
    return base + 0.2


def run_hz(budget: int, seed: int, strategy: str) -> tuple[float, float]:
    t = time.perf_counter()
    r = hz.search(loss, SPACE, budget=budget, rng=seed, strategy=strategy)
    return r.best_value, time.perf_counter() - t


def run_tpe(budget: int, seed: int) -> tuple[float, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial):
        opt = trial.suggest_categorical("optimizer", ["sgd", "adam", "rmsprop"])
        lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
        layers = trial.suggest_int("layers", 1, 4)
        kw = {}
        if opt == "sgd":  # 1 - momentum on a log axis: Optuna's way to get near 1
            kw["momentum"] = 1 - trial.suggest_float(
                "one_minus_momentum", 1e-3, 0.1, log=True
            )
        if opt == "adam":
            kw["beta2"] = 1 - trial.suggest_float(
                "one_minus_beta2", 1e-4, 1e-2, log=True
            )
        if layers >= 3:
            kw["width_3"] = trial.suggest_int("width_3", 16, 1024, log=True)
        return loss(opt, lr, layers, **kw)

    t = time.perf_counter()
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=budget)
    return study.best_value, time.perf_counter() - t


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budgets", default="100,300,1000")
    parser.add_argument(
        "--tpe-max", type=int, default=300, help="largest budget TPE runs"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    budgets = [int(b) for b in args.budgets.split(",")]
    rows = [
        (
            "| budget | hz coarse to fine | Optuna TPE | hz random | TPE / hz | random / hz | "
            "hz better than TPE (seeds) | time per trial: hz, TPE |"
        ),
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for b in budgets:
        hz_v, hz_t, rnd_v, tpe_v, tpe_t = [], [], [], [], []
        for s in range(args.seeds):
            v, t = run_hz(b, s, "coarse-to-fine")
            hz_v.append(v)
            hz_t.append(t / b)
            rnd_v.append(run_hz(b, s, "random")[0])
            if b <= args.tpe_max:
                v, t = run_tpe(b, s)
                tpe_v.append(v)
                tpe_t.append(t / b)
        med = statistics.median
        h, r = med(hz_v), med(rnd_v)
        if tpe_v:
            tp = med(tpe_v)
            won = sum(a < c for a, c in zip(hz_v, tpe_v))
            tpe_cells = (
                f"{tp:.3g}",
                f"{tp / h:.2g}x" if h > 0 else "inf",
                f"{won}/{len(tpe_v)}",
                f"{med(hz_t) * 1e6:.0f} µs, {med(tpe_t) * 1e3:.1f} ms",
            )
        else:
            tpe_cells = ("not run", "", "", f"{med(hz_t) * 1e6:.0f} µs, -")
        rows.append(
            f"| {b} | {h:.3g} | {tpe_cells[0]} | {r:.3g} | {tpe_cells[1]} | "
            f"{(r / h if h > 0 else math.inf):.2g}x | {tpe_cells[2]} | {tpe_cells[3]} |"
        )
    text = (
        f"Median best loss over {args.seeds} seeds (0 is the optimum; lower is better); "
        f"hyperzoom {hz.__version__}.\n\n" + "\n".join(rows) + "\n"
    )
    print(text)
    if args.out:
        args.out.write_text(text)
    return text


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
