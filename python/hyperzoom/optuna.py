"""``CoarseToFineSampler``: an Optuna sampler that searches coarse to fine.

An existing Optuna study (its storage, pruners, dashboard, ``study.optimize(n_jobs=...)``)
keeps everything and samples with :class:`hyperzoom.CoarseToFine` in its asynchronous
mode: each trial asks it for one configuration, and each finished trial tells it the
value. Needs Optuna (``pip install hyperzoom[optuna]``); ``import hyperzoom`` does not
import this module.

The rules:

* **Space.** Given as an :class:`hyperzoom.Space` (the objective suggests each parameter
  as ``space.to_optuna(inv_log="linear")`` describes it: ``PowerOfTwo`` with
  ``suggest_categorical`` of its powers, ``InvLogUniform`` with a linear
  ``suggest_float(name, low, high)``, whose values the sampler draws on the 1-β axis),
  or, with ``space=None``, read from the study: the parameters that every completed
  trial suggested with the same distribution (Optuna's intersection search space),
  once ``n_startup_trials`` trials are complete, and fixed from then on. Until then,
  and for distributions hyperzoom cannot express (stepped, single-valued), the
  independent sampler draws.
* **Parameters outside the space**, a value the objective suggests outside the range
  the space gives it, and every trial once a ``budget`` is spent: the independent
  sampler (default ``optuna.samplers.RandomSampler(seed)``).
* **Values.** A complete trial tells its value (the optimiser minimises or maximises
  as the study's direction says); a failed trial tells a failure. A **pruned** trial
  tells its last intermediate value, the way TPE ranks pruned trials by their last
  step, and a failure when it reported none. A trial whose evaluated values differ
  from the proposal (``study.enqueue_trial`` fixed some, or a narrower range sent one
  to the independent sampler) tells a failure: its value belongs to another point.
* **Trials the sampler did not propose** (run before it, by another sampler, or by
  another process on the same storage) teach it nothing; they count only for the
  inferred space.
* **Resume.** The proposal (hyperzoom's trial id, unit coordinates, and how many
  values had been told) and the value told (with its order) are stored in each
  trial's ``system_attrs``, and the seed and an inferred space in the study's. A new
  sampler on a stored study replays them (ask in the same order, check each proposal
  equals the stored one, tell the stored values in the stored order), so with
  ``n_jobs=1`` a resumed study continues exactly as an uninterrupted one. Trials still
  running when the sampler first sees the study were cut off by a crash: they are told
  as failures. A replay that proposes something else (another seed, space or setting)
  is refused with a ``ValueError``. ``seed=None`` draws a seed and stores it, so a
  study resumes with ``seed=None`` too. The default independent sampler starts again
  from its seed: only parameters in the space are replayed exactly.
* **Threads.** One sampler serves ``study.optimize(n_jobs=k)``: asking, telling and
  its own records take a lock, so no trial is lost or proposed twice.
* Multi-objective studies are refused.
"""

from __future__ import annotations

import inspect
import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

from .search import AllTrialsFailedError, CoarseToFine
from .search.settings import check_settings
from .space import Space

if TYPE_CHECKING:
    from optuna.study import Study

__all__ = ["CoarseToFineSampler"]

#: Keys of the sampler's records in Optuna's ``system_attrs``.
ASK_KEY = "hyperzoom:ask"
TELL_KEY = "hyperzoom:tell"
SEED_KEY = "hyperzoom:seed"
SPACE_KEY = "hyperzoom:space"
SPACE_REPR_KEY = "hyperzoom:space-repr"
CUT_KEY = "hyperzoom:cut:"  # + trial number: a trial cut off by a crash, told failed
_OWN_SETTINGS = ("asynchronous", "rng", "minimize")
_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


