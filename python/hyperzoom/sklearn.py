"""scikit-learn search estimators that choose their candidates coarse to fine.

:class:`CoarseToFineSearchCV` is a drop-in for ``RandomizedSearchCV``: the same
constructor, the same ``cv_results_``, ``best_*`` attributes, refit, multi-metric scoring,
``n_jobs`` and ``error_score``, but its ``n_iter`` candidates come from
:class:`hyperzoom.CoarseToFine` (maximising the mean cross-validated score), one round at
a time: a coarse Latin hypercube over the whole space, then rounds in a region that
zooms in on the best candidates. :class:`HalvingCoarseToFineSearchCV` runs successive
halving (as ``HalvingRandomSearchCV``) over each round of coarse to fine.

This module imports scikit-learn (``pip install hyperzoom[sklearn]``); ``import
hyperzoom`` never does.

``param_distributions`` may be

* a :class:`hyperzoom.Space` (conditions allowed), whose names are the estimator's
  parameter names (``step__param`` for pipeline steps);
* a dict of names to hyperzoom distributions; a list of values stands for a
  :class:`hyperzoom.Choice` of them, and a list of one value fixes that parameter
  (``{"model": [Ridge()], "model__alpha": hz.LogUniform(1e-3, 1e3)}``);
* a list of such dicts or Spaces: alternatives, as scikit-learn's list of dicts. They
  become :meth:`hyperzoom.Space.branches` (one region per alternative); the choice of
  alternative is not an estimator parameter and is never passed to the estimator, and
  the fixed values of the chosen alternative are. A name that two dict alternatives
  give different distributions is searched as one parameter per alternative.

Every name is checked against ``estimator.get_params(deep=True)`` (with each
alternative's fixed values set, and the parameters of every estimator in a choice)
before any fit: an unknown name is a ``ValueError`` naming it, a value that is neither a
hyperzoom distribution nor a list is a ``TypeError`` naming it.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from math import ceil, floor, log
from typing import Any, ClassVar

import numpy as np

try:
    from sklearn.base import clone
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.model_selection._search_successive_halving import (
        BaseSuccessiveHalving,
        _SubsampleMetaSplitter,
    )
    from sklearn.utils._param_validation import Interval
except ImportError as exc:  # pragma: no cover - only without scikit-learn
    msg = (
        "hyperzoom.sklearn needs scikit-learn: pip install hyperzoom[sklearn] "
        f"(or pip install scikit-learn). Original error: {exc}"
    )
    raise ImportError(msg) from exc

from .search import AllTrialsFailedError, CoarseToFine
from .space import Choice, Distribution, Space

__all__ = [
    "CoarseToFineSearchCV",
    "HalvingCoarseToFineSearchCV",
    "SearchPlan",
    "rank_preserving",
]


class SearchPlan:
    """How a ``param_distributions`` becomes a Space, and a configuration parameters.

    Built by :meth:`from_distributions`; the search estimators keep theirs as
    ``plan_`` after ``fit``.

    Attributes
    ----------
    space : Space
        The space coarse to fine searches.
    branch : str or None
        The name of the choice between alternatives (never passed to the estimator),
        or None without alternatives.
    fixed : dict
        The fixed parameters of each alternative (key None without alternatives).
    names : dict
        Space names that differ from the estimator's parameter names (a name two
        alternatives give different distributions is ``"name[alternative]"``).

    Examples
    --------
    >>> import hyperzoom as hz
    >>> from sklearn.linear_model import Ridge
    >>> plan = SearchPlan.from_distributions({"alpha": hz.LogUniform(1e-3, 1e3)}, Ridge())
    >>> plan.space.names
    ('alpha',)
    >>> plan.params({"alpha": np.float64(0.5)})
    {'alpha': 0.5}
    """

    def __init__(
        self,
        space: Space,
        branch: str | None,
        fixed: dict[str | None, dict[str, Any]],
        names: dict[str, str],
    ) -> None:
        self.space = space
        self.branch = branch
        self.fixed = fixed
        self.names = names

    def params(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Return the estimator parameters of one configuration (its active values).

        The alternative's fixed values come first, then the searched ones as plain
        Python values (NumPy scalars converted).
        """
        label = config[self.branch] if self.branch is not None else None
        out = dict(self.fixed.get(label, {}))
        for name, value in config.items():
            if name != self.branch:
                out[self.names.get(name, name)] = _plain(value)
        return out

    @classmethod
    def from_distributions(
        cls, param_distributions: Any, estimator: Any, *, branch: str = "alternative"
    ) -> SearchPlan:
        """Build the plan of ``param_distributions`` and check it against ``estimator``.

        Raises
        ------
        TypeError
            For a value that is neither a hyperzoom distribution nor a list.
        ValueError
            For a name that is not a parameter of ``estimator``, an empty list, or
            nothing to search.
        """
        pd = param_distributions
        single = isinstance(pd, (Space, Mapping))
        if single:
            alternatives = [pd]
        elif isinstance(pd, Sequence) and not isinstance(pd, (str, bytes)):
            alternatives = list(pd)
            if not alternatives:
                msg = "`param_distributions` must hold at least one dict, but got []."
                raise ValueError(msg)
        else:
            msg = (
                "`param_distributions` must be a hyperzoom Space, a dict of names to "
                f"hyperzoom distributions, or a list of those, but got {pd!r}."
            )
            raise TypeError(msg)

        parts: list[tuple[dict[str, Distribution] | Space, dict[str, Any], str]] = []
        for i, alt in enumerate(alternatives):
            where = "`param_distributions`" if single else f"`param_distributions[{i}]`"
            if isinstance(alt, Space):
                parts.append((alt, {}, where))
            elif isinstance(alt, Mapping):
                params, fixed = _split(alt, where)
                parts.append((params, fixed, where))
            else:
                msg = (
                    f"{where} must be a hyperzoom Space or a dict of names to "
                    f"distributions, but got {alt!r}."
                )
                raise TypeError(msg)
        for searched, values, where in parts:
            _check_names(
                estimator,
                searched,
                values,
                where,
                strict=not isinstance(searched, Space),
            )

        if len(parts) == 1:
            only, values, where = parts[0]
            space = only if isinstance(only, Space) else Space(only)
            if space.d == 0:
                msg = (
                    f"{where} has nothing to search: give at least one hyperzoom "
                    "distribution or a list of two or more values."
                )
                raise ValueError(msg)
            return cls(space, None, {None: values}, {})

        labels = _labels([fixed for _, fixed, _ in parts])
        names: dict[str, str] = {}
        renamed = _conflicts(parts)
        subs: dict[str, Space] = {}
        for label, (searched, _, _) in zip(labels, parts):
            if isinstance(searched, Space):
                subs[label] = searched
                continue
            mine = {}
            for name, dist in searched.items():
                if name in renamed:
                    mine[f"{name}[{label}]"] = dist
                    names[f"{name}[{label}]"] = name
                else:
                    mine[name] = dist
            subs[label] = Space(mine)
        taken = {n for s in subs.values() for n in s.names}
        while branch in taken:
            branch += "_"
        space = Space.branches(subs, name=branch)
        fixed_of: dict[str | None, dict[str, Any]] = {
            label: values for label, (_, values, _) in zip(labels, parts)
        }
        return cls(space, branch, fixed_of, names)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _split(
    alt: Mapping[Any, Any], where: str
) -> tuple[dict[str, Distribution], dict[str, Any]]:
    """Split a dict into searched distributions and fixed values (lists of one)."""
    params: dict[str, Distribution] = {}
    fixed: dict[str, Any] = {}
    for name, value in alt.items():
        if not isinstance(name, str) or not name:
            msg = (
                f"{where}: parameter names must be non-empty strings, but got {name!r}."
            )
            raise TypeError(msg)
        if isinstance(value, Distribution):
            params[name] = value
        elif isinstance(value, (list, tuple, np.ndarray)):
            options = list(value)
            if not options:
                msg = f"{where}: parameter {name!r} has an empty list of values."
                raise ValueError(msg)
            if len(options) == 1:
                fixed[name] = options[0]
            else:
                try:
                    params[name] = Choice(options)
                except (TypeError, ValueError) as exc:
                    msg = f"{where}: parameter {name!r}: {exc}"
                    raise type(exc)(msg) from exc
        else:
            msg = (
                f"{where}: parameter {name!r} must be a hyperzoom distribution (such as "
                "hz.LogUniform(1e-3, 1e3) or hz.IntUniform(1, 10)) or a list of values, "
                f"but got {value!r}."
            )
            raise TypeError(msg)
    return params, fixed


