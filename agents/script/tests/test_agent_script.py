"""The script agent against real LSB-style scripts written by each test."""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from hacore.agent import OCF
from hacore.executor import OperationRequest, run_operation

STATE_SCRIPT = """\
#!/bin/sh
# an LSB-style script whose service is a state file
STATE="{state}"
case "$1" in
  start) touch "$STATE"; exit 0 ;;
  stop) rm -f "$STATE"; exit 0 ;;
  status) [ -e "$STATE" ] && exit 0; exit 3 ;;
  *) exit 2 ;;
esac
"""


def write_script(path: Path, body: str) -> str:
    path.write_text(textwrap.dedent(body))
    path.chmod(0o755)
    return str(path)


def op(action: str, file: str, timeout: float = 20.0, interval: float = 0.0):
    return run_operation(
        OperationRequest(
            "script",
            action,
            "test-script",
            params={"file": file},
            timeout=timeout,
            interval=interval,
        )
    )


@pytest.fixture
def state_script(tmp_path: Path) -> tuple[str, Path]:
    state = tmp_path / "running"
    return write_script(tmp_path / "svc", STATE_SCRIPT.format(state=state)), state


def test_start_monitor_stop_cycle(state_script):
    """start makes status 0 (running), stop makes status 3 map to NOT_RUNNING."""
    script, state = state_script
    assert op("monitor", script).code == OCF.NOT_RUNNING
    assert op("start", script).code == OCF.SUCCESS
    assert state.exists()
    assert op("monitor", script).code == OCF.SUCCESS
    assert op("start", script).code == OCF.SUCCESS
    assert op("stop", script).code == OCF.SUCCESS
    assert not state.exists()
    assert op("monitor", script).code == OCF.NOT_RUNNING
    assert op("stop", script).code == OCF.SUCCESS


@pytest.mark.parametrize(
    "status,expected",
    [(1, OCF.NOT_RUNNING), (2, OCF.NOT_RUNNING), (4, OCF.ERR_GENERIC), (42, OCF.ERR_GENERIC)],
)
def test_status_codes_follow_lsb(tmp_path, status, expected):
    """status 1/2/3 mean not running, 4 and unknown codes are errors with the script's words."""
    script = write_script(tmp_path / "s", f"#!/bin/sh\necho status says {status}\nexit {status}\n")
    result = op("monitor", script)
    assert result.code == expected
    assert f"exited {status}" in result.reason and f"status says {status}" in result.reason


def test_failed_start_reports_exit_code_and_output(tmp_path):
    """A start exiting 6 is ERR_CONFIGURED and the reason quotes the script's last line."""
    script = write_script(tmp_path / "s", "#!/bin/sh\necho config /etc/x missing >&2\nexit 6\n")
    result = op("start", script)
    assert result.code == OCF.ERR_CONFIGURED
    assert "config /etc/x missing" in result.reason


def test_missing_script_is_not_installed(tmp_path):
    """A file that does not exist: start fails ERR_INSTALLED naming it; a probe says stopped."""
    missing = str(tmp_path / "nope")
    result = op("start", missing)
    assert result.code == OCF.ERR_INSTALLED
    assert missing in result.reason and "Traceback" not in result.reason
    assert op("validate", missing).code == OCF.ERR_INSTALLED
    assert op("monitor", missing).code == OCF.NOT_RUNNING
    assert op("stop", missing).code == OCF.SUCCESS


def test_not_executable_and_relative_path(tmp_path):
    """A non-executable script is ERR_PERM; a relative path can never work: ERR_CONFIGURED."""
    path = tmp_path / "s"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o644)
    result = op("start", str(path))
    assert result.code == OCF.ERR_PERM and "chmod +x" in result.reason
    assert op("validate", "init.d/foo").code == OCF.ERR_CONFIGURED


def test_stop_failing_when_already_stopped_counts_as_stopped(tmp_path):
    """A script whose stop fails while status says not running: stop succeeds."""
    script = write_script(
        tmp_path / "s",
        """\
        #!/bin/sh
        case "$1" in stop) echo not running; exit 1 ;; status) exit 3 ;; esac
        exit 0
        """,
    )
    result = op("stop", script)
    assert result.code == OCF.SUCCESS
    assert "not running" in result.reason


def test_stop_failing_while_running_fails(tmp_path):
    """A stop that fails while status still says running is a failed stop."""
    script = write_script(
        tmp_path / "s",
        """\
        #!/bin/sh
        case "$1" in stop) echo device busy; exit 1 ;; status) exit 0 ;; esac
        exit 0
        """,
    )
    result = op("stop", script)
    assert result.code == OCF.ERR_GENERIC
    assert "device busy" in result.reason


def test_daemon_holding_stdout_does_not_hold_start(tmp_path):
    """A script that leaves a daemon with its stdout open still returns from start."""
    pidfile = tmp_path / "pid"
    script = write_script(
        tmp_path / "s",
        f"""\
        #!/bin/sh
        case "$1" in
          start) sleep 300 & echo $! > {pidfile}; echo started; exit 0 ;;
          stop) [ -e {pidfile} ] && kill $(cat {pidfile}); rm -f {pidfile}; exit 0 ;;
          status) [ -e {pidfile} ] && kill -0 $(cat {pidfile}) 2>/dev/null && exit 0; exit 3 ;;
        esac
        """,
    )
    try:
        began = time.monotonic()
        result = op("start", script, timeout=30.0)
        assert result.code == OCF.SUCCESS, result.reason
        assert time.monotonic() - began < 25.0
        assert op("monitor", script).code == OCF.SUCCESS
        assert op("stop", script).code == OCF.SUCCESS
        assert op("monitor", script).code == OCF.NOT_RUNNING
    finally:
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), 9)
            except (ProcessLookupError, ValueError):
                pass


def test_cli_run_prints_reason_without_traceback(tmp_path):
    """`hacore agent run script monitor` on a broken script exits 1 with the reason."""
    script = write_script(tmp_path / "s", "#!/bin/sh\necho lock is stale\nexit 4\n")
    proc = subprocess.run(
        ["hacore", "agent", "run", "script", "monitor", "-p", f"file={script}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "lock is stale" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_passes_the_conformance_harness(agent_harness, state_script):
    """The script agent passes `hacore-agent test` with an LSB-style script."""
    script, _ = state_script
    agent_harness.assert_passes("script", params={"file": script})