class CoarseToFineSampler(BaseSampler):
    """An Optuna sampler that proposes trials coarse to fine (:class:`~hyperzoom.CoarseToFine`).

    Parameters
    ----------
    space : Space, optional
        The search space. None: read it from the study's completed trials (their
        intersection search space) once ``n_startup_trials`` are complete.
    seed : int, optional
        Seeds the coarse-to-fine search and the default independent sampler. None:
        a seed is drawn, and stored in the study so that it resumes the same way.
    independent_sampler : optuna.samplers.BaseSampler, optional
        Draws what the space does not hold (default ``RandomSampler(seed % 2**32)``).
    n_startup_trials : int, default 10
        With ``space=None``: complete trials before the space is read.
    **settings
        :class:`~hyperzoom.CoarseToFine`'s settings (``budget``, ``round_size``,
        ``first_round``, ``keep``, ``min_width``, ``retest``, ``design``, ...). The
        sampler always runs it asynchronously, seeded by ``seed``, in the study's
        direction.

    Examples
    --------
    >>> import math
    >>> import optuna
    >>> import hyperzoom as hz
    >>> from hyperzoom.optuna import CoarseToFineSampler
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), layers=hz.IntUniform(1, 6))
    >>> def objective(trial):
    ...     lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    ...     layers = trial.suggest_int("layers", 1, 6)
    ...     return (math.log10(lr) + 2.5) ** 2 + 0.1 * (layers - 3) ** 2
    >>> study = optuna.create_study(sampler=CoarseToFineSampler(space, seed=20241128))
    >>> study.optimize(objective, n_trials=100)
    >>> study.best_value < 0.01
    True
    """

    def __init__(
        self,
        space: Space | None = None,
        *,
        seed: int | None = None,
        independent_sampler: BaseSampler | None = None,
        n_startup_trials: int = 10,
        **settings: Any,
    ) -> None:
        if space is not None and not isinstance(space, Space):
            msg = f"`space` must be a hyperzoom Space or None, but got {type(space).__name__}."
            raise TypeError(msg)
        if seed is not None and (
            isinstance(seed, bool)
            or not isinstance(seed, (int, np.integer))
            or seed < 0
        ):
            msg = f"`seed` must be an integer >= 0 or None, but got {seed!r}."
            raise TypeError(msg)
        if independent_sampler is not None and not isinstance(
            independent_sampler, BaseSampler
        ):
            msg = (
                "`independent_sampler` must be an Optuna sampler, but got "
                f"{type(independent_sampler).__name__}."
            )
            raise TypeError(msg)
        if type(n_startup_trials) is not int or n_startup_trials < 1:
            msg = f"`n_startup_trials` must be an integer >= 1, but got {n_startup_trials!r}."
            raise ValueError(msg)
        own = [k for k in _OWN_SETTINGS if k in settings]
        if own:
            msg = (
                f"`{own[0]}` is set by the sampler (asynchronous, seeded by `seed`, in "
                "the study's direction); leave it out."
            )
            raise TypeError(msg)
        allowed = set(inspect.signature(CoarseToFine).parameters) - {"space", *own}
        allowed -= set(_OWN_SETTINGS)
        unknown = sorted(set(settings) - allowed)
        if unknown:
            msg = (
                f"`{unknown[0]}` is not a setting of hz.CoarseToFine; the settings are "
                f"{sorted(allowed)}."
            )
            raise TypeError(msg)
        check_settings(**{k: v for k, v in settings.items() if k != "workers"})
        self._space = space
        self._relative: dict[str, BaseDistribution] = (
            {} if space is None else space.to_optuna(inv_log="linear")
        )
        self._seed = None if seed is None else int(seed)
        self._independent = independent_sampler or RandomSampler(
            seed=None if seed is None else int(seed) % 2**32  # its seeds are 32-bit
        )
        self._n_startup = n_startup_trials
        self._intersection = IntersectionSearchSpace()
        self._settings = settings
        self._lock = threading.RLock()
        self._study: tuple[str, int] | None = None  # (name, id) of the study served
        self._opt: CoarseToFine | None = None
        self._proposed: dict[int, tuple[int, dict[str, Any]]] = {}  # number: id, params
        self._told = 0  # values told, in order (stored with each, for the replay)

    # -- what Optuna calls ---------------------------------------------------------------
    def reseed_rng(self) -> None:
        """Reseed the independent sampler (the coarse-to-fine search is shared)."""
        self._independent.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Pass the call on to the independent sampler."""
        self._independent.before_trial(study, trial)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """Return the parameters this sampler proposes (the space, as Optuna's)."""
        with self._lock:
            self._attach(study)
            if self._opt is None:
                self._infer(study)
            return dict(self._relative) if self._opt is not None else {}

    def sample_relative(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        """Ask the coarse-to-fine search for this trial's configuration."""
        if not search_space:
            return {}
        with self._lock:
            opt = self._opt
            if opt is None:
                return {}
            known = self._proposed.get(trial.number)
            if known is not None:
                return dict(known[1])
            told_before = opt.n_told
            c = opt.ask(1)
            if len(c) == 0:  # the budget is spent
                return {}
            hz_id = _first_id(c.ids)
            params = self._as_params(c[0], search_space)
            unit = _unit_record(c.unit)
            self._proposed[trial.number] = (hz_id, params)
        record: Any = {"id": hz_id, "told_before": told_before, "unit": unit}
        study._storage.set_trial_system_attr(trial._trial_id, ASK_KEY, record)
        return dict(params)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """Draw a parameter outside the space with the independent sampler."""
        return self._independent.sample_independent(
            study, trial, param_name, param_distribution
        )

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Tell the coarse-to-fine search the trial's value (see the module's rules)."""
        self._independent.after_trial(study, trial, state, values)
        with self._lock:
            known = self._proposed.pop(trial.number, None)
            if known is None or self._opt is None:
                return
            hz_id, params = known
            value = _value_of(trial, state, values, params)
            seq = self._told
            self._tell(hz_id, value)
        record: Any = {"seq": seq, "value": None if math.isnan(value) else value}
        study._storage.set_trial_system_attr(trial._trial_id, TELL_KEY, record)

    # -- internals -----------------------------------------------------------------------
    def _tell(self, hz_id: int, value: float) -> None:
        assert self._opt is not None
        self._told += 1
        try:
            self._opt.tell([hz_id], [value])
        except AllTrialsFailedError:
            pass  # a report, not a stop: the search goes on (failures are recorded)

    def _as_params(
        self, config: dict[str, Any], search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, value in config.items():
            dist = search_space.get(name)
            if dist is None:
                continue
            if isinstance(dist, FloatDistribution):
                value = min(max(float(value), dist.low), dist.high)
            elif isinstance(dist, IntDistribution):
                value = int(value)
            params[name] = value
        return params

    def _attach(self, study: Study) -> None:
        """On first sight of a study: check it, and rebuild the state it stores."""
        key = (study.study_name, study._study_id)
        if self._study is not None:
            if key != self._study:
                msg = (
                    f"this CoarseToFineSampler serves study {self._study[0]!r}; create "
                    f"another for study {key[0]!r}."
                )
                raise ValueError(msg)
            return
        if len(study.directions) > 1:
            msg = (
                "CoarseToFineSampler optimises one objective, but the study has "
                f"{len(study.directions)} directions (multi-objective)."
            )
            raise ValueError(msg)
        storage, sid = study._storage, study._study_id
        attrs = storage.get_study_system_attrs(sid)
        stored_seed = attrs.get(SEED_KEY)
        if self._seed is None:
            if stored_seed is None:
                stored_seed = int(np.random.SeedSequence().generate_state(1)[0])
                storage.set_study_system_attr(sid, SEED_KEY, stored_seed)
            self._seed = int(stored_seed)
        elif stored_seed is None:
            storage.set_study_system_attr(sid, SEED_KEY, self._seed)
        elif int(stored_seed) != self._seed:
            msg = (
                f"study {study.study_name!r} was sampled with seed={stored_seed}, but "
                f"this sampler has seed={self._seed}: pass seed={stored_seed} (or "
                "None) to resume it."
            )
            raise ValueError(msg)
        stored_space = attrs.get(SPACE_REPR_KEY)
        if self._space is not None and stored_space not in (None, repr(self._space)):
            msg = (
                f"study {study.study_name!r} was sampled over {stored_space}, but this "
                f"sampler has {self._space!r}: resume it with the same space."
            )
            raise ValueError(msg)
        if self._space is None and stored_space is not None and SPACE_KEY not in attrs:
            msg = (
                f"study {study.study_name!r} was sampled over {stored_space}: pass that "
                "space to resume it (it was given, not read from the trials)."
            )
            raise ValueError(msg)
        self._study = key
        if self._space is None and SPACE_KEY in attrs:
            stored = {k: json_to_distribution(v) for k, v in attrs[SPACE_KEY].items()}
            self._start(study, _space_of(stored), stored)
        elif self._space is not None:
            self._start(study, self._space, self._relative)
        if self._opt is not None:
            self._replay(study)

    def _infer(self, study: Study) -> None:
        """``space=None``: read the space once enough trials are complete."""
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(trials) < self._n_startup:
            return
        found = self._intersection.calculate(study)
        usable = {k: d for k, d in found.items() if _convertible(k, d)}
        if not usable:
            return
        study._storage.set_study_system_attr(
            study._study_id,
            SPACE_KEY,
            {k: distribution_to_json(d) for k, d in usable.items()},
        )
        self._start(study, _space_of(usable), usable)

    def _start(
        self, study: Study, space: Space, relative: dict[str, BaseDistribution]
    ) -> None:
        sid = study._study_id
        if SPACE_REPR_KEY not in study._storage.get_study_system_attrs(sid):
            study._storage.set_study_system_attr(sid, SPACE_REPR_KEY, repr(space))
        self._space = space
        self._relative = dict(relative)
        self._opt = CoarseToFine(
            space,
            rng=self._seed,
            minimize=study.direction == optuna.study.StudyDirection.MINIMIZE,
            asynchronous=True,
            **self._settings,
        )

    def _replay(self, study: Study) -> None:
        """Rebuild the search from the trials it proposed, in the order it saw them."""
        opt = self._opt
        assert opt is not None
        trials = [
            t for t in study.get_trials(deepcopy=False) if ASK_KEY in t.system_attrs
        ]
        if not trials:
            return
        asks = sorted(trials, key=lambda t: int(t.system_attrs[ASK_KEY]["id"]))
        ids = [int(t.system_attrs[ASK_KEY]["id"]) for t in asks]
        if ids != list(range(len(ids))):
            msg = (
                f"study {study.study_name!r} holds proposals with hyperzoom ids {ids[:5]}"
                "...: not one search's (0, 1, 2, ...). Were two samplers run on it?"
            )
            raise ValueError(msg)
        told = sorted(
            (t for t in asks if TELL_KEY in t.system_attrs),
            key=lambda t: int(t.system_attrs[TELL_KEY]["seq"]),
        )
        attrs = study._storage.get_study_system_attrs(study._study_id)
        cut = {
            int(k[len(CUT_KEY) :]): int(v)
            for k, v in attrs.items()
            if k.startswith(CUT_KEY)
        }
        events = [(int(t.system_attrs[TELL_KEY]["seq"]), t) for t in told]
        events += [(seq, t) for t in asks if (seq := cut.get(t.number)) is not None]
        events.sort(key=lambda e: e[0])
        configs: dict[int, dict[str, Any]] = {}
        at = 0
        for _, t in events:
            hz_id = int(t.system_attrs[ASK_KEY]["id"])
            while at < len(asks) and (
                int(asks[at].system_attrs[ASK_KEY]["told_before"]) <= opt.n_told
                or at <= hz_id
            ):
                configs[at] = self._replay_ask(study, asks[at])
                at += 1
            record = t.system_attrs.get(TELL_KEY)
            value = (
                math.nan
                if record is None or record["value"] is None
                else float(record["value"])
            )
            self._tell(hz_id, value)
        while at < len(asks):
            configs[at] = self._replay_ask(study, asks[at])
            at += 1
        # Proposals the stored trials never reported back: finished without a record
        # (a crash between the two), or still running (cut off). Told now, in order.
        done = {int(t.system_attrs[ASK_KEY]["id"]) for _, t in events}
        for t in asks:
            hz_id = int(t.system_attrs[ASK_KEY]["id"])
            if hz_id in done:
                continue
            params = self._as_params(configs[hz_id], self._relative)
            if t.state in _FINISHED:
                value = _value_of(t, t.state, t.values, params)
            else:
                value = math.nan
                study._storage.set_study_system_attr(
                    study._study_id, f"{CUT_KEY}{t.number}", self._told
                )
            self._tell(hz_id, value)

    def _replay_ask(self, study: Study, t: FrozenTrial) -> dict[str, Any]:
        opt = self._opt
        assert opt is not None
        record = t.system_attrs[ASK_KEY]
        c = opt.ask(1)
        unit = _unit_record(c.unit) if len(c) else None
        if (
            len(c) == 0
            or _first_id(c.ids) != int(record["id"])
            or unit != record["unit"]
        ):
            msg = (
                f"resuming study {study.study_name!r}: trial {t.number} was proposed as "
                f"{record['unit']} (unit coordinates), but this sampler now proposes "
                f"{unit}. Resume with the seed, space and settings the study was run "
                "with."
            )
            raise ValueError(msg)
        return dict(c[0])


def _first_id(ids: np.ndarray | None) -> int:
    assert ids is not None
    return int(ids[0])


def _unit_record(unit: np.ndarray | None) -> list[float | None]:
    """One proposal's unit coordinates as JSON (None where a parameter is inactive)."""
    assert unit is not None
    return [None if math.isnan(u) else float(u) for u in unit[0]]


def _value_of(
    trial: FrozenTrial,
    state: TrialState,
    values: Sequence[float] | None,
    params: dict[str, Any],
) -> float:
    """Return the value to tell: see the module's rules (NaN marks a failure)."""
    for name, value in params.items():
        if name in trial.params and trial.params[name] != value:
            return math.nan  # another point was evaluated
    if state == TrialState.COMPLETE and values:
        return float(values[0])
    if state == TrialState.PRUNED and trial.intermediate_values:
        return float(trial.intermediate_values[max(trial.intermediate_values)])
    return math.nan


def _convertible(name: str, dist: BaseDistribution) -> bool:
    if dist.single():
        return False
    try:
        Space.from_optuna({name: dist})
    except ValueError:
        return False
    return isinstance(
        dist, (FloatDistribution, IntDistribution, CategoricalDistribution)
    )


def _space_of(distributions: dict[str, BaseDistribution]) -> Space:
    return Space.from_optuna(distributions)
