"""The message channel between nodes: mutually authenticated TLS 1.3 streams (hacore.tls).

Each node listens on its addresses at ``[cluster] message_port`` and keeps one outgoing
connection per peer, opened on the first message, with a connect timeout and reconnects
with backoff. A peer's certificate must come from the cluster CA and name the node dialled
(a server) or is taken as the sender's name (a client). On a connection, every frame is

    length (u32) | sender incarnation (u64) | recipient incarnation (u64) | payload

with the length capped (``max_frame``; a bigger frame closes the connection). The receiver
drops a frame addressed to another incarnation of itself (a message queued for a node that
has restarted meanwhile never reaches the new one) and hands the rest on as
``Message(sender, sender_incarnation, payload)``; the daemon checks the sender against its
membership view. Messages wait in a bounded queue per peer (the oldest is dropped when it
is full) and are dropped after ``max_age`` seconds: the daemon's messages are idempotent and
resent until answered, so a late copy is useless and a lost one is resent. Data the peer
has not acknowledged within ``max_age`` aborts the connection (TCP_USER_TIMEOUT), so a
message cannot arrive long after it was sent (across a healed partition, say: a datagram
would have been lost there, and a late one could act on a decision already revised). The
daemon sets ``max_age`` to its node-loss timeout. Idle incoming streams are probed
(TCP keepalive), and a new stream from a peer replaces its older one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from hacore.config.model import ClusterConfig
from hacore.errors import OperationFailed
from hacore.membership.contract import MembershipProvider, Message
from hacore.tls import (
    CertificateAuthority,
    NodeCredentials,
    PeerRefused,
    check_peer,
    cluster_ca,
    node_credentials,
    peer_node,
)

log = logging.getLogger("hacore.channel")

HEADER = struct.Struct(">IQQ")
MAX_FRAME = 16 * 1024 * 1024  # a pushed configuration may be up to 4 MiB of text
CONNECT_TIMEOUT = 2.0
WRITE_TIMEOUT = 5.0
QUEUE_SIZE = 1024
MAX_AGE = 10.0
BACKOFF_FIRST, BACKOFF_MAX = 0.05, 2.0
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3  # a dead peer: ~11 s
#: the least max_age a daemon channel gets (the connect + handshake must fit in it)
MIN_DAEMON_AGE = 1.0

Address = tuple[str, int]


@dataclass
class _Queued:
    payload: bytes
    to_incarnation: int
    queued_at: float


class _PeerLink:
    """The outgoing connection to one peer, fed by a bounded queue."""

    def __init__(self, channel: MessageChannel, peer: str, addresses: list[Address]) -> None:
        self.channel = channel
        self.peer = peer
        self.addresses = addresses
        self.queue: asyncio.Queue[_Queued] = asyncio.Queue(channel.queue_size)
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None
        self.backoff = BACKOFF_FIRST
        self.connects = 0
        self.sending = False

    def put(self, item: _Queued) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            log.warning("queue to %s is full: dropped its oldest message", self.peer)
        self.queue.put_nowait(item)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())

    async def _connect(self) -> asyncio.StreamWriter:
        errors = []
        for host, port in self.addresses:
            try:
                _reader, writer = await asyncio.wait_for(asyncio.open_connection(
                    host, port, ssl=self.channel.client_ssl, server_hostname="",
                    ssl_handshake_timeout=self.channel.connect_timeout),
                    self.channel.connect_timeout)
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                errors.append(f"{host}:{port}: {exc or type(exc).__name__}")
                continue
            try:
                check_peer(writer.get_extra_info("ssl_object"), self.peer)
            except PeerRefused as exc:
                writer.close()
                errors.append(f"{host}:{port}: {exc}")
                continue
            self.connects += 1
            _tune(writer, user_timeout=self.channel.max_age)
            return writer
        raise ConnectionError("; ".join(errors) or "no address")

    async def _run(self) -> None:
        item: _Queued | None = None
        while True:
            if item is None:
                item = await self.queue.get()
            if time.monotonic() - item.queued_at > self.channel.max_age:
                item = None
                continue
            try:
                if self.writer is None or self.writer.is_closing():
                    self.writer = await self._connect()
                    self.backoff = BACKOFF_FIRST
                self.sending = True
                self.writer.write(HEADER.pack(len(item.payload), self.channel.incarnation(),
                                              item.to_incarnation) + item.payload)
                await asyncio.wait_for(self.writer.drain(), self.channel.write_timeout)
                self.sending = False
                item = None
            except (OSError, TimeoutError, ssl.SSLError, ConnectionError) as exc:
                self.sending = False
                log.info("channel to %s: %s; retrying in %.2f s", self.peer, exc, self.backoff)
                self.close()
                await asyncio.sleep(self.backoff)
                self.backoff = min(self.backoff * 2, BACKOFF_MAX)

    def idle(self) -> bool:
        return self.queue.empty() and not self.sending

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def drop(self) -> None:
        """Give up this link (its node left the configuration or moved): stop sending."""
        if self.task is not None:
            self.task.cancel()
        self.close()


class MessageChannel:
    """TLS message streams between this node and its peers (see the module docstring).

    ``on_message`` gets every accepted frame; ``incarnation()`` is this node's current
    incarnation; ``peer_incarnation(node)`` the one the view knows for a peer (0: unknown).
    """

    def __init__(self, node: str, tls: CertificateAuthority | NodeCredentials,
                 listen: list[Address],
                 peers: dict[str, list[Address]], on_message: Callable[[Message], None], *,
                 incarnation: Callable[[], int] = lambda: 0,
                 peer_incarnation: Callable[[str], int] = lambda node: 0,
                 connect_timeout: float = CONNECT_TIMEOUT, write_timeout: float = WRITE_TIMEOUT,
                 max_frame: int = MAX_FRAME, queue_size: int = QUEUE_SIZE,
                 max_age: float = MAX_AGE) -> None:
        self.node = node
        self.listen = listen
        self.on_message = on_message
        self.incarnation = incarnation
        self.peer_incarnation = peer_incarnation
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self.max_frame = max_frame
        self.queue_size = queue_size
        self.max_age = max_age
        creds = tls if isinstance(tls, NodeCredentials) else \
            tls.credentials(node, sorted({host for host, _ in listen}))
        self.credentials = creds  # the join endpoint presents the same certificate
        self.server_ssl = creds.server_context()
        self.client_ssl = creds.client_context()
        self.links = {name: _PeerLink(self, name, addrs) for name, addrs in peers.items()
                      if name != node}
        self._servers: list[asyncio.base_events.Server] = []
        self._readers: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._inbound: dict[str, asyncio.StreamWriter] = {}
        self.refused = 0  # frames or connections refused (tests and logs)

    def set_peers(self, peers: dict[str, list[Address]]) -> None:
        """Follow a changed node list: drop the links of nodes gone, open (lazily, on the
        first send) links to new nodes or to nodes whose addresses changed."""
        for name in [n for n in self.links if n not in peers]:
            self.links.pop(name).drop()
        for name, addresses in peers.items():
            link = self.links.get(name)
            if name == self.node or (link is not None and link.addresses == addresses):
                continue
            if link is not None:
                link.drop()
            self.links[name] = _PeerLink(self, name, addresses)

    async def start(self) -> None:
        """Listen on every address; raises OperationFailed when none can be bound."""
        errors = []
        for host, port in self.listen:
            try:
                server = await asyncio.start_server(
                    self._serve, host, port, ssl=self.server_ssl, reuse_address=True,
                    ssl_handshake_timeout=self.connect_timeout)
            except OSError as exc:
                errors.append(f"{host}:{port}: {exc.strerror or exc}")
                continue
            self._servers.append(server)
        for error in errors:
            log.warning("%s cannot listen for messages on %s", self.node, error)
        if not self._servers:
            raise OperationFailed(f"{self.node} cannot listen for node messages on any of "
                                  f"its addresses ({'; '.join(errors)}); is another daemon "
                                  "running, or is [cluster] message_port taken?")

    def send(self, node: str, payload: bytes) -> None:
        """Queue ``payload`` for ``node`` (never blocks; unknown nodes are refused)."""
        link = self.links.get(node)
        if link is None:
            raise OperationFailed(f"no node {node!r} to send to")
        if len(payload) > self.max_frame:
            raise OperationFailed(f"a message of {len(payload)} bytes is larger than the "
                                  f"{self.max_frame} a frame may carry")
        link.put(_Queued(payload, self.peer_incarnation(node), time.monotonic()))

    async def flush(self, timeout: float) -> bool:
        """Wait until every queue is sent (or ``timeout``); True when all were."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(link.idle() for link in self.links.values()):
                return True
            await asyncio.sleep(0.01)
        return False

    async def stop(self, flush_timeout: float = 1.0) -> None:
        """Send what is queued (bounded), then close every connection and listener."""
        await self.flush(flush_timeout)
        for server in self._servers:
            server.close()
        for link in self.links.values():
            if link.task is not None:
                link.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await link.task
            link.close()
        for writer in list(self._readers.values()):
            writer.close()  # the readers see the end of their stream and return
        if self._readers:
            await asyncio.wait(list(self._readers), timeout=1.0)
        for task in list(self._readers):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self._servers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._readers[task] = writer
        sender = peer_node(writer.get_extra_info("ssl_object"))
        try:
            if sender is None or sender == self.node:
                self.refused += 1
                log.warning("refused a message connection whose certificate names %r",
                            sender)
                return
            _tune(writer, keepalive=True)
            older = self._inbound.get(sender)
            if older is not None:
                older.close()  # the peer reconnected: its old stream is dead or dying
            self._inbound[sender] = writer
            await self._read_frames(sender, reader)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, OSError):
            pass
        except asyncio.CancelledError:  # stopping: asyncio's streams would log a cancelled
            pass                        # handler as an error
        finally:
            self._readers.pop(task, None)
            if sender is not None and self._inbound.get(sender) is writer:
                del self._inbound[sender]
            writer.close()

    async def _read_frames(self, sender: str, reader: asyncio.StreamReader) -> None:
        while True:
            length, from_inc, to_inc = HEADER.unpack(await reader.readexactly(HEADER.size))
            if length > self.max_frame:
                self.refused += 1
                log.warning("%s sent a frame of %d bytes (limit %d): connection closed",
                            sender, length, self.max_frame)
                return
            payload = await reader.readexactly(length)
            mine = self.incarnation()
            if to_inc and mine and to_inc != mine:
                self.refused += 1
                log.info("dropped a message from %s for an earlier incarnation of %s",
                         sender, self.node)
                continue
            try:
                self.on_message(Message(sender, from_inc, payload))
            except Exception:
                log.exception("handling a message from %s failed", sender)


