"""The harness passes agents that follow the OCF rules and catches scripts that lie."""

from __future__ import annotations

import os

import pytest
from harness_agents import live_pids_with, pid_gone

from hacore.harness import run_harness

DUMMY = "/usr/lib/ocf/resource.d/heartbeat/Dummy"
LIFECYCLE = ["start", "monitor of a running resource", "probe of a running resource",
             "start on a started resource", "stop", "nothing left after stop",
             "monitor of a stopped resource", "stop on a stopped resource", "start after stop",
             "stop after restart"]


def failed(report) -> set[str]:
    return {c.name for c in report.failures}


@pytest.mark.skipif(not os.access(DUMMY, os.X_OK), reason="Debian's resource-agents is not installed")
def test_clusterlabs_dummy_passes_every_check(tmp_path):
    """ocf:heartbeat:Dummy with its state file under a tmp dir passes every check."""
    state = tmp_path / "dummy.state"
    report = run_harness("ocf:heartbeat:Dummy", {"state": str(state)})
    assert report.passed, report.summary()
    names = [c.name for c in report.checks]
    for name in ["meta-data", "meta-data follows OCF 1.1", "meta-data without binaries",
                 "validate-all", "probe of a stopped resource", "probe without binaries",
                 *LIFECYCLE, "nothing left at the end"]:
        assert name in names
    assert not state.exists()
    assert all(c.seconds > 0 for c in report.checks if c.name != "meta-data follows OCF 1.1")


@pytest.mark.skipif(not os.access(DUMMY, os.X_OK), reason="Debian's resource-agents is not installed")
def test_dummy_metadata_warns_about_ocf10_but_passes(tmp_path):
    """Dummy claims OCF 1.0 and uses unique=: the OCF 1.1 check passes with warnings."""
    report = run_harness("ocf:heartbeat:Dummy", {"state": str(tmp_path / "d.state")})
    check = report.check("meta-data follows OCF 1.1")
    assert check.ok
    assert "warning: <version>1.0</version>" in check.detail
    assert "unique= is deprecated" in check.detail


def test_rule_abiding_script_passes(data, tmp_path):
    """The test script without a lie passes all checks, the required parameter one included."""
    report = run_harness(str(data / "ocf-agent.sh"), {"state": str(tmp_path / "s")})
    assert report.passed, report.summary()
    assert report.check("required parameter 'state'").ok
    assert "err-configured (6)" in report.check("required parameter 'state'").detail


@pytest.mark.parametrize("lie, caught", [
    ("stop-fails-when-stopped", {"stop on a stopped resource"}),
    ("monitor-always-running", {"probe of a stopped resource", "probe without binaries",
                                "monitor of a stopped resource", "stop on a stopped resource"}),
    ("start-does-nothing", {"monitor of a running resource", "probe of a running resource",
                            "start on a started resource", "start after stop"}),
    ("broken-metadata", {"meta-data"}),
    ("not-required", {"required parameter 'state'"}),
])
def test_lying_script_is_caught(data, tmp_path, lie, caught):
    """Each lying OCF script fails exactly the checks its lie breaks."""
    report = run_harness(str(data / f"{lie}.sh"), {"state": str(tmp_path / "s")})
    assert not report.passed
    assert failed(report) == caught, report.summary()


def test_broken_metadata_skips_the_ocf11_check(data, tmp_path):
    """Unreadable meta-data is reported as such and the structure check is skipped."""
    report = run_harness(str(data / "broken-metadata.sh"), {"state": str(tmp_path / "s")})
    assert "not well-formed XML" in report.check("meta-data").detail
    assert report.check("meta-data follows OCF 1.1").skipped


def test_hanging_stop_is_killed_with_its_children(data, tmp_path):
    """A stop that forks and hangs is killed at the timeout, reported, and leaves nothing."""
    state = tmp_path / "s"
    report = run_harness(str(data / "stop-hangs-and-forks.sh"), {"state": str(state)}, timeout=2)
    stop = report.check("stop")
    assert not stop.ok
    assert "timed out after 2s" in stop.detail
    assert "sleep 300" in stop.detail
    assert 1.5 < stop.seconds < 20
    assert report.check("monitor of a stopped resource").skipped
    assert pid_gone(state.with_name("s.hung"))


def test_setsid_child_left_after_stop_is_caught_and_killed(data, tmp_path):
    """A start whose daemon escapes with setsid and survives stop fails the leftover check."""
    state = tmp_path / "s"
    report = run_harness(str(data / "leaves-setsid-child.sh"), {"state": str(state)})
    assert failed(report) == {"nothing left after stop", "stop after restart"}, report.summary()
    assert "sleep 300" in report.check("nothing left after stop").detail
    assert pid_gone(state.with_name("s.child"))
    assert report.check("nothing left at the end").ok


def test_probe_without_binaries_uses_ocf_tester_switch(data, tmp_path):
    """OCF scripts get OCF_TESTER_FAIL_HAVE_BINARY=1 for the probe without binaries."""
    script = tmp_path / "needs-binary.sh"
    script.write_text(
        f'#!/bin/sh\n[ "$1" = monitor ] && [ -n "$OCF_TESTER_FAIL_HAVE_BINARY" ] && exit 1\n'
        f'. {data}/ocf-agent.sh\n')
    script.chmod(0o755)
    report = run_harness(str(script), {"state": str(tmp_path / "s")})
    assert failed(report) == {"probe without binaries"}, report.summary()


def test_nothing_of_the_runs_is_left_running(data, tmp_path):
    """After the lying runs above, no process of theirs survives (bounded look)."""
    run_harness(str(data / "leaves-setsid-child.sh"), {"state": str(tmp_path / "s")})
    assert not [p for p in live_pids_with("sleep 300") if _env_has(p, str(tmp_path))]


def _env_has(pid: int, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return text.encode() in handle.read()
    except OSError:
        return False
