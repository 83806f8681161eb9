"""Running trials beyond one machine: Dask and Ray as ``concurrent.futures`` executors.

Every function that takes ``executor=`` (:func:`hyperzoom.search`,
:func:`hyperzoom.retest`, :func:`hyperzoom.successive_halving`,
:func:`hyperzoom.hyperband`, :func:`hyperzoom.asha`, :func:`hyperzoom.pbt`) accepts

- any :class:`concurrent.futures.Executor` (threads, processes);
- a ``dask.distributed.Client``, or ``client.get_executor()``: turned into
  :func:`dask` ``(client)`` by :func:`as_executor`;
- :func:`ray` ``()``, an executor over Ray remote tasks.

Results do not depend on the executor: the same seed gives the same trials and result
as in-process (ASHA: the same decisions when results arrive in the same order).

What the adapters add to the engines
------------------------------------
``pure=False``
    A Dask ``Client`` submits with ``pure=True`` by default, which merges identical
    calls into one task; a re-test is an identical call on purpose, so the adapter
    always submits with ``pure=False`` (unless a ``ClientExecutor`` says otherwise).
Workers that die
    A call whose worker died (the process was killed, ran out of memory, lost its
    connection: Dask's ``KilledWorker`` / ``CommClosedError``, Ray's
    ``WorkerCrashedError`` / ``RayActorError`` / ``NodeDiedError``) is submitted again,
    up to ``retries`` times; then its trial fails with :class:`WorkerLostError` and the
    reason, and the search goes on. An exception raised by the objective itself is
    never retried: it fails its trial at once. (Dask's scheduler also reschedules a
    task whose worker died on its own, up to ``distributed.scheduler.allowed-failures``
    times, before it reports ``KilledWorker``. A death also takes the tasks queued on
    that worker with it; with long trials, ``distributed.scheduler.worker-saturation:
    1.0`` keeps the queue on the scheduler, so only the trial that was running counts
    the death.)
Large arguments by reference
    An argument larger than ``by_reference_above`` bytes (1 MB; e.g. a PBT state with
    the network's weights) is sent once to the cluster's memory (``client.scatter`` /
    ``ray.put``) and the task receives a reference, instead of being pickled into the
    task itself.

Vectorised objectives on a cluster
----------------------------------
A vectorised objective's batch is split into ``batch_size`` rows per call, and each
call is one task: ``batch_size`` sets the work per task (default: the whole round, i.e.
a single task). Choose it so that each task runs for a second or more; results are
gathered in index order, so ``batch_size`` never changes the result.

Neither Dask nor Ray is imported by ``import hyperzoom``: a Dask client is recognised by
its type's module, and Ray is imported when :func:`ray` is called.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Executor, Future
from typing import Any

from ._optional import require

__all__ = [
    "ExecutorError",
    "WorkerLostError",
    "as_executor",
    "dask",
    "is_cluster",
    "max_workers",
    "ray",
]

#: Arguments estimated above this many bytes travel by reference.
BY_REFERENCE_ABOVE = 1_000_000

#: Exception class names that mean "the worker died", not "the objective failed".
_WORKER_DEATHS = frozenset(
    {
        # distributed
        "KilledWorker",
        "CommClosedError",
        # ray
        "WorkerCrashedError",
        "RayActorError",
        "ActorDiedError",
        "NodeDiedError",
        "OwnerDiedError",
        "LocalRayletDiedError",
    }
)


class WorkerLostError(RuntimeError):
    """The worker running a trial died on every attempt; the trial fails with this."""


class ExecutorError(RuntimeError):
    """The executor could not run a call at all (not an error of the objective).

    A broken process pool, an objective or ``train`` that cannot be pickled for another
    process, a cancelled future. Without a study file such a call fails like an error of
    the objective; with one (``storage=``) it is not stored, the calls that completed
    are, and this error is raised once the others are in: fix the executor and run
    again to resume.
    """


def is_executor_failure(out: Any) -> bool:
    """Return whether a call's outcome ``out`` says the executor could not run it.

    Every error the objective itself raises comes back as a value, not from the
    future, so an exception the future raised is the executor's, except
    :class:`WorkerLostError`: a trial whose worker died on every attempt has failed.
    """
    return isinstance(out, BaseException) and not isinstance(out, WorkerLostError)


def _is_worker_death(exc: BaseException) -> bool:
    return any(c.__name__ in _WORKER_DEATHS for c in type(exc).__mro__)


def _nbytes(obj: Any, depth: int = 0) -> int:
    """Estimate ``obj``'s size in bytes cheaply (arrays, bytes, containers)."""
    n = getattr(obj, "nbytes", None)
    if isinstance(n, int):
        return n
    if isinstance(obj, (bytes, bytearray, memoryview, str)):
        return len(obj)
    if depth < 4:
        if isinstance(obj, Mapping):
            return sum(_nbytes(v, depth + 1) for v in obj.values())
        if isinstance(obj, (list, tuple)):
            return sum(_nbytes(v, depth + 1) for v in obj)
    return sys.getsizeof(obj)


