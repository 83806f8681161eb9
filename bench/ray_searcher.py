"""CoarseToFineSearch inside Ray Tune vs Tune's own random search, same trial count.

    python bench/ray_searcher.py [--seeds 3] [--samples 100] [--cpu 0.25] \
        [--problems train-loss hartmann6] [--out bench/results/ray-searcher.md]

Each run is a real ``tune.Tuner`` on a local Ray instance (``num_cpus=2``): a function
trainable evaluates one configuration of a problem from ``bench/problems.py`` (the
practice's scales: log learning rate, momentum through log(1-β), log-integer units,
powers of two, choices) and reports its loss once; each trial asks for ``--cpu`` CPUs,
so ``2 / cpu`` trials run at once (8 by default) and actors are reused.

Methods, each with ``num_samples=--samples``:

- ``hz``: ``search_alg=CoarseToFineSearch(space, metric="loss", mode="min", seed=s)``;
- ``random``: Tune's default ``BasicVariantGenerator(random_state=s)`` over a
  ``param_space`` on the same scales (``tune.loguniform`` for log axes,
  ``tune.loguniform`` on 1-β for inverse-log ones, ``tune.lograndint``, ``tune.choice``
  of the powers of two): the careful Tune user's random search.

Reported per problem: the median over seeds of the best loss's gap to the known
optimum, in how many seeds hz found the better value, the median wall time of a run,
and the searcher's own time per trial (inside ``suggest`` plus ``on_trial_complete``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # no per-trial files
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")

import numpy as np
import ray
from ray import tune
from ray.tune.search.basic_variant import BasicVariantGenerator

import hyperzoom as hz
from _peers import as_configs
from hyperzoom.ray import CoarseToFineSearch
from problems import PROBLEMS, Problem


class TimedSearch(CoarseToFineSearch):
    """CoarseToFineSearch that adds up the time spent in suggest/on_trial_complete."""

    seconds = 0.0
    calls = 0

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        t = time.perf_counter()
        try:
            return super().suggest(trial_id)
        finally:
            TimedSearch.seconds += time.perf_counter() - t

    def on_trial_complete(
        self, trial_id: str, result: dict[Any, Any] | None = None, error: bool = False
    ) -> None:
        t = time.perf_counter()
        try:
            super().on_trial_complete(trial_id, result, error)
        finally:
            TimedSearch.seconds += time.perf_counter() - t
            TimedSearch.calls += 1


def tune_space(space: hz.Space) -> dict[str, Any]:
    """``space`` as a Tune param_space on the same scales (1-x for inverse-log axes)."""
    out: dict[str, Any] = {}
    for name, d in space.items():
        if isinstance(d, hz.Choice):
            out[name] = tune.choice(list(d.options))
        elif isinstance(d, hz.PowerOfTwo):
            k0, k1 = int(np.log2(d.low)), int(np.log2(d.high))
            out[name] = tune.choice([2**k for k in range(k0, k1 + 1)])
        elif isinstance(d, hz.IntLogUniform):
            out[name] = tune.lograndint(d.low, d.high + 1)
        elif isinstance(d, hz.IntUniform):
            out[name] = tune.randint(d.low, d.high + 1)
        elif isinstance(d, hz.InvLogUniform):
            out["1-" + name] = tune.loguniform(1.0 - d.high, 1.0 - d.low)
        elif isinstance(d, hz.LogUniform):
            out[name] = tune.loguniform(d.low, d.high)
        elif isinstance(d, hz.Uniform):
            out[name] = tune.uniform(d.low, d.high)
        else:  # pragma: no cover
            raise TypeError(type(d).__name__)
    return out


def from_tune(config: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in config.items():
        if k.startswith("1-"):
            out[k[2:]] = 1.0 - v
        else:
            out[k] = v
    return out


def make_trainable(problem: Problem) -> Any:
    space, loss = problem.space, problem.loss

    def trainable(config: dict[str, Any]) -> None:
        row = from_tune(config)
        tune.report({"loss": float(loss(as_configs(space, row))[0])})

    return trainable


class Collect(tune.Callback):
    def __init__(self) -> None:
        self.values: list[float] = []

    def on_trial_result(
        self, iteration: int, trials: Any, trial: Any, result: Any, **info: Any
    ) -> None:
        self.values.append(float(result["loss"]))


def run(
    problem: Problem, method: str, seed: int, samples: int, cpu: float, tmp: str
) -> tuple[float, float]:
    collect = Collect()
    if method == "hz":
        alg: Any = TimedSearch(problem.space, metric="loss", mode="min", seed=seed)
        param_space = None
    else:
        alg = BasicVariantGenerator(random_state=seed)
        param_space = tune_space(problem.space)
    t = time.perf_counter()
    tuner = tune.Tuner(
        tune.with_resources(make_trainable(problem), {"cpu": cpu}),
        param_space=param_space,
        tune_config=tune.TuneConfig(
            search_alg=alg,
            metric="loss" if method != "hz" else None,
            mode="min" if method != "hz" else None,
            num_samples=samples,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            storage_path=tmp,
            verbose=0,
            callbacks=[collect],
            name=f"{problem.name}-{method}-{seed}",
        ),
    )
    tuner.fit()
    wall = time.perf_counter() - t
    assert len(collect.values) == samples, (len(collect.values), samples)
    return min(collect.values) - problem.optimum, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--cpu", type=float, default=0.25)
    ap.add_argument("--problems", nargs="+", default=["train-loss", "hartmann6"])
    ap.add_argument("--tmp", default="/tmp/hz-ray-bench")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    problems = [p for p in PROBLEMS if p.name in args.problems]
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR"
    )
    rows = []
    try:
        for problem in problems:
            gaps: dict[str, list[float]] = {"hz": [], "random": []}
            walls: dict[str, list[float]] = {"hz": [], "random": []}
            TimedSearch.seconds, TimedSearch.calls = 0.0, 0
            for s in range(args.seeds):
                seed = 20241200 + s
                for method in ("hz", "random"):
                    gap, wall = run(
                        problem, method, seed, args.samples, args.cpu, args.tmp
                    )
                    gaps[method].append(gap)
                    walls[method].append(wall)
                    print(
                        f"{problem.name} seed {s} {method}: gap {gap:.4g}, {wall:.1f} s",
                        flush=True,
                    )
            wins = sum(a < b for a, b in zip(gaps["hz"], gaps["random"]))
            per_trial = 1e6 * TimedSearch.seconds / max(TimedSearch.calls, 1)
            rows.append(
                f"| {problem.name} | {problem.space.d} | {statistics.median(gaps['hz']):.3g} "
                f"| {statistics.median(gaps['random']):.3g} | {wins}/{args.seeds} "
                f"| {statistics.median(walls['hz']):.0f} s | {statistics.median(walls['random']):.0f} s "
                f"| {per_trial:.0f} µs |"
            )
    finally:
        ray.shutdown()
    head = (
        f"{args.samples} trials per run (num_samples), {args.seeds} seeds, "
        f"{int(2 / args.cpu)} trials at once on a local Ray (num_cpus=2), "
        f"ray {ray.__version__}, hyperzoom {hz.__version__}\n\n"
        "| problem | d | hz gap (median) | random gap (median) | hz better | hz wall | random wall "
        "| searcher time per trial |\n|---|---|---|---|---|---|---|---|\n"
    )
    table = head + "\n".join(rows) + "\n"
    print(table)
    if args.out is not None:
        args.out.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
