"""``pidfile-daemon``: start, watch and stop a daemon that keeps a pid file.

The pattern fits most real services: start launches the daemon in a session of its own and
waits until its pid file names a live process; monitor reads the pid file; stop sends SIGTERM,
waits, then SIGKILL. Every method is idempotent, as the OCF rules demand.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

from hacore.agent import OCF, Agent, AgentFailure, Param, Result

DAEMON_MODULE = "hacore_example_agent.daemon"


class PidfileDaemon(Agent):
    name = "pidfile-daemon"
    shortdesc = "A small daemon that keeps a pid file"
    longdesc = ("Starts python -m hacore_example_agent.daemon, which writes PIDFILE and sleeps "
                "until SIGTERM. An example of a third-party hacore agent.")
    version = "0.1.0"
    parameters = (
        Param("pidfile", "Pid file of the daemon (an absolute path)", required=True,
              unique_group="pidfile"),
        Param("stop_grace", "Seconds between SIGTERM and SIGKILL on stop", type="integer",
              default=5),
    )
    timeouts: ClassVar[dict[str, float]] = {"start": 10.0, "stop": 15.0, "monitor": 5.0, "validate": 5.0}
    monitor_interval = 10.0
    monitor_depths = (0, 10)

    @property
    def pidfile(self) -> Path:
        return Path(self.params["pidfile"])

    def validate(self) -> Result:
        if not self.pidfile.is_absolute():
            return Result.error(OCF.ERR_CONFIGURED, f"pidfile {self.pidfile} is not an absolute path")
        if not self.pidfile.parent.is_dir():
            return Result.error(OCF.ERR_ARGS, f"directory {self.pidfile.parent} does not exist here")
        if self.params["stop_grace"] < 0:
            return Result.error(OCF.ERR_CONFIGURED, "stop_grace must be 0 or more seconds")
        return Result.ok()

    def start(self) -> Result:
        checked = self.validate()
        if not checked.success:
            return checked
        if self._running_pid() is not None:
            return Result.ok("already running")
        self.pidfile.unlink(missing_ok=True)  # a stale pid file from a crash
        subprocess.Popen([sys.executable, "-m", DAEMON_MODULE, str(self.pidfile)],
                         start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
        deadline = time.monotonic() + max(1.0, self.context.timeout - 1.0)
        while time.monotonic() < deadline:
            if self._running_pid() is not None:
                return Result.ok()
            time.sleep(0.02)
        return Result.error(reason=f"the daemon did not write {self.pidfile} in time")

    def monitor(self) -> Result:
        if not self.pidfile.exists():
            return Result.not_running()
        pid = self._running_pid()
        if pid is None:
            return Result.error(reason=f"{self.pidfile} names no live daemon: it crashed")
        if self.context.depth >= 10 and _state(pid) == "T":
            return Result.error(reason=f"daemon {pid} is stopped (SIGSTOP)")
        return Result.ok()

    def stop(self) -> Result:
        pid = self._running_pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return Result.ok()
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, self.params["stop_grace"]):
            os.kill(pid, signal.SIGKILL)
            if not _wait_gone(pid, max(1.0, self.context.timeout / 2)):
                raise AgentFailure(OCF.ERR_GENERIC, f"daemon {pid} survived SIGKILL")
        self.pidfile.unlink(missing_ok=True)
        return Result.ok()

    def _running_pid(self) -> int | None:
        """The daemon's pid when the pid file names a live daemon of ours, else None."""
        try:
            pid = int(self.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        if DAEMON_MODULE.encode() not in cmdline or _state(pid) in ("Z", "X", None):
            return None
        return pid


def _state(pid: int) -> str | None:
    """The process state letter from /proc (R, S, T, Z, ...), None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[0]


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _state(pid) in (None, "Z", "X"):
            return True
        time.sleep(0.02)
    return _state(pid) in (None, "Z", "X")
