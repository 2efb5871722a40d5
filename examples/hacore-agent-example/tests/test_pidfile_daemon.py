"""pidfile-daemon passes the hacore conformance harness (the agent_harness fixture)."""

from hacore_example_agent import PidfileDaemon


def test_passes_the_harness(agent_harness, tmp_path):
    """Every conformance check passes with a pid file under a tmp dir."""
    report = agent_harness(PidfileDaemon, params={"pidfile": str(tmp_path / "daemon.pid")})
    assert report.passed, report.summary()


def test_installed_agent_passes_by_name(agent_harness, tmp_path):
    """Once the package is installed, the agent is found by its name through the entry point."""
    report = agent_harness("pidfile-daemon", params={"pidfile": str(tmp_path / "daemon.pid")})
    assert report.passed, report.summary()


def test_relative_pidfile_is_not_configured(agent_harness):
    """validate-all refuses a relative pid file with err-configured."""
    report = agent_harness(PidfileDaemon, params={"pidfile": "daemon.pid"})
    assert not report.passed
    assert "err-configured (6)" in report.check("validate-all").detail
