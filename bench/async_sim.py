"""Asynchronous vs synchronous coarse to fine, simulated: no sleeping, deterministic.

    python bench/async_sim.py [--seeds 20] [--budgets 200 400 1000] [--workers 2 4 8 16]
                              [--problems bench ellipsoid rosenbrock choice] [--timing]

An event-driven fake executor with W workers: each trial takes ``duration(config)``
simulated seconds (the bench's log-normal duration of bench/async_search.py, median 20 ms,
sigma 1, fixed by the configuration). The asynchronous search is driven as
``hz.search``'s ``_drive_async`` drives it: ``ask(1)`` while fewer than W trials are in
flight, results told in order of simulated completion (trials that end at the same
instant by id). The synchronous search asks a whole round and tells it all (its trials
never depend on W; its simulated time does). Budgets are prefixes of one run of the
largest budget (both modes are anytime: the trials of budget B are the first B trials
of any larger budget). Prints the median best value over the seeds per problem, budget
and W; with --timing, the median simulated time and idle share of workers of both modes
on the first problem at budget 400 (rounds on W workers there).

Problems: "bench" is bench/async_search.py's space and loss; "ellipsoid" a rotated
ellipsoid (condition 1e3) over six log, linear and log(1 - x) parameters; "rosenbrock"
Rosenbrock on [-2, 2]^4 mapped onto four such parameters; "choice" the tests' space and
loss (a choice and an integer parameter); "bbob-f1" ... "bbob-f21" five of COCO's BBOB
functions at d = 5 (through ioh, when installed). Their durations hash the configuration.
"""

from __future__ import annotations

import argparse
import heapq
import math
import sys
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hyperzoom as hz
from async_search import SPACE as BENCH_SPACE
from async_search import duration as bench_duration
from async_search import loss as bench_loss

_N = NormalDist()


def _lognormal(x: float) -> float:
    """A log-normal duration (median 20 ms, sigma 1) from any real number (a hash)."""
    u = math.modf(abs(math.sin(x) * 1e4))[0]
    return 0.02 * math.exp(_N.inv_cdf(min(max(u, 1e-6), 1 - 1e-6)))


def _scaled(space: hz.Space, c: dict) -> np.ndarray:
    """Each value on its parameter's scaled axis in [0, 1] (log, log(1 - x), linear)."""
    out = []
    for name, dist in space.items():
        v = c[name]
        if isinstance(dist, hz.LogUniform):
            t = math.log(v / dist.low) / math.log(dist.high / dist.low)
        elif isinstance(dist, hz.InvLogUniform):
            t = math.log((1 - v) / (1 - dist.low)) / math.log(
                (1 - dist.high) / (1 - dist.low)
            )
        else:
            t = (v - dist.low) / (dist.high - dist.low)
        out.append(t)
    return np.array(out)


def _hash_duration(space: hz.Space):
    def duration(c: dict) -> float:
        x = sum(
            (12345.678 / (k + 1)) * float(c[name])
            if not isinstance(c[name], str)
            else k
            for k, name in enumerate(space.names)
        )
        return _lognormal(x)

    return duration


# -- problems: (space, loss(config) -> float, duration(config) -> float) ----------------
ELLIPSOID_SPACE = hz.Space(
    lr=hz.LogUniform(1e-5, 1.0),
    wd=hz.LogUniform(1e-6, 1e-1),
    dropout=hz.Uniform(0.0, 0.5),
    beta=hz.InvLogUniform(0.9, 0.9999),
    momentum=hz.Uniform(0.5, 0.99),
    eps=hz.LogUniform(1e-9, 1e-3),
)
_E_OPT = np.array([0.31, 0.62, 0.47, 0.55, 0.28, 0.71])
_E_Q = np.linalg.qr(np.random.default_rng(20261130).standard_normal((6, 6)))[0]
_E_W = 10.0 ** (3.0 * np.arange(6) / 5)  # condition number 1e3


def ellipsoid_loss(c: dict) -> float:
    """A rotated ellipsoid (condition 1e3) on the scaled axes of six parameters."""
    y = _E_Q @ (_scaled(ELLIPSOID_SPACE, c) - _E_OPT)
    return float(np.sum(_E_W * y * y))


