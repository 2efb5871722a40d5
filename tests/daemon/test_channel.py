"""The TLS message channel between nodes, in process on loopback."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable

import pytest

from hacore.daemon.channel import HEADER, MessageChannel
from hacore.errors import OperationFailed
from hacore.membership.contract import Message
from hacore.tls import client_context, cluster_ca

KEY = b"k" * 32
CA = cluster_ca(KEY)


def free_ports(*names: str) -> dict[str, int]:
    """Distinct loopback ports free now, one per name (all held open while choosing)."""
    socks = [socket.socket() for _ in names]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return {name: int(s.getsockname()[1]) for name, s in zip(names, socks)}
    finally:
        for s in socks:
            s.close()


def make(node: str, ports: dict[str, int], got: list[Message], key: bytes = KEY,
         incarnation: int = 1, peer_incarnation: Callable[[str], int] = lambda n: 0,
         **kw: float) -> MessageChannel:
    peers = {name: [("127.0.0.1", port)] for name, port in ports.items()}
    return MessageChannel(node, cluster_ca(key) if key != KEY else CA,
                          [("127.0.0.1", ports[node])], peers, got.append,
                          incarnation=lambda: incarnation,
                          peer_incarnation=peer_incarnation, **kw)


async def until(cond: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def test_frames_arrive_in_order_with_sender_and_incarnation() -> None:
    """Messages reach the peer in order, named by the sender's certificate and incarnation."""
    async def run() -> list[Message]:
        ports = free_ports("n1", "n2")
        got1: list[Message] = []
        got2: list[Message] = []
        a, b = make("n1", ports, got1, incarnation=7), make("n2", ports, got2)
        await a.start()
        await b.start()
        try:
            for i in range(50):
                a.send("n2", b"m%d" % i)
            big = b"x" * (1 << 20)
            a.send("n2", big)
            await until(lambda: len(got2) == 51)
            b.send("n1", b"back")
            await until(lambda: got1)
            assert got1[0].sender == "n2"
            return got2
        finally:
            await a.stop()
            await b.stop()

    got = asyncio.run(run())
    assert [m.payload for m in got[:50]] == [b"m%d" % i for i in range(50)]
    assert len(got[50].payload) == 1 << 20
    assert {(m.sender, m.incarnation) for m in got} == {("n1", 7)}


def test_reconnects_after_the_peer_restarts() -> None:
    """A message sent while the peer is down arrives once it listens again."""
    async def run() -> tuple[list[Message], int]:
        ports = free_ports("n1", "n2")
        got: list[Message] = []
        a = make("n1", ports, [])
        await a.start()
        b = make("n2", ports, got)
        await b.start()
        try:
            a.send("n2", b"first")
            await until(lambda: len(got) == 1)
            await b.stop()
            a.send("n2", b"while down")
            await asyncio.sleep(0.3)
            b = make("n2", ports, got)
            await b.start()
            await until(lambda: len(got) == 2)
            return got, a.links["n2"].connects
        finally:
            await a.stop()
            await b.stop()

    got, connects = asyncio.run(run())
    assert [m.payload for m in got] == [b"first", b"while down"]
    assert connects == 2


def test_oversized_frame_closes_the_connection() -> None:
    """A frame above the receiver's limit is not delivered; smaller ones after a reconnect are."""
    async def run() -> tuple[list[bytes], int]:
        ports = free_ports("n1", "n2")
        got: list[Message] = []
        a = make("n1", ports, [])
        b = make("n2", ports, got, max_frame=1000)
        await a.start()
        await b.start()
        try:
            a.send("n2", b"y" * 5000)
            a.send("n2", b"small")
            await until(lambda: b.refused >= 1)
            a.send("n2", b"again")
            await until(lambda: any(m.payload == b"again" for m in got))
            return [m.payload for m in got], b.refused
        finally:
            await a.stop()
            await b.stop()

    payloads, refused = asyncio.run(run())
    assert b"y" * 5000 not in payloads
    assert refused >= 1


def test_other_cluster_and_wrong_node_are_refused() -> None:
    """A peer with another cluster's key gets nothing through, and a listener whose
    certificate names another node than the one dialled is never sent to."""
    async def run() -> tuple[list[Message], list[Message]]:
        ports = free_ports("n1", "n2", "n3", "a")
        got2: list[Message] = []
        got_imposter: list[Message] = []
        stranger = make("n1", ports, [], key=b"z" * 32, connect_timeout=1.0)
        b = make("n2", ports, got2)
        # "n3"'s port is served by a node calling itself n2
        imposter = MessageChannel("n2", CA, [("127.0.0.1", ports["n3"])], {},
                                  got_imposter.append)
        a = make("n1", {"n1": ports["a"], "n3": ports["n3"]}, [])
        for ch in (stranger, b, imposter, a):
            await ch.start()
        try:
            stranger.send("n2", b"from outside")
            a.send("n3", b"to n3")
            await asyncio.sleep(1.0)
            return got2, got_imposter
        finally:
            for ch in (stranger, b, imposter, a):
                await ch.stop(flush_timeout=0)

    got2, got_imposter = asyncio.run(run())
    assert got2 == [] and got_imposter == []


