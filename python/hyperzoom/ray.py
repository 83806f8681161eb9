"""Coarse-to-fine search inside Ray Tune: :class:`CoarseToFineSearch`, a Tune ``Searcher``.

.. code-block:: python

    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from hyperzoom.ray import CoarseToFineSearch

    tuner = tune.Tuner(
        train,  # a function trainable: tune.report({"loss": ...}) each epoch
        tune_config=tune.TuneConfig(
            search_alg=CoarseToFineSearch(space, metric="loss", mode="min", seed=0),
            scheduler=ASHAScheduler(metric="loss", mode="min", max_t=27),
            num_samples=200,
        ),
    )
    results = tuner.fit()

How Tune's calls become ask and tell
------------------------------------
``suggest(trial_id)`` asks an asynchronous :class:`~hyperzoom.CoarseToFine` for one
configuration (asynchronous mode: there is always one, even while earlier trials run)
and returns its **active** parameters as a dict of plain Python values: a parameter that
a condition switches off is absent, as in ``configs[i]``. ``on_trial_complete(trial_id,
result, error)`` tells ``result[metric]``, in the order trials complete; the optimiser
maximises it for ``mode="max"``. An error, a missing or non-numeric metric, NaN or
infinity fail the trial (told as NaN, with the reason as its error text): it never
counts as best and the search goes on.

**Trials stopped early.** A scheduler such as ``ASHAScheduler`` stops most trials
before their last epoch; Tune then completes the trial with the last result it
reported, and that value is what the search learns, as with Tune's other searchers.
An early-stopped trial's value is therefore a loss after fewer epochs than a finished
trial's (usually a worse one), which steers the search away from configurations the
scheduler gave up on. Intermediate results (``on_trial_result``) teach nothing.

**Budget.** Tune's ``num_samples`` says how many trials run. ``budget=`` (optional)
limits the search itself: once it is spent, ``suggest`` returns ``Searcher.FINISHED``.

**Concurrency.** ``max_concurrent=k`` makes ``suggest`` return None (Tune asks again
later) while ``k`` suggested trials have not completed, and is saved with the searcher.
Tune's ``ConcurrencyLimiter`` (and ``TuneConfig(max_concurrent_trials=k)``, which wraps
the searcher in one) works as with any searcher, ``batch=True`` included:
:meth:`~CoarseToFineSearch.set_max_concurrency` leaves the limiting to it. The
optimiser itself needs no limit: it counts the trials in flight, and with more in
flight than a round holds, it waits for as many results before it zooms.

**Save and restore.** ``save(path)`` writes data only: the seed, the settings, the
space (as JSON data when :func:`hyperzoom.store.space_to_json` can hold it, otherwise
the pickled ``Space``), metric and mode, and the history: each suggestion's trial id
and unit coordinates, and each completion's value and error, in the order they
happened. ``restore(path)`` rebuilds the optimiser by replaying that history (ask in
the same order, checking each configuration is the one suggested before, tell the same
values in the same order), so a restored searcher continues exactly as the original
would have. Pickling a searcher (Tune pickles its ``Tuner`` with it) goes the same way.

**Reproducible.** The same ``seed`` gives the same suggestions for the same order of
completions: those of ``hz.CoarseToFine(space, rng=seed, asynchronous=True)`` driven by
hand. Without a seed, one is drawn from the operating system once, at construction,
and saved.

Ray is not a dependency of hyperzoom: ``pip install "hyperzoom[ray]"`` (or
``pip install "ray[tune]"``). ``import hyperzoom`` never imports Ray; this module does.
"""

from __future__ import annotations

import inspect
import logging
import math
import pickle
from collections.abc import Mapping
from typing import Any, cast

import numpy as np

from ._validation import as_count, as_workers
from ._version import __version__
from .search import AllTrialsFailedError, CoarseToFine, SearchResult
from .search.settings import check_settings
from .space import Space
from .store import rng_of, seed_record, space_from_json, space_to_json

try:
    from ray.tune.search import Searcher
    from ray.tune.search.sample import Domain
except ImportError as exc:  # pragma: no cover - exercised only without Ray
    _msg = (
        'hyperzoom.ray needs Ray Tune: pip install "hyperzoom[ray]" '
        '(or pip install "ray[tune]").'
    )
    raise ImportError(_msg) from exc

__all__ = ["CoarseToFineSearch"]

logger = logging.getLogger(__name__)

#: Settings the searcher decides itself, and what to use instead.
_OWN = {
    "minimize": "`mode=` ('min' or 'max') sets the direction",
    "asynchronous": "the searcher is always asynchronous (Tune runs trials as they fit)",
    "rng": "pass `seed=`",
}
#: The settings of :class:`~hyperzoom.CoarseToFine` the searcher passes on: all but
#: the space and those it decides itself (read from the signature, never copied).
SETTINGS = tuple(
    p for p in inspect.signature(CoarseToFine).parameters if p not in ("space", *_OWN)
)
#: What :meth:`CoarseToFineSearch.save` writes, and the version of its layout.
_FORMAT = "hyperzoom.ray.CoarseToFineSearch"
_VERSION = 1


