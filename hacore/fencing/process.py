"""Run one fence agent process: stdin in, output out, its own process group, a hard timeout.

At the timeout the whole process group is killed with SIGKILL (a fence agent that hangs on
an unreachable device must not outlive its budget, nor leave children behind). After a
normal exit any process left in the group is killed too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass

OUTPUT_CAP = 64 * 1024
#: how long to wait for the pipes to close after the group was killed
DRAIN_WAIT = 5.0


@dataclass(frozen=True)
class ProcessResult:
    """How a fence agent process ended. ``exit_status`` is negative for a signal, None when
    it could not be started; ``killed`` says the group was killed (timeout or leftovers)."""

    exit_status: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration: float
    killed: bool = False
    error: str = ""


def _kill_group(pgid: int) -> bool:
    try:
        os.killpg(pgid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _text(data: bytes | None) -> str:
    return (data or b"")[:OUTPUT_CAP].decode("utf-8", "replace")


def run_agent_process(argv: list[str], stdin: str, timeout: float,
                      env: dict[str, str] | None = None) -> ProcessResult:
    """Run ``argv`` with ``stdin``; kill its process group after ``timeout`` seconds."""
    started = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, env=env,
                                cwd="/", close_fds=True)
    except OSError as exc:
        return ProcessResult(None, "", "", False, time.monotonic() - started,
                             error=f"cannot run {argv[0]}: {exc.strerror or exc}")
    timed_out = killed = False
    try:
        out, err = proc.communicate(stdin.encode(), timeout=max(timeout, 0.001))
    except subprocess.TimeoutExpired:
        timed_out = True
        killed = _kill_group(proc.pid)  # the leader is not reaped yet: the pgid is ours
        try:
            out, err = proc.communicate(timeout=DRAIN_WAIT)
        except subprocess.TimeoutExpired:  # a child escaped the group and holds the pipes
            proc.kill()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            proc.wait(timeout=DRAIN_WAIT)
            out, err = b"", b""
    else:
        # while any member of the group lives, its id cannot be reused: killing is safe
        killed = _kill_group(proc.pid)
    return ProcessResult(proc.returncode, _text(out), _text(err), timed_out,
                         time.monotonic() - started, killed)
