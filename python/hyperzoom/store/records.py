"""What a study file stores as JSON data: the space, the seed, and how to compare them.

A study file holds data only, never code: a space is stored as its distributions'
kinds, bounds, options and weights; a seed as an ``int`` or a ``SeedSequence``'s
entropy and spawn key. Nothing here knows of searches or schedules.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from ..space import (
    Choice,
    Distribution,
    IntLogUniform,
    IntUniform,
    InvLogUniform,
    LogUniform,
    PowerOfTwo,
    Space,
    Uniform,
)

__all__ = [
    "KINDS",
    "json_text",
    "rng_of",
    "same_seed",
    "seed_record",
    "space_difference",
    "space_from_json",
    "space_to_json",
]

#: The distributions a study can store, by the name written to the file.
KINDS: dict[str, type[Distribution]] = {
    cls.__name__: cls
    for cls in (
        Uniform,
        LogUniform,
        InvLogUniform,
        IntUniform,
        IntLogUniform,
        PowerOfTwo,
        Choice,
    )
}


def space_to_json(space: Space) -> list[dict[str, Any]]:
    """Return ``space`` as JSON-ready data (refusing what JSON cannot hold exactly).

    Raises
    ------
    TypeError
        For a distribution class the store does not know, or a ``Choice`` option that
        is not a plain ``str``, ``int``, finite ``float``, ``bool`` or ``None``.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> from hyperzoom.store import space_to_json
    >>> space_to_json(hz.Space(lr=hz.LogUniform(1e-4, 1.0), act=hz.Choice(["a", "b"])))
    [{'name': 'lr', 'kind': 'LogUniform', 'low': 0.0001, 'high': 1.0}, {'name': 'act', 'kind': 'Choice', 'options': ['a', 'b'], 'weights': None}]
    """
    params: list[dict[str, Any]] = []
    for name, dist in space.items():
        kind = type(dist).__name__
        if KINDS.get(kind) is not type(dist):
            msg = (
                f"parameter {name!r} is a {kind}, which a study file cannot store; the "
                f"store knows {sorted(KINDS)!r}."
            )
            raise TypeError(msg)
        if isinstance(dist, Choice):
            for i, o in enumerate(dist.options):
                plain = type(o) in (str, int, bool, type(None)) or (
                    type(o) is float and math.isfinite(o)
                )
                if not plain:
                    msg = (
                        f"option {i} of parameter {name!r} is {o!r} ({type(o).__name__}); "
                        "a study file stores options as JSON data, so each must be a "
                        "plain str, int, finite float, bool or None. Store a name (a str) "
                        "and map it to the object in the objective."
                    )
                    raise TypeError(msg)
            weights = None if dist.weights is None else list(dist.weights)
            params.append(
                {
                    "name": name,
                    "kind": kind,
                    "options": list(dist.options),
                    "weights": weights,
                }
            )
        else:
            params.append(
                {"name": name, "kind": kind, "low": dist.low, "high": dist.high}
            )
        if dist._when:
            params[-1]["when"] = [[k, _cond_json(name, v)] for k, v in dist._when]
    for clause in space.forbidden:
        params.append(
            {
                "kind": "Forbidden",
                "terms": [
                    [k, _cond_json("a forbidden clause", v)] for k, v in clause.terms
                ],
            }
        )
    return params


def _cond_json(name: str, value: Any) -> dict[str, Any]:
    """Return a condition value as JSON.

    One of ``{"in": [...]}``, ``{"range": [lo, hi]}`` or ``{"is": value}``.
    """
    if isinstance(value, tuple) and value and value[0] == "in":
        out: dict[str, Any] = {"in": list(value[1:])}
        items = out["in"]
    elif isinstance(value, tuple):
        out = {"range": list(value)}
        items = out["range"]
    else:
        out = {"is": value}
        items = [value]
    for v in items:
        if not (
            type(v) in (str, int, bool, type(None))
            or (type(v) is float and math.isfinite(v))
        ):
            msg = (
                f"the condition of {name!r} holds {v!r} ({type(v).__name__}); a study file "
                "stores condition values as JSON data (plain str, int, finite float, bool "
                "or None)."
            )
            raise TypeError(msg)
    return out


def _cond_value(doc: dict[str, Any]) -> Any:
    if "in" in doc:
        return list(doc["in"])
    if "range" in doc:
        return tuple(doc["range"])
    return doc["is"]


def space_from_json(params: list[dict[str, Any]]) -> Space:
    """Rebuild a :class:`~hyperzoom.Space` from :func:`space_to_json` data.

    Examples
    --------
    >>> import hyperzoom as hz
    >>> from hyperzoom.store import space_from_json, space_to_json
    >>> space = hz.Space(b=hz.InvLogUniform(0.9, 0.999), n=hz.PowerOfTwo(16, 512))
    >>> space_from_json(space_to_json(space)) == space
    True
    """
    dists: dict[str, Distribution] = {}
    clauses = []
    for p in params:
        if p["kind"] == "Forbidden":
            clauses.append({k: _cond_value(c) for k, c in p["terms"]})
            continue
        if p["name"] in dists:
            msg = f"parameter {p['name']!r} appears twice."
            raise ValueError(msg)
        cls = KINDS[p["kind"]]
        if cls is Choice:
            choice = Choice(p["options"], weights=p["weights"])
            if p["weights"] is not None:
                # The stored weights are already normalised; normalising them again
                # could move the last bit of a cell edge.
                choice.weights = tuple(float(w) for w in p["weights"])
            dists[p["name"]] = choice
        else:
            dists[p["name"]] = cls(p["low"], p["high"])  # type: ignore[call-arg]
        if p.get("when"):
            dists[p["name"]] = dists[p["name"]].when(
                **{k: _cond_value(c) for k, c in p["when"]}
            )
    space = Space(dists)
    for clause in clauses:
        space = space.forbid(**clause)
    return space


def seed_record(rng: Any) -> dict[str, Any] | None:
    """Return the seed as JSON data (None for ``rng=None``); refuse generators."""
    if rng is None:
        return None
    if isinstance(rng, (np.random.Generator, np.random.BitGenerator)):
        msg = (
            "a stored study needs a seed it can write down: pass `rng` as an int or a "
            "numpy.random.SeedSequence, not a Generator (its state is not data that a "
            "later run can start from)."
        )
        raise TypeError(msg)
    if isinstance(rng, np.random.SeedSequence):
        entropy = rng.entropy
        assert entropy is not None  # a SeedSequence always has its entropy
        return {
            "entropy": int(entropy)
            if isinstance(entropy, (int, np.integer))
            else [int(x) for x in entropy],
            "spawn_key": [int(x) for x in rng.spawn_key or ()],
            "pool_size": int(rng.pool_size),
            "n_children_spawned": int(rng.n_children_spawned),
        }
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
        msg = (
            "a stored study needs `rng` to be an int, a numpy.random.SeedSequence or "
            f"None, but got {rng!r} ({type(rng).__name__})."
        )
        raise TypeError(msg)
    if int(rng) < 0:
        msg = f"`rng` must be a non-negative integer seed, but got {rng!r}."
        raise ValueError(msg)
    return {"entropy": int(rng), "spawn_key": [], "pool_size": 4}


def rng_of(seed: dict[str, Any]) -> np.random.SeedSequence:
    """Return the ``SeedSequence`` a stored seed record describes."""
    return np.random.SeedSequence(
        seed["entropy"],
        spawn_key=tuple(seed["spawn_key"]),
        pool_size=seed["pool_size"],
        n_children_spawned=seed.get("n_children_spawned", 0),
    )


def same_seed(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Return whether two seed records seed the same streams."""
    keys = ("entropy", "spawn_key", "pool_size")
    return all(json_text(a[k]) == json_text(b[k]) for k in keys)


