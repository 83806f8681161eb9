"""Search quality harness: median best value over seeds, per problem and budget.

    python bench/search_quality.py [--seeds 20] [--budgets 100 500 2000] [--optuna]

Compares hyperzoom's coarse-to-fine search with random search and the grid (all three
from hyperzoom, same budgets and seeds), and with Optuna's TPE and QMC samplers when
``--optuna`` is given (Optuna is an optional bench dependency). Prints a Markdown table
of the median gap to the known optimum (lower is better); ``--out FILE`` also writes it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import hyperzoom as hz
from _peers import suggest
from problems import PROBLEMS, Problem


def run_hz(p: Problem, budget: int, seed: int, strategy: str) -> float:
    return hz.search(
        p.loss, p.space, budget=budget, rng=seed, strategy=strategy
    ).best_value


def run_optuna(p: Problem, budget: int, seed: int, sampler_name: str) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler_name == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = optuna.samplers.QMCSampler(seed=seed, scramble=True)
    study = optuna.create_study(sampler=sampler)
    for _ in range(budget):
        trial = study.ask()
        row = suggest(trial, p.space)
        configs = p.space.from_unit(p.space.to_unit({k: [v] for k, v in row.items()}))
        value = float(p.loss(configs)[0])
        study.tell(trial, value)
    return study.best_value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budgets", type=int, nargs="+", default=[100, 500, 2000])
    ap.add_argument("--optuna", action="store_true")
    ap.add_argument("--optuna-seeds", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    methods = ["coarse-to-fine", "random", "grid"] + (
        ["optuna-tpe", "optuna-qmc"] if args.optuna else []
    )
    lines = [
        "| problem | budget | " + " | ".join(methods) + " |",
        "|---" * (len(methods) + 2) + "|",
    ]
    for budget in args.budgets:
        for p in PROBLEMS:
            cells = []
            for m in methods:
                t = time.perf_counter()
                if m.startswith("optuna"):
                    vals = [
                        run_optuna(p, budget, s, m.split("-")[1])
                        for s in range(args.optuna_seeds)
                    ]
                else:
                    vals = [run_hz(p, budget, s, m) for s in range(args.seeds)]
                gap = float(np.median(vals)) - p.optimum
                cells.append(f"{gap:.3g}")
                print(
                    f"  {p.name} {budget} {m}: {gap:.4g} ({time.perf_counter() - t:.1f} s)",
                    file=sys.stderr,
                )
            best = min(range(len(cells)), key=lambda i: float(cells[i]))
            cells[best] = f"**{cells[best]}**"
            lines.append(f"| {p.name} | {budget} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