ROSENBROCK_SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    dropout=hz.Uniform(0.0, 0.5),
    wd=hz.LogUniform(1e-6, 1e-2),
)


def rosenbrock_loss(c: dict) -> float:
    """Rosenbrock on [-2, 2]^4 over the scaled axes (best 0 at 0.75 on every axis)."""
    z = 4.0 * _scaled(ROSENBROCK_SPACE, c) - 2.0
    return float(np.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2))


CHOICE_SPACE = hz.Space(
    lr=hz.LogUniform(1e-4, 1.0),
    beta=hz.InvLogUniform(0.9, 0.999),
    layers=hz.IntUniform(1, 6),
    act=hz.Choice(["relu", "tanh", "gelu"]),
)


def choice_loss(c: dict) -> float:
    """The tests' loss: best at lr = 10^-2.5, beta = 0.99, layers = 3, act = 'gelu'."""
    return (
        (math.log10(c["lr"]) + 2.5) ** 2
        + (math.log10(1 - c["beta"]) + 2) ** 2
        + 0.1 * (c["layers"] - 3) ** 2
        + 0.3 * (c["act"] != "gelu")
    )


PROBLEMS = {
    "bench": (BENCH_SPACE, lambda c: bench_loss(**c), lambda c: bench_duration(**c)),
    "ellipsoid": (ELLIPSOID_SPACE, ellipsoid_loss, _hash_duration(ELLIPSOID_SPACE)),
    "rosenbrock": (ROSENBROCK_SPACE, rosenbrock_loss, _hash_duration(ROSENBROCK_SPACE)),
    "choice": (CHOICE_SPACE, choice_loss, _hash_duration(CHOICE_SPACE)),
}
#: COCO's BBOB functions (through ioh, as bench/bbob.py uses them), d = 5, instance 1:
#: sphere, Rosenbrock, ellipsoid, Rastrigin, Gallagher 21 peaks. Loss: distance to the
#: optimum's value. Not written here, so they cannot be shaped to suit the search.
BBOB_FUNCTIONS = (1, 8, 10, 15, 21)


def _bbob(fid: int, d: int = 5):
    import ioh

    p = ioh.get_problem(
        fid, instance=1, dimension=d, problem_class=ioh.ProblemClass.BBOB
    )
    space = hz.Space(**{f"x{i}": hz.Uniform(-5.0, 5.0) for i in range(d)})
    names = space.names
    best = float(p.optimum.y)

    def loss(c: dict) -> float:
        return float(p([float(c[n]) for n in names])) - best

    return space, loss, _hash_duration(space)


try:
    import ioh  # noqa: F401 - optional: the bench extra

    PROBLEMS.update({f"bbob-f{fid}": _bbob(fid) for fid in BBOB_FUNCTIONS})
except ImportError:  # pragma: no cover - without ioh the BBOB rows are left out
    pass


# -- drivers --------------------------------------------------------------------------
def simulate_async(
    opt: hz.CoarseToFine, loss, duration, workers: int
) -> tuple[float, float]:
    """Drive ``opt`` as ``_drive_async`` does on ``workers`` simulated workers.

    Returns the simulated time to spend the budget and the workers' busy time.
    """
    now = busy = 0.0
    heap: list[tuple[float, int, float]] = []  # (end, id, value)
    while True:
        while len(heap) < workers:
            c = opt.ask(1)
            if len(c) == 0:
                break
            row = c[0]
            t = duration(row)
            busy += t
            heapq.heappush(heap, (now + t, int(c.ids[0]), loss(row)))
        if not heap:
            return now, busy
        end, i, v = heapq.heappop(heap)
        done = [(i, v)]
        while heap and heap[0][0] == end:  # completed together: told by id
            _, j, w = heapq.heappop(heap)
            done.append((j, w))
        now = end
        for j, w in sorted(done):
            opt.tell([j], [w])


def simulate_sync(
    opt: hz.CoarseToFine, loss, duration, workers: int
) -> tuple[float, float]:
    """Rounds: ask all that is due, run it on ``workers`` (first free worker takes the
    next trial), tell all. Returns the simulated time and the workers' busy time."""
    now = busy = 0.0
    while not opt.done:
        c = opt.ask()
        if len(c) == 0:  # pragma: no cover
            break
        rows = [c[k] for k in range(len(c))]
        free = [now] * workers
        for r in rows:
            t = heapq.heappop(free)
            d = duration(r)
            busy += d
            heapq.heappush(free, t + d)
        now = max(free)
        opt.tell(c, [loss(r) for r in rows])
    return now, busy


def run_one(
    problem: str,
    seed: int,
    budget: int,
    workers: int | None,
    *,
    sync_workers: int = 8,
    **kw,
) -> tuple[np.ndarray, float, float]:
    """Values in id order of one search (workers None: synchronous rounds on
    ``sync_workers``), its simulated time and the share of worker time left idle."""
    space, loss, duration = PROBLEMS[problem]
    opt = hz.CoarseToFine(
        space, budget=budget, asynchronous=workers is not None, rng=seed, **kw
    )
    if workers is None:
        t, busy = simulate_sync(opt, loss, duration, sync_workers)
        w = sync_workers
    else:
        t, busy = simulate_async(opt, loss, duration, workers)
        w = workers
    return opt.result().trials.value.copy(), t, 1.0 - busy / (t * w)


def best_at(values: np.ndarray, budget: int) -> float:
    v = values[:budget]
    v = v[np.isfinite(v)]
    return float(v.min()) if v.size else math.nan


def table(
    problems: list[str],
    seeds: list[int],
    budgets: list[int],
    workers: list[int],
    **kw,
) -> dict:
    """Median best per (problem, budget, W or 'sync')."""
    out: dict = {}
    top = max(budgets)
    for prob in problems:
        for w in [None, *workers]:
            bests = {b: [] for b in budgets}
            for s in seeds:
                vals, _, _ = run_one(prob, s, top, w, **kw)
                for b in budgets:
                    bests[b].append(best_at(vals, b))
            for b in budgets:
                out[(prob, b, "sync" if w is None else w)] = (
                    float(np.median(bests[b])),
                    bests[b],
                )
    return out


def timing(problem: str, seeds: list[int], budget: int, workers: list[int]) -> str:
    """Median simulated time and idle share of workers, rounds against asynchronous."""
    lines = [
        f"\n{problem}, budget {budget}: median simulated time (s) / idle share of workers",
        "| workers | synchronous | asynchronous |",
        "| ---: | ---: | ---: |",
    ]
    for w in workers:
        cells = []
        for mode in (None, w):
            runs = [
                run_one(problem, s, budget, mode, sync_workers=w)[1:] for s in seeds
            ]
            t, idle = np.median([r[0] for r in runs]), np.median([r[1] for r in runs])
            cells.append(f"{t:.2f} / {idle:.0%}")
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def show(out: dict, problems, budgets, workers) -> str:
    lines = []
    for prob in problems:
        lines.append(
            f"\n{prob}: median best value ({len(out[(prob, budgets[0], 'sync')][1])} seeds)"
        )
        head = (
            "| budget | synchronous | "
            + " | ".join(f"async W={w}" for w in workers)
            + " |"
        )
        lines.append(head)
        lines.append("| ---: " * (2 + len(workers)) + "|")
        for b in budgets:
            cells = [f"{out[(prob, b, 'sync')][0]:.3g}"] + [
                f"{out[(prob, b, w)][0]:.3g}" for w in workers
            ]
            lines.append(f"| {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--budgets", type=int, nargs="+", default=[200, 400, 1000])
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 4, 8, 16])
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    ap.add_argument("--timing", action="store_true", help="time and idle share too")
    ap.add_argument("--out")
    args = ap.parse_args()
    seeds = [20261130 + s for s in range(args.seeds)]
    start = time.perf_counter()
    out = table(args.problems, seeds, args.budgets, args.workers)
    text = show(out, args.problems, args.budgets, args.workers)
    if args.timing:
        text += "\n" + timing(args.problems[0], seeds, 400, args.workers)
    text += f"\n\n({time.perf_counter() - start:.0f} s)"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