def json_text(x: Any) -> str:
    """Return ``x`` as canonical JSON text (sorted keys; no NaN)."""
    return json.dumps(x, allow_nan=False, sort_keys=True)


def _describe(p: dict[str, Any]) -> str:
    when = ""
    if p.get("when"):
        when = (
            ".when(" + ", ".join(f"{k}={_cond_value(c)!r}" for k, c in p["when"]) + ")"
        )
    if p["kind"] == "Choice":
        w = "" if p["weights"] is None else f", weights={p['weights']!r}"
        return f"Choice({p['options']!r}{w}){when}"
    return f"{p['kind']}({p['low']!r}, {p['high']!r}){when}"


def _clauses(doc: list[dict[str, Any]]) -> list[str]:
    return [
        "Forbidden(" + ", ".join(f"{k}={_cond_value(c)!r}" for k, c in p["terms"]) + ")"
        for p in doc
        if p["kind"] == "Forbidden"
    ]


def space_difference(
    stored: list[dict[str, Any]], given: list[dict[str, Any]]
) -> str | None:
    """Return how a given space differs from the stored one (None if it does not)."""
    s_params = [p for p in stored if p["kind"] != "Forbidden"]
    g_params = [p for p in given if p["kind"] != "Forbidden"]
    s_names = [p["name"] for p in s_params]
    g_names = [p["name"] for p in g_params]
    if s_names != g_names:
        return f"the parameters differ: stored {s_names!r}, given {g_names!r}"
    for s, g in zip(s_params, g_params):
        if json_text(s) != json_text(g):
            return (
                f"parameter {s['name']!r} differs: stored {_describe(s)}, "
                f"given {_describe(g)}"
            )
    if _clauses(stored) != _clauses(given):
        return (
            f"the forbidden clauses differ: stored {_clauses(stored)}, given "
            f"{_clauses(given)}"
        )
    return None


# ---------------------------------------------------------------------------------------
