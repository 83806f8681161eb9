"""Scheduler quality harness: synthetic learning curves and a NumPy MLP on digits.

    python bench/schedule_quality.py [--seeds 10] [--only synthetic|digits] [--out FILE]

Two synthetic families share one space (learning rate, momentum, hidden units, batch
size, learning-rate decay), ``max_budget=81``, ``eta=3`` and N(0, 0.02) noise on every
reported loss (about the standard error of a mean cross-entropy over 2,500 validation
examples), drawn from (configuration, epoch), so every method sees the same noisy loss
for the same run at the same epoch.

Adversarial (``Adversarial``, kept as the hard case): ``loss(t) = floor(c, t) + g(t)``
where the excess ``g`` decays at a rate set by the learning rate and momentum (large
learning rates learn fast), while the floor is best for a learning rate that falls by
``drift`` decades during training, so fast starters finish worse. At mid-training
(epochs 3 to 27) the loss ranks learning speed more than final quality, which is what
early stopping cannot survive; see the rank correlations the harness prints.

Power law (``PowerLaw``), built from three textbook facts and nothing tuned to a method:

1. Learning curves are power laws in optimisation progress: the excess loss is
   ``A (1 + S / S0) ** -P`` with ``P = 0.5`` (exponents of 0.3 to 1 are what fitted
   curves show), progress ``S`` the integral of the SGD temperature over epochs and
   ``S0 = 1``, one epoch at the reference temperature.
2. The temperature is ``T = lr / (1 - momentum) * 128 / batch_size`` (heavy-ball
   effective step over batch size, the linear scaling rule; ``T = 1`` at lr 0.1,
   momentum 0.9, batch 128), divided by ``1 + decay * t``. SGD at temperature ``T``
   settles at ``kappa * T`` above the minimum (stationary noise floor), so a hot run
   learns fast and plateaus high and a cold one learns slowly and ends low: curves
   cross, and learning-rate decay makes hot starters finish low too. ``kappa``, the
   floor of the reference run, is the crossing strength: 0.05 and 0.15, i.e. the drop
   at the first learning-rate decay of a standard ResNet schedule, 5 to 15% of the
   initial loss. With ``kappa = 0`` the only crossings come from decay. The constants
   were fixed before any scheduler ran on this family and not changed after.
3. Capacity sets the asymptote ``0.03 + 0.2 (16 / hidden_units) ** 0.5`` (a power law
   in model size) and ``A`` = initial loss (1.0) minus it; wider nets are never slower,
   so capacity alone never makes curves cross. The loss never exceeds the initial 1.0
   (a run too hot to learn sits at chance).

Compared by the noise-free loss of the model each method returns, median over seeds:

- Hyperband and ASHA against random search that trains every configuration to 81
  epochs with three times their epochs (ASHA with ``budget_limit`` set to Hyperband's
  epochs, 1581, a third of random search's 4779);
- PBT against a static random population of the same size and total budget.

For each family the harness also measures the curves (fraction of pairs of
configurations whose noise-free curves change order within 81 epochs; Spearman
correlation of the noisy loss at epochs 1, 3, 9, 27 with the true final loss) and reruns
Hyperband and ASHA with noise-free losses and with an oracle that reports each run's
true final loss at every rung: how much is lost to noise and how much to early ranks.

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
from typing import Any, Callable

import numpy as np
from scipy.stats import spearmanr

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
NOISE = 0.02
RUNGS = (1, 3, 9, 27)


def _key(c: dict[str, Any]) -> int:
    return zlib.crc32(repr(sorted(c.items())).encode())


def _noise(c: dict[str, Any], t: float) -> float:
    return float(np.random.default_rng([_key(c), int(t)]).normal(0.0, NOISE))


class Family:
    """A synthetic learning-curve family: ``advance`` and ``value`` are noise-free."""

    title = ""
    space = SYN_SPACE

    def advance(self, c: dict[str, Any], t: float, state: Any) -> Any:
        raise NotImplementedError

    def value(self, c: dict[str, Any], state: Any) -> float:
        raise NotImplementedError

    def train(self, c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
        """Resumes exactly from ``state``; the loss carries the noise of (c, epoch)."""
        t = float(budget)
        state = self.advance(c, t, state)
        return self.value(c, state) + _noise(c, t), state

    def true(self, c: dict[str, Any] | None, state: Any) -> float:
        """Noise-free loss of a returned model (its configuration and state)."""
        if c is None or state is None:
            return math.nan
        return self.value(c, state)

    def final(self, c: dict[str, Any]) -> float:
        """True loss of ``c`` trained straight to ``R`` epochs."""
        return self.value(c, self.advance(c, R, None))

    def noise_free(self, c: dict[str, Any], budget: Any, state: Any) -> Any:
        state = self.advance(c, float(budget), state)
        return self.value(c, state), state

    def oracle(self, c: dict[str, Any], budget: Any, state: Any) -> Any:
        """Reports the true final loss at every budget: perfect early ranks."""
        return self.final(c), self.advance(c, float(budget), state)


class Adversarial(Family):
    """The excess decays at a learning-rate-set rate; the best learning rate drifts."""

    G0 = 1.0

    def __init__(self, drift: float) -> None:
        #: How far (in decades) the best learning rate falls during training.
        self.drift = drift
        self.title = (
            f"Adversarial synthetic, best learning rate drifting {drift} decades"
        )

    def floor(self, c: dict[str, Any], t: float) -> float:
        a = math.log10(c["learning_rate"])
        b = math.log10(1 - c["momentum"])
        a_star = -2.5 + self.drift / 2 - self.drift * t / R  # falls during training
        return (
            0.05
            + 0.25 * (a - a_star) ** 2
            + 0.15 * (b + 2.0) ** 2
            + 0.02 * (math.log2(c["hidden_units"]) - 8) ** 2
            + 0.01 * (math.log2(c["batch_size"]) - 6) ** 2
            + 0.02 * (math.log10(c["lr_decay"]) + 2.5) ** 2
        )

    @staticmethod
    def rate(c: dict[str, Any]) -> float:
        a = math.log10(c["learning_rate"])
        b = math.log10(1 - c["momentum"])
        r = 0.1 * 10 ** (0.25 * (a + 2.5)) * (1.0 + 0.1 * (b + 2.0))
        return min(max(r, 0.01), 0.4)

    def advance(self, c: dict[str, Any], t: float, state: Any) -> Any:
        """State (t, g): epochs trained and the excess loss."""
        t0, g = (0.0, self.G0) if state is None else state
        return t, g * (1.0 - self.rate(c)) ** (t - t0)

    def value(self, c: dict[str, Any], state: Any) -> float:
        t, g = state
        return self.floor(c, t) + g


class PowerLaw(Family):
    """Power-law curves in SGD progress with a temperature-proportional noise floor."""

    L0 = 1.0  # initial loss (and the ceiling: a run too hot to learn stays there)
    P = 0.5  # power-law exponent of the excess loss in progress
    S0 = 1.0  # progress scale: one epoch at the reference temperature

    def __init__(self, kappa: float) -> None:
        #: Noise floor of the reference run (T = 1): the crossing strength.
        self.kappa = kappa
        self.title = f"Power-law learning curves, SGD noise floor kappa={kappa}"

    @staticmethod
    def temperature(c: dict[str, Any]) -> float:
        return c["learning_rate"] / (1.0 - c["momentum"]) * 128.0 / c["batch_size"]

    @staticmethod
    def capacity(c: dict[str, Any]) -> float:
        return 0.03 + 0.2 * math.sqrt(16.0 / c["hidden_units"])

    def advance(self, c: dict[str, Any], t: float, state: Any) -> Any:
        """State (t, S): epochs trained and the progress, the integral of T over t."""
        t0, s = (0.0, 0.0) if state is None else state
        d = c["lr_decay"]
        s += self.temperature(c) * (math.log1p(d * t) - math.log1p(d * t0)) / d
        return t, s

    def value(self, c: dict[str, Any], state: Any) -> float:
        t, s = state
        floor = self.capacity(c)
        hot = self.kappa * self.temperature(c) / (1.0 + c["lr_decay"] * t)
        excess = (self.L0 - floor) * (1.0 + s / self.S0) ** -self.P
        return min(self.L0, floor + hot + excess)


SCALING_SPACE = hz.Space(
    d_model=hz.IntLogUniform(64, 1024),
    n_layer=hz.IntUniform(2, 12),
    batch_tokens=hz.PowerOfTwo(2**13, 2**20),
    learning_rate=hz.LogUniform(1e-5, 1e-1),
)


class ScalingLaw(Family):
    """Transformer language-model curves from the scaling laws of Kaplan et al. (2020).

    Published shape, with the paper's fitted constants ("Scaling Laws for Neural
    Language Models", arXiv:2001.08361):

    * the loss after ``S`` steps of a model with ``N = 12 n_layer d_model**2``
      non-embedding parameters is ``L = (N_c / N) ** a_N + (S_c / S_min) ** a_S``
      (their eq. 1.6 / 5.6: ``a_N = 0.076``, ``N_c = 8.8e13``, ``a_S = 0.76``,
      ``S_c = 2.1e3``), in nats, at most the ``ln 50257`` of a uniform guess;
    * ``S_min``, the steps a run would need at a very large batch, grows by
      ``dS / (1 + B_crit(L) / B)`` per step of ``B`` tokens, with the critical batch
      ``B_crit(L) = 2e8 / L ** (1 / 0.21)`` tokens (their eq. 5.3, 5.4): a small batch
      wastes steps once the loss is low;
    * the learning rate that is best for ``N`` is ``0.003239 - 0.0001395 ln N``
      (their eq. D.1).

    The budget is compute, as in their compute-efficient frontier: one unit is 1e15
    FLOPs (``6 N`` per token), so a large model takes few steps per unit. Small models
    lead early and large ones late, so curves cross as in their Figure 2 (the
    compute-optimal size at 81 units is about 8e6 parameters, at 1 unit about 3e5).

    Ours, not the paper's: how the loss depends on the learning rate around its best
    value ``lr*``. Below it a run progresses ``lr / lr*`` times as fast (plain gradient
    steps); above it the loss sits ``0.2 log10(lr / lr*) ** 2`` nats higher (the
    U-shaped sweeps of their Figure 22), and beyond ``20 lr*`` the run diverges and
    stays at the uniform guess. The constants were fixed before any scheduler ran on
    this family.
    """

    A_N, N_C, A_S, S_C = 0.076, 8.8e13, 0.76, 2.1e3
    B_STAR, A_B = 2e8, 0.21
    UNIT = 1e15  # FLOPs per budget unit
    L_MAX = math.log(50257)
    SUBSTEPS = 8  # integration steps per budget unit

    title = "Scaling-law curves (Kaplan et al. 2020), budget in compute"
    space = SCALING_SPACE

    @staticmethod
    def params(c: dict[str, Any]) -> float:
        return 12.0 * c["n_layer"] * float(c["d_model"]) ** 2

    @staticmethod
    def lr_ratio(c: dict[str, Any], n: float) -> float:
        return float(c["learning_rate"]) / (0.003239 - 0.0001395 * math.log(n))

    def base(self, n: float, s_min: float) -> float:
        if s_min <= 0.0:
            return self.L_MAX
        return min(
            self.L_MAX, (self.N_C / n) ** self.A_N + (self.S_C / s_min) ** self.A_S
        )

    def advance(self, c: dict[str, Any], t: float, state: Any) -> Any:
        """State (t, S_min, N): units trained, progress in steps, the weights' size.

        The size is the one the weights were built with: PBT may copy weights into a
        member whose configuration names another size, and they keep theirs.
        """
        t0, s_min, n = (0.0, 0.0, self.params(c)) if state is None else state
        b = float(c["batch_tokens"])
        ratio = self.lr_ratio(c, n)
        steps = self.UNIT / (6.0 * n * b) / self.SUBSTEPS * min(1.0, ratio)
        if ratio <= 20.0:
            for _ in range(round((t - t0) * self.SUBSTEPS)):
                b_crit = self.B_STAR / self.base(n, s_min) ** (1.0 / self.A_B)
                s_min += steps / (1.0 + b_crit / b)
        return t, s_min, n

    def value(self, c: dict[str, Any], state: Any) -> float:
        _, s_min, n = state
        ratio = self.lr_ratio(c, n)
        if ratio > 20.0:
            return self.L_MAX
        hot = 0.2 * math.log10(ratio) ** 2 if ratio > 1.0 else 0.0
        return min(self.L_MAX, self.base(n, s_min) + hot)


def curve_stats(fam: Family, n: int = 1000, seed: int = 0x5EED) -> dict[str, Any]:
    """Crossings and early-vs-final rank correlations over ``n`` random configurations.

    A pair crosses when the order of its noise-free curves at some epoch 1..81 differs
    from their order at 81 (ties ignored). Spearman: noisy loss at each rung against the
    true loss at 81, over all configurations and over the best 10% by that loss.
    """
    configs = list(fam.space.sample(n, rng=seed))
    curves = np.empty((n, R))
    noisy = np.empty((n, len(RUNGS)))
    for i, c in enumerate(configs):
        state = None
        for t in range(1, R + 1):
            state = fam.advance(c, float(t), state)
            curves[i, t - 1] = fam.value(c, state)
            if t in RUNGS:
                noisy[i, RUNGS.index(t)] = curves[i, t - 1] + _noise(c, t)
    final = curves[:, -1]
    best = final <= np.quantile(final, 0.1)

    def crossing(rows: np.ndarray) -> float:
        x = curves[rows]
        hits = pairs = 0
        for i in range(len(x) - 1):
            d = np.sign(x[i + 1 :] - x[i])
            flips = (d != d[:, -1:]) & (d != 0) & (d[:, -1:] != 0)
            hits += int(flips.any(axis=1).sum())
            pairs += len(d)
        return hits / pairs

    def rho(rows: np.ndarray) -> list[float]:
        return [
            float(spearmanr(noisy[rows, j], final[rows])[0]) for j in range(len(RUNGS))
        ]

    every = np.ones(n, dtype=bool)
    return {
        "cross": crossing(every),
        "cross_best": crossing(best),
        "rho": rho(every),
        "rho_best": rho(best),
    }


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


FAMILIES: list[Family] = [
    Adversarial(0.4),
    Adversarial(1.0),
    PowerLaw(0.05),
    PowerLaw(0.15),
]


def synthetic(seeds: list[int]) -> list[str]:
    out: list[str] = []
    for fam in FAMILIES:
        out += [*synthetic_one(seeds, fam), ""]
    return out


def synthetic_one(seeds: list[int], fam: Family) -> list[str]:
    hb_epochs = sum(
        n * (b - (br[i - 1][1] if i else 0))
        for br in hz.hyperband_plan(max_budget=R, eta=3)
        for i, (n, b) in enumerate(br)
    )
    n_rs = math.ceil(3 * hb_epochs / R)
    rows: dict[str, list[tuple[float, float]]] = {}
    diag: dict[str, list[float]] = {}

    def add(name: str, loss: float, epochs: float) -> None:
        rows.setdefault(name, []).append((loss, epochs))

    def hyperband(train: Callable[..., Any], seed: int) -> hz.ScheduleResult:
        return hz.hyperband(train, SYN_SPACE, max_budget=R, eta=3, rng=seed)

    def asha(train: Callable[..., Any], seed: int) -> hz.ScheduleResult:
        # The same total epochs as Hyperband: at most a third of random search's.
        return hz.asha(
            train,
            SYN_SPACE,
            min_budget=1,
            max_budget=R,
            eta=3,
            budget_limit=hb_epochs,
            rng=seed,
        )

    asha_name = f"ASHA (budget_limit={hb_epochs:.0f} epochs, eta=3)"

    for seed in seeds:
        _, c, s, ep = random_full(fam.train, SYN_SPACE, n_rs, R, seed)
        add(f"random search, {n_rs} configs x {R} epochs", fam.true(c, s), ep)
        r = hyperband(fam.train, seed)
        add("Hyperband (1 pass, eta=3)", fam.true(r.best, r.best_state), r.budget_used)
        r = asha(fam.train, seed)
        add(asha_name, fam.true(r.best, r.best_state), r.budget_used)
        r = hz.pbt(
            fam.train, SYN_SPACE, population=20, interval=9, total_budget=R, rng=seed
        )
        add(
            "PBT (20 members, every 9 epochs)",
            fam.true(r.best, r.best_state),
            r.budget_used,
        )
        c, s, ep = static_population(fam.train, SYN_SPACE, 20, R, 9, seed)
        add("static random population (20 x 81)", fam.true(c, s), ep)
        for kind, train in (("noise-free", fam.noise_free), ("oracle", fam.oracle)):
            for name, r in (
                ("Hyperband", hyperband(train, seed)),
                ("ASHA", asha(train, seed)),
            ):
                diag.setdefault(f"{name} {kind}", []).append(
                    fam.true(r.best, r.best_state)
                )
    rs_name = f"random search, {n_rs} configs x {R} epochs"
    base = np.median([x for x, _ in rows[rs_name]])
    base_ep = np.median([e for _, e in rows[rs_name]])
    out = [
        (
            f"{fam.title} (max_budget={R}, eta=3), median over {len(seeds)} seeds; "
            "true (noise-free) loss of the returned model, lower is better."
        ),
        "",
        "| method | median true loss | median epochs | epochs / random search |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, vals in rows.items():
        loss = float(np.median([x for x, _ in vals]))
        ep = float(np.median([e for _, e in vals]))
        out.append(f"| {name} | {loss:.4f} | {ep:.0f} | {ep / base_ep:.2f} |")
    st = curve_stats(fam)

    def fmt(xs: list[float]) -> str:
        return " / ".join(f"{x:.2f}" for x in xs)

    def med(k: str) -> str:
        return f"{np.median(diag[k]):.4f}"

    def wins(a: str, b: str) -> str:
        """Seeds on which method ``a`` reaches method ``b``'s true loss."""
        n = sum(x <= y for (x, _), (y, _) in zip(rows[a], rows[b]))
        return f"{n}/{len(seeds)}"

    hb_name = "Hyperband (1 pass, eta=3)"

    out += [
        "",
        f"(random search's median true loss: {base:.4f})",
        "",
        (
            f"Curves (1000 random configurations): {100 * st['cross']:.0f}% of pairs "
            f"cross within {R} epochs ({100 * st['cross_best']:.0f}% among the best "
            "10%); Spearman of the noisy loss at epochs 1 / 3 / 9 / 27 with the true "
            f"final loss: {fmt(st['rho'])} (best 10%: {fmt(st['rho_best'])})."
        ),
        (
            f"Diagnostics, median true loss: Hyperband {med('Hyperband noise-free')} "
            f"with noise-free losses, {med('Hyperband oracle')} with oracle ranks (each "
            f"run's true final loss reported at every rung); ASHA "
            f"{med('ASHA noise-free')} and {med('ASHA oracle')}."
        ),
        (
            f"Per seed: Hyperband reaches random search's true loss on "
            f"{wins(hb_name, rs_name)} seeds, ASHA on {wins(asha_name, rs_name)}; PBT "
            "beats the static population on "
            f"{wins('PBT (20 members, every 9 epochs)', 'static random population (20 x 81)')}."
        ),
    ]
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


