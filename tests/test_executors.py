"""Executors beyond one machine: Dask and Ray adapters (hyperzoom.executors).

The cluster tests run a real two-worker LocalCluster (processes) and a local Ray with
two CPUs; they are skipped when dask.distributed / ray are not installed.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperzoom as hz
from hyperzoom.evaluate import evaluate
from hyperzoom.executors import WorkerLostError, _ClusterExecutor, as_executor

SPACE = hz.Space(lr=hz.LogUniform(1e-4, 1.0), beta=hz.InvLogUniform(0.9, 0.999))


def scalar_loss(lr: float, beta: float) -> float:
    return float((np.log10(lr) + 2.5) ** 2 + (np.log10(1 - beta) + 2) ** 2)


def train(config: dict[str, Any], budget: Any, state: Any) -> tuple[float, Any]:
    done = 0 if state is None else state
    loss = scalar_loss(config["lr"], config["beta"]) + 1.0 / budget
    return loss, done + budget


def big_state_train(
    config: dict[str, Any], budget: Any, state: Any
) -> tuple[float, Any]:
    weights = np.zeros(200_000) if state is None else state  # 1.6 MB: by reference
    weights = weights + budget
    return scalar_loss(config["lr"], config["beta"]) + 1.0 / budget, weights


def die_once(lr: float, beta: float, *, marker: str) -> float:
    """Kill the worker process on the first call anywhere (the marker file says so)."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return scalar_loss(lr, beta)
    os.close(fd)
    os._exit(1)


def die_above(config: dict[str, Any]) -> float:
    """Kill the worker every time for x > 0.8; a normal error for x < 0.2."""
    if config["x"] > 0.8:
        os._exit(1)
    if config["x"] < 0.2:
        raise RuntimeError("an ordinary failure")
    return float(config["x"])


def _register_by_value(pickler: Any) -> None:
    # --import-mode=importlib: this module cannot be imported by workers, so its
    # functions travel by value.
    pickler.register_pickle_by_value(sys.modules[__name__])
    # Whatever still refers to the `tests` package must be importable in the workers:
    # run as the `pytest` script, the project root is not on sys.path, which spawned
    # worker processes copy (and a worker that cannot unpickle a task dies). The root
    # holds `python/hyperzoom`, not `hyperzoom`, so the installed package is still the
    # one imported.
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.append(root)
    path = os.environ.get("PYTHONPATH", "")
    if root not in path.split(os.pathsep):  # Ray's workers start from the environment
        os.environ["PYTHONPATH"] = root + (os.pathsep + path if path else "")


def assert_same_search(a: Any, b: Any) -> None:
    np.testing.assert_array_equal(a.trials.unit, b.trials.unit)
    np.testing.assert_array_equal(a.trials.value, b.trials.value)
    assert a.best == b.best
    assert a.best_value == b.best_value


def assert_same_schedule(a: Any, b: Any) -> None:
    np.testing.assert_array_equal(a.trials.unit, b.trials.unit)
    np.testing.assert_array_equal(a.trials.value, b.trials.value)
    assert a.best == b.best
    assert a.n_calls == b.n_calls


def assert_valid_asha(a: Any, b: Any) -> None:
    """Same configurations started (the set), every run reached a rung budget."""
    order = np.lexsort(a.trials.unit.T)
    other = np.lexsort(b.trials.unit.T)
    np.testing.assert_array_equal(a.trials.unit[order], b.trials.unit[other])
    assert np.isfinite(b.trials.value).all()
    assert set(b.trials.budget.tolist()) <= {1, 3, 9}
    assert b.trials.budget.max() == 9


