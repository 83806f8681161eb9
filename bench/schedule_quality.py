"""Scheduler quality harness: synthetic learning curves and a NumPy MLP on digits.

    python bench/schedule_quality.py [--seeds 10] [--only synthetic|digits] [--out FILE]

Synthetic (``max_budget=81``, ``eta=3``): every configuration has a learning curve
``loss(t) = floor(c, t) + g(t) + noise`` whose excess ``g`` decays at a rate set by the
learning rate and momentum (large learning rates learn fast), while the floor is best
for a learning rate that falls from 1e-2 to 1e-3 during training, so fast starters
finish worse: curves cross. Noise is N(0, 0.02) per point. Compared by the noise-free
loss of the model each method returns, median over seeds:

- Hyperband and ASHA against random search that trains every configuration to 81
  epochs with three times their epochs;
- PBT against a static random population of the same size and total budget.

Digits: a one-hidden-layer ReLU MLP with momentum SGD and 1/(1 + decay t) learning-rate
decay, in NumPy, on scikit-learn's digits (1000 train / 400 validation / 397 test),
over learning rate, momentum, hidden units, batch size and decay; Hyperband
(``max_budget=27`` epochs) against random search with the same total epochs. Compared by
the chosen model's test error.
"""

from __future__ import annotations

import argparse
import math
import time
import zlib
from typing import Any

import numpy as np

import hyperzoom as hz

# ---------------------------------------------------------------------------------------
# synthetic learning curves
R = 81
SYN_SPACE = hz.Space(
    learning_rate=hz.LogUniform(1e-4, 1.0),
    momentum=hz.InvLogUniform(0.9, 0.999),
    hidden_units=hz.IntLogUniform(16, 1024),
    batch_size=hz.PowerOfTwo(16, 512),
    lr_decay=hz.LogUniform(1e-4, 1e-1),
)
G0 = 1.0
NOISE = 0.02
#: How far (in decades) the best learning rate falls during training: how strongly the
#: curves cross. 0.4 is moderate; 1.0 makes epoch-1 ranks nearly useless.
DRIFT = {"value": 0.4}


def _key(c: dict[str, Any]) -> int:
    return zlib.crc32(repr(sorted(c.items())).encode())


def syn_floor(c: dict[str, Any], t: float) -> float:
    a = math.log10(c["learning_rate"])
    b = math.log10(1 - c["momentum"])
    drift = DRIFT["value"]
    a_star = (
        -2.5 + drift / 2 - drift * t / R
    )  # the best learning rate falls in training
    return (
        0.05
        + 0.25 * (a - a_star) ** 2
        + 0.15 * (b + 2.0) ** 2
        + 0.02 * (math.log2(c["hidden_units"]) - 8) ** 2
        + 0.01 * (math.log2(c["batch_size"]) - 6) ** 2
        + 0.02 * (math.log10(c["lr_decay"]) + 2.5) ** 2
    )


def syn_rate(c: dict[str, Any]) -> float:
    a = math.log10(c["learning_rate"])
    b = math.log10(1 - c["momentum"])
    r = 0.1 * 10 ** (0.25 * (a + 2.5)) * (1.0 + 0.1 * (b + 2.0))
    return min(max(r, 0.01), 0.4)


