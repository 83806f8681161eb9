"""Optional dependencies, imported on first use with a clear message when missing."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["require"]

_EXTRA = {"pandas": "pandas", "matplotlib.pyplot": "matplotlib", "tqdm.auto": "tqdm"}


def require(module: str, what: str) -> Any:
    """Import ``module`` for ``what``; ImportError naming the package to install.

    Examples
    --------
    >>> from hyperzoom._optional import require
    >>> require("json", "a test").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = _EXTRA.get(module, module.split(".")[0])
        msg = f"{what} needs {package}: pip install {package}"
        raise ImportError(msg) from exc
