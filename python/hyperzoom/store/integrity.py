"""Study files as untrusted input: SQLite's own checks, row checksums, stored records.

A study file may be damaged (a truncated copy, a disk error, a bad sector) or edited
by hand. Nothing read from one is trusted:

* on every open, before anything is read or written: ``PRAGMA integrity_check`` (pages,
  b-trees, every index against its table), no triggers, the expected columns of every
  table, the SQLite type of every stored field, and no row of a study that does not
  exist. This costs one pass over the file (about 0.2 s for 300,000 trials);
* every row carries a checksum (schema 3 and later; ``crc``) over all its fields except a
  schedule's state (which is cleared in place, and decoded only by the user's codec):
  a value, an id or an error text changed by damage is found when it is read, not
  replayed as data;
* the study's records (space, settings, seed, as JSON) are parsed as untrusted data:
  types, ranges and sizes are checked before anything is built from them, and any
  failure is a ``ValueError`` naming the file, the study and the field.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "CHECKSUM_SCHEMA",
    "ask_hash",
    "call_hash",
    "check_file",
    "check_seed",
    "check_settings",
    "check_space_doc",
    "parse_record",
    "study_hash",
    "trial_hashes",
]

#: The first schema whose rows carry a checksum (``crc``).
CHECKSUM_SCHEMA = 3

#: Columns of each table, in order; ``crc`` is added by schema 3.
COLUMNS = {
    "hz_study": ("id", "name", "space", "settings", "seed", "version", "created"),
    "hz_trial": (
        "study",
        "id",
        "unit",
        "value",
        "error",
        "round",
        "batch",
        "retest_of",
    ),
    "hz_call": (
        "study",
        "id",
        "run",
        "budget",
        "unit",
        "value",
        "error",
        "state",
        "seq",
        "before",
    ),
    "hz_retest": ("study", "trial", "tag", "time", "repeat", "value", "error"),
    "hz_ask": ("study", "id", "before", "crc"),  # made with its checksum (schema 4)
}
#: The SQLite types each column may hold (``typeof``), checked on every open.
_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "hz_study": {
        "id": ("integer",),
        "name": ("text",),
        "space": ("text",),
        "settings": ("text",),
        "seed": ("text",),
        "version": ("text",),
        "created": ("text",),
        "crc": ("integer",),
    },
    "hz_trial": {
        "study": ("integer",),
        "id": ("integer",),
        "unit": ("blob",),
        "value": ("real", "null"),
        "error": ("text", "null"),
        "round": ("integer",),
        "batch": ("integer",),
        "retest_of": ("integer",),
        "crc": ("integer",),
    },
    "hz_call": {
        "study": ("integer",),
        "id": ("integer",),
        "run": ("integer",),
        "budget": ("real",),
        "unit": ("blob",),
        "value": ("real", "null"),
        "error": ("text", "null"),
        "state": ("blob", "null"),
        "seq": ("integer",),
        "before": ("integer",),
        "crc": ("integer",),
    },
    "hz_ask": {
        "study": ("integer",),
        "id": ("integer",),
        "before": ("integer",),
        "crc": ("integer",),
    },
    "hz_retest": {
        "study": ("integer",),
        "trial": ("integer",),
        "tag": ("text",),
        "time": ("text",),
        "repeat": ("integer",),
        "value": ("real", "null"),
        "error": ("text", "null"),
    },
}


def _damaged(where: str, what: str) -> ValueError:
    return ValueError(
        f"{where} is damaged ({what}); it is neither read nor written. Restore it "
        "from a copy, or start a new study file."
    )


def check_file(
    conn: sqlite3.Connection, where: str, version: int, tables: set[str]
) -> None:
    """Check a study file before anything is read from it or written to it.

    Raises
    ------
    ValueError
        Naming the file and the first problem found.
    """
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
    if problems != ["ok"]:
        first = "; ".join(str(p).replace("\n", " ") for p in problems[:3])
        raise _damaged(where, f"SQLite's integrity check says: {first}")
    triggers = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type='trigger'"
    ).fetchone()[0]
    if triggers:
        raise _damaged(where, f"it holds {triggers} trigger(s), which no study has")
    checked = version >= CHECKSUM_SCHEMA
    for table, columns in COLUMNS.items():
        if table not in tables:
            continue
        have = tuple(r[1] for r in conn.execute(f"PRAGMA table_info({table})"))
        added = checked and table not in ("hz_retest", "hz_ask")
        want = (*columns, "crc") if added else columns
        if have != want:
            raise _damaged(
                where, f"table {table} has columns {list(have)!r}, not {list(want)!r}"
            )
        conds = " OR ".join(
            f"typeof({c}) NOT IN ({', '.join(repr(t) for t in _TYPES[table][c])})"
            for c in want
        )
        bad = conn.execute(f"SELECT count(*) FROM {table} WHERE {conds}").fetchone()[0]
        if bad:
            raise _damaged(where, f"{bad} row(s) of {table} hold fields of wrong types")
        if table == "hz_study" and checked:
            for row in conn.execute(
                "SELECT id, name, space, settings, seed, version, created, crc "
                "FROM hz_study"
            ):
                if study_hash(row) != row[7]:
                    raise _damaged(
                        where,
                        f"the record of study {row[1]!r} does not match its checksum",
                    )
        if table != "hz_study":
            orphans = conn.execute(
                f"SELECT count(*) FROM {table} "
                "WHERE study NOT IN (SELECT id FROM hz_study)"
            ).fetchone()[0]
            if orphans:
                raise _damaged(
                    where, f"{orphans} row(s) of {table} belong to no stored study"
                )


# ---------------------------------------------------------------------------------------
# Row checksums: a 64-bit hash of every field, computed for whole columns at once.
_OFFSET = np.uint64(0xCBF29CE484222325)
_PRIME = np.uint64(0x100000001B3)
#: What a NULL value (a failed trial) hashes as: a NaN payload SQLite never stores.
_NULL_VALUE = 0x7FF8DEAD00000001


def _text_word(text: str | None) -> int:
    """Return a 64-bit word for a text field (0 for NULL): its CRC-32 and length."""
    if text is None:
        return 0
    data = text.encode("utf-8", "surrogatepass")
    return (zlib.crc32(data) << 32) | ((len(data) + 1) & 0xFFFFFFFF)


def _hash(words: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Hash rows of uint64 words: FNV-style xor-multiply, then a splitmix finish.

    Each step is a bijection of the running hash for a fixed word and of the word for
    a fixed hash, so a change confined to one field always changes the checksum.
    """
    h = np.full(n, _OFFSET, dtype=np.uint64)
    for w in words:
        h = (h ^ w) * _PRIME
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    return h.view(np.int64)


