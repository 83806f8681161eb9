"""Trials on a cluster: throughput of trivial trials and scaling of a real objective.

Throughput (group ``trivial-trials``): N trivial scalar trials (the loss is a formula, so
the figure is the engine's per-trial overhead) through

- hyperzoom on Dask (``executor=client``, a LocalCluster of 2 worker processes),
- hyperzoom on Ray (``hz.executors.ray()``, a local Ray with 2 CPUs),
- Optuna on Dask (``DaskStorage``; two ``study.optimize`` calls submitted to the
  cluster, the pattern of Optuna's documentation),
- Ray Tune (``Tuner`` with a function trainable that reports the loss once),
- hyperzoom in-process (the floor).

Scaling (group ``digits-mlp``): a few trials of the digits MLP
(:mod:`hyperzoom.demos.digits`) on a LocalCluster of 1 and of 2 worker processes.

Run with ``pytest bench/test_executors.py --benchmark-only
--benchmark-json=.benchmarks/executors.json``; ``--benchmark-disable`` is a smoke run.
Baselines missing (optuna-integration[dask], ray[tune]) are skipped with the reason.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest

import hyperzoom as hz

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is optional (pip install hyperzoom[dask])"
)

SEED = 0x5EED_2024_1128_0007
SPACE = hz.Space(lr=hz.LogUniform(1e-4, 1.0), beta=hz.InvLogUniform(0.9, 0.999))


def trivial(lr: float, beta: float) -> float:
    return (math.log10(lr) + 2.5) ** 2 + (math.log10(1 - beta) + 2) ** 2


def _by_value(pickler: Any) -> None:
    pickler.register_pickle_by_value(sys.modules[__name__])
    # Run as the `pytest` script, the project root is not on sys.path, which spawned
    # workers copy; a worker that cannot import what a task refers to dies.
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.append(root)
    path = os.environ.get("PYTHONPATH", "")
    if root not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = root + (os.pathsep + path if path else "")


def _cluster(n_workers: int) -> Any:
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
    )


@pytest.fixture(scope="module")
def client() -> Any:
    import cloudpickle

    _by_value(cloudpickle)
    with _cluster(2) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def ray_session() -> Any:
    ray = pytest.importorskip(
        "ray", reason="ray is optional (pip install hyperzoom[ray])"
    )
    _by_value(ray.cloudpickle)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _search(n: int, executor: Any) -> Any:
    return hz.search(
        trivial, SPACE, budget=n, strategy="random", rng=SEED, executor=executor
    )


@pytest.mark.benchmark(group="trivial-trials")
def test_trivial_in_process(benchmark: Any, full: Any) -> None:
    n = full(200, 8)
    r = benchmark.pedantic(_search, args=(n, None), rounds=3, iterations=1)
    assert len(r.trials) == n


@pytest.mark.benchmark(group="trivial-trials")
def test_trivial_hyperzoom_dask(benchmark: Any, full: Any, client: Any) -> None:
    n = full(200, 8)
    r = benchmark.pedantic(_search, args=(n, client), rounds=3, iterations=1)
    assert len(r.trials) == n
    assert r.best_value == _search(n, None).best_value


@pytest.mark.benchmark(group="trivial-trials")
def test_trivial_hyperzoom_ray(benchmark: Any, full: Any, ray_session: Any) -> None:
    n = full(200, 8)
    ex = hz.executors.ray()
    r = benchmark.pedantic(_search, args=(n, ex), rounds=3, iterations=1)
    assert len(r.trials) == n
    assert r.best_value == _search(n, None).best_value


def _optuna_objective(trial: Any) -> float:
    return trivial(
        trial.suggest_float("lr", 1e-4, 1.0, log=True),
        1.0 - trial.suggest_float("one_minus_beta", 1e-3, 1e-1, log=True),
    )


@pytest.mark.benchmark(group="trivial-trials")
@pytest.mark.filterwarnings("ignore::Warning:optuna")
def test_trivial_optuna_dask(benchmark: Any, full: Any, client: Any) -> None:
    optuna = pytest.importorskip("optuna", reason="the Optuna baseline needs optuna")
    oi = pytest.importorskip(
        "optuna_integration",
        reason="Optuna on Dask needs optuna-integration[dask] (DaskStorage)",
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n = full(200, 8)

    def run() -> Any:
        storage = oi.DaskStorage(client=client)
        study = optuna.create_study(storage=storage)
        futures = [
            client.submit(
                study.optimize, _optuna_objective, n_trials=n // 2, pure=False
            )
            for _ in range(2)
        ]
        distributed.wait(futures)
        return study

    study = benchmark.pedantic(run, rounds=3, iterations=1)
    assert len(study.trials) == n


def _tune_trainable(config: dict[str, float]) -> dict[str, float]:
    return {"loss": trivial(config["lr"], config["beta"])}


@pytest.mark.benchmark(group="trivial-trials")
def test_trivial_ray_tune(
    benchmark: Any, full: Any, ray_session: Any, tmp_path: Any
) -> None:
    try:
        from ray import tune
    except ImportError as exc:
        pytest.skip(f"the Ray Tune baseline needs ray[tune]: {exc}")
    n = full(200, 8)

    def run() -> Any:
        tuner = tune.Tuner(
            _tune_trainable,
            param_space={
                "lr": tune.loguniform(1e-4, 1.0),
                "beta": tune.uniform(0.9, 0.999),
            },
            tune_config=tune.TuneConfig(
                num_samples=n, metric="loss", mode="min", max_concurrent_trials=2
            ),
            run_config=tune.RunConfig(verbose=0, storage_path=str(tmp_path)),
        )
        return tuner.fit()

    results = benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(results) == n


@pytest.mark.benchmark(group="digits-mlp")
@pytest.mark.parametrize("n_workers", [1, 2])
def test_digits_scaling(benchmark: Any, full: Any, n_workers: int) -> None:
    pytest.importorskip("sklearn", reason="the digits MLP needs scikit-learn")
    from hyperzoom.demos import digits

    n = full(16, 2)
    with _cluster(n_workers) as cluster, distributed.Client(cluster) as c:
        c.run(digits._data)  # load the data once per worker, outside the timing

        def run() -> Any:
            return hz.search(
                digits.objective,
                digits.space,
                budget=n,
                strategy="random",
                rng=SEED,
                executor=c,
            )

        r = benchmark.pedantic(run, rounds=1, iterations=1)
    assert len(r.trials) == n
    assert all(e is None for e in r.trials.error)