class CoarseToFineSearch(Searcher):  # type: ignore[misc,unused-ignore]
    """A Ray Tune searcher that runs :class:`~hyperzoom.CoarseToFine` asynchronously.

    Parameters
    ----------
    space : Space
        The search space (conditional spaces included: a trial's config holds its
        active parameters only).
    metric : str, optional
        The result key to optimise. If None, Tune's ``TuneConfig(metric=...)`` sets it
        (Tune passes it on only when ``param_space`` is given: otherwise pass it here).
    mode : {"min", "max"}, optional
        Minimise or maximise ``metric`` (set like ``metric`` when None).
    seed : int, SeedSequence or None, optional
        The search's seed (``rng=`` of :class:`~hyperzoom.CoarseToFine`). None draws
        one once, at construction; it is saved with the searcher. A ``Generator`` is
        refused: its state is not data that :meth:`restore` can start from.
    max_concurrent : int, optional
        At most this many trials suggested and not yet completed (None: no limit).
    **settings
        Settings of :class:`~hyperzoom.CoarseToFine`: ``budget``, ``strategy``,
        ``round_size``, ``first_round``, ``keep``, ``min_width``, ``retest``,
        ``retest_every``, ``design``, ``workers``.

    Raises
    ------
    TypeError
        If ``space`` is not a :class:`~hyperzoom.Space`, ``metric`` is not a str (one
        metric only), ``seed`` is a ``Generator``, or a setting is unknown.
    ValueError
        If ``mode`` is neither "min" nor "max", or a setting is out of range.

    Examples
    --------
    Without a Tuner, as Tune drives it:

    >>> import hyperzoom as hz
    >>> from hyperzoom.ray import CoarseToFineSearch
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), layers=hz.IntUniform(1, 4))
    >>> searcher = CoarseToFineSearch(space, metric="loss", mode="min", seed=7)
    >>> config = searcher.suggest("trial-1")
    >>> sorted(config), type(config["layers"]).__name__
    (['layers', 'lr'], 'int')
    >>> searcher.on_trial_complete("trial-1", {"loss": 0.5})
    >>> searcher.result().best_value
    0.5
    """

    def __init__(
        self,
        space: Space,
        metric: str | None = None,
        mode: str | None = None,
        *,
        seed: int | np.random.SeedSequence | None = None,
        max_concurrent: int | None = None,
        **settings: Any,
    ) -> None:
        if not isinstance(space, Space):
            msg = (
                f"`space` must be a hyperzoom Space, but got {type(space).__name__}; "
                "build one with hz.Space(name=hz.LogUniform(...), ...)."
            )
            raise TypeError(msg)
        _check_metric(metric)
        _check_mode(mode)
        for key in settings:
            if key in _OWN:
                msg = f"`{key}` is not a setting of CoarseToFineSearch: {_OWN[key]}."
                raise TypeError(msg)
            if key not in SETTINGS:
                msg = (
                    f"{key!r} is not a setting of CoarseToFineSearch. The settings are "
                    f"{list(SETTINGS)!r}."
                )
                raise TypeError(msg)
        check_settings(
            asynchronous=True, **{k: v for k, v in settings.items() if k != "workers"}
        )
        if settings.get("workers") is not None:
            as_workers(settings["workers"])
        if isinstance(seed, (np.random.Generator, np.random.BitGenerator)):
            msg = (
                "`seed` must be an int, a numpy.random.SeedSequence or None, not a "
                "Generator: save() and restore() rebuild the search from its seed, and "
                "a Generator's state is not data they can write down."
            )
            raise TypeError(msg)
        record = seed_record(np.random.SeedSequence() if seed is None else seed)
        assert record is not None
        if max_concurrent is not None:
            max_concurrent = as_count(max_concurrent, "max_concurrent", minimum=1)
        super().__init__(metric=metric, mode=mode)
        self._space = space
        self._settings = dict(settings)
        self._seed = record
        self._max_concurrent = max_concurrent
        self._reset()

    def _reset(self) -> None:
        self._opt: CoarseToFine | None = None
        self._ids: dict[str, int] = {}  # Tune's trial id -> the optimiser's trial id
        self._live: set[str] = set()  # suggested, not completed
        # The history, in order: ("ask", trial_id, unit row) and
        # ("tell", trial_id, value, error text or None).
        self._events: list[tuple[Any, ...]] = []

    # -- what Tune calls --------------------------------------------------------------
    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[Any, Any], **spec: Any
    ) -> bool:
        """Take Tune's ``metric`` and ``mode`` (from ``TuneConfig``).

        Returns False (Tune then refuses the run, saying why) when ``config`` (the
        Tuner's ``param_space``) holds search-space definitions such as
        ``tune.uniform``: the space is the searcher's. Constants in ``param_space``
        are fine; Tune passes them to every trial beside the suggested values.

        Raises
        ------
        ValueError
            If ``metric`` or ``mode`` differs from the one the searcher already has.
        """
        if config and _has_domains(config):
            return False
        _check_metric(metric)
        _check_mode(mode)
        for name, given in (("metric", metric), ("mode", mode)):
            have = getattr(self, f"_{name}")
            if given is not None and have is not None and given != have:
                msg = (
                    f"TuneConfig's `{name}={given!r}` differs from the searcher's "
                    f"`{name}={have!r}`; give it in one place only."
                )
                raise ValueError(msg)
        if metric is not None:
            self._metric = metric
        if mode is not None:
            self._mode = mode
        return True

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Leave the limit to Tune's ``ConcurrencyLimiter`` (returns False).

        The limiter then limits as with any searcher (``batch=True`` too); a limit
        kept by the searcher itself is ``max_concurrent=`` of the constructor.
        """
        return False

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """Return the next configuration (active parameters, plain Python values).

        Returns None while ``max_concurrent`` trials are running, and
        ``Searcher.FINISHED`` once ``budget`` (if given) is spent. The same
        ``trial_id`` gets the same configuration again.

        Raises
        ------
        ValueError
            If ``metric`` or ``mode`` is still unknown.
        """
        if trial_id in self._ids:
            opt = self._optimizer()
            return opt.asked([self._ids[trial_id]])[0]  # type: ignore[no-any-return]
        if self._max_concurrent is not None and len(self._live) >= self._max_concurrent:
            return None
        opt = self._optimizer()
        c = opt.ask(1)
        if len(c) == 0:
            if opt.budget is not None and opt.n_asked >= opt.budget:
                return cast("dict[str, Any]", self.FINISHED)  # Tune's "no more" marker
            return None  # pragma: no cover - an asynchronous search always has one
        assert c.ids is not None
        self._ids[trial_id] = int(c.ids[0])
        self._live.add(trial_id)
        self._events.append(("ask", trial_id, c.unit[0].tolist()))
        return c[0]  # type: ignore[no-any-return]

    def on_trial_complete(
        self, trial_id: str, result: dict[Any, Any] | None = None, error: bool = False
    ) -> None:
        """Tell the trial's ``result[metric]`` (an error or no metric: a failure).

        A trial stopped early by a scheduler arrives with its last reported result,
        and that value is told. A trial the searcher did not suggest, or one completed
        before, is ignored with a logged warning.
        """
        if trial_id not in self._ids:
            logger.warning(
                "trial %s was not suggested by this searcher; ignored", trial_id
            )
            return
        if trial_id not in self._live:
            logger.warning("trial %s was completed before; ignored", trial_id)
            return
        value, text = self._value_of(result, error)
        self._tell(self._ids[trial_id], value, text)
        self._live.discard(trial_id)
        self._events.append(("tell", trial_id, value, text))

    # -- results, save, restore -------------------------------------------------------
    def result(self) -> SearchResult:
        """Return everything told so far as a :class:`~hyperzoom.SearchResult`.

        Its trial ids are the optimiser's (in the order of suggestion);
        :attr:`trial_ids` maps Tune's trial ids to them.
        """
        return self._optimizer().result()

    @property
    def trial_ids(self) -> dict[str, int]:
        """Tune's trial id -> the optimiser's trial id (a copy)."""
        return dict(self._ids)

    @property
    def space(self) -> Space:
        """The search space."""
        return self._space

    def get_state(self) -> dict[str, Any]:
        """Return the searcher as data: what :meth:`save` writes (see the module)."""
        try:
            space: dict[str, Any] = {"json": space_to_json(self._space)}
        except TypeError:  # a distribution or option JSON cannot hold
            space = {"pickle": pickle.dumps(self._space)}
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "hyperzoom": __version__,
            "metric": self._metric,
            "mode": self._mode,
            "seed": self._seed,
            "settings": dict(self._settings),
            "max_concurrent": self._max_concurrent,
            "space": space,
            "events": list(self._events),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Become the searcher ``state`` describes (rebuilt by replaying its history).

        Raises
        ------
        ValueError
            If ``state`` is not a searcher's state, or its history does not replay
            (another version of hyperzoom drawing other configurations).
        """
        if not isinstance(state, Mapping) or state.get("format") != _FORMAT:
            msg = "the state is not that of a hyperzoom CoarseToFineSearch."
            raise ValueError(msg)
        if state.get("version") != _VERSION:
            msg = (
                f"the state has layout version {state.get('version')!r}; this "
                f"hyperzoom reads version {_VERSION}."
            )
            raise ValueError(msg)
        doc = state["space"]
        space = (
            space_from_json(doc["json"])
            if "json" in doc
            else pickle.loads(doc["pickle"])
        )
        self._space = space
        self._metric = state["metric"]
        self._mode = state["mode"]
        self._seed = dict(state["seed"])
        self._settings = dict(state["settings"])
        self._max_concurrent = state["max_concurrent"]
        self._reset()
        for event in state["events"]:
            self._replay(event, state.get("hyperzoom"))

    def save(self, checkpoint_path: str) -> None:
        """Write the searcher's state (:meth:`get_state`) to ``checkpoint_path``."""
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.get_state(), f, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, checkpoint_path: str) -> None:
        """Become the searcher saved at ``checkpoint_path`` (see :meth:`set_state`)."""
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        self.set_state(state)

    def __getstate__(self) -> dict[str, Any]:
        return self.get_state()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.set_state(state)

    def __repr__(self) -> str:
        return (
            f"CoarseToFineSearch(metric={self._metric!r}, mode={self._mode!r}, "
            f"{len(self._ids)} suggested, {len(self._ids) - len(self._live)} completed)"
        )

    # -- internals --------------------------------------------------------------------
    def _optimizer(self) -> CoarseToFine:
        """Return the optimiser, made on first use (once metric and mode are known)."""
        if self._opt is None:
            if self._metric is None or self._mode is None:
                msg = (
                    "CoarseToFineSearch needs `metric` and `mode` before it can "
                    f"suggest, but has metric={self._metric!r}, mode={self._mode!r}. "
                    "Pass them to CoarseToFineSearch(space, metric=..., mode=...), or "
                    "to tune.TuneConfig together with a param_space (Tune hands "
                    "TuneConfig's metric and mode to a searcher only then)."
                )
                raise ValueError(msg)
            self._opt = CoarseToFine(
                self._space,
                rng=rng_of(self._seed),
                minimize=self._mode == "min",
                asynchronous=True,
                **self._settings,
            )
        return self._opt

    def _value_of(self, result: Any, error: bool) -> tuple[float, str | None]:
        """Return the value to tell for a completed trial, and a failure's error text."""
        if error:
            return math.nan, "the trial raised an error (Ray Tune: error=True)"
        if not result or self._metric not in result:
            return math.nan, f"the trial reported no {self._metric!r}"
        raw = result[self._metric]
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return math.nan, f"the trial reported {self._metric}={raw!r}, not a number"
        if not math.isfinite(value):
            return math.nan, f"the trial reported {self._metric}={value!r}"
        return value, None

    def _tell(self, hz_id: int, value: float, text: str | None) -> None:
        try:
            self._optimizer().tell([hz_id], [value], errors=[text])
        except AllTrialsFailedError as exc:  # reported; the optimiser goes on
            logger.warning("hyperzoom: %s", exc)

    def _replay(self, event: tuple[Any, ...], version: Any) -> None:
        """Redo one event of a saved history, checking that asks draw as before."""
        kind, trial_id = event[0], event[1]
        if kind == "ask":
            opt = self._optimizer()
            c = opt.ask(1)
            saved = np.asarray(event[2], dtype=np.float64)
            if len(c) != 1 or not np.array_equal(c.unit[0], saved, equal_nan=True):
                msg = (
                    f"the saved searcher does not replay: trial {trial_id!r} was "
                    "suggested another configuration when it was saved (saved by "
                    f"hyperzoom {version}, restored by {__version__})."
                )
                raise ValueError(msg)
            assert c.ids is not None
            self._ids[trial_id] = int(c.ids[0])
            self._live.add(trial_id)
        elif kind == "tell":
            value, text = float(event[2]), event[3]
            self._tell(self._ids[trial_id], value, text)
            self._live.discard(trial_id)
        else:
            msg = f"the saved history holds an unknown event {kind!r}."
            raise ValueError(msg)
        self._events.append(tuple(event))


def _check_metric(metric: Any) -> None:
    if metric is not None and not isinstance(metric, str):
        msg = (
            "`metric` must be the name (a str) of one result key, but got "
            f"{metric!r}; CoarseToFineSearch optimises a single metric."
        )
        raise TypeError(msg)


def _check_mode(mode: Any) -> None:
    if mode is not None and mode not in ("min", "max"):
        msg = f"`mode` must be 'min' or 'max', but got {mode!r}."
        raise ValueError(msg)


def _has_domains(config: Any) -> bool:
    """Whether a Tune ``param_space`` holds search-space definitions."""
    if isinstance(config, Domain):
        return True
    if isinstance(config, Mapping):
        return "grid_search" in config or any(_has_domains(v) for v in config.values())
    if isinstance(config, (list, tuple)):
        return any(_has_domains(v) for v in config)
    return False
