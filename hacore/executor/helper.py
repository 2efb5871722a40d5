"""The warm helper's loop: forks every operation so that a native monitor is cheap.

Kept lean on purpose: the cost of fork() grows with the size of the forking process, so
this module imports only what the loop and the children need (the client side, with its
threads and event loop, lives in hacore.executor.forkserver).
"""

from __future__ import annotations

import gc
import importlib
import marshal
import os
import select
import socket
import sys
import time
from collections import deque

from hacore.agent.codes import OCF
from hacore.errors import HacoreError
from hacore.executor.operation import OperationRequest, OperationResult

MAX_MESSAGE = 1 << 20
#: results sent together in one message at most this large (else one message each)
REPLY_BUNDLE = 1 << 16
ReplyTo = tuple[socket.socket, int]  # the socket a request came on, and its id


class ForkServerLoop:
    """The helper's side: a poll loop over its socket and every running operation."""

    def __init__(self, sock: socket.socket, plugins: list[str] | None = None) -> None:
        from hacore.executor import cgroup_tree
        from hacore.executor.worker import WorkerPool

        self.sock = sock
        self.plugins = plugins or []
        self.tree = cgroup_tree()
        self.tree.reuse_groups = True
        self.poller = select.poll()
        self.running: dict[int, object] = {}  # fd -> RunningOperation
        self.ops: dict[str, tuple[ReplyTo, object]] = {}  # instance -> (where to answer, op)
        self.waiting: dict[str, deque[tuple[ReplyTo, OperationRequest]]] = {}
        self.channels: dict[int, socket.socket] = {}  # a client thread's own socket, by fd
        self.workers = WorkerPool(self.tree)  # native monitors of agents that opted in
        #: replies of this poll round, one message per socket (a batch's results together)
        self.outbox: dict[socket.socket, list[tuple[int, tuple]]] = {}

    def serve(self) -> None:
        from hacore.agent.registry import installed_agents

        # import every plugin before the first fork: children start warm; the entry points
        # are found in a child, so importlib.metadata stays out of this long-lived process
        registry = installed_agents(discover_in_child=True)
        for module_name in self.plugins:
            registry.load_plugin(importlib.import_module(module_name), module_name)
        gc.freeze()  # what is loaded now stays shared with every child, untouched by collections
        self.poller.register(self.sock.fileno(), select.POLLIN)
        while True:
            timeout_ms = self._next_timeout_ms()
            for fd, _ in self.poller.poll(timeout_ms):
                if fd == self.sock.fileno():
                    if not self._on_request(self.sock):
                        self.workers.close()
                        return
                elif fd in self.channels:
                    if not self._on_request(self.channels[fd]):
                        self.poller.unregister(fd)
                        self.channels.pop(fd).close()
                else:
                    self._on_fd(fd)
            self._expire()
            self._flush()

    def _next_timeout_ms(self) -> int:
        if not self.ops:
            return -1
        soonest = min(op.deadline for _, op in self.ops.values())  # type: ignore[attr-defined]
        if soonest == float("inf"):
            return -1
        return max(1, int((soonest - time.monotonic()) * 1000) + 1)

    def _on_request(self, sock: socket.socket) -> bool:
        """One message: a request, or (main socket only) a new channel passed as an fd."""
        try:
            if sock is self.sock:
                data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 1, socket.MSG_CMSG_CLOEXEC)
            else:
                data, fds = sock.recv(MAX_MESSAGE), []
        except (ConnectionResetError, BrokenPipeError):
            return False  # closed with an answer unread (a client gave up): that channel ends
        if not data:
            return False
        if fds:
            channel = socket.socket(fileno=fds[0])
            self.channels[fds[0]] = channel
            self.poller.register(fds[0], select.POLLIN)
            return True
        message = marshal.loads(data)  # (id, request), or a list of them (a batch)
        fresh: list[str] = []
        for request_id, values in (message if isinstance(message, list) else [message]):
            request = OperationRequest.from_wire(values)
            queue = self.waiting.setdefault(request.instance, deque())
            queue.append(((sock, request_id), request))
            if request.instance not in self.ops and request.instance not in fresh:
                fresh.append(request.instance)
        self._start_many(fresh)
        return True

    def _start_many(self, instances: list[str]) -> None:
        """Start the next operation of each of ``instances`` (none of them busy): native
        monitors together in batches (hacore.executor.batch), the rest one by one."""
        from hacore.executor.batch import MAX_BATCH, batches_enabled

        batch: list = []
        for instance in instances:
            queue = self.waiting.get(instance)
            handle = self._batchable(queue[0][1]) if queue and batches_enabled() else None
            if handle is None:
                self._start_next(instance)
                continue
            reply_to, request = queue.popleft()
            batch.append((reply_to, request, handle))
        for first in range(0, len(batch), MAX_BATCH):
            self._start_batch(batch[first:first + MAX_BATCH])

    def _batchable(self, request: OperationRequest) -> object | None:
        """The native agent of a monitor that may run in a batch, else None."""
        from hacore.agent.catalog import resolve
        from hacore.agent.registry import NativeAgent
        from hacore.executor.worker import wants_worker

        if request.action != "monitor":
            return None
        try:
            handle = resolve(request.agent, request.agent_class)
        except Exception:  # noqa: BLE001 - the single path reports it
            return None
        if (not isinstance(handle, NativeAgent) or wants_worker(handle, request)
                or request.instance in self.workers.workers):  # alone: retires that worker
            return None
        return handle

    def _start_batch(self, items: list) -> None:
        from hacore.executor.batch import BatchOperation

        if len(items) == 1:  # alone: forked as ever, in its resource's own cgroup
            reply_to, request, _ = items[0]
            self.waiting.setdefault(request.instance, deque()).appendleft((reply_to, request))
            self._start_next(request.instance)
            return
        batch = BatchOperation(items, self.tree)
        try:
            batch.start()
        except Exception as exc:  # noqa: BLE001 - the helper survives a failed fork
            for reply_to, request, _ in items:
                self._reply(reply_to, OperationResult(
                    request.action, OCF.ERR_GENERIC, f"could not start the operation: {exc}"))
                self._start_next(request.instance)
            return
        for reply_to, request, _ in items:
            self.ops[request.instance] = (reply_to, batch)
        self._watch(batch)

    def _watch(self, batch) -> None:
        """Poll exactly the descriptors the batch wants watched now."""
        wanted = set(batch.fds)
        for fd in [fd for fd, op in self.running.items() if op is batch and fd not in wanted]:
            self.poller.unregister(fd)
            del self.running[fd]
        for fd in wanted:
            if fd not in self.running:
                self.running[fd] = batch
                self.poller.register(fd, select.POLLIN)

    def _advance(self, batch, exited: bool) -> None:
        """Answer what a batch has finished; run elsewhere what it will not start."""
        done, unstarted = batch.advance(exited, time.monotonic())
        self._watch(batch)
        for index, result in done:
            reply_to, request, _ = batch.items[index]
            if self.ops.get(request.instance, (None, None))[1] is batch:
                del self.ops[request.instance]
            self._reply(reply_to, result)
            self._start_next(request.instance)
        again = []
        for index in unstarted:
            reply_to, request, _ = batch.items[index]
            if self.ops.get(request.instance, (None, None))[1] is batch:
                del self.ops[request.instance]
            self.waiting.setdefault(request.instance, deque()).appendleft((reply_to, request))
            again.append(request.instance)
        if again:
            self._start_many(again)

    def _start_next(self, instance: str) -> None:
        from hacore.agent.catalog import resolve
        from hacore.executor.spawn import RunningOperation

        queue = self.waiting.get(instance)
        while queue:
            reply_to, request = queue.popleft()
            try:
                handle = resolve(request.agent, request.agent_class)
                op = self.workers.operation(request, handle) or RunningOperation(request, handle, self.tree)
                op.start()
            except HacoreError as exc:
                self._reply(reply_to, OperationResult(request.action, OCF.ERR_INSTALLED, str(exc)))
                continue
            except Exception as exc:  # noqa: BLE001 - the helper survives anything one operation does
                self._reply(reply_to, OperationResult(request.action, OCF.ERR_GENERIC,
                                                        f"could not start the operation: {exc}"))
                continue
            self.ops[instance] = (reply_to, op)
            for fd in op.fds:
                self.running[fd] = op
                self.poller.register(fd, select.POLLIN)
            return
        self.waiting.pop(instance, None)

    def _on_fd(self, fd: int) -> None:
        from hacore.executor.batch import BatchOperation

        op = self.running.get(fd)
        if op is None:
            return
        if isinstance(op, BatchOperation):
            self._advance(op, exited=fd == op.pidfd)
            return
        state = op.on_event(fd)  # type: ignore[attr-defined]
        if state == "done":
            self._complete(op, timed_out=False)
        elif state == "closed":
            self.poller.unregister(fd)
            del self.running[fd]

    def _expire(self) -> None:
        from hacore.executor.batch import BatchOperation

        now = time.monotonic()
        seen: set[int] = set()
        for _, op in list(self.ops.values()):
            if id(op) in seen:
                continue
            seen.add(id(op))
            if op.deadline <= now:  # type: ignore[attr-defined]
                if isinstance(op, BatchOperation):
                    if not op.ended:
                        self._advance(op, exited=False)
                else:
                    self._complete(op, timed_out=True)

    def _complete(self, op, timed_out: bool) -> None:
        for fd in op.fds:
            if self.running.pop(fd, None) is not None:
                self.poller.unregister(fd)
        instance = op.request.instance
        reply_to, _ = self.ops.pop(instance)
        result = op.finish(timed_out=timed_out)
        self.workers.forget_dead()
        self._reply(reply_to, result)
        self._start_next(instance)

    def _reply(self, reply_to: ReplyTo, result: OperationResult) -> None:
        """Queue a result for its socket; sent at the end of this poll round (``_flush``)."""
        sock, request_id = reply_to
        self.outbox.setdefault(sock, []).append((request_id, result.to_wire()))

    def _flush(self) -> None:
        """Send the round's results: one message per socket, a list when several (small)."""
        if not self.outbox:
            return
        outbox, self.outbox = self.outbox, {}
        for sock, replies in outbox.items():
            messages = [marshal.dumps(reply) for reply in replies]
            if len(messages) > 1 and sum(map(len, messages)) <= REPLY_BUNDLE:
                messages = [marshal.dumps(replies)]
            for message in messages:
                try:
                    sock.send(message)
                except OSError:
                    break  # the client closed that channel: nobody waits for these results


def main() -> None:
    fd = int(sys.argv[1])
    os.set_inheritable(fd, False)  # inherited from the client; no script or daemon may hold it
    sock = socket.socket(fileno=fd)
    try:
        ForkServerLoop(sock, sys.argv[2:]).serve()
    except KeyboardInterrupt:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
