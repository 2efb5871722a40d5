"""Monitor workers: a native agent's monitors without a fork per call, for agents that opt in.

A Python fork costs about a millisecond on a small VM however lean the forking process is
(copying page tables, copy-on-write faults in parent and child, tearing the child down), so
a native monitor forked per call cannot meet the 1 ms goal. An agent class that sets
``monitor_in_worker = True`` has its recurring monitors (not probes) run in a worker
instead: one process per resource, forked from the warm helper once, which runs that
resource's monitors one after another. What stays the same as for a forked operation:

- the worker is a child of the helper in its own process group and in a cgroup of its own
  under the resource's group (``op-<helper pid>-N``), born there;
- at a timeout the worker is killed with everything in its cgroup and process group, the
  result says what was killed, and the next monitor gets a fresh worker;
- operations of one resource never overlap: the helper queues them and a worker runs one
  monitor at a time; any other action (start, stop, ...) retires the resource's worker
  first and runs in a freshly forked child as before;
- output is captured per operation (capped), the exit reason and OCF code come back as
  for a forked native operation; processes a monitor leaves behind move up to the
  resource's group.

The trade-off, and why it is opt-in: the worker is the same interpreter from one monitor to
the next, so module-level and class-level state an agent changes during a monitor is seen
by the next monitor of the same resource. Everything else is put back or the worker is
replaced: environment variables, working directory and umask are restored after every
monitor; a monitor that leaves a thread running or a file descriptor open retires its
worker; a worker is replaced after MAX_OPERATIONS monitors. ``HACORE_EXECUTOR_WORKERS=0``
switches workers off (every monitor forked).
"""

from __future__ import annotations

import marshal
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path

from hacore.agent.base import OperationContext
from hacore.agent.codes import OCF
from hacore.agent.registry import NativeAgent
from hacore.executor import cgroups
from hacore.executor.child import MAX_FDS, bind_std_streams, enter_isolation, native_result
from hacore.executor.operation import (
    KILL_WAIT,
    OUTPUT_CAP,
    OperationRequest,
    OperationResult,
    reap_within,
)

MAX_OPERATIONS = 1000
MAX_MESSAGE = 1 << 20
_PR_SET_PDEATHSIG = 1


def wants_worker(handle: object, request: OperationRequest) -> bool:
    """Whether this operation runs in its resource's monitor worker: a recurring monitor
    (interval > 0). A probe (interval 0: at start-up, and every minute for each service
    a node does not run) is forked: a worker kept per probed resource would cost every node
    a process (2.5 MiB PSS each) per resource of the cluster."""
    return (request.action == "monitor" and request.interval > 0
            and isinstance(handle, NativeAgent)
            and getattr(handle.cls, "monitor_in_worker", False) is True
            and os.environ.get("HACORE_EXECUTOR_WORKERS", "1") != "0")


class MonitorWorker:
    """The helper's side of one worker process (one resource, one agent class)."""

    def __init__(self, handle: NativeAgent, instance: str, tree: cgroups.CgroupTree) -> None:
        self.cls = handle.cls
        self.instance = instance
        self.tree = tree
        self.operations = 0
        self.alive = True
        self.group: Path | None = tree.operation_group(instance)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        out_r, out_w = _nonblocking_pipe()
        err_r, err_w = _nonblocking_pipe()
        try:
            pid = cgroups.fork_into(self.group)
        except OSError:
            for fd in (out_r, out_w, err_r, err_w):
                os.close(fd)
            ours.close()
            theirs.close()
            if self.group is not None:
                self.tree.end_operation(instance, self.group, reusable=False)
            raise
        if pid == 0:  # the worker
            try:
                _become_worker(theirs.fileno(), out_w, err_w, handle, instance)
            finally:
                os._exit(1)
        for fd in (theirs.detach(), out_w, err_w):
            os.close(fd)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the worker did it first
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.procs_fd = -1  # the worker group's cgroup.procs, read after every monitor
        if self.group is not None:
            self.procs_fd = os.open(self.group / "cgroup.procs", os.O_RDONLY | os.O_CLOEXEC)
        self.sock = ours
        self.out_r = out_r
        self.err_r = err_r

    def exited(self) -> bool:
        """Whether the worker process has ended (killed from outside while idle, say)."""
        return not self.alive or bool(select.select([self.pidfd], [], [], 0)[0])

    def retire(self) -> None:
        """End the worker (idle, or already killed) and remove its group."""
        if self.alive:
            self.alive = False
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reap_within(self.pid, self.pidfd, KILL_WAIT)
        if self.group is not None:
            cgroups.kill_group(self.group, KILL_WAIT)
            self.tree.forget(self.group)
            cgroups.release_group(self.group)
        for fd in (self.pidfd, self.out_r, self.err_r, self.procs_fd):
            if fd >= 0:
                os.close(fd)
        self.sock.close()
        self.tree.prune(self.instance)


