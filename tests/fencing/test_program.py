"""Running a helper program under a hard timeout (fence agents, alert scripts)."""

from __future__ import annotations

import time
from pathlib import Path

from hacore.fencing import fence_node
from hacore.program import run_agent_process

from .helpers import one_node, pid_alive, read_log


def _wait_dead(pids: list[int], bound: float = 10.0) -> bool:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def test_hanging_device_is_killed_with_its_process_group(recorder: Path, tmp_path: Path) -> None:
    """A device that hangs is killed at its timeout, its child too; the fence is not confirmed."""
    log, pids = tmp_path / "log", tmp_path / "pids"
    config = one_node([[("hang", {})]],
                      {"hang": (str(recorder), {"log": str(log), "mode": "hang",
                                                "childpid": str(pids), "label": "hang",
                                                "hacore_retries": "0"})},
                      fence_timeout=1.0)
    started = time.monotonic()
    outcome = fence_node(config, "n1", "off")
    assert time.monotonic() - started < 30  # generous: the timeout is 1 s
    assert not outcome.confirmed and not outcome.ok
    reply = outcome.devices[0]
    assert reply.timed_out and reply.exit_status is not None and reply.exit_status < 0
    assert "timed out after 1 s" in reply.message
    child, agent = (int(x) for x in pids.read_text().split())
    assert _wait_dead([child, agent]), "the agent or its child outlived the timeout"
    assert read_log(log) == ["hang off n1 - -"]


def test_device_timeout_parameter_overrides_fence_timeout(recorder: Path, tmp_path: Path) -> None:
    """hacore_timeout on the device bounds one call, and is not sent to the agent."""
    log, pids = tmp_path / "log", tmp_path / "pids"
    config = one_node([[("hang", {"hacore_timeout": "0.5", "hacore_retries": "0"})]],
                      {"hang": (str(recorder), {"log": str(log), "mode": "hang",
                                                "childpid": str(pids)})},
                      fence_timeout=120.0)
    outcome = fence_node(config, "n1", "off")
    assert outcome.devices[0].timed_out
    assert "timed out after 0.5 s" in outcome.devices[0].message
    assert outcome.duration < 60


def test_leftover_children_are_killed_after_a_normal_exit(tmp_path: Path) -> None:
    """A child left behind in the agent's process group is killed when the agent exits."""
    pidfile = tmp_path / "child"
    script = f"sleep 300 & echo $! > {pidfile}; exit 0"
    result = run_agent_process(["/bin/sh", "-c", script + " >/dev/null 2>&1"], "", 30.0)
    assert result.exit_status == 0 and not result.timed_out
    assert result.killed
    assert _wait_dead([int(pidfile.read_text())])


def test_a_missing_program_is_an_error_not_an_exception(tmp_path: Path) -> None:
    """Running a program that does not exist returns an error result."""
    result = run_agent_process([str(tmp_path / "nothing")], "", 5.0)
    assert result.exit_status is None and "cannot run" in result.error


def test_oversized_options_are_refused_before_running() -> None:
    """More than 32 KiB of options is refused (the write could block) and nothing runs."""
    result = run_agent_process(["/bin/true"], "x=" + "y" * 40000 + "\n", 5.0)
    assert result.exit_status is None and "exceed" in result.error


def test_an_agent_that_ignores_stdin_still_reports_its_exit(tmp_path: Path) -> None:
    """An agent that exits without reading stdin gives its exit status, not an error."""
    result = run_agent_process(["/bin/sh", "-c", "echo 'Failed: nope' >&2; exit 1"], "a=b\n", 10.0)
    assert result.exit_status == 1 and "Failed: nope" in result.stderr and not result.error


def test_wait_for_exit_reaps_an_ended_program_and_times_out_a_running_one(monkeypatch):
    """wait_for_exit returns once the program exited (reaped, exit status known), raises
    TimeoutExpired while it runs, and does the same without pidfds (the fallback)."""
    import os
    import subprocess

    import pytest

    from hacore.program import wait_for_exit

    for pidfds in (True, False):
        if not pidfds:
            def no_pidfd(pid: int) -> int:
                raise OSError("no pidfd here")

            monkeypatch.setattr(os, "pidfd_open", no_pidfd)
        quick = subprocess.Popen(["sh", "-c", "exit 3"])
        wait_for_exit(quick, 30)
        assert quick.returncode == 3
        slow = subprocess.Popen(["sleep", "30"])
        try:
            with pytest.raises(subprocess.TimeoutExpired):
                wait_for_exit(slow, 0.2)
            assert slow.poll() is None
        finally:
            slow.kill()
            slow.wait(10)
