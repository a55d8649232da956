"""Markers of the hostile suites: `attacks` (slow and flooding clients, slowhttptest) and `soak` (long runs).

Soak tests run only when HTTPSYS_SOAK=1 (`make test-attacks` sets it); the default run keeps the bounded forms.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SOAK = os.environ.get("HTTPSYS_SOAK") == "1"
HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "attacks: slow-request and connection-flood attacks against a live driver"
    )
    config.addinivalue_line("markers", "soak: long load/soak runs (bounded form in CI)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SOAK:
        return
    skip = pytest.mark.skip(reason="long run: set HTTPSYS_SOAK=1 (make test-attacks) to run it")
    for item in items:
        if item.get_closest_marker("soak") is not None and HERE in item.path.parents:
            item.add_marker(skip)