def test_plaintext_and_raw_frames_are_refused() -> None:
    """A client without TLS cannot inject a frame."""
    async def run() -> list[Message]:
        ports = free_ports("n1", "n2")
        got: list[Message] = []
        b = make("n2", ports, got)
        await b.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", ports["n2"])
            writer.write(HEADER.pack(3, 1, 0) + b"abc")
            await writer.drain()
            await asyncio.wait_for(reader.read(100), 10)
            writer.close()
            # TLS with a certificate but of no node (issued by another CA): refused too
            ctx = client_context(cluster_ca(b"q" * 32), "n1")
            try:
                _, w2 = await asyncio.open_connection("127.0.0.1", ports["n2"], ssl=ctx,
                                                      server_hostname="")
                w2.write(HEADER.pack(3, 1, 0) + b"abc")
                await w2.drain()
                w2.close()
            except (ssl.SSLError, ConnectionError):
                pass
            await asyncio.sleep(0.3)
            return got
        finally:
            await b.stop()

    assert asyncio.run(run()) == []


def test_message_for_an_earlier_incarnation_is_dropped() -> None:
    """A frame addressed to another incarnation of the receiver is not delivered."""
    async def run() -> list[bytes]:
        ports = free_ports("n1", "n2")
        got: list[Message] = []
        target = {"n2": 5}
        a = make("n1", ports, [], peer_incarnation=lambda n: target[n])
        b = make("n2", ports, got, incarnation=6)
        await a.start()
        await b.start()
        try:
            a.send("n2", b"old")
            target["n2"] = 6
            a.send("n2", b"current")
            await until(lambda: got)
            return [m.payload for m in got]
        finally:
            await a.stop()
            await b.stop()

    assert asyncio.run(run()) == [b"current"]


def test_a_message_older_than_max_age_is_never_sent_late() -> None:
    """A message queued for a peer that is down longer than max_age is dropped, not sent
    when the peer comes back; one sent after it returns arrives."""
    async def run() -> list[bytes]:
        ports = free_ports("n1", "n2")
        got: list[Message] = []
        a = make("n1", ports, [], max_age=0.5)
        await a.start()
        b = make("n2", ports, got)
        try:
            a.send("n2", b"stale")
            await asyncio.sleep(1.5)
            await b.start()
            a.send("n2", b"fresh")
            await until(lambda: got)
            await asyncio.sleep(0.3)
            return [m.payload for m in got]
        finally:
            await a.stop()
            await b.stop()

    assert asyncio.run(run()) == [b"fresh"]


def test_set_peers_follows_a_changed_node_list() -> None:
    """A node added to the list gets messages; a removed node's link is gone; a node whose
    address changed is reached at the new one."""
    async def run() -> tuple[list[Message], list[Message], set[str]]:
        ports = free_ports("n1", "n2", "n3", "n3b")
        got2: list[Message] = []
        got3: list[Message] = []
        a = make("n1", {"n1": ports["n1"], "n2": ports["n2"]}, [])
        b = make("n2", {"n1": ports["n1"], "n2": ports["n2"]}, got2)
        c = make("n3", {"n1": ports["n1"], "n3": ports["n3b"]}, got3)
        for ch in (a, b, c):
            await ch.start()
        try:
            assert set(a.links) == {"n2"}
            a.set_peers({"n1": [("127.0.0.1", ports["n1"])],
                         "n3": [("127.0.0.1", ports["n3"])]})  # n2 removed, n3 added
            a.set_peers({"n1": [("127.0.0.1", ports["n1"])],
                         "n3": [("127.0.0.1", ports["n3b"])]})  # n3 moved to n3b's port
            a.send("n3", b"hello")
            with pytest.raises(OperationFailed, match="no node 'n2'"):
                a.send("n2", b"lost")
            await until(lambda: got3)
            await asyncio.sleep(0.2)
            return got2, got3, set(a.links)
        finally:
            for ch in (a, b, c):
                await ch.stop()

    got2, got3, links = asyncio.run(run())
    assert [m.payload for m in got3] == [b"hello"]
    assert got2 == []
    assert links == {"n3"}
