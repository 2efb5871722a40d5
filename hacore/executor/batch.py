"""Monitor batches: native monitors that come due together run in one forked child.

A fork of the warm helper costs about 2.5 ms of CPU on a small VM (parent and child
together), far more than a native monitor such as "does this file exist". When several
native monitors (agents not opted in to monitor workers) reach the helper in one request,
the helper forks ONE child for them, which runs them one after another and writes each
result as soon as it has it. What stays as for a monitor forked alone:

- each monitor has its own timeout, counted from its own start; at a timeout the child is
  killed with everything in its process group and cgroup, the result says what was killed,
  and the monitors it had not started yet run in a new batch;
- operations of one resource never overlap: a batch holds at most one monitor per resource,
  and the helper keeps that resource busy until the monitor's result is in;
- output is captured per monitor (the child's stdout and stderr are memory files it reads
  back and empties after each monitor), exit reason and OCF code as for a forked monitor;
- environment, working directory and umask are put back after every monitor; a monitor
  that leaves a thread or a descriptor behind ends the child, and the monitors it had not
  started run in a new batch; processes a monitor leaves running move to its resource's
  cgroup.

Claiming: the helper writes one byte per monitor into a pipe before the fork; the child
reads one byte before each monitor (the k-th byte is the k-th monitor). A batch still busy
after SPLIT_AFTER seconds (one slow monitor) gives its unstarted monitors to a new batch:
the helper reads the remaining bytes itself, and a byte is read by one reader only, so no
monitor runs twice. The helper does not watch the result pipe before SPLIT_AFTER (a quick
batch wakes it once, at its end); it reads what is there at the end or the split.

``HACORE_EXECUTOR_BATCHES=0`` switches batches off (every monitor forked alone).
"""

from __future__ import annotations

import gc
import marshal
import os
import select
import signal
import struct
import sys
import time
from pathlib import Path
from typing import Any

from hacore.agent.base import OperationContext
from hacore.agent.codes import OCF
from hacore.agent.registry import NativeAgent
from hacore.executor import cgroups
from hacore.executor.operation import (
    KILL_WAIT,
    OUTPUT_CAP,
    OperationRequest,
    OperationResult,
    reap_within,
)

#: the cgroup (a pseudo resource; resource names start with a letter or digit) batches run in
BATCH_GROUP = "_monitor-batches"
#: most monitors in one batch (the claim bytes must fit one atomic pipe write)
MAX_BATCH = 128
#: seconds after which a batch still running hands its unstarted monitors to a new batch
SPLIT_AFTER = 0.25
_FRAME = struct.Struct("!I")

Item = tuple[Any, OperationRequest, NativeAgent]  # (where to answer, request, agent)


def batches_enabled() -> bool:
    return os.environ.get("HACORE_EXECUTOR_BATCHES", "1") != "0"