def _check_names(
    estimator: Any,
    params: Mapping[str, Distribution] | Space,
    fixed: dict[str, Any],
    where: str,
    *,
    strict: bool,
) -> None:
    """Refuse names that are not parameters of the estimator (before any fit).

    The estimator is checked with the alternative's fixed values set (a pipeline step
    replaced by another estimator), and ``step__name`` under a choice of estimators
    must name a parameter of every one of them (``strict``, a dict: all its parameters
    are set together) or of at least one (a Space, whose conditions may pair them).
    """
    base = clone(estimator)
    try:
        base.set_params(**fixed)
    except ValueError as exc:
        msg = f"{where}: a fixed value is not a parameter of the estimator: {exc}"
        raise ValueError(msg) from exc
    keys = set(base.get_params(deep=True))
    choices = {
        name: [o for o in dist.options if hasattr(o, "get_params")]
        for name, dist in params.items()
        if isinstance(dist, Choice)
        and any(hasattr(o, "get_params") for o in dist.options)
    }
    for name in list(params):
        parent = next((p for p in choices if name.startswith(p + "__")), None)
        if parent is not None:
            rest = name[len(parent) + 2 :]
            found = [rest in o.get_params(deep=True) for o in choices[parent]]
            if all(found) if strict else any(found):
                continue
            kinds = sorted({type(o).__name__ for o in choices[parent]})
            msg = (
                f"{where}: {name!r} is not a parameter of "
                f"{'every' if strict else 'any'} estimator that {parent!r} may be "
                f"({', '.join(kinds)})."
            )
            raise ValueError(msg)
        if name not in keys:
            shown = sorted(keys)
            listed = ", ".join(shown[:30]) + (", ..." if len(shown) > 30 else "")
            hint = (
                " To search alternatives, pass a list of dicts (or Spaces) instead of a "
                "choice named in the Space."
                if isinstance(params, Space) and params.conditional
                else ""
            )
            msg = (
                f"{where}: {name!r} is not a parameter of the estimator "
                f"{type(base).__name__} (get_params(deep=True) has: {listed}).{hint}"
            )
            raise ValueError(msg)


