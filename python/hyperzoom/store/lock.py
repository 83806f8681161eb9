"""The lock a run holds on its study, so that one process at a time writes to it."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .file import where

__all__ = ["StudyLock", "study_lock"]


class StudyLock:
    """An exclusive lock on one study of a file, held while a run writes to it.

    A lock file beside the study file (``<file>-<12 hex digits>.lock``, one per study
    name), locked with ``flock``: the operating system releases it when the process
    ends, however it ends, so a killed run never leaves a stale lock. The lock file
    itself stays (deleting it would race with a process taking it). Where ``flock`` is
    not available (Windows), nothing is locked.
    """

    def __init__(self, path: Path, name: str) -> None:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        self.path = path.with_name(f"{path.name}-{digest[:12]}.lock")
        self.name, self.study_path = name, path
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise ``ValueError`` at once if another run holds it."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if not os.access(self.path.parent, os.W_OK):
                return  # a read-only folder: the write will say so, naming the file
            msg = f"cannot create the lock file {os.fspath(self.path)!r}: {exc}"
            raise OSError(exc.errno, msg) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise  # pragma: no cover - a file system without locks
            msg = (
                f"study {self.name!r} in {where(self.study_path)} is being run by "
                "another process (or another run in this one); run each study from "
                "one process at a time, or give this run another study name."
            )
            raise ValueError(msg) from None
        self.fd = fd

    def release(self) -> None:
        """Release the lock (a no-op when it is not held)."""
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None


@contextmanager
def study_lock(path: Path, name: str) -> Iterator[StudyLock]:
    """Hold the :class:`StudyLock` of study ``name`` in ``path`` for the block."""
    lock = StudyLock(path, name)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()
