"""The ``hyperzoom`` command line.

``hyperzoom demo [--budget 200] [--workers 2] [--storage STUDY.db] [-o REPORT.html]``
tunes scikit-learn's MLPClassifier on the digits data (which ship with scikit-learn)
over the practice's hyperparameters (:mod:`hyperzoom.demos.digits`), stores the study,
writes the HTML report and prints the best configuration. Run again, it resumes.

``hyperzoom sample [--n N] [--seed S] [--rows R]`` samples the practice's search space
(learning rate on a log scale, momentum on the 1-β scale, hidden units, layers, batch
size, learning-rate decay, activation) and prints what came out.

``hyperzoom run FILE.py [--budget N] [--storage STUDY.db] [--study NAME]`` runs the
search that ``FILE.py`` defines (module-level ``space``, ``objective`` and an optional
``settings`` dict of :func:`hyperzoom.search` keyword arguments), stores every trial in
``STUDY.db`` (default: ``FILE.db``, study ``FILE``), prints progress and the best
configuration, and resumes where it stopped when run again.

``hyperzoom show STUDY.db [--study NAME] [--top 10]`` prints a stored study's best trials.

``hyperzoom report STUDY.db [--study NAME] -o REPORT.html`` writes a self-contained HTML
report (plots embedded) of a stored study.

Bad arguments, files that are not study files and studies that do not match give a
message and exit status 2.
"""

from __future__ import annotations

import argparse
import inspect
import math
import runpy
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import storage as _storage
from ._version import __version__
from .evaluate import resolve_mode
from .search import AllTrialsFailedError, CoarseToFine, SearchResult, search
from .search.journal import open_journal
from .search.loop import run
from .search.settings import SETTINGS
from .space import (
    Choice,
    IntLogUniform,
    IntUniform,
    InvLogUniform,
    LogUniform,
    PowerOfTwo,
    Space,
)

__all__ = ["demo_space", "main"]


def demo_space() -> Space:
    """Return the search space of DESIGN.md: the practice's hyperparameters.

    Examples
    --------
    >>> from hyperzoom.cli import demo_space
    >>> demo_space().d
    7
    """
    return Space(
        learning_rate=LogUniform(1e-4, 1.0),
        momentum=InvLogUniform(0.9, 0.999),
        hidden_units=IntLogUniform(16, 1024),
        layers=IntUniform(1, 6),
        batch_size=PowerOfTwo(16, 512),
        lr_decay=LogUniform(1e-4, 1e-1),
        activation=Choice(["relu", "tanh"]),
    )


def _fmt(v: object) -> str:
    if v is None:  # a parameter inactive in that configuration
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _demo(n: int, seed: int, rows: int) -> int:
    space = demo_space()
    start = time.perf_counter()
    configs = space.sample(n, rng=seed)
    elapsed = time.perf_counter() - start
    print(
        f"hyperzoom {__version__}: {n:,} configurations of {space.d} parameters "
        f"in {elapsed * 1e3:.1f} ms ({elapsed / max(n, 1) * 1e9:.0f} ns each), seed {seed}"
    )
    print()
    header = f"{'parameter':<14} {'scale':<13} {'min':>10} {'median':>10} {'max':>10}"
    print(header)
    print("-" * len(header))
    for name, dist in space.items():
        col = configs[name]
        if isinstance(dist, Choice):
            values, counts = np.unique(col, return_counts=True)
            share = ", ".join(
                f"{v}: {c / max(n, 1):.1%}" for v, c in zip(values, counts)
            )
            print(f"{name:<14} {dist.scale:<13} {share}")
            continue
        lo, med, hi = (
            (np.quantile(col, q) for q in (0.0, 0.5, 1.0)) if n else (np.nan,) * 3
        )
        print(
            f"{name:<14} {dist.scale:<13} {_fmt(float(lo)):>10} {_fmt(float(med)):>10} {_fmt(float(hi)):>10}"
        )
    if n:
        beta = configs["momentum"]
        print()
        print(
            f"momentum: {np.mean(beta > 0.99):.1%} of draws in [0.99, 0.999], "
            f"{np.mean(beta <= 0.99):.1%} in [0.9, 0.99] (the 1-β scale)"
        )
    print()
    names = list(space.names)
    print("  ".join(f"{k:>13}" for k in names))
    for i in range(min(rows, n)):
        row = configs[i]
        print("  ".join(f"{_fmt(row[k]):>13}" for k in names))
    return 0


