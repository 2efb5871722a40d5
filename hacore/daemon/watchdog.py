"""The watchdog (sbd's idea): a hung or stranded node resets itself.

Where ``watchdog = "/dev/watchdog"`` is set for a node (``[[nodes]]``, default none), the
supervisor opens the device (which arms it) and writes to it (feeds it) once a second, but
only while the daemon says the node is healthy. The daemon says so through a pipe the
supervisor gives it (fd in ``HACORE_ALIVE_FD``): every tick it writes ``1`` (healthy) or
``0``. Healthy means: its loop runs (a hung daemon writes nothing), it did not stall, and
it is quorate, or it lost quorum less than its self-stop budget ago (the time its stops
may take), or it holds nothing. So the device stops being fed, and resets the node:

- when the daemon hangs: no beat for ``hang_timeout``;
- when the node lost quorum and still holds a service after its self-stop budget (its
  stops failed or hang): the survivors would start it elsewhere after their deadline.

Between two daemons (one died, the supervisor stops its resources, then starts another)
the device is fed while the stops succeed and the new daemon starts up (``grace``). On a
clean exit of the daemon (SIGTERM, ``hacore node leave``) the supervisor writes the magic
character ``V`` before closing, so the device disarms instead of resetting the node.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Iterable

log = logging.getLogger("hacore.supervisor")

ALIVE_FD_ENV = "HACORE_ALIVE_FD"
FEED_INTERVAL = 1.0
MAGIC_CLOSE = b"V"


def node_healthy(*, quorate: bool, stalled: bool, holds: bool, quorum_lost_at: float | None,
                 self_stop_budget: float, now: float) -> bool:
    """Whether the daemon lets the watchdog be fed (see the module docstring)."""
    if stalled:
        return False
    if quorate or not holds:
        return True
    return quorum_lost_at is not None and now - quorum_lost_at < self_stop_budget


class AliveSignal:
    """The daemon's end of the pipe: ``beat(healthy)`` every tick; a no-op without a pipe."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd
        if fd is not None:
            os.set_blocking(fd, False)

    @classmethod
    def from_env(cls) -> AliveSignal:
        raw = os.environ.get(ALIVE_FD_ENV, "")
        return cls(int(raw) if raw.isdigit() else None)

    def beat(self, healthy: bool) -> None:
        if self.fd is None:
            return
        try:
            os.write(self.fd, b"1" if healthy else b"0")
        except (BlockingIOError, BrokenPipeError):
            pass  # the supervisor reads slowly or is gone: nothing the daemon can do
        except OSError as exc:
            log.warning("cannot tell the supervisor this node is alive: %s", exc)
            self.fd = None


class WatchdogFeeder(threading.Thread):
    """The supervisor's side: reads the daemon's beats, feeds the device (a thread)."""

    def __init__(self, device: str, hang_timeout: float, grace: float = 60.0,
                 interval: float = FEED_INTERVAL) -> None:
        super().__init__(name="watchdog", daemon=True)
        self.device = device
        self.hang_timeout = hang_timeout
        self.grace = grace
        self.interval = interval
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        self.fd: int | None = None
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._last_beat = 0.0
        self._healthy = False
        self._hold_until = 0.0  # fed regardless until then (daemon starting, clean-up ok)
        self.feeding = False
        self._next_feed = 0.0

    def arm(self) -> WatchdogFeeder:
        """Open the device (arms it) and start feeding (a daemon starts: grace period)."""
        self.fd = os.open(self.device, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        log.info("supervisor: watchdog %s armed; fed while the node is healthy", self.device)
        self.daemon_starting()
        self.start()
        return self

    def daemon_starting(self) -> None:
        """A new daemon starts: fed for ``grace`` seconds or until its first beat."""
        with self._lock:
            self._hold_until = time.monotonic() + self.grace
            self._last_beat = 0.0

    def hold(self, seconds: float) -> None:
        """Keep feeding for ``seconds`` whatever the beats say (the supervisor's own stops
        of a dead daemon's resources succeeded: nothing runs here)."""
        with self._lock:
            self._hold_until = time.monotonic() + seconds

    def release(self) -> None:
        """Stop holding: feeding follows the beats again (none now: not fed)."""
        with self._lock:
            self._hold_until = 0.0

    def _read_beats(self, chunks: Iterable[bytes]) -> None:
        for data in chunks:
            if data:
                with self._lock:
                    self._last_beat = time.monotonic()
                    self._healthy = data[-1:] == b"1"
                    self._hold_until = 0.0  # the daemon speaks for itself now

    def should_feed(self, now: float) -> bool:
        with self._lock:
            if now < self._hold_until:
                return True
            return self._healthy and now - self._last_beat < self.hang_timeout

    def run(self) -> None:
        while not self._halt.is_set():
            ready, _, _ = select.select([self.read_fd], [], [], self.interval)
            chunks = []
            if ready:
                try:
                    chunks.append(os.read(self.read_fd, 4096))
                except BlockingIOError:
                    pass
            self._read_beats(chunks)
            self._tick(time.monotonic())

    def _tick(self, now: float) -> None:
        if now < self._next_feed:
            return
        self._next_feed = now + self.interval
        feed = self.should_feed(now)
        if feed != self.feeding:
            if feed:
                log.info("supervisor: feeding the watchdog again")
            else:
                log.error("supervisor: the node is not healthy (daemon hung, or no quorum "
                          "and services still held past the self-stop budget): the watchdog "
                          "is no longer fed and will reset this node")
            self.feeding = feed
        if feed and self.fd is not None:
            try:
                os.write(self.fd, b".")
            except OSError as exc:
                log.error("supervisor: cannot feed the watchdog %s: %s", self.device, exc)

    def close(self, magic: bool) -> None:
        """Stop the thread; ``magic``: write ``V`` first, so the device disarms."""
        self._halt.set()
        if self.is_alive():
            self.join(5)
        if self.fd is not None:
            try:
                if magic:
                    os.write(self.fd, MAGIC_CLOSE)
                    log.info("supervisor: watchdog %s disarmed (clean exit)", self.device)
            finally:
                os.close(self.fd)
                self.fd = None
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass
