"""BBOB quality harness: median gap to the optimum on COCO's f1-f24, hz against peers.

    python bench/bbob.py [--dims 2 5 10 20] [--functions 1 ... 24] [--instances 15]
        [--methods hz random tpe optuna-cma cma] [--budget-factors 10 50 200 1000]
        [--jobs 2] [--out FILE] [--time] [--no-anytime]

Problems are ioh's BBOB functions (``ioh.get_problem(fid, instance=i, dimension=d,
problem_class=ioh.ProblemClass.BBOB)``; at start-up their values and optima are
checked against ``cocoex`` at a few points) on the domain [-5, 5]^d, instances 1..15.
A cell is the median, over instances, of the gap ``best value found - optimum`` after
``factor * d`` evaluations (lower is better; gaps below 1e-8 count as 1e-8 when methods
are compared).

Methods
-------
hz
    ``hz.search(objective, space, budget=B, rng=seed)`` with ``x{i} ~ Uniform(-5, 5)``
    and a vectorised objective. The search is anytime (the first B trials of budget 4B
    are the trials of budget B), so it runs once at the largest budget and each budget
    reads the best of the first B trials (by trial id). ``--no-anytime`` runs every
    budget separately (for code without that property) and reports whether the prefix
    property held.
random
    ``hz.search(..., strategy="random")``, read the same way.
tpe
    Optuna's ``TPESampler(seed=...)`` with its defaults, ask/tell, one
    ``suggest_float(-5, 5)`` per coordinate; only the first 5 instances and budgets up
    to 500 (it is slow); run once at the largest budget needed (TPE does not depend on
    the number of trials) and read at each budget.
optuna-cma
    Optuna's ``CmaEsSampler(seed=...)`` with its defaults (needs the ``cmaes``
    package), same protocol as TPE, budgets up to 2000, 5 instances.
cma
    The ``cma`` package's CMA-ES with default settings, ``sigma0 = 2`` (a fifth of the
    domain width, the usual advice of 0.2-0.3 of it) and ``x0`` uniform in [-4, 4]^d
    from the job's seed. When it stops early (its own tolerances), it restarts from a
    new uniform ``x0`` (same ``sigma0`` and population size: plain restarts, not IPOP)
    until the budget is spent.

Every method of a job gets the same seed, derived from (function, dimension, instance).
Jobs (method, function, dimension, instance) run on ``--jobs`` processes. Best-so-far
curves are cached per method in ``--cache-dir`` (``bench/.cache/bbob-METHOD.npz``): a
method's job is run only when it is not cached, or when the method is listed in
``--recompute`` (default: hz, whose code is what changes). ``--show`` names the
methods in the tables: those not in ``--methods`` are read from the cache only, so
``--methods hz`` after a change to hz compares it with the cached peers.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import hyperzoom as hz
from _peers import (
    METHOD_NAMES,
    CurveCache,
    add_method_options,
    best_so_far,
    fmt_gap,
    hz_curve,
    job_seed,
    quiet_optuna,
    run_jobs,
)

ALL_METHODS = ["hz", "random", "tpe", "optuna-cma", "cma"]
PEERS = ["tpe", "optuna-cma", "cma"]
FLOOR = 1e-8
SIGMA0 = 2.0


def _problem(fid: int, d: int, inst: int) -> Any:
    import ioh

    return ioh.get_problem(
        fid, instance=inst, dimension=d, problem_class=ioh.ProblemClass.BBOB
    )


def _evaluate(p: Any, X: np.ndarray) -> np.ndarray:
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.shape[0] == 0:
        return np.empty(0)
    return np.asarray(p(X), dtype=np.float64).reshape(X.shape[0])


# --- one job per method: return the raw values (gaps), in evaluation order ----------


def run_hz(fid: int, d: int, inst: int, budget: int, strategy: str) -> np.ndarray:
    p = _problem(fid, d, inst)
    names = [f"x{i}" for i in range(d)]
    space = hz.Space(**{n: hz.Uniform(-5.0, 5.0) for n in names})

    def objective(c: hz.Configs) -> np.ndarray:
        X = np.stack([np.asarray(c[n], dtype=np.float64) for n in names], axis=1)
        return _evaluate(p, X)

    result = hz.search(
        objective, space, budget=budget, rng=job_seed(fid, d, inst), strategy=strategy
    )
    return hz_curve(result) - float(p.optimum.y)


def run_optuna(
    fid: int, d: int, inst: int, budget: int, sampler_name: str
) -> np.ndarray:
    optuna = quiet_optuna()
    seed = job_seed(fid, d, inst)
    if sampler_name == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = optuna.samplers.CmaEsSampler(seed=seed)
    p = _problem(fid, d, inst)
    study = optuna.create_study(sampler=sampler)
    values = np.empty(budget)
    for k in range(budget):
        try:
            trial = study.ask()
            x = np.array([trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(d)])
        except ValueError as exc:
            # CmaEsSampler can break down (NaN parameters once its covariance
            # degenerates, seen on flat functions): the run stops there and keeps its
            # best so far for the rest of the budget (the NaNs count as failures).
            print(
                f"warning: {sampler_name} f{fid} d={d} i{inst} stopped at trial {k}: "
                f"{exc}",
                file=sys.stderr,
            )
            values[k:] = np.nan
            BROKE[0] = k
            break
        values[k] = _evaluate(p, x[None, :])[0]
        study.tell(trial, float(values[k]))
    return values - float(p.optimum.y)


def run_cma(fid: int, d: int, inst: int, budget: int) -> np.ndarray:
    import warnings

    import cma

    p = _problem(fid, d, inst)
    rng = np.random.default_rng(job_seed(fid, d, inst))
    values: list[np.ndarray] = []
    n = 0
    while n < budget:
        x0 = rng.uniform(-4.0, 4.0, d)
        opts = {
            "seed": int(rng.integers(1, 2**31 - 1)),
            "bounds": [-5, 5],
            "verbose": -9,
            "maxfevals": budget - n,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cma's notes on flat fitness etc.
            es = cma.CMAEvolutionStrategy(x0, SIGMA0, opts)
            while not es.stop() and n < budget:
                X = es.ask()
                f = _evaluate(p, np.array(X))
                es.tell(X, f.tolist())
                values.append(f)
                n += f.size
    return np.concatenate(values)[:budget] - float(p.optimum.y)


#: The trial at which the current job's peer broke down (-1: it did not).
BROKE = [-1]


def run_job(
    method: str, fid: int, d: int, inst: int, budget: int
) -> tuple[np.ndarray, int]:
    BROKE[0] = -1
    if method == "hz":
        raw = run_hz(fid, d, inst, budget, "coarse-to-fine")
    elif method == "random":
        raw = run_hz(fid, d, inst, budget, "random")
    elif method in ("tpe", "optuna-cma"):
        raw = run_optuna(fid, d, inst, budget, method)
    elif method == "cma":
        raw = run_cma(fid, d, inst, budget)
    else:
        raise ValueError(method)
    if raw.size != budget:
        print(
            f"warning: {method} f{fid} d={d} i{inst}: {raw.size} evaluations "
            f"for a budget of {budget}",
            file=sys.stderr,
        )
    return best_so_far(raw), BROKE[0]


# --- set-up --------------------------------------------------------------------------


def check_against_cocoex(functions: list[int], dims: list[int]) -> str:
    """Compare ioh with cocoex at 3 random points and at ioh's optimum (instances 1, 2)."""
    try:
        import cocoex
    except ImportError:
        return "cocoex not installed: ioh values not cross-checked."
    import ioh

    suite = cocoex.Suite(
        "bbob",
        "",
        f"dimensions:{','.join(map(str, dims))} "
        f"function_indices:{','.join(map(str, functions))} instance_indices:1,2",
    )
    bad, n = [], 0
    rng = np.random.default_rng(7)
    for f in suite:
        fid, inst, d = f.id_function, f.id_instance, f.dimension
        p = _problem(fid, d, inst)
        X = np.vstack([rng.uniform(-5, 5, (3, d)), np.asarray(p.optimum.x)[None]])
        ours = np.array([p(x) for x in X])
        theirs = np.array([f(x) for x in X])
        n += 1
        if not np.allclose(ours, theirs, rtol=1e-10, atol=1e-8) or not math.isclose(
            ours[-1], p.optimum.y, rel_tol=1e-12, abs_tol=1e-9
        ):
            bad.append(f.id)
    del ioh
    if bad:
        msg = f"ioh and cocoex disagree on {bad}"
        raise SystemExit(msg)
    return f"ioh agrees with cocoex on {n} problems (3 random points and the optimum each)."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 5, 10, 20])
    ap.add_argument("--functions", type=int, nargs="+", default=list(range(1, 25)))
    ap.add_argument("--instances", type=int, default=15, help="instances 1..N")
    add_method_options(ap, ALL_METHODS)
    ap.add_argument(
        "--budget-factors", type=int, nargs="+", default=[10, 50, 200, 1000]
    )
    ap.add_argument(
        "--peer-instances", type=int, default=5, help="instances for tpe and optuna-cma"
    )
    ap.add_argument("--tpe-max-budget", type=int, default=500)
    ap.add_argument("--optuna-cma-max-budget", type=int, default=2000)
    ap.add_argument(
        "--no-anytime",
        action="store_true",
        help="run hz and random once per budget (checks the prefix property)",
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache-dir", type=Path, default=Path(__file__).parent / ".cache")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument(
        "--no-check", action="store_true", help="skip the cocoex cross-check"
    )
    ap.add_argument("--time", action="store_true", help="print seconds per method")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    factors = sorted(set(args.budget_factors))
    insts = list(range(1, args.instances + 1))
    show = args.show if args.show is not None else ALL_METHODS
    cache_dir = None if args.no_cache else args.cache_dir

    def budgets_for(method: str, d: int) -> list[int]:
        bs = [f * d for f in factors]
        cap = {"tpe": args.tpe_max_budget, "optuna-cma": args.optuna_cma_max_budget}
        return [b for b in bs if b <= cap.get(method, b)]

    def instances_for(method: str) -> list[int]:
        return (
            insts[: args.peer_instances] if method in ("tpe", "optuna-cma") else insts
        )

    notes = []
    if not args.no_check:
        notes.append(check_against_cocoex(args.functions, args.dims))
        print(notes[-1], file=sys.stderr)

    # Caches: one per (method, protocol). Separate runs have their own cache keys.
    caches = {
        m: CurveCache(cache_dir, "bbob", m) for m in set(args.methods) | set(show)
    }
    sep_methods = {"hz", "random"} if args.no_anytime else set()

    def key(fid: int, d: int, inst: int, budget: int | None = None) -> str:
        k = f"f{fid:02d}_d{d:02d}_i{inst:02d}"
        return k if budget is None else f"{k}_sep{budget}"

    todo = []
    for m in args.methods:
        fresh = m in (args.recompute or [])
        for d in args.dims:
            bs = budgets_for(m, d)
            if not bs:
                continue
            runs = bs if m in sep_methods else [max(bs)]
            for fid in args.functions:
                for inst in instances_for(m):
                    for b in runs:
                        k = key(fid, d, inst, b if m in sep_methods else None)
                        if fresh or caches[m].get(k, b) is None:
                            todo.append((m, fid, d, inst, b))

    # Order, cheapest information first: random and hz, cma-es on the first
    # --peer-instances instances, TPE, cma-es on the other instances, optuna-CMA (the
    # dearest); within each, small d first. A run that is stopped early thus leaves
    # whole (method, d) blocks, and re-running the same command picks up where it
    # stopped (the cache is saved every 30 s).
    def order(j: tuple[str, int, int, int, int]) -> tuple[int, int, int, int]:
        m, fid, d, inst, _ = j
        first = inst <= args.peer_instances
        step = {"random": 0, "hz": 1, "tpe": 3, "optuna-cma": 5}.get(
            m, 2 if first else 4
        )
        return step, d, fid, inst

    todo.sort(key=order)
    # Import the peers' packages once, before the pool forks (not in every job's time).
    if any(m in ("tpe", "optuna-cma") for m, *_ in todo):
        quiet_optuna()
    if any(m == "cma" for m, *_ in todo):
        import cma  # noqa: F401
    print(f"{len(todo)} jobs to run on {args.jobs} processes", file=sys.stderr)
    t0 = last_save = time.perf_counter()
    for done, ((m, fid, d, inst, b), curve, sec) in enumerate(
        run_jobs(run_job, todo, args.jobs), 1
    ):
        sep = m in sep_methods
        caches[m].put(key(fid, d, inst, b if sep else None), *curve, sec)
        now = time.perf_counter()
        if now - last_save > 30 or done == len(todo):
            for c in caches.values():
                c.save()
            last_save = now
            print(f"  {done}/{len(todo)} jobs, {now - t0:.0f} s", file=sys.stderr)

    # --- tables --------------------------------------------------------------------
    def gap(m: str, fid: int, d: int, inst: int, b: int) -> float:
        if m in sep_methods:
            c = caches[m].get(key(fid, d, inst, b), b)
        else:
            c = caches[m].get(key(fid, d, inst), b)
        return math.nan if c is None else c.at(b)

    med: dict[tuple[str, int, int, int], float] = {}
    count: dict[tuple[str, int, int, int], int] = {}
    n_inst: dict[str, set[int]] = defaultdict(set)
    seconds: dict[str, float] = defaultdict(float)
    broken: dict[str, list[str]] = defaultdict(list)
    for m in show:
        for d in args.dims:
            bs = budgets_for(m, d)
            for fid in args.functions:
                for f in factors:
                    b = f * d
                    if b not in bs:
                        med[m, fid, d, f] = math.nan
                        continue
                    g = [gap(m, fid, d, i, b) for i in instances_for(m)]
                    g = [x for x in g if not math.isnan(x)]
                    n_inst[m].add(len(g))
                    count[m, fid, d, f] = len(g)
                    med[m, fid, d, f] = float(np.median(g)) if g else math.nan
                for i in instances_for(m):
                    k = key(fid, d, i)
                    if m not in sep_methods and caches[m].broke(k) >= 0:
                        broken[m].append(f"f{fid} d={d} i{i} at {caches[m].broke(k)}")
                    if m in sep_methods:
                        seconds[m] += sum(
                            np.nan_to_num(caches[m].seconds(key(fid, d, i, b)))
                            for b in bs
                        )
                    else:
                        seconds[m] += np.nan_to_num(caches[m].seconds(key(fid, d, i)))

    out: list[str] = ["# BBOB f1–f24: median gap to the optimum", ""]
    out.append(
        f"Functions {args.functions[0]}–{args.functions[-1]}"
        if args.functions == list(range(args.functions[0], args.functions[-1] + 1))
        else f"Functions {args.functions}"
    )
    out[-1] += (
        f", d = {args.dims}, budgets {factors}·d, median over instances "
        f"1..{args.instances} (tpe and optuna-cma: instances 1..{min(args.peer_instances, args.instances)}, "
        f"budgets up to {args.tpe_max_budget} and {args.optuna_cma_max_budget}). "
        "Gap = best value found − optimum; lower is better; the best of a row is bold; "
        "– = not run; (k) = a median over only k instances (a partly filled cache). "
        f"hz/random: {'one run per budget (--no-anytime)' if args.no_anytime else 'one run at the largest budget, read at each budget (anytime)'}."
    )
    out += [
        "Instances found per method: "
        + ", ".join(f"{m} {sorted(n_inst[m])}" for m in show),
        "",
    ]
    for m, where in broken.items():
        notes.append(
            f"{METHOD_NAMES[m]} broke down (raised) in {len(where)} runs, which keep "
            f"their best value from there on: {', '.join(where)}."
        )
    out += [*notes, ""]
    cols = [METHOD_NAMES[m] for m in show]
    for d in args.dims:
        for f in factors:
            out.append(f"### d = {d}, budget {f}·d = {f * d}")
            out.append("")
            out.append("| f | " + " | ".join(cols) + " |")
            out.append("|---" * (len(cols) + 1) + "|")
            for fid in args.functions:
                vals = [med[m, fid, d, f] for m in show]
                finite = [max(v, FLOOR) for v in vals if not math.isnan(v)]
                best = min(finite) if finite else math.nan
                cells = [
                    (
                        f"**{fmt_gap(v)}**"
                        if not math.isnan(v) and max(v, FLOOR) <= best
                        else fmt_gap(v)
                    )
                    + (
                        f" ({count[m, fid, d, f]})"
                        if 0 < count.get((m, fid, d, f), 0) < len(instances_for(m))
                        else ""
                    )
                    for m, v in zip(show, vals)
                ]
                out.append(f"| f{fid} | " + " | ".join(cells) + " |")
            out.append("")

    if "hz" in show:
        out += summary(med, show, args, factors, sep_methods)
    if args.no_anytime:
        out += prefix_check(caches, args, factors, key)
    if args.time:
        out += [
            "## Seconds per method (sum over jobs, one process each)",
            "",
            "| method | seconds |",
            "|---|---|",
        ]
        out += [f"| {METHOD_NAMES[m]} | {seconds[m]:.1f} |" for m in show]
        out.append("")
    text = "\n".join(out)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


