"""pytest plugin (entry point ``pytest11``): the ``agent_harness`` fixture for agent authors.

    def test_my_agent(agent_harness, tmp_path):
        report = agent_harness("my-agent", params={"pidfile": str(tmp_path / "d.pid")})
        assert report.passed, report.summary()

``agent_harness`` takes what :func:`hacore.harness.run_harness` takes: an agent name, a path,
or an :class:`hacore.agent.Agent` subclass (no installation needed), plus ``params``,
``agent_class``, ``timeout``, ``instance`` and ``env``. It returns the HarnessReport.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hacore.harness.report import HarnessReport


class AgentHarness:
    """The callable behind the fixture; keeps every report of the test for its failure message."""

    def __init__(self) -> None:
        self.reports: list[HarnessReport] = []

    def __call__(self, agent: Any, params: dict[str, str] | None = None, **options: Any) -> HarnessReport:
        from hacore.harness import run_harness

        report = run_harness(agent, {k: str(v) for k, v in (params or {}).items()}, **options)
        self.reports.append(report)
        return report

    def assert_passes(self, agent: Any, params: dict[str, str] | None = None, **options: Any) -> HarnessReport:
        """Run the harness and fail the test with the report when any check fails."""
        report = self(agent, params, **options)
        if not report.passed:
            pytest.fail("agent harness found problems:\n" + report.summary(), pytrace=False)
        return report


@pytest.fixture
def agent_harness() -> Callable[..., HarnessReport]:
    """Run the hacore conformance harness: ``agent_harness(agent, params={...}) -> HarnessReport``."""
    return AgentHarness()