def _ints(x: Any, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=np.int64).view(np.uint64), (n,))


def _value_words(values: np.ndarray) -> np.ndarray:
    v = np.ascontiguousarray(values, dtype=np.float64)
    return np.where(np.isnan(v), np.uint64(_NULL_VALUE), v.view(np.uint64))


def trial_hashes(
    study: int,
    ids: np.ndarray,
    unit: np.ndarray,
    values: np.ndarray,
    errors: Sequence[str | None],
    rounds: np.ndarray,
    batch: np.ndarray,
    retest_of: np.ndarray,
) -> np.ndarray:
    """Return the checksums of ``hz_trial`` rows (``values``: NaN for NULL)."""
    n = int(np.asarray(ids).shape[0])
    bits = np.ascontiguousarray(unit, dtype=np.float64).reshape(n, -1).view(np.uint64)
    errs = np.fromiter((_text_word(e) for e in errors), dtype=np.uint64, count=n)
    words = [_ints(study, n), _ints(ids, n)]
    words += [bits[:, j] for j in range(bits.shape[1])]
    words += [
        _value_words(values),
        errs,
        _ints(rounds, n),
        _ints(batch, n),
        _ints(retest_of, n),
    ]
    return _hash(words, n)


_MASK = (1 << 64) - 1


def _hash_one(words: Sequence[int]) -> int:
    """:func:`_hash` of one row in Python integers (a row at a time: no NumPy calls)."""
    h = 0xCBF29CE484222325
    for w in words:
        h = ((h ^ (w & _MASK)) * 0x100000001B3) & _MASK
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK
    h ^= h >> 33
    return h - (1 << 64) if h >= 1 << 63 else h


def _float_word(x: float) -> int:
    return int(struct.unpack("=Q", struct.pack("=d", x))[0])