def _table(result: SearchResult, top: int) -> list[str]:
    """Return the best ``top`` first evaluations as text lines, best first."""
    t = result.trials
    ok = np.flatnonzero(~t.failed & (t.retest_of < 0))
    order = np.argsort(t.value[ok] if result.minimize else -t.value[ok], kind="stable")
    rows = ok[order[:top]]
    names = list(result.space.names)
    configs = t.configs
    cells = [
        [str(i + 1), str(t.id[r]), str(t.round[r]), f"{t.value[r]:.6g}"]
        + [_fmt(configs[int(r)].get(k)) for k in names]
        for i, r in enumerate(rows)
    ]
    return _aligned(["rank", "id", "round", "value", *names], cells)


def _aligned(header: list[str], cells: list[list[str]]) -> list[str]:
    """Return a right-aligned text table: the header, a rule, one line per row."""
    widths = [max([len(h)] + [len(c[j]) for c in cells]) for j, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return lines


def _load(
    parser: argparse.ArgumentParser, path: str, name: str | None
) -> tuple[Any, dict[str, Any]]:
    """Load a stored study and its record; a bad file or name is a usage error."""
    try:
        return _storage.load_study(path, name), _storage.study_info(path, name)
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))


def _show(
    parser: argparse.ArgumentParser, path: str, name: str | None, top: int
) -> int:
    result, info = _load(parser, path, name)
    s = info["settings"]
    if "method" in s:
        return _show_schedule(result, info, path, top)
    sense = "minimise" if s["minimize"] else "maximise"
    n = len(result.trials)
    print(
        f"study {info['name']!r} in {path}: {n} trials stored (latest budget "
        f"{s['budget'] if s['budget'] is not None else 'none'}) "
        f"({result.trials.n_failed} failed), {s['strategy']}, {sense}"
    )
    print(
        f"seed {info['seed']['entropy']}, written by hyperzoom {info['version']} "
        f"on {info['created']}"
    )
    if result.best is None:
        print("no successful trial yet")
        return 0
    best = ", ".join(f"{k}={_fmt(v)}" for k, v in result.best.items())
    print(f"best value {result.best_value:.6g} (trial {result.best_id}): {best}")
    print()
    for line in _table(result, top):
        print(line)
    return 0


def _show_schedule(result: Any, info: dict[str, Any], path: str, top: int) -> int:
    """Print a stored schedule: its settings, best run and the top runs."""
    s = dict(info["settings"])
    method = s.pop("method")
    args = ", ".join(f"{k}={v!r}" for k, v in s.items() if v is not None)
    t = result.trials
    print(
        f"study {info['name']!r} in {path}: {method} ({args}); {len(t)} runs, "
        f"{result.n_calls} calls of train stored ({t.n_failed} runs failed)"
    )
    print(
        f"seed {info['seed']['entropy']}, written by hyperzoom {info['version']} "
        f"on {info['created']}"
    )
    if result.best is None:
        print("no successful run yet")
        return 0
    best = ", ".join(f"{k}={_fmt(v)}" for k, v in result.best.items())
    budget = t.budget[t.id == result.best_id][0]
    print(
        f"best loss {result.best_value:.6g} (run {result.best_id}, trained to "
        f"{budget:.6g}): {best}"
    )
    print()
    names = list(result.space.names)
    configs = t.configs
    cells = [
        [str(i + 1), str(t.id[r]), f"{t.budget[r]:.6g}", f"{t.value[r]:.6g}"]
        + [_fmt(configs[int(r)].get(k)) for k in names]
        for i, r in enumerate(t.ranking()[:top])
    ]
    for line in _aligned(["rank", "run", "budget", "loss", *names], cells):
        print(line)
    return 0


def _load_search_file(parser: argparse.ArgumentParser, file: str) -> dict[str, Any]:
    if not Path(file).is_file():
        parser.error(f"no search file at {file!r}")
    try:
        return runpy.run_path(file, run_name="__hyperzoom_run__")
    except Exception as exc:  # noqa: BLE001 - the user's file: report, don't trace
        parser.error(f"{file!r} failed to run: {type(exc).__name__}: {exc}")