def syn_train(c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
    """State (t, g): epochs trained and the excess loss; resumes exactly."""
    t0, g = (0.0, G0) if state is None else state
    t = float(budget)
    g = g * (1.0 - syn_rate(c)) ** (t - t0)
    noise = np.random.default_rng([_key(c), int(t)]).normal(0.0, NOISE)
    return syn_floor(c, t) + g + noise, (t, g)


def syn_true(c: dict[str, Any] | None, state: Any) -> float:
    """Noise-free loss of a returned model (its configuration and state)."""
    if c is None or state is None:
        return math.nan
    t, g = state
    return syn_floor(c, t) + g


def random_full(
    train, space, n: int, budget: Any, seed: int
) -> tuple[float, Any, Any, float]:
    """Random search: n configurations each trained to the full budget."""
    configs = space.sample(n, rng=seed)
    best = (math.inf, None, None)
    for c in configs:
        try:
            loss, state = train(c, budget, None)
        except Exception:  # noqa: BLE001, S112 - a failing run is skipped, as in hz
            continue
        if math.isfinite(loss) and loss < best[0]:
            best = (loss, c, state)
    return best[0], best[1], best[2], float(n * budget)


def static_population(train, space, n: int, total: int, interval: int, seed: int):
    """n random configurations trained side by side, never changed (PBT's baseline)."""
    configs = list(space.sample(n, rng=seed))
    states: list[Any] = [None] * n
    losses = [math.inf] * n
    for b in range(interval, total + 1, interval):
        for i, c in enumerate(configs):
            losses[i], states[i] = train(c, b, states[i])
    i = int(np.argmin(losses))
    return configs[i], states[i], float(n * total)


def synthetic(seeds: list[int]) -> list[str]:
    out: list[str] = []
    for drift in (0.4, 1.0):
        DRIFT["value"] = drift
        out += [*synthetic_one(seeds, drift), ""]
    return out


def synthetic_one(seeds: list[int], drift: float) -> list[str]:
    hb_epochs = sum(
        n * (b - (br[i - 1][1] if i else 0))
        for br in hz.hyperband_plan(max_budget=R, eta=3)
        for i, (n, b) in enumerate(br)
    )
    n_rs = math.ceil(3 * hb_epochs / R)
    rows: dict[str, list[tuple[float, float]]] = {}

    def add(name: str, loss: float, epochs: float) -> None:
        rows.setdefault(name, []).append((loss, epochs))

    for seed in seeds:
        _, c, s, ep = random_full(syn_train, SYN_SPACE, n_rs, R, seed)
        add(f"random search, {n_rs} configs x {R} epochs", syn_true(c, s), ep)
        r = hz.hyperband(syn_train, SYN_SPACE, max_budget=R, eta=3, rng=seed)
        add("Hyperband (1 pass, eta=3)", syn_true(r.best, r.best_state), r.budget_used)
        r = hz.asha(
            syn_train,
            SYN_SPACE,
            min_budget=1,
            max_budget=R,
            eta=3,
            n_trials=370,
            rng=seed,
        )
        add("ASHA (370 trials, eta=3)", syn_true(r.best, r.best_state), r.budget_used)
        r = hz.pbt(
            syn_train, SYN_SPACE, population=20, interval=9, total_budget=R, rng=seed
        )
        add(
            "PBT (20 members, every 9 epochs)",
            syn_true(r.best, r.best_state),
            r.budget_used,
        )
        c, s, ep = static_population(syn_train, SYN_SPACE, 20, R, 9, seed)
        add("static random population (20 x 81)", syn_true(c, s), ep)
    base = np.median(
        [x for x, _ in rows[f"random search, {n_rs} configs x {R} epochs"]]
    )
    base_ep = np.median(
        [e for _, e in rows[f"random search, {n_rs} configs x {R} epochs"]]
    )
    out = [
        (
            f"Synthetic learning curves, best learning rate drifting {drift} decades "
            f"(max_budget={R}, eta=3), median over {len(seeds)} seeds; true (noise-free) "
            "loss of the returned model, lower is better."
        ),
        "",
        "| method | median true loss | median epochs | epochs / random search |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, vals in rows.items():
        loss = float(np.median([x for x, _ in vals]))
        ep = float(np.median([e for _, e in vals]))
        out.append(f"| {name} | {loss:.4f} | {ep:.0f} | {ep / base_ep:.2f} |")
    out.append("")
    out.append(f"(random search's median true loss: {base:.4f})")
    return out


# ---------------------------------------------------------------------------------------
# digits
DIGITS_SPACE = hz.Space(
    learning_rate=hz.LogUniform(1e-3, 1.0),
    momentum=hz.InvLogUniform(0.5, 0.99),
    hidden_units=hz.IntLogUniform(16, 256),
    batch_size=hz.PowerOfTwo(16, 256),
    lr_decay=hz.LogUniform(1e-4, 1e-1),
)
_DATA: dict[str, np.ndarray] = {}


def digits_data() -> dict[str, np.ndarray]:
    if not _DATA:
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        perm = np.random.default_rng(0x5EED).permutation(len(y))
        x = (x[perm] / 16.0).astype(np.float64)
        y = y[perm]
        _DATA.update(
            xtr=x[:1000],
            ytr=y[:1000],
            xva=x[1000:1400],
            yva=y[1000:1400],
            xte=x[1400:],
            yte=y[1400:],
        )
    return _DATA


def _forward(w: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = np.maximum(x @ w["w1"] + w["b1"], 0.0)
    z = h @ w["w2"] + w["b2"]
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return h, p


def _xent(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], 1e-12))))


