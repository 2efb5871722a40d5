"""Start one operation in a forked child and follow it to its end or its timeout.

The caller's loop watches ``RunningOperation.fds`` and calls ``on_readable`` / ``finish``;
``run_operation`` is that loop for a single operation, used by the CLI and the harness.
The warm helper (forkserver) runs the same objects for many operations at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import time
from pathlib import Path

from hacore.agent.base import OperationContext
from hacore.agent.codes import OCF
from hacore.agent.registry import NativeAgent
from hacore.agent.scripts import ScriptAgent
from hacore.executor import cgroups, launcher
from hacore.executor.child import (
    DEFAULT_SIGNALS,
    cannot_execute,
    enter_isolation,
    exec_script,
    run_native,
)
from hacore.executor.operation import KILL_WAIT, OUTPUT_CAP, OperationRequest, OperationResult

REASON_PREFIX = "ocf-exit-reason:"


def _nonblocking_pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    flags = fcntl.fcntl(read_fd, fcntl.F_GETFL)
    fcntl.fcntl(read_fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    return read_fd, write_fd


def _close_inherited(*keep: int) -> list[tuple[int, int]]:
    """posix_spawn actions closing what the caller left inheritable (only 0-2 reach a script)."""
    actions = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and fd not in keep and os.get_inheritable(fd):
                actions.append((os.POSIX_SPAWN_CLOSE, fd))
        except OSError:
            continue  # the directory listing's own descriptor, closed by now
    return actions


class RunningOperation:
    """A forked operation: its pipes, its pidfd, its deadline, its output so far."""

    def __init__(self, request: OperationRequest, handle: NativeAgent | ScriptAgent,
                 tree: cgroups.CgroupTree) -> None:
        self.request = request
        self.handle = handle
        self.tree = tree
        self.group: Path | None = None
        self.buffers: dict[int, bytearray] = {}
        self.names: dict[int, str] = {}
        self.pid = -1
        self.pidfd = -1
        self.started = 0.0
        self.deadline = 0.0
        self.exit_status: int | None = None
        self.spawn = ""  # how the child was made: launcher, posix_spawn or fork
        self.closed: set[int] = set()  # pipes at their end

    def start(self) -> None:
        request = self.request
        ctx = OperationContext(request.action, request.timeout, request.interval, request.depth)
        argv: list[str] = []
        env: dict[str, str] = {}
        if isinstance(self.handle, ScriptAgent):
            argv = self.handle.argv(request.action)
            env = self.handle.environment(request.params, request.instance, ctx)
            env.update(request.env)
        out_r, out_w = _nonblocking_pipe()
        err_r, err_w = _nonblocking_pipe()
        self.names = {out_r: "stdout", err_r: "stderr"}
        res_w = -1
        if not argv:  # a native agent sends its Result through a third pipe
            res_r, res_w = _nonblocking_pipe()
            self.names[res_r] = "result"
        self.buffers = {fd: bytearray() for fd in self.names}
        self.group = self.tree.operation_group(request.instance)
        self.started = time.monotonic()
        self.deadline = self.started + request.timeout
        pid = -1
        if argv:
            pid = self._launch_script(argv, env, out_w, err_w)
        # Without a cgroup, posix_spawn (vfork speed) is safe; with one, the child must be born
        # inside it (clone3), or a script could fork a setsid'd child before being moved.
        if pid < 0 and argv and self.group is None:
            pid = self._spawn_script(argv, env, out_w, err_w)
        if pid < 0:
            self.spawn = "fork"
            pid = self._fork(request, ctx, argv, env, out_w, err_w, res_w)
        self.pid = pid
        try:
            os.setpgid(pid, pid)  # also done in the child; whichever runs first wins the race
        except OSError:
            pass
        for fd in (out_w, err_w, res_w):
            if fd >= 0:
                os.close(fd)
        self.pidfd = os.pidfd_open(pid)

    def _launch_script(self, argv: list[str], env: dict[str, str], out_w: int, err_w: int) -> int:
        """Start a script through the compiled launcher, born in its cgroup; -1 without it."""
        launch = launcher.load()
        if launch is None:
            return -1
        group_fd = -1
        try:
            if self.group is not None:
                group_fd = self.tree.directory_fd(self.group)
            pid, exec_errno = launch.spawn(argv, env, group_fd, out_w, err_w,
                                           int(OCF.ERR_INSTALLED), int(OCF.ERR_PERM))
        except OSError:
            return -1  # no child made (an old kernel without clone3): the Python path runs it
        finally:
            if group_fd >= 0 and not self.tree.reuse_groups:
                os.close(group_fd)
        if exec_errno:
            os.write(err_w, cannot_execute(argv[0], exec_errno).encode())
        self.spawn = "launcher"
        return pid

    def _spawn_script(self, argv: list[str], env: dict[str, str], out_w: int, err_w: int) -> int:
        """posix_spawn a script in its own process group; -1 if it cannot start."""
        try:
            pid = os.posix_spawn(argv[0], argv, env, setpgroup=0, setsigmask=(),
                                 setsigdef=DEFAULT_SIGNALS, file_actions=[
                                     (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                                     (os.POSIX_SPAWN_DUP2, out_w, 1),
                                     (os.POSIX_SPAWN_DUP2, err_w, 2),
                                     *_close_inherited(out_w, err_w)])
        except OSError:
            return -1  # the fork path execs it again and reports why it cannot run
        self.spawn = "posix_spawn"
        return pid

    def _fork(self, request: OperationRequest, ctx: OperationContext, argv: list[str],
              env: dict[str, str], out_w: int, err_w: int, res_w: int) -> int:
        pid = cgroups.fork_into(self.group)
        if pid == 0:  # the child
            try:
                enter_isolation(out_w, err_w)
                if isinstance(self.handle, ScriptAgent):
                    exec_script(argv, env)
                else:
                    os.environ.update(request.env)
                    run_native(self.handle.cls, request.action, request.params,
                               request.instance, ctx, res_w)
            finally:
                os._exit(int(OCF.ERR_GENERIC))
        return pid

    @property
    def fds(self) -> list[int]:
        return list(self.buffers) + [self.pidfd]

    def on_readable(self, fd: int) -> bool:
        """Drain a pipe, keeping at most OUTPUT_CAP bytes of it; False once it is closed."""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            buffer = self.buffers[fd]
            room = OUTPUT_CAP - len(buffer)
            if room > 0:
                buffer.extend(chunk[:room])

    def reap(self) -> bool:
        """Collect the exit status once the child has ended; True when it has."""
        if self.exit_status is not None:
            return True
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return False
        self.exit_status = os.waitstatus_to_exitcode(status)
        return True

    def kill(self) -> list[str]:
        """Kill the operation with every process it made; describe what was killed."""
        victims = self._describe_tree()
        if self.group is not None:
            cgroups.kill_group(self.group, KILL_WAIT)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        end = time.monotonic() + KILL_WAIT
        while not self.reap() and time.monotonic() < end:
            select.select([self.pidfd], [], [], 0.05)
        return victims

    def _describe_tree(self) -> list[str]:
        return describe_processes(self.group, self.pid)

    def on_event(self, fd: int) -> str:
        """React to a readable descriptor: "done" once the child has ended, "closed" when a
        pipe is at its end (stop watching it), else "open"."""
        if fd == self.pidfd:
            return "done" if self.reap() else "open"
        if self.on_readable(fd):
            return "open"
        self.closed.add(fd)
        # Both pipes at their end: the child is most likely exiting; if it has, finish now
        # rather than sleeping until its pidfd wakes the loop once more.
        if len(self.closed) == len(self.buffers) and self.reap():
            return "done"
        return "closed"

    def finish(self, timed_out: bool = False) -> OperationResult:
        """Build the result; call once the child has ended or the deadline passed."""
        killed: list[str] = []
        if timed_out:
            killed = self.kill()
        for fd in list(self.buffers):
            self.on_readable(fd)
        duration = time.monotonic() - self.started
        outputs = {self.names[fd]: bytes(buf).decode("utf-8", "replace") for fd, buf in self.buffers.items()}
        for fd in list(self.buffers):
            os.close(fd)
        os.close(self.pidfd)
        leftover: tuple[int, ...] = ()
        self.tree.end_operation(self.request.instance, self.group,
                                reusable=not timed_out and self.request.action != "stop")
        if self.request.action == "stop" and not timed_out:
            leftover = tuple(self._leftover())
        code, reason = self._outcome(outputs, timed_out, killed)
        return OperationResult(
            action=self.request.action, code=code, reason=reason, duration=duration,
            timed_out=timed_out, stdout=outputs["stdout"], stderr=outputs["stderr"],
            killed=tuple(killed), leftover=leftover,
            isolation="cgroup" if self.group is not None else "pgid", spawn=self.spawn,
            exit_status=self.exit_status if isinstance(self.handle, ScriptAgent) else None)

    def _leftover(self) -> list[int]:
        import psutil

        if self.tree.available:
            return self.tree.resource_pids(self.request.instance)
        alive = []
        for proc in psutil.process_iter(["pid"]):
            try:
                if os.getpgid(proc.pid) == self.pid:
                    alive.append(proc.pid)
            except OSError:
                continue
        return alive

    def _outcome(self, outputs: dict[str, str], timed_out: bool, killed: list[str]) -> tuple[OCF, str]:
        request = self.request
        if timed_out:
            return OCF.ERR_GENERIC, (f"{request.action} timed out after {request.timeout:g}s; "
                                     f"killed {len(killed)} process(es)")
        if isinstance(self.handle, ScriptAgent):
            status = self.exit_status if self.exit_status is not None else 1
            if status < 0:
                return OCF.ERR_GENERIC, f"{request.action} was killed by signal {-status}"
            code = self.handle.result_code(request.action, status)
            return code, _exit_reason(outputs, code)
        try:
            data = json.loads(outputs["result"])
            return OCF.from_exit(int(data["code"])), str(data.get("reason", ""))
        except (ValueError, KeyError, TypeError):
            status = self.exit_status
            how = f"was killed by signal {-status}" if status is not None and status < 0 else "ended without a result"
            return OCF.ERR_GENERIC, f"{request.action} of native agent {request.agent} {how}"


def describe_processes(group: Path | None, pid: int) -> list[str]:
    """Each process of an operation (its cgroup, else the tree under ``pid``): pid, command
    line and the kernel function it waits in, to explain a hang."""
    import psutil

    pids = cgroups.read_pids(group) if group is not None else []
    if not pids:
        pids = [pid] + [c.pid for c in _children(pid)]
    out = []
    for each in pids:
        try:
            proc = psutil.Process(each)
            wchan = Path(f"/proc/{each}/wchan").read_text().strip() or "-"
            out.append(f"{each} {' '.join(proc.cmdline())[:120] or proc.name()} (waiting in {wchan})")
        except (psutil.Error, OSError):
            continue
    return out


def _children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _exit_reason(outputs: dict[str, str], code: OCF) -> str:
    reason = ""
    for stream in ("stderr", "stdout"):
        for line in outputs[stream].splitlines():
            if line.startswith(REASON_PREFIX):
                reason = line[len(REASON_PREFIX):].strip()
        if reason:
            return reason
    if code not in (OCF.SUCCESS, OCF.NOT_RUNNING):
        lines = [ln.strip() for ln in outputs["stderr"].splitlines() if ln.strip()]
        if lines:
            return lines[-1][:300]
    return ""


def wait_for(op: RunningOperation) -> OperationResult:
    """Follow one running operation to its end, killing it at its deadline."""
    poller = select.poll()
    for fd in op.fds:
        poller.register(fd, select.POLLIN)
    while True:
        remaining = op.deadline - time.monotonic()
        if remaining <= 0:
            return op.finish(timed_out=True)
        for fd, _ in poller.poll(max(1, int(remaining * 1000))):
            if fd == op.pidfd:
                poller.unregister(fd)
                if op.reap():
                    return op.finish()
            elif not op.on_readable(fd):
                poller.unregister(fd)
