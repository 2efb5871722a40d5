"""The mysql agent with Debian's real mariadbd on a unix socket in a temporary directory."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import psutil
import pytest

from hacore.agent import OCF
from hacore.executor import OperationRequest, run_operation

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists("/usr/sbin/mariadbd"), reason="Debian's mariadb-server is not installed"
    ),
]


class Instance:
    """One server under test, and a kill of whatever it left at the end."""

    def __init__(self, base: Path, name: str) -> None:
        self.instance = f"{name}-{os.getpid()}"
        self.run_dir = base / f"{name}-run"
        self.datadir = base / f"{name}-data"
        self.params = {
            "datadir": str(self.datadir),
            "run_dir": str(self.run_dir),
            "init_datadir": "1",
        }

    def op(self, action: str, depth: int = 0, interval: float = 0.0, **override: str):
        return run_operation(
            OperationRequest(
                "mysql",
                action,
                self.instance,
                params={**self.params, **override},
                timeout=60.0,
                depth=depth,
                interval=interval,
            )
        )

    def pid(self) -> int | None:
        try:
            return int((self.run_dir / "mysqld.pid").read_text())
        except (OSError, ValueError):
            return None

    def query(self, sql: str) -> str:
        return subprocess.run(
            [
                "mariadb",
                "--no-defaults",
                "-S",
                str(self.run_dir / "mysqld.sock"),
                "-u",
                "root",
                "-N",
                "-B",
                "-e",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()

    def kill(self) -> None:
        pid = self.pid()
        if pid is not None:
            try:
                proc = psutil.Process(pid)
                if proc.name() in ("mariadbd", "mysqld"):
                    proc.kill()
            except psutil.Error:
                pass


@pytest.fixture(scope="module")
def server():
    """One initialised instance shared by the module (initialising takes seconds)."""
    base = Path(tempfile.mkdtemp(prefix="hacore-mysql-"))
    base.chmod(0o755)
    inst = Instance(base, "db")
    try:
        yield inst
    finally:
        inst.kill()
        shutil.rmtree(base, ignore_errors=True)


def test_start_initialises_empty_datadir_and_answers(server):
    """With init_datadir an empty datadir is created; start returns once SELECT 1 answers."""
    fresh = Instance(server.datadir.parent, "fresh")
    try:
        result = fresh.op("start")
        assert result.code == OCF.SUCCESS, result.reason
        assert (fresh.datadir / "mysql").is_dir()
        assert fresh.query("SELECT 40 + 2") == "42"
        assert fresh.op("start").code == OCF.SUCCESS
        assert fresh.op("monitor", interval=60).code == OCF.SUCCESS
        assert fresh.op("monitor", depth=10, interval=60).code == OCF.SUCCESS
        assert fresh.query("SELECT @@skip_networking") == "1"
        assert fresh.op("stop").code == OCF.SUCCESS
    finally:
        fresh.kill()


def test_stop_shuts_down_cleanly(server):
    """stop ends the server cleanly: the process goes, monitor says stopped, stop repeats."""
    assert server.op("start").code == OCF.SUCCESS
    proc = psutil.Process(server.pid())
    result = server.op("stop")
    assert result.code == OCF.SUCCESS and "killed" not in result.reason
    psutil.wait_procs([proc], timeout=30)
    assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    assert "Shutdown complete" in (server.run_dir / "error.log").read_text()
    assert server.op("monitor", interval=60).code == OCF.NOT_RUNNING
    assert server.op("stop").code == OCF.SUCCESS


def test_crash_fails_monitor_and_start_recovers(server):
    """After SIGKILL, monitor reports the crash; stop cleans up and start brings it back."""
    assert server.op("start").code == OCF.SUCCESS
    proc = psutil.Process(server.pid())
    proc.send_signal(signal.SIGKILL)
    psutil.wait_procs([proc], timeout=30)
    result = server.op("monitor", interval=60)
    assert result.code == OCF.ERR_GENERIC and "crashed" in result.reason
    assert server.op("stop").code == OCF.SUCCESS
    assert server.op("start").code == OCF.SUCCESS
    assert server.op("monitor", depth=10).code == OCF.SUCCESS
    assert server.op("stop").code == OCF.SUCCESS


def test_hung_server_is_killed_after_shutdown_wait(server):
    """A server that cannot shut down (SIGSTOPped) is killed once shutdown_wait has passed."""
    assert server.op("start").code == OCF.SUCCESS
    proc = psutil.Process(server.pid())
    proc.send_signal(signal.SIGSTOP)
    try:
        result = server.op("monitor", depth=10, monitor_password="", interval=60)
        assert result.code == OCF.ERR_GENERIC and "SELECT 1" in result.reason
        result = server.op("stop", shutdown_wait="1")
        assert result.code == OCF.SUCCESS
        assert f"killed pid {proc.pid}" in result.reason
    finally:
        try:
            proc.send_signal(signal.SIGCONT)
        except psutil.Error:
            pass


def test_passes_the_conformance_harness(server, agent_harness):
    """The mysql agent passes `hacore-agent test` with an initialised datadir."""
    agent_harness.assert_passes("mysql", params=server.params, instance=server.instance)


def test_uninitialised_datadir_and_missing_binary(tmp_path):
    """An empty datadir without init_datadir, or no server binary: reasons, no traceback."""
    inst = Instance(tmp_path, "empty")
    result = inst.op("start", init_datadir="0")
    assert result.code == OCF.ERR_ARGS and "init_datadir=1" in result.reason
    result = inst.op("start", mysqld="/usr/sbin/no-such-mysqld")
    assert result.code == OCF.ERR_INSTALLED and "/usr/sbin/no-such-mysqld" in result.reason