def call_hash(
    study: int,
    cid: int,
    run: int,
    budget: float,
    unit: bytes,
    value: float | None,
    error: str | None,
    seq: int,
    before: int,
) -> int:
    """Return the checksum of one ``hz_call`` row (the state is not covered)."""
    if len(unit) % 8 == 0:
        bits = list(struct.unpack(f"={len(unit) // 8}Q", unit))
    else:  # a blob of the wrong size: hash its bytes' CRC instead
        bits = [zlib.crc32(unit), len(unit)]
    value_word = _NULL_VALUE if value is None else _float_word(value)
    words = [study, cid, run, _float_word(budget), *bits, value_word]
    words += [_text_word(error), seq, before]
    return _hash_one(words)


def ask_hash(study: int, tid: int, before: int) -> int:
    """Return the checksum of one ``hz_ask`` row."""
    return _hash_one([study, tid, before])


def study_hash(row: Sequence[Any]) -> int:
    """Return the checksum of an ``hz_study`` row (id, name, space, ..., created)."""
    return _hash_one([int(row[0]), *(_text_word(str(t)) for t in row[1:7])])


# ---------------------------------------------------------------------------------------
# Stored records: JSON data from an untrusted file.
_MAX_ITEMS = 1 << 20  # entropy words, spawn keys: far beyond any real seed


