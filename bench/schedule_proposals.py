"""Coarse-to-fine proposals in the schedulers: random against coarse-to-fine, equal epochs.

    python bench/schedule_proposals.py [--seeds 10]
                                       [--only synthetic|digits|conditional|draws]
                                       [--families 0,1,2,3,4] [--passes 1,3]
                                       [--methods search,hyperband,asha,pbt]
                                       [--no-optuna] [--out FILE] [--tuning-seeds]

``--tuning-seeds`` runs on the seeds the proposer's settings were chosen on
(``1000 + 104729 i``) instead of the harness's (``0x5EED0000 + 7919 i``), which are
kept for the measurement.

``--passes`` sets the budgets: every method gets the total epochs of that many passes
of Hyperband's brackets (1581 at ``R = 81``; ``hz.hyperband(..., passes=passes)``, so
later passes propose from what earlier ones found, as BOHB's iterations do). The
defaults measure one pass (the small budget) and three (the large one).

Every method runs with ``sampler="random"`` and with ``sampler="coarse-to-fine"`` on the
same seeds, so each seed is a paired comparison: each table gives the seeds on which
coarse-to-fine proposals are better and worse, and the two-sided p of Wilcoxon's
signed-rank test on the seeds where the samplers' results differ (how likely a split
as lopsided, if neither sampler were better). Families: the four learning-curve
families of ``bench/schedule_quality.py`` (adversarial, power law), the scaling-law
family built from Kaplan et al. (2020) (``ScalingLaw``: where its shape comes from is
in its docstring), the digits MLP (real training), and the digits MLP over a
conditional space (``--only conditional``: SGD with momentum and decay, or Adam with
its second-moment rate; every scheduler, coarse-to-fine search and TPE on it). For each, the true loss of the
model each method returns (noise-free for the synthetic families; the test error of the
returned weights for digits), median over seeds:

* full-budget search (every configuration trained to ``R``): random search and
  coarse-to-fine search (``hz.search``), at three times Hyperband's epochs (59 x 81
  for one pass, the harness's random-search baseline) and at Hyperband's epochs
  (20 x 81 for one pass);
* Hyperband (``eta=3``), ASHA (``budget_limit`` = Hyperband's epochs) and PBT
  (20 members per pass, every 9 epochs), each with both samplers;
* Optuna's TPE sampler with its Hyperband pruner (``min_resource=1``,
  ``max_resource=R``, ``reduction_factor=3``), trials reporting every epoch, stopped at
  Hyperband's epochs (skipped when Optuna is missing or with ``--no-optuna``).

``--only draws`` looks inside the coarse-to-fine runs instead (synthetic families,
Hyperband and ASHA): the true final loss (trained straight to ``R``) of the
configurations drawn from a region against those drawn at random in the same run, in
the median and at the best of each, to tell how good the proposals are from how much
of it the schedule keeps.

Digits uses ``R = 27`` epochs: full-budget search with 13 x 27 (about Hyperband's
epochs), ASHA with Hyperband's epochs and PBT with 13 members every 3 epochs.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import wilcoxon

import hyperzoom as hz
import schedule_quality as sq
from _peers import quiet_optuna, suggest

R = 81
C2F = "coarse-to-fine"
SAMPLERS = ("random", C2F)
METHODS = ("search", "hyperband", "asha", "pbt")


def all_families() -> list[sq.Family]:
    """The synthetic families ``--families`` indexes: schedule_quality's and the scaling law."""
    return [*sq.FAMILIES, sq.ScalingLaw()]


def hb_epochs(r_max: int) -> int:
    return int(
        sum(
            n * (b - (br[i - 1][1] if i else 0))
            for br in hz.hyperband_plan(max_budget=r_max, eta=3)
            for i, (n, b) in enumerate(br)
        )
    )


def full_search(
    train: Callable[..., Any], space: hz.Space, n: int, budget: int, seed: int, how: str
) -> tuple[Any, Any, float]:
    """Every configuration trained to ``budget``: random or coarse-to-fine search.

    Returns the configuration with the lowest (noisy) loss, its state and the epochs.
    """
    best: list[Any] = [math.inf, None, None]

    def objective(**c: Any) -> float:
        loss, state = train(c, budget, None)
        if math.isfinite(loss) and loss < best[0]:
            best[:] = [loss, c, state]
        return float(loss)

    strategy = "random" if how == "random" else "coarse-to-fine"
    hz.search(objective, space, budget=n, strategy=strategy, rng=seed, progress=False)
    return best[1], best[2], float(n * budget)