def _flat_call(fn: Callable[..., Any], n_args: int, *flat: Any) -> Any:
    """Run ``fn`` with ``flat[:n_args]`` positional and the rest as key, value pairs.

    Module level (pickled by reference). Every argument is a top-level argument of the
    task, where the engines resolve references (a scattered future, an ObjectRef).
    """
    rest = flat[n_args:]
    return fn(*flat[:n_args], **dict(zip(rest[0::2], rest[1::2])))


def _flatten(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    flat = list(args)
    for k, v in kwargs.items():
        flat += [k, v]
    return flat


class _ClusterExecutor(Executor):
    """Submit, resubmit on worker death, resolve a ``concurrent.futures.Future``."""

    engine = "cluster"

    def __init__(self, retries: int, by_reference_above: int | None) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            msg = f"`retries` must be an integer >= 0, but got {retries!r}."
            raise ValueError(msg)
        self.retries = retries
        self.by_reference_above = (
            BY_REFERENCE_ABOVE if by_reference_above is None else by_reference_above
        )
        self._lock = threading.Lock()
        self._pending: set[Future[Any]] = set()
        self._shutdown = False

    # engine hooks -----------------------------------------------------------------
    def _put(self, obj: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _start(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _watch(
        self, handle: Any, done: Callable[[Any, BaseException | None], None]
    ) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    # ------------------------------------------------------------------------------
    def _by_reference(self, obj: Any) -> Any:
        if _nbytes(obj) > self.by_reference_above:
            return self._put(obj)
        return obj

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` on the cluster; return its future."""
        if self._shutdown:
            msg = f"cannot submit to a {type(self).__name__} after shutdown."
            raise RuntimeError(msg)
        outer: Future[Any] = Future()
        outer.set_running_or_notify_cancel()
        args = tuple(self._by_reference(a) for a in args)
        kwargs = {k: self._by_reference(v) for k, v in kwargs.items()}
        with self._lock:
            self._pending.add(outer)
        self._attempt(outer, fn, args, kwargs, 0)
        return outer

    def _attempt(
        self,
        outer: Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        attempt: int,
    ) -> None:
        def done(value: Any, exc: BaseException | None) -> None:
            if exc is not None and _is_worker_death(exc):
                if attempt < self.retries and not self._shutdown:
                    try:
                        self._attempt(outer, fn, args, kwargs, attempt + 1)
                    except BaseException as again:  # noqa: BLE001 - fail the trial
                        self._resolve(outer, None, again)
                    return
                text = f"{type(exc).__name__}: {exc}"
                lost = WorkerLostError(
                    f"the worker died on each of {attempt + 1} attempts "
                    f"({self.retries} retries); last: {text}"
                )
                lost.__cause__ = exc
                exc = lost
            self._resolve(outer, value, exc)

        handle = self._start(fn, args, kwargs)
        outer._hz_handle = handle  # type: ignore[attr-defined] # keeps the task alive
        self._watch(handle, done)

    def _resolve(
        self, outer: Future[Any], value: Any, exc: BaseException | None
    ) -> None:
        with self._lock:
            self._pending.discard(outer)
        if exc is None:
            outer.set_result(value)
        else:
            outer.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting calls; with ``wait``, wait for those in flight.

        The cluster itself (a Dask client, a Ray session) belongs to the caller and is
        left running.
        """
        self._shutdown = True
        if wait:
            with self._lock:
                pending = list(self._pending)
            for f in pending:
                try:
                    f.exception()
                except CancelledError:  # pragma: no cover - cancelled by the caller
                    pass


# ---------------------------------------------------------------------------------------
# Dask
class DaskExecutor(_ClusterExecutor):
    """A :class:`concurrent.futures.Executor` over a ``dask.distributed.Client``.

    Made by :func:`dask` (or :func:`as_executor`); see the module docstring.
    """

    engine = "dask"

    def __init__(
        self,
        client: Any,
        *,
        retries: int = 2,
        by_reference_above: int | None = None,
        **submit_options: Any,
    ) -> None:
        super().__init__(retries, by_reference_above)
        self.client = client
        self.submit_options = {"pure": False, **submit_options}

    @property
    def _max_workers(self) -> int:
        """Threads of the cluster's workers now (what ASHA keeps in flight)."""
        return max(1, int(sum(self.client.nthreads().values())))

    def _put(self, obj: Any) -> Any:
        # a list of one, so that a dict or a list is scattered whole, not item by item
        return self.client.scatter([obj], hash=False)[0]

    def _start(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        flat = _flatten(args, kwargs)
        return self.client.submit(
            _flat_call, fn, len(args), *flat, **self.submit_options
        )

    def _watch(
        self, handle: Any, done: Callable[[Any, BaseException | None], None]
    ) -> None:
        def callback(future: Any) -> None:  # runs in Dask's callback thread
            status = future.status
            if status == "finished":
                try:
                    value = future.result()
                except BaseException as lost:  # noqa: BLE001 - lost between the calls
                    done(None, lost)
                    return
                done(value, None)
            elif status == "cancelled":
                done(None, CancelledError(f"the Dask task {future.key} was cancelled"))
            else:
                error: BaseException
                try:
                    error = future.exception()
                except BaseException as err:  # noqa: BLE001 - e.g. a lost connection
                    error = err
                done(None, error)

        handle.add_done_callback(callback)

    def __repr__(self) -> str:
        return f"hyperzoom.executors.dask({self.client!r}, retries={self.retries})"


def dask(
    client: Any,
    *,
    retries: int = 2,
    by_reference_above: int | None = None,
    **options: Any,
) -> DaskExecutor:
    """Run trials on a Dask cluster through ``client``.

    Parameters
    ----------
    client : dask.distributed.Client
        A client of the cluster (``Client("tcp://scheduler:8786")``, a
        ``LocalCluster``'s client). It stays open: closing it is the caller's.
    retries : int
        Times a call whose worker died is submitted again before its trial fails.
    by_reference_above : int, optional
        Arguments estimated larger than this many bytes are scattered to the workers
        first (default 1 MB).
    **options
        Passed to ``client.submit`` (e.g. ``resources={"GPU": 1}``); ``pure`` is
        ``False`` unless given.

    Returns
    -------
    DaskExecutor
        A :class:`concurrent.futures.Executor`.
    """
    if not _is_dask_client(client):
        msg = f"`client` must be a dask.distributed.Client, but got {client!r}."
        raise TypeError(msg)
    return DaskExecutor(
        client, retries=retries, by_reference_above=by_reference_above, **options
    )


def _module_names(obj: Any) -> set[str]:
    return {c.__module__.split(".")[0] for c in type(obj).__mro__}


def _is_dask_client(obj: Any) -> bool:
    return (
        "distributed" in _module_names(obj)
        and callable(getattr(obj, "submit", None))
        and callable(getattr(obj, "scatter", None))
        and callable(getattr(obj, "get_executor", None))
    )


def _is_dask_client_executor(obj: Any) -> bool:
    return (
        type(obj).__name__ == "ClientExecutor"
        and "distributed" in _module_names(obj)
        and hasattr(obj, "_client")
    )


# ---------------------------------------------------------------------------------------
# Ray
class RayExecutor(_ClusterExecutor):
    """A :class:`concurrent.futures.Executor` over Ray remote tasks (see :func:`ray`)."""

    engine = "ray"

    def __init__(
        self,
        *,
        num_cpus: float | None = None,
        retries: int = 2,
        by_reference_above: int | None = None,
        **ray_options: Any,
    ) -> None:
        super().__init__(retries, by_reference_above)
        self._ray = require("ray", "hyperzoom.executors.ray()")
        if not self._ray.is_initialized():
            self._ray.init()
        options = dict(ray_options)
        if num_cpus is not None:
            options["num_cpus"] = num_cpus
        self.num_cpus = options.get("num_cpus", 1)
        # Worker deaths are retried here (a bounded number of times, with a reason on
        # failure); exceptions of the objective are not retried at all.
        options.setdefault("max_retries", 0)
        options.setdefault("retry_exceptions", False)
        self.ray_options = options
        self._remote = self._ray.remote(_flat_call).options(**options)

    @property
    def _max_workers(self) -> int:
        """Tasks that fit the cluster's CPUs now (what ASHA keeps in flight)."""
        cpus = float(self._ray.cluster_resources().get("CPU", 1))
        per = float(self.num_cpus) if self.num_cpus else 1.0
        return max(1, int(cpus // per) if per > 0 else int(cpus))

    def _put(self, obj: Any) -> Any:
        return self._ray.put(obj)

    def _start(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        return self._remote.remote(fn, len(args), *_flatten(args, kwargs))

    def _watch(
        self, handle: Any, done: Callable[[Any, BaseException | None], None]
    ) -> None:
        def callback(future: Future[Any]) -> None:
            try:
                value = future.result()
            except BaseException as exc:  # noqa: BLE001 - reported to the trial
                done(None, _unwrap_ray_error(exc))
                return
            done(value, None)

        handle.future().add_done_callback(callback)

    def __repr__(self) -> str:
        return (
            f"hyperzoom.executors.ray(retries={self.retries}, **{self.ray_options!r})"
        )


class _RemoteTraceback(Exception):
    """The worker's traceback, as text (read by ``evaluate`` for the error location)."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb


def _unwrap_ray_error(exc: BaseException) -> BaseException:
    """Return the objective's own exception for a ``RayTaskError``, else ``exc``."""
    cause = getattr(exc, "cause", None)
    if type(exc).__name__.startswith("RayTaskError") and isinstance(
        cause, BaseException
    ):
        tb = getattr(exc, "traceback_str", None)
        if isinstance(tb, str):
            cause.__cause__ = _RemoteTraceback(tb)
        return cause
    return exc


def ray(
    *,
    num_cpus: float | None = None,
    retries: int = 2,
    by_reference_above: int | None = None,
    **ray_options: Any,
) -> RayExecutor:
    """Run trials as Ray remote tasks (``ray.init()`` first if Ray is not running).

    Connect to a cluster with ``ray.init(address="auto")`` (or ``"ray://host:10001"``)
    before calling this; otherwise a local Ray is started.

    Parameters
    ----------
    num_cpus : float, optional
        CPUs each trial reserves (Ray's default: 1).
    retries : int
        Times a call whose worker died is submitted again before its trial fails.
    by_reference_above : int, optional
        Arguments estimated larger than this many bytes are put in Ray's object store
        first (default 1 MB).
    **ray_options
        Passed to ``.options()`` of the remote task (``num_gpus=1``, ``memory=...``,
        ``resources={...}``, ``scheduling_strategy=...``).

    Returns
    -------
    RayExecutor
        A :class:`concurrent.futures.Executor`; its futures resolve when the task's
        ``ObjectRef`` completes.
    """
    return RayExecutor(
        num_cpus=num_cpus,
        retries=retries,
        by_reference_above=by_reference_above,
        **ray_options,
    )


# ---------------------------------------------------------------------------------------
def max_workers(executor: Any) -> int | None:
    """Return how many calls ``executor`` runs at once, or None if it does not say.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from hyperzoom.executors import max_workers
    >>> with ThreadPoolExecutor(3) as pool:
    ...     max_workers(pool)
    3
    """
    guess = getattr(executor, "_max_workers", None)
    return guess if isinstance(guess, int) and guess >= 1 else None


def is_cluster(executor: Any) -> bool:
    """Return whether ``executor`` runs calls on a cluster (Dask or Ray).

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from hyperzoom.executors import is_cluster
    >>> with ThreadPoolExecutor(1) as pool:
    ...     is_cluster(pool)
    False
    """
    return isinstance(executor, _ClusterExecutor)


def as_executor(obj: Any) -> Any:
    """Return ``obj`` as a :class:`concurrent.futures.Executor` (or ``None``).

    A ``dask.distributed.Client`` becomes :func:`dask` ``(client)``; a Dask
    ``ClientExecutor`` (``client.get_executor(...)``) becomes :func:`dask` with its
    options (``pure=False`` unless it set ``pure``). Anything else with a callable
    ``submit`` is returned as it is. Dask is never imported here.

    Raises
    ------
    TypeError
        For an object that is not an executor (``executor=5``).

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from hyperzoom.executors import as_executor
    >>> as_executor(None) is None
    True
    >>> pool = ThreadPoolExecutor(2)
    >>> as_executor(pool) is pool
    True
    >>> pool.shutdown()
    """
    if obj is None or isinstance(obj, _ClusterExecutor):
        return obj
    if _is_dask_client_executor(obj):
        options = dict(getattr(obj, "_kwargs", {}) or {})
        return DaskExecutor(obj._client, **options)
    if _is_dask_client(obj):
        return DaskExecutor(obj)
    if not callable(getattr(obj, "submit", None)):
        msg = (
            "`executor` must be a concurrent.futures.Executor (anything with a "
            f"submit(fn, *args) method), a Dask client or None, but got {obj!r} "
            f"({type(obj).__name__})."
        )
        raise TypeError(msg)
    return obj
