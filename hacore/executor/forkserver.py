"""The client of the warm helper (hacore.executor.helper), for the daemon and the benchmarks.

The daemon must not fork itself (it has threads and an event loop), and starting a fresh
interpreter per operation costs tens of milliseconds. The helper has hacore and every agent
plugin imported already; it starts one child per operation, follows each to its end or its
timeout, runs the operations of one resource one after another (never overlapping), and
answers over SOCK_SEQPACKET sockets: one message (marshal) per request and per result.

The first socket pair only carries further sockets (and the helper's life: it ends when
that socket closes). Each thread calling ``run`` gets a socket of its own and waits on it
directly, and each event loop calling ``run_async`` gets one it watches itself
(``add_reader``): a reply wakes the waiter, not a reader thread that would then have to wake
it (on a small VM each wake-up costs about 0.1 ms).
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
#: requests sent together in one message at most
MAX_REQUESTS = 128
HELPER_ENDED = "the executor helper process ended"


class ForkServer:
    """The client side: starts the helper and runs operations through it.

    ``run`` blocks (threads may call it concurrently); ``run_async`` is for an event loop.
    """

    def __init__(self, plugins: list[str] | None = None) -> None:
        """``plugins``: extra modules (importable names) registered as agent plugins."""
        self._plugins = list(plugins or [])
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._process: subprocess.Popen | None = None
        self._local = threading.local()
        self._channels: list[socket.socket] = []
        self._loops: dict[asyncio.AbstractEventLoop, _LoopChannel] = {}

    def start(self) -> Self:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "hacore.executor.helper", str(theirs.fileno()), *self._plugins],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        self._sock = ours
        self._local = threading.local()
        return self

    def _new_channel(self) -> socket.socket:
        """A new socket to the helper (its other end passed over the first socket)."""
        if self._sock is None:
            raise HacoreError("the executor helper is not running; call start() first")
        channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            socket.send_fds(self._sock, [b"channel"], [theirs.fileno()])
        finally:
            theirs.close()
        return channel

    def run(self, request: OperationRequest) -> OperationResult:
        """Run one operation and wait for its result (blocking; any thread)."""
        channel = getattr(self._local, "channel", None)
        if channel is None:
            channel = self._new_channel()
            with self._lock:
                self._channels.append(channel)
            self._local.channel = channel
        try:
            channel.send(marshal.dumps((0, request.to_wire())))
            data = channel.recv(MAX_MESSAGE)
        except OSError:
            data = b""
        if not data:
            return OperationResult(request.action, OCF.ERR_GENERIC, HELPER_ENDED)
        reply = marshal.loads(data)
        if isinstance(reply, list):  # results sent together (only ever one here)
            reply = reply[-1]
        return OperationResult.from_wire(reply[1])

    async def run_async(self, request: OperationRequest) -> OperationResult:
        """Run one operation from an event loop (the loop reads the reply itself)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            channel = self._loops.get(loop)
            if channel is None or channel.closed:
                for old in [c for c in self._loops.values() if c.loop.is_closed()]:
                    old.close(HELPER_ENDED)  # loops of earlier asyncio.run() calls
                    del self._loops[old.loop]
                channel = self._loops[loop] = _LoopChannel(loop, self._new_channel())
        request_id = next(self._ids)
        future: asyncio.Future[OperationResult] = loop.create_future()
        channel.submit(request_id, request, future)
        return await future

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        with self._lock:
            channels, self._channels = self._channels, []
            loops, self._loops = list(self._loops.values()), {}
        for channel in channels:  # a thread waiting in run() gets "the helper ended"
            try:
                channel.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            channel.close()
        for loop_channel in loops:
            loop_channel.close_from_any_thread()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
            self._sock = None
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


class _LoopChannel:
    """An event loop's own socket to the helper: replies resolve futures in the loop itself."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        self.loop = loop
        self.sock = sock
        self.closed = False
        self.pending: dict[int, asyncio.Future[OperationResult]] = {}
        #: requests of this loop iteration, sent together at its end (``_send``)
        self.outbox: list[tuple[int, tuple]] = []
        loop.add_reader(sock.fileno(), self._on_readable)

    def submit(self, request_id: int, request: OperationRequest,
               future: asyncio.Future[OperationResult]) -> None:
        """Queue a request; every request made in this loop iteration (monitors that came
        due together) reaches the helper in one message, which runs them as a batch."""
        if self.closed:
            future.set_result(OperationResult(request.action, OCF.ERR_GENERIC, HELPER_ENDED))
            return
        self.pending[request_id] = future
        self.outbox.append((request_id, request.to_wire()))
        if len(self.outbox) == 1:
            self.loop.call_soon(self._send)

    def _send(self) -> None:
        outbox, self.outbox = self.outbox, []
        for first in range(0, len(outbox), MAX_REQUESTS):
            part = outbox[first:first + MAX_REQUESTS]
            try:
                self.sock.send(marshal.dumps(part if len(part) > 1 else part[0]))
            except OSError:
                for request_id, values in part:
                    future = self.pending.pop(request_id, None)
                    if future is not None and not future.done():
                        future.set_result(OperationResult(values[1], OCF.ERR_GENERIC,
                                                          HELPER_ENDED))

    def _on_readable(self) -> None:
        while not self.closed:
            try:
                data = self.sock.recv(MAX_MESSAGE, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.close(HELPER_ENDED)
                return
            message = marshal.loads(data)  # (id, result), or a list of them
            for request_id, values in (message if isinstance(message, list) else [message]):
                future = self.pending.pop(request_id, None)
                if future is not None and not future.done():  # done: its task was cancelled
                    future.set_result(OperationResult.from_wire(values))

    def close(self, reason: str) -> None:
        """Stop watching the socket, close it, and fail what still waits (in the loop)."""
        if not self.closed:
            self.closed = True
            try:
                self.loop.remove_reader(self.sock.fileno())
            except (RuntimeError, ValueError, OSError):
                pass  # the loop is closed already
            self.sock.close()
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_result(OperationResult("unknown", OCF.ERR_GENERIC, reason))

    def close_from_any_thread(self) -> None:
        """close(), run in the loop when it runs in another thread (it owns the futures)."""
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is not self.loop and self.loop.is_running():
            try:
                self.loop.call_soon_threadsafe(self.close, HELPER_ENDED)
                return
            except RuntimeError:
                pass  # closed meanwhile
        self.close(HELPER_ENDED)
