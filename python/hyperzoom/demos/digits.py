"""Tune scikit-learn's MLPClassifier on the digits data over the practice's hyperparameters.

The data ship with scikit-learn (no download). Each trial trains one network for
``EPOCHS`` epochs and returns the validation error (1 - accuracy) on a held-out split.
The space is the practice's, and conditional as real pipelines are: the optimizer is a
choice, and each optimizer has its own parameters.

- the optimizer: SGD with momentum, or Adam;
- learning rate on a log scale (α = 10^r);
- SGD only: momentum on the ``1 - β`` scale (``InvLogUniform``) and the learning-rate
  decay exponent ``power_t``;
- Adam only: ``β2`` on the ``1 - β`` scale;
- hidden units (log scale), layers, mini-batch size (powers of two), L2 penalty.

Run it with ``hyperzoom demo`` (stores the study and writes the report) or
``hyperzoom run`` on this file.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from ..space import (
    Choice,
    IntLogUniform,
    IntUniform,
    InvLogUniform,
    LogUniform,
    PowerOfTwo,
    Space,
    Uniform,
)

__all__ = ["EPOCHS", "objective", "settings", "space"]

EPOCHS = 25

space = Space(
    solver=Choice(["sgd", "adam"]),
    learning_rate=LogUniform(1e-4, 1.0),
    momentum=InvLogUniform(0.5, 0.999).when(solver="sgd"),
    lr_decay=Uniform(0.0, 0.5).when(solver="sgd"),
    beta_2=InvLogUniform(0.9, 0.9999).when(solver="adam"),
    hidden_units=IntLogUniform(16, 256),
    layers=IntUniform(1, 3),
    batch_size=PowerOfTwo(16, 256),
    alpha=LogUniform(1e-6, 1e-1),
)

settings: dict[str, Any] = {"budget": 64, "rng": 20241128}


@lru_cache(maxsize=1)
def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.4, random_state=0, stratify=y
    )
    return x_train, x_val, y_train, y_val


def objective(
    solver: str,
    learning_rate: float,
    hidden_units: int,
    layers: int,
    batch_size: int,
    alpha: float,
    momentum: float | None = None,
    lr_decay: float | None = None,
    beta_2: float | None = None,
) -> float:
    """Train one MLP for ``EPOCHS`` epochs; return the validation error.

    ``momentum`` and ``lr_decay`` come only with SGD, ``beta_2`` only with Adam.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    x_train, x_val, y_train, y_val = _data()
    own: dict[str, Any] = (
        {
            "momentum": momentum,
            "nesterovs_momentum": True,
            "learning_rate": "invscaling" if lr_decay else "constant",
            "power_t": lr_decay or 0.0,
        }
        if solver == "sgd"
        else {"beta_2": beta_2}
    )
    model = MLPClassifier(
        hidden_layer_sizes=(hidden_units,) * layers,
        solver=solver,
        learning_rate_init=learning_rate,
        batch_size=batch_size,
        alpha=alpha,
        max_iter=EPOCHS,
        random_state=0,
        **own,
    )
    # One BLAS thread per trial: the trials themselves run in parallel, and nested
    # BLAS threads on the same cores would only fight each other.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        warnings.simplefilter("ignore", category=RuntimeWarning)
        model.fit(x_train, y_train)
    return float(1.0 - model.score(x_val, y_val))