class BatchOperation:
    """The helper's side of one batch: its child, what was answered, what is left."""

    def __init__(self, items: list[Item], tree: cgroups.CgroupTree) -> None:
        if not 1 <= len(items) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} monitors, not {len(items)}")
        self.items = items
        self.tree = tree
        self.group: Path | None = None
        self.pid = -1
        self.pidfd = -1
        self.tokens_r = -1
        self.results_r = -1
        self.started = 0.0
        self.answered: set[int] = set()
        self.last_end = 0.0  # when the last answered monitor ended (the next one's start)
        self.claimed: int | None = None  # known once the unclaimed monitors are taken back
        self.watch_results = False
        self.ended = False
        self._buffer = bytearray()

    # -- start ----------------------------------------------------------------------------

    def start(self) -> None:
        """Fork the child (born in the batch cgroup, in its own process group)."""
        tokens_r, tokens_w = os.pipe()
        results_r, results_w = os.pipe()
        try:
            os.write(tokens_w, bytes(len(self.items)))
        finally:
            os.close(tokens_w)  # no writer left: the child reads EOF once all are claimed
        os.set_blocking(results_r, False)
        self.group = self.tree.operation_group(BATCH_GROUP)
        self.started = self.last_end = time.monotonic()
        try:
            pid = cgroups.fork_into(self.group)
        except OSError:
            for fd in (tokens_r, results_r, results_w):
                os.close(fd)
            self.tree.end_operation(BATCH_GROUP, self.group, reusable=False)
            raise
        if pid == 0:
            try:
                _child(self.items, tokens_r, results_w, self.group, self.tree)
            finally:
                os._exit(1)
        os.close(results_w)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child did it first
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self.tokens_r = tokens_r
        self.results_r = results_r

    @property
    def fds(self) -> list[int]:
        """The descriptors the helper watches now (the result pipe only after a split)."""
        if self.ended:
            return []
        return [self.pidfd, self.results_r] if self.watch_results else [self.pidfd]

    def instances(self) -> list[str]:
        return [request.instance for _, request, _ in self.items]

    # -- time -----------------------------------------------------------------------------

    def _current(self) -> int:
        """The monitor running now (monitors run in order, each answered before the next)."""
        return len(self.answered)

    @property
    def deadline(self) -> float:
        """When the helper must look at this batch again (a timeout or the split)."""
        if self.ended:
            return float("inf")
        current = self._current()
        limit = self.claimed if self.claimed is not None else len(self.items)
        soonest = (self.last_end + self.items[current][1].timeout if current < limit
                   else float("inf"))
        if self.claimed is None:
            soonest = min(soonest, self.started + SPLIT_AFTER)
        return soonest

    # -- events ---------------------------------------------------------------------------

    def advance(self, exited: bool, now: float
                ) -> tuple[list[tuple[int, OperationResult]], list[int]]:
        """Look at the batch (its child ended, or a deadline came): the results now known
        (index, result), and the indexes of monitors to run elsewhere (never started)."""
        done = self._drain()
        unstarted: list[int] = []
        if not exited and not self._exited():
            if self.claimed is None and now >= self.started + SPLIT_AFTER:
                unstarted = self._take_back()
                self.watch_results = True
                done += self._drain()
            current = self._current()
            limit = self.claimed if self.claimed is not None else len(self.items)
            if current >= limit or now < self.last_end + self.items[current][1].timeout:
                return done, unstarted
            killed = self._kill()
            done += self._drain()
            unstarted += self._take_back()
            assert self.claimed is not None
            for index in range(self.claimed):  # at most one: monitors run in order
                if index in self.answered:
                    continue
                request = self.items[index][1]
                if now < self.last_end + request.timeout:
                    unstarted.append(index)  # it had just begun (the one before ended
                    continue                 # meanwhile): killed with the child, run it again
                self.answered.add(index)
                done.append((index, self._result(
                    index, OCF.ERR_GENERIC,
                    f"{request.action} timed out after {request.timeout:g}s; killed "
                    f"{len(killed)} process(es)", self.last_end, now, timed_out=True,
                    killed=killed)))
            self._end(reusable=False)
            return done, sorted(unstarted)
        status = reap_within(self.pid, self.pidfd, KILL_WAIT)
        done += self._drain()
        unstarted += self._take_back()
        assert self.claimed is not None
        for index in range(self.claimed):
            if index not in self.answered:  # the child died in the middle of this one
                self.answered.add(index)
                request = self.items[index][1]
                how = (f"was killed by signal {-status}" if status is not None and status < 0
                       else "ended without a result")
                done.append((index, self._result(
                    index, OCF.ERR_GENERIC,
                    f"{request.action} of native agent {request.agent} {how}",
                    self.last_end, now)))
        self._end(reusable=True)
        return done, unstarted

    def _exited(self) -> bool:
        return bool(select.select([self.pidfd], [], [], 0)[0])

    def _take_back(self) -> list[int]:
        """Read the claim bytes left: those monitors never started (and now never will)."""
        if self.claimed is not None:
            return []
        left = 0
        while True:
            try:
                chunk = os.read(self.tokens_r, MAX_BATCH)
            except OSError:
                break
            if not chunk:
                break
            left += len(chunk)
        self.claimed = len(self.items) - left
        return list(range(self.claimed, len(self.items)))

    def _drain(self) -> list[tuple[int, OperationResult]]:
        while True:
            try:
                chunk = os.read(self.results_r, 1 << 16)
            except BlockingIOError:
                break
            except OSError:
                break
            if not chunk:
                break
            self._buffer += chunk
        done = []
        while len(self._buffer) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(self._buffer)
            if len(self._buffer) < _FRAME.size + size:
                break
            record = marshal.loads(bytes(self._buffer[_FRAME.size:_FRAME.size + size]))
            del self._buffer[:_FRAME.size + size]
            index, code, reason, started, ended, out, err = record
            if index in self.answered:
                continue
            self.answered.add(index)
            self.last_end = max(self.last_end, ended)
            done.append((index, self._result(index, OCF.from_exit(code), reason, started,
                                             ended, stdout=out, stderr=err)))
        return done

    def _result(self, index: int, code: OCF, reason: str, started: float, ended: float, *,
                timed_out: bool = False, killed: list[str] | None = None, stdout: str = "",
                stderr: str = "") -> OperationResult:
        return OperationResult(
            action=self.items[index][1].action, code=code, reason=reason,
            duration=max(0.0, ended - started), timed_out=timed_out, stdout=stdout,
            stderr=stderr, killed=tuple(killed or ()),
            isolation="cgroup" if self.group is not None else "pgid", spawn="batch")

    def _kill(self) -> list[str]:
        from hacore.executor.spawn import describe_processes

        victims = describe_processes(self.group, self.pid)
        if self.group is not None:
            cgroups.kill_group(self.group, KILL_WAIT)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        reap_within(self.pid, self.pidfd, KILL_WAIT)
        return victims

    def _end(self, reusable: bool) -> None:
        self.ended = True
        for fd in (self.pidfd, self.tokens_r, self.results_r):
            os.close(fd)
        self.tree.end_operation(BATCH_GROUP, self.group, reusable=reusable)