# ---------------------------------------------------------------------------------------
# no cluster needed
def test_importing_hyperzoom_imports_no_cluster_engine() -> None:
    code = (
        "import sys, hyperzoom, hyperzoom.executors\n"
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('dask', 'distributed', 'ray'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_as_executor_passes_other_executors_through() -> None:
    assert as_executor(None) is None
    with ThreadPoolExecutor(1) as pool:
        assert as_executor(pool) is pool


class _Deaths(Exception):
    pass


class KilledWorker(_Deaths):  # named like distributed's, to be recognised
    pass


class _FakeEngine(_ClusterExecutor):
    """Runs calls in a thread; the first ``deaths`` attempts 'lose their worker'."""

    def __init__(self, deaths: int, retries: int) -> None:
        super().__init__(retries, 100)
        self.deaths = deaths
        self.attempts = 0
        self.put: list[Any] = []

    def _put(self, obj: Any) -> Any:
        self.put.append(obj)
        return obj

    def _start(self, fn: Any, args: Any, kwargs: Any) -> Any:
        self.attempts += 1
        f: Future[Any] = Future()
        if self.attempts <= self.deaths:
            f.set_exception(KilledWorker("worker tcp://x died"))
        else:
            try:
                f.set_result(fn(*args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - the call's own error
                f.set_exception(exc)
        return f

    def _watch(self, handle: Any, done: Any) -> None:
        def cb(f: Future[Any]) -> None:
            exc = f.exception()
            threading.Thread(
                target=done, args=(None if exc else f.result(), exc)
            ).start()

        handle.add_done_callback(cb)


def test_worker_deaths_are_retried_a_bounded_number_of_times() -> None:
    ok = _FakeEngine(deaths=2, retries=2)
    assert ok.submit(pow, 2, 10).result(timeout=10) == 1024
    assert ok.attempts == 3
    lost = _FakeEngine(deaths=5, retries=2)
    with pytest.raises(WorkerLostError, match="3 attempts"):
        lost.submit(pow, 2, 10).result(timeout=10)
    assert lost.attempts == 3


def test_ordinary_errors_are_not_retried() -> None:
    ex = _FakeEngine(deaths=0, retries=2)
    with pytest.raises(ZeroDivisionError):
        ex.submit(divmod, 1, 0).result(timeout=10)
    assert ex.attempts == 1


def test_large_arguments_go_by_reference() -> None:
    ex = _FakeEngine(deaths=0, retries=0)
    big = np.ones(100)  # 800 bytes > the fake's 100-byte threshold
    assert ex.submit(np.sum, big).result(timeout=10) == 100
    assert len(ex.put) == 1
    assert ex.submit(abs, -3).result(timeout=10) == 3
    assert len(ex.put) == 1


def test_bad_retries_are_refused() -> None:
    with pytest.raises(ValueError, match="retries"):
        _FakeEngine(deaths=0, retries=-1)


# ---------------------------------------------------------------------------------------
# Dask
@pytest.fixture(scope="module")
def client() -> Any:
    distributed = pytest.importorskip(
        "distributed",
        reason="dask.distributed is optional (pip install hyperzoom[dask])",
    )
    import cloudpickle
    import dask

    _register_by_value(cloudpickle)
    # No rescheduling by the scheduler: worker deaths reach the adapter's retries; one
    # task per worker at a time, so that a death takes no queued bystander with it.
    config = {
        "distributed.scheduler.allowed-failures": 0,
        "distributed.scheduler.worker-saturation": 1.0,
    }
    with dask.config.set(config):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        )
        c = distributed.Client(cluster)
    c.wait_for_workers(2, timeout=120)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def test_dask_client_becomes_an_executor(client: Any) -> None:
    ex = as_executor(client)
    assert ex.submit_options["pure"] is False
    assert ex._max_workers == 2
    # identical calls are not merged: two tasks, two results
    fs = [ex.submit(os.getpid) for _ in range(2)]
    assert all(isinstance(f, Future) for f in fs)
    assert all(isinstance(f.result(timeout=60), int) for f in fs)
    assert fs[0]._hz_handle.key != fs[1]._hz_handle.key
    wrapped = as_executor(client.get_executor())
    assert wrapped.submit_options["pure"] is False


def test_dask_search_equals_in_process(client: Any) -> None:
    base = hz.search(scalar_loss, SPACE, budget=40, rng=11)
    on_dask = hz.search(
        scalar_loss, SPACE, budget=40, rng=11, executor=client, asynchronous=False
    )
    assert_same_search(base, on_dask)

    def batch_loss(c: Any) -> Any:
        return (np.log10(c["lr"]) + 2.5) ** 2 + (np.log10(1 - c["beta"]) + 2) ** 2

    base = hz.search(batch_loss, SPACE, budget=60, rng=12)
    chunks = hz.search(
        batch_loss, SPACE, budget=60, rng=12, executor=client, batch_size=7
    )
    np.testing.assert_allclose(base.trials.value, chunks.trials.value, rtol=1e-12)


def test_dask_schedules_equal_in_process(client: Any) -> None:
    kw: dict[str, Any] = {"min_budget": 1, "max_budget": 9, "eta": 3, "rng": 13}
    assert_same_schedule(
        hz.hyperband(train, SPACE, max_budget=9, rng=13),
        hz.hyperband(train, SPACE, max_budget=9, rng=13, executor=client),
    )
    assert_valid_asha(
        hz.asha(train, SPACE, n_trials=12, **kw),
        hz.asha(train, SPACE, n_trials=12, executor=client, **kw),
    )
    pkw: dict[str, Any] = {"population": 4, "interval": 2, "total_budget": 6, "rng": 14}
    assert_same_schedule(
        hz.pbt(big_state_train, SPACE, **pkw),
        hz.pbt(big_state_train, SPACE, executor=client, **pkw),
    )


def test_dask_large_states_travel_by_reference(client: Any) -> None:
    ex = hz.executors.dask(client)
    scattered: list[Any] = []
    put = ex._put

    def spy(obj: Any) -> Any:
        ref = put(obj)
        scattered.append(ref)
        return ref

    ex._put = spy  # type: ignore[method-assign]
    pkw: dict[str, Any] = {"population": 2, "interval": 1, "total_budget": 2, "rng": 16}
    r = hz.pbt(big_state_train, SPACE, executor=ex, **pkw)
    assert_same_schedule(hz.pbt(big_state_train, SPACE, **pkw), r)
    # the second interval resumes from 1.6 MB states: scattered, not pickled in
    assert len(scattered) == 2
    assert all(type(f).__name__ == "Future" for f in scattered)


def test_dask_worker_killed_mid_trial_is_retried(client: Any, tmp_path: Path) -> None:
    client.wait_for_workers(2, timeout=60)  # a worker killed earlier is back
    objective = functools.partial(die_once, marker=str(tmp_path / "died"))
    base = hz.search(scalar_loss, SPACE, budget=12, rng=15)
    run = hz.search(
        objective, SPACE, budget=12, rng=15, executor=client, asynchronous=False
    )
    assert (tmp_path / "died").exists()  # a worker did die
    assert all(e is None for e in run.trials.error)  # nothing lost
    assert_same_search(base, run)


def test_dask_worker_dying_every_time_fails_its_trial_only(client: Any) -> None:
    space = hz.Space(x=hz.Uniform(0, 1))
    configs = space.from_unit([[0.1], [0.5], [0.9]])
    client.wait_for_workers(2, timeout=60)  # a worker killed earlier is back
    ex = hz.executors.dask(client, retries=1)
    values, errors, _ = evaluate(die_above, configs, mode="dict", executor=ex)
    assert values[1] == pytest.approx(0.5), errors
    assert errors[0] is not None
    assert errors[0].startswith("RuntimeError"), errors
    assert errors[2] is not None
    assert errors[2].startswith("WorkerLostError"), errors
    assert "2 attempts" in errors[2], errors


# ---------------------------------------------------------------------------------------
# Ray
@pytest.fixture(scope="module")
def ray_executor() -> Any:
    ray = pytest.importorskip(
        "ray", reason="ray is optional (pip install hyperzoom[ray])"
    )
    _register_by_value(ray.cloudpickle)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield hz.executors.ray()
    finally:
        ray.shutdown()


def test_ray_search_and_schedules_equal_in_process(ray_executor: Any) -> None:
    ex = ray_executor
    assert ex._max_workers == 2
    assert_same_search(
        hz.search(scalar_loss, SPACE, budget=30, rng=21),
        hz.search(
            scalar_loss, SPACE, budget=30, rng=21, executor=ex, asynchronous=False
        ),
    )
    kw: dict[str, Any] = {"min_budget": 1, "max_budget": 9, "eta": 3, "rng": 22}
    assert_valid_asha(
        hz.asha(train, SPACE, n_trials=12, **kw),
        hz.asha(train, SPACE, n_trials=12, executor=ex, **kw),
    )
    pkw: dict[str, Any] = {"population": 4, "interval": 2, "total_budget": 6, "rng": 23}
    assert_same_schedule(
        hz.pbt(big_state_train, SPACE, **pkw),
        hz.pbt(big_state_train, SPACE, executor=ex, **pkw),
    )


def test_ray_worker_killed_mid_trial_is_retried(
    ray_executor: Any, tmp_path: Path
) -> None:
    objective = functools.partial(die_once, marker=str(tmp_path / "died"))
    base = hz.search(scalar_loss, SPACE, budget=8, rng=24)
    run = hz.search(
        objective, SPACE, budget=8, rng=24, executor=ray_executor, asynchronous=False
    )
    assert (tmp_path / "died").exists()
    assert all(e is None for e in run.trials.error)
    assert_same_search(base, run)

    space = hz.Space(x=hz.Uniform(0, 1))
    configs = space.from_unit([[0.1], [0.5], [0.9]])
    ex = hz.executors.ray(retries=1)
    values, errors, _ = evaluate(die_above, configs, mode="dict", executor=ex)
    assert values[1] == pytest.approx(0.5)
    assert errors[0] is not None
    assert errors[0].startswith("RuntimeError")
    assert errors[2] is not None
    assert errors[2].startswith("WorkerLostError")