def _tune(writer: asyncio.StreamWriter, *, user_timeout: float | None = None,
          keepalive: bool = False) -> None:
    """TCP_USER_TIMEOUT (unacknowledged data aborts the stream) and keepalive probes."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    try:
        if user_timeout is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                            max(1, int(user_timeout * 1000)))
        if keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT)
    except (OSError, AttributeError) as exc:  # not Linux: the defaults then
        log.debug("cannot tune a message stream: %s", exc)


def node_addresses(addresses: tuple[str, ...], port: int) -> list[Address]:
    """A node's configured addresses at the message port."""
    return [(host, port) for host in addresses]


def daemon_channel(config: ClusterConfig, node: str, key: bytes, provider: MembershipProvider,
                   on_message: Callable[[Message], None],
                   listen: list[Address] | None = None,
                   peers: dict[str, list[Address]] | None = None,
                   credentials_dir: str | None = None) -> MessageChannel:
    """The channel of daemon ``node``: the cluster CA from ``key``, this node's addresses at
    ``[cluster] message_port`` (or ``listen``/``peers``, for tests on loopback), and the
    incarnations the membership view knows. With ``credentials_dir`` the node's certificate
    is kept there and made in a helper process (``hacore.tls.node_credentials``: this
    process never loads ``cryptography``); without, it is made here."""
    me = config.node(node)
    assert me is not None
    port = config.message_port
    listen = listen or node_addresses(me.addresses, port)
    hosts = sorted({host for host, _ in listen})
    tls = (node_credentials(key, node, hosts, credentials_dir) if credentials_dir
           else cluster_ca(key).credentials(node, hosts))

    def incarnation_of(name: str) -> int:
        member = provider.view().member(name)
        return member.incarnation if member is not None else 0

    return MessageChannel(
        node, tls, listen,
        peers or {n.name: node_addresses(n.addresses, port) for n in config.nodes},
        on_message, incarnation=lambda: incarnation_of(node), peer_incarnation=incarnation_of,
        max_age=max(MIN_DAEMON_AGE, config.timing.node_loss_timeout))