def tpe_hyperband(
    train: Callable[..., Any], space: hz.Space, r_max: int, epochs: float, seed: int
) -> tuple[Any, Any, float]:
    """Optuna's TPE with its Hyperband pruner, every trial reporting every epoch."""
    optuna = quiet_optuna()
    study = optuna.create_study(
        sampler=optuna.samplers.TPESampler(seed=seed % 2**32),
        pruner=optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=r_max, reduction_factor=3
        ),
    )
    used = [0.0]
    finished: list[tuple[float, Any, Any]] = []
    partial: list[tuple[int, float, Any, Any]] = []

    def objective(trial: Any) -> float:
        c = suggest(trial, space)
        state, loss = None, math.inf
        for t in range(1, r_max + 1):
            if used[0] >= epochs:
                partial.append((t - 1, loss, c, state))
                raise optuna.TrialPruned
            loss, state = train(c, t, state)
            used[0] += 1
            if not math.isfinite(loss):
                loss = 1e9
            trial.report(loss, t)
            if trial.should_prune():
                partial.append((t, loss, c, state))
                raise optuna.TrialPruned
        finished.append((loss, c, state))
        return loss

    while used[0] < epochs:
        study.optimize(objective, n_trials=1)
    if finished:
        _, c, state = min(finished, key=lambda x: x[0])
    else:  # nothing reached r_max: the furthest trained, then the lowest loss
        _, _, c, state = min(partial, key=lambda x: (-x[0], x[1]))
    return c, state, used[0]


def paired_p(a: np.ndarray, b: np.ndarray) -> str:
    """Two-sided p of Wilcoxon's signed-rank test on the seeds' paired results.

    The differences ``b - a`` of the seeds where the two samplers differ (equal
    results carry no sign); "-" when they differ on fewer than 6 seeds, too few for
    the test to reach 0.05.
    """
    d = b - a
    d = d[d != 0.0]
    if d.size < 6:
        return "-"
    return f"{wilcoxon(d).pvalue:.2f}"


def scheduled(
    method: str,
    train: Callable[..., Any],
    space: hz.Space,
    r_max: int,
    passes: int,
    sampler: str,
    seed: int,
) -> hz.ScheduleResult:
    """Hyperband (``passes`` passes of its brackets) or ASHA (as many epochs), eta 3."""
    if method == "hyperband":
        return hz.hyperband(
            train,
            space,
            max_budget=r_max,
            eta=3,
            passes=passes,
            sampler=sampler,
            rng=seed,
        )
    return hz.asha(
        train,
        space,
        min_budget=1,
        max_budget=r_max,
        eta=3,
        budget_limit=passes * hb_epochs(r_max),
        sampler=sampler,
        rng=seed,
    )


