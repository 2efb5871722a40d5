"""UDP sockets for the built-in provider, a packet filter for tests, and rate-limited logs."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("hacore.membership")

DEFAULT_PORT = 5415
#: the largest datagram read, and the most read from one socket in one drain
MAX_DATAGRAM = 65535
MAX_DRAIN = 1024
#: "the peer answered": keeps a neighbour entry reachable without re-probing (Linux)
MSG_CONFIRM = getattr(socket, "MSG_CONFIRM", 0)
#: the receive buffer asked for each link (the kernel may give less without privilege)
RECV_BUFFER = 1 << 20


class RateLimitedLog:
    """One log line per key per ``every`` seconds; the next line says how many were hushed."""

    def __init__(self, every: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self.last: dict[str, float] = {}
        self.hushed: dict[str, int] = {}

    def warning(self, key: str, message: str) -> bool:
        """Log ``message`` unless ``key`` was logged recently; True if it was logged."""
        now = self.clock()
        if now - self.last.get(key, float("-inf")) < self.every:
            self.hushed[key] = self.hushed.get(key, 0) + 1
            return False
        self.last[key] = now
        hushed = self.hushed.pop(key, 0)
        suffix = f" ({hushed} more like it in the last {self.every:.0f} s)" if hushed else ""
        log.warning("%s%s", message, suffix)
        return True


@dataclass
class PacketFilter:
    """Drop rules between named nodes, applied by the sender (tests only).

    ``block(a, b)`` cuts both directions, ``block(a, b, one_way=True)`` only a -> b;
    ``block_link`` cuts one link index between two nodes; ``loss`` drops at random.
    """

    blocked: set[tuple[str, str]] = field(default_factory=set)
    blocked_links: set[tuple[str, str, int]] = field(default_factory=set)
    loss: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def block(self, a: str, b: str, *, one_way: bool = False) -> None:
        self.blocked.add((a, b))
        if not one_way:
            self.blocked.add((b, a))

    def block_link(self, a: str, b: str, link: int) -> None:
        self.blocked_links.update({(a, b, link), (b, a, link)})

    def isolate(self, node: str, others: list[str]) -> None:
        for other in others:
            if other != node:
                self.block(node, other)

    def clear(self) -> None:
        self.blocked.clear()
        self.blocked_links.clear()
        self.loss = 0.0

    def drops(self, src: str, dst: str, link: int) -> bool:
        if (src, dst) in self.blocked or (src, dst, link) in self.blocked_links:
            return True
        return self.loss > 0 and self.rng.random() < self.loss


class LinkSocket:
    """One UDP socket bound to one of the local node's addresses (one link).

    Datagrams are delivered as they arrive, or, while reading is paused, when the owner
    calls :meth:`drain` (the provider does at each tick while the cluster is quiet: one
    wake-up per interval instead of one per packet).

    The socket is watched with the loop's ``add_reader``, not a datagram transport: the
    datagram transport of Debian 12's Python (3.11.2) cannot pause its reading."""

    def __init__(self, link: int, deliver: Callable[[int, bytes, tuple], None],
                 sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self.link = link
        self.deliver = deliver
        self.sock: socket.socket | None = sock
        self.loop = loop
        self.reading = False

    def sendto(self, data: bytes, addr: tuple, confirm: bool = False) -> None:
        """Send one datagram; ``confirm``: the peer answered us on this path just now, so
        the kernel may take its neighbour entry (ARP, NDP) as reachable (MSG_CONFIRM)."""
        if self.sock is None:
            return
        try:
            self.sock.sendto(data, MSG_CONFIRM if confirm else 0, addr)
        except (BlockingIOError, InterruptedError):  # send buffer full: a lost heartbeat
            log.debug("link %d: send to %s: buffer full", self.link, addr)
        except OSError as exc:  # no route, interface down: the link is simply down
            log.debug("link %d: send to %s: %s", self.link, addr, exc)

    def pause(self) -> None:
        if self.reading and self.sock is not None:
            self.loop.remove_reader(self.sock.fileno())
            self.reading = False

    def resume(self) -> None:
        if not self.reading and self.sock is not None:
            self.loop.add_reader(self.sock.fileno(), self._read)
            self.reading = True

    def drain(self, limit: int = MAX_DRAIN) -> int:
        """While reading is paused, deliver the datagrams waiting on the socket (at most
        ``limit``); how many. While it is not, the reader has taken them already."""
        return 0 if self.reading else self._read(limit)

    def _read(self, limit: int = MAX_DRAIN) -> int:
        for count in range(limit):
            if self.sock is None:
                return count
            try:
                data, addr = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return count
            except ConnectionError as exc:  # an ICMP error for an earlier send: read on
                log.debug("link %d: receive: %s", self.link, exc)
                continue
            except OSError as exc:
                log.debug("link %d: receive: %s", self.link, exc)
                return count
            self.deliver(self.link, data, addr)
        return limit

    def close(self) -> None:
        if self.sock is None:
            return
        self.pause()
        self.sock.close()
        self.sock = None


async def resolve(address: str, port: int) -> tuple:
    """The socket address for a configured address (IP or host name)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(address, port, type=socket.SOCK_DGRAM)
    return infos[0][4]


def _room_for_a_tick(sock: socket.socket) -> None:
    """A receive buffer that holds what a tick brings while reading waits for it (32 nodes
    on two links send about 80 KiB a tick; bursts of junk more): RECV_BUFFER, root or not."""
    for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if option is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, RECV_BUFFER)
            return
        except OSError:
            continue


async def open_link(link: int, address: str, port: int,
                    deliver: Callable[[int, bytes, tuple], None]) -> LinkSocket:
    loop = asyncio.get_running_loop()
    local = await resolve(address, port)
    family = socket.AF_INET6 if ":" in local[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        _room_for_a_tick(sock)
        sock.bind(local)
        link_socket = LinkSocket(link, deliver, sock, loop)
        link_socket.resume()
    except BaseException:
        sock.close()
        raise
    return link_socket
