"""The conformance harness behind `hacore-agent test` and the `agent_harness` pytest fixture.

    from hacore.harness import run_harness
    report = run_harness("ocf:heartbeat:Dummy", {"state": "/tmp/dummy.state"})
    assert report.passed, report.summary()
"""

from hacore.harness.report import CheckResult, HarnessReport
from hacore.harness.run import run_harness

__all__ = ["CheckResult", "HarnessReport", "run_harness"]
