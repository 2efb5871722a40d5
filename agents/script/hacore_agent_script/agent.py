"""Run ``FILE start|stop|status`` and read the exit status the way LSB defines it."""

from __future__ import annotations

import os
import subprocess
import tempfile
from typing import ClassVar

from hacore.agent import OCF, Agent, AgentFailure, Param, Result
from hacore.agent import lsb_action_to_ocf as lsb_action_code
from hacore.agent import lsb_status_to_ocf as lsb_status_code

OUTPUT_TAIL = 400


def run_script(path: str, action: str) -> tuple[int, str]:
    """Run ``path action``; return its exit status and the tail of its output.

    Output goes to a temporary file, not a pipe: a script that starts a daemon which keeps
    the inherited stdout open would otherwise hold us until the daemon ends.
    """
    with tempfile.TemporaryFile() as output:
        try:
            proc = subprocess.run(
                [path, action],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        except PermissionError:
            raise AgentFailure(
                OCF.ERR_PERM, f"script {path} is not executable (chmod +x {path})"
            ) from None
        except FileNotFoundError:
            raise AgentFailure(OCF.ERR_INSTALLED, f"script {path} does not exist") from None
        except OSError as exc:
            raise AgentFailure(
                OCF.ERR_INSTALLED, f"script {path} cannot be run: {exc.strerror}"
            ) from None
        output.seek(0)
        text = output.read().decode("utf-8", "replace").strip()
    tail = text[-OUTPUT_TAIL:].splitlines()[-1] if text else ""
    status = proc.returncode
    if status < 0:
        status = 128 - status  # killed by a signal, as a shell would report it
    return status, tail


def describe(path: str, action: str, status: int, tail: str) -> str:
    said = f": {tail}" if tail else " (it printed nothing)"
    return f"script {path} {action} exited {status}{said}"


class ScriptResource(Agent):
    """rgmanager's ``script`` resource with the LSB exit-code mapping of ``lsb:`` agents."""

    name = "script"
    shortdesc = "An LSB-style script run with start, stop and status"
    longdesc = (
        "Runs FILE start, FILE stop and FILE status, as rgmanager's script resource did. "
        "Exit codes follow LSB: status 0 means running, 1, 2 and 3 mean not running, "
        "anything else is an error; start and stop pass 0..7 through as OCF codes. "
        "A stop that fails while status says the script's service is not running counts "
        "as stopped, so a script that cannot stop twice does not fail a relocation."
    )
    parameters = (
        Param(
            "file",
            "Path of the LSB-style script",
            required=True,
            longdesc="Absolute path of an executable taking start, stop and status.",
        ),
    )
    timeouts: ClassVar[dict[str, float]] = {
        "start": 60.0,
        "stop": 60.0,
        "monitor": 30.0,
        "validate": 10.0,
    }
    monitor_interval = 30.0

    @property
    def file(self) -> str:
        return self.params["file"]

    def _check_file(self) -> None:
        path = self.file
        if not os.path.isabs(path):
            raise AgentFailure(
                OCF.ERR_CONFIGURED,
                f"file={path!r} is not an absolute path (write /etc/init.d/NAME)",
            )
        if not os.path.exists(path):
            raise AgentFailure(OCF.ERR_INSTALLED, f"script {path} does not exist on this host")
        if not os.path.isfile(path):
            raise AgentFailure(OCF.ERR_INSTALLED, f"script {path} is not a regular file")
        if not os.access(path, os.X_OK):
            raise AgentFailure(OCF.ERR_PERM, f"script {path} is not executable (chmod +x {path})")

    def validate(self) -> Result:
        self._check_file()
        return Result.ok()

    def start(self) -> Result:
        self._check_file()
        status, tail = run_script(self.file, "start")
        if status == 0:
            return Result.ok()
        return Result.error(lsb_action_code(status), describe(self.file, "start", status, tail))

    def stop(self) -> Result:
        if os.path.isabs(self.file) and not os.path.exists(self.file):
            # nothing can be running from a script that is not there
            return Result.ok(f"script {self.file} does not exist: nothing to stop")
        self._check_file()
        status, tail = run_script(self.file, "stop")
        if status == 0:
            return Result.ok()
        after, _after_tail = run_script(self.file, "status")
        if lsb_status_code(after) == OCF.NOT_RUNNING:
            return Result.ok(
                f"{describe(self.file, 'stop', status, tail)}, but status exited "
                f"{after}: not running"
            )
        code = lsb_action_code(status)
        return Result.error(
            code if code != OCF.NOT_RUNNING else OCF.ERR_GENERIC,
            describe(self.file, "stop", status, tail),
        )

    def monitor(self) -> Result:
        if not os.path.exists(self.file) and self.context.probe:
            return Result.not_running(f"script {self.file} does not exist on this host")
        self._check_file()
        status, tail = run_script(self.file, "status")
        code = lsb_status_code(status)
        if code == OCF.SUCCESS:
            return Result.ok()
        return Result(code, describe(self.file, "status", status, tail))