def parse_record(text: str, field: str, where: str) -> Any:
    """Parse a stored JSON field; any failure is a ValueError naming the field."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        msg = f"{where} has a damaged `{field}` record: {type(exc).__name__}: {exc}"
        raise ValueError(msg) from None


def _field_error(where: str, field: str, rule: str, value: Any) -> ValueError:
    text = repr(value)
    if len(text) > 120:
        text = text[:120] + "..."
    return ValueError(
        f"{where} has a damaged stored `{field}`: it must be {rule}, but is {text} "
        f"({type(value).__name__})."
    )


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


_SCALARS = (str, int, float, bool, type(None))


def check_space_doc(doc: Any, where: str, kinds: Sequence[str]) -> None:
    """Check the shape and types of a stored space (values are checked on building)."""
    if not isinstance(doc, list):
        raise _field_error(where, "space", "a list of parameters", doc)
    names: set[str] = set()
    for i, p in enumerate(doc):
        field = f"space[{i}]"
        if not isinstance(p, dict):
            raise _field_error(where, field, "an object", p)
        kind = p.get("kind")
        if kind == "Forbidden":
            if set(p) != {"kind", "terms"}:
                rule = "an object with keys ['kind', 'terms']"
                raise _field_error(where, field, rule, p)
            _check_conditions(p["terms"], where, f"{field}.terms", names)
            continue
        if kind not in kinds:
            raise _field_error(where, f"{field}.kind", f"one of {list(kinds)!r}", kind)
        keys = (
            {"name", "kind", "options", "weights"}
            if kind == "Choice"
            else {"name", "kind", "low", "high"}
        )
        if set(p) - {"when"} != keys:
            raise _field_error(where, field, f"an object with keys {sorted(keys)!r}", p)
        if "when" in p:
            _check_conditions(p["when"], where, f"{field}.when", None)
        name = p["name"]
        if not isinstance(name, str) or not name:
            raise _field_error(where, f"{field}.name", "a non-empty string", name)
        if name in names:
            raise _field_error(where, f"{field}.name", "unique", name)
        names.add(name)
        if kind == "Choice":
            options, weights = p["options"], p["weights"]
            if not isinstance(options, list) or not options:
                raise _field_error(
                    where, f"{field}.options", "a non-empty list", options
                )
            for j, o in enumerate(options):
                if not isinstance(o, _SCALARS):
                    raise _field_error(
                        where, f"{field}.options[{j}]", "a JSON scalar", o
                    )
            if weights is not None and (
                not isinstance(weights, list)
                or len(weights) != len(options)
                or not all(_is_real(w) for w in weights)
            ):
                raise _field_error(
                    where,
                    f"{field}.weights",
                    f"null or a list of {len(options)} numbers",
                    weights,
                )
        else:
            integral = kind in ("IntUniform", "IntLogUniform", "PowerOfTwo")
            for b in ("low", "high"):
                ok = _is_int(p[b]) if integral else _is_real(p[b])
                if not ok:
                    rule = "an integer" if integral else "a number"
                    raise _field_error(where, f"{field}.{b}", rule, p[b])


def _check_conditions(doc: Any, where: str, field: str, names: set[str] | None) -> None:
    """Check stored conditions or forbidden terms: ``[[name, {kind: value}], ...]``.

    The kind is ``in``, ``range`` or ``is``; whether the names and values fit the space
    is checked when it is built.
    """
    if not isinstance(doc, list) or not doc:
        raise _field_error(where, field, "a non-empty list of [name, value] pairs", doc)
    for i, item in enumerate(doc):
        f = f"{field}[{i}]"
        if not (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], dict)
            and len(item[1]) == 1
        ):
            raise _field_error(
                where, f, "a [name, {one of in/range/is: value}] pair", item
            )
        ((key, value),) = item[1].items()
        if key == "is":
            ok = isinstance(value, _SCALARS)
        elif key == "in":
            ok = (
                isinstance(value, list)
                and bool(value)
                and all(isinstance(v, _SCALARS) for v in value)
            )
        elif key == "range":
            ok = (
                isinstance(value, list)
                and len(value) == 2
                and all(_is_real(v) for v in value)
            )
        else:
            ok = False
        if not ok:
            raise _field_error(
                where,
                f,
                "a value ('is'), a list ('in') or two numbers ('range')",
                item[1],
            )


def check_seed(doc: Any, where: str) -> None:
    """Check a stored seed: what ``numpy.random.SeedSequence`` can be rebuilt from."""
    if not isinstance(doc, dict):
        raise _field_error(where, "seed", "an object", doc)
    required = {"entropy", "spawn_key", "pool_size"}
    allowed = required | {"n_children_spawned"}
    if not required <= set(doc) <= allowed:
        raise _field_error(where, "seed", f"an object with keys {sorted(allowed)}", doc)
    entropy = doc["entropy"]
    words = entropy if isinstance(entropy, list) else [entropy]
    if not (
        0 < len(words) <= _MAX_ITEMS
        and all(_is_int(w) and 0 <= w and w.bit_length() <= 4096 for w in words)
    ):
        raise _field_error(
            where, "seed.entropy", "a non-negative integer or a list of them", entropy
        )
    key = doc["spawn_key"]
    if not (
        isinstance(key, list)
        and len(key) <= _MAX_ITEMS
        and all(_is_int(k) and 0 <= k < 2**64 for k in key)
    ):
        raise _field_error(
            where, "seed.spawn_key", "a list of non-negative integers", key
        )
    pool = doc["pool_size"]
    if not (_is_int(pool) and 4 <= pool <= 1024):
        raise _field_error(where, "seed.pool_size", "an integer in [4, 1024]", pool)
    spawned = doc.get("n_children_spawned", 0)
    if not (_is_int(spawned) and 0 <= spawned < 2**63):
        raise _field_error(
            where, "seed.n_children_spawned", "a non-negative integer", spawned
        )


def check_settings(doc: Any, where: str, keys: Sequence[str] | None) -> None:
    """Check stored settings: an object of JSON scalars (and lists of integers).

    ``keys``, when given, are exactly the keys it must have (a search's settings);
    the values' ranges are checked by whatever builds the plan from them.
    """
    if not isinstance(doc, dict):
        raise _field_error(where, "settings", "an object", doc)
    if keys is not None and set(doc) != set(keys):
        extra = sorted(set(doc) - set(keys))
        missing = sorted(set(keys) - set(doc))
        raise _field_error(
            where,
            "settings",
            f"an object with keys {sorted(keys)!r} (extra {extra!r}, missing "
            f"{missing!r})",
            doc,
        )
    if "method" in doc and not isinstance(doc["method"], str):
        raise _field_error(where, "settings.method", "a string", doc["method"])
    for k, v in doc.items():
        if isinstance(v, list):
            if len(v) > _MAX_ITEMS or not all(_is_int(x) for x in v):
                raise _field_error(
                    where, f"settings.{k}", "a scalar or a list of integers", v
                )
        elif not isinstance(v, _SCALARS):
            raise _field_error(where, f"settings.{k}", "a scalar", v)
        elif isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 63:
            raise _field_error(where, f"settings.{k}", "a 64-bit integer", v)