def _labels(fixed: list[dict[str, Any]]) -> list[str]:
    """Name alternatives by their fixed estimators' classes when that is unambiguous."""
    labels = []
    for i, values in enumerate(fixed):
        kinds = [type(v).__name__ for v in values.values() if hasattr(v, "get_params")]
        labels.append("+".join(kinds) if kinds else str(i))
    if len(set(labels)) < len(labels):
        labels = [str(i) for i in range(len(fixed))]
    return labels


def _conflicts(parts: list[tuple[Any, dict[str, Any], str]]) -> set[str]:
    """Names that dict alternatives give different distributions (searched apart)."""
    seen: dict[str, Distribution] = {}
    out: set[str] = set()
    for params, _, _ in parts:
        if isinstance(params, Space):
            continue
        for name, dist in params.items():
            if name in seen and seen[name] != dist:
                out.add(name)
            seen.setdefault(name, dist)
    return out


def _seed(random_state: Any) -> int | None:
    """Return an int seed from scikit-learn's ``random_state`` (a RandomState: one draw)."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(
        random_state, bool
    ):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    msg = (
        "`random_state` must be None, an int or a numpy.random.RandomState, but got "
        f"{random_state!r}."
    )
    raise ValueError(msg)


def _steering_key(scoring: Any, refit: Any) -> str | None:
    """Return the column coarse to fine maximises (None: known from the first results)."""
    if scoring is None or isinstance(scoring, str):
        return "mean_test_score"
    if callable(scoring):
        return None  # a callable may return one score or a dict of them
    if isinstance(refit, str):
        return f"mean_test_{refit}"
    msg = (
        "with multi-metric scoring, `refit` must name the metric that coarse to fine "
        f"maximises (one of the scoring names), but got refit={refit!r}."
    )
    raise ValueError(msg)


def _scores(
    results: Mapping[str, Any], key: str | None, refit: Any, n: int
) -> np.ndarray:
    if key is None:
        key = "mean_test_score"
        if key not in results:
            if not (isinstance(refit, str) and f"mean_test_{refit}" in results):
                msg = (
                    "the scoring callable returns several metrics: `refit` must name the "
                    f"one coarse to fine maximises, but got refit={refit!r}."
                )
                raise ValueError(msg)
            key = f"mean_test_{refit}"
    return np.asarray(results[key][-n:], dtype=np.float64) if n else np.empty(0)


def _tell(opt: CoarseToFine, configs: Any, values: np.ndarray) -> None:
    try:
        opt.tell(configs, values)
    except AllTrialsFailedError:
        pass  # every candidate of the round failed: the optimiser goes on


def _optimizer(search: Any, plan: SearchPlan, seed: int | None) -> CoarseToFine:
    return CoarseToFine(
        plan.space,
        budget=search.n_iter,
        round_size=search.round_size,
        first_round=search.first_round,
        minimize=False,
        rng=seed,
    )


_COARSE_TO_FINE_CONSTRAINTS: dict[str, list[Any]] = {
    "param_distributions": [dict, list, Space],
    "n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "round_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "first_round": [Interval(numbers.Integral, 1, None, closed="left"), None],
}


class CoarseToFineSearchCV(BaseSearchCV):  # type: ignore[misc]
    """Cross-validated search whose candidates come coarse to fine.

    A drop-in for scikit-learn's ``RandomizedSearchCV``: ``n_iter`` candidates are
    cross-validated, but instead of independent random draws they come from
    :class:`hyperzoom.CoarseToFine` maximising the mean test score (of the ``refit``
    metric with multi-metric scoring), one round at a time: a Latin hypercube over the
    whole space (``first_round`` candidates, default ``max(10, 2d + 4)``), then rounds
    of ``round_size`` inside a region that zooms in on the best. Each round is one
    ``evaluate_candidates`` call, so the fits of a round run in parallel (``n_jobs``)
    and rounds run one after another. With ``n_iter`` at most ``first_round``, the
    search is one Latin hypercube.

    A failed fit scores ``error_score``; NaN (the default) is a failed candidate that
    steers nothing. As in scikit-learn, a call in which every fit fails raises
    ``ValueError``: here a call is one round. Randomised CV splitters should have an
    int ``random_state``, so every round sees the same folds.

    Parameters
    ----------
    estimator : estimator object
        The estimator (or pipeline) to tune.
    param_distributions : Space, dict or list of dicts
        What to search (see :mod:`hyperzoom.sklearn`): hyperzoom distributions by
        parameter name; lists of values are choices, lists of one value fix it; a list
        of dicts gives alternatives.
    n_iter : int, default=10
        The number of candidates (the budget of coarse to fine).
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score
        As in ``RandomizedSearchCV``.
    random_state : int, RandomState instance or None, default=None
        The seed of coarse to fine: an int gives the candidates of
        ``hz.CoarseToFine(space, rng=random_state)``; a RandomState gives one seed
        drawn from it at each ``fit``.
    round_size, first_round : int or None, default=None
        The sizes of zoomed rounds and of the first (coarse) round
        (``hz.CoarseToFine``'s defaults when None).

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, scorer_, \
n_splits_, refit_time_, multimetric_
        As in ``RandomizedSearchCV``.
    plan_ : SearchPlan
        The space searched and how its configurations became parameters.
    search_result_ : hyperzoom.SearchResult
        The coarse-to-fine record: every candidate, the score it was told (NaN for a
        failure) and the region of every round.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from hyperzoom.sklearn import CoarseToFineSearchCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> search = CoarseToFineSearchCV(
    ...     Ridge(), {"alpha": hz.LogUniform(1e-4, 1e2)}, n_iter=16, cv=3, random_state=7
    ... ).fit(X, y)
    >>> len(search.cv_results_["params"]), search.best_params_["alpha"] < 1
    (16, True)
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseSearchCV._parameter_constraints,
        **_COARSE_TO_FINE_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        n_iter: int = 10,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        round_size: int | None = None,
        first_round: int | None = None,
    ) -> None:
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.random_state = random_state
        self.round_size = round_size
        self.first_round = first_round
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )

    def _run_search(self, evaluate_candidates: Any) -> None:
        """Ask a round of coarse to fine, cross-validate it, tell its scores; repeat."""
        plan = SearchPlan.from_distributions(self.param_distributions, self.estimator)
        key = _steering_key(self.scoring, self.refit)
        opt = _optimizer(self, plan, _seed(self.random_state))
        rounds = 0
        while not opt.done:
            configs = opt.ask()
            n = len(configs)
            if n == 0:  # pragma: no cover - a told round always has a next one
                break
            if self.verbose > 0:
                print(f"coarse to fine, round {rounds}: {n} candidates")
            candidates = [plan.params(configs[i]) for i in range(n)]
            results = evaluate_candidates(candidates)
            _tell(opt, configs, _scores(results, key, self.refit, n))
            rounds += 1
        self.plan_ = plan
        self.search_result_ = opt.result()


