"""The ``hyperzoom`` command line.

``hyperzoom demo`` samples the practice's search space (learning rate on a log
scale, momentum on the 1-β scale, hidden units, layers, batch size, learning-rate
decay, activation) and prints what came out, per parameter and per configuration.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

from . import __version__
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Examples
    --------
    >>> from hyperzoom.cli import main
    >>> main(["demo", "--n", "3", "--rows", "0"])  # doctest: +ELLIPSIS
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
        "demo", help="sample the practice's search space and print a table"
    )
    demo.add_argument(
        "--n", type=int, default=1_000_000, help="configurations (default 1,000,000)"
    )
    demo.add_argument(
        "--seed", type=int, default=20241128, help="seed (default 20241128)"
    )
    demo.add_argument(
        "--rows", type=int, default=10, help="configurations to print (default 10)"
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.n < 0 or args.rows < 0 or args.seed < 0:
            parser.error("--n, --rows and --seed must be >= 0")
        return _demo(args.n, args.seed, args.rows)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
