"""Test problems with hyperparameter-like structure and known optima (for bench/).

Each problem is a ``Space`` (parameters on log, inverse-log, integer and choice scales)
and a vectorised loss over ``Configs``; ``optimum`` is its known minimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

import hyperzoom as hz


@dataclass
class Problem:
    name: str
    space: hz.Space
    loss: Callable[[hz.Configs], np.ndarray]
    optimum: float


def _train_loss() -> Problem:
    """A synthetic training loss: α matters most, then β and hidden units; decay hardly."""
    space = hz.Space(
        learning_rate=hz.LogUniform(1e-5, 1.0),
        momentum=hz.InvLogUniform(0.5, 0.9999),
        hidden_units=hz.IntLogUniform(8, 2048),
        layers=hz.IntUniform(1, 8),
        batch_size=hz.PowerOfTwo(8, 1024),
        lr_decay=hz.LogUniform(1e-5, 1e-1),
        activation=hz.Choice(["relu", "tanh", "sigmoid"]),
    )

    def loss(c: hz.Configs) -> np.ndarray:
        a = np.log10(c["learning_rate"]) + 2.5  # best α = 10^-2.5
        b = np.log10(1.0 - c["momentum"]) + 2.0  # best β = 0.99
        h = np.log2(c["hidden_units"] / 256.0)
        layers = (c["layers"] - 3) / 2.0
        bs = np.log2(c["batch_size"] / 64.0)
        decay = np.log10(c["lr_decay"]) + 3.0
        act = np.where(
            c["activation"] == "relu",
            0.0,
            np.where(c["activation"] == "tanh", 0.05, 0.2),
        )
        return (
            1.0 * a**2
            + 0.4 * b**2
            + 0.05 * h**2
            + 0.03 * layers**2
            + 0.02 * bs**2
            + 0.001 * decay**2
            + act
        )

    return Problem("train-loss", space, loss, 0.0)


def _branin() -> Problem:
    space = hz.Space(x1=hz.Uniform(-5.0, 10.0), x2=hz.LogUniform(1.0, 16.0))

    def loss(c: hz.Configs) -> np.ndarray:
        x1, x2 = c["x1"], c["x2"] - 1.0
        b, cc, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
        return (x2 - b * x1**2 + cc * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10

    return Problem("branin", space, loss, 0.397887357729738)


_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann6() -> Problem:
    space = hz.Space(
        x1=hz.LogUniform(1e-3, 1.0),
        x2=hz.Uniform(0.0, 1.0),
        x3=hz.InvLogUniform(0.0, 0.999),
        x4=hz.IntUniform(0, 200),
        x5=hz.LogUniform(1e-2, 1.0),
        x6=hz.InvLogUniform(0.0, 0.99),
    )

    def loss(c: hz.Configs) -> np.ndarray:
        x = np.stack(
            [c["x1"], c["x2"], c["x3"], c["x4"] / 200.0, c["x5"], c["x6"]], axis=1
        )
        inner = np.einsum("ij,nij->ni", _H6_A, (x[:, None, :] - _H6_P[None]) ** 2)
        return -(np.exp(-inner) @ _H6_ALPHA)

    return Problem("hartmann6", space, loss, -3.32236801141551)


def _rosenbrock10() -> Problem:
    params: dict[str, hz.Distribution] = {}
    for i in range(10):
        # x = v - 2 on [-1.99, 2] through a log axis for odd i, linear for even i.
        params[f"x{i}"] = hz.LogUniform(0.01, 4.0) if i % 2 else hz.Uniform(0.0, 4.0)
    space = hz.Space(params)

    def loss(c: hz.Configs) -> np.ndarray:
        x = np.stack([c[f"x{i}"] - 2.0 for i in range(10)], axis=1)
        return np.sum(
            100.0 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1 - x[:, :-1]) ** 2, axis=1
        )

    return Problem("rosenbrock10", space, loss, 0.0)


def _ackley10() -> Problem:
    params: dict[str, hz.Distribution] = {}
    # Asymmetric bounds: the optimum (0) is not the centre of the box, which would
    # hand a one-level grid the answer.
    for i in range(10):
        if i % 3 == 0:
            params[f"x{i}"] = hz.IntUniform(-3, 7)
        elif i % 3 == 1:
            params[f"x{i}"] = hz.InvLogUniform(-5.0, 0.999)
        else:
            params[f"x{i}"] = hz.Uniform(-3.0, 7.0)
    space = hz.Space(params)

    def loss(c: hz.Configs) -> np.ndarray:
        x = np.stack(
            [np.asarray(c[f"x{i}"], dtype=np.float64) for i in range(10)], axis=1
        )
        d = x.shape[1]
        return (
            -20 * np.exp(-0.2 * np.sqrt(np.sum(x**2, axis=1) / d))
            - np.exp(np.sum(np.cos(2 * np.pi * x), axis=1) / d)
            + 20
            + math.e
        )

    return Problem("ackley10", space, loss, 0.0)


PROBLEMS = [_train_loss(), _branin(), _hartmann6(), _rosenbrock10(), _ackley10()]
