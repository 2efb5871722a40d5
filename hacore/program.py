"""Run a helper program (a fence agent, an alert script): stdin in, output out, its own
process group, a hard timeout.

At the timeout the whole process group is killed with SIGKILL (a fence agent that hangs on
an unreachable device must not outlive its budget, nor leave children behind). After a
normal exit any process left in the group is killed too.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import IO

OUTPUT_CAP = 64 * 1024
STDIN_CAP = 32 * 1024
#: how long to wait for the killed agent to be reaped
KILL_WAIT = 10.0


@dataclass(frozen=True)
class ProcessResult:
    """How the program ended. ``exit_status`` is negative for a signal, None when
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


def _read(handle: IO[bytes]) -> str:
    handle.seek(0)
    return handle.read(OUTPUT_CAP).decode("utf-8", "replace")


def wait_for_exit(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until ``proc`` exits and reap it; subprocess.TimeoutExpired after ``timeout``.

    Woken by the process's exit through a pidfd (Linux 5.3+): Popen.wait(timeout) polls with
    sleeps doubling up to 50 ms, which made a fence agent that ends after 65 ms count as
    113 ms. Falls back to Popen.wait where pidfd_open is missing."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # an old kernel or Python, or already reaped
        proc.wait(timeout=timeout)
        return
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while not poller.poll(max(0, math.ceil((deadline - time.monotonic()) * 1000))):
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        os.close(pidfd)
    proc.wait()  # it has exited: this reaps it at once


def run_agent_process(argv: list[str], stdin: str, timeout: float,
                      env: dict[str, str] | None = None) -> ProcessResult:
    """Run ``argv`` with ``stdin``; kill its process group after ``timeout`` seconds.

    Output goes to unlinked temporary files, not pipes, so a child left holding them cannot
    make hacore wait: the agent's own exit ends the call, and leftovers are killed.
    """
    started = time.monotonic()
    data = stdin.encode()
    if len(data) > STDIN_CAP:  # more would block the write when the agent does not read
        return ProcessResult(None, "", "", False, 0.0,
                             error=f"{len(data)} bytes of options exceed {STDIN_CAP}")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err,
                                    start_new_session=True, env=env, cwd="/", close_fds=True)
        except OSError as exc:
            return ProcessResult(None, "", "", False, time.monotonic() - started,
                                 error=f"cannot run {argv[0]}: {exc.strerror or exc}")
        assert proc.stdin is not None
        try:
            proc.stdin.write(data)  # at most STDIN_CAP: fits the pipe buffer, never blocks
            proc.stdin.close()
        except BrokenPipeError:  # it exited without reading: its exit status tells
            with contextlib.suppress(OSError):
                proc.stdin.close()
        timed_out = False
        try:
            wait_for_exit(proc, max(timeout - (time.monotonic() - started), 0.001))
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)  # the leader is not reaped yet: the group id is still ours
            killed = True
            try:
                proc.wait(timeout=KILL_WAIT)
            except subprocess.TimeoutExpired:  # stuck in the kernel (D state): report, go on
                return ProcessResult(None, _read(out), _read(err), True,
                                     time.monotonic() - started, True,
                                     error=f"pid {proc.pid} did not die after SIGKILL")
        else:
            # while any member of the group lives, its id cannot be reused: killing is safe
            killed = _kill_group(proc.pid)
        return ProcessResult(proc.returncode, _read(out), _read(err), timed_out,
                             time.monotonic() - started, killed)