class WorkerOperation:
    """One monitor sent to a worker; the helper's loop drives it like a RunningOperation."""

    def __init__(self, worker: MonitorWorker, request: OperationRequest) -> None:
        self.worker = worker
        self.request = request
        self.buffers = {worker.out_r: bytearray(), worker.err_r: bytearray()}
        self.reply: dict | None = None
        self.started = 0.0
        self.deadline = 0.0

    def start(self) -> None:
        request = self.request
        self.started = time.monotonic()
        self.deadline = self.started + request.timeout
        self.worker.sock.send(marshal.dumps({
            "params": request.params, "env": request.env, "timeout": request.timeout,
            "interval": request.interval, "depth": request.depth}))

    @property
    def fds(self) -> list[int]:
        worker = self.worker
        return [worker.sock.fileno(), worker.out_r, worker.err_r, worker.pidfd]

    def on_event(self, fd: int) -> str:
        """React to a readable descriptor: "done" when the monitor has ended, else "open"."""
        worker = self.worker
        if fd == worker.sock.fileno():
            data = worker.sock.recv(MAX_MESSAGE)
            self.reply = marshal.loads(data) if data else None
            return "done"
        if fd == worker.pidfd:  # the worker ended: after its last reply, or in the middle
            try:
                data = worker.sock.recv(MAX_MESSAGE, socket.MSG_DONTWAIT)
                self.reply = marshal.loads(data) if data else None
            except BlockingIOError:
                pass
            return "done"
        self._drain(fd)
        return "open"

    def _drain(self, fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            buffer = self.buffers[fd]
            room = OUTPUT_CAP - len(buffer)
            if room > 0:
                buffer.extend(chunk[:room])

    def finish(self, timed_out: bool = False) -> OperationResult:
        """The result; the worker is retired when it timed out, died, or asked to go."""
        from hacore.executor.spawn import describe_processes

        worker = self.worker
        killed: list[str] = []
        if timed_out:
            killed = describe_processes(worker.group, worker.pid)
            if worker.group is not None:
                cgroups.kill_group(worker.group, KILL_WAIT)
            _killpg(worker.pid)
        for fd in self.buffers:
            self._drain(fd)
        worker.operations += 1
        code, reason = self._outcome(timed_out, killed)
        if not timed_out and self.reply is not None:
            self._release_leftovers()
        if timed_out or self.reply is None or self.reply.get("retire") \
                or worker.operations >= MAX_OPERATIONS:
            worker.retire()
        out, err = (bytes(self.buffers[fd]).decode("utf-8", "replace")
                    for fd in (worker.out_r, worker.err_r))
        return OperationResult(
            action=self.request.action, code=code, reason=reason,
            duration=time.monotonic() - self.started, timed_out=timed_out, stdout=out,
            stderr=err, killed=tuple(killed),
            isolation="cgroup" if worker.group is not None else "pgid", spawn="worker")

    def _outcome(self, timed_out: bool, killed: list[str]) -> tuple[OCF, str]:
        request = self.request
        if timed_out:
            return OCF.ERR_GENERIC, (f"{request.action} timed out after {request.timeout:g}s; "
                                     f"killed {len(killed)} process(es)")
        if self.reply is None:
            status = reap_within(self.worker.pid, self.worker.pidfd, KILL_WAIT)
            self.worker.alive = False
            how = (f"was killed by signal {-status}" if status is not None and status < 0
                   else "ended without a result")
            return OCF.ERR_GENERIC, f"{request.action} of native agent {request.agent} {how}"
        return OCF.from_exit(int(self.reply["code"])), str(self.reply.get("reason", ""))

    def _release_leftovers(self) -> None:
        """Move what the monitor left running up to the resource's group (not the worker)."""
        worker, group = self.worker, self.worker.group
        if group is None:
            return
        try:
            pids = [int(p) for p in os.pread(worker.procs_fd, 4096, 0).split()]
        except (OSError, ValueError):
            pids = cgroups.read_pids(group)
        for pid in pids:
            if pid != worker.pid:
                try:
                    (group.parent / "cgroup.procs").write_text(str(pid))
                except OSError:
                    pass


class WorkerPool:
    """The helper's workers, one per resource at most."""

    def __init__(self, tree: cgroups.CgroupTree) -> None:
        self.tree = tree
        self.workers: dict[str, MonitorWorker] = {}

    def operation(self, request: OperationRequest, handle: object) -> WorkerOperation | None:
        """The monitor as a worker operation, or None when it is to be forked; retires the
        resource's worker for any other operation, or when the agent changed."""
        instance = request.instance
        worker = self.workers.get(instance)
        use = wants_worker(handle, request)
        if worker is not None and (not use or worker.exited()
                                   or worker.cls is not handle.cls):  # type: ignore[attr-defined]
            if worker.alive:
                worker.retire()
            del self.workers[instance]
            worker = None
        if not use:
            return None
        if worker is None:
            worker = self.workers[instance] = MonitorWorker(handle, instance, self.tree)  # type: ignore[arg-type]
        return WorkerOperation(worker, request)

    def forget_dead(self) -> None:
        """Drop the workers retired by their last operation."""
        for instance in [i for i, w in self.workers.items() if not w.alive]:
            del self.workers[instance]

    def close(self) -> None:
        for worker in self.workers.values():
            if worker.alive:
                worker.retire()
        self.workers.clear()


def _nonblocking_pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    return read_fd, write_fd


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass



# --- the worker process ------------------------------------------------------------------


def _become_worker(sock_fd: int, out_w: int, err_w: int, handle: NativeAgent, instance: str) -> None:
    enter_isolation(out_w, err_w)
    os.closerange(3, sock_fd)  # nothing of the helper (its socket, other operations' pipes)
    os.closerange(sock_fd + 1, MAX_FDS)
    _die_with_parent()
    bind_std_streams()
    _serve(socket.socket(fileno=sock_fd), handle, instance)


def _die_with_parent() -> None:
    import ctypes

    parent = os.getppid()
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # without it an idle worker still ends at EOF on its socket
    if os.getppid() != parent:
        os._exit(0)


class _Baseline:
    """What a monitor must leave as it found it."""

    def __init__(self) -> None:
        self.env = dict(os.environ)
        self.cwd = os.getcwd()
        self.umask = os.umask(0o022)
        os.umask(self.umask)
        self.threads = _thread_count()
        self.fds = _fd_census()

    def restore(self) -> str:
        """Put back what can be put back; the reason to retire the worker, or ""."""
        if os.environ != self.env:
            os.environ.clear()
            os.environ.update(self.env)
        if os.getcwd() != self.cwd:
            os.chdir(self.cwd)
        os.umask(self.umask)
        problems = []
        if _thread_count() > self.threads:
            problems.append("a thread is still running")
        if _fd_census() != self.fds:
            problems.append("file descriptors were left open")
        return "; ".join(problems)


def _thread_count() -> int:
    return os.stat("/proc/self/task").st_nlink - 2  # one link per thread (one stat, no open)


def _fd_census() -> object:
    """The open descriptors: their count where the kernel tells it with one stat (6.2+),
    else their numbers."""
    count = os.stat("/proc/self/fd").st_size
    return count if count else sorted(os.listdir("/proc/self/fd"))


def _serve(sock: socket.socket, handle: NativeAgent, instance: str) -> None:
    baseline = _Baseline()
    while True:
        data = sock.recv(MAX_MESSAGE)
        if not data:
            os._exit(0)  # the helper is gone
        request = marshal.loads(data)
        os.environ.update(request["env"])
        ctx = OperationContext("monitor", float(request["timeout"]), float(request["interval"]),
                               int(request["depth"]))
        result = native_result(handle.cls, "monitor", request["params"], instance, ctx)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        retire = baseline.restore()
        sock.send(marshal.dumps({"code": int(result.code), "reason": str(result.reason),
                                 "retire": retire}))
        if retire:
            os._exit(0)