def digits_train(c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
    d = digits_data()
    if state is None:
        g = np.random.default_rng(_key(c))
        h = int(c["hidden_units"])
        w = {
            "w1": g.normal(0, math.sqrt(2 / 64), (64, h)),
            "b1": np.zeros(h),
            "w2": g.normal(0, math.sqrt(1 / h), (h, 10)),
            "b2": np.zeros(10),
        }
        state = {"w": w, "v": {k: np.zeros_like(v) for k, v in w.items()}, "epoch": 0}
    w, v = state["w"], state["v"]
    bs, mu = int(c["batch_size"]), float(c["momentum"])
    n = d["xtr"].shape[0]
    with np.errstate(all="ignore"):
        for epoch in range(state["epoch"], int(budget)):
            lr = c["learning_rate"] / (1.0 + c["lr_decay"] * epoch)
            order = np.random.default_rng([_key(c), epoch]).permutation(n)
            for s in range(0, n, bs):
                idx = order[s : s + bs]
                x, y = d["xtr"][idx], d["ytr"][idx]
                hid, p = _forward(w, x)
                p[np.arange(len(y)), y] -= 1.0
                p /= len(y)
                dh = (p @ w["w2"].T) * (hid > 0)
                grads = {
                    "w2": hid.T @ p,
                    "b2": p.sum(0),
                    "w1": x.T @ dh,
                    "b1": dh.sum(0),
                }
                for k in w:
                    v[k] = mu * v[k] - lr * grads[k]
                    w[k] += v[k]
        state["epoch"] = int(budget)
        _, p = _forward(w, d["xva"])
    return _xent(p, d["yva"]), state


def digits_test_error(state: Any) -> float:
    if state is None:
        return math.nan
    d = digits_data()
    _, p = _forward(state["w"], d["xte"])
    return float(np.mean(p.argmax(1) != d["yte"]))


def digits(seeds: list[int]) -> list[str]:
    r_max = 27
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for seed in seeds:
        r = hz.hyperband(digits_train, DIGITS_SPACE, max_budget=r_max, eta=3, rng=seed)
        rows.setdefault("Hyperband (max 27 epochs, eta=3)", []).append(
            (r.best_value, digits_test_error(r.best_state), r.budget_used)
        )
        n_rs = round(r.budget_used / r_max)
        val, _, s, ep = random_full(digits_train, DIGITS_SPACE, n_rs, r_max, seed)
        rows.setdefault(f"random search ({n_rs} configs x 27 epochs)", []).append(
            (val, digits_test_error(s), ep)
        )
    out = [
        (
            f"Digits MLP (NumPy, momentum SGD), median over {len(seeds)} seeds: validation "
            "loss and test error of the chosen model at equal total epochs."
        ),
        "",
        "| method | median val loss | median test error | median epochs |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, vals in rows.items():
        arr = np.array(vals)
        out.append(
            f"| {name} | {np.median(arr[:, 0]):.4f} | {100 * np.median(arr[:, 1]):.2f}% | "
            f"{np.median(arr[:, 2]):.0f} |"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--only", choices=["synthetic", "digits"])
    ap.add_argument("--out")
    args = ap.parse_args()
    seeds = [0x5EED_0000 + 7919 * i for i in range(args.seeds)]
    lines: list[str] = []
    for name, fn in (("synthetic", synthetic), ("digits", digits)):
        if args.only in (None, name):
            t0 = time.perf_counter()
            lines += fn(seeds)
            lines += ["", f"({name}: {time.perf_counter() - t0:.1f} s)", ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