def summary(
    med: dict[tuple[str, int, int, int], float],
    show: list[str],
    args: argparse.Namespace,
    factors: list[int],
    sep_methods: set[str],
) -> list[str]:
    def g(m: str, fid: int, d: int, f: int) -> float:
        v = med.get((m, fid, d, f), math.nan)
        return v if math.isnan(v) else max(v, FLOOR)

    rows = []
    for d in [*args.dims, "all"]:
        dims = args.dims if d == "all" else [d]
        c: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # [hits, cells]
        for dd in dims:
            for fid in args.functions:
                for f in factors:
                    h = g("hz", fid, dd, f)
                    if math.isnan(h):
                        continue
                    others = {m: g(m, fid, dd, f) for m in show if m != "hz"}
                    others = {m: v for m, v in others.items() if not math.isnan(v)}
                    if others:
                        c["best"][1] += 1
                        c["best"][0] += h <= min(others.values())
                    for m, v in others.items():
                        c[m][1] += 1
                        c[m][0] += h < v
                    peers = [others[m] for m in PEERS if m in others]
                    if peers:
                        c["2x"][1] += 1
                        c["2x"][0] += h <= 2 * min(peers)
                    cm = [others[m] for m in ("cma", "optuna-cma") if m in others]
                    if f * dd <= 50 * dd and "tpe" in others and cm:
                        c["early"][1] += 1
                        c["early"][0] += h < others["tpe"] and h < min(cm)
        rows.append((d, c))
    head = [
        "hz best",
        *[f"beats {METHOD_NAMES[m]}" for m in show if m != "hz"],
        "≤ 50·d: ahead of TPE and CMA-ES",
        "within 2x of best peer",
    ]
    keys = ["best", *[m for m in show if m != "hz"], "early", "2x"]
    out = [
        "## Summary (hz against the others, cells = function × budget)",
        "",
        (
            "Counts are hz's wins / cells where both ran; gaps below 1e-8 count as "
            "1e-8; 'beats' is strictly lower; 'CMA-ES' is the better of cma-es and "
            "optuna-CMA; 'best peer' is the best of TPE, optuna-CMA and cma-es."
        ),
        "",
        "| d | " + " | ".join(head) + " |",
        "|---" * (len(head) + 1) + "|",
    ]
    for d, c in rows:
        out.append(
            f"| {d} | "
            + " | ".join(f"{c[k][0]}/{c[k][1]}" if c[k][1] else "–" for k in keys)
            + " |"
        )
    out.append("")
    # Monotonicity of hz's median in the budget.
    viol, rows_n, where = 0, 0, []
    for d in args.dims:
        for fid in args.functions:
            seq = [med.get(("hz", fid, d, f), math.nan) for f in factors]
            seq = [x for x in seq if not math.isnan(x)]
            if len(seq) < 2:
                continue
            rows_n += 1
            bad = sum(b > a for a, b in zip(seq, seq[1:]))
            if bad:
                viol += bad
                where.append(f"f{fid} d={d}")
    note = (
        ""
        if "hz" in sep_methods
        else " (anytime runs: each instance's curve is monotone, so its median is too)"
    )
    out.append(
        f"hz's median is monotone in the budget in {rows_n - len(where)}/{rows_n} "
        f"(function, d) rows{note}; {viol} violations"
        + (f": {', '.join(where)}." if where else ".")
    )
    f1 = [
        f"d={d}: {fmt_gap(med.get(('hz', 1, d, 1000), math.nan))}"
        for d in args.dims
        if d <= 10 and 1 in args.functions and 1000 in factors
    ]
    if f1:
        out.append(f"hz's f1 gap at 1000·d: {', '.join(f1)}.")
    out.append("")
    return out


def prefix_check(
    caches: dict[str, CurveCache],
    args: argparse.Namespace,
    factors: list[int],
    key: Callable[..., str],
) -> list[str]:
    out = []
    for m in ("hz", "random"):
        if m not in caches:
            continue
        agree = total = 0
        for d in args.dims:
            bmax = max(factors) * d
            for fid in args.functions:
                for i in range(1, args.instances + 1):
                    big = caches[m].get(key(fid, d, i, bmax), bmax)
                    if big is None:
                        continue
                    for f in factors[:-1]:
                        small = caches[m].get(key(fid, d, i, f * d), f * d)
                        if small is None:
                            continue
                        total += 1
                        agree += small.at(f * d) == big.at(f * d)
        if total:
            out.append(
                f"Prefix property ({m}): the best of budget B equals the best of "
                f"the first B trials of the largest budget in {agree}/{total} "
                "(job, budget) pairs."
            )
    return [*out, ""] if out else out


if __name__ == "__main__":
    main()