def _grads(
    w: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> dict[str, np.ndarray]:
    """Gradients of the mean cross-entropy of one mini-batch."""
    hid, p = _forward(w, x)
    p[np.arange(len(y)), y] -= 1.0
    p /= len(y)
    dh = (p @ w["w2"].T) * (hid > 0)
    return {"w2": hid.T @ p, "b2": p.sum(0), "w1": x.T @ dh, "b1": dh.sum(0)}


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
    solver = c.get("solver", "sgd")
    if state.get("solver", "sgd") != solver:  # PBT switched the optimiser: new buffers
        state["v"] = {k: np.zeros_like(x) for k, x in state["w"].items()}
        state.pop("s", None)
        state.pop("step", None)
    if "solver" in c:
        state["solver"] = solver
    if solver == "adam":
        return _digits_adam(c, budget, state)
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
                grads = _grads(w, x, y)
                for k in w:
                    v[k] = mu * v[k] - lr * grads[k]
                    w[k] += v[k]
        state["epoch"] = int(budget)
        _, p = _forward(w, d["xva"])
    return _xent(p, d["yva"]), state


#: The digits MLP over a conditional space: SGD with momentum and decay, or Adam (its
#: first-moment rate fixed at 0.9, its second-moment rate searched), as in
#: ``hyperzoom.demos.digits``.
DIGITS_COND_SPACE = hz.Space(
    solver=hz.Choice(["sgd", "adam"]),
    learning_rate=hz.LogUniform(1e-4, 1.0),
    momentum=hz.InvLogUniform(0.5, 0.99).when(solver="sgd"),
    lr_decay=hz.LogUniform(1e-4, 1e-1).when(solver="sgd"),
    beta_2=hz.InvLogUniform(0.9, 0.9999).when(solver="adam"),
    hidden_units=hz.IntLogUniform(16, 256),
    batch_size=hz.PowerOfTwo(16, 256),
)


def _digits_adam(c: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
    """Adam epochs of the digits MLP (``state["v"]`` holds both moments)."""
    d = digits_data()
    w = state["w"]
    if "s" not in state:
        state["s"] = {k: np.zeros_like(x) for k, x in w.items()}
        state["step"] = 0
    m, sq = state["v"], state["s"]
    bs, b1, b2 = int(c["batch_size"]), 0.9, float(c["beta_2"])
    n = d["xtr"].shape[0]
    with np.errstate(all="ignore"):
        for epoch in range(state["epoch"], int(budget)):
            order = np.random.default_rng([_key(c), epoch]).permutation(n)
            for s in range(0, n, bs):
                idx = order[s : s + bs]
                x, y = d["xtr"][idx], d["ytr"][idx]
                grads = _grads(w, x, y)
                state["step"] += 1
                t = state["step"]
                lr = c["learning_rate"] * math.sqrt(1 - b2**t) / (1 - b1**t)
                for k in w:
                    m[k] = b1 * m[k] + (1 - b1) * grads[k]
                    sq[k] = b2 * sq[k] + (1 - b2) * grads[k] ** 2
                    w[k] -= lr * m[k] / (np.sqrt(sq[k]) + 1e-8)
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