def _run(
    parser: argparse.ArgumentParser,
    file: str,
    budget: int | None,
    path: str | None,
    study: str | None,
) -> int:
    ns = _load_search_file(parser, file)
    space, objective = ns.get("space"), ns.get("objective")
    if not isinstance(space, Space):
        parser.error(
            f"{file!r} must define `space`, a hyperzoom Space, at module level"
        )
    if not callable(objective):
        parser.error(f"{file!r} must define `objective`, a callable, at module level")
    settings = ns.get("settings", {})
    if not isinstance(settings, dict):
        parser.error(f"`settings` in {file!r} must be a dict of hz.search arguments")
    params = inspect.signature(search).parameters
    allowed = set(params) - {"objective", "space"}
    unknown = sorted(set(settings) - allowed)
    if unknown:
        parser.error(
            f"`settings` in {file!r} has unknown keys {unknown!r}; hz.search takes "
            f"{sorted(allowed)!r}"
        )
    kw: dict[str, Any] = {k: p.default for k, p in params.items() if k in allowed}
    kw.update(settings)
    if budget is not None:
        kw["budget"] = budget
    if kw["budget"] is None and kw.get("time_limit") is None:
        parser.error(
            f"give --budget, or a 'budget' (or 'time_limit') in `settings` of {file!r}"
        )
    if isinstance(kw["budget"], int) and kw["budget"] < 1:
        parser.error(f"the budget must be >= 1, but got {kw['budget']!r}")
    path = path or kw["storage"] or str(Path(file).with_suffix(".db"))
    study = study or kw["study"] or Path(file).stem
    if Path(path).exists():
        try:
            names = _storage.list_studies(path)
        except ValueError as exc:
            parser.error(str(exc))
        if study in names:
            info = _storage.study_info(path, study)
            if "method" in info["settings"]:
                parser.error(
                    f"study {study!r} in {path!r} is a {info['settings']['method']} "
                    "study; `hyperzoom run` runs searches: choose another --study"
                )
            n = len(_storage.load_study(path, study).trials)
            print(f"resuming study {study!r} in {path}: {n} trials stored")
    start = time.perf_counter()
    step = max(1, (kw["budget"] or 0) // 10)
    mark = [step]

    def report(opt: CoarseToFine, stored: int, new: int) -> None:
        # About ten lines a run, none while stored rounds are replayed.
        if not opt.done and (new == 0 or stored < mark[0]):
            return
        while mark[0] <= stored:
            mark[0] += step
        r = opt.result()
        best = f"{r.best_value:.6g}" if math.isfinite(r.best_value) else "-"
        total = "" if opt.budget is None else f"/{opt.budget}"
        print(
            f"{opt.round} rounds done (run {opt.run}): {stored}{total} trials stored "
            f"({new} run now), best {best}",
            flush=True,
        )

    try:
        mode = resolve_mode(objective, space, kw["mode"])
        settings = {k: kw[k] for k in SETTINGS}
        with open_journal(path, study, space, settings, kw["rng"], kw["workers"]) as (
            journal,
            opt,
        ):
            result = run(
                opt,
                objective,
                journal,
                mode=mode,
                executor=kw["executor"],
                batch_size=kw["batch_size"],
                deadline=(
                    None
                    if kw["time_limit"] is None
                    else time.monotonic() + float(kw["time_limit"])
                ),
                progress=bool(kw["progress"]),
                report=report,
            )
    except AllTrialsFailedError as exc:
        print(f"hyperzoom run: {exc}", file=sys.stderr)
        return 1
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    _print_outcome(result, start, f" in study {study!r} of {path}", "best value")
    return 0


def _print_outcome(
    result: SearchResult, start: float, where: str, label: str, spec: str = ".6g"
) -> None:
    """Print how long the run took, its trials and its best configuration."""
    elapsed = time.perf_counter() - start
    print(
        f"done in {elapsed:.1f} s: {len(result.trials)} trials "
        f"({result.trials.n_failed} failed){where}"
    )
    if result.best is not None:
        print(f"{label} {result.best_value:{spec}} (trial {result.best_id})")
        for k, v in result.best.items():
            print(f"  {k} = {_fmt(v)}")


def _report(
    parser: argparse.ArgumentParser, path: str, name: str | None, output: str
) -> int:
    result, info = _load(parser, path, name)
    if ("method" in info["settings"] and result.n_calls == 0) or len(
        result.trials
    ) == 0:
        parser.error(f"study {info['name']!r} in {path!r} has no trials yet")
    try:
        _matplotlib_off_screen()
        from .report import write_report

        out = write_report(result, output, title=f"hyperzoom study {info['name']!r}")
    except ImportError as exc:
        parser.error(str(exc))
    except OSError as exc:
        parser.error(f"cannot write {output!r}: {exc}")
    what = "runs" if "method" in info["settings"] else "trials"
    print(
        f"report of study {info['name']!r} ({len(result.trials)} {what}) written to {out}"
    )
    return 0


def _matplotlib_off_screen() -> None:
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")


def _demo_digits(
    parser: argparse.ArgumentParser, budget: int, workers: int, path: str, output: str
) -> int:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        parser.error("the demo needs scikit-learn: pip install scikit-learn")
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from .demos import digits

    study = "digits-mlp"
    print(
        f"tuning an MLP on scikit-learn's digits: {budget} trials of "
        f"{digits.EPOCHS} epochs on {workers} processes; study {study!r} in {path}"
    )
    start = time.perf_counter()
    try:
        # Spawned workers, not forked: a fork copies whatever threads are running
        # (a progress bar's monitor, say), and a lock one of them holds at that moment
        # stays held in the child for good.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
            result = search(
                digits.objective,
                digits.space,
                budget=budget,
                rng=digits.settings["rng"],
                executor=pool,
                storage=path,
                study=study,
            )
    except AllTrialsFailedError as exc:
        print(f"hyperzoom demo: {exc}", file=sys.stderr)
        return 1
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    _print_outcome(result, start, "", "best validation error", ".4f")
    return _report(parser, path, study, output)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"must be a positive integer, but got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"must be a positive integer, but got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Examples
    --------
    >>> from hyperzoom.cli import main
    >>> main(["sample", "--n", "3", "--rows", "0"])  # doctest: +ELLIPSIS
    hyperzoom ...
    0
    """
    parser = argparse.ArgumentParser(
        prog="hyperzoom", description="Hyperparameter search core."
    )
    parser.add_argument(
        "--version", action="version", version=f"hyperzoom {__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="tune an MLP on scikit-learn's digits, store the study, write the report",
    )
    demo.add_argument(
        "--budget", type=_positive, default=200, help="trials (default 200)"
    )
    demo.add_argument(
        "--workers", type=_positive, default=2, help="processes (default 2)"
    )
    demo.add_argument(
        "--storage",
        metavar="STUDY.db",
        default="hyperzoom-demo.db",
        help="study file (default hyperzoom-demo.db)",
    )
    demo.add_argument(
        "-o",
        "--output",
        metavar="REPORT.html",
        default="hyperzoom-demo.html",
        help="report file (default hyperzoom-demo.html)",
    )
    sample = sub.add_parser(
        "sample", help="sample the practice's search space and print a table"
    )
    sample.add_argument(
        "--n", type=int, default=1_000_000, help="configurations (default 1,000,000)"
    )
    sample.add_argument(
        "--seed", type=int, default=20241128, help="seed (default 20241128)"
    )
    sample.add_argument(
        "--rows", type=int, default=10, help="configurations to print (default 10)"
    )
    run = sub.add_parser(
        "run",
        help="run (or resume) the search a Python file defines, storing every trial",
        description=(
            "Run the search that FILE.py defines at module level: `space` (a "
            "hyperzoom Space), `objective`, and optionally `settings`, a dict of "
            "hz.search keyword arguments. Every trial is stored as it completes; "
            "running the same command again resumes the study."
        ),
    )
    run.add_argument("file", metavar="FILE.py", help="the search definition")
    run.add_argument(
        "--budget", type=_positive, help="evaluations (overrides settings['budget'])"
    )
    run.add_argument(
        "--storage", metavar="STUDY.db", help="study file (default: FILE.db)"
    )
    run.add_argument("--study", metavar="NAME", help="study name (default: FILE)")
    show = sub.add_parser(
        "show", help="print a stored study's best trials (or a schedule's best runs)"
    )
    show.add_argument("storage", metavar="STUDY.db", help="study file")
    show.add_argument(
        "--study", metavar="NAME", help="study (needed when the file holds several)"
    )
    show.add_argument(
        "--top", type=_positive, default=10, help="trials to print (default 10)"
    )
    report = sub.add_parser("report", help="write a stored study's HTML report")
    report.add_argument("storage", metavar="STUDY.db", help="study file")
    report.add_argument(
        "--study", metavar="NAME", help="study (needed when the file holds several)"
    )
    report.add_argument(
        "-o", "--output", metavar="REPORT.html", required=True, help="report file"
    )
    args = parser.parse_args(argv)
    if args.command == "sample":
        if args.n < 0 or args.rows < 0 or args.seed < 0:
            parser.error("--n, --rows and --seed must be >= 0")
        return _demo(args.n, args.seed, args.rows)
    if args.command == "demo":
        return _demo_digits(demo, args.budget, args.workers, args.storage, args.output)
    if args.command == "report":
        return _report(report, args.storage, args.study, args.output)
    if args.command == "show":
        return _show(show, args.storage, args.study, args.top)
    if args.command == "run":
        return _run(run, args.file, args.budget, args.storage, args.study)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