class HalvingCoarseToFineSearchCV(BaseSuccessiveHalving):  # type: ignore[misc]
    """Successive halving over the rounds of coarse to fine.

    ``HalvingRandomSearchCV`` with coarse to fine choosing the candidates. The search
    is a sequence of *brackets*, one per round of :class:`hyperzoom.CoarseToFine`
    (``first_round`` candidates, then ``round_size``), until ``n_iter`` candidates in
    all have been started. Each bracket is successive halving exactly as scikit-learn
    runs it (the same resource schedule, computed for the bracket's number of
    candidates, the same ``factor``, elimination of all but the best
    ``ceil(n / factor)``, subsampling of ``n_samples``). Then coarse to fine is told
    one score per candidate: its mean test score at the largest resource it reached,
    shifted down (by the smallest amount, keeping the order within an iteration) so
    that every candidate eliminated earlier ranks below every candidate that went
    further; the region of the next round zooms in on the survivors. ``search_result_``
    holds these told values.

    ``cv_results_`` has ``HalvingRandomSearchCV``'s keys, ``iter`` counting iterations
    over all brackets (``n_resources_[iter]`` is the row's resource), plus ``bracket``.
    ``best_index_`` is the best candidate among the last iteration of every bracket
    (``HalvingRandomSearchCV``: of its one last iteration). ``min_resources="exhaust"``
    (the default here) ends every bracket at about ``max_resources``, so the brackets'
    finalists are compared on the same resource.

    Parameters
    ----------
    estimator, param_distributions, random_state, round_size, first_round
        As in :class:`CoarseToFineSearchCV`.
    n_iter : int, default=30
        Candidates in all brackets (the budget of coarse to fine, not of fits).
    factor, resource, max_resources, min_resources, aggressive_elimination, cv, \
scoring, refit, error_score, return_train_score, n_jobs, verbose
        As in ``HalvingRandomSearchCV`` (``min_resources="exhaust"`` and
        ``aggressive_elimination`` apply to each bracket).

    Attributes
    ----------
    n_resources_, n_candidates_ : list of int
        The resource and the number of candidates of every iteration, bracket after
        bracket.
    n_iterations_ : int
        Iterations over all brackets.
    n_brackets_ : int
        The number of brackets (rounds of coarse to fine).
    n_required_iterations_, n_possible_iterations_ : list of int
        scikit-learn's counts, per bracket.
    n_remaining_candidates_ : int
        Candidates left after the last iteration of every bracket, in all.
    min_resources_, max_resources_
        The smallest resource any iteration used, and the largest allowed.
    plan_, search_result_
        As in :class:`CoarseToFineSearchCV`.
    """

    min_resources_: int

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseSuccessiveHalving._parameter_constraints,
        **_COARSE_TO_FINE_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        n_iter: int = 30,
        factor: float = 3,
        resource: str = "n_samples",
        max_resources: Any = "auto",
        min_resources: Any = "exhaust",
        aggressive_elimination: bool = False,
        cv: Any = 5,
        scoring: Any = None,
        refit: Any = True,
        error_score: Any = np.nan,
        return_train_score: bool = True,
        random_state: Any = None,
        n_jobs: int | None = None,
        verbose: int = 0,
        round_size: int | None = None,
        first_round: int | None = None,
    ) -> None:
        super().__init__(
            estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            verbose=verbose,
            cv=cv,
            random_state=random_state,
            error_score=error_score,
            return_train_score=return_train_score,
            max_resources=max_resources,
            resource=resource,
            factor=factor,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination,
        )
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.round_size = round_size
        self.first_round = first_round

    def _generate_candidate_params(self) -> list[dict[str, Any]]:
        """Ask coarse to fine for the next bracket's candidates (used by ``fit``)."""
        configs = self._opt.ask()
        self._configs = configs
        return [self.plan_.params(configs[i]) for i in range(len(configs))]

    def _schedule(self, n: int) -> tuple[list[int], int, int]:
        """Return the resources of a bracket of ``n`` candidates (scikit-learn's rule)."""
        factor = self.factor
        n_required = 1 + floor(log(n, factor))
        min_resources = self._base_min_resources
        if self.min_resources == "exhaust":
            min_resources = max(
                min_resources, self.max_resources_ // factor ** (n_required - 1)
            )
        n_possible = 1 + floor(log(self.max_resources_ // min_resources, factor))
        if self.aggressive_elimination:
            n_iterations = n_required
        else:
            n_iterations = min(n_possible, n_required)
        out = []
        for itr in range(n_iterations):
            power = itr
            if self.aggressive_elimination:
                power = max(0, itr - n_required + n_possible)
            out.append(min(int(factor**power * min_resources), self.max_resources_))
        return out, n_required, n_possible

    def _run_search(self, evaluate_candidates: Any) -> None:
        """Run brackets of successive halving over rounds of coarse to fine."""
        self.plan_ = SearchPlan.from_distributions(
            self.param_distributions, self.estimator
        )
        seed = _seed(self.random_state)
        self._opt = _optimizer(self, self.plan_, seed)
        self._base_min_resources: int = self.min_resources_
        self.n_resources_: list[int] = []
        self.n_candidates_: list[int] = []
        self.n_required_iterations_: list[int] = []
        self.n_possible_iterations_: list[int] = []
        remaining = 0
        itr = 0
        bracket = 0
        try:
            while not self._opt.done:
                candidates = self._generate_candidate_params()
                n = len(candidates)
                if n == 0:  # pragma: no cover - a told round always has a next one
                    break
                if self.resource != "n_samples" and any(
                    self.resource in c for c in candidates
                ):
                    msg = (
                        f"Cannot use parameter {self.resource} as the resource since "
                        "it is part of the searched parameters."
                    )
                    raise ValueError(msg)
                resources, n_required, n_possible = self._schedule(n)
                self.n_required_iterations_.append(n_required)
                self.n_possible_iterations_.append(n_possible)
                level = np.zeros(n, dtype=np.int64)
                score = np.full(n, np.nan)
                alive = np.arange(n)
                for k, n_resources in enumerate(resources):
                    m = alive.size
                    self.n_resources_.append(n_resources)
                    self.n_candidates_.append(m)
                    if self.verbose:
                        print("-" * 10)
                        print(f"bracket: {bracket}, iter: {itr}")
                        print(f"n_candidates: {m}")
                        print(f"n_resources: {n_resources}")
                    params = [candidates[j] for j in alive]
                    if self.resource == "n_samples":
                        cv = _SubsampleMetaSplitter(
                            base_cv=self._checked_cv_orig,
                            fraction=n_resources / self._n_samples_orig,
                            subsample_test=True,
                            random_state=seed,
                        )
                    else:
                        params = [{**p, self.resource: n_resources} for p in params]
                        cv = self._checked_cv_orig
                    more = {
                        "iter": [itr] * m,
                        "n_resources": [n_resources] * m,
                        "bracket": [bracket] * m,
                    }
                    results = evaluate_candidates(params, cv, more_results=more)
                    s = _scores(results, "mean_test_score", self.refit, m)
                    level[alive] = k
                    score[alive] = s
                    keep = ceil(m / self.factor)
                    # scikit-learn's _top_k: NaN first, then ascending; keep the last.
                    order = np.roll(np.argsort(s), np.count_nonzero(np.isnan(s)))
                    alive = alive[order[-keep:]]
                    itr += 1
                remaining += alive.size
                _tell(self._opt, self._configs, rank_preserving(level, score))
                bracket += 1
            self.search_result_ = self._opt.result()
        finally:
            self.__dict__.pop("_opt", None)
            self.__dict__.pop("_configs", None)
        self.min_resources_ = min(self.n_resources_, default=self._base_min_resources)
        self.n_iterations_ = itr
        self.n_brackets_ = bracket
        self.n_remaining_candidates_ = remaining

    @staticmethod
    def _select_best_index(refit: Any, refit_metric: Any, results: Any) -> int:
        """Return the best candidate among the last iteration of every bracket."""
        brackets = np.asarray(results["bracket"])
        iters = np.asarray(results["iter"])
        last = np.zeros(iters.size, dtype=bool)
        for b in np.unique(brackets):
            rows = brackets == b
            last |= rows & (iters == iters[rows].max())
        rows = np.flatnonzero(last)
        scores = np.asarray(results["mean_test_score"])[rows]
        if np.isnan(scores).all():
            return int(rows[0])
        return int(rows[np.nanargmax(scores)])


def rank_preserving(level: Any, score: Any) -> np.ndarray:
    """Scores shifted so that a candidate that went further ranks above every other.

    ``level[i]`` is the last halving iteration candidate ``i`` reached and ``score[i]``
    its score there (NaN: failed, kept NaN). The finalists keep their scores; the
    scores of each earlier iteration are shifted down together, just enough (and a
    little more) to lie below every score of the later iterations, so their order
    within an iteration is kept.

    Examples
    --------
    >>> rank_preserving([1, 1, 0, 0], [0.8, 0.7, 0.9, 0.5]).round(6).tolist()
    [0.8, 0.7, 0.7, 0.3]
    """
    level = np.asarray(level, dtype=np.int64)
    told = np.array(score, dtype=np.float64)
    if told.size == 0:
        return told
    floor_ = np.nan
    for k in range(int(level.max()), -1, -1):
        rows = level == k
        s = told[rows]
        finite = np.isfinite(s)
        if not finite.any():
            continue
        if np.isfinite(floor_):
            high = s[finite].max()
            if high >= floor_:
                gap = 1e-9 * max(1.0, abs(floor_))
                told[rows] = s - (high - floor_) - gap
        low = told[rows][finite].min()
        floor_ = low if not np.isfinite(floor_) else min(floor_, low)
    return told
