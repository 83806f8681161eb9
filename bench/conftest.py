from __future__ import annotations

import pytest


@pytest.fixture
def full(request: pytest.FixtureRequest):
    """full(n, smoke) -> n when benchmarking, smoke under --benchmark-disable (CI)."""
    disabled = request.config.getoption("benchmark_disable")

    def pick(n: int, smoke: int) -> int:
        return smoke if disabled else n

    return pick
