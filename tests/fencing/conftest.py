"""Fixtures for the fencing tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import make_recorder


@pytest.fixture
def recorder(tmp_path: Path) -> Path:
    """The path of an executable test fence agent that records its calls."""
    return make_recorder(tmp_path)
