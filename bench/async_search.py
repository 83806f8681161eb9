"""Asynchronous vs synchronous coarse to fine on workers whose trials differ in length.

    python bench/async_search.py [--seeds 10] [--budget 400] [--workers 8] [--dask]

Scalar trials sleep a log-normal duration (median 20 ms, sigma 1: a 10x spread between
short and long trainings is common) fixed by the configuration, and return a known
loss. For each seed: wall time to spend the budget, the share of worker time left idle,
and the best value; medians over seeds. Methods in the same run: hz.search with
asynchronous=True and False on a ThreadPoolExecutor (and on a Dask LocalCluster of 2
processes with --dask), and Optuna's TPE and random samplers with n_jobs=workers.
"""

from __future__ import annotations

import argparse
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from statistics import NormalDist

import numpy as np

import hyperzoom as hz

SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    units=hz.IntLogUniform(16, 512),
    layers=hz.IntUniform(1, 6),
)
_N = NormalDist()


def duration(lr: float, beta: float, units: int, layers: int) -> float:
    """A log-normal duration (median 20 ms, sigma 1) fixed by the configuration."""
    # the fractional digits of a sine: close to uniform on [0, 1)
    x = math.sin(lr * 12345.678 + beta * 9876.5 + units * 0.37 + layers) * 1e4
    u = math.modf(abs(x))[0]
    z = _N.inv_cdf(min(max(u, 1e-6), 1 - 1e-6))
    return 0.02 * math.exp(z)


def loss(lr: float, beta: float, units: int, layers: int) -> float:
    return (
        (math.log10(lr) + 2.5) ** 2
        + (math.log10(1 - beta) + 2) ** 2
        + 0.1 * math.log2(units / 128) ** 2
        + 0.05 * (layers - 3) ** 2
    )


class Meter:
    """Counts the seconds workers spend inside trials."""

    def __init__(self) -> None:
        self.busy = 0.0
        self.lock = threading.Lock()

    def trial(self, lr: float, beta: float, units: int, layers: int) -> float:
        t = duration(lr, beta, units, layers)
        time.sleep(t)
        with self.lock:
            self.busy += t
        return loss(lr, beta, units, layers)


def sleeping_trial(lr: float, beta: float, units: int, layers: int) -> float:
    """The trial for processes (module level, so it pickles)."""
    time.sleep(duration(lr, beta, units, layers))
    return loss(lr, beta, units, layers)


def run_hz(seed: int, budget: int, workers: int, asynchronous: bool, executor=None):
    meter = Meter()
    own = executor is None
    ex = ThreadPoolExecutor(workers) if own else executor
    start = time.perf_counter()
    r = hz.search(
        meter.trial if own else sleeping_trial,
        SPACE,
        budget=budget,
        rng=seed,
        executor=ex,
        asynchronous=asynchronous,
    )
    wall = time.perf_counter() - start
    if own:
        ex.shutdown()
    busy = meter.busy if own else sum(duration(**c) for c in r.trials.configs)
    return wall, 1 - busy / (wall * workers), r.best_value


def run_optuna(seed: int, budget: int, workers: int, sampler: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    meter = Meter()

    def objective(trial):
        return meter.trial(
            trial.suggest_float("lr", 1e-4, 1.0, log=True),
            1 - trial.suggest_float("beta_1m", 1e-3, 1e-1, log=True),
            trial.suggest_int("units", 16, 512, log=True),
            trial.suggest_int("layers", 1, 6),
        )

    s = (
        optuna.samplers.TPESampler(seed=seed)
        if sampler == "tpe"
        else optuna.samplers.RandomSampler(seed=seed)
    )
    study = optuna.create_study(sampler=s)
    start = time.perf_counter()
    study.optimize(objective, n_trials=budget, n_jobs=workers)
    wall = time.perf_counter() - start
    return wall, 1 - meter.busy / (wall * workers), study.best_value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=int, default=400)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--dask", action="store_true")
    ap.add_argument("--no-optuna", action="store_true")
    ap.add_argument("--no-threads", action="store_true", help="the Dask runs only")
    ap.add_argument("--out")
    args = ap.parse_args()
    seeds = [20261130 + s for s in range(args.seeds)]
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for seed in [] if args.no_threads else seeds:
        for a in (False, True):
            key = f"hz {'asynchronous' if a else 'synchronous'}, threads"
            rows.setdefault(key, []).append(run_hz(seed, args.budget, args.workers, a))
        if not args.no_optuna:
            for name in ("tpe", "random"):
                key = f"Optuna {name.upper() if name == 'tpe' else name}, n_jobs={args.workers}"
                rows.setdefault(key, []).append(
                    run_optuna(seed, args.budget, args.workers, name)
                )
    if args.dask:
        from dask.distributed import Client, LocalCluster

        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
            Client(cluster) as client,
        ):
            for seed in seeds:
                for a in (False, True):
                    key = (
                        f"hz {'asynchronous' if a else 'synchronous'}, Dask 2 processes"
                    )
                    rows.setdefault(key, []).append(
                        run_hz(seed, args.budget, 2, a, executor=client)
                    )
    base = {k: np.median([r[0] for r in v]) for k, v in rows.items()}
    head = (
        f"Budget {args.budget}, {args.workers} threads (Dask: 2 processes), "
        f"{len(seeds)} seeds; medians."
    )
    lines = [
        head,
        "",
        "| method | wall time (s) | vs synchronous | idle share of workers | best value |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for k, v in rows.items():
        ref = (
            "hz synchronous, Dask 2 processes"
            if "Dask" in k
            else "hz synchronous, threads"
        )
        lines.append(
            f"| {k} | {base[k]:.2f} | {base[ref] / base[k]:.2f}x | "
            f"{np.median([r[1] for r in v]):.0%} | {np.median([r[2] for r in v]):.3g} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
