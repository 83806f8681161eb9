"""Sampling a conditional space: hyperzoom beside ConfigSpace and beside a flat space.

    python bench/conditional_sampling.py [--n 100000] [--repeats 7] [--out FILE.md]

The space has 16 parameters and three levels of conditions (model -> optimizer ->
momentum -> nesterov; model -> layers -> width; model -> kernel -> degree). Timed in
the same run, medians of ``--repeats`` calls:

- ``hz.Space.sample(n)`` of the conditional space, ``workers=1`` and ``workers=2``;
- ``hz.Space.sample(n)`` of the same 16 parameters without conditions (flat);
- ConfigSpace's ``sample_configuration(n)`` of the same space (``InvLogUniform`` has no
  ConfigSpace peer: a ``UniformFloat`` stands in, with the same bounds);
- and the same three for one configuration (``n = 1``, median over batches of calls).

Each sample is checked before it is timed (children active exactly where their parents
say). Prints a Markdown table; ``--out`` writes it to a file as well.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import hyperzoom as hz

SEED = 0x5EED_2024_1130_0015


def conditional_params() -> dict[str, hz.Distribution]:
    return {
        "model": hz.Choice(["mlp", "gbm", "svm"]),
        "layers": hz.IntUniform(1, 4).when(model="mlp"),
        "width_k": hz.IntLogUniform(16, 1024).when(layers=[2, 3, 4]),
        "optimizer": hz.Choice(["sgd", "adam", "rmsprop"]).when(model="mlp"),
        "lr": hz.LogUniform(1e-5, 1.0).when(model="mlp"),
        "momentum": hz.InvLogUniform(0.5, 0.999).when(optimizer="sgd"),
        "nesterov": hz.Choice([False, True]).when(momentum=(0.9, 0.999)),
        "beta1": hz.InvLogUniform(0.8, 0.999).when(optimizer="adam"),
        "beta2": hz.InvLogUniform(0.99, 0.9999).when(optimizer="adam"),
        "rho": hz.Uniform(0.8, 0.99).when(optimizer="rmsprop"),
        "n_estimators": hz.IntLogUniform(50, 2000).when(model="gbm"),
        "max_depth": hz.IntUniform(2, 12).when(model="gbm"),
        "subsample": hz.Uniform(0.5, 1.0).when(model="gbm"),
        "C": hz.LogUniform(1e-3, 1e3).when(model="svm"),
        "kernel": hz.Choice(["rbf", "poly"]).when(model="svm"),
        "degree": hz.IntUniform(2, 5).when(kernel="poly"),
    }


def hz_spaces() -> tuple[hz.Space, hz.Space]:
    cond = conditional_params()
    flat = {}
    for k, v in cond.items():
        plain = v.__class__.__new__(v.__class__)
        plain.__dict__.update(v.__dict__)
        plain._when = ()
        flat[k] = plain
    return hz.Space(cond), hz.Space(flat)


def configspace_space():
    import ConfigSpace as CS

    cs = CS.ConfigurationSpace(seed=1)
    p = {
        "model": CS.CategoricalHyperparameter("model", ["mlp", "gbm", "svm"]),
        "layers": CS.UniformIntegerHyperparameter("layers", 1, 4),
        "width_k": CS.UniformIntegerHyperparameter("width_k", 16, 1024, log=True),
        "optimizer": CS.CategoricalHyperparameter(
            "optimizer", ["sgd", "adam", "rmsprop"]
        ),
        "lr": CS.UniformFloatHyperparameter("lr", 1e-5, 1.0, log=True),
        "momentum": CS.UniformFloatHyperparameter("momentum", 0.5, 0.999),
        "nesterov": CS.CategoricalHyperparameter("nesterov", [False, True]),
        "beta1": CS.UniformFloatHyperparameter("beta1", 0.8, 0.999),
        "beta2": CS.UniformFloatHyperparameter("beta2", 0.99, 0.9999),
        "rho": CS.UniformFloatHyperparameter("rho", 0.8, 0.99),
        "n_estimators": CS.UniformIntegerHyperparameter(
            "n_estimators", 50, 2000, log=True
        ),
        "max_depth": CS.UniformIntegerHyperparameter("max_depth", 2, 12),
        "subsample": CS.UniformFloatHyperparameter("subsample", 0.5, 1.0),
        "C": CS.UniformFloatHyperparameter("C", 1e-3, 1e3, log=True),
        "kernel": CS.CategoricalHyperparameter("kernel", ["rbf", "poly"]),
        "degree": CS.UniformIntegerHyperparameter("degree", 2, 5),
    }
    cs.add(list(p.values()))
    eq = CS.EqualsCondition
    cs.add(
        [
            eq(p["layers"], p["model"], "mlp"),
            CS.InCondition(p["width_k"], p["layers"], [2, 3, 4]),
            eq(p["optimizer"], p["model"], "mlp"),
            eq(p["lr"], p["model"], "mlp"),
            eq(p["momentum"], p["optimizer"], "sgd"),
            CS.GreaterThanCondition(p["nesterov"], p["momentum"], 0.9),
            eq(p["beta1"], p["optimizer"], "adam"),
            eq(p["beta2"], p["optimizer"], "adam"),
            eq(p["rho"], p["optimizer"], "rmsprop"),
            eq(p["n_estimators"], p["model"], "gbm"),
            eq(p["max_depth"], p["model"], "gbm"),
            eq(p["subsample"], p["model"], "gbm"),
            eq(p["C"], p["model"], "svm"),
            eq(p["kernel"], p["model"], "svm"),
            eq(p["degree"], p["kernel"], "poly"),
        ]
    )
    return cs


def check_hz(c: hz.Configs, n: int) -> None:
    assert len(c) == n
    model = np.asarray(c["model"])
    act = dict(zip(c.names, c.active.T))
    assert np.array_equal(act["layers"], model == "mlp")
    layers = np.ma.getdata(c["layers"])
    assert np.array_equal(act["width_k"], (model == "mlp") & (layers >= 2))
    opt = np.ma.getdata(c["optimizer"])
    sgd = (model == "mlp") & (opt == "sgd")
    assert np.array_equal(act["momentum"], sgd)
    mom = np.asarray(c["momentum"])
    assert np.array_equal(act["nesterov"], sgd & (mom >= 0.9))
    kernel = np.ma.getdata(c["kernel"])
    assert np.array_equal(act["degree"], (model == "svm") & (kernel == "poly"))


def check_cs(configs: list, n: int) -> None:
    assert len(configs) == n
    for cfg in configs[:1000]:
        d = dict(cfg)
        assert ("momentum" in d) == (d["model"] == "mlp" and d["optimizer"] == "sgd")
        assert ("degree" in d) == (d["model"] == "svm" and d["kernel"] == "poly")


def median_time(fn, repeats: int, inner: int = 1) -> float:
    """Median seconds of one call, over ``repeats`` batches of ``inner`` calls."""
    fn()  # warm up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t) / inner)
    return statistics.median(times)


def fmt(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--cs-repeats", type=int, default=3)
    ap.add_argument("--inner", type=int, default=200, help="calls per batch at n = 1")
    ap.add_argument("--no-configspace", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    n = args.n
    cond, flat = hz_spaces()
    assert cond.d == flat.d == 16
    assert not flat.conditional

    check_hz(cond.sample(n, rng=SEED, workers=1), n)
    times: dict[str, float] = {}
    one: dict[str, float] = {}
    for w in (1, 2):
        times[f"hz-cond-{w}"] = median_time(
            lambda w=w: cond.sample(n, rng=SEED, workers=w), args.repeats
        )
        times[f"hz-flat-{w}"] = median_time(
            lambda w=w: flat.sample(n, rng=SEED, workers=w), args.repeats
        )
    one["hz-cond"] = median_time(
        lambda: cond.sample(1, rng=SEED), args.repeats, args.inner
    )
    one["hz-flat"] = median_time(
        lambda: flat.sample(1, rng=SEED), args.repeats, args.inner
    )
    has_cs = False
    if not args.no_configspace:
        try:
            import ConfigSpace
        except ImportError:
            print(
                "ConfigSpace is not installed: its rows are left out.", file=sys.stderr
            )
        else:
            has_cs = True
            cs = configspace_space()
            check_cs(cs.sample_configuration(n), n)
            times["cs"] = median_time(
                lambda: cs.sample_configuration(n), args.cs_repeats
            )
            one["cs"] = median_time(
                lambda: cs.sample_configuration(),
                args.repeats,
                max(args.inner // 10, 1),
            )

    lines = [
        f"n = {n:,} configurations of a 16-parameter space with three levels of "
        f"conditions; medians of {args.repeats} calls (ConfigSpace: {args.cs_repeats}); "
        f"{platform.processor() or platform.machine()}, hyperzoom {hz.__version__}"
        + (f", ConfigSpace {ConfigSpace.__version__}" if has_cs else "")
        + ".",
        "",
        (
            "| | ConfigSpace `sample_configuration(n)` | hz flat (no conditions) | "
            "hz conditional | conditional / flat | ConfigSpace / conditional |"
        ),
        "| --- | --- | --- | --- | --- | --- |",
    ]
    cs_t = times.get("cs")
    for w in (1, 2):
        c, f = times[f"hz-cond-{w}"], times[f"hz-flat-{w}"]
        lines.append(
            f"| n = {n:,}, `workers={w}` | {fmt(cs_t) if cs_t else '-'} | {fmt(f)} | "
            f"{fmt(c)} | **{c / f:.2f}x** | "
            + (f"**{cs_t / c:,.1f}x** |" if cs_t else "- |")
        )
    c1, f1, s1 = one["hz-cond"], one["hz-flat"], one.get("cs")
    lines.append(
        f"| n = 1 (one configuration) | {fmt(s1) if s1 else '-'} | {fmt(f1)} | {fmt(c1)} | "
        f"**{c1 / f1:.2f}x** | " + (f"**{s1 / c1:,.1f}x** |" if s1 else "- |")
    )
    lines.append("")
    lines.append(
        "Per configuration at n = {:,}: ConfigSpace {}, hz conditional {} (1 worker).".format(
            n,
            fmt(cs_t / n) if cs_t else "-",
            fmt(times["hz-cond-1"] / n),
        )
    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return text


if __name__ == "__main__":
    main()
