"""The client of the warm helper (hacore.executor.helper), for the daemon and the benchmarks.

The daemon must not fork itself (it has threads and an event loop), and starting a fresh
interpreter per operation costs tens of milliseconds. The helper has hacore and every agent
plugin imported already; it forks one child per operation, follows each to its end or its
timeout, runs the operations of one resource one after another (never overlapping), and
answers over a SOCK_SEQPACKET socket pair: one message (marshal) per request and per result.
A thread calling ``run`` gets a socket of its own to the helper (passed over the main one)
and waits on it directly: a reply wakes the waiting thread itself, not a reader thread that
would then have to wake it (on a small VM each wake-up costs about 0.1 ms).
"""

from __future__ import annotations

import asyncio
import itertools
import marshal
import socket
import subprocess
import sys
import threading
from typing import Self

from hacore.agent.codes import OCF
from hacore.errors import HacoreError
from hacore.executor.operation import OperationRequest, OperationResult

MAX_MESSAGE = 1 << 20


class ForkServer:
    """The client side: starts the helper and runs operations through it.

    ``run`` blocks (threads may call it concurrently); ``run_async`` is for an event loop.
    """

    def __init__(self, plugins: list[str] | None = None) -> None:
        """``plugins``: extra modules (importable names) registered as agent plugins."""
        self._plugins = list(plugins or [])
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: dict[int, object] = {}
        self._sock: socket.socket | None = None
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._local = threading.local()
        self._channels: list[socket.socket] = []

    def start(self) -> Self:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "hacore.executor.helper", str(theirs.fileno()), *self._plugins],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        self._sock = ours
        self._local = threading.local()
        self._reader = threading.Thread(target=self._read_replies, args=(ours,),
                                        name="forkserver-replies", daemon=True)
        self._reader.start()
        return self

    def _read_replies(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:
                self._fail_all("the executor helper process ended")
                return
            request_id, result = marshal.loads(data)
            with self._lock:
                waiter = self._pending.pop(request_id, None)
            if waiter is not None:
                waiter(OperationResult.from_wire(result))  # type: ignore[operator]

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            waiters, self._pending = list(self._pending.items()), {}
        for _, waiter in waiters:
            waiter(OperationResult("unknown", OCF.ERR_GENERIC, reason))  # type: ignore[operator]

    def _submit(self, request: OperationRequest, waiter) -> None:
        if self._sock is None:
            raise HacoreError("the executor helper is not running; call start() first")
        request_id = next(self._ids)
        with self._lock:
            self._pending[request_id] = waiter
        self._sock.send(marshal.dumps((request_id, request.to_wire())))

    def run(self, request: OperationRequest) -> OperationResult:
        """Run one operation and wait for its result (blocking; any thread)."""
        channel = self._channel()
        try:
            channel.send(marshal.dumps((0, request.to_wire())))
            data = channel.recv(MAX_MESSAGE)
        except OSError:
            data = b""
        if not data:
            return OperationResult(request.action, OCF.ERR_GENERIC, "the executor helper process ended")
        return OperationResult.from_wire(marshal.loads(data)[1])

    def _channel(self) -> socket.socket:
        """This thread's own socket to the helper, made on first use."""
        channel = getattr(self._local, "channel", None)
        if channel is None:
            if self._sock is None:
                raise HacoreError("the executor helper is not running; call start() first")
            channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                socket.send_fds(self._sock, [b"channel"], [theirs.fileno()])
            finally:
                theirs.close()
            with self._lock:
                self._channels.append(channel)
            self._local.channel = channel
        return channel

    async def run_async(self, request: OperationRequest) -> OperationResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[OperationResult] = loop.create_future()

        def waiter(result: OperationResult) -> None:
            try:
                loop.call_soon_threadsafe(lambda: future.done() or future.set_result(result))
            except RuntimeError:
                pass  # the event loop is gone: nobody is waiting for this result any more

        self._submit(request, waiter)
        return await future

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        with self._lock:
            channels, self._channels = self._channels, []
        for channel in channels:  # a thread waiting in run() gets "the helper ended"
            try:
                channel.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            channel.close()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
            self._sock = None
        if self._reader is not None:
            self._reader.join(timeout=10)
            self._reader = None
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