# --- the child ---------------------------------------------------------------------------


def _child(items: list[Item], tokens_r: int, results_w: int, group: Path | None,
           tree: cgroups.CgroupTree) -> None:
    """Run the monitors one after another as they are claimed; never returns."""
    from hacore.executor.child import bind_std_streams, native_result
    from hacore.executor.worker import _Baseline

    gc.disable()  # a short-lived child: collecting would only copy pages shared with the helper
    os.setpgid(0, 0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for fd in (1, 2):  # per-monitor output: memory files, read back and emptied after each
        memfd = os.memfd_create("hacore-monitor-output", 0)
        os.dup2(memfd, fd)
        os.close(memfd)
    procs_fd = -1
    if group is not None:
        try:
            procs_fd = os.open(group / "cgroup.procs", os.O_RDONLY)
        except OSError:
            procs_fd = -1
    keep = sorted(fd for fd in (tokens_r, results_w, procs_fd) if fd >= 0)
    low = 3
    for fd in keep:  # nothing else of the helper (its sockets, other operations' pipes)
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))
    for fd in keep:
        os.set_inheritable(fd, False)
    bind_std_streams()
    baseline = _Baseline()
    me = str(os.getpid()).encode()
    index = 0
    while os.read(tokens_r, 1):
        _, request, handle = items[index]
        started = time.monotonic()
        if request.env:
            os.environ.update(request.env)
        ctx = OperationContext(request.action, request.timeout, request.interval,
                               request.depth)
        result = native_result(handle.cls, request.action, request.params, request.instance,
                               ctx)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        ended = time.monotonic()
        out, err = _take_output(1), _take_output(2)
        if procs_fd >= 0:
            _release_leftovers(procs_fd, me, group, tree, request.instance)
        retire = baseline.restore()
        record = marshal.dumps((index, int(result.code), str(result.reason), started, ended,
                                out, err))
        os.write(results_w, _FRAME.pack(len(record)) + record)
        index += 1
        if retire:  # a thread or descriptor left behind: the rest run in a fresh child
            break
    os._exit(0)


def _take_output(fd: int) -> str:
    """What a monitor wrote to ``fd`` (capped), then empty it for the next monitor."""
    size = os.fstat(fd).st_size
    if not size:
        return ""
    data = os.pread(fd, OUTPUT_CAP, 0)
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    return data.decode("utf-8", "replace")


def _release_leftovers(procs_fd: int, me: bytes, group: Path | None,
                       tree: cgroups.CgroupTree, instance: str) -> None:
    """Processes the monitor left running move to its resource's group (not the batch's)."""
    try:
        pids = os.pread(procs_fd, 4096, 0).split()
    except OSError:
        return
    others = [p for p in pids if p != me]
    if not others:
        return
    target = tree.resource_group(instance)
    if target is None:
        return
    for pid in others:
        try:
            (target / "cgroup.procs").write_bytes(pid)
        except OSError:
            pass
