"""Babysitting one model: a session told the metric each epoch, answering what to do.

The other half of the practice beside the schedulers of :mod:`hyperzoom.schedule`: a
person training one model by hand, in their own loop, watches the validation loss,
cuts the learning rate on a plateau and rolls back after a divergence.
:class:`Babysitter` gives that advice (an :class:`Advice` each epoch) and records every
event, the user's own changes included, in a :class:`Ledger` (saved as JSON, plotted,
or read as a frame).
"""

from __future__ import annotations

import copy
import json
import math
import numbers
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from ._optional import require
from ._validation import as_count, as_real
from .space import Distribution, Space

__all__ = ["Advice", "Babysitter", "Ledger"]


_ACTIONS = ("start", "keep", "improve", "cut", "rollback", "manual", "stop")


class Ledger:
    """What a person babysitting a model keeps in a notebook: one entry per event.

    Each entry is a dict with ``epoch``, ``config`` (the hyperparameters in force
    during that epoch), ``metric`` (NaN for manual changes), ``action`` (``"start"``,
    ``"improve"``, ``"keep"``, ``"cut"``, ``"rollback"``, ``"manual"`` or ``"stop"``),
    ``reason`` and ``changes`` (``{name: [old, new]}``).

    Examples
    --------
    >>> import hyperzoom as hz
    >>> ledger = hz.Ledger()
    >>> ledger.append(epoch=0, config={"lr": 0.1}, metric=1.0, action="improve", reason="first")
    >>> len(ledger), ledger[0]["action"]
    (1, 'improve')
    """

    def __init__(self, entries: Sequence[Mapping[str, Any]] | None = None) -> None:
        self._entries: list[dict[str, Any]] = [dict(e) for e in entries or []]

    def append(
        self,
        *,
        epoch: int,
        config: Mapping[str, Any],
        metric: float,
        action: str,
        reason: str,
        changes: Mapping[str, Any] | None = None,
    ) -> None:
        """Add an entry."""
        if action not in _ACTIONS:
            msg = f"{action!r} is not a valid action. It must be one of {set(_ACTIONS)!r}."
            raise ValueError(msg)
        self._entries.append(
            {
                "epoch": int(epoch),
                "config": dict(config),
                "metric": float(metric),
                "action": action,
                "reason": str(reason),
                "changes": {k: list(v) for k, v in (changes or {}).items()},
            }
        )

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self._entries[i]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._entries)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ledger):
            return NotImplemented
        return bool(_json_ready(self._entries) == _json_ready(other._entries))

    __hash__ = None  # type: ignore[assignment]

    def save(self, path: Any) -> None:
        """Write the ledger as JSON (values that JSON lacks are stored as their repr)."""
        with open(_as_path(path), "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "format": "hyperzoom-ledger",
                    "version": 1,
                    "entries": _json_ready(self._entries),
                },
                fh,
                indent=1,
            )

    @classmethod
    def load(cls, path: Any) -> Ledger:
        """Read a ledger written by :meth:`save`."""
        with open(_as_path(path), encoding="utf-8") as fh:
            try:
                data = json.load(fh)
            except (ValueError, RecursionError) as exc:
                msg = f"{str(path)!r} is not a hyperzoom ledger file: {exc}"
                raise ValueError(msg) from None
        if not isinstance(data, dict) or data.get("format") != "hyperzoom-ledger":
            msg = f"{str(path)!r} is not a hyperzoom ledger file."
            raise ValueError(msg)
        entries = data.get("entries")
        keys = {"epoch", "config", "metric", "action", "reason", "changes"}
        if not isinstance(entries, list) or not all(
            isinstance(e, dict)
            and set(e) == keys
            and (e["metric"] is None or isinstance(e["metric"], (int, float)))
            for e in entries
        ):
            msg = f"{str(path)!r} is a damaged hyperzoom ledger file (its entries)."
            raise ValueError(msg)
        for e in entries:
            m = e["metric"]
            try:
                e["metric"] = math.nan if m is None else float(m)
            except OverflowError:  # an int beyond any float: as the babysitter reads it
                e["metric"] = math.copysign(math.inf, m)
        return cls(entries)

    def to_pandas(self) -> Any:
        """One row per entry, the configuration spread into columns."""
        pd = require("pandas", "to_pandas()")
        rows = []
        for e in self._entries:
            row = {k: e[k] for k in ("epoch", "metric", "action", "reason")}
            row.update(e["config"])
            rows.append(row)
        return pd.DataFrame(rows)

    def plot(self, param: str | None = None, *, ax: Any = None) -> Any:
        """Plot the metric per epoch, mark every action, and ``param`` on a log axis.

        Returns the matplotlib ``Axes`` of the metric.
        """
        plt = require("matplotlib.pyplot", "Ledger.plot()")
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        steps = [e for e in self._entries if e["action"] != "manual"]
        ax.plot(
            [e["epoch"] for e in steps], [e["metric"] for e in steps], "-", color="0.3"
        )
        markers = {
            "cut": ("v", "tab:orange"),
            "rollback": ("x", "tab:red"),
            "manual": ("s", "tab:blue"),
            "stop": ("X", "k"),
            "improve": (".", "tab:green"),
        }
        finite = [e["metric"] for e in steps if math.isfinite(e["metric"])]
        floor = min(finite) if finite else 0.0
        for action, (mk, colour) in markers.items():
            pts = [e for e in self._entries if e["action"] == action]
            if pts:
                ys = [e["metric"] if math.isfinite(e["metric"]) else floor for e in pts]
                ax.plot(
                    [e["epoch"] for e in pts],
                    ys,
                    mk,
                    color=colour,
                    label=action,
                    linestyle="",
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel("metric")
        if param is not None:
            twin = ax.twinx()
            ys = [e["config"].get(param) for e in self._entries]
            twin.step(
                [e["epoch"] for e in self._entries],
                ys,
                where="post",
                color="tab:purple",
                alpha=0.6,
            )
            twin.set_yscale("log")
            twin.set_ylabel(param)
        ax.legend(loc="upper right", fontsize="small")
        return ax

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for e in self._entries:
            counts[e["action"]] = counts.get(e["action"], 0) + 1
        return f"Ledger(entries={len(self)}, {counts})"


def _as_path(path: Any) -> str | os.PathLike[str]:
    """Refuse what is not a file path (an int would be taken as a file descriptor)."""
    if not isinstance(path, (str, os.PathLike)):
        msg = f"`path` must be a file path (str or os.PathLike), but got {path!r}."
        raise TypeError(msg)
    return path


def _json_ready(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_ready(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return repr(x)


class Advice(NamedTuple):
    """What :meth:`Babysitter.step` answers.

    Attributes
    ----------
    action : str
        ``"improve"``, ``"keep"``, ``"cut"``, ``"rollback"`` or ``"stop"``.
    config : dict
        The hyperparameters to use from the next epoch on.
    reason : str
        Why, in words.
    checkpoint : object
        On ``"rollback"``: the last good checkpoint to restore (None when no good
        epoch was seen: start again from scratch). None otherwise.
    checkpoint_epoch : int or None
        The epoch that checkpoint was taken at.
    """

    action: str
    config: dict[str, Any]
    reason: str
    checkpoint: Any = None
    checkpoint_epoch: int | None = None


class Babysitter:
    """A session for babysitting one model: it is told the metric, it answers what to do.

    Each epoch the user's own training loop calls :meth:`step` with the metric (a loss
    unless ``mode="max"``) and, optionally, a checkpoint. The answer is an
    :class:`Advice`:

    - ``"improve"`` / ``"keep"``: go on with the same hyperparameters;
    - ``"cut"``: no improvement of more than ``threshold`` (relative) for ``patience``
      epochs: the parameter ``param`` is multiplied by ``factor`` (a plateau);
    - ``"rollback"``: the metric is NaN or infinite, or worse than the best by more than
      ``diverge`` times its magnitude: restore ``advice.checkpoint`` (the last good one)
      and go on with ``param`` multiplied by ``rollback_factor``;
    - ``"stop"``: a cut is due but ``param`` is already at its lower bound.

    :meth:`set` records the user's own changes. Every event goes to :attr:`ledger`.
    Cuts never leave the space's bounds: a cut below ``low`` stops at ``low``.

    Parameters
    ----------
    space : Space
        The hyperparameters and their bounds.
    config : mapping
        The starting hyperparameters (every name of ``space``).
    param : str, optional
        The parameter that is cut (default: ``"learning_rate"``, ``"lr"`` or
        ``"alpha"``, whichever the space has).
    mode : {"min", "max"}
        Whether the metric is a loss (default) or a score.
    patience : int
        Epochs without improvement before a cut (>= 1).
    factor, rollback_factor : float in (0, 1)
        Multipliers of ``param`` on a plateau and after a divergence.
    threshold : float >= 0
        Relative improvement that counts (``1e-3``: 0.1%).
    diverge : float > 0
        The metric diverged when it is worse than the best by more than
        ``diverge * |best|`` (default 1: a loss that doubles).
    cooldown : int >= 0
        Epochs after a cut or rollback before the plateau count starts again.
    copy_checkpoints : bool
        Keep a deep copy of each checkpoint (default), so the user may go on mutating
        the object passed.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> space = hz.Space(learning_rate=hz.LogUniform(1e-4, 1.0))
    >>> sitter = hz.Babysitter(space, {"learning_rate": 0.1}, patience=2)
    >>> for loss in [1.0, 0.5, 0.49999, 0.5, float("nan")]:
    ...     advice = sitter.step(loss, checkpoint={"w": loss})
    ...     print(advice.action, advice.config["learning_rate"])
    improve 0.1
    improve 0.1
    keep 0.1
    cut 0.05
    rollback 0.025
    >>> advice.checkpoint, advice.checkpoint_epoch
    ({'w': 0.5}, 3)
    """

    def __init__(
        self,
        space: Space,
        config: Mapping[str, Any],
        *,
        param: str | None = None,
        mode: str = "min",
        patience: int = 3,
        factor: float = 0.5,
        rollback_factor: float = 0.5,
        threshold: float = 1e-3,
        diverge: float = 1.0,
        cooldown: int = 0,
        copy_checkpoints: bool = True,
    ) -> None:
        if not isinstance(space, Space):
            msg = f"`space` must be a hyperzoom Space, but got {type(space).__name__}."
            raise TypeError(msg)
        self.space = space
        self._config = self._validated(config, "config", complete=True)
        if param is None:
            param = next(
                (p for p in ("learning_rate", "lr", "alpha") if p in space), None
            )
            if param is None:
                msg = (
                    "`param` must name the parameter to cut; the space has none called "
                    f"'learning_rate', 'lr' or 'alpha': {list(space.names)!r}."
                )
                raise ValueError(msg)
        if param not in space:
            msg = f"`param` must be a parameter of the space {list(space.names)!r}, but got {param!r}."
            raise ValueError(msg)
        if space[param].is_integer:
            msg = f"`param` must be a continuous parameter, but {param!r} is {space[param]!r}."
            raise ValueError(msg)
        self.param = param
        if mode not in ("min", "max"):
            msg = f"{mode!r} is not a valid mode. It must be one of {{'min', 'max'}}."
            raise ValueError(msg)
        self.mode = mode
        self.patience = as_count(patience, "patience", minimum=1)
        self.factor = _fraction(factor, "factor")
        self.rollback_factor = _fraction(rollback_factor, "rollback_factor")
        self.threshold = as_real(threshold, "threshold")
        if self.threshold < 0:
            msg = f"`threshold` must be >= 0, but got {threshold!r}."
            raise ValueError(msg)
        self.diverge = as_real(diverge, "diverge")
        if self.diverge <= 0:
            msg = f"`diverge` must be > 0, but got {diverge!r}."
            raise ValueError(msg)
        self.cooldown = as_count(cooldown, "cooldown")
        self.copy_checkpoints = bool(copy_checkpoints)
        self.ledger = Ledger()
        self.epoch = 0
        self.best: float = math.nan
        self.best_epoch: int | None = None
        self._wait = 0
        self._cool = 0
        self._good: Any = None
        self._good_epoch: int | None = None

    # -- public state -------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """The hyperparameters in force now (a copy)."""
        return dict(self._config)

    def _validated(
        self, values: Mapping[str, Any], name: str, *, complete: bool
    ) -> dict[str, Any]:
        if not isinstance(values, Mapping):
            msg = f"`{name}` must be a mapping of parameter values, but got {type(values).__name__}."
            raise TypeError(msg)
        unknown = [k for k in values if k not in self.space]
        if unknown:
            msg = f"unknown parameter(s) {unknown!r} in `{name}`; the space has {list(self.space.names)!r}."
            raise ValueError(msg)
        if complete:
            # Every parameter, except those of a conditional space that are inactive
            # (absent) there: the space checks which ones those are.
            conditional = self.space._conditional_names
            missing = [
                k for k in self.space.names if k not in values and k not in conditional
            ]
            if missing:
                msg = f"missing parameter(s) {missing!r} in `{name}`."
                raise ValueError(msg)
            if conditional:
                self.space.to_unit({k: [values.get(k)] for k in self.space.names})
        out = {}
        for k, v in values.items():
            dist: Distribution = self.space[k]
            dist.to_unit([v])  # raises ValueError naming the bound it breaks
            out[k] = v.item() if isinstance(v, np.generic) else v
        return out

    def _better(self, a: float, b: float) -> bool:
        """Whether ``a`` improves on ``b`` by more than the threshold."""
        if math.isnan(b):
            return True
        margin = self.threshold * abs(b)
        return a < b - margin if self.mode == "min" else a > b + margin

    def _diverged(self, metric: float) -> bool:
        if not math.isfinite(metric):
            return True
        if math.isnan(self.best):
            return False
        gap = metric - self.best if self.mode == "min" else self.best - metric
        return gap > self.diverge * abs(self.best)

    def _scaled(self, mult: float) -> tuple[float, bool]:
        """``param`` times ``mult``, kept inside its bounds; and whether it hit the bound."""
        dist = self.space[self.param]
        old = float(self._config[self.param])
        new = old * mult
        low, high = float(dist.low), float(dist.high)
        if new < low:
            return low, old <= low
        return min(new, high), False

    # -- the protocol -------------------------------------------------------------
    def step(self, metric: float, *, checkpoint: Any = None) -> Advice:
        """Report the metric of the epoch just trained; return what to do next.

        Parameters
        ----------
        metric : float
            The validation loss (or score with ``mode="max"``); NaN and infinity are
            accepted and mean divergence.
        checkpoint : object, optional
            The model's state after this epoch (kept as the last good checkpoint when
            the epoch did not diverge).
        """
        if isinstance(metric, bool) or not isinstance(metric, numbers.Real):
            msg = f"`metric` must be a real number, but got {metric!r}."
            raise TypeError(msg)
        try:
            m = float(metric)
        except OverflowError:  # an int beyond any float (10**400): it diverged
            m = math.inf if metric > 0 else -math.inf
        epoch = self.epoch
        in_force = dict(self._config)
        self.epoch += 1
        if self._diverged(m):
            new_value, at_floor = self._scaled(self.rollback_factor)
            what = (
                "NaN or infinite"
                if not math.isfinite(m)
                else (
                    f"{m:.6g}, worse than the best {self.best:.6g} by more than "
                    f"{self.diverge:g} x |best|"
                )
            )
            if at_floor:
                reason = (
                    f"diverged ({what}) with {self.param} already at its lower bound"
                )
                return self._answer(epoch, in_force, m, "stop", reason, None)
            reason = (
                f"diverged ({what}): roll back to epoch {self._good_epoch}"
                if self._good_epoch is not None
                else f"diverged ({what}) before any good epoch: start again"
            )
            reason += f", cut {self.param} x{self.rollback_factor:g}"
            self._wait = 0
            self._cool = self.cooldown
            return self._answer(
                epoch,
                in_force,
                m,
                "rollback",
                reason,
                new_value,
                checkpoint=self._good,
                checkpoint_epoch=self._good_epoch,
            )
        if checkpoint is not None:
            self._good = (
                copy.deepcopy(checkpoint) if self.copy_checkpoints else checkpoint
            )
            self._good_epoch = epoch
        if self._better(m, self.best):
            prev = self.best
            self.best, self.best_epoch = m, epoch
            self._wait = 0
            reason = "first epoch" if math.isnan(prev) else f"improved on {prev:.6g}"
            return self._answer(epoch, in_force, m, "improve", reason, None)
        if self._cool > 0:
            self._cool -= 1
            return self._answer(
                epoch, in_force, m, "keep", "cooling down after a change", None
            )
        self._wait += 1
        if self._wait < self.patience:
            reason = (
                f"no improvement for {self._wait} epoch(s) (patience {self.patience})"
            )
            return self._answer(epoch, in_force, m, "keep", reason, None)
        new_value, at_floor = self._scaled(self.factor)
        self._wait = 0
        if at_floor:
            reason = f"plateau for {self.patience} epochs with {self.param} at its lower bound"
            return self._answer(epoch, in_force, m, "stop", reason, None)
        self._cool = self.cooldown
        reason = (
            f"plateau: no improvement of more than {self.threshold:g} (relative) for "
            f"{self.patience} epochs, cut {self.param} x{self.factor:g}"
        )
        return self._answer(epoch, in_force, m, "cut", reason, new_value)

    def _answer(
        self,
        epoch: int,
        in_force: dict[str, Any],
        metric: float,
        action: str,
        reason: str,
        new_value: float | None,
        *,
        checkpoint: Any = None,
        checkpoint_epoch: int | None = None,
    ) -> Advice:
        changes = {}
        if new_value is not None:
            changes[self.param] = (in_force[self.param], new_value)
            self._config[self.param] = new_value
        self.ledger.append(
            epoch=epoch,
            config=in_force,
            metric=metric,
            action=action,
            reason=reason,
            changes=changes,
        )
        if action == "rollback" and checkpoint is not None and self.copy_checkpoints:
            checkpoint = copy.deepcopy(
                checkpoint
            )  # the user may mutate what they restore
        return Advice(action, self.config, reason, checkpoint, checkpoint_epoch)

    def set(self, *, reason: str = "manual change", **changes: Any) -> dict[str, Any]:
        """Record the user's own change of hyperparameters; return the new config.

        Examples
        --------
        >>> import hyperzoom as hz
        >>> space = hz.Space(lr=hz.LogUniform(1e-4, 1.0), batch=hz.PowerOfTwo(16, 512))
        >>> sitter = hz.Babysitter(space, {"lr": 0.1, "batch": 32})
        >>> sitter.set(batch=64, reason="GPU has room")
        {'lr': 0.1, 'batch': 64}
        >>> sitter.ledger[-1]["action"], sitter.ledger[-1]["changes"]
        ('manual', {'batch': [32, 64]})
        """
        if not changes:
            msg = "`set` needs at least one parameter to change, but got none."
            raise ValueError(msg)
        new = self._validated(changes, "changes", complete=False)
        diff = {k: (self._config[k], v) for k, v in new.items()}
        in_force = dict(self._config)
        self._config.update(new)
        self._wait = 0
        self.ledger.append(
            epoch=self.epoch,
            config=in_force,
            metric=math.nan,
            action="manual",
            reason=reason,
            changes=diff,
        )
        return self.config

    def __repr__(self) -> str:
        return (
            f"Babysitter(epoch={self.epoch}, best={self.best:.6g} at epoch {self.best_epoch}, "
            f"config={self._config!r})"
        )


def _fraction(x: Any, name: str) -> float:
    v = as_real(x, name)
    if not 0.0 < v < 1.0:
        msg = f"`{name}` must be in (0, 1), but got {x!r}."
        raise ValueError(msg)
    return v
