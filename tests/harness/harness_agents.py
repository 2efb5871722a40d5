"""Native test agents for the harness tests: one that follows the rules and one per lie.

Their resource is a state file (parameter ``state``); the daemon-like ones also start a
``sleep`` and note its pid next to the state file so the tests can check it is gone.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from hacore.agent import Agent, Param, Result

STATE = Param("state", "File that exists while the resource runs", required=True)


class HonestAgent(Agent):
    name = "honest"
    shortdesc = "A state file, by the rules"
    parameters = (STATE,)

    @property
    def state(self) -> Path:
        return Path(self.params["state"])

    def start(self) -> Result:
        self.state.touch()
        return Result.ok()

    def stop(self) -> Result:
        self.state.unlink(missing_ok=True)
        return Result.ok()

    def monitor(self) -> Result:
        return Result.ok() if self.state.exists() else Result.not_running()


class StopFailsWhenStopped(HonestAgent):
    name = "stop-fails-when-stopped"

    def stop(self) -> Result:
        if not self.state.exists():
            return Result.error(reason="nothing to stop")
        return super().stop()


class MonitorAlwaysRunning(HonestAgent):
    name = "monitor-always-running"

    def monitor(self) -> Result:
        return Result.ok()


class StartDoesNothing(HonestAgent):
    name = "start-does-nothing"

    def start(self) -> Result:
        return Result.ok()


class StopHangsAndForks(HonestAgent):
    name = "stop-hangs-and-forks"

    def stop(self) -> Result:
        child = subprocess.Popen(["sleep", "300"])
        Path(str(self.state) + ".hung").write_text(str(child.pid))
        time.sleep(300)
        return Result.ok()


class LeavesSetsidChild(HonestAgent):
    name = "leaves-setsid-child"

    def start(self) -> Result:
        if not self.state.exists():
            child = subprocess.Popen(["sleep", "300"], start_new_session=True,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            Path(str(self.state) + ".child").write_text(str(child.pid))
        return super().start()


class NeedsBinary(HonestAgent):
    """Monitors through a binary; without it, a probe says not installed."""

    name = "needs-binary"

    def monitor(self) -> Result:
        import shutil

        if shutil.which("true") is None:
            return Result.error(5, "the true command is not installed")  # type: ignore[arg-type]
        return super().monitor()


class ProbeFailsWithoutBinary(HonestAgent):
    """Crashes when its binary is missing: a probe must not do that."""

    name = "probe-fails-without-binary"

    def monitor(self) -> Result:
        subprocess.run(["true"], check=True)
        return super().monitor()


def pid_gone(pid_file: Path, budget: float = 10.0) -> bool:
    """True once the process named in ``pid_file`` is gone or a zombie (bounded wait)."""
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            return True
        if stat.rsplit(b")", 1)[-1].split()[0] in (b"Z", b"X"):
            return True
        time.sleep(0.05)
    return False


def live_pids_with(text: str) -> list[int]:
    """Live processes whose command line contains ``text``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[-1].split()[0]
        except OSError:
            continue
        if text in cmdline and state not in (b"Z", b"X"):
            found.append(int(entry))
    return found
