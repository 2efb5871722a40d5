"""The harness runs native agent classes directly (no entry point) and catches their lies."""

from __future__ import annotations

import harness_agents as agents
import pytest

from hacore.agent import Agent, Result
from hacore.errors import InputError
from hacore.harness import run_harness


def failed(report) -> set[str]:
    return {c.name for c in report.failures}


def test_honest_native_agent_passes(tmp_path):
    """A native agent that follows the rules passes, meta-data fitting OCF 1.1 with no warning."""
    report = run_harness(agents.HonestAgent, {"state": str(tmp_path / "s")})
    assert report.passed, report.summary()
    assert report.check("meta-data follows OCF 1.1").detail == "fits OCF 1.1"
    assert report.agent_class == "native"


def test_framework_makes_required_parameters_required(tmp_path):
    """Dropping a native agent's required parameter is refused with err-configured."""
    report = run_harness(agents.HonestAgent, {"state": str(tmp_path / "s")})
    check = report.check("required parameter 'state'")
    assert check.ok
    assert "err-configured (6)" in check.detail


@pytest.mark.parametrize("cls, caught", [
    (agents.StopFailsWhenStopped, {"stop on a stopped resource"}),
    (agents.MonitorAlwaysRunning, {"probe of a stopped resource", "probe without binaries",
                                   "monitor of a stopped resource", "stop on a stopped resource"}),
    (agents.StartDoesNothing, {"monitor of a running resource", "probe of a running resource",
                               "start on a started resource", "start after stop"}),
    (agents.ProbeFailsWithoutBinary, {"probe without binaries"}),
])
def test_lying_native_agent_is_caught(tmp_path, cls, caught):
    """Each lying native agent fails exactly the checks its lie breaks."""
    report = run_harness(cls, {"state": str(tmp_path / "s")})
    assert failed(report) == caught, report.summary()


def test_probe_without_binaries_may_say_not_installed(tmp_path):
    """A native probe that finds its binary missing (empty PATH) may answer err-installed."""
    report = run_harness(agents.NeedsBinary, {"state": str(tmp_path / "s")})
    assert report.passed, report.summary()
    assert "err-installed (5)" in report.check("probe without binaries").detail


def test_hanging_native_stop_is_killed_with_its_child(tmp_path):
    """A native stop that starts a child and hangs is killed whole at the timeout."""
    state = tmp_path / "s"
    report = run_harness(agents.StopHangsAndForks, {"state": str(state)}, timeout=2)
    assert "timed out after 2s" in report.check("stop").detail
    assert agents.pid_gone(state.with_name("s.hung"))
    assert report.check("nothing left at the end").ok


def test_setsid_child_of_native_start_is_caught(tmp_path):
    """A native start whose child left the session survives stop: caught, then killed."""
    state = tmp_path / "s"
    report = run_harness(agents.LeavesSetsidChild, {"state": str(state)})
    assert failed(report) == {"nothing left after stop", "stop after restart"}, report.summary()
    assert agents.pid_gone(state.with_name("s.child"))


def test_unknown_parameter_is_an_input_error(tmp_path):
    """A parameter the native agent does not declare is refused before anything runs."""
    with pytest.raises(InputError, match="no parameter colour"):
        run_harness(agents.HonestAgent, {"state": "x", "colour": "red"})


def test_broken_class_is_refused_with_the_registry_reason():
    """An Agent subclass the registry would refuse is refused with the same reason."""
    class NoMonitor(Agent):
        name = "no-monitor"
        shortdesc = "misses monitor"

        def start(self) -> Result:
            return Result.ok()

        def stop(self) -> Result:
            return Result.ok()

    with pytest.raises(InputError, match=r"monitor\(\) is missing"):
        run_harness(NoMonitor)


def test_bad_timeout_is_an_input_error():
    """A timeout that is not positive is refused."""
    with pytest.raises(InputError, match="positive"):
        run_harness(agents.HonestAgent, {"state": "x"}, timeout=0)