def run_family(
    name: str,
    train: Callable[..., Any],
    space: hz.Space,
    true: Callable[[Any, Any], float],
    r_max: int,
    seeds: list[int],
    *,
    optuna: bool,
    pbt: tuple[int, int],
    passes: int = 1,
    methods: tuple[str, ...] = METHODS,
    metric: str = "true loss",
) -> tuple[list[str], dict[str, Any]]:
    epochs = passes * hb_epochs(r_max)
    hb_label = f"Hyperband ({passes} pass{'es' if passes > 1 else ''}, eta=3)"
    n_eq = round(epochs / r_max)
    n_3x = math.ceil(3 * epochs / r_max)
    rows: dict[str, dict[str, list[tuple[float, float]]]] = {}
    tpe: list[tuple[float, float]] = []

    def add(method: str, how: str, c: Any, state: Any, ep: float) -> None:
        rows.setdefault(method, {}).setdefault(how, []).append((true(c, state), ep))

    t0 = time.perf_counter()
    members, interval = pbt
    members *= passes
    for seed in seeds:
        for how in SAMPLERS:
            if "search" in methods:
                for n in (n_3x, n_eq):
                    c, s, ep = full_search(train, space, n, r_max, seed, how)
                    add(f"search, {n} configs x {r_max}", how, c, s, ep)
            if "hyperband" in methods:
                r = scheduled("hyperband", train, space, r_max, passes, how, seed)
                add(hb_label, how, r.best, r.best_state, r.budget_used)
            if "asha" in methods:
                r = scheduled("asha", train, space, r_max, passes, how, seed)
                label = f"ASHA (budget_limit={epochs})"
                add(label, how, r.best, r.best_state, r.budget_used)
            if "pbt" in methods:
                r = hz.pbt(
                    train,
                    space,
                    population=members,
                    interval=interval,
                    total_budget=r_max,
                    sampler=how,
                    rng=seed,
                )
                label = f"PBT ({members} members, every {interval})"
                add(label, how, r.best, r.best_state, r.budget_used)
        if optuna:
            c, s, ep = tpe_hyperband(train, space, r_max, epochs, seed)
            tpe.append((true(c, s), ep))
    seconds = time.perf_counter() - t0

    out = [
        (
            f"{name} (max budget {r_max}, {epochs} epochs: Hyperband's {passes} "
            f"pass{'es' if passes > 1 else ''}), median over {len(seeds)} seeds of the "
            f"returned model's {metric} (lower is better); paired p: Wilcoxon's "
            "signed-rank test on the seeds where the samplers differ."
        ),
        "",
        (
            "| method | random proposals | coarse-to-fine | coarse-to-fine / random | "
            "seeds coarse-to-fine better / worse | paired p | median epochs |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    summary: dict[str, Any] = {"epochs": epochs}
    for method, by in rows.items():
        a = np.array([x for x, _ in by["random"]])
        b = np.array([x for x, _ in by[C2F]])
        ep = np.median([e for _, e in by[C2F]])
        label = method.replace("search, ", "full-budget search, ")
        if method.startswith("search"):
            label += " (random search / coarse-to-fine search)"
        out.append(
            f"| {label} | {np.median(a):.4f} | {np.median(b):.4f} | "
            f"{np.median(b) / np.median(a):.3f} | {int((b < a).sum())} / "
            f"{int((b > a).sum())} | {paired_p(a, b)} | {ep:.0f} |"
        )
        summary[method] = (float(np.median(a)), float(np.median(b)))
    search_3x = f"search, {n_3x} configs x {r_max}"
    if search_3x in rows and hb_label in rows:
        hb = np.array([x for x, _ in rows[hb_label][C2F]])
        se = np.array([x for x, _ in rows[search_3x][C2F]])
        tail = (
            f"Hyperband with coarse-to-fine proposals against coarse-to-fine search "
            f"with 3x its epochs ({n_3x} configs x {r_max}), the same seeds: "
            f"{np.median(hb):.4f} against {np.median(se):.4f}, Hyperband better / "
            f"worse on {int((hb < se).sum())} / {int((hb > se).sum())} seeds, "
            f"paired p {paired_p(se, hb)}."
        )
    else:
        tail = ""
    if tpe:
        out.append(
            f"| Optuna TPE + Hyperband pruner | | {np.median([x for x, _ in tpe]):.4f} | "
            f"| | | {np.median([e for _, e in tpe]):.0f} |"
        )
        summary["tpe"] = float(np.median([x for x, _ in tpe]))
    out += ["", *([tail, ""] if tail else []), f"({seconds:.0f} s)", ""]
    return out, summary


def synthetic(
    seeds: list[int],
    families: list[int],
    optuna: bool,
    passes: list[int],
    methods: tuple[str, ...] = METHODS,
) -> list[str]:
    fams = all_families()
    out: list[str] = []
    for p in passes:
        for k in families:
            fam = fams[k]
            lines, _ = run_family(
                fam.title,
                fam.train,
                fam.space,
                fam.true,
                R,
                seeds,
                optuna=optuna,
                pbt=(20, 9),
                passes=p,
                methods=methods,
            )
            out += lines
    return out


def draws(
    seeds: list[int], families: list[int], passes: list[int], methods: tuple[str, ...]
) -> list[str]:
    """How good the region's draws are, against the random draws of the same runs.

    For each coarse-to-fine run, the true loss of every configuration trained straight
    to ``R`` (``Family.final``), split by where the configuration came from: the median
    of each part, and the best of each (seeds with no region draw are left out).
    """
    fams = all_families()
    out = [
        (
            "Configurations drawn from a region against those drawn at random in the "
            f"same coarse-to-fine runs: true loss trained straight to {R} epochs, median "
            f"over {len(seeds)} seeds (region / random; seeds where the region's is lower)."
        ),
        "",
        (
            "| method | family | passes | region draws | median of each | seeds | "
            "best of each | seeds |"
        ),
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for method in (m for m in ("hyperband", "asha") if m in methods):
        for p in passes:
            for k in families:
                fam = fams[k]
                rows = []
                for seed in seeds:
                    r = scheduled(method, fam.train, fam.space, R, p, C2F, seed)
                    drawn = r.trials.proposal >= 0
                    if not drawn.any():
                        continue
                    configs = r.trials.configs
                    final = np.array(
                        [fam.final(configs.row(i)) for i in range(len(r.trials))]
                    )
                    rows.append(
                        (
                            np.median(final[drawn]),
                            np.median(final[~drawn]),
                            final[drawn].min(),
                            final[~drawn].min(),
                            drawn.mean(),
                        )
                    )
                q = np.array(rows)
                name = fam.title.split(" (")[0]
                if not rows:  # no seed drew from a region
                    out.append(f"| {method} | {name} | {p} | 0 | | 0 of 0 | | 0 of 0 |")
                    continue
                out.append(
                    f"| {method} | {name} | {p} | {np.median(q[:, 4]):.2f} | "
                    f"{np.median(q[:, 0]):.4f} / {np.median(q[:, 1]):.4f} | "
                    f"{int((q[:, 0] < q[:, 1]).sum())} of {len(q)} | "
                    f"{np.median(q[:, 2]):.4f} / {np.median(q[:, 3]):.4f} | "
                    f"{int((q[:, 2] < q[:, 3]).sum())} of {len(q)} |"
                )
    return out


DIGITS = {
    "digits": ("Digits MLP (NumPy, momentum SGD)", sq.DIGITS_SPACE),
    "conditional": (
        "Digits MLP, SGD or Adam (conditional space)",
        sq.DIGITS_COND_SPACE,
    ),
}


def digits(
    seeds: list[int],
    optuna: bool,
    passes: list[int],
    methods: tuple[str, ...] = METHODS,
    which: str = "digits",
) -> list[str]:
    """The digits MLP; ``which="conditional"``: over SGD (momentum, decay) or Adam."""
    title, space = DIGITS[which]
    out: list[str] = []
    for p in passes:
        lines, _ = run_family(
            title,
            sq.digits_train,
            space,
            lambda c, state: sq.digits_test_error(state),
            27,
            seeds,
            optuna=optuna,
            pbt=(13, 3),
            passes=p,
            methods=methods,
            metric="test error",
        )
        out += lines
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--only", choices=["synthetic", "digits", "conditional", "draws"])
    ap.add_argument("--families", default="0,1,2,3,4")
    ap.add_argument("--no-optuna", action="store_true")
    ap.add_argument(
        "--passes",
        default="1,3",
        help="budgets, in passes of Hyperband's brackets (comma-separated)",
    )
    ap.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="which of search, hyperband, asha, pbt to run (comma-separated)",
    )
    ap.add_argument("--out")
    ap.add_argument(
        "--tuning-seeds",
        action="store_true",
        help="the seeds the proposer was tuned on, not the harness's",
    )
    args = ap.parse_args()
    seeds = [0x5EED_0000 + 7919 * i for i in range(args.seeds)]
    if args.tuning_seeds:
        seeds = [1000 + 104729 * i for i in range(args.seeds)]
    passes = [int(p) for p in args.passes.split(",") if p]
    if not passes or min(passes) < 1:
        ap.error(f"--passes must be positive integers, but got {args.passes!r}")
    fams = [int(k) for k in args.families.split(",") if k]
    if not fams or not set(fams) <= set(range(len(all_families()))):
        ap.error(
            f"--families must index the {len(all_families())} families, got {fams!r}"
        )
    methods = tuple(m for m in args.methods.split(",") if m)
    if not methods or not set(methods) <= set(METHODS):
        ap.error(f"--methods must name some of {METHODS}, but got {args.methods!r}")
    optuna = not args.no_optuna
    if optuna:
        try:
            quiet_optuna()
        except ImportError:
            optuna = False
    lines: list[str] = []
    if args.only in (None, "synthetic"):
        lines += synthetic(seeds, fams, optuna, passes, methods)
    if args.only in (None, "digits"):
        lines += digits(seeds, optuna, passes, methods)
    if args.only in (None, "conditional"):
        lines += digits(seeds, optuna, passes, methods, which="conditional")
    if args.only == "draws":
        lines += draws(seeds, fams, passes, methods)
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
