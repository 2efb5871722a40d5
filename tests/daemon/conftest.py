"""Fixtures of the daemon tests (helpers to import live in daemon_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hacore.executor.forkserver import ForkServer


@pytest.fixture
def executor() -> Iterator[ForkServer]:
    """A warm helper process for the test, stopped afterwards."""
    server = ForkServer().start()
    try:
        yield server
    finally:
        server.stop()
