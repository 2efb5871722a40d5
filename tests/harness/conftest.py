"""Shared pieces of the harness tests."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data() -> Path:
    """The directory of the test scripts."""
    return DATA
