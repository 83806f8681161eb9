from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The benchmarks share the bench scripts' helpers (spaces, peers' adapters), as the
# scripts do when run from this folder; --import-mode=importlib puts no folder on the path.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def full(request: pytest.FixtureRequest):
    """full(n, smoke) -> n when benchmarking, smoke under --benchmark-disable (CI)."""
    disabled = request.config.getoption("benchmark_disable")

    def pick(n: int, smoke: int) -> int:
        return smoke if disabled else n

    return pick
