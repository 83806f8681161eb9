"""The study store: one SQLite file of studies that survive a crash.

The layer beneath searches and schedules: it opens and checks a study file
(:mod:`~hyperzoom.store.file`, :mod:`~hyperzoom.store.integrity`), keeps what a study
is as data (:mod:`~hyperzoom.store.records`), reads and appends a study's rows
(:mod:`~hyperzoom.store.study`) and locks a study while a run writes to it
(:mod:`~hyperzoom.store.lock`). It knows nothing of how a search or a scheduler uses
what it stores: each of them keeps its own journal on top of it
(:mod:`hyperzoom.search.journal`, :mod:`hyperzoom.schedule.journal`). The public face
of stored studies is :mod:`hyperzoom.storage`.
"""

from __future__ import annotations

from . import integrity
from .file import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    connect,
    immediate,
    study_names,
    translated,
    where,
)
from .lock import StudyLock, study_lock
from .records import (
    json_text,
    rng_of,
    same_seed,
    seed_record,
    space_from_json,
    space_to_json,
)
from .study import (
    Study,
    TrialWriter,
    article,
    find_study,
    kind,
    open_record,
    study_target,
)

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "Study",
    "StudyLock",
    "TrialWriter",
    "article",
    "connect",
    "find_study",
    "immediate",
    "integrity",
    "json_text",
    "kind",
    "open_record",
    "rng_of",
    "same_seed",
    "seed_record",
    "space_from_json",
    "space_to_json",
    "study_lock",
    "study_names",
    "study_target",
    "translated",
    "where",
]
