"""Process pools for tests: workers started fresh (spawn), functions from a module file.

Forking copies the test process with whatever threads earlier tests left running
(Dask's, Ray's gRPC): a lock one of them held at the fork stays held in the child, which
then may never take work. Every call hangs and no worker dies, so the pool never breaks
(one CI run hung 600 s in this way). Spawned workers start from nothing, so they must
import the functions they run: :func:`worker_module` writes the functions' source (say,
:func:`source_of` a test module's functions) to a module file, puts its folder on
``sys.path`` and ``PYTHONPATH``, and imports it (tests run with
``--import-mode=importlib``, so a test module itself cannot be imported by a worker).
"""

from __future__ import annotations

import importlib
import inspect
import multiprocessing
import sys
import textwrap
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from types import ModuleType
from typing import Any


def spawned_pool(workers: int) -> ProcessPoolExecutor:
    """Return a process pool whose workers are spawned, not forked."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def worker_module(
    tmp_path: Any, monkeypatch: Any, name: str, source: str
) -> ModuleType:
    """Write ``source`` to ``tmp_path / name.py`` and import it as ``name``.

    The folder goes on ``sys.path`` and ``PYTHONPATH`` (for spawned workers) for the
    test's duration; the module is imported afresh (a cached one from an earlier test's
    folder is dropped).
    """
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return importlib.import_module(name)


def source_of(*functions: Callable[..., Any]) -> str:
    """Return a module's source holding ``functions`` (their modules' common imports)."""
    header = (
        "from __future__ import annotations\n\nimport math\nfrom typing import Any\n"
    )
    return "\n\n".join([header, *(inspect.getsource(f) for f in functions)])
